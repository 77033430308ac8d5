//! "Has the base changed since its last good backup?": a fingerprint of the
//! size and modification time of the files a backup reads, as the prototype
//! did. Cheap (metadata only), so it is also taken again after a cold copy
//! to prove the base did not change while it was read.

use sha2::{Digest, Sha256};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The files of a base that a backup depends on: `1Cv8.1CD`, plus every file
/// under `1Cv8Log/` when `include_log` is on. Lock and temporary files
/// (`*.1CL`, `1Cv8tmp.*`, `*.cfl`) are never part of a backup.
pub fn base_files(base: &Path, include_log: bool) -> io::Result<Vec<(String, PathBuf)>> {
    let db = base.join("1Cv8.1CD");
    fs::metadata(&db)?;
    let mut out = vec![("1Cv8.1CD".to_string(), db)];
    if include_log {
        let log = base.join("1Cv8Log");
        if log.is_dir() {
            walk(&log, "1Cv8Log", &mut out)?;
        }
    }
    Ok(out)
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let ty = e.file_type()?;
        if ty.is_dir() {
            walk(&path, &format!("{rel}/{name}"), out)?;
        } else if ty.is_file() && !is_excluded(&name) {
            out.push((format!("{rel}/{name}"), path));
        }
    }
    Ok(())
}

/// Files 1C keeps only while a base is open, or leaves behind empty.
pub fn is_excluded(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".1cl") || lower.ends_with(".cfl") || lower.starts_with("1cv8tmp.")
}

/// Hex fingerprint of names, sizes and mtimes; plus the total size.
pub fn fingerprint(files: &[(String, PathBuf)]) -> io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut total = 0u64;
    for (name, path) in files {
        let md = fs::metadata(path)?;
        let mtime = md
            .modified()?
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        total += md.len();
        h.update(name.as_bytes());
        h.update([0]);
        h.update(md.len().to_le_bytes());
        h.update(mtime.to_le_bytes());
    }
    let digest = h.finalize();
    Ok((
        digest.iter().take(12).map(|b| format!("{b:02x}")).collect(),
        total,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_with_size_or_mtime_and_ignores_lock_files() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        fs::write(base.join("1Cv8.1CD"), b"abc").unwrap();
        fs::create_dir(base.join("1Cv8Log")).unwrap();
        fs::write(base.join("1Cv8Log/1Cv8.lgf"), b"log").unwrap();
        fs::write(base.join("1Cv8Log/x.cfl"), b"").unwrap();
        fs::write(base.join("1Cv8.1CL"), b"").unwrap();
        let files = base_files(base, true).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(names, ["1Cv8.1CD", "1Cv8Log/1Cv8.lgf"]);
        let (a, total) = fingerprint(&files).unwrap();
        assert_eq!(total, 6);
        assert_eq!(a, fingerprint(&files).unwrap().0);
        fs::write(base.join("1Cv8.1CD"), b"abcd").unwrap();
        let (b, _) = fingerprint(&files).unwrap();
        assert_ne!(a, b);
        let f = fs::File::options()
            .write(true)
            .open(base.join("1Cv8.1CD"))
            .unwrap();
        f.set_modified(UNIX_EPOCH + std::time::Duration::from_secs(1_000_000))
            .unwrap();
        assert_ne!(b, fingerprint(&files).unwrap().0);
        assert_eq!(base_files(base, false).unwrap().len(), 1);
    }

    #[test]
    fn missing_database_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(base_files(dir.path(), false).is_err());
    }
}
