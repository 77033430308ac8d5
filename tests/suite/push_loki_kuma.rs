//! Loki and Uptime Kuma end to end, with the real agent and loopback
//! recorders checking the exact requests: Kuma hears a heartbeat, then
//! "Dump failed: …" (down, with the run's duration as ping) after a failed
//! backup, the heartbeat repeating that failure, then "Backup OK"; Loki
//! gets the backup events and the agent's error lines as JSON streams
//! labelled `job`, `host`, `level`, `base`, in order, with basic auth.
//! Neither the Kuma token nor the Loki password shows anywhere.
#![cfg(unix)]

use crate::util::http::base64;
use crate::util::proc::wait_for;
use crate::util::recorder::{Answer, Recorder, Request};
use crate::util::{Agent, World, host};
use serde_json::Value;
use std::time::Duration;

/// Query parameters, decoded (`+` is a space).
fn query(r: &Request) -> Vec<(String, String)> {
    let q = r.target.split_once('?').map(|x| x.1).unwrap_or("");
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), decode(v))
        })
        .collect()
}

fn decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// (status, msg, ping) of every Kuma push so far.
fn kuma(rec: &Recorder) -> Vec<(String, String, String)> {
    rec.requests()
        .iter()
        .map(|r| {
            let q = query(r);
            (
                param(&q, "status").unwrap_or("").to_string(),
                param(&q, "msg").unwrap_or("").to_string(),
                param(&q, "ping").unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Every Loki entry so far: (labels, ns, line).
fn loki(rec: &Recorder) -> Vec<(Value, i128, String)> {
    let mut out = Vec::new();
    for r in rec.requests() {
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        for s in v["streams"].as_array().unwrap() {
            for e in s["values"].as_array().unwrap() {
                out.push((
                    s["stream"].clone(),
                    e[0].as_str().unwrap().parse().unwrap(),
                    e[1].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

fn start_backup(agent: &Agent) {
    let r = agent.request("POST", "/api/backup", Some("api-tok"));
    assert_eq!(r.status, 202, "{}", r.text());
}

#[test]
fn kuma_and_loki_hear_about_backups_and_errors() {
    let w = World::new(32);
    let fake_env = w.bin.join("fake-1c.env");
    std::fs::write(&fake_env, "FAKE_1C_MODE=badcreds\n").unwrap();
    let kuma_rec = Recorder::start(Answer::Status(200, r#"{"ok":true}"#.into()));
    let loki_rec = Recorder::start(Answer::Status(204, String::new()));
    let agent = w.agent(&[
        ("METRICS_INTERVAL", "1"),
        ("API_TOKEN", "api-tok"),
        ("GRAFANA_LOKI_URL", &loki_rec.url()),
        ("GRAFANA_LOKI_USER", "loki-user"),
        ("GRAFANA_LOKI_PASSWORD", "loki-Pa55"),
        (
            "UPTIME_KUMA_PUSH_URL",
            &format!(
                "{}/api/push/KumaTok123?status=up&msg=OK&ping=",
                kuma_rec.url()
            ),
        ),
        ("UPTIME_KUMA_HEARTBEAT", "true"),
    ]);
    // The heartbeat: up, OK, the monitor's own query replaced.
    wait_for("a heartbeat", Duration::from_secs(20), || {
        !kuma_rec.requests().is_empty()
    });
    let first = &kuma_rec.requests()[0];
    assert_eq!(first.method, "GET");
    assert_eq!(first.path(), "/api/push/KumaTok123");
    assert_eq!(
        query(first),
        [
            ("status".to_string(), "up".to_string()),
            ("msg".into(), "OK".into()),
            ("ping".into(), String::new())
        ]
    );

    // A failed backup: Kuma goes down with the reason and the duration.
    start_backup(&agent);
    wait_for(
        "Kuma to hear of the failure",
        Duration::from_secs(60),
        || kuma(&kuma_rec).iter().any(|k| k.0 == "down"),
    );
    let down = kuma(&kuma_rec).into_iter().find(|k| k.0 == "down").unwrap();
    eprintln!("kuma after the failed backup: {down:?}");
    assert!(down.1.starts_with("Dump failed: "), "{down:?}");
    assert!(
        down.2.parse::<u64>().is_ok(),
        "ping is the duration in ms: {down:?}"
    );
    // The heartbeat keeps saying so.
    let n = kuma_rec.requests().len();
    wait_for(
        "heartbeats after the failure",
        Duration::from_secs(10),
        || kuma_rec.requests().len() >= n + 2,
    );
    assert!(
        kuma(&kuma_rec)[n..]
            .iter()
            .all(|k| k.0 == "down" && k.1 == down.1),
        "{:?}",
        &kuma(&kuma_rec)[n..]
    );

    // Loki: the event and the error line, labelled, in order.
    wait_for("Loki to get the failure", Duration::from_secs(20), || {
        let e = loki(&loki_rec);
        e.iter()
            .any(|x| x.2.starts_with("event=backup base=buh status=failed"))
            && e.iter().any(|x| x.2.starts_with("backup failed: "))
    });
    let req = &loki_rec.requests()[0];
    assert_eq!(
        (req.method.as_str(), req.path()),
        ("POST", "/loki/api/v1/push")
    );
    assert_eq!(req.header("Content-Type"), Some("application/json"));
    let auth = format!("Basic {}", base64(b"loki-user:loki-Pa55"));
    assert_eq!(req.header("Authorization"), Some(auth.as_str()));
    let entries = loki(&loki_rec);
    let h = host();
    let event = entries
        .iter()
        .find(|x| x.2.starts_with("event=backup"))
        .unwrap();
    assert_eq!(
        event.0,
        serde_json::json!({"job": "onec_backup_bot", "host": h, "level": "error", "base": "buh"})
    );
    assert!(
        event.2.contains(" trigger=api ") && event.2.contains(" message=\""),
        "{}",
        event.2
    );
    let line = entries
        .iter()
        .find(|x| x.2.starts_with("backup failed: "))
        .unwrap();
    assert_eq!(line.0["level"], "error");
    assert_eq!(line.0["base"], "buh");
    for (labels, _, _) in &entries {
        let keys: Vec<&String> = labels.as_object().unwrap().keys().collect();
        assert!(
            keys.iter()
                .all(|k| ["job", "host", "level", "base"].contains(&k.as_str())),
            "{labels}"
        );
    }
    let mut last: std::collections::HashMap<String, i128> = Default::default();
    for (labels, ns, _) in &entries {
        let prev = last.insert(labels.to_string(), *ns).unwrap_or(0);
        assert!(*ns > prev, "out of order in {labels}");
    }

    // A good backup: Kuma is up again.
    std::fs::write(&fake_env, "FAKE_1C_MODE=ok\n").unwrap();
    start_backup(&agent);
    wait_for("Kuma to hear Backup OK", Duration::from_secs(60), || {
        kuma(&kuma_rec)
            .iter()
            .any(|k| k.0 == "up" && k.1 == "Backup OK")
    });
    wait_for("Loki to get the success", Duration::from_secs(20), || {
        loki(&loki_rec)
            .iter()
            .any(|x| x.2.starts_with("event=backup base=buh status=ok") && x.0["level"] == "info")
    });

    // Sinks up; the token and the password nowhere to be seen.
    assert_eq!(agent.sink("uptime_kuma")["ok"], true);
    assert_eq!(agent.sink("loki")["ok"], true);
    let shown = format!("{}{}{}", w.log_text(), agent.health(), agent.metrics()) + &agent.stderr();
    assert!(
        !shown.contains("KumaTok123") && !shown.contains("loki-Pa55"),
        "{shown}"
    );
    assert_eq!(
        agent.sink("uptime_kuma")["target"],
        format!("{}/***", kuma_rec.url())
    );
}

#[test]
fn a_missing_kuma_monitor_is_one_log_line() {
    let w = World::new(32);
    let kuma_rec = Recorder::start(Answer::Status(
        404,
        r#"{"ok":false,"msg":"Monitor not found or not active."}"#.into(),
    ));
    let agent = w.agent(&[
        ("METRICS_INTERVAL", "1"),
        (
            "UPTIME_KUMA_PUSH_URL",
            &format!("{}/api/push/NoSuchTok", kuma_rec.url()),
        ),
        ("UPTIME_KUMA_HEARTBEAT", "yes"),
    ]);
    wait_for("three pushes", Duration::from_secs(20), || {
        kuma_rec.requests().len() >= 3
    });
    let s = agent.sink("uptime_kuma");
    assert_eq!(s["ok"], false);
    assert!(
        s["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 404: {\"ok\":false,\"msg\":\"Monitor not found"),
        "{s}"
    );
    let log = w.log_text();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Uptime Kuma push"))
        .collect();
    assert_eq!(
        lines.iter().filter(|l| l.contains("was refused")).count(),
        1,
        "{log}"
    );
    assert!(!log.contains("NoSuchTok"), "{log}");
}
