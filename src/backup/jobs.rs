//! In-process coordination of backup runs for the always-on agent: the HTTP
//! API, the Telegram bot and the scheduler all start backups here, see which
//! base is running and at what stage, and receive every run's events (for
//! progress messages and notifications) from one broadcast channel.
//!
//! Each run happens on its own detached OS thread with its own history
//! connection, so a long dump never blocks the async runtime; async
//! callers await the run id through a oneshot, and a thread is gone as
//! soon as its run ends (shutdown waits on a count, not on handles). Across processes the per-base
//! lock file still applies (a second process sees "already running").

use super::history::{History, Run, Trigger};
use super::run::{self, BackupError, Event, FailedRun, Outcome, Request, Stage};
use crate::cancel::Cancel;
use crate::config::{Config, UsersPolicy};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};

/// What is known about a run in progress.
#[derive(Debug, Clone)]
pub struct Running {
    pub base: String,
    pub trigger: Trigger,
    pub run_id: Option<i64>,
    pub stage: Stage,
    pub done: u64,
    pub total: u64,
    pub started: jiff::Timestamp,
}

impl Finished {
    /// The run's history row, as the run recorded it (`None` when nothing
    /// could be recorded).
    pub fn record(&self) -> Option<&Run> {
        match self {
            Finished::Done(o) => Some(&o.record),
            Finished::Failed(f) => Some(&f.record),
            Finished::Interrupted(run) => Some(run),
            Finished::Setup(_) => None,
        }
    }
}

impl Running {
    /// Packing progress in percent, when known.
    pub fn percent(&self) -> Option<f64> {
        (self.stage == Stage::Packing && self.total > 0)
            .then(|| self.done as f64 * 100.0 / self.total as f64)
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum Finished {
    /// Done or skipped (see `Outcome::status`).
    Done(Box<Outcome>),
    Failed(Arc<FailedRun>),
    Interrupted(Box<Run>),
    /// Nothing could be recorded (backup folder or history unusable).
    Setup(String),
}

/// Everything that happens to runs, for subscribers.
#[derive(Debug, Clone)]
pub enum JobEvent {
    Started {
        base: String,
        trigger: Trigger,
        run_id: i64,
    },
    Stage {
        base: String,
        run_id: Option<i64>,
        stage: Stage,
    },
    Progress {
        base: String,
        done: u64,
        total: u64,
    },
    Finished {
        base: String,
        trigger: Trigger,
        result: Finished,
    },
}

/// Why a run was not started.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StartError {
    #[error("no base named {0:?}")]
    NoSuchBase(String),
    #[error("a backup of {} is already running ({})", .0.base, .0.stage.as_str())]
    AlreadyRunning(Box<Running>),
    #[error("the agent is stopping; no new backups are started")]
    ShuttingDown,
}

/// How a run is asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartOptions {
    /// Back up even when the base has not changed since the last good backup.
    pub force: bool,
    /// Use this users-inside policy instead of the base's
    /// `BACKUP_WHEN_USERS_INSIDE` (the bot's «Закрыть сеансы и повторить»).
    pub users_policy: Option<UsersPolicy>,
}

/// A started run: its history id (None when it was skipped or failed before
/// being recorded; its `JobEvent::Finished` says why).
#[derive(Debug, Clone)]
pub struct Started {
    pub base: String,
    pub run_id: Option<i64>,
}

struct Inner {
    cfg: Arc<Config>,
    running: Mutex<HashMap<String, (Running, Cancel)>>,
    /// Backup threads still going (each is detached and counts itself
    /// out as its last step, so a finished thread is gone at once).
    active: (Mutex<usize>, Condvar),
    events: broadcast::Sender<JobEvent>,
    stopping: Cancel,
}

#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

/// Counts a backup thread in while it lives.
struct Active(Arc<Inner>);

impl Active {
    fn enter(inner: &Arc<Inner>) -> Active {
        *inner.active.0.lock().expect("jobs lock") += 1;
        Active(inner.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        let (count, cv) = &self.0.active;
        *count.lock().expect("jobs lock") -= 1;
        cv.notify_all();
    }
}

impl Jobs {
    pub fn new(cfg: Arc<Config>) -> Self {
        let (events, _) = broadcast::channel(1024);
        Jobs {
            inner: Arc::new(Inner {
                cfg,
                running: Mutex::new(HashMap::new()),
                active: (Mutex::new(0), Condvar::new()),
                events,
                stopping: Cancel::new(),
            }),
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.inner.cfg
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.inner.events.subscribe()
    }

    /// Runs in progress in this process.
    pub fn running(&self) -> Vec<Running> {
        let map = self.inner.running.lock().expect("jobs lock");
        let mut v: Vec<Running> = map.values().map(|(r, _)| r.clone()).collect();
        v.sort_by(|a, b| a.base.cmp(&b.base));
        v
    }

    pub fn is_running(&self, base: &str) -> bool {
        self.inner
            .running
            .lock()
            .expect("jobs lock")
            .contains_key(base)
    }

    /// Start a backup of `base` (None = the default base) on its own
    /// thread and await its history id (`None` when it was skipped or
    /// failed before being recorded; its `JobEvent::Finished` says why).
    /// Never blocks the async runtime.
    pub async fn start(
        &self,
        base: Option<&str>,
        trigger: Trigger,
        force: bool,
    ) -> Result<Started, StartError> {
        let opts = StartOptions {
            force,
            users_policy: None,
        };
        self.start_with(base, trigger, opts).await
    }

    /// [`Jobs::start`] with every option (another users-inside policy).
    pub async fn start_with(
        &self,
        base: Option<&str>,
        trigger: Trigger,
        opts: StartOptions,
    ) -> Result<Started, StartError> {
        let (base, id) = self.spawn(base, trigger, opts)?;
        Ok(Started {
            base,
            run_id: id.await.ok().flatten(),
        })
    }

    /// Check and register the run, then start its thread; the receiver
    /// gets the history id as soon as the run is recorded. No file or
    /// database work happens under the running-jobs lock.
    fn spawn(
        &self,
        base: Option<&str>,
        trigger: Trigger,
        opts: StartOptions,
    ) -> Result<(String, oneshot::Receiver<Option<i64>>), StartError> {
        if self.inner.stopping.is_cancelled() {
            return Err(StartError::ShuttingDown);
        }
        let cfg = self.inner.cfg.clone();
        let base = cfg
            .base(base)
            .ok_or_else(|| StartError::NoSuchBase(base.unwrap_or("").to_string()))?
            .name
            .clone();
        let cancel = Cancel::new();
        let busy = {
            let mut map = self.inner.running.lock().expect("jobs lock");
            match map.get(&base) {
                Some((r, _)) => Some(r.clone()),
                None => {
                    let r = Running {
                        base: base.clone(),
                        trigger,
                        run_id: None,
                        stage: Stage::Preparing,
                        done: 0,
                        total: 0,
                        started: jiff::Timestamp::now(),
                    };
                    map.insert(base.clone(), (r, cancel.clone()));
                    None
                }
            }
        };
        if let Some(r) = busy {
            // Recorded as a skipped run, as a second process would record
            // it, off the caller's thread.
            let active = Active::enter(&self.inner);
            let name = base.clone();
            std::thread::spawn(move || {
                let _active = active;
                if let Some(b) = cfg.base(Some(&name)) {
                    let who = format!(" ({})", r.stage.as_str());
                    run::record_already_running(&cfg, b, trigger, &who);
                }
            });
            return Err(StartError::AlreadyRunning(Box::new(r)));
        }
        let (tx, rx) = oneshot::channel::<Option<i64>>();
        let active = Active::enter(&self.inner);
        let name = base.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("backup-{name}"))
            .spawn(move || {
                let inner = active.0.clone();
                let mut tx = Some(tx);
                let result = run_one(&inner, &name, trigger, opts, &cancel, &mut tx);
                if let Some(tx) = tx.take() {
                    let _ = tx.send(None);
                }
                inner.running.lock().expect("jobs lock").remove(&name);
                let _ = inner.events.send(JobEvent::Finished {
                    base: name,
                    trigger,
                    result,
                });
                drop(active);
            });
        if let Err(e) = spawned {
            self.inner.running.lock().expect("jobs lock").remove(&base);
            tracing::error!("cannot start a backup thread: {e}");
            return Err(StartError::ShuttingDown);
        }
        Ok((base, rx))
    }

    /// Stop accepting work; let running backups finish within `grace`, then
    /// cancel them (1C killed, temporaries removed, rows `interrupted`) and
    /// wait for them to wind down. `tick` is called about once a second
    /// while waiting (service managers want progress reports).
    pub fn shutdown(&self, grace: Duration, tick: &dyn Fn()) {
        self.inner.stopping.cancel();
        let deadline = std::time::Instant::now() + grace;
        while !self.running().is_empty() && std::time::Instant::now() < deadline {
            tick();
            std::thread::sleep(Duration::from_millis(200).min(grace));
        }
        for (_, cancel) in self.inner.running.lock().expect("jobs lock").values() {
            cancel.cancel();
        }
        let (count, cv) = &self.inner.active;
        let mut n = count.lock().expect("jobs lock");
        while *n > 0 {
            tick();
            n = cv
                .wait_timeout(n, Duration::from_secs(1))
                .expect("jobs lock")
                .0;
        }
    }
}

fn run_one(
    inner: &Inner,
    name: &str,
    trigger: Trigger,
    opts: StartOptions,
    cancel: &Cancel,
    started: &mut Option<oneshot::Sender<Option<i64>>>,
) -> Finished {
    let cfg = &inner.cfg;
    let Some(base) = cfg.base(Some(name)) else {
        return Finished::Setup(format!("no base named {name:?}"));
    };
    let overridden = opts.users_policy.map(|p| {
        tracing::info!(base = %name, "this run uses BACKUP_WHEN_USERS_INSIDE={}", p.as_str());
        crate::config::Base {
            when_users_inside: p,
            ..base.clone()
        }
    });
    let base = overridden.as_ref().unwrap_or(base);
    let history = match History::open(&cfg.history_db) {
        Ok(h) => h,
        Err(e) => {
            if let Err(e2) = std::fs::create_dir_all(&cfg.backup_dir) {
                return Finished::Setup(format!(
                    "cannot create {}: {e2}",
                    cfg.backup_dir.display()
                ));
            }
            match History::open(&cfg.history_db) {
                Ok(h) => h,
                Err(_) => return Finished::Setup(format!("cannot open the history: {e}")),
            }
        }
    };
    let update = |f: &dyn Fn(&mut Running)| {
        if let Some((r, _)) = inner.running.lock().expect("jobs lock").get_mut(name) {
            f(r);
        }
    };
    let mut events = |e: Event| match e {
        Event::Started { run_id } => {
            update(&|r| r.run_id = Some(run_id));
            if let Some(tx) = started.take() {
                let _ = tx.send(Some(run_id));
            }
            let _ = inner.events.send(JobEvent::Started {
                base: name.into(),
                trigger,
                run_id,
            });
        }
        Event::Stage(stage) => {
            let mut id = None;
            if let Some((r, _)) = inner.running.lock().expect("jobs lock").get_mut(name) {
                r.stage = stage;
                id = r.run_id;
            }
            let _ = inner.events.send(JobEvent::Stage {
                base: name.into(),
                run_id: id,
                stage,
            });
        }
        Event::Progress { done, total } => {
            update(&|r| {
                r.done = done;
                r.total = total;
            });
            let _ = inner.events.send(JobEvent::Progress {
                base: name.into(),
                done,
                total,
            });
        }
    };
    let req = Request {
        base,
        trigger,
        force: opts.force,
    };
    match run::run(cfg, &history, &req, &mut events, cancel) {
        Ok(o) => Finished::Done(Box::new(o)),
        Err(BackupError::Failed(f)) => Finished::Failed(Arc::from(f)),
        Err(BackupError::Interrupted(run)) => Finished::Interrupted(run),
        Err(BackupError::Setup(s)) => Finished::Setup(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::history::Status;
    use crate::config::testing::config_in;
    use crate::onec::generate::{CdFormat, generate_1cd};

    fn world() -> (tempfile::TempDir, Arc<Config>) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config_in(dir.path(), &[("BACKUP_METHOD", "copy")]);
        generate_1cd(&cfg.bases[0].path.join("1Cv8.1CD"), CdFormat::V8_3_8, 64, 3).unwrap();
        (dir, Arc::new(cfg))
    }

    /// [`Jobs::start`] from a test's thread, outside any async runtime.
    fn start_blocking(
        jobs: &Jobs,
        base: Option<&str>,
        trigger: Trigger,
    ) -> Result<Started, StartError> {
        let (base, id) = jobs.spawn(base, trigger, StartOptions::default())?;
        let run_id = id.blocking_recv().ok().flatten();
        Ok(Started { base, run_id })
    }

    #[test]
    fn start_reports_the_run_id_and_events_end_in_finished() {
        let (_dir, cfg) = world();
        let jobs = Jobs::new(cfg);
        let mut rx = jobs.subscribe();
        let started = start_blocking(&jobs, None, Trigger::Api).unwrap();
        assert!(started.run_id.is_some());
        jobs.shutdown(Duration::from_secs(30), &|| {});
        let mut stages = Vec::new();
        let mut finished = None;
        while let Ok(e) = rx.try_recv() {
            match e {
                JobEvent::Stage { stage, .. } => stages.push(stage),
                JobEvent::Finished { result, .. } => finished = Some(result),
                _ => {}
            }
        }
        assert!(
            stages.contains(&Stage::Packing) && stages.contains(&Stage::Verifying),
            "{stages:?}"
        );
        match finished {
            Some(Finished::Done(o)) => assert_eq!(o.status, Status::Ok),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            start_blocking(&jobs, None, Trigger::Api),
            Err(StartError::ShuttingDown)
        ));
    }

    #[test]
    fn unknown_base_is_refused() {
        let (_dir, cfg) = world();
        let jobs = Jobs::new(cfg);
        assert!(matches!(
            start_blocking(&jobs, Some("nope"), Trigger::Telegram),
            Err(StartError::NoSuchBase(_))
        ));
    }
}
