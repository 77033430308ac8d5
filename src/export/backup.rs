//! What the exporter knows about backups: per configured base the history
//! counts, last success, whether it runs in this agent and the archives on
//! disk; plus the last finished run of the default base for the prototype's
//! four unlabelled gauges. Loading reads the history through a short-lived
//! read-only connection (no file is created, a writer delays it at most
//! [`HISTORY_BUSY`]) and scans `BACKUP_DIR` at most once per
//! [`ARCHIVE_SCAN_TTL`].
//!
//! [`BackupCache`] is the one copy the agent keeps: the HTTP API and the
//! metrics worker (and through it every push sink) read it, so a scrape or
//! a push never waits for the history or for a directory scan.

use crate::backup::history::{DrillStatus, History, HistoryError, Run, Status, UploadStatus};
use crate::backup::jobs::Jobs;
use crate::backup::naming;
use crate::config::Config;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long a history query may wait for a writer.
pub const HISTORY_BUSY: Duration = Duration::from_millis(250);
/// How long an archive scan of `BACKUP_DIR` is reused.
pub const ARCHIVE_SCAN_TTL: Duration = Duration::from_secs(30);
/// How long the cached backup state is served before a background reload.
pub const BACKUP_REFRESH: Duration = Duration::from_secs(5);

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

/// What the history says of a base's restore drills.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BaseDrill {
    /// Whether the base has a drill schedule.
    pub scheduled: bool,
    /// When the last good drill ended, unix seconds.
    pub last_success_unix: Option<f64>,
    /// The last drill that ran (ok or failed; skipped ones are left out):
    /// its status, how long it took and why it failed.
    pub last_status: Option<&'static str>,
    pub last_duration_seconds: Option<f64>,
    pub last_reason: Option<String>,
    /// Seconds without a good drill, when the base has a drill schedule
    /// and that is longer than `BACKUP_DRILL_MAX_AGE_DAYS` (see
    /// [`drill_stale_for`]).
    pub stale_for: Option<f64>,
}

/// What the history says of a base's copies on one offsite target that
/// takes it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BaseOffsite {
    pub target: String,
    /// When the newest good upload ended, unix seconds.
    pub last_success_unix: Option<f64>,
    /// The newest upload attempt: `ok` or `failed`, and why it failed
    /// (stored masked: never a secret).
    pub last_status: Option<&'static str>,
    pub last_error: Option<String>,
    /// Archives of the base waiting in the queue for the target (not yet
    /// uploaded) and their bytes.
    pub queued: u64,
    pub queued_bytes: u64,
    /// Seconds without a good copy when that is longer than
    /// `OFFSITE_MAX_AGE_HOURS` (the rule is [`crate::offsite::stale::stale_for`]).
    pub stale_for: Option<f64>,
}

/// One configured offsite target, all bases together.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TargetOffsite {
    pub target: String,
    /// `s3`, `webdav`, `sftp` or `folder`.
    pub kind: &'static str,
    /// Upload attempts recorded in the history, ok and failed.
    pub uploads_ok: u64,
    pub uploads_failed: u64,
    /// Archives waiting in the queue for the target and their bytes.
    pub queued: u64,
    pub queued_bytes: u64,
}

/// One configured base.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BaseBackup {
    pub name: String,
    pub last_success_unix: Option<f64>,
    pub last_finished: Option<LastRun>,
    /// Runs per final status (ok, failed, skipped, interrupted; zeros kept).
    pub runs: Vec<(&'static str, u64)>,
    /// Failed runs whose cause was users inside (1C could not lock the
    /// base exclusively, or a copy found it in use).
    pub blocked_by_users: u64,
    pub running: bool,
    /// (count, bytes) of archives on disk; None when the scan failed.
    pub archives: Option<(u64, u64)>,
    pub drill: BaseDrill,
    /// One entry per offsite target that takes the base, in the
    /// configuration's order.
    pub offsite: Vec<BaseOffsite>,
}

/// Everything the exporter shows about backups.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BackupState {
    /// Configured bases, default first.
    pub bases: Vec<BaseBackup>,
    /// The default base's last finished run.
    pub default_last: Option<LastRun>,
    /// Every configured offsite target, in the configuration's order.
    pub offsite: Vec<TargetOffsite>,
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
    /// running in this process; `since_unix` is when the agent started
    /// (a base never drilled is stale counting from then). Never fails: a
    /// broken history is reported in `history_error` and the counts are
    /// left empty.
    pub fn load(
        cfg: &Config,
        running: &[String],
        archives: &ArchiveCache,
        since_unix: f64,
    ) -> BackupState {
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
        let blocked = match history
            .as_ref()
            .map(|h| h.failed_counts_with(crate::onec::inside::blocked_marks()))
        {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                state.history_error = Some(e.to_string());
                Vec::new()
            }
            None => Vec::new(),
        };
        let offsite = match history.as_ref().map(load_offsite_counts) {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                state.history_error = Some(e.to_string());
                OffsiteCounts::default()
            }
            None => OffsiteCounts::default(),
        };
        let now_unix = ts_unix(&jiff::Timestamp::now());
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
            x.blocked_by_users = blocked
                .iter()
                .filter(|(base, _)| base == &b.name)
                .map(|c| c.1)
                .sum();
            if let Some(h) = &history {
                match (h.last_success(&b.name), h.last_finished(&b.name)) {
                    (Ok(ok), Ok(fin)) => {
                        x.last_success_unix = ok.map(|r| LastRun::from_run(&r).timestamp_unix);
                        x.last_finished = fin.map(|r| LastRun::from_run(&r));
                    }
                    (Err(e), _) | (_, Err(e)) => state.history_error = Some(e.to_string()),
                }
                if let Err(e) = load_drill(h, &b.name, &mut x.drill) {
                    state.history_error = Some(e.to_string());
                }
            }
            x.drill.scheduled = b.drill.is_some();
            x.drill.stale_for = drill_stale_for(cfg, &x, since_unix, now_unix);
            for t in cfg.offsite.iter().filter(|t| t.takes(&b.name)) {
                let mut o = BaseOffsite {
                    target: t.name.clone(),
                    ..BaseOffsite::default()
                };
                if let Some((n, bytes)) = offsite.waiting.get(&(t.name.clone(), b.name.clone())) {
                    (o.queued, o.queued_bytes) = (*n, *bytes);
                }
                let mut first_seen = None;
                if let Some(h) = &history {
                    match load_base_offsite(h, &t.name, &b.name, &mut o) {
                        Ok(seen) => first_seen = seen,
                        Err(e) => state.history_error = Some(e.to_string()),
                    }
                }
                o.stale_for = crate::offsite::stale::stale_for(
                    o.last_success_unix,
                    first_seen,
                    since_unix,
                    now_unix,
                    cfg.offsite_max_age_hours,
                );
                x.offsite.push(o);
            }
            state.bases.push(x);
        }
        for t in &cfg.offsite {
            let count = |st: UploadStatus| {
                offsite
                    .uploads
                    .iter()
                    .filter(|(n, s, _)| n == &t.name && *s == st)
                    .map(|c| c.2)
                    .sum()
            };
            let (queued, queued_bytes) = offsite
                .waiting
                .iter()
                .filter(|((n, _), _)| n == &t.name)
                .fold((0, 0), |(a, b), (_, (n, bytes))| (a + n, b + bytes));
            state.offsite.push(TargetOffsite {
                target: t.name.clone(),
                kind: t.location.kind(),
                uploads_ok: count(UploadStatus::Ok),
                uploads_failed: count(UploadStatus::Failed),
                queued,
                queued_bytes,
            });
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

/// How long base `b` has gone without a good backup, in seconds, when it
/// has a schedule and that is longer than `MAX_AGE_HOURS`; `None`
/// otherwise. Manual-only bases are never overdue. A
/// base that never had a good backup counts from `since_unix` (when the
/// agent started), so a fresh install is not overdue at once.
pub fn stale_for(cfg: &Config, b: &BaseBackup, since_unix: f64, now_unix: f64) -> Option<f64> {
    let scheduled = cfg
        .base(Some(&b.name))
        .is_some_and(|c| c.schedule.is_some());
    if !scheduled {
        return None;
    }
    let age = now_unix - b.last_success_unix.unwrap_or(since_unix);
    (age > f64::from(cfg.max_age_hours) * 3600.0).then_some(age)
}

/// The drill fields of `d` from the history of base `name`.
fn load_drill(h: &History, name: &str, d: &mut BaseDrill) -> Result<(), HistoryError> {
    let ok = h.last_drill(name, Some(DrillStatus::Ok))?;
    d.last_success_unix = ok.as_ref().map(|r| ts_unix(&r.finished));
    // The last drill that ran: the newer of the last ok and the last failed.
    let failed = h.last_drill(name, Some(DrillStatus::Failed))?;
    let last = match (ok, failed) {
        (Some(a), Some(b)) => Some(if (b.started, b.id) > (a.started, a.id) {
            b
        } else {
            a
        }),
        (a, b) => a.or(b),
    };
    if let Some(r) = last {
        d.last_status = Some(r.status.as_str());
        d.last_duration_seconds = Some(r.duration_ms as f64 / 1000.0);
        d.last_reason = r.reason;
    }
    Ok(())
}

/// Upload counts per (target, status) and waiting items per (target,
/// base): (count, bytes).
#[derive(Default)]
struct OffsiteCounts {
    uploads: Vec<(String, UploadStatus, u64)>,
    waiting: HashMap<(String, String), (u64, u64)>,
}

fn load_offsite_counts(h: &History) -> Result<OffsiteCounts, HistoryError> {
    Ok(OffsiteCounts {
        uploads: h.upload_counts()?,
        waiting: h
            .queue_waiting()?
            .into_iter()
            .map(|(t, b, n, bytes)| ((t, b), (n, bytes)))
            .collect(),
    })
}

/// The history fields of `o` (base `base` on target `target`); returns
/// when the target was first seen, unix seconds.
fn load_base_offsite(
    h: &History,
    target: &str,
    base: &str,
    o: &mut BaseOffsite,
) -> Result<Option<f64>, HistoryError> {
    o.last_success_unix = h
        .last_upload_ok(target, base)?
        .map(|u| ts_unix(&u.finished));
    if let Some(u) = h.last_upload(target, base)? {
        o.last_status = Some(u.status.as_str());
        o.last_error = u.error;
    }
    Ok(h.offsite_first_seen(target)?.map(|t| ts_unix(&t)))
}

/// How long base `b` has gone without a good restore drill, in seconds,
/// when it has a drill schedule and that is longer than
/// `BACKUP_DRILL_MAX_AGE_DAYS` (the rule is
/// [`crate::backup::drill::stale::stale_for`]); `None` otherwise.
pub fn drill_stale_for(
    cfg: &Config,
    b: &BaseBackup,
    since_unix: f64,
    now_unix: f64,
) -> Option<f64> {
    let scheduled = cfg.base(Some(&b.name)).is_some_and(|c| c.drill.is_some());
    crate::backup::drill::stale::stale_for(
        scheduled,
        b.drill.last_success_unix,
        since_unix,
        now_unix,
        cfg.drill_max_age_days,
    )
}

/// Backup state with the time it was loaded.
struct Loaded {
    at: Instant,
    state: Arc<BackupState>,
}

/// The agent's cached [`BackupState`]: served as is for up to
/// [`BACKUP_REFRESH`], reloaded in the background after that or at once
/// when a run starts or ends in this process.
pub struct BackupCache {
    cfg: Arc<Config>,
    jobs: Jobs,
    loaded: RwLock<Loaded>,
    refreshing: AtomicBool,
    archives: ArchiveCache,
    /// When the cache was made (the agent's start), unix seconds.
    since_unix: f64,
}

impl BackupCache {
    /// Load the state once (blocking) and keep it.
    pub fn new(cfg: Arc<Config>, jobs: Jobs) -> Arc<BackupCache> {
        let archives = ArchiveCache::default();
        let since_unix = ts_unix(&jiff::Timestamp::now());
        let state = BackupState::load(&cfg, &running(&jobs), &archives, since_unix);
        Arc::new(BackupCache {
            cfg,
            jobs,
            loaded: RwLock::new(Loaded {
                at: Instant::now(),
                state: Arc::new(state),
            }),
            refreshing: AtomicBool::new(false),
            archives,
            since_unix,
        })
    }

    /// The cached state, never waiting; starts a background reload (on the
    /// current tokio runtime) when it is old or when the set of running
    /// bases changed since it was loaded.
    pub fn get(self: &Arc<Self>) -> Arc<BackupState> {
        let (state, stale) = {
            let g = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            let changed = g
                .state
                .bases
                .iter()
                .any(|b| b.running != self.jobs.is_running(&b.name));
            (g.state.clone(), changed || g.at.elapsed() >= BACKUP_REFRESH)
        };
        if stale && !self.refreshing.swap(true, Ordering::AcqRel) {
            let me = self.clone();
            let spawned = tokio::runtime::Handle::try_current().map(|h| {
                h.spawn_blocking(move || {
                    me.reload_now();
                    me.refreshing.store(false, Ordering::Release);
                })
            });
            if spawned.is_err() {
                self.refreshing.store(false, Ordering::Release);
            }
        }
        state
    }

    /// Reload the state now (blocking: history and maybe a scan). The
    /// archive scan is redone at once when a run started or ended or the
    /// history gained a run (archives were added or pruned).
    pub fn reload_now(&self) -> Arc<BackupState> {
        let old = self
            .loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .state
            .clone();
        let now_running = running(&self.jobs);
        let mut state = BackupState::load(&self.cfg, &now_running, &self.archives, self.since_unix);
        let changed = old.bases.len() != state.bases.len()
            || old.bases.iter().zip(&state.bases).any(|(a, b)| {
                a.running != b.running || a.runs != b.runs || a.last_finished != b.last_finished
            });
        if changed {
            self.archives.invalidate();
            state = BackupState::load(&self.cfg, &now_running, &self.archives, self.since_unix);
        }
        let state = Arc::new(state);
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = Loaded {
            at: Instant::now(),
            state: state.clone(),
        };
        state
    }
}

fn running(jobs: &Jobs) -> Vec<String> {
    jobs.running().into_iter().map(|r| r.base).collect()
}

fn ts_unix(t: &jiff::Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, load};

    fn cfg(schedule: Option<&str>, max_age: &str) -> Config {
        let mut env: HashMap<String, String> = [
            ("ONEC_BASE_PATH", "/srv/1c/buh"),
            ("BACKUP_DIR", "/srv/backups"),
            ("BACKUP_METHOD", "copy"),
            ("BACKUP_MAX_AGE_HOURS", max_age),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if let Some(s) = schedule {
            env.insert("BACKUP_SCHEDULE".into(), s.into());
        }
        load(&LoadOptions {
            env,
            skip_files: true,
            ..Default::default()
        })
        .unwrap()
    }

    fn base(last_success: Option<f64>) -> BaseBackup {
        BaseBackup {
            name: "buh".into(),
            last_success_unix: last_success,
            ..BaseBackup::default()
        }
    }

    const H: f64 = 3600.0;

    #[test]
    fn only_scheduled_bases_are_ever_overdue() {
        let now = 1000.0 * H;
        let manual = cfg(None, "26");
        assert_eq!(
            stale_for(&manual, &base(Some(now - 100.0 * H)), now, now),
            None
        );
        let daily = cfg(Some("0 23 * * *"), "26");
        assert_eq!(
            stale_for(&daily, &base(Some(now - 25.0 * H)), now, now),
            None
        );
        assert_eq!(
            stale_for(&daily, &base(Some(now - 27.0 * H)), now, now),
            Some(27.0 * H)
        );
        let weekly = cfg(Some("0 23 * * 0"), "200");
        assert_eq!(
            stale_for(&weekly, &base(Some(now - 27.0 * H)), now, now),
            None
        );
    }

    /// The offsite section comes from a real history in the same load:
    /// the newest good copy and the newest attempt per pair, queue bytes of
    /// items not yet done, counts per status, and stale only once the
    /// newest copy is older than `OFFSITE_MAX_AGE_HOURS`.
    #[test]
    fn offsite_state_is_read_from_the_history() {
        use crate::backup::history::{NewUpload, UploadStatus};
        let dir = tempfile::tempdir().unwrap();
        let env = [
            ("ONEC_BASE_PATH", "/srv/1c/buh".to_string()),
            ("BACKUP_DIR", dir.path().display().to_string()),
            ("BACKUP_METHOD", "copy".into()),
            (
                "OFFSITE_URL",
                dir.path().join("copies").display().to_string(),
            ),
            ("OFFSITE_MAX_AGE_HOURS", "2".into()),
        ];
        let cfg = load(&LoadOptions::only_env(env)).unwrap();
        let name = cfg.bases[0].name.clone();
        let h = History::open(&cfg.history_db).unwrap();
        h.offsite_target_seen("offsite").unwrap();
        let now = jiff::Timestamp::now();
        let hours_ago = |n: i64| now - jiff::SignedDuration::from_hours(n);
        let (old, older) = (hours_ago(3), hours_ago(4));
        let up = |status, finished, error| NewUpload {
            target: "offsite",
            run_id: 1,
            base: &name,
            object: "buh/a.zip",
            bytes: Some(10),
            verified: None,
            status,
            error,
            started: finished,
            finished,
        };
        h.record_upload(&up(UploadStatus::Ok, &older, None))
            .unwrap();
        h.record_upload(&up(UploadStatus::Failed, &old, Some("disk full")))
            .unwrap();
        h.offsite_enqueue("offsite", 1, &name, "o", Some(700))
            .unwrap();
        h.offsite_enqueue("offsite", 2, &name, "o", Some(300))
            .unwrap();
        let done = h.offsite_queue(None).unwrap()[0].id;
        h.offsite_done(done).unwrap();
        let since = ts_unix(&now);
        let s = BackupState::load(&cfg, &[], &ArchiveCache::default(), since);
        assert_eq!(s.history_error, None);
        let o = &s.bases[0].offsite;
        assert_eq!(o.len(), 1, "{o:?}");
        assert_eq!(o[0].target, "offsite");
        assert_eq!(o[0].last_success_unix, Some(ts_unix(&older)));
        assert_eq!(o[0].last_status, Some("failed"));
        assert_eq!(o[0].last_error.as_deref(), Some("disk full"));
        assert_eq!((o[0].queued, o[0].queued_bytes), (1, 300));
        let stale = o[0].stale_for.expect("4 h > 2 h");
        assert!((stale - 4.0 * 3600.0).abs() < 60.0, "{stale}");
        let t = &s.offsite[0];
        assert_eq!(
            (t.target.as_str(), t.kind, t.uploads_ok, t.uploads_failed),
            ("offsite", "folder", 1, 1)
        );
        assert_eq!((t.queued, t.queued_bytes), (1, 300));
        // A fresh copy is not stale.
        h.record_upload(&up(UploadStatus::Ok, &now, None)).unwrap();
        let s = BackupState::load(&cfg, &[], &ArchiveCache::default(), since);
        assert_eq!(s.bases[0].offsite[0].stale_for, None);
        assert_eq!(s.bases[0].offsite[0].last_status, Some("ok"));
        assert_eq!(s.offsite[0].uploads_ok, 2);
    }

    #[test]
    fn a_base_without_any_success_counts_from_the_agent_start() {
        let daily = cfg(Some("0 23 * * *"), "26");
        let started = 500.0 * H;
        assert_eq!(
            stale_for(&daily, &base(None), started, started + 2.0 * H),
            None
        );
        assert_eq!(
            stale_for(&daily, &base(None), started, started + 30.0 * H),
            Some(30.0 * H)
        );
    }
}
