//! The dashboard's actions, each a form post checked by
//! [`Access::check_post`] (this site, a session logged in with
//! `API_TOKEN`, its CSRF token): `POST /actions/backup` (base) answers a
//! confirm page; its form posts `POST /actions/backup/confirm`, which
//! starts the run ([`start`], the one call of `Jobs::start` here, trigger
//! `api` — the history's trigger column allows no other value without a
//! table rebuild) and redirects to the overview, where the live script
//! shows the progress. `POST /actions/retry/{run_id}` does the same for
//! the base of a failed or interrupted run.

use super::page::{self, Ctx};
use super::session::{Access, Visitor};
use crate::agent::Agent;
use crate::backup::history::{History, Status, Trigger};
use crate::backup::jobs::{StartError, Started};
use axum::extract::{Form, Path};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use maud::html;
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

/// The "retry" button of a failed or interrupted run's page (nothing for
/// other runs or an anonymous viewer).
pub fn retry_form(p: &super::Page, run_id: i64, status: Status) -> maud::Markup {
    let show = p.full() && matches!(status, Status::Failed | Status::Interrupted);
    let a = crate::text::web_access(p.t.code);
    html! {
        @if show {
            form.act method="post" action={ "/actions/retry/" (run_id) } {
                input type="hidden" name="csrf" value=(p.csrf);
                button type="submit" { (a.retry) }
            }
        }
    }
}

/// The confirm page for a backup of `base`.
fn confirm_page(c: &Ctx, base: &str, csrf: &str, note: &str) -> Response {
    let body = html! {
        p { (note) }
        form.act method="post" action="/actions/backup/confirm" {
            input type="hidden" name="base" value=(base);
            input type="hidden" name="csrf" value=(csrf);
            button #confirm type="submit" { ((c.a.confirm_button)(base)) }
            " "
            a href="/" { (c.a.cancel) }
        }
    };
    page::html_answer(StatusCode::OK, page::render(c, c.a.confirm_title, body))
}

/// The configured base named `name`.
fn known_base(access: &Access, name: &str) -> Option<String> {
    access.agent.cfg.base(Some(name)).map(|b| b.name.clone())
}

/// The 404 page of an unknown base.
fn no_base(c: &Ctx, name: &str) -> Response {
    let shown: String = name.chars().take(80).collect();
    page::refusal(c, StatusCode::NOT_FOUND, &(c.a.no_base)(&shown))
}

/// The posted form's base and the session's CSRF token, once the session,
/// the token and the base are checked; else the refusal page.
fn posted_base(
    access: &Access,
    c: &Ctx,
    headers: &HeaderMap,
    f: &ActionForm,
) -> Result<(String, String), Box<Response>> {
    let s = access
        .check_post(headers, &f.csrf)
        .map_err(|r| Box::new(page::refusal(c, r.status(), r.message(c.a))))?;
    let base = known_base(access, &f.base).ok_or_else(|| Box::new(no_base(c, &f.base)))?;
    Ok((base, s.csrf))
}

pub async fn backup(
    Extension(access): Extension<Arc<Access>>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(f): Form<ActionForm>,
) -> Response {
    let c = page::ctx(&access.agent, &headers, &visitor);
    match posted_base(&access, &c, &headers, &f) {
        Ok((base, csrf)) => confirm_page(&c, &base, &csrf, &(c.a.confirm_backup)(&base)),
        Err(refused) => *refused,
    }
}

pub async fn confirm(
    Extension(access): Extension<Arc<Access>>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(f): Form<ActionForm>,
) -> Response {
    let c = page::ctx(&access.agent, &headers, &visitor);
    let base = match posted_base(&access, &c, &headers, &f) {
        Ok((base, _)) => base,
        Err(refused) => return *refused,
    };
    match start(&access.agent, &base).await {
        Ok(s) => {
            tracing::info!(base = %s.base, run_id = ?s.run_id, "backup started from the dashboard");
            (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response()
        }
        Err(StartError::AlreadyRunning(r)) => {
            let stage = (crate::text::texts(c.page.t.code).stage)(r.stage.as_str());
            let m = (c.a.already_running)(&r.base, stage);
            page::refusal(&c, StatusCode::CONFLICT, &m)
        }
        Err(StartError::NoSuchBase(n)) => {
            page::refusal(&c, StatusCode::NOT_FOUND, &(c.a.no_base)(&n))
        }
        Err(StartError::ShuttingDown) => {
            page::refusal(&c, StatusCode::SERVICE_UNAVAILABLE, c.a.stopping)
        }
    }
}

pub async fn retry(
    Extension(access): Extension<Arc<Access>>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(run_id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> Response {
    let c = page::ctx(&access.agent, &headers, &visitor);
    let s = match access.check_post(&headers, &f.csrf) {
        Ok(s) => s,
        Err(r) => return page::refusal(&c, r.status(), r.message(c.a)),
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
            return page::refusal(&c, StatusCode::NOT_FOUND, &(c.a.no_run)(run_id));
        }
        Ok(Err(e)) => {
            tracing::warn!("dashboard retry: cannot read the history: {e}");
            return page::refusal(
                &c,
                StatusCode::INTERNAL_SERVER_ERROR,
                c.a.history_unreadable,
            );
        }
        Err(e) => {
            tracing::warn!("dashboard retry: the history read did not finish: {e}");
            return page::refusal(
                &c,
                StatusCode::INTERNAL_SERVER_ERROR,
                c.a.history_unreadable,
            );
        }
    };
    if !matches!(run.status, Status::Failed | Status::Interrupted) {
        let status = (c.page.t.status)(run.status.as_str());
        return page::refusal(&c, StatusCode::CONFLICT, &(c.a.not_failed)(run_id, status));
    }
    match known_base(&access, &run.base) {
        Some(base) => confirm_page(&c, &base, &s.csrf, &(c.a.confirm_retry)(run_id, &base)),
        None => no_base(&c, &run.base),
    }
}
