//! The always-on agent behind `onec-backup-bot run`: one shared [`Agent`]
//! (configuration, the backup coordinator, the metrics sampler) handed to
//! every component — HTTP API, Telegram bot, scheduler, metrics worker —
//! each started here on one tokio runtime and stopped together on Ctrl-C,
//! SIGTERM or a service stop request.

use crate::backup::jobs::Jobs;
use crate::cancel::Cancel;
use crate::config::Config;
use crate::metrics::{MetricsOptions, Sampler};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What every component shares.
pub struct Agent {
    pub cfg: Arc<Config>,
    pub jobs: Jobs,
    pub sampler: Sampler,
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
        Arc::new(Agent {
            jobs: Jobs::new(cfg.clone()),
            sampler,
            cfg,
            started: Instant::now(),
            shutdown: CancellationToken::new(),
        })
    }
}

/// How long running backups get to finish when the agent stops.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Run the agent until `stop` is cancelled (a service stop) or Ctrl-C /
/// SIGTERM arrives. Returns the process exit code.
pub fn run(cfg: Config, stop: Cancel) -> u8 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let cfg = Arc::new(cfg);
    rt.block_on(async move {
        if let Err(e) = std::fs::create_dir_all(&cfg.backup_dir) {
            tracing::error!("cannot create BACKUP_DIR {}: {e}", cfg.backup_dir.display());
            return 1;
        }
        let agent = Agent::new(cfg.clone());
        let mut tasks: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
        // Components register here, one line each.
        crate::api::start(agent.clone(), &mut tasks).await;

        wait_for_stop(&stop).await;
        tracing::info!(
            "stopping: no new backups; waiting for running ones (up to {}s)",
            DEFAULT_SHUTDOWN_GRACE.as_secs()
        );
        agent.shutdown.cancel();
        let jobs = agent.jobs.clone();
        let _ = tokio::task::spawn_blocking(move || jobs.shutdown(DEFAULT_SHUTDOWN_GRACE, &|| {}))
            .await;
        while tasks.join_next().await.is_some() {}
        tracing::info!("stopped");
        0
    })
}

async fn wait_for_stop(stop: &Cancel) {
    let service_stop = async {
        while !stop.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = service_stop => {}
        }
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = service_stop => {}
        }
    }
}
