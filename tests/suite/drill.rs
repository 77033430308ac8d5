//! Restore drills end to end with the real binary: a copy archive and
//! Designer and ibcmd dump archives that pass (each dump loaded into a
//! scratch base by the fake 1C, or only checked where 1C is absent), an
//! archive with flipped bytes that fails loudly (recorded, exit 1, the
//! success metric not advanced), a drill skipped for lack of space, the
//! scratch folder gone in every case (a crash's leftover too), and the
//! agent's scheduled drill with its metrics and `/api/health`.

use crate::util::proc::wait_for;
use crate::util::{PASSWORD, World, contains, ok_stdout};
use onec_backup_bot::backup::lock::file_stem_for;
use onec_backup_bot::platform::path_key;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `drill --json` and its arguments: exit code, JSON and stderr.
fn drill(w: &World, extra: &[&str], env: &[(&str, &str)]) -> (i32, serde_json::Value, String) {
    w.json(&[&["drill", "--json"], extra].concat(), env)
}

/// One backup that must succeed; returns the archive's path.
fn backup(w: &World) -> PathBuf {
    let out = w.cmd().args(["backup", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok_stdout(out)).unwrap();
    PathBuf::from(v["archive"].as_str().unwrap())
}

/// The default drill folder of the world.
fn drill_dir(w: &World) -> PathBuf {
    w.backups.join("drill")
}

/// Everything left in the drill folder.
fn leftovers(w: &World) -> Vec<String> {
    fs::read_dir(drill_dir(w))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The recorded drills: (status, reason), oldest first.
fn recorded(w: &World) -> Vec<(String, Option<String>)> {
    let c = rusqlite::Connection::open(w.backups.join("app.sqlite3")).unwrap();
    let mut s = c
        .prepare("SELECT status, reason FROM drills ORDER BY id")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Flip bytes in the middle of `path`.
fn damage(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5a;
    }
    fs::write(path, bytes).unwrap();
}

#[test]
fn a_copy_archive_passes_and_no_scratch_folder_is_left() {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    let archive = backup(&w);
    // A crashed drill's scratch folder, with something in it.
    let stem = file_stem_for("buh", &path_key(&w.base));
    let leftover = drill_dir(&w).join(format!("{stem}.restore"));
    fs::create_dir_all(leftover.join("sub")).unwrap();
    fs::write(leftover.join("sub/1Cv8.1CD"), b"half a base").unwrap();

    let (code, v, stderr) = drill(&w, &[], &[]);
    assert_eq!(code, 0, "{v}\n{stderr}");
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["base"], "buh");
    assert_eq!(v["trigger"], "cli");
    assert_eq!(v["archive_path"].as_str().map(PathBuf::from), Some(archive));
    assert!(v["bytes"].as_u64().unwrap() > 0, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("copy restored"),
        "{v}"
    );
    assert!(leftovers(&w).is_empty(), "{:?}", leftovers(&w));
    assert_eq!(recorded(&w), vec![("ok".to_string(), None)]);

    // The human form says so too.
    let out = w.cmd().arg("drill").output().unwrap();
    let text = ok_stdout(out);
    assert!(text.starts_with("restore drill of buh: OK in "), "{text}");
    assert!(leftovers(&w).is_empty());
}

/// The fake 1C records its calls in `args.txt` of the world.
fn record_1c_calls(w: &World) -> PathBuf {
    let args = w.dir.path().join("args.txt");
    fs::write(
        w.bin.join("fake-1c.env"),
        format!("FAKE_1C_ARGS_FILE={}\n", args.display()),
    )
    .unwrap();
    args
}

#[rstest::rstest]
#[case::designer("dump", &["CREATEINFOBASE", "/RestoreIB"], "by 1cv8")]
#[case::ibcmd("ibcmd", &["infobase", "restore", "--create-database"], "by ibcmd")]
fn a_dump_archive_is_loaded_into_a_scratch_base(
    #[case] method: &str,
    #[case] calls_hold: &[&str],
    #[case] by: &str,
) {
    let mut w = World::new(32);
    w.set("BACKUP_METHOD", method);
    let args = record_1c_calls(&w);
    let archive = backup(&w);
    assert!(archive.to_string_lossy().ends_with(".zip"));
    fs::remove_file(&args).unwrap();

    let (code, v, stderr) = drill(&w, &[], &[]);
    assert_eq!(code, 0, "{v}\n{stderr}");
    assert_eq!(v["status"], "ok", "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("dump loaded into a scratch base {by}")),
        "{detail}"
    );
    assert!(detail.contains(".dt: dt complete"), "{detail}");
    let calls = fs::read_to_string(&args).unwrap();
    for part in calls_hold {
        assert!(calls.contains(part), "{part} in {calls}");
    }
    // The scratch base lived under the drill folder, and is gone.
    assert!(
        calls.contains(&drill_dir(&w).display().to_string()),
        "{calls}"
    );
    assert!(leftovers(&w).is_empty(), "{:?}", leftovers(&w));
    // A new scratch base has no users: the base's password is not given.
    assert!(!calls.contains(PASSWORD), "{calls}");
    assert!(!contains(&w.history_bytes(), PASSWORD));
}

/// A dump 1C refuses to load fails the drill; 1C's log outlives the
/// scratch folder.
#[test]
fn a_dump_1c_cannot_load_fails_and_its_log_is_kept() {
    let w = World::new(16);
    backup(&w);
    let (code, v, stderr) = drill(&w, &[], &[("FAKE_1C_MODE", "dumpresult1")]);
    assert_eq!(code, 1, "{v}\n{stderr}");
    assert_eq!(v["status"], "failed", "{v}");
    let reason = v["reason"].as_str().unwrap();
    let kept = reason
        .split_once("1C's log is kept as ")
        .map(|(_, p)| PathBuf::from(p.trim_end_matches(')')))
        .unwrap_or_else(|| panic!("{reason}"));
    assert!(kept.is_file(), "{reason}");
    assert_eq!(kept.parent(), Some(drill_dir(&w).as_path()));
    assert!(
        leftovers(&w).iter().all(|f| !f.ends_with(".restore")),
        "{:?}",
        leftovers(&w)
    );
}

#[test]
fn a_designer_dump_archive_is_checked_where_1c_is_not_installed() {
    let mut w = World::new(32);
    let archive = backup(&w);
    assert!(archive.to_string_lossy().ends_with(".zip"));
    // No 1C on this machine (any more): the .dt is extracted and checked.
    let none = w.dir.path().join("no-1c");
    w.set("ONEC_EXE", &none.join("1cv8").display().to_string())
        .set("IBCMD_EXE", &none.join("ibcmd").display().to_string());
    let (code, v, stderr) = drill(&w, &[], &[]);
    assert_eq!(code, 0, "{v}\n{stderr}");
    assert_eq!(v["status"], "ok", "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("not loaded (1C is not installed)"),
        "{detail}"
    );
    assert!(detail.contains(".dt: dt complete"), "{detail}");
    assert!(leftovers(&w).is_empty(), "{:?}", leftovers(&w));
}

#[test]
fn a_damaged_archive_fails_loudly_and_the_success_metric_stays() {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    let archive = backup(&w);
    let (code, good, _) = drill(&w, &[], &[]);
    assert_eq!(code, 0, "{good}");
    damage(&archive);

    let (code, v, stderr) = drill(&w, &[], &[]);
    assert_eq!(code, 1, "{v}\n{stderr}");
    assert_eq!(v["status"], "failed", "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("the archive {} is damaged", archive.display())),
        "{reason}"
    );
    assert!(leftovers(&w).is_empty(), "{:?}", leftovers(&w));
    let out = w.cmd().arg("drill").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("restore drill of buh: FAILED"), "{text}");
    assert_eq!(recorded(&w).len(), 3);

    // The agent exports the last success (the good drill's), the failure
    // and its duration, and is degraded.
    let agent = w.agent(&[]);
    let m = agent.metrics();
    let good_end: jiff::Timestamp = good["finished"].as_str().unwrap().parse().unwrap();
    let line = m
        .lines()
        .find(|l| l.starts_with("onec_restore_drill_last_success_timestamp_seconds{base=\"buh\"}"))
        .unwrap_or_else(|| panic!("no drill success metric in\n{m}"));
    let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        (value - good_end.as_millisecond() as f64 / 1000.0).abs() < 0.01,
        "{line} vs {good_end}"
    );
    assert!(
        m.contains("onec_restore_drill_last_ok{base=\"buh\"} 0\n"),
        "{m}"
    );
    assert!(
        m.contains("onec_restore_drill_duration_seconds{base=\"buh\"} "),
        "{m}"
    );
    // No drill schedule: never stale.
    assert!(
        m.contains("onec_restore_drill_stale{base=\"buh\"} 0\n"),
        "{m}"
    );
    let health = agent.health();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["checks"]["drills"]["buh"]["ok"], false, "{health}");
    assert_eq!(
        health["checks"]["drills"]["buh"]["last_status"], "failed",
        "{health}"
    );
}

#[test]
fn a_drill_without_space_is_skipped_and_recorded() {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    backup(&w);
    let (code, v, stderr) = drill(&w, &[], &[("ONEC_TEST_DRILL_FREE_BYTES", "4096")]);
    assert_eq!(code, 1, "{v}\n{stderr}");
    assert_eq!(v["status"], "skipped", "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("not enough free space") && reason.contains("BACKUP_DRILL_DIR"),
        "{reason}"
    );
    assert!(leftovers(&w).is_empty(), "{:?}", leftovers(&w));
    assert_eq!(recorded(&w)[0].0, "skipped");
    // With no archive at all there is nothing to prove either.
    let mut empty = World::new(8);
    empty.set("BACKUP_METHOD", "copy");
    let (code, v, _) = drill(&empty, &[], &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["status"], "skipped");
    assert!(
        v["reason"].as_str().unwrap().contains("nothing to drill"),
        "{v}"
    );
    // An unknown base is a usage error.
    let out = w.cmd().args(["drill", "--base", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A console drill never waits for, nor runs beside, a backup of its base.
#[test]
fn a_drill_while_a_backup_runs_is_skipped() {
    let w = World::new(16);
    // The lock is looked at first: no archive is needed to be skipped.
    let mut running = w.slow_backup_holding_the_lock();
    let (code, v, stderr) = drill(&w, &[], &[]);
    assert_eq!(code, 1, "{v}\n{stderr}");
    assert_eq!(v["status"], "skipped", "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("a backup of buh is running (pid="),
        "{reason}"
    );
    assert!(running.0.wait().unwrap().success());
    assert!(leftovers(&w).is_empty(), "{:?}", leftovers(&w));
}

#[test]
fn the_agent_runs_a_missed_scheduled_drill_at_start() {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    backup(&w);
    // A drill due a minute ago is caught up at start.
    let cron = crate::util::daily_cron_at(jiff::SignedDuration::from_mins(-1));
    let agent = w.agent(&[("BACKUP_DRILL_SCHEDULE", &cron)]);
    wait_for("the scheduled drill", Duration::from_secs(30), || {
        agent
            .metrics()
            .contains("onec_restore_drill_last_success_timestamp_seconds{base=\"buh\"}")
    });
    let m = agent.metrics();
    assert!(
        m.contains("onec_restore_drill_last_ok{base=\"buh\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("onec_restore_drill_stale{base=\"buh\"} 0\n"),
        "{m}"
    );
    let health = agent.health();
    let d = &health["checks"]["drills"]["buh"];
    assert_eq!(d["ok"], true, "{health}");
    assert_eq!(d["scheduled"], true, "{health}");
    assert_eq!(d["stale"], false, "{health}");
    let c = rusqlite::Connection::open(w.backups.join("app.sqlite3")).unwrap();
    let trigger: String = c
        .query_row("SELECT \"trigger\" FROM drills", [], |r| r.get(0))
        .unwrap();
    assert_eq!(trigger, "schedule");
    assert!(leftovers(&w).is_empty(), "{:?}", leftovers(&w));
}

/// The bot tells the notify chats once that a base's drills are overdue,
/// and loudly when a drill (from the console or `/drill`) finds the
/// archive damaged.
#[test]
fn telegram_hears_overdue_drills_and_a_damaged_archive() {
    use crate::util::fake_telegram::{FakeTelegram, check_html};
    const ADMIN: i64 = 111;
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    let archive = backup(&w);
    let (code, v, _) = drill(&w, &[], &[]);
    assert_eq!(code, 0, "{v}");
    // That good drill was three days ago.
    w.backdate("UPDATE drills SET started = ?1, finished = ?1", 72);
    damage(&archive);
    let tg = FakeTelegram::start();
    // Daily drills half a day from now: none is caught up at start.
    let cron = crate::util::daily_cron_at(jiff::SignedDuration::from_hours(12));
    let agent = tg.agent(
        &w,
        "123:TESTSECRETTOKENxyz",
        ADMIN,
        &[
            ("BOT_LANGUAGE", "en"),
            ("BACKUP_DRILL_SCHEDULE", cron.as_str()),
            ("BACKUP_DRILL_MAX_AGE_DAYS", "1"),
        ],
    );
    let overdue = tg.wait_message(
        ADMIN,
        "no successful restore drill for",
        Duration::from_secs(30),
    );
    check_html(&overdue.text()).unwrap();
    assert!(
        overdue.text().contains("threshold 1 days"),
        "{}",
        overdue.text()
    );
    let m = agent.metrics();
    assert!(
        m.contains("onec_restore_drill_stale{base=\"buh\"} 1\n"),
        "{m}"
    );

    let (code, v, _) = drill(&w, &[], &[]);
    assert_eq!(code, 1, "{v}");
    let failed = tg.wait_message(
        ADMIN,
        "Restore drill of buh FAILED",
        Duration::from_secs(30),
    );
    check_html(&failed.text()).unwrap();
    assert!(
        failed
            .text()
            .contains(&format!("the archive {} is damaged", archive.display())),
        "{}",
        failed.text()
    );
    // `/drill` from the chat: started at once, the result as a notice.
    tg.send_text(ADMIN, "/drill buh");
    tg.wait_message(
        ADMIN,
        "Restore drill of <b>buh</b> started",
        Duration::from_secs(30),
    );
    tg.wait_for(Duration::from_secs(30), "a second failure notice", |_| {
        tg.calls_of("sendMessage")
            .iter()
            .filter(|c| c.text().contains("Restore drill of buh FAILED"))
            .count()
            == 2
    });
    let c = rusqlite::Connection::open(w.backups.join("app.sqlite3")).unwrap();
    let trigger: String = c
        .query_row(
            "SELECT \"trigger\" FROM drills ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(trigger, "telegram");
    assert_eq!(
        tg.calls_of("sendMessage")
            .iter()
            .filter(|c| c.text().contains("no successful restore drill"))
            .count(),
        1,
        "the overdue notice is sent once"
    );
    assert!(leftovers(&w).is_empty(), "{:?}", leftovers(&w));
}

/// An encrypted archive (a `.tar.zst.age` of a copy) is drilled with the
/// settings' password; after a password change it still is, with the old
/// one in BACKUP_ARCHIVE_OLD_PASSWORDS; without it the drill fails, saying
/// the archive cannot be opened, not that it is damaged. The password is
/// never in the answer or the history.
#[test]
fn an_encrypted_archive_is_drilled_with_the_settings_passwords() {
    const PW: &str = "drill-Пароль 1";
    let mut w = World::new(32);
    w.set("BACKUP_METHOD", "copy")
        .set("BACKUP_COMPRESS", "zstd")
        .set("BACKUP_ARCHIVE_PASSWORD", PW);
    let archive = backup(&w);
    assert!(
        archive.to_string_lossy().ends_with(".tar.zst.age"),
        "{archive:?}"
    );

    let (code, v, stderr) = drill(&w, &[], &[]);
    assert_eq!(code, 0, "{v}\n{stderr}");
    assert_eq!(v["status"], "ok", "{v}");

    let changed = [
        ("BACKUP_ARCHIVE_PASSWORD", "a new one"),
        ("BACKUP_ARCHIVE_OLD_PASSWORDS", PW),
    ];
    let (code, v, stderr) = drill(&w, &[], &changed);
    assert_eq!(code, 0, "{v}\n{stderr}");

    let lost = [("BACKUP_ARCHIVE_PASSWORD", "a new one")];
    let (code, v, stderr) = drill(&w, &[], &lost);
    assert_eq!(code, 1, "{v}\n{stderr}");
    assert_eq!(v["status"], "failed", "{v}");
    let reason = v["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("wrong password"), "{v}");
    assert!(!reason.contains("damaged"), "{v}");
    assert!(leftovers(&w).is_empty(), "{:?}", leftovers(&w));
    for text in [v.to_string(), stderr] {
        assert!(!text.contains(PW), "the password leaked: {text}");
    }
    assert!(!contains(&w.history_bytes(), PW), "password in the history");
}
