//! Notifications to `NOTIFY_CHAT_IDS` (default: every allowed user): every
//! finished backup, whatever started it, and alerts (low space on the
//! backup disk, a base without a good backup for too long), each alert at
//! most once per [`ALERT_EVERY`].
//!
//! Runs of this process arrive as job events (with the 1C explanation);
//! runs of other processes (`onec-backup-bot backup` from a console or a
//! task scheduler) are found by polling the history every
//! [`HISTORY_POLL`] for finished rows of other pids. Both paths dedupe by
//! run id. The staleness alert applies once a base has had at least one
//! good backup (there is no schedule setting yet to say when one is due).

use super::backup::{finished_text, run_text};
use super::format::duration;
use super::{Ctx, api};
use crate::backup::history::Trigger;
use crate::backup::jobs::{Finished, JobEvent};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use teloxide::types::ChatId;
use tokio::sync::broadcast::error::RecvError;

/// How often the history is read for runs of other processes.
pub const HISTORY_POLL: Duration = Duration::from_secs(30);
/// The same alert is sent at most this often.
pub const ALERT_EVERY: Duration = Duration::from_secs(3600);

/// Which runs were announced, and when each alert was last sent.
#[derive(Default)]
struct State {
    seen: HashSet<i64>,
    alerts: HashMap<String, Instant>,
}

impl State {
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
            api::send_html(ctx, chat, text).await;
        }
    }
}

fn run_id(result: &Finished) -> Option<i64> {
    match result {
        Finished::Done(o) => Some(o.run_id),
        Finished::Failed(f) => Some(f.run_id),
        Finished::Interrupted { run_id } => Some(*run_id),
        Finished::Setup(_) => None,
    }
}

/// Run the notifier until `agent.shutdown`. Runs of other processes with
/// ids above `start_id` (the newest run when the bot started) are announced.
pub async fn run(ctx: Arc<Ctx>, start_id: i64) {
    let state = Arc::new(Mutex::new(State::default()));
    tokio::join!(
        events(ctx.clone(), state.clone()),
        poll(ctx.clone(), state, start_id)
    );
}

async fn events(ctx: Arc<Ctx>, state: Arc<Mutex<State>>) {
    let mut rx = ctx.agent.jobs.subscribe();
    loop {
        let ev = tokio::select! {
            e = rx.recv() => e,
            _ = ctx.agent.shutdown.cancelled() => return,
        };
        let (base, trigger, result) = match ev {
            Ok(JobEvent::Finished {
                base,
                trigger,
                result,
            }) => (base, trigger, result),
            Ok(_) | Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        if let Some(id) = run_id(&result)
            && !state.lock().expect("notify lock").seen.insert(id)
        {
            continue;
        }
        // Whoever pressed "Yes" sees the result in the progress message.
        let except = (trigger == Trigger::Telegram)
            .then(|| {
                ctx.requesters
                    .lock()
                    .expect("requesters lock")
                    .get(&base)
                    .copied()
            })
            .flatten();
        let text = finished_text(ctx.texts, &base, &result);
        broadcast(
            &ctx,
            &format!("{text}\n<i>{}</i>", trigger.as_str()),
            except,
        )
        .await;
    }
}

async fn poll(ctx: Arc<Ctx>, state: Arc<Mutex<State>>, start_id: i64) {
    let me = std::process::id();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(HISTORY_POLL) => {}
            _ = ctx.agent.shutdown.cancelled() => return,
        }
        match ctx.history(move |h| h.finished_since(start_id)).await {
            Ok(runs) => {
                for r in runs.into_iter().filter(|r| r.pid != me) {
                    if state.lock().expect("notify lock").seen.insert(r.id) {
                        broadcast(&ctx, &run_text(ctx.texts, &r), None).await;
                    }
                }
            }
            Err(e) => tracing::warn!("notifications: cannot read the history: {e}"),
        }
        check_alerts(&ctx, &state).await;
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
    let names: Vec<String> = cfg.bases.iter().map(|b| b.name.clone()).collect();
    let last = ctx
        .history(move |h| {
            names
                .into_iter()
                .map(|n| Ok((n.clone(), h.last_success(&n)?)))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .unwrap_or_default();
    let max = f64::from(cfg.max_age_hours) * 3600.0;
    for (base, run) in last {
        let Some(r) = run else { continue };
        let at = r.finished.unwrap_or(r.started);
        let age = jiff::Timestamp::now().duration_since(at).as_secs_f64();
        if age > max
            && state
                .lock()
                .expect("notify lock")
                .alert_due(&format!("stale:{base}"), now)
        {
            texts.push((t.alert_stale)(&base, &duration(age), cfg.max_age_hours));
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
}
