//! The run history: one SQLite file (by default `BACKUP_DIR/app.sqlite3`)
//! recording every backup run and every archive retention deleted. This is
//! the only file in the crate with SQL.
//!
//! Two processes may write at once (a scheduled run and a CLI run), so the
//! database is in WAL mode with a 5 s busy timeout. The schema is versioned
//! with `PRAGMA user_version` and an ordered list of [`MIGRATIONS`]; a file
//! written by a newer program is refused rather than guessed at. Times are
//! stored as RFC 3339 UTC text with fixed millisecond precision, so text
//! order is time order. Nothing stores command lines: error text is masked
//! by the caller before it gets here.

use jiff::Timestamp;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, ToSql, TransactionBehavior, params};
use serde::{Serialize, Serializer};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Whether a process with this id is running now (lives in the platform
/// seam; re-exported for the history's callers).
pub use crate::platform::pid_alive;

/// Schema migrations in order; migration `i` (0-based) takes the file from
/// `user_version = i` to `i + 1`. Append only; never edit a released one.
pub const MIGRATIONS: &[&str] = &[
    // 1: runs and deletions.
    r#"
    CREATE TABLE runs (
        id             INTEGER PRIMARY KEY,
        base           TEXT    NOT NULL,
        "trigger"      TEXT    NOT NULL CHECK ("trigger" IN ('cli', 'telegram', 'schedule', 'api')),
        started        TEXT    NOT NULL,
        finished       TEXT,
        status         TEXT    NOT NULL
                       CHECK (status IN ('running', 'ok', 'failed', 'skipped', 'interrupted')),
        method         TEXT    NOT NULL,
        archive_path   TEXT,
        archive_size   INTEGER,
        source_size    INTEGER,
        sha256         TEXT,
        duration_ms    INTEGER,
        onec_exit_code INTEGER,
        error          TEXT,
        fingerprint    TEXT,
        log_path       TEXT,
        pid            INTEGER NOT NULL
    );
    CREATE INDEX runs_base_started ON runs (base, started);
    CREATE INDEX runs_started ON runs (started);
    CREATE TABLE deletions (
        id         INTEGER PRIMARY KEY,
        run_id     INTEGER REFERENCES runs (id),
        path       TEXT    NOT NULL,
        size       INTEGER NOT NULL,
        reasons    TEXT    NOT NULL,
        deleted_at TEXT    NOT NULL
    );
    CREATE INDEX deletions_run ON deletions (run_id);
    "#,
    // 2: host samples for the Telegram /chart (one a minute, 30 days kept).
    r#"
    CREATE TABLE samples (
        ts         INTEGER NOT NULL,
        cpu        REAL,
        mem        REAL,
        disk       REAL,
        rdp        INTEGER,
        onec_users INTEGER
    );
    CREATE INDEX samples_ts ON samples (ts);
    "#,
];

/// Text stored for runs found `running` after their process died.
pub const INTERRUPTED_ERROR: &str = "interrupted: the process stopped before the run finished";

/// Errors from the history database.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot open history database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "history database {path} has schema version {found}, newer than this program knows \
         ({known}): it was written by a newer onec-backup-bot; upgrade this program or use \
         another database file"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot migrate history database {path} to schema version {version}: {source}")]
    Migrate {
        path: PathBuf,
        version: i64,
        #[source]
        source: rusqlite::Error,
    },
    #[error("no run with id {0} in the history database")]
    NoSuchRun(i64),
    #[error("history database query failed: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    Cli,
    Telegram,
    Schedule,
    Api,
}

/// Where a run is, or how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Running,
    Ok,
    Failed,
    Skipped,
    Interrupted,
}

/// Text ↔ enum for the two small enums, with `as_str`, `FromStr`, `Display`,
/// `Serialize` (as the text) and SQLite conversions.
macro_rules! text_enum {
    ($ty:ident, $what:literal, $($variant:ident => $text:literal),+ $(,)?) => {
        impl $ty {
            pub const ALL: &[$ty] = &[$($ty::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($ty::$variant),)+
                    other => Err(format!(
                        concat!("unknown ", $what, " {:?} (expected one of: {})"),
                        other,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }
        impl FromSql for $ty {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                v.as_str()?.parse().map_err(|e: String| FromSqlError::Other(e.into()))
            }
        }
    };
}

text_enum!(Trigger, "trigger", Cli => "cli", Telegram => "telegram", Schedule => "schedule", Api => "api");
text_enum!(Status, "status", Running => "running", Ok => "ok", Failed => "failed",
    Skipped => "skipped", Interrupted => "interrupted");

/// A run as it starts.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub base: &'a str,
    pub trigger: Trigger,
    pub method: &'a str,
    pub started: &'a Timestamp,
    pub pid: u32,
}

/// How a run ended. `error` must already be masked (no secrets).
#[derive(Debug, Clone)]
pub struct Finish<'a> {
    pub status: Status,
    pub finished: &'a Timestamp,
    pub archive_path: Option<&'a Path>,
    pub archive_size: Option<u64>,
    pub source_size: Option<u64>,
    pub sha256: Option<&'a str>,
    pub onec_exit_code: Option<i32>,
    pub error: Option<&'a str>,
    pub fingerprint: Option<&'a str>,
    pub log_path: Option<&'a Path>,
}

/// One row of `runs`, typed; serialises for `--json` output (times as
/// RFC 3339 text).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub id: i64,
    pub base: String,
    pub trigger: Trigger,
    #[serde(serialize_with = "ser_ts")]
    pub started: Timestamp,
    #[serde(serialize_with = "ser_opt_ts")]
    pub finished: Option<Timestamp>,
    pub status: Status,
    pub method: String,
    pub archive_path: Option<PathBuf>,
    pub archive_size: Option<u64>,
    pub source_size: Option<u64>,
    pub sha256: Option<String>,
    pub duration_ms: Option<u64>,
    pub onec_exit_code: Option<i32>,
    pub error: Option<String>,
    pub fingerprint: Option<String>,
    pub log_path: Option<PathBuf>,
    pub pid: u32,
}

/// One row of `deletions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deletion {
    pub id: i64,
    pub run_id: Option<i64>,
    pub path: PathBuf,
    pub size: u64,
    pub reasons: String,
    #[serde(serialize_with = "ser_ts")]
    pub deleted_at: Timestamp,
}

fn ser_ts<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

fn ser_opt_ts<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(t),
        None => s.serialize_none(),
    }
}

/// Fixed-width UTC text, so that text order is time order.
fn ts_text(t: &Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Sizes fit SQLite's signed 64-bit integers in practice; clamp otherwise.
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

const RUN_COLUMNS: &str = r#"id, base, "trigger", started, finished, status, method,
    archive_path, archive_size, source_size, sha256, duration_ms, onec_exit_code, error,
    fingerprint, log_path, pid"#;

fn conversion(i: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
}

fn get_ts(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<Timestamp>> {
    let text: Option<String> = row.get(i)?;
    text.map(|s| s.parse::<Timestamp>().map_err(|e| conversion(i, e)))
        .transpose()
}

fn get_u64(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<u64>> {
    let v: Option<i64> = row.get(i)?;
    v.map(|v| u64::try_from(v).map_err(|e| conversion(i, e)))
        .transpose()
}

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<Run> {
    Ok(Run {
        id: row.get(0)?,
        base: row.get(1)?,
        trigger: row.get(2)?,
        started: get_ts(row, 3)?.ok_or(rusqlite::Error::InvalidColumnType(
            3,
            "started".into(),
            rusqlite::types::Type::Null,
        ))?,
        finished: get_ts(row, 4)?,
        status: row.get(5)?,
        method: row.get(6)?,
        archive_path: row.get::<_, Option<String>>(7)?.map(PathBuf::from),
        archive_size: get_u64(row, 8)?,
        source_size: get_u64(row, 9)?,
        sha256: row.get(10)?,
        duration_ms: get_u64(row, 11)?,
        onec_exit_code: row.get(12)?,
        error: row.get(13)?,
        fingerprint: row.get(14)?,
        log_path: row.get::<_, Option<String>>(15)?.map(PathBuf::from),
        pid: row.get(16)?,
    })
}

/// An open history database.
#[derive(Debug)]
pub struct History {
    conn: Connection,
}

impl History {
    /// Open (creating if needed) the database at `path`, switch it to WAL,
    /// set a 5 s busy timeout and bring the schema up to date. A file with a
    /// newer schema than this program knows is refused.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let open_err = |source| HistoryError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(open_err)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "history database is not in WAL mode");
        }
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        migrate(&mut conn, path)?;
        Ok(History { conn })
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64, HistoryError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Record a run that has started (status `running`); returns its id.
    pub fn start_run(&self, r: &NewRun<'_>) -> Result<i64, HistoryError> {
        self.conn.execute(
            r#"INSERT INTO runs (base, "trigger", started, status, method, pid)
               VALUES (?1, ?2, ?3, 'running', ?4, ?5)"#,
            params![r.base, r.trigger, ts_text(r.started), r.method, r.pid],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Record how run `id` ended; `duration_ms` is computed from its start.
    pub fn finish_run(&self, id: i64, f: &Finish<'_>) -> Result<(), HistoryError> {
        let started: Option<String> = self
            .conn
            .query_row("SELECT started FROM runs WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        let started = started.ok_or(HistoryError::NoSuchRun(id))?;
        let duration_ms = started
            .parse::<Timestamp>()
            .ok()
            .map(|s| f.finished.duration_since(s).as_millis().max(0) as i64);
        self.conn.execute(
            "UPDATE runs SET finished = ?2, status = ?3, archive_path = ?4, archive_size = ?5,
                source_size = ?6, sha256 = ?7, duration_ms = ?8, onec_exit_code = ?9,
                error = ?10, fingerprint = ?11, log_path = ?12
             WHERE id = ?1",
            params![
                id,
                ts_text(f.finished),
                f.status,
                f.archive_path.map(path_text),
                f.archive_size.map(to_i64),
                f.source_size.map(to_i64),
                f.sha256,
                duration_ms,
                f.onec_exit_code,
                f.error,
                f.fingerprint,
                f.log_path.map(path_text),
            ],
        )?;
        Ok(())
    }

    /// Record a run that did not happen (e.g. the base was locked) as one
    /// finished row with status `skipped` and `reason` as its error.
    pub fn record_skipped(&self, r: &NewRun<'_>, reason: &str) -> Result<i64, HistoryError> {
        let at = ts_text(r.started);
        self.conn.execute(
            r#"INSERT INTO runs (base, "trigger", started, finished, status, method, duration_ms,
                   error, pid)
               VALUES (?1, ?2, ?3, ?3, 'skipped', ?4, 0, ?5, ?6)"#,
            params![r.base, r.trigger, at, r.method, reason, r.pid],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Mark runs still `running` whose process is gone as `interrupted`;
    /// returns how many. Call at startup.
    pub fn mark_interrupted(&self) -> Result<usize, HistoryError> {
        self.mark_interrupted_where(pid_alive)
    }

    /// As [`History::mark_interrupted`], with `alive(pid)` deciding which
    /// processes still run (`|_| false` marks every running row).
    pub fn mark_interrupted_where(
        &self,
        alive: impl Fn(u32) -> bool,
    ) -> Result<usize, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, pid FROM runs WHERE status = 'running'")?;
        let rows: Vec<(i64, u32)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut marked = 0;
        for (id, pid) in rows {
            if alive(pid) {
                continue;
            }
            marked += self.conn.execute(
                "UPDATE runs SET status = 'interrupted', error = ?2
                 WHERE id = ?1 AND status = 'running'",
                params![id, INTERRUPTED_ERROR],
            )?;
        }
        Ok(marked)
    }

    /// Up to `limit` runs, newest first, optionally of one base only.
    pub fn list(&self, limit: usize, base: Option<&str>) -> Result<Vec<Run>, HistoryError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE (?1 IS NULL OR base = ?1)
             ORDER BY started DESC, id DESC LIMIT ?2"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let runs = stmt
            .query_map(params![base, to_i64(limit as u64)], run_from_row)?
            .collect::<Result<_, _>>()?;
        Ok(runs)
    }

    /// The newest run of `base` that ended `ok`.
    pub fn last_success(&self, base: &str) -> Result<Option<Run>, HistoryError> {
        self.newest(base, Some(Status::Ok))
    }

    /// The newest run of `base`, whatever its status.
    pub fn last_run(&self, base: &str) -> Result<Option<Run>, HistoryError> {
        self.newest(base, None)
    }

    fn newest(&self, base: &str, status: Option<Status>) -> Result<Option<Run>, HistoryError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE base = ?1 AND (?2 IS NULL OR status = ?2)
             ORDER BY started DESC, id DESC LIMIT 1"
        );
        Ok(self
            .conn
            .query_row(&sql, params![base, status], run_from_row)
            .optional()?)
    }

    /// Record that retention deleted `path` (`size` bytes) for `reasons`,
    /// during run `run_id` if there was one.
    pub fn record_deletion(
        &self,
        run_id: Option<i64>,
        path: &Path,
        size: u64,
        reasons: &str,
    ) -> Result<(), HistoryError> {
        self.conn.execute(
            "INSERT INTO deletions (run_id, path, size, reasons, deleted_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                run_id,
                path_text(path),
                to_i64(size),
                reasons,
                ts_text(&Timestamp::now())
            ],
        )?;
        Ok(())
    }

    /// Up to `limit` deletions, newest first.
    pub fn deletions(&self, limit: usize) -> Result<Vec<Deletion>, HistoryError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, run_id, path, size, reasons, deleted_at FROM deletions
             ORDER BY deleted_at DESC, id DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([to_i64(limit as u64)], |r| {
                Ok(Deletion {
                    id: r.get(0)?,
                    run_id: r.get(1)?,
                    path: PathBuf::from(r.get::<_, String>(2)?),
                    size: get_u64(r, 3)?.unwrap_or(0),
                    reasons: r.get(4)?,
                    deleted_at: get_ts(r, 5)?.unwrap_or(Timestamp::UNIX_EPOCH),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

/// Bring the schema up to [`MIGRATIONS`]`.len()` inside one immediate
/// transaction, so two processes opening a fresh file cannot both migrate.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), HistoryError> {
    let known = MIGRATIONS.len() as i64;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|source| HistoryError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > known {
        return Err(HistoryError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let version = i as i64 + 1;
        let err = |source| HistoryError::Migrate {
            path: path.to_path_buf(),
            version,
            source,
        };
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(err)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn temp_db() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.sqlite3");
        (dir, path)
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
        Finish {
            status: Status::Ok,
            finished,
            archive_path: None,
            archive_size: None,
            source_size: None,
            sha256: None,
            onec_exit_code: None,
            error: None,
            fingerprint: None,
            log_path: None,
        }
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
        let (_d, path) = temp_db();
        let h = History::open(&path).unwrap();
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

        h.finish_run(
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
            },
        )
        .unwrap();
        let run = h.last_run("Бухгалтерия").unwrap().unwrap();
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
        let (_d, path) = temp_db();
        let h = History::open(&path).unwrap();
        let now = ts("2024-03-01T10:00:00Z");
        assert!(matches!(
            h.finish_run(77, &ok_finish(&now)),
            Err(HistoryError::NoSuchRun(77))
        ));
    }

    #[test]
    fn list_order_limit_and_base_filter() {
        let (_d, path) = temp_db();
        let h = History::open(&path).unwrap();
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
        let (_d, path) = temp_db();
        let h = History::open(&path).unwrap();
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
        let (_d, path) = temp_db();
        let h = History::open(&path).unwrap();
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
        let (_d, path) = temp_db();
        let h = History::open(&path).unwrap();
        let t = ts("2024-01-01T00:00:00Z");
        let r = NewRun {
            trigger: Trigger::Schedule,
            ..new_run("buh", &t)
        };
        let id = h
            .record_skipped(&r, "the base is locked by another run")
            .unwrap();
        let runs = h.list(10, None).unwrap();
        assert_eq!(runs.len(), 1);
        let run = &runs[0];
        assert_eq!(run.id, id);
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
        let (_d, path) = temp_db();
        let h = History::open(&path).unwrap();
        let mut cols = HashSet::new();
        for table in ["runs", "deletions"] {
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
        let err = "nightly".parse::<Trigger>().unwrap_err();
        assert!(err.contains("unknown trigger \"nightly\""), "{err}");
        assert!(err.contains("cli, telegram, schedule, api"), "{err}");
    }
}

/// Read-side queries for the metrics exporter and the HTTP API.
#[allow(clippy::items_after_test_module)]
impl History {
    /// Open an existing database for reading only: no file is created and
    /// no migration runs, and a writer holding the lock delays a query by
    /// at most `busy` (WAL readers normally never wait).
    pub fn open_read_only(path: &Path, busy: Duration) -> Result<History, HistoryError> {
        let open_err = |source| HistoryError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        conn.busy_timeout(busy).map_err(open_err)?;
        Ok(History { conn })
    }

    /// How many runs ended with each status, per base (running rows are
    /// not counted): `(base, status, count)`, sorted.
    pub fn run_counts(&self) -> Result<Vec<(String, Status, u64)>, HistoryError> {
        let mut stmt = self.conn.prepare(
            "SELECT base, status, COUNT(*) FROM runs WHERE status != 'running'
             GROUP BY base, status ORDER BY base, status",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, get_u64(r, 2)?.unwrap_or(0)))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The newest run of `base` that finished ok, failed or was
    /// interrupted (skipped and running rows are ignored).
    pub fn last_finished(&self, base: &str) -> Result<Option<Run>, HistoryError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs
             WHERE base = ?1 AND status IN ('ok', 'failed', 'interrupted')
             ORDER BY started DESC, id DESC LIMIT 1"
        );
        Ok(self
            .conn
            .query_row(&sql, params![base], run_from_row)
            .optional()?)
    }
}

/// One host sample (percents 0–100; `None` when the collector failed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Unix seconds.
    pub ts: i64,
    pub cpu: Option<f64>,
    pub mem: Option<f64>,
    pub disk: Option<f64>,
    pub rdp: Option<u64>,
    pub onec_users: Option<u64>,
}

/// Queries for the Telegram bot: notifications and charts.
impl History {
    /// The highest run id so far (0 for an empty history).
    pub fn max_run_id(&self) -> Result<i64, HistoryError> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM runs", [], |r| r.get(0))?)
    }

    /// Runs with id above `after_id` that are no longer `running`, oldest
    /// first.
    pub fn finished_since(&self, after_id: i64) -> Result<Vec<Run>, HistoryError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE id > ?1 AND status != 'running' ORDER BY id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let runs = stmt
            .query_map([after_id], run_from_row)?
            .collect::<Result<_, _>>()?;
        Ok(runs)
    }

    /// The run with history id `id`.
    pub fn run(&self, id: i64) -> Result<Option<Run>, HistoryError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
        Ok(self.conn.query_row(&sql, [id], run_from_row).optional()?)
    }

    /// The newest successful run of any base.
    pub fn last_success_any(&self) -> Result<Option<Run>, HistoryError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE status = 'ok' ORDER BY started DESC, id DESC LIMIT 1"
        );
        Ok(self.conn.query_row(&sql, [], run_from_row).optional()?)
    }

    /// Store one host sample.
    pub fn insert_sample(&self, s: &Sample) -> Result<(), HistoryError> {
        self.conn.execute(
            "INSERT INTO samples (ts, cpu, mem, disk, rdp, onec_users) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                s.ts,
                s.cpu,
                s.mem,
                s.disk,
                s.rdp.map(to_i64),
                s.onec_users.map(to_i64)
            ],
        )?;
        Ok(())
    }

    /// Samples with `ts >= since` (unix seconds), oldest first.
    pub fn samples_since(&self, since: i64) -> Result<Vec<Sample>, HistoryError> {
        let mut stmt = self.conn.prepare(
            "SELECT ts, cpu, mem, disk, rdp, onec_users FROM samples WHERE ts >= ?1 ORDER BY ts",
        )?;
        let rows = stmt
            .query_map([since], |r| {
                Ok(Sample {
                    ts: r.get(0)?,
                    cpu: r.get(1)?,
                    mem: r.get(2)?,
                    disk: r.get(3)?,
                    rdp: get_u64(r, 4)?,
                    onec_users: get_u64(r, 5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Delete samples older than `before` (unix seconds); returns how many.
    pub fn prune_samples(&self, before: i64) -> Result<usize, HistoryError> {
        Ok(self
            .conn
            .execute("DELETE FROM samples WHERE ts < ?1", [before])?)
    }
}

#[cfg(test)]
mod sample_tests {
    use super::*;

    #[test]
    fn samples_round_trip_and_prune() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.sqlite3")).unwrap();
        for (ts, cpu) in [(100, Some(5.0)), (200, None), (300, Some(50.5))] {
            h.insert_sample(&Sample {
                ts,
                cpu,
                mem: Some(40.0),
                disk: Some(70.0),
                rdp: Some(2),
                onec_users: None,
            })
            .unwrap();
        }
        let got = h.samples_since(150).unwrap();
        assert_eq!(got.iter().map(|s| s.ts).collect::<Vec<_>>(), [200, 300]);
        assert_eq!(got[0].cpu, None);
        assert_eq!(got[1].cpu, Some(50.5));
        assert_eq!(got[1].rdp, Some(2));
        assert_eq!(h.prune_samples(250).unwrap(), 2);
        assert_eq!(h.samples_since(0).unwrap().len(), 1);
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
        let a = h.record_skipped(&new("a"), "locked").unwrap();
        let b = h.start_run(&new("b")).unwrap();
        let c = h.record_skipped(&new("c"), "unchanged").unwrap();
        let ids: Vec<i64> = h.finished_since(a).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(ids, [c], "b is still running");
        assert_eq!(h.max_run_id().unwrap(), c);
        assert!(b < c);
        assert!(h.last_success_any().unwrap().is_none());
    }
}
