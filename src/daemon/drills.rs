//! The restore-drill scheduler of the agent: for each base with a drill
//! schedule (`bases[].drill`, else `BACKUP_DRILL_SCHEDULE`), sleep until its
//! next time (in `app.timezone`; quiet hours do not apply, a drill never
//! touches the infobase), then make a drill (`backup::drill`) on a
//! blocking thread. A drill missed while the machine was off runs once at
//! start when it is less than `backup.catch_up_hours` late. Drills of this
//! agent run one at a time (each checks the free space of the one drill
//! folder), a scheduled drill waits up to [`LOCK_WAIT`] for a backup of its
//! base to finish, and a stop request ends a drill at once (its scratch
//! folder removed).

use super::scheduler::{in_words, sleep_until};
use crate::agent::Agent;
use crate::backup::drill::{self, Request};
use crate::backup::history::{History, Trigger};
use crate::cancel::Cancel;
use crate::schedule::{self, Schedule};
use jiff::{Timestamp, ZonedDateTime};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long a scheduled drill waits for a running backup of its base.
pub const LOCK_WAIT: Duration = Duration::from_secs(3600);

/// Start one loop per base with a drill schedule; returns when the agent
/// stops.
pub async fn run(agent: Arc<Agent>) {
    let one_at_a_time = Arc::new(Mutex::new(()));
    let mut loops = tokio::task::JoinSet::new();
    for base in &agent.cfg.bases {
        let Some(sched) = base.drill.clone() else {
            continue;
        };
        tracing::info!(
            base = %base.name,
            "restore drill schedule: {} ({})",
            sched.as_str(),
            in_words(&sched),
        );
        loops.spawn(base_loop(
            agent.clone(),
            base.name.clone(),
            sched,
            one_at_a_time.clone(),
        ));
    }
    while loops.join_next().await.is_some() {}
}

async fn base_loop(agent: Arc<Agent>, base: String, sched: Schedule, turn: Arc<Mutex<()>>) {
    let tz = agent.cfg.timezone.clone();
    let now = Timestamp::now().to_zoned_datetime(tz.clone());
    let last = last_drill_time(&agent, &base).await;
    if let Some(missed) = schedule::catch_up(&sched, last.as_ref(), &now, agent.cfg.catch_up) {
        tracing::info!(base = %base, "catching up the restore drill missed at {missed}");
        drill_now(&agent, &base, &turn).await;
    }
    loop {
        let now = Timestamp::now().to_zoned_datetime(tz.clone());
        let Some(next) = schedule::next_run(&sched, None, &now) else {
            tracing::warn!(base = %base, "drill schedule {} never fires; no scheduled drills for this base", sched.as_str());
            return;
        };
        tracing::debug!(base = %base, "next restore drill at {next}");
        if !sleep_until(&agent, &next).await {
            return;
        }
        drill_now(&agent, &base, &turn).await;
    }
}

/// Make one drill of `base` now (after any other drill of this agent), on
/// a blocking thread; a stop request cancels it.
async fn drill_now(agent: &Arc<Agent>, base: &str, turn: &Mutex<()>) {
    let _turn = tokio::select! {
        t = turn.lock() => t,
        _ = agent.shutdown.cancelled() => return,
    };
    let cancel = Cancel::new();
    let stopper = {
        let (agent, cancel) = (agent.clone(), cancel.clone());
        tokio::spawn(async move {
            agent.shutdown.cancelled().await;
            cancel.cancel();
        })
    };
    let cfg = agent.cfg.clone();
    let name = base.to_string();
    let result = tokio::task::spawn_blocking(move || {
        let Some(base) = cfg.base(Some(&name)) else {
            return Err(format!("no base named {name}"));
        };
        let history = History::open(&cfg.history_db).map_err(|e| e.to_string())?;
        let req = Request {
            base,
            trigger: Trigger::Schedule,
            lock_wait: LOCK_WAIT,
        };
        drill::drill(&cfg, &history, &req, &cancel).map_err(|e| e.to_string())
    })
    .await;
    stopper.abort();
    match result {
        // The drill logged its own result.
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(base = %base, "restore drill not recorded: {e}"),
        Err(e) => tracing::error!(base = %base, "restore drill did not finish: {e}"),
    }
    // Let the metrics show the result at once.
    let cache = agent.backups.clone();
    let _ = tokio::task::spawn_blocking(move || cache.reload_now()).await;
}

/// When the base's last drill started (any status), as the catch-up anchor.
async fn last_drill_time(agent: &Agent, base: &str) -> Option<ZonedDateTime> {
    let db = agent.cfg.history_db.clone();
    let name = base.to_string();
    let last = tokio::task::spawn_blocking(move || {
        History::open(&db)
            .ok()?
            .last_drill(&name, None)
            .ok()
            .flatten()
    })
    .await
    .ok()
    .flatten()?;
    Some(last.started.to_zoned_datetime(agent.cfg.timezone.clone()))
}
