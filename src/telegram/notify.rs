//! Notifications to `NOTIFY_CHAT_IDS` (default: every allowed user): every
//! finished backup, whatever started it (the agent's feed of finished runs:
//! this process's runs with the 1C explanation, other processes' runs from
//! the history), every finished restore drill (a failed one loudly), and
//! alerts: low space on the backup disk, and a scheduled base without a
//! good backup for longer than `BACKUP_MAX_AGE_HOURS`, the same alert at
//! most once per [`ALERT_EVERY`]; a base whose restore drills are overdue
//! (`BACKUP_DRILL_MAX_AGE_DAYS`), once each time it becomes so; and
//! offsite uploads (the agent's feed of upload rows, whoever wrote them):
//! a failure once per failing streak of a base and target, the recovery
//! once (the rule is [`crate::offsite::feed::Streaks`]); and the warnings
//! before a scheduled backup of a base with users inside (who is inside).

use super::backup::{finished_text, run_text};
use super::{Ctx, api};
use crate::backup::feed::FinishedRun;
use crate::backup::history::{Drill, DrillStatus, Trigger, UploadRow};
use crate::export::{drill_stale_for, stale_for};
use crate::offsite::feed::{Change, Streaks, failing_now};
use crate::onec::inside::Warning;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use teloxide::types::ChatId;
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// How often the alert conditions are checked.
pub const ALERT_CHECK: Duration = Duration::from_secs(30);
/// The first check after start.
pub const ALERT_FIRST_CHECK: Duration = Duration::from_secs(5);
/// The same alert is sent at most this often.
pub const ALERT_EVERY: Duration = Duration::from_secs(3600);

/// When each alert was last sent, and which bases were told their drills
/// are overdue.
#[derive(Default)]
struct State {
    alerts: HashMap<String, Instant>,
    drills_overdue: HashSet<String>,
}

impl State {
    /// Whether to tell that `base`'s drills are overdue (`stale`): once
    /// when it becomes so, again only after it was not for a while.
    fn drill_alert_due(&mut self, base: &str, stale: bool) -> bool {
        if stale {
            self.drills_overdue.insert(base.to_string())
        } else {
            self.drills_overdue.remove(base);
            false
        }
    }

    /// Whether alert `key` may be sent now (records it when so).
    fn alert_due(&mut self, key: &str, now: Instant) -> bool {
        match self.alerts.get(key) {
            Some(t) if now.duration_since(*t) < ALERT_EVERY => false,
            _ => {
                self.alerts.insert(key.to_string(), now);
                true
            }
        }
    }
}

async fn broadcast(ctx: &Ctx, text: &str, except: Option<ChatId>) {
    for chat in ctx.notify_chats() {
        if Some(chat) != except {
            api::deliver_html(ctx, chat, text).await;
        }
    }
}

/// Run the notifier until `agent.shutdown`.
pub async fn run(
    ctx: Arc<Ctx>,
    runs: Receiver<Arc<FinishedRun>>,
    drills: Receiver<Arc<Drill>>,
    uploads: Receiver<Arc<UploadRow>>,
    warnings: Receiver<Arc<Warning>>,
) {
    tokio::join!(
        announce(ctx.clone(), runs),
        announce_drills(ctx.clone(), drills),
        announce_uploads(ctx.clone(), uploads),
        announce_warnings(ctx.clone(), warnings),
        alerts(ctx.clone())
    );
}

/// Warnings before a scheduled backup of a base with users inside: who
/// is inside, to the admins.
async fn announce_warnings(ctx: Arc<Ctx>, mut warnings: Receiver<Arc<Warning>>) {
    loop {
        let w = tokio::select! {
            w = warnings.recv() => w,
            _ = ctx.agent.shutdown.cancelled() => return,
        };
        match w {
            Ok(w) => {
                let text = super::users::warning_notice(ctx.texts, &w, &ctx.agent.cfg.timezone);
                broadcast(&ctx, &text, None).await;
            }
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("{n} warning notice(s) dropped: Telegram is too slow");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// The notice for an upload row that changes its pair's streak.
pub(super) fn upload_notice(ctx: &Ctx, u: &UploadRow, change: Change) -> String {
    let t = ctx.texts;
    match change {
        Change::Failing => (t.offsite_failed)(&u.base, &u.target, u.error.as_deref().unwrap_or("")),
        Change::Recovered => (t.offsite_recovered)(&u.base, &u.target, &u.object),
    }
}

async fn announce_uploads(ctx: Arc<Ctx>, mut uploads: Receiver<Arc<UploadRow>>) {
    // Pairs whose newest attempt failed before the agent started were told
    // by the agent before a restart (or failed while no agent ran): not
    // told again, but their recovery is.
    let cfg = ctx.agent.cfg.clone();
    let seed = ctx
        .history(move |h| failing_now(&cfg, h))
        .await
        .unwrap_or_else(|e| {
            tracing::debug!("offsite notices: cannot read the history: {e:#}");
            Vec::new()
        });
    let mut streaks = Streaks::seeded(seed);
    loop {
        let u = tokio::select! {
            u = uploads.recv() => u,
            _ = ctx.agent.shutdown.cancelled() => return,
        };
        match u {
            Ok(u) => {
                if let Some(change) = streaks.see(&u) {
                    broadcast(&ctx, &upload_notice(&ctx, &u, change), None).await;
                }
            }
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("{n} offsite upload row(s) dropped: Telegram is too slow");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// The notice for one finished drill.
pub(super) fn drill_notice(ctx: &Ctx, d: &Drill) -> String {
    let t = ctx.texts;
    let reason = d.reason.as_deref().unwrap_or("");
    match d.status {
        DrillStatus::Ok => (t.drill_ok)(
            &d.base,
            &d.source,
            &d.archive_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            &t.units.duration(d.duration_ms as f64 / 1000.0),
            d.detail.as_deref().unwrap_or(""),
        ),
        DrillStatus::Failed => (t.drill_failed)(&d.base, &d.source, reason),
        DrillStatus::Skipped => (t.drill_skipped)(&d.base, &d.source, reason),
    }
}

async fn announce_drills(ctx: Arc<Ctx>, mut drills: Receiver<Arc<Drill>>) {
    loop {
        let d = tokio::select! {
            d = drills.recv() => d,
            _ = ctx.agent.shutdown.cancelled() => return,
        };
        match d {
            Ok(d) => broadcast(&ctx, &drill_notice(&ctx, &d), None).await,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("{n} drill notice(s) dropped: Telegram is too slow");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// The notice for one finished run.
fn notice(ctx: &Ctx, r: &FinishedRun) -> String {
    match (&r.local, &r.run) {
        (Some(result), _) => format!(
            "{}\n<i>{}</i>",
            finished_text(ctx.texts, &r.base, result),
            r.trigger.as_str()
        ),
        (None, Some(run)) => run_text(ctx.texts, run),
        (None, None) => String::new(),
    }
}

async fn announce(ctx: Arc<Ctx>, mut runs: Receiver<Arc<FinishedRun>>) {
    loop {
        let r = tokio::select! {
            r = runs.recv() => r,
            _ = ctx.agent.shutdown.cancelled() => return,
        };
        let r = match r {
            Ok(r) => r,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("{n} backup notice(s) dropped: Telegram is too slow");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        // Whoever pressed "Yes" sees the result in the progress message.
        let except = (r.trigger == Trigger::Telegram && r.local.is_some())
            .then(|| {
                ctx.requesters
                    .lock()
                    .expect("requesters lock")
                    .get(&r.base)
                    .copied()
            })
            .flatten();
        let text = notice(&ctx, &r);
        let record = r.local.as_ref().and_then(|l| l.record()).or(r.run.as_ref());
        let buttons = record.and_then(|run| super::retry::buttons_for_run(&ctx, run));
        if !text.is_empty() {
            for chat in ctx.notify_chats() {
                if Some(chat) != except {
                    api::deliver_html_with(&ctx, chat, &text, buttons.clone()).await;
                }
            }
        }
    }
}

async fn alerts(ctx: Arc<Ctx>) {
    let state = Mutex::new(State::default());
    // The first check soon after start (the sampler's first round is done
    // by then), so a problem that existed before a restart is told at once.
    let mut wait = ALERT_FIRST_CHECK;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = ctx.agent.shutdown.cancelled() => return,
        }
        check_alerts(&ctx, &state).await;
        wait = ALERT_CHECK;
    }
}

async fn check_alerts(ctx: &Ctx, state: &Mutex<State>) {
    let cfg = ctx.agent.cfg.clone();
    let t = ctx.texts;
    let now = Instant::now();
    let mut texts = Vec::new();
    if let Some(d) = &ctx.agent.sampler.snapshot().backup_disk {
        let free = 100.0 - d.percent;
        if free < f64::from(cfg.min_free_percent)
            && state.lock().expect("notify lock").alert_due("disk", now)
        {
            texts.push((t.alert_low_disk)(
                &d.path.display().to_string(),
                free,
                cfg.min_free_percent,
            ));
        }
    }
    let backups = ctx.agent.backups.get();
    let now_unix = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
    let since = now_unix - ctx.agent.started.elapsed().as_secs_f64();
    for b in &backups.bases {
        let Some(age) = stale_for(&cfg, b, since, now_unix) else {
            continue;
        };
        if state
            .lock()
            .expect("notify lock")
            .alert_due(&format!("stale:{}", b.name), now)
        {
            texts.push((t.alert_stale)(
                &b.name,
                &t.units.duration(age),
                cfg.max_age_hours,
            ));
        }
    }
    for b in &backups.bases {
        let stale = drill_stale_for(&cfg, b, since, now_unix);
        if state
            .lock()
            .expect("notify lock")
            .drill_alert_due(&b.name, stale.is_some())
        {
            texts.push((t.alert_drill_stale)(
                &b.name,
                &t.units.duration(stale.unwrap_or_default()),
                cfg.drill_max_age_days,
            ));
        }
    }
    for text in texts {
        broadcast(ctx, &text, None).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_repeats_at_most_hourly() {
        let mut s = State::default();
        let t0 = Instant::now();
        assert!(s.alert_due("disk", t0));
        assert!(!s.alert_due("disk", t0 + Duration::from_secs(1800)));
        assert!(s.alert_due("stale:buh", t0));
        assert!(s.alert_due("disk", t0 + Duration::from_secs(3601)));
    }

    #[test]
    fn overdue_drills_are_told_once_each_time_they_become_so() {
        let mut s = State::default();
        assert!(!s.drill_alert_due("buh", false));
        assert!(s.drill_alert_due("buh", true));
        assert!(!s.drill_alert_due("buh", true), "not every tick");
        assert!(s.drill_alert_due("zup", true), "bases are separate");
        assert!(!s.drill_alert_due("buh", false));
        assert!(s.drill_alert_due("buh", true), "overdue again");
    }
}
