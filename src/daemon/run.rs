//! Starting and stopping the always-on agent (`onec-backup-bot run` and
//! the service): the one place that creates the shared [`Agent`], starts
//! every component on one tokio runtime — the feeds of finished runs,
//! drills and offsite uploads, the push sinks, the Telegram bot, the metrics worker, the
//! backup and drill schedulers, the HTTP API — and stops them together on
//! Ctrl-C, SIGTERM or a service stop request, giving a running backup
//! `SHUTDOWN_GRACE_SECS` to finish.

use crate::agent::Agent;
use crate::backup::feed;
use crate::cancel::Cancel;
use crate::config::Config;
use std::sync::Arc;
use std::time::Duration;

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
        // Listen first: a stop request during start-up is a clean stop.
        let signals = StopSignals::listen();
        let (start_id, drill_start_id, upload_start_id) = match crate::backup::run::open_and_recover(&cfg) {
            Ok((history, r)) => {
                tracing::info!(
                    "start-up recovery: {} interrupted run(s) marked, {} stale temporary file(s) removed",
                    r.interrupted,
                    r.removed_temps
                );
                (
                    history.max_run_id().unwrap_or(0),
                    history.max_drill_id().unwrap_or(0),
                    history.max_upload_id().unwrap_or(0),
                )
            }
            Err(e) => {
                tracing::error!("{e}");
                return None;
            }
        };
        let agent = Agent::new(cfg.clone());
        let mut tasks: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
        // The feed subscribes before anything can start a backup.
        tasks.spawn(feed::run(
            agent.feed.clone(),
            agent.jobs.subscribe(),
            cfg.clone(),
            start_id,
            agent.shutdown.clone(),
        ));
        tasks.spawn(crate::backup::drill::feed::run(
            agent.drills.clone(),
            cfg.clone(),
            drill_start_id,
            agent.shutdown.clone(),
        ));
        tasks.spawn(crate::offsite::feed::run(
            agent.uploads.clone(),
            cfg.clone(),
            upload_start_id,
            agent.shutdown.clone(),
        ));
        // Components register here, one line each. Subscribers first: the
        // sinks and the bot subscribe to the ticks and the feed before the
        // worker can publish a tick or the scheduler start a run.
        crate::push::register(&agent, &mut tasks);
        crate::telegram::register(&agent, &mut tasks);
        tasks.spawn(crate::daemon::worker::run(agent.clone()));
        tasks.spawn(crate::daemon::scheduler::run(agent.clone()));
        tasks.spawn(crate::daemon::warnings::run(agent.clone()));
        tasks.spawn(crate::daemon::drills::run(agent.clone()));
        tasks.spawn(crate::daemon::offsite::run(agent.clone()));
        crate::api::start(agent.clone(), &mut tasks).await;

        signals.wait(&stop).await;
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

/// Ctrl-C and (on Unix) SIGTERM, listened for from the moment this is
/// made: until then the OS default (end the process at once) applies.
struct StopSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(windows)]
    ctrl_c: Option<tokio::signal::windows::CtrlC>,
}

impl StopSignals {
    fn listen() -> StopSignals {
        let warn = |e: std::io::Error| tracing::warn!("cannot listen for stop signals: {e}");
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignals {
                term: signal(SignalKind::terminate()).map_err(warn).ok(),
                int: signal(SignalKind::interrupt()).map_err(warn).ok(),
            }
        }
        #[cfg(windows)]
        {
            StopSignals {
                ctrl_c: tokio::signal::windows::ctrl_c().map_err(warn).ok(),
            }
        }
    }

    /// Until a signal arrives or `stop` is cancelled (a service stop).
    async fn wait(mut self, stop: &Cancel) {
        let service_stop = async {
            while !stop.is_cancelled() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        #[cfg(unix)]
        let signal = async {
            tokio::select! {
                Some(()) = recv(&mut self.term) => {}
                Some(()) = recv(&mut self.int) => {}
            }
        };
        #[cfg(windows)]
        let signal = async {
            match &mut self.ctrl_c {
                Some(c) => {
                    c.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = signal => {}
            _ = service_stop => {}
        }
    }
}

/// The next signal, or never when not listening.
#[cfg(unix)]
async fn recv(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
