//! The SFTP kind of offsite target against real servers: OpenSSH's sshd
//! (Debian `openssh-server`, `internal-sftp`, key logins of the current
//! user) for uploads into new deep Cyrillic folders, stat, list, read back,
//! replacing, a cancelled upload, delete, RSA and passphrase-protected
//! keys and both kinds of host-key pin (and refusals); and an in-process
//! russh server for password logins, which sshd cannot check without a
//! real account. Errors are checked to name what to fix and never to
//! carry a password or passphrase.
#![cfg(unix)]

use crate::util::remote::{capped_round_trip, read_back, target_at};
use crate::util::sftp_server::PasswordSftp;
use crate::util::sshd::{Sshd, fingerprint_of, hash_known_hosts, keygen};
use crate::util::{Heavy, heavy};
use onec_backup_bot::cancel::Cancel;
use onec_backup_bot::config::Secret;
use onec_backup_bot::config::offsite::{Location, OffsiteTarget};
use onec_backup_bot::offsite::{self, NoResume, Proof, Remote, Stored, Throttle, Upload};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const PASSPHRASE: &str = "Key-Pa55-phrase-Ключ";
const SFTP_PASSWORD: &str = "Sftp-Pa55-word-Пароль";

fn target(host_port: (&str, u16), user: &str, path: &str) -> OffsiteTarget {
    target_at(Location::Sftp {
        user: Some(user.into()),
        host: host_port.0.into(),
        port: host_port.1,
        path: path.trim_start_matches('/').into(),
    })
}

/// An sshd and a target on it logging in with a fresh ed25519 key, pinned
/// by fingerprint, rooted at `<dir>/remote`.
struct Setup {
    dir: tempfile::TempDir,
    sshd: Sshd,
    t: OffsiteTarget,
    /// A real server runs: held to the end (dropped last).
    _heavy: Heavy,
}

impl Setup {
    fn new() -> Setup {
        let heavy = heavy();
        let dir = tempfile::tempdir().unwrap();
        let sshd = Sshd::start(&dir.path().join("sshd"));
        let key = dir.path().join("id_ed25519");
        keygen(&key, "ed25519", "");
        sshd.authorize(&key);
        let mut t = target(
            ("127.0.0.1", sshd.port),
            &sshd.user,
            &dir.path().join("remote").display().to_string(),
        );
        t.key_file = Some(key);
        t.known_host = Some(sshd.fingerprint.clone());
        Setup {
            dir,
            sshd,
            t,
            _heavy: heavy,
        }
    }

    fn remote(&self) -> PathBuf {
        self.dir.path().join("remote")
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    }

    fn open(&self) -> Box<dyn Remote> {
        offsite::open(&self.t).unwrap()
    }
}

fn put(r: &dyn Remote, file: &Path, name: &str, cancel: &Cancel) -> anyhow::Result<Stored> {
    put_with(r, file, name, cancel, &|_| {})
}

fn put_with(
    r: &dyn Remote,
    file: &Path,
    name: &str,
    cancel: &Cancel,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Stored> {
    r.put(&Upload {
        file,
        name,
        size: fs::metadata(file)?.len(),
        sha256: "",
        resume: &NoResume,
        throttle: &Throttle::unlimited(),
        cancel,
        progress,
    })
}

/// Bytes that differ at every offset, so a misplaced piece shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

fn err_text(r: anyhow::Result<impl std::fmt::Debug>) -> String {
    format!("{:#}", r.expect_err("expected an error"))
}

#[test]
fn sshd_put_stat_list_get_replace_delete_in_deep_cyrillic_folders() {
    let s = Setup::new();
    let r = s.open();
    assert_eq!(
        r.describe(),
        format!(
            "sftp://{}@127.0.0.1:{}/{}",
            s.sshd.user,
            s.sshd.port,
            s.remote().display().to_string().trim_start_matches('/')
        )
    );
    // Over several chunks and not a multiple of a piece.
    let big = pattern(2 * 1024 * 1024 + 12_345, 1);
    let src = s.file("a.zip", &big);
    let name = "Бухгалтерия/2026/Декабрь/Бухгалтерия_2026-12-03_0300.zip";
    let seen = AtomicU64::new(0);
    let stored = put_with(&*r, &src, name, &Cancel::new(), &|n| {
        seen.store(n, Ordering::SeqCst)
    })
    .unwrap();
    assert_eq!(
        (stored.bytes, stored.proof),
        (big.len() as u64, Proof::Size)
    );
    assert_eq!(seen.load(Ordering::SeqCst), big.len() as u64);
    // The bytes are on the server's disk under the final name, no .part.
    let on_disk = s.remote().join(name);
    assert_eq!(fs::read(&on_disk).unwrap(), big);
    assert!(!s.remote().join(format!("{name}.part")).exists());

    let st = r.stat(name).unwrap().expect("stat finds the object");
    assert_eq!((st.name.as_str(), st.size), (name, big.len() as u64));
    assert!(st.modified.is_some());
    assert!(r.stat("Бухгалтерия/nothing.zip").unwrap().is_none());
    assert!(
        r.stat("Бухгалтерия/2026").unwrap().is_none(),
        "a folder is no object"
    );

    let small = s.file("b.zip", b"second base");
    put(&*r, &small, "Зарплата/b.zip", &Cancel::new()).unwrap();
    let all: Vec<(String, u64)> = r
        .list("")
        .unwrap()
        .into_iter()
        .map(|o| (o.name, o.size))
        .collect();
    assert_eq!(
        all,
        [
            (name.to_string(), big.len() as u64),
            ("Зарплата/b.zip".to_string(), 11)
        ]
    );
    let one: Vec<String> = r
        .list("Зарплата")
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(one, ["Зарплата/b.zip"]);
    assert!(r.list("Нет такой").unwrap().is_empty());

    assert_eq!(read_back(&*r, name), big);

    // Replace: a new upload under the same name wins, whole.
    let newer = pattern(300_001, 7);
    let src2 = s.file("a2.zip", &newer);
    put(&*r, &src2, name, &Cancel::new()).unwrap();
    assert_eq!(read_back(&*r, name), newer);

    // rename replaces the target (posix-rename on OpenSSH).
    r.rename("Зарплата/b.zip", name).unwrap();
    assert_eq!(read_back(&*r, name), b"second base");
    assert!(r.stat("Зарплата/b.zip").unwrap().is_none());
    r.rename(name, "Новая/папка/daily.zip").unwrap();
    assert_eq!(read_back(&*r, "Новая/папка/daily.zip"), b"second base");

    r.delete("Новая/папка/daily.zip").unwrap();
    r.delete("Новая/папка/daily.zip").unwrap();
    assert!(r.stat("Новая/папка/daily.zip").unwrap().is_none());
    assert!(r.list("").unwrap().is_empty());

    for bad in ["../x", "a/../../x", "/abs", "a//b", ""] {
        assert!(r.stat(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_cancelled_upload_keeps_the_old_copy_and_leaves_no_part() {
    let s = Setup::new();
    let r = s.open();
    let old = pattern(1_500_000, 3);
    put(&*r, &s.file("old.zip", &old), "b/daily.zip", &Cancel::new()).unwrap();
    let new = pattern(5 * 1024 * 1024, 9);
    let src = s.file("new.zip", &new);
    let cancel = Cancel::new();
    let c2 = cancel.clone();
    let e = err_text(put_with(&*r, &src, "b/daily.zip", &cancel, &|n| {
        // Stop after the second chunk went out: mid-upload.
        if n >= 2 * 1024 * 1024 {
            c2.cancel();
        }
    }));
    assert!(e.contains("interrupted"), "{e}");
    assert_eq!(read_back(&*r, "b/daily.zip"), old);
    let names: Vec<String> = r.list("").unwrap().into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["b/daily.zip"]);
    assert!(!s.remote().join("b/daily.zip.part").exists());
    // And the connection is still good for the next upload.
    put(&*r, &src, "b/daily.zip", &Cancel::new()).unwrap();
    assert_eq!(read_back(&*r, "b/daily.zip"), new);
}

#[test]
fn rsa_and_passphrase_protected_keys_log_in() {
    let mut s = Setup::new();
    let rsa = s.dir.path().join("id_rsa");
    keygen(&rsa, "rsa", PASSPHRASE);
    s.sshd.authorize(&rsa);
    s.t.key_file = Some(rsa.clone());
    s.t.key_passphrase = Some(Secret::new(PASSPHRASE));
    let r = s.open();
    put(&*r, &s.file("k.zip", b"rsa"), "k.zip", &Cancel::new())
        .unwrap_or_else(|e| panic!("{e:#}\nsshd log:\n{}", s.sshd.log_text()));
    assert_eq!(read_back(&*r, "k.zip"), b"rsa");

    let ed = s.dir.path().join("id_ed25519_pp");
    keygen(&ed, "ed25519", PASSPHRASE);
    s.sshd.authorize(&ed);
    s.t.key_file = Some(ed.clone());
    let r = s.open();
    assert_eq!(read_back(&*r, "k.zip"), b"rsa");

    // Without the passphrase, and with a wrong one: clear, and no secret.
    s.t.key_passphrase = None;
    let e = err_text(s.open().stat("k.zip"));
    assert!(e.contains("OFFSITE_KEY_PASSPHRASE"), "{e}");
    s.t.key_passphrase = Some(Secret::new("wrong-Фраза-42"));
    let e = err_text(s.open().stat("k.zip"));
    assert!(e.contains("OFFSITE_KEY_PASSPHRASE"), "{e}");
    assert!(
        !e.contains("wrong-Фраза-42") && !e.contains(PASSPHRASE),
        "{e}"
    );

    // A key the server does not know.
    let stranger = s.dir.path().join("id_stranger");
    keygen(&stranger, "ed25519", "");
    s.t.key_file = Some(stranger);
    s.t.key_passphrase = None;
    let e = err_text(s.open().stat("k.zip"));
    assert!(
        e.contains("refused the login") && e.contains("OFFSITE_KEY_FILE"),
        "{e}"
    );
    assert!(
        e.contains(&format!("sftp://{}@127.0.0.1:{}", s.sshd.user, s.sshd.port)),
        "{e}"
    );
}

#[test]
fn host_keys_are_pinned_by_known_hosts_files_or_fingerprints() {
    let mut s = Setup::new();
    put(
        &*s.open(),
        &s.file("p.zip", b"pinned"),
        "p.zip",
        &Cancel::new(),
    )
    .unwrap();

    // A plain known_hosts file ([host]:port entry among others).
    let kh = s.dir.path().join("known_hosts");
    let other = s.dir.path().join("other_host");
    keygen(&other, "ed25519", "");
    let other_pub = fs::read_to_string(other.with_extension("pub")).unwrap();
    let other_key: Vec<&str> = other_pub.split_whitespace().take(2).collect();
    // Another host's entry, then the server's.
    let both = format!(
        "# test\nnas.example {} {}\n{}",
        other_key[0],
        other_key[1],
        s.sshd.known_hosts_line()
    );
    fs::write(&kh, &both).unwrap();
    s.t.known_host = Some(kh.display().to_string());
    assert_eq!(read_back(&*s.open(), "p.zip"), b"pinned");

    // Only the server's RSA key listed: the client asks for that one.
    fs::write(&kh, s.sshd.known_hosts_line_rsa()).unwrap();
    assert_eq!(read_back(&*s.open(), "p.zip"), b"pinned");
    fs::write(&kh, &both).unwrap();

    // The same file hashed (`|1|salt|hash`).
    hash_known_hosts(&kh);
    assert!(fs::read_to_string(&kh).unwrap().contains("|1|"));
    assert_eq!(read_back(&*s.open(), "p.zip"), b"pinned");

    // The file lists another key for this host: a loud mismatch with both.
    fs::write(
        &kh,
        format!(
            "[127.0.0.1]:{} {} {}\n",
            s.sshd.port, other_key[0], other_key[1]
        ),
    )
    .unwrap();
    let e = err_text(s.open().stat("p.zip"));
    let other_fp = fingerprint_of(&other.with_extension("pub"));
    assert!(e.contains("HOST KEY MISMATCH"), "{e}");
    assert!(
        e.contains(&s.sshd.fingerprint) && e.contains(&other_fp),
        "{e}"
    );

    // A file with no entry for this host.
    fs::write(
        &kh,
        format!("nas.example {} {}\n", other_key[0], other_key[1]),
    )
    .unwrap();
    let e = err_text(s.open().stat("p.zip"));
    assert!(
        e.contains("no ssh-ed25519 key for [127.0.0.1]") && e.contains(&s.sshd.fingerprint),
        "{e}"
    );

    // A wrong fingerprint.
    s.t.known_host = Some(other_fp.clone());
    let e = err_text(s.open().stat("p.zip"));
    assert!(e.contains("HOST KEY MISMATCH"), "{e}");
    assert!(
        e.contains(&s.sshd.fingerprint) && e.contains(&other_fp),
        "{e}"
    );
    assert!(e.contains("OFFSITE_KNOWN_HOST"), "{e}");

    // No pin at all: refused, showing the fingerprint to pin.
    s.t.known_host = None;
    let e = err_text(s.open().stat("p.zip"));
    assert!(
        e.contains("OFFSITE_KNOWN_HOST") && e.contains(&s.sshd.fingerprint),
        "{e}"
    );
    // The file is untouched by all the refused attempts.
    assert_eq!(fs::read(s.remote().join("p.zip")).unwrap(), b"pinned");
}

#[test]
fn password_login_uploads_and_reads_back_and_a_wrong_password_is_named_not_shown() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let server = PasswordSftp::start(&root, &dir.path().join("keys"), "backup", SFTP_PASSWORD);
    let mut t = target(("127.0.0.1", server.port), "ignored", "data/copies");
    // The target's user overrides the URL's.
    t.user = Some("backup".into());
    t.password = Some(Secret::new(SFTP_PASSWORD));
    t.known_host = Some(server.fingerprint.clone());
    let r = offsite::open(&t).unwrap();
    assert!(
        r.describe().starts_with("sftp://backup@127.0.0.1:"),
        "{}",
        r.describe()
    );
    let body = pattern(1_300_000, 5);
    let src = dir.path().join("a.zip");
    fs::write(&src, &body).unwrap();
    let stored = put(&*r, &src, "База/a.zip", &Cancel::new()).unwrap();
    assert_eq!(stored.bytes, body.len() as u64);
    assert_eq!(fs::read(root.join("data/copies/База/a.zip")).unwrap(), body);
    assert_eq!(read_back(&*r, "База/a.zip"), body);
    // Replacing on a server without posix-rename: remove, then rename.
    fs::write(&src, b"newer").unwrap();
    put(&*r, &src, "База/a.zip", &Cancel::new()).unwrap();
    assert_eq!(read_back(&*r, "База/a.zip"), b"newer");
    let names: Vec<String> = r.list("").unwrap().into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["База/a.zip"]);

    // The speed cap holds both ways: 600 kB at 300 kB/s with a full
    // one-second bucket waits about a second.
    let capped = pattern(600_000, 11);
    fs::write(&src, &capped).unwrap();
    let (up, down) = capped_round_trip(&*r, &src, "capped.zip", "", &capped, 300_000);
    assert!(up >= std::time::Duration::from_millis(900), "{up:?}");
    assert!(down >= std::time::Duration::from_millis(900), "{down:?}");
    r.delete("capped.zip").unwrap();

    t.password = Some(Secret::new("Wrong-Pa55-Неверный"));
    let bad = offsite::open(&t).unwrap();
    let e = err_text(bad.stat("База/a.zip"));
    assert!(
        e.contains("OFFSITE_PASSWORD") && e.contains("OFFSITE_USER"),
        "{e}"
    );
    assert!(e.contains("sftp://backup@127.0.0.1"), "{e}");
    assert!(
        !e.contains("Wrong-Pa55") && !e.contains(SFTP_PASSWORD),
        "{e}"
    );
    // Not in Debug output either.
    let dbg = format!("{t:?}");
    assert!(!dbg.contains("Wrong-Pa55"), "{dbg}");
}

#[test]
fn a_dropped_session_is_reopened_and_connect_errors_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (root, keys) = (dir.path().join("root"), dir.path().join("keys"));
    let server = PasswordSftp::start(&root, &keys, "backup", SFTP_PASSWORD);
    let port = server.port;
    let mut t = target(("127.0.0.1", port), "backup", "data");
    t.password = Some(Secret::new(SFTP_PASSWORD));
    t.known_host = Some(server.fingerprint.clone());
    let r = offsite::open(&t).unwrap();
    let src = dir.path().join("a.zip");
    fs::write(&src, b"before the drop").unwrap();
    put(&*r, &src, "a.zip", &Cancel::new()).unwrap();

    // The server goes away with every session; a new one comes up on the
    // same port (same host key, another folder, so the answer shows which
    // server gave it) a second later, while the client is already trying
    // to reconnect.
    drop(server);
    let root2 = dir.path().join("root2");
    fs::create_dir_all(root2.join("data")).unwrap();
    fs::write(root2.join("data/a.zip"), b"from the new server").unwrap();
    let (r2, k2) = (root2.clone(), keys.clone());
    let again = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(1));
        PasswordSftp::start_on(Some(port), &r2, &k2, "backup", SFTP_PASSWORD)
    });
    assert_eq!(read_back(&*r, "a.zip"), b"from the new server");
    let _server = again.join().unwrap();
    fs::write(&src, b"after the drop").unwrap();
    put(&*r, &src, "a.zip", &Cancel::new()).unwrap();
    assert_eq!(
        fs::read(root2.join("data/a.zip")).unwrap(),
        b"after the drop"
    );
    assert_eq!(
        fs::read(root.join("data/a.zip")).unwrap(),
        b"before the drop"
    );
}

#[test]
fn nobody_listening_fails_after_retries_naming_the_target() {
    let port = crate::util::proc::free_port();
    let mut t = target(("127.0.0.1", port), "backup", "data");
    t.password = Some(Secret::new(SFTP_PASSWORD));
    t.known_host = Some("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    let started = std::time::Instant::now();
    let e = err_text(offsite::open(&t).unwrap().stat("a.zip"));
    assert!(
        e.contains(&format!("sftp://backup@127.0.0.1:{port}/data")),
        "{e}"
    );
    assert!(
        e.contains("attempts") && e.contains("check the host and the port"),
        "{e}"
    );
    assert!(!e.contains(SFTP_PASSWORD), "{e}");
    // Three waits between four attempts: 0.5 + 1 + 2 s.
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
