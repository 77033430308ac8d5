//! Push sinks: the agent sends its metrics, backup events and warning
//! lines out to whatever the admin configured — a Prometheus remote-write
//! endpoint (Grafana Cloud, Mimir, VictoriaMetrics, Prometheus), a
//! Pushgateway, InfluxDB 1.x or 2.x, Loki, an Uptime Kuma push monitor —
//! for servers that no Prometheus can reach. Each sink is enabled by its
//! URL and runs as its own tokio task fed by the metrics worker's ticks
//! and the feed of finished runs, so a slow or dead target delays nothing
//! but itself: every request has a connect and a total timeout
//! (`PUSH_TIMEOUT_SECS`).
//!
//! This file holds what the sinks share: the HTTP client and
//! the classification of answers (retry 5xx, 429 and network errors with
//! backoff; drop other 4xx with one log line), and the [`Outbox`] that
//! drives the bounded [`queue`] of the sinks that survive outages. Errors
//! never carry credentials: URLs are shown without user-info and every
//! configured secret is masked.

pub mod influxdb;
pub mod line_protocol;
pub mod loki;
pub mod prompb;
pub mod pushgateway;
pub mod queue;
pub mod remote_write;
pub mod uptime_kuma;

use crate::agent::Agent;
use crate::backup::feed::FinishedRun;
use crate::config::{Secret, redact_url};
use crate::export::Tick;
pub use crate::export::sinks::{SinkHandle, Sinks};
use queue::{Item, Limits, Queue};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

/// The `job` label (Pushgateway group, remote write, Loki).
pub const JOB: &str = "onec_backup_bot";
/// The `User-Agent` of every push request.
pub const USER_AGENT: &str = concat!("onec-backup-bot/", env!("CARGO_PKG_VERSION"));
/// Longest connect phase of a request (capped by `PUSH_TIMEOUT_SECS`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// First and longest wait before retrying a failed push.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// The longest `Retry-After` we honour.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(300);

/// Start every configured sink as its own task in `tasks`. Subscribes to
/// the ticks and the feed here, before the metrics worker's first tick.
pub fn register(agent: &Arc<Agent>, tasks: &mut tokio::task::JoinSet<()>) {
    let cfg = &agent.cfg;
    let host = crate::platform::hostname();
    let client = match client(cfg.export.push_timeout) {
        Ok(c) => c,
        Err(e) => {
            let any = remote_write::Settings::from_config(cfg).is_some()
                || pushgateway::Settings::from_config(cfg).is_some()
                || influxdb::Settings::from_config(cfg).is_some()
                || loki::Settings::from_config(cfg).is_some()
                || uptime_kuma::Settings::from_config(cfg).is_some();
            if any {
                tracing::error!("push sinks are off: cannot create the HTTP client: {e}");
            }
            return;
        }
    };
    let ctx = |sink: &'static str, target: String| Ctx {
        client: client.clone(),
        status: agent.sinks.add(sink, target),
        secrets: cfg.secrets().into_iter().cloned().collect(),
        shutdown: agent.shutdown.clone(),
        host: host.clone(),
    };
    if let Some(s) = remote_write::Settings::from_config(cfg) {
        let c = ctx("remote_write", redact_url(&s.to.url));
        tasks.spawn(remote_write::run(c, s, agent.subscribe_ticks()));
    }
    if let Some(s) = pushgateway::Settings::from_config(cfg) {
        let c = ctx("pushgateway", redact_url(&s.to.url));
        tasks.spawn(pushgateway::run(c, s, agent.subscribe_ticks()));
    }
    if let Some(s) = influxdb::Settings::from_config(cfg) {
        let c = ctx("influxdb", redact_url(&s.url));
        tasks.spawn(influxdb::run(
            c,
            s,
            agent.subscribe_ticks(),
            agent.feed.subscribe(),
        ));
    }
    if let Some(s) = loki::Settings::from_config(cfg) {
        let c = ctx("loki", redact_url(&s.to.url));
        let logs = crate::logging::tap_warnings(loki::LOG_CHANNEL);
        tasks.spawn(loki::run(c, s, agent.feed.subscribe(), logs));
    }
    if let Some(s) = uptime_kuma::Settings::from_config(cfg) {
        let c = ctx("uptime_kuma", uptime_kuma::shown_url(&s.url));
        let ticks = s.heartbeat.then(|| agent.subscribe_ticks());
        tasks.spawn(uptime_kuma::run(c, s, agent.feed.subscribe(), ticks));
    }
}

/// What every sink task gets.
pub struct Ctx {
    pub client: reqwest::Client,
    pub status: SinkHandle,
    /// Masked out of every error text.
    pub secrets: Vec<Secret>,
    pub shutdown: CancellationToken,
    /// This computer's name (`instance` / `host` labels).
    pub host: String,
}

/// The one HTTP client of the sinks: rustls, connect and total timeouts,
/// our `User-Agent`; proxies from the usual environment variables.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .user_agent(USER_AGENT)
        .pool_idle_timeout(Duration::from_secs(50))
        .build()
        .map_err(|e| error_text(&e))
}

/// Why a push did not go through.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Worth trying again: network error, timeout, HTTP 5xx or 429
    /// (`after`: the target's `Retry-After`).
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// The target refused the data (other 4xx): trying again cannot help.
    Reject(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Retry { message, .. } | Failure::Reject(message) => message,
        }
    }
}

/// What an answer with `status` means for the data.
pub fn classify(status: u16, body: &str, retry_after: Option<Duration>) -> Result<(), Failure> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let body: String = body
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect();
    let message = if body.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {body}")
    };
    if status == 429 || status >= 500 {
        Err(Failure::Retry {
            message,
            after: retry_after,
        })
    } else {
        Err(Failure::Reject(message))
    }
}

/// Send `req` and classify the answer. The error text never names the URL
/// (it may carry a token).
pub async fn send(req: reqwest::RequestBuilder) -> Result<(), Failure> {
    let resp = req.send().await.map_err(|e| Failure::Retry {
        message: error_text(&e),
        after: None,
    })?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s).min(RETRY_AFTER_MAX));
    // Read the body (bounded by the client's total timeout) so the
    // connection can be reused, and quote it when the push failed.
    let body = resp.bytes().await.unwrap_or_default();
    classify(status, &String::from_utf8_lossy(&body), retry_after)
}

/// A reqwest error in words, without the URL: "timed out", "cannot
/// connect: … Connection refused (os error 111)".
pub fn error_text(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else if e.is_builder() {
        "invalid request"
    } else {
        "request failed"
    };
    let mut parts: Vec<String> = vec![what.to_string()];
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !parts.contains(&t) && !t.contains("://") {
            parts.push(t);
        }
        src = s.source();
    }
    parts.join(": ")
}

/// Exponential backoff between retries: 1 s, 2 s, 4 s … 30 s.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: BACKOFF_MIN }
    }
}

impl Backoff {
    /// The wait before the next try (`after` from `Retry-After` wins).
    pub fn fail(&mut self, after: Option<Duration>) -> Duration {
        let d = after.unwrap_or(self.next);
        self.next = (self.next * 2).min(BACKOFF_MAX);
        d
    }

    pub fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }
}

/// Wall-clock unix milliseconds (ticks carry wall-clock times).
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// What a sink says about itself: its row in [`Sinks`] and its log lines,
/// one warning per failure episode, not one per attempt.
pub struct Tracker {
    status: SinkHandle,
    /// `remote_write`; also the `sink` field of every log line (the Loki
    /// sink's own lines are never forwarded to Loki).
    sink: &'static str,
    /// "remote write to https://host/path".
    what: String,
    secrets: Vec<Secret>,
    ever_ok: bool,
    /// Failed attempts since the last success.
    failing: u64,
    rejecting: bool,
    warned_full: bool,
    warned_old: bool,
}

impl Tracker {
    pub fn new(ctx: &Ctx, what: String) -> Tracker {
        let st = ctx.status.get();
        Tracker {
            status: ctx.status.clone(),
            sink: st.sink,
            what,
            secrets: ctx.secrets.clone(),
            ever_ok: false,
            failing: 0,
            rejecting: false,
            warned_full: false,
            warned_old: false,
        }
    }

    fn mask(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_string(), |t, s| s.mask_in(&t))
    }

    /// A push went through; `msg` is the line users grep for ("Sent 42
    /// metrics to Prometheus"): info the first time and after failures,
    /// debug otherwise.
    pub fn ok(&mut self, msg: String) {
        let sink = self.sink;
        if self.failing > 0 {
            tracing::info!(
                sink,
                "{msg} (recovered after {} failed attempt(s))",
                self.failing
            );
        } else if !self.ever_ok {
            tracing::info!(sink, "{msg}");
        } else {
            tracing::debug!(sink, "{msg}");
        }
        self.ever_ok = true;
        self.failing = 0;
        self.rejecting = false;
        self.warned_full = false;
        self.warned_old = false;
        self.status.update(|s| {
            s.up = true;
            s.last_error = None;
        });
    }

    /// A push failed; `then` says what happens next ("retrying in 4 s").
    pub fn failed(&mut self, f: &Failure, then: &str) {
        let msg = self.mask(f.message());
        let sink = self.sink;
        match f {
            Failure::Retry { .. } if self.failing == 0 => {
                tracing::warn!(sink, "{} failed: {msg}; {then}", self.what)
            }
            Failure::Reject(_) if !self.rejecting => {
                self.rejecting = true;
                tracing::warn!(
                    sink,
                    "{} was refused: {msg}; {then}; further refusals are only counted (onec_sink_errors_total)",
                    self.what
                )
            }
            _ => tracing::debug!(sink, "{} failed: {msg}; {then}", self.what),
        }
        self.failing += 1;
        self.status.update(|s| {
            s.up = false;
            s.errors_total += 1;
            s.last_error = Some(msg);
        });
    }

    /// Queued samples now.
    pub fn queued(&self, n: usize) {
        self.status.update(|s| s.queue_samples = n as u64);
    }

    /// Samples given up on; warns once per failure episode and reason.
    pub fn dropped(&mut self, d: queue::Dropped, unit: &str, full_hint: &str, old_hint: &str) {
        let (sink, what) = (self.sink, &self.what);
        let warn_once = |warned: &mut bool, n: usize, text: &dyn Fn() -> String| {
            if n > 0 && !*warned {
                *warned = true;
                tracing::warn!(sink, "{}", text());
            }
        };
        warn_once(&mut self.warned_full, d.full, &|| {
            format!(
                "{what}: the queue is full, dropping the oldest {unit} ({} so far); {full_hint}",
                d.full
            )
        });
        warn_once(&mut self.warned_old, d.old, &|| {
            format!(
                "{what}: dropping {} queued {unit} older than {old_hint}",
                d.old
            )
        });
        if d.total() > 0 {
            self.status.update(|s| s.dropped_total += d.total() as u64);
        }
    }

    fn rejected(&self, n: usize) {
        self.status.update(|s| s.dropped_total += n as u64);
    }
}

/// How an [`Outbox`] talks about its data.
pub struct Words {
    /// "samples", "lines".
    pub unit: &'static str,
    /// The success line for `n` units: "Sent 42 metrics to Prometheus".
    pub sent: fn(usize) -> String,
    /// What to raise when the queue overflows.
    pub full_hint: &'static str,
    /// The age limit in words, with its setting.
    pub old_hint: String,
    /// Warn when the queue overflows (not for "latest wins" queues).
    pub warn_full: bool,
}

/// A bounded queue with its delivery: oldest first, one request at a
/// time, retries with backoff, refusals dropped.
pub struct Outbox<T> {
    queue: Queue<T>,
    pub tracker: Tracker,
    backoff: Backoff,
    retry_at: Option<tokio::time::Instant>,
    max_per_request: usize,
    words: Words,
}

impl<T: Item> Outbox<T> {
    pub fn new(tracker: Tracker, limits: Limits, max_per_request: usize, words: Words) -> Self {
        Outbox {
            queue: Queue::new(limits),
            tracker,
            backoff: Backoff::default(),
            retry_at: None,
            max_per_request,
            words,
        }
    }

    pub fn queued(&self) -> usize {
        self.queue.samples()
    }

    pub fn push(&mut self, item: T, now_ms: i64) {
        let mut d = self.queue.push(item, now_ms);
        if !self.words.warn_full {
            d.full = 0;
        }
        self.note_dropped(d);
        self.tracker.queued(self.queue.samples());
    }

    fn note_dropped(&mut self, d: queue::Dropped) {
        let w = &self.words;
        self.tracker.dropped(d, w.unit, w.full_hint, &w.old_hint);
    }

    /// When the next request is due: `None` with nothing queued.
    pub fn due(&self) -> Option<tokio::time::Instant> {
        if self.queue.is_empty() {
            return None;
        }
        Some(self.retry_at.unwrap_or_else(tokio::time::Instant::now))
    }

    /// Send the oldest items (up to `max_per_request` samples) as one
    /// request made by `build`. Gives up early, keeping the items, when
    /// `stop` is cancelled.
    pub async fn send_next(
        &mut self,
        now_ms: i64,
        stop: &CancellationToken,
        build: impl FnOnce(&[T]) -> Result<reqwest::RequestBuilder, String>,
    ) {
        let old = self.queue.expire(now_ms);
        self.note_dropped(queue::Dropped { full: 0, old });
        let n = self.queue.batch_len(self.max_per_request);
        if n == 0 {
            self.tracker.queued(0);
            return;
        }
        let items = self.queue.front(n);
        let samples: usize = items.iter().map(Item::samples).sum();
        let result = match build(items) {
            Ok(req) => tokio::select! {
                r = send(req) => r,
                _ = stop.cancelled() => return,
            },
            Err(e) => Err(Failure::Reject(e)),
        };
        match result {
            Ok(()) => {
                self.queue.pop_front(n);
                self.backoff.reset();
                self.retry_at = None;
                self.tracker.ok((self.words.sent)(samples));
            }
            Err(f @ Failure::Retry { .. }) => {
                let after = match &f {
                    Failure::Retry { after, .. } => *after,
                    Failure::Reject(_) => None,
                };
                let wait = self.backoff.fail(after);
                self.retry_at = Some(tokio::time::Instant::now() + wait);
                let then = format!(
                    "{} {} queued, retrying in {} s",
                    self.queue.samples(),
                    self.words.unit,
                    wait.as_secs().max(1)
                );
                self.tracker.failed(&f, &then);
            }
            Err(f) => {
                self.queue.pop_front(n);
                self.retry_at = None;
                let then = format!("{samples} {} dropped, not retried", self.words.unit);
                self.tracker.failed(&f, &then);
                self.tracker.rejected(samples);
            }
        }
        self.tracker.queued(self.queue.samples());
    }
}

/// Log, at stop, what could not be sent.
pub fn unsent_at_stop<T: Item>(outbox: &Outbox<T>, what: &str) {
    let n = outbox.queued();
    if n > 0 {
        tracing::info!(
            sink = outbox.tracker.sink,
            "{what}: {n} queued {} not sent (the agent is stopping)",
            outbox.words.unit
        );
    }
}

/// `base` with `path` appended unless it already ends with it.
pub fn with_path(base: &str, path: &str) -> String {
    let b = base.trim_end_matches('/');
    if b.ends_with(path) {
        b.to_string()
    } else {
        format!("{b}{path}")
    }
}

/// Add basic auth when a user or a password is configured.
pub fn auth(
    req: reqwest::RequestBuilder,
    user: Option<&str>,
    password: Option<&Secret>,
) -> reqwest::RequestBuilder {
    match (user, password) {
        (None, None) => req,
        (u, p) => req.basic_auth(u.unwrap_or(""), p.map(Secret::expose)),
    }
}

/// The next tick newer than `*last_at`, or `None` once the ticks end. A
/// tick repeating the last snapshot's time would repeat its samples (a
/// target refuses a changed value at a known time), so it is skipped; ticks
/// missed while a request was slow are logged.
pub async fn fresh_tick(
    ticks: &mut broadcast::Receiver<Arc<Tick>>,
    last_at: &mut i64,
    sink: &'static str,
    what: &str,
) -> Option<Arc<Tick>> {
    loop {
        match ticks.recv().await {
            Ok(tick) if tick.at_ms <= *last_at => {}
            Ok(tick) => {
                *last_at = tick.at_ms;
                return Some(tick);
            }
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(sink, "{what}: {n} tick(s) missed while a request was slow");
            }
            Err(RecvError::Closed) => return None,
        }
    }
}

/// The next finished run, or `None` once the feed ends; runs missed while
/// a request was slow are logged.
pub async fn next_run(
    runs: &mut broadcast::Receiver<Arc<FinishedRun>>,
    sink: &'static str,
    what: &str,
) -> Option<Arc<FinishedRun>> {
    loop {
        match runs.recv().await {
            Ok(run) => return Some(run),
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(sink, "{what}: {n} backup event(s) missed");
            }
            Err(RecvError::Closed) => return None,
        }
    }
}

/// Sleep until `at`; forever when `None` (guard the `select!` branch).
pub async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
