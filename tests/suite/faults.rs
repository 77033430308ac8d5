//! The fault suite (README "Reliability"): the real binary killed with
//! SIGKILL at seeded random points of a dump and of a copy backup; the
//! history database locked by another connection, read-only and
//! corrupted; a hostile archive verified under a lowered address-space
//! limit. After every fault: no final-named archive that does not verify,
//! every older archive's SHA-256 unchanged, and the next run recovers
//! (no row left `running`) and succeeds. `FAULTS_SEED=<n>` replays a run
//! of the kill points.

use crate::util::{World, heavy, ok_stdout};
use onec_backup_bot::backup::verify::verify;
use onec_backup_bot::cancel::Cancel;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, Instant};

/// SHA-256 of every final archive of the world, by relative path.
fn archive_hashes(w: &World) -> BTreeMap<String, String> {
    w.archives()
        .into_iter()
        .filter(|a| !a.starts_with("logs/"))
        .map(|a| {
            let bytes = fs::read(w.backups.join(&a)).unwrap();
            let hex: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            (a, hex)
        })
        .collect()
}

/// Every archive that was there before is still there, byte for byte,
/// and every new final-named one verifies (a kill never leaves a
/// final-named partial).
fn assert_archives_intact(w: &World, before: &BTreeMap<String, String>, what: &str) {
    let now = archive_hashes(w);
    for (a, sha) in before {
        assert_eq!(now.get(a), Some(sha), "{what}: {a} changed or vanished");
    }
    for a in now.keys().filter(|a| !before.contains_key(*a)) {
        let r = verify(&w.backups.join(a), &Cancel::new());
        assert!(
            r.is_ok(),
            "{what}: a final-named {a} does not verify: {r:?}"
        );
    }
}

/// A full `backup` that must succeed, then no run may be left `running`.
fn backup_succeeds_and_nothing_is_running(w: &World, what: &str) {
    let out = w.cmd().arg("backup").output().unwrap();
    ok_stdout(out);
    let running: Vec<_> = w
        .runs()
        .into_iter()
        .filter(|r| r["status"] == "running")
        .collect();
    assert!(running.is_empty(), "{what}: left running: {running:?}");
}

/// xorshift64*: a small seeded generator (no dependency for 40 numbers).
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("FAULTS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
            | 1;
        eprintln!("faults: FAULTS_SEED={seed}");
        Rng(seed)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// Kill `backup` with SIGKILL at `points` random moments of its run (one
/// world, sequentially); a full backup after every fourth kill and at the
/// end must recover and succeed.
fn kill_nine_at_random_points(w: &mut World, points: u32) {
    let _h = heavy();
    let locks = w.dir.path().join("locks").display().to_string();
    w.set("BACKUP_LOCK_DIR", &locks);
    // The first run makes an older archive and measures a run.
    let started = Instant::now();
    backup_succeeds_and_nothing_is_running(w, "first run");
    let run_len = started.elapsed();
    eprintln!("faults: one run takes {run_len:?}");
    let mut rng = Rng::seeded();
    for point in 0..points {
        let before = archive_hashes(w);
        let delay = Duration::from_micros(rng.below(run_len.as_micros() as u64));
        let mut child = w
            .command()
            .arg("backup")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let what = format!("kill {point} after {delay:?}");
        assert_archives_intact(w, &before, &what);
        if point % 4 == 3 || point + 1 == points {
            // Archive names are to the second: two runs in one second
            // would be refused as "exists" for a reason of their own.
            std::thread::sleep(Duration::from_millis(1000));
            backup_succeeds_and_nothing_is_running(w, &what);
            assert_archives_intact(w, &before, &what);
        }
    }
}

#[test]
fn kill_nine_during_a_dump_leaves_no_partial_and_the_next_run_recovers() {
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "dump")
        .set("FAKE_1C_MODE", "slow")
        .set("FAKE_1C_SLEEP_MS", "300")
        .set("FAKE_1C_DT_BYTES", &(16 << 20).to_string());
    kill_nine_at_random_points(&mut w, 20);
}

#[test]
fn kill_nine_during_a_copy_leaves_no_partial_and_the_next_run_recovers() {
    // 4096 pages x 8 KiB = 32 MiB: a copy lasts about a second.
    let mut w = World::new(4096);
    w.set("BACKUP_METHOD", "copy");
    kill_nine_at_random_points(&mut w, 20);
}

/// A world with one good archive; returns its hashes.
fn world_with_an_archive() -> (World, BTreeMap<String, String>) {
    let mut w = World::new(16);
    let locks = w.dir.path().join("locks").display().to_string();
    w.set("BACKUP_METHOD", "copy")
        .set("BACKUP_LOCK_DIR", &locks);
    backup_succeeds_and_nothing_is_running(&w, "first run");
    let before = archive_hashes(&w);
    assert_eq!(before.len(), 1, "{before:?}");
    std::thread::sleep(Duration::from_millis(1000));
    (w, before)
}

/// `backup` with the history in a bad state: it fails (exit 1) with an
/// error that names the history file and says `words`, archives untouched.
fn backup_fails_naming_the_history(w: &World, before: &BTreeMap<String, String>, words: &[&str]) {
    let out = w.cmd().arg("backup").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("app.sqlite3"),
        "the file is not named: {stderr}"
    );
    let lower = stderr.to_lowercase();
    assert!(
        words.iter().any(|w| lower.contains(w)),
        "none of {words:?} in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_archives_intact(w, before, "bad history");
}

#[test]
fn a_history_locked_by_another_process_fails_clearly_and_touches_no_archive() {
    let (w, before) = world_with_an_archive();
    let db = w.backups.join("app.sqlite3");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE; UPDATE runs SET pid = pid;")
        .unwrap();
    backup_fails_naming_the_history(&w, &before, &["locked", "busy"]);
    conn.execute_batch("ROLLBACK").unwrap();
    drop(conn);
    backup_succeeds_and_nothing_is_running(&w, "after the lock");
}

#[test]
fn a_corrupted_history_fails_clearly_and_touches_no_archive() {
    let (w, before) = world_with_an_archive();
    let db = w.backups.join("app.sqlite3");
    let _ = fs::remove_file(w.backups.join("app.sqlite3-wal"));
    let _ = fs::remove_file(w.backups.join("app.sqlite3-shm"));
    let mut bytes = fs::read(&db).unwrap();
    for (i, b) in bytes.iter_mut().enumerate().take(4096) {
        *b = (i as u8).wrapping_mul(151).wrapping_add(7);
    }
    fs::write(&db, &bytes).unwrap();
    backup_fails_naming_the_history(&w, &before, &["not a database", "malformed", "corrupt"]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_read_only_history_fails_clearly_and_touches_no_archive() {
    let (w, before) = world_with_an_archive();
    let db = w.backups.join("app.sqlite3");
    // Root ignores permission bits: make the file immutable instead.
    let immutable = unsafe { libc::geteuid() } == 0;
    let set = |flag: &str| {
        std::process::Command::new("chattr")
            .arg(flag)
            .arg(&db)
            .status()
            .is_ok_and(|s| s.success())
    };
    if immutable {
        if !set("+i") {
            eprintln!("skipped: chattr +i is not supported here");
            return;
        }
    } else {
        let mut p = fs::metadata(&db).unwrap().permissions();
        p.set_readonly(true);
        fs::set_permissions(&db, p).unwrap();
    }
    struct Undo<F: FnMut()>(F);
    impl<F: FnMut()> Drop for Undo<F> {
        fn drop(&mut self) {
            (self.0)()
        }
    }
    let _undo = Undo(|| {
        if immutable {
            set("-i");
        }
    });
    backup_fails_naming_the_history(
        &w,
        &before,
        &["read-only", "readonly", "permission", "not permitted"],
    );
}

/// An archive built to make a careless reader allocate: a zip whose entry
/// claims 4 GiB, a `.dt` of endless zeros, noise named `.tar.zst`. Each is
/// verified under a 1 GiB address-space limit: a clean error and exit 1,
/// never an abort.
#[cfg(target_os = "linux")]
#[test]
fn hostile_archives_fail_cleanly_under_a_memory_limit() {
    use std::os::unix::process::CommandExt;
    let w = World::new(1);
    let dir = w.dir.path();
    // A zip whose central directory claims a 4 GiB entry of 10 bytes.
    let mut zip = Vec::new();
    let name = b"1Cv8.1CD";
    let local = |zip: &mut Vec<u8>| {
        zip.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        zip.extend_from_slice(&0u32.to_le_bytes()); // crc
        zip.extend_from_slice(&10u32.to_le_bytes()); // compressed
        zip.extend_from_slice(&u32::MAX.to_le_bytes()); // uncompressed
        zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip.extend_from_slice(name);
        zip.extend_from_slice(&[0u8; 10]);
    };
    local(&mut zip);
    let cd_at = zip.len() as u32;
    zip.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(&10u32.to_le_bytes());
    zip.extend_from_slice(&u32::MAX.to_le_bytes());
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&[0u8; 12]);
    zip.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    zip.extend_from_slice(name);
    let cd_len = zip.len() as u32 - cd_at;
    zip.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    zip.extend_from_slice(&cd_len.to_le_bytes());
    zip.extend_from_slice(&cd_at.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    let hostile = [
        ("claims-4gib.zip", zip),
        ("noise.tar.zst", {
            let mut z = vec![0x28, 0xB5, 0x2F, 0xFD, 0x04, 0xF8];
            z.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
            z
        }),
        ("zeros.dt", {
            // 1CIBDmpF, version, then a deflate stream of 256 MiB of zeros.
            let mut enc = flate2::write::DeflateEncoder::new(
                b"1CIBDmpF\x33".to_vec(),
                flate2::Compression::best(),
            );
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..256 {
                std::io::Write::write_all(&mut enc, &zeros).unwrap();
            }
            let mut dt = enc.finish().unwrap();
            dt.truncate(dt.len() - 3);
            dt
        }),
    ];
    for (name, bytes) in hostile {
        let path = dir.join(name);
        fs::write(&path, &bytes).unwrap();
        let mut c = w.command();
        c.arg("verify").arg(&path);
        unsafe {
            c.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 1 << 30,
                    rlim_max: 1 << 30,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {:?} {stderr}",
            out.status
        );
        assert!(
            stderr.contains(name),
            "{name}: the file is not named: {stderr}"
        );
        assert!(
            !stderr.contains("memory allocation") && !stderr.contains("panicked"),
            "{name}: {stderr}"
        );
    }
}

/// Every secret configured at once; then a dump backup from the command
/// line (its notice goes to the bot), the bot's read commands, and every
/// API route with and without the token. No secret may appear in any file
/// under `BACKUP_DIR` or the log folder, in any log line, in any API
/// answer or in any bot message (text, caption or uploaded file).
#[test]
fn no_secret_in_any_file_log_answer_or_bot_message() {
    use crate::util::PASSWORD;
    use crate::util::fake_telegram::FakeTelegram;
    use crate::util::http::request;
    const TOKEN: &str = "123:FaultsSecretBotToken";
    const API_TOKEN: &str = "faults-api-write-token";
    const LOCK: &str = "faults-lock-code";
    const PUSH_PW: &str = "faults-push-password";
    let secrets = [
        TOKEN,
        "FaultsSecretBotToken",
        API_TOKEN,
        LOCK,
        PUSH_PW,
        PASSWORD,
    ];
    let mut w = World::new(16);
    let logs = w.dir.path().join("logs");
    let locks = w.dir.path().join("locks").display().to_string();
    w.set("BACKUP_METHOD", "dump")
        .set("ONEC_LOCK_CODE", LOCK)
        .set("API_TOKEN", API_TOKEN)
        .set(
            "PROMETHEUS_PUSHGATEWAY_URL",
            &format!("http://bob:{PUSH_PW}@127.0.0.1:9/metrics"),
        )
        .set("LOG_LEVEL", "debug")
        .set("LOG_DIR", &logs.display().to_string())
        .set("BACKUP_LOCK_DIR", &locks);
    let tg = FakeTelegram::start();
    let agent = tg.agent(&w, TOKEN, 111, &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !tg.calls().iter().any(|c| c.method == "getUpdates") {
        assert!(Instant::now() < deadline, "{}", agent.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = w.cmd().arg("backup").output().unwrap();
    let mut seen = vec![(
        "backup output".to_string(),
        [out.stdout.clone(), out.stderr.clone()].concat(),
    )];
    ok_stdout(out);
    tg.wait_message(111, "buh", Duration::from_secs(60));
    for cmd in [
        "/status",
        "/list",
        "/health",
        "/bases",
        "/schedule",
        "/lastlog",
    ] {
        let before = tg.calls().len();
        tg.send_text(111, cmd);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !tg.calls()[before..]
            .iter()
            .any(|c| !c.failed && (c.method.starts_with("send") || c.method == "editMessageText"))
        {
            assert!(Instant::now() < deadline, "no answer to {cmd}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let auth = format!("Bearer {API_TOKEN}");
    for route in [
        "/api/health",
        "/api/metrics",
        "/api/metrics.prom",
        "/api/backup/last",
        "/api/backups",
        "/api/openapi.json",
    ] {
        for headers in [vec![], vec![("Authorization", auth.as_str())]] {
            let r = request(agent.port, "GET", route, &headers, b"");
            seen.push((format!("GET {route}"), r.body.clone()));
        }
    }
    let bad = request(
        agent.port,
        "POST",
        "/api/backup",
        &[("Authorization", "Bearer wrong-token")],
        b"",
    );
    seen.push(("POST /api/backup (bad token)".into(), bad.body.clone()));
    for c in tg.calls() {
        seen.push((
            format!("bot {}", c.method),
            c.params.to_string().into_bytes(),
        ));
        for (_, name, bytes) in c.files {
            seen.push((format!("bot file {name}"), bytes));
        }
    }
    seen.push(("agent stderr".into(), agent.stderr().into_bytes()));
    let mut files = Vec::new();
    for root in [&w.backups, &logs] {
        for rel in crate::util::walk_all(root) {
            files.push(root.join(rel));
        }
    }
    assert!(files.len() > 3, "{files:?}");
    for f in files {
        seen.push((f.display().to_string(), fs::read(&f).unwrap_or_default()));
    }
    for (what, bytes) in &seen {
        for s in secrets {
            assert!(
                !crate::util::contains(bytes, s),
                "{s} in {what}: {}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}
