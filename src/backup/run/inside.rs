//! The users-inside policy around one backup's dump or copy
//! (`BACKUP_WHEN_USERS_INSIDE`): `fail` tries once; `wait` tries again
//! every `BACKUP_USERS_RETRY_MINUTES` while 1C cannot lock the base because
//! users are inside, until `BACKUP_USERS_WAIT_MINUTES` have passed or quiet
//! hours begin, all in one history row; and the failure names who was
//! inside, read right after it.

use std::time::Instant;

use super::StepError;
use crate::cancel::Cancel;
use crate::config::{Base, Config, UsersPolicy};
use crate::onec;

/// Run `attempt` under the base's policy; its last result, and when `wait`
/// gave up or quiet hours began, how long it waited and why.
pub(super) fn attempts<T>(
    cfg: &Config,
    base: &Base,
    cancel: &Cancel,
    mut attempt: impl FnMut() -> Result<T, StepError>,
) -> (Result<T, StepError>, Option<String>) {
    let waiting = Instant::now();
    let quiet_at_start = in_quiet_hours(cfg, base);
    let mut attempts = 1u32;
    loop {
        let result = attempt();
        let users_inside = matches!(&result, Err(e) if e.users_inside());
        if !users_inside || base.when_users_inside != UsersPolicy::Wait {
            return (result, None);
        }
        let quiet_began = !quiet_at_start && in_quiet_hours(cfg, base);
        if let Some(why) = wait_ends(waiting.elapsed(), attempts, base, quiet_began) {
            return (result, Some(why));
        }
        let mins = |d: std::time::Duration| d.as_secs().div_ceil(60);
        tracing::info!(
            base = %base.name,
            "users are inside; trying again in {} min (attempt {attempts})",
            mins(base.users_retry)
        );
        if !sleep_unless_cancelled(base.users_retry, cancel) {
            return (Err(StepError::Cancelled), None);
        }
        attempts += 1;
    }
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
fn sleep_unless_cancelled(d: std::time::Duration, cancel: &Cancel) -> bool {
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

    fn base() -> Base {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("buh")).unwrap();
        let env = [
            (
                "ONEC_BASE_PATH",
                dir.path().join("buh").display().to_string(),
            ),
            ("BACKUP_DIR", dir.path().join("b").display().to_string()),
        ];
        let cfg = crate::config::load(&crate::config::LoadOptions::only_env(env)).unwrap();
        cfg.bases[0].clone()
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
