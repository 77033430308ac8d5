//! Loki (`GRAFANA_LOKI_URL`, optional `GRAFANA_LOKI_USER` /
//! `GRAFANA_LOKI_PASSWORD`): every finished backup as one logfmt line, and
//! every warning and error line of the agent's own log, pushed in batches
//! as JSON to `/loki/api/v1/push`. Labels are few and bounded:
//! `job="onec_backup_bot"`, `host`, `level` (`info`, `warn`, `error`) and
//! `base` (only a configured base's name). Entries get strictly increasing
//! timestamps as they arrive, so every stream is in order. A bounded
//! buffer keeps them while Loki is away.

use super::queue::{Item, Limits};
use super::{Ctx, Outbox, Tracker, Words};
use crate::backup::feed::FinishedRun;
use crate::backup::history::Status;
use crate::config::{Config, Endpoint, redact_url};
use crate::logging::LogLine;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::sync::mpsc;

/// The push path, added to `GRAFANA_LOKI_URL` unless it ends with it.
pub const PUSH_PATH: &str = "/loki/api/v1/push";
/// Log lines waiting between the logger and this sink.
pub const LOG_CHANNEL: usize = 1_000;
/// Lines kept while Loki is away.
pub const QUEUE_LINES: usize = 10_000;
/// Lines older than this are dropped from the buffer.
pub const MAX_AGE_MS: i64 = 24 * 3600 * 1000;
/// Most lines in one push.
const MAX_PER_REQUEST: usize = 1_000;
/// How long a first line waits for company before a push.
const BATCH_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Settings {
    /// With the push path appended to the configured URL.
    pub to: Endpoint,
    /// Names that may appear as the `base` label.
    pub bases: Vec<String>,
}

impl Settings {
    pub fn from_config(cfg: &Config) -> Option<Settings> {
        let e = &cfg.export;
        Some(Settings {
            to: e.loki.clone().map(|to| Endpoint {
                url: super::with_path(&to.url, PUSH_PATH),
                ..to
            })?,
            bases: cfg.bases.iter().map(|b| b.name.clone()).collect(),
        })
    }
}

/// One log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Unix nanoseconds, strictly increasing in arrival order.
    pub at_ns: i128,
    pub level: &'static str,
    pub base: Option<String>,
    pub line: String,
}

impl Item for Entry {
    fn samples(&self) -> usize {
        1
    }
    fn at_ms(&self) -> i64 {
        (self.at_ns / 1_000_000) as i64
    }
}

/// The push body: one stream per label set, in order of first
/// appearance, entries in arrival order.
pub fn body(entries: &[Entry], host: &str) -> Value {
    let mut streams: Vec<(Value, Vec<Value>)> = Vec::new();
    for e in entries {
        let mut labels = json!({"job": super::JOB, "host": host, "level": e.level});
        if let Some(b) = &e.base {
            labels["base"] = json!(b);
        }
        let value = json!([e.at_ns.to_string(), e.line]);
        match streams.iter_mut().find(|(l, _)| *l == labels) {
            Some((_, v)) => v.push(value),
            None => streams.push((labels, vec![value])),
        }
    }
    json!({
        "streams": streams
            .into_iter()
            .map(|(stream, values)| json!({"stream": stream, "values": values}))
            .collect::<Vec<_>>()
    })
}

/// A finished run as a logfmt line and its level.
pub fn backup_line(r: &FinishedRun) -> (&'static str, String) {
    let status = r.status();
    let level = match status {
        Status::Ok | Status::Skipped => "info",
        Status::Interrupted => "warn",
        _ => "error",
    };
    let mut line = format!(
        "event=backup base={} status={status} trigger={}",
        logfmt(&r.base),
        r.trigger.as_str()
    );
    if let Some(run) = &r.run {
        line.push_str(&format!(" run_id={}", run.id));
    }
    if let Some(d) = r.duration_secs() {
        line.push_str(&format!(" duration_seconds={d:.3}"));
    }
    if let Some(n) = r.archive_size() {
        line.push_str(&format!(" size_bytes={n}"));
    }
    if let Some(m) = r.message() {
        line.push_str(&format!(" message={}", logfmt(&m)));
    }
    (level, line)
}

/// A logfmt value: bare when it can be, else quoted with `"` and `\`
/// escaped.
fn logfmt(v: &str) -> String {
    if !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '=' || c == '\\' || c.is_control())
    {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Hands out strictly increasing nanosecond timestamps.
#[derive(Default)]
struct Clock {
    last: i128,
}

impl Clock {
    fn next(&mut self) -> i128 {
        let now = jiff::Timestamp::now().as_nanosecond();
        self.last = now.max(self.last + 1);
        self.last
    }
}

fn sent(n: usize) -> String {
    format!("Sent {n} log lines to Loki")
}

pub async fn run(
    ctx: Ctx,
    s: Settings,
    mut runs: broadcast::Receiver<Arc<FinishedRun>>,
    mut logs: mpsc::Receiver<LogLine>,
) {
    let what = format!("Loki push to {}", redact_url(&s.to.url));
    let mut out: Outbox<Entry> = Outbox::new(
        Tracker::new(&ctx, what.clone()),
        Limits {
            max_samples: QUEUE_LINES,
            max_age_ms: MAX_AGE_MS,
        },
        MAX_PER_REQUEST,
        Words {
            unit: "lines",
            sent,
            full_hint: "the oldest lines are lost; check the Loki server",
            old_hint: "a day".into(),
            warn_full: true,
        },
    );
    tracing::info!("Loki push on: {}", redact_url(&s.to.url));
    let mut clock = Clock::default();
    let mut logs_open = true;
    // When the first line of the next batch arrived.
    let mut batch_from: Option<tokio::time::Instant> = None;
    loop {
        let due = match (out.due(), batch_from) {
            (Some(d), Some(b)) => Some(d.max(b + BATCH_WAIT)),
            (d, _) => d,
        };
        let entry = tokio::select! {
            biased;
            _ = ctx.shutdown.cancelled() => break,
            r = super::next_run(&mut runs, "loki", &what) => match r {
                Some(run) => {
                    let (level, line) = backup_line(&run);
                    let base = Some(run.base.clone()).filter(|b| s.bases.contains(b));
                    Some((level, base, line))
                }
                None => break,
            },
            l = logs.recv(), if logs_open => match l {
                Some(l) => {
                    let base = l.base.filter(|b| s.bases.contains(b));
                    Some((l.level, base, l.text))
                }
                None => {
                    logs_open = false;
                    None
                }
            },
            _ = super::sleep_until(due), if due.is_some() => {
                batch_from = None;
                let (client, url) = (&ctx.client, &s.to.url);
                let (user, password) = (s.to.user.as_deref(), s.to.password.as_ref());
                let host = &ctx.host;
                let secrets = &ctx.secrets;
                out.send_next(super::now_ms(), &ctx.shutdown, |items| {
                    let mut body = body(items, host).to_string();
                    for secret in secrets {
                        body = secret.mask_in(&body);
                    }
                    let req = client
                        .post(url.as_str())
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body);
                    Ok(super::auth(req, user, password))
                })
                .await;
                None
            }
        };
        if let Some((level, base, line)) = entry {
            if out.queued() == 0 {
                batch_from = Some(tokio::time::Instant::now());
            }
            let e = Entry {
                at_ns: clock.next(),
                level,
                base,
                line,
            };
            let at = e.at_ms();
            out.push(e, at);
        }
    }
    super::unsent_at_stop(&out, &what);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(at_ns: i128, level: &'static str, base: Option<&str>, line: &str) -> Entry {
        Entry {
            at_ns,
            level,
            base: base.map(str::to_string),
            line: line.into(),
        }
    }

    #[test]
    fn entries_group_into_streams_by_labels() {
        let b = body(
            &[
                e(1, "info", Some("buh"), "event=backup base=buh status=ok"),
                e(2, "warn", None, "disk is low"),
                e(3, "info", Some("buh"), "second"),
            ],
            "srv-1c",
        );
        assert_eq!(
            b,
            json!({"streams": [
                {"stream": {"job": "onec_backup_bot", "host": "srv-1c", "level": "info", "base": "buh"},
                 "values": [["1", "event=backup base=buh status=ok"], ["3", "second"]]},
                {"stream": {"job": "onec_backup_bot", "host": "srv-1c", "level": "warn"},
                 "values": [["2", "disk is low"]]},
            ]})
        );
    }

    #[test]
    fn logfmt_quotes_only_when_needed() {
        assert_eq!(logfmt("buh"), "buh");
        assert_eq!(logfmt("Бухгалтерия"), "Бухгалтерия");
        assert_eq!(logfmt(""), "\"\"");
        assert_eq!(logfmt("say \"no\" a=b\\c\nd"), r#""say \"no\" a=b\\c\nd""#);
    }

    #[test]
    fn the_clock_never_repeats_or_goes_back() {
        let mut c = Clock::default();
        let mut last = 0;
        for _ in 0..1000 {
            let t = c.next();
            assert!(t > last);
            last = t;
        }
    }
}
