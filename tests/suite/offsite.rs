//! Offsite copies end to end with the real binary, the fake 1C and a
//! folder target: a console backup uploads a verified copy (bytes equal,
//! read back), `--no-offsite` queues and `offsite push` drains, a failing
//! target leaves the local backup ok and exits 1 until a push recovers it,
//! `which: day`, `mode: fixed` replacing in place with a killed upload
//! leaving the last good copy, remote retention deleting only our objects
//! of that base, `restore --from` and `drill --from` (and a tampered copy
//! failing the SHA-256 check loudly), and the credentials absent from
//! every output, log and the history database.

use crate::util::proc::wait_for;
use crate::util::{World, contains, file_name, ok_stdout};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A world backing up `buh` by copy, its target folder `copies`.
fn world() -> (World, PathBuf) {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    let copies = w.dir.path().join("copies");
    w.set("OFFSITE_URL", &copies.display().to_string());
    (w, copies)
}

/// `backup --force --json <extra>`: exit code, result, stderr.
fn backup(w: &World, extra: &[&str]) -> (i32, serde_json::Value, String) {
    w.json(&[&["backup", "--force", "--json"], extra].concat(), &[])
}

/// The files under `dir`, relative and `/`-separated, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn a_console_backup_uploads_a_copy_read_back_and_listed() {
    let (w, copies) = world();
    let (code, v, err) = backup(&w, &[]);
    assert_eq!(code, 0, "{v}\n{err}");
    let archive = v["archive"].as_str().unwrap().to_string();
    let up = &v["offsite"]["uploaded"][0];
    assert_eq!(up["target"], "offsite", "{v}");
    assert_eq!(up["verified"], "read", "{v}");
    assert_eq!(up["status"], "ok");
    let object = format!("buh/{}", file_name(&archive));
    assert_eq!(up["object"], object.as_str());
    assert_eq!(files(&copies), std::slice::from_ref(&object));
    assert_eq!(
        fs::read(copies.join(&object)).unwrap(),
        fs::read(&archive).unwrap(),
        "the copy's bytes are the archive's"
    );
    let runs = w.runs();
    assert_eq!(runs[0]["offsite"], serde_json::json!(["offsite"]));
    assert_eq!(runs[0]["status"], "ok", "existing fields stay");
    let list = ok_stdout(w.cmd().arg("list").output().unwrap());
    assert!(list.contains("[offsite: offsite]"), "{list}");
    let (code, st, _) = w.json(&["offsite", "status", "--json"], &[]);
    assert_eq!(code, 0);
    assert_eq!(st[0]["base"], "buh");
    assert_eq!(st[0]["queued"], 0);
    assert_eq!(st[0]["last_object"], object.as_str());
    assert_eq!(st[0]["stale"], false);
}

#[test]
fn no_offsite_queues_and_push_drains() {
    let (w, copies) = world();
    let (code, v, err) = backup(&w, &["--no-offsite"]);
    assert_eq!(code, 0, "{v}\n{err}");
    assert!(files(&copies).is_empty(), "nothing uploaded yet");
    let (_, st, _) = w.json(&["offsite", "status", "--json"], &[]);
    assert_eq!(st[0]["queued"], 1, "{st}");
    assert!(st[0]["queued_bytes"].as_u64().unwrap() > 0, "{st}");
    assert_eq!(
        st[0]["stale"], false,
        "no copy yet, but the target appeared just now: {st}"
    );
    // The target appeared 31 hours ago and still has no copy: stale.
    w.backdate("UPDATE offsite_targets SET first_seen = ?1", 31);
    let (_, st, _) = w.json(&["offsite", "status", "--json"], &[]);
    assert_eq!(st[0]["stale"], true, "{st}");
    let (code, pushed, err) = w.json(&["offsite", "push", "--json"], &[]);
    assert_eq!(code, 0, "{pushed}\n{err}");
    assert_eq!(pushed["uploaded"].as_array().unwrap().len(), 1, "{pushed}");
    let archive = v["archive"].as_str().unwrap();
    assert_eq!(files(&copies), [format!("buh/{}", file_name(archive))]);
    // Idempotent: nothing is queued twice.
    let (code, again, _) = w.json(&["offsite", "push", "--json"], &[]);
    assert_eq!(code, 0);
    assert!(again["uploaded"].as_array().unwrap().is_empty(), "{again}");
}

#[test]
fn a_failing_target_leaves_the_local_backup_ok_then_recovers() {
    let (mut w, _) = world();
    // A folder under a regular file cannot be created, even by root.
    let blocker = w.dir.path().join("blocker");
    fs::write(&blocker, "not a folder").unwrap();
    let copies = blocker.join("copies");
    w.set("OFFSITE_URL", &copies.display().to_string());
    let (code, v, err) = backup(&w, &[]);
    assert_eq!(code, 1, "{v}\n{err}");
    assert_eq!(v["status"], "ok", "the local backup is ok: {v}");
    let archive = PathBuf::from(v["archive"].as_str().unwrap());
    assert!(archive.is_file());
    let failed = &v["offsite"]["failed"][0];
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("offsite target offsite"), "{error}");
    assert!(error.contains("cannot create the folder"), "{error}");
    let out = w.cmd().args(["backup", "--force"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("is ok and recorded") && stderr.contains("offsite push"),
        "{stderr}"
    );
    let runs = w.runs();
    assert!(runs.iter().all(|r| r["status"] == "ok"), "{runs:?}");
    assert!(runs.iter().all(|r| r["offsite"] == serde_json::json!([])));
    let (_, st, _) = w.json(&["offsite", "status", "--json"], &[]);
    assert_eq!(st[0]["queued"], 2, "{st}");
    assert!(
        st[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot create")
    );
    let out = w.cmd().args(["offsite", "push"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    // The target comes back: the next push uploads both.
    fs::remove_file(&blocker).unwrap();
    let (code, pushed, err) = w.json(&["offsite", "push", "--json"], &[]);
    assert_eq!(code, 0, "{pushed}\n{err}");
    assert_eq!(pushed["uploaded"].as_array().unwrap().len(), 2, "{pushed}");
    assert_eq!(files(&copies).len(), 2);
    assert!(archive.is_file(), "the local archive was never touched");
    let (_, st, _) = w.json(&["offsite", "status", "--json"], &[]);
    assert_eq!(st[0]["queued"], 0, "{st}");
    assert!(st[0]["last_error"].is_null(), "{st}");
}

#[test]
fn which_day_takes_only_the_first_archive_of_a_day() {
    let (mut w, copies) = world();
    w.set("OFFSITE_WHICH", "day");
    let (code, first, err) = backup(&w, &[]);
    assert_eq!(code, 0, "{first}\n{err}");
    std::thread::sleep(Duration::from_millis(1100));
    let (code, second, err) = backup(&w, &[]);
    assert_eq!(code, 0, "{second}\n{err}");
    assert!(
        second["offsite"]["uploaded"].as_array().unwrap().is_empty(),
        "{second}"
    );
    let first = file_name(first["archive"].as_str().unwrap());
    assert_eq!(files(&copies), [format!("buh/{first}")]);
}

#[test]
fn fixed_mode_replaces_in_place_and_a_killed_upload_keeps_the_last_copy() {
    let (mut w, copies) = world();
    w.set("OFFSITE_MODE", "fixed");
    let (code, v1, err) = backup(&w, &[]);
    assert_eq!(code, 0, "{v1}\n{err}");
    let prefix = "buh_";
    let slot = |s: &str| copies.join(format!("buh/{prefix}{s}.zip"));
    let a1 = fs::read(v1["archive"].as_str().unwrap()).unwrap();
    // The first archive is the first of its week and month too.
    for s in ["daily", "weekly", "monthly"] {
        assert_eq!(fs::read(slot(s)).unwrap(), a1, "{s}");
    }
    std::thread::sleep(Duration::from_millis(1100));
    // Change the base so the next archive differs.
    fs::write(w.base.join("1Cv8Log/1Cv8.lgf"), "changed\n").unwrap();
    let (code, v2, err) = backup(&w, &[]);
    assert_eq!(code, 0, "{v2}\n{err}");
    let a2 = fs::read(v2["archive"].as_str().unwrap()).unwrap();
    assert_eq!(fs::read(slot("daily")).unwrap(), a2, "daily replaced");
    assert_eq!(fs::read(slot("weekly")).unwrap(), a1, "weekly kept");
    assert_eq!(fs::read(slot("monthly")).unwrap(), a1, "monthly kept");
    // A third archive, uploaded slowly and killed mid-way.
    std::thread::sleep(Duration::from_millis(1100));
    let (code, v3, err) = backup(&w, &["--no-offsite"]);
    assert_eq!(code, 0, "{v3}\n{err}");
    let size = fs::metadata(v3["archive"].as_str().unwrap()).unwrap().len();
    let rate = (size / 8).max(1).to_string();
    let mut push = w.spawn(&["offsite", "push"], &[("OFFSITE_BANDWIDTH", &rate)]);
    wait_for("the upload to start", Duration::from_secs(20), || {
        files(&copies).iter().any(|f| f.contains(".uploading"))
    });
    std::thread::sleep(Duration::from_millis(500));
    push.0.kill().unwrap();
    push.0.wait().unwrap();
    assert_eq!(
        fs::read(slot("daily")).unwrap(),
        a2,
        "the last good copy stays"
    );
    // The next push (the killer's item is taken over) completes it.
    let (code, pushed, err) = w.json(&["offsite", "push", "--json"], &[]);
    assert_eq!(code, 0, "{pushed}\n{err}");
    let a3 = fs::read(v3["archive"].as_str().unwrap()).unwrap();
    assert_eq!(fs::read(slot("daily")).unwrap(), a3);
    assert_eq!(fs::read(slot("weekly")).unwrap(), a1);
    assert!(
        !files(&copies).iter().any(|f| f.contains(".uploading")),
        "{:?}",
        files(&copies)
    );
    drop(push);
}

#[test]
fn remote_retention_deletes_only_our_objects_of_that_base() {
    let (mut w, copies) = world();
    w.set("OFFSITE_KEEP_LAST", "1");
    // A foreign file and another base's uploaded object on the target.
    fs::create_dir_all(copies.join("buh")).unwrap();
    fs::create_dir_all(copies.join("zup")).unwrap();
    fs::write(copies.join("buh/foreign.zip"), "not ours").unwrap();
    fs::write(copies.join("zup/zup_old.zip"), "zup's").unwrap();
    let (code, v1, err) = backup(&w, &[]);
    assert_eq!(code, 0, "{v1}\n{err}");
    rusqlite::Connection::open(w.backups.join("app.sqlite3"))
        .unwrap()
        .execute(
            "INSERT INTO offsite_uploads (target, run_id, base, object, bytes, duration_ms, \
             verified, status, started, finished) VALUES ('offsite', 999, 'zup', \
             'zup/zup_old.zip', 5, 1, 'read', 'ok', '2020-01-01T00:00:00.000Z', \
             '2020-01-01T00:00:00.000Z')",
            [],
        )
        .unwrap();
    let first = format!("buh/{}", file_name(v1["archive"].as_str().unwrap()));
    std::thread::sleep(Duration::from_millis(1100));
    let (code, v2, err) = backup(&w, &[]);
    assert_eq!(code, 0, "{v2}\n{err}");
    let second = format!("buh/{}", file_name(v2["archive"].as_str().unwrap()));
    assert_eq!(v2["offsite"]["pruned"], serde_json::json!([first]), "{v2}");
    assert_eq!(
        files(&copies),
        [
            second.clone(),
            "buh/foreign.zip".into(),
            "zup/zup_old.zip".into()
        ]
    );
    let runs = w.runs();
    assert_eq!(
        runs[1]["offsite"],
        serde_json::json!([]),
        "the pruned copy is gone"
    );
    let (code, plan, _) = w.json(&["offsite", "prune", "--dry-run", "--json"], &[]);
    assert_eq!(code, 0);
    assert_eq!(plan[0]["plan"].as_array().unwrap().len(), 1, "{plan}");
    assert_eq!(plan[0]["plan"][0]["keep"], true);
}

#[test]
fn restore_and_drill_from_the_target_and_a_tampered_copy_fails_loudly() {
    let (w, copies) = world();
    let (code, v, err) = backup(&w, &[]);
    assert_eq!(code, 0, "{v}\n{err}");
    let archive = PathBuf::from(v["archive"].as_str().unwrap());
    let object = copies.join(format!("buh/{}", file_name(&archive.to_string_lossy())));
    // The local archive is gone: the copy is all there is.
    let kept = w.dir.path().join("kept.zip");
    fs::rename(&archive, &kept).unwrap();
    let to = w.dir.path().join("restored");
    let (code, r, err) = w.json(
        &[
            "restore",
            "latest",
            "--from",
            "offsite",
            "--to",
            &to.display().to_string(),
            "--json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{r}\n{err}");
    assert_eq!(r["ok"], true);
    assert!(to.join("1Cv8.1CD").is_file());
    let leftovers: Vec<_> = fs::read_dir(w.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("offsite-download"))
        .collect();
    assert!(leftovers.is_empty(), "the download is removed");
    let (code, d, err) = w.json(&["drill", "--from", "offsite", "--json"], &[]);
    assert_eq!(code, 0, "{d}\n{err}");
    assert_eq!(d["status"], "ok", "{d}");
    // By name too.
    let to2 = w.dir.path().join("restored2");
    let (code, r, err) = w.json(
        &[
            "restore",
            &file_name(&archive.to_string_lossy()),
            "--from",
            "offsite",
            "--to",
            &to2.display().to_string(),
            "--json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{r}\n{err}");
    // Tampered on the target: same size, other bytes.
    let mut bytes = fs::read(&object).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&object, &bytes).unwrap();
    let to3 = w.dir.path().join("restored3");
    let out = w
        .cmd()
        .args(["restore", "latest", "--from", "offsite", "--to"])
        .arg(&to3)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("does NOT match"), "{stderr}");
    assert!(!to3.join("1Cv8.1CD").exists());
    let (code, d, _) = w.json(&["drill", "--from", "offsite", "--json"], &[]);
    assert_eq!(code, 1);
    assert_eq!(d["status"], "failed", "{d}");
    assert!(
        d["reason"].as_str().unwrap().contains("does NOT match"),
        "{d}"
    );
    let out = w
        .cmd()
        .args(["drill", "--from", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("configured targets: offsite"));
}

#[test]
fn offsite_credentials_never_show() {
    let (mut w, _) = world();
    let secrets = [
        ("OFFSITE_PASSWORD", "offsite-pw-7Q1"),
        ("OFFSITE_SECRET_ACCESS_KEY", "offsite-sak-9Z2"),
        ("OFFSITE_KEY_PASSPHRASE", "offsite-kp-4X8"),
    ];
    for (k, v) in secrets {
        w.set(k, v);
    }
    w.set("OFFSITE_USER", "backup");
    w.set("LOG_LEVEL", "debug");
    let check = w.cmd().args(["config", "check"]).output().unwrap();
    let mut seen = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(seen.contains("OFFSITE_PASSWORD"), "{seen}");
    let (code, v, err) = backup(&w, &[]);
    assert_eq!(code, 0, "{v}\n{err}");
    seen += &format!("{v}{err}");
    // A failing upload's error too.
    let blocker = w.dir.path().join("blocker");
    fs::write(&blocker, "x").unwrap();
    w.set("OFFSITE_URL", &blocker.join("c").display().to_string());
    let (_, v, err) = backup(&w, &[]);
    seen += &format!("{v}{err}");
    for args in [
        &["offsite", "status", "--json"][..],
        &["list", "--json"],
        &["offsite", "push", "--json"],
    ] {
        let out = w.cmd().args(args).output().unwrap();
        seen += &String::from_utf8_lossy(&out.stdout);
        seen += &String::from_utf8_lossy(&out.stderr);
    }
    seen += &w.log_text();
    let db = w.history_bytes();
    for (k, s) in secrets {
        assert!(!seen.contains(s), "{k} shown:\n{seen}");
        assert!(!contains(&db, s), "{k} in the history database");
    }
    assert!(seen.contains("***"));
}

// Stopping the agent by SIGTERM is a Unix-only helper.
#[cfg(unix)]
#[test]
fn the_agent_uploads_what_a_console_backup_only_queued() {
    let (w, copies) = world();
    let mut agent = w.agent(&[]);
    let (code, v, err) = backup(&w, &["--no-offsite"]);
    assert_eq!(code, 0, "{v}\n{err}");
    let archive = v["archive"].as_str().unwrap().to_string();
    let object = copies.join(format!("buh/{}", file_name(&archive)));
    // The backup feed sees the other process's run within seconds.
    wait_for("the agent to upload it", Duration::from_secs(30), || {
        w.runs()[0]["offsite"] == serde_json::json!(["offsite"])
    });
    assert_eq!(fs::read(&object).unwrap(), fs::read(&archive).unwrap());
    assert_eq!(agent.stop(Duration::from_secs(20)), 0, "{}", agent.stderr());
    let log = w.log_text();
    assert!(log.contains("offsite: uploaded"), "{log}");
}

/// The value of the sample `series` (name and labels as exposed) in a
/// scrape, if there is one.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Visible everywhere: with the agent running (and the bot talking to the
/// fake Bot API), console uploads to a failing folder target are told
/// once (not once per retry), counted in `/api/metrics.prom`, degrade the
/// `offsite` check of `/api/health` and show in `/status`; when the
/// target comes back, the first good upload is told once as a recovery,
/// the queue empties and the check is ok again. No secret in any notice.
#[test]
fn a_failing_then_working_target_is_told_once_each_and_shows_in_metrics_and_health() {
    use crate::util::fake_telegram::{FakeTelegram, check_html};
    const ADMIN: i64 = 111;
    let (mut w, _) = world();
    let blocker = w.dir.path().join("blocker");
    fs::write(&blocker, "not a folder").unwrap();
    let copies = blocker.join("copies");
    w.set("OFFSITE_URL", &copies.display().to_string());
    let secret = "offsite-pw-V1s";
    w.set("OFFSITE_PASSWORD", secret);
    let tg = FakeTelegram::start();
    let agent = tg.agent(
        &w,
        "123:TESTSECRETTOKENxyz",
        ADMIN,
        &[("BOT_LANGUAGE", "en")],
    );
    let failing = "The offsite copy of buh to offsite is failing";
    let recovered = "Offsite copies of <b>buh</b> to <b>offsite</b> work again";
    let told = |needle: &str| {
        tg.calls_of("sendMessage")
            .iter()
            .filter(|c| c.text().contains(needle))
            .count()
    };

    // Two console backups: both upload attempts fail, the local runs are ok.
    let (code, v, err) = backup(&w, &[]);
    assert_eq!(code, 1, "{v}\n{err}");
    assert_eq!(v["status"], "ok", "{v}");
    let notice = tg.wait_message(ADMIN, failing, Duration::from_secs(30));
    check_html(&notice.text()).unwrap();
    assert!(
        notice.text().contains("cannot create the folder"),
        "the row's error: {}",
        notice.text()
    );
    std::thread::sleep(Duration::from_millis(1100));
    let (code, v, err) = backup(&w, &[]);
    assert_eq!(code, 1, "{v}\n{err}");
    let out = w.cmd().args(["offsite", "push"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Every failed attempt is counted; the agent has read them all.
    let mut m = String::new();
    wait_for(
        "three failures in the metrics",
        Duration::from_secs(30),
        || {
            m = agent.metrics();
            sample(
                &m,
                "onec_offsite_uploads_total{target=\"offsite\",status=\"failed\"}",
            )
            .is_some_and(|n| n >= 3.0)
        },
    );
    assert_eq!(
        sample(
            &m,
            "onec_offsite_uploads_total{target=\"offsite\",status=\"ok\"}"
        ),
        Some(0.0),
        "{m}"
    );
    let queued = sample(&m, "onec_offsite_queue_bytes{target=\"offsite\"}").unwrap();
    let archives: u64 = w
        .runs()
        .iter()
        .map(|r| r["archive_size"].as_u64().unwrap())
        .sum();
    assert_eq!(queued, archives as f64, "both archives wait: {m}");
    assert_eq!(
        sample(&m, "onec_offsite_stale{base=\"buh\",target=\"offsite\"}"),
        Some(0.0),
        "a new target is not stale at once: {m}"
    );
    assert!(
        !m.contains("onec_offsite_last_success_timestamp_seconds{"),
        "no copy yet: {m}"
    );
    let health = agent.health();
    let check = &health["checks"]["offsite"]["buh"]["offsite"];
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(check["ok"], false, "{health}");
    assert_eq!(check["last_status"], "failed", "{health}");
    assert_eq!(
        check["problem"], "the last upload of buh to offsite target offsite failed",
        "{health}"
    );
    // Retries are not told again (the feed reads every 5 s).
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(told(failing), 1, "{:?}", tg.calls_of("sendMessage"));
    // `/status` shows the target, no copy yet, failing, two queued.
    tg.send_text(ADMIN, "/status");
    let status = tg.wait_message(ADMIN, "Offsite copies:", Duration::from_secs(30));
    let text = status.text();
    assert!(
        text.contains("☁️ offsite: no copy yet ✖ uploads failing, 2 queued"),
        "{text}"
    );

    // The target comes back: a push uploads both, told once.
    fs::remove_file(&blocker).unwrap();
    let (code, pushed, err) = w.json(&["offsite", "push", "--json"], &[]);
    assert_eq!(code, 0, "{pushed}\n{err}");
    let back = tg.wait_message(ADMIN, recovered, Duration::from_secs(30));
    check_html(&back.text()).unwrap();
    let mut m = String::new();
    wait_for("the copies in the metrics", Duration::from_secs(30), || {
        m = agent.metrics();
        sample(&m, "onec_offsite_queue_bytes{target=\"offsite\"}") == Some(0.0)
    });
    assert_eq!(
        sample(
            &m,
            "onec_offsite_uploads_total{target=\"offsite\",status=\"ok\"}"
        ),
        Some(2.0),
        "{m}"
    );
    let last = sample(
        &m,
        "onec_offsite_last_success_timestamp_seconds{base=\"buh\",target=\"offsite\"}",
    )
    .unwrap_or_else(|| panic!("no last success in\n{m}"));
    let now = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
    assert!((now - last).abs() < 120.0, "{last} vs {now}");
    let health = agent.health();
    let check = &health["checks"]["offsite"]["buh"]["offsite"];
    assert_eq!(check["ok"], true, "{health}");
    assert_eq!(check["queued"], 0, "{health}");
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(told(recovered), 1, "{:?}", tg.calls_of("sendMessage"));
    assert_eq!(told(failing), 1);
    tg.send_text(ADMIN, "/bases");
    let bases = tg.wait_message(ADMIN, "☁️ offsite: copy ", Duration::from_secs(30));
    assert!(!bases.text().contains('✖'), "{}", bases.text());
    for c in tg.calls() {
        assert!(!c.text().contains(secret), "a secret in {}", c.text());
    }
    assert!(!agent.stderr().contains(secret));
}
