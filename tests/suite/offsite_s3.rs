//! The S3 offsite kind against a real S3 API: moto_server (PyPI) on
//! loopback, checking every request's SigV4 signature with a key pair made
//! through its IAM. Small and multipart uploads with their ETag proofs and
//! the SHA-256 metadata, listing, reading back, resuming a cut multipart
//! upload from the saved state (only the missing parts are sent), a stale
//! upload id, an abandoned upload of a changed file, rename and delete
//! (a big object copied in parts), the speed cap, retries through a proxy
//! that drops connections and answers 503, and the errors of a wrong key
//! (clear, without the secret).

#![cfg(unix)]

use crate::util::heavy;
use crate::util::moto::{Keys, Moto};
use crate::util::remote::{capped_round_trip, noise, read_back, sha256_hex};
use onec_backup_bot::cancel::{Cancel, Cancelled};
use onec_backup_bot::config::Secret;
use onec_backup_bot::offsite::s3::S3;
use onec_backup_bot::offsite::{
    Download, NoResume, Proof, Remote, Resume, Stored, Throttle, Upload,
};
use sha2::Digest;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The part size of these tests (moto is told to allow parts this small).
const PART: u64 = 256 << 10;
const BUCKET: &str = "onec-backups";
const PREFIX: &str = "office/main";

fn client(m: &Moto, k: &Keys) -> S3 {
    client_with(m, &k.id, &k.secret)
}

fn client_with(m: &Moto, id: &str, secret: &str) -> S3 {
    client_at(&m.endpoint(), PREFIX, id, secret).with_part_size(PART)
}

/// A path-style client of `BUCKET` under `prefix` at `endpoint`, with the
/// default part size.
fn client_at(endpoint: &str, prefix: &str, id: &str, secret: &str) -> S3 {
    S3::new(
        BUCKET,
        prefix,
        Some(endpoint),
        None,
        true,
        id,
        Secret::new(secret),
    )
    .unwrap()
}

/// moto with signatures checked, the bucket made.
fn server() -> (Moto, Keys) {
    let (m, k) = Moto::start_checking_signatures(PART);
    client(&m, &k).create_bucket().unwrap();
    (m, k)
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
        sha256: &sha256_hex(&bytes),
        resume,
        throttle: &Throttle::unlimited(),
        cancel,
        progress,
    })
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
    let bytes = noise(70_001, 1);
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
    assert_eq!(head.sha256.as_deref(), Some(sha256_hex(&bytes).as_str()));
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
    let root = client_at(&m.endpoint(), "", &k.id, &k.secret);
    assert!(
        root.list("")
            .unwrap()
            .iter()
            .any(|o| o.name == format!("{PREFIX}/Зарплата/z.zip"))
    );
    assert_eq!(read_back(&s3, name), bytes);
    let missing = s3
        .get(Download {
            name: "Склад/x.zip",
            to: &mut Vec::new(),
            throttle: &Throttle::unlimited(),
            cancel: &Cancel::new(),
        })
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("there is no object Склад/x.zip"),
        "{missing}"
    );

    // A new put replaces the object.
    let newer = noise(5_000, 2);
    let f2 = write(d.path(), "a2.zip", &newer);
    put(&s3, &f2, name, &NoResume, &Cancel::new(), &|_| {}).unwrap();
    assert_eq!(read_back(&s3, name), newer);
}

#[test]
fn a_multipart_upload_proves_its_parts_and_the_whole() {
    let _slot = heavy();
    let (m, k) = server();
    let s3 = client(&m, &k);
    let d = tempfile::tempdir().unwrap();
    let bytes = noise(3 * PART + PART / 2, 3);
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
    assert_eq!(head.sha256.as_deref(), Some(sha256_hex(&bytes).as_str()));
    assert_eq!(read_back(&s3, "base/big.zip"), bytes);
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
    let bytes = noise(5 * PART + 123, 4);
    let f = write(d.path(), "big.zip", &bytes);
    let saved = Saved::default();
    let first = client(&m, &k);
    cut_after(&first, &f, "base/big.zip", &saved, 2);
    assert_eq!(first.parts_sent(), 2);
    let id = saved.json()["upload_id"].as_str().unwrap().to_string();

    // A new client (an agent restart) with the saved state goes on; it
    // reads the server's parts one per page.
    let second = client(&m, &k).with_page_size(1);
    let stored = put(&second, &f, "base/big.zip", &saved, &Cancel::new(), &|_| {}).unwrap();
    assert_eq!(stored.proof, Proof::Etag);
    assert_eq!(second.parts_sent(), 4, "parts 3..6 only");
    assert_eq!(read_back(&second, "base/big.zip"), bytes);
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
    let bytes = noise(3 * PART, 5);
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
    assert_eq!(read_back(&again, "base/big.zip"), bytes);
    assert!(saved.load().is_none());
}

#[test]
fn a_changed_file_abandons_the_saved_upload() {
    let _slot = heavy();
    let (m, k) = server();
    let d = tempfile::tempdir().unwrap();
    let old = noise(3 * PART, 6);
    let f = write(d.path(), "big.zip", &old);
    let saved = Saved::default();
    let s3 = client(&m, &k);
    cut_after(&s3, &f, "base/big.zip", &saved, 1);
    let old_id = saved.json()["upload_id"].as_str().unwrap().to_string();
    let new = noise(3 * PART, 7);
    std::fs::write(&f, &new).unwrap();
    let again = client(&m, &k);
    put(&again, &f, "base/big.zip", &saved, &Cancel::new(), &|_| {}).unwrap();
    assert_eq!(again.parts_sent(), 3);
    assert_eq!(read_back(&again, "base/big.zip"), new);
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
    let bytes = noise(10_000, 8);
    let f = write(d.path(), "a.zip", &bytes);
    put(&s3, &f, "b/a.zip.part", &NoResume, &Cancel::new(), &|_| {}).unwrap();
    s3.rename("b/a.zip.part", "b/Бухгалтерия daily.zip")
        .unwrap();
    assert!(s3.stat("b/a.zip.part").unwrap().is_none());
    let head = s3.head("b/Бухгалтерия daily.zip").unwrap().unwrap();
    assert_eq!(head.size, bytes.len() as u64);
    assert_eq!(head.sha256.as_deref(), Some(sha256_hex(&bytes).as_str()));
    assert_eq!(read_back(&s3, "b/Бухгалтерия daily.zip"), bytes);
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
    assert_eq!(read_back(&s3, "a.zip"), b"archive");
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

#[test]
fn a_big_object_is_renamed_by_a_copy_in_parts() {
    let _slot = heavy();
    let (m, k) = server();
    let s3 = client(&m, &k).with_copy_limit(PART);
    let d = tempfile::tempdir().unwrap();
    let bytes = noise(3 * PART + 17, 9);
    let f = write(d.path(), "big.zip", &bytes);
    put(&s3, &f, "b/big.zip", &NoResume, &Cancel::new(), &|_| {}).unwrap();
    s3.rename("b/big.zip", "b/monthly.zip").unwrap();
    assert!(s3.stat("b/big.zip").unwrap().is_none());
    let head = s3.head("b/monthly.zip").unwrap().unwrap();
    assert_eq!(head.size, bytes.len() as u64);
    assert!(
        head.etag.ends_with("-4"),
        "copied in 4 parts: {}",
        head.etag
    );
    assert_eq!(head.sha256.as_deref(), Some(sha256_hex(&bytes).as_str()));
    assert_eq!(read_back(&s3, "b/monthly.zip"), bytes);
}

#[test]
fn the_speed_cap_holds_for_uploads_and_downloads() {
    let _slot = heavy();
    let (m, k) = server();
    let s3 = client(&m, &k);
    let d = tempfile::tempdir().unwrap();
    // 1 MiB at 256 KiB/s: the bucket starts with one second of budget,
    // so at least 3 s each way.
    let bytes = noise(4 * PART, 10);
    let f = write(d.path(), "big.zip", &bytes);
    let (up, down) = capped_round_trip(
        &s3,
        &f,
        "b/capped.zip",
        &sha256_hex(&bytes),
        &bytes,
        256 << 10,
    );
    assert!(up >= Duration::from_millis(2900), "upload took {up:?}");
    assert!(
        down >= Duration::from_millis(2900),
        "download took {down:?}"
    );
}

/// A loopback TCP proxy in front of moto that spoils the first
/// connections: the first `drop` are closed unanswered (a network error),
/// the next `busy` get `503 Slow Down`; the rest pass through.
struct FaultProxy {
    port: u16,
    conns: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    fn start(to: u16, drop: u32, busy: u32) -> FaultProxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let conns = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, st) = (conns.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let Ok((mut s, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                s.set_nonblocking(false).unwrap();
                let n = c.fetch_add(1, Ordering::Relaxed);
                if n < drop {
                    continue; // dropped: closed unanswered
                }
                if n < drop + busy {
                    read_request(&mut s);
                    let body = "<Error><Code>SlowDown</Code><Message>busy</Message></Error>";
                    let _ = s.write_all(
                        format!(
                            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n\
                             Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    );
                    continue;
                }
                let up = TcpStream::connect(("127.0.0.1", to)).unwrap();
                let (mut a, mut b) = (s.try_clone().unwrap(), up.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut a, &mut b);
                    let _ = b.shutdown(std::net::Shutdown::Write);
                });
                let (mut a, mut b) = (up, s);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut a, &mut b);
                    let _ = b.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        FaultProxy { port, conns, stop }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Read one request's head and body (by Content-Length).
fn read_request(s: &mut TcpStream) {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let _ = s.take(len as u64).read_to_end(&mut Vec::new());
}

#[test]
fn network_errors_and_503s_are_retried_then_reported() {
    let _slot = heavy();
    let (m, k) = server();
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "a.zip", b"retried archive");

    // One connection dropped, two 503s: the fourth try goes through.
    let proxy = FaultProxy::start(m.port, 1, 2);
    let s3 = client_at(&proxy.endpoint(), PREFIX, &k.id, &k.secret);
    put(&s3, &f, "a.zip", &NoResume, &Cancel::new(), &|_| {}).unwrap();
    assert!(proxy.conns.load(Ordering::Relaxed) >= 4);
    assert_eq!(read_back(&s3, "a.zip"), b"retried archive");

    // Always busy: four tries, then an error naming the target.
    let proxy = FaultProxy::start(m.port, 0, 100);
    let busy = client_at(&proxy.endpoint(), PREFIX, &k.id, &k.secret);
    let e = busy.list("").unwrap_err().to_string();
    assert_eq!(proxy.conns.load(Ordering::Relaxed), 4, "{e}");
    assert!(
        e.contains("HTTP 503 SlowDown") && e.contains(&busy.describe()),
        "{e}"
    );

    // Nobody listening: four tries, then "cannot reach".
    let gone = FaultProxy::start(m.port, 100, 0);
    let unreachable = client_at(&gone.endpoint(), PREFIX, &k.id, &k.secret);
    let e = unreachable.stat("a.zip").unwrap_err().to_string();
    assert!(
        e.contains("cannot reach") && e.contains("after 4 tries"),
        "{e}"
    );
}

#[test]
fn listings_follow_the_pages() {
    let _slot = heavy();
    let (m, k) = server();
    let s3 = client(&m, &k).with_page_size(2);
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "a.zip", b"x");
    let mut want = Vec::new();
    for i in 0..7 {
        let name = format!("base/{i:02}.zip");
        put(&s3, &f, &name, &NoResume, &Cancel::new(), &|_| {}).unwrap();
        want.push(name);
    }
    put(&s3, &f, "other/z.zip", &NoResume, &Cancel::new(), &|_| {}).unwrap();
    let got: Vec<String> = s3
        .list("base")
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(got, want);
    assert_eq!(s3.list("").unwrap().len(), 8);
}
