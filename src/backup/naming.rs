//! Where archives live under `BACKUP_DIR` and how they are named:
//! `BACKUP_DIR/YYYY-MM-DD/<prefix>YYYY-MM-DD_HH-MM-SS<ext>`, local time in the
//! configured time zone. This file also owns the reverse direction: scanning
//! a backup folder for *our* archives (exact name pattern, exact prefix, so
//! foreign files and other bases' archives are never touched) and for the
//! hidden `.<name>.<pid>.partial` temporaries a crash may leave behind.

use jiff::ZonedDateTime;
use jiff::civil::DateTime;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Extensions an archive may have, longest first so `.tar.zst.age` and
/// `.tar.zst` win over any shorter suffix. The empty extension is a folder
/// (uncompressed copy).
pub const EXTENSIONS: [&str; 5] = [".tar.zst.age", ".tar.zst", ".zip", ".dt", ""];

/// Suffix of temporary files and folders written before the final rename.
const TEMP_SUFFIX: &str = ".partial";

/// Length of `YYYY-MM-DD_HH-MM-SS`.
const STAMP_LEN: usize = 19;

/// The final path of an archive made at `at` (already in the configured
/// time zone): `backup_dir/YYYY-MM-DD/<prefix>YYYY-MM-DD_HH-MM-SS<ext>`.
/// `ext` is one of [`EXTENSIONS`] (with its dot, or empty for a folder).
pub fn archive_path(backup_dir: &Path, prefix: &str, at: &ZonedDateTime, ext: &str) -> PathBuf {
    let day = at.strftime("%Y-%m-%d").to_string();
    let stamp = at.strftime("%Y-%m-%d_%H-%M-%S").to_string();
    backup_dir.join(day).join(format!("{prefix}{stamp}{ext}"))
}

/// Where to write an archive before it is complete: the same folder (so the
/// final rename is atomic), hidden, and recognisable by [`is_temp_name`]:
/// `.<final file name>.<pid>.partial`.
pub fn temp_path(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = format!(".{name}.{}{TEMP_SUFFIX}", std::process::id());
    match final_path.parent() {
        Some(parent) => parent.join(temp),
        None => PathBuf::from(temp),
    }
}

/// True for names made by [`temp_path`]: `.<something>.<digits>.partial`.
pub fn is_temp_name(file_name: &str) -> bool {
    temp_owner_pid(file_name).is_some()
}

/// The process id recorded in a temporary name, so a caller can leave alone
/// the temporaries of a backup that is still running in another process.
pub fn temp_owner_pid(file_name: &str) -> Option<u32> {
    let inner = file_name.strip_prefix('.')?.strip_suffix(TEMP_SUFFIX)?;
    let (name, pid) = inner.rsplit_once('.')?;
    if name.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// True when a temporary name (see [`temp_path`]) is for an archive (or
/// a dump) of the base with `prefix`.
pub fn temp_belongs_to(file_name: &str, prefix: &str) -> bool {
    let inner = file_name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
        .and_then(|n| n.rsplit_once('.'))
        .map(|(name, _pid)| name);
    inner.is_some_and(|n| parse_archive_name(n, prefix).is_some())
}

/// Parse one of our archive names for `prefix`: the prefix, then exactly
/// `YYYY-MM-DD_HH-MM-SS` (a valid date and time), then exactly one of
/// [`EXTENSIONS`]. Anything else (another prefix that merely starts with
/// ours, a suffix such as `.zip.bak`, an impossible date) is `None`.
pub fn parse_archive_name(file_name: &str, prefix: &str) -> Option<(DateTime, &'static str)> {
    let rest = file_name.strip_prefix(prefix)?;
    if rest.len() < STAMP_LEN || !rest.is_char_boundary(STAMP_LEN) {
        return None;
    }
    let (stamp, ext) = rest.split_at(STAMP_LEN);
    let time = parse_stamp(stamp)?;
    let ext = EXTENSIONS.iter().find(|e| **e == ext)?;
    Some((time, ext))
}

/// `YYYY-MM-DD_HH-MM-SS` → a civil date-time, strictly.
fn parse_stamp(s: &str) -> Option<DateTime> {
    let b = s.as_bytes();
    const SEPS: [(usize, u8); 5] = [(4, b'-'), (7, b'-'), (10, b'_'), (13, b'-'), (16, b'-')];
    if b.len() != STAMP_LEN {
        return None;
    }
    for (i, c) in b.iter().enumerate() {
        match SEPS.iter().find(|(at, _)| *at == i) {
            Some((_, sep)) if c != sep => return None,
            None if !c.is_ascii_digit() => return None,
            _ => {}
        }
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<i16>().ok();
    DateTime::new(
        num(0..4)?,
        num(5..7)? as i8,
        num(8..10)? as i8,
        num(11..13)? as i8,
        num(14..16)? as i8,
        num(17..19)? as i8,
        0,
    )
    .ok()
}

/// True for `YYYY-MM-DD` with a valid date.
fn is_date_folder_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && jiff::civil::Date::strptime("%Y-%m-%d", name).is_ok()
}

/// One of our archives found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundArchive {
    pub path: PathBuf,
    /// Local time from the name.
    pub time: DateTime,
    /// Bytes; for a folder, the sum of the files inside it; with the
    /// companions' bytes.
    pub size: u64,
    /// Files that belong to this archive and go with it: the `.dt` kept
    /// beside a packed dump (`delete_dt_after_compress: false`).
    pub companions: Vec<PathBuf>,
}

/// Our archives for `prefix` under `backup_dir`, oldest first. Only
/// `YYYY-MM-DD` subfolders are looked into, only names matching
/// [`parse_archive_name`] exactly are taken, files must have an extension
/// and folders must not, and symbolic links are never followed. A missing
/// `backup_dir` is an empty list.
pub fn scan(backup_dir: &Path, prefix: &str) -> io::Result<Vec<FoundArchive>> {
    let mut found = Vec::new();
    for day in date_folders(backup_dir)? {
        let Some(entries) = skip_vanished(fs::read_dir(&day))? else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some((time, ext)) = parse_archive_name(name, prefix) else {
                continue;
            };
            // Another process may delete an archive while we look at it.
            let Some(meta) = skip_vanished(path.symlink_metadata())? else {
                continue;
            };
            let size = match (meta.is_dir(), meta.is_file(), ext.is_empty()) {
                (true, _, true) => match skip_vanished(dir_size(&path))? {
                    Some(size) => size,
                    None => continue,
                },
                (_, true, false) => meta.len(),
                _ => continue,
            };
            found.push(FoundArchive {
                path,
                time,
                size,
                companions: Vec::new(),
            });
        }
    }
    attach_companion_dumps(&mut found);
    found.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.path.cmp(&b.path)));
    Ok(found)
}

/// A `.dt` with the same name as a packed archive beside it is the dump
/// that archive was made from, kept by `delete_dt_after_compress: false`:
/// it is part of that archive (counted, kept and deleted with it), not an
/// archive of its own.
fn attach_companion_dumps(found: &mut Vec<FoundArchive>) {
    let stem = |p: &Path| -> Option<PathBuf> {
        let name = p.file_name()?.to_str()?;
        [".zip", ".tar.zst.age", ".tar.zst", ".dt"]
            .iter()
            .find_map(|e| name.strip_suffix(e))
            .map(|s| p.with_file_name(s))
    };
    let packed: std::collections::HashMap<PathBuf, usize> = found
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.path.to_string_lossy().ends_with(".dt"))
        .filter_map(|(i, a)| stem(&a.path).map(|s| (s, i)))
        .collect();
    let mut moved = Vec::new();
    for (i, a) in found.iter().enumerate() {
        if a.path.to_string_lossy().ends_with(".dt")
            && let Some(owner) = stem(&a.path).and_then(|s| packed.get(&s))
        {
            moved.push((i, *owner));
        }
    }
    for &(dt, owner) in &moved {
        let (path, size) = (found[dt].path.clone(), found[dt].size);
        found[owner].companions.push(path);
        found[owner].size += size;
    }
    let gone: std::collections::HashSet<usize> = moved.iter().map(|(dt, _)| *dt).collect();
    let mut i = 0;
    found.retain(|_| {
        i += 1;
        !gone.contains(&(i - 1))
    });
}

/// `Ok(None)` for "not found" (deleted meanwhile), other errors as they are.
fn skip_vanished<T>(r: io::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Temporary files and folders (see [`temp_path`]) left in `backup_dir`
/// itself and in its `YYYY-MM-DD` subfolders, sorted by path. Whoever
/// deletes them should skip those whose [`temp_owner_pid`] is still alive.
pub fn stale_temps(backup_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut temps = Vec::new();
    let mut dirs = vec![backup_dir.to_path_buf()];
    dirs.extend(date_folders(backup_dir)?);
    for dir in dirs {
        let Some(entries) = skip_vanished(fs::read_dir(&dir))? else {
            continue;
        };
        for entry in entries {
            let entry = entry?;
            if entry.file_name().to_str().is_some_and(is_temp_name) {
                temps.push(entry.path());
            }
        }
    }
    temps.sort();
    Ok(temps)
}

/// The `YYYY-MM-DD` folders directly under `backup_dir` (not symlinks).
fn date_folders(backup_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let Some(entries) = skip_vanished(fs::read_dir(backup_dir))? else {
        return Ok(Vec::new());
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry?;
        let is_date = entry.file_name().to_str().is_some_and(is_date_folder_name);
        if is_date && entry.file_type()?.is_dir() {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Sum of file sizes under `dir`, not following symbolic links.
fn dir_size(dir: &Path) -> io::Result<u64> {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let ft = entry.file_type()?;
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file() {
                total = total.saturating_add(entry.metadata()?.len());
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use rstest::rstest;

    fn zoned(s: &str) -> ZonedDateTime {
        s.parse().unwrap()
    }

    #[test]
    fn archive_path_uses_local_time_of_the_zone() {
        // 21:30 UTC is already the next day in Moscow (UTC+3).
        let at = zoned("2024-03-01T21:30:05+00:00[UTC]")
            .in_tz("Europe/Moscow")
            .unwrap();
        let p = archive_path(Path::new("/b"), "Buh_", &at, ".zip");
        assert_eq!(p, Path::new("/b/2024-03-02/Buh_2024-03-02_00-30-05.zip"));
        let folder = archive_path(Path::new("/b"), "Buh_", &at, "");
        assert_eq!(folder, Path::new("/b/2024-03-02/Buh_2024-03-02_00-30-05"));
    }

    #[test]
    fn a_dump_kept_beside_its_archive_is_part_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("2024-03-02");
        fs::create_dir_all(&day).unwrap();
        for (name, len) in [
            ("Buh_2024-03-02_00-30-05.zip", 10),
            ("Buh_2024-03-02_00-30-05.dt", 100),
            ("Buh_2024-03-02_01-00-00.dt", 7),
            ("Buh_2024-03-02_02-00-00.tar.zst", 5),
        ] {
            fs::write(day.join(name), vec![0u8; len]).unwrap();
        }
        let found = scan(dir.path(), "Buh_").unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|a| a.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "Buh_2024-03-02_00-30-05.zip",
                "Buh_2024-03-02_01-00-00.dt",
                "Buh_2024-03-02_02-00-00.tar.zst"
            ]
        );
        assert_eq!(found[0].size, 110);
        assert_eq!(
            found[0].companions,
            [day.join("Buh_2024-03-02_00-30-05.dt")]
        );
        assert!(found[1].companions.is_empty() && found[2].companions.is_empty());
    }

    #[test]
    fn temps_belong_to_the_base_whose_archive_they_become() {
        let t = temp_path(Path::new("/b/2024-03-02/Buh_2024-03-02_00-30-05.zip"));
        let name = t.file_name().unwrap().to_str().unwrap();
        assert!(temp_belongs_to(name, "Buh_"));
        assert!(!temp_belongs_to(name, "Zup_"));
        assert!(!temp_belongs_to(name, "Bu_"));
        let dt = temp_path(Path::new("/b/2024-03-02/Buh_2024-03-02_00-30-05.dt"));
        assert!(temp_belongs_to(
            dt.file_name().unwrap().to_str().unwrap(),
            "Buh_"
        ));
        assert!(!temp_belongs_to("Buh_2024-03-02_00-30-05.zip", "Buh_"));
    }

    #[test]
    fn temp_path_is_hidden_in_same_folder_and_recognised() {
        let t = temp_path(Path::new("/b/2024-03-02/Buh_2024-03-02_00-30-05.zip"));
        let name = t.file_name().unwrap().to_str().unwrap();
        assert_eq!(t.parent().unwrap(), Path::new("/b/2024-03-02"));
        assert_eq!(
            name,
            format!(
                ".Buh_2024-03-02_00-30-05.zip.{}.partial",
                std::process::id()
            )
        );
        assert!(is_temp_name(name));
        assert_eq!(temp_owner_pid(name), Some(std::process::id()));
        assert_eq!(parse_archive_name(name, "Buh_"), None);
    }

    #[rstest]
    #[case::plain(".a.zip.12.partial", true)]
    #[case::no_pid(".a.zip.partial", false)]
    #[case::pid_not_digits(".a.zip.x1.partial", false)]
    #[case::not_hidden("a.zip.12.partial", false)]
    #[case::no_name("..12.partial", false)]
    #[case::other_suffix(".a.zip.12.tmp", false)]
    fn temp_names(#[case] name: &str, #[case] expected: bool) {
        assert_eq!(is_temp_name(name), expected, "{name}");
    }

    /// Year, month, day, hour, minute, second.
    type Ymdhms = (i16, i8, i8, i8, i8, i8);

    #[rstest]
    #[case::zip("buh_2024-01-31_23-59-58.zip", "buh_", Some(((2024, 1, 31, 23, 59, 58), ".zip")))]
    #[case::tar_zst("buh_2024-01-31_23-59-58.tar.zst", "buh_", Some(((2024, 1, 31, 23, 59, 58), ".tar.zst")))]
    #[case::tar_zst_age("buh_2024-01-31_23-59-58.tar.zst.age", "buh_", Some(((2024, 1, 31, 23, 59, 58), ".tar.zst.age")))]
    #[case::age_alone("buh_2024-01-31_23-59-58.age", "buh_", None)]
    #[case::dt("buh_2024-01-31_00-00-00.dt", "buh_", Some(((2024, 1, 31, 0, 0, 0), ".dt")))]
    #[case::folder("buh_2024-01-31_00-00-00", "buh_", Some(((2024, 1, 31, 0, 0, 0), "")))]
    #[case::longer_prefix_is_not_ours("buh_old_2024-01-31_00-00-00.zip", "buh_", None)]
    #[case::shorter_prefix_is_not_ours("buh_2024-01-31_00-00-00.zip", "buh_old_", None)]
    #[case::longer_prefix_own("buh_old_2024-01-31_00-00-00.zip", "buh_old_", Some(((2024, 1, 31, 0, 0, 0), ".zip")))]
    #[case::unknown_ext("buh_2024-01-31_00-00-00.zip.bak", "buh_", None)]
    #[case::tar_only("buh_2024-01-31_00-00-00.tar", "buh_", None)]
    #[case::bad_date("buh_2024-02-30_00-00-00.zip", "buh_", None)]
    #[case::bad_hour("buh_2024-01-31_24-00-00.zip", "buh_", None)]
    #[case::wrong_sep("buh_2024-01-31T00-00-00.zip", "buh_", None)]
    #[case::sign("buh_+024-01-31_00-00-00.zip", "buh_", None)]
    #[case::short("buh_2024-01-31.zip", "buh_", None)]
    #[case::cyrillic("Бух_2024-01-31_00-00-00.zip", "Бух_", Some(((2024, 1, 31, 0, 0, 0), ".zip")))]
    #[case::multibyte_after_prefix("buh_2024-01-31_00-00-0ё.zip", "buh_", None)]
    fn parse_names(
        #[case] name: &str,
        #[case] prefix: &str,
        #[case] expected: Option<(Ymdhms, &str)>,
    ) {
        let expected = expected.map(|((y, mo, d, h, mi, s), ext)| {
            (DateTime::new(y, mo, d, h, mi, s, 0).unwrap(), ext)
        });
        assert_eq!(
            parse_archive_name(name, prefix),
            expected,
            "{name} with {prefix}"
        );
    }

    fn touch(p: &Path, bytes: usize) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, vec![7u8; bytes]).unwrap();
    }

    #[test]
    fn scan_finds_only_our_archives_oldest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let b = tmp.path();
        touch(&b.join("2024-01-02/buh_2024-01-02_10-00-00.zip"), 10);
        touch(&b.join("2024-01-01/buh_2024-01-01_09-00-00.tar.zst"), 20);
        touch(&b.join("2024-01-01/buh_2024-01-01_08-00-00.dt"), 30);
        // A folder (copy) archive: sizes of nested files are summed.
        touch(&b.join("2024-01-01/buh_2024-01-01_12-00-00/1Cv8.1CD"), 40);
        touch(&b.join("2024-01-01/buh_2024-01-01_12-00-00/sub/x.log"), 2);
        // Not ours: other base, prefix extension, foreign files, wrong
        // kinds, wrong folders, temporaries.
        touch(&b.join("2024-01-01/buh_old_2024-01-01_08-00-00.zip"), 1);
        touch(&b.join("2024-01-01/zup_2024-01-01_08-00-00.zip"), 1);
        touch(&b.join("2024-01-01/readme.txt"), 1);
        touch(&b.join("2024-01-01/buh_2024-01-01_13-00-00"), 1); // file without ext
        fs::create_dir_all(b.join("2024-01-01/buh_2024-01-01_14-00-00.zip")).unwrap(); // dir with ext
        touch(&b.join("buh_2024-01-03_08-00-00.zip"), 1); // not in a date folder
        touch(&b.join("old/buh_2024-01-03_08-00-00.zip"), 1);
        touch(&b.join("2024-13-01/buh_2024-01-03_08-00-00.zip"), 1);
        touch(
            &b.join("2024-01-01/.buh_2024-01-01_15-00-00.zip.99.partial"),
            1,
        );

        let found = scan(b, "buh_").unwrap();
        let got: Vec<(String, u64)> = found
            .iter()
            .map(|f| {
                (
                    f.path
                        .strip_prefix(b)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                    f.size,
                )
            })
            .collect();
        let sep = std::path::MAIN_SEPARATOR;
        let want: Vec<(String, u64)> = [
            ("2024-01-01/buh_2024-01-01_08-00-00.dt", 30),
            ("2024-01-01/buh_2024-01-01_09-00-00.tar.zst", 20),
            ("2024-01-01/buh_2024-01-01_12-00-00", 42),
            ("2024-01-02/buh_2024-01-02_10-00-00.zip", 10),
        ]
        .iter()
        .map(|(p, s)| (p.replace('/', &sep.to_string()), *s))
        .collect();
        assert_eq!(got, want);
        assert_eq!(found[0].time, date(2024, 1, 1).at(8, 0, 0, 0));

        let old = scan(b, "buh_old_").unwrap();
        assert_eq!(old.len(), 1);
        assert!(old[0].path.ends_with("buh_old_2024-01-01_08-00-00.zip"));
    }

    #[test]
    fn scan_of_missing_dir_is_empty() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(scan(&tmp.path().join("nope"), "buh_").unwrap().is_empty());
        assert!(stale_temps(&tmp.path().join("nope")).unwrap().is_empty());
    }

    #[test]
    fn stale_temps_in_root_and_date_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let b = tmp.path();
        touch(&b.join(".buh_2024-01-01_08-00-00.zip.12.partial"), 1);
        touch(
            &b.join("2024-01-01/.buh_2024-01-01_09-00-00.tar.zst.34.partial"),
            1,
        );
        fs::create_dir_all(b.join("2024-01-01/.buh_2024-01-01_10-00-00.56.partial")).unwrap();
        touch(&b.join("2024-01-01/buh_2024-01-01_09-00-00.zip"), 1);
        touch(&b.join("other/.x.zip.1.partial"), 1); // not a date folder
        let temps = stale_temps(b).unwrap();
        let names: Vec<String> = temps
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                ".buh_2024-01-01_08-00-00.zip.12.partial",
                ".buh_2024-01-01_09-00-00.tar.zst.34.partial",
                ".buh_2024-01-01_10-00-00.56.partial",
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn scan_does_not_follow_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let b = tmp.path();
        touch(&tmp.path().join("outside/big"), 100);
        fs::create_dir_all(b.join("2024-01-01")).unwrap();
        std::os::unix::fs::symlink(
            tmp.path().join("outside"),
            b.join("2024-01-01/buh_2024-01-01_08-00-00"),
        )
        .unwrap();
        assert!(scan(b, "buh_").unwrap().is_empty());
    }
}
