//! Small operating-system facts the backup pipeline needs, behind one
//! signature per OS (`unix.rs`, `windows.rs`), swapped by module as ripgrep
//! does. Raw FFI stays in those files.

use std::io;
use std::path::Path;

#[cfg(unix)]
#[path = "unix.rs"]
mod sys;
#[cfg(windows)]
#[path = "windows.rs"]
mod sys;

/// Space on the filesystem holding a path, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    pub total: u64,
    /// Free for an unprivileged writer (what we can actually use).
    pub available: u64,
    /// Free including blocks reserved for root.
    pub free: u64,
}

/// Space on the filesystem that holds `path` (which must exist).
pub fn disk_space(path: &Path) -> io::Result<DiskSpace> {
    sys::disk_space(path)
}

/// Make a rename or a new file in `dir` durable (fsync the directory on
/// Unix; a no-op on Windows, where NTFS journals metadata itself).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    sys::sync_dir(dir)
}

/// This computer's name (the `instance` / `host` label of pushed
/// metrics); `localhost` when the OS does not say.
pub fn hostname() -> String {
    sys::hostname()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_is_never_empty() {
        let h = hostname();
        assert!(!h.is_empty() && !h.contains('\0'), "{h:?}");
    }

    #[test]
    fn disk_space_of_temp_dir_is_sane() {
        let d = disk_space(&std::env::temp_dir()).unwrap();
        assert!(d.total > 0);
        assert!(d.available <= d.total);
        assert!(d.free <= d.total);
    }

    #[test]
    fn disk_space_of_missing_path_fails() {
        assert!(disk_space(Path::new("/definitely/not/here/xyz")).is_err());
    }

    #[test]
    fn sync_dir_works_on_a_real_dir() {
        sync_dir(&std::env::temp_dir()).unwrap();
    }
}
