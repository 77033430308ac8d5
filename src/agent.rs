//! The state the always-on agent's components share: one [`Agent`]
//! (configuration, the backup coordinator, the metrics sampler, the cached
//! backup state, the feeds of finished runs, drills and offsite uploads,
//! the warnings to users inside a base, the metrics ticks and the push
//! sinks' registry) handed to the HTTP API, the Telegram bot, the
//! scheduler, the metrics worker and the push sinks; and the one way a
//! component makes a restore drill ([`Agent::drill`]). A leaf for them: it
//! imports none of its consumers; `daemon::run` starts and stops them.
//!
//! Data flows one way: the sampler and the history feed the agent's
//! caches and channels; components only read them or subscribe.

use crate::backup::drill::choose::Planned;
use crate::backup::drill::feed::DrillFeed;
use crate::backup::drill::{self, Request, Source};
use crate::backup::feed::Feed;
use crate::backup::history::{Drill, History, LOCAL, Trigger};
use crate::backup::jobs::Jobs;
use crate::cancel::Cancel;
use crate::config::Config;
use crate::export::{BackupCache, Sinks, Tick};
use crate::metrics::{MetricsOptions, Sampler};
use crate::offsite::feed::UploadFeed;
use crate::onec::inside::Warning;
use std::sync::Arc;
use std::time::{Duration, Instant};
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
    /// Every finished offsite upload attempt, whoever made it.
    pub uploads: UploadFeed,
    /// Warnings to users inside a base before its scheduled backup
    /// (`daemon::warnings` sends them; the bot tells the admins).
    pub users_warnings: broadcast::Sender<Arc<Warning>>,
    /// Drills of this agent run one at a time (each checks the free space
    /// of the one drill folder).
    drill_turn: tokio::sync::Mutex<()>,
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
        let sampler = Sampler::start(MetricsOptions::of(&cfg));
        let jobs = Jobs::new(cfg.clone());
        Arc::new(Agent {
            backups: BackupCache::new(cfg.clone(), jobs.clone()),
            jobs,
            sampler,
            feed: Feed::default(),
            drills: DrillFeed::default(),
            uploads: UploadFeed::default(),
            users_warnings: broadcast::channel(16).0,
            drill_turn: tokio::sync::Mutex::new(()),
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

    /// Make one restore drill of `base` (after any other drill of this
    /// agent), of the archive its `drill_from` says (local, a target's
    /// copy, or the next `alternate` turn), on a blocking thread, waiting up to `lock_wait` for a backup
    /// of the base; a stop of the agent cancels it. Returns the recorded
    /// drill, or why nothing could be recorded (`None`: the agent stopped
    /// before it began). The backup state is reloaded after it, so the
    /// metrics show the result at once.
    pub async fn drill(
        self: &Arc<Self>,
        base: &str,
        trigger: Trigger,
        lock_wait: Duration,
    ) -> Option<Result<Drill, String>> {
        let _turn = tokio::select! {
            t = self.drill_turn.lock() => t,
            _ = self.shutdown.cancelled() => return None,
        };
        let cancel = Cancel::new();
        let stopper = {
            let (me, cancel) = (self.clone(), cancel.clone());
            tokio::spawn(async move {
                me.shutdown.cancelled().await;
                cancel.cancel();
            })
        };
        let cfg = self.cfg.clone();
        let name = base.to_string();
        let result = tokio::task::spawn_blocking(move || {
            let base = cfg
                .base(Some(&name))
                .ok_or_else(|| format!("no base named {name}"))?;
            let history = History::open(&cfg.history_db).map_err(|e| e.to_string())?;
            // The base's `drill_from` (chosen inside the drill turn, so two
            // drills of this agent never take the same `alternate` turn).
            let from = crate::offsite::fetch::drill_source(&cfg, &history, base, None)
                .map_err(|e| format!("{e:#}"))?;
            let req = Request {
                base,
                trigger,
                lock_wait,
                source: from.as_ref().map(|(s, _)| s as &dyn Source),
                fallback: from.as_ref().is_some_and(|(_, f)| *f),
            };
            drill::drill(&cfg, &history, &req, &cancel).map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(format!("the drill did not finish: {e}")));
        stopper.abort();
        let cache = self.backups.clone();
        let _ = tokio::task::spawn_blocking(move || cache.reload_now()).await;
        Some(result)
    }

    /// Where the next drill of `base` takes its archive by the base's
    /// `drill_from`: `local` or an offsite target's name (`local` too when
    /// the history cannot be read; the drill itself then says why).
    pub async fn next_drill_source(&self, base: &str) -> String {
        let cfg = self.cfg.clone();
        let name = base.to_string();
        tokio::task::spawn_blocking(move || {
            let base = cfg.base(Some(&name))?;
            let history = History::open(&cfg.history_db).ok()?;
            match crate::backup::drill::choose::plan(&cfg, &history, base).ok()? {
                Planned::Local => None,
                Planned::Target { name, .. } => Some(name),
            }
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| LOCAL.to_string())
    }

    /// Hand a tick to every subscriber (none is fine).
    pub fn publish_tick(&self, tick: Tick) {
        let _ = self.ticks.send(Arc::new(tick));
    }
}
