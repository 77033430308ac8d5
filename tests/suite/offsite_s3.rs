//! The S3 offsite kind against a real S3 API: moto_server (PyPI) on
//! loopback, checking every request's SigV4 signature with a key pair made
//! through its IAM. Small and multipart uploads with their ETag proofs and
//! the SHA-256 metadata, listing, reading back, resuming a cut multipart
//! upload from the saved state (only the missing parts are sent), a stale
//! upload id, an abandoned upload of a changed file, rename and delete, and
//! the errors of a wrong key (clear, without the secret).

#![cfg(unix)]

use crate::util::heavy;
use crate::util::moto::{Keys, Moto};
use onec_backup_bot::cancel::{Cancel, Cancelled};
use onec_backup_bot::config::Secret;
use onec_backup_bot::offsite::s3::S3;
use onec_backup_bot::offsite::{NoResume, Proof, Remote, Resume, Stored, Throttle, Upload};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// The part size of these tests (moto is told to allow parts this small).
const PART: u64 = 256 << 10;
const BUCKET: &str = "onec-backups";
const PREFIX: &str = "office/main";

fn client(m: &Moto, k: &Keys) -> S3 {
    client_with(m, &k.id, &k.secret)
}

fn client_with(m: &Moto, id: &str, secret: &str) -> S3 {
    S3::new(
        BUCKET,
        PREFIX,
        Some(&m.endpoint()),
        None,
        true,
        id,
        Secret::new(secret),
    )
    .unwrap()
    .with_part_size(PART)
}

/// moto with signatures checked, the bucket made.
fn server() -> (Moto, Keys) {
    let (m, k) = Moto::start_checking_signatures(PART);
    client(&m, &k).create_bucket().unwrap();
    (m, k)
}

/// Bytes that differ everywhere (xorshift), so a part sent twice or in the
/// wrong place shows in the read-back.
fn data(len: u64, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Md5;
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A resume store as the queue's row would be; counts the saves.
#[derive(Default)]
struct Saved {
    state: Mutex<Option<String>>,
    saves: AtomicU32,
}

impl Resume for Saved {
    fn load(&self) -> Option<String> {
        self.state.lock().unwrap().clone()
    }
    fn save(&self, state: Option<&str>) -> anyhow::Result<()> {
        self.saves.fetch_add(1, Ordering::Relaxed);
        *self.state.lock().unwrap() = state.map(str::to_string);
        Ok(())
    }
}

impl Saved {
    fn json(&self) -> serde_json::Value {
        let text = self.load().expect("a saved state");
        serde_json::from_str(&text).unwrap()
    }
}

fn put(
    s3: &S3,
    file: &Path,
    name: &str,
    resume: &dyn Resume,
    cancel: &Cancel,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Stored> {
    let bytes = std::fs::read(file).unwrap();
    s3.put(&Upload {
        file,
        name,
        size: bytes.len() as u64,
        sha256: &sha(&bytes),
        resume,
        throttle: &Throttle::unlimited(),
        cancel,
        progress,
    })
}

fn get(s3: &S3, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let n = s3
        .get(name, &mut out, &Throttle::unlimited(), &Cancel::new())
        .unwrap();
    assert_eq!(n, out.len() as u64);
    out
}

/// The multipart ETag S3 gives a file cut in `PART`-sized parts.
fn multipart_etag(bytes: &[u8]) -> String {
    let mut md5s = Vec::new();
    for part in bytes.chunks(PART as usize) {
        md5s.extend_from_slice(&md5::Md5::digest(part));
    }
    format!("{}-{}", md5_hex(&md5s), bytes.len().div_ceil(PART as usize))
}

#[test]
fn small_put_stat_list_get_round_trip() {
    let _slot = heavy();
    let (m, k) = server();
    let s3 = client(&m, &k);
    let d = tempfile::tempdir().unwrap();
    let bytes = data(70_001, 1);
    let f = write(d.path(), "a.zip", &bytes);
    let name = "Бухгалтерия/Бухгалтерия_2026-12-03_0300 (1).zip";
    let progress = Mutex::new(0u64);
    let stored = put(&s3, &f, name, &NoResume, &Cancel::new(), &|n| {
        *progress.lock().unwrap() = n
    })
    .unwrap();
    assert_eq!(
        (stored.bytes, stored.proof),
        (bytes.len() as u64, Proof::Etag)
    );
    assert_eq!(*progress.lock().unwrap(), bytes.len() as u64);
    let head = s3.head(name).unwrap().expect("the object");
    assert_eq!(head.size, bytes.len() as u64);
    assert_eq!(head.etag, md5_hex(&bytes));
    assert_eq!(head.sha256.as_deref(), Some(sha(&bytes).as_str()));
    let st = s3.stat(name).unwrap().unwrap();
    assert_eq!((st.name.as_str(), st.size), (name, bytes.len() as u64));
    assert!(st.modified.is_some());
    assert!(s3.stat("Бухгалтерия/none.zip").unwrap().is_none());

    let other = write(d.path(), "b.zip", b"second base");
    put(
        &s3,
        &other,
        "Зарплата/z.zip",
        &NoResume,
        &Cancel::new(),
        &|_| {},
    )
    .unwrap();
    let names = |dir: &str| -> Vec<(String, u64)> {
        s3.list(dir)
            .unwrap()
            .into_iter()
            .map(|o| (o.name, o.size))
            .collect()
    };
    assert_eq!(
        names(""),
        [
            (name.to_string(), bytes.len() as u64),
            ("Зарплата/z.zip".to_string(), 11)
        ]
    );
    assert_eq!(
        names("Бухгалтерия"),
        [(name.to_string(), bytes.len() as u64)]
    );
    assert_eq!(names("Зарплата/"), [("Зарплата/z.zip".to_string(), 11)]);
    assert!(names("Склад").is_empty());
    // Names are relative to the target's prefix: another client with no
    // prefix sees the full keys.
    let root = S3::new(
        BUCKET,
        "",
        Some(&m.endpoint()),
        None,
        true,
        &k.id,
        Secret::new(k.secret.clone()),
    )
    .unwrap();
    assert!(
        root.list("")
            .unwrap()
            .iter()
            .any(|o| o.name == format!("{PREFIX}/Зарплата/z.zip"))
    );
    assert_eq!(get(&s3, name), bytes);
    let missing = s3
        .get(
            "Склад/x.zip",
            &mut Vec::new(),
            &Throttle::unlimited(),
            &Cancel::new(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("there is no object Склад/x.zip"),
        "{missing}"
    );

    // A new put replaces the object.
    let newer = data(5_000, 2);
    let f2 = write(d.path(), "a2.zip", &newer);
    put(&s3, &f2, name, &NoResume, &Cancel::new(), &|_| {}).unwrap();
    assert_eq!(get(&s3, name), newer);
}

#[test]
fn a_multipart_upload_proves_its_parts_and_the_whole() {
    let _slot = heavy();
    let (m, k) = server();
    let s3 = client(&m, &k);
    let d = tempfile::tempdir().unwrap();
    let bytes = data(3 * PART + PART / 2, 3);
    let f = write(d.path(), "big.zip", &bytes);
    let saved = Saved::default();
    let seen = Mutex::new(Vec::new());
    let stored = put(&s3, &f, "base/big.zip", &saved, &Cancel::new(), &|n| {
        seen.lock().unwrap().push(n)
    })
    .unwrap();
    assert_eq!(
        (stored.bytes, stored.proof),
        (bytes.len() as u64, Proof::Etag)
    );
    assert_eq!(s3.parts_sent(), 4);
    assert_eq!(
        *seen.lock().unwrap(),
        [PART, 2 * PART, 3 * PART, bytes.len() as u64]
    );
    let head = s3.head("base/big.zip").unwrap().unwrap();
    assert_eq!(head.etag, multipart_etag(&bytes));
    assert!(head.etag.ends_with("-4"), "{}", head.etag);
    assert_eq!(head.size, bytes.len() as u64);
    assert_eq!(head.sha256.as_deref(), Some(sha(&bytes).as_str()));
    assert_eq!(get(&s3, "base/big.zip"), bytes);
    // Saved after the start and after each part, cleared at the end.
    assert!(saved.load().is_none());
    assert_eq!(saved.saves.load(Ordering::Relaxed), 1 + 4 + 1);
}

/// Cut a multipart upload after `parts` parts from the progress callback.
fn cut_after(s3: &S3, f: &Path, name: &str, saved: &Saved, parts: u64) {
    let cancel = Cancel::new();
    let err = put(s3, f, name, saved, &cancel, &|n| {
        if n >= parts * PART {
            cancel.cancel();
        }
    })
    .unwrap_err();
    assert!(err.downcast_ref::<Cancelled>().is_some(), "{err:#}");
    assert_eq!(
        saved.json()["parts"].as_array().unwrap().len() as u64,
        parts
    );
    // Nothing is published under the name by a cut upload.
    assert!(s3.stat(name).unwrap().is_none());
}

#[test]
fn a_cut_upload_resumes_and_sends_only_the_missing_parts() {
    let _slot = heavy();
    let (m, k) = server();
    let d = tempfile::tempdir().unwrap();
    let bytes = data(5 * PART + 123, 4);
    let f = write(d.path(), "big.zip", &bytes);
    let saved = Saved::default();
    let first = client(&m, &k);
    cut_after(&first, &f, "base/big.zip", &saved, 2);
    assert_eq!(first.parts_sent(), 2);
    let id = saved.json()["upload_id"].as_str().unwrap().to_string();

    // A new client (an agent restart) with the saved state goes on.
    let second = client(&m, &k);
    let stored = put(&second, &f, "base/big.zip", &saved, &Cancel::new(), &|_| {}).unwrap();
    assert_eq!(stored.proof, Proof::Etag);
    assert_eq!(second.parts_sent(), 4, "parts 3..6 only");
    assert_eq!(get(&second, "base/big.zip"), bytes);
    assert_eq!(
        second.head("base/big.zip").unwrap().unwrap().etag,
        multipart_etag(&bytes)
    );
    assert!(saved.load().is_none());
    assert!(!id.is_empty());
}

#[test]
fn a_stale_upload_id_starts_over() {
    let _slot = heavy();
    let (m, k) = server();
    let d = tempfile::tempdir().unwrap();
    let bytes = data(3 * PART, 5);
    let f = write(d.path(), "big.zip", &bytes);
    let saved = Saved::default();
    let s3 = client(&m, &k);
    cut_after(&s3, &f, "base/big.zip", &saved, 1);
    // The server forgot the upload (expired by a lifecycle rule, aborted).
    let mut state = saved.json();
    state["upload_id"] = "gone-upload-id".into();
    saved.save(Some(&state.to_string())).unwrap();
    let again = client(&m, &k);
    put(&again, &f, "base/big.zip", &saved, &Cancel::new(), &|_| {}).unwrap();
    assert_eq!(again.parts_sent(), 3, "every part sent again");
    assert_eq!(get(&again, "base/big.zip"), bytes);
    assert!(saved.load().is_none());
}

#[test]
fn a_changed_file_abandons_the_saved_upload() {
    let _slot = heavy();
    let (m, k) = server();
    let d = tempfile::tempdir().unwrap();
    let old = data(3 * PART, 6);
    let f = write(d.path(), "big.zip", &old);
    let saved = Saved::default();
    let s3 = client(&m, &k);
    cut_after(&s3, &f, "base/big.zip", &saved, 1);
    let old_id = saved.json()["upload_id"].as_str().unwrap().to_string();
    let new = data(3 * PART, 7);
    std::fs::write(&f, &new).unwrap();
    let again = client(&m, &k);
    put(&again, &f, "base/big.zip", &saved, &Cancel::new(), &|_| {}).unwrap();
    assert_eq!(again.parts_sent(), 3);
    assert_eq!(get(&again, "base/big.zip"), new);
    // The old upload was aborted: moto no longer knows it.
    let out = m.python(&format!(
        r#"
import boto3, os
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id="{}", aws_secret_access_key="{}")
ups = s3.list_multipart_uploads(Bucket="{BUCKET}").get("Uploads", [])
print(len(ups), "{old_id}" in [u["UploadId"] for u in ups])
"#,
        k.id, k.secret
    ));
    assert_eq!(out.trim(), "0 False");
}

#[test]
fn rename_copies_then_deletes_and_delete_is_idempotent() {
    let _slot = heavy();
    let (m, k) = server();
    let s3 = client(&m, &k);
    let d = tempfile::tempdir().unwrap();
    let bytes = data(10_000, 8);
    let f = write(d.path(), "a.zip", &bytes);
    put(&s3, &f, "b/a.zip.part", &NoResume, &Cancel::new(), &|_| {}).unwrap();
    s3.rename("b/a.zip.part", "b/Бухгалтерия daily.zip")
        .unwrap();
    assert!(s3.stat("b/a.zip.part").unwrap().is_none());
    let head = s3.head("b/Бухгалтерия daily.zip").unwrap().unwrap();
    assert_eq!(head.size, bytes.len() as u64);
    assert_eq!(head.sha256.as_deref(), Some(sha(&bytes).as_str()));
    assert_eq!(get(&s3, "b/Бухгалтерия daily.zip"), bytes);
    let e = s3.rename("b/none.zip", "b/x.zip").unwrap_err().to_string();
    assert!(e.contains("no such object"), "{e}");
    s3.delete("b/Бухгалтерия daily.zip").unwrap();
    s3.delete("b/Бухгалтерия daily.zip").unwrap();
    assert!(s3.list("").unwrap().is_empty());
}

#[test]
fn a_wrong_key_gives_a_clear_error_without_the_secret() {
    let _slot = heavy();
    let (m, k) = server();
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "a.zip", b"archive");
    let wrong_secret = "Wr0ng/Secret+Key/xyz";
    for (id, secret, code) in [
        (k.id.as_str(), wrong_secret, "SignatureDoesNotMatch"),
        ("AKIANOSUCHKEY0000000", wrong_secret, "InvalidAccessKeyId"),
    ] {
        let s3 = client_with(&m, id, secret);
        let errors = [
            put(&s3, &f, "a.zip", &NoResume, &Cancel::new(), &|_| {}).unwrap_err(),
            s3.list("").unwrap_err(),
        ];
        for e in errors {
            let text = format!("{e:#} {e:?}");
            assert!(text.contains(code), "{text}");
            assert!(text.contains("OFFSITE_SECRET_ACCESS_KEY"), "{text}");
            assert!(text.contains(&s3.describe()), "{text}");
            assert!(!text.contains(wrong_secret), "{text}");
            assert!(!text.contains("Signature="), "{text}");
            assert!(!text.contains(&k.secret), "{text}");
        }
        // HEAD answers carry no body: the status alone says what to check.
        let e = s3.stat("a.zip").unwrap_err().to_string();
        assert!(
            e.contains("403") && e.contains("OFFSITE_ACCESS_KEY_ID"),
            "{e}"
        );
    }
    // The right key works (and every request above was really checked).
    let s3 = client(&m, &k);
    put(&s3, &f, "a.zip", &NoResume, &Cancel::new(), &|_| {}).unwrap();
    assert_eq!(get(&s3, "a.zip"), b"archive");
}

#[test]
fn a_missing_bucket_says_to_create_it() {
    let _slot = heavy();
    let (m, k) = Moto::start_checking_signatures(PART);
    let s3 = client(&m, &k);
    let e = s3.list("").unwrap_err().to_string();
    assert!(e.contains("NoSuchBucket") && e.contains("create it"), "{e}");
    assert!(
        e.contains(&format!("s3://{BUCKET}/{PREFIX} at {}", m.endpoint())),
        "{e}"
    );
}
