//! The users-inside policies that act on the users, end to end with the
//! real binary and the fake 1C: `lock` (the session lock with the lock
//! code around the dump, always lifted; the lock state left by a killed
//! run lifted at start), `close` (only this base's 1C clients ended, only
//! after the grace), and the Telegram buttons under a failure caused by
//! users inside («Повторить», «Закрыть сеансы и повторить»; strangers
//! refused). Stand-in clients are the fake 1C linked as `1cv8c` in
//! `ENTERPRISE` mode, registered in the fake's busy file.
#![cfg(target_os = "linux")]

use crate::util::fake_telegram::FakeTelegram;
use crate::util::proc::wait_for;
use crate::util::{Agent, World, contains, whoami};
use onec_backup_bot::onec::generate::{CdFormat, generate_1cd};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CODE: &str = "Lk7-c0de-SECRET";
const END: &str = "/CЗавершитьРаботуПользователей";
const ALLOW: &str = "/CРазрешитьРаботуПользователей";

/// A background process reaped by its own thread (so a process the agent
/// kills does not linger as a zombie the fake would count), killed when
/// dropped; `died` is when it ended.
struct Reaped {
    pid: u32,
    died: Arc<Mutex<Option<Instant>>>,
}

impl Reaped {
    fn start(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Reaped {
        let mut child = crate::util::proc::quiet(exe, args, env).spawn().unwrap();
        let pid = child.id();
        let died = Arc::new(Mutex::new(None));
        let d = died.clone();
        std::thread::spawn(move || {
            let _ = child.wait();
            *d.lock().unwrap() = Some(Instant::now());
        });
        Reaped { pid, died }
    }

    fn alive(&self) -> bool {
        self.died.lock().unwrap().is_none()
    }

    fn died(&self) -> Option<Instant> {
        *self.died.lock().unwrap()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if self.alive() {
            let _ = Command::new("kill")
                .args(["-9", &self.pid.to_string()])
                .status();
        }
    }
}

/// A world whose fake 1C keeps its busy state in `busy` (given `facts`)
/// and logs every call to the returned file.
fn busy_world(facts: &str) -> (World, PathBuf, PathBuf) {
    let mut w = World::new(16);
    let busy = w.dir.path().join("busy");
    let calls = w.dir.path().join("calls.log");
    fs::write(&busy, facts).unwrap();
    w.set("FAKE_1C_BUSY_FILE", &busy.display().to_string())
        .set("FAKE_1C_CALL_LOG", &calls.display().to_string())
        .set("APP_TIMEZONE", "UTC");
    (w, busy, calls)
}

/// [`busy_world`] with the policy `lock` and the code the fake accepts.
fn lock_world(facts: &str) -> (World, PathBuf, PathBuf) {
    let (mut w, busy, calls) = busy_world(facts);
    w.set("BACKUP_WHEN_USERS_INSIDE", "lock")
        .set("ONEC_LOCK_CODE", CODE)
        .set("FAKE_1C_LOCK_CODE", CODE);
    (w, busy, calls)
}

/// A stand-in session of `base`, registered in the busy file `busy`.
fn session(w: &World, base: &Path, busy: &Path) -> Reaped {
    let s = Reaped::start(
        &w.onec_client("1cv8c"),
        &["ENTERPRISE", &format!("/F{}", base.display())],
        &[("FAKE_1C_BUSY_FILE", busy.to_str().unwrap())],
    );
    let pid = s.pid;
    wait_for("the session to register", Duration::from_secs(10), || {
        fs::read_to_string(busy).is_ok_and(|t| t.contains(&format!("pid {pid}")))
    });
    s
}

fn call_lines(calls: &Path) -> Vec<String> {
    fs::read_to_string(calls)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The three calls of a `lock` run, in order, each with the code.
fn assert_lock_calls(lines: &[String]) {
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with("ENTERPRISE") && lines[0].contains(END),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with("DESIGNER") && lines[1].contains("/DumpIB"),
        "{lines:#?}"
    );
    assert!(
        lines[2].starts_with("ENTERPRISE") && lines[2].contains(ALLOW),
        "{lines:#?}"
    );
    for l in lines {
        assert!(l.contains(&format!("/UC{CODE}")), "{l}");
    }
}

/// The two calls of a `lock` run that dumped nothing: lock, then unlock.
fn assert_lock_without_dump(lines: &[String]) {
    assert_eq!(lines.len(), 2, "no dump: {lines:#?}");
    assert!(
        lines[0].contains(END) && lines[1].contains(ALLOW),
        "{lines:#?}"
    );
}

/// The `policy_outcome` of a history row, parsed.
fn outcome(row: &serde_json::Value) -> serde_json::Value {
    serde_json::from_str(row["policy_outcome"].as_str().unwrap()).unwrap()
}

/// `backup` with the variable `key` set to `value`: its output.
fn backup_with(w: &World, key: &str, value: &str) -> std::process::Output {
    w.cmd().arg("backup").env(key, value).output().unwrap()
}

fn assert_code_absent(w: &World, outputs: &[&[u8]]) {
    for (i, out) in outputs.iter().enumerate() {
        assert!(!contains(out, CODE), "output {i}");
    }
    assert!(!w.log_text().contains(CODE), "backup.log");
    assert!(!contains(&w.history_bytes(), CODE), "history");
    for f in crate::util::walk_all(&w.backups) {
        if f.extension().is_some_and(|e| e == "log" || e == "json") {
            let text = fs::read_to_string(&f).unwrap_or_default();
            assert!(!text.contains(CODE), "{}", f.display());
        }
    }
}

/// `lock`: a user inside is ended by the session lock (BSP's job, the
/// fake's here), then the dump runs with the code, then the lock is
/// lifted: exactly three calls; the code is nowhere but in 1C's argv.
#[test]
fn lock_makes_three_calls_in_order_and_the_code_stays_secret() {
    let (w, busy, calls) = lock_world("");
    let user = session(&w, &w.base.clone(), &busy);
    let out = w.cmd().arg("backup").output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_lock_calls(&call_lines(&calls));
    wait_for("the user's session to end", Duration::from_secs(10), || {
        !user.alive()
    });
    assert_eq!(fs::read_to_string(&busy).unwrap(), "", "unlocked");
    assert!(
        stdout.contains("sessions were locked with the lock code") && stdout.contains("unlocked"),
        "{stdout}"
    );
    let row = &w.runs()[0];
    assert_eq!(row["status"], "ok", "{row}");
    let outcome = outcome(row);
    assert_eq!(outcome["policy"], "lock", "{outcome}");
    assert_eq!(outcome["locked"], true, "{outcome}");
    assert_eq!(outcome["unlocked"], true, "{outcome}");
    assert!(!w.backups.join(".users-locked.buh.json").exists());
    assert_eq!(w.archives().len(), 1);
    assert_code_absent(&w, &[&out.stdout, &out.stderr]);
}

/// `lock` lifts the lock after a failed dump and after a stopped one.
#[test]
fn lock_is_lifted_after_a_failed_and_a_cancelled_dump() {
    let (w, busy, calls) = lock_world("busy\n");

    let out = backup_with(&w, "FAKE_1C_MODE", "dumpresult1");
    assert_eq!(out.status.code(), Some(1));
    assert_lock_calls(&call_lines(&calls));
    assert_eq!(fs::read_to_string(&busy).unwrap(), "", "unlocked");
    assert_eq!(w.runs()[0]["status"], "failed");
    assert!(!w.backups.join(".users-locked.buh.json").exists());

    fs::remove_file(&calls).unwrap();
    fs::write(&busy, "busy\n").unwrap();
    let stderr_file = w.dir.path().join("cancelled.stderr");
    let mut c = w.command();
    c.arg("backup")
        .env("FAKE_1C_MODE", "hang")
        .stdout(Stdio::null())
        .stderr(fs::File::create(&stderr_file).unwrap());
    let mut run = crate::util::proc::spawn(&mut c);
    wait_for("the hanging dump", Duration::from_secs(30), || {
        call_lines(&calls).iter().any(|l| l.starts_with("DESIGNER"))
    });
    Command::new("kill")
        .args(["-TERM", &run.0.id().to_string()])
        .status()
        .unwrap();
    let status = run.0.wait().unwrap();
    assert!(!status.success(), "{status}");
    assert_lock_calls(&call_lines(&calls));
    assert_eq!(fs::read_to_string(&busy).unwrap(), "", "unlocked");
    let row = &w.runs()[0];
    assert_eq!(row["status"], "interrupted", "{row}");
    assert!(
        row["policy_outcome"]
            .as_str()
            .unwrap()
            .contains("\"unlocked\":true"),
        "{row}"
    );
    let stderr = fs::read(&stderr_file).unwrap();
    assert_code_absent(&w, &[&out.stdout, &out.stderr, &stderr]);
}

/// `lock` when a user's client does not go (not a session BSP can end:
/// here one the fake does not know): the wait ends at
/// `BACKUP_USERS_WAIT_MINUTES`, nothing is dumped, the lock is lifted and
/// the failure names who stayed.
#[test]
fn lock_gives_up_when_users_stay_and_still_unlocks() {
    let (mut w, busy, calls) = busy_world("");
    w.set("BACKUP_WHEN_USERS_INSIDE", "lock")
        .set("BACKUP_USERS_WAIT_MINUTES", "0")
        .set("ONEC_LOCK_CODE", CODE)
        .set("FAKE_1C_LOCK_CODE", CODE);
    let elsewhere = w.dir.path().join("busy-unknown-to-the-fake");
    let stays = session(&w, &w.base.clone(), &elsewhere);
    let out = w.cmd().arg("backup").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let named = format!("inside: {} (pid {}", whoami(), stays.pid);
    assert!(
        stderr.contains("users did not leave within BACKUP_USERS_WAIT_MINUTES=0")
            && stderr.contains(&named),
        "{stderr}"
    );
    let lines = call_lines(&calls);
    assert_lock_without_dump(&lines);
    assert_eq!(fs::read_to_string(&busy).unwrap(), "", "unlocked");
    assert!(stays.alive());
    let row = &w.runs()[0];
    assert_eq!(row["status"], "failed", "{row}");
    let outcome = outcome(row);
    assert_eq!(outcome["unlocked"], true, "{outcome}");
    assert!(
        outcome["inside_at_failure"]
            .as_str()
            .unwrap()
            .contains(&named),
        "{outcome}"
    );
    assert_code_absent(&w, &[&out.stdout, &out.stderr]);
}

/// A lock code the base does not accept: the lock fails with 1C's words,
/// nothing is dumped, the unlock still runs, the code is not shown.
#[test]
fn a_wrong_lock_code_fails_the_lock_without_a_dump() {
    let (mut w, _busy, calls) = lock_world("busy\n");
    w.set("FAKE_1C_LOCK_CODE", "another-code");
    let out = w.cmd().arg("backup").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("1C session lock failed (exit code 1)")
            && stderr.contains("Неверный код разрешения"),
        "{stderr}"
    );
    let lines = call_lines(&calls);
    assert_lock_without_dump(&lines);
    assert_eq!(w.runs()[0]["status"], "failed");
    assert_code_absent(&w, &[&out.stdout, &out.stderr]);
}

/// An unlock that fails is said loudly (output, row) and the state stays,
/// so the next run of the base lifts the lock before anything else.
#[test]
fn a_failed_unlock_is_loud_and_the_next_run_lifts_the_lock_first() {
    let (w, busy, calls) = lock_world("busy\n");
    let out = backup_with(&w, "FAKE_1C_UNLOCK_FAILS", "1");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("BASE buh IS STILL LOCKED: users cannot log in; run 1cv8 ENTERPRISE"),
        "{text}"
    );
    assert!(text.contains("РазрешитьРаботуПользователей"), "{text}");
    let row = &w.runs()[0];
    let outcome = outcome(row);
    assert_eq!(outcome["unlocked"], false, "{outcome}");
    assert!(
        outcome["still_locked"]
            .as_str()
            .unwrap()
            .contains("IS STILL LOCKED"),
        "{outcome}"
    );
    assert!(w.backups.join(".users-locked.buh.json").exists());
    assert_eq!(
        fs::read_to_string(&busy).unwrap(),
        format!("locked {CODE}\n")
    );

    // The next run lifts it first, then locks, dumps and unlocks.
    fs::remove_file(&calls).unwrap();
    let out = w.cmd().args(["backup", "--force"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = call_lines(&calls);
    assert!(lines[0].contains(ALLOW), "{lines:#?}");
    assert_lock_calls(&lines[1..]);
    assert!(!w.backups.join(".users-locked.buh.json").exists());
    assert_code_absent(&w, &[&out.stdout, &out.stderr, text.as_bytes()]);
}

/// A lock state left by a run that was killed while the base was locked
/// is lifted when the agent starts.
#[test]
fn a_lock_left_by_a_killed_run_is_lifted_at_agent_start() {
    let (mut w, busy, calls) = busy_world(&format!("locked {CODE}\n"));
    w.set("ONEC_LOCK_CODE", CODE).set("FAKE_1C_LOCK_CODE", CODE);
    fs::create_dir_all(&w.backups).unwrap();
    let state = w.backups.join(".users-locked.buh.json");
    fs::write(
        &state,
        format!(
            r#"{{"base":"buh","path":{:?},"since":"2026-01-01T00:00:00Z","pid":4000000}}"#,
            w.base.display().to_string()
        ),
    )
    .unwrap();
    const API: &str = "api-Tok3n-for-lock";
    w.set("BACKUP_WHEN_USERS_INSIDE", "lock");
    let agent = w.agent(&[("API_TOKEN", API)]);
    wait_for("the unlock at start", Duration::from_secs(30), || {
        !state.exists()
    });
    let lines = call_lines(&calls);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("ENTERPRISE") && lines[0].contains(ALLOW),
        "{lines:#?}"
    );
    assert_eq!(fs::read_to_string(&busy).unwrap(), "", "unlocked");
    let log = agent.stderr();
    assert!(log.contains("left by an earlier run"), "{log}");

    // A lock run of the agent: its log file says what happened, never
    // the code.
    let r = agent.request("POST", "/api/backup?base=buh", Some(API));
    assert_eq!(r.status, 202, "{}", r.text());
    wait_for("the agent's lock run", Duration::from_secs(60), || {
        w.runs().first().is_some_and(|r| r["status"] == "ok")
    });
    assert_lock_calls(&call_lines(&calls)[1..]);
    let file_log = w.log_text();
    assert!(
        file_log.contains("left by an earlier run")
            && file_log.contains("1C sessions locked")
            && file_log.contains("1C sessions unlocked"),
        "{file_log}"
    );
    assert_code_absent(&w, &[agent.stderr().as_bytes()]);
}

/// `close`: after the grace, only the 1C client of this base is ended (a
/// client of another base and a program that is not 1C survive); the row
/// and the output name the user.
#[test]
fn close_ends_only_this_bases_clients_after_the_grace() {
    let (mut w, busy, _calls) = busy_world("");
    w.set("BACKUP_WHEN_USERS_INSIDE", "close")
        .set("BACKUP_USERS_CLOSE_GRACE_SECONDS", "2");
    let zup = w.dir.path().join("zup");
    fs::create_dir_all(&zup).unwrap();
    generate_1cd(&zup.join("1Cv8.1CD"), CdFormat::V8_3_8, 4, 1).unwrap();
    let ours = session(&w, &w.base.clone(), &busy);
    let other_busy = w.dir.path().join("busy-zup");
    let other = session(&w, &zup, &other_busy);
    let not_1c = Reaped::start(
        &w.onec_client("notepad"),
        &["ENTERPRISE", &format!("/F{}", w.base.display())],
        &[("FAKE_1C_BUSY_FILE", other_busy.to_str().unwrap())],
    );
    // The stand-ins show in the process table with their command lines.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let out = w.cmd().arg("backup").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let died = ours.died().expect("this base's client was ended");
    let grace = died.duration_since(started);
    assert!(grace >= Duration::from_secs(2), "ended after {grace:?}");
    assert!(other.alive(), "the client of another base survives");
    assert!(not_1c.alive(), "a program that is not 1C survives");
    let named = format!("{} (pid {})", whoami(), ours.pid);
    assert!(
        stdout.contains(&format!("closed 1 1C session(s) of {named}")),
        "{stdout}"
    );
    let row = &w.runs()[0];
    assert_eq!(row["status"], "ok", "{row}");
    let outcome = outcome(row);
    assert_eq!(outcome["policy"], "close", "{outcome}");
    assert_eq!(outcome["closed"][0], named, "{outcome}");
    assert_eq!(w.archives().len(), 1);
}

const TOKEN: &str = "123:TESTSECRETTOKENxyz";
const ADMIN: i64 = 111;
const STRANGER: i64 = 222;
const T: Duration = Duration::from_secs(60);

/// The agent with its bot on `tg` (only `ADMIN` allowed, logs in the
/// world's `logs`) and `extra` variables, once the bot polls.
fn agent_with_bot(w: &World, tg: &FakeTelegram, extra: &[(&str, &str)]) -> Agent {
    let logs = w.dir.path().join("logs").display().to_string();
    let mut vars = vec![("LOG_DIR", logs.as_str())];
    vars.extend_from_slice(extra);
    let agent = tg.agent(w, TOKEN, ADMIN, &vars);
    wait_for("the bot to poll", T, || {
        tg.calls().iter().any(|c| c.method == "getUpdates")
    });
    agent
}

/// The buttons of a message: (text, callback data) per row.
fn buttons(c: &crate::util::fake_telegram::Call) -> Vec<(String, String)> {
    c.params["reply_markup"]["inline_keyboard"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                .map(|b| {
                    (
                        b["text"].as_str().unwrap_or("").to_string(),
                        b["callback_data"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A failure caused by a user inside carries «Повторить» and «Закрыть
/// сеансы и повторить»; a stranger's press is refused; the admin's press
/// asks, and «Да» runs the backup again with `close` (no lock code), which
/// ends the user's client and succeeds, naming the user.
#[test]
fn telegram_failure_offers_retry_and_close_and_refuses_strangers() {
    let (mut w, busy, _calls) = busy_world("");
    w.set("BACKUP_USERS_CLOSE_GRACE_SECONDS", "1");
    let user = session(&w, &w.base.clone(), &busy);
    let tg = FakeTelegram::start();
    let agent = agent_with_bot(&w, &tg, &[]);

    tg.send_text(ADMIN, "/backup");
    let ask = tg.wait_for(T, "the confirmation", |c| {
        c.method == "sendMessage" && c.params.get("reply_markup").is_some()
    });
    let yes = buttons(&ask)[0].1.clone();
    tg.press(ADMIN, ADMIN, ask.message_id(), &yes);
    let failed = tg.wait_for(T, "the failure with buttons", |c| {
        c.method == "editMessageText"
            && c.text().contains("не удалась")
            && c.params.get("reply_markup").is_some()
    });
    let text = failed.text();
    assert!(text.contains(&format!("(pid {}", user.pid)), "{text}");
    let b = buttons(&failed);
    let names: Vec<&str> = b.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        names,
        ["🔁 Повторить", "⛔ Закрыть сеансы и повторить"],
        "{b:?}"
    );
    let close = b[1].1.clone();
    assert!(close.starts_with("rt:c:0:"), "{close}");

    // A stranger's press is refused; nothing runs.
    tg.press(STRANGER, ADMIN, failed.message_id(), &close);
    let refused = tg.wait_for(T, "the refusal", |c| {
        c.method == "answerCallbackQuery" && c.params["text"].as_str().is_some()
    });
    assert!(
        refused.params["text"]
            .as_str()
            .unwrap()
            .contains("Нет доступа"),
        "{:?}",
        refused.params
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(w.runs().len(), 1);
    assert!(user.alive());

    // The admin's press asks first.
    tg.press(ADMIN, ADMIN, failed.message_id(), &close);
    let question = tg.wait_for(T, "the close question", |c| {
        c.method == "sendMessage" && c.text().contains("Закрыть сеансы пользователей")
    });
    let qb = buttons(&question);
    assert_eq!(qb[0].0, "Да", "{qb:?}");
    assert!(qb[0].1.starts_with("rt:y:0:"), "{qb:?}");
    assert!(user.alive(), "nothing happens before «Да»");
    tg.press(ADMIN, ADMIN, question.message_id(), &qb[0].1);
    let done = tg.wait_for(T, "the retried backup", |c| {
        c.method == "editMessageText"
            && c.params["message_id"].as_i64() == Some(question.message_id())
            && c.text().contains("готова")
    });
    let text = done.text();
    let named = format!("{} (pid {})", whoami(), user.pid);
    assert!(text.contains(&named), "{text}");
    assert!(!user.alive(), "the user's client was ended");
    let runs = w.runs();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0]["status"], "ok", "{runs:?}");
    assert!(
        runs[0]["policy_outcome"]
            .as_str()
            .unwrap()
            .contains("\"policy\":\"close\""),
        "{runs:?}"
    );
    // The agent's log names who was warned about and who was closed.
    let log = agent.stderr();
    assert!(
        log.contains("their 1C sessions will be closed in 1 s")
            && log.contains(&format!("closed 1 1C session(s): {named}")),
        "{log}"
    );
    assert!(!log.contains(TOKEN), "{log}");
    drop(agent);
}

/// The notices of runs the requester did not follow (started over HTTP,
/// or by another process) carry the buttons too; «Повторить» runs the
/// backup again as configured; the API's `when_users_inside` runs it with
/// `close`, and the notice names whose session was closed.
#[test]
fn notices_carry_the_buttons_and_the_api_can_ask_for_close() {
    const API: &str = "api-Tok3n-for-users";
    let (mut w, busy, _calls) = busy_world("");
    w.set("BACKUP_USERS_CLOSE_GRACE_SECONDS", "1");
    let user = session(&w, &w.base.clone(), &busy);
    let tg = FakeTelegram::start();
    let agent = agent_with_bot(&w, &tg, &[("API_TOKEN", API)]);
    let with_buttons = |c: &crate::util::fake_telegram::Call| {
        c.method == "sendMessage"
            && c.text().contains("не удалась")
            && buttons(c).iter().any(|(t, _)| t.contains("Закрыть сеансы"))
    };

    let r = agent.request("POST", "/api/backup?base=buh", Some(API));
    assert_eq!(r.status, 202, "{}", r.text());
    let notice = tg.wait_for(T, "the failure notice with buttons", with_buttons);
    assert!(
        notice.text().contains(&format!("(pid {}", user.pid)),
        "{}",
        notice.text()
    );
    let retry = buttons(&notice)[0].1.clone();
    assert!(retry.starts_with("rt:r:0:"), "{retry}");

    // «Повторить»: a new message follows the run, which fails again (the
    // user is still inside) with the buttons.
    let before = tg.calls_of("sendMessage").len();
    tg.press(ADMIN, ADMIN, notice.message_id(), &retry);
    let again = tg.wait_for(T, "the retry's failure with buttons", |c| {
        c.method == "editMessageText" && c.text().contains("не удалась") && !buttons(c).is_empty()
    });
    assert!(tg.calls_of("sendMessage").len() > before);
    assert_ne!(
        again.params["message_id"].as_i64(),
        Some(notice.message_id())
    );
    wait_for("two failed rows", T, || {
        let runs = w.runs();
        runs.len() == 2 && runs.iter().all(|r| r["status"] == "failed")
    });
    assert!(user.alive());

    // The API refuses an unknown policy, and runs `close` when asked.
    let bad = agent.request(
        "POST",
        "/api/backup?base=buh&when_users_inside=kill",
        Some(API),
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    let r = agent.request(
        "POST",
        "/api/backup?base=buh&when_users_inside=close",
        Some(API),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let named = format!("{} (pid {})", whoami(), user.pid);
    let done = tg.wait_for(T, "the notice of the closing run", |c| {
        c.method == "sendMessage" && c.text().contains("готова")
    });
    assert!(done.text().contains(&named), "{}", done.text());
    assert!(buttons(&done).is_empty(), "no buttons on a success");
    assert!(!user.alive());

    // A console run that meets a user inside: its notice (read from the
    // history) carries the buttons too.
    let second = session(&w, &w.base.clone(), &busy);
    let seen = tg.calls_of("sendMessage").len();
    let out = w.cmd().args(["backup", "--force"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    tg.wait_for(T, "the console run's notice with buttons", |c| {
        with_buttons(c) && c.text().contains(&format!("(pid {}", second.pid))
    });
    assert!(tg.calls_of("sendMessage").len() > seen);
    drop(agent);
}
