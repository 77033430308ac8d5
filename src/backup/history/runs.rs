//! Runs and deletions: the typed rows, recording a run from start to
//! finish (or as skipped, or interrupted when its process died), what
//! retention deleted, and the queries of the CLI, the exporter, the API and
//! the Telegram bot.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};
use serde::{Serialize, Serializer};
use std::path::{Path, PathBuf};

use super::{History, HistoryError, get_ts, get_u64, pid_alive, to_i64, ts_text};

/// Text stored for runs found `running` after their process died.
pub const INTERRUPTED_ERROR: &str = "interrupted: the process stopped before the run finished";

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
    /// The key id of the archive's password, when it is encrypted.
    pub key_id: Option<&'a str>,
    /// What the users-inside policy did, as JSON (`wait`, `lock`, `close`).
    pub policy_outcome: Option<&'a str>,
    /// Each stage with its milliseconds, as JSON (`backup::run::stages`).
    pub stages: Option<&'a str>,
}

impl<'a> Finish<'a> {
    /// A finish with `status` at `finished` and nothing else known yet.
    pub fn new(status: Status, finished: &'a Timestamp) -> Finish<'a> {
        Finish {
            status,
            finished,
            archive_path: None,
            archive_size: None,
            source_size: None,
            sha256: None,
            onec_exit_code: None,
            error: None,
            fingerprint: None,
            log_path: None,
            key_id: None,
            policy_outcome: None,
            stages: None,
        }
    }
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
    /// The key id of the password an encrypted archive was made with
    /// (never the password).
    pub key_id: Option<String>,
    /// What the users-inside policy did (JSON: waited, locked/unlocked,
    /// whose sessions were closed, who was inside at the failure).
    pub policy_outcome: Option<String>,
    /// Each stage with its milliseconds (JSON, `backup::run::stages`).
    pub stages: Option<String>,
}

#[cfg(test)]
impl Run {
    /// A finished row for tests elsewhere in the crate.
    pub(crate) fn example(id: i64, base: &str, status: Status) -> Run {
        Run {
            id,
            base: base.into(),
            trigger: Trigger::Cli,
            started: Timestamp::UNIX_EPOCH,
            finished: Some(Timestamp::UNIX_EPOCH),
            status,
            method: "dump".into(),
            archive_path: None,
            archive_size: None,
            source_size: None,
            sha256: None,
            duration_ms: Some(0),
            onec_exit_code: None,
            error: None,
            fingerprint: None,
            log_path: None,
            pid: 1,
            key_id: None,
            policy_outcome: None,
            stages: None,
        }
    }
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

pub(super) fn ser_ts<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

pub(super) fn ser_opt_ts<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(t),
        None => s.serialize_none(),
    }
}

pub(super) fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

pub(super) const RUN_COLUMNS: &str = r#"id, base, "trigger", started, finished, status, method,
    archive_path, archive_size, source_size, sha256, duration_ms, onec_exit_code, error,
    fingerprint, log_path, pid, key_id, policy_outcome, stages"#;

pub(super) fn run_from_row(row: &Row<'_>) -> rusqlite::Result<Run> {
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
        key_id: row.get(17)?,
        policy_outcome: row.get(18)?,
        stages: row.get(19)?,
    })
}

impl History {
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
    /// Returns the finished row: the one typed record of the run that this
    /// process hands to its readers (feed, bot, API, sinks).
    pub fn finish_run(&self, id: i64, f: &Finish<'_>) -> Result<Run, HistoryError> {
        let started: Option<String> = self
            .conn
            .query_row("SELECT started FROM runs WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        let started = started.ok_or(HistoryError::NoSuchRun(id))?;
        let duration_ms = started
            .parse::<Timestamp>()
            .ok()
            .map(|s| f.finished.duration_since(s).as_millis().max(0) as i64);
        let sql = format!(
            "UPDATE runs SET finished = ?2, status = ?3, archive_path = ?4, archive_size = ?5,
                source_size = ?6, sha256 = ?7, duration_ms = ?8, onec_exit_code = ?9,
                error = ?10, fingerprint = ?11, log_path = ?12, key_id = ?13,
                policy_outcome = ?14, stages = ?15
             WHERE id = ?1 RETURNING {RUN_COLUMNS}"
        );
        let run = self.conn.query_row(
            &sql,
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
                f.key_id,
                f.policy_outcome,
                f.stages,
            ],
            run_from_row,
        )?;
        Ok(run)
    }

    /// Record a run that did not happen (e.g. the base was locked) as one
    /// finished row with status `skipped` and `reason` as its error.
    /// Returns the row.
    pub fn record_skipped(&self, r: &NewRun<'_>, reason: &str) -> Result<Run, HistoryError> {
        let at = ts_text(r.started);
        let sql = format!(
            r#"INSERT INTO runs (base, "trigger", started, finished, status, method, duration_ms,
                   error, pid)
               VALUES (?1, ?2, ?3, ?3, 'skipped', ?4, 0, ?5, ?6) RETURNING {RUN_COLUMNS}"#
        );
        Ok(self.conn.query_row(
            &sql,
            params![r.base, r.trigger, at, r.method, reason, r.pid],
            run_from_row,
        )?)
    }

    /// Mark runs still `running` whose process is gone as `interrupted`;
    /// returns how many. Call at startup.
    pub fn mark_interrupted(&self) -> Result<usize, HistoryError> {
        self.mark_interrupted_where(pid_alive)
    }

    /// The bases that have rows still `running`.
    pub fn running_bases(&self) -> Result<Vec<String>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT base FROM runs WHERE status = 'running'")?;
        let bases = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(bases)
    }

    /// Mark runs still `running` for which `stale(base, pid)` is true as
    /// `interrupted`; returns how many.
    pub fn mark_interrupted_if(
        &self,
        stale: impl Fn(&str, u32) -> bool,
    ) -> Result<usize, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, base, pid FROM runs WHERE status = 'running'")?;
        let rows: Vec<(i64, String, u32)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut marked = 0;
        for (id, base, pid) in rows {
            if !stale(&base, pid) {
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

    /// As [`History::mark_interrupted`], with `alive(pid)` deciding which
    /// processes still run (`|_| false` marks every running row).
    pub fn mark_interrupted_where(
        &self,
        alive: impl Fn(u32) -> bool,
    ) -> Result<usize, HistoryError> {
        self.mark_interrupted_if(|_, pid| !alive(pid))
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
        self.first(&sql, params![base, status], run_from_row)
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

/// Read-side queries for the metrics exporter and the HTTP API.
impl History {
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

    /// Failed runs per base whose error holds any of `marks` (exact,
    /// case-sensitive substrings), e.g. the runs users inside blocked.
    pub fn failed_counts_with(&self, marks: &[&str]) -> Result<Vec<(String, u64)>, HistoryError> {
        let mut out: Vec<(String, u64)> = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT base, error FROM runs WHERE status = 'failed' AND error IS NOT NULL
             ORDER BY base",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (base, error): (String, String) = (r.get(0)?, r.get(1)?);
            if !marks.iter().any(|m| error.contains(m)) {
                continue;
            }
            match out.last_mut() {
                Some((b, n)) if *b == base => *n += 1,
                _ => out.push((base, 1)),
            }
        }
        Ok(out)
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

/// Queries for the Telegram bot: notifications.
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

    /// The key id recorded for the newest archive whose path ends with
    /// `file_name` (an archive's name is unique: prefix and time), if any.
    pub fn key_id_of_archive(&self, file_name: &str) -> Result<Option<String>, HistoryError> {
        Ok(self
            .conn
            .query_row(
                "SELECT key_id FROM runs WHERE key_id IS NOT NULL
                   AND substr(archive_path, -length(?1)) = ?1
                 ORDER BY id DESC LIMIT 1",
                [file_name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The newest successful run of any base.
    pub fn last_success_any(&self) -> Result<Option<Run>, HistoryError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE status = 'ok' ORDER BY started DESC, id DESC LIMIT 1"
        );
        Ok(self.conn.query_row(&sql, [], run_from_row).optional()?)
    }
}
