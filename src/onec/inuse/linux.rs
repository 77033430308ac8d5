//! Linux: find another process holding the file open by scanning the
//! `/proc/<pid>/fd` symlinks. Our own pid and entries we may not read
//! (other users' processes without privileges) are skipped.

use super::Evidence;
use std::fs;
use std::path::Path;

pub fn held_open(file: &Path) -> Option<Evidence> {
    let target = fs::canonicalize(file).ok()?;
    let me = std::process::id();
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds
            .flatten()
            .any(|fd| fs::read_link(fd.path()).is_ok_and(|l| l == target));
        if holds {
            let name = fs::read_to_string(entry.path().join("comm"))
                .ok()
                .map(|s| s.trim().to_string());
            return Some(Evidence::OpenBy { pid, name });
        }
    }
    None
}
