//! `onec-backup-bot restore <archive | latest> --to <dir>`: restore a backup
//! into a new infobase folder ([`crate::backup::restore`]). A copy is
//! extracted and its `1Cv8.1CD` checked; a `.dt` is loaded by the Designer
//! or `ibcmd` (as the base is backed up: found as the backup finds them).
//! The password of an existing base in the folder is read from an
//! environment variable named by `--password-env`, never from the command
//! line. Exit 0 restored, 1 failed (or a dump left for loading by hand),
//! 2 usage. `--from TARGET` restores the copy on an offsite target,
//! downloaded beside the destination and checked against the recorded
//! SHA-256 first (a mismatch fails loudly).

use super::progress::TermProgress;
use super::{Failure, print_json};
use crate::backup::history::History;
use crate::backup::restore::{self, Loader, RestoreError, RestoreReport, RestoredKind};
use crate::backup::run::human_bytes;
use crate::cancel::Cancel;
use crate::config::{Base, Config, Method, Secret};
use crate::text;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive (.zip, .tar.zst, .dt, .1CD or a backup folder), or
    /// `latest`: the newest successful backup of the base in the history.
    archive: String,
    /// The folder of the restored infobase (created; must be empty unless --force).
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
    /// The base whose backup (`latest`) and 1C loader to use (default: the default base).
    #[arg(long, short)]
    base: Option<String>,
    /// Restore into a folder that is not empty, writing over files of the same names.
    #[arg(long)]
    force: bool,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    json: bool,
    /// The infobase user of an existing base in the folder (with --force);
    /// a new base has no users.
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// Read that user's password from this environment variable (a password
    /// is never given on the command line).
    #[arg(long, value_name = "VAR", requires = "user")]
    password_env: Option<String>,
    /// Read the password of an encrypted archive from this environment
    /// variable (tried before BACKUP_ARCHIVE_PASSWORD and
    /// BACKUP_ARCHIVE_OLD_PASSWORDS).
    #[arg(long, value_name = "VAR")]
    archive_password_env: Option<String>,
    /// Restore the copy on this offsite target: the archive (its file name,
    /// or `latest`) is downloaded beside the destination, checked against
    /// the SHA-256 its backup recorded, then restored.
    #[arg(long, value_name = "TARGET")]
    from: Option<String>,
}

pub fn run(cfg: &Config, args: &Args) -> Result<(), Failure> {
    let base = match (&args.base, cfg.base(args.base.as_deref())) {
        (_, Some(b)) => Some(b),
        (None, None) => None,
        (Some(name), None) => {
            let names: Vec<&str> = cfg.bases.iter().map(|b| b.name.as_str()).collect();
            return Err(Failure::usage(format!(
                "no base named {name:?}; configured bases: {}",
                names.join(", ")
            )));
        }
    };
    let password = match &args.password_env {
        Some(var) => Some(Secret::new(std::env::var(var).map_err(|_| {
            Failure::usage(format!(
                "--password-env {var}: the variable is not set (or not valid text); set it to \
                 the password of --user"
            ))
        })?)),
        None => None,
    };
    if let Some(p) = &password {
        crate::logging::mask::register(crate::logging::Masker::new([p.expose()]));
    }
    // A copy from an offsite target is downloaded and checked first; it is
    // removed when `download` goes.
    let download = match &args.from {
        Some(from) => {
            let target = super::offsite::target(cfg, from)?;
            Some(from_target(cfg, base, target, &args.archive, &args.to)?)
        }
        None => None,
    };
    let (archive, method) = if let Some((fetched, method)) = &download {
        (fetched.path.clone(), *method)
    } else if args.archive.eq_ignore_ascii_case("latest") {
        let base = base.ok_or_else(|| {
            Failure::usage(
                "`latest` needs a base: set ONEC_BASE_PATH (or `bases:`), or name an archive",
            )
        })?;
        latest(cfg, base)?
    } else {
        let path = PathBuf::from(&args.archive);
        if !path.exists() {
            return Err(Failure::usage(format!(
                "{}: no such file or folder (give an archive path or `latest`)",
                path.display()
            )));
        }
        (path, base.map_or(Method::Dump, |b| b.method))
    };
    let located = match method {
        Method::Ibcmd => {
            crate::onec::locate_ibcmd(cfg.ibcmd_exe.as_deref(), cfg.onec_exe.as_deref())
                .map(|exe| (exe, true))
        }
        _ => crate::onec::locate_designer(cfg.onec_exe.as_deref()).map(|exe| (exe, false)),
    };
    let (exe, located_err) = match located {
        Ok(found) => (Some(found), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let loader = exe.as_ref().map(|(exe, ibcmd)| {
        if *ibcmd {
            Loader::Ibcmd(exe)
        } else {
            Loader::Designer(exe)
        }
    });
    let cancel = Cancel::new();
    {
        let c = cancel.clone();
        let _ = ctrlc::set_handler(move || c.cancel());
    }
    let name = base.map_or("restore", |b| b.name.as_str());
    let term = Mutex::new(TermProgress::new(name));
    term.lock()
        .unwrap_or_else(|p| p.into_inner())
        .begin("restoring");
    let progress = |p: crate::backup::archive::Progress| {
        let mut t = term.lock().unwrap_or_else(|p| p.into_inner());
        t.advance(p.done, p.total);
    };
    // 1C is given the folder as an absolute path.
    let to = std::path::absolute(&args.to).unwrap_or_else(|_| args.to.clone());
    let passwords = super::verify::archive_passwords(
        "--archive-password-env",
        args.archive_password_env.as_deref(),
        Some(cfg),
        base,
        &archive,
    )?;
    let req = restore::RestoreRequest {
        archive: &archive,
        passwords: &passwords,
        to: &to,
        force: args.force,
        loader,
        user: args.user.as_deref(),
        password: password.as_ref(),
        timeout: base.map_or(Duration::from_secs(3 * 3600), |b| b.timeout),
        cancel: &cancel,
        progress: &progress,
    };
    let result = restore::restore(&req);
    term.lock().unwrap_or_else(|p| p.into_inner()).finish();
    match result {
        Ok(report) => done(&archive, &report, located_err.as_deref(), args.json),
        Err(e) => {
            let message = match &password {
                Some(p) => p.mask_in(&e.to_string()),
                None => e.to_string(),
            };
            if args.json {
                print_json(&serde_json::json!({
                    "archive": archive, "to": to, "ok": false, "error": message,
                }));
            }
            let code = match e {
                RestoreError::NotEmpty { .. }
                | RestoreError::NotAFolder { .. }
                | RestoreError::InsideArchive { .. } => super::EXIT_USAGE,
                _ => super::EXIT_FAILED,
            };
            Err(Failure { code, message })
        }
    }
}

/// Download the copy of `archive` (a file name or path of a recorded
/// archive, or `latest`) from `target` into a temporary folder beside
/// `to`, verified against the run's SHA-256.
fn from_target(
    cfg: &Config,
    base: Option<&Base>,
    target: &crate::config::offsite::OffsiteTarget,
    archive: &str,
    to: &Path,
) -> Result<(crate::offsite::fetch::Fetched, Method), Failure> {
    if !cfg.history_db.exists() {
        return Err(Failure::failed(format!(
            "no backups recorded yet (no history at {})",
            cfg.history_db.display()
        )));
    }
    let history = History::open(&cfg.history_db)
        .map_err(|e| Failure::failed(format!("cannot open the history: {e}")))?;
    let read_err =
        |e: &dyn std::fmt::Display| Failure::failed(format!("cannot read the history: {e}"));
    let run = if archive.eq_ignore_ascii_case("latest") {
        let base = base.ok_or_else(|| {
            Failure::usage(
                "`latest` needs a base: set ONEC_BASE_PATH (or `bases:`), or name an archive",
            )
        })?;
        crate::offsite::fetch::newest_copied(&history, target, &base.name)
            .map_err(|e| read_err(&e))?
            .ok_or_else(|| {
                Failure::failed(format!(
                    "no backup of {} has a copy on offsite target {} (see `onec-backup-bot offsite status`)",
                    base.name, target.name
                ))
            })?
    } else {
        let wanted = Path::new(archive)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| archive.to_string());
        history
            .list(100_000, None)
            .map_err(|e| read_err(&e))?
            .into_iter()
            .find(|r| {
                r.archive_path
                    .as_ref()
                    .and_then(|p| p.file_name())
                    .is_some_and(|n| n.to_string_lossy() == wanted)
            })
            .ok_or_else(|| {
                Failure::usage(format!(
                    "no recorded backup has an archive named {wanted:?}; give the file name `onec-backup-bot list` shows, or `latest`"
                ))
            })?
    };
    let to = std::path::absolute(to).unwrap_or_else(|_| to.to_path_buf());
    let beside = to
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let cancel = Cancel::new();
    eprintln!(
        "downloading run {} of {} from offsite target {}...",
        run.id, run.base, target.name
    );
    let fetched = crate::offsite::fetch::fetch(&history, target, &run, &beside, &cancel)
        .map_err(|e| Failure::failed(cfg.mask(&format!("{e:#}"))))?;
    let method = Method::ALL
        .iter()
        .find(|(name, _)| *name == run.method)
        .map_or(base.map_or(Method::Dump, |b| b.method), |(_, m)| *m);
    Ok((fetched, method))
}

/// The newest successful archive of `base` and the method that made it.
fn latest(cfg: &Config, base: &Base) -> Result<(PathBuf, Method), Failure> {
    if !cfg.history_db.exists() {
        return Err(Failure::failed(format!(
            "no backups recorded yet (no history at {}); give an archive path",
            cfg.history_db.display()
        )));
    }
    let history = History::open_read_only(&cfg.history_db, Duration::from_secs(5))
        .map_err(|e| Failure::failed(format!("cannot open the history: {e}")))?;
    let run = history
        .last_success(&base.name)
        .map_err(|e| Failure::failed(format!("cannot read the history: {e}")))?
        .ok_or_else(|| {
            Failure::failed(format!(
                "no successful backup of {} in the history; give an archive path",
                base.name
            ))
        })?;
    let path = run.archive_path.ok_or_else(|| {
        Failure::failed(format!("the newest backup of {} has no archive", base.name))
    })?;
    if !path.exists() {
        return Err(Failure::failed(format!(
            "{}: the newest successful archive of {} is gone (pruned or moved); give an \
             archive path",
            path.display(),
            base.name
        )));
    }
    let method = Method::ALL
        .iter()
        .find(|(name, _)| *name == run.method)
        .map_or(base.method, |(_, m)| *m);
    Ok((path, method))
}

/// Report a finished restore; a dump that could not be loaded is a failure
/// with the way to load it by hand.
fn done(
    archive: &Path,
    report: &RestoreReport,
    located_err: Option<&str>,
    json: bool,
) -> Result<(), Failure> {
    let t = &text::EN;
    let (kind, loaded, by) = match report.kind {
        RestoredKind::Copy => ("copy", true, None),
        RestoredKind::Dump { loaded, by } => ("dump", loaded, by),
    };
    let note = match report.kind {
        RestoredKind::Copy => None,
        RestoredKind::Dump { loaded: true, .. } => Some(t.restore_dump_users.to_string()),
        RestoredKind::Dump { loaded: false, .. } => {
            let dt = dump_in(&report.to).unwrap_or_else(|| report.to.clone());
            let reason = located_err.unwrap_or("1C was not found");
            Some((t.restore_load_by_hand)(
                &dt.display().to_string(),
                &report.to.display().to_string(),
                reason,
            ))
        }
    };
    if json {
        print_json(&serde_json::json!({
            "archive": archive, "to": report.to, "ok": loaded, "kind": kind, "loaded": loaded,
            "by": by, "files": report.files, "bytes": report.bytes, "detail": report.detail,
            "duration_secs": report.duration.as_secs_f64(), "note": note,
        }));
    } else {
        println!(
            "{} {} into {}: {} file(s), {} ({:.1} s)",
            if loaded { "restored" } else { "extracted" },
            archive.display(),
            report.to.display(),
            report.files,
            human_bytes(report.bytes),
            report.duration.as_secs_f64()
        );
        if let Some(d) = &report.detail {
            println!("  checked: {d}");
        }
        if let Some(by) = by {
            println!("  loaded by {by}");
        }
        if loaded && let Some(n) = &note {
            println!("  note: {n}");
        }
    }
    if loaded {
        Ok(())
    } else {
        Err(Failure::failed(note.unwrap_or_default()))
    }
}

/// The `.dt` left in the folder.
fn dump_in(to: &Path) -> Option<PathBuf> {
    std::fs::read_dir(to)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| crate::backup::verify::is_dt(&p.to_string_lossy()))
}
