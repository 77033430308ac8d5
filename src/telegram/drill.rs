//! `/drill [base]`: a restore drill of the base's newest good archive
//! (local or an offsite copy, by the base's `drill_from`), started from
//! the chat. The answer comes at once ("started", naming the source); the
//! result is the drill's notice, sent to the notify chats by the feed of
//! finished drills, and to this chat too when it is not one of them. A
//! drill from the chat never waits for a running backup of the base: it
//! is skipped, and says so.

use super::notify::drill_notice;
use super::{Ctx, api, views};
use crate::backup::history::Trigger;
use std::sync::Arc;
use std::time::Duration;
use teloxide::types::ChatId;

pub async fn command(ctx: &Arc<Ctx>, chat: ChatId, arg: &str) -> anyhow::Result<()> {
    let base = match views::pick_base(ctx, arg) {
        Ok(b) => b.name.clone(),
        Err(reply) => {
            api::send_html(ctx, chat, &reply).await;
            return Ok(());
        }
    };
    let source = ctx.agent.next_drill_source(&base).await;
    api::send_html(ctx, chat, &(ctx.texts.drill_started)(&base, &source)).await;
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let reply = match ctx
            .agent
            .drill(&base, Trigger::Telegram, Duration::ZERO)
            .await
        {
            None => return,
            Some(Ok(d)) if ctx.notify_chats().contains(&chat) => {
                tracing::debug!(base = %d.base, "drill result goes out as a notice");
                return;
            }
            Some(Ok(d)) => drill_notice(&ctx, &d),
            Some(Err(e)) => (ctx.texts.command_failed)(&ctx.describe(&e)),
        };
        api::send_html(&ctx, chat, &reply).await;
    });
    Ok(())
}
