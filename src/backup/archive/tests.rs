//! Round trips through every format, checked with the `zip` crate and, when
//! installed, `unzip`, `7z` and `zstd`; ZIP64 choices; cancellation; errors.

use super::zip_writer::{
    FLAG_UTF8, U32_MAX, ZipEntry, dos_datetime, end_records, local_needs_zip64, write_zip,
};
use super::*;
use crate::onec::generate::noise;
use std::io::Read;
use std::process::Command;
use std::time::SystemTime;

/// Several MiB mixing random, repetitive and text-like data.
fn mixed(n_mib: usize) -> Vec<u8> {
    let mut v = Vec::new();
    let mut i = 0u64;
    while v.len() < n_mib << 20 {
        match i % 3 {
            0 => v.extend_from_slice(&noise(300_000, i + 1)),
            1 => v.extend(std::iter::repeat_n(b"abcabcabd1Cv8 ".as_slice(), 40_000).flatten()),
            _ => {
                for k in 0..20_000u64 {
                    v.extend_from_slice(format!("строка {k} номер {}\n", k * i).as_bytes());
                }
            }
        }
        i += 1;
    }
    v.truncate((n_mib << 20) + 12_345);
    v
}

struct Fixture {
    dir: tempfile::TempDir,
    sources: Vec<Source>,
    contents: Vec<(String, Vec<u8>)>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut contents = vec![
        ("1Cv8.1CD".to_string(), {
            let mut v = Vec::new();
            crate::onec::generate::write_1cd(
                &mut v,
                crate::onec::generate::CdFormat::V8_3_8,
                300,
                5,
            )
            .unwrap();
            v
        }),
        (
            "1Cv8Log/1Cv8.lgf".to_string(),
            "1CV8LOG(ver 2.0)\n{\"Пользователь\"}\n"
                .as_bytes()
                .repeat(100),
        ),
        ("1Cv8Log/20261125000000.lgp".to_string(), noise(70_000, 9)),
        ("1Cv8Log/empty.lgx".to_string(), Vec::new()),
    ];
    contents.sort();
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("1Cv8Log")).unwrap();
    let sources = contents
        .iter()
        .map(|(name, data)| {
            let path = src.join(name);
            fs::write(&path, data).unwrap();
            Source {
                name: name.clone(),
                path,
            }
        })
        .collect();
    Fixture {
        dir,
        sources,
        contents,
    }
}

fn pack(fx: &Fixture, compress: Compress, threads: usize, name: &str) -> PathBuf {
    let tmp = fx.dir.path().join(name);
    let mut last = None;
    let n = write_archive(
        &fx.sources,
        &tmp,
        compress,
        None,
        threads,
        &mut |p| last = Some(p),
        &Cancel::new(),
    )
    .unwrap();
    let total: u64 = fx.contents.iter().map(|(_, d)| d.len() as u64).sum();
    assert_eq!(last.map(|p| (p.done, p.total)), Some((total, total)));
    if tmp.is_file() {
        assert_eq!(n, fs::metadata(&tmp).unwrap().len());
    }
    tmp
}

/// `write_archive` with the default level, no progress and no cancel.
fn pack_quietly(
    sources: &[Source],
    tmp: &Path,
    compress: Compress,
    threads: usize,
) -> Result<u64, ArchiveError> {
    write_archive(
        sources,
        tmp,
        compress,
        None,
        threads,
        &mut |_| {},
        &Cancel::new(),
    )
}

fn read_zip(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
    let mut v = Vec::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        v.push((e.name().unwrap().into_owned(), data));
    }
    v
}

/// When `name` is installed, run `name test_flag archive`, assert that it
/// succeeds and return its output; `None` when it is not installed.
fn tool_accepts(name: &str, test_flag: &str, archive: &Path) -> Option<String> {
    if !tool(name) {
        return None;
    }
    let o = Command::new(name)
        .arg(test_flag)
        .arg(archive)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{name} {test_flag}: {text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some(text)
}

fn tool(name: &str) -> bool {
    let ok = Command::new(name).arg("--help").output().is_ok();
    if !ok {
        eprintln!("skipped: `{name}` is not installed");
    }
    ok
}

#[test]
fn zip_round_trip_and_external_tools() {
    let fx = fixture();
    let zip = pack(&fx, Compress::Zip, 2, "b.zip");
    assert_eq!(read_zip(&zip), fx.contents);
    if let Some(text) = tool_accepts("unzip", "-t", &zip) {
        assert!(text.contains("No errors detected"), "{text}");
    }
    if let Some(text) = tool_accepts("7z", "t", &zip) {
        assert!(text.contains("Everything is Ok"), "7z t: {text}");
    }
    // no ZIP64 for small archives; UTF-8 flag set on every entry
    let bytes = fs::read(&zip).unwrap();
    assert!(!bytes.windows(4).any(|w| w == [0x50, 0x4b, 0x06, 0x06]));
    assert_eq!(
        u16::from_le_bytes([bytes[6], bytes[7]]) & FLAG_UTF8,
        FLAG_UTF8
    );
}

#[test]
fn forced_zip64_records_are_readable() {
    let fx = fixture();
    let tmp = fx.dir.path().join("z64.zip");
    let total = fx.contents.iter().map(|(_, d)| d.len() as u64).sum();
    let mut t = Ticker {
        done: 0,
        total,
        progress: &mut |_| {},
    };
    let pack = Pack {
        sources: &fx.sources,
        tmp: &tmp,
        threads: 2,
        ticker: &mut t,
        cancel: &Cancel::new(),
        password: None,
    };
    write_zip(pack, 6, true).unwrap();
    assert_eq!(read_zip(&tmp), fx.contents);
    tool_accepts("unzip", "-t", &tmp);
    tool_accepts("7z", "t", &tmp);
}

#[test]
fn zip64_is_chosen_only_when_needed() {
    assert!(!local_needs_zip64(0));
    assert!(!local_needs_zip64(3_000_000_000));
    assert!(local_needs_zip64(U32_MAX - 10));
    assert!(local_needs_zip64(5 << 30));
    let e = |size: u64, compressed: u64, offset: u64| ZipEntry {
        name: b"1Cv8.1CD".to_vec(),
        time: 0,
        date: 0x21,
        crc: 7,
        compressed,
        size,
        offset,
        method: 8,
        zip64_local: local_needs_zip64(size),
        force_zip64: false,
    };
    // (size, compressed, offset) → expected extra field length in the central header
    for (size, comp, off, extra) in [
        (100, 50, 0, 0u16),
        (5 << 30, 1 << 30, 0, 12),
        (5 << 30, 5 << 30, 0, 20),
        (100, 50, 6 << 30, 12),
        (5 << 30, 5 << 30, 6 << 30, 28),
    ] {
        let h = e(size, comp, off).central_header();
        assert_eq!(
            u16::from_le_bytes([h[30], h[31]]),
            extra,
            "{size} {comp} {off}"
        );
        let needed = u16::from_le_bytes([h[6], h[7]]);
        assert_eq!(needed, if extra > 0 { 45 } else { 20 });
        if extra > 0 {
            let x = &h[46 + 8..];
            assert_eq!(&x[..2], &[1, 0]);
            let first = u64::from_le_bytes(x[4..12].try_into().unwrap());
            assert_eq!(
                first,
                if size >= U32_MAX {
                    size
                } else if comp >= U32_MAX {
                    comp
                } else {
                    off
                }
            );
        }
    }
    let big = e(5 << 30, 1 << 30, 0).local_header();
    assert_eq!(&big[18..26], &[0xFF; 8]);
    assert_eq!(u64::from_le_bytes(big[42..50].try_into().unwrap()), 5 << 30);
    assert_eq!(end_records(3, 1000, 200, false).len(), 22);
    let z = end_records(3, 6 << 30, 200, false);
    assert_eq!(z.len(), 56 + 20 + 22);
    assert_eq!(u64::from_le_bytes(z[48..56].try_into().unwrap()), 6 << 30);
    assert_eq!(
        u64::from_le_bytes(z[64..72].try_into().unwrap()),
        (6 << 30) + 200
    );
    assert_eq!(end_records(70_000, 10, 10, false).len(), 98);
}

#[test]
fn parallel_chunks_form_one_stream_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let data = mixed(5);
    let p = dir.path().join("big.bin");
    fs::write(&p, &data).unwrap();
    let src = [Source {
        name: "big.bin".into(),
        path: p,
    }];
    let mut crcs = Vec::new();
    for threads in [1, 2, 4] {
        let tmp = dir.path().join(format!("t{threads}.zip"));
        pack_quietly(&src, &tmp, Compress::Zip, threads).unwrap();
        let mut z = zip::ZipArchive::new(File::open(&tmp).unwrap()).unwrap();
        let mut e = z.by_index(0).unwrap();
        crcs.push(e.crc32());
        let mut back = Vec::new();
        e.read_to_end(&mut back).unwrap();
        assert!(back == data, "threads {threads}: content differs");
    }
    assert_eq!(crcs, vec![crc32fast::hash(&data); 3]);
}

#[test]
fn zstd_round_trip_and_tools() {
    let fx = fixture();
    let tzst = pack(&fx, Compress::Zstd, 2, "b.tar.zst");
    let dec = zstd::Decoder::new(File::open(&tzst).unwrap()).unwrap();
    let mut ar = tar::Archive::new(dec);
    let mut got = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        got.push((name, data));
    }
    assert_eq!(got, fx.contents);
    if tool_accepts("zstd", "-t", &tzst).is_some() {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!("zstd -dc '{}' | tar -tvf -", tzst.display()))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && text.contains("1Cv8Log/1Cv8.lgf"),
            "tar: {text}"
        );
    }
}

#[test]
fn none_writes_a_bare_dt_or_a_folder() {
    let fx = fixture();
    let folder = pack(&fx, Compress::None, 1, "folder");
    for (name, data) in &fx.contents {
        assert_eq!(&fs::read(folder.join(name)).unwrap(), data, "{name}");
    }
    let dt = fx.dir.path().join("x.dt");
    let mut v = Vec::new();
    crate::onec::generate::write_dt(&mut v, 100_000, 1).unwrap();
    fs::write(&dt, &v).unwrap();
    let out = fx.dir.path().join("out.dt.tmp");
    let one = [Source {
        name: "1Cv8.dt".into(),
        path: dt,
    }];
    let n = pack_quietly(&one, &out, Compress::None, 1).unwrap();
    assert_eq!(n, v.len() as u64);
    assert_eq!(fs::read(&out).unwrap(), v);
    assert_eq!(extension(Compress::None, false), ".dt");
    assert_eq!(extension(Compress::None, true), "");
    assert_eq!(extension(Compress::Zip, true), ".zip");
    assert_eq!(extension(Compress::Zstd, false), ".tar.zst");
}

#[test]
fn cancel_mid_way_leaves_only_tmp() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.bin");
    fs::write(&p, mixed(6)).unwrap();
    let src = [Source {
        name: "big.bin".into(),
        path: p,
    }];
    for compress in [Compress::Zip, Compress::Zstd, Compress::None] {
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        let tmp = out.join("b.tmp");
        let cancel = Cancel::new();
        let c2 = cancel.clone();
        let r = write_archive(
            &src,
            &tmp,
            compress,
            None,
            2,
            &mut |p| {
                if p.done >= 2 << 20 {
                    c2.cancel();
                }
            },
            &cancel,
        );
        assert!(
            matches!(r, Err(ArchiveError::Cancelled(_))),
            "{compress:?}: {r:?}"
        );
        let left: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            left.len() <= 1 && left.iter().all(|n| n == "b.tmp"),
            "{compress:?}: {left:?}"
        );
        fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn errors_are_clean() {
    let fx = fixture();
    for compress in [Compress::Zip, Compress::Zstd, Compress::None] {
        let tmp = fx.dir.path().join("no/such/dir/b.tmp");
        let err = pack_quietly(&fx.sources, &tmp, compress, 2).unwrap_err();
        assert!(
            matches!(err, ArchiveError::Write { .. }),
            "{compress:?}: {err}"
        );
        assert!(err.to_string().contains("no/such/dir"), "{err}");
    }
    let missing = [Source {
        name: "1Cv8.1CD".into(),
        path: fx.dir.path().join("gone.1CD"),
    }];
    let err = pack_quietly(&missing, &fx.dir.path().join("m.zip"), Compress::Zip, 1).unwrap_err();
    assert!(err.to_string().starts_with("cannot read"), "{err}");
    for bad in ["", "/abs", "a/../b", "a//b", "c:\\x"] {
        let s = [Source {
            name: bad.into(),
            path: fx.sources[0].path.clone(),
        }];
        let r = pack_quietly(&s, &fx.dir.path().join("n.zip"), Compress::Zip, 1);
        assert!(matches!(r, Err(ArchiveError::BadName { .. })), "{bad:?}");
    }
    assert!(matches!(
        pack_quietly(&[], &fx.dir.path().join("e.zip"), Compress::Zip, 1),
        Err(ArchiveError::NoSources)
    ));
}

#[cfg(target_os = "linux")]
#[test]
fn disk_full_is_named() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let fx = fixture();
    let dt = fx.dir.path().join("x.dt");
    fs::write(&dt, vec![7u8; 3 << 20]).unwrap();
    let one = [Source {
        name: "1Cv8.dt".into(),
        path: dt,
    }];
    for (compress, sources) in [
        (Compress::Zip, &fx.sources[..]),
        (Compress::Zstd, &fx.sources[..]),
        (Compress::None, &one[..]),
    ] {
        let err = pack_quietly(sources, full, compress, 2).unwrap_err();
        assert!(
            matches!(err, ArchiveError::DiskFull { .. }),
            "{compress:?}: {err}"
        );
        assert!(
            err.to_string()
                .starts_with("disk full while writing /dev/full"),
            "{err}"
        );
    }
}

#[test]
fn dos_datetime_encodes_local_time() {
    let (t, d) = dos_datetime(SystemTime::UNIX_EPOCH);
    assert_eq!((t, d), (0, 0x21), "before 1980 clamps to 1980-01-01");
    let ts: jiff::Timestamp = "2026-11-25T10:20:30Z".parse().unwrap();
    let (t, d) = dos_datetime(
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(ts.as_second() as u64),
    );
    let local = ts
        .to_zoned_datetime(jiff::tz::TimeZone::system())
        .datetime();
    assert_eq!(d >> 9, (local.year() - 1980) as u16);
    assert_eq!(t & 0x1F, 15);
    assert_eq!((t >> 5) & 0x3F, local.minute() as u16);
}

mod sealed;
