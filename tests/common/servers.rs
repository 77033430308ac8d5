//! Real servers from Debian packages for the end-to-end tests, each on
//! 127.0.0.1 with a free port and its data in the test's temp folder,
//! killed when dropped: Prometheus (as a remote-write receiver),
//! Pushgateway and InfluxDB 1.x. A missing binary fails the test with the
//! package to install — it never passes silently.

use super::net::{Proc, free_port, get, request, urlencode, wait_for};
use serde_json::Value;
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

fn spawn(mut c: Command, log: PathBuf) -> Proc {
    c.stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    Proc(c.spawn().unwrap())
}

/// Prometheus with `--web.enable-remote-write-receiver` on `port`
/// (scraping nothing), data under `dir`.
pub fn prometheus_receiver(dir: &Path, port: u16) -> Server {
    let bin = require("prometheus", "prometheus");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let cfg = dir.join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 15s\n").unwrap();
    let log = dir.join("prometheus.log");
    let mut c = Command::new(bin);
    c.arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver");
    let proc = spawn(c, log.clone());
    wait_for("prometheus to be ready", Duration::from_secs(60), || {
        get(port, "/-/ready").0 == 200
    });
    Server {
        port,
        log,
        _proc: proc,
    }
}

/// An instant query: the `data.result` array.
pub fn prom_query(port: u16, expr: &str) -> Vec<Value> {
    let (code, body) = get(port, &format!("/api/v1/query?query={}", urlencode(expr)));
    let v: Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{e}: HTTP {code}: {body} for {expr}"));
    assert_eq!(v["status"], "success", "{expr}: {v}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// The Pushgateway on a free port.
pub fn pushgateway(dir: &Path) -> Server {
    let bin = require("prometheus-pushgateway", "prometheus-pushgateway");
    let port = free_port();
    let log = dir.join("pushgateway.log");
    let mut c = Command::new(bin);
    c.arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let proc = spawn(c, log.clone());
    wait_for(
        "the pushgateway to be ready",
        Duration::from_secs(30),
        || get(port, "/-/ready").0 == 200,
    );
    Server {
        port,
        log,
        _proc: proc,
    }
}

/// InfluxDB 1.x with HTTP auth on, bound to 127.0.0.1 (HTTP and the
/// backup RPC port), data under `dir`, no usage reporting, no `_internal`
/// monitor database.
pub fn influxd(dir: &Path) -> Server {
    let bin = require("influxd", "influxdb");
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
    let log = dir.join("influxd.log");
    let mut c = Command::new(bin);
    c.arg("-config").arg(&cfg);
    let proc = spawn(c, log.clone());
    wait_for("influxd to answer /ping", Duration::from_secs(60), || {
        get(port, "/ping").0 == 204
    });
    Server {
        port,
        log,
        _proc: proc,
    }
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
    let (code, body) = request(port, "POST", &target, &[], b"");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: HTTP {code}: {body} for {q}"))
}
