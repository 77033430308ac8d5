//! `GET /login` (the form, or what the session allows and the log-out
//! button), `POST /login` (a token for a session cookie) and
//! `POST /logout`. The token travels only in the form's body, never in a
//! URL, and is compared in constant time; a wrong one waits a little and
//! gets the form again with a reason. Both posts must come from this site
//! (`session::same_origin`), so another site can neither log a browser in
//! nor out.

use super::page::{self, Ctx};
use super::session::{Access, Level, Visitor, clear_cookie, same_origin, set_cookie};
use crate::config::credentials::is_secret;
use axum::extract::Form;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::html;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// How long a wrong token waits before its answer (slows guessing).
const WRONG_TOKEN_DELAY: Duration = Duration::from_millis(300);

pub fn routes() -> Router {
    Router::new()
        .route("/login", get(form).post(login))
        .route("/logout", post(logout))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

/// The login page, with `note` (why it is shown again) when given.
fn login_page(access: &Access, c: &Ctx, note: Option<&str>) -> String {
    let api = &access.agent.cfg.api;
    let none = api.token.as_ref().is_none_or(|t| t.is_empty())
        && api.read_token.as_ref().is_none_or(|t| t.is_empty());
    let body = html! {
        @if let Some(n) = note { p.error role="alert" { (n) } }
        @if none { p { (c.a.no_token_configured) } }
        form.login method="post" action="/login" {
            label for="token" { (c.a.token_label) }
            " "
            input #token name="token" type="password" autocomplete="current-password" required autofocus;
            " "
            button type="submit" { (c.a.log_in) }
        }
    };
    page::render(c, c.a.login_title, body)
}

pub async fn form(
    Extension(access): Extension<Arc<Access>>,
    visitor: Visitor,
    headers: HeaderMap,
) -> Response {
    let c = page::ctx(&access.agent, &headers, &visitor);
    let Some(s) = &visitor.session else {
        return page::html_answer(StatusCode::OK, login_page(&access, &c, None));
    };
    let body = html! {
        p { (if s.level == Level::Act { c.a.allows_act } else { c.a.allows_read }) }
        form.logout method="post" action="/logout" {
            input type="hidden" name="csrf" value=(s.csrf);
            button type="submit" { (c.a.log_out) }
        }
    };
    page::html_answer(StatusCode::OK, page::render(&c, c.a.logged_in_title, body))
}

pub async fn login(
    Extension(access): Extension<Arc<Access>>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let c = page::ctx(&access.agent, &headers, &visitor);
    if let Err(r) = same_origin(&headers) {
        let page = login_page(&access, &c, Some(r.message(c.a)));
        return page::html_answer(r.status(), page);
    }
    let api = &access.agent.cfg.api;
    let sent = f.token.trim().as_bytes();
    // Both comparisons always run.
    let (act, read) = (
        is_secret(sent, api.token.as_ref()),
        is_secret(sent, api.read_token.as_ref()),
    );
    let level = match (act, read) {
        (true, _) => Level::Act,
        (false, true) => Level::Read,
        (false, false) => {
            tokio::time::sleep(WRONG_TOKEN_DELAY).await;
            let page = login_page(&access, &c, Some(c.a.wrong_token));
            return page::html_answer(StatusCode::UNAUTHORIZED, page);
        }
    };
    if let Some((old, _)) = access.session_of(&headers) {
        access.sessions.remove(&old);
    }
    let (id, _) = access.sessions.create(level);
    tracing::info!(?level, "dashboard login");
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, set_cookie(&id, access.secure())),
            (header::LOCATION, "/".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response()
}

pub async fn logout(
    Extension(access): Extension<Arc<Access>>,
    visitor: Visitor,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = same_origin(&headers) {
        let c = page::ctx(&access.agent, &headers, &visitor);
        return page::refusal(&c, r.status(), r.message(c.a));
    }
    if let Some((id, _)) = access.session_of(&headers) {
        access.sessions.remove(&id);
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, clear_cookie(access.secure())),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}
