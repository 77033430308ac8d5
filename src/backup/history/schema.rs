//! The schema and opening the file: the append-only [`MIGRATIONS`] list,
//! applying it on open, and the read-only open of the exporter and the API.

use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

use super::{History, HistoryError};

/// Schema migrations in order; migration `i` (0-based) takes the file from
/// `user_version = i` to `i + 1`.
///
/// One append-only list, one migration per capability, in the order the
/// capabilities land. To add one: append a new string at the end with a
/// `// N: what it adds` comment (N = its position, counting from 1), written
/// so it runs once on a file at version N-1 (`CREATE TABLE`, `ALTER TABLE
/// ... ADD COLUMN`, `CREATE INDEX`); never edit, reorder or remove a
/// released one, since files in the field are already past it. Opening a
/// file applies the missing ones in one transaction; a file at a version
/// above the list's length is refused.
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
    // 3: the key id of the password an encrypted archive was made with.
    r#"
    ALTER TABLE runs ADD COLUMN key_id TEXT;
    "#,
    // 4: restore drills: one finished row per drill (ok, failed or skipped).
    r#"
    CREATE TABLE drills (
        id           INTEGER PRIMARY KEY,
        base         TEXT    NOT NULL,
        "trigger"    TEXT    NOT NULL CHECK ("trigger" IN ('cli', 'telegram', 'schedule', 'api')),
        run_id       INTEGER,
        archive_path TEXT,
        started      TEXT    NOT NULL,
        finished     TEXT    NOT NULL,
        status       TEXT    NOT NULL CHECK (status IN ('ok', 'failed', 'skipped')),
        reason       TEXT,
        duration_ms  INTEGER NOT NULL,
        bytes        INTEGER,
        detail       TEXT,
        pid          INTEGER NOT NULL
    );
    CREATE INDEX drills_base_started ON drills (base, started);
    "#,
    // 5: offsite copies: when each target first appeared, the upload queue
    // (one item per target and run, with its retry and resume state) and
    // one row per upload attempt (`deleted` set when remote retention
    // removed the object: only objects with an `ok` row are ever deleted).
    r#"
    CREATE TABLE offsite_targets (
        name       TEXT    PRIMARY KEY,
        first_seen TEXT    NOT NULL,
        first_run  INTEGER NOT NULL
    );
    CREATE TABLE offsite_queue (
        id           INTEGER PRIMARY KEY,
        target       TEXT    NOT NULL,
        run_id       INTEGER NOT NULL,
        base         TEXT    NOT NULL,
        object       TEXT    NOT NULL,
        state        TEXT    NOT NULL
                     CHECK (state IN ('queued', 'uploading', 'done', 'failed')),
        attempts     INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT    NOT NULL,
        resume       TEXT,
        last_error   TEXT,
        pid          INTEGER,
        bytes        INTEGER,
        created      TEXT    NOT NULL,
        updated      TEXT    NOT NULL,
        UNIQUE (target, run_id)
    );
    CREATE INDEX offsite_queue_due ON offsite_queue (state, next_attempt);
    CREATE TABLE offsite_uploads (
        id          INTEGER PRIMARY KEY,
        target      TEXT    NOT NULL,
        run_id      INTEGER NOT NULL,
        base        TEXT    NOT NULL,
        object      TEXT    NOT NULL,
        bytes       INTEGER,
        duration_ms INTEGER NOT NULL,
        verified    TEXT    CHECK (verified IN ('size', 'etag', 'read')),
        status      TEXT    NOT NULL CHECK (status IN ('ok', 'failed')),
        error       TEXT,
        started     TEXT    NOT NULL,
        finished    TEXT    NOT NULL,
        deleted     TEXT
    );
    CREATE INDEX offsite_uploads_target_base ON offsite_uploads (target, base, finished);
    CREATE INDEX offsite_uploads_run ON offsite_uploads (run_id);
    "#,
    // 6: where a drill's archive came from: `local`, or the offsite target
    // whose copy was downloaded (every older drill drilled the local one).
    r#"
    ALTER TABLE drills ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
    "#,
    // 7: what the users-inside policy did in a run (JSON: waited, locked
    // and unlocked, whose sessions were closed).
    r#"
    ALTER TABLE runs ADD COLUMN policy_outcome TEXT;
    "#,
    // 8: how long each stage of a run took (JSON: `[["dumping", ms], …]`).
    r#"
    ALTER TABLE runs ADD COLUMN stages TEXT;
    "#,
];

impl History {
    /// Open (creating if needed) the database at `path`, switch it to WAL,
    /// set a 5 s busy timeout and bring the schema up to date. A file with a
    /// newer schema than this program knows is refused.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        Self::open_on(path, crate::platform::is_network_path(path))
    }

    /// [`History::open`] told whether `path` is on a network filesystem
    /// (rollback journal and full syncs there instead of WAL).
    pub fn open_on(path: &Path, network: bool) -> Result<History, HistoryError> {
        let open_err = |source| HistoryError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(open_err)?;
        // WAL needs shared memory that network filesystems do not give:
        // there, the classic rollback journal with full syncs.
        let (journal, sync) = if network {
            ("DELETE", "FULL")
        } else {
            ("WAL", "NORMAL")
        };
        // Switching the journal needs the database to itself, and SQLite
        // does not wait for that: when another process is opening the file
        // at the same moment, try again for up to 5 s. A file already in the
        // wanted mode is left alone (no lock needed).
        let current: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .map_err(open_err)?;
        let mut mode = current.clone();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !mode.eq_ignore_ascii_case(journal) {
            match conn.pragma_update_and_check(None, "journal_mode", journal, |r| r.get(0)) {
                Ok(m) => {
                    mode = m;
                    break;
                }
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(open_err(e)),
            }
        }
        if !mode.eq_ignore_ascii_case(journal) {
            tracing::warn!(path = %path.display(), mode, "history database journal is not {journal}");
        }
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", sync)
            .map_err(open_err)?;
        migrate(&mut conn, path)?;
        Ok(History { conn })
    }

    /// An empty history in memory (a `prune --dry-run` before any backup).
    pub fn open_in_memory() -> Result<History, HistoryError> {
        let path = Path::new(":memory:");
        let open_err = |source| HistoryError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open_in_memory().map_err(open_err)?;
        migrate(&mut conn, path)?;
        Ok(History { conn })
    }

    /// The journal mode in use (`wal`, or `delete` on a network path).
    pub fn journal_mode(&self) -> Result<String, HistoryError> {
        Ok(self
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))?)
    }

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

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64, HistoryError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
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
