//! The run history: one SQLite file (by default `BACKUP_DIR/app.sqlite3`)
//! recording every backup run, every archive retention deleted and the
//! host samples behind the Telegram charts. This folder holds the only SQL
//! in the crate: `schema.rs` the append-only migrations and opening,
//! `runs.rs` runs and deletions, `samples.rs` host samples.
//!
//! Two processes may write at once (a scheduled run and a CLI run), so the
//! database is in WAL mode with a 5 s busy timeout. The schema is versioned
//! with `PRAGMA user_version` and an ordered list of [`MIGRATIONS`]; a file
//! written by a newer program is refused rather than guessed at. Times are
//! stored as RFC 3339 UTC text with fixed millisecond precision, so text
//! order is time order. Nothing stores command lines: error text is masked
//! by the caller before it gets here.

use jiff::Timestamp;
use rusqlite::{Connection, Row};
use std::path::PathBuf;

/// Whether a process with this id is running now (lives in the platform
/// seam; re-exported for the history's callers).
pub use crate::platform::pid_alive;

mod runs;
mod samples;
mod schema;
#[cfg(test)]
mod tests;

pub use runs::{Deletion, Finish, INTERRUPTED_ERROR, NewRun, Run, Status, Trigger};
pub use samples::Sample;
pub use schema::MIGRATIONS;

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

/// An open history database.
#[derive(Debug)]
pub struct History {
    conn: Connection,
}

/// Fixed-width UTC text, so that text order is time order.
fn ts_text(t: &Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Sizes fit SQLite's signed 64-bit integers in practice; clamp otherwise.
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

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
