//! One backup run, start to finish: recover → lock → skip if unchanged →
//! free-space check → make (Designer dump, ibcmd dump or cold copy) → pack
//! into a temporary file → verify it → rename to its final name → record →
//! prune. A final name only ever holds a verified archive: every temporary
//! is removed when a step fails, and a killed run's temporaries are removed
//! (and its row marked `interrupted`) by the next run's recovery.

use super::archive::{self, Source};
use super::history::{Finish, History, NewRun, Run, Status, Trigger};
use super::lock;

mod inside;
mod recover;
pub mod stages;
use super::{crypt, fingerprint, naming, prune, verify};
use crate::cancel::Cancel;
use crate::config::{Base, Compress, Config, Method};
use crate::onec;
pub use inside::UsersOutcome;
pub use recover::{Recovery, recover};
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What the run is doing now, for progress displays (terminal, Telegram).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Preparing,
    Dumping,
    Packing,
    Verifying,
    Publishing,
    Pruning,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Preparing => "preparing",
            Stage::Dumping => "dumping",
            Stage::Packing => "packing",
            Stage::Verifying => "verifying",
            Stage::Publishing => "publishing",
            Stage::Pruning => "pruning",
        }
    }
}

/// A progress event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The run has its history row (not sent for skipped runs).
    Started {
        run_id: i64,
    },
    Stage(Stage),
    /// Bytes read of the sources while packing or copying.
    Progress {
        done: u64,
        total: u64,
    },
}

pub struct Request<'a> {
    pub base: &'a Base,
    pub trigger: Trigger,
    /// Back up even when the base has not changed since the last good backup.
    pub force: bool,
}

/// The result of a run that did not fail: its history row, the one typed
/// record of the run (`record`), plus what only this process saw.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The row as the history stored it.
    #[serde(skip)]
    pub record: Run,
    pub run_id: i64,
    pub base: String,
    pub method: &'static str,
    /// `ok` or `skipped`.
    pub status: Status,
    /// Why it was skipped.
    pub reason: Option<String>,
    pub archive: Option<PathBuf>,
    pub archive_size: Option<u64>,
    pub source_size: Option<u64>,
    pub sha256: Option<String>,
    pub duration_secs: f64,
    /// What the verification checked, one line per entry.
    pub verified: Vec<String>,
    /// The 1C log of this run, when 1C ran.
    pub log_path: Option<PathBuf>,
    /// Archives removed by retention after this run.
    pub pruned: Vec<PathBuf>,
    /// What the users-inside policy did, in words (locked and unlocked,
    /// sessions closed; loud when the base was left locked).
    pub users_note: Option<String>,
}

/// A run that failed or was interrupted (already recorded in history).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Nothing could be started or recorded (backup folder or history unusable).
    #[error("{0}")]
    Setup(String),
    #[error("backup of {} failed: {}", .0.base, .0.message)]
    Failed(Box<FailedRun>),
    #[error("backup of {} interrupted: stop requested; nothing was kept", .0.base)]
    Interrupted(Box<Run>),
}

/// The details of a failed run.
#[derive(Debug)]
pub struct FailedRun {
    /// The row as the history stored it.
    pub record: Run,
    pub run_id: i64,
    pub base: String,
    pub message: String,
    /// What a known 1C failure means, said by each reader in its language
    /// (`Display`: English).
    pub explanation: Option<onec::Explanation>,
    /// Key lines of the 1C log.
    pub log_excerpt: Vec<String>,
    pub log_path: Option<PathBuf>,
    /// Who was inside when the run failed because users were inside
    /// (the notice offers to close their sessions and retry); `None` for
    /// every other failure.
    pub users_inside: Option<String>,
    /// What the users-inside policy did, in words (loud when the base was
    /// left locked).
    pub users_note: Option<String>,
}

impl BackupError {
    pub fn run_id(&self) -> Option<i64> {
        match self {
            BackupError::Setup(_) => None,
            BackupError::Failed(f) => Some(f.run_id),
            BackupError::Interrupted(run) => Some(run.id),
        }
    }
}

/// A step failure, before it is recorded.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Onec(#[from] onec::OnecError),
    #[error(transparent)]
    InUse(#[from] onec::InUse),
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error(
        "not enough free space in {dir}: about {need} needed, {avail} available; free some space or move BACKUP_DIR"
    )]
    NoSpace {
        dir: String,
        need: String,
        avail: String,
    },
    #[error(
        "the base changed while it was being copied (someone worked in it), so the copy may be inconsistent and was discarded; back up when nobody works or use BACKUP_METHOD=dump"
    )]
    ChangedDuringCopy,
    #[error("stop requested")]
    Cancelled,
    /// The users-inside policy cannot be applied (refused, misconfigured).
    #[error("{0}")]
    Policy(String),
    /// Policy `lock`: the users were still inside when the wait ended.
    #[error("{0}")]
    UsersStayed(String),
}

impl StepError {
    /// 1C could not lock the base (dump, ibcmd) or the base is in use
    /// (copy): users are inside.
    fn users_inside(&self) -> bool {
        match self {
            StepError::Onec(oe) => oe.explanation_code() == Some(onec::Explanation::UsersConnected),
            StepError::InUse(_) | StepError::UsersStayed(_) => true,
            _ => false,
        }
    }
}

impl From<crate::cancel::Cancelled> for StepError {
    fn from(_: crate::cancel::Cancelled) -> Self {
        StepError::Cancelled
    }
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StepError {
    let what = what.into();
    move |source| StepError::Io { what, source }
}

/// Paths to remove unless the run publishes them.
#[derive(Default)]
struct Temps(Vec<PathBuf>);

impl Temps {
    fn add(&mut self, p: &Path) {
        self.0.push(p.to_path_buf());
    }
    fn keep(&mut self, p: &Path) {
        self.0.retain(|x| x != p);
    }
}

impl Drop for Temps {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = if p.is_dir() {
                fs::remove_dir_all(p)
            } else {
                fs::remove_file(p)
            };
        }
    }
}

/// Human-readable byte count (binary units).
pub fn human_bytes(n: u64) -> String {
    crate::text::EN.units.bytes(n)
}

/// Open (creating) the backup folder and the history, then [`recover`].
pub fn open_and_recover(cfg: &Config) -> Result<(History, Recovery), BackupError> {
    fs::create_dir_all(&cfg.backup_dir).map_err(|e| {
        BackupError::Setup(format!(
            "cannot create the backup folder {}: {e}; check BACKUP_DIR and its permissions",
            cfg.backup_dir.display()
        ))
    })?;
    let history = History::open(&cfg.history_db).map_err(|e| {
        BackupError::Setup(format!(
            "cannot open the history database {}: {e}",
            cfg.history_db.display()
        ))
    })?;
    warn_if_on_network(cfg);
    let recovery = recover(cfg, &history);
    recover_session_locks(cfg);
    Ok((history, recovery))
}

/// Lift the 1C session locks (policy `lock`) left by runs that were
/// killed, for each base nobody is backing up now.
pub fn recover_session_locks(cfg: &Config) {
    for base in &cfg.bases {
        if let Ok(Ok(_held)) = lock::try_lock_base(cfg, base) {
            let _ = inside::lock::recover(cfg, base);
        }
    }
}

/// The start-up warning for a history database on a network path (where
/// it runs with a rollback journal, slower and only as safe as the share).
pub fn warn_if_on_network(cfg: &Config) {
    if crate::platform::is_network_path(&cfg.history_db) {
        tracing::warn!(
            "the history database {} is on a network path: it uses a rollback journal there \
             (WAL is not safe on network filesystems); set BACKUP_HISTORY_DB to a file on a \
             local disk",
            cfg.history_db.display()
        );
    }
}

/// Run one backup of `req.base`. Progress goes to `events`; `cancel` stops
/// it cleanly (1C processes killed, temporaries removed, row `interrupted`).
pub fn run(
    cfg: &Config,
    history: &History,
    req: &Request,
    events: &mut dyn FnMut(Event),
    cancel: &Cancel,
) -> Result<Outcome, BackupError> {
    let base = req.base;
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    // Every stage event, timed for the history.
    let stage_times = stages::StageTimes::default();
    let outer = events;
    let mut timed = |e: Event| {
        if let Event::Stage(s) = &e {
            stage_times.enter(*s);
        }
        outer(e)
    };
    let events: &mut dyn FnMut(Event) = &mut timed;
    let new_run = NewRun {
        base: &base.name,
        trigger: req.trigger,
        method: base.method.as_str(),
        started: &started_at,
        pid: std::process::id(),
    };
    let setup = |e: super::history::HistoryError| {
        BackupError::Setup(format!(
            "cannot record the run in history {}: {e}",
            cfg.history_db.display()
        ))
    };
    let skipped = |reason: String| -> Result<Outcome, BackupError> {
        let record = history.record_skipped(&new_run, &reason).map_err(setup)?;
        tracing::info!(base = %base.name, "backup skipped: {reason}");
        Ok(Outcome {
            run_id: record.id,
            record,
            base: base.name.clone(),
            method: base.method.as_str(),
            status: Status::Skipped,
            reason: Some(reason),
            archive: None,
            archive_size: None,
            source_size: None,
            sha256: None,
            duration_secs: clock.elapsed().as_secs_f64(),
            verified: Vec::new(),
            log_path: None,
            pruned: Vec::new(),
            users_note: None,
        })
    };

    events(Event::Stage(Stage::Preparing));
    let _lock = match lock::try_lock_base(cfg, base) {
        Ok(Ok(lock)) => lock,
        Ok(Err(holder)) => {
            let who = holder.info.map(|i| format!(" ({i})")).unwrap_or_default();
            return skipped(already_running_reason(&base.name, &who));
        }
        Err(e) => {
            return Err(BackupError::Setup(format!(
                "cannot create the lock file in {}: {e}",
                cfg.backup_dir.display()
            )));
        }
    };
    // A 1C session lock an earlier, killed run left (logged either way).
    let _ = inside::lock::recover(cfg, base);

    // Unchanged since the last good backup whose archive still exists?
    let files =
        fingerprint::base_files(&base.path, base.include_log && base.method == Method::Copy);
    let fp = files
        .as_ref()
        .ok()
        .and_then(|f| fingerprint::fingerprint(f).ok());
    if !req.force
        && let (Some((fp, _)), Ok(Some(last))) = (&fp, history.last_success(&base.name))
    {
        let archive_exists = last.archive_path.as_ref().is_some_and(|p| p.exists());
        if last.fingerprint.as_deref() == Some(fp.as_str()) && archive_exists {
            return skipped(format!(
                "unchanged since the last successful backup ({}); use --force to back up anyway",
                last.started
            ));
        }
    }

    let run_id = history.start_run(&new_run).map_err(setup)?;
    events(Event::Started { run_id });
    let mut log_path = None;
    // The users-inside policy (`wait` tries again; one row either way).
    let (result, mut users) = inside::attempts(cfg, base, cancel, || {
        let attempt_files = match &files {
            Ok(f) => Ok(f.clone()),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        };
        execute(
            cfg,
            base,
            attempt_files,
            fp.as_ref().map(|f| f.0.as_str()),
            events,
            cancel,
            &mut log_path,
        )
    });
    let finished = jiff::Timestamp::now();
    let stages_json = stage_times.json(Instant::now());
    let words = users.words();
    let users_note = (!words.is_empty()).then_some(words);
    let users_json = users.json();
    match result {
        Ok(done) => {
            if let Some(note) = &users_note {
                tracing::info!(base = %base.name, "users inside: {note}");
            }
            let finish = Finish {
                archive_path: Some(&done.archive),
                archive_size: Some(done.archive_size),
                source_size: Some(done.source_size),
                sha256: Some(&done.sha256),
                onec_exit_code: done.onec_exit_code,
                fingerprint: fp.as_ref().map(|f| f.0.as_str()),
                log_path: log_path.as_deref(),
                key_id: done.key_id.as_deref(),
                policy_outcome: users_json.as_deref(),
                stages: Some(&stages_json),
                ..Finish::new(Status::Ok, &finished)
            };
            let record = history.finish_run(run_id, &finish).map_err(setup)?;
            tracing::info!(
                base = %base.name,
                archive = %done.archive.display(),
                size = done.archive_size,
                "backup done in {:.1}s",
                clock.elapsed().as_secs_f64()
            );
            events(Event::Stage(Stage::Pruning));
            let pruned = match prune::apply(
                cfg,
                base,
                history,
                Some(run_id),
                jiff::ZonedDateTime::now().with_time_zone(cfg.timezone.clone()),
            ) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(base = %base.name, "retention failed (the new backup is kept): {e}");
                    Vec::new()
                }
            };
            Ok(Outcome {
                record,
                run_id,
                base: base.name.clone(),
                method: base.method.as_str(),
                status: Status::Ok,
                reason: None,
                archive: Some(done.archive),
                archive_size: Some(done.archive_size),
                source_size: Some(done.source_size),
                sha256: Some(done.sha256),
                duration_secs: clock.elapsed().as_secs_f64(),
                verified: done.verified,
                log_path,
                pruned,
                users_note,
            })
        }
        Err(StepError::Cancelled) | Err(StepError::Onec(onec::OnecError::Cancelled { .. })) => {
            let mut msg =
                "interrupted: stop requested; the unfinished archive was deleted".to_string();
            if let Some(note) = &users_note {
                msg.push_str("; ");
                msg.push_str(note);
            }
            let finish = Finish {
                policy_outcome: users_json.as_deref(),
                stages: Some(&stages_json),
                ..failed_finish(
                    Status::Interrupted,
                    &finished,
                    &msg,
                    None,
                    fp.as_ref(),
                    log_path.as_deref(),
                )
            };
            let record = history.finish_run(run_id, &finish).map_err(setup)?;
            tracing::warn!(base = %base.name, "backup interrupted");
            Err(BackupError::Interrupted(Box::new(record)))
        }
        Err(e) => {
            let (explanation, excerpt, exit_code) = match &e {
                StepError::Onec(oe) => (
                    oe.explanation_code(),
                    oe.log_excerpt().iter().map(|l| cfg.mask(l)).collect(),
                    oe.exit_code(),
                ),
                _ => (None, Vec::new(), None),
            };
            let mut message = cfg.mask(&error_chain(&e));
            if let Some(note) = &users_note {
                message.push_str("; ");
                message.push_str(note);
            }
            let users_inside = e.users_inside().then(|| inside::who_was_inside(cfg, base));
            if let Some(who) = &users_inside {
                message.push_str("; ");
                message.push_str(who);
                users.inside_at_failure = Some(who.clone());
            }
            let users_json = users.json();
            let finish = Finish {
                policy_outcome: users_json.as_deref(),
                stages: Some(&stages_json),
                ..failed_finish(
                    Status::Failed,
                    &finished,
                    &message,
                    exit_code,
                    fp.as_ref(),
                    log_path.as_deref(),
                )
            };
            let record = history.finish_run(run_id, &finish).map_err(setup)?;
            tracing::error!(base = %base.name, "backup failed: {message}");
            Err(BackupError::Failed(Box::new(FailedRun {
                record,
                run_id,
                base: base.name.clone(),
                message,
                explanation,
                log_excerpt: excerpt,
                log_path,
                users_inside,
                users_note,
            })))
        }
    }
}

/// Why a run was skipped because another backup of the base is going on
/// (`who`: what is known of it, e.g. ` (packing)`).
fn already_running_reason(base: &str, who: &str) -> String {
    format!("already running: another backup of {base} is in progress{who}")
}

/// Record a request refused because the base is busy as a skipped run:
/// the one place such a row is written (this process's coordinator calls
/// it; another process's run finds the lock taken in [`run`]).
pub fn record_already_running(cfg: &Config, base: &Base, trigger: Trigger, who: &str) {
    let Ok(h) = History::open(&cfg.history_db) else {
        return;
    };
    let now = jiff::Timestamp::now();
    let new = NewRun {
        base: &base.name,
        trigger,
        method: base.method.as_str(),
        started: &now,
        pid: std::process::id(),
    };
    let reason = already_running_reason(&base.name, who);
    if let Err(e) = h.record_skipped(&new, &reason) {
        tracing::warn!(base = %base.name, "cannot record a skipped run: {e}");
    }
}

fn failed_finish<'a>(
    status: Status,
    finished: &'a jiff::Timestamp,
    message: &'a str,
    exit_code: Option<i32>,
    fp: Option<&'a (String, u64)>,
    log_path: Option<&'a Path>,
) -> Finish<'a> {
    Finish {
        source_size: fp.map(|f| f.1),
        onec_exit_code: exit_code,
        error: Some(message),
        log_path,
        ..Finish::new(status, finished)
    }
}

/// `error: cause: cause` on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s
}

struct Done {
    archive: PathBuf,
    archive_size: u64,
    source_size: u64,
    sha256: String,
    verified: Vec<String>,
    onec_exit_code: Option<i32>,
    /// The key id of the password the archive is encrypted with.
    key_id: Option<String>,
}

fn execute(
    cfg: &Config,
    base: &Base,
    files: std::io::Result<Vec<(String, PathBuf)>>,
    fp_before: Option<&str>,
    events: &mut dyn FnMut(Event),
    cancel: &Cancel,
    log_path: &mut Option<PathBuf>,
) -> Result<Done, StepError> {
    if !base.path.is_dir() {
        return Err(StepError::Io {
            what: format!("infobase folder {}", base.path.display()),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not found or not a folder; check ONEC_BASE_PATH / bases[].path",
            ),
        });
    }
    let files = files.map_err(io(format!(
        "no 1Cv8.1CD in {} (is this a file infobase folder?)",
        base.path.display()
    )))?;
    let source_size: u64 = files
        .iter()
        .filter_map(|(_, p)| fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();

    // Name the archive after the start time; bump a second on a collision.
    let mut at = jiff::ZonedDateTime::now().with_time_zone(cfg.timezone.clone());
    let password = base.archive_password.as_ref();
    let ext = archive::sealed_extension(
        base.compress,
        base.method == Method::Copy,
        password.is_some(),
    );
    let mut final_path = naming::archive_path(&cfg.backup_dir, &base.prefix, &at, ext);
    while final_path.exists()
        || naming::archive_path(&cfg.backup_dir, &base.prefix, &at, ".dt").exists()
    {
        at = at
            .checked_add(jiff::SignedDuration::from_secs(1))
            .expect("time in range");
        final_path = naming::archive_path(&cfg.backup_dir, &base.prefix, &at, ext);
    }
    let day_dir = final_path
        .parent()
        .expect("archive path has a folder")
        .to_path_buf();
    fs::create_dir_all(&day_dir).map_err(io(format!("cannot create {}", day_dir.display())))?;
    // The new day folder's entry in BACKUP_DIR must be durable too.
    durable_dir(&cfg.backup_dir);
    check_space(&day_dir, base, source_size)?;

    let mut temps = Temps::default();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let stem = file_stem(&final_path);
    let mut onec_exit_code = None;
    let mut dt_tmp = None;

    let sources = match base.method {
        Method::Copy => {
            cancel.check()?;
            onec::check_idle(&base.path)?;
            files
                .iter()
                .map(|(name, path)| Source {
                    name: name.clone(),
                    path: path.clone(),
                })
                .collect()
        }
        Method::Dump | Method::Ibcmd => {
            events(Event::Stage(Stage::Dumping));
            let dt_final = final_path.with_file_name(format!("{stem}.dt"));
            let tmp = naming::temp_path(&dt_final);
            temps.add(&tmp);
            let logs_dir = cfg
                .backup_dir
                .join("logs")
                .join(day_dir.file_name().unwrap_or_default());
            fs::create_dir_all(&logs_dir)
                .map_err(io(format!("cannot create {}", logs_dir.display())))?;
            let out_log = logs_dir.join(format!("{stem}.log"));
            *log_path = Some(out_log.clone());
            let lock_code = base.lock_code.as_ref().map(|c| c.expose().to_string());
            let job = onec::DumpJob {
                exe: Path::new(""),
                base: &base.path,
                user: base.user.as_deref(),
                password: base.password.as_ref(),
                lock_code: lock_code.as_deref(),
                dt_path: &tmp,
                out_log: &out_log,
                timeout: base.timeout,
                cancel,
            };
            let outcome = if base.method == Method::Dump {
                let exe = onec::locate_designer(cfg.onec_exe.as_deref())?;
                onec::dump_designer(&onec::DumpJob { exe: &exe, ..job })?
            } else {
                let designer = cfg.onec_exe.clone();
                let exe = onec::locate_ibcmd(cfg.ibcmd_exe.as_deref(), designer.as_deref())?;
                onec::dump_ibcmd(&onec::DumpJob { exe: &exe, ..job })?
            };
            onec_exit_code = Some(outcome.exit_code);
            dt_tmp = Some((tmp.clone(), dt_final));
            vec![Source {
                name: format!("{stem}.dt"),
                path: tmp,
            }]
        }
    };
    cancel.check()?;

    // Pack (or, for a bare .dt, the dump itself is the result).
    let bare_dt = base.compress == Compress::None && base.method != Method::Copy;
    let mut keys = crypt::Keys::new(crypt::Passwords::new(password, []));
    // A `.tar.zst.age`'s header, sealed during the verification.
    let mut pending_header = None;
    let tmp_archive = if bare_dt {
        dt_tmp.as_ref().expect("dump made a .dt").0.clone()
    } else {
        events(Event::Stage(Stage::Packing));
        let tmp = naming::temp_path(&final_path);
        temps.add(&tmp);
        let opts = archive::Options {
            compress: base.compress,
            level: base.compress_level,
            threads,
            password,
        };
        // At background priority on a thread of its own, progress relayed.
        let packed = crate::platform::in_background(
            "pack",
            |progress| {
                archive::pack_unsealed(
                    &sources,
                    &tmp,
                    &opts,
                    &mut |p| {
                        let _ = progress.send(p);
                    },
                    cancel,
                )
            },
            |p| {
                events(Event::Progress {
                    done: p.done,
                    total: p.total,
                })
            },
        )?;
        // The verification opens the age file with the key just used
        // instead of running scrypt on the password again.
        keys.sealed = packed.file_key.clone().zip(password.map(crypt::key_id));
        pending_header = packed.header;
        tmp
    };

    if base.method == Method::Copy {
        // Prove nobody wrote to the base while it was read.
        let after = fingerprint::fingerprint(&files)
            .map_err(io("cannot re-read the base after copying"))?;
        if onec::check_idle(&base.path).is_err() || fp_before != Some(after.0.as_str()) {
            return Err(StepError::ChangedDuringCopy);
        }
    }

    events(Event::Stage(Stage::Verifying));
    let report = crate::platform::in_background(
        "verify",
        |_| match pending_header {
            Some(header) => verify::verify_sealing(&tmp_archive, &keys, header, cancel),
            None => verify::verify_with(&tmp_archive, &keys, cancel),
        },
        |()| {},
    )?;
    cancel.check()?;

    events(Event::Stage(Stage::Publishing));
    // A dump 1C wrote is flushed before it gets a final name (the packer
    // syncs what it writes itself).
    let sync_file = |p: &Path| fs::File::open(p).and_then(|f| f.sync_all());
    if bare_dt {
        sync_file(&tmp_archive).map_err(io(format!(
            "cannot flush the dump {} to disk",
            tmp_archive.display()
        )))?;
    }
    // Never replaces an existing file, whoever made it.
    crate::platform::rename_no_replace(&tmp_archive, &final_path).map_err(io(format!(
        "cannot rename the verified archive to {} (an existing file is never replaced)",
        final_path.display()
    )))?;
    temps.keep(&tmp_archive);
    if let Some((tmp, dt_final)) = dt_tmp
        && !bare_dt
        && !base.delete_dt_after_compress
    {
        // Keep the .dt beside the archive, as the prototype's option did.
        if sync_file(&tmp).is_ok() && crate::platform::rename_no_replace(&tmp, &dt_final).is_ok() {
            temps.keep(&tmp);
        }
    }
    durable_dir(&day_dir);
    drop(temps);
    Ok(Done {
        archive: final_path,
        archive_size: report.size,
        source_size,
        sha256: report.sha256.clone(),
        verified: report
            .entries
            .iter()
            .map(|e| match &e.detail {
                Some(d) => format!("{} ({}): {d}", e.name, human_bytes(e.size)),
                None => format!("{} ({})", e.name, human_bytes(e.size)),
            })
            .collect(),
        onec_exit_code,
        key_id: report.key_id,
    })
}

/// Make the entries of `dir` durable; a failure is logged loudly (the
/// archive is verified and named; only its survival of a power cut is in
/// doubt), not ignored. On Windows the moves are write-through already.
fn durable_dir(dir: &Path) {
    if let Err(e) = crate::platform::sync_dir(dir) {
        tracing::error!(
            folder = %dir.display(),
            "cannot flush the folder to disk: {e}; a power cut could lose its newest entries"
        );
    }
}

fn file_stem(p: &Path) -> String {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for ext in [".tar.zst.age", ".tar.zst", ".zip", ".dt"] {
        if let Some(s) = name.strip_suffix(ext) {
            return s.to_string();
        }
    }
    name
}

/// Refuse early, with the numbers, when the backup cannot fit. The estimate
/// is deliberately modest (1C data compresses about 5×; a `.dt` is itself
/// compressed) so a backup that fits is never refused; a disk that fills
/// anyway is caught by the write itself.
fn check_space(dir: &Path, base: &Base, source_size: u64) -> Result<(), StepError> {
    let need = match (base.method, base.compress) {
        (Method::Copy, Compress::None) => source_size,
        (Method::Copy, _) => source_size / 4,
        (_, Compress::None) => source_size / 4,
        (_, _) => source_size / 4 + source_size / 4,
    } + 16 * 1024 * 1024;
    let space = crate::platform::disk_space(dir)
        .map_err(io(format!("cannot read free space of {}", dir.display())))?;
    if space.available < need {
        return Err(StepError::NoSpace {
            dir: dir.display().to_string(),
            need: human_bytes(need),
            avail: human_bytes(space.available),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
