//! Users inside a base, seen by the agent: warnings before a scheduled
//! backup (`BACKUP_USERS_WARN_MINUTES`, time-compressed with the debug-only
//! `ONEC_TEST_USERS_WARN_MINUTE_SECS` so a "minute" lasts seconds, and a
//! six-field schedule firing a few seconds ahead) reach the fake Telegram
//! at the right moments listing the stand-in's user, and none for a base
//! nobody is inside; `/users` answers an allowed user with the stand-in and
//! refuses a stranger; the metrics count the base's clients and the runs
//! users blocked (the fake 1C's `FAKE_1C_BUSY_FILE`). The stand-in 1C
//! client is the fake 1C linked as `1cv8c`, which in `ENTERPRISE` mode
//! stays open like a user's session.
#![cfg(target_os = "linux")]

use crate::util::fake_telegram::FakeTelegram;
use crate::util::proc::{self, Proc, wait_for};
use crate::util::{Agent, World, whoami};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TOKEN: &str = "123:TESTSECRETTOKENwarn";
const ADMIN: i64 = 111;
const STRANGER: i64 = 222;
const T: Duration = Duration::from_secs(30);
/// A warning "minute", in seconds.
const MINUTE: i64 = 3;

/// A stand-in user session inside the base folder `base`, killed when
/// dropped.
fn session_in(w: &World, base: &Path) -> Proc {
    proc::spawn(&mut proc::quiet(
        &w.onec_client("1cv8c"),
        &["ENTERPRISE", &format!("/F{}", base.display()), "/NИванов"],
        &[],
    ))
}

/// A second base `zup` beside the world's `buh`, in `config.yaml`.
fn add_zup(w: &World) -> PathBuf {
    let zup = w.dir.path().join("zup");
    fs::create_dir_all(&zup).unwrap();
    onec_backup_bot::onec::generate::generate_1cd(
        &zup.join("1Cv8.1CD"),
        onec_backup_bot::onec::generate::CdFormat::V8_3_8,
        4,
        1,
    )
    .unwrap();
    fs::write(
        w.dir.path().join("config.yaml"),
        format!(
            "bases:\n  - name: zup\n    path: \"{}\"\n    prefix: zup_\n",
            zup.display()
        ),
    )
    .unwrap();
    zup
}

/// The agent with the bot on, talking to `tg`, only [`ADMIN`] allowed,
/// ready for updates.
fn agent_with_bot(w: &World, tg: &FakeTelegram, extra: &[(&str, &str)]) -> Agent {
    let agent = tg.agent(w, TOKEN, ADMIN, extra);
    tg.wait_for(T, "the bot to poll", |c| c.method == "getUpdates");
    agent
}

/// Warnings at 3 and 1 "minutes" (of 3 s) before a run 30 s ahead: the
/// admin gets both for `buh`, whose stand-in session is inside, listing
/// the user and pid; none for `zup`, where nobody is; the run itself
/// starts at its scheduled second (the warnings do not move it).
#[test]
fn warnings_reach_the_admins_at_the_right_moments_only_for_a_base_with_users_inside() {
    let mut w = World::new(4);
    add_zup(&w);
    w.set("APP_TIMEZONE", "UTC");
    let session = session_in(&w, &w.base.clone());
    let pid = session.0.id();
    // The run: a whole second 30 s from now, as a six-field cron in UTC.
    let run = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + 30).unwrap();
    let at = run.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let cron = format!("{} {} {} * * *", at.second(), at.minute(), at.hour());
    let tg = FakeTelegram::start();
    let (t0, i0) = (jiff::Timestamp::now(), Instant::now());
    let mut agent = agent_with_bot(
        &w,
        &tg,
        &[
            ("BACKUP_SCHEDULE", &cron),
            ("BACKUP_USERS_WARN_MINUTES", "3"),
            ("ONEC_TEST_USERS_WARN_MINUTE_SECS", &MINUTE.to_string()),
        ],
    );
    // When a call arrived, on the wall clock.
    let when =
        |c: &crate::util::fake_telegram::Call| t0.checked_add(c.at.duration_since(i0)).unwrap();
    let first = tg.wait_message(ADMIN, "Через 3 минуты", T);
    let last = tg.wait_message(ADMIN, "Через 1 минуту", T);
    let secs_before = |c| run.duration_since(when(c)).as_secs_f64();
    let (b1, b2) = (secs_before(&first), secs_before(&last));
    eprintln!("warnings told {b1:.2} s and {b2:.2} s before the run (due 9 and 3)");
    // Due 9 s and 3 s before the run; late by at most a loaded second or two.
    assert!(
        (6.5..=9.2).contains(&b1),
        "first warning {b1:.2} s before the run"
    );
    assert!(
        (0.5..=3.2).contains(&b2),
        "last warning {b2:.2} s before the run"
    );
    for m in [&first, &last] {
        let text = m.text();
        assert!(text.contains("<b>buh</b>"), "{text}");
        assert!(
            text.contains(&format!("<b>{}</b> (pid {pid}", whoami())),
            "{text}"
        );
    }
    // The scheduled run of both bases, at its second.
    wait_for("both scheduled runs", T, || {
        w.runs()
            .iter()
            .filter(|r| r["trigger"] == "schedule")
            .count()
            >= 2
    });
    for r in w.runs() {
        let started: jiff::Timestamp = r["started"].as_str().unwrap().parse().unwrap();
        let late = started.duration_since(run).as_secs_f64();
        assert!(
            (0.0..2.0).contains(&late),
            "started {late:.2} s after {run}: {r}"
        );
    }
    std::thread::sleep(Duration::from_secs(1));
    let warned: Vec<String> = tg
        .calls_of("sendMessage")
        .iter()
        .map(|c| c.text())
        .filter(|t| t.starts_with("⏰"))
        .collect();
    assert_eq!(warned.len(), 2, "two warnings, none for zup: {warned:?}");
    assert!(warned.iter().all(|t| !t.contains("zup")), "{warned:?}");
    let log = agent.stderr();
    assert!(log.contains("users inside warned"), "{log}");
    assert!(
        log.contains("no session messages"),
        "said once on Linux: {log}"
    );
    agent.kill();
    drop(session);
}

/// `/users` lists the stand-in under its base for the admin and tells a
/// stranger nothing; `onec_1c_clients_per_base` counts it; a dump the busy
/// base refuses raises `onec_backup_blocked_by_users_total`, another
/// failure does not.
#[test]
fn users_command_and_metrics_show_who_is_inside_and_the_blocked_runs() {
    let mut w = World::new(4);
    let zup = add_zup(&w);
    let busy = w.dir.path().join("busy");
    w.set("APP_TIMEZONE", "UTC")
        .set("FAKE_1C_BUSY_FILE", &busy.display().to_string());
    let session = session_in(&w, &w.base.clone());
    let pid = session.0.id();
    let tg = FakeTelegram::start();
    let mut agent = agent_with_bot(&w, &tg, &[]);

    tg.send_text(ADMIN, "/users");
    let reply = tg.wait_message(ADMIN, "Кто в базах 1С", T);
    let text = reply.text();
    assert!(text.contains("<b>buh</b>: 1"), "{text}");
    assert!(
        text.contains(&format!("<b>{}</b> (pid {pid}", whoami())),
        "{text}"
    );
    assert!(text.contains("<b>zup</b>: никого"), "{text}");
    tg.send_text(STRANGER, "/users");
    tg.wait_message(STRANGER, "Доступ запрещён", T);
    std::thread::sleep(Duration::from_secs(1));
    let to_stranger: Vec<String> = tg
        .messages_to(&[STRANGER])
        .iter()
        .map(|c| c.text())
        .collect();
    assert_eq!(to_stranger.len(), 1, "{to_stranger:?}");
    assert!(!to_stranger[0].contains("Иван") && !to_stranger[0].contains(&pid.to_string()));
    // `/sessions` counts the 1C clients per user and session.
    tg.send_text(ADMIN, "/sessions");
    let onec = tg.wait_message(ADMIN, "Клиенты 1С", T).text();
    assert!(onec.contains(&format!("{}: 1С × ", whoami())), "{onec}");

    let mut metrics = String::new();
    wait_for("the per-base client gauge", T, || {
        metrics = agent.metrics();
        metrics.contains("onec_1c_clients_per_base{base=\"buh\"} 1\n")
    });
    assert!(
        metrics.contains("onec_1c_clients_per_base{base=\"zup\"} 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("onec_backup_blocked_by_users_total{base=\"buh\"} 0\n"),
        "{metrics}"
    );

    // Users inside: 1C refuses the dump; the counter of buh rises.
    fs::write(&busy, "busy\n").unwrap();
    let out = w.cmd().args(["backup", "--base", "buh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // Another failure (a wrong password) is not counted.
    fs::write(&busy, "").unwrap();
    let out = w
        .cmd()
        .args(["backup", "--base", "zup"])
        .env("FAKE_1C_MODE", "badcreds")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    wait_for("the blocked counter to rise", T, || {
        metrics = agent.metrics();
        metrics.contains("onec_backup_blocked_by_users_total{base=\"buh\"} 1\n")
    });
    assert!(
        metrics.contains("onec_backup_blocked_by_users_total{base=\"zup\"} 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("onec_backup_runs_total{base=\"zup\",status=\"failed\"} 1\n"),
        "the other failure is recorded: {metrics}"
    );
    let _ = zup;
    agent.kill();
    drop(session);
}
