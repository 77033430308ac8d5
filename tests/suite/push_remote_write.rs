//! Prometheus remote write end to end, with the real agent: a real
//! Prometheus 2.42 (`--web.enable-remote-write-receiver`) stores our series
//! with the right values and labels; it is away for a while and then back,
//! and the queued samples arrive in order with their original times; the
//! exact request (headers, basic auth, protobuf) seen by a loopback
//! recorder; a target that refuses (400) costs one log line and no retry
//! storm; a full queue stays within its bound; a target that never answers
//! times out while the API and the other sinks carry on.
#![cfg(unix)]

use crate::util::http::base64;
use crate::util::proc::{free_port, wait_for};
use crate::util::recorder::{Answer, Recorder};
use crate::util::servers::{prom_query, prometheus};
use crate::util::{Agent, World, heavy, host};
use onec_backup_bot::push::prompb;
use serde_json::Value;
use std::time::{Duration, Instant};

fn world() -> World {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    w
}

/// A sample value from our own exposition.
fn exposed(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn real_prometheus_stores_our_series_with_values_and_labels() {
    let _heavy = heavy();
    let w = world();
    w.cmd().arg("backup").assert().success();
    let port = free_port();
    let prom = prometheus(&w.dir.path().join("prom"), port, None);
    let agent = w.agent(&[
        ("METRICS_INTERVAL", "1"),
        (
            "GRAFANA_PROMETHEUS_URL",
            &format!("http://127.0.0.1:{port}/api/v1/write"),
        ),
    ]);
    wait_for("our series in Prometheus", Duration::from_secs(30), || {
        !prom_query(port, "onec_agent_build_info").is_empty()
    });
    let r = prom_query(port, "onec_agent_build_info");
    assert_eq!(r.len(), 1, "{r:?}\n{}", prom.log_text());
    let m = &r[0]["metric"];
    assert_eq!(
        m,
        &serde_json::json!({
            "__name__": "onec_agent_build_info",
            "instance": host(),
            "job": "onec_backup_bot",
            "version": env!("CARGO_PKG_VERSION"),
        })
    );
    assert_eq!(r[0]["value"][1], "1");

    let r = prom_query(
        port,
        r#"onec_backup_runs_total{base="buh",status="ok",job="onec_backup_bot"}"#,
    );
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["value"][1], "1");
    // A value that does not change: the same as the agent's own scrape.
    let text = agent.metrics();
    let cores = exposed(&text, "onec_cpu_count_logical").unwrap();
    let r = prom_query(port, "onec_cpu_count_logical");
    assert_eq!(
        r[0]["value"][1].as_str().unwrap().parse::<f64>().unwrap(),
        cores
    );
    let per_core = prom_query(port, "onec_cpu_core_percent");
    assert_eq!(per_core.len() as f64, cores);
    assert!(
        per_core.iter().all(|s| s["metric"]["core"].is_string()),
        "{per_core:?}"
    );
    // The sink reports itself up, in health and in the metrics.
    let s = agent.sink("remote_write");
    assert_eq!(s["ok"], true, "{s}");
    assert_eq!(s["target"], format!("http://127.0.0.1:{port}/api/v1/write"));
    assert!(
        agent
            .metrics()
            .contains("onec_sink_up{sink=\"remote_write\"} 1"),
        "{}",
        agent.metrics()
    );
    let log = w.log_text();
    assert!(
        log.lines().any(|l| l.contains(" INFO ")
            && l.contains("Sent ")
            && l.contains(" metrics to Prometheus")),
        "{log}"
    );
}

#[test]
fn queued_samples_arrive_in_order_after_an_outage() {
    let _heavy = heavy();
    let w = world();
    let port = free_port();
    let mut agent = w.agent(&[
        ("METRICS_INTERVAL", "1"),
        (
            "GRAFANA_PROMETHEUS_URL",
            &format!("http://127.0.0.1:{port}/api/v1/write"),
        ),
    ]);
    let rss = |a: &Agent| exposed(&a.metrics(), "onec_agent_resident_memory_bytes");
    let outage_start = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
    // Nothing listens: the samples queue up.
    wait_for("the queue to grow", Duration::from_secs(20), || {
        agent.sink("remote_write")["queue_samples"].as_u64() > Some(200)
    });
    let rss_start = rss(&agent);
    std::thread::sleep(Duration::from_secs(12));
    let s = agent.sink("remote_write");
    assert_eq!(s["ok"], false, "{s}");
    assert!(
        s["last_error"]
            .as_str()
            .unwrap()
            .starts_with("cannot connect"),
        "{s}"
    );
    let queued = s["queue_samples"].as_u64().unwrap();
    let rss_end = rss(&agent);
    eprintln!(
        "outage: {queued} samples queued after ~15 s; agent RSS {:?} → {:?} bytes",
        rss_start, rss_end
    );
    // The target comes back.
    let prom = prometheus(&w.dir.path().join("prom"), port, None);
    let back = Instant::now();
    wait_for("the queue to drain", Duration::from_secs(60), || {
        agent.sink("remote_write")["queue_samples"] == 0
    });
    eprintln!(
        "queue drained {:?} after the target came back",
        back.elapsed()
    );
    // onec_timestamp_unix is the collection time: each stored sample must
    // carry its own time, none missing since the outage began.
    let r = prom_query(port, "onec_timestamp_unix[10m]");
    assert_eq!(r.len(), 1, "{r:?}\n{}", prom.log_text());
    let values = r[0]["values"].as_array().unwrap();
    let points: Vec<(f64, f64)> = values
        .iter()
        .map(|p| {
            (
                p[0].as_f64().unwrap(),
                p[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    // The sampler measures every 5 s; ticks with a repeated snapshot are
    // not sent again.
    assert!(points.len() >= 5, "{points:?}");
    assert!(
        points[0].0 <= outage_start + 7.0,
        "the first stored sample is from {} but the outage began at {outage_start}",
        points[0].0
    );
    for p in &points {
        assert!((p.0 - p.1).abs() < 0.002, "sample at {} says {}", p.0, p.1);
    }
    for pair in points.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap > 0.0 && gap < 7.0, "gap of {gap} s at {}", pair[0].0);
    }
    let log = w.log_text();
    let failed = log
        .lines()
        .filter(|l| l.contains("remote write to") && l.contains(" failed: "))
        .count();
    assert_eq!(failed, 1, "one warning for the whole outage:\n{log}");
    assert!(
        log.contains("metrics to Prometheus (recovered after"),
        "{log}"
    );
    assert!(
        !log.contains("was refused"),
        "nothing was out of order:\n{log}"
    );
    assert_eq!(agent.stop(Duration::from_secs(15)), 0);
}

#[test]
fn the_request_has_the_protocol_headers_basic_auth_and_sorted_labels() {
    let w = world();
    let rec = Recorder::start(Answer::Status(204, String::new()));
    let agent = w.agent(&[
        ("METRICS_INTERVAL", "1"),
        (
            "GRAFANA_PROMETHEUS_URL",
            &format!("{}/api/prom/push", rec.url()),
        ),
        ("GRAFANA_PROMETHEUS_USER", "123456"),
        ("GRAFANA_PROMETHEUS_PASSWORD", "glc_s3cr3t-token"),
    ]);
    wait_for("two pushes", Duration::from_secs(30), || {
        rec.requests().len() >= 2
    });
    let req = &rec.requests()[1];
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/api/prom/push")
    );
    let expected_auth = format!("Basic {}", base64(b"123456:glc_s3cr3t-token"));
    for (k, v) in [
        ("Authorization", expected_auth.as_str()),
        ("Content-Encoding", "snappy"),
        ("Content-Type", "application/x-protobuf"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        (
            "User-Agent",
            concat!("onec-backup-bot/", env!("CARGO_PKG_VERSION")),
        ),
    ] {
        assert_eq!(req.header(k), Some(v), "{k}: {:?}", req.headers);
    }
    let wr = prompb::decode(&req.body).unwrap();
    assert!(wr.timeseries.len() > 50, "{}", wr.timeseries.len());
    let host = host();
    for ts in &wr.timeseries {
        let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names[0], "__name__");
        let get = |n: &str| {
            ts.labels
                .iter()
                .find(|l| l.name == n)
                .map(|l| l.value.as_str())
        };
        assert_eq!(get("job"), Some("onec_backup_bot"));
        assert_eq!(get("instance"), Some(host.as_str()));
        assert!(ts.labels.iter().all(|l| !l.value.is_empty()));
        assert_eq!(ts.samples.len(), 1);
    }
    // One tick per request here: one timestamp, within the last minute.
    let t = wr.timeseries[0].samples[0].timestamp;
    assert!(wr.timeseries.iter().all(|s| s.samples[0].timestamp == t));
    assert!((jiff::Timestamp::now().as_millisecond() - t).abs() < 60_000);
    let meta = wr
        .metadata
        .iter()
        .find(|m| m.metric_family_name == "onec_backup_runs_total")
        .unwrap();
    assert_eq!(meta.r#type, prompb::COUNTER);
    // The password appears nowhere the agent shows or writes.
    let shown = format!("{}{}{}", w.log_text(), agent.health(), agent.metrics()) + &agent.stderr();
    assert!(!shown.contains("glc_s3cr3t"), "{shown}");
}

#[test]
fn a_refusing_target_costs_one_log_line_and_no_retry_storm() {
    let w = world();
    let rec = Recorder::start(Answer::Status(400, "out of bounds".into()));
    let agent = w.agent(&[
        ("METRICS_INTERVAL", "1"),
        (
            "GRAFANA_PROMETHEUS_URL",
            &format!("{}/api/v1/write", rec.url()),
        ),
    ]);
    wait_for("the first refusal", Duration::from_secs(20), || {
        !rec.requests().is_empty()
    });
    let first = Instant::now();
    std::thread::sleep(Duration::from_secs(11));
    // One request per new snapshot (every 5 s) at most; ticks come every
    // second, so even one request per tick would be no storm.
    let n = rec.requests().len();
    let ticks = first.elapsed().as_secs_f64().ceil() as usize + 1;
    assert!(
        n <= ticks / 5 + 2,
        "{n} requests in {ticks} s: a retry storm"
    );
    assert!(n >= 2, "{n}");
    let s = agent.sink("remote_write");
    assert_eq!(s["ok"], false);
    assert_eq!(s["queue_samples"], 0, "refused samples are not kept: {s}");
    assert!(s["dropped_total"].as_u64() > Some(0), "{s}");
    assert_eq!(s["last_error"], "HTTP 400: out of bounds");
    assert!(s["errors_total"].as_u64() >= Some(n as u64 - 1), "{s}");
    let log = w.log_text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("was refused")).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].contains("WARN")
            && lines[0].contains("HTTP 400: out of bounds")
            && lines[0].contains("dropped, not retried"),
        "{}",
        lines[0]
    );
    // The agent itself is healthy: a sink never degrades it.
    assert_eq!(agent.health()["checks"]["sinks"]["degrades_health"], false);
}

#[test]
fn a_full_queue_stays_within_its_bound() {
    let w = world();
    let port = free_port();
    let agent = w.agent(&[
        ("METRICS_INTERVAL", "1"),
        (
            "GRAFANA_PROMETHEUS_URL",
            &format!("http://127.0.0.1:{port}/w"),
        ),
        ("GRAFANA_PROMETHEUS_QUEUE_SAMPLES", "1000"),
    ]);
    wait_for("samples to be dropped", Duration::from_secs(60), || {
        agent.sink("remote_write")["dropped_total"].as_u64() > Some(0)
    });
    let mut max = 0;
    for _ in 0..20 {
        let s = agent.sink("remote_write");
        max = max.max(s["queue_samples"].as_u64().unwrap());
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(max <= 1000 && max > 0, "{max}");
    let log = w.log_text();
    let full: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("the queue is full"))
        .collect();
    assert_eq!(full.len(), 1, "{log}");
    assert!(
        full[0].contains("GRAFANA_PROMETHEUS_QUEUE_SAMPLES"),
        "{}",
        full[0]
    );
}

#[test]
fn a_target_that_never_answers_times_out_and_nothing_else_waits() {
    let _heavy = heavy();
    let w = world();
    let hang = Recorder::start(Answer::Hang);
    let pg = Recorder::start(Answer::Status(200, String::new()));
    let mut agent = w.agent(&[
        ("METRICS_INTERVAL", "1"),
        ("PUSH_TIMEOUT_SECS", "2"),
        (
            "GRAFANA_PROMETHEUS_URL",
            &format!("{}/api/v1/write", hang.url()),
        ),
        ("PROMETHEUS_PUSHGATEWAY_URL", &pg.url()),
    ]);
    let t0 = Instant::now();
    let mut slowest = Duration::ZERO;
    while t0.elapsed() < Duration::from_secs(8) {
        let t = Instant::now();
        let h: Value = agent.health();
        slowest = slowest.max(t.elapsed());
        assert!(h["status"].is_string());
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        slowest < Duration::from_secs(1),
        "/api/health took {slowest:?}"
    );
    let s = agent.sink("remote_write");
    assert_eq!(s["ok"], false, "{s}");
    assert!(
        s["last_error"]
            .as_str()
            .unwrap_or("")
            .starts_with("timed out"),
        "{s}"
    );
    let puts = pg.requests().iter().filter(|r| r.method == "PUT").count();
    assert!(puts >= 5, "the Pushgateway got {puts} pushes in 8 s");
    eprintln!(
        "hanging target: {} requests started, /api/health slowest {slowest:?}, pushgateway {puts} pushes",
        hang.requests().len()
    );
    // A request in flight does not hold up the stop.
    let t = Instant::now();
    assert_eq!(agent.stop(Duration::from_secs(15)), 0);
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
}
