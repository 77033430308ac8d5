//! Who is inside each base: `users [--base NAME] [--json]` against real
//! processes (stand-in 1C clients: the fake 1C linked as `1cv8c`, which in
//! `ENTERPRISE` mode stays open like a user's session, and `/bin/sleep`
//! copied as `1cv8c`, whose command line names no base), the fake 1C's busy
//! mode (`FAKE_1C_BUSY_FILE`, `ЗавершитьРаботуПользователей` /
//! `РазрешитьРаботуПользователей` with `/UC`), and the `fail` policy: a
//! dump that meets users inside fails and its error and history row name
//! them.
#![cfg(target_os = "linux")]

use crate::util::proc::{self, Proc, wait_for};
use crate::util::{World, ok_stdout, whoami};
use onec_backup_bot::onec::generate::{CdFormat, generate_1cd};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// `exe args` in the background with `env`, killed when dropped.
fn start(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Proc {
    proc::spawn(&mut proc::quiet(exe, args, env))
}

/// A world whose fake 1C keeps its busy state in the returned file.
fn busy_world() -> (World, PathBuf) {
    let mut w = World::new(16);
    let busy = w.dir.path().join("busy");
    w.set("FAKE_1C_BUSY_FILE", &busy.display().to_string());
    (w, busy)
}

/// A stand-in session of the world's base, registered in the busy file
/// `busy`.
fn session(w: &World, busy: &Path) -> Proc {
    let session = start(
        &w.onec_client("1cv8c"),
        &["ENTERPRISE", &format!("/F{}", w.base.display())],
        &[("FAKE_1C_BUSY_FILE", &busy.display().to_string())],
    );
    let pid = session.0.id();
    wait_for("the session to register", Duration::from_secs(10), || {
        fs::read_to_string(busy).is_ok_and(|t| t.contains(&format!("pid {pid}")))
    });
    session
}

fn users_json(w: &World, extra: &[&str]) -> serde_json::Value {
    let out = w
        .cmd()
        .arg("users")
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    serde_json::from_str(&ok_stdout(out)).unwrap()
}

/// The pids listed under base `name` in `users --json`.
fn pids_of(v: &serde_json::Value, name: &str) -> Vec<u64> {
    v["bases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["base"] == name)
        .unwrap_or_else(|| panic!("no base {name} in {v}"))["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pid"].as_u64().unwrap())
        .collect()
}

fn all_pids(v: &serde_json::Value) -> Vec<u64> {
    let mut out = Vec::new();
    for b in v["bases"].as_array().unwrap() {
        out.extend(pids_of(v, b["base"].as_str().unwrap()));
    }
    for k in ["unknown", "other"] {
        out.extend(
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|c| c["pid"].as_u64().unwrap()),
        );
    }
    out
}

#[test]
fn users_lists_each_client_under_its_base_and_no_other_program() {
    let mut w = World::new(4);
    let zup = w.dir.path().join("Зарплата и кадры");
    fs::create_dir_all(&zup).unwrap();
    generate_1cd(&zup.join("1Cv8.1CD"), CdFormat::V8_3_8, 4, 1).unwrap();
    fs::write(
        w.dir.path().join("config.yaml"),
        format!("bases:\n  - name: zup\n    path: \"{}\"\n", zup.display()),
    )
    .unwrap();
    w.set("APP_TIMEZONE", "UTC");
    let client = w.onec_client("1cv8c");
    let buh_arg = format!("/F{}", w.base.display());
    let in_buh = start(&client, &["ENTERPRISE", &buh_arg, "/NИванов"], &[]);
    // `/F <path>` as two arguments, a folder with spaces and Cyrillic.
    let in_zup = start(&client, &["ENTERPRISE", "/F", zup.to_str().unwrap()], &[]);
    // The same command line in a program that is not 1C.
    let notepad = start(&w.onec_client("notepad"), &["ENTERPRISE", &buh_arg], &[]);
    // A 1C client whose command line names no base.
    let sleeper = w.dir.path().join("clients").join("sleep-as-1c");
    fs::create_dir_all(&sleeper).unwrap();
    fs::copy("/bin/sleep", sleeper.join("1cv8c")).unwrap();
    let unknown = start(&sleeper.join("1cv8c"), &["300"], &[]);
    let ids = |p: &Proc| u64::from(p.0.id());

    let mut v = serde_json::Value::Null;
    wait_for("the stand-ins to show", Duration::from_secs(20), || {
        v = users_json(&w, &[]);
        let all = all_pids(&v);
        [&in_buh, &in_zup, &unknown]
            .iter()
            .all(|p| all.contains(&ids(p)))
    });
    assert_eq!(pids_of(&v, "buh"), [ids(&in_buh)], "{v}");
    assert_eq!(pids_of(&v, "zup"), [ids(&in_zup)], "{v}");
    assert!(!all_pids(&v).contains(&ids(&notepad)), "not 1C: {v}");
    let unknown_pids: Vec<u64> = v["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pid"].as_u64().unwrap())
        .collect();
    assert!(unknown_pids.contains(&ids(&unknown)), "{v}");
    let buh = &v["bases"][0];
    assert_eq!(buh["path"], w.base.display().to_string(), "{v}");
    let c = &buh["clients"][0];
    assert_eq!(c["user"], whoami(), "{v}");
    assert_eq!(c["program"], "1cv8c", "{v}");
    assert_eq!(c["base"], w.base.display().to_string(), "{v}");
    let since: jiff::Timestamp = c["since"].as_str().unwrap().parse().unwrap();
    let age = jiff::Timestamp::now().duration_since(since);
    assert!(age.as_secs() >= 0 && age.as_secs() < 120, "{since}: {v}");

    // One base only.
    let only = users_json(&w, &["--base", "zup"]);
    assert_eq!(only["bases"].as_array().unwrap().len(), 1, "{only}");
    assert_eq!(pids_of(&only, "zup"), [ids(&in_zup)], "{only}");

    // The words for people name the user, the pid and the base.
    let text = ok_stdout(w.cmd().arg("users").output().unwrap());
    assert!(
        text.contains("buh (") && text.contains("1 inside"),
        "{text}"
    );
    assert!(
        text.contains(&format!("pid {}", ids(&in_buh))) && text.contains(&whoami()),
        "{text}"
    );
    assert!(text.contains("unknown base"), "{text}");

    // An unknown base is a usage error listing the bases.
    let out = w.cmd().args(["users", "--base", "nope"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("nope") && err.contains("buh, zup"), "{err}");
    drop((in_buh, in_zup, notepad, unknown));
}

/// While a stand-in session of the base lives, the fake 1C refuses the
/// dump as 1C does; the CLI error and the history row name who was
/// inside. Once it exits, the next backup succeeds.
#[test]
fn a_dump_with_users_inside_fails_naming_them_until_they_leave() {
    let (mut w, busy) = busy_world();
    w.set("APP_TIMEZONE", "UTC");
    let mut session = session(&w, &busy);
    let pid = session.0.id();

    let out = w.cmd().arg("backup").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("монопольн"), "1C's line: {stderr}");
    let named = format!("inside: {} (pid {pid}", whoami());
    assert!(stderr.contains(&named), "{named:?} in {stderr}");
    assert!(stderr.contains(", since 20"), "{stderr}");
    let row = &w.list_json()[0];
    assert_eq!(row["status"], "failed", "{row}");
    assert!(
        row["error"].as_str().unwrap().contains(&named),
        "{named:?} in the row: {row}"
    );
    assert!(w.archives().is_empty());

    session.0.kill().unwrap();
    session.0.wait().unwrap();
    let out = w.cmd().arg("backup").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.archives().len(), 1, "{:?}", w.archives());
}

/// The fake's lock flow, as the standard subsystem library runs it: users
/// inside until `ЗавершитьРаботуПользователей` with the right code, then
/// sessions locked (a dump needs `/UC<code>`) until
/// `РазрешитьРаботуПользователей`; every call is in the call log.
#[test]
fn the_fake_1c_locks_and_unlocks_sessions_with_the_code() {
    let mut w = World::new(16);
    let busy = w.dir.path().join("busy");
    let calls = w.dir.path().join("calls.log");
    fs::write(&busy, "busy\n").unwrap();
    w.set("FAKE_1C_BUSY_FILE", &busy.display().to_string())
        .set("FAKE_1C_CALL_LOG", &calls.display().to_string())
        .set("FAKE_1C_LOCK_CODE", "4711");
    let onec = w.bin.join("1cv8");
    let base_arg = format!("/F{}", w.base.display());
    let enterprise = |param: &str, code: &str| {
        let mut c = Command::new(&onec);
        c.args([
            "ENTERPRISE",
            &base_arg,
            "/NАдминистратор",
            &format!("/P{}", crate::util::PASSWORD),
            &format!("/C\"{param}\""),
            &format!("/UC{code}"),
            "/DisableStartupDialogs",
            "/DisableStartupMessages",
        ]);
        c.envs(w.envs.iter().map(|(k, v)| (k, v)));
        c.output().unwrap()
    };
    let backup = |code: Option<&str>| {
        let mut c = w.cmd();
        c.args(["backup", "--force"]);
        if let Some(code) = code {
            c.env("ONEC_LOCK_CODE", code);
        }
        c.output().unwrap()
    };

    assert_eq!(backup(None).status.code(), Some(1), "busy");
    let wrong = enterprise("ЗавершитьРаботуПользователей", "1");
    assert_eq!(wrong.status.code(), Some(1));
    assert!(fs::read_to_string(&busy).unwrap().contains("busy"));
    let end = enterprise("ЗавершитьРаботуПользователей", "4711");
    assert!(end.status.success(), "{end:?}");
    assert_eq!(fs::read_to_string(&busy).unwrap(), "locked 4711\n");
    let out = backup(None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "locked, no code: {err}");
    assert!(err.contains("блокировка начала сеансов"), "{err}");
    let out = backup(Some("4711"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let allow = enterprise("РазрешитьРаботуПользователей", "4711");
    assert!(allow.status.success(), "{allow:?}");
    assert_eq!(fs::read_to_string(&busy).unwrap(), "");
    assert!(backup(None).status.success());

    let log = fs::read_to_string(&calls).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "DESIGNER",
            "ENTERPRISE",
            "ENTERPRISE",
            "DESIGNER",
            "DESIGNER",
            "ENTERPRISE",
            "DESIGNER"
        ],
        "{log}"
    );
    assert!(
        lines[2].contains("/C\"ЗавершитьРаботуПользователей\" /UC4711"),
        "{log}"
    );
    assert!(lines[4].contains("/UC4711"), "{log}");
    assert!(!log.contains(crate::util::PASSWORD), "{log}");
}

/// Policy `wait`: the dump meets a user inside, waits a retry interval
/// (the shortest, 1 min), and succeeds once the user has left; one row.
#[test]
fn wait_retries_until_the_user_leaves_in_one_row() {
    let (mut w, busy) = busy_world();
    w.set("BACKUP_WHEN_USERS_INSIDE", "wait")
        .set("BACKUP_USERS_RETRY_MINUTES", "1")
        .set("BACKUP_USERS_WAIT_MINUTES", "5");
    let mut session = session(&w, &busy);
    let calls = w.dir.path().join("calls.log");
    let started = std::time::Instant::now();
    let backup = w.spawn(
        &["backup"],
        &[("FAKE_1C_CALL_LOG", calls.to_str().unwrap())],
    );
    wait_for("the first, refused dump", Duration::from_secs(30), || {
        fs::read_to_string(&calls).is_ok_and(|t| t.lines().count() == 1)
    });
    // The user leaves during the wait.
    session.0.kill().unwrap();
    session.0.wait().unwrap();
    let mut backup = backup;
    let status = backup.0.wait().unwrap();
    assert!(status.success(), "{status}");
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(60), "retried after {took:?}");
    assert!(took < Duration::from_secs(120), "{took:?}");
    assert_eq!(fs::read_to_string(&calls).unwrap().lines().count(), 2);
    let runs = w.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["status"], "ok", "{runs:?}");
    assert_eq!(w.archives().len(), 1);
}

/// Policy `wait` with no time to wait: the dump fails at once, saying it
/// gave up and naming who is inside.
#[test]
fn wait_gives_up_at_the_deadline_naming_who_is_inside() {
    let (mut w, busy) = busy_world();
    w.set("BACKUP_WHEN_USERS_INSIDE", "wait")
        .set("BACKUP_USERS_WAIT_MINUTES", "0");
    let session = session(&w, &busy);
    let pid = session.0.id();
    let out = w.cmd().arg("backup").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error = w.runs()[0]["error"].as_str().unwrap().to_string();
    for text in [stderr.as_ref(), error.as_str()] {
        assert!(
            text.contains(
                "over 1 attempt(s) for users to leave, then gave up (BACKUP_USERS_WAIT_MINUTES=0)"
            ),
            "{text}"
        );
        assert!(
            text.contains(&format!("inside: {} (pid {pid}", whoami())),
            "{text}"
        );
    }
    drop(session);
}

/// Method `copy` refuses a base in use; the refusal names who is inside.
#[test]
fn a_copy_refused_for_a_base_in_use_names_who_is_inside() {
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "copy");
    fs::write(w.base.join("1Cv8.1CL"), b"").unwrap();
    let session = start(
        &w.onec_client("1cv8c"),
        &["ENTERPRISE", &format!("/F{}", w.base.display())],
        &[],
    );
    let pid = session.0.id();
    let named = format!("inside: {} (pid {pid}", whoami());
    // The stand-in may take a moment to exec.
    let mut stderr = String::new();
    wait_for(
        "a refusal naming the stand-in",
        Duration::from_secs(20),
        || {
            let out = w.cmd().arg("backup").output().unwrap();
            assert_eq!(out.status.code(), Some(1));
            stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            stderr.contains(&named)
        },
    );
    assert!(stderr.contains("1Cv8.1CL"), "{stderr}");
    assert!(w.archives().is_empty());
    drop(session);
}
