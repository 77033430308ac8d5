//! The scheduler task of the agent: for each base with a schedule, sleep
//! until its next run (in `app.timezone`, skipping quiet hours), then start a
//! backup through the shared [`Jobs`](crate::backup::jobs::Jobs). A run
//! missed while the machine was off runs once at start when it is less than
//! `backup.catch_up_hours` late — never as a burst. Sleeps are cut into
//! short slices checked against the wall clock, so a suspended machine or a
//! clock change does not make a run late or early.

use crate::agent::Agent;
use crate::backup::history::{History, Trigger};
use crate::backup::jobs::StartError;
use crate::schedule::{self, QuietHours, Schedule};
use crate::text::EN;
use jiff::{Timestamp, ZonedDateTime};
use std::sync::Arc;
use std::time::Duration;

/// Start one loop per scheduled base; returns when the agent stops.
pub async fn run(agent: Arc<Agent>) {
    let mut loops = tokio::task::JoinSet::new();
    for base in &agent.cfg.bases {
        let Some(sched) = base.schedule.clone() else {
            tracing::info!(base = %base.name, "no schedule: manual backups only");
            continue;
        };
        tracing::info!(
            base = %base.name,
            "backup schedule: {} ({}){}",
            sched.as_str(),
            in_words(&sched),
            base.quiet_hours.map(|q| format!(", quiet hours {q}")).unwrap_or_default()
        );
        loops.spawn(base_loop(
            agent.clone(),
            base.name.clone(),
            sched,
            base.quiet_hours,
        ));
    }
    while loops.join_next().await.is_some() {}
}

async fn base_loop(agent: Arc<Agent>, base: String, sched: Schedule, quiet: Option<QuietHours>) {
    let tz = agent.cfg.timezone.clone();
    let now = Timestamp::now().to_zoned_datetime(tz.clone());
    let last = last_run_time(&agent, &base);
    if let Some(missed) = schedule::catch_up(&sched, last.as_ref(), &now, agent.cfg.catch_up) {
        let in_quiet = quiet.is_some_and(|q| q.contains(&missed.time()));
        if !in_quiet {
            tracing::info!(base = %base, "catching up the scheduled run missed at {missed}");
            start(&agent, &base).await;
        }
    }
    loop {
        let now = Timestamp::now().to_zoned_datetime(tz.clone());
        let Some(next) = schedule::next_run(&sched, quiet.as_ref(), &now) else {
            tracing::warn!(base = %base, "schedule {} never fires; scheduler stopped for this base", sched.as_str());
            return;
        };
        tracing::debug!(base = %base, "next scheduled backup at {next}");
        if !sleep_until(&agent, &next).await {
            return;
        }
        start(&agent, &base).await;
    }
}

/// A schedule in English words, for the log.
pub(super) fn in_words(sched: &Schedule) -> String {
    sched.describe(
        EN.schedule_every_minutes,
        EN.schedule_every_hour_at,
        EN.schedule_at,
        EN.schedule_cron,
    )
}

/// Sleep until `at` by the wall clock; false when the agent is stopping.
pub(super) async fn sleep_until(agent: &Agent, at: &ZonedDateTime) -> bool {
    loop {
        let left = at.timestamp().duration_since(Timestamp::now());
        if left.is_negative() || left.is_zero() {
            return true;
        }
        let slice = Duration::try_from(left)
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(30));
        tokio::select! {
            _ = agent.shutdown.cancelled() => return false,
            _ = tokio::time::sleep(slice) => {}
        }
    }
}

async fn start(agent: &Agent, base: &str) {
    match agent.jobs.start(Some(base), Trigger::Schedule, false).await {
        Ok(s) => tracing::info!(base = %base, run_id = ?s.run_id, "scheduled backup started"),
        Err(StartError::AlreadyRunning(r)) => {
            tracing::warn!(base = %base, "scheduled backup skipped: one is already running ({})", r.stage.as_str())
        }
        Err(e) => tracing::warn!(base = %base, "scheduled backup not started: {e}"),
    }
}

/// When the base was last backed up (any trigger), as the catch-up anchor.
fn last_run_time(agent: &Agent, base: &str) -> Option<ZonedDateTime> {
    let history = History::open(&agent.cfg.history_db).ok()?;
    let run = history.last_run(base).ok()??;
    Some(run.started.to_zoned_datetime(agent.cfg.timezone.clone()))
}
