//! Restoring a backup into a new infobase folder: what `backup` wrote (a
//! `.zip`, a `.tar.zst`, a bare `.dt` or `.1CD`, or a copy folder) is
//! extracted into `to` safely (`extract.rs`: never outside `to` whatever
//! the entry names say, see `names.rs`; every file checked as `verify`
//! checks it while it is written), free space is checked first, and then
//! either the restored `1Cv8.1CD` is checked (header, pages × page size) or
//! the `.dt` is loaded by 1C (`load.rs`: `CREATEINFOBASE` and `/RestoreIB`,
//! or `ibcmd infobase restore`). An encrypted archive (AES zip entries, a
//! `.tar.zst.age`) is opened with the request's passwords. Used by the
//! `restore` command and by restore drills.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::backup::archive::Progress;
use crate::backup::run::human_bytes;
use crate::backup::verify::{self, Kind, VerifyError, printable};
use crate::onec::OnecError;
use crate::onec::files::{CD_HEADER_LEN, CdError, check_1cd_header, read_full};

mod extract;
mod load;
mod names;

pub use names::safe_components;

/// How a `.dt` is loaded: the `1cv8` or `ibcmd` executable.
#[derive(Debug, Clone, Copy)]
pub enum Loader<'a> {
    Designer(&'a Path),
    Ibcmd(&'a Path),
}

/// One restore.
pub struct RestoreRequest<'a> {
    /// `.zip`, `.tar.zst`, bare `.dt` / `.1CD`, or a copy folder (what `backup` writes).
    pub archive: &'a Path,
    /// The new infobase folder; created; refused when not empty unless `force`.
    pub to: &'a Path,
    pub force: bool,
    /// How to load a `.dt` into `to`. `None`: a dump archive's `.dt` is
    /// extracted into `to` and fully checked (inflated to its end) but not
    /// loaded; the report says so.
    pub loader: Option<Loader<'a>>,
    /// Credentials of an existing infobase in `to` (with `force`); a new
    /// one has no users, and after loading the dump's own users apply.
    pub user: Option<&'a str>,
    pub password: Option<&'a crate::config::Secret>,
    /// The passwords that may open an encrypted archive, tried in order
    /// (put the one whose key id the history recorded first).
    pub passwords: &'a crate::backup::crypt::Passwords,
    /// For 1C.
    pub timeout: Duration,
    pub cancel: &'a crate::cancel::Cancel,
    pub progress: &'a (dyn Fn(Progress) + Sync),
}

/// What was restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoredKind {
    /// Files extracted, `1Cv8.1CD` checked.
    Copy,
    /// A `.dt`: loaded by `by` (`1cv8` or `ibcmd`), or only extracted and checked.
    Dump {
        loaded: bool,
        by: Option<&'static str>,
    },
}

/// A finished restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub to: PathBuf,
    pub kind: RestoredKind,
    /// Files under `to` that the restore wrote (or 1C made).
    pub files: usize,
    /// Bytes written under `to`.
    pub bytes: u64,
    /// What the last check found, e.g. `1CD 8.3.8, 374 pages x 8192`.
    pub detail: Option<String>,
    pub duration: Duration,
}

/// Why a restore failed. Names from the archive are [`printable`].
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{}: cannot read the archive: {source}", path.display())]
    Archive { path: PathBuf, source: io::Error },
    #[error(
        "{}: the folder is not empty; restore into a new or empty folder, or pass --force to \
         write over the files there",
        to.display()
    )]
    NotEmpty { to: PathBuf },
    #[error("{}: exists and is not a folder; choose a folder for the restored infobase", to.display())]
    NotAFolder { to: PathBuf },
    #[error(
        "{}: the infobase there is in use ({evidence}); ask users to leave 1C before restoring \
         over it",
        to.display()
    )]
    InUse {
        to: PathBuf,
        evidence: crate::onec::Evidence,
    },
    #[error(
        "{}: is inside the backup folder being restored; choose a folder outside it",
        to.display()
    )]
    InsideArchive { to: PathBuf },
    #[error(
        "not enough free space in {}: {what} needs about {}, {} available; free space or \
         restore to another disk",
        dir.display(), human_bytes(*need), human_bytes(*avail)
    )]
    NoSpace {
        dir: PathBuf,
        what: &'static str,
        need: u64,
        avail: u64,
    },
    #[error(
        "entry {}: refused: {reason}; nothing was written outside {} — the archive is not one \
         of ours or was tampered with",
        printable(name), to.display()
    )]
    Unsafe {
        name: String,
        reason: &'static str,
        to: PathBuf,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}{}", path.display(), disk_full_hint(source))]
    Write { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Damaged(VerifyError),
    #[error(
        "{}: holds neither a 1Cv8.1CD nor a .dt — not a backup of a file infobase",
        archive.display()
    )]
    NoInfobase { archive: PathBuf },
    #[error("restored infobase {}: {source} — the backup holds a damaged base", path.display())]
    BadInfobase { path: PathBuf, source: CdError },
    #[error(
        "loading {} into {} failed: {source}; the checked dump is kept, full 1C log: {}",
        dt.display(), to.display(), log.display()
    )]
    Load {
        dt: PathBuf,
        to: PathBuf,
        log: PathBuf,
        source: Box<OnecError>,
    },
    #[error("restore cancelled: stop requested")]
    Cancelled,
}

fn disk_full_hint(e: &io::Error) -> &'static str {
    if e.kind() == io::ErrorKind::StorageFull {
        " — the disk is full; free space or restore to another disk"
    } else {
        ""
    }
}

impl From<VerifyError> for RestoreError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Cancelled(_) => RestoreError::Cancelled,
            e => RestoreError::Damaged(e),
        }
    }
}

/// Counts bytes done and calls the progress callback at most every MiB
/// (and at the end).
pub(crate) struct Ticker<'a> {
    done: AtomicU64,
    last: AtomicU64,
    total: u64,
    f: &'a (dyn Fn(Progress) + Sync),
}

impl<'a> Ticker<'a> {
    fn new(total: u64, f: &'a (dyn Fn(Progress) + Sync)) -> Self {
        Ticker {
            done: AtomicU64::new(0),
            last: AtomicU64::new(0),
            total,
            f,
        }
    }

    pub(crate) fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if done.saturating_sub(self.last.load(Ordering::Relaxed)) >= 1 << 20 {
            self.last.store(done, Ordering::Relaxed);
            (self.f)(Progress {
                done: done.min(self.total),
                total: self.total,
            });
        }
    }

    fn finish(&self) {
        (self.f)(Progress {
            done: self.total,
            total: self.total,
        });
    }
}

/// Restore `req.archive` into `req.to`.
pub fn restore(req: &RestoreRequest) -> Result<RestoreReport, RestoreError> {
    let started = Instant::now();
    let meta = fs::metadata(req.archive).map_err(|source| RestoreError::Archive {
        path: req.archive.to_owned(),
        source,
    })?;
    let created = prepare_target(req, meta.is_dir())?;
    let result = run(req, &meta, started);
    if result.is_err() && created {
        // Removed only when nothing is left in it.
        let _ = fs::remove_dir(req.to);
    }
    result
}

/// Create `to`, or check it may be written into; true when created.
fn prepare_target(req: &RestoreRequest, archive_is_dir: bool) -> Result<bool, RestoreError> {
    let to = req.to;
    let write_err = |source| RestoreError::Write {
        path: to.to_owned(),
        source,
    };
    let created = match fs::metadata(to) {
        Ok(m) if !m.is_dir() => return Err(RestoreError::NotAFolder { to: to.to_owned() }),
        Ok(_) => {
            let mut entries = fs::read_dir(to).map_err(write_err)?;
            if entries.next().is_some() && !req.force {
                return Err(RestoreError::NotEmpty { to: to.to_owned() });
            }
            // Never write over a base 1C has open.
            if to.join("1Cv8.1CD").exists()
                && let Err(e) = crate::onec::check_idle(to)
            {
                let evidence = e.evidence;
                return Err(RestoreError::InUse {
                    to: to.to_owned(),
                    evidence,
                });
            }
            false
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(to).map_err(write_err)?;
            true
        }
        Err(source) => return Err(write_err(source)),
    };
    if archive_is_dir {
        let (a, t) = (fs::canonicalize(req.archive), fs::canonicalize(to));
        if let (Ok(a), Ok(t)) = (a, t)
            && (t.starts_with(&a) || a.starts_with(&t))
        {
            if created {
                let _ = fs::remove_dir(to);
            }
            return Err(RestoreError::InsideArchive { to: to.to_owned() });
        }
    }
    Ok(created)
}

fn run(
    req: &RestoreRequest,
    meta: &fs::Metadata,
    started: Instant,
) -> Result<RestoreReport, RestoreError> {
    let archive = req.archive;
    let kind = if meta.is_dir() {
        None
    } else {
        Some(verify::detect(archive)?)
    };
    let file_name = archive
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    // A bare `.dt` that will be loaded is read by 1C where it is.
    let bare_dt = matches!(kind, Some(Kind::Bare)) && is_bare_dt(archive, &file_name)?;
    let load_in_place = bare_dt && req.loader.is_some();
    // A bare dump is known as a `.dt` whatever its file is called.
    let dt_name = if verify::is_dt(&file_name) {
        file_name.clone()
    } else {
        format!("{file_name}.dt")
    };
    let need = match kind {
        None => extract::folder_files(archive)?
            .iter()
            .map(|(_, p)| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum(),
        Some(Kind::Zip) => zip_content_size(archive)?,
        Some(Kind::TarZst) => zstd_content_size(archive).unwrap_or(meta.len()),
        Some(Kind::Age) => meta.len(),
        Some(Kind::Bare) if load_in_place => 0,
        Some(Kind::Bare) => meta.len(),
    };
    check_space(req.to, need, "the restored files")?;

    let mut t = extract::Target::new(req.to, req.cancel);
    // A .tar.zst's progress is the compressed bytes read.
    let total = match kind {
        Some(Kind::TarZst | Kind::Age) => meta.len(),
        _ => need,
    };
    let keys = crate::backup::crypt::Keys::new(req.passwords.clone());
    let ticker = Ticker::new(total, req.progress);
    match kind {
        None => extract::folder(archive, &mut t, &ticker)?,
        Some(Kind::Zip) => extract::zip(archive, req.passwords, &mut t, &ticker)?,
        Some(Kind::TarZst) => extract::tar_zst(archive, None, &mut t, &ticker)?,
        Some(Kind::Age) => extract::tar_zst(archive, Some(&keys), &mut t, &ticker)?,
        Some(Kind::Bare) if load_in_place => {}
        Some(Kind::Bare) if bare_dt => extract::bare(archive, &dt_name, &mut t, &ticker)?,
        Some(Kind::Bare) => extract::bare(archive, "1Cv8.1CD", &mut t, &ticker)?,
    }
    req.cancel.check()?;
    ticker.finish();

    if load_in_place {
        // Read to its end before 1C is given it.
        let f = fs::File::open(archive).map_err(|source| RestoreError::Archive {
            path: archive.to_owned(),
            source,
        })?;
        verify::check_entry(&dt_name, f, Some(meta.len()), None, req.cancel)?;
    }
    let extracted_dt = t
        .written
        .iter()
        .find(|(name, _, _)| verify::is_dt(name))
        .map(|(_, path, _)| path.clone());
    let dt = if load_in_place {
        Some(archive.to_path_buf())
    } else {
        extracted_dt.clone()
    };
    let report = |t: &extract::Target, kind, detail| RestoreReport {
        to: req.to.to_owned(),
        kind,
        files: t.written.len(),
        bytes: t.bytes(),
        detail,
        duration: started.elapsed(),
    };
    let Some(dt) = dt else {
        if !t.written.iter().any(|(n, _, _)| n == "1Cv8.1CD") {
            return Err(RestoreError::NoInfobase {
                archive: archive.to_owned(),
            });
        }
        let detail = check_infobase(req.to)?;
        t.sync();
        t.keep();
        return Ok(report(&t, RestoredKind::Copy, Some(detail)));
    };
    let Some(loader) = req.loader else {
        t.sync();
        t.keep();
        let kind = RestoredKind::Dump {
            loaded: false,
            by: None,
        };
        let size = fs::metadata(&dt).map(|m| m.len()).unwrap_or(0);
        let detail = format!(
            "dump of {} complete (read to its end), not loaded",
            human_bytes(size)
        );
        return Ok(report(&t, kind, Some(detail)));
    };
    let by = load::load(req, loader, &dt, &mut t)?;
    if let Some(extracted) = extracted_dt {
        let _ = fs::remove_file(&extracted);
        t.written.retain(|(_, p, _)| *p != extracted);
    }
    let detail = check_infobase(req.to)?;
    let cd = req.to.join("1Cv8.1CD");
    let cd_len = fs::metadata(&cd).map(|m| m.len()).unwrap_or(0);
    t.written.push(("1Cv8.1CD".into(), cd, cd_len));
    t.sync();
    t.keep();
    let kind = RestoredKind::Dump {
        loaded: true,
        by: Some(by),
    };
    Ok(report(&t, kind, Some(detail)))
}

/// Whether a bare file is a `.dt` (by name, else by its signature).
fn is_bare_dt(path: &Path, name: &str) -> Result<bool, RestoreError> {
    if verify::is_dt(name) || verify::is_1cd(name) {
        return Ok(verify::is_dt(name));
    }
    let mut head = [0u8; 8];
    let read = fs::File::open(path).and_then(|mut f| read_full(&mut f, &mut head));
    let n = read.map_err(|source| RestoreError::Archive {
        path: path.to_owned(),
        source,
    })?;
    Ok(head[..n].starts_with(crate::onec::files::DT_SIGNATURE))
}

/// The sum of a zip's entry sizes, from its directory.
fn zip_content_size(path: &Path) -> Result<u64, RestoreError> {
    let mut z = verify::open_zip(path)?;
    let mut total = 0u64;
    for i in 0..z.len() {
        if let Ok(e) = z.by_index_raw(i) {
            total = total.saturating_add(e.size());
        }
    }
    Ok(total)
}

/// The content size a zstd frame header states, when it states one.
fn zstd_content_size(path: &Path) -> Option<u64> {
    let mut head = [0u8; 18];
    let mut f = fs::File::open(path).ok()?;
    let n = f.read(&mut head).ok()?;
    zstd::zstd_safe::get_frame_content_size(&head[..n])
        .ok()
        .flatten()
}

/// Refuse early, with the numbers, when `need` bytes do not fit in `dir`.
fn check_space(dir: &Path, need: u64, what: &'static str) -> Result<(), RestoreError> {
    let space = crate::platform::disk_space(dir).map_err(|source| RestoreError::Write {
        path: dir.to_owned(),
        source,
    })?;
    if space.available < need {
        return Err(RestoreError::NoSpace {
            dir: dir.to_owned(),
            what,
            need,
            avail: space.available,
        });
    }
    Ok(())
}

/// Check the `1Cv8.1CD` in `to` as it is on disk: header, pages × page size.
fn check_infobase(to: &Path) -> Result<String, RestoreError> {
    let path = to.join("1Cv8.1CD");
    let read = |source| RestoreError::Read {
        path: path.clone(),
        source,
    };
    let mut f = fs::File::open(&path).map_err(read)?;
    let len = f.metadata().map_err(read)?.len();
    let mut head = [0u8; CD_HEADER_LEN];
    let n = read_full(&mut f, &mut head).map_err(read)?;
    let h = check_1cd_header(&head[..n], len).map_err(|source| RestoreError::BadInfobase {
        path: path.clone(),
        source,
    })?;
    Ok(format!(
        "1CD {}, {} pages x {}",
        h.version_string(),
        h.pages,
        h.page_size
    ))
}

#[cfg(test)]
mod tests;
