//! The dashboard's access end to end over real HTTP with the real agent:
//! with `API_READ_TOKEN` set, pages send a stranger to the login form and
//! the live stream answers 401; every action without a session answers
//! 401/403 (a bearer token is no form session); after logging in, no page
//! body — overview, login, history, a run, charts, the confirm page, a
//! refusal — holds `API_TOKEN`, `API_READ_TOKEN`, the bot token or the 1C
//! password.
#![cfg(unix)]

use crate::util::fake_telegram::FakeTelegram;
use crate::util::http::{Reply, request};
use crate::util::{PASSWORD, World};

const TOKEN: &str = "act-E2e-T0ken-secret";
const READ: &str = "read-E2e-T0ken-secret";
const BOT: &str = "123456:AAE-web-e2e-bot-token";

fn form(port: u16, target: &str, body: &str, cookie: Option<&str>, auth: Option<&str>) -> Reply {
    let cookie = cookie.map(|c| format!("obb_session={c}"));
    let auth = auth.map(|t| format!("Bearer {t}"));
    let mut h = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(c) = &cookie {
        h.push(("Cookie", c));
    }
    if let Some(a) = &auth {
        h.push(("Authorization", a));
    }
    request(port, "POST", target, &h, body.as_bytes())
}

fn page(port: u16, target: &str, cookie: &str) -> Reply {
    let c = format!("obb_session={cookie}");
    request(port, "GET", target, &[("Cookie", &c)], b"")
}

fn header<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
    r.head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn pages_need_the_read_token_actions_need_a_session_and_no_page_shows_a_secret() {
    let w = World::new(32);
    w.cmd().arg("backup").assert().success();
    let tg = FakeTelegram::start();
    let url = tg.url();
    let agent = w.agent(&[
        ("API_TOKEN", TOKEN),
        ("API_READ_TOKEN", READ),
        ("BOT_TOKEN", BOT),
        ("TELEGRAM_API_URL", &url),
        ("ALLOWED_USER_IDS", "1"),
    ]);
    let port = agent.port;

    // A stranger: the login form, no stream, no action.
    let r = request(port, "GET", "/", &[], b"");
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(header(&r, "location"), Some("/login"));
    assert_eq!(request(port, "GET", "/events", &[], b"").status, 401);
    assert_eq!(request(port, "GET", "/login", &[], b"").status, 200);
    for target in [
        "/actions/backup",
        "/actions/backup/confirm",
        "/actions/retry/1",
    ] {
        for auth in [None, Some(TOKEN), Some(READ), Some("wrong")] {
            let r = form(port, target, "base=buh&csrf=", None, auth);
            assert!(
                r.status == 401 || r.status == 403,
                "{target} with {auth:?}: {} {}",
                r.status,
                r.text()
            );
        }
    }
    // The read token as a bearer header views the overview.
    let r = request(
        port,
        "GET",
        "/",
        &[("Authorization", &format!("Bearer {READ}"))],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // Log in and walk every page.
    let r = form(port, "/login", &format!("token={TOKEN}"), None, None);
    assert_eq!(r.status, 303, "{}", r.text());
    let cookie = header(&r, "set-cookie").unwrap();
    let id = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    let login = page(port, "/login", &id).text();
    let at = login
        .find("name=\"csrf\" value=\"")
        .expect("the logout form")
        + 19;
    let csrf = login[at..at + 64].to_string();
    let mut bodies = vec![("login".to_string(), login)];
    for target in ["/", "/history", "/runs/1", "/charts", "/api/health"] {
        let r = page(port, target, &id);
        bodies.push((target.to_string(), r.text()));
    }
    let r = form(
        port,
        "/actions/backup",
        &format!("base=buh&csrf={csrf}"),
        Some(&id),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    bodies.push(("confirm".into(), r.text()));
    let r = form(
        port,
        "/actions/retry/1",
        &format!("csrf={csrf}"),
        Some(&id),
        None,
    );
    assert_eq!(r.status, 409, "run 1 was good: {}", r.text());
    bodies.push(("retry refusal".into(), r.text()));
    let r = form(port, "/login", "token=wrong", None, None);
    bodies.push(("wrong login".into(), r.text()));
    assert!(
        bodies[1].1.contains("buh"),
        "the overview shows the base: {}",
        bodies[1].1
    );
    for (what, body) in &bodies {
        for secret in [TOKEN, READ, BOT, PASSWORD] {
            assert!(!body.contains(secret), "{secret} in {what}: {body}");
        }
    }
}
