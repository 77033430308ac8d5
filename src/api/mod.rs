//! The HTTP API of `onec-backup-bot run` (axum, HTTP/1.1): metrics in
//! Prometheus text and JSON, health, backup history, and starting a
//! backup. Routes are listed once, in [`router`], and described in
//! `openapi.rs`; a test walks that description against the real router.
//!
//! A scrape never waits for the host or for a backup: host numbers come
//! from the sampler's cached snapshot, backup numbers from a
//! [`BackupState`] refreshed in the background (every
//! [`BACKUP_REFRESH`], or at once when a run starts or ends), and the
//! encoded text is reused while neither changes. Every error is JSON
//! `{"error": "…"}`; tokens are compared in constant time and never echoed
//! or logged.

mod auth;
mod handlers;
pub mod openapi;

use crate::agent::Agent;
use crate::export::{ArchiveCache, BackupState};
use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long the cached backup state is served before a background reload.
pub const BACKUP_REFRESH: Duration = Duration::from_secs(5);

/// An error answer: status code and a message for `{"error": …}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// Backup state with the time it was loaded.
struct Loaded {
    at: Instant,
    state: Arc<BackupState>,
}

/// What the handlers share.
pub struct ApiState {
    pub agent: Arc<Agent>,
    backup: RwLock<Loaded>,
    refreshing: Arc<AtomicBool>,
    archives: ArchiveCache,
    /// The last encoded exposition, keyed by (snapshot, backup state).
    prom: Mutex<Option<(usize, usize, Bytes)>>,
}

impl ApiState {
    fn new(agent: Arc<Agent>) -> Arc<ApiState> {
        let archives = ArchiveCache::default();
        let state = BackupState::load(&agent.cfg, &running(&agent), &archives);
        Arc::new(ApiState {
            agent,
            backup: RwLock::new(Loaded {
                at: Instant::now(),
                state: Arc::new(state),
            }),
            refreshing: Arc::new(AtomicBool::new(false)),
            archives,
            prom: Mutex::new(None),
        })
    }

    /// The cached backup state; starts a background reload when it is old
    /// or when the set of running bases changed since it was loaded.
    fn backup(self: &Arc<Self>) -> Arc<BackupState> {
        let (state, stale) = {
            let g = self.backup.read().unwrap_or_else(|p| p.into_inner());
            let changed = g
                .state
                .bases
                .iter()
                .any(|b| b.running != self.agent.jobs.is_running(&b.name));
            (g.state.clone(), changed || g.at.elapsed() >= BACKUP_REFRESH)
        };
        if stale && !self.refreshing.swap(true, Ordering::AcqRel) {
            let me = self.clone();
            let spawned = tokio::runtime::Handle::try_current().map(|h| {
                h.spawn_blocking(move || {
                    me.reload_now();
                    me.refreshing.store(false, Ordering::Release);
                })
            });
            if spawned.is_err() {
                self.refreshing.store(false, Ordering::Release);
            }
        }
        state
    }

    /// Reload the backup state now (blocking: history and maybe a scan).
    /// The archive scan is redone at once when a run started or ended or
    /// the history gained a run (archives were added or pruned).
    fn reload_now(&self) -> Arc<BackupState> {
        let old = self
            .backup
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .state
            .clone();
        let now_running = running(&self.agent);
        let mut state = BackupState::load(&self.agent.cfg, &now_running, &self.archives);
        let changed = old.bases.len() != state.bases.len()
            || old.bases.iter().zip(&state.bases).any(|(a, b)| {
                a.running != b.running || a.runs != b.runs || a.last_finished != b.last_finished
            });
        if changed {
            self.archives.invalidate();
            state = BackupState::load(&self.agent.cfg, &now_running, &self.archives);
        }
        let state = Arc::new(state);
        *self.backup.write().unwrap_or_else(|p| p.into_inner()) = Loaded {
            at: Instant::now(),
            state: state.clone(),
        };
        state
    }
}

fn running(agent: &Agent) -> Vec<String> {
    agent.jobs.running().into_iter().map(|r| r.base).collect()
}

/// The API's routes, for [`serve`] and for tests.
pub fn router(agent: Arc<Agent>) -> Router {
    let state = ApiState::new(agent);
    Router::new()
        .route("/api/metrics.prom", get(handlers::metrics_prom))
        .route("/api/metrics", get(handlers::metrics_json))
        .route("/api/health", get(handlers::health))
        .route("/api/backup/last", get(handlers::backup_last))
        .route("/api/backups", get(handlers::backups))
        .route("/api/backup", post(handlers::start_backup))
        .route("/api/openapi.json", get(handlers::openapi))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .with_state(state)
}

/// Serve the API on `listener` until `agent.shutdown` is cancelled, then
/// finish the requests in flight and return.
pub async fn serve(agent: Arc<Agent>, listener: tokio::net::TcpListener) {
    let shutdown = agent.shutdown.clone();
    let app = router(agent);
    // Answers are small and written whole: never wait for Nagle.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    {
        tracing::error!("HTTP API stopped: {e}");
    }
}

/// Bind `cfg.api.host:cfg.api.port` and spawn [`serve`] into `tasks`. A
/// failed bind is logged (naming the address and `API_PORT`) and the rest
/// of the agent keeps running.
pub async fn start(agent: Arc<Agent>, tasks: &mut tokio::task::JoinSet<()>) {
    let addr = format!("{}:{}", agent.cfg.api.host, agent.cfg.api.port);
    match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => {
            let shown = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
            tracing::info!("HTTP API listening on http://{shown}");
            tasks.spawn(serve(agent, listener));
        }
        Err(e) => tracing::error!(
            "cannot listen on {addr} for the HTTP API: {e}; the API and metrics are off, \
             the rest of the agent keeps running (free the port or set API_PORT / API_HOST)"
        ),
    }
}

#[cfg(test)]
mod tests;
