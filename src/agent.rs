//! The state the always-on agent's components share: one [`Agent`]
//! (configuration, the backup coordinator, the metrics sampler, the cached
//! backup state, the feeds of finished runs and drills, the metrics ticks and the push
//! sinks' registry) handed to the HTTP API, the Telegram bot, the
//! scheduler, the metrics worker and the push sinks. A leaf for them: it
//! imports none of its consumers; `daemon::run` starts and stops them.
//!
//! Data flows one way: the sampler and the history feed the agent's
//! caches and channels; components only read them or subscribe.

use crate::backup::drill::feed::DrillFeed;
use crate::backup::feed::Feed;
use crate::backup::jobs::Jobs;
use crate::config::Config;
use crate::export::{BackupCache, Sinks, Tick};
use crate::metrics::{MetricsOptions, Sampler};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// What every component shares.
pub struct Agent {
    pub cfg: Arc<Config>,
    pub jobs: Jobs,
    pub sampler: Sampler,
    /// History counts, last runs and archives, refreshed in the background.
    pub backups: Arc<BackupCache>,
    /// Every finished run, whoever started it.
    pub feed: Feed,
    /// Every finished restore drill, whoever made it.
    pub drills: DrillFeed,
    /// One [`Tick`] per `METRICS_INTERVAL`, from the metrics worker.
    ticks: broadcast::Sender<Arc<Tick>>,
    /// The push sinks' state (`onec_sink_*`, `/api/health`).
    pub sinks: Sinks,
    /// When the agent started (for uptime in /api/health and /health).
    pub started: Instant,
    /// Cancelled when the agent is stopping; components finish their work.
    pub shutdown: CancellationToken,
}

impl Agent {
    pub fn new(cfg: Arc<Config>) -> Arc<Agent> {
        let sampler = Sampler::start(MetricsOptions {
            backup_dir: cfg.backup_dir.clone(),
            ..MetricsOptions::default()
        });
        let jobs = Jobs::new(cfg.clone());
        Arc::new(Agent {
            backups: BackupCache::new(cfg.clone(), jobs.clone()),
            jobs,
            sampler,
            feed: Feed::default(),
            drills: DrillFeed::default(),
            ticks: broadcast::channel(16).0,
            sinks: Sinks::default(),
            cfg,
            started: Instant::now(),
            shutdown: CancellationToken::new(),
        })
    }

    /// Ticks from the metrics worker, from now on.
    pub fn subscribe_ticks(&self) -> broadcast::Receiver<Arc<Tick>> {
        self.ticks.subscribe()
    }

    /// Hand a tick to every subscriber (none is fine).
    pub fn publish_tick(&self, tick: Tick) {
        let _ = self.ticks.send(Arc::new(tick));
    }
}
