//! `GET /login` (the form), `POST /login` (a token for a session cookie)
//! and `POST /logout`. The token travels only in the form's body, never
//! in a URL, and is compared in constant time; a wrong one waits a little
//! and gets the form again with a reason. Both posts must come from this
//! site (`session::same_origin`), so another site can neither log a
//! browser in nor out.

use super::page::{self, esc};
use super::session::{Access, Level, clear_cookie, same_origin, set_cookie};
use crate::config::credentials::is_secret;
use axum::extract::Form;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
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

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
}

/// The login page, with `note` (why it is shown again) when given.
fn login_page(access: &Access, note: Option<&str>) -> String {
    let api = &access.agent.cfg.api;
    let mut body = String::new();
    if let Some(n) = note {
        body.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", esc(n)));
    }
    let none = api.token.as_ref().is_none_or(|t| t.is_empty())
        && api.read_token.as_ref().is_none_or(|t| t.is_empty());
    if none {
        body.push_str(
            "<p>No token is configured: set API_TOKEN (view and start backups) or \
             API_READ_TOKEN (view) in the agent's settings and restart it.</p>",
        );
    }
    body.push_str(
        "<form method=\"post\" action=\"/login\" class=\"login\">\
         <label for=\"token\">Token (API_TOKEN to view and start backups, API_READ_TOKEN to view)</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
         <button type=\"submit\">Log in</button></form>",
    );
    page::render("Log in", &body)
}

/// The form; to a logged-in visitor also what the session allows and
/// the log-out button.
pub async fn form(Extension(access): Extension<Arc<Access>>, headers: HeaderMap) -> Response {
    let Some((_, s)) = access.session_of(&headers) else {
        return page::html(StatusCode::OK, login_page(&access, None));
    };
    let allows = match s.level {
        Level::Act => "You are logged in: you may view everything and start backups.",
        Level::Read => "You are logged in with the read token: you may view everything.",
    };
    let body = format!("<p>{allows}</p>{}", logout_form(&s.csrf));
    page::html(StatusCode::OK, page::render("Logged in", &body))
}

/// The log-out button (a form: logging out changes state).
pub fn logout_form(csrf: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/logout\" class=\"logout\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\">Log out</button></form>",
        esc(csrf)
    )
}

pub async fn login(
    Extension(access): Extension<Arc<Access>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if let Err(r) = same_origin(&headers) {
        return page::html(r.status(), login_page(&access, Some(r.message())));
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
            let note = "wrong token: use API_TOKEN or API_READ_TOKEN from the agent's settings";
            return page::html(StatusCode::UNAUTHORIZED, login_page(&access, Some(note)));
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
    headers: HeaderMap,
    Form(_): Form<LogoutForm>,
) -> Response {
    if let Err(r) = same_origin(&headers) {
        return page::html(r.status(), page::render("Log out", &esc(r.message())));
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
