//! One backup per base at a time, across processes: an OS file lock on
//! `BACKUP_DIR/.locks/<base>.lock`, released by the OS when the holder
//! exits, even when it is killed (so a crash never leaves a stale lock).
//! Who holds it is written to a side file, since a locked file cannot be
//! read on Windows.

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

impl BaseLock {
    /// Take the lock for `base` or report who holds it. Never waits.
    pub fn try_acquire(backup_dir: &Path, base: &str) -> io::Result<Result<BaseLock, Holder>> {
        let dir = backup_dir.join(".locks");
        fs::create_dir_all(&dir)?;
        let stem = file_stem_for(base);
        let path = dir.join(format!("{stem}.lock"));
        let info = dir.join(format!("{stem}.lock.info"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {
                let text = format!(
                    "pid={} since={}",
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

impl Drop for BaseLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.info);
    }
}

/// A file-name-safe, collision-free stem for a base name (names may hold
/// Cyrillic, spaces or `<&>`): safe characters kept, the rest replaced, plus
/// a short hash of the exact name.
pub fn file_stem_for(base: &str) -> String {
    let safe: String = base
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
    let hash = base.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    format!("{safe}-{:08x}", hash as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_is_refused_until_release() {
        let dir = tempfile::tempdir().unwrap();
        let first = BaseLock::try_acquire(dir.path(), "buh").unwrap().unwrap();
        let holder = BaseLock::try_acquire(dir.path(), "buh")
            .unwrap()
            .unwrap_err();
        assert!(
            holder
                .info
                .unwrap()
                .contains(&format!("pid={}", std::process::id()))
        );
        // Another base is independent.
        let _other = BaseLock::try_acquire(dir.path(), "zup").unwrap().unwrap();
        drop(first);
        assert!(BaseLock::try_acquire(dir.path(), "buh").unwrap().is_ok());
    }

    #[test]
    fn stems_are_safe_and_distinct() {
        let a = file_stem_for("<Тест & Co>");
        assert!(!a.contains(['<', '>', '&', ' ']), "{a}");
        assert_ne!(file_stem_for("a b"), file_stem_for("a_b"));
    }
}
