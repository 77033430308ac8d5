//! Policy `lock`: block new sessions with the lock code (`1cv8 ENTERPRISE
//! … /C"ЗавершитьРаботуПользователей" /UC<code>`), wait until no 1C client
//! of the base is left (or `BACKUP_USERS_WAIT_MINUTES` pass), end that
//! session, dump, and then always lift the block (`/C"РазрешитьРаботуПользователей"`).
//! The block is remembered in a small state file in `BACKUP_DIR`
//! (`.users-locked.<prefix>.json`), written before locking and removed
//! after a good unlock, so a lock left by a killed agent is lifted at the
//! next start and before the next run of the base ([`recover`]).

use super::{StepError, UsersOutcome, clients_of, sleep_unless_cancelled};
use crate::cancel::Cancel;
use crate::config::{Base, Config};
use crate::onec::{self, enterprise};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the state file holds: which base, since when, by which process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockState {
    pub base: String,
    pub path: PathBuf,
    pub since: String,
    pub pid: u32,
}

/// The state file of `base` in `backup_dir`.
pub fn state_path(backup_dir: &Path, base: &Base) -> PathBuf {
    let name = base.prefix.trim_end_matches(['_', '-', '.']);
    backup_dir.join(format!(".users-locked.{name}.json"))
}

/// Write the state durably (before the lock is taken).
pub fn write_state(file: &Path, state: &LockState) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(state).map_err(std::io::Error::other)?;
    let f = std::fs::File::create(file)?;
    std::io::Write::write_all(&mut &f, text.as_bytes())?;
    f.sync_all()
}

/// The state left in `file`, if any (an unreadable file still says "locked").
pub fn read_state(file: &Path) -> Option<Result<LockState, String>> {
    let text = std::fs::read_to_string(file).ok()?;
    Some(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display())))
}

/// How long the unlock may take.
fn unlock_timeout(base: &Base) -> Duration {
    base.timeout.min(Duration::from_secs(600))
}

/// The loud words for a base left locked.
pub fn still_locked(base: &Base, why: &str) -> String {
    format!(
        "BASE {} IS STILL LOCKED: users cannot log in; run 1cv8 ENTERPRISE /F \"{}\" \
         /C\"{}\" /UC<lock code> to unlock ({why})",
        base.name,
        base.path.display(),
        enterprise::ALLOW_SESSIONS
    )
}

/// The `ENTERPRISE` job for `base`, its `/Out` log in `out_log`.
fn job<'a>(
    base: &'a Base,
    exe: &'a Path,
    code: &'a crate::config::Secret,
    out_log: &'a Path,
) -> enterprise::SessionsJob<'a> {
    enterprise::SessionsJob {
        exe,
        base: &base.path,
        user: base.user.as_deref(),
        password: base.password.as_ref(),
        lock_code: code,
        out_log,
        timeout: unlock_timeout(base),
    }
}

fn log_path(cfg: &Config, base: &Base, what: &str) -> std::io::Result<PathBuf> {
    let dir = cfg.backup_dir.join("logs");
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join(format!("{}.{what}.log", base.prefix)))
}

/// Lift the lock of `base`; removes the state file when it worked.
fn unlock(cfg: &Config, base: &Base) -> Result<(), String> {
    let code = base
        .lock_code
        .as_ref()
        .ok_or("ONEC_LOCK_CODE is not set, so the agent cannot unlock it")?;
    let exe = onec::locate_designer(cfg.onec_exe.as_deref()).map_err(|e| e.to_string())?;
    let out = log_path(cfg, base, "unlock").map_err(|e| e.to_string())?;
    let job = job(base, &exe, code, &out);
    enterprise::allow_sessions(&job).map_err(|e| cfg.mask(&super::super::error_chain(&e)))?;
    let file = state_path(&cfg.backup_dir, base);
    if let Err(e) = std::fs::remove_file(&file)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(base = %base.name, "the base is unlocked but {} cannot be removed: {e}", file.display());
    }
    tracing::info!(base = %base.name, "1C sessions unlocked");
    Ok(())
}

/// A lock left by an earlier run of `base` (the agent was killed while
/// the base was locked): lift it now. `None` when there was none; the
/// caller holds the base's lock.
pub fn recover(cfg: &Config, base: &Base) -> Option<Result<(), String>> {
    let state = read_state(&state_path(&cfg.backup_dir, base))?;
    let since = match &state {
        Ok(s) => format!("since {} by process {}", s.since, s.pid),
        Err(e) => format!("unreadable state: {e}"),
    };
    tracing::warn!(
        base = %base.name,
        "a 1C session lock left by an earlier run ({since}) is being lifted"
    );
    let r = unlock(cfg, base);
    match &r {
        Ok(()) => {
            tracing::warn!(base = %base.name, "the session lock left by an earlier run was lifted")
        }
        Err(e) => tracing::error!(base = %base.name, "{}", still_locked(base, e)),
    }
    Some(r)
}

/// Policy `lock` around `attempt` (the dump).
pub(super) fn with_lock<T>(
    cfg: &Config,
    base: &Base,
    cancel: &Cancel,
    outcome: &mut UsersOutcome,
    attempt: impl FnOnce() -> Result<T, StepError>,
) -> Result<T, StepError> {
    let Some(code) = base.lock_code.as_ref() else {
        return Err(StepError::Policy(
            "BACKUP_WHEN_USERS_INSIDE=lock needs ONEC_LOCK_CODE (the permission code of the \
             session lock); set it, or choose fail, wait or close"
                .into(),
        ));
    };
    let exe = onec::locate_designer(cfg.onec_exe.as_deref())?;
    let out =
        log_path(cfg, base, "lock").map_err(super::super::io("cannot create the logs folder"))?;
    let file = state_path(&cfg.backup_dir, base);
    let state = LockState {
        base: base.name.clone(),
        path: base.path.clone(),
        since: jiff::Timestamp::now().to_string(),
        pid: std::process::id(),
    };
    write_state(&file, &state).map_err(super::super::io(format!(
        "cannot write the session-lock state {}",
        file.display()
    )))?;
    outcome.locked = Some(false);
    let job = job(base, &exe, code, &out);
    let result = lock_and_run(&cfg.timezone, base, &job, cancel, outcome, attempt);
    // Always: success, failure, timeout or a stop.
    match unlock(cfg, base) {
        Ok(()) => outcome.unlocked = Some(true),
        Err(e) => {
            let loud = still_locked(base, &e);
            tracing::error!(base = %base.name, "{loud}");
            outcome.unlocked = Some(false);
            outcome.still_locked = Some(loud);
        }
    }
    result
}

fn lock_and_run<T>(
    tz: &jiff::tz::TimeZone,
    base: &Base,
    job: &enterprise::SessionsJob,
    cancel: &Cancel,
    outcome: &mut UsersOutcome,
    attempt: impl FnOnce() -> Result<T, StepError>,
) -> Result<T, StepError> {
    let mut session = enterprise::start_lock(job)?;
    let started = Instant::now();
    let waited = wait_for_users_to_leave(tz, base, &mut session, cancel, started);
    session.end();
    outcome.waited_seconds = Some(started.elapsed().as_secs());
    waited?;
    outcome.locked = Some(true);
    tracing::info!(base = %base.name, "1C sessions locked; nobody is inside");
    attempt()
}

/// Until no 1C client of the base is left on this computer (the locking
/// session's own end is not enough: BSP gives sessions a grace period), or
/// `BACKUP_USERS_WAIT_MINUTES` pass.
fn wait_for_users_to_leave(
    tz: &jiff::tz::TimeZone,
    base: &Base,
    session: &mut enterprise::LockingSession,
    cancel: &Cancel,
    started: Instant,
) -> Result<(), StepError> {
    let mut session_done = false;
    loop {
        if !session_done {
            session_done = session.finished()?;
        }
        let left = match clients_of(base) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(base = %base.name, "cannot list 1C processes: {e}; dumping anyway");
                return Ok(());
            }
        };
        if left.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= base.users_wait {
            let who: Vec<String> = left.iter().map(|c| onec::inside::describe(c, tz)).collect();
            return Err(StepError::UsersStayed(format!(
                "users did not leave within BACKUP_USERS_WAIT_MINUTES={} after the session \
                 lock: inside: {}",
                base.users_wait.as_secs().div_ceil(60),
                who.join(", ")
            )));
        }
        if !sleep_unless_cancelled(Duration::from_secs(1), cancel) {
            return Err(StepError::Cancelled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_file_round_trips_and_holds_no_code() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("buh")).unwrap();
        let env = [
            (
                "ONEC_BASE_PATH",
                dir.path().join("buh").display().to_string(),
            ),
            ("BACKUP_DIR", dir.path().join("b").display().to_string()),
            ("ONEC_LOCK_CODE", "code-4711".to_string()),
        ];
        let cfg = crate::config::load(&crate::config::LoadOptions::only_env(env)).unwrap();
        let base = &cfg.bases[0];
        let file = state_path(dir.path(), base);
        assert_eq!(file, dir.path().join(".users-locked.buh.json"));
        assert!(!crate::backup::naming::is_temp_name(
            ".users-locked.buh.json"
        ));
        assert!(read_state(&file).is_none());
        let s = LockState {
            base: "buh".into(),
            path: base.path.clone(),
            since: "2026-01-01T00:00:00Z".into(),
            pid: 42,
        };
        write_state(&file, &s).unwrap();
        assert_eq!(read_state(&file).unwrap().unwrap(), s);
        assert!(
            !std::fs::read_to_string(&file)
                .unwrap()
                .contains("code-4711")
        );
        std::fs::write(&file, "garbage").unwrap();
        assert!(
            read_state(&file).unwrap().is_err(),
            "unreadable is still locked"
        );
        let loud = still_locked(base, "exit code 1");
        assert!(
            loud.contains("IS STILL LOCKED: users cannot log in"),
            "{loud}"
        );
        assert!(
            loud.contains("РазрешитьРаботуПользователей") && !loud.contains("4711"),
            "{loud}"
        );
    }
}
