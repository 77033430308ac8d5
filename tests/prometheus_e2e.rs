//! The real binary scraped by real tools: `promtool check metrics` on a
//! live scrape (only the documented findings about the prototype's names),
//! and a real Prometheus on loopback scraping the agent every second, then
//! evaluating every dashboard expression (`scripts/check-deploy.sh
//! --list-exprs`) and every alert expression through its HTTP API: each
//! must return data. Alerts that are legitimately empty on a healthy host
//! (`> 90` thresholds) must be valid, and return data without their
//! comparison. Skipped, with a note, when promtool or prometheus is absent.
#![cfg(unix)]

mod common;

use common::World;
use common::net::{Proc, free_port, get, spawn, urlencode, wait_for};
use onec_backup_bot::export::EXPECTED_LINT;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The world with one finished backup, a process that looks like a 1C
/// client, and the agent listening on a free port.
struct Setup {
    w: World,
    port: u16,
    _agent: Proc,
    _client: Proc,
}

fn setup() -> Setup {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    w.cmd().arg("backup").assert().success();
    // `1cv8c` is a 1C client name: a copy of sleep under that name.
    let client_exe = w.dir.path().join("1cv8c");
    std::fs::copy("/bin/sleep", &client_exe).unwrap();
    let client = Proc(spawn(Command::new(&client_exe).arg("300")));
    let port = free_port();
    let mut c = w.run_command(port);
    c
        // A push sink whose target is down, so the sink panels have data.
        .env(
            "PROMETHEUS_PUSHGATEWAY_URL",
            format!("http://127.0.0.1:{}", free_port()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let agent = Proc(c.spawn().unwrap());
    wait_for("the agent to listen", Duration::from_secs(20), || {
        get(port, "/api/health").0 != 0
    });
    Setup {
        w,
        port,
        _agent: agent,
        _client: client,
    }
}

#[test]
fn promtool_finds_only_the_prototype_names_on_a_live_scrape() {
    common::servers::require("promtool", "prometheus");
    let s = setup();
    let (status, text) = get(s.port, "/api/metrics.prom");
    assert_eq!(status, 200);
    let mut child = Command::new("/usr/bin/promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let mut seen = Vec::new();
    for line in all.lines().filter(|l| !l.trim().is_empty()) {
        let (name, msg) = line.split_once(' ').unwrap_or((line, ""));
        assert!(
            EXPECTED_LINT.contains(&(name, msg.trim())),
            "unexpected promtool finding: {line}\n{all}"
        );
        seen.push(line.to_string());
    }
    assert_eq!(seen.len(), EXPECTED_LINT.len(), "{all}");
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(text.contains("onec_1c_client_processes{user="), "{text}");
}

/// Prometheus' answer to an instant query: (status, number of series).
fn query(port: u16, expr: &str) -> (String, usize, Value) {
    let (code, body) = get(port, &format!("/api/v1/query?query={}", urlencode(expr)));
    let v: Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{e}: HTTP {code}: {body} for {expr}"));
    let n = v["data"]["result"].as_array().map_or(0, |a| a.len());
    (v["status"].as_str().unwrap_or("").to_string(), n, v)
}

/// `expr` without its threshold comparison(s): `a > 90` → `a`; each side
/// of a top-level `or` is stripped separately.
fn without_comparison(expr: &str) -> String {
    expr.split("\n")
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .split(" or ")
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
        .collect::<Vec<_>>()
        .join(" or ")
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
}

#[test]
fn real_prometheus_scrapes_and_every_dashboard_and_alert_expression_has_data() {
    common::servers::require("prometheus", "prometheus");
    let s = setup();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("scripts/check-deploy.sh"))
        .arg("--list-exprs")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dash: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
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
    let dir = s.w.dir.path().join("prom");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let cfg = dir.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: onec-backup-bot\n    metrics_path: /api/metrics.prom\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            s.port
        ),
    )
    .unwrap();
    let _prom = Proc(
        Command::new("/usr/bin/prometheus")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{pport}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for("prometheus to be ready", Duration::from_secs(60), || {
        get(pport, "/-/ready").0 == 200
    });
    wait_for("3 successful scrapes", Duration::from_secs(60), || {
        let (_, n, v) = query(pport, "sum_over_time(up{job=\"onec-backup-bot\"}[1m]) >= 3");
        n == 1 && v["status"] == "success"
    });

    // Sessions come from utmp; a host with nobody logged in has none.
    let (_, metrics) = get(s.port, "/api/metrics");
    let m: Value = serde_json::from_str(&metrics).unwrap();
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
            let (st, n, v) = query(pport, &bare);
            assert_eq!(st, "success", "alert {name}: {bare}: {v}");
            assert!(n > 0, "alert {name}: {bare} returns no data");
        }
    }
}
