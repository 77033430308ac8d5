//! Verifying every kind of output, and every kind of damage being caught.

use super::*;
use crate::backup::archive::{Source, write_archive};
use crate::config::Compress;
use crate::onec::generate::{CdFormat, write_1cd, write_dt};
use std::fs;

struct Fx {
    dir: tempfile::TempDir,
    sources: Vec<Source>,
}

fn fixture() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("1Cv8Log")).unwrap();
    let mut cd = Vec::new();
    write_1cd(&mut cd, CdFormat::V8_3_8, 400, 2).unwrap();
    fs::write(src.join("1Cv8.1CD"), &cd).unwrap();
    let mut dt = Vec::new();
    write_dt(&mut dt, 500_000, 4).unwrap();
    fs::write(src.join("1Cv8.dt"), &dt).unwrap();
    fs::write(
        src.join("1Cv8Log/1Cv8.lgf"),
        "1CV8LOG(ver 2.0)\n".repeat(50),
    )
    .unwrap();
    let sources = ["1Cv8.1CD", "1Cv8.dt", "1Cv8Log/1Cv8.lgf"]
        .iter()
        .map(|n| Source {
            name: n.to_string(),
            path: src.join(n),
        })
        .collect();
    Fx { dir, sources }
}

fn pack(fx: &Fx, compress: Compress, name: &str) -> PathBuf {
    let out = fx.dir.path().join(name);
    write_archive(
        &fx.sources,
        &out,
        compress,
        None,
        2,
        &mut |_| {},
        &Cancel::new(),
    )
    .unwrap();
    out
}

fn sha_of(path: &Path) -> String {
    hex(&Sha256::digest(fs::read(path).unwrap()))
}

#[test]
fn every_output_kind_verifies() {
    let fx = fixture();
    for (compress, name) in [
        (Compress::Zip, "b.zip"),
        (Compress::Zstd, "b.tar.zst"),
        (Compress::None, "folder"),
    ] {
        let out = pack(&fx, compress, name);
        let rep = verify(&out, &Cancel::new()).unwrap();
        let names: Vec<_> = rep.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["1Cv8.1CD", "1Cv8.dt", "1Cv8Log/1Cv8.lgf"], "{name}");
        assert_eq!(rep.entries[0].size, 400 * 8192);
        assert_eq!(
            rep.entries[0].detail.as_deref(),
            Some("1CD 8.3.8, 400 pages x 8192")
        );
        assert_eq!(
            rep.entries[1].detail.as_deref(),
            Some("dt complete, 500000 bytes inflated")
        );
        let cd = fs::read(&fx.sources[0].path).unwrap();
        assert_eq!(rep.entries[0].crc32, Some(crc32fast::hash(&cd)));
        assert_eq!(rep.sha256.len(), 64);
        if out.is_file() {
            assert_eq!(rep.sha256, sha_of(&out), "{name}");
            assert_eq!(rep.size, fs::metadata(&out).unwrap().len());
        }
    }
}

#[test]
fn bare_files_verify() {
    let fx = fixture();
    let rep = verify(&fx.sources[1].path, &Cancel::new()).unwrap();
    assert_eq!(
        rep.entries[0].detail.as_deref(),
        Some("dt complete, 500000 bytes inflated")
    );
    assert_eq!(rep.sha256, sha_of(&fx.sources[1].path));
    let rep = verify(&fx.sources[0].path, &Cancel::new()).unwrap();
    assert_eq!(
        rep.entries[0].detail.as_deref(),
        Some("1CD 8.3.8, 400 pages x 8192")
    );
    // a damaged bare dump and a truncated bare infobase
    let bad = fx.dir.path().join("bad.dt");
    let dt = fs::read(&fx.sources[1].path).unwrap();
    fs::write(&bad, &dt[..dt.len() - 100]).unwrap();
    let err = verify(&bad, &Cancel::new()).unwrap_err().to_string();
    assert!(
        err.contains("dump is damaged") && err.contains("truncated"),
        "{err}"
    );
    let cut = fx.dir.path().join("cut.1CD");
    let cd = fs::read(&fx.sources[0].path).unwrap();
    fs::write(&cut, &cd[..cd.len() - 8192]).unwrap();
    let err = verify(&cut, &Cancel::new()).unwrap_err().to_string();
    assert!(err.contains("truncated: header says 400 pages"), "{err}");
    // unknown dt version is a note, not an error
    let odd = fx.dir.path().join("odd.dt");
    let mut v = dt.clone();
    v[8] = 0x34;
    fs::write(&odd, &v).unwrap();
    let rep = verify(&odd, &Cancel::new()).unwrap();
    assert!(
        rep.entries[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("0x34 is unknown")
    );
}

#[test]
fn flipped_byte_in_zip_is_caught() {
    let fx = fixture();
    let out = pack(&fx, Compress::Zip, "b.zip");
    let mut bytes = fs::read(&out).unwrap();
    // the middle of the 1Cv8.1CD entry's data (it is the first entry)
    let mid = bytes.len() / 4;
    bytes[mid] ^= 0x01;
    fs::write(&out, &bytes).unwrap();
    let err = verify(&out, &Cancel::new()).unwrap_err();
    let text = err.to_string();
    eprintln!("flipped zip byte: {text}");
    assert!(text.starts_with("entry 1Cv8.1CD:"), "{text}");
    assert!(text.contains("damaged"), "{text}");
}

#[test]
fn flipped_byte_in_tar_zst_is_caught() {
    let fx = fixture();
    let out = pack(&fx, Compress::Zstd, "b.tar.zst");
    let mut bytes = fs::read(&out).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&out, &bytes).unwrap();
    let err = verify(&out, &Cancel::new()).unwrap_err().to_string();
    eprintln!("flipped tar.zst byte: {err}");
    assert!(err.contains("damaged"), "{err}");
}

#[test]
fn truncated_archives_are_caught() {
    let fx = fixture();
    let zip = pack(&fx, Compress::Zip, "b.zip");
    let bytes = fs::read(&zip).unwrap();
    fs::write(&zip, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let err = verify(&zip, &Cancel::new()).unwrap_err();
    eprintln!("truncated zip: {err}");
    assert!(matches!(err, VerifyError::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
    let tzst = pack(&fx, Compress::Zstd, "b.tar.zst");
    let bytes = fs::read(&tzst).unwrap();
    fs::write(&tzst, &bytes[..bytes.len() - 50]).unwrap();
    let err = verify(&tzst, &Cancel::new()).unwrap_err();
    eprintln!("truncated tar.zst: {err}");
    assert!(
        matches!(
            err,
            VerifyError::Truncated { .. } | VerifyError::Damaged { .. }
        ),
        "{err}"
    );
}

#[test]
fn wrong_kind_and_cancel() {
    let fx = fixture();
    let fake = fx.dir.path().join("x.zip");
    fs::write(&fake, b"hello, not a zip").unwrap();
    let err = verify(&fake, &Cancel::new()).unwrap_err().to_string();
    assert!(err.contains("not a zip archive"), "{err}");
    let other = fx.dir.path().join("x.bin");
    fs::write(&other, b"hello").unwrap();
    assert!(matches!(
        verify(&other, &Cancel::new()),
        Err(VerifyError::Unrecognised { .. })
    ));
    let zip = pack(&fx, Compress::Zip, "b.zip");
    let c = Cancel::new();
    c.cancel();
    assert!(matches!(verify(&zip, &c), Err(VerifyError::Cancelled(_))));
}

#[test]
fn folder_manifest_changes_with_content() {
    let fx = fixture();
    let dir = pack(&fx, Compress::None, "folder");
    let a = verify(&dir, &Cancel::new()).unwrap();
    fs::write(dir.join("1Cv8Log/1Cv8.lgf"), "changed").unwrap();
    let b = verify(&dir, &Cancel::new()).unwrap();
    assert_ne!(a.sha256, b.sha256);
    let mut cd = fs::read(dir.join("1Cv8.1CD")).unwrap();
    cd.truncate(cd.len() - 10);
    fs::write(dir.join("1Cv8.1CD"), cd).unwrap();
    let err = verify(&dir, &Cancel::new()).unwrap_err().to_string();
    assert!(
        err.starts_with("entry 1Cv8.1CD: infobase file: truncated"),
        "{err}"
    );
}

#[test]
fn real_fixtures_verify_when_present() {
    let fx = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures"));
    if !fx.is_dir() {
        eprintln!("skipped: no shared fixtures at {}", fx.display());
        return;
    }
    let rep = verify(&fx.join("dump/1Cv8.dt"), &Cancel::new()).unwrap();
    assert_eq!(
        rep.entries[0].detail.as_deref(),
        Some("dt complete, 266812 bytes inflated")
    );
    let rep = verify(&fx.join("infobase-8.3.8/1Cv8.1CD"), &Cancel::new()).unwrap();
    assert_eq!(
        rep.entries[0].detail.as_deref(),
        Some("1CD 8.3.8, 374 pages x 8192")
    );
    let rep = verify(&fx.join("infobase-8.2.14/1Cv8.1CD"), &Cancel::new()).unwrap();
    assert_eq!(
        rep.entries[0].detail.as_deref(),
        Some("1CD 8.2.14, 858 pages x 4096")
    );
}

/// One 512-byte GNU tar header block with a valid checksum.
pub(crate) fn tar_header(name: &str, kind: u8, size: u64) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[257..265].copy_from_slice(b"ustar  \0");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

/// `data` padded to whole 512-byte blocks.
pub(crate) fn blocks(data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    v.resize(data.len().next_multiple_of(512), 0);
    v
}

pub(crate) fn write_tar_zst(path: &Path, tar: &[u8]) {
    fs::write(path, zstd::encode_all(tar, 1).unwrap()).unwrap();
}

#[rstest::rstest]
#[case::gnu_long_name_of_4_gib(b'L', 4 << 30, "GNU long-name")]
#[case::gnu_long_link(b'K', 1 << 20, "GNU long-link")]
#[case::pax(b'x', 65537, "PAX")]
fn oversized_tar_extension_headers_are_refused_at_once(
    #[case] kind: u8,
    #[case] claimed: u64,
    #[case] what: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = tar_header("first.txt", b'0', 5);
    tar.extend(blocks(b"hello"));
    tar.extend(tar_header("././@LongLink", kind, claimed));
    // Data behind the header (8 MiB of it; a hostile archive can hold
    // gigabytes of zeros in a few kilobytes of zstd).
    tar.extend(vec![b'a'; 8 << 20]);
    let path = dir.path().join("hostile.tar.zst");
    write_tar_zst(&path, &tar);
    let started = std::time::Instant::now();
    let err = verify(&path, &Cancel::new()).unwrap_err().to_string();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.contains(&format!("{what} header at offset 1024"))
            && err.contains(&format!("claims {claimed} bytes"))
            && err.contains("more than the 65536 allowed"),
        "{err}"
    );
}

#[test]
fn long_names_within_the_cap_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("{}/1Cv8.lgf", "d".repeat(300));
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    b.append_data(&mut h, &long, &b"abc"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    b.append_data(&mut h, "short.txt", &b"ok"[..]).unwrap();
    let path = dir.path().join("long.tar.zst");
    write_tar_zst(&path, &b.into_inner().unwrap());
    let rep = verify(&path, &Cancel::new()).unwrap();
    let names: Vec<_> = rep.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, [long.as_str(), "short.txt"]);
}

#[cfg(unix)]
#[test]
fn folder_links_and_special_files_are_reported_not_followed() {
    let fx = fixture();
    let dir = pack(&fx, Compress::None, "folder");
    std::os::unix::fs::symlink("/dev/zero", dir.join("1Cv8Log/zero")).unwrap();
    let fifo = dir.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {}", fifo.display());
    let in_thread = |dir: PathBuf| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(verify(&dir, &Cancel::new()).map_err(|e| e.to_string()));
        });
        rx.recv_timeout(std::time::Duration::from_secs(20))
            .expect("verify of a folder must not hang")
    };
    let err = in_thread(dir.clone()).unwrap_err();
    assert!(
        err.contains("entry 1Cv8Log/zero: a symbolic link (not followed)"),
        "{err}"
    );
    fs::remove_file(dir.join("1Cv8Log/zero")).unwrap();
    let err = in_thread(dir.clone()).unwrap_err();
    assert!(err.contains("entry pipe: not a regular file"), "{err}");
    fs::remove_file(&fifo).unwrap();
    in_thread(dir).unwrap();
}

#[test]
fn control_characters_in_names_are_escaped() {
    assert_eq!(printable("1Cv8.1CD"), "1Cv8.1CD");
    assert_eq!(printable("Бухгалтерия/1Cv8.1CD"), "Бухгалтерия/1Cv8.1CD");
    assert_eq!(printable("evil\x1b[31m.txt"), "evil\\x1b[31m.txt");
    assert_eq!(
        printable("a\nb\u{9b}c\u{202e}d"),
        "a\\x0ab\\u{9b}c\\u{202e}d"
    );
    let err = VerifyError::Entry {
        name: "x\x1b[2J.1CD".into(),
        reason: "broken".into(),
    }
    .to_string();
    assert_eq!(err, "entry x\\x1b[2J.1CD: broken — the backup is damaged");
    let err = VerifyError::Crc {
        name: "\x07".into(),
        expected: 1,
        got: 2,
    }
    .to_string();
    assert!(err.starts_with("entry \\x07: CRC"), "{err}");
    let err = VerifyError::Damaged {
        path: "b.tar.zst".into(),
        detail: "bad header for \x1b]0;title\x07".into(),
    }
    .to_string();
    assert!(err.contains("(bad header for \\x1b]0;title\\x07)"), "{err}");
    // A hostile entry name verifies (it is only a name), kept as it is in
    // the report; printing is where it is escaped.
    let dir = tempfile::tempdir().unwrap();
    let mut tar = tar_header("evil\x1b[31m.txt", b'0', 2);
    tar.extend(blocks(b"ok"));
    tar.extend(vec![0; 1024]);
    let path = dir.path().join("names.tar.zst");
    write_tar_zst(&path, &tar);
    let rep = verify(&path, &Cancel::new()).unwrap();
    assert_eq!(rep.entries[0].name, "evil\x1b[31m.txt");
}

/// A zip whose zip64 end record claims `entries` files in a directory of
/// `dir_size` bytes at `dir_offset`, none of which exist.
fn hostile_zip(entries: u64, dir_size: u64, dir_offset: u64) -> Vec<u8> {
    let mut z = b"PK\x03\x04".to_vec();
    z.extend([0u8; 26]);
    let eocd64_at = z.len() as u64;
    z.extend(0x0606_4b50u32.to_le_bytes());
    z.extend(44u64.to_le_bytes());
    z.extend(45u16.to_le_bytes());
    z.extend(45u16.to_le_bytes());
    z.extend(0u32.to_le_bytes());
    z.extend(0u32.to_le_bytes());
    z.extend(entries.to_le_bytes());
    z.extend(entries.to_le_bytes());
    z.extend(dir_size.to_le_bytes());
    z.extend(dir_offset.to_le_bytes());
    z.extend(0x0706_4b50u32.to_le_bytes());
    z.extend(0u32.to_le_bytes());
    z.extend(eocd64_at.to_le_bytes());
    z.extend(1u32.to_le_bytes());
    z.extend(0x0605_4b50u32.to_le_bytes());
    z.extend([0u8; 4]);
    z.extend([0xff; 4]);
    z.extend([0xff; 8]);
    z.extend([0u8; 2]);
    z
}

#[test]
fn zip_directory_claims_beyond_the_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (entries, size, offset) in [
        (1 << 40, 1 << 46, 1 << 45),
        (u64::MAX / 2, u64::MAX / 2, u64::MAX / 4),
        (3, 1 << 20, 30),
    ] {
        let path = dir.path().join("hostile.zip");
        fs::write(&path, hostile_zip(entries, size, offset)).unwrap();
        let started = std::time::Instant::now();
        let err = verify(&path, &Cancel::new()).unwrap_err().to_string();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(err.contains("hostile.zip"), "{err}");
        eprintln!("{entries} entries: {err}");
    }
}
