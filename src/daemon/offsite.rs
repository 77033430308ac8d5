//! The offsite worker of the agent: every minute, and right after a backup
//! finishes (the backup feed, which also sees other processes' runs), it
//! queues the good archives not queued yet and uploads the due items
//! (`offsite::queue::sync` + `drain`) on a blocking thread, one pass at a
//! time. The agent's shutdown cancels a running upload (a resumable kind
//! keeps its state in the queue; the others restart cleanly next time).

use crate::agent::Agent;
use crate::backup::history::History;
use crate::cancel::Cancel;
use crate::config::Config;
use crate::offsite::queue;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often the queue is looked at without a new backup.
pub const EVERY: Duration = Duration::from_secs(60);

/// Run until the agent stops; returns at once without offsite targets.
pub async fn run(agent: Arc<Agent>) {
    if agent.cfg.offsite.is_empty() {
        return;
    }
    let mut finished = agent.feed.subscribe();
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = agent.shutdown.cancelled() => return,
            _ = tick.tick() => {}
            r = finished.recv() => {
                if let Err(RecvError::Closed) = r {
                    return;
                }
            }
        }
        let cancel = Cancel::new();
        let (cfg, c) = (agent.cfg.clone(), cancel.clone());
        let mut pass = tokio::task::spawn_blocking(move || one_pass(&cfg, &c));
        tokio::select! {
            _ = agent.shutdown.cancelled() => {
                cancel.cancel();
                let _ = pass.await;
                return;
            }
            _ = &mut pass => {}
        }
    }
}

/// Queue and upload once; failures are recorded and logged by the queue.
fn one_pass(cfg: &Config, cancel: &Cancel) {
    let history = match History::open(&cfg.history_db) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!("offsite: {e}");
            return;
        }
    };
    let result = queue::sync(cfg, &history)
        .and_then(|_| queue::drain(cfg, &history, queue::Filter::default(), cancel));
    if let Err(e) = result {
        tracing::error!("offsite: {}", cfg.mask(&format!("{e:#}")));
    }
}
