//! Warnings before a scheduled backup (`BACKUP_USERS_WARN_MINUTES`,
//! `bases[].users_warn_minutes`): one loop per scheduled base, beside the
//! scheduler and independent of it (it never delays or moves a run). At
//! the times [`crate::schedule::warn_step`] gives — that many minutes
//! before the run and again one minute before — it looks for 1C clients of
//! the base ([`crate::onec::inside`]); when someone is inside, it shows a
//! message box in each of their sessions
//! ([`crate::platform::send_session_message`]; Linux has none, said once in
//! the log) and hands the warning to the bot, which tells the admins who is
//! inside. Nobody inside: nothing is sent.

use super::scheduler::sleep_until;
use crate::agent::Agent;
use crate::onec::inside::{self, Client, ShareClient, Warning};
use crate::schedule::{self, QuietHours, Schedule, Sent, WarnStep};
use jiff::{SignedDuration, Timestamp};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A test-only setting: how many seconds a minute of the warnings lasts,
/// so a test can play a 3-minute warning in 6 seconds. Read only by debug
/// builds; release builds ignore it.
pub const TEST_MINUTE_ENV: &str = "ONEC_TEST_USERS_WARN_MINUTE_SECS";

/// The length of a minute for the warnings (see [`TEST_MINUTE_ENV`]).
fn minute() -> SignedDuration {
    #[cfg(debug_assertions)]
    if let Some(secs) = std::env::var(TEST_MINUTE_ENV)
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|s| *s > 0)
    {
        return SignedDuration::from_secs(secs);
    }
    SignedDuration::from_secs(60)
}

/// Set once the log has said that this OS has no session messages.
static NO_SESSION_MESSAGES_TOLD: AtomicBool = AtomicBool::new(false);

/// Start one loop per scheduled base with warnings on; returns when the
/// agent stops.
pub async fn run(agent: Arc<Agent>) {
    let mut loops = tokio::task::JoinSet::new();
    for base in &agent.cfg.bases {
        let Some(sched) = base.schedule.clone() else {
            continue;
        };
        if base.users_warn_minutes == 0 {
            tracing::info!(base = %base.name, "no warnings to users before scheduled backups (BACKUP_USERS_WARN_MINUTES=0)");
            continue;
        }
        loops.spawn(base_loop(
            agent.clone(),
            Target {
                name: base.name.clone(),
                path: base.path.clone(),
                minutes: base.users_warn_minutes,
            },
            sched,
            base.quiet_hours,
        ));
    }
    if !loops.is_empty() && !crate::platform::HAS_SESSION_MESSAGES {
        NO_SESSION_MESSAGES_TOLD.store(true, Ordering::Relaxed);
        tracing::info!(
            "this OS has no session messages: users inside a base are warned before its scheduled backup through Telegram only"
        );
    }
    while loops.join_next().await.is_some() {}
}

/// The base a loop warns about.
#[derive(Clone)]
struct Target {
    name: String,
    path: PathBuf,
    minutes: u32,
}

async fn base_loop(agent: Arc<Agent>, base: Target, sched: Schedule, quiet: Option<QuietHours>) {
    let tz = agent.cfg.timezone.clone();
    let minute = minute();
    // The run the `sent` marks are for.
    let mut sent_for: Option<Timestamp> = None;
    let mut sent = Sent::default();
    loop {
        let now = Timestamp::now();
        let Some(next) =
            schedule::next_run(&sched, quiet.as_ref(), &now.to_zoned_datetime(tz.clone()))
        else {
            return;
        };
        let run = next.timestamp();
        if sent_for != Some(run) {
            sent_for = Some(run);
            sent = Sent::default();
        }
        let wait_until = match schedule::warn_step(run, base.minutes, now, sent, minute) {
            WarnStep::Send { minutes, last } => {
                if last {
                    sent.last = true;
                } else {
                    sent.first = true;
                }
                warn(&agent, &base, minutes, run, minute).await;
                continue;
            }
            WarnStep::WaitUntil(t) => t,
            // Past this run: the next one is found after it.
            WarnStep::Done => run,
        };
        if !sleep_until(&agent, &wait_until.to_zoned_datetime(tz.clone())).await {
            return;
        }
    }
}

/// Who is inside `base` now: its 1C clients and the opens of its file
/// over this computer's shares.
fn who_is_inside(path: &std::path::Path) -> std::io::Result<(Vec<Client>, Vec<ShareClient>)> {
    let clients = inside::clients()?
        .into_iter()
        .filter(|c| inside::is_in(c, path))
        .collect();
    let shares = inside::over_share(path).unwrap_or_default();
    Ok((clients, shares))
}

/// The sessions to show a message in: each session with a client, once.
pub(crate) fn sessions_of(clients: &[Client]) -> Vec<u32> {
    let mut s: Vec<u32> = clients.iter().filter_map(|c| c.session).collect();
    s.sort_unstable();
    s.dedup();
    s
}

/// Warn the users inside `base` that its backup starts in `minutes` (at
/// `at`): a message in each of their sessions and a notice for the bot.
async fn warn(
    agent: &Arc<Agent>,
    base: &Target,
    minutes: u32,
    at: Timestamp,
    minute: SignedDuration,
) {
    let path = base.path.clone();
    let (clients, shares) = match tokio::task::spawn_blocking(move || who_is_inside(&path)).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => {
            tracing::warn!(base = %base.name, "cannot tell who is inside to warn them before the scheduled backup: {e}");
            return;
        }
        Err(_) => return,
    };
    if clients.is_empty() && shares.is_empty() {
        tracing::debug!(base = %base.name, "nobody inside {} min before the scheduled backup: no warning", minutes);
        return;
    }
    let t = crate::text::texts(&agent.cfg.telegram.language);
    let title = t.users_warn_title;
    let body = (t.users_warn_session)(&base.name, minutes);
    // The box closes when the backup starts.
    let timeout = Duration::try_from(at.duration_since(Timestamp::now()))
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_secs(
            u64::try_from(minute.as_secs()).unwrap_or(60),
        ));
    let sessions = sessions_of(&clients);
    let name = base.name.clone();
    let shown = tokio::task::spawn_blocking(move || {
        let mut shown = 0;
        for s in sessions {
            match crate::platform::send_session_message(s, title, &body, timeout) {
                Ok(()) => shown += 1,
                Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                    if !NO_SESSION_MESSAGES_TOLD.swap(true, Ordering::Relaxed) {
                        tracing::info!("{e}");
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(base = %name, "cannot show the warning in session {s}: {e}")
                }
            }
        }
        shown
    })
    .await
    .unwrap_or(0);
    let users: Vec<&str> = clients
        .iter()
        .map(|c| c.user.as_deref().unwrap_or("unknown user"))
        .chain(shares.iter().map(|s| s.user.as_str()))
        .collect();
    tracing::info!(
        base = %base.name,
        "users inside warned: the scheduled backup starts in {minutes} min; inside: {}; session messages shown: {shown}",
        users.join(", ")
    );
    let _ = agent.users_warnings.send(Arc::new(Warning {
        base: base.name.clone(),
        minutes,
        at,
        clients,
        shares,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_per_session_with_a_client() {
        let c = |pid, session| Client {
            pid,
            program: "1cv8c.exe".into(),
            user: Some("ivan".into()),
            session,
            session_state: None,
            since: None,
            base: None,
            listed_as: None,
        };
        assert_eq!(
            sessions_of(&[c(1, Some(3)), c(2, None), c(3, Some(2)), c(4, Some(3))]),
            [2, 3]
        );
        assert!(sessions_of(&[c(1, None)]).is_empty());
    }
}
