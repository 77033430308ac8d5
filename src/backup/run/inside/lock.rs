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

/// How long the locking session may take to finish by itself once nobody
/// is left (it sets the lock, ends the others, then closes).
const SETTLE: Duration = Duration::from_secs(30);

/// What to do next while the locking session works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Wait,
    /// The session finished and nobody is left.
    Dump,
    /// Nobody is left but the session still runs after [`SETTLE`]: end it.
    EndSessionAndDump,
    /// Users are still inside at `BACKUP_USERS_WAIT_MINUTES`.
    GiveUp,
}

/// The rule: `waited` since the lock began, `quiet_for` since nobody was
/// seen inside (while the session ran). Users still inside end the wait at
/// `users_wait`, but not before the session finished or had [`SETTLE`].
fn next(
    session_done: bool,
    users_left: bool,
    waited: Duration,
    quiet_for: Option<Duration>,
    users_wait: Duration,
) -> Next {
    if users_left {
        // Not before the session did its part (or had SETTLE for it).
        return if waited >= users_wait && (session_done || waited >= SETTLE) {
            Next::GiveUp
        } else {
            Next::Wait
        };
    }
    if session_done {
        Next::Dump
    } else if quiet_for.is_some_and(|q| q >= SETTLE) {
        Next::EndSessionAndDump
    } else {
        Next::Wait
    }
}

/// Until the locking session has done its work and no 1C client of the
/// base is left on this computer (BSP gives sessions a grace period, so the
/// wait outlasts it), or `BACKUP_USERS_WAIT_MINUTES` pass with users still
/// inside. A session that still runs once nobody is left is ended after
/// [`SETTLE`] (by the caller, in any case).
fn wait_for_users_to_leave(
    tz: &jiff::tz::TimeZone,
    base: &Base,
    session: &mut enterprise::LockingSession,
    cancel: &Cancel,
    started: Instant,
) -> Result<(), StepError> {
    let mut session_done = false;
    let mut quiet_since: Option<Instant> = None;
    loop {
        if !session_done {
            session_done = session.finished()?;
        }
        let left = clients_of(base).unwrap_or_else(|e| {
            tracing::warn!(base = %base.name, "cannot list 1C processes: {e}");
            Vec::new()
        });
        if !left.is_empty() {
            quiet_since = None;
        } else if quiet_since.is_none() {
            quiet_since = Some(Instant::now());
        }
        let quiet_for = quiet_since.map(|q| q.elapsed());
        match next(
            session_done,
            !left.is_empty(),
            started.elapsed(),
            quiet_for,
            base.users_wait,
        ) {
            Next::Dump => return Ok(()),
            Next::EndSessionAndDump => {
                tracing::warn!(
                    base = %base.name,
                    "nobody is inside but the locking 1C session still runs; ending it"
                );
                return Ok(());
            }
            Next::GiveUp => {
                let who: Vec<String> = left.iter().map(|c| onec::inside::describe(c, tz)).collect();
                return Err(StepError::UsersStayed(format!(
                    "users did not leave within BACKUP_USERS_WAIT_MINUTES={} after the session \
                     lock: inside: {}",
                    base.users_wait.as_secs().div_ceil(60),
                    who.join(", ")
                )));
            }
            Next::Wait => {}
        }
        let step = Duration::from_millis(if session_done { 1000 } else { 200 });
        if !sleep_unless_cancelled(step, cancel) {
            return Err(StepError::Cancelled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_waits_for_the_session_and_the_users() {
        let s = Duration::from_secs;
        let wait = s(600);
        // Nobody inside: the session's own end is awaited, up to SETTLE.
        assert_eq!(next(false, false, s(0), Some(s(0)), wait), Next::Wait);
        assert_eq!(next(true, false, s(1), Some(s(1)), wait), Next::Dump);
        assert_eq!(
            next(false, false, s(40), Some(SETTLE), wait),
            Next::EndSessionAndDump
        );
        // Users inside: until BACKUP_USERS_WAIT_MINUTES, whatever the session does.
        assert_eq!(next(true, true, s(599), None, wait), Next::Wait);
        assert_eq!(next(true, true, s(600), None, wait), Next::GiveUp);
        assert_eq!(next(false, true, s(0), None, s(0)), Next::Wait);
        assert_eq!(next(true, true, s(0), None, s(0)), Next::GiveUp);
        assert_eq!(next(false, true, SETTLE, None, s(0)), Next::GiveUp);
    }

    #[test]
    fn the_state_file_round_trips_and_holds_no_code() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::config::testing::config_in(dir.path(), &[("ONEC_LOCK_CODE", "code-4711")]);
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
