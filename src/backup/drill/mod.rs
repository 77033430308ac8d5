//! Restore drills: proof that a base's newest good archive really restores.
//! One drill takes the base's lock (so it never runs beside a backup or a
//! prune of that base), picks the newest successful run whose archive still
//! exists, re-verifies the archive (CRC of every entry, the `.1CD` header
//! and pages, the `.dt` inflated to its end), checks the free space of
//! `BACKUP_DRILL_DIR`, restores the archive into a scratch folder there
//! with [`crate::backup::restore`] (a `.dt` loaded into a scratch base when
//! 1C is installed, found as backups find it), and removes the scratch
//! folder whatever happens (a crash's leftover is removed by the base's
//! next drill). Every drill ends as one history row: `ok`, `failed` (the
//! archive is damaged or would not restore) or `skipped` (nothing was
//! proven: no archive, no space, the base busy, a stop), with its reason.
//!
//! The archive is the local one, or a copy fetched back from an offsite
//! target (a [`Source`]); `choose.rs` says which by the base's
//! `drill_from`, and every row records its source. With `alternate`, a
//! target that holds no copy yet gives its turn to the local archive (the
//! row's detail says so); a target drilled on its own is then skipped.
//!
//! `space.rs` holds the free-space estimate, `stale.rs` the pure rule of
//! when drills are overdue, `feed.rs` the stream of finished drills for the
//! agent's notices; the agent runs drills on their schedule from
//! `daemon::drills`, the CLI from `drill`.

pub mod choose;
pub mod feed;
pub mod space;
pub mod stale;

use super::crypt::{Keys, Passwords};
use super::history::{Drill, DrillStatus, History, LOCAL, NewDrill, Run, Trigger};
use super::lock::{self, BaseLock};
use super::restore::{self, Loader, RestoreError, RestoreRequest, RestoredKind};
use super::run::{error_chain, human_bytes};
use super::verify::{self, VerifyError, VerifyReport};
use crate::cancel::Cancel;
use crate::config::{Base, Config, Method};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How many of the newest good runs are looked at for an archive that
/// still exists.
const CANDIDATES: usize = 100;

/// The reason recorded for a drill stopped on request.
pub const STOPPED: &str = "stopped: the drill was interrupted by a stop request";

/// One drill to make.
pub struct Request<'a> {
    pub base: &'a Base,
    pub trigger: Trigger,
    /// How long to wait for a backup of the base to finish before the
    /// drill is skipped (zero: do not wait).
    pub lock_wait: Duration,
    /// Where the archive comes from: `None` = the local archive; else a
    /// copy fetched back (an offsite target: `drill --from`, or the
    /// base's `drill_from`).
    pub source: Option<&'a dyn Source>,
    /// When `source` holds no copy of the base, drill the local archive
    /// instead (an `alternate` turn) rather than skip.
    pub fallback: bool,
}

/// Another place a drill's archive can come from (an offsite target): it
/// picks the run and downloads its archive, verified against the run's
/// SHA-256, into a folder under the drill folder. The returned guard
/// removes the download when dropped.
pub trait Source {
    /// For reasons: "offsite target nas".
    fn describe(&self) -> String;
    /// The name recorded as the drill's source: "nas".
    fn name(&self) -> &str;
    /// The newest good run of `base` this source holds.
    fn pick(&self, history: &History, base: &str) -> Result<Option<Run>, String>;
    /// Download `run`'s archive into `dir`; the path and a guard.
    fn fetch(
        &self,
        history: &History,
        run: &Run,
        dir: &Path,
        cancel: &Cancel,
    ) -> Result<(PathBuf, Box<dyn std::any::Any>), String>;
}

/// Nothing could be recorded.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error("cannot record the restore drill of {base} in history {path}: {source}")]
    Record {
        base: String,
        path: PathBuf,
        source: Box<super::history::HistoryError>,
    },
}

/// How a drill ended, before it is recorded.
#[derive(Debug)]
enum Ending {
    Ok { bytes: u64, detail: String },
    Failed(String),
    Skipped(String),
}

/// Make one drill of `req.base` and record it; returns the stored row
/// (whatever its status). `Err` only when the history cannot record it.
pub fn drill(
    cfg: &Config,
    history: &History,
    req: &Request,
    cancel: &Cancel,
) -> Result<Drill, DrillError> {
    let base = req.base;
    let started = jiff::Timestamp::now();
    let clock = Instant::now();
    let mut picked = None;
    let mut from = Used {
        source: req.source,
        note: None,
    };
    let ending = attempt(cfg, history, req, cancel, &mut picked, &mut from);
    let finished = jiff::Timestamp::now();
    // A copy from elsewhere says so in what the row tells (the notices
    // show the detail and the reason).
    let (status, reason, bytes, detail) = match ending {
        Ending::Ok { bytes, detail } => {
            let detail = match (from.source, &from.note) {
                (Some(src), _) => format!("from the copy on {}: {detail}", src.describe()),
                (None, Some(note)) => format!("{note}; {detail}"),
                (None, None) => detail,
            };
            (DrillStatus::Ok, None, Some(bytes), Some(detail))
        }
        Ending::Failed(r) => (
            DrillStatus::Failed,
            Some(cfg.mask(&from.reason(r))),
            None,
            from.note.clone(),
        ),
        Ending::Skipped(r) => (
            DrillStatus::Skipped,
            Some(cfg.mask(&from.reason(r))),
            None,
            from.note.clone(),
        ),
    };
    let run: Option<&Run> = picked.as_ref();
    let row = history
        .record_drill(&NewDrill {
            base: &base.name,
            trigger: req.trigger,
            run_id: run.map(|r| r.id),
            archive_path: run.and_then(|r| r.archive_path.as_deref()),
            started: &started,
            finished: &finished,
            status,
            reason: reason.as_deref(),
            bytes,
            detail: detail.as_deref(),
            pid: std::process::id(),
            source: from.source.map_or(LOCAL, |s| s.name()),
        })
        .map_err(|source| DrillError::Record {
            base: base.name.clone(),
            path: cfg.history_db.clone(),
            source: Box::new(source),
        })?;
    log(&row, clock.elapsed());
    Ok(row)
}

/// Where a drill's archive came from in the end.
struct Used<'a> {
    /// `None`: the local archive.
    source: Option<&'a dyn Source>,
    /// Why the local archive was drilled instead of the planned copy.
    note: Option<String>,
}

impl Used<'_> {
    /// A reason that names the copy's target when the copy was drilled.
    fn reason(&self, r: String) -> String {
        match self.source {
            Some(src) if !r.contains(&src.describe()) => {
                format!("the copy on {}: {r}", src.describe())
            }
            _ => r,
        }
    }
}

/// The log line of a finished drill (warnings and errors also go to Loki).
fn log(d: &Drill, took: Duration) {
    let archive = d
        .archive_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let reason = d.reason.as_deref().unwrap_or("");
    match d.status {
        DrillStatus::Ok => tracing::info!(
            base = %d.base, archive, "restore drill ok in {:.1}s: {}",
            took.as_secs_f64(), d.detail.as_deref().unwrap_or("")
        ),
        DrillStatus::Failed => {
            tracing::error!(base = %d.base, archive, "restore drill FAILED: {reason}")
        }
        DrillStatus::Skipped => {
            tracing::warn!(base = %d.base, archive, "restore drill skipped: {reason}")
        }
    }
}

fn attempt(
    cfg: &Config,
    history: &History,
    req: &Request,
    cancel: &Cancel,
    picked: &mut Option<Run>,
    from: &mut Used,
) -> Ending {
    let base = req.base;
    let lock = match wait_for_lock(cfg, base, req.lock_wait, cancel) {
        Ok(l) => l,
        Err(LockWait::Busy(who)) => {
            return Ending::Skipped(format!(
                "a backup of {} is running{}; the drill did not start",
                base.name,
                who.map(|w| format!(" ({w})")).unwrap_or_default()
            ));
        }
        Err(LockWait::Stopped) => return Ending::Skipped(STOPPED.into()),
        Err(LockWait::Io(e)) => {
            return Ending::Failed(format!("cannot take the lock of {}: {e}", base.name));
        }
    };
    lock.note("restore-drill");
    let scratch = Scratch::for_base(cfg, base);
    if let Err(e) = scratch.clear() {
        return Ending::Failed(format!(
            "cannot remove the scratch folder {} left by an earlier drill: {e}",
            scratch.0.display()
        ));
    }
    let mut picked_run = match req.source {
        None => newest_archive(history, &base.name),
        Some(src) => src.pick(history, &base.name),
    };
    // An `alternate` turn of a target with no copy goes to the local
    // archive.
    if let (Some(src), Ok(None), true) = (req.source, &picked_run, req.fallback) {
        from.source = None;
        from.note = Some(format!(
            "the local archive was drilled: {} holds no copy of {} yet (its turn of \
             BACKUP_DRILL_FROM=alternate)",
            src.describe(),
            base.name
        ));
        picked_run = newest_archive(history, &base.name);
    }
    let run = match picked_run {
        Ok(Some(run)) => run,
        Ok(None) => {
            return Ending::Skipped(match from.source {
                None => format!(
                    "nothing to drill: no successful backup of {} whose archive still exists",
                    base.name
                ),
                Some(src) => format!(
                    "nothing to drill: no successful backup of {} has a copy on {}",
                    base.name,
                    src.describe()
                ),
            });
        }
        Err(e) => return Ending::Failed(format!("cannot read the history: {e}")),
    };
    // A copy from elsewhere is downloaded (and checked) first; the guard
    // removes it when the drill ends.
    let download = match from.source {
        None => None,
        Some(src) => match src.fetch(history, &run, &cfg.drill_dir, cancel) {
            Ok(got) => Some(got),
            Err(e) => {
                *picked = Some(run);
                return Ending::Failed(e);
            }
        },
    };
    let archive = match &download {
        Some((path, _guard)) => path.clone(),
        None => run.archive_path.clone().unwrap_or_default(),
    };
    // An encrypted archive opens with the settings' passwords, the one its
    // run recorded tried first.
    let passwords = Passwords::configured(cfg, Some(base)).for_key_id(run.key_id.as_deref());
    *picked = Some(run);
    let report = match verify::verify_with(&archive, &Keys::new(passwords.clone()), cancel) {
        Ok(r) => r,
        Err(VerifyError::Cancelled(_)) => return Ending::Skipped(STOPPED.into()),
        // Not damage, but the archive cannot be restored all the same.
        Err(e @ (VerifyError::WrongPassword { .. } | VerifyError::NeedPassword { .. })) => {
            return Ending::Failed(format!(
                "{e} — the archive cannot be restored with the passwords in the settings"
            ));
        }
        Err(e @ VerifyError::Io { .. }) => {
            return Ending::Failed(format!(
                "cannot read the archive {}: {e}",
                archive.display()
            ));
        }
        Err(e) => {
            return Ending::Failed(format!("the archive {} is damaged: {e}", archive.display()));
        }
    };
    let exe = loader_exe(cfg, base);
    if let Some(short) = short_of_space(cfg, &report, exe.is_some()) {
        return short;
    }
    let loader = exe.as_ref().map(|(ibcmd, p)| {
        if *ibcmd {
            Loader::Ibcmd(p)
        } else {
            Loader::Designer(p)
        }
    });
    let restored = restore::restore(&RestoreRequest {
        archive: &archive,
        to: &scratch.0,
        force: false,
        passwords: &passwords,
        loader,
        user: None,
        password: None,
        timeout: base.timeout,
        cancel,
        progress: &|_| {},
    });
    match restored {
        Ok(r) => Ending::Ok {
            bytes: r.bytes,
            detail: describe(&report, r.kind, r.files, r.bytes, r.detail.as_deref()),
        },
        Err(RestoreError::Cancelled) => Ending::Skipped(STOPPED.into()),
        Err(_) if cancel.is_cancelled() => Ending::Skipped(STOPPED.into()),
        // The restore's own, finer estimate (e.g. for the loaded base).
        Err(e @ RestoreError::NoSpace { .. }) => {
            Ending::Skipped(format!("{e}; or set BACKUP_DRILL_DIR to a larger disk"))
        }
        Err(e @ (RestoreError::Damaged(_) | RestoreError::BadInfobase { .. })) => {
            Ending::Failed(format!(
                "the archive {} is damaged: {}",
                archive.display(),
                error_chain(&e)
            ))
        }
        Err(e) => {
            // 1C's log would go with the scratch folder: keep a copy.
            let kept = match &e {
                RestoreError::Load { log, .. } => scratch.keep(log, "1c.log"),
                _ => None,
            };
            Ending::Failed(format!(
                "restoring the archive {} failed: {}{}",
                archive.display(),
                error_chain(&e),
                kept.map(|p| format!(" (1C's log is kept as {})", p.display()))
                    .unwrap_or_default()
            ))
        }
    }
}

/// The newest good run of `base` whose archive is still on disk.
fn newest_archive(history: &History, base: &str) -> Result<Option<Run>, String> {
    let runs = history
        .good_archives(base, CANDIDATES)
        .map_err(|e| e.to_string())?;
    Ok(runs
        .into_iter()
        .find(|r| r.archive_path.as_ref().is_some_and(|p| p.exists())))
}

/// `Some(ending)` when the drill cannot go on for lack of space (or the
/// drill folder is unusable).
fn short_of_space(cfg: &Config, report: &VerifyReport, loads: bool) -> Option<Ending> {
    let dir = &cfg.drill_dir;
    if let Err(e) = fs::create_dir_all(dir) {
        return Some(Ending::Failed(format!(
            "cannot create the drill folder {}: {e}; check BACKUP_DRILL_DIR",
            dir.display()
        )));
    }
    let need = space::needed(report, loads);
    match space::available(dir) {
        Ok(avail) if avail < need => Some(Ending::Skipped(format!(
            "not enough free space in {} for the drill: about {} needed, {} available; \
             free some space or set BACKUP_DRILL_DIR to a larger disk",
            dir.display(),
            human_bytes(need),
            human_bytes(avail)
        ))),
        Ok(_) => None,
        Err(e) => Some(Ending::Failed(format!(
            "cannot read the free space of {}: {e}",
            dir.display()
        ))),
    }
}

/// What a good drill proved, in one line.
fn describe(
    report: &VerifyReport,
    kind: RestoredKind,
    files: usize,
    bytes: u64,
    detail: Option<&str>,
) -> String {
    let how = match kind {
        RestoredKind::Copy => "copy restored".to_string(),
        RestoredKind::Dump {
            loaded: true,
            by: Some(by),
        } => format!("dump loaded into a scratch base by {by}"),
        RestoredKind::Dump { loaded: true, .. } => "dump loaded into a scratch base".into(),
        RestoredKind::Dump { loaded: false, .. } => {
            "dump extracted and checked, not loaded (1C is not installed)".into()
        }
    };
    let mut out = format!("{how}: {files} file(s), {}", human_bytes(bytes));
    if let Some(d) = detail {
        out.push_str(&format!("; {d}"));
    }
    let checked: Vec<String> = report
        .entries
        .iter()
        .filter_map(|e| e.detail.as_ref().map(|d| format!("{}: {d}", e.name)))
        .collect();
    if !checked.is_empty() {
        out.push_str(&format!("; verified {}", checked.join(", ")));
    }
    out
}

/// The 1C program that loads a `.dt`, found as backups find it: `ibcmd`
/// for a base backed up with `ibcmd`, else the Designer. `None` when 1C is
/// not installed (the `.dt` is then checked but not loaded). `true`: ibcmd.
fn loader_exe(cfg: &Config, base: &Base) -> Option<(bool, PathBuf)> {
    let designer = crate::onec::locate_designer(cfg.onec_exe.as_deref()).ok();
    if base.method == Method::Ibcmd
        && let Ok(p) = crate::onec::locate_ibcmd(cfg.ibcmd_exe.as_deref(), designer.as_deref())
    {
        return Some((true, p));
    }
    designer.map(|d| (false, d))
}

enum LockWait {
    /// Still held when the wait ran out: who holds it, when known.
    Busy(Option<String>),
    Stopped,
    Io(io::Error),
}

/// Take the base's lock, waiting up to `wait` for a backup to finish.
fn wait_for_lock(
    cfg: &Config,
    base: &Base,
    wait: Duration,
    cancel: &Cancel,
) -> Result<BaseLock, LockWait> {
    let deadline = Instant::now() + wait;
    loop {
        match lock::try_lock_base(cfg, base) {
            Ok(Ok(held)) => return Ok(held),
            Ok(Err(holder)) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(LockWait::Busy(holder.info));
                }
                if cancel.is_cancelled() {
                    return Err(LockWait::Stopped);
                }
                std::thread::sleep((deadline - now).min(Duration::from_secs(1)));
            }
            Err(e) => return Err(LockWait::Io(e)),
        }
    }
}

/// A base's scratch folder in `BACKUP_DRILL_DIR`: one per base (its lock
/// makes it exclusive), removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn for_base(cfg: &Config, base: &Base) -> Scratch {
        let key = crate::platform::path_key(&base.path);
        let stem = lock::file_stem_for(&base.name, &key);
        Scratch(cfg.drill_dir.join(format!("{stem}.restore")))
    }

    /// Copy `file` (inside the folder) beside it as `<stem>.<suffix>`,
    /// replacing the last one kept, so it outlives the folder.
    fn keep(&self, file: &Path, suffix: &str) -> Option<PathBuf> {
        let dest = self.0.with_extension(suffix);
        fs::copy(file, &dest).ok().map(|_| dest)
    }

    /// Remove the folder and everything in it; a missing one is fine.
    fn clear(&self) -> io::Result<()> {
        remove_tree(&self.0)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = self.clear() {
            tracing::warn!(
                folder = %self.0.display(),
                "cannot remove the drill's scratch folder: {e}; the next drill of the base removes it"
            );
        }
    }
}

fn remove_tree(p: &Path) -> io::Result<()> {
    match fs::remove_dir_all(p) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}
