//! The HTTP API of `onec-backup-bot run` (axum routes on our own hyper
//! HTTP/1.1 accept loop, optionally HTTPS): metrics in Prometheus text
//! and JSON, health, backup history, and starting a backup. Routes are
//! listed once, in [`router`], and described in `openapi.rs`; a test walks
//! that description against the real router. The accept loop
//! (`server.rs`) bounds header reads, requests and open connections;
//! `tls.rs` loads the certificate; `auth.rs` decides who may read and act.
//!
//! A scrape never waits for the host or for a backup: host numbers come
//! from the sampler's cached snapshot, backup numbers from the agent's
//! [`BackupCache`](crate::export::BackupCache) (refreshed in the
//! background every few seconds, or at once when a run starts or ends), and the
//! encoded text is reused while neither changes. Every error is JSON
//! `{"error": "…"}`; tokens and passwords are compared in constant time and
//! never echoed or logged.

mod auth;
mod handlers;
pub mod openapi;
pub mod server;
mod tls;

use crate::agent::Agent;
use crate::export::BackupState;
use crate::metrics::Snapshot;
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
    /// Ask a browser for the basic-auth password (`WWW-Authenticate`).
    pub basic_challenge: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            basic_challenge: false,
        }
    }
    pub fn with_basic_challenge(mut self) -> Self {
        self.basic_challenge = true;
        self
    }
    /// The error as `access` may see it: a server-side failure's text can
    /// name paths or users, so a [`auth::Access::Public`] caller gets a
    /// generic message and the details go to the log.
    fn shown_to(self, access: auth::Access) -> Self {
        if access == auth::Access::Public && self.status.is_server_error() {
            tracing::warn!("HTTP API error ({}): {}", self.status, self.message);
            let message = "the agent could not answer; the details are in its log \
                 (send a token to see them here)";
            return ApiError::new(self.status, message);
        }
        self
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
        let body = axum::Json(serde_json::json!({ "error": self.message }));
        if self.basic_challenge {
            let challenge = r#"Basic realm="onec-backup-bot", charset="UTF-8""#;
            return (
                self.status,
                [(axum::http::header::WWW_AUTHENTICATE, challenge)],
                body,
            )
                .into_response();
        }
        (self.status, body).into_response()
    }
}

/// The last encoded exposition and what it was built from. It holds the
/// snapshot and backup state themselves, not their addresses: while they
/// are held their memory cannot be reused by a newer one, so a new
/// snapshot never matches an old page.
#[derive(Default)]
struct PromCache {
    last: Mutex<Option<PromPage>>,
}

/// One encoded exposition and its inputs.
struct PromPage {
    snap: Arc<Snapshot>,
    backup: Arc<BackupState>,
    sinks: u64,
    text: Bytes,
}

impl PromCache {
    /// The page for these inputs: the cached one when built from the very
    /// same snapshot, backup state and sinks' generation, else `build()`.
    fn get(
        &self,
        snap: &Arc<Snapshot>,
        backup: &Arc<BackupState>,
        sinks: u64,
        build: impl FnOnce() -> Bytes,
    ) -> Bytes {
        let mut g = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = g.as_ref()
            && Arc::ptr_eq(&p.snap, snap)
            && Arc::ptr_eq(&p.backup, backup)
            && p.sinks == sinks
        {
            return p.text.clone();
        }
        let text = build();
        *g = Some(PromPage {
            snap: snap.clone(),
            backup: backup.clone(),
            sinks,
            text: text.clone(),
        });
        text
    }
}

/// What the handlers share.
pub struct ApiState {
    pub agent: Arc<Agent>,
    /// The last encoded exposition.
    prom: PromCache,
}

impl ApiState {
    fn new(agent: Arc<Agent>) -> Arc<ApiState> {
        Arc::new(ApiState {
            agent,
            prom: PromCache::default(),
        })
    }

    /// The agent's cached backup state (never waits).
    fn backup(&self) -> Arc<BackupState> {
        self.agent.backups.get()
    }
}

/// The API's routes, for [`serve`] and for tests.
pub fn router(agent: Arc<Agent>) -> Router {
    let state = ApiState::new(agent.clone());
    Router::new()
        .route("/api/metrics.prom", get(handlers::metrics_prom))
        .route("/api/metrics", get(handlers::metrics_json))
        .route("/api/health", get(handlers::health))
        .route("/api/backup/last", get(handlers::backup_last))
        .route("/api/backups", get(handlers::backups))
        .route("/api/backup", post(handlers::start_backup))
        .route("/api/openapi.json", get(handlers::openapi))
        .with_state(state)
        .merge(crate::web::routes(agent))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
}

/// Serve the API on `listener` with [`server::LIMITS`] until
/// `agent.shutdown` is cancelled, then finish the requests in flight and
/// return.
pub async fn serve(agent: Arc<Agent>, listener: tokio::net::TcpListener) {
    let opts = server::Options {
        limits: server::LIMITS,
        tls: None,
        all_peers_remote: false,
    };
    serve_with(agent, listener, opts).await;
}

/// [`serve`] with explicit bounds and TLS.
pub async fn serve_with(
    agent: Arc<Agent>,
    listener: tokio::net::TcpListener,
    opts: server::Options,
) {
    let shutdown = agent.shutdown.clone();
    server::serve(router(agent), listener, opts, shutdown).await;
}

/// The start-up warning for read routes open beyond loopback, if due.
pub fn exposure_warning(api: &crate::config::Api) -> Option<String> {
    let loopback = match api.host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_canonical().is_loopback(),
        Err(_) => api.host.eq_ignore_ascii_case("localhost"),
    };
    let guarded = api.read_token.as_ref().is_some_and(|t| !t.is_empty()) || api.basic.is_some();
    (!loopback && !guarded).then(|| {
        format!(
            "!!! the HTTP API listens on {} with OPEN read routes: anyone on the network can \
             read metrics with user names, client hosts, process names and the backup \
             history. Set API_READ_TOKEN (Prometheus: authorization: credentials) or \
             API_BASIC_USER / API_BASIC_PASSWORD, or set API_HOST=127.0.0.1 !!!",
            api.host
        )
    })
}

/// Bind `cfg.api.host:cfg.api.port` and spawn [`serve`] into `tasks`,
/// over HTTPS when `API_TLS_CERT_FILE` is set. Raises the soft limit of
/// open files first, and warns loudly when read routes are open beyond
/// loopback. A failed bind or an unusable certificate is logged (naming
/// the setting) and the rest of the agent keeps running.
pub async fn start(agent: Arc<Agent>, tasks: &mut tokio::task::JoinSet<()>) {
    match crate::platform::raise_open_files_limit() {
        Ok(Some((old, new))) => tracing::debug!("open files limit raised from {old} to {new}"),
        Ok(None) => {}
        Err(e) => tracing::warn!("cannot raise the open files limit: {e}"),
    }
    let api = &agent.cfg.api;
    if let Some(w) = exposure_warning(api) {
        tracing::warn!("{w}");
    }
    let tls = match api.tls.as_ref().map(tls::acceptor).transpose() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(
                "{e}; the API and metrics are off, the rest of the agent keeps running"
            );
            return;
        }
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let addr = format!("{}:{}", api.host, api.port);
    match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => {
            let shown = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
            tracing::info!("HTTP API listening on {scheme}://{shown}");
            let opts = server::Options {
                limits: server::LIMITS,
                tls,
                all_peers_remote: false,
            };
            tasks.spawn(serve_with(agent, listener, opts));
        }
        Err(e) => tracing::error!(
            "cannot listen on {addr} for the HTTP API: {e}; the API and metrics are off, \
             the rest of the agent keeps running (free the port or set API_PORT / API_HOST)"
        ),
    }
}

#[cfg(test)]
mod hardening_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod web_tests;
