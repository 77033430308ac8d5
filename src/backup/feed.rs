//! Every finished run, whoever started it, as one stream for the agent's
//! subscribers (Telegram notices, Uptime Kuma, Loki). Runs of this process
//! arrive at once from the [`Jobs`](super::jobs::Jobs) events carrying
//! their own history record (never read back from SQLite) and what only
//! this process knows (the 1C explanation, the log excerpt); runs of other
//! processes (`onec-backup-bot backup` from a console or the Windows task
//! scheduler) are found by reading the history every [`POLL`]. Each run is
//! announced once: both paths dedupe by history id.
//!
//! Subscribers get `Arc<FinishedRun>` from a broadcast channel; one that
//! lags loses the oldest items (logged), never blocks the others.

use super::history::{History, HistoryError, Run, Status, Trigger};
use super::jobs::{Finished, JobEvent};
use crate::config::Config;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

/// How often the history is read for runs of other processes.
pub const POLL: Duration = Duration::from_secs(5);

/// One finished run.
#[derive(Debug, Clone)]
pub struct FinishedRun {
    pub base: String,
    pub trigger: Trigger,
    /// Its history row; `None` when nothing could be recorded (the backup
    /// folder or the history was unusable, see `local`).
    pub run: Option<Run>,
    /// How it ended as this process saw it; `None` for other processes' runs.
    pub local: Option<Finished>,
}

impl FinishedRun {
    /// `Ok`, `Failed`, `Skipped` or `Interrupted`.
    pub fn status(&self) -> Status {
        match (&self.run, &self.local) {
            (Some(r), _) => r.status,
            (None, Some(Finished::Done(o))) => o.status,
            (None, _) => Status::Failed,
        }
    }

    /// Why it failed or was skipped, in one line (secrets are already
    /// masked in the history and in local errors).
    pub fn message(&self) -> Option<String> {
        match &self.local {
            Some(Finished::Failed(f)) => Some(match &f.explanation {
                Some(x) => format!("{}: {x}", f.message),
                None => f.message.clone(),
            }),
            Some(Finished::Setup(m)) => Some(m.clone()),
            Some(Finished::Done(o)) if o.reason.is_some() => o.reason.clone(),
            _ => self.run.as_ref().and_then(|r| r.error.clone()),
        }
    }

    /// How long it took, seconds.
    pub fn duration_secs(&self) -> Option<f64> {
        match (&self.run, &self.local) {
            (Some(r), _) if r.duration_ms.is_some() => r.duration_ms.map(|ms| ms as f64 / 1000.0),
            (_, Some(Finished::Done(o))) => Some(o.duration_secs),
            _ => None,
        }
    }

    pub fn archive_size(&self) -> Option<u64> {
        self.run.as_ref().and_then(|r| r.archive_size)
    }
}

/// The sending side, kept by the agent.
#[derive(Clone)]
pub struct Feed {
    tx: broadcast::Sender<Arc<FinishedRun>>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            tx: broadcast::channel(256).0,
        }
    }
}

impl Feed {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<FinishedRun>> {
        self.tx.subscribe()
    }

    fn send(&self, r: FinishedRun) {
        // No subscriber is fine: nobody wants notices.
        let _ = self.tx.send(Arc::new(r));
    }
}

/// Which history ids were announced. Ids up to `floor` are all done;
/// `seen` holds the announced ids above it.
#[derive(Debug)]
struct Seen {
    floor: i64,
    seen: HashSet<i64>,
}

impl Seen {
    fn new(floor: i64) -> Self {
        Seen {
            floor,
            seen: HashSet::new(),
        }
    }

    /// Record `id`; false when it was announced already (or is older than
    /// the feed).
    fn insert(&mut self, id: i64) -> bool {
        id > self.floor && self.seen.insert(id)
    }

    /// Raise the floor over every announced id that follows it without a
    /// gap (a gap is a run still going on), so the history query and the
    /// set stay small however long the agent runs.
    fn advance(&mut self) {
        while self.seen.remove(&(self.floor + 1)) {
            self.floor += 1;
        }
    }
}

/// Publish finished runs on `feed` until `stop`. `events` must be
/// subscribed before any backup can start. Runs with history ids above
/// `start_id` (the newest run when the agent started) are announced.
pub async fn run(
    feed: Feed,
    mut events: broadcast::Receiver<JobEvent>,
    cfg: Arc<Config>,
    start_id: i64,
    stop: CancellationToken,
) {
    let db = cfg.history_db.clone();
    let mut seen = Seen::new(start_id);
    let me = std::process::id();
    // This process's runs come with their events; the poll announces them
    // only after events were lost, and then the late event is dropped.
    let mut include_own = false;
    let mut own_by_poll: HashSet<i64> = HashSet::new();
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(JobEvent::Finished { base, trigger, result }) => {
                    // The run's own record: no need to read it back.
                    let run = result.record().cloned();
                    if run.as_ref().is_some_and(|r| own_by_poll.remove(&r.id)) {
                        continue;
                    }
                    feed.send(FinishedRun { base, trigger, run, local: Some(result) });
                }
                Ok(_) => {}
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!("{n} backup event(s) missed; the history poll announces them");
                    include_own = true;
                }
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                // A run killed while the agent runs (a console backup hit
                // by kill -9) would stay `running` and hold the cursor
                // below it: its base's free lock says it is over.
                let c = cfg.clone();
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || end_abandoned_runs(&c)).await {
                    tracing::debug!("abandoned runs: {e}");
                }
                let floor = seen.floor;
                match read(&db, move |h| h.finished_since(floor)).await {
                    Ok(runs) => {
                        for r in runs {
                            let own = r.pid == me;
                            // Own rows are accounted for either way (a
                            // refused request was answered directly).
                            if !seen.insert(r.id) || (own && !include_own) {
                                continue;
                            }
                            if own {
                                own_by_poll.insert(r.id);
                            }
                            feed.send(FinishedRun {
                                base: r.base.clone(),
                                trigger: r.trigger,
                                run: Some(r),
                                local: None,
                            });
                        }
                        seen.advance();
                        include_own = false;
                    }
                    Err(e) => tracing::debug!("finished runs: cannot read the history: {e}"),
                }
            }
            _ = stop.cancelled() => return,
        }
    }
}

/// Mark `running` rows of configured bases whose lock is free as
/// `interrupted` (a run in progress always holds its base's lock).
fn end_abandoned_runs(cfg: &Config) -> Result<usize, HistoryError> {
    if !cfg.history_db.exists() {
        return Ok(0);
    }
    let running = {
        let h = History::open_read_only(&cfg.history_db, Duration::from_secs(2))?;
        h.running_bases()?
    };
    let free: Vec<&str> = running
        .iter()
        .filter_map(|name| cfg.base(Some(name)))
        .filter(|b| matches!(super::lock::try_lock_base(cfg, b), Ok(Ok(_))))
        .map(|b| b.name.as_str())
        .collect();
    if free.is_empty() {
        return Ok(0);
    }
    let n = History::open(&cfg.history_db)?.mark_interrupted_if(|base, _| free.contains(&base))?;
    if n > 0 {
        tracing::warn!("{n} run(s) left running by a stopped process marked interrupted");
    }
    Ok(n)
}

/// A stream of finished rows of one history table (drills, offsite
/// uploads), whoever wrote them: kept by the agent, filled by
/// [`poll_rows`], read by the bot's notices.
pub struct RowFeed<T> {
    tx: broadcast::Sender<Arc<T>>,
}

impl<T> Clone for RowFeed<T> {
    fn clone(&self) -> Self {
        RowFeed {
            tx: self.tx.clone(),
        }
    }
}

impl<T> Default for RowFeed<T> {
    fn default() -> Self {
        RowFeed {
            tx: broadcast::channel(64).0,
        }
    }
}

impl<T> RowFeed<T> {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<T>> {
        self.tx.subscribe()
    }
}

/// Publish on `feed`, every [`POLL`] until `stop`, each row that
/// `rows(history, after)` returns above the last id seen (`id`), starting
/// after `start_id` (the newest when the agent started); `what` names the
/// rows in the debug line when the history cannot be read.
pub async fn poll_rows<T: Send + Sync + 'static>(
    feed: RowFeed<T>,
    cfg: Arc<Config>,
    start_id: i64,
    stop: CancellationToken,
    what: &str,
    rows: fn(&History, i64) -> Result<Vec<T>, HistoryError>,
    id: fn(&T) -> i64,
) {
    let mut last = start_id;
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        let after = last;
        match read(&cfg.history_db, move |h| rows(h, after)).await {
            Ok(found) => {
                for row in found {
                    last = last.max(id(&row));
                    // No subscriber is fine: nobody wants notices.
                    let _ = feed.tx.send(Arc::new(row));
                }
            }
            Err(e) => tracing::debug!("{what}: cannot read the history: {e}"),
        }
    }
}

/// Run `f` on a short-lived history connection on a blocking thread. A
/// history that does not exist yet has no runs.
pub(crate) async fn read<T: Send + Default + 'static>(
    db: &std::path::Path,
    f: impl FnOnce(&History) -> Result<T, HistoryError> + Send + 'static,
) -> Result<T, String> {
    let db = db.to_path_buf();
    tokio::task::spawn_blocking(move || {
        if !db.exists() {
            return Ok(T::default());
        }
        let h = History::open_read_only(&db, Duration::from_secs(2)).map_err(|e| e.to_string())?;
        f(&h).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_announces_once_and_keeps_its_floor_below_gaps() {
        let mut s = Seen::new(10);
        assert!(!s.insert(9), "older than the feed");
        assert!(!s.insert(10));
        assert!(s.insert(11));
        assert!(!s.insert(11), "announced twice");
        assert!(s.insert(13));
        s.advance();
        // 12 is still running: the floor stops below it.
        assert_eq!(s.floor, 11);
        assert!(!s.insert(13));
        assert!(s.insert(12));
        s.advance();
        assert_eq!(s.floor, 13);
        assert!(s.seen.is_empty());
    }
}
