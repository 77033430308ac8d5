//! The dashboard's actions, each a form post checked by
//! [`Access::check_post`] (this site, a session logged in with
//! `API_TOKEN`, its CSRF token): `POST /actions/backup` (base) answers a
//! confirm page; its form posts `POST /actions/backup/confirm`, which
//! starts the run ([`start`], the one call of `Jobs::start` here, trigger
//! `api` — the history's trigger column allows no other value without a
//! table rebuild) and redirects to the overview, where the live script
//! shows the progress. `POST /actions/retry/{run_id}` does the same for
//! the base of a failed or interrupted run.

use super::page::{self, esc};
use super::session::Access;
use crate::agent::Agent;
use crate::backup::history::{History, Status, Trigger};
use crate::backup::jobs::{StartError, Started};
use axum::extract::{Form, Path};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use serde::Deserialize;
use std::sync::Arc;

pub fn routes() -> Router {
    Router::new()
        .route("/actions/backup", post(backup))
        .route("/actions/backup/confirm", post(confirm))
        .route("/actions/retry/{run_id}", post(retry))
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    base: String,
    #[serde(default)]
    csrf: String,
}

/// Start a backup of `base` for the dashboard (the one place that calls
/// `Jobs::start` here).
async fn start(agent: &Agent, base: &str) -> Result<Started, StartError> {
    agent.jobs.start(Some(base), Trigger::Api, false).await
}

/// A refusal as a page (401 links to the login form).
fn refused(status: StatusCode, message: &str) -> Response {
    let mut body = format!("<p class=\"error\" role=\"alert\">{}</p>", esc(message));
    if status == StatusCode::UNAUTHORIZED {
        body.push_str("<p><a href=\"/login\">Log in</a></p>");
    }
    page::html(status, page::render("Refused", &body))
}

/// The confirm page for a backup of `base`.
fn confirm_page(base: &str, csrf: &str, note: &str) -> Response {
    let body = format!(
        "<p>{note}</p><form method=\"post\" action=\"/actions/backup/confirm\">\
         <input type=\"hidden\" name=\"base\" value=\"{b}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{c}\">\
         <button type=\"submit\" id=\"confirm\">Back up {b} now</button> \
         <a href=\"/\">Cancel</a></form>",
        note = esc(note),
        b = esc(base),
        c = esc(csrf),
    );
    page::html(StatusCode::OK, page::render("Back up now?", &body))
}

/// The configured base named `name`, or a 404 page.
fn known_base(access: &Access, name: &str) -> Result<String, Response> {
    match access.agent.cfg.base(Some(name)) {
        Some(b) => Ok(b.name.clone()),
        None => Err(refused(
            StatusCode::NOT_FOUND,
            &format!(
                "no base named {:?} is configured",
                name.chars().take(80).collect::<String>()
            ),
        )),
    }
}

pub async fn backup(
    Extension(access): Extension<Arc<Access>>,
    headers: HeaderMap,
    Form(f): Form<ActionForm>,
) -> Response {
    let s = match access.check_post(&headers, &f.csrf) {
        Ok(s) => s,
        Err(r) => return refused(r.status(), r.message()),
    };
    match known_base(&access, &f.base) {
        Ok(base) => confirm_page(
            &base,
            &s.csrf,
            &format!("Start a backup of {base} now? It runs in the background."),
        ),
        Err(r) => r,
    }
}

pub async fn confirm(
    Extension(access): Extension<Arc<Access>>,
    headers: HeaderMap,
    Form(f): Form<ActionForm>,
) -> Response {
    if let Err(r) = access.check_post(&headers, &f.csrf) {
        return refused(r.status(), r.message());
    }
    let base = match known_base(&access, &f.base) {
        Ok(b) => b,
        Err(r) => return r,
    };
    match start(&access.agent, &base).await {
        Ok(s) => {
            tracing::info!(base = %s.base, run_id = ?s.run_id, "backup started from the dashboard");
            (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response()
        }
        Err(StartError::AlreadyRunning(r)) => refused(
            StatusCode::CONFLICT,
            &format!(
                "a backup of {} is already running ({}); wait for it to finish",
                r.base,
                r.stage.as_str()
            ),
        ),
        Err(e @ StartError::NoSuchBase(_)) => refused(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e @ StartError::ShuttingDown) => {
            refused(StatusCode::SERVICE_UNAVAILABLE, &e.to_string())
        }
    }
}

pub async fn retry(
    Extension(access): Extension<Arc<Access>>,
    headers: HeaderMap,
    Path(run_id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> Response {
    let s = match access.check_post(&headers, &f.csrf) {
        Ok(s) => s,
        Err(r) => return refused(r.status(), r.message()),
    };
    let db = access.agent.cfg.history_db.clone();
    let run = tokio::task::spawn_blocking(move || {
        if !db.exists() {
            return Ok(None);
        }
        let h = History::open_read_only(&db, crate::export::backup::HISTORY_BUSY)?;
        h.run(run_id)
    })
    .await;
    let run = match run {
        Ok(Ok(Some(r))) => r,
        Ok(Ok(None)) => {
            return refused(
                StatusCode::NOT_FOUND,
                &format!("no run {run_id} in the history"),
            );
        }
        Ok(Err(e)) => {
            tracing::warn!("dashboard retry: cannot read the history: {e}");
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the history could not be read; the details are in the agent's log",
            );
        }
        Err(e) => return refused(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if !matches!(run.status, Status::Failed | Status::Interrupted) {
        return refused(
            StatusCode::CONFLICT,
            &format!(
                "run {run_id} did not fail ({}); only failed runs are retried",
                run.status.as_str()
            ),
        );
    }
    match known_base(&access, &run.base) {
        Ok(base) => confirm_page(
            &base,
            &s.csrf,
            &format!("Run {run_id} of {base} failed. Back it up again now?"),
        ),
        Err(r) => r,
    }
}
