//! End to end over real HTTP: the real binary `onec-backup-bot run` on a
//! free loopback port, a generated base, the fake 1C. Every route listed in
//! `/api/openapi.json` is called and must answer one of its documented
//! status codes; auth on and off; bad parameters; a backup started over
//! HTTP shows up as ok in `/api/backups`; a second start while one runs is
//! 409 with the stage; SIGTERM stops the agent with exit code 0.
#![cfg(unix)]

use crate::util::World;
use crate::util::http::get;
use crate::util::proc::{listen, wait_for};
use serde_json::Value;
use std::time::Duration;

const TOKEN: &str = "write-Tok3n-very-secret";
const READ_TOKEN: &str = "read-Tok3n-also-secret";

/// Documented status codes of `method path`.
fn documented(spec: &Value, path: &str, method: &str) -> Vec<u16> {
    spec["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not in the spec"))
        .keys()
        .map(|k| k.parse().unwrap())
        .collect()
}

#[test]
fn every_documented_route_answers_a_documented_code_and_a_backup_runs() {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    let mut agent = w.agent(&[("API_TOKEN", TOKEN)]);
    assert!(
        agent.stderr().contains(&format!(
            "HTTP API listening on http://127.0.0.1:{}",
            agent.port
        )),
        "{}",
        agent.stderr()
    );

    let spec = agent.request("GET", "/api/openapi.json", None).json();
    let paths = spec["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 7, "{spec}");
    // Walk the spec: every path and method, with and without the token.
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            if method == "post" {
                continue; // starting a backup is checked below
            }
            let codes = documented(&spec, path, method);
            for token in [None, Some(TOKEN), Some("wrong")] {
                let r = agent.request(&method.to_uppercase(), path, token);
                assert!(
                    codes.contains(&r.status),
                    "{method} {path} answered {} (documented {codes:?}): {}",
                    r.status,
                    r.text()
                );
                if r.status >= 400 {
                    assert!(r.json()["error"].is_string(), "{path}: {}", r.text());
                }
            }
        }
    }
    // Before any backup, the last backup is a documented 404.
    let r = agent.request("GET", "/api/backup/last", None);
    assert_eq!(r.status, 404, "{}", r.text());

    // Starting a backup: no token, wrong token, unknown base, then for real.
    let post = documented(&spec, "/api/backup", "post");
    for (token, target, code) in [
        (None, "/api/backup", 401),
        (Some("wrong"), "/api/backup", 401),
        (Some(TOKEN), "/api/backup?base=nope", 404),
        (Some(TOKEN), "/api/backup?bogus=1", 400),
    ] {
        let r = agent.request("POST", target, token);
        assert_eq!(r.status, code, "POST {target}: {}", r.text());
        assert!(post.contains(&r.status));
        assert!(!r.text().contains(TOKEN), "the token is never echoed");
    }
    let r = agent.request("POST", "/api/backup?base=buh", Some(TOKEN));
    assert_eq!(r.status, 202, "{}", r.text());
    let started = r.json();
    assert_eq!(started["base"], "buh");
    let run_id = started["run_id"].as_i64().expect("a run id");

    wait_for("the run to finish ok", Duration::from_secs(60), || {
        let v = agent
            .request("GET", "/api/backups?limit=5&base=buh", None)
            .json();
        v["runs"][0]["id"] == run_id && v["runs"][0]["status"] == "ok"
    });
    let last = agent.request("GET", "/api/backup/last?base=buh", None);
    assert_eq!(last.status, 200, "{}", last.text());
    assert_eq!(last.json()["status"], "ok");
    assert!(last.json()["size_bytes"].as_u64().unwrap() > 0);

    // Metrics follow within the refresh interval.
    let mut seen = String::new();
    wait_for("backup metrics", Duration::from_secs(15), || {
        let t = agent.request("GET", "/api/metrics.prom", None).text();
        seen = t
            .lines()
            .filter(|l| l.starts_with("onec_backup"))
            .collect::<Vec<_>>()
            .join("\n");
        t.contains("\nonec_backup_status 1\n")
            && t.contains("onec_backup_runs_total{base=\"buh\",status=\"ok\"} 1\n")
            && t.contains("onec_backup_archives{base=\"buh\"} 1\n")
    });
    assert!(
        seen.contains("onec_backup_running{base=\"buh\"} 0"),
        "{seen}"
    );
    let prom = agent.request("GET", "/api/metrics.prom", None);
    assert!(
        prom.head.contains("text/plain; version=0.0.4"),
        "{}",
        prom.head
    );
    let json = agent.request("GET", "/api/metrics", None).json();
    for key in [
        "timestamp",
        "timestamp_unix",
        "system",
        "uptime_seconds",
        "cpu_percent",
        "cpu",
        "memory_percent",
        "memory",
        "disk_percent",
        "disk",
        "disk_io",
        "network",
        "processes",
        "logged_users",
        "logged_users_count",
        "rdp_sessions",
        "rdp_active_count",
    ] {
        assert!(json.get(key).is_some(), "missing {key} in {json}");
    }
    assert!(json["disk"]["all_disks"].is_array());
    assert!(json["processes"]["total_count"].as_u64().unwrap() > 0);
    assert!(json["processes"]["top_cpu"].is_array());
    let health = agent.request("GET", "/api/health", None);
    let h = health.json();
    assert_eq!(h["last_backup"]["status"], "ok", "{h}");
    assert!(
        h["checks"]["backups"]["buh"]["ok"].as_bool().unwrap(),
        "{h}"
    );

    // Garbage never breaks it.
    for target in [
        &b"/api/backups?limit=-5"[..],
        b"/api/backups?limit=184467440737095516150",
        b"/api/backups?limit=%FF",
        b"/api/backups?base=%C0%AF",
        b"/api/backups?\xff\xfe=1",
        b"/api/metrics.prom?\x01",
        b"/api/%FF%FF",
        b"/../../etc/passwd",
    ] {
        let r = get(agent.port, target);
        assert!(
            [400, 404].contains(&r.status),
            "{}: {} {}",
            String::from_utf8_lossy(target),
            r.status,
            r.text()
        );
    }
    assert_eq!(agent.request("GET", "/api/health", None).status, 200);

    assert_eq!(agent.stop(Duration::from_secs(40)), 0);
    assert!(
        !agent.stderr().contains(TOKEN),
        "the token never reaches the log"
    );
}

#[test]
fn read_token_protects_reads_and_no_api_token_means_403() {
    let w = World::new(16);
    let mut agent = w.agent(&[("API_READ_TOKEN", READ_TOKEN)]);
    for path in [
        "/api/metrics.prom",
        "/api/metrics",
        "/api/health",
        "/api/backups",
        "/api/backup/last",
    ] {
        let r = agent.request("GET", path, None);
        assert_eq!(r.status, 401, "{path}: {}", r.text());
        assert!(r.error().contains("API_READ_TOKEN"));
        assert_eq!(
            agent.request("GET", path, Some("nope")).status,
            401,
            "{path}"
        );
        let ok = agent.request("GET", path, Some(READ_TOKEN));
        assert!([200, 404].contains(&ok.status), "{path}: {}", ok.status);
        assert!(!ok.text().contains(READ_TOKEN));
    }
    let r = agent.request("POST", "/api/backup", Some(READ_TOKEN));
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.error().contains("set API_TOKEN"));
    assert_eq!(agent.stop(Duration::from_secs(20)), 0);
    assert!(!agent.stderr().contains(READ_TOKEN));
}

#[test]
fn second_start_while_running_is_409_with_the_stage() {
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "dump");
    let mut agent = w.agent(&[
        ("API_TOKEN", TOKEN),
        ("FAKE_1C_MODE", "slow"),
        ("FAKE_1C_SLEEP_MS", "3000"),
    ]);
    let r = agent.request("POST", "/api/backup", Some(TOKEN));
    assert_eq!(r.status, 202, "{}", r.text());
    let r = agent.request("POST", "/api/backup?base=buh", Some(TOKEN));
    assert_eq!(r.status, 409, "{}", r.text());
    let v = r.json();
    assert!(
        v["error"].as_str().unwrap().contains("already running"),
        "{v}"
    );
    assert!(v["stage"].is_string(), "{v}");
    let t = agent.request("GET", "/api/backups", None).json();
    assert_eq!(t["running"][0]["base"], "buh", "{t}");
    // SIGTERM while the dump runs: the agent lets it finish and exits 0.
    assert_eq!(agent.stop(Duration::from_secs(40)), 0);
    // Newest first: the refused request is recorded as skipped, the first
    // run finished ok.
    let list = w.list_json();
    assert_eq!(list[0]["status"], "skipped", "{list}");
    assert!(
        list[0]["error"]
            .as_str()
            .unwrap()
            .contains("already running")
    );
    assert_eq!(list[1]["status"], "ok", "{list}");
}

#[test]
fn a_busy_port_is_logged_and_the_agent_keeps_running() {
    let w = World::new(16);
    let taken = listen();
    let port = taken.local_addr().unwrap().port();
    let mut agent = w.start_agent(&[("API_PORT", &port.to_string())]);
    wait_for("the bind error", Duration::from_secs(20), || {
        agent.stderr().contains(&format!("127.0.0.1:{port}"))
    });
    let logs = agent.stderr();
    assert!(logs.contains("API_PORT"), "{logs}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(agent.running(), "still running");
    assert_eq!(agent.stop(Duration::from_secs(20)), 0);
}
