//! Real servers and tools from Debian packages for the end-to-end tests.
//! Servers — Prometheus, Pushgateway, InfluxDB 1.x — each on 127.0.0.1
//! with its data in the test's temp folder, killed when dropped, started
//! only by a test holding [`super::heavy`]; and the one `promtool check
//! metrics` runner. A missing binary fails the test with the package to
//! install — it never passes silently.

use super::assert_heavy;
use super::http::{get, request, urlencode};
use super::proc::{Proc, free_port, spawn, wait_for};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `/usr/bin/<bin>`, or a failure naming the Debian package.
pub fn require(bin: &str, package: &str) -> PathBuf {
    let p = Path::new("/usr/bin").join(bin);
    assert!(
        p.exists(),
        "{} not found: install the Debian package `{package}` (scripts/test.sh does)",
        p.display()
    );
    p
}

/// A running server.
pub struct Server {
    pub port: u16,
    /// Its stderr, for failure messages.
    pub log: PathBuf,
    _proc: Proc,
}

impl Server {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Start `bin` from `package` on `port` with `args`, its stderr in
/// `dir/<bin>.log`, and wait up to a minute until `ready` (a path) answers
/// `code`.
fn start(
    (bin, package): (&str, &str),
    args: &[String],
    dir: &Path,
    port: u16,
    (ready, code): (&str, u16),
) -> Server {
    assert_heavy(bin);
    let exe = require(bin, package);
    let log = dir.join(format!("{bin}.log"));
    let proc = spawn(
        Command::new(exe)
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    wait_for(
        &format!("{bin} to answer {ready}"),
        Duration::from_secs(60),
        || get(port, ready).status == code,
    );
    Server {
        port,
        log,
        _proc: proc,
    }
}

/// Prometheus on `port` with `--web.enable-remote-write-receiver`, data
/// under `dir`; scraping the agent on `scrape` every second (and
/// evaluating every second) when given, else nothing.
pub fn prometheus(dir: &Path, port: u16, scrape: Option<u16>) -> Server {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let cfg = dir.join("prometheus.yml");
    let yaml = match scrape {
        None => "global:\n  scrape_interval: 15s\n".to_string(),
        Some(agent) => format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: onec-backup-bot\n    metrics_path: /api/metrics.prom\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{agent}']\n"
        ),
    };
    std::fs::write(&cfg, yaml).unwrap();
    let args = [
        format!("--config.file={}", cfg.display()),
        format!("--storage.tsdb.path={}", dir.join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--web.enable-remote-write-receiver".into(),
    ];
    start(
        ("prometheus", "prometheus"),
        &args,
        dir,
        port,
        ("/-/ready", 200),
    )
}

/// Prometheus' whole answer to an instant query (JSON).
pub fn prom_answer(port: u16, expr: &str) -> Value {
    let r = get(port, format!("/api/v1/query?query={}", urlencode(expr)));
    serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("{e}: HTTP {}: {} for {expr}", r.status, r.text()))
}

/// An instant query that must succeed: the `data.result` array.
pub fn prom_query(port: u16, expr: &str) -> Vec<Value> {
    let v = prom_answer(port, expr);
    assert_eq!(v["status"], "success", "{expr}: {v}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// `promtool check metrics` on `exposition`: its exit code and everything
/// it printed (stdout, then stderr).
pub fn promtool_check_metrics(exposition: &str) -> (Option<i32>, String) {
    let bin = require("promtool", "prometheus");
    let mut child = Command::new(bin)
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
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), all)
}

/// The Pushgateway on a free port.
pub fn pushgateway(dir: &Path) -> Server {
    let port = free_port();
    start(
        ("prometheus-pushgateway", "prometheus-pushgateway"),
        &[format!("--web.listen-address=127.0.0.1:{port}")],
        dir,
        port,
        ("/-/ready", 200),
    )
}

/// InfluxDB 1.x with HTTP auth on, bound to 127.0.0.1 (HTTP and the
/// backup RPC port), data under `dir`, no usage reporting, no `_internal`
/// monitor database.
pub fn influxd(dir: &Path) -> Server {
    let port = free_port();
    let rpc = free_port();
    for d in ["meta", "data", "wal"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let cfg = dir.join("influxdb.conf");
    std::fs::write(
        &cfg,
        format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
             [meta]\n  dir = \"{m}\"\n\
             [data]\n  dir = \"{d}\"\n  wal-dir = \"{w}\"\n  query-log-enabled = false\n\
             [monitor]\n  store-enabled = false\n\
             [http]\n  bind-address = \"127.0.0.1:{port}\"\n  auth-enabled = true\n  log-enabled = false\n",
            m = dir.join("meta").display(),
            d = dir.join("data").display(),
            w = dir.join("wal").display(),
        ),
    )
    .unwrap();
    start(
        ("influxd", "influxdb"),
        &["-config".into(), cfg.display().to_string()],
        dir,
        port,
        ("/ping", 204),
    )
}

/// An InfluxQL statement (`POST /query`), as `user`/`password` when given.
pub fn influx_query(port: u16, q: &str, auth: Option<(&str, &str)>, db: Option<&str>) -> Value {
    let mut target = format!("/query?q={}", urlencode(q));
    if let Some((u, p)) = auth {
        target.push_str(&format!("&u={}&p={}", urlencode(u), urlencode(p)));
    }
    if let Some(db) = db {
        target.push_str(&format!("&db={}", urlencode(db)));
    }
    let r = request(port, "POST", target, &[], b"");
    serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("{e}: HTTP {}: {} for {q}", r.status, r.text()))
}
