//! The metric table in `docs/GRAFANA_INTEGRATION.md` is the contract:
//! exactly one row per exported name, and every name the code exports has
//! a row (both directions), with the same type and label names.

use onec_backup_bot::export::{
    self, BackupState, BaseBackup, BaseDrill, BaseOffsite, Kind, LastRun, TargetOffsite,
};
use onec_backup_bot::metrics::{
    Collectors, MetricsOptions, OnecBase, Session, SessionKind, SessionState, Sessions,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// name → (type, labels) from the docs table; panics on a duplicate row.
fn doc_table() -> BTreeMap<String, (String, Vec<String>)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/GRAFANA_INTEGRATION.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 5 {
            continue;
        }
        let Some(name) = cells[1]
            .strip_prefix("`onec_")
            .and_then(|n| n.strip_suffix('`'))
        else {
            continue;
        };
        let labels: Vec<String> = cells[3]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        let prev = rows.insert(format!("onec_{name}"), (cells[2].to_lowercase(), labels));
        assert!(prev.is_none(), "duplicate row for onec_{name} in the docs");
    }
    assert!(rows.len() > 50, "the docs table was not found");
    rows
}

/// Families with at least one sample each wherever the host allows.
fn families() -> Vec<export::Family> {
    #[cfg(target_os = "linux")]
    let mut snap = {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proc");
        Collectors::new(MetricsOptions {
            proc_root: root.clone(),
            backup_dir: root,
            utmp_path: "/definitely/not/here".into(),
            ..MetricsOptions::default()
        })
        .collect()
    };
    #[cfg(not(target_os = "linux"))]
    let mut snap = Collectors::new(MetricsOptions::default()).collect();
    snap.sessions = Some(Sessions::from_sessions(vec![Session {
        id: 1,
        user: "buh".into(),
        kind: SessionKind::Rdp,
        state: SessionState::Active,
        host: "10.0.0.5".into(),
        line: "RDP-Tcp#1".into(),
    }]));
    snap.onec.get_or_insert_with(Default::default).per_base = vec![OnecBase {
        base: "buh".into(),
        clients: 1,
    }];
    let last = LastRun {
        run_id: 1,
        ok: true,
        status: "ok",
        timestamp_unix: 1.0,
        size_bytes: 1,
        duration_seconds: 1.0,
        error: None,
    };
    let backup = BackupState {
        bases: vec![BaseBackup {
            name: "buh".into(),
            last_success_unix: Some(1.0),
            last_finished: Some(last.clone()),
            runs: vec![("ok", 1)],
            blocked_by_users: 1,
            running: false,
            archives: Some((1, 1)),
            drill: BaseDrill {
                scheduled: true,
                last_success_unix: Some(1.0),
                last_status: Some("ok"),
                last_duration_seconds: Some(1.0),
                last_reason: None,
                stale_for: None,
            },
            offsite: vec![BaseOffsite {
                target: "nas".into(),
                last_success_unix: Some(1.0),
                last_status: Some("ok"),
                ..BaseOffsite::default()
            }],
        }],
        default_last: Some(last),
        history_error: None,
        offsite: vec![TargetOffsite {
            target: "nas".into(),
            kind: "folder",
            ..TargetOffsite::default()
        }],
    };
    let sinks = [export::SinkState {
        sink: "remote_write",
        up: true,
        ..Default::default()
    }];
    export::build(&snap, &backup, &sinks)
}

#[test]
fn docs_table_and_exported_names_are_the_same_set() {
    let docs: BTreeSet<String> = doc_table().into_keys().collect();
    let code: BTreeSet<String> = export::metric_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let missing_in_docs: Vec<_> = code.difference(&docs).collect();
    let missing_in_code: Vec<_> = docs.difference(&code).collect();
    assert!(
        missing_in_docs.is_empty() && missing_in_code.is_empty(),
        "exported but not documented: {missing_in_docs:?}; documented but not exported: {missing_in_code:?}"
    );
}

#[test]
fn docs_types_and_labels_match_the_code() {
    let docs = doc_table();
    for f in families() {
        let (typ, labels) = &docs[f.name];
        let kind = match f.kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        assert_eq!(typ, kind, "{}", f.name);
        if cfg!(target_os = "linux") {
            assert!(!f.samples.is_empty(), "{} has no sample to compare", f.name);
        }
        for s in &f.samples {
            let mut names = Vec::new();
            s.labels.for_each(|k, _| names.push(k.to_string()));
            assert_eq!(&names, labels, "labels of {}", f.name);
        }
    }
}
