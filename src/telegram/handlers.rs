//! The handler tree. Access control is its own branches, before any
//! command: the bot answers in private chats and in the group chats listed
//! in `TELEGRAM_ALLOWED_CHAT_IDS`; a message in any other group is ignored
//! (one info line, no answer). Where the bot answers, updates from allowed
//! users reach the command endpoints (plain text gets the help); everything
//! else falls into the "denied" branch, which answers a stranger in a
//! private chat once per ten minutes with their id, refuses a stranger's
//! button press in a few words, logs the attempt (id, username, command
//! name — never the message text) and runs nothing.

use super::commands::Command;
use super::{Ctx, api, backup, chart, views};
use std::sync::Arc;
use teloxide::dispatching::{HandlerExt, UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, Chat, Me, User};

/// The tree, as a value (tests and the poller share it).
pub fn schema() -> UpdateHandler<anyhow::Error> {
    let messages = Update::filter_message()
        .branch(dptree::filter(chat_not_listed).endpoint(ignore_chat))
        .branch(
            dptree::filter(message_allowed)
                .branch(
                    dptree::entry()
                        .filter_command::<Command>()
                        .endpoint(on_command),
                )
                .branch(dptree::filter(is_command).endpoint(on_unknown))
                .branch(dptree::endpoint(on_text)),
        )
        .branch(dptree::endpoint(deny_message));
    let callbacks = Update::filter_callback_query()
        .branch(dptree::filter(callback_allowed).endpoint(backup::on_callback))
        .branch(dptree::endpoint(deny_callback));
    dptree::entry().branch(messages).branch(callbacks)
}

/// Whether the bot may answer in `chat`: every private chat, and the
/// groups in `listed` (`TELEGRAM_ALLOWED_CHAT_IDS`).
pub fn chat_admitted(private: bool, chat: i64, listed: &[i64]) -> bool {
    private || listed.contains(&chat)
}

fn admitted(ctx: &Ctx, chat: &Chat) -> bool {
    chat_admitted(
        chat.is_private(),
        chat.id.0,
        &ctx.agent.cfg.telegram.allowed_chat_ids,
    )
}

fn chat_not_listed(ctx: Arc<Ctx>, msg: Message) -> bool {
    !admitted(&ctx, &msg.chat)
}

fn message_allowed(ctx: Arc<Ctx>, msg: Message) -> bool {
    msg.from.as_ref().is_some_and(|u| ctx.allowed(u.id))
}

/// Only allowed users press buttons, and only where the bot answers.
fn callback_allowed(ctx: Arc<Ctx>, q: CallbackQuery) -> bool {
    ctx.allowed(q.from.id) && q.message.as_ref().is_none_or(|m| admitted(&ctx, m.chat()))
}

fn is_command(msg: Message) -> bool {
    msg.text().is_some_and(|t| t.starts_with('/'))
}

/// The command name of a message (`/backup`), or `(text)` for anything
/// else: the content itself is never logged.
fn command_name(msg: &Message) -> String {
    match msg.text() {
        Some(t) if t.starts_with('/') => t
            .split_whitespace()
            .next()
            .unwrap_or("/")
            .chars()
            .take(40)
            .collect(),
        Some(_) => "(text)".into(),
        None => "(non-text message)".into(),
    }
}

fn log_denied(user: Option<&User>, what: &str) {
    let (id, name) = user
        .map(|u| (u.id.0, u.username.clone().unwrap_or_default()))
        .unwrap_or((0, String::new()));
    tracing::warn!(
        user_id = id,
        username = %name,
        command = %what,
        "Telegram access denied (the user is not in ALLOWED_USER_IDS)"
    );
}

async fn deny_message(ctx: Arc<Ctx>, msg: Message) -> anyhow::Result<()> {
    let private = msg.chat.is_private();
    // In groups only commands are worth a log line; other chatter is not ours.
    if !private && !is_command(msg.clone()) {
        return Ok(());
    }
    log_denied(msg.from.as_ref(), &command_name(&msg));
    if let Some(u) = &msg.from
        && private
        && ctx.should_tell_denied(u.id)
    {
        api::send_html(&ctx, msg.chat.id, &(ctx.texts.denied)(u.id.0)).await;
    }
    Ok(())
}

async fn deny_callback(ctx: Arc<Ctx>, q: CallbackQuery) -> anyhow::Result<()> {
    log_denied(Some(&q.from), "(button)");
    let req = ctx
        .bot
        .answer_callback_query(q.id.clone())
        .text(ctx.texts.button_denied);
    let _ = api::call(&ctx, req).await;
    Ok(())
}

/// A message in a group not in `TELEGRAM_ALLOWED_CHAT_IDS`: one info line
/// (chat, sender, command name), no answer.
async fn ignore_chat(msg: Message) -> anyhow::Result<()> {
    tracing::info!(
        chat_id = msg.chat.id.0,
        user_id = msg.from.as_ref().map(|u| u.id.0).unwrap_or(0),
        command = %command_name(&msg),
        "Telegram message ignored: the chat is not in TELEGRAM_ALLOWED_CHAT_IDS"
    );
    Ok(())
}

/// Plain text (or anything not a command) from an allowed user: the help,
/// in a private chat; group chatter is not ours.
async fn on_text(ctx: Arc<Ctx>, msg: Message) -> anyhow::Result<()> {
    if msg.chat.is_private() {
        api::send_html(&ctx, msg.chat.id, ctx.texts.help).await;
    }
    Ok(())
}

async fn on_unknown(ctx: Arc<Ctx>, msg: Message) -> anyhow::Result<()> {
    if msg.chat.is_private() {
        api::send_html(&ctx, msg.chat.id, ctx.texts.unknown_command).await;
    }
    Ok(())
}

async fn on_command(ctx: Arc<Ctx>, msg: Message, cmd: Command, _me: Me) -> anyhow::Result<()> {
    let chat = msg.chat.id;
    let t = ctx.texts;
    let result = match cmd {
        Command::Start | Command::Help => {
            api::send_html(&ctx, chat, t.help).await;
            Ok(())
        }
        Command::Backup(arg) => backup::ask(&ctx, chat, arg.trim()).await,
        Command::Status => views::status(&ctx, chat).await,
        Command::Health => views::health(&ctx, chat).await,
        Command::Lastlog => views::lastlog(&ctx, chat).await,
        Command::List(arg) => views::list(&ctx, chat, arg.trim()).await,
        Command::Disk => views::disk(&ctx, chat).await,
        Command::Top => views::top(&ctx, chat).await,
        Command::Sessions => views::sessions(&ctx, chat).await,
        Command::Bases => views::bases(&ctx, chat).await,
        Command::Schedule => views::schedule(&ctx, chat).await,
        Command::Chart(arg) => chart::command(&ctx, chat, arg.trim()).await,
        Command::Drill(arg) => super::drill::command(&ctx, chat, arg.trim()).await,
        Command::Users => super::users::command(&ctx, chat).await,
    };
    if let Err(e) = result {
        tracing::warn!("Telegram command failed: {}", ctx.describe(&e));
        api::send_html(&ctx, chat, &(t.command_failed)(&ctx.describe(&e))).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_chats_and_listed_groups_only() {
        let listed = [-100_500];
        assert!(chat_admitted(true, 111, &[]));
        assert!(chat_admitted(true, 111, &listed));
        assert!(chat_admitted(false, -100_500, &listed));
        assert!(!chat_admitted(false, -100_600, &listed));
        assert!(!chat_admitted(false, -100_500, &[]));
    }
}
