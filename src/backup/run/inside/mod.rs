//! The users-inside policy around one backup's dump or copy
//! (`BACKUP_WHEN_USERS_INSIDE`): `fail` tries once; `wait` tries again
//! every `BACKUP_USERS_RETRY_MINUTES` while 1C cannot lock the base because
//! users are inside, until `BACKUP_USERS_WAIT_MINUTES` have passed or quiet
//! hours begin, all in one history row; `lock` blocks new sessions with the
//! lock code around the dump and always lifts the block (`lock.rs`);
//! `close` ends the base's 1C clients after a grace period (`close.rs`).
//! What the policy did is one [`UsersOutcome`] (the history's JSON and the
//! words of the error and notice); a failure names who was inside, read
//! right after it.

use std::time::Instant;

use super::StepError;
use crate::cancel::Cancel;
use crate::config::{Base, Config, UsersPolicy};
use crate::onec;
use serde::{Deserialize, Serialize};

mod close;
pub mod lock;

/// What the users-inside policy did in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UsersOutcome {
    /// The policy the run used (`fail`, `wait`, `lock`, `close`).
    pub policy: String,
    /// `wait`: minutes waited and attempts made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_minutes: Option<u64>,
    /// `lock`: seconds waited for the users to leave after locking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// `lock`: whether new sessions were blocked, and lifted again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlocked: Option<bool>,
    /// `close`: whose sessions were ended (`user (pid N)`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<String>,
    /// Who was inside when the run failed because of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inside_at_failure: Option<String>,
    /// The loud words when the base is left locked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub still_locked: Option<String>,
    /// Why `wait` ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_end: Option<String>,
}

impl UsersOutcome {
    /// The history's JSON, `None` for a plain `fail` run that met nobody.
    pub fn json(&self) -> Option<String> {
        (self.policy != "fail" || self.inside_at_failure.is_some())
            .then(|| serde_json::to_string(self).unwrap_or_default())
    }

    /// The outcome a history row keeps (`runs.policy_outcome`), `None`
    /// when it is not one.
    pub fn from_json(json: &str) -> Option<UsersOutcome> {
        serde_json::from_str(json).ok()
    }

    /// What happened in words (English), for the error, log and notice;
    /// empty when there is nothing to say. Who was inside is said by the
    /// failure itself.
    pub fn words(&self) -> String {
        let mut out = Vec::new();
        if let Some(w) = &self.wait_end {
            out.push(w.clone());
        }
        match (self.locked, self.unlocked) {
            (Some(true), Some(true)) => out.push(format!(
                "sessions were locked with the lock code{} and unlocked again",
                self.waited_seconds
                    .map(|s| format!(" (waited {s} s for users to leave)"))
                    .unwrap_or_default()
            )),
            (Some(false), Some(true)) => {
                out.push("the session lock failed; the base was unlocked again".into())
            }
            _ => {}
        }
        if !self.closed.is_empty() {
            out.push(format!(
                "closed {} 1C session(s) of {}",
                self.closed.len(),
                self.closed.join(", ")
            ));
        }
        if let Some(loud) = &self.still_locked {
            out.push(loud.clone());
        }
        out.join("; ")
    }
}

/// Run `attempt` under the base's policy: its last result and what the
/// policy did.
pub(super) fn attempts<T>(
    cfg: &Config,
    base: &Base,
    cancel: &Cancel,
    mut attempt: impl FnMut() -> Result<T, StepError>,
) -> (Result<T, StepError>, UsersOutcome) {
    let mut outcome = UsersOutcome {
        policy: base.when_users_inside.as_str().into(),
        ..UsersOutcome::default()
    };
    let result = match base.when_users_inside {
        UsersPolicy::Lock => lock::with_lock(cfg, base, cancel, &mut outcome, attempt),
        UsersPolicy::Close => close::close_then(cfg, base, cancel, &mut outcome, attempt),
        UsersPolicy::Fail => attempt(),
        UsersPolicy::Wait => wait_attempts(cfg, base, cancel, &mut outcome, attempt),
    };
    (result, outcome)
}

/// Policy `wait`: try, and while users are inside, try again.
fn wait_attempts<T>(
    cfg: &Config,
    base: &Base,
    cancel: &Cancel,
    outcome: &mut UsersOutcome,
    mut attempt: impl FnMut() -> Result<T, StepError>,
) -> Result<T, StepError> {
    let waiting = Instant::now();
    let quiet_at_start = in_quiet_hours(cfg, base);
    let mut attempts = 1u32;
    loop {
        let result = attempt();
        outcome.attempts = Some(attempts);
        outcome.waited_minutes = Some(waiting.elapsed().as_secs().div_ceil(60));
        let users_inside = matches!(&result, Err(e) if e.users_inside());
        if !users_inside {
            return result;
        }
        let quiet_began = !quiet_at_start && in_quiet_hours(cfg, base);
        if let Some(why) = wait_ends(waiting.elapsed(), attempts, base, quiet_began) {
            outcome.wait_end = Some(why);
            return result;
        }
        let mins = |d: std::time::Duration| d.as_secs().div_ceil(60);
        tracing::info!(
            base = %base.name,
            "users are inside; trying again in {} min (attempt {attempts})",
            mins(base.users_retry)
        );
        if !sleep_unless_cancelled(base.users_retry, cancel) {
            return Err(StepError::Cancelled);
        }
        attempts += 1;
    }
}

/// The 1C clients of `base` on this computer now.
fn clients_of(base: &Base) -> std::io::Result<Vec<onec::inside::Client>> {
    let all = onec::inside::clients()?;
    Ok(onec::inside::inside(&all, &base.path)
        .0
        .into_iter()
        .cloned()
        .collect())
}

/// Policy `wait`, after attempt number `attempts` met users inside
/// `waited` after the first: why the wait ends now, or `None` to try again
/// after `base.users_retry` (when that still ends within `base.users_wait`
/// and quiet hours have not begun).
pub(super) fn wait_ends(
    waited: std::time::Duration,
    attempts: u32,
    base: &Base,
    quiet_began: bool,
) -> Option<String> {
    let mins = |d: std::time::Duration| d.as_secs().div_ceil(60);
    let why = if waited + base.users_retry > base.users_wait {
        format!(
            "then gave up (BACKUP_USERS_WAIT_MINUTES={})",
            mins(base.users_wait)
        )
    } else if quiet_began {
        "until quiet hours began".to_string()
    } else {
        return None;
    };
    Some(format!(
        "waited {} min over {attempts} attempt(s) for users to leave, {why}",
        mins(waited)
    ))
}

/// Whether the base's quiet hours hold now.
fn in_quiet_hours(cfg: &Config, base: &Base) -> bool {
    let now = jiff::ZonedDateTime::now().with_time_zone(cfg.timezone.clone());
    base.quiet_hours.is_some_and(|q| q.contains(&now.time()))
}

/// Sleep `d` in short steps; false when `cancel` was set meanwhile.
pub(super) fn sleep_unless_cancelled(d: std::time::Duration, cancel: &Cancel) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if cancel.is_cancelled() {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(200).min(until - Instant::now()));
    }
    !cancel.is_cancelled()
}

/// Who was inside the base right after 1C could not lock it, read now
/// (policy `fail`: the error names them), masked like every error.
pub(super) fn who_was_inside(cfg: &Config, base: &Base) -> String {
    let who = onec::inside::who_is_inside(&base.path, &cfg.timezone);
    let who = if who.is_empty() {
        "no 1C client of this base is running on this computer (users may have it \
         open over the network share)"
            .to_string()
    } else {
        who
    };
    cfg.mask(&who)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outcome_in_words_and_json() {
        let plain = UsersOutcome {
            policy: "fail".into(),
            ..UsersOutcome::default()
        };
        assert_eq!((plain.json(), plain.words()), (None, String::new()));
        let failed = UsersOutcome {
            inside_at_failure: Some("inside: ivan (pid 7)".into()),
            ..plain.clone()
        };
        assert_eq!(
            failed.json().unwrap(),
            r#"{"policy":"fail","inside_at_failure":"inside: ivan (pid 7)"}"#
        );
        let lock = UsersOutcome {
            policy: "lock".into(),
            locked: Some(true),
            unlocked: Some(true),
            waited_seconds: Some(42),
            ..UsersOutcome::default()
        };
        assert_eq!(
            lock.words(),
            "sessions were locked with the lock code (waited 42 s for users to leave) and \
             unlocked again"
        );
        assert_eq!(
            lock.json().unwrap(),
            r#"{"policy":"lock","waited_seconds":42,"locked":true,"unlocked":true}"#
        );
        let stuck = UsersOutcome {
            policy: "lock".into(),
            locked: Some(true),
            unlocked: Some(false),
            still_locked: Some("BASE buh IS STILL LOCKED".into()),
            ..UsersOutcome::default()
        };
        assert_eq!(stuck.words(), "BASE buh IS STILL LOCKED");
        let close = UsersOutcome {
            policy: "close".into(),
            closed: vec!["ivan (pid 7)".into(), "olga (pid 9)".into()],
            ..UsersOutcome::default()
        };
        assert_eq!(
            close.words(),
            "closed 2 1C session(s) of ivan (pid 7), olga (pid 9)"
        );
        assert!(
            close
                .json()
                .unwrap()
                .contains(r#""closed":["ivan (pid 7)","olga (pid 9)"]"#)
        );
    }

    fn base() -> Base {
        let dir = tempfile::tempdir().unwrap();
        crate::config::testing::config_in(dir.path(), &[]).bases[0].clone()
    }

    #[test]
    fn wait_retries_within_the_deadline_and_stops_at_it_or_at_quiet_hours() {
        let mut base = base();
        let min = |m: u64| std::time::Duration::from_secs(60 * m);
        base.users_retry = min(5);
        base.users_wait = min(60);
        assert_eq!(wait_ends(min(0), 1, &base, false), None);
        assert_eq!(
            wait_ends(min(55), 12, &base, false),
            None,
            "the last retry fits"
        );
        let end = wait_ends(min(56), 12, &base, false).unwrap();
        assert_eq!(
            end,
            "waited 56 min over 12 attempt(s) for users to leave, then gave up \
             (BACKUP_USERS_WAIT_MINUTES=60)"
        );
        let quiet = wait_ends(min(10), 3, &base, true).unwrap();
        assert!(quiet.ends_with("until quiet hours began"), "{quiet}");
        base.users_wait = min(0);
        assert!(
            wait_ends(min(0), 1, &base, false).is_some(),
            "no wait at all"
        );
    }
}
