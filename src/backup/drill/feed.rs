//! Every finished restore drill, whoever made it (the agent's schedule, a
//! console `drill`), as one stream for the agent's subscribers (the
//! Telegram notices). Drills are recorded as one finished row each, so the
//! history is the one source: it is read every [`POLL`](crate::backup::feed::POLL)
//! and each row above the last one seen is announced once.

use crate::backup::feed::{POLL, read};
use crate::backup::history::Drill;
use crate::config::Config;
use std::sync::Arc;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// The sending side, kept by the agent.
#[derive(Clone)]
pub struct DrillFeed {
    tx: broadcast::Sender<Arc<Drill>>,
}

impl Default for DrillFeed {
    fn default() -> Self {
        DrillFeed {
            tx: broadcast::channel(64).0,
        }
    }
}

impl DrillFeed {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Drill>> {
        self.tx.subscribe()
    }
}

/// Publish drills recorded after `start_id` (the newest when the agent
/// started) on `feed` until `stop`.
pub async fn run(feed: DrillFeed, cfg: Arc<Config>, start_id: i64, stop: CancellationToken) {
    let mut last = start_id;
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        let after = last;
        match read(&cfg.history_db, move |h| h.drills_since(after)).await {
            Ok(rows) => {
                for d in rows {
                    last = last.max(d.id);
                    // No subscriber is fine: nobody wants notices.
                    let _ = feed.tx.send(Arc::new(d));
                }
            }
            Err(e) => tracing::debug!("finished drills: cannot read the history: {e}"),
        }
    }
}
