//! Uptime Kuma push monitor (`UPTIME_KUMA_PUSH_URL`): after every
//! finished backup a `GET <push URL>?status=up|down&msg=…&ping=<ms>`, as
//! the prototype did — "Backup OK", "Dump failed: …", "Skipped: no
//! changes". With `uptime_kuma.heartbeat` on, also one push every
//! `METRICS_INTERVAL`, so the monitor notices a dead agent: `up` with
//! "OK", or, while the last backup of this agent's life failed, that
//! failure again (a heartbeat must not hide it). The push URL carries the
//! monitor's token in its path: it is shown as `https://host/***`. Only
//! the newest report matters, so a failed push is retried with backoff
//! until a newer one replaces it.

use super::queue::{Item, Limits};
use super::{Ctx, Outbox, Tracker, Words};
use crate::backup::feed::FinishedRun;
use crate::backup::history::Status;
use crate::config::{Config, Secret};
use crate::export::Tick;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

/// Longest `msg`: Kuma keeps it short in its UI.
const MAX_MSG: usize = 200;
/// A report not delivered within this is no longer news.
const MAX_AGE_MS: i64 = 3600 * 1000;

#[derive(Debug, Clone)]
pub struct Settings {
    pub url: Secret,
    pub heartbeat: bool,
    /// Name the base in messages (more than one is configured).
    pub name_bases: bool,
}

impl Settings {
    pub fn from_config(cfg: &Config) -> Option<Settings> {
        Some(Settings {
            url: cfg.export.uptime_kuma_push_url.clone()?,
            heartbeat: cfg.export.uptime_kuma_heartbeat,
            name_bases: cfg.bases.len() > 1,
        })
    }
}

/// The push URL as logs and `/api/health` show it: scheme and host only.
pub fn shown_url(url: &Secret) -> String {
    let u = url.expose();
    match u.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("{scheme}://{host}/***")
        }
        None => "***".into(),
    }
}

/// One report to Kuma.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub at_ms: i64,
    /// `up` or `down`.
    pub status: &'static str,
    pub msg: String,
    /// Duration of the backup, milliseconds.
    pub ping: Option<u64>,
}

impl Item for Report {
    fn samples(&self) -> usize {
        1
    }
    fn at_ms(&self) -> i64 {
        self.at_ms
    }
}

/// What a finished run tells Kuma.
pub fn report(r: &FinishedRun, name_base: bool, now_ms: i64) -> Report {
    let message = r.message().unwrap_or_default();
    let (status, msg) = match r.status() {
        Status::Ok => ("up", "Backup OK".to_string()),
        Status::Skipped => {
            let why = if message.starts_with("unchanged") || message.is_empty() {
                "no changes"
            } else if message.starts_with("already running") {
                "already running"
            } else {
                message.as_str()
            };
            ("up", format!("Skipped: {why}"))
        }
        Status::Interrupted => ("down", "Backup interrupted".to_string()),
        _ => {
            let what = match method(r) {
                Some("copy") => "Copy failed",
                Some("dump" | "ibcmd") => "Dump failed",
                _ => "Backup failed",
            };
            let detail = if message.is_empty() {
                "see the agent's log".to_string()
            } else {
                message
            };
            ("down", format!("{what}: {detail}"))
        }
    };
    let msg = if name_base {
        format!("{}: {msg}", r.base)
    } else {
        msg
    };
    Report {
        at_ms: now_ms,
        status,
        msg: msg.chars().take(MAX_MSG).collect(),
        ping: r
            .duration_secs()
            .map(|s| (s * 1000.0).round().max(0.0) as u64),
    }
}

fn method(r: &FinishedRun) -> Option<&str> {
    use crate::backup::jobs::Finished;
    match (&r.run, &r.local) {
        (Some(run), _) => Some(run.method.as_str()),
        (None, Some(Finished::Done(o))) => Some(o.method),
        _ => None,
    }
}

/// The push URL with `status`, `msg` and `ping` replaced by the report's.
pub fn push_url(base: &str, r: &Report) -> Result<reqwest::Url, String> {
    let mut url = reqwest::Url::parse(base)
        .map_err(|e| format!("UPTIME_KUMA_PUSH_URL is not a valid URL ({e})"))?;
    let keep: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !matches!(k.as_ref(), "status" | "msg" | "ping"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let ping = r.ping.map(|p| p.to_string()).unwrap_or_default();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(keep)
        .append_pair("status", r.status)
        .append_pair("msg", &r.msg)
        .append_pair("ping", &ping);
    Ok(url)
}

pub async fn run(
    ctx: Ctx,
    s: Settings,
    mut runs: broadcast::Receiver<Arc<FinishedRun>>,
    mut ticks: Option<broadcast::Receiver<Arc<Tick>>>,
) {
    let what = format!("Uptime Kuma push to {}", shown_url(&s.url));
    let check = Report {
        at_ms: 0,
        status: "up",
        msg: String::new(),
        ping: None,
    };
    if let Err(e) = push_url(s.url.expose(), &check) {
        tracing::error!("Uptime Kuma push is off: {e}");
        return;
    }
    let mut out: Outbox<Report> = Outbox::new(
        Tracker::new(&ctx, what.clone()),
        Limits {
            max_samples: 1,
            max_age_ms: MAX_AGE_MS,
        },
        1,
        Words {
            unit: "reports",
            sent: |_| "Uptime Kuma: report delivered".to_string(),
            full_hint: "",
            old_hint: "an hour".into(),
            warn_full: false,
        },
    );
    tracing::info!(
        "Uptime Kuma push on: {}{}",
        shown_url(&s.url),
        if s.heartbeat { " (with heartbeat)" } else { "" }
    );
    // The last failure report, repeated by the heartbeat until a success.
    let mut failing: Option<Report> = None;
    loop {
        let due = out.due();
        tokio::select! {
            biased;
            _ = ctx.shutdown.cancelled() => break,
            r = super::next_run(&mut runs, "uptime_kuma", &what) => match r {
                Some(run) => {
                    let rep = report(&run, s.name_bases, super::now_ms());
                    tracing::debug!("Uptime Kuma: {} {}", rep.status, rep.msg);
                    failing = (rep.status == "down").then(|| rep.clone());
                    out.push(rep.clone(), rep.at_ms);
                }
                None => break,
            },
            t = recv_tick(&mut ticks) => match t {
                Ok(_) => {
                    let now = super::now_ms();
                    let rep = match &failing {
                        Some(f) => Report { at_ms: now, ..f.clone() },
                        None => Report { at_ms: now, status: "up", msg: "OK".into(), ping: None },
                    };
                    out.push(rep, now);
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => ticks = None,
            },
            _ = super::sleep_until(due), if due.is_some() => {
                let (client, url) = (&ctx.client, &s.url);
                out.send_next(super::now_ms(), &ctx.shutdown, |items| {
                    let rep = items.first().ok_or("nothing to report")?;
                    Ok(client.get(push_url(url.expose(), rep)?))
                })
                .await;
            }
        }
    }
}

async fn recv_tick(
    rx: &mut Option<broadcast::Receiver<Arc<Tick>>>,
) -> Result<Arc<Tick>, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_urls_replace_the_monitors_default_query() {
        let r = Report {
            at_ms: 0,
            status: "down",
            msg: "Dump failed: users are connected (2)".into(),
            ping: Some(1234),
        };
        let u = push_url(
            "https://kuma.example/api/push/AbC123?status=up&msg=OK&ping=&x=1",
            &r,
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://kuma.example/api/push/AbC123?x=1&status=down&msg=Dump+failed%3A+users+are+connected+%282%29&ping=1234"
        );
        let up = Report {
            status: "up",
            msg: "OK".into(),
            ping: None,
            ..r
        };
        assert_eq!(
            push_url("http://kuma:3001/api/push/t", &up)
                .unwrap()
                .as_str(),
            "http://kuma:3001/api/push/t?status=up&msg=OK&ping="
        );
    }

    #[test]
    fn the_shown_url_hides_the_token() {
        let s = Secret::new("https://user:pw@kuma.example:3001/api/push/AbC123?status=up");
        assert_eq!(shown_url(&s), "https://kuma.example:3001/***");
    }
}
