//! Whether a drill fits: the space a restore of a verified archive needs
//! (its entries' sizes, plus room for the base 1C makes from a `.dt`) and
//! the space free in `BACKUP_DRILL_DIR`. A debug build reads the free space
//! from [`TEST_FREE_BYTES_ENV`] when it is set, so the end-to-end suite can
//! play a full disk on any machine; release builds ignore it.

use crate::backup::verify::VerifyReport;
use std::io;
use std::path::Path;

/// A test-only setting: the free bytes a debug build reports for
/// `BACKUP_DRILL_DIR` instead of asking the OS.
pub const TEST_FREE_BYTES_ENV: &str = "ONEC_TEST_DRILL_FREE_BYTES";

/// Head-room kept free beyond the estimate.
const MARGIN: u64 = 16 * 1024 * 1024;

/// How many times its `.dt` a loaded infobase may take (1C's own rule of
/// thumb: 5 to 10 times).
const LOADED_PER_DT: u64 = 8;

/// The bytes a restore of the archive `report` describes needs: every
/// entry written out, and when `loads_dt` a base loaded from each `.dt`.
pub fn needed(report: &VerifyReport, loads_dt: bool) -> u64 {
    let extracted: u64 = report.entries.iter().map(|e| e.size).sum();
    let loaded: u64 = if loads_dt {
        report
            .entries
            .iter()
            .filter(|e| e.name.to_ascii_lowercase().ends_with(".dt"))
            .map(|e| e.size.saturating_mul(LOADED_PER_DT))
            .sum()
    } else {
        0
    };
    extracted.saturating_add(loaded).saturating_add(MARGIN)
}

/// The bytes free for us in `dir` (see [`TEST_FREE_BYTES_ENV`]).
pub fn available(dir: &Path) -> io::Result<u64> {
    #[cfg(debug_assertions)]
    if let Some(n) = std::env::var(TEST_FREE_BYTES_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
    {
        return Ok(n);
    }
    crate::platform::disk_space(dir).map(|s| s.available)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::verify::EntryCheck;

    fn report(entries: &[(&str, u64)]) -> VerifyReport {
        VerifyReport {
            path: "a.zip".into(),
            size: 1,
            sha256: String::new(),
            key_id: None,
            entries: entries
                .iter()
                .map(|(name, size)| EntryCheck {
                    name: name.to_string(),
                    size: *size,
                    crc32: None,
                    detail: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_copy_needs_its_files_and_a_loaded_dump_room_for_the_base() {
        let copy = report(&[("1Cv8.1CD", 100 << 20), ("1Cv8Log/1Cv8.lgf", 1 << 20)]);
        assert_eq!(needed(&copy, true), (101 << 20) + MARGIN);
        let dump = report(&[("buh.dt", 10 << 20)]);
        assert_eq!(needed(&dump, false), (10 << 20) + MARGIN);
        assert_eq!(needed(&dump, true), (90 << 20) + MARGIN);
        let huge = report(&[("x.DT", u64::MAX / 2)]);
        assert_eq!(needed(&huge, true), u64::MAX);
    }

    #[test]
    fn free_space_of_a_real_folder() {
        let dir = tempfile::tempdir().unwrap();
        if std::env::var_os(TEST_FREE_BYTES_ENV).is_none() {
            assert!(available(dir.path()).unwrap() > 0);
            assert!(available(&dir.path().join("missing")).is_err());
        }
    }
}
