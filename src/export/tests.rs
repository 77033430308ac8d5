//! Golden exposition of a fixed snapshot (the captured fixture tree plus
//! hand-made sessions and backup state), and the encoder's edge cases.

use super::*;
use crate::metrics::{Session, SessionKind, SessionState, Sessions};

/// Two bases (one never backed up, with a quoted name), shared with the
/// line protocol's tests.
pub(crate) fn backup_state() -> BackupState {
    let last = LastRun {
        run_id: 7,
        ok: true,
        status: "ok",
        timestamp_unix: 1_700_000_100.0,
        size_bytes: 123_456,
        duration_seconds: 12.5,
        error: None,
    };
    BackupState {
        bases: vec![
            BaseBackup {
                name: "buh".into(),
                last_success_unix: Some(1_700_000_100.0),
                last_finished: Some(last.clone()),
                runs: vec![("ok", 3), ("failed", 1), ("skipped", 0), ("interrupted", 0)],
                blocked_by_users: 1,
                running: false,
                archives: Some((3, 370_000)),
                drill: BaseDrill {
                    scheduled: true,
                    last_success_unix: Some(1_700_000_200.0),
                    last_status: Some("failed"),
                    last_duration_seconds: Some(4.25),
                    last_reason: Some("the archive is damaged".into()),
                    stale_for: None,
                },
                offsite: vec![
                    BaseOffsite {
                        target: "nas".into(),
                        last_success_unix: Some(1_700_000_300.0),
                        last_status: Some("ok"),
                        ..BaseOffsite::default()
                    },
                    BaseOffsite {
                        target: "yandex \"disk\"".into(),
                        last_status: Some("failed"),
                        last_error: Some("HTTP 507".into()),
                        queued: 2,
                        queued_bytes: 246_912,
                        stale_for: Some(31.0 * 3600.0),
                        ..BaseOffsite::default()
                    },
                ],
            },
            BaseBackup {
                name: "zup \"main\"".into(),
                last_success_unix: None,
                last_finished: None,
                runs: vec![("ok", 0), ("failed", 0), ("skipped", 0), ("interrupted", 0)],
                blocked_by_users: 0,
                running: true,
                archives: None,
                drill: BaseDrill {
                    scheduled: true,
                    stale_for: Some(9.0 * 86_400.0),
                    ..BaseDrill::default()
                },
                offsite: vec![BaseOffsite {
                    target: "nas".into(),
                    ..BaseOffsite::default()
                }],
            },
        ],
        default_last: Some(last),
        offsite: vec![
            TargetOffsite {
                target: "nas".into(),
                kind: "folder",
                uploads_ok: 5,
                uploads_failed: 1,
                ..TargetOffsite::default()
            },
            TargetOffsite {
                target: "yandex \"disk\"".into(),
                kind: "webdav",
                uploads_ok: 0,
                uploads_failed: 3,
                queued: 2,
                queued_bytes: 246_912,
            },
        ],
        history_error: None,
    }
}

pub(crate) fn sinks() -> Vec<SinkState> {
    vec![
        SinkState {
            sink: "remote_write",
            target: "https://prom.example/api/prom/push".into(),
            up: false,
            errors_total: 4,
            queue_samples: 1200,
            dropped_total: 0,
            last_error: Some("HTTP 503".into()),
        },
        SinkState {
            sink: "pushgateway",
            target: "http://pushgw:9091".into(),
            up: true,
            ..SinkState::default()
        },
    ]
}

fn sessions() -> Sessions {
    let s = |id, user: &str, kind, state, host: &str, line: &str| Session {
        id,
        user: user.into(),
        kind,
        state,
        host: host.into(),
        line: line.into(),
    };
    Sessions::from_sessions(vec![
        s(
            2,
            "buh",
            SessionKind::Rdp,
            SessionState::Active,
            "10.0.0.5",
            "RDP-Tcp#1",
        ),
        s(
            3,
            "ivanov",
            SessionKind::Rdp,
            SessionState::Disconnected,
            "",
            "RDP-Tcp#2",
        ),
        s(
            900,
            "odd\\name\"x\ny",
            SessionKind::Ssh,
            SessionState::Active,
            "h",
            "pts/0",
        ),
    ])
}

/// A snapshot that does not change between runs.
pub(crate) fn fixed_snapshot() -> Snapshot {
    #[cfg(target_os = "linux")]
    let mut snap = {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proc");
        let opts = crate::metrics::MetricsOptions {
            proc_root: root.clone(),
            backup_dir: root,
            utmp_path: "/definitely/not/here/utmp".into(),
            ..Default::default()
        };
        crate::metrics::Collectors::new(opts).collect()
    };
    #[cfg(not(target_os = "linux"))]
    let mut snap = Snapshot::default();
    snap.collected_at_unix = 1_700_000_000.25;
    if let Some(o) = snap.onec.as_mut() {
        o.per_base = vec![crate::metrics::OnecBase {
            base: "buh".into(),
            clients: 2,
        }];
    }
    snap.collect_duration_seconds = 0.002;
    for c in &mut snap.collectors {
        c.duration_seconds = 0.0005;
    }
    // The backup disk is the fixture folder's real filesystem: pin it.
    snap.backup_disk = Some(crate::metrics::DiskUsage {
        path: "/srv/backups".into(),
        total: 100_000_000_000,
        used: 40_000_000_000,
        free: 60_000_000_000,
        percent: 40.0,
    });
    // Filesystem sizes come from statvfs on the real mountpoints: pin them.
    for (i, fs) in snap.filesystems.iter_mut().flatten().enumerate() {
        fs.size = 50_000_000_000 + i as u64;
        fs.free = 20_000_000_000;
        fs.avail = 18_000_000_000;
    }
    snap.sessions = Some(sessions());
    snap
}

#[cfg(target_os = "linux")]
#[test]
fn golden_exposition() {
    let text = prometheus::encode(&build(&fixed_snapshot(), &backup_state(), &sinks()));
    insta::assert_snapshot!("exposition", text);
}

#[cfg(target_os = "linux")]
#[test]
fn golden_json() {
    let v = json::to_json(&fixed_snapshot(), &backup_state());
    insta::assert_snapshot!("json", serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn every_family_has_a_unique_name_help_and_a_known_type() {
    let fams = build(&fixed_snapshot(), &backup_state(), &sinks());
    let mut names: Vec<_> = fams.iter().map(|f| f.name).collect();
    let n = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), n, "duplicate family names");
    for f in &fams {
        assert!(f.name.starts_with("onec_"), "{}", f.name);
        assert!(
            f.help.len() > 10 && f.help.ends_with('.'),
            "{}: {:?}",
            f.name,
            f.help
        );
        let lint: Vec<_> = EXPECTED_LINT.iter().filter(|(n, _)| *n == f.name).collect();
        if f.name.ends_with("_total") && lint.is_empty() {
            assert_eq!(f.kind, Kind::Counter, "{}", f.name);
        }
        if f.kind == Kind::Counter && !f.name.ends_with("_total") {
            assert!(
                lint.iter().any(|(_, m)| *m == LINT_COUNTER_TOTAL),
                "{}",
                f.name
            );
        }
    }
    assert_eq!(
        metric_names(),
        fams.iter().map(|f| f.name).collect::<Vec<_>>()
    );
}

#[test]
fn top_process_labels_are_bounded() {
    let fams = build(&fixed_snapshot(), &backup_state(), &sinks());
    for f in fams
        .iter()
        .filter(|f| f.name.starts_with("onec_process_top_"))
    {
        assert!(f.samples.len() <= 5, "{}", f.name);
        for s in &f.samples {
            let mut keys = Vec::new();
            s.labels.for_each(|k, v| {
                keys.push(k);
                if k == "rank" {
                    let r: u32 = v.parse().unwrap();
                    assert!((1..=5).contains(&r));
                }
            });
            assert_eq!(keys, ["rank", "name"]);
        }
    }
}

#[test]
fn labels_and_help_are_escaped() {
    let fams = vec![Family {
        name: "onec_x",
        help: "a\\b\nc \"q\"",
        kind: Kind::Gauge,
        samples: vec![Sample {
            labels: Labels::User {
                user: "a\\b\"c\nd".into(),
            },
            value: 1.5,
        }],
    }];
    assert_eq!(
        prometheus::encode(&fams),
        "# HELP onec_x a\\\\b\\nc \"q\"\n# TYPE onec_x gauge\nonec_x{user=\"a\\\\b\\\"c\\nd\"} 1.5\n"
    );
}

#[test]
fn values_are_written_as_prometheus_reads_them() {
    let w = |v: f64| {
        let mut s = String::new();
        prometheus::write_value(v, &mut s);
        s
    };
    assert_eq!(w(3.0), "3");
    assert_eq!(w(-2.0), "-2");
    assert_eq!(w(0.25), "0.25");
    assert_eq!(w(f64::NAN), "NaN");
    assert_eq!(w(f64::INFINITY), "+Inf");
    assert_eq!(w(f64::NEG_INFINITY), "-Inf");
    assert_eq!(w(1e300).parse::<f64>().unwrap(), 1e300);
    assert_eq!(
        w(18_446_744_073_709_551_615.0).parse::<f64>().unwrap(),
        1.8446744073709552e19
    );
}

#[test]
fn failed_collector_leaves_its_family_without_samples() {
    let mut snap = fixed_snapshot();
    snap.memory = None;
    let fams = build(&snap, &BackupState::default(), &[]);
    let mem = fams.iter().find(|f| f.name == "onec_memory_total").unwrap();
    assert!(mem.samples.is_empty());
    let status = fams
        .iter()
        .find(|f| f.name == "onec_backup_status")
        .unwrap();
    assert!(
        status.samples.is_empty(),
        "no finished run → no prototype gauge"
    );
    let text = prometheus::encode(&fams);
    assert!(
        text.contains("# TYPE onec_memory_total gauge\n# HELP"),
        "{text}"
    );
}

#[test]
fn prototype_counters_without_total_are_counters() {
    let fams = build(&fixed_snapshot(), &backup_state(), &sinks());
    for (name, kind) in [
        ("onec_network_bytes_recv", Kind::Counter),
        ("onec_disk_io_read_count", Kind::Counter),
        ("onec_network_dropout", Kind::Counter),
        ("onec_processes_total_count", Kind::Gauge),
        ("onec_logged_users_count", Kind::Gauge),
        ("onec_rdp_active_count", Kind::Gauge),
    ] {
        let f = fams.iter().find(|f| f.name == name).unwrap();
        assert_eq!(f.kind, kind, "{name}");
    }
}

/// promtool on the golden text: only the documented findings about the
/// prototype's names (skipped with a note when promtool is absent).
#[test]
fn promtool_reports_only_the_prototype_names() {
    let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("note: promtool not found (Debian package prometheus); skipping");
        return;
    };
    let text = prometheus::encode(&build(&fixed_snapshot(), &backup_state(), &sinks()));
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let mut seen = Vec::new();
    for line in all.lines().filter(|l| !l.trim().is_empty()) {
        let (name, msg) = line.split_once(' ').unwrap_or((line, ""));
        assert!(
            EXPECTED_LINT.contains(&(name, msg.trim())),
            "unexpected promtool finding: {line}"
        );
        seen.push((name.to_string(), msg.trim().to_string()));
    }
    assert_eq!(seen.len(), EXPECTED_LINT.len(), "{all}");
    assert_eq!(out.status.code(), Some(3), "{all}");
}

#[test]
fn no_label_takes_a_name_the_push_sinks_add() {
    // Remote write adds __name__, job and instance to every series.
    for f in build(&fixed_snapshot(), &backup_state(), &sinks()) {
        for s in &f.samples {
            s.labels.for_each(|k, _| {
                assert!(
                    !["__name__", "job", "instance"].contains(&k),
                    "{}: {k}",
                    f.name
                )
            });
        }
    }
}

/// The offsite families: one sample per (base, target) pair the target
/// takes (the last success only where there is one), both statuses of the
/// upload counter per target (zeros kept), queue bytes per target, and
/// target names escaped like any label.
#[test]
fn offsite_families_per_pair_and_per_target() {
    let text = prometheus::encode(&build(&Snapshot::default(), &backup_state(), &[]));
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("onec_offsite_"))
        .collect();
    assert_eq!(
        lines,
        [
            "onec_offsite_last_success_timestamp_seconds{base=\"buh\",target=\"nas\"} 1700000300",
            "onec_offsite_uploads_total{target=\"nas\",status=\"ok\"} 5",
            "onec_offsite_uploads_total{target=\"nas\",status=\"failed\"} 1",
            "onec_offsite_uploads_total{target=\"yandex \\\"disk\\\"\",status=\"ok\"} 0",
            "onec_offsite_uploads_total{target=\"yandex \\\"disk\\\"\",status=\"failed\"} 3",
            "onec_offsite_queue_bytes{target=\"nas\"} 0",
            "onec_offsite_queue_bytes{target=\"yandex \\\"disk\\\"\"} 246912",
            "onec_offsite_stale{base=\"buh\",target=\"nas\"} 0",
            "onec_offsite_stale{base=\"buh\",target=\"yandex \\\"disk\\\"\"} 1",
            "onec_offsite_stale{base=\"zup \\\"main\\\"\",target=\"nas\"} 0",
        ]
    );
    assert!(text.contains("# TYPE onec_offsite_uploads_total counter\n"));
    assert!(text.contains("# TYPE onec_offsite_stale gauge\n"));
    // No target configured: the families are there, empty.
    let none = prometheus::encode(&build(&Snapshot::default(), &BackupState::default(), &[]));
    assert!(none.contains("# HELP onec_offsite_queue_bytes "));
    assert!(!none.lines().any(|l| l.starts_with("onec_offsite_")));
}
