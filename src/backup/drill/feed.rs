//! Every finished restore drill, whoever made it (the agent's schedule, a
//! console `drill`), as one stream for the agent's subscribers (the
//! Telegram notices). Drills are recorded as one finished row each, so the
//! history is the one source: it is read every [`POLL`](crate::backup::feed::POLL)
//! and each row above the last one seen is announced once.

use crate::backup::feed::{RowFeed, poll_rows};
use crate::backup::history::Drill;
use crate::config::Config;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The sending side, kept by the agent.
pub type DrillFeed = RowFeed<Drill>;

/// Publish drills recorded after `start_id` (the newest when the agent
/// started) on `feed` until `stop`.
pub async fn run(feed: DrillFeed, cfg: Arc<Config>, start_id: i64, stop: CancellationToken) {
    poll_rows(
        feed,
        cfg,
        start_id,
        stop,
        "finished drills",
        |h, after| h.drills_since(after),
        |d| d.id,
    )
    .await
}
