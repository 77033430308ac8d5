//! The small pages of access and actions (login, confirm, refusals) in the
//! dashboard's frame (`layout`), in the visitor's language, with their
//! strings from `text::web_access`.

use super::layout::{Nav, Page, layout};
use super::session::{Visitor, cookie};
use crate::agent::Agent;
use crate::text::{self, WebAccess};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

/// What a small page is rendered with.
pub struct Ctx {
    pub page: Page,
    pub a: &'static WebAccess,
}

/// The frame for `visitor` in the language of the `lang` cookie, else the
/// configured one.
pub fn ctx(agent: &Agent, headers: &HeaderMap, visitor: &Visitor) -> Ctx {
    let lang = super::language(None, cookie(headers, "lang"), &agent.cfg.ui_language());
    let mut page = Page::new(
        lang,
        visitor.viewer,
        jiff::Timestamp::now(),
        agent.cfg.timezone.clone(),
    );
    page.csrf = visitor.csrf().to_string();
    Ctx {
        page,
        a: text::web_access(lang),
    }
}

/// A whole page: `title` and `body` in the frame.
pub fn render(c: &Ctx, title: &str, body: Markup) -> String {
    layout(
        &c.page,
        Nav::Overview,
        title,
        html! { h1 { (title) } (body) },
    )
    .into_string()
}

/// A refusal or error page: `message`, and the login link on a 401.
pub fn refusal(c: &Ctx, status: StatusCode, message: &str) -> Response {
    let body = html! {
        p.error role="alert" { (message) }
        @if status == StatusCode::UNAUTHORIZED { p { a href="/login" { (c.a.log_in) } } }
        p { a href="/" { (c.page.t.nav_overview) } }
    };
    html_answer(status, render(c, c.a.refused_title, body))
}

/// An HTML answer that no cache keeps.
pub fn html_answer(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}
