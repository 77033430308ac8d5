//! `/backup [base]`: a Да/Нет confirmation, then the run starts in the
//! background (`agent.jobs`, its own thread) and one message is edited as
//! the stages pass — at most one edit per [`EDIT_EVERY`] to stay inside
//! Telegram's limits — ending with size, duration and path, or the failure
//! in plain words with the key lines of the 1C log.

use super::{Ctx, api, views};
use crate::backup::history::{Run, Status, Trigger};
use crate::backup::jobs::{Finished, JobEvent, StartError};
use crate::backup::run::Stage;
use crate::text::{Texts, esc};
use std::sync::Arc;
use std::time::{Duration, Instant};
use teloxide::prelude::*;
use teloxide::types::{
    CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, MessageId, ParseMode,
};
use tokio::sync::broadcast::error::RecvError;

/// Minimum pause between two edits of the progress message.
pub const EDIT_EVERY: Duration = Duration::from_secs(2);

/// How long a Да/Нет confirmation stays valid: an old button pressed by
/// mistake (or after the configuration changed the order of bases) must
/// not start a backup.
pub const CONFIRM_TTL_SECS: i64 = 600;

/// Callback data: `bk:y:<index of the base>:<unix seconds when asked>`
/// (`n` for No); 64 bytes at most by Telegram's rules.
fn callback_data(yes: bool, idx: usize, asked: i64) -> String {
    format!("bk:{}:{idx}:{asked}", if yes { "y" } else { "n" })
}

/// A pressed button, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Press {
    yes: bool,
    idx: usize,
    /// When the question was asked; None for buttons of older versions.
    asked: Option<i64>,
}

impl Press {
    /// Whether the confirmation is too old to act on at `now` (unix s).
    fn expired(&self, now: i64) -> bool {
        self.asked
            .is_none_or(|a| now - a > CONFIRM_TTL_SECS || a > now + 60)
    }
}

fn parse_callback(data: &str) -> Option<Press> {
    let mut parts = data.strip_prefix("bk:")?.split(':');
    let yes = match parts.next()? {
        "y" => true,
        "n" => false,
        _ => return None,
    };
    let idx = parts.next()?.parse().ok()?;
    let asked = match parts.next() {
        Some(t) => Some(t.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(Press { yes, idx, asked })
}

fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Ask for confirmation (or say why not).
pub async fn ask(ctx: &Ctx, chat: ChatId, arg: &str) -> anyhow::Result<()> {
    let t = ctx.texts;
    let base = match views::pick_base(ctx, arg) {
        Ok(b) => b,
        Err(reply) => {
            api::send_html(ctx, chat, &reply).await;
            return Ok(());
        }
    };
    if let Some(r) = ctx
        .agent
        .jobs
        .running()
        .into_iter()
        .find(|r| r.base == base.name)
    {
        api::send_html(
            ctx,
            chat,
            &(t.already_running)(&r.base, (t.stage)(r.stage.as_str())),
        )
        .await;
        return Ok(());
    }
    let idx = ctx
        .agent
        .cfg
        .bases
        .iter()
        .position(|b| b.name == base.name)
        .unwrap_or(0);
    let asked = now_unix();
    let keyboard = InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback(t.yes, callback_data(true, idx, asked)),
        InlineKeyboardButton::callback(t.no, callback_data(false, idx, asked)),
    ]]);
    let req = ctx
        .bot
        .send_message(chat, (t.confirm)(&base.name))
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard);
    api::call(ctx, req).await?;
    Ok(())
}

/// Edit message `id` to `text`; a text longer than one message continues
/// in new messages.
pub(super) async fn edit(ctx: &Ctx, chat: ChatId, id: MessageId, text: &str) {
    edit_with(ctx, chat, id, text, None).await;
}

/// [`edit`] with buttons under the message.
async fn edit_with(
    ctx: &Ctx,
    chat: ChatId,
    id: MessageId,
    text: &str,
    buttons: Option<InlineKeyboardMarkup>,
) {
    let mut parts = super::format::split(text, super::format::MAX_MESSAGE_CHARS).into_iter();
    let first = parts.next().unwrap_or_default();
    let mut req = ctx
        .bot
        .edit_message_text(chat, id, first)
        .parse_mode(ParseMode::Html);
    if let Some(b) = buttons {
        req = req.reply_markup(b);
    }
    match api::call(ctx, req).await {
        Ok(_) | Err(teloxide::RequestError::Api(teloxide::ApiError::MessageNotModified)) => {}
        Err(e) => tracing::warn!("cannot edit the progress message: {}", ctx.describe(&e)),
    }
    for rest in parts {
        api::send_html(ctx, chat, &rest).await;
    }
}

/// A press on Да/Нет, or on a button under a failure (`rt:`, [`super::retry`]).
pub async fn on_callback(ctx: Arc<Ctx>, q: CallbackQuery) -> anyhow::Result<()> {
    let _ = api::call(&ctx, ctx.bot.answer_callback_query(q.id.clone())).await;
    let t = ctx.texts;
    let (Some(data), Some(msg)) = (q.data.as_deref(), q.message.as_ref()) else {
        return Ok(());
    };
    let (chat, msg_id) = (msg.chat().id, msg.id());
    if data.starts_with("rt:") {
        let data = data.to_string();
        return super::retry::on_callback(ctx, q, &data).await;
    }
    let Some(press) = parse_callback(data) else {
        return Ok(());
    };
    let Some(base) = ctx.agent.cfg.bases.get(press.idx).map(|b| b.name.clone()) else {
        edit(&ctx, chat, msg_id, t.confirm_expired).await;
        return Ok(());
    };
    if press.yes && press.expired(now_unix()) {
        edit(&ctx, chat, msg_id, t.confirm_expired).await;
        return Ok(());
    }
    if !press.yes {
        edit(&ctx, chat, msg_id, &(t.cancelled)(&base)).await;
        return Ok(());
    }
    tracing::info!(
        user_id = q.from.id.0,
        base = %base,
        "backup requested from Telegram"
    );
    let rx = ctx.agent.jobs.subscribe();
    ctx.requesters
        .lock()
        .expect("requesters lock")
        .insert(base.clone(), chat);
    let started = ctx
        .agent
        .jobs
        .start(Some(&base), Trigger::Telegram, false)
        .await;
    match started {
        Ok(_) => {
            edit(&ctx, chat, msg_id, &progress_text(t, &base, &[], None)).await;
            tokio::spawn(follow(ctx.clone(), chat, msg_id, base, rx));
        }
        Err(StartError::AlreadyRunning(r)) => {
            edit(
                &ctx,
                chat,
                msg_id,
                &(t.already_running)(&r.base, (t.stage)(r.stage.as_str())),
            )
            .await;
        }
        Err(StartError::NoSuchBase(n)) => {
            edit(&ctx, chat, msg_id, &(t.no_such_base)(&n, "")).await;
        }
        Err(StartError::ShuttingDown) => edit(&ctx, chat, msg_id, t.shutting_down).await,
    }
    Ok(())
}

/// The progress message: the stages passed, the current one with percent.
pub fn progress_text(t: &Texts, base: &str, stages: &[Stage], percent: Option<f64>) -> String {
    let mut out = (t.progress_title)(base);
    for (i, s) in stages.iter().enumerate() {
        let last = i + 1 == stages.len();
        let mark = if last { "▶️" } else { "✔️" };
        out.push_str(&format!("\n{mark} {}", (t.stage)(s.as_str())));
        if last && let Some(p) = percent {
            out.push_str(&format!(" {p:.0} %"));
        }
    }
    out
}

/// Follow the run of `base` through its events, editing the message.
pub(super) async fn follow(
    ctx: Arc<Ctx>,
    chat: ChatId,
    msg: MessageId,
    base: String,
    mut rx: tokio::sync::broadcast::Receiver<JobEvent>,
) {
    let t = ctx.texts;
    let mut stages: Vec<Stage> = Vec::new();
    let mut percent: Option<f64> = None;
    let mut last_edit = Instant::now();
    let mut dirty = false;
    loop {
        let wait = EDIT_EVERY.saturating_sub(last_edit.elapsed());
        let ev = if dirty {
            tokio::select! {
                e = rx.recv() => Some(e),
                _ = tokio::time::sleep(wait) => None,
            }
        } else {
            Some(rx.recv().await)
        };
        match ev {
            None => {}
            Some(Err(RecvError::Lagged(_))) => continue,
            Some(Err(RecvError::Closed)) => return,
            Some(Ok(e)) => match e {
                JobEvent::Stage { base: b, stage, .. } if b == base => {
                    if stages.last() != Some(&stage) {
                        stages.push(stage);
                    }
                    percent = None;
                    dirty = true;
                }
                JobEvent::Progress {
                    base: b,
                    done,
                    total,
                } if b == base && total > 0 && stages.last() == Some(&Stage::Packing) => {
                    percent = Some(done as f64 * 100.0 / total as f64);
                    dirty = true;
                }
                JobEvent::Finished {
                    base: b, result, ..
                } if b == base => {
                    let wait = EDIT_EVERY.saturating_sub(last_edit.elapsed());
                    tokio::time::sleep(wait).await;
                    let buttons = super::retry::buttons_for(&ctx, &result);
                    edit_with(&ctx, chat, msg, &finished_text(t, &base, &result), buttons).await;
                    return;
                }
                _ => {}
            },
        }
        if dirty && last_edit.elapsed() >= EDIT_EVERY {
            edit(&ctx, chat, msg, &progress_text(t, &base, &stages, percent)).await;
            last_edit = Instant::now();
            dirty = false;
        }
    }
}

fn log_block(t: &Texts, lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let body: Vec<String> = lines
        .iter()
        .take(15)
        .map(|l| esc(&super::format::clip(l, 300)))
        .collect();
    format!("\n\n{}\n<pre>{}</pre>", t.log_lines, body.join("\n"))
}

/// The final text of a run that ended in this process.
pub fn finished_text(t: &Texts, base: &str, result: &Finished) -> String {
    match result {
        Finished::Done(o) if o.status == Status::Ok => {
            let done = (t.done)(
                base,
                &o.archive_size.map(|n| t.units.bytes(n)).unwrap_or_default(),
                &t.units.duration(o.duration_secs),
                &o.archive
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            match &o.users_note {
                Some(n) => format!("{done}{}", (t.users_note)(n)),
                None => done,
            }
        }
        Finished::Done(o) => (t.skipped)(base, o.reason.as_deref().unwrap_or("")),
        Finished::Failed(f) => {
            let reason = match f.explanation {
                Some(x) => x.words(t),
                None => &f.message,
            };
            // The explanation alone would hide who was inside and what the
            // policy did (a base left locked above all).
            let users: String = [&f.users_note, &f.users_inside]
                .into_iter()
                .flatten()
                .map(|n| (t.users_note)(n))
                .collect();
            format!(
                "{}{users}{}",
                (t.failed)(base, reason),
                log_block(t, &f.log_excerpt)
            )
        }
        Finished::Interrupted(_) => (t.interrupted)(base),
        Finished::Setup(s) => (t.setup_failed)(s),
    }
}

/// The notice for a run read back from the history (another process).
pub fn run_text(t: &Texts, r: &Run) -> String {
    let dur = t.units.duration(r.duration_ms.unwrap_or(0) as f64 / 1000.0);
    let head = match r.status {
        Status::Ok => (t.done)(
            &r.base,
            &r.archive_size.map(|n| t.units.bytes(n)).unwrap_or_default(),
            &dur,
            &r.archive_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        Status::Skipped => (t.skipped)(&r.base, r.error.as_deref().unwrap_or("")),
        Status::Interrupted => (t.interrupted)(&r.base),
        Status::Failed | Status::Running => (t.failed)(&r.base, r.error.as_deref().unwrap_or("")),
    };
    format!("{head}\n<i>{}</i>", esc(r.trigger.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::run::FailedRun;

    #[test]
    fn callback_data_round_trips_and_fits() {
        let d = callback_data(true, 12, i64::MAX);
        assert!(d.len() <= 64, "{d}");
        let p = parse_callback(&d).unwrap();
        assert_eq!((p.yes, p.idx, p.asked), (true, 12, Some(i64::MAX)));
        let p = parse_callback(&callback_data(false, 0, 5)).unwrap();
        assert_eq!((p.yes, p.idx, p.asked), (false, 0, Some(5)));
        for bad in ["zz", "bk:x:1:2", "bk:y:one:2", "bk:y:1:soon", "bk:y:1:2:3"] {
            assert_eq!(parse_callback(bad), None, "{bad}");
        }
    }

    #[test]
    fn confirmations_expire_after_ten_minutes() {
        let asked = 1_000_000;
        let p = parse_callback(&callback_data(true, 0, asked)).unwrap();
        assert!(!p.expired(asked));
        assert!(!p.expired(asked + CONFIRM_TTL_SECS));
        assert!(p.expired(asked + CONFIRM_TTL_SECS + 1));
        // A clock far behind the button is not trusted either.
        assert!(p.expired(asked - 3600));
        // Buttons of older versions carry no time: expired.
        assert!(parse_callback("bk:y:0").unwrap().expired(asked));
    }

    #[test]
    fn failure_text_explains_and_escapes_the_log() {
        let f = FailedRun {
            record: Run::example(1, "<b&>", Status::Failed),
            run_id: 1,
            base: "<b&>".into(),
            message: "designer failed".into(),
            explanation: Some(crate::onec::Explanation::UsersConnected),
            log_excerpt: vec!["Ошибка <монопольного> режима".into()],
            log_path: None,
            users_inside: None,
            users_note: None,
        };
        let s = finished_text(&crate::text::EN, "<b&>", &Finished::Failed(Arc::new(f)));
        assert!(s.contains("&lt;b&amp;&gt;"), "{s}");
        assert!(s.contains("users are still connected"), "{s}");
        assert!(
            s.contains("<pre>Ошибка &lt;монопольного&gt; режима</pre>"),
            "{s}"
        );
    }

    #[test]
    fn failure_is_explained_in_the_bot_language() {
        let f = Arc::new(FailedRun {
            record: Run::example(1, "buh", Status::Failed),
            run_id: 1,
            base: "buh".into(),
            message: "1C dump failed (exit code 1)".into(),
            explanation: Some(crate::onec::Explanation::WrongCredentials),
            log_excerpt: vec![],
            log_path: None,
            users_inside: None,
            users_note: None,
        });
        let ru = finished_text(&crate::text::RU, "buh", &Finished::Failed(f.clone()));
        assert!(ru.contains("неверный пользователь или пароль"), "{ru}");
        let en = finished_text(&crate::text::EN, "buh", &Finished::Failed(f));
        assert!(
            en.contains("the infobase user or password is wrong"),
            "{en}"
        );
    }

    #[test]
    fn progress_marks_the_current_stage() {
        let s = progress_text(
            &crate::text::RU,
            "buh",
            &[Stage::Dumping, Stage::Packing],
            Some(43.2),
        );
        assert!(s.contains("✔️ выгрузка 1С"), "{s}");
        assert!(s.contains("▶️ упаковка 43 %"), "{s}");
    }
}
