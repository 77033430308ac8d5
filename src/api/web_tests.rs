//! The dashboard's access over real TCP on loopback (the router as the
//! agent serves it): login and its cookie's flags (`Secure` under TLS),
//! CSRF and cross-site refusals of every action, logout invalidating the
//! session, a read-only session, actions without `API_TOKEN`, and the
//! `/events` stream (its cap, outliving the request timeout, a run's
//! progress and end).

use super::hardening_tests::tls_world;
use super::server::{Limits, Options};
use super::tests::{World, http, request, wait_for_backups, world_with};
use super::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const TOKEN: &str = "act-T0ken-secret-1";
const READ: &str = "read-T0ken-secret-2";

fn opts(request: Duration) -> impl FnOnce(&crate::config::Config) -> Options {
    move |_| Options {
        limits: Limits {
            header_read: Duration::from_secs(5),
            request,
            max_connections: 64,
        },
        tls: None,
        all_peers_remote: false,
    }
}

/// A form post with `headers` added (a same-site browser's by default).
async fn post(
    w: &World,
    target: &str,
    body: &str,
    cookie: Option<&str>,
    extra: &[(&'static str, &'static str)],
) -> http::Reply {
    let port = w.addr.port();
    let (target, body) = (target.to_string(), body.to_string());
    let cookie = cookie.map(|c| format!("{}={c}", crate::web::session::COOKIE));
    let extra = extra.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(c) = &cookie {
            h.push(("Cookie", c));
        }
        h.extend(extra.iter().copied());
        http::request(port, "POST", target.as_bytes(), &h, body.as_bytes())
    })
    .await
    .unwrap()
}

async fn get_with_cookie(w: &World, target: &str, cookie: &str) -> http::Reply {
    let port = w.addr.port();
    let target = target.to_string();
    let cookie = format!("{}={cookie}", crate::web::session::COOKIE);
    tokio::task::spawn_blocking(move || {
        http::request(port, "GET", target.as_bytes(), &[("Cookie", &cookie)], b"")
    })
    .await
    .unwrap()
}

/// The header `name` of `r` (first one), lower-cased name match.
fn header<'a>(r: &'a http::Reply, name: &str) -> Option<&'a str> {
    r.head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Log in with `token`: the session id from the cookie.
async fn login(w: &World, token: &str) -> String {
    let r = post(w, "/login", &format!("token={token}"), None, &[]).await;
    assert_eq!(r.status, 303, "{}", r.text());
    let c = header(&r, "set-cookie").expect("a session cookie");
    let v = c.split(';').next().unwrap();
    v.split_once('=').unwrap().1.to_string()
}

/// The login form posted with the right token from the page at `origin`.
async fn login_from(w: &World, origin: &'static str) -> http::Reply {
    post(
        w,
        "/login",
        &format!("token={TOKEN}"),
        None,
        &[("Origin", origin)],
    )
    .await
}

/// `r` is the backup's confirm step, and nothing runs yet.
fn assert_confirm_page(w: &World, r: &http::Reply) {
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("action=\"/actions/backup/confirm\""),
        "{}",
        r.text()
    );
    assert!(
        !w.agent.jobs.is_running("buh"),
        "the confirm step starts nothing"
    );
}

/// The CSRF token of a session, from its log-out form.
async fn csrf(w: &World, cookie: &str) -> String {
    let t = get_with_cookie(w, "/login", cookie).await.text();
    let at = t.find("name=\"csrf\" value=\"").expect("a logout form") + 19;
    t[at..at + 64].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_cookie_csrf_cross_site_and_logout() {
    let w = world_with(
        &[("API_TOKEN", TOKEN), ("API_READ_TOKEN", READ)],
        opts(Duration::from_secs(30)),
    )
    .await;
    // A wrong token: 401, no cookie, no secret echoed.
    let r = post(&w, "/login", "token=nope", None, &[]).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(header(&r, "set-cookie").is_none());
    assert!(!r.text().contains(TOKEN) && !r.text().contains(READ));
    // A login form posted from another site.
    let r = login_from(&w, "http://evil.example").await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(header(&r, "set-cookie").is_none());
    // The right token: the cookie and its flags.
    let r = login_from(&w, "http://127.0.0.1").await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(header(&r, "location"), Some("/"));
    let c = header(&r, "set-cookie").unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Max-Age=43200", "Path=/"] {
        assert!(c.contains(flag), "{c}");
    }
    assert!(!c.contains("Secure"), "plain HTTP: {c}");
    assert!(!c.contains(TOKEN), "{c}");
    let act = login(&w, TOKEN).await;
    let token = csrf(&w, &act).await;
    assert_ne!(token, act);

    // Every action refuses: no session, no/wrong CSRF, another site.
    let good = format!("base=buh&csrf={token}");
    for (what, cookie, body, extra, code) in [
        ("no session", None, good.as_str(), &[][..], 401),
        ("no csrf", Some(act.as_str()), "base=buh", &[], 403),
        ("wrong csrf", Some(&act), "base=buh&csrf=00ff", &[], 403),
        (
            "foreign origin",
            Some(&act),
            &good,
            &[("Origin", "http://evil.example")],
            403,
        ),
        (
            "cross-site fetch",
            Some(&act),
            &good,
            &[("Sec-Fetch-Site", "cross-site")],
            403,
        ),
    ] {
        for target in [
            "/actions/backup",
            "/actions/backup/confirm",
            "/actions/retry/1",
        ] {
            let r = post(&w, target, body, cookie, extra).await;
            assert_eq!(r.status, code, "{what} {target}: {}", r.text());
        }
    }
    assert!(!w.agent.jobs.is_running("buh"), "nothing started");

    // A read-only session views but never acts.
    let read = login(&w, READ).await;
    let rt = csrf(&w, &read).await;
    let r = post(
        &w,
        "/actions/backup",
        &format!("base=buh&csrf={rt}"),
        Some(&read),
        &[],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());

    // The real thing: the confirm page, then the run.
    let r = post(
        &w,
        "/actions/backup",
        &good,
        Some(&act),
        &[
            ("Origin", "http://127.0.0.1"),
            ("Sec-Fetch-Site", "same-origin"),
        ],
    )
    .await;
    assert_confirm_page(&w, &r);
    assert!(
        r.text().contains(&token),
        "the confirm form carries the csrf"
    );
    let r = post(
        &w,
        "/actions/backup",
        "base=nope&csrf=".to_string().as_str(),
        Some(&act),
        &[],
    )
    .await;
    assert_eq!(r.status, 403, "wrong csrf first: {}", r.text());
    let r = post(&w, "/actions/backup/confirm", &good, Some(&act), &[]).await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(header(&r, "location"), Some("/"));
    wait_for_backups(&w).await;
    let runs = request(w.addr, "GET", b"/api/backups?base=buh", Some(TOKEN))
        .await
        .json();
    assert_eq!(runs["runs"][0]["status"], "ok", "{runs}");
    assert_eq!(runs["runs"][0]["trigger"], "api", "{runs}");
    let id = runs["runs"][0]["id"].as_i64().unwrap();
    // Retry: only failed runs; unknown runs are 404.
    let body = format!("csrf={token}");
    let r = post(&w, &format!("/actions/retry/{id}"), &body, Some(&act), &[]).await;
    assert_eq!(r.status, 409, "{}", r.text());
    let r = post(&w, "/actions/retry/99999", &body, Some(&act), &[]).await;
    assert_eq!(r.status, 404, "{}", r.text());

    // A failed run: its page offers the retry, which leads to the confirm step.
    std::fs::remove_file(w.dir.path().join("buh/1Cv8.1CD")).unwrap();
    let r = request(w.addr, "POST", b"/api/backup?base=buh", Some(TOKEN)).await;
    assert_eq!(r.status, 202, "{}", r.text());
    wait_for_backups(&w).await;
    let runs = request(w.addr, "GET", b"/api/backups?base=buh", Some(TOKEN))
        .await
        .json();
    assert_eq!(runs["runs"][0]["status"], "failed", "{runs}");
    let failed = runs["runs"][0]["id"].as_i64().unwrap();
    let page = get_with_cookie(&w, &format!("/runs/{failed}"), &act)
        .await
        .text();
    assert!(
        page.contains(&format!("action=\"/actions/retry/{failed}\"")),
        "{page}"
    );
    let ok_page = get_with_cookie(&w, &format!("/runs/{id}"), &act)
        .await
        .text();
    assert!(
        !ok_page.contains("/actions/retry/"),
        "no retry for a good run"
    );
    let r = post(
        &w,
        &format!("/actions/retry/{failed}"),
        &body,
        Some(&act),
        &[],
    )
    .await;
    assert_confirm_page(&w, &r);

    // Log out: the session is gone on the server, the cookie cleared.
    let r = post(&w, "/logout", &body, Some(&act), &[]).await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(header(&r, "set-cookie").unwrap().contains("Max-Age=0"));
    let r = post(&w, "/actions/backup", &good, Some(&act), &[]).await;
    assert_eq!(r.status, 401, "the old cookie is dead: {}", r.text());
    let r = get_with_cookie(&w, "/login", &act).await;
    assert!(r.text().contains("name=\"token\""), "{}", r.text());
    w.agent.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_api_token_actions_are_off_and_login_says_why() {
    let w = world_with(&[], opts(Duration::from_secs(30))).await;
    let r = post(&w, "/login", "token=anything", None, &[]).await;
    assert_eq!(r.status, 401);
    assert!(r.text().contains("API_TOKEN"), "{}", r.text());
    for target in [
        "/actions/backup",
        "/actions/backup/confirm",
        "/actions/retry/1",
    ] {
        let r = post(&w, target, "base=buh&csrf=x", None, &[]).await;
        assert_eq!(r.status, 403, "{target}: {}", r.text());
        assert!(r.text().contains("API_TOKEN"), "{}", r.text());
    }
    w.agent.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_secure_under_tls() {
    let (_certs, w, client) = tls_world(&[("API_TOKEN", TOKEN)], server::LIMITS).await;
    let client = client
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/login", w.addr.port());
    let r = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let c = r.headers()["set-cookie"].to_str().unwrap().to_string();
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Max-Age=43200"] {
        assert!(c.contains(flag), "{c}");
    }
    w.agent.shutdown.cancel();
}

/// Open `/events` and return the socket once its head has come.
fn open_events(addr: std::net::SocketAddr) -> (std::net::TcpStream, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    (s, String::from_utf8_lossy(&got).into_owned())
}

/// Read from `s` until `done` says so (or 60 s): what came.
fn read_until(s: &mut std::net::TcpStream, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while !done(&got) {
        assert!(Instant::now() < deadline, "timed out; so far: {got}");
        match s.read(&mut buf) {
            Ok(0) => panic!("the stream closed; so far: {got}"),
            Ok(n) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) => panic!("{e}; so far: {got}"),
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_capped_outlive_the_request_timeout_and_report_a_run() {
    let w = world_with(&[("API_TOKEN", TOKEN)], opts(Duration::from_millis(300))).await;
    // The agent's feed of finished runs, as `daemon::run` starts it.
    tokio::spawn(crate::backup::feed::run(
        w.agent.feed.clone(),
        w.agent.jobs.subscribe(),
        w.agent.cfg.clone(),
        0,
        w.agent.shutdown.clone(),
    ));
    let addr = w.addr;
    let (mut first, head) = tokio::task::spawn_blocking(move || open_events(addr))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    // Fill the cap, then one more: 503.
    let cap = crate::web::events::MAX_STREAMS;
    let (others, over) = tokio::task::spawn_blocking(move || {
        let others: Vec<_> = (1..cap).map(|_| open_events(addr)).collect();
        assert!(others.iter().all(|(_, h)| h.starts_with("HTTP/1.1 200")));
        let over = http::request(addr.port(), "GET", b"/events", &[], b"");
        (others, over)
    })
    .await
    .unwrap();
    assert_eq!(over.status, 503, "{}", over.text());
    drop(others);
    // Streams closed by their clients free their slots.
    let mut reopened = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut b = [0u8; 12];
            let _ = s.read_exact(&mut b);
            b
        })
        .await
        .unwrap();
        if r.starts_with(b"HTTP/1.1 200") {
            reopened = true;
            break;
        }
    }
    assert!(reopened, "closed streams free their slots");
    // Well past the 300 ms request timeout, the first stream still
    // delivers: a run's progress and its end.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let r = request(w.addr, "POST", b"/api/backup?base=buh", Some(TOKEN)).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let got = tokio::task::spawn_blocking(move || {
        read_until(&mut first, |t| t.contains("event: finished"))
    })
    .await
    .unwrap();
    assert!(got.contains("event: progress"), "{got}");
    assert!(
        got.contains("\"stage\":\"preparing\"") || got.contains("\"stage\":\"packing\""),
        "{got}"
    );
    assert!(got.contains("\"base\":\"buh\""), "{got}");
    let fin = &got[got.find("event: finished").unwrap()..];
    assert!(fin.contains("\"status\":\"ok\""), "{fin}");
    wait_for_backups(&w).await;
    w.agent.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_sees_what_loopback_network_and_a_read_guard() {
    // Open reads, a caller on the network: Anonymous (no paths, no form).
    let w = world_with(&[("API_TOKEN", TOKEN)], |_| Options {
        limits: server::LIMITS,
        tls: None,
        all_peers_remote: true,
    })
    .await;
    let r = request(w.addr, "GET", b"/", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let dir = w.dir.path().display().to_string();
    assert!(
        !r.text().contains(&dir),
        "a path shown to the network: {}",
        r.text()
    );
    assert!(!r.text().contains("/actions/backup"), "{}", r.text());
    assert!(r.text().contains("href=\"/login\""), "{}", r.text());
    // Logged in from the network: everything, and the form with its token.
    let id = login(&w, TOKEN).await;
    let r = get_with_cookie(&w, "/", &id).await;
    assert!(
        r.text().contains("action=\"/actions/backup\""),
        "{}",
        r.text()
    );
    assert!(r.text().contains(&csrf(&w, &id).await), "{}", r.text());
    w.agent.shutdown.cancel();

    // Loopback, open reads: everything without logging in.
    let w = world_with(&[("API_TOKEN", TOKEN)], opts(Duration::from_secs(30))).await;
    let r = request(w.addr, "GET", b"/", None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("/runs/") || r.text().contains("action=\"/actions/backup\""),
        "{}",
        r.text()
    );
    w.agent.shutdown.cancel();

    // A read token: even loopback logs in; the stream answers 401.
    let w = world_with(
        &[("API_TOKEN", TOKEN), ("API_READ_TOKEN", READ)],
        opts(Duration::from_secs(30)),
    )
    .await;
    let r = request(w.addr, "GET", b"/", None).await;
    assert_eq!(r.status, 303);
    assert_eq!(header(&r, "location"), Some("/login"));
    assert_eq!(request(w.addr, "GET", b"/events", None).await.status, 401);
    assert_eq!(request(w.addr, "GET", b"/", Some(READ)).await.status, 200);
    let id = login(&w, READ).await;
    assert_eq!(get_with_cookie(&w, "/", &id).await.status, 200);
    w.agent.shutdown.cancel();
}
