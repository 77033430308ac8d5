//! The Pushgateway end to end, with the real agent: a real Pushgateway
//! 1.5 shows our metrics under `job="onec_backup_bot"` and this host's
//! `instance`, and loses them when the agent stops on SIGTERM (or keeps
//! them with `PROMETHEUS_PUSHGATEWAY_KEEP_ON_EXIT`); the exact requests
//! (PUT with basic auth and the text format, DELETE at stop) seen by a
//! loopback recorder.
#![cfg(unix)]

use crate::util::http::{base64, get};
use crate::util::proc::wait_for;
use crate::util::recorder::{Answer, Recorder};
use crate::util::servers::pushgateway;
use crate::util::{World, heavy, host};
use std::time::Duration;

/// The Pushgateway's own exposition lines for our group.
fn ours(port: u16) -> Vec<String> {
    get(port, "/metrics")
        .text()
        .lines()
        .filter(|l| l.contains("job=\"onec_backup_bot\""))
        .map(str::to_string)
        .collect()
}

fn run(keep: bool) -> (World, Vec<String>) {
    let _heavy = heavy();
    let w = World::new(32);
    let pg = pushgateway(w.dir.path());
    let mut agent = w.agent(&[
        ("METRICS_INTERVAL", "1"),
        (
            "PROMETHEUS_PUSHGATEWAY_URL",
            &format!("http://127.0.0.1:{}", pg.port),
        ),
        (
            "PROMETHEUS_PUSHGATEWAY_KEEP_ON_EXIT",
            if keep { "true" } else { "false" },
        ),
    ]);
    let build_info = format!(
        "onec_agent_build_info{{instance=\"{}\",job=\"onec_backup_bot\",version=\"{}\"}} 1",
        host(),
        env!("CARGO_PKG_VERSION")
    );
    wait_for(
        "our metrics in the Pushgateway",
        Duration::from_secs(20),
        || ours(pg.port).contains(&build_info),
    );
    let lines = ours(pg.port);
    assert!(
        lines.iter().any(|l| l.starts_with("onec_cpu_percent{")
            && l.contains(&format!("instance=\"{}\"", host()))),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("push_time_seconds{")),
        "{lines:#?}"
    );
    assert_eq!(agent.sink("pushgateway")["ok"], true);
    assert_eq!(agent.stop(Duration::from_secs(15)), 0);
    (w, ours(pg.port))
}

#[test]
fn the_pushgateway_shows_our_metrics_until_the_agent_stops() {
    let (w, after) = run(false);
    assert!(after.is_empty(), "the group outlived the agent: {after:#?}");
    let log = w.log_text();
    assert!(
        log.contains("Pushed ") && log.contains(" metrics to the Pushgateway"),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "group job=onec_backup_bot instance={} deleted",
            host()
        )),
        "{log}"
    );
}

#[test]
fn keep_on_exit_leaves_the_group_in_place() {
    let (w, after) = run(true);
    assert!(
        after.iter().any(|l| l.starts_with("onec_cpu_percent{")),
        "{after:#?}"
    );
    assert!(w.log_text().contains("pushgateway.keep_on_exit"));
}

#[test]
fn requests_carry_basic_auth_and_the_text_format() {
    let w = World::new(32);
    let rec = Recorder::start(Answer::Status(200, String::new()));
    let mut agent = w.agent(&[
        ("METRICS_INTERVAL", "1"),
        ("PROMETHEUS_PUSHGATEWAY_URL", &format!("{}/", rec.url())),
        ("PROMETHEUS_PUSHGATEWAY_USER", "pusher"),
        ("PROMETHEUS_PUSHGATEWAY_PASSWORD", "pg-Pa55"),
    ]);
    wait_for("two pushes", Duration::from_secs(20), || {
        rec.requests().len() >= 2
    });
    assert_eq!(agent.stop(Duration::from_secs(15)), 0);
    let reqs = rec.requests();
    let path = format!("/metrics/job/onec_backup_bot/instance/{}", host());
    let auth = format!("Basic {}", base64(b"pusher:pg-Pa55"));
    let put = &reqs[0];
    assert_eq!(
        (put.method.as_str(), put.target.as_str()),
        ("PUT", path.as_str())
    );
    assert_eq!(put.header("Authorization"), Some(auth.as_str()));
    assert_eq!(
        put.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let body = put.text();
    assert!(
        body.ends_with('\n'),
        "Pushgateway 1.5 needs the final newline"
    );
    assert!(body.contains("# TYPE onec_cpu_percent gauge\n"), "{body}");
    assert!(
        !body.contains("instance=") && !body.contains("job="),
        "{body}"
    );
    let last = reqs.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.target.as_str()),
        ("DELETE", path.as_str())
    );
    assert_eq!(last.header("Authorization"), Some(auth.as_str()));
    assert!(!w.log_text().contains("pg-Pa55"));
}
