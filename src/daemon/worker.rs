//! The metrics worker of `onec-backup-bot run`: every `METRICS_INTERVAL`
//! it takes the sampler's latest snapshot and the cached backup state,
//! builds the metric families once, and publishes them as one [`Tick`] to
//! whatever sinks subscribed ([`Agent::subscribe_ticks`]); once a minute it
//! stores a compact sample row (CPU, memory, backup disk, sessions) in the
//! history database for charts, keeping 30 days.
//!
//! The worker never waits on a sink: a tick goes into a broadcast channel,
//! and a sink that falls behind loses the oldest ticks, not the agent's
//! time. Sample rows are written on a blocking thread.

use crate::agent::Agent;
use crate::backup::history::{History, HistoryError, Sample};
use crate::export::Tick;
use crate::metrics::Snapshot;
use std::sync::Arc;
use std::time::Duration;

/// How often a sample row is stored.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(60);
/// How long sample rows are kept.
pub const KEEP_SECS: i64 = 30 * 24 * 3600;
/// How long the worker waits for the sampler's first round at start.
const FIRST_ROUND_WAIT: Duration = Duration::from_secs(15);

/// The chart row of a snapshot; `None` before the sampler's first round.
pub fn sample_of(snap: &Snapshot) -> Option<Sample> {
    if snap.collected_at_unix <= 0.0 {
        return None;
    }
    Some(Sample {
        ts: snap.collected_at_unix as i64,
        cpu: snap.cpu.as_ref().map(|c| c.percent),
        mem: snap.memory.as_ref().map(|m| m.percent),
        disk: snap.backup_disk.as_ref().map(|d| d.percent),
        rdp: snap.sessions.as_ref().map(|s| s.active_rdp),
        onec_users: snap.onec.as_ref().map(|o| o.total),
    })
}

/// Run until `agent.shutdown`.
pub async fn run(agent: Arc<Agent>) {
    let interval = agent.cfg.metrics_interval.max(Duration::from_secs(1));
    tracing::info!("Metrics worker started (interval: {}s)", interval.as_secs());
    // The sampler's first round may still be running at start-up.
    let deadline = tokio::time::Instant::now() + FIRST_ROUND_WAIT;
    while agent.sampler.snapshot().collected_at_unix <= 0.0
        && tokio::time::Instant::now() < deadline
    {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = agent.shutdown.cancelled() => return,
        }
    }
    let mut push = tokio::time::interval(interval);
    push.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut store = tokio::time::interval(SAMPLE_EVERY);
    store.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stored: u64 = 0;
    loop {
        tokio::select! {
            _ = push.tick() => {
                let tick = Tick::new(agent.sampler.snapshot(), agent.backups.get(), &agent.sinks.states());
                agent.publish_tick(tick);
            }
            _ = store.tick() => {
                if let Some(s) = sample_of(&agent.sampler.snapshot()) {
                    // Prune once an hour, and at start.
                    let prune = stored.is_multiple_of(60);
                    stored += 1;
                    let db = agent.cfg.history_db.clone();
                    let dir = agent.cfg.backup_dir.clone();
                    let r = tokio::task::spawn_blocking(move || store_sample(&db, &dir, &s, prune)).await;
                    match r {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!("cannot store a host sample: {e}"),
                        Err(e) => tracing::warn!("cannot store a host sample: {e}"),
                    }
                }
            }
            _ = agent.shutdown.cancelled() => return,
        }
    }
}

fn store_sample(
    db: &std::path::Path,
    dir: &std::path::Path,
    s: &Sample,
    prune: bool,
) -> Result<(), HistoryError> {
    let _ = std::fs::create_dir_all(dir);
    let h = History::open(db)?;
    h.insert_sample(s)?;
    if prune {
        let gone = h.prune_samples(s.ts - KEEP_SECS)?;
        if gone > 0 {
            tracing::debug!("{gone} host sample(s) older than 30 days removed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sample_before_the_first_round() {
        assert!(sample_of(&Snapshot::default()).is_none());
    }

    #[test]
    fn a_sample_takes_the_chart_figures_of_a_snapshot() {
        let snap = Snapshot {
            collected_at_unix: 1_700_000_000.7,
            ..Snapshot::default()
        };
        let s = sample_of(&snap).unwrap();
        assert_eq!(s.ts, 1_700_000_000);
        // A failed collector is a gap in the chart, not a zero.
        assert_eq!((s.cpu, s.mem, s.disk, s.rdp), (None, None, None, None));
    }

    #[test]
    fn stored_samples_are_pruned_after_thirty_days() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.sqlite3");
        let old = Sample {
            ts: 1_000,
            cpu: Some(1.0),
            mem: None,
            disk: None,
            rdp: None,
            onec_users: None,
        };
        store_sample(&db, dir.path(), &old, false).unwrap();
        let new = Sample {
            ts: 1_000 + KEEP_SECS + 1,
            ..old.clone()
        };
        store_sample(&db, dir.path(), &new, true).unwrap();
        let h = History::open(&db).unwrap();
        let left: Vec<i64> = h.samples_since(0).unwrap().iter().map(|s| s.ts).collect();
        assert_eq!(left, [new.ts]);
    }
}
