//! One backup per infobase at a time, across processes: an OS file lock
//! named after the infobase's canonical path (case-insensitive on Windows)
//! in one machine-wide folder (`BACKUP_LOCK_DIR`, default
//! `%ProgramData%\OneCBackupBot\locks`, `/var/lib/onec-backup-bot/locks`,
//! or `/run/lock/onec-backup-bot` when that cannot be made), so a console
//! run with another `BACKUP_DIR` or another base name and the service see
//! the same lock. The OS releases it when the holder exits, even when it is
//! killed (a crash never leaves a stale lock), which also makes it the test
//! of whether a base's leftovers are stale. Who holds it is written to a
//! side file, since a locked file cannot be read on Windows.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct BaseLock {
    _file: File,
    info: PathBuf,
}

/// Who holds a lock we could not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// `pid=… since=…` as written by the holder, when readable.
    pub info: Option<String>,
}

/// The machine-wide lock folder: `configured`, or the platform default.
/// Created when missing (readable by all, so a console run under another
/// account can take the same locks).
pub fn lock_dir(configured: Option<&Path>) -> io::Result<PathBuf> {
    if let Some(dir) = configured {
        make_shared_dir(dir)?;
        return Ok(dir.to_path_buf());
    }
    let candidates = default_dirs();
    let mut last = None;
    for dir in &candidates {
        match make_shared_dir(dir) {
            Ok(()) => return Ok(dir.clone()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no folder for locks")))
}

fn default_dirs() -> Vec<PathBuf> {
    if cfg!(windows) {
        let base = std::env::var_os("ProgramData")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"));
        vec![base.join("OneCBackupBot").join("locks")]
    } else {
        vec![
            PathBuf::from("/var/lib/onec-backup-bot/locks"),
            PathBuf::from("/run/lock/onec-backup-bot"),
        ]
    }
}

fn make_shared_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    crate::platform::set_shared_readable(dir);
    Ok(())
}

/// Take the lock of a configured base (see [`BaseLock::try_acquire`]).
pub fn try_lock_base(
    cfg: &crate::config::Config,
    base: &crate::config::Base,
) -> io::Result<Result<BaseLock, Holder>> {
    let dir = lock_dir(cfg.lock_dir.as_deref())?;
    BaseLock::try_acquire(&dir, &base.path)
}

impl BaseLock {
    /// Take the lock of the infobase at `base_path` in `dir` (see
    /// [`lock_dir`]) or report who holds it. Never waits.
    pub fn try_acquire(dir: &Path, base_path: &Path) -> io::Result<Result<BaseLock, Holder>> {
        let key = crate::platform::path_key(base_path);
        let name = Path::new(&key)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = file_stem_for(&name, &key);
        let path = dir.join(format!("{stem}.lock"));
        let info = dir.join(format!("{stem}.lock.info"));
        let file = match OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
        {
            Ok(f) => f,
            // Made by another account: a read handle can still be locked.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied && path.exists() => {
                File::open(&path)?
            }
            Err(e) => return Err(e),
        };
        crate::platform::set_shared_readable(&path);
        match file.try_lock() {
            Ok(()) => {
                let text = format!(
                    "pid={} since={} base={key}",
                    std::process::id(),
                    jiff::Timestamp::now()
                );
                // Best effort: the info file only improves the message.
                let _ = fs::write(&info, text);
                Ok(Ok(BaseLock { _file: file, info }))
            }
            Err(fs::TryLockError::WouldBlock) => Ok(Err(Holder {
                info: fs::read_to_string(&info).ok().filter(|s| !s.is_empty()),
            })),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

impl BaseLock {
    /// Add to the holder's side file what the lock is held for (e.g.
    /// `restore-drill`), so whoever finds the base busy is told. Best
    /// effort, like the side file itself.
    pub fn note(&self, doing: &str) {
        if let Ok(text) = fs::read_to_string(&self.info) {
            let _ = fs::write(&self.info, format!("{text} doing={doing}"));
        }
    }
}

impl Drop for BaseLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.info);
    }
}

/// A file-name-safe, collision-free stem: the folder's name with safe
/// characters kept (names may hold Cyrillic, spaces or `<&>`), plus a
/// hash of the whole key.
pub fn file_stem_for(name: &str, key: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let hash = key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    format!("{safe}-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_is_refused_until_release() {
        let dir = tempfile::tempdir().unwrap();
        let (buh, zup) = (dir.path().join("buh"), dir.path().join("zup"));
        fs::create_dir_all(&buh).unwrap();
        fs::create_dir_all(&zup).unwrap();
        let locks = dir.path().join("locks");
        fs::create_dir_all(&locks).unwrap();
        let first = BaseLock::try_acquire(&locks, &buh).unwrap().unwrap();
        let holder = BaseLock::try_acquire(&locks, &buh).unwrap().unwrap_err();
        assert!(
            holder
                .info
                .unwrap()
                .contains(&format!("pid={}", std::process::id()))
        );
        first.note("restore-drill");
        let holder = BaseLock::try_acquire(&locks, &buh).unwrap().unwrap_err();
        assert!(holder.info.unwrap().ends_with(" doing=restore-drill"));
        // Another base is independent.
        let _other = BaseLock::try_acquire(&locks, &zup).unwrap().unwrap();
        drop(first);
        assert!(BaseLock::try_acquire(&locks, &buh).unwrap().is_ok());
    }

    #[test]
    fn one_infobase_is_one_lock_however_its_path_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let buh = dir.path().join("buh");
        fs::create_dir_all(buh.join("sub")).unwrap();
        let locks = dir.path().join("locks");
        fs::create_dir_all(&locks).unwrap();
        let _held = BaseLock::try_acquire(&locks, &buh).unwrap().unwrap();
        // `buh/sub/..` and `buh/` name the same folder.
        for other in [buh.join("sub").join(".."), dir.path().join("buh/")] {
            assert!(
                BaseLock::try_acquire(&locks, &other).unwrap().is_err(),
                "{} is the same infobase",
                other.display()
            );
        }
        #[cfg(unix)]
        {
            let link = dir.path().join("link-to-buh");
            std::os::unix::fs::symlink(&buh, &link).unwrap();
            assert!(BaseLock::try_acquire(&locks, &link).unwrap().is_err());
        }
    }

    #[test]
    fn lock_dir_is_made_when_configured() {
        let dir = tempfile::tempdir().unwrap();
        let want = dir.path().join("a").join("locks");
        assert_eq!(lock_dir(Some(&want)).unwrap(), want);
        assert!(want.is_dir());
        // The default is one of the machine-wide folders.
        if let Ok(d) = lock_dir(None) {
            assert!(default_dirs().contains(&d), "{}", d.display());
        }
    }

    #[test]
    fn stems_are_safe_and_distinct() {
        let a = file_stem_for("<Тест & Co>", "/x/<Тест & Co>");
        assert!(!a.contains(['<', '>', '&', ' ']), "{a}");
        assert_ne!(file_stem_for("a b", "/a b"), file_stem_for("a_b", "/a_b"));
    }
}
