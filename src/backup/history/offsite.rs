//! Offsite copies in the history: when each target first appeared (so a
//! new target uploads from then on, not years of archives), the upload
//! queue (one item per target and run: state, attempts, next attempt,
//! the kind's resume state, the last error) and one row per upload attempt
//! (`offsite_uploads`), whose `deleted` time remote retention sets. Error
//! text and resume state are stored as given: callers mask errors, and a
//! kind's resume state holds ids and ETags, never credentials.

use jiff::Timestamp;
use rusqlite::{Row, params};
use serde::Serialize;

use super::runs::{RUN_COLUMNS, run_from_row, ser_opt_ts, ser_ts};
use super::{History, HistoryError, Run, get_ts, get_u64, to_i64, ts_text};

/// Where a queue item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueState {
    /// Waiting for its first attempt.
    Queued,
    /// A process (its `pid`) is uploading it now.
    Uploading,
    /// Uploaded and verified.
    Done,
    /// The last attempt failed; retried at `next_attempt`.
    Failed,
}

text_enum!(QueueState, "offsite queue state",
    Queued => "queued", Uploading => "uploading", Done => "done", Failed => "failed");

/// How an upload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UploadStatus {
    Ok,
    Failed,
}

text_enum!(UploadStatus, "upload status", Ok => "ok", Failed => "failed");

/// One item of the upload queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueItem {
    pub id: i64,
    pub target: String,
    pub run_id: i64,
    pub base: String,
    /// The object's name on the target (mode fixed: the daily slot).
    pub object: String,
    pub state: QueueState,
    pub attempts: u32,
    #[serde(serialize_with = "ser_ts")]
    pub next_attempt: Timestamp,
    #[serde(skip)]
    pub resume: Option<String>,
    pub last_error: Option<String>,
    pub pid: Option<u32>,
    /// The archive's size when it was queued.
    pub bytes: Option<u64>,
    #[serde(serialize_with = "ser_ts")]
    pub created: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub updated: Timestamp,
}

/// A finished upload attempt to record (`error` already masked).
#[derive(Debug, Clone)]
pub struct NewUpload<'a> {
    pub target: &'a str,
    pub run_id: i64,
    pub base: &'a str,
    pub object: &'a str,
    pub bytes: Option<u64>,
    /// `size`, `etag` or `read`.
    pub verified: Option<&'a str>,
    pub status: UploadStatus,
    pub error: Option<&'a str>,
    pub started: &'a Timestamp,
    pub finished: &'a Timestamp,
}

/// One row of `offsite_uploads`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UploadRow {
    pub id: i64,
    pub target: String,
    pub run_id: i64,
    pub base: String,
    pub object: String,
    pub bytes: Option<u64>,
    pub duration_ms: u64,
    pub verified: Option<String>,
    pub status: UploadStatus,
    pub error: Option<String>,
    #[serde(serialize_with = "ser_ts")]
    pub started: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub finished: Timestamp,
    /// When remote retention deleted the object.
    #[serde(serialize_with = "ser_opt_ts")]
    pub deleted: Option<Timestamp>,
}

const QUEUE_COLUMNS: &str = "id, target, run_id, base, object, state, attempts, next_attempt,
    resume, last_error, pid, bytes, created, updated";

fn required_ts(row: &Row<'_>, i: usize) -> rusqlite::Result<Timestamp> {
    get_ts(row, i)?.ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(i, "time".into(), rusqlite::types::Type::Null)
    })
}

fn queue_from_row(row: &Row<'_>) -> rusqlite::Result<QueueItem> {
    Ok(QueueItem {
        id: row.get(0)?,
        target: row.get(1)?,
        run_id: row.get(2)?,
        base: row.get(3)?,
        object: row.get(4)?,
        state: row.get(5)?,
        attempts: row.get(6)?,
        next_attempt: required_ts(row, 7)?,
        resume: row.get(8)?,
        last_error: row.get(9)?,
        pid: row.get(10)?,
        bytes: get_u64(row, 11)?,
        created: required_ts(row, 12)?,
        updated: required_ts(row, 13)?,
    })
}

const UPLOAD_COLUMNS: &str = "id, target, run_id, base, object, bytes, duration_ms, verified,
    status, error, started, finished, deleted";

fn upload_from_row(row: &Row<'_>) -> rusqlite::Result<UploadRow> {
    Ok(UploadRow {
        id: row.get(0)?,
        target: row.get(1)?,
        run_id: row.get(2)?,
        base: row.get(3)?,
        object: row.get(4)?,
        bytes: get_u64(row, 5)?,
        duration_ms: get_u64(row, 6)?.unwrap_or(0),
        verified: row.get(7)?,
        status: row.get(8)?,
        error: row.get(9)?,
        started: required_ts(row, 10)?,
        finished: required_ts(row, 11)?,
        deleted: get_ts(row, 12)?,
    })
}

impl History {
    /// When target `name` first appeared and the highest run id then;
    /// records both now on the first call.
    pub fn offsite_target_seen(&self, name: &str) -> Result<(Timestamp, i64), HistoryError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO offsite_targets (name, first_seen, first_run)
             VALUES (?1, ?2, (SELECT COALESCE(MAX(id), 0) FROM runs))",
            params![name, ts_text(&Timestamp::now())],
        )?;
        Ok(self.conn.query_row(
            "SELECT first_seen, first_run FROM offsite_targets WHERE name = ?1",
            [name],
            |r| Ok((required_ts(r, 0)?, r.get(1)?)),
        )?)
    }

    /// Successful runs with id above `after_id` or equal to one of
    /// `also`, oldest first (the queue's candidates).
    pub fn ok_runs_since(&self, after_id: i64) -> Result<Vec<Run>, HistoryError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs
             WHERE id > ?1 AND status = 'ok' AND archive_path IS NOT NULL ORDER BY id"
        );
        self.all(&sql, [after_id], run_from_row)
    }

    /// The start times of `base`'s successful runs with an archive, oldest
    /// first (for "the first good archive of its day / week / month").
    pub fn ok_run_starts(&self, base: &str) -> Result<Vec<(i64, Timestamp)>, HistoryError> {
        self.all(
            "SELECT id, started FROM runs
             WHERE base = ?1 AND status = 'ok' AND archive_path IS NOT NULL
             ORDER BY started, id",
            [base],
            |r| Ok((r.get(0)?, required_ts(r, 1)?)),
        )
    }

    /// Queue run `run_id` for `target` unless it is queued already;
    /// `true` when a new item was added.
    pub fn offsite_enqueue(
        &self,
        target: &str,
        run_id: i64,
        base: &str,
        object: &str,
        bytes: Option<u64>,
    ) -> Result<bool, HistoryError> {
        let now = ts_text(&Timestamp::now());
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO offsite_queue
               (target, run_id, base, object, state, attempts, next_attempt, bytes, created, updated)
             VALUES (?1, ?2, ?3, ?4, 'queued', 0, ?5, ?6, ?5, ?5)",
            params![target, run_id, base, object, now, bytes.map(to_i64)],
        )?;
        Ok(n == 1)
    }

    /// Every item of the queue (all targets when `target` is `None`),
    /// oldest first.
    pub fn offsite_queue(&self, target: Option<&str>) -> Result<Vec<QueueItem>, HistoryError> {
        let sql = format!(
            "SELECT {QUEUE_COLUMNS} FROM offsite_queue
             WHERE (?1 IS NULL OR target = ?1) ORDER BY id"
        );
        self.all(&sql, params![target], queue_from_row)
    }

    /// The items of `target` due at `now` (queued, or failed and past their
    /// next attempt, or left `uploading` by a process that is gone),
    /// oldest first.
    pub fn offsite_due(
        &self,
        target: &str,
        now: &Timestamp,
    ) -> Result<Vec<QueueItem>, HistoryError> {
        let sql = format!(
            "SELECT {QUEUE_COLUMNS} FROM offsite_queue
             WHERE target = ?1 AND state != 'done' AND next_attempt <= ?2 ORDER BY id"
        );
        let items = self.all(&sql, params![target, ts_text(now)], queue_from_row)?;
        Ok(items
            .into_iter()
            .filter(|i| {
                i.state != QueueState::Uploading || !i.pid.is_some_and(crate::platform::pid_alive)
            })
            .collect())
    }

    /// Take item `id` for this process: `false` when another process took
    /// it first (or it is done).
    pub fn offsite_claim(&self, id: i64, pid: u32) -> Result<bool, HistoryError> {
        let item = self.first(
            &format!("SELECT {QUEUE_COLUMNS} FROM offsite_queue WHERE id = ?1"),
            [id],
            queue_from_row,
        )?;
        let Some(item) = item else { return Ok(false) };
        if item.state == QueueState::Done
            || (item.state == QueueState::Uploading
                && item
                    .pid
                    .is_some_and(|p| p != pid && crate::platform::pid_alive(p)))
        {
            return Ok(false);
        }
        // Compare-and-set on the state and pid read above.
        let n = self.conn.execute(
            "UPDATE offsite_queue SET state = 'uploading', pid = ?2, updated = ?3
             WHERE id = ?1 AND state = ?4 AND pid IS ?5",
            params![id, pid, ts_text(&Timestamp::now()), item.state, item.pid],
        )?;
        Ok(n == 1)
    }

    /// Save (or clear) the resume state of item `id`.
    pub fn offsite_save_resume(&self, id: i64, state: Option<&str>) -> Result<(), HistoryError> {
        self.conn.execute(
            "UPDATE offsite_queue SET resume = ?2, updated = ?3 WHERE id = ?1",
            params![id, state, ts_text(&Timestamp::now())],
        )?;
        Ok(())
    }

    /// The resume state of item `id`.
    pub fn offsite_resume(&self, id: i64) -> Result<Option<String>, HistoryError> {
        Ok(self
            .first(
                "SELECT resume FROM offsite_queue WHERE id = ?1",
                [id],
                |r| r.get::<_, Option<String>>(0),
            )?
            .flatten())
    }

    /// Item `id` is uploaded and verified.
    pub fn offsite_done(&self, id: i64) -> Result<(), HistoryError> {
        self.conn.execute(
            "UPDATE offsite_queue SET state = 'done', resume = NULL, last_error = NULL,
               pid = NULL, updated = ?2 WHERE id = ?1",
            params![id, ts_text(&Timestamp::now())],
        )?;
        Ok(())
    }

    /// Item `id` failed (`error` already masked): one more attempt, the
    /// next one at `next`.
    pub fn offsite_failed(
        &self,
        id: i64,
        error: &str,
        next: &Timestamp,
    ) -> Result<(), HistoryError> {
        self.conn.execute(
            "UPDATE offsite_queue SET state = 'failed', attempts = attempts + 1,
               last_error = ?2, next_attempt = ?3, pid = NULL, updated = ?4 WHERE id = ?1",
            params![id, error, ts_text(next), ts_text(&Timestamp::now())],
        )?;
        Ok(())
    }

    /// Make every waiting item of `target` (all targets: `None`) due now
    /// (`offsite push` does not wait for the backoff).
    pub fn offsite_due_now(&self, target: Option<&str>) -> Result<usize, HistoryError> {
        Ok(self.conn.execute(
            "UPDATE offsite_queue SET next_attempt = ?2
             WHERE state IN ('queued', 'failed') AND (?1 IS NULL OR target = ?1)",
            params![target, ts_text(&Timestamp::now())],
        )?)
    }

    /// Record one upload attempt; returns the stored row.
    pub fn record_upload(&self, u: &NewUpload<'_>) -> Result<UploadRow, HistoryError> {
        let duration_ms = u.finished.duration_since(*u.started).as_millis().max(0) as i64;
        let sql = format!(
            "INSERT INTO offsite_uploads (target, run_id, base, object, bytes, duration_ms,
                 verified, status, error, started, finished)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             RETURNING {UPLOAD_COLUMNS}"
        );
        Ok(self.conn.query_row(
            &sql,
            params![
                u.target,
                u.run_id,
                u.base,
                u.object,
                u.bytes.map(to_i64),
                duration_ms,
                u.verified,
                u.status,
                u.error,
                ts_text(u.started),
                ts_text(u.finished),
            ],
            upload_from_row,
        )?)
    }

    /// Upload rows, newest first: of `target` (all: `None`), up to `limit`.
    pub fn uploads(
        &self,
        target: Option<&str>,
        limit: usize,
    ) -> Result<Vec<UploadRow>, HistoryError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM offsite_uploads WHERE (?1 IS NULL OR target = ?1)
             ORDER BY finished DESC, id DESC LIMIT ?2"
        );
        self.all(&sql, params![target, to_i64(limit as u64)], upload_from_row)
    }

    /// The successful, not deleted uploads of `base` to `target`, oldest
    /// first: what remote retention may delete (nothing else).
    pub fn live_uploads(&self, target: &str, base: &str) -> Result<Vec<UploadRow>, HistoryError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM offsite_uploads
             WHERE target = ?1 AND base = ?2 AND status = 'ok' AND deleted IS NULL
             ORDER BY finished, id"
        );
        self.all(&sql, params![target, base], upload_from_row)
    }

    /// The newest successful, not deleted upload of run `run_id` to
    /// `target` (what `restore --from` fetches).
    pub fn live_upload_of_run(
        &self,
        target: &str,
        run_id: i64,
    ) -> Result<Option<UploadRow>, HistoryError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM offsite_uploads
             WHERE target = ?1 AND run_id = ?2 AND status = 'ok' AND deleted IS NULL
             ORDER BY finished DESC, id DESC LIMIT 1"
        );
        self.first(&sql, params![target, run_id], upload_from_row)
    }

    /// The targets run `run_id` has a live copy on, sorted.
    pub fn copies_of_run(&self, run_id: i64) -> Result<Vec<String>, HistoryError> {
        self.all(
            "SELECT DISTINCT target FROM offsite_uploads
             WHERE run_id = ?1 AND status = 'ok' AND deleted IS NULL ORDER BY target",
            [run_id],
            |r| r.get(0),
        )
    }

    /// Every row of object `object` on `target` is deleted now (remote
    /// retention removed it).
    pub fn mark_upload_deleted(&self, target: &str, object: &str) -> Result<usize, HistoryError> {
        Ok(self.conn.execute(
            "UPDATE offsite_uploads SET deleted = ?3
             WHERE target = ?1 AND object = ?2 AND status = 'ok' AND deleted IS NULL",
            params![target, object, ts_text(&Timestamp::now())],
        )?)
    }

    /// The newest successful upload of `base` to `target`.
    pub fn last_upload_ok(
        &self,
        target: &str,
        base: &str,
    ) -> Result<Option<UploadRow>, HistoryError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM offsite_uploads
             WHERE target = ?1 AND base = ?2 AND status = 'ok'
             ORDER BY finished DESC, id DESC LIMIT 1"
        );
        self.first(&sql, params![target, base], upload_from_row)
    }

    /// When target `name` first appeared, if it ever did (read only: for
    /// the exporter's read-only connection).
    pub fn offsite_first_seen(&self, name: &str) -> Result<Option<Timestamp>, HistoryError> {
        self.first(
            "SELECT first_seen FROM offsite_targets WHERE name = ?1",
            [name],
            |r| required_ts(r, 0),
        )
    }

    /// The newest upload attempt (ok or failed) of `base` to `target`.
    pub fn last_upload(&self, target: &str, base: &str) -> Result<Option<UploadRow>, HistoryError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM offsite_uploads WHERE target = ?1 AND base = ?2
             ORDER BY finished DESC, id DESC LIMIT 1"
        );
        self.first(&sql, params![target, base], upload_from_row)
    }

    /// Upload attempts per (target, status), sorted: what
    /// `onec_offsite_uploads_total` counts.
    pub fn upload_counts(&self) -> Result<Vec<(String, UploadStatus, u64)>, HistoryError> {
        self.all(
            "SELECT target, status, COUNT(*) FROM offsite_uploads
             GROUP BY target, status ORDER BY target, status",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, get_u64(r, 2)?.unwrap_or(0))),
        )
    }

    /// Items still waiting (not done) per (target, base): how many and the
    /// bytes of their archives, sorted.
    pub fn queue_waiting(&self) -> Result<Vec<(String, String, u64, u64)>, HistoryError> {
        self.all(
            "SELECT target, base, COUNT(*), COALESCE(SUM(bytes), 0) FROM offsite_queue
             WHERE state != 'done' GROUP BY target, base ORDER BY target, base",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    get_u64(r, 2)?.unwrap_or(0),
                    get_u64(r, 3)?.unwrap_or(0),
                ))
            },
        )
    }

    /// The highest upload row id (0 when none): where the agent's feed of
    /// uploads starts.
    pub fn max_upload_id(&self) -> Result<i64, HistoryError> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(id), 0) FROM offsite_uploads",
            [],
            |r| r.get(0),
        )?)
    }

    /// Upload rows with id above `after_id`, oldest first (the feed).
    pub fn uploads_since(&self, after_id: i64) -> Result<Vec<UploadRow>, HistoryError> {
        let sql = format!("SELECT {UPLOAD_COLUMNS} FROM offsite_uploads WHERE id > ?1 ORDER BY id");
        self.all(&sql, [after_id], upload_from_row)
    }
}
