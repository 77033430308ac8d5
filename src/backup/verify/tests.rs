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
