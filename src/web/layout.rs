//! The frame every dashboard page shares: the document head (the embedded
//! stylesheet and hover script), the navigation, the language switch, the
//! note an anonymous visitor sees; plus the small formatting helpers the
//! pages use (local times, ages in words, status colours).

use crate::text::{self, Units, Web};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{DOCTYPE, Markup, html};

/// Who is looking: everything, or only what `/api/health` tells an
/// anonymous caller (status and ages; no paths, no user names, no
/// history).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Full,
    Anonymous,
}

/// Which navigation entry is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    History,
    Charts,
}

/// What every page renderer is given besides its model: the language,
/// who looks, the CSRF token for forms, the clock and the time zone.
#[derive(Clone)]
pub struct Page {
    pub t: &'static Web,
    pub units: &'static Units,
    pub viewer: Viewer,
    pub csrf: String,
    pub now: Timestamp,
    pub tz: TimeZone,
    /// The page's path, for the language switch link.
    pub path: String,
}

impl Page {
    /// A page in `lang` for `viewer` at `now`.
    pub fn new(lang: &str, viewer: Viewer, now: Timestamp, tz: TimeZone) -> Page {
        Page {
            t: text::web(lang),
            units: &text::texts(lang).units,
            viewer,
            csrf: String::new(),
            now,
            tz,
            path: "/".into(),
        }
    }

    pub fn full(&self) -> bool {
        self.viewer == Viewer::Full
    }

    /// Unix seconds now.
    pub fn now_unix(&self) -> f64 {
        self.now.as_millisecond() as f64 / 1000.0
    }

    /// `2026-12-03 14:05` in the agent's time zone.
    pub fn local(&self, unix: f64) -> String {
        Timestamp::from_millisecond((unix * 1000.0) as i64)
            .map(|t| {
                t.to_zoned_datetime(self.tz.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }

    /// `3 h 05 min ago` for a moment in the past.
    pub fn ago(&self, unix: f64) -> String {
        (self.t.ago)(&self.units.duration(self.now_unix() - unix))
    }

    pub fn bytes(&self, n: u64) -> String {
        self.units.bytes(n)
    }
}

/// The CSS class of a status text (`ok`, `failed`, `running`, …).
pub fn status_class(status: &str) -> &'static str {
    match status {
        "ok" => "good",
        "running" => "busy",
        "skipped" => "warn",
        _ => "bad",
    }
}

/// The whole document around `body`.
pub fn layout(p: &Page, nav: Nav, title: &str, body: Markup) -> Markup {
    let t = p.t;
    let tab = |which: Nav, href: &str, label: &str| {
        html! { a href=(href) aria-current=[(nav == which).then_some("page")] { (label) } }
    };
    html! {
        (DOCTYPE)
        html lang=(t.code) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " — " (t.app_title) }
                link rel="stylesheet" href=(super::assets::css_href());
                script src=(super::assets::js_href()) defer {}
                script src=(super::events::live_href()) defer {}
            }
            body {
                header.top {
                    a.brand href="/" { (t.app_title) }
                    nav {
                        (tab(Nav::Overview, "/", t.nav_overview))
                        @if p.full() {
                            (tab(Nav::History, "/history", t.nav_history))
                            (tab(Nav::Charts, "/charts", t.nav_charts))
                        }
                    }
                    a.lang href={ (p.path) "?lang=" (t.other_code) } hreflang=(t.other_code) { (t.other_name) }
                    (super::session::header_link(p))
                }
                @if !p.full() {
                    p.note { (t.anonymous_note) }
                }
                main { (body) }
            }
        }
    }
}
