//! The shared sink machinery against a loopback axum server: answers are
//! classified, retried with backoff or dropped, queues drain in order,
//! timeouts fire, and no error text carries a URL or a secret. Plus the
//! Uptime Kuma and Loki views of finished runs.

use super::*;
use crate::backup::feed::FinishedRun;
use crate::backup::history::{Run, Status as RunStatus, Trigger};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn answers_are_classified() {
    assert_eq!(classify(200, "", None), Ok(()));
    assert_eq!(classify(204, "", None), Ok(()));
    assert_eq!(
        classify(429, "slow down", Some(Duration::from_secs(7))),
        Err(Failure::Retry {
            message: "HTTP 429: slow down".into(),
            after: Some(Duration::from_secs(7)),
        })
    );
    assert!(matches!(
        classify(503, "", None),
        Err(Failure::Retry { ref message, after: None }) if message == "HTTP 503"
    ));
    let long = format!("out of bounds\n  {}", "x".repeat(1000));
    match classify(400, &long, None) {
        Err(Failure::Reject(m)) => {
            assert!(m.starts_with("HTTP 400: out of bounds xxx"), "{m}");
            assert_eq!(m.chars().count(), "HTTP 400: ".len() + 300);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(classify(404, "", None), Err(Failure::Reject(_))));
}

#[test]
fn backoff_doubles_to_thirty_seconds_and_resets() {
    let mut b = Backoff::default();
    let waits: Vec<u64> = (0..7).map(|_| b.fail(None).as_secs()).collect();
    assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
    assert_eq!(b.fail(Some(Duration::from_secs(120))).as_secs(), 120);
    b.reset();
    assert_eq!(b.fail(None).as_secs(), 1);
}

#[test]
fn the_registry_counts_changes() {
    let sinks = Sinks::default();
    let g0 = sinks.generation();
    let a = sinks.add("remote_write", "https://x/push".into());
    let b = sinks.add("loki", "https://y".into());
    assert!(sinks.generation() > g0);
    let g1 = sinks.generation();
    a.update(|s| s.up = true);
    assert_eq!(sinks.generation(), g1, "no change, same generation");
    b.update(|s| s.queue_samples = 5);
    assert!(sinks.generation() > g1);
    let st = sinks.states();
    assert_eq!(
        st.iter()
            .map(|s| (s.sink, s.queue_samples))
            .collect::<Vec<_>>(),
        [("remote_write", 0), ("loki", 5)]
    );
}

#[test]
fn paths_are_appended_once() {
    assert_eq!(
        with_path("http://loki:3100/", loki::PUSH_PATH),
        "http://loki:3100/loki/api/v1/push"
    );
    assert_eq!(
        with_path("https://logs.grafana.net/loki/api/v1/push", loki::PUSH_PATH),
        "https://logs.grafana.net/loki/api/v1/push"
    );
}

/// A loopback server answering each POST with the next status of
/// `script` (the last one repeats), recording the bodies.
struct Server {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    hits: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Script {
    statuses: Arc<Vec<u16>>,
    hang: bool,
    bodies: Arc<Mutex<Vec<String>>>,
    hits: Arc<AtomicUsize>,
}

async fn answer(State(s): State<Script>, body: Bytes) -> StatusCode {
    let n = s.hits.fetch_add(1, Ordering::SeqCst);
    if s.hang {
        std::future::pending::<()>().await;
    }
    s.bodies
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&body).into_owned());
    let code = s.statuses[n.min(s.statuses.len() - 1)];
    StatusCode::from_u16(code).unwrap()
}

async fn server(statuses: &[u16], hang: bool) -> Server {
    let script = Script {
        statuses: Arc::new(statuses.to_vec()),
        hang,
        bodies: Arc::default(),
        hits: Arc::default(),
    };
    let (bodies, hits) = (script.bodies.clone(), script.hits.clone());
    let app = Router::new()
        .route("/push", post(answer))
        .with_state(script);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    Server {
        url: format!("http://user:hunter2@{addr}/push"),
        bodies,
        hits,
    }
}

#[derive(Debug, Clone)]
struct Text {
    at: i64,
    text: String,
}

fn text(at: i64, text: &str) -> Text {
    Text {
        at,
        text: text.into(),
    }
}

/// An outbox (10 items per request) holding one item, `x`.
fn outbox_with_x(c: &Ctx) -> Outbox<Text> {
    let mut out = outbox(c, 10);
    out.push(text(0, "x"), 0);
    out
}

impl Item for Text {
    fn samples(&self) -> usize {
        1
    }
    fn at_ms(&self) -> i64 {
        self.at
    }
}

fn ctx(timeout: Duration) -> Ctx {
    Ctx {
        client: client(timeout).unwrap(),
        status: Sinks::default().add("test", "http://x".into()),
        secrets: vec![Secret::new("hunter2")],
        shutdown: CancellationToken::new(),
        host: "h".into(),
    }
}

fn outbox(c: &Ctx, per_request: usize) -> Outbox<Text> {
    Outbox::new(
        Tracker::new(c, "test push".into()),
        Limits {
            max_samples: 100,
            max_age_ms: i64::MAX,
        },
        per_request,
        Words {
            unit: "lines",
            sent: |n| format!("Sent {n} lines"),
            full_hint: "",
            old_hint: String::new(),
            warn_full: true,
        },
    )
}

/// Send until the queue is empty or `max` requests were made.
async fn drain(out: &mut Outbox<Text>, c: &Ctx, url: &str, max: usize) {
    for _ in 0..max {
        if out.due().is_none() {
            return;
        }
        // Tests do not wait for the backoff.
        out.retry_at = None;
        out.send_next(1, &c.shutdown, |items| {
            let body: Vec<&str> = items.iter().map(|t| t.text.as_str()).collect();
            Ok(c.client.post(url).body(body.join(",")))
        })
        .await;
    }
}

#[tokio::test]
async fn failures_are_retried_and_the_queue_drains_in_order() {
    let s = server(&[503, 503, 200], false).await;
    let c = ctx(Duration::from_secs(5));
    let mut out = outbox(&c, 2);
    for (i, t) in ["a", "b", "c"].into_iter().enumerate() {
        out.push(text(i as i64, t), 0);
    }
    drain(&mut out, &c, &s.url, 10).await;
    assert_eq!(out.queued(), 0);
    // Two refusals of [a,b], then [a,b] and [c].
    assert_eq!(*s.bodies.lock().unwrap(), ["a,b", "a,b", "a,b", "c"]);
    let st = c.status.get();
    assert!(
        st.up && st.errors_total == 2 && st.last_error.is_none(),
        "{st:?}"
    );
}

#[tokio::test]
async fn a_refusal_drops_the_batch_without_retrying() {
    let s = server(&[400], false).await;
    let c = ctx(Duration::from_secs(5));
    let mut out = outbox_with_x(&c);
    drain(&mut out, &c, &s.url, 10).await;
    assert_eq!(s.hits.load(Ordering::SeqCst), 1, "no retry");
    let st = c.status.get();
    assert_eq!(
        (st.up, st.errors_total, st.dropped_total, st.queue_samples),
        (false, 1, 1, 0)
    );
    assert_eq!(st.last_error.as_deref(), Some("HTTP 400"));
}

#[tokio::test]
async fn a_target_that_never_answers_times_out_and_keeps_the_data() {
    let s = server(&[200], true).await;
    let c = ctx(Duration::from_millis(300));
    let mut out = outbox_with_x(&c);
    let t0 = std::time::Instant::now();
    drain(&mut out, &c, &s.url, 1).await;
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    let st = c.status.get();
    let err = st.last_error.unwrap();
    assert!(err.starts_with("timed out"), "{err}");
    assert!(!err.contains("hunter2") && !err.contains("://"), "{err}");
    assert_eq!(out.queued(), 1, "kept for the retry");
}

#[tokio::test]
async fn connection_errors_name_no_url_and_no_secret() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = client(Duration::from_secs(2)).unwrap();
    let f = send(c.post(format!(
        "http://user:hunter2@127.0.0.1:{port}/push?token=hunter2"
    )))
    .await
    .unwrap_err();
    let m = f.message();
    assert!(matches!(f, Failure::Retry { .. }));
    assert!(m.starts_with("cannot connect"), "{m}");
    assert!(!m.contains("hunter2") && !m.contains("127.0.0.1"), "{m}");
}

#[tokio::test]
async fn a_stop_abandons_a_request_in_flight_and_keeps_its_data() {
    let s = server(&[200], true).await;
    let c = ctx(Duration::from_secs(30));
    let mut out = outbox_with_x(&c);
    let stop = c.shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.cancel();
    });
    let t0 = std::time::Instant::now();
    drain(&mut out, &c, &s.url, 1).await;
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(out.queued(), 1);
}

fn finished(status: RunStatus, method: &str, error: Option<&str>) -> FinishedRun {
    let t = jiff::Timestamp::from_second(1_700_000_000).unwrap();
    FinishedRun {
        base: "buh".into(),
        trigger: Trigger::Schedule,
        run: Some(Run {
            trigger: Trigger::Schedule,
            started: t,
            finished: Some(t),
            method: method.into(),
            archive_size: Some(1234),
            duration_ms: Some(12_345),
            error: error.map(str::to_string),
            ..Run::example(42, "buh", status)
        }),
        local: None,
    }
}

#[test]
fn kuma_reports_read_like_the_prototype() {
    use uptime_kuma::report;
    let r = report(&finished(RunStatus::Ok, "dump", None), false, 5);
    assert_eq!(
        (r.status, r.msg.as_str(), r.ping, r.at_ms),
        ("up", "Backup OK", Some(12_345), 5)
    );
    let r = report(
        &finished(RunStatus::Failed, "dump", Some("1C exited with code 1")),
        false,
        5,
    );
    assert_eq!(
        (r.status, r.msg.as_str()),
        ("down", "Dump failed: 1C exited with code 1")
    );
    let r = report(
        &finished(RunStatus::Failed, "copy", Some("the base is in use")),
        true,
        5,
    );
    assert_eq!(r.msg, "buh: Copy failed: the base is in use");
    let r = report(
        &finished(
            RunStatus::Skipped,
            "dump",
            Some("unchanged since the last successful backup (2026-01-01)"),
        ),
        false,
        5,
    );
    assert_eq!((r.status, r.msg.as_str()), ("up", "Skipped: no changes"));
    let r = report(&finished(RunStatus::Interrupted, "dump", None), false, 5);
    assert_eq!((r.status, r.msg.as_str()), ("down", "Backup interrupted"));
    let long = "x".repeat(1000);
    let r = report(&finished(RunStatus::Failed, "ibcmd", Some(&long)), false, 5);
    assert_eq!(r.msg.chars().count(), 200);
}

#[test]
fn loki_backup_lines_are_logfmt_with_a_level() {
    let (level, line) = loki::backup_line(&finished(
        RunStatus::Failed,
        "dump",
        Some("Dump failed: \"users\" connected"),
    ));
    assert_eq!(level, "error");
    assert_eq!(
        line,
        r#"event=backup base=buh status=failed trigger=schedule run_id=42 duration_seconds=12.345 size_bytes=1234 message="Dump failed: \"users\" connected""#
    );
    let (level, _) = loki::backup_line(&finished(RunStatus::Ok, "dump", None));
    assert_eq!(level, "info");
}

#[test]
fn influx_backup_points_carry_status_and_message() {
    let l = influxdb::backup_point(
        &finished(RunStatus::Failed, "dump", Some("bad, \"very\"")),
        "srv",
        0,
    );
    assert_eq!(
        line_protocol::encode(&[l]),
        "backup_run,base=buh,host=srv,status=failed,trigger=schedule ok=0i,duration_seconds=12.345,size_bytes=1234i,run_id=42i,message=\"bad, \\\"very\\\"\" 1700000000\n"
    );
}

#[test]
fn a_queued_tick_costs_few_bytes_per_sample() {
    // What bounds memory during an outage: the default queue of 100 000
    // samples, kept snappy-compressed.
    let snap = crate::metrics::Collectors::new(Default::default()).collect();
    let fams = crate::export::build(&snap, &crate::export::BackupState::default(), &[]);
    let t = prompb::Target {
        job: JOB.into(),
        instance: "srv-1c-buh.example.local".into(),
    };
    let b = prompb::batch(&fams, 1_700_000_000_000, &t);
    let raw = prost::Message::encoded_len(&prompb::WriteRequest {
        timeseries: prompb::series(&fams, 1_700_000_000_000, &t),
        metadata: vec![],
    });
    let per = b.compressed.len() as f64 / b.samples as f64;
    eprintln!(
        "one tick: {} samples, {raw} bytes encoded, {} compressed ({per:.1} B/sample; a full default queue ≈ {:.1} MB)",
        b.samples,
        b.compressed.len(),
        per * 100_000.0 / 1e6
    );
    assert!(b.samples > 20);
    assert!(per < 64.0, "{per}");
}
