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

/// Run the agent until `stop` is cancelled (a service stop) or Ctrl-C /
/// SIGTERM arrives. `tick` is called about once a second while running
/// backups wind down (a service reports progress to its manager with it).
/// Returns the process exit code.
pub fn run(cfg: Config, stop: Cancel, tick: &dyn Fn()) -> u8 {
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
    let started = rt.block_on(async {
        match crate::backup::run::open_and_recover(&cfg) {
            Ok((_, r)) => tracing::info!(
                "start-up recovery: {} interrupted run(s) marked, {} stale temporary file(s) removed",
                r.interrupted,
                r.removed_temps
            ),
            Err(e) => {
                tracing::error!("{e}");
                return None;
            }
        }
        let agent = Agent::new(cfg.clone());
        let mut tasks: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
        // Components register here, one line each.
        tasks.spawn(crate::daemon::scheduler::run(agent.clone()));
        crate::api::start(agent.clone(), &mut tasks).await;
        crate::telegram::register(&agent, &mut tasks);

        wait_for_stop(&stop).await;
        tracing::info!(
            "stopping: no new backups; a running one gets up to {}s to finish",
            cfg.shutdown_grace.as_secs()
        );
        agent.shutdown.cancel();
        Some((agent, tasks))
    });
    let Some((agent, mut tasks)) = started else {
        return 1;
    };
    // Wait for backups on this thread, so the service manager hears from us.
    agent.jobs.shutdown(cfg.shutdown_grace, tick);
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
    });
    tracing::info!("stopped");
    0
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
