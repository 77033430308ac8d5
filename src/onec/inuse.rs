//! Is a file infobase in use right now? Needed before the `copy` method,
//! since a copy taken while 1C has the base open can be inconsistent.
//! Evidence, in order: 1C's lock file `1Cv8.1CL`, its temp file
//! `1Cv8tmp.1CD`, and where the OS can tell, another process holding
//! `1Cv8.1CD` open (`inuse/linux.rs` scans `/proc`, `inuse/windows.rs`
//! tries an exclusive open). The zero-byte `*.cfl` files 1C leaves behind
//! after closing are not evidence.

use std::fmt;
use std::path::{Path, PathBuf};

#[cfg(target_os = "linux")]
#[path = "inuse/linux.rs"]
mod sys;
#[cfg(windows)]
#[path = "inuse/windows.rs"]
mod sys;
#[cfg(not(any(target_os = "linux", windows)))]
#[path = "inuse/other.rs"]
mod sys;

/// What shows that a base is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// `1Cv8.1CL`, which 1C keeps while sessions are open.
    LockFile(PathBuf),
    /// `1Cv8tmp.1CD`, 1C's working copy during restructuring or a session.
    TempFile(PathBuf),
    /// Another process has `1Cv8.1CD` open.
    OpenBy { pid: u32, name: Option<String> },
    /// Windows refused an exclusive open of `1Cv8.1CD` (sharing violation).
    SharingViolation(PathBuf),
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LockFile(p) => write!(f, "lock file {} exists", p.display()),
            Self::TempFile(p) => write!(f, "temporary file {} exists", p.display()),
            Self::OpenBy { pid, name: Some(n) } => {
                write!(f, "process {n} (pid {pid}) has 1Cv8.1CD open")
            }
            Self::OpenBy { pid, name: None } => write!(f, "process {pid} has 1Cv8.1CD open"),
            Self::SharingViolation(p) => write!(f, "{} is open in another process", p.display()),
        }
    }
}

/// The base is in use; copying it now could give an inconsistent backup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "infobase {} is in use: {evidence}; a copy taken while 1C is running can be \
     inconsistent, so use method `dump`, or ask users to leave 1C and try again",
    base.display()
)]
pub struct InUse {
    pub base: PathBuf,
    pub evidence: Evidence,
}

/// `Ok(())` when nothing shows that the base in `base_dir` is in use.
pub fn check_idle(base_dir: &Path) -> Result<(), InUse> {
    let fail = |evidence| {
        Err(InUse {
            base: base_dir.to_path_buf(),
            evidence,
        })
    };
    let lock = base_dir.join("1Cv8.1CL");
    if lock.exists() {
        return fail(Evidence::LockFile(lock));
    }
    let tmp = base_dir.join("1Cv8tmp.1CD");
    if tmp.exists() {
        return fail(Evidence::TempFile(tmp));
    }
    let db = base_dir.join("1Cv8.1CD");
    if db.is_file()
        && let Some(evidence) = sys::held_open(&db)
    {
        return fail(evidence);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn base() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("1Cv8.1CD"), b"1CDBMSV8").unwrap();
        dir
    }

    /// A base with `file` next to it, and why it is not idle.
    fn busy_with(file: &str, content: &[u8]) -> (tempfile::TempDir, InUse) {
        let dir = base();
        fs::write(dir.path().join(file), content).unwrap();
        let err = check_idle(dir.path()).unwrap_err();
        (dir, err)
    }

    #[test]
    fn idle_base_passes_and_cfl_leftovers_are_ignored() {
        let dir = base();
        check_idle(dir.path()).unwrap();
        fs::write(dir.path().join("1Cv8.1CL.cfl"), b"").unwrap();
        fs::write(dir.path().join("1Cv8tmp.1CD.cfl"), b"").unwrap();
        check_idle(dir.path()).unwrap();
    }

    #[rstest::rstest]
    #[case::lock_file("1Cv8.1CL", b"x", Evidence::LockFile)]
    #[case::temp_file("1Cv8tmp.1CD", b"", Evidence::TempFile)]
    fn a_file_1c_keeps_while_running_means_in_use(
        #[case] file: &str,
        #[case] content: &[u8],
        #[case] evidence: fn(PathBuf) -> Evidence,
    ) {
        let (dir, err) = busy_with(file, content);
        assert_eq!(err.evidence, evidence(dir.path().join(file)));
    }

    #[test]
    fn lock_file_error_says_what_to_do() {
        let (_dir, err) = busy_with("1Cv8.1CL", b"x");
        let text = err.to_string();
        assert!(
            text.contains("1Cv8.1CL exists") && text.contains("use method `dump`"),
            "{text}"
        );
        assert!(text.contains("inconsistent"), "{text}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn file_held_open_by_another_process_means_in_use() {
        let dir = base();
        let db = fs::File::open(dir.path().join("1Cv8.1CD")).unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .stdin(db)
            .spawn()
            .unwrap();
        let result = check_idle(dir.path());
        child.kill().unwrap();
        child.wait().unwrap();
        let err = result.unwrap_err();
        match &err.evidence {
            Evidence::OpenBy { pid, name } => {
                assert_eq!(*pid, child.id());
                assert_eq!(name.as_deref(), Some("sleep"));
            }
            other => panic!("unexpected evidence {other:?}"),
        }
        assert!(err.to_string().contains("(pid "), "{err}");
        // Our own handle does not count.
        let _mine = fs::File::open(dir.path().join("1Cv8.1CD")).unwrap();
        check_idle(dir.path()).unwrap();
    }
}
