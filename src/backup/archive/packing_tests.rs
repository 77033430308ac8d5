//! What packing promises about its output: chunks primed with the previous
//! window form one stream that zlib and 7-Zip decode, and entries that do
//! not compress are stored, not deflated again. Checked with the real `7z`
//! when installed.

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;
use std::process::Command;

use super::zip_writer::{METHOD_DEFLATE, METHOD_STORED};
use super::{Compress, Source, write_archive};
use crate::cancel::Cancel;

fn pack_zip(dir: &Path, files: &[(&str, &[u8])], threads: usize) -> std::path::PathBuf {
    let mut sources = Vec::new();
    for (name, data) in files {
        let p = dir.join(name.replace('/', "_"));
        fs::write(&p, data).unwrap();
        sources.push(Source {
            name: (*name).into(),
            path: p,
        });
    }
    let out = dir.join("out.zip");
    write_archive(
        &sources,
        &out,
        Compress::Zip,
        None,
        threads,
        &mut |_| {},
        &Cancel::new(),
    )
    .unwrap();
    out
}

/// Each entry's (name, method, compressed size, data) as the `zip` crate reads it.
fn entries(zip: &Path) -> Vec<(String, u16, u64, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(File::open(zip).unwrap()).unwrap();
    (0..z.len())
        .map(|i| {
            let mut e = z.by_index(i).unwrap();
            let method = match e.compression() {
                zip::CompressionMethod::Stored => METHOD_STORED,
                zip::CompressionMethod::Deflated => METHOD_DEFLATE,
                other => panic!("unexpected method {other:?}"),
            };
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (
                e.name().unwrap().into_owned(),
                method,
                e.compressed_size(),
                data,
            )
        })
        .collect()
}

/// When 7-Zip is installed: `7z t` passes and `7z x` gives back `files`.
fn seven_zip_extracts(zip: &Path, files: &[(&str, &[u8])]) {
    if Command::new("7z").arg("--help").output().is_err() {
        eprintln!("skipped: `7z` is not installed");
        return;
    }
    let t = Command::new("7z").arg("t").arg(zip).output().unwrap();
    let text = String::from_utf8_lossy(&t.stdout);
    assert!(
        t.status.success() && text.contains("Everything is Ok"),
        "7z t: {text}"
    );
    let to = zip.with_extension("x");
    let x = Command::new("7z")
        .arg("x")
        .arg(format!("-o{}", to.display()))
        .arg(zip)
        .output()
        .unwrap();
    assert!(
        x.status.success(),
        "7z x: {}",
        String::from_utf8_lossy(&x.stdout)
    );
    for (name, data) in files {
        assert!(
            fs::read(to.join(name)).unwrap() == *data,
            "7z x: {name} differs"
        );
    }
}

#[test]
fn primed_chunks_form_one_stream_that_zlib_and_7z_decode() {
    let dir = tempfile::tempdir().unwrap();
    // A 16 KiB random block repeated over 5 MiB (five chunks): a chunk
    // primed with the previous 32 KiB finds the block at once; an unprimed
    // one would have to spell the block out again (16 KiB per chunk).
    let block = crate::onec::generate::noise(16 * 1024, 3);
    let repeated = block.repeat(320);
    let mut base = Vec::new();
    crate::onec::generate::write_1cd(&mut base, crate::onec::generate::CdFormat::V8_3_8, 400, 9)
        .unwrap();
    let files: [(&str, &[u8]); 2] = [("repeated.bin", &repeated), ("1Cv8.1CD", &base)];
    let zip = pack_zip(dir.path(), &files, 2);
    let got = entries(&zip);
    assert_eq!(got[0].1, METHOD_DEFLATE);
    // The same chunks deflated each on its own, for comparison.
    let unprimed: u64 = repeated
        .chunks(super::deflate::CHUNK)
        .map(|c| {
            let mut enc =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
            std::io::Write::write_all(&mut enc, c).unwrap();
            enc.finish().unwrap().len() as u64
        })
        .sum();
    assert!(
        got[0].2 + 4 * 12 * 1024 < unprimed,
        "unprimed chunks? {} bytes for 5 MiB of one repeated 16 KiB block, {unprimed} unprimed",
        got[0].2
    );
    // The raw DEFLATE stream itself, decoded by zlib (zlib-rs) from the file.
    let bytes = fs::read(&zip).unwrap();
    let name_len = u16::from_le_bytes([bytes[26], bytes[27]]) as usize;
    let start = 30 + name_len;
    let stream = &bytes[start..start + got[0].2 as usize];
    let mut back = Vec::new();
    flate2::read::DeflateDecoder::new(stream)
        .read_to_end(&mut back)
        .unwrap();
    assert!(back == repeated, "zlib decodes other bytes");
    for ((name, _, _, data), (want_name, want)) in got.iter().zip(&files) {
        assert_eq!(name, want_name);
        assert!(data == want, "{name}: content differs");
    }
    seven_zip_extracts(&zip, &files);
}

#[test]
fn entries_that_do_not_compress_are_stored_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let mut dt = Vec::new();
    crate::onec::generate::write_dt(&mut dt, 9_000_000, 2).unwrap();
    // what a picture or an attached archive looks like
    let random = crate::onec::generate::noise(3_000_000, 7);
    let text = "Поступление товаров и услуг 00042 от 2026-12-02\n".repeat(60_000);
    let files: [(&str, &[u8]); 4] = [
        ("dump.dt", &dt),
        ("1Cv8Log/blob.lgp", &random),
        ("1Cv8Log/1Cv8.lgf", text.as_bytes()),
        ("empty.lgx", b""),
    ];
    assert!(dt.len() > 2 << 20, "the .dt must span several chunks");
    let zip = pack_zip(dir.path(), &files, 2);
    let got = entries(&zip);
    let methods: Vec<(&str, u16)> = got.iter().map(|e| (e.0.as_str(), e.1)).collect();
    assert_eq!(
        methods,
        [
            ("dump.dt", METHOD_STORED),
            ("1Cv8Log/blob.lgp", METHOD_STORED),
            ("1Cv8Log/1Cv8.lgf", METHOD_DEFLATE),
            ("empty.lgx", METHOD_STORED),
        ]
    );
    for ((name, method, compressed, data), (_, want)) in got.iter().zip(&files) {
        assert!(data == want, "{name}: content differs");
        if *method == METHOD_STORED {
            assert_eq!(*compressed, want.len() as u64, "{name}");
        } else {
            assert!(*compressed * 50 < want.len() as u64, "{name}: {compressed}");
        }
    }
    let report = crate::backup::verify::verify(&zip, &Cancel::new()).unwrap();
    assert_eq!(report.entries.len(), 4);
    seven_zip_extracts(&zip, &files);
}

#[test]
fn a_stored_entry_stops_on_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("random.bin");
    fs::write(&p, crate::onec::generate::noise(6 << 20, 5)).unwrap();
    let src = [Source {
        name: "random.bin".into(),
        path: p,
    }];
    let cancel = Cancel::new();
    let r = write_archive(
        &src,
        &dir.path().join("out.zip"),
        Compress::Zip,
        None,
        2,
        &mut |p| {
            if p.done > 1 << 20 {
                cancel.cancel();
            }
        },
        &cancel,
    );
    assert!(matches!(r, Err(super::ArchiveError::Cancelled(_))), "{r:?}");
}
