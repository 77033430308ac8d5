//! End to end with the real binary: every method and compression, every 1C
//! failure, skipping, races, a full disk, a kill while packing, Ctrl-C,
//! retention, `verify`, `config check`, and secrets kept out of everything.

#[cfg(unix)]
use crate::util::proc::wait_for;
#[cfg(unix)]
use crate::util::proc::{gone, pid_in, sigterm};
use crate::util::{PASSWORD, World, contains, heavy, ok_stdout};
use predicates::prelude::*;
use std::fs;
use std::time::{Duration, Instant};

fn backup_json(w: &World, extra: &[&str]) -> (i32, serde_json::Value, String) {
    w.json(&[&["backup", "--json"], extra].concat(), &[])
}

/// Two forced backups of `base` (from `config.yaml`) that must succeed.
fn backup_twice(w: &World, base: &str) {
    for _ in 0..2 {
        w.cmd()
            .args(["backup", "--base", base, "--force"])
            .assert()
            .success();
    }
}

/// The status of every recorded run, newest first.
fn statuses(w: &World) -> Vec<String> {
    let runs = w.runs();
    runs.iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

/// `backup --json` that must exit 0: its JSON and its stderr.
fn backup_ok(w: &World, extra: &[&str]) -> (serde_json::Value, String) {
    let (code, v, stderr) = backup_json(w, extra);
    assert_eq!(code, 0, "{v}\n{stderr}");
    (v, stderr)
}

fn assert_no_secret(w: &World, texts: &[&str]) {
    for t in texts {
        assert!(!t.contains(PASSWORD), "password leaked: {t}");
    }
    assert!(
        !contains(&w.history_bytes(), PASSWORD),
        "password in the history database"
    );
}

#[test]
fn copy_zip_makes_a_verified_archive_named_like_the_prototype() {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy")
        .set("BACKUP_INCLUDE_LOG", "true");
    let v = backup_ok(&w, &[]).0;
    assert_eq!(v["status"], "ok");
    let archives = w.archives();
    assert_eq!(archives.len(), 1, "{archives:?}");
    let name = &archives[0];
    // YYYY-MM-DD/buh_YYYY-MM-DD_HH-MM-SS.zip
    let re = regex_lite(name);
    assert!(re, "unexpected archive path {name}");
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
    let path = w.backups.join(name);
    // Info-ZIP agrees the archive is sound.
    if which("unzip") {
        let listing = ok_stdout(
            std::process::Command::new("unzip")
                .arg("-t")
                .arg(&path)
                .output()
                .unwrap(),
        );
        assert!(
            listing.contains("1Cv8.1CD") && listing.contains("1Cv8Log/1Cv8.lgf"),
            "{listing}"
        );
        assert!(!listing.contains(".cfl"));
    }
    w.cmd()
        .arg("verify")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("1Cv8.1CD"));
    let hist = w.list_json();
    assert_eq!(hist[0]["status"], "ok");
    assert_eq!(hist[0]["method"], "copy");
    assert_eq!(hist[0]["trigger"], "cli");
    assert_eq!(hist[0]["sha256"], v["sha256"]);
    assert!(w.backup_files().iter().all(|f| !f.contains(".partial")));
}

fn regex_lite(name: &str) -> bool {
    // 2026-11-25/buh_2026-11-25_12-34-56.zip
    let b = name.as_bytes();
    name.len() == "2026-11-25/buh_2026-11-25_12-34-56.zip".len()
        && &name[10..15] == "/buh_"
        && name[..10] == name[15..25]
        && b[25] == b'_'
        && name.ends_with(".zip")
        && name[26..34].chars().enumerate().all(|(i, c)| {
            if i == 2 || i == 5 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        })
}

fn which(tool: &str) -> bool {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn copy_zstd_and_none() {
    let mut w = World::new(32);
    w.set("BACKUP_METHOD", "copy")
        .set("BACKUP_COMPRESS", "zstd");
    let v = backup_ok(&w, &[]).0;
    let archive = v["archive"].as_str().unwrap().to_string();
    assert!(archive.ends_with(".tar.zst"), "{archive}");
    if which("zstd") {
        assert!(
            std::process::Command::new("zstd")
                .arg("-t")
                .arg(&archive)
                .output()
                .unwrap()
                .status
                .success()
        );
    }
    w.set("BACKUP_COMPRESS", "none");
    let v = backup_ok(&w, &["--force"]).0;
    let folder = std::path::PathBuf::from(v["archive"].as_str().unwrap());
    assert!(folder.is_dir(), "{folder:?}");
    assert_eq!(
        fs::read(folder.join("1Cv8.1CD")).unwrap(),
        fs::read(w.base.join("1Cv8.1CD")).unwrap()
    );
    w.cmd().arg("verify").arg(&folder).assert().success();
}

#[test]
fn dump_with_designer_passes_real_syntax_and_keeps_the_password_secret() {
    let mut w = World::new(16);
    let args_file = w.dir.path().join("args.txt");
    w.set("FAKE_1C_ARGS_FILE", &args_file.display().to_string());
    w.set("ONEC_LOCK_CODE", "KOD123");
    let (v, stderr) = backup_ok(&w, &[]);
    let args = fs::read_to_string(&args_file).unwrap();
    assert!(args.lines().any(|l| l == "DESIGNER"), "{args}");
    for needle in [
        "/DumpIB",
        "/Out",
        "/DumpResult",
        "/DisableStartupDialogs",
        "/NАдминистратор",
        "/UCKOD123",
    ] {
        assert!(args.contains(needle), "{needle} missing from {args}");
    }
    let archive = v["archive"].as_str().unwrap();
    assert!(archive.ends_with(".zip"));
    // The .dt inside is a complete dump and was deleted after packing.
    let verify = w.cmd().arg("verify").arg(archive).output().unwrap();
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success() && text.contains(".dt"), "{text}");
    assert!(
        !w.backup_files().iter().any(|f| f.ends_with(".dt")),
        "{:?}",
        w.backup_files()
    );
    let hist = w.list_json();
    assert_eq!(hist[0]["onec_exit_code"], 0);
    // Each stage is timed, in the order the run went through them.
    let stages: Vec<(String, u64)> =
        serde_json::from_str(hist[0]["stages"].as_str().unwrap()).unwrap();
    let names: Vec<&str> = stages.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        names,
        ["preparing", "dumping", "packing", "verifying", "publishing"],
        "{stages:?}"
    );
    let total: u64 = stages.iter().map(|(_, ms)| ms).sum();
    assert!(
        total <= hist[0]["duration_ms"].as_u64().unwrap() + 50,
        "{stages:?} vs {}",
        hist[0]["duration_ms"]
    );
    assert!(
        hist[0]["log_path"]
            .as_str()
            .is_some_and(|p| std::path::Path::new(p).exists())
    );
    assert_no_secret(&w, &[&stderr, &v.to_string(), &hist.to_string()]);
    assert!(!contains(&w.history_bytes(), "KOD123"));
}

#[test]
fn dump_bare_dt_and_kept_dt() {
    let mut w = World::new(16);
    w.set("BACKUP_COMPRESS", "none");
    let v = backup_ok(&w, &[]).0;
    assert!(v["archive"].as_str().unwrap().ends_with(".dt"));
    w.set("BACKUP_COMPRESS", "zip")
        .set("BACKUP_DELETE_DT_AFTER_COMPRESS", "false");
    backup_ok(&w, &["--force"]);
    let files = w.archives();
    let ending = |ext: &str| files.iter().filter(|f| f.ends_with(ext)).count();
    assert_eq!((ending(".dt"), ending(".zip")), (2, 1), "{files:?}");
}

/// A `.dt` kept beside its archive is part of that archive: `keep.last: 2`
/// keeps two backups (two zips and their two dumps), not one; and the 1C
/// logs of the runs whose archives retention deleted go too.
#[test]
fn a_kept_dt_goes_with_its_archive_and_so_does_its_1c_log() {
    let mut w = World::new(16);
    w.set("BACKUP_DELETE_DT_AFTER_COMPRESS", "false")
        .set("BACKUP_KEEP_LAST", "2");
    for _ in 0..3 {
        backup_ok(&w, &["--force"]);
    }
    let files = w.archives();
    let ending = |ext: &str| files.iter().filter(|f| f.ends_with(ext)).count();
    assert_eq!((ending(".dt"), ending(".zip")), (2, 2), "{files:?}");
    for f in files.iter().filter(|f| f.ends_with(".zip")) {
        let dt = f.replace(".zip", ".dt");
        assert!(files.contains(&dt), "{f} kept without its dump: {files:?}");
    }
    let logs: Vec<_> = w
        .backup_files()
        .into_iter()
        .filter(|f| f.starts_with("logs/") && f.ends_with(".log"))
        .collect();
    assert_eq!(logs.len(), 2, "{logs:?}");
}

#[test]
fn ibcmd_method() {
    let mut w = World::new(16);
    let args_file = w.dir.path().join("args.txt");
    w.set("BACKUP_METHOD", "ibcmd")
        .set("FAKE_1C_ARGS_FILE", &args_file.display().to_string());
    let v = backup_ok(&w, &[]).0;
    assert_eq!(v["method"], "ibcmd");
    let args = fs::read_to_string(&args_file).unwrap();
    assert!(
        args.contains("infobase") && args.contains("dump") && args.contains("--db-path"),
        "{args}"
    );
}

fn failing(mode: &str) -> (World, std::process::Output) {
    let w = World::new(16);
    let out = w
        .cmd()
        .arg("backup")
        .env("FAKE_1C_MODE", mode)
        .output()
        .unwrap();
    (w, out)
}

#[test]
fn users_still_connected_is_explained_with_the_1c_log_line() {
    let (w, out) = failing("lock");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("монопольн"),
        "the Russian 1C line is quoted: {stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("users") || stderr.contains("пользовател"),
        "{stderr}"
    );
    assert!(w.archives().is_empty(), "{:?}", w.archives());
    assert!(
        w.backup_files().iter().all(|f| !f.contains(".partial")),
        "{:?}",
        w.backup_files()
    );
    let hist = w.list_json();
    assert_eq!(hist[0]["status"], "failed");
    assert!(hist[0]["error"].as_str().unwrap().len() > 10);
    assert_no_secret(&w, &[&stderr, &String::from_utf8_lossy(&out.stdout)]);
}

#[test]
fn wrong_credentials_dumpresult_and_empty_dump_fail() {
    for (mode, needle) in [
        ("badcreds", "ONEC_UP"),
        ("dumpresult1", "DumpResult"),
        ("empty", "empty"),
    ] {
        let (w, out) = failing(mode);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{mode}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{mode}: expected {needle:?} in {stderr}"
        );
        assert!(w.archives().is_empty(), "{mode}: {:?}", w.archives());
        assert_eq!(w.list_json()[0]["status"], "failed");
        assert_no_secret(&w, &[&stderr]);
    }
}

#[test]
fn hanging_designer_is_killed_at_the_timeout() {
    let mut w = World::new(16);
    w.set("ONEC_TIMEOUT", "5");
    let t = Instant::now();
    let out = w
        .cmd()
        .arg("backup")
        .env("FAKE_1C_MODE", "hang")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(t.elapsed() < Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("timed out") || stderr.contains("timeout"),
        "{stderr}"
    );
    assert_eq!(w.list_json()[0]["status"], "failed");
}

#[test]
fn unchanged_base_is_skipped_unless_forced() {
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "copy");
    backup_ok(&w, &[]);
    let v = backup_ok(&w, &[]).0;
    assert_eq!(v["status"], "skipped");
    assert!(v["reason"].as_str().unwrap().contains("unchanged"));
    let (code, v, _) = backup_json(&w, &["--force"]);
    assert_eq!((code, v["status"].as_str()), (0, Some("ok")));
    assert_eq!(w.archives().len(), 2, "{:?}", w.archives());
    assert_eq!(statuses(&w), ["ok", "skipped", "ok"]);
}

#[test]
fn two_processes_never_back_up_one_base_at_once() {
    let w = World::new(16);
    let mut first = w.slow_backup_holding_the_lock();
    let v = backup_ok(&w, &["--force"]).0;
    assert_eq!(v["status"], "skipped");
    assert!(
        v["reason"].as_str().unwrap().contains("already running"),
        "{v}"
    );
    assert!(first.0.wait().unwrap().success());
    let statuses = statuses(&w);
    assert!(
        statuses.iter().any(|s| s == "skipped") && statuses.iter().any(|s| s == "ok"),
        "{statuses:?}"
    );
    assert_eq!(w.archives().len(), 1);
}

/// The lock belongs to the infobase, not to a name or a backup folder: a
/// console run with another `BACKUP_DIR` naming the same folder another way
/// (`buh/sub/..`, so its default name is `sub`) sees the running backup.
#[test]
fn the_lock_is_the_infobase_s_whatever_name_or_backup_folder() {
    let w = World::new(16);
    fs::create_dir_all(w.base.join("sub")).unwrap();
    let mut first = w.slow_backup_holding_the_lock();
    let mut other = World::new(1);
    other.envs = w.envs.clone();
    other
        .set(
            "BACKUP_DIR",
            &w.dir.path().join("elsewhere").display().to_string(),
        )
        .set(
            "ONEC_BASE_PATH",
            &w.base.join("sub").join("..").display().to_string(),
        );
    let (v, _) = backup_ok(&other, &["--force"]);
    assert_eq!(v["status"], "skipped", "{v}");
    assert_eq!(v["base"], "sub", "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("already running"),
        "{v}"
    );
    assert!(first.0.wait().unwrap().success());
    assert_eq!(w.archives().len(), 1);
}

/// `prune --dry-run` changes nothing: no start-up recovery (a stale
/// temporary and a `running` row stay), no folder or database created.
#[test]
fn prune_dry_run_changes_nothing() {
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "copy").set("BACKUP_KEEP_LAST", "1");
    let out = w.cmd().args(["prune", "--dry-run"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!w.backups.exists(), "a dry run created BACKUP_DIR");
    backup_ok(&w, &[]);
    let day = w.backups.join("2020-01-01");
    fs::create_dir_all(&day).unwrap();
    let temp = day.join(".buh_2020-01-01_00-00-00.zip.4000000.partial");
    fs::write(&temp, b"left by a killed run").unwrap();
    w.record_abandoned_run("2020-01-01T00:00:00.000Z", "copy", 4000000);
    let running = || -> i64 {
        rusqlite::Connection::open(w.backups.join("app.sqlite3"))
            .unwrap()
            .query_row(
                "SELECT count(*) FROM runs WHERE status = 'running'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let before = w.history_bytes();
    w.cmd().args(["prune", "--dry-run"]).assert().success();
    assert!(temp.exists(), "the dry run removed a temporary");
    assert_eq!(running(), 1);
    assert_eq!(
        w.history_bytes(),
        before,
        "the dry run wrote to the history"
    );
    w.cmd().arg("prune").assert().success();
    assert!(!temp.exists(), "a real prune recovers");
    assert_eq!(running(), 0);
}

#[test]
fn verify_catches_damage_and_names_it() {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    let (_, v, _) = backup_json(&w, &[]);
    let archive = std::path::PathBuf::from(v["archive"].as_str().unwrap());
    let mut bytes = fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let damaged = w.dir.path().join("damaged.zip");
    fs::write(&damaged, &bytes).unwrap();
    let out = w.cmd().arg("verify").arg(&damaged).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged.zip"));
    let truncated = w.dir.path().join("truncated.zip");
    fs::write(&truncated, &fs::read(&archive).unwrap()[..mid]).unwrap();
    w.cmd().arg("verify").arg(&truncated).assert().code(1);
    w.cmd()
        .arg("verify")
        .arg(w.dir.path().join("missing.zip"))
        .assert()
        .code(2);
}

#[test]
fn a_kill_while_packing_leaves_no_final_file_and_the_next_run_cleans_up() {
    // Packing at level 9 takes every core for a while.
    let _heavy = heavy();
    // ~96 MiB of data so packing lasts long enough to be killed.
    let mut w = World::new(12_288);
    w.set("BACKUP_METHOD", "copy")
        .set("BACKUP_COMPRESS_LEVEL", "9");
    let mut child = w.spawn(&["backup"], &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut saw_partial = false;
    while Instant::now() < deadline && !saw_partial {
        saw_partial = w.backup_files().iter().any(|f| f.contains(".partial"));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(saw_partial, "packing never started: {:?}", w.backup_files());
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    assert!(
        w.archives().is_empty(),
        "a final name after a kill: {:?}",
        w.archives()
    );
    // The next start marks the run interrupted and removes the temporary.
    let hist = w.list_json();
    assert_eq!(hist[0]["status"], "interrupted", "{hist}");
    assert!(
        w.backup_files().iter().all(|f| !f.contains(".partial")),
        "{:?}",
        w.backup_files()
    );
    let (code, v, _) = backup_json(&w, &[]);
    assert_eq!((code, v["status"].as_str()), (0, Some("ok")));
}

#[cfg(unix)]
#[test]
fn sigterm_during_a_dump_kills_1c_and_records_interrupted() {
    let w = World::new(16);
    let pid_file = w.dir.path().join("child.pid");
    let mut child = w.spawn(
        &["backup"],
        &[
            ("FAKE_1C_MODE", "hang"),
            ("FAKE_1C_CHILD_PID_FILE", pid_file.to_str().unwrap()),
        ],
    );
    wait_for("1C to start", Duration::from_secs(20), || pid_file.exists());
    std::thread::sleep(Duration::from_millis(200));
    sigterm(&child.0);
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(gone(pid_in(&pid_file)), "1C's child process survived");
    assert_eq!(w.list_json()[0]["status"], "interrupted");
    assert!(w.backup_files().iter().all(|f| !f.contains(".partial")));
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_fails_early_or_cleanly_with_numbers() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to mount a small tmpfs");
        return;
    }
    // 1) Too small to even start: refused before writing, with the numbers.
    let mut w = World::new(16);
    let small = w.dir.path().join("small");
    fs::create_dir(&small).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&small)
        .status();
    if !mounted.is_ok_and(|s| s.success()) {
        eprintln!("skipped: cannot mount tmpfs here");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _u = Unmount(small.clone());
    w.set("BACKUP_METHOD", "copy")
        .set("BACKUP_DIR", &small.display().to_string());
    let out = w.cmd().arg("backup").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not enough free space") && stderr.contains("available"),
        "{stderr}"
    );

    // 2) Fits the estimate but not in reality: incompressible data fills the disk mid-write.
    let mid = w.dir.path().join("mid");
    fs::create_dir(&mid).unwrap();
    assert!(
        std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=40m", "tmpfs"])
            .arg(&mid)
            .status()
            .unwrap()
            .success()
    );
    let _u2 = Unmount(mid.clone());
    let noisy = w.dir.path().join("noisy");
    fs::create_dir(&noisy).unwrap();
    let mut data = vec![0u8; 64 * 1024 * 1024];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    // Keep a valid 1CD header so only the disk is at fault.
    let header = fs::read(w.base.join("1Cv8.1CD")).unwrap();
    data[..24].copy_from_slice(&header[..24]);
    let pages = (data.len() / 8192) as u32;
    data[12..16].copy_from_slice(&pages.to_le_bytes());
    fs::write(noisy.join("1Cv8.1CD"), &data).unwrap();
    w.set("ONEC_BASE_PATH", &noisy.display().to_string())
        .set("BACKUP_DIR", &mid.display().to_string());
    let out = w.cmd().arg("backup").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("space") || stderr.contains("full"),
        "{stderr}"
    );
    let mut leftovers = Vec::new();
    for e in walkdir(&mid) {
        if e.ends_with(".zip") || e.contains(".partial") {
            leftovers.push(e);
        }
    }
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[cfg(target_os = "linux")]
fn walkdir(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walkdir(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[test]
fn retention_prunes_only_our_files_and_shows_reasons() {
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "copy");
    // Old archives of ours (recorded in this base's history), a file that
    // only matches our naming (not recorded: kept), a foreign file and
    // another base's archive.
    for day in ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"] {
        let d = w.backups.join(day);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join(format!("buh_{day}_10-00-00.zip")), b"old").unwrap();
    }
    fs::write(w.backups.join("2020-01-01/notes.txt"), b"mine").unwrap();
    fs::write(
        w.backups.join("2020-01-02/zup_2020-01-02_10-00-00.zip"),
        b"other base",
    )
    .unwrap();
    backup_ok(&w, &[]);
    for day in ["2020-01-01", "2020-01-02", "2020-01-03"] {
        w.record_archive("buh", &format!("{day}/buh_{day}_10-00-00.zip"));
    }
    w.set("BACKUP_KEEP_LAST", "2");
    let text = ok_stdout(w.cmd().args(["prune", "--dry-run"]).output().unwrap());
    assert!(text.contains("last"), "reasons shown: {text}");
    assert!(text.contains("2 archive(s) would be deleted"), "{text}");
    assert!(
        text.contains("buh_2020-01-04_10-00-00.zip  not recorded, kept"),
        "{text}"
    );
    assert_eq!(
        w.archives().iter().filter(|f| f.contains("/buh_")).count(),
        5,
        "dry run deleted something"
    );
    w.cmd().arg("prune").assert().success();
    let left = w.archives();
    let ours: Vec<_> = left.iter().filter(|f| f.contains("/buh_")).collect();
    assert_eq!(ours.len(), 3, "{left:?}");
    assert!(
        left.contains(&"2020-01-03/buh_2020-01-03_10-00-00.zip".to_string())
            && left.contains(&"2020-01-04/buh_2020-01-04_10-00-00.zip".to_string()),
        "the second newest recorded and the unrecorded one are kept: {left:?}"
    );
    assert!(
        left.contains(&"2020-01-01/notes.txt".to_string()),
        "foreign file kept: {left:?}"
    );
    assert!(
        left.contains(&"2020-01-02/zup_2020-01-02_10-00-00.zip".to_string()),
        "{left:?}"
    );
    assert!(
        !w.backups
            .join("2020-01-02/buh_2020-01-02_10-00-00.zip")
            .exists(),
        "{left:?}"
    );
}

/// The review's case: two bases whose folders share a name (`D:\Org1\Buh`,
/// `D:\Org2\Buh`) used to get one prefix, and one base's retention deleted
/// the other's verified archives. Now the configuration is refused naming
/// both; and even with a prefix given by hand that matches another base's
/// archives, retention deletes only what this base's history recorded.
#[test]
fn retention_never_deletes_another_bases_archives() {
    let mut w = World::new(16);
    let other = w.dir.path().join("y").join("buh");
    fs::create_dir_all(&other).unwrap();
    fs::copy(w.base.join("1Cv8.1CD"), other.join("1Cv8.1CD")).unwrap();
    let yaml = format!(
        "bases:\n  - name: a\n    path: {}\n    method: copy\n    keep: {{last: 1}}\n  - name: b\n    path: {}\n    method: copy\n",
        w.base.display(),
        other.display()
    );
    fs::write(w.dir.path().join("config.yaml"), &yaml).unwrap();
    w.envs.retain(|(k, _)| k != "ONEC_BASE_PATH");
    let out = w.cmd().args(["backup", "--all"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("\"a\"") && err.contains("\"b\"") && err.contains("prefix:"),
        "{err}"
    );
    assert!(w.archives().is_empty());

    // Before A was added, B (alone, default prefix `buh_`) made two
    // archives; now B has its own prefix and A uses `buh_` with keep last 1.
    let b_only = format!(
        "bases:\n  - name: b\n    path: {}\n    method: copy\n",
        other.display()
    );
    fs::write(w.dir.path().join("config.yaml"), &b_only).unwrap();
    backup_twice(&w, "b");
    let b_archives = w.archives();
    assert_eq!(b_archives.len(), 2, "{b_archives:?}");
    assert!(b_archives.iter().all(|f| f.contains("/buh_")));
    fs::write(
        w.dir.path().join("config.yaml"),
        format!("{yaml}    prefix: buhb_\n"),
    )
    .unwrap();
    // A file under A's naming that A never made (copied in by hand).
    let stray = w.backups.join("2020-01-01/buh_2020-01-01_10-00-00.zip");
    fs::create_dir_all(stray.parent().unwrap()).unwrap();
    fs::write(&stray, b"made elsewhere").unwrap();
    backup_twice(&w, "a");
    let left = w.archives();
    for f in &b_archives {
        assert!(left.contains(f), "B's archive {f} deleted: {left:?}");
    }
    assert!(stray.exists(), "an unrecorded file was deleted");
    assert_eq!(
        left.iter().filter(|f| f.contains("/buh_20")).count(),
        4,
        "B's two, the stray file and A's newest: {left:?}"
    );
}

#[test]
fn retention_runs_after_a_successful_backup_only() {
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "copy").set("BACKUP_KEEP_LAST", "1");
    for day in ["2020-01-01", "2020-01-02"] {
        let d = w.backups.join(day);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join(format!("buh_{day}_10-00-00.zip")), b"old").unwrap();
        w.record_archive("buh", &format!("{day}/buh_{day}_10-00-00.zip"));
    }
    // A failed backup deletes nothing.
    w.set("BACKUP_METHOD", "dump");
    w.cmd()
        .arg("backup")
        .env("FAKE_1C_MODE", "lock")
        .assert()
        .code(1);
    assert_eq!(w.archives().len(), 2);
    w.set("BACKUP_METHOD", "copy");
    let v = backup_ok(&w, &[]).0;
    assert_eq!(v["pruned"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(w.archives().len(), 1);
    assert!(
        !w.backups.join("2020-01-01").exists(),
        "emptied date folders are removed"
    );
}

#[test]
fn config_check_shows_sources_and_masks_secrets() {
    let w = World::new(1);
    fs::write(
        w.dir.path().join(".env"),
        "BOT_TOKEN=999:SECRET-TOKEN\nALLOWED_USER_IDS=42\n",
    )
    .unwrap();
    fs::write(
        w.dir.path().join("config.yaml"),
        "backup:\n  method: copy\n",
    )
    .unwrap();
    let text = ok_stdout(w.cmd().args(["config", "check"]).output().unwrap());
    assert!(
        !text.contains("SECRET-TOKEN") && !text.contains(PASSWORD),
        "{text}"
    );
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing: {text}"))
            .to_string()
    };
    assert!(line("BOT_TOKEN ").contains("***") && line("BOT_TOKEN ").contains(".env"));
    assert!(line("ONEC_UP ").contains("***") && line("ONEC_UP ").contains("env"));
    assert!(
        line("BACKUP_METHOD ").contains("copy") && line("BACKUP_METHOD ").contains("config.yaml")
    );
    assert!(line("API_PORT ").contains("8080") && line("API_PORT ").contains("default"));
}

#[test]
fn config_errors_are_all_reported_with_exit_2() {
    let w = World::new(1);
    fs::write(w.dir.path().join("config.yaml"), "backup:\n  methd: copy\n").unwrap();
    let out = w
        .cmd()
        .args(["config", "check"])
        .env("API_PORT", "http")
        .env("BACKUP_COMPRESS", "rar")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("3 problems"), "{err}");
    assert!(err.contains("did you mean `method`"), "{err}");
    assert!(
        err.contains("API_PORT") && err.contains("BACKUP_COMPRESS"),
        "{err}"
    );
    // Every command refuses to run on a broken configuration.
    w.cmd()
        .arg("backup")
        .env("API_PORT", "http")
        .assert()
        .code(2);
    // Usage errors too.
    fs::remove_file(w.dir.path().join("config.yaml")).unwrap();
    w.cmd().arg("backup").arg("--bogus").assert().code(2);
    w.cmd()
        .args(["backup", "--base", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("buh"));
}

#[test]
fn missing_base_folder_fails_clearly() {
    let mut w = World::new(1);
    w.set(
        "ONEC_BASE_PATH",
        &w.dir.path().join("nowhere").display().to_string(),
    );
    let out = w.cmd().arg("backup").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere"));
    assert_eq!(w.list_json()[0]["status"], "failed");
}

#[test]
fn copy_refuses_a_base_in_use() {
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "copy");
    fs::write(w.base.join("1Cv8.1CL"), b"").unwrap();
    let out = w.cmd().arg("backup").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1Cv8.1CL"), "{err}");
    assert!(w.archives().is_empty());
}

#[test]
fn demo_runs_without_1c_or_telegram() {
    let w = World::new(1);
    let text = ok_stdout(w.cmd().arg("--demo").output().unwrap());
    assert!(
        text.contains("backup done") && text.contains(".zip"),
        "{text}"
    );
    let archive = text
        .lines()
        .find_map(|l| l.strip_prefix("  onec-backup-bot verify "))
        .unwrap();
    w.cmd().arg("verify").arg(archive.trim()).assert().success();
    let root = text
        .lines()
        .find_map(|l| l.strip_prefix("  remove the demo with: rm -r "))
        .unwrap();
    fs::remove_dir_all(root.trim()).unwrap();
}
