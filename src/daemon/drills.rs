//! The restore-drill scheduler of the agent: for each base with a drill
//! schedule (`bases[].drill`, else `BACKUP_DRILL_SCHEDULE`), sleep until its
//! next time (in `app.timezone`; quiet hours do not apply, a drill never
//! touches the infobase), then make a drill (`backup::drill`, of the
//! archive the base's `drill_from` picks: local, a target's copy, or the
//! next `alternate` turn). A drill
//! missed while the machine was off runs once at start when it is less
//! than `backup.catch_up_hours` late. Drills run
//! through [`Agent::drill`] (one at a time, a stop request ends one at
//! once, its scratch folder removed); a scheduled drill waits up to
//! [`LOCK_WAIT`] for a backup of its base to finish.

use super::scheduler::{in_words, sleep_until};
use crate::agent::Agent;
use crate::backup::history::{History, Trigger};
use crate::schedule::{self, Schedule};
use jiff::{Timestamp, ZonedDateTime};
use std::sync::Arc;
use std::time::Duration;

/// How long a scheduled drill waits for a running backup of its base.
pub const LOCK_WAIT: Duration = Duration::from_secs(3600);

/// Start one loop per base with a drill schedule; returns when the agent
/// stops.
pub async fn run(agent: Arc<Agent>) {
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
        loops.spawn(base_loop(agent.clone(), base.name.clone(), sched));
    }
    while loops.join_next().await.is_some() {}
}

async fn base_loop(agent: Arc<Agent>, base: String, sched: Schedule) {
    let tz = agent.cfg.timezone.clone();
    let now = Timestamp::now().to_zoned_datetime(tz.clone());
    let last = last_drill_time(&agent, &base).await;
    if let Some(missed) = schedule::catch_up(&sched, last.as_ref(), &now, agent.cfg.catch_up) {
        tracing::info!(base = %base, "catching up the restore drill missed at {missed}");
        drill_now(&agent, &base).await;
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
        drill_now(&agent, &base).await;
    }
}

/// Make one scheduled drill of `base` now (it logs its own result).
async fn drill_now(agent: &Arc<Agent>, base: &str) {
    if let Some(Err(e)) = agent.drill(base, Trigger::Schedule, LOCK_WAIT).await {
        tracing::error!(base = %base, "restore drill not recorded: {e}");
    }
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
