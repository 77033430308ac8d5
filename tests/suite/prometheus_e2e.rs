//! The real binary scraped by real tools: `promtool check metrics` on a
//! live scrape (only the documented findings about the prototype's names),
//! and a real Prometheus on loopback scraping the agent every second, then
//! evaluating every dashboard expression (`scripts/check-deploy.sh
//! --list-exprs`) and every alert expression through its HTTP API: each
//! must return data. Alerts that are legitimately empty on a healthy host
//! (`> 90` thresholds) must be valid, and return data without their
//! comparison. A missing promtool or prometheus fails the test, naming
//! the Debian package.
#![cfg(unix)]

use crate::util::proc::{Proc, free_port, spawn, wait_for};
use crate::util::servers::{prom_answer, prometheus, promtool_check_metrics};
use crate::util::{Agent, World, heavy, ok_stdout};
use onec_backup_bot::export::EXPECTED_LINT;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The world with one finished backup and restore drill, a process that looks like a 1C
/// client, and the agent listening on a free port.
struct Setup {
    w: World,
    agent: Agent,
    _client: Proc,
}

fn setup() -> Setup {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    // Two offsite folder targets, one working and one failing (its folder
    // would sit under a plain file), so every offsite panel and both parts
    // of the upload alert have data.
    let blocker = w.dir.path().join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    let yaml = format!(
        "offsite:\n  - name: nas\n    url: '{}'\n  - name: broken\n    url: '{}'\n",
        w.dir.path().join("copies").display(),
        blocker.join("copies").display()
    );
    std::fs::write(w.dir.path().join("config.yaml"), yaml).unwrap();
    w.cmd().args(["backup", "--no-offsite"]).assert().success();
    // `broken` fails, so the push exits 1; `nas` gets its copy.
    w.cmd().args(["offsite", "push"]).assert().code(1);
    // A restore drill, so the drill metrics and alerts have data.
    w.cmd().arg("drill").assert().success();
    // `1cv8c` is a 1C client name: a copy of sleep under that name.
    let client_exe = w.dir.path().join("1cv8c");
    std::fs::copy("/bin/sleep", &client_exe).unwrap();
    let client = spawn(Command::new(&client_exe).arg("300"));
    // A push sink whose target is down, so the sink panels have data.
    let pushgateway = format!("http://127.0.0.1:{}", free_port());
    let agent = w.agent(&[("PROMETHEUS_PUSHGATEWAY_URL", &pushgateway)]);
    Setup {
        w,
        agent,
        _client: client,
    }
}

#[test]
fn promtool_finds_only_the_prototype_names_on_a_live_scrape() {
    let s = setup();
    let r = s.agent.request("GET", "/api/metrics.prom", None);
    assert_eq!(r.status, 200);
    let text = r.text();
    let (code, all) = promtool_check_metrics(&text);
    let mut seen: Vec<(&str, &str)> = all
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (name, msg) = line.split_once(' ').unwrap_or((line, ""));
            (name, msg.trim())
        })
        .collect();
    let mut expected = EXPECTED_LINT.to_vec();
    seen.sort_unstable();
    expected.sort_unstable();
    assert_eq!(seen, expected, "promtool's findings:\n{all}");
    assert_eq!(code, Some(3), "{all}");
    assert!(text.contains("onec_1c_client_processes{user="), "{text}");
}

/// Prometheus' answer to an instant query: (status, number of series,
/// the whole answer).
fn query(port: u16, expr: &str) -> (String, usize, Value) {
    let v = prom_answer(port, expr);
    let n = v["data"]["result"].as_array().map_or(0, |a| a.len());
    (v["status"].as_str().unwrap_or("").to_string(), n, v)
}

/// `expr` without its threshold comparison(s): `a > 90` → `a`; each side
/// of a top-level `or` is stripped separately.
fn without_comparison(expr: &str) -> String {
    parts(expr).join(" or ")
}

/// The operands of a top-level `or` or `unless` (with its `on (…)`),
/// each without its threshold comparison: every one must name series
/// that exist.
fn parts(expr: &str) -> Vec<String> {
    let flat = expr
        .split("\n")
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let mut pieces = Vec::new();
    for p in flat.split(" or ") {
        match p.split_once(" unless ") {
            Some((a, b)) => {
                let b = b.trim();
                let b = match b.strip_prefix("on (").and_then(|r| r.split_once(')')) {
                    Some((_, rest)) => rest,
                    None => b,
                };
                pieces.push(a.to_string());
                pieces.push(b.to_string());
            }
            None => pieces.push(p.to_string()),
        }
    }
    pieces
        .iter()
        .map(|part| {
            let part = part.trim();
            for op in ["==", "!=", ">=", "<=", ">", "<"] {
                if let Some(at) = part.rfind(op) {
                    let rhs = &part[at + op.len()..];
                    if rhs
                        .chars()
                        .all(|c| c.is_ascii_digit() || " .*+-".contains(c))
                    {
                        return part[..at].trim().to_string();
                    }
                }
            }
            part.to_string()
        })
        .collect()
}

#[test]
fn comparison_stripping() {
    assert_eq!(
        without_comparison("onec_cpu_percent > 90"),
        "onec_cpu_percent"
    );
    assert_eq!(
        without_comparison("time() - max by (instance, base) (x) > 26 * 3600"),
        "time() - max by (instance, base) (x)"
    );
    assert_eq!(
        without_comparison("a > 90\n  or\n(b / c) * 100 < 10"),
        "a or (b / c) * 100"
    );
    assert_eq!(without_comparison("up{job=\"x\"} == 0"), "up{job=\"x\"}");
    assert_eq!(
        parts("increase(a[2h]) > 0\nunless on (job, target)\nincrease(b[2h]) > 0"),
        ["increase(a[2h])", "increase(b[2h])"]
    );
}

#[test]
fn real_prometheus_scrapes_and_every_dashboard_and_alert_expression_has_data() {
    let _heavy = heavy();
    let s = setup();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dash: Vec<String> = ok_stdout(
        Command::new("bash")
            .arg(root.join("scripts/check-deploy.sh"))
            .arg("--list-exprs")
            .output()
            .unwrap(),
    )
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(str::to_string)
    .collect();
    assert!(dash.len() > 40, "{dash:?}");
    let alerts_yml = std::fs::read_to_string(root.join("deploy/prometheus/alerts.yml")).unwrap();
    let alerts: serde_norway::Value = serde_norway::from_str(&alerts_yml).unwrap();
    let mut alert_exprs = Vec::new();
    for g in alerts["groups"].as_sequence().unwrap() {
        for r in g["rules"].as_sequence().unwrap() {
            if let Some(e) = r["expr"].as_str() {
                alert_exprs.push((
                    r["alert"].as_str().unwrap_or("?").to_string(),
                    e.trim().to_string(),
                ));
            }
        }
    }
    assert!(alert_exprs.len() >= 8, "{alert_exprs:?}");

    let pport = free_port();
    let _prom = prometheus(&s.w.dir.path().join("prom"), pport, Some(s.agent.port));
    wait_for("3 successful scrapes", Duration::from_secs(60), || {
        let (_, n, v) = query(pport, "sum_over_time(up{job=\"onec-backup-bot\"}[1m]) >= 3");
        n == 1 && v["status"] == "success"
    });

    // Sessions come from utmp; a host with nobody logged in has none.
    let m = s.agent.request("GET", "/api/metrics", None).json();
    let no_sessions = m["logged_users"].as_array().is_some_and(|a| a.is_empty());

    let mut empty = Vec::new();
    for e in &dash {
        let (st, n, v) = query(pport, e);
        assert_eq!(st, "success", "{e}: {v}");
        if n == 0 {
            if no_sessions && e.starts_with("onec_session_info") {
                eprintln!(
                    "note: {e} is empty: nobody is logged in on this host (no utmp sessions)"
                );
                continue;
            }
            empty.push(e.clone());
        }
    }
    assert!(
        empty.is_empty(),
        "dashboard expressions without data: {empty:#?}"
    );

    for (name, e) in &alert_exprs {
        let (st, n, v) = query(pport, e);
        assert_eq!(st, "success", "alert {name}: {e}: {v}");
        if n == 0 {
            let bare = without_comparison(e);
            assert_ne!(&bare, e, "alert {name} has no data and no threshold: {e}");
            for part in parts(e) {
                let (st, n, v) = query(pport, &part);
                assert_eq!(st, "success", "alert {name}: {part}: {v}");
                assert!(n > 0, "alert {name}: {part} returns no data");
            }
        }
    }
}
