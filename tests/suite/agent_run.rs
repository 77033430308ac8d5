//! The always-on agent end to end (`onec-backup-bot run`): schedules fire,
//! quiet hours skip, a missed run catches up once (only when not too
//! late), SIGTERM lets a short backup finish and interrupts a long one
//! safely, two agents never back up one base at once, the log file is
//! written; plus `schedule` and `service install --print`.

#![cfg(unix)]

use crate::util::proc::{gone, pid_in, wait_for};
use crate::util::{World, daily_cron_at, ok_stdout};
use std::fs;
use std::time::Duration;

#[test]
fn a_schedule_fires_and_sigterm_stops_cleanly() {
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "copy");
    let mut agent = w.agent(&[("BACKUP_SCHEDULE", "*/2 * * * * *")]);
    wait_for("two scheduled runs", Duration::from_secs(20), || {
        w.runs()
            .iter()
            .filter(|r| r["trigger"] == "schedule")
            .count()
            >= 2
    });
    assert_eq!(agent.stop(Duration::from_secs(20)), 0);
    let all = w.runs();
    let scheduled: Vec<&serde_json::Value> =
        all.iter().filter(|r| r["trigger"] == "schedule").collect();
    // The first run backs up; the base did not change, so later ones skip.
    assert_eq!(scheduled.last().unwrap()["status"], "ok", "{all:?}");
    assert!(
        scheduled
            .iter()
            .all(|r| r["status"] == "ok" || r["status"] == "skipped"),
        "{all:?}"
    );
    let log = fs::read_to_string(w.backups.join("backup.log")).unwrap();
    assert!(log.contains("start-up recovery"), "{log}");
    assert!(log.contains("scheduled backup started"), "{log}");
    // The line the prototype's docs tell admins to look for.
    assert!(
        log.contains("Metrics worker started (interval: 60s)"),
        "{log}"
    );
    assert!(!log.contains(crate::util::PASSWORD));
}

#[test]
fn quiet_hours_skip_scheduled_runs() {
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "copy");
    let mut agent = w.agent(&[
        ("BACKUP_SCHEDULE", "* * * * * *"),
        ("BACKUP_QUIET_HOURS", "00:00-23:59"),
    ]);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(agent.stop(Duration::from_secs(20)), 0);
    assert!(w.runs().is_empty(), "{:?}", w.runs());
}

#[test]
fn sigterm_lets_a_short_backup_finish() {
    let w = World::new(16);
    let mut agent = w.agent(&[
        ("BACKUP_SCHEDULE", "* * * * * *"),
        ("FAKE_1C_MODE", "slow"),
        ("FAKE_1C_SLEEP_MS", "1500"),
        ("SHUTDOWN_GRACE_SECS", "20"),
    ]);
    wait_for("a running backup", Duration::from_secs(20), || {
        w.runs().iter().any(|r| r["status"] == "running")
    });
    assert_eq!(agent.stop(Duration::from_secs(30)), 0);
    let all = w.runs();
    assert_eq!(
        all.iter().filter(|r| r["status"] == "ok").count(),
        1,
        "{all:?}"
    );
    assert!(
        all.iter()
            .all(|r| r["status"] != "running" && r["status"] != "interrupted"),
        "{all:?}"
    );
}

#[test]
fn sigterm_interrupts_a_long_backup_safely() {
    let w = World::new(16);
    let pid_file = w.dir.path().join("child.pid");
    let mut agent = w.agent(&[
        ("BACKUP_SCHEDULE", "* * * * * *"),
        ("FAKE_1C_MODE", "hang"),
        ("FAKE_1C_CHILD_PID_FILE", pid_file.to_str().unwrap()),
        ("SHUTDOWN_GRACE_SECS", "1"),
    ]);
    wait_for("1C to start", Duration::from_secs(20), || pid_file.exists());
    assert_eq!(agent.stop(Duration::from_secs(30)), 0);
    let all = w.runs();
    assert_eq!(all[0]["status"], "interrupted", "{all:?}");
    assert!(
        w.backup_files()
            .iter()
            .all(|f| !f.contains(".partial") && !f.ends_with(".zip")),
        "{:?}",
        w.backup_files()
    );
    assert!(gone(pid_in(&pid_file)), "1C's child survived the stop");
}

#[test]
fn two_agents_never_back_up_one_base_at_once() {
    let w = World::new(16);
    let extra = [
        ("BACKUP_SCHEDULE", "*/2 * * * * *"),
        ("FAKE_1C_MODE", "slow"),
        ("FAKE_1C_SLEEP_MS", "2500"),
    ];
    let mut a = w.agent(&extra);
    let mut b = w.agent(&extra);
    wait_for("a skipped run", Duration::from_secs(30), || {
        w.runs().iter().any(|r| {
            r["status"] == "skipped"
                && r["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("already running"))
        })
    });
    a.sigterm();
    b.sigterm();
    assert_eq!(a.wait_exit(Duration::from_secs(30)), 0);
    assert_eq!(b.wait_exit(Duration::from_secs(30)), 0);
    // No two runs that did real work overlap in time.
    let all = w.runs();
    let worked: Vec<(jiff::Timestamp, jiff::Timestamp)> = all
        .iter()
        .filter(|r| r["status"] == "ok" || r["status"] == "interrupted" || r["status"] == "failed")
        .filter_map(|r| {
            let s = r["started"].as_str()?.parse().ok()?;
            let f = r["finished"]
                .as_str()
                .and_then(|f| f.parse().ok())
                .unwrap_or(jiff::Timestamp::MAX);
            Some((s, f))
        })
        .collect();
    for (i, x) in worked.iter().enumerate() {
        for y in &worked[i + 1..] {
            assert!(x.1 <= y.0 || y.1 <= x.0, "overlapping runs: {all:?}");
        }
    }
}

#[test]
fn schedule_command_lists_next_runs_in_words() {
    let w = World::new(1);
    let text = ok_stdout(
        w.cmd()
            .arg("schedule")
            .env("BACKUP_SCHEDULE", "5 13,18 * * *")
            .output()
            .unwrap(),
    );
    assert!(text.contains("каждый день в 13:05 и 18:05"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.contains(":05:00")).count(),
        5,
        "{text}"
    );
    let out = w.cmd().arg("schedule").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("manual backups only"));
    w.cmd()
        .arg("schedule")
        .env("BACKUP_SCHEDULE", "5 25 * * *")
        .assert()
        .code(2);
}

#[test]
fn service_install_prints_a_hardened_unit_and_validates_arguments() {
    let w = World::new(1);
    let text = ok_stdout(
        w.cmd()
            .args(["service", "install", "--print", "--user", "onec"])
            .output()
            .unwrap(),
    );
    for needle in [
        "ExecStart=".to_string(),
        " run".into(),
        "Restart=on-failure".into(),
        "User=onec".into(),
        format!("ReadWritePaths={}", w.backups.display()),
        format!("ReadWritePaths={}", w.base.display()),
        format!("WorkingDirectory={}", w.dir.path().display()),
    ] {
        assert!(text.contains(&needle), "{needle} missing: {text}");
    }
    // --password needs --user; a bad name is refused with exit 2.
    w.cmd()
        .args(["service", "install", "--print", "--password", "x"])
        .assert()
        .code(2);
    w.cmd()
        .args(["service", "install", "--print", "--name", "bad/name"])
        .assert()
        .code(2);
}

#[test]
fn a_missed_run_catches_up_once_only_when_less_than_catch_up_hours_late() {
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "copy");
    // One good backup, moved 30 hours into the past.
    w.cmd().arg("backup").assert().success();
    w.backdate_runs(30);
    let scheduled = |w: &World| {
        w.runs()
            .iter()
            .filter(|r| r["trigger"] == "schedule")
            .count()
    };

    // Missed 7 hours ago: later than BACKUP_CATCH_UP_HOURS (6), no run.
    let cron = daily_cron_at(jiff::SignedDuration::from_hours(-7));
    let mut agent = w.agent(&[("BACKUP_SCHEDULE", &cron)]);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(agent.stop(Duration::from_secs(20)), 0);
    assert_eq!(scheduled(&w), 0, "{:?}", w.runs());

    // Missed 1 hour ago: one run at start, not one per missed day.
    let cron = daily_cron_at(jiff::SignedDuration::from_hours(-1));
    let mut agent = w.agent(&[("BACKUP_SCHEDULE", &cron)]);
    wait_for("the catch-up run", Duration::from_secs(20), || {
        scheduled(&w) >= 1
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(agent.stop(Duration::from_secs(20)), 0);
    assert_eq!(scheduled(&w), 1, "{:?}", w.runs());
    let log = fs::read_to_string(w.backups.join("backup.log")).unwrap();
    assert!(
        log.contains("catching up the scheduled run missed at"),
        "{log}"
    );

    // A third start finds the catch-up run: nothing is missed any more.
    let mut agent = w.agent(&[("BACKUP_SCHEDULE", &cron)]);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(agent.stop(Duration::from_secs(20)), 0);
    assert_eq!(scheduled(&w), 1, "{:?}", w.runs());
}

/// A console backup killed with -9 while the agent runs leaves its row
/// `running`; the agent sees the base's lock free and marks it
/// `interrupted` within a few seconds (PID 1, alive, is recorded: a PID
/// never decides), so the feed's cursor does not stay behind it.
#[test]
fn a_run_abandoned_while_the_agent_runs_is_marked_interrupted() {
    let w = World::new(16);
    let mut agent = w.agent(&[]);
    w.record_abandoned_run("2026-01-01T00:00:00.000Z", "dump", 1);
    wait_for(
        "the abandoned row to be marked interrupted",
        Duration::from_secs(20),
        || {
            // Read directly: `list` would run recovery itself.
            let status: String = rusqlite::Connection::open(w.backups.join("app.sqlite3"))
                .unwrap()
                .query_row("SELECT status FROM runs WHERE pid = 1", [], |r| r.get(0))
                .unwrap();
            status == "interrupted"
        },
    );
    assert_eq!(agent.stop(Duration::from_secs(20)), 0);
}

/// A stop request that comes while the agent is still starting (recovery
/// done, the API not yet answering) is a clean stop, not a kill: the
/// signal handlers are in place before anything else starts.
#[cfg(unix)]
#[test]
fn sigterm_during_start_up_stops_cleanly() {
    let w = World::new(16);
    let mut agent = w.start_agent(&[]);
    wait_for(
        "the agent to log its start-up recovery",
        Duration::from_secs(20),
        || agent.stderr().contains("start-up recovery"),
    );
    agent.sigterm();
    assert_eq!(
        agent.wait_exit(Duration::from_secs(20)),
        0,
        "{}",
        agent.stderr()
    );
}
