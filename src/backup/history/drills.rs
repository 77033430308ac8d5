//! Restore drills: one finished row per drill (`ok`, `failed` or
//! `skipped`, with the reason), the archives a drill may pick (successful
//! runs that recorded one), and the queries of the exporter, the notices
//! and the CLI.

use jiff::Timestamp;
use rusqlite::{Row, params};
use serde::Serialize;
use std::path::{Path, PathBuf};

use super::runs::{RUN_COLUMNS, path_text, run_from_row, ser_ts};
use super::{History, HistoryError, Run, Trigger, get_ts, get_u64, to_i64, ts_text};

/// How a drill ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DrillStatus {
    /// The archive was restored and every check passed.
    Ok,
    /// The archive could not be restored or a check failed.
    Failed,
    /// Nothing was tried (no archive, no space, the base busy, a stop).
    Skipped,
}

text_enum!(DrillStatus, "drill status", Ok => "ok", Failed => "failed", Skipped => "skipped");

/// A finished drill to record. `reason` and `detail` must already be
/// masked (no secrets).
#[derive(Debug, Clone)]
pub struct NewDrill<'a> {
    pub base: &'a str,
    pub trigger: Trigger,
    /// The backup run whose archive was drilled.
    pub run_id: Option<i64>,
    pub archive_path: Option<&'a Path>,
    pub started: &'a Timestamp,
    pub finished: &'a Timestamp,
    pub status: DrillStatus,
    /// Why it failed or was skipped.
    pub reason: Option<&'a str>,
    /// Bytes restored into the scratch folder.
    pub bytes: Option<u64>,
    /// What was checked, in one line.
    pub detail: Option<&'a str>,
    pub pid: u32,
    /// Where the archive came from: [`LOCAL`] or an offsite target's name.
    pub source: &'a str,
}

/// The `source` of a drill of the local archive.
pub const LOCAL: &str = "local";

/// One row of `drills`, typed; serialises for `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drill {
    pub id: i64,
    pub base: String,
    pub trigger: Trigger,
    pub run_id: Option<i64>,
    pub archive_path: Option<PathBuf>,
    #[serde(serialize_with = "ser_ts")]
    pub started: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub finished: Timestamp,
    pub status: DrillStatus,
    pub reason: Option<String>,
    pub duration_ms: u64,
    pub bytes: Option<u64>,
    pub detail: Option<String>,
    pub pid: u32,
    /// Where the archive came from: `local` or an offsite target's name.
    pub source: String,
}

const DRILL_COLUMNS: &str = r#"id, base, "trigger", run_id, archive_path, started, finished,
    status, reason, duration_ms, bytes, detail, pid, source"#;

fn drill_from_row(row: &Row<'_>) -> rusqlite::Result<Drill> {
    let required = |i: usize, name: &str| {
        get_ts(row, i)?.ok_or_else(|| {
            rusqlite::Error::InvalidColumnType(i, name.into(), rusqlite::types::Type::Null)
        })
    };
    Ok(Drill {
        id: row.get(0)?,
        base: row.get(1)?,
        trigger: row.get(2)?,
        run_id: row.get(3)?,
        archive_path: row.get::<_, Option<String>>(4)?.map(PathBuf::from),
        started: required(5, "started")?,
        finished: required(6, "finished")?,
        status: row.get(7)?,
        reason: row.get(8)?,
        duration_ms: get_u64(row, 9)?.unwrap_or(0),
        bytes: get_u64(row, 10)?,
        detail: row.get(11)?,
        pid: row.get(12)?,
        source: row.get(13)?,
    })
}

impl History {
    /// Record a finished drill; returns the stored row.
    pub fn record_drill(&self, d: &NewDrill<'_>) -> Result<Drill, HistoryError> {
        let duration_ms = d.finished.duration_since(*d.started).as_millis().max(0) as i64;
        let sql = format!(
            r#"INSERT INTO drills (base, "trigger", run_id, archive_path, started, finished,
                   status, reason, duration_ms, bytes, detail, pid, source)
               VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
               RETURNING {DRILL_COLUMNS}"#
        );
        Ok(self.conn.query_row(
            &sql,
            params![
                d.base,
                d.trigger,
                d.run_id,
                d.archive_path.map(path_text),
                ts_text(d.started),
                ts_text(d.finished),
                d.status,
                d.reason,
                duration_ms,
                d.bytes.map(to_i64),
                d.detail,
                d.pid,
                d.source,
            ],
            drill_from_row,
        )?)
    }

    /// Up to `limit` drills, newest first, optionally of one base only.
    pub fn drills(&self, limit: usize, base: Option<&str>) -> Result<Vec<Drill>, HistoryError> {
        let sql = format!(
            "SELECT {DRILL_COLUMNS} FROM drills WHERE (?1 IS NULL OR base = ?1)
             ORDER BY started DESC, id DESC LIMIT ?2"
        );
        self.all(&sql, params![base, to_i64(limit as u64)], drill_from_row)
    }

    /// The newest drill of `base` with `status` (any status when `None`).
    pub fn last_drill(
        &self,
        base: &str,
        status: Option<DrillStatus>,
    ) -> Result<Option<Drill>, HistoryError> {
        let sql = format!(
            "SELECT {DRILL_COLUMNS} FROM drills WHERE base = ?1 AND (?2 IS NULL OR status = ?2)
             ORDER BY started DESC, id DESC LIMIT 1"
        );
        self.first(&sql, params![base, status], drill_from_row)
    }

    /// Each source `base` was ever drilled from, with the id of its last
    /// drill (ids grow with every drill recorded, so a smaller id is an
    /// older drill): what the `alternate` choice reads.
    pub fn drill_sources(&self, base: &str) -> Result<Vec<(String, i64)>, HistoryError> {
        self.all(
            "SELECT source, MAX(id) FROM drills WHERE base = ?1 GROUP BY source ORDER BY source",
            [base],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// The highest drill id so far (0 for none).
    pub fn max_drill_id(&self) -> Result<i64, HistoryError> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM drills", [], |r| r.get(0))?)
    }

    /// Drills with id above `after_id`, oldest first.
    pub fn drills_since(&self, after_id: i64) -> Result<Vec<Drill>, HistoryError> {
        let sql = format!("SELECT {DRILL_COLUMNS} FROM drills WHERE id > ?1 ORDER BY id");
        self.all(&sql, [after_id], drill_from_row)
    }

    /// Up to `limit` successful runs of `base` that recorded an archive,
    /// newest first: the archives a drill may pick (every `ok` run's
    /// archive was verified before it was published).
    pub fn good_archives(&self, base: &str, limit: usize) -> Result<Vec<Run>, HistoryError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs
             WHERE base = ?1 AND status = 'ok' AND archive_path IS NOT NULL
             ORDER BY started DESC, id DESC LIMIT ?2"
        );
        self.all(&sql, params![base, to_i64(limit as u64)], run_from_row)
    }
}
