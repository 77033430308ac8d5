//! What the exporter knows about backups: per configured base the history
//! counts, last success, whether it runs in this agent and the archives on
//! disk; plus the last finished run of the default base for the prototype's
//! four unlabelled gauges. Loading reads the history through a short-lived
//! read-only connection (no file is created, a writer delays it at most
//! [`HISTORY_BUSY`]) and scans `BACKUP_DIR` at most once per
//! [`ARCHIVE_SCAN_TTL`].

use crate::backup::history::{History, Run, Status};
use crate::backup::naming;
use crate::config::Config;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a history query may wait for a writer.
pub const HISTORY_BUSY: Duration = Duration::from_millis(250);
/// How long an archive scan of `BACKUP_DIR` is reused.
pub const ARCHIVE_SCAN_TTL: Duration = Duration::from_secs(30);

/// The last finished (ok, failed or interrupted) run of a base.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LastRun {
    pub run_id: i64,
    pub ok: bool,
    pub status: &'static str,
    /// When it ended (or started, if no end was recorded), unix seconds.
    pub timestamp_unix: f64,
    pub size_bytes: u64,
    pub duration_seconds: f64,
    pub error: Option<String>,
}

impl LastRun {
    pub fn from_run(r: &Run) -> LastRun {
        LastRun {
            run_id: r.id,
            ok: r.status == Status::Ok,
            status: r.status.as_str(),
            timestamp_unix: ts_unix(r.finished.as_ref().unwrap_or(&r.started)),
            size_bytes: r.archive_size.unwrap_or(0),
            duration_seconds: r.duration_ms.unwrap_or(0) as f64 / 1000.0,
            error: r.error.clone(),
        }
    }
}

/// One configured base.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BaseBackup {
    pub name: String,
    pub last_success_unix: Option<f64>,
    pub last_finished: Option<LastRun>,
    /// Runs per final status (ok, failed, skipped, interrupted; zeros kept).
    pub runs: Vec<(&'static str, u64)>,
    pub running: bool,
    /// (count, bytes) of archives on disk; None when the scan failed.
    pub archives: Option<(u64, u64)>,
}

/// Everything the exporter shows about backups.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BackupState {
    /// Configured bases, default first.
    pub bases: Vec<BaseBackup>,
    /// The default base's last finished run.
    pub default_last: Option<LastRun>,
    /// Why the history could not be read, if it could not.
    pub history_error: Option<String>,
}

/// Final statuses counted in `onec_backup_runs_total`.
pub const FINAL_STATUSES: [Status; 4] = [
    Status::Ok,
    Status::Failed,
    Status::Skipped,
    Status::Interrupted,
];

/// Archive scans reused for [`ARCHIVE_SCAN_TTL`].
#[derive(Debug, Default)]
pub struct ArchiveCache {
    inner: Mutex<Option<(Instant, Scans)>>,
}

/// (count, bytes) of archives per prefix; None where the scan failed.
type Scans = HashMap<String, Option<(u64, u64)>>;

impl ArchiveCache {
    /// (count, bytes) per prefix, scanning at most once per TTL.
    fn get(&self, cfg: &Config) -> Scans {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, map)) = g.as_ref()
            && at.elapsed() < ARCHIVE_SCAN_TTL
        {
            return map.clone();
        }
        let mut map = HashMap::new();
        for b in &cfg.bases {
            let v = match naming::scan(&cfg.backup_dir, &b.prefix) {
                Ok(found) => Some((found.len() as u64, found.iter().map(|a| a.size).sum())),
                Err(e) => {
                    tracing::debug!("cannot scan {} for archives: {e}", cfg.backup_dir.display());
                    None
                }
            };
            map.insert(b.prefix.clone(), v);
        }
        *g = Some((Instant::now(), map.clone()));
        map
    }

    /// Forget the last scan (after a run finished or a prune).
    pub fn invalidate(&self) {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl BackupState {
    /// Read the history and the archives. `running` lists the bases
    /// running in this process. Never fails: a broken history is reported
    /// in `history_error` and the counts are left empty.
    pub fn load(cfg: &Config, running: &[String], archives: &ArchiveCache) -> BackupState {
        let scans = archives.get(cfg);
        let mut state = BackupState::default();
        let history = if cfg.history_db.exists() {
            match History::open_read_only(&cfg.history_db, HISTORY_BUSY) {
                Ok(h) => Some(h),
                Err(e) => {
                    state.history_error = Some(e.to_string());
                    None
                }
            }
        } else {
            None
        };
        let counts = match history.as_ref().map(|h| h.run_counts()) {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                state.history_error = Some(e.to_string());
                Vec::new()
            }
            None => Vec::new(),
        };
        for b in &cfg.bases {
            let mut x = BaseBackup {
                name: b.name.clone(),
                running: running.iter().any(|r| r == &b.name),
                archives: scans.get(&b.prefix).copied().flatten(),
                ..BaseBackup::default()
            };
            x.runs = FINAL_STATUSES
                .iter()
                .map(|st| {
                    let n = counts
                        .iter()
                        .filter(|(base, s, _)| base == &b.name && s == st)
                        .map(|c| c.2)
                        .sum();
                    (st.as_str(), n)
                })
                .collect();
            if let Some(h) = &history {
                match (h.last_success(&b.name), h.last_finished(&b.name)) {
                    (Ok(ok), Ok(fin)) => {
                        x.last_success_unix = ok.map(|r| LastRun::from_run(&r).timestamp_unix);
                        x.last_finished = fin.map(|r| LastRun::from_run(&r));
                    }
                    (Err(e), _) | (_, Err(e)) => state.history_error = Some(e.to_string()),
                }
            }
            state.bases.push(x);
        }
        state.default_last = state.bases.first().and_then(|b| b.last_finished.clone());
        state
    }

    /// The same state with `running` replaced (cheap: for each scrape).
    pub fn with_running(&self, running: &[String]) -> BackupState {
        let mut s = self.clone();
        for b in &mut s.bases {
            b.running = running.iter().any(|r| r == &b.name);
        }
        s
    }
}

fn ts_unix(t: &jiff::Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}
