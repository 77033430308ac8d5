//! The Telegram bot of the always-on agent: long polling against the Bot API
//! (or `TELEGRAM_API_URL`, optionally through `TELEGRAM_PROXY`), a handler
//! tree in which access control is its own branch, backups with
//! confirmation and one live progress message, read-only views of the host
//! and the history, notifications and alerts, and charts from stored
//! samples.
//!
//! teloxide supplies the types, the requests and the handler tree; the
//! polling loop and the retry policy are ours ([`api`]), so that 429
//! `retry_after`, 5xx and network errors are retried with backoff, the token
//! never reaches a log line, and the bot stops with `agent.shutdown`.
//! A Telegram outage only delays messages: backups and metrics never wait on
//! the bot (backups run on their own threads, see `backup::jobs`).
//!
//! Texts for both languages live in [`crate::text`]; pure formatting in
//! [`format`].

pub mod api;
pub mod backup;
pub mod chart;
pub mod commands;
pub mod drill;
pub mod format;
pub mod handlers;
pub mod notify;
pub mod retry;
pub mod users;
pub mod views;

use crate::agent::Agent;
use crate::backup::feed::FinishedRun;
use crate::backup::history::{Drill, History, HistoryError, UploadRow};
use crate::text;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use teloxide::Bot;
use teloxide::types::{ChatId, UserId};
use tokio::sync::broadcast::Receiver;
use tokio::task::JoinSet;

/// Why the bot could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    #[error("BOT_TOKEN is not set")]
    NoToken,
    #[error(
        "invalid TELEGRAM_API_URL {url:?} (expected a URL such as http://127.0.0.1:8081/): {detail}"
    )]
    ApiUrl { url: String, detail: String },
    #[error("invalid TELEGRAM_PROXY (expected an http://, https:// or socks5:// URL): {0}")]
    Proxy(String),
    #[error("cannot build the HTTP client for Telegram: {0}")]
    Client(String),
}

/// How often a stranger may be told they are denied.
pub const DENY_REPLY_EVERY: Duration = Duration::from_secs(600);

/// What every handler shares.
pub struct Ctx {
    pub agent: Arc<Agent>,
    pub bot: Bot,
    pub texts: &'static text::Texts,
    /// The token text, to mask it out of error messages.
    token: String,
    /// When each stranger was last told they are denied.
    denied: Mutex<HashMap<UserId, Instant>>,
    /// Which chat asked for the running backup of each base (its result is
    /// shown there by the progress message, not sent again as a notice).
    pub requesters: Mutex<HashMap<String, ChatId>>,
}

impl Ctx {
    pub fn new(agent: Arc<Agent>) -> Result<Arc<Ctx>, TelegramError> {
        let tg = &agent.cfg.telegram;
        let token = tg.bot_token.as_ref().ok_or(TelegramError::NoToken)?;
        let bot = api::make_bot(tg)?;
        Ok(Arc::new(Ctx {
            texts: text::texts(&tg.language),
            token: token.expose().to_string(),
            bot,
            agent,
            denied: Mutex::new(HashMap::new()),
            requesters: Mutex::new(HashMap::new()),
        }))
    }

    /// Whether `user` may use the bot.
    pub fn allowed(&self, user: UserId) -> bool {
        let id = user.0 as i64;
        self.agent.cfg.telegram.allowed_user_ids.contains(&id)
    }

    /// Whether to answer a denied `user` now (at most once per
    /// [`DENY_REPLY_EVERY`]); records the answer.
    pub fn should_tell_denied(&self, user: UserId) -> bool {
        let mut map = self.denied.lock().expect("denied lock");
        let now = Instant::now();
        map.retain(|_, t| now.duration_since(*t) < DENY_REPLY_EVERY);
        if map.contains_key(&user) {
            return false;
        }
        map.insert(user, now);
        true
    }

    /// An error's text with the token and every other secret masked.
    pub fn describe(&self, e: &dyn std::fmt::Display) -> String {
        self.agent
            .cfg
            .mask(&format::mask_token(&e.to_string(), &self.token))
    }

    /// Run `f` with a history connection on a blocking thread.
    pub async fn history<T: Send + 'static>(
        &self,
        f: impl FnOnce(&History) -> Result<T, HistoryError> + Send + 'static,
    ) -> anyhow::Result<T> {
        let path = self.agent.cfg.history_db.clone();
        let dir = self.agent.cfg.backup_dir.clone();
        tokio::task::spawn_blocking(move || {
            let _ = std::fs::create_dir_all(&dir);
            let h = History::open(&path)?;
            Ok(f(&h)?)
        })
        .await?
    }

    /// Chats that receive notifications: `NOTIFY_CHAT_IDS`, else every
    /// allowed user.
    pub fn notify_chats(&self) -> Vec<ChatId> {
        let tg = &self.agent.cfg.telegram;
        let ids = if tg.notify_chat_ids.is_empty() {
            &tg.allowed_user_ids
        } else {
            &tg.notify_chat_ids
        };
        ids.iter().map(|i| ChatId(*i)).collect()
    }
}

/// Register the bot with the agent when `BOT_TOKEN` is set.
pub fn register(agent: &Arc<Agent>, tasks: &mut JoinSet<()>) {
    if agent.cfg.telegram.bot_token.is_some() {
        // Subscribed here, before the scheduler can start a run, so no
        // run that finishes while the bot connects goes unannounced.
        tasks.spawn(run(
            agent.clone(),
            agent.feed.subscribe(),
            agent.drills.subscribe(),
            agent.uploads.subscribe(),
            agent.users_warnings.subscribe(),
        ));
    } else {
        tracing::info!("Telegram bot disabled (BOT_TOKEN not set)");
    }
}

/// Run the bot until `agent.shutdown` is cancelled.
pub async fn run(
    agent: Arc<Agent>,
    runs: Receiver<Arc<FinishedRun>>,
    drills: Receiver<Arc<Drill>>,
    uploads: Receiver<Arc<UploadRow>>,
    warnings: Receiver<Arc<crate::onec::inside::Warning>>,
) {
    let ctx = match Ctx::new(agent.clone()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("Telegram bot not started: {e}");
            return;
        }
    };
    if agent.cfg.telegram.allowed_user_ids.is_empty() {
        tracing::warn!(
            "!!! ALLOWED_USER_IDS is empty: the Telegram bot DENIES EVERYONE. Add your Telegram id (the bot tells it to you) to ALLOWED_USER_IDS !!!"
        );
    }
    let mut tasks = JoinSet::new();
    tasks.spawn(notify::run(ctx.clone(), runs, drills, uploads, warnings));
    api::poll(ctx).await;
    while tasks.join_next().await.is_some() {}
    tracing::info!("Telegram bot stopped");
}
