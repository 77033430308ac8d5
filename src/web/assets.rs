//! The stylesheet and the chart hover script, embedded in the binary and
//! served under a content-hashed query so browsers may keep them a year.

use axum::http::header;
use axum::response::IntoResponse;
use std::sync::LazyLock;

pub const CSS_ROUTE: &str = "/assets/app.css";
pub const JS_ROUTE: &str = "/assets/app.js";

pub const CSS: &str = include_str!("app.css");
pub const JS: &str = include_str!("app.js");

/// `/assets/app.css?v=<crc32>`: a new link whenever the file changes.
pub fn css_href() -> &'static str {
    static HREF: LazyLock<String> =
        LazyLock::new(|| format!("{CSS_ROUTE}?v={:08x}", crc32fast::hash(CSS.as_bytes())));
    &HREF
}

pub fn js_href() -> &'static str {
    static HREF: LazyLock<String> =
        LazyLock::new(|| format!("{JS_ROUTE}?v={:08x}", crc32fast::hash(JS.as_bytes())));
    &HREF
}

const YEAR: &str = "public, max-age=31536000, immutable";

pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, YEAR),
        ],
        CSS,
    )
}

pub async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, YEAR),
        ],
        JS,
    )
}
