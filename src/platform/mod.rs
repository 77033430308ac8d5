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

/// Move `from` to `to` only when `to` does not exist yet: a published
/// archive never replaces another file, whatever raced us to the name.
/// Fails with [`io::ErrorKind::AlreadyExists`] (and changes nothing) when
/// `to` exists. Linux uses `renameat2(RENAME_NOREPLACE)`; where the
/// filesystem refuses that, a file is linked then unlinked, and a folder
/// is renamed after an existence check (the caller holds the base's lock).
/// Windows uses `MoveFileExW` without `MOVEFILE_REPLACE_EXISTING` and with
/// `MOVEFILE_WRITE_THROUGH`, so the move is on disk when it returns.
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    sys::rename_no_replace(from, to)
}

/// The fallback when the OS has no atomic no-replace rename: a hard link
/// fails when `to` exists; a folder (which cannot be linked) is checked
/// first and renamed.
#[cfg_attr(windows, allow(dead_code))]
fn link_then_unlink(from: &Path, to: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(from)?.is_dir() {
        if std::fs::symlink_metadata(to).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", to.display()),
            ));
        }
        return std::fs::rename(from, to);
    }
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
}

/// This computer's name (the `instance` / `host` label of pushed
/// metrics); `localhost` when the OS does not say.
pub fn hostname() -> String {
    sys::hostname()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Make what this process creates from now on private to the user it runs
/// as: umask 0077 on Unix, so archives, dumps, the history database, logs
/// and their folders are created 0600 / 0700. Called once at start. A
/// no-op on Windows, where a new file takes its folder's ACL (see
/// [`readable_by_everyone_users`]).
pub fn restrict_new_files() {
    sys::restrict_new_files()
}

/// Whether every local user may read `path`: its DACL has an allow entry
/// granting read to `BUILTIN\Users` (S-1-5-32-545), Everyone (S-1-1-0) or
/// Authenticated Users (S-1-5-11), or it has no DACL at all. `None` when
/// that cannot be told: on Unix (the mode bits say it, and the umask
/// keeps ours private) or when the ACL cannot be read.
pub fn readable_by_everyone_users(path: &Path) -> Option<bool> {
    sys::readable_by_everyone_users(path)
}

/// For a test of what gets created under [`restrict_new_files`]: the
/// umask is process-wide and would change what every other test creates,
/// so the test `name` (its full path) runs again alone in a child process
/// that restricts first. Returns true in the parent, once the child has
/// passed; false in the child, which goes on with the test.
#[cfg(all(test, unix))]
pub(crate) fn rerun_restricted(name: &str) -> bool {
    if std::env::var_os("ONEC_TEST_RESTRICTED").is_some() {
        restrict_new_files();
        return false;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("ONEC_TEST_RESTRICTED", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "{name} with umask 0077: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[cfg(all(test, unix))]
mod perms_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn restricted_files_and_folders_are_private() {
        if rerun_restricted("platform::perms_tests::restricted_files_and_folders_are_private") {
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("2024-01-01");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.zip"), b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("a.zip")), 0o600);
        assert_eq!(readable_by_everyone_users(&dir), None);
    }
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
    fn rename_no_replace_never_replaces_a_file_or_a_folder() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a.zip"), d.path().join("b.zip"));
        std::fs::write(&a, b"new").unwrap();
        std::fs::write(&b, b"old and good").unwrap();
        let e = rename_no_replace(&a, &b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert_eq!(std::fs::read(&b).unwrap(), b"old and good");
        assert_eq!(std::fs::read(&a).unwrap(), b"new", "the source stays");
        let c = d.path().join("c.zip");
        rename_no_replace(&a, &c).unwrap();
        assert!(!a.exists());
        assert_eq!(std::fs::read(&c).unwrap(), b"new");

        let (da, db) = (d.path().join("dir-a"), d.path().join("dir-b"));
        std::fs::create_dir(&da).unwrap();
        std::fs::create_dir(&db).unwrap();
        std::fs::write(db.join("1Cv8.1CD"), b"kept").unwrap();
        let e = rename_no_replace(&da, &db).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert_eq!(std::fs::read(db.join("1Cv8.1CD")).unwrap(), b"kept");
        let dc = d.path().join("dir-c");
        rename_no_replace(&da, &dc).unwrap();
        assert!(dc.is_dir() && !da.exists());
    }

    #[test]
    fn link_fallback_never_replaces_either() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::write(&a, b"new").unwrap();
        std::fs::write(&b, b"old").unwrap();
        assert_eq!(
            link_then_unlink(&a, &b).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(std::fs::read(&b).unwrap(), b"old");
        std::fs::create_dir(d.path().join("da")).unwrap();
        std::fs::create_dir(d.path().join("db")).unwrap();
        assert_eq!(
            link_then_unlink(&d.path().join("da"), &d.path().join("db"))
                .unwrap_err()
                .kind(),
            io::ErrorKind::AlreadyExists
        );
        let c = d.path().join("c");
        link_then_unlink(&a, &c).unwrap();
        assert!(!a.exists() && std::fs::read(&c).unwrap() == b"new");
    }

    #[test]
    fn sync_dir_works_on_a_real_dir() {
        sync_dir(&std::env::temp_dir()).unwrap();
    }
}
