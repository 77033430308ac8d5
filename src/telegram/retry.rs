//! The buttons under a failure caused by users inside: «Повторить» starts
//! the backup again as configured; «Закрыть сеансы и повторить» asks
//! first, then starts it with the users-inside policy `lock` when the base
//! has a lock code, else `close`. Only allowed users reach this (the
//! handler tree refuses strangers' presses); the run is followed in the
//! message like a `/backup`.

use super::backup::{edit, follow, progress_text};
use super::{Ctx, api};
use crate::backup::history::{Run, Status, Trigger};
use crate::backup::jobs::{Finished, StartError, StartOptions};
use crate::config::UsersPolicy;
use crate::text::Texts;
use std::sync::Arc;
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, ParseMode};

/// How long the buttons of a failure notice stay valid (a night's failure
/// is read in the morning).
pub const NOTICE_TTL_SECS: i64 = 24 * 3600;

/// A press: `rt:<what>:<base index>:<unix seconds when shown>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum What {
    /// «Повторить».
    Retry,
    /// «Закрыть сеансы и повторить» (asks).
    AskClose,
    /// Да under the question.
    Close,
    /// Нет under the question.
    Keep,
}

impl What {
    fn code(self) -> &'static str {
        match self {
            What::Retry => "r",
            What::AskClose => "c",
            What::Close => "y",
            What::Keep => "n",
        }
    }
}

pub(super) fn data(what: What, idx: usize, at: i64) -> String {
    format!("rt:{}:{idx}:{at}", what.code())
}

pub(super) fn parse(data: &str) -> Option<(What, usize, i64)> {
    let mut p = data.strip_prefix("rt:")?.split(':');
    let what = match p.next()? {
        "r" => What::Retry,
        "c" => What::AskClose,
        "y" => What::Close,
        "n" => What::Keep,
        _ => return None,
    };
    let idx = p.next()?.parse().ok()?;
    let at = p.next()?.parse().ok()?;
    p.next().is_none().then_some((what, idx, at))
}

/// Whether a press of `what` shown at `at` is too old at `now`.
fn expired(what: What, at: i64, now: i64) -> bool {
    let ttl = match what {
        What::Retry | What::AskClose => NOTICE_TTL_SECS,
        What::Close | What::Keep => super::backup::CONFIRM_TTL_SECS,
    };
    now - at > ttl || at > now + 60
}

/// The two buttons under a failure caused by users inside.
pub fn buttons(t: &Texts, idx: usize, now: i64) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([
        vec![InlineKeyboardButton::callback(
            t.retry,
            data(What::Retry, idx, now),
        )],
        vec![InlineKeyboardButton::callback(
            t.close_and_retry,
            data(What::AskClose, idx, now),
        )],
    ])
}

/// Whether users inside caused the failure of `run` (its policy outcome
/// names who was inside at the failure): for runs of this process and of
/// others alike.
pub fn users_caused(run: &Run) -> bool {
    run.status == Status::Failed
        && run
            .policy_outcome
            .as_deref()
            .and_then(|o| serde_json::from_str::<serde_json::Value>(o).ok())
            .is_some_and(|v| v["inside_at_failure"].is_string())
}

/// The buttons for a finished run, when users inside caused its failure.
pub fn buttons_for_run(ctx: &Ctx, run: &Run) -> Option<InlineKeyboardMarkup> {
    if !users_caused(run) {
        return None;
    }
    let idx = ctx
        .agent
        .cfg
        .bases
        .iter()
        .position(|b| b.name == run.base)?;
    Some(buttons(ctx.texts, idx, jiff::Timestamp::now().as_second()))
}

/// [`buttons_for_run`] for a run of this process that ended as `result`.
pub fn buttons_for(ctx: &Ctx, result: &Finished) -> Option<InlineKeyboardMarkup> {
    buttons_for_run(ctx, result.record()?)
}

/// The policy «Закрыть сеансы» uses for a base: `lock` with a lock code.
pub fn close_policy(has_lock_code: bool) -> UsersPolicy {
    if has_lock_code {
        UsersPolicy::Lock
    } else {
        UsersPolicy::Close
    }
}

/// A press on one of the buttons (the caller checked the prefix).
pub async fn on_callback(ctx: Arc<Ctx>, q: CallbackQuery, raw: &str) -> anyhow::Result<()> {
    let t = ctx.texts;
    let Some(msg) = q.message.as_ref() else {
        return Ok(());
    };
    let (chat, msg_id) = (msg.chat().id, msg.id());
    let Some((what, idx, at)) = parse(raw) else {
        return Ok(());
    };
    let Some(base) = ctx.agent.cfg.bases.get(idx).cloned() else {
        api::send_html(&ctx, chat, t.retry_expired).await;
        return Ok(());
    };
    let now = jiff::Timestamp::now().as_second();
    if expired(what, at, now) {
        api::send_html(&ctx, chat, t.retry_expired).await;
        return Ok(());
    }
    let policy = match what {
        What::Keep => {
            edit(&ctx, chat, msg_id, &(t.cancelled)(&base.name)).await;
            return Ok(());
        }
        What::AskClose => {
            let policy = close_policy(base.lock_code.is_some());
            let how = if policy == UsersPolicy::Lock {
                t.how_lock
            } else {
                t.how_close
            };
            let keyboard = InlineKeyboardMarkup::new([[
                InlineKeyboardButton::callback(t.yes, data(What::Close, idx, now)),
                InlineKeyboardButton::callback(t.no, data(What::Keep, idx, now)),
            ]]);
            let req = ctx
                .bot
                .send_message(chat, (t.close_confirm)(&base.name, how))
                .parse_mode(ParseMode::Html)
                .reply_markup(keyboard);
            api::call(&ctx, req).await?;
            return Ok(());
        }
        What::Retry => None,
        What::Close => Some(close_policy(base.lock_code.is_some())),
    };
    tracing::info!(
        user_id = q.from.id.0,
        base = %base.name,
        policy = policy.map(|p| p.as_str()).unwrap_or("as configured"),
        "backup retry requested from Telegram"
    );
    // The progress goes into a new message for a retry (the notice stays),
    // into the question for a confirmed close.
    let progress = match what {
        What::Retry => {
            let req = ctx
                .bot
                .send_message(chat, progress_text(t, &base.name, &[], None))
                .parse_mode(ParseMode::Html);
            api::call(&ctx, req).await?.id
        }
        _ => msg_id,
    };
    let rx = ctx.agent.jobs.subscribe();
    ctx.requesters
        .lock()
        .expect("requesters lock")
        .insert(base.name.clone(), chat);
    let opts = StartOptions {
        force: true,
        users_policy: policy,
    };
    let started = ctx
        .agent
        .jobs
        .start_with(Some(&base.name), Trigger::Telegram, opts)
        .await;
    match started {
        Ok(_) => {
            edit(
                &ctx,
                chat,
                progress,
                &progress_text(t, &base.name, &[], None),
            )
            .await;
            tokio::spawn(follow(ctx.clone(), chat, progress, base.name.clone(), rx));
        }
        Err(StartError::AlreadyRunning(r)) => {
            let text = (t.already_running)(&r.base, (t.stage)(r.stage.as_str()));
            edit(&ctx, chat, progress, &text).await;
        }
        Err(StartError::NoSuchBase(n)) => {
            edit(&ctx, chat, progress, &(t.no_such_base)(&n, "")).await;
        }
        Err(StartError::ShuttingDown) => edit(&ctx, chat, progress, t.shutting_down).await,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_data_round_trips_fits_and_expires() {
        for what in [What::Retry, What::AskClose, What::Close, What::Keep] {
            let d = data(what, 12, i64::MAX);
            assert!(d.len() <= 64, "{d}");
            assert_eq!(parse(&d), Some((what, 12, i64::MAX)));
        }
        for bad in ["bk:y:1:2", "rt:x:1:2", "rt:r:one:2", "rt:r:1", "rt:r:1:2:3"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let at = 1_000_000;
        assert!(!expired(What::Retry, at, at + 3600 * 23));
        assert!(expired(What::Retry, at, at + NOTICE_TTL_SECS + 1));
        assert!(expired(What::Close, at, at + 601));
        assert!(!expired(What::Close, at, at + 600));
        assert_eq!(close_policy(true), UsersPolicy::Lock);
        let mut run = Run::example(1, "buh", Status::Failed);
        assert!(!users_caused(&run));
        run.policy_outcome = Some(r#"{"policy":"fail","inside_at_failure":"inside: ivan"}"#.into());
        assert!(users_caused(&run));
        run.status = Status::Ok;
        assert!(!users_caused(&run));
        assert_eq!(close_policy(false), UsersPolicy::Close);
    }

    #[test]
    fn both_buttons_in_both_languages() {
        let kb = buttons(&crate::text::RU, 0, 5);
        let texts: Vec<&str> = kb
            .inline_keyboard
            .iter()
            .flatten()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(texts, ["🔁 Повторить", "⛔ Закрыть сеансы и повторить"]);
        let en = (crate::text::EN.close_confirm)("<b>", crate::text::EN.how_close);
        assert!(en.contains("&lt;b&gt;") && en.contains("ended"), "{en}");
    }
}
