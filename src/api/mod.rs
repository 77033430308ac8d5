//! The HTTP API of `onec-backup-bot run` (axum, HTTP/1.1): metrics in
//! Prometheus text and JSON, health, backup history, and starting a
//! backup. Routes are listed once, in [`router`], and described in
//! `openapi.rs`; a test walks that description against the real router.
//!
//! A scrape never waits for the host or for a backup: host numbers come
//! from the sampler's cached snapshot, backup numbers from the agent's
//! [`BackupCache`](crate::export::BackupCache) (refreshed in the
//! background every few seconds, or at once when a run starts or ends), and the
//! encoded text is reused while neither changes. Every error is JSON
//! `{"error": "…"}`; tokens are compared in constant time and never echoed
//! or logged.

mod auth;
mod handlers;
pub mod openapi;

use crate::agent::Agent;
use crate::export::BackupState;
use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::{Arc, Mutex};

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

/// Addresses of the snapshot and backup state, and the sinks' generation.
type PromKey = (usize, usize, u64);

/// What the handlers share.
pub struct ApiState {
    pub agent: Arc<Agent>,
    /// The last encoded exposition, keyed by what it was built from.
    prom: Mutex<Option<(PromKey, Bytes)>>,
}

impl ApiState {
    fn new(agent: Arc<Agent>) -> Arc<ApiState> {
        Arc::new(ApiState {
            agent,
            prom: Mutex::new(None),
        })
    }

    /// The agent's cached backup state (never waits).
    fn backup(&self) -> Arc<BackupState> {
        self.agent.backups.get()
    }
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
