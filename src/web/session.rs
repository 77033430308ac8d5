//! Who is looking at the dashboard and what they may do. A login
//! (`login.rs`) exchanges `API_TOKEN` (view and act) or `API_READ_TOKEN`
//! (view) for a session: a random 256-bit id (ring's `SystemRandom`) in an
//! HttpOnly, SameSite=Strict cookie (`Secure` when the agent serves TLS),
//! valid [`TTL`], kept in a bounded map in memory (a restart logs everyone
//! out). Each session has its own CSRF token, put in a hidden field of
//! every form and checked by [`Access::check_post`] together with the
//! `Origin` and `Sec-Fetch-Site` headers, so a form posted from another
//! site is refused. One layer, [`gate`], decides the [`Visitor`] and its
//! [`Viewer`] for every dashboard route: a session or the read credentials in headers → Full;
//! with `API_READ_TOKEN` or basic auth set and neither → the login page;
//! with no read protection, loopback → Full, anyone else → Anonymous.

use super::{Csrf, Viewer};
use crate::agent::Agent;
use crate::config::credentials::{ct_eq, read_guarded, reads_by_headers};
use crate::text::WebAccess;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Router};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a session lives.
pub const TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; a new one beyond it replaces the oldest.
pub const MAX_SESSIONS: usize = 256;
/// The session cookie's name.
pub const COOKIE: &str = "obb_session";

/// Who sent a request, as the accept loop saw it (`api::server` inserts
/// it into every request; a request without one counts as remote).
#[derive(Debug, Clone, Copy)]
pub struct Client {
    pub loopback: bool,
}

/// What a session may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Logged in with `API_READ_TOKEN`: view everything.
    Read,
    /// Logged in with `API_TOKEN`: view everything and start backups.
    Act,
}

/// One logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub level: Level,
    /// The token of this session's forms.
    pub csrf: String,
    created: Instant,
}

/// The sessions in memory, at most [`MAX_SESSIONS`].
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    rng: SystemRandom,
    ttl: Duration,
}

impl Sessions {
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            rng: SystemRandom::new(),
            ttl,
        }
    }

    /// 32 random bytes in hex.
    fn random(&self) -> String {
        let mut b = [0u8; 32];
        self.rng
            .fill(&mut b)
            .expect("the operating system's random source failed");
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// A new session: its id (the cookie's value) and the session.
    pub fn create(&self, level: Level) -> (String, Session) {
        let (id, csrf) = (self.random(), self.random());
        let s = Session {
            level,
            csrf,
            created: Instant::now(),
        };
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let ttl = self.ttl;
        map.retain(|_, v| v.created.elapsed() < ttl);
        while map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, v)| v.created)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(id.clone(), s.clone());
        (id, s)
    }

    /// The live session with this id (an expired one is removed).
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.get(id)?;
        if s.created.elapsed() >= self.ttl {
            map.remove(id);
            return None;
        }
        Some(s.clone())
    }

    pub fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the dashboard's access handlers share (an axum `Extension`, so the
/// pages' router can use [`Visitor`] whatever its own state is).
pub struct Access {
    pub agent: Arc<Agent>,
    pub sessions: Sessions,
    /// Open `/events` streams (see `events.rs`).
    pub streams: AtomicUsize,
}

impl Access {
    pub fn new(agent: Arc<Agent>) -> Arc<Access> {
        Arc::new(Access {
            agent,
            sessions: Sessions::new(TTL),
            streams: AtomicUsize::new(0),
        })
    }

    /// Whether the cookie gets `Secure` (the agent serves HTTPS).
    pub fn secure(&self) -> bool {
        self.agent.cfg.api.tls.is_some()
    }

    /// The session the request's cookie names, if live.
    pub fn session_of(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let id = cookie(headers, COOKIE)?;
        self.sessions.get(id).map(|s| (id.to_string(), s))
    }

    /// A form post that acts (start a backup): from this site, by a
    /// session logged in with `API_TOKEN`, carrying its CSRF token.
    pub fn check_post(&self, headers: &HeaderMap, csrf: &str) -> Result<Session, Refusal> {
        same_origin(headers)?;
        if self
            .agent
            .cfg
            .api
            .token
            .as_ref()
            .is_none_or(|t| t.is_empty())
        {
            return Err(Refusal::Disabled);
        }
        let Some((_, s)) = self.session_of(headers) else {
            return Err(Refusal::LogIn);
        };
        if s.level != Level::Act {
            return Err(Refusal::ReadOnly);
        }
        if !ct_eq(csrf.as_bytes(), s.csrf.as_bytes()) {
            return Err(Refusal::Csrf);
        }
        Ok(s)
    }
}

/// Why a form post was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Posted from another site (`Origin` / `Sec-Fetch-Site`).
    CrossSite,
    /// No session: log in first.
    LogIn,
    /// The session was made with `API_READ_TOKEN`.
    ReadOnly,
    /// Missing or wrong CSRF token.
    Csrf,
    /// `API_TOKEN` is not set: actions are off.
    Disabled,
}

impl Refusal {
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::LogIn => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
        }
    }

    /// What to tell the visitor (never a secret).
    pub fn message(self, a: &'static WebAccess) -> &'static str {
        match self {
            Refusal::CrossSite => a.cross_site,
            Refusal::LogIn => a.must_log_in,
            Refusal::ReadOnly => a.read_only,
            Refusal::Csrf => a.bad_csrf,
            Refusal::Disabled => a.actions_off,
        }
    }
}

/// Refuse a request a browser marks as cross-site: `Sec-Fetch-Site` other
/// than `same-origin`, or an `Origin` whose host is not the `Host` asked
/// for. Requests with neither header (not from a browser) pass here and
/// still need the CSRF token.
pub fn same_origin(headers: &HeaderMap) -> Result<(), Refusal> {
    if let Some(site) = headers.get("sec-fetch-site")
        && site.as_bytes() != b"same-origin"
    {
        return Err(Refusal::CrossSite);
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).map(|h| h.as_bytes());
    let origin = origin.as_bytes();
    let authority = origin
        .strip_prefix(b"https://")
        .or_else(|| origin.strip_prefix(b"http://"));
    match (authority, host) {
        (Some(a), Some(h)) if a.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(Refusal::CrossSite),
    }
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` of a new session.
pub fn set_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        TTL.as_secs()
    )
}

/// The `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// The visitor of a page: what they may see, and their session if any.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub viewer: Viewer,
    pub session: Option<Session>,
}

impl Visitor {
    /// The CSRF token for the page's forms ("" without a session: the
    /// action then answers with the login page).
    pub fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.csrf.as_str())
    }

    /// Whether the visitor may start backups.
    pub fn can_act(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.level == Level::Act)
    }

    /// Whether the visitor is logged in (shows "log out").
    pub fn logged_in(&self) -> bool {
        self.session.is_some()
    }
}

/// The viewer by the rules of the module: `session` or `by_headers` →
/// Full; else `guarded` → `None` (log in); else loopback → Full, others →
/// Anonymous.
pub fn decide(session: bool, by_headers: bool, guarded: bool, loopback: bool) -> Option<Viewer> {
    if session || by_headers {
        return Some(Viewer::Full);
    }
    match (guarded, loopback) {
        (true, _) => None,
        (false, true) => Some(Viewer::Full),
        (false, false) => Some(Viewer::Anonymous),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = std::convert::Infallible;

    /// The visitor [`gate`] decided (Anonymous without a session when the
    /// gate did not run).
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .unwrap_or(Visitor {
                viewer: Viewer::Anonymous,
                session: None,
            }))
    }
}

/// Paths that decide access themselves: the login form, the assets, the
/// actions (401/403 with a reason) and the event stream (401).
fn open_path(path: &str) -> bool {
    path == "/login"
        || path == "/logout"
        || path.starts_with("/assets/")
        || path.starts_with("/actions/")
}

/// The access layer of every dashboard route: decide the [`Visitor`] (see
/// [`decide`]) and put it, its [`Viewer`] and its [`Csrf`] into the
/// request for the pages; send a visitor who must log in to `/login`
/// (`/events`: 401).
pub async fn gate(mut req: Request, next: Next) -> Response {
    let Some(access) = req.extensions().get::<Arc<Access>>().cloned() else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "dashboard access not wired",
        )
            .into_response();
    };
    let loopback = req.extensions().get::<Client>().is_some_and(|c| c.loopback);
    let api = &access.agent.cfg.api;
    let headers = req.headers();
    let session = access.session_of(headers).map(|(_, s)| s);
    let by_headers = reads_by_headers(headers, api);
    let viewer = decide(session.is_some(), by_headers, read_guarded(api), loopback);
    let path = req.uri().path();
    let viewer = match viewer {
        Some(v) => v,
        None if open_path(path) => Viewer::Anonymous,
        None if path == "/events" => {
            return (StatusCode::UNAUTHORIZED, "log in first: /login").into_response();
        }
        None => return Redirect::to("/login").into_response(),
    };
    let visitor = Visitor { viewer, session };
    let ext = req.extensions_mut();
    ext.insert(viewer);
    ext.insert(Csrf(visitor.csrf().to_string()));
    ext.insert(visitor);
    next.run(req).await
}

/// The header's "log in" link, or "log out" (a form) with a session.
pub fn header_link(p: &super::Page) -> maud::Markup {
    let a = crate::text::web_access(p.t.code);
    maud::html! {
        @if p.csrf.is_empty() {
            a.login href="/login" { (a.log_in) }
        } @else {
            form.logout method="post" action="/logout" {
                input type="hidden" name="csrf" value=(p.csrf);
                button.link type="submit" { (a.log_out) }
            }
        }
    }
}

/// `pages` with the access routes (login, logout, events, actions) added,
/// all behind [`gate`], with the shared [`Access`].
pub fn with_access(agent: Arc<Agent>, pages: Router) -> Router {
    let access = Access::new(agent);
    pages
        .merge(super::login::routes())
        .merge(super::events::routes())
        .merge(super::actions::routes())
        .layer(axum::middleware::from_fn(gate))
        .layer(Extension(access))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn sessions_are_random_bounded_and_expire() {
        let s = Sessions::new(TTL);
        let (a, sa) = s.create(Level::Act);
        let (b, sb) = s.create(Level::Read);
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(sa.csrf, sb.csrf);
        assert_ne!(a, sa.csrf, "the CSRF token is not the session id");
        assert_eq!(s.get(&a).unwrap().level, Level::Act);
        s.remove(&a);
        assert!(s.get(&a).is_none());
        for _ in 0..MAX_SESSIONS + 10 {
            s.create(Level::Read);
        }
        assert_eq!(s.len(), MAX_SESSIONS);
        assert!(s.get(&b).is_none(), "the oldest made room");
        let short = Sessions::new(Duration::from_millis(1));
        let (c, _) = short.create(Level::Act);
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.get(&c).is_none(), "expired");
        assert!(short.is_empty());
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let host = ("host", "127.0.0.1:8080");
        assert!(same_origin(&headers(&[host])).is_ok());
        assert!(same_origin(&headers(&[host, ("origin", "http://127.0.0.1:8080")])).is_ok());
        assert!(same_origin(&headers(&[host, ("sec-fetch-site", "same-origin")])).is_ok());
        for bad in [
            &[host, ("origin", "http://evil.example")][..],
            &[host, ("origin", "null")],
            &[host, ("origin", "http://127.0.0.1:8081")],
            &[("origin", "http://127.0.0.1:8080")],
            &[host, ("sec-fetch-site", "cross-site")],
            &[host, ("sec-fetch-site", "same-site")],
            &[
                host,
                ("origin", "http://127.0.0.1:8080"),
                ("sec-fetch-site", "cross-site"),
            ],
        ] {
            assert_eq!(
                same_origin(&headers(bad)),
                Err(Refusal::CrossSite),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn cookies_are_read_and_set_with_their_flags() {
        let h = headers(&[("cookie", "lang=ru; obb_session=abc"), ("cookie", "x=1")]);
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "x"), Some("1"));
        assert_eq!(cookie(&h, "obb"), None);
        let c = set_cookie("abc", true);
        for flag in [
            "HttpOnly",
            "SameSite=Strict",
            "Max-Age=43200",
            "Secure",
            "Path=/",
        ] {
            assert!(c.contains(flag), "{c}");
        }
        assert!(!set_cookie("abc", false).contains("Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }

    #[test]
    fn the_viewer_follows_the_rules() {
        use Viewer::*;
        assert_eq!(decide(true, false, true, false), Some(Full));
        assert_eq!(decide(false, true, true, false), Some(Full));
        assert_eq!(
            decide(false, false, true, true),
            None,
            "guarded: even loopback logs in"
        );
        assert_eq!(decide(false, false, false, true), Some(Full));
        assert_eq!(decide(false, false, false, false), Some(Anonymous));
    }
}
