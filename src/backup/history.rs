//! The run history: one SQLite file (by default `BACKUP_DIR/app.sqlite3`)
//! recording every backup run, every archive retention deleted and the
//! host samples behind the Telegram charts. This folder holds the only SQL
//! in the crate: `schema.rs` the append-only migrations and opening,
//! `runs.rs` runs and deletions, `browse.rs` filtered pages of runs, `samples.rs` host samples, `drills.rs`
//! restore drills, `offsite.rs` the offsite upload queue and uploads.
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

/// Text ↔ enum for the small enums of the rows, with `as_str`, `FromStr`, `Display`,
/// `Serialize` (as the text) and SQLite conversions.
macro_rules! text_enum {
    ($ty:ident, $what:literal, $($variant:ident => $text:literal),+ $(,)?) => {
        impl $ty {
            pub const ALL: &[$ty] = &[$($ty::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }
        impl std::str::FromStr for $ty {
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
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl rusqlite::ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
            }
        }
        impl rusqlite::types::FromSql for $ty {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                v.as_str()?.parse().map_err(|e: String| rusqlite::types::FromSqlError::Other(e.into()))
            }
        }
    };
}

mod browse;
mod drills;
mod offsite;
mod runs;
mod samples;
mod schema;
#[cfg(test)]
mod tests;

pub use browse::{RunFilter, RunPage};
pub use drills::{Drill, DrillStatus, LOCAL, NewDrill};
pub use offsite::{NewUpload, QueueItem, QueueState, UploadRow, UploadStatus};
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

impl History {
    /// Every row `sql` returns for `params`, each read by `f`.
    fn all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, HistoryError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(params, f)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The first row `sql` returns for `params`, read by `f`, if any.
    fn first<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, HistoryError> {
        use rusqlite::OptionalExtension;
        Ok(self.conn.query_row(sql, params, f).optional()?)
    }
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
