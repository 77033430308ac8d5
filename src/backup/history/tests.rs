//! Schema, runs and deletions against real SQLite files in temp dirs.

use super::*;
use std::collections::HashSet;
use std::path::Path;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite3");
    (dir, path)
}

/// A fresh history in a temporary folder (kept while the guard lives).
fn temp_history() -> (tempfile::TempDir, History) {
    let (dir, path) = temp_db();
    let h = History::open(&path).unwrap();
    (dir, h)
}

fn new_run<'a>(base: &'a str, started: &'a Timestamp) -> NewRun<'a> {
    NewRun {
        base,
        trigger: Trigger::Cli,
        method: "dump",
        started,
        pid: std::process::id(),
    }
}

fn ok_finish(finished: &Timestamp) -> Finish<'_> {
    Finish::new(Status::Ok, finished)
}

#[test]
fn open_creates_v1_in_wal_and_reopen_is_a_noop() {
    let (_d, path) = temp_db();
    let h = History::open(&path).unwrap();
    assert_eq!(h.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let mode: String = h
        .conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let started = ts("2024-01-01T10:00:00Z");
    let id = h.start_run(&new_run("buh", &started)).unwrap();
    drop(h);

    let schema_before = schema_sql(&path);
    let h = History::open(&path).unwrap();
    assert_eq!(h.schema_version().unwrap(), MIGRATIONS.len() as i64);
    assert_eq!(schema_sql(&path), schema_before);
    // The data survived and nothing was re-created.
    let runs = h.list(10, None).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, id);
}

fn schema_sql(path: &Path) -> Vec<String> {
    let c = Connection::open(path).unwrap();
    let mut s = c
        .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        .unwrap();
    s.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn newer_schema_is_refused_with_a_clear_error() {
    let (_d, path) = temp_db();
    drop(History::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = History::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::NewerSchema {
                found: 99,
                known,
                ..
            } if known == MIGRATIONS.len() as i64
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("schema version 99"), "{msg}");
    assert!(msg.contains("upgrade this program"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[test]
fn start_finish_round_trip_with_every_field() {
    let (_d, h) = temp_history();
    let started = ts("2024-03-01T10:00:00.250Z");
    let finished = ts("2024-03-01T10:01:02.750Z");
    let id = h
        .start_run(&NewRun {
            base: "Бухгалтерия",
            trigger: Trigger::Telegram,
            method: "ibcmd",
            started: &started,
            pid: 4242,
        })
        .unwrap();
    let running = h.last_run("Бухгалтерия").unwrap().unwrap();
    assert_eq!(running.status, Status::Running);
    assert_eq!(running.finished, None);

    let returned = h
        .finish_run(
            id,
            &Finish {
                status: Status::Failed,
                finished: &finished,
                archive_path: Some(Path::new("/b/2024-03-01/buh_2024-03-01_13-00-00.zip")),
                archive_size: Some(123_456_789_012),
                source_size: Some(987_654_321_098),
                sha256: Some("ab".repeat(32).as_str()),
                onec_exit_code: Some(-1),
                error: Some("designer failed: base is locked"),
                fingerprint: Some("1CD:12345:2024-03-01"),
                log_path: Some(Path::new("/b/logs/run-1.log")),
                key_id: Some("1a2b3c4d"),
                policy_outcome: None,
                stages: Some(r#"[["dumping",60000],["packing",2500]]"#),
            },
        )
        .unwrap();
    let run = h.last_run("Бухгалтерия").unwrap().unwrap();
    assert_eq!(run, returned, "finish_run returns the stored row");
    assert_eq!(
        run,
        Run {
            id,
            base: "Бухгалтерия".into(),
            trigger: Trigger::Telegram,
            started,
            finished: Some(finished),
            status: Status::Failed,
            method: "ibcmd".into(),
            archive_path: Some("/b/2024-03-01/buh_2024-03-01_13-00-00.zip".into()),
            archive_size: Some(123_456_789_012),
            source_size: Some(987_654_321_098),
            sha256: Some("ab".repeat(32)),
            duration_ms: Some(62_500),
            onec_exit_code: Some(-1),
            error: Some("designer failed: base is locked".into()),
            fingerprint: Some("1CD:12345:2024-03-01".into()),
            log_path: Some("/b/logs/run-1.log".into()),
            pid: 4242,
            key_id: Some("1a2b3c4d".into()),
            policy_outcome: None,
            stages: Some(r#"[["dumping",60000],["packing",2500]]"#.into()),
        }
    );
    let json = serde_json::to_value(&run).unwrap();
    assert_eq!(json["trigger"], "telegram");
    assert_eq!(json["status"], "failed");
    assert_eq!(json["started"], "2024-03-01T10:00:00.25Z");
    assert_eq!(json["archive_size"], 123_456_789_012u64);
}

#[test]
fn finish_of_unknown_run_is_an_error() {
    let (_d, h) = temp_history();
    let now = ts("2024-03-01T10:00:00Z");
    assert!(matches!(
        h.finish_run(77, &ok_finish(&now)),
        Err(HistoryError::NoSuchRun(77))
    ));
}

#[test]
fn list_order_limit_and_base_filter() {
    let (_d, h) = temp_history();
    // Inserted out of order; one fractional second to check text order.
    let times = [
        ("buh", "2024-01-02T00:00:00Z"),
        ("zup", "2024-01-03T00:00:00Z"),
        ("buh", "2024-01-01T00:00:00Z"),
        ("buh", "2024-01-02T00:00:00.5Z"),
        ("zup", "2024-01-01T12:00:00Z"),
    ];
    for (base, t) in times {
        h.start_run(&new_run(base, &ts(t))).unwrap();
    }
    let all: Vec<(String, String)> = h
        .list(10, None)
        .unwrap()
        .into_iter()
        .map(|r| (r.base, r.started.to_string()))
        .collect();
    assert_eq!(
        all,
        [
            ("zup".into(), "2024-01-03T00:00:00Z".into()),
            ("buh".into(), "2024-01-02T00:00:00.5Z".into()),
            ("buh".into(), "2024-01-02T00:00:00Z".into()),
            ("zup".into(), "2024-01-01T12:00:00Z".into()),
            ("buh".into(), "2024-01-01T00:00:00Z".into()),
        ]
    );
    assert_eq!(h.list(2, None).unwrap().len(), 2);
    let buh = h.list(2, Some("buh")).unwrap();
    assert_eq!(buh.len(), 2);
    assert!(buh.iter().all(|r| r.base == "buh"));
    assert_eq!(buh[0].started, ts("2024-01-02T00:00:00.5Z"));
    assert!(h.list(10, Some("none")).unwrap().is_empty());
}

#[test]
fn last_success_ignores_failed_and_other_bases() {
    let (_d, h) = temp_history();
    assert_eq!(h.last_success("buh").unwrap(), None);
    let t1 = ts("2024-01-01T00:00:00Z");
    let t2 = ts("2024-01-02T00:00:00Z");
    let t3 = ts("2024-01-03T00:00:00Z");
    let ok = h.start_run(&new_run("buh", &t1)).unwrap();
    h.finish_run(ok, &ok_finish(&t1)).unwrap();
    let failed = h.start_run(&new_run("buh", &t2)).unwrap();
    h.finish_run(
        failed,
        &Finish {
            status: Status::Failed,
            ..ok_finish(&t2)
        },
    )
    .unwrap();
    let other = h.start_run(&new_run("zup", &t3)).unwrap();
    h.finish_run(other, &ok_finish(&t3)).unwrap();

    assert_eq!(h.last_success("buh").unwrap().unwrap().id, ok);
    assert_eq!(h.last_run("buh").unwrap().unwrap().id, failed);
    assert_eq!(h.last_success("zup").unwrap().unwrap().id, other);
}

#[test]
fn mark_interrupted_dead_pid_versus_our_live_pid() {
    let (_d, h) = temp_history();
    let t = ts("2024-01-01T00:00:00Z");
    let live = h.start_run(&new_run("buh", &t)).unwrap();
    // A child that has exited and been reaped: its pid is dead.
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--list")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    assert!(!pid_alive(dead_pid));
    assert!(pid_alive(std::process::id()));
    let dead = h
        .start_run(&NewRun {
            pid: dead_pid,
            ..new_run("buh", &t)
        })
        .unwrap();
    let done = h
        .start_run(&NewRun {
            pid: dead_pid,
            ..new_run("buh", &t)
        })
        .unwrap();
    h.finish_run(done, &ok_finish(&t)).unwrap();

    assert_eq!(h.mark_interrupted().unwrap(), 1);
    let by_id = |id| {
        h.list(10, None)
            .unwrap()
            .into_iter()
            .find(|r| r.id == id)
            .unwrap()
    };
    assert_eq!(by_id(dead).status, Status::Interrupted);
    assert_eq!(by_id(dead).error.as_deref(), Some(INTERRUPTED_ERROR));
    assert_eq!(by_id(live).status, Status::Running);
    assert_eq!(by_id(done).status, Status::Ok);
    // Told that nothing is alive, the remaining running row goes too.
    assert_eq!(h.mark_interrupted_where(|_| false).unwrap(), 1);
    assert_eq!(by_id(live).status, Status::Interrupted);
    assert_eq!(h.mark_interrupted_where(|_| false).unwrap(), 0);
}

#[test]
fn pid_zero_and_huge_are_not_alive() {
    assert!(!pid_alive(0));
    assert!(!pid_alive(u32::MAX));
}

#[test]
fn skipped_is_one_finished_row() {
    let (_d, h) = temp_history();
    let t = ts("2024-01-01T00:00:00Z");
    let r = NewRun {
        trigger: Trigger::Schedule,
        ..new_run("buh", &t)
    };
    let returned = h
        .record_skipped(&r, "the base is locked by another run")
        .unwrap();
    let runs = h.list(10, None).unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(*run, returned, "the returned record is the stored row");
    assert_eq!(run.status, Status::Skipped);
    assert_eq!(run.trigger, Trigger::Schedule);
    assert_eq!(run.finished, Some(t));
    assert_eq!(
        run.error.as_deref(),
        Some("the base is locked by another run")
    );
    // Not running, so never marked interrupted.
    assert_eq!(h.mark_interrupted_where(|_| false).unwrap(), 0);
}

#[test]
fn deletions_are_recorded_with_and_without_run() {
    let (_d, path) = temp_db();
    let h = History::open(&path).unwrap();
    let t = ts("2024-01-01T00:00:00Z");
    let run = h.start_run(&new_run("buh", &t)).unwrap();
    h.record_deletion(
        Some(run),
        Path::new("/b/2023-01-01/buh_a.zip"),
        1000,
        "daily expired",
    )
    .unwrap();
    h.record_deletion(
        None,
        Path::new("/b/2023-01-02/buh_b.zip"),
        2000,
        "manual prune",
    )
    .unwrap();
    // A run id that does not exist violates the foreign key.
    assert!(
        h.record_deletion(Some(9999), Path::new("/x"), 1, "r")
            .is_err()
    );
    let ds = h.deletions(10).unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds[0].run_id, None);
    assert_eq!(ds[0].path, Path::new("/b/2023-01-02/buh_b.zip"));
    assert_eq!(ds[0].size, 2000);
    assert_eq!(ds[1].run_id, Some(run));
    assert_eq!(ds[1].reasons, "daily expired");
    assert!(ds[1].deleted_at > ts("2025-01-01T00:00:00Z"));
}

#[test]
fn two_connections_write_concurrently() {
    let (_d, path) = temp_db();
    let threads: Vec<_> = ["buh", "zup"]
        .into_iter()
        .map(|base| {
            let path = path.clone();
            std::thread::spawn(move || {
                let h = History::open(&path).unwrap();
                let t = ts("2024-01-01T00:00:00Z");
                for _ in 0..200 {
                    let id = h.start_run(&new_run(base, &t)).unwrap();
                    h.finish_run(id, &ok_finish(&t)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let h = History::open(&path).unwrap();
    assert_eq!(h.list(1000, Some("buh")).unwrap().len(), 200);
    assert_eq!(h.list(1000, Some("zup")).unwrap().len(), 200);
    assert!(
        h.list(1000, None)
            .unwrap()
            .iter()
            .all(|r| r.status == Status::Ok)
    );
}

#[test]
fn schema_has_no_column_for_arguments_or_secrets() {
    let (_d, h) = temp_history();
    let mut cols = HashSet::new();
    for table in ["runs", "deletions", "drills"] {
        let mut s = h
            .conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .unwrap();
        let names: Vec<String> = s
            .query_map([], |r| r.get(1))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!names.is_empty(), "{table} has columns");
        cols.extend(names);
    }
    for bad in [
        "arg", "cmd", "command", "password", "passwd", "pwd", "token", "secret", "user",
    ] {
        assert!(
            !cols.iter().any(|c| c.to_lowercase().contains(bad)),
            "a column mentions {bad:?}: {cols:?}"
        );
    }
}

#[test]
fn enums_round_trip_as_text() {
    for t in Trigger::ALL {
        assert_eq!(t.as_str().parse::<Trigger>(), Ok(*t));
    }
    for s in Status::ALL {
        assert_eq!(s.to_string().parse::<Status>(), Ok(*s));
    }
    for s in DrillStatus::ALL {
        assert_eq!(s.to_string().parse::<DrillStatus>(), Ok(*s));
    }
    let err = "nightly".parse::<Trigger>().unwrap_err();
    assert!(err.contains("unknown trigger \"nightly\""), "{err}");
    assert!(err.contains("cli, telegram, schedule, api"), "{err}");
}

#[test]
fn finished_since_skips_running_and_older_runs() {
    let dir = tempfile::tempdir().unwrap();
    let h = History::open(&dir.path().join("h.sqlite3")).unwrap();
    assert_eq!(h.max_run_id().unwrap(), 0);
    let now = Timestamp::now();
    let new = |base| NewRun {
        base,
        trigger: Trigger::Cli,
        method: "copy",
        started: &now,
        pid: 1,
    };
    let a = h.record_skipped(&new("a"), "locked").unwrap().id;
    let b = h.start_run(&new("b")).unwrap();
    let c = h.record_skipped(&new("c"), "unchanged").unwrap().id;
    let ids: Vec<i64> = h.finished_since(a).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(ids, [c], "b is still running");
    assert_eq!(h.max_run_id().unwrap(), c);
    assert!(b < c);
    assert!(h.last_success_any().unwrap().is_none());
}

#[test]
fn a_history_on_a_network_path_uses_a_rollback_journal() {
    let (_dir, path) = temp_db();
    let local = History::open(&path).unwrap();
    assert_eq!(local.journal_mode().unwrap(), "wal");
    drop(local);
    let (_dir2, path2) = temp_db();
    let remote = History::open_on(&path2, true).unwrap();
    assert_eq!(remote.journal_mode().unwrap(), "delete");
    assert!(!path2.with_extension("sqlite3-wal").exists());
    // It works all the same.
    assert_eq!(remote.schema_version().unwrap(), MIGRATIONS.len() as i64);
}

fn new_drill<'a>(
    base: &'a str,
    started: &'a Timestamp,
    finished: &'a Timestamp,
    status: DrillStatus,
) -> NewDrill<'a> {
    NewDrill {
        base,
        trigger: Trigger::Schedule,
        run_id: None,
        archive_path: None,
        started,
        finished,
        status,
        reason: None,
        bytes: None,
        detail: None,
        pid: 7,
        source: LOCAL,
    }
}

#[test]
fn a_drill_round_trips_with_every_field() {
    let (_d, h) = temp_history();
    let (s, f) = (ts("2024-03-03T01:00:00Z"), ts("2024-03-03T01:00:02.500Z"));
    let archive = Path::new("/b/2024-03-02/buh_2024-03-02_13-05-00.zip");
    let d = h
        .record_drill(&NewDrill {
            run_id: Some(42),
            archive_path: Some(archive),
            reason: Some("the archive is damaged: entry 1Cv8.1CD: CRC mismatch"),
            bytes: Some(3 << 20),
            detail: Some("1Cv8.1CD: 1CD 8.3.8, 384 pages x 8192"),
            ..new_drill("buh", &s, &f, DrillStatus::Failed)
        })
        .unwrap();
    assert_eq!(d.base, "buh");
    assert_eq!(d.trigger, Trigger::Schedule);
    assert_eq!(d.run_id, Some(42));
    assert_eq!(d.archive_path.as_deref(), Some(archive));
    assert_eq!((d.started, d.finished), (s, f));
    assert_eq!(d.status, DrillStatus::Failed);
    assert_eq!(d.duration_ms, 2500);
    assert_eq!(d.bytes, Some(3 << 20));
    assert!(d.reason.as_deref().unwrap().contains("CRC mismatch"));
    assert_eq!(d.pid, 7);
    assert_eq!(h.drills(10, None).unwrap(), vec![d.clone()]);
    assert_eq!(h.drills_since(0).unwrap(), vec![d.clone()]);
    assert!(h.drills_since(d.id).unwrap().is_empty());
    assert_eq!(h.max_drill_id().unwrap(), d.id);
    // A status the table does not know is refused by the schema.
    let bad = h.conn.execute(
        "INSERT INTO drills (base, \"trigger\", started, finished, status, duration_ms, pid)
         VALUES ('buh', 'cli', 'x', 'x', 'running', 0, 1)",
        [],
    );
    assert!(bad.is_err());
}

#[test]
fn last_drill_by_status_and_base() {
    let (_d, h) = temp_history();
    let t = |s: &str| ts(s);
    let (a, b, c) = (
        t("2024-01-01T00:00:00Z"),
        t("2024-01-08T00:00:00Z"),
        t("2024-01-15T00:00:00Z"),
    );
    let ok = h
        .record_drill(&new_drill("buh", &a, &a, DrillStatus::Ok))
        .unwrap();
    let failed = h
        .record_drill(&new_drill("buh", &b, &b, DrillStatus::Failed))
        .unwrap();
    h.record_drill(&new_drill("zup", &c, &c, DrillStatus::Ok))
        .unwrap();
    assert_eq!(
        h.last_drill("buh", Some(DrillStatus::Ok)).unwrap(),
        Some(ok)
    );
    assert_eq!(h.last_drill("buh", None).unwrap(), Some(failed));
    assert_eq!(h.last_drill("trade", None).unwrap(), None);
    assert_eq!(h.drills(10, Some("zup")).unwrap().len(), 1);
    assert_eq!(h.drills(1, None).unwrap()[0].base, "zup");
}

#[test]
fn good_archives_are_ok_runs_with_an_archive_newest_first() {
    let (_d, h) = temp_history();
    let mut ids = Vec::new();
    for (i, (base, status, archive)) in [
        ("buh", Status::Ok, Some("/b/1.zip")),
        ("buh", Status::Ok, None),
        ("buh", Status::Failed, Some("/b/3.zip")),
        ("zup", Status::Ok, Some("/b/z.zip")),
        ("buh", Status::Ok, Some("/b/5.zip")),
    ]
    .into_iter()
    .enumerate()
    {
        let started = ts(&format!("2024-01-0{}T10:00:00Z", i + 1));
        let id = h.start_run(&new_run(base, &started)).unwrap();
        let finish = Finish {
            status,
            archive_path: archive.map(Path::new),
            ..ok_finish(&started)
        };
        h.finish_run(id, &finish).unwrap();
        ids.push(id);
    }
    let good: Vec<i64> = h
        .good_archives("buh", 10)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(good, vec![ids[4], ids[0]]);
    assert_eq!(h.good_archives("buh", 1).unwrap().len(), 1);
}

/// A database as schema `version` made it, with one successful run of
/// `buh` (archive `/b/a.zip`) in it.
fn old_database(path: &Path, version: usize) -> Connection {
    let c = Connection::open(path).unwrap();
    for sql in &MIGRATIONS[..version] {
        c.execute_batch(sql).unwrap();
    }
    c.pragma_update(None, "user_version", version as i64)
        .unwrap();
    c.execute(
        "INSERT INTO runs (base, \"trigger\", started, finished, status, method,
             archive_path, pid)
         VALUES ('buh', 'cli', '2024-01-01T00:00:00.000Z', '2024-01-01T00:01:00.000Z',
             'ok', 'copy', '/b/a.zip', 1)",
        [],
    )
    .unwrap();
    c
}

/// A database made by the version before the drills (schema 3, with a
/// run in it) opens, gains the `drills` table and keeps its runs.
#[test]
fn a_version_3_database_gains_the_drills_table() {
    let (_d, path) = temp_db();
    {
        let c = old_database(&path, 3);
        let has_drills: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'drills'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(has_drills, 0);
    }
    let h = History::open(&path).unwrap();
    assert_eq!(h.schema_version().unwrap(), MIGRATIONS.len() as i64);
    assert_eq!(h.good_archives("buh", 5).unwrap().len(), 1);
    let at = ts("2024-01-07T00:00:00Z");
    let d = h
        .record_drill(&new_drill("buh", &at, &at, DrillStatus::Ok))
        .unwrap();
    assert_eq!(h.last_drill("buh", None).unwrap(), Some(d));
}

/// A database made before stage timings (schema 7, with a run in it)
/// gains the column; its old run has none, a new one keeps its stages.
#[test]
fn migration_8_adds_stage_timings_to_an_existing_history() {
    let (_d, path) = temp_db();
    drop(old_database(&path, 7));
    let h = History::open(&path).unwrap();
    assert_eq!(h.schema_version().unwrap(), 8);
    assert_eq!(h.last_run("buh").unwrap().unwrap().stages, None);
    let started = ts("2024-02-01T00:00:00Z");
    let id = h.start_run(&new_run("buh", &started)).unwrap();
    let finished = ts("2024-02-01T00:01:00Z");
    let f = Finish {
        stages: Some(r#"[["copying",1]]"#),
        ..ok_finish(&finished)
    };
    assert_eq!(
        h.finish_run(id, &f).unwrap().stages.as_deref(),
        Some(r#"[["copying",1]]"#)
    );
}

/// A file made before key ids existed (schema 2, with a run in it) gains
/// the column on open; its old rows have none.
#[test]
fn migration_3_adds_the_key_id_to_an_existing_history() {
    let (_d, path) = temp_db();
    drop(old_database(&path, 2));
    let h = History::open(&path).unwrap();
    assert!(h.schema_version().unwrap() >= 3);
    let old = h.last_run("buh").unwrap().unwrap();
    assert_eq!((old.status, old.key_id), (Status::Ok, None));
    let started = ts("2024-02-01T00:00:00Z");
    let id = h.start_run(&new_run("buh", &started)).unwrap();
    let finished = ts("2024-02-01T00:01:00Z");
    let f = Finish {
        key_id: Some("0badc0de"),
        ..ok_finish(&finished)
    };
    assert_eq!(
        h.finish_run(id, &f).unwrap().key_id.as_deref(),
        Some("0badc0de")
    );
}

/// A database made before offsite copies (schema 4, with a run in it)
/// opens, gains the queue and uploads tables and keeps its runs; the queue
/// is idempotent per target and run, and retention sees only ok uploads
/// not yet deleted.
#[test]
fn a_version_4_database_gains_the_offsite_tables() {
    let (_d, path) = temp_db();
    {
        let c = old_database(&path, 4);
        let n: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'offsite_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
    }
    let h = History::open(&path).unwrap();
    assert_eq!(h.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let run = h.last_success("buh").unwrap().unwrap();
    let (_, first_run) = h.offsite_target_seen("nas").unwrap();
    assert_eq!(first_run, run.id, "the boundary is the newest run then");
    assert_eq!(h.offsite_target_seen("nas").unwrap().1, first_run);
    assert!(
        h.offsite_enqueue("nas", run.id, "buh", "buh/a.zip", Some(10))
            .unwrap()
    );
    assert!(
        !h.offsite_enqueue("nas", run.id, "buh", "buh/a.zip", Some(10))
            .unwrap()
    );
    let now = Timestamp::now();
    let due = h.offsite_due("nas", &now).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].state, QueueState::Queued);
    assert!(h.offsite_claim(due[0].id, std::process::id()).unwrap());
    assert!(
        !h.offsite_claim(due[0].id, 1).unwrap(),
        "a live owner keeps it"
    );
    h.offsite_save_resume(due[0].id, Some("{\"upload_id\":\"x\"}"))
        .unwrap();
    assert_eq!(
        h.offsite_resume(due[0].id).unwrap().as_deref(),
        Some("{\"upload_id\":\"x\"}")
    );
    let later = ts("2999-01-01T00:00:00Z");
    h.offsite_failed(due[0].id, "disk full", &later).unwrap();
    assert!(
        h.offsite_due("nas", &now).unwrap().is_empty(),
        "backoff holds it"
    );
    let q = &h.offsite_queue(Some("nas")).unwrap()[0];
    assert_eq!((q.state, q.attempts), (QueueState::Failed, 1));
    assert_eq!(q.last_error.as_deref(), Some("disk full"));
    h.offsite_due_now(None).unwrap();
    assert_eq!(h.offsite_due("nas", &Timestamp::now()).unwrap().len(), 1);
    let (s, f) = (ts("2024-01-02T00:00:00Z"), ts("2024-01-02T00:00:05Z"));
    let up = |status, object| NewUpload {
        target: "nas",
        run_id: run.id,
        base: "buh",
        object,
        bytes: Some(10),
        verified: Some("read"),
        status,
        error: None,
        started: &s,
        finished: &f,
    };
    h.record_upload(&up(UploadStatus::Failed, "buh/a.zip"))
        .unwrap();
    let ok = h.record_upload(&up(UploadStatus::Ok, "buh/a.zip")).unwrap();
    assert_eq!(ok.duration_ms, 5000);
    h.offsite_done(q.id).unwrap();
    assert!(h.offsite_due("nas", &Timestamp::now()).unwrap().is_empty());
    assert_eq!(h.live_uploads("nas", "buh").unwrap(), vec![ok.clone()]);
    assert_eq!(h.copies_of_run(run.id).unwrap(), ["nas"]);
    assert_eq!(h.live_upload_of_run("nas", run.id).unwrap(), Some(ok));
    assert_eq!(h.mark_upload_deleted("nas", "buh/a.zip").unwrap(), 1);
    assert!(h.live_uploads("nas", "buh").unwrap().is_empty());
    assert!(h.copies_of_run(run.id).unwrap().is_empty());
    assert_eq!(h.uploads(None, 10).unwrap().len(), 2);
}

/// What the exporter and the uploads feed read: counts per target and
/// status, waiting bytes per target and base (done items left out), the
/// newest attempt whatever its status, rows after an id, and the first
/// sighting of a target without recording one.
#[test]
fn offsite_counts_waiting_bytes_last_attempt_and_feed() {
    let (_d, h) = temp_history();
    assert_eq!(h.offsite_first_seen("nas").unwrap(), None, "read only");
    assert_eq!(h.offsite_first_seen("nas").unwrap(), None);
    let (seen, _) = h.offsite_target_seen("nas").unwrap();
    assert_eq!(h.offsite_first_seen("nas").unwrap(), Some(seen));
    assert_eq!(h.max_upload_id().unwrap(), 0);
    for (run, base, bytes) in [(1, "buh", 100), (2, "buh", 50), (3, "zup", 7)] {
        h.offsite_enqueue("nas", run, base, "o", Some(bytes))
            .unwrap();
    }
    h.offsite_enqueue("s3", 1, "buh", "o", Some(1000)).unwrap();
    let first = h.offsite_queue(Some("nas")).unwrap()[0].id;
    h.offsite_done(first).unwrap();
    assert_eq!(
        h.queue_waiting().unwrap(),
        vec![
            ("nas".to_string(), "buh".to_string(), 1, 50),
            ("nas".to_string(), "zup".to_string(), 1, 7),
            ("s3".to_string(), "buh".to_string(), 1, 1000),
        ]
    );
    let at = |s| ts(s);
    let (t1, t2, t3) = (
        at("2024-01-02T00:00:00Z"),
        at("2024-01-02T01:00:00Z"),
        at("2024-01-02T02:00:00Z"),
    );
    let up = |status, error, finished| NewUpload {
        target: "nas",
        run_id: 1,
        base: "buh",
        object: "buh/a.zip",
        bytes: Some(10),
        verified: None,
        status,
        error,
        started: &t1,
        finished,
    };
    let a = h.record_upload(&up(UploadStatus::Ok, None, &t1)).unwrap();
    let b = h
        .record_upload(&up(UploadStatus::Failed, Some("disk full"), &t3))
        .unwrap();
    h.record_upload(&up(UploadStatus::Failed, Some("disk full"), &t2))
        .unwrap();
    assert_eq!(
        h.last_upload("nas", "buh").unwrap().unwrap().id,
        b.id,
        "newest by finish"
    );
    assert_eq!(h.last_upload_ok("nas", "buh").unwrap().unwrap().id, a.id);
    assert_eq!(h.last_upload("nas", "zup").unwrap(), None);
    assert_eq!(
        h.upload_counts().unwrap(),
        vec![
            ("nas".to_string(), UploadStatus::Failed, 2),
            ("nas".to_string(), UploadStatus::Ok, 1),
        ]
    );
    assert_eq!(h.max_upload_id().unwrap(), a.id + 2);
    let since: Vec<i64> = h
        .uploads_since(a.id)
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(since, [a.id + 1, a.id + 2], "oldest first, after the id");
}

/// A database made before drills recorded their source (schema 5, with a
/// run and a drill in it) opens, gains `source`, and its old drill reads
/// as a drill of the local archive; new drills keep their source, and
/// `drill_sources` gives each source's last drill.
#[test]
fn a_version_5_database_gains_the_drill_source() {
    let (_d, path) = temp_db();
    {
        let c = old_database(&path, 5);
        c.execute(
            "INSERT INTO drills (base, \"trigger\", run_id, archive_path, started, finished,
                 status, duration_ms, pid)
             VALUES ('buh', 'schedule', 1, '/b/a.zip', '2024-01-02T00:00:00.000Z',
                 '2024-01-02T00:00:05.000Z', 'ok', 5000, 1)",
            [],
        )
        .unwrap();
        let cols: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('drills') WHERE name = 'source'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(cols, 0, "version 5 has no source column");
    }
    let h = History::open(&path).unwrap();
    assert_eq!(h.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let old = h.last_drill("buh", None).unwrap().unwrap();
    assert_eq!(old.source, "local");
    assert_eq!(old.status, DrillStatus::Ok);
    assert_eq!(
        h.drill_sources("buh").unwrap(),
        vec![("local".into(), old.id)]
    );
    let at = ts("2024-01-09T00:00:00Z");
    let nas = h
        .record_drill(&NewDrill {
            source: "nas",
            ..new_drill("buh", &at, &at, DrillStatus::Skipped)
        })
        .unwrap();
    assert_eq!(nas.source, "nas");
    assert_eq!(
        h.drill_sources("buh").unwrap(),
        vec![("local".into(), old.id), ("nas".into(), nas.id)]
    );
    assert!(h.drill_sources("zup").unwrap().is_empty());
}

#[test]
fn failed_runs_are_counted_per_base_by_the_words_of_their_error() {
    let (_d, h) = temp_history();
    let t = ts("2024-03-01T10:00:00Z");
    let fail = |base: &str, error: Option<&str>, status: Status| {
        let id = h.start_run(&new_run(base, &t)).unwrap();
        let mut f = Finish::new(status, &t);
        f.error = error;
        h.finish_run(id, &f).unwrap();
    };
    fail(
        "buh",
        Some("1C dump failed: users inside, so BLOCKED"),
        Status::Failed,
    );
    fail("buh", Some("x; so BLOCKED; inside: ivan"), Status::Failed);
    fail("buh", Some("disk full"), Status::Failed);
    fail("buh", None, Status::Failed);
    fail("buh", Some("so BLOCKED"), Status::Skipped);
    fail("zup", Some("a copy IN USE"), Status::Failed);
    fail("trade", Some("disk full"), Status::Failed);
    assert_eq!(
        h.failed_counts_with(&["so BLOCKED", "IN USE"]).unwrap(),
        [("buh".to_string(), 2), ("zup".to_string(), 1)]
    );
    assert!(h.failed_counts_with(&[]).unwrap().is_empty());
}
