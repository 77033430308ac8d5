//! Talking to the Bot API: the client (custom API URL, proxy), one retry
//! policy for every request (429 waits `retry_after`; network errors, 5xx
//! and unparsable answers back off exponentially), the long-polling loop
//! that hands each update to the handler tree, and reply helpers that
//! split long texts (every part valid HTML on its own).

use super::format::{MAX_MESSAGE_CHARS, split};
use super::{Ctx, TelegramError, commands, handlers};
use crate::config::Telegram;
use crate::text::esc;
use std::sync::Arc;
use std::time::Duration;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::requests::{Output, Request};
use teloxide::types::{AllowedUpdate, InlineKeyboardMarkup, Me, ParseMode};

/// Attempts for one request before giving up (polling never gives up).
pub const MAX_ATTEMPTS: u32 = 6;
/// Longest pause between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Long-polling timeout handed to `getUpdates`, seconds (below the HTTP
/// client's own 17 s timeout).
pub const POLL_TIMEOUT_SECS: u32 = 10;

/// A `Bot` for the configured token, API URL and proxy.
pub fn make_bot(tg: &Telegram) -> Result<Bot, TelegramError> {
    let token = tg.bot_token.as_ref().ok_or(TelegramError::NoToken)?;
    let mut builder = teloxide::net::default_reqwest_settings();
    if let Some(p) = tg.proxy.as_deref().filter(|p| !p.is_empty()) {
        let proxy = reqwest::Proxy::all(p).map_err(|e| TelegramError::Proxy(e.to_string()))?;
        builder = builder.proxy(proxy);
    }
    let client = builder
        .build()
        .map_err(|e| TelegramError::Client(e.without_url().to_string()))?;
    let mut bot = Bot::with_client(token.expose(), client);
    if let Some(u) = tg.api_url.as_deref().filter(|u| !u.is_empty()) {
        let url = reqwest::Url::parse(u).map_err(|e| TelegramError::ApiUrl {
            url: u.to_string(),
            detail: e.to_string(),
        })?;
        bot = bot.set_api_url(url);
    }
    Ok(bot)
}

/// A test-only setting that divides every retry wait of the bot by its
/// value, so a test can play a 10-minute Telegram outage in 10 seconds.
/// Read only by debug builds; release builds ignore it.
pub const TEST_TIME_SCALE_ENV: &str = "ONEC_TEST_TELEGRAM_TIME_SCALE";

/// The wait actually slept for a retry wait `d` (see [`TEST_TIME_SCALE_ENV`]).
fn scaled(d: Duration) -> Duration {
    #[cfg(debug_assertions)]
    {
        static SCALE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        let scale = *SCALE.get_or_init(|| {
            std::env::var(TEST_TIME_SCALE_ENV)
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|s| *s > 0)
                .unwrap_or(1)
        });
        d / scale
    }
    #[cfg(not(debug_assertions))]
    d
}

/// Sleep `wait` (scaled, see [`TEST_TIME_SCALE_ENV`]) before a retry;
/// false when the agent began to stop meanwhile.
async fn pause(ctx: &Ctx, wait: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(scaled(wait)) => true,
        _ = ctx.agent.shutdown.cancelled() => false,
    }
}

/// Whether an error may go away by itself, and how long to wait first.
pub fn retry_delay(e: &RequestError, backoff: Duration) -> Option<Duration> {
    match e {
        RequestError::RetryAfter(s) => Some(s.duration().min(MAX_BACKOFF)),
        RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => {
            Some(backoff)
        }
        // 5xx answers with a JSON body ("Internal Server Error", "Bad
        // Gateway") are unknown API errors to teloxide.
        RequestError::Api(teloxide::ApiError::Unknown(_)) => Some(backoff),
        _ => None,
    }
}

/// Send `req`, retrying transient failures with backoff.
pub async fn call<R>(ctx: &Ctx, req: R) -> Result<Output<R>, RequestError>
where
    R: Request<Err = RequestError>,
{
    let mut backoff = Duration::from_secs(1);
    let mut attempt = 1;
    loop {
        match req.send_ref().await {
            Ok(v) => return Ok(v),
            Err(e) => match retry_delay(&e, backoff) {
                Some(wait) if attempt < MAX_ATTEMPTS => {
                    tracing::warn!(
                        "Telegram request failed (attempt {attempt}/{MAX_ATTEMPTS}), retrying in {}s: {}",
                        wait.as_secs(),
                        ctx.describe(&e)
                    );
                    if !pause(ctx, wait).await {
                        return Err(e);
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    attempt += 1;
                }
                _ => return Err(e),
            },
        }
    }
}

/// Send a notice that must arrive: like [`send_html`], but transient
/// failures (network, timeouts, 5xx, 429) are retried with backoff for as
/// long as Telegram stays away, until the agent stops. Only a refusal that
/// cannot go away (a 4xx other than 429) gives up, with a log line.
pub async fn deliver_html(ctx: &Ctx, chat: ChatId, text: &str) {
    deliver_html_with(ctx, chat, text, None).await;
}

/// [`deliver_html`] with buttons under the last part.
pub async fn deliver_html_with(
    ctx: &Ctx,
    chat: ChatId,
    text: &str,
    buttons: Option<InlineKeyboardMarkup>,
) {
    let parts = split(text, MAX_MESSAGE_CHARS);
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.into_iter().enumerate() {
        let mut backoff = Duration::from_secs(1);
        let mut failures: u64 = 0;
        loop {
            let mut req = ctx
                .bot
                .send_message(chat, part.clone())
                .parse_mode(ParseMode::Html);
            if i == last
                && let Some(b) = &buttons
            {
                req = req.reply_markup(b.clone());
            }
            match req.send().await {
                Ok(_) => {
                    if failures > 0 {
                        tracing::info!(
                            chat = chat.0,
                            "Telegram notice delivered after {failures} failed attempt(s)"
                        );
                    }
                    break;
                }
                Err(e) => match retry_delay(&e, backoff) {
                    Some(wait) => {
                        failures += 1;
                        // One line at the first failure, then every 10th.
                        if failures == 1 || failures.is_multiple_of(10) {
                            tracing::warn!(
                                chat = chat.0,
                                "Telegram notice not delivered yet (attempt {failures}), retrying in {}s: {}",
                                wait.as_secs(),
                                ctx.describe(&e)
                            );
                        }
                        if !pause(ctx, wait).await {
                            return;
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                    None => {
                        tracing::warn!(
                            chat = chat.0,
                            "Telegram refused a notice: {}",
                            ctx.describe(&e)
                        );
                        return;
                    }
                },
            }
        }
    }
}

/// Send an HTML reply, split into several messages when long. Errors are
/// logged (masked), never returned: a failed reply must not stop anything.
pub async fn send_html(ctx: &Ctx, chat: ChatId, text: &str) {
    for part in split(text, MAX_MESSAGE_CHARS) {
        let req = ctx.bot.send_message(chat, part).parse_mode(ParseMode::Html);
        if let Err(e) = call(ctx, req).await {
            tracing::warn!(chat = chat.0, "Telegram reply failed: {}", ctx.describe(&e));
            return;
        }
    }
}

/// A title followed by `lines` in a `<pre>` block, split (by [`send_html`])
/// so that every message holds whole lines and closed tags.
pub async fn send_pre(ctx: &Ctx, chat: ChatId, title: &str, lines: &[String]) {
    let body = lines.iter().map(|l| esc(l)).collect::<Vec<_>>().join("\n");
    send_html(ctx, chat, &format!("{title}\n<pre>{body}</pre>")).await;
}

/// Register the command menu: the configured language as the default, and
/// Russian and English for clients in those languages.
async fn set_commands(ctx: &Ctx) {
    use crate::text::{EN, RU};
    let menus = [(None, ctx.texts), (Some("ru"), &RU), (Some("en"), &EN)];
    for (code, texts) in menus {
        let mut req = ctx.bot.set_my_commands(commands::bot_commands(texts));
        if let Some(c) = code {
            req = req.language_code(c);
        }
        if let Err(e) = call(ctx, req).await {
            tracing::warn!("cannot register the command menu: {}", ctx.describe(&e));
        }
    }
}

/// Wait for `getMe` to succeed (the bot's username is needed to read
/// `/cmd@bot` in groups), retrying for as long as it takes.
async fn get_me(ctx: &Ctx) -> Option<Me> {
    let mut backoff = Duration::from_secs(1);
    loop {
        match ctx.bot.get_me().send().await {
            Ok(me) => return Some(me),
            Err(e) => {
                let wait = retry_delay(&e, backoff).unwrap_or(backoff);
                tracing::warn!(
                    "Telegram is not reachable yet (retrying in {}s): {}",
                    wait.as_secs(),
                    ctx.describe(&e)
                );
                if !pause(ctx, wait).await {
                    return None;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Long polling until `agent.shutdown`: every update is dispatched on its
/// own task, so a slow command never delays the next one.
pub async fn poll(ctx: Arc<Ctx>) {
    let Some(me) = get_me(&ctx).await else { return };
    tracing::info!("Telegram bot @{} started", me.username());
    set_commands(&ctx).await;
    let tree = Arc::new(handlers::schema());
    let mut offset: i32 = 0;
    let mut backoff = Duration::from_secs(1);
    let mut failing = false;
    loop {
        let req = ctx
            .bot
            .get_updates()
            .offset(offset)
            .timeout(POLL_TIMEOUT_SECS)
            .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        let result = tokio::select! {
            r = req.send() => r,
            _ = ctx.agent.shutdown.cancelled() => return,
        };
        match result {
            Ok(updates) => {
                if std::mem::replace(&mut failing, false) {
                    tracing::info!("Telegram connection restored");
                }
                backoff = Duration::from_secs(1);
                for u in updates {
                    offset = offset.max(u.id.0 as i32 + 1);
                    let (ctx, me, tree) = (ctx.clone(), me.clone(), tree.clone());
                    tokio::spawn(async move {
                        let deps = dptree::deps![u, ctx.clone(), me];
                        if let std::ops::ControlFlow::Break(Err(e)) = tree.dispatch(deps).await {
                            tracing::warn!("Telegram handler failed: {}", ctx.describe(&e));
                        }
                    });
                }
            }
            Err(e) => {
                let wait = retry_delay(&e, backoff).unwrap_or(backoff);
                failing = true;
                tracing::warn!(
                    "Telegram polling failed (retrying in {}s): {}",
                    wait.as_secs(),
                    ctx.describe(&e)
                );
                if !pause(&ctx, wait).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
