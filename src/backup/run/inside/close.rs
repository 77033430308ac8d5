//! Policy `close`: name who will be closed (log), wait
//! `BACKUP_USERS_CLOSE_GRACE_SECONDS` (the warnings before a scheduled run
//! are sent by the scheduler), read again who is inside, end those 1C
//! client processes of this base on this computer
//! ([`crate::platform::terminate`]), then dump. Ending another account's
//! processes needs administrator rights: without them `close` is refused
//! with a message, nothing is ended.

use super::{StepError, UsersOutcome, clients_of, sleep_unless_cancelled};
use crate::cancel::Cancel;
use crate::config::{Base, Config};
use crate::onec::inside::{Client, describe};
use crate::platform;
use std::time::{Duration, Instant};

/// How long ended processes may take to disappear from the table.
const GONE_WITHIN: Duration = Duration::from_secs(10);

/// `ivan (pid 812)`: the user and process of a closed session.
pub(super) fn closed_name(c: &Client) -> String {
    format!(
        "{} (pid {})",
        c.user.as_deref().unwrap_or("unknown user"),
        c.pid
    )
}

/// Why `close` may not end `clients` (the processes this account may not
/// end), or `None` when it may.
pub(super) fn refusal(clients: &[Client], may_end: impl Fn(u32) -> bool) -> Option<String> {
    let refused: Vec<String> = clients
        .iter()
        .filter(|c| !may_end(c.pid))
        .map(closed_name)
        .collect();
    (!refused.is_empty()).then(|| {
        format!(
            "BACKUP_WHEN_USERS_INSIDE=close cannot end the 1C sessions of {}: ending other \
             users' processes needs administrator rights (run the agent as an administrator \
             or root), or use BACKUP_WHEN_USERS_INSIDE=lock or wait",
            refused.join(", ")
        )
    })
}

/// Policy `close` before `attempt` (the dump or copy).
pub(super) fn close_then<T>(
    cfg: &Config,
    base: &Base,
    cancel: &Cancel,
    outcome: &mut UsersOutcome,
    attempt: impl FnOnce() -> Result<T, StepError>,
) -> Result<T, StepError> {
    let list = |v: &[Client]| {
        v.iter()
            .map(|c| describe(c, &cfg.timezone))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let inside = clients_of(base).unwrap_or_else(|e| {
        tracing::warn!(base = %base.name, "cannot list 1C processes: {e}");
        Vec::new()
    });
    if inside.is_empty() {
        return attempt();
    }
    if let Some(why) = refusal(&inside, platform::may_terminate) {
        return Err(StepError::Policy(why));
    }
    tracing::warn!(
        base = %base.name,
        "users inside: {}; their 1C sessions will be closed in {} s",
        list(&inside),
        base.users_close_grace.as_secs()
    );
    if !sleep_unless_cancelled(base.users_close_grace, cancel) {
        return Err(StepError::Cancelled);
    }
    // Who is inside now: some may have left, some come in.
    let inside = clients_of(base).unwrap_or_default();
    if let Some(why) = refusal(&inside, platform::may_terminate) {
        return Err(StepError::Policy(why));
    }
    for c in &inside {
        match platform::terminate(c.pid) {
            Ok(()) => outcome.closed.push(closed_name(c)),
            Err(e) => tracing::warn!(base = %base.name, "cannot end {}: {e}", closed_name(c)),
        }
    }
    let since = Instant::now();
    while since.elapsed() < GONE_WITHIN
        && clients_of(base)
            .is_ok_and(|left| left.iter().any(|c| inside.iter().any(|i| i.pid == c.pid)))
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    if !outcome.closed.is_empty() {
        tracing::warn!(
            base = %base.name,
            "closed {} 1C session(s): {}",
            outcome.closed.len(),
            outcome.closed.join(", ")
        );
    }
    attempt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(pid: u32, user: &str) -> Client {
        Client {
            pid,
            program: "1cv8c".into(),
            user: Some(user.into()),
            session: None,
            session_state: None,
            since: None,
            base: None,
            listed_as: None,
        }
    }

    #[test]
    fn close_is_refused_naming_whom_it_may_not_end() {
        let all = [client(10, "ivan"), client(11, "olga")];
        assert_eq!(refusal(&all, |_| true), None);
        let why = refusal(&all, |pid| pid == 10).unwrap();
        assert!(
            why.contains("olga (pid 11)") && !why.contains("ivan"),
            "{why}"
        );
        assert!(why.contains("administrator rights"), "{why}");
        assert_eq!(closed_name(&all[0]), "ivan (pid 10)");
    }
}
