//! The web dashboard the agent serves beside its API: server-rendered
//! HTML pages (maud templates, checked at compile time) for people on the
//! LAN — the overview of every base and the server (`overview`), the run
//! history and one run (`history`), and charts drawn as SVG (`charts`) —
//! with the stylesheet and a tiny hover script embedded in the binary
//! (`assets`), so nothing is fetched from any other host and every read
//! view works without JavaScript.
//!
//! Each page is a pure renderer of a plain model (unit-tested without an
//! agent) plus a handler that reads the agent into that model. Every
//! renderer takes the [`Viewer`]: `Full` or `Anonymous` (only what
//! `/api/health` tells an anonymous caller). Which one a request gets, the
//! login session and CSRF checks are decided before these handlers, by the
//! API's access layer, which puts a [`Viewer`] and a [`Csrf`] value in the
//! request's extensions; without them a request is `Anonymous`.
//!
//! That access layer is `session::gate` (login sessions, `session`;
//! the login form, `login`), wrapped around every route here with the
//! actions (`actions`: "Back up now", retry) and the live progress stream
//! (`events`).

mod actions;
mod assets;
pub mod charts;
pub mod events;
pub mod history;
pub mod layout;
mod login;
pub mod overview;
mod page;
pub mod session;
pub mod svg;

pub use layout::{Page, Viewer};
pub use session::Client;

use crate::agent::Agent;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

/// The bytes of the embedded stylesheet and script (a first visit loads
/// them once; they are cached a year).
pub const ASSET_BYTES: usize = assets::CSS.len() + assets::JS.len();

/// The CSRF token of the visitor's session, put in the request's
/// extensions by the access layer; forms carry it in a `csrf` field.
#[derive(Debug, Clone, Default)]
pub struct Csrf(pub String);

/// The dashboard's routes (merged into `api::router`).
pub fn routes(agent: Arc<Agent>) -> Router {
    let pages = Router::new()
        .route("/", get(overview::handler))
        .route("/history", get(history::handler))
        .route("/runs/{id}", get(history::run_handler))
        .route("/charts", get(charts::handler))
        .route(assets::CSS_ROUTE, get(assets::css))
        .route(assets::JS_ROUTE, get(assets::js))
        .with_state(agent.clone());
    session::with_access(agent, pages)
}

/// The language a page is shown in: `?lang=` (remembered in a `lang`
/// cookie), else the cookie, else `UI_LANGUAGE` / `BOT_LANGUAGE`.
pub fn language(query: Option<&str>, cookie: Option<&str>, configured: &str) -> &'static str {
    let pick = |s: &str| match s {
        "en" => Some("en"),
        "ru" => Some("ru"),
        _ => None,
    };
    query
        .and_then(pick)
        .or_else(|| cookie.and_then(pick))
        .or_else(|| pick(configured))
        .unwrap_or("ru")
}

/// What a page request brings: who asks, in which language, the CSRF
/// token for forms, and the path (for the language switch).
#[derive(Debug, Clone)]
pub struct Visit {
    pub viewer: Viewer,
    pub lang: &'static str,
    /// `?lang=` was given: remember it in the cookie.
    pub set_lang: bool,
    pub csrf: String,
    pub path: String,
}

/// The value of the first `name=` pair in a query string or cookie header.
fn pair<'a>(text: &'a str, sep: char, name: &str) -> Option<&'a str> {
    text.split(sep)
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<Arc<Agent>> for Visit {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        agent: &Arc<Agent>,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().and_then(|q| pair(q, '&', "lang"));
        let cookie = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| pair(c, ';', "lang"));
        Ok(Visit {
            viewer: parts
                .extensions
                .get::<Viewer>()
                .copied()
                .unwrap_or(Viewer::Anonymous),
            lang: language(query, cookie, &agent.cfg.ui_language()),
            set_lang: query.is_some(),
            csrf: parts
                .extensions
                .get::<Csrf>()
                .map(|c| c.0.clone())
                .unwrap_or_default(),
            path: parts.uri.path().to_string(),
        })
    }
}

impl Visit {
    /// The renderers' context for this visit at `now`.
    pub fn page(&self, now: jiff::Timestamp, tz: jiff::tz::TimeZone) -> Page {
        let mut p = Page::new(self.lang, self.viewer, now, tz);
        p.csrf = self.csrf.clone();
        p.path = self.path.clone();
        p
    }

    /// [`Visit::page`] for a page only a full viewer sees: the page now, or
    /// the 403 an anonymous visitor gets instead (the page's frame with the
    /// note on how to enable the rest).
    pub fn full_page(
        &self,
        tz: jiff::tz::TimeZone,
        nav: layout::Nav,
        title: impl Fn(&Page) -> &'static str,
    ) -> Result<Page, Box<Response>> {
        let p = self.page(jiff::Timestamp::now(), tz);
        if p.full() {
            return Ok(p);
        }
        let body = maud::html! { p.muted { (p.t.anonymous_note) } };
        let m = layout::layout(&p, nav, title(&p), body);
        Err(Box::new(
            (axum::http::StatusCode::FORBIDDEN, html(self, m)).into_response(),
        ))
    }
}

/// A rendered page as a response: HTML, never cached, and the language
/// cookie when the visitor switched.
pub fn html(visit: &Visit, markup: maud::Markup) -> Response {
    let mut resp = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        markup.into_string(),
    )
        .into_response();
    if visit.set_lang {
        let cookie = format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
            visit.lang
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests;
