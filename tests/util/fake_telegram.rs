//! A fake Telegram Bot API server for the end-to-end tests: a small
//! HTTP/1.1 server on 127.0.0.1 (its own tokio runtime on a background
//! thread) answering `getMe`, long-polling `getUpdates` (offset and
//! timeout honoured), `sendMessage`, `editMessageText`, `sendDocument`,
//! `sendPhoto` (multipart), `answerCallbackQuery`, `setMyCommands` and
//! `deleteWebhook`. It records every call (method, params, uploaded files),
//! lets tests inject updates (messages, button presses) and makes the next
//! N calls fail with 502 or 429 + `retry_after`. Like Telegram, it rejects
//! (400) an HTML text whose tags are not balanced, whose entities are cut,
//! or whose visible text is longer than 4096 characters ([`check_html`]).

use super::http::{dechunk, find};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

pub const BOT_ID: i64 = 999_000;

/// One recorded call.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub params: Value,
    /// Uploaded files: (field, file name, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
    /// Whether the call was answered with an injected failure.
    pub failed: bool,
    /// When it arrived.
    pub at: Instant,
}

impl Call {
    /// The id the fake gave the message this call sent.
    pub fn message_id(&self) -> i64 {
        self.params["__id"].as_i64().unwrap_or(0)
    }

    pub fn text(&self) -> String {
        self.params["text"]
            .as_str()
            .or(self.params["caption"].as_str())
            .unwrap_or("")
            .to_string()
    }
    pub fn chat(&self) -> i64 {
        match &self.params["chat_id"] {
            Value::Number(n) => n.as_i64().unwrap_or(0),
            Value::String(s) => s.parse().unwrap_or(0),
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Failure {
    ServerError,
    RetryAfter(u32),
}

#[derive(Default)]
struct Inner {
    updates: Vec<Value>,
    next_update: i64,
    next_message: i64,
    calls: Vec<Call>,
    failures: VecDeque<Failure>,
    /// Until then every call fails, in turn with 502, 429 and a dropped
    /// connection (no answer at all).
    outage_until: Option<Instant>,
    outage_calls: u64,
    rejected: Vec<(Call, String)>,
}

struct Shared {
    inner: Mutex<Inner>,
    new_update: Notify,
}

pub struct FakeTelegram {
    pub port: u16,
    shared: Arc<Shared>,
    _thread: std::thread::JoinHandle<()>,
}

impl FakeTelegram {
    pub fn start() -> FakeTelegram {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                next_update: 1,
                next_message: 1000,
                ..Default::default()
            }),
            new_update: Notify::new(),
        });
        let listener = super::proc::listen();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let s = shared.clone();
        let thread = super::proc::serve_in_thread(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, s).await;
                });
            }
        });
        FakeTelegram {
            port,
            shared,
            _thread: thread,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The agent of `w` with its bot (`token`) talking to this server, only
    /// `admin` allowed; `extra` may change any of that. Not waiting for
    /// the bot.
    pub fn agent(
        &self,
        w: &super::World,
        token: &str,
        admin: i64,
        extra: &[(&str, &str)],
    ) -> super::Agent {
        let (url, admin) = (self.url(), admin.to_string());
        let mut vars = vec![
            ("BOT_TOKEN", token),
            ("TELEGRAM_API_URL", url.as_str()),
            ("ALLOWED_USER_IDS", admin.as_str()),
        ];
        vars.extend_from_slice(extra);
        w.agent(&vars)
    }

    /// Telegram is away for `d`: every call fails in turn with 502, 429
    /// (`retry_after` 30 s) and a connection closed without an answer.
    pub fn outage(&self, d: Duration) {
        self.shared.inner.lock().unwrap().outage_until = Some(Instant::now() + d);
    }

    /// The next `n` calls (any method) fail with `f`.
    pub fn fail_next(&self, n: usize, f: Failure) {
        let mut i = self.shared.inner.lock().unwrap();
        for _ in 0..n {
            i.failures.push_back(f);
        }
    }

    fn push_update(&self, body: impl FnOnce(i64, i64) -> (&'static str, Value)) -> i64 {
        let mut i = self.shared.inner.lock().unwrap();
        let id = i.next_update;
        i.next_update += 1;
        let mid = i.next_message;
        i.next_message += 1;
        let (kind, v) = body(id, mid);
        i.updates.push(json!({ "update_id": id, kind: v }));
        drop(i);
        self.shared.new_update.notify_waiters();
        mid
    }

    /// A text message from `user` in a private chat with them.
    pub fn send_text(&self, user: i64, text: &str) -> i64 {
        self.send_text_in(user, user, "private", text)
    }

    /// A text message from `user` in chat `chat` of `kind` (`private`,
    /// `group`).
    pub fn send_text_in(&self, user: i64, chat: i64, kind: &str, text: &str) -> i64 {
        let text = text.to_string();
        let kind = kind.to_string();
        self.push_update(move |_, mid| {
            let cmd_len = text.split_whitespace().next().unwrap_or("").len();
            let mut m = json!({
                "message_id": mid,
                "date": now(),
                "chat": chat_json(chat, &kind),
                "from": user_json(user),
                "text": text,
            });
            if text.starts_with('/') {
                m["entities"] = json!([{"type": "bot_command", "offset": 0, "length": cmd_len}]);
            }
            ("message", m)
        })
    }

    /// A press on an inline button of the bot's message `message_id`.
    pub fn press(&self, user: i64, chat: i64, message_id: i64, data: &str) {
        self.press_in(user, chat, "private", message_id, data)
    }

    /// A press on a button of the bot's message in chat `chat` of `kind`.
    pub fn press_in(&self, user: i64, chat: i64, kind: &str, message_id: i64, data: &str) {
        let data = data.to_string();
        let kind = kind.to_string();
        self.push_update(move |id, _| {
            (
                "callback_query",
                json!({
                    "id": format!("cb{id}"),
                    "from": user_json(user),
                    "chat_instance": "ci",
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": now(),
                        "chat": chat_json(chat, &kind),
                        "from": bot_json(),
                        "text": "?",
                    }
                }),
            )
        });
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.inner.lock().unwrap().calls.clone()
    }

    /// Calls the fake rejected as Telegram would (bad HTML, too long),
    /// with the reason.
    pub fn rejected(&self) -> Vec<(Call, String)> {
        self.shared.inner.lock().unwrap().rejected.clone()
    }

    /// Successful calls of `method`.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && !c.failed)
            .collect()
    }

    /// The messages sent (`sendMessage`, answered) to any of `chats`.
    pub fn messages_to(&self, chats: &[i64]) -> Vec<Call> {
        self.calls_of("sendMessage")
            .into_iter()
            .filter(|c| chats.contains(&c.chat()))
            .collect()
    }

    /// Wait until a successful call matches `pred`; panics after `timeout`
    /// with every call made so far.
    pub fn wait_for(&self, timeout: Duration, what: &str, pred: impl Fn(&Call) -> bool) -> Call {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(c) = self.calls().into_iter().find(|c| !c.failed && pred(c)) {
                return c;
            }
            if Instant::now() > deadline {
                let seen: Vec<String> = self
                    .calls()
                    .iter()
                    .filter(|c| c.method != "getUpdates")
                    .map(|c| format!("{} {} {}", c.method, c.failed, c.params))
                    .collect();
                panic!("timed out waiting for {what}; calls:\n{}", seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait for a `sendMessage` to `chat` whose text contains `needle`.
    pub fn wait_message(&self, chat: i64, needle: &str, timeout: Duration) -> Call {
        self.wait_for(
            timeout,
            &format!("a message to {chat} with {needle:?}"),
            |c| c.method == "sendMessage" && c.chat() == chat && c.text().contains(needle),
        )
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn user_json(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": "User", "username": format!("user{id}")})
}

fn bot_json() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "Backup", "username": "backup_test_bot"})
}

fn chat_json(id: i64, kind: &str) -> Value {
    if kind == "private" {
        json!({"id": id, "type": "private", "first_name": "User"})
    } else {
        json!({"id": id, "type": kind, "title": "Group"})
    }
}

async fn serve(mut sock: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let header_end = loop {
        let mut chunk = [0u8; 8192];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = find(&buf, b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut body = buf[header_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
    let mut content_type = String::new();
    let mut length: Option<usize> = None;
    let mut chunked = false;
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        match k.as_str() {
            "content-type" => content_type = v.to_string(),
            "content-length" => length = v.parse().ok(),
            "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    if chunked {
        while find(&body, b"0\r\n\r\n").is_none() {
            let mut chunk = [0u8; 8192];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body = dechunk(&body);
    } else if let Some(len) = length {
        while body.len() < len {
            let mut chunk = [0u8; 8192];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    // /bot<token>/<method>
    let rest = path.trim_start_matches('/');
    let method = rest
        .strip_prefix("bot")
        .and_then(|r| r.split_once('/'))
        .map_or(rest, |(_, m)| m);
    // The Bot API takes method names in any case (teloxide sends `GetMe`).
    let mut m = method.chars();
    let method: String = m
        .next()
        .map(|c| c.to_ascii_lowercase())
        .into_iter()
        .chain(m)
        .collect();
    let (params, files) = if content_type.starts_with("multipart/form-data") {
        let boundary = content_type
            .split("boundary=")
            .nth(1)
            .unwrap_or("")
            .trim_matches('"')
            .to_string();
        parse_multipart(&body, &boundary)
    } else if body.is_empty() {
        (json!({}), vec![])
    } else {
        (serde_json::from_slice(&body).unwrap_or(json!({})), vec![])
    };
    let (status, answer) = handle(&shared, &method, params, files).await;
    if status == 0 {
        // A dropped connection: no answer at all.
        return Ok(());
    }
    let text = answer.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        _ => "Not Found",
    };
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    sock.write_all(resp.as_bytes()).await?;
    sock.shutdown().await?;
    Ok(())
}

async fn handle(
    shared: &Shared,
    method: &str,
    params: Value,
    files: Vec<(String, String, Vec<u8>)>,
) -> (u16, Value) {
    let mut call = Call {
        method: method.to_string(),
        params: params.clone(),
        files,
        failed: false,
        at: Instant::now(),
    };
    {
        let mut i = shared.inner.lock().unwrap();
        let away = i.outage_until.is_some_and(|t| Instant::now() < t);
        if away {
            i.outage_calls += 1;
            let kind = i.outage_calls % 3;
            call.failed = true;
            i.calls.push(call);
            return match kind {
                0 => (0, json!(null)),
                1 => (
                    502,
                    json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}),
                ),
                _ => (
                    429,
                    json!({"ok": false, "error_code": 429,
                        "description": "Too Many Requests: retry after 30",
                        "parameters": {"retry_after": 30}}),
                ),
            };
        }
        if let Some(f) = i.failures.pop_front() {
            call.failed = true;
            i.calls.push(call);
            return match f {
                Failure::ServerError => (
                    502,
                    json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}),
                ),
                Failure::RetryAfter(s) => (
                    429,
                    json!({"ok": false, "error_code": 429,
                        "description": format!("Too Many Requests: retry after {s}"),
                        "parameters": {"retry_after": s}}),
                ),
            };
        }
        if params["parse_mode"] == "HTML"
            && let Err(why) = check_html(&call.text())
        {
            call.failed = true;
            i.calls.push(call.clone());
            i.rejected.push((call, why.clone()));
            return (
                400,
                json!({"ok": false, "error_code": 400, "description": format!("Bad Request: {why}")}),
            );
        }
        if matches!(method, "sendMessage" | "sendDocument" | "sendPhoto") {
            i.next_message += 1;
            call.params["__id"] = json!(i.next_message);
        }
        i.calls.push(call.clone());
    }
    let ok = |v: Value| (200, json!({"ok": true, "result": v}));
    match method {
        "getMe" => {
            let mut me = bot_json();
            me["can_join_groups"] = json!(true);
            me["can_read_all_group_messages"] = json!(false);
            me["supports_inline_queries"] = json!(false);
            me["has_main_web_app"] = json!(false);
            ok(me)
        }
        "getUpdates" => {
            let offset = params["offset"].as_i64().unwrap_or(0);
            let timeout = params["timeout"].as_u64().unwrap_or(0).min(30);
            let deadline = Instant::now() + Duration::from_secs(timeout);
            loop {
                let notified = shared.new_update.notified();
                {
                    let mut i = shared.inner.lock().unwrap();
                    i.updates
                        .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                    if !i.updates.is_empty() || Instant::now() >= deadline {
                        return ok(Value::Array(i.updates.clone()));
                    }
                }
                let _ = tokio::time::timeout(
                    deadline.saturating_duration_since(Instant::now()),
                    notified,
                )
                .await;
            }
        }
        "sendMessage" | "sendDocument" | "sendPhoto" | "editMessageText" => {
            let chat = call.chat();
            let id = if method == "editMessageText" {
                params["message_id"].as_i64().unwrap_or(0)
            } else {
                call.params["__id"].as_i64().unwrap_or(0)
            };
            ok(json!({
                "message_id": id,
                "date": now(),
                "chat": chat_json(chat, if chat > 0 { "private" } else { "group" }),
                "from": bot_json(),
                "text": call.text(),
            }))
        }
        "answerCallbackQuery" | "setMyCommands" | "deleteWebhook" => ok(json!(true)),
        _ => (
            404,
            json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"}),
        ),
    }
}

/// Telegram's limit on the visible text of one message.
pub const MAX_TEXT: usize = 4096;

/// What Telegram checks in an HTML text: tags closed in order, entities
/// whole, at most [`MAX_TEXT`] visible characters (the message "can't
/// parse entities" or "message is too long" when not).
pub fn check_html(text: &str) -> Result<(), String> {
    const TAGS: &[&str] = &[
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "span",
        "blockquote",
        "tg-emoji",
    ];
    const ENTITIES: &[&str] = &["&amp;", "&lt;", "&gt;", "&quot;"];
    let cant = |why: String| Err(format!("can't parse entities: {why}"));
    let mut open: Vec<String> = Vec::new();
    let mut visible = 0;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let Some(end) = rest.find('>') else {
                    return cant(format!("unclosed start tag at {rest:?}"));
                };
                let tag = &rest[1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    match open.pop() {
                        Some(o) if o == name => {}
                        o => return cant(format!("</{name}> closes {o:?}")),
                    }
                } else {
                    let name = tag.split_whitespace().next().unwrap_or("").to_string();
                    if !TAGS.contains(&name.as_str()) {
                        return cant(format!("unsupported start tag {name:?}"));
                    }
                    open.push(name);
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let Some(e) = ENTITIES.iter().find(|e| rest.starts_with(**e)) else {
                    return cant(format!(
                        "bad entity at {:?}",
                        rest.chars().take(10).collect::<String>()
                    ));
                };
                visible += 1;
                rest = &rest[e.len()..];
            }
            c => {
                visible += c.len_utf16();
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !open.is_empty() {
        return cant(format!(
            "can't find end tag corresponding to start tags {open:?}"
        ));
    }
    if visible > MAX_TEXT {
        return Err(format!("message is too long ({visible} characters)"));
    }
    Ok(())
}

fn parse_multipart(body: &[u8], boundary: &str) -> (Value, Vec<(String, String, Vec<u8>)>) {
    let mut params = serde_json::Map::new();
    let mut files = Vec::new();
    let delim = format!("--{boundary}");
    let mut rest = body;
    while let Some(p) = find(rest, delim.as_bytes()) {
        rest = &rest[p + delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(h) = find(rest, b"\r\n\r\n") else {
            break;
        };
        let headers = String::from_utf8_lossy(&rest[..h]).to_string();
        let content_start = h + 4;
        let end = find(&rest[content_start..], delim.as_bytes())
            .map(|e| content_start + e)
            .unwrap_or(rest.len());
        let mut content = &rest[content_start..end];
        if content.ends_with(b"\r\n") {
            content = &content[..content.len() - 2];
        }
        let attr = |name: &str| {
            headers
                .split(';')
                .find_map(|s| s.trim().strip_prefix(&format!("{name}=")))
                .map(|v| v.trim_matches('"').to_string())
        };
        let name = attr("name").unwrap_or_default();
        match attr("filename") {
            Some(f) => files.push((name, f, content.to_vec())),
            None => {
                let text = String::from_utf8_lossy(content).to_string();
                let v = serde_json::from_str::<Value>(&text)
                    .ok()
                    .filter(|v| v.is_number())
                    .unwrap_or(Value::String(text));
                params.insert(name, v);
            }
        }
        rest = &rest[end..];
    }
    (Value::Object(params), files)
}
