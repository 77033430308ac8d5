//! Prometheus Pushgateway (`PROMETHEUS_PUSHGATEWAY_URL`, optional basic
//! auth): every tick `PUT`s the whole exposition (the same text as
//! `/api/metrics.prom`) to `/metrics/job/onec_backup_bot/instance/<host>`,
//! replacing the group. Only the newest tick matters, so nothing is
//! queued: a failed push is simply followed by the next tick's. On a clean
//! stop the group is deleted, unless `pushgateway.keep_on_exit` is set
//! (the Pushgateway would otherwise show the last values forever).

use super::{Ctx, Failure, Tracker};
use crate::config::{Config, Endpoint, redact_url};
use crate::export::Tick;
use crate::export::prometheus;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

/// How long a push in flight may finish when the agent stops, and how
/// long the group's deletion may take.
const STOP_WAIT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct Settings {
    pub to: Endpoint,
    pub keep_on_exit: bool,
}

impl Settings {
    pub fn from_config(cfg: &Config) -> Option<Settings> {
        let e = &cfg.export;
        Some(Settings {
            to: e.pushgateway.clone()?,
            keep_on_exit: e.pushgateway_keep_on_exit,
        })
    }
}

/// The group's URL: `<base>/metrics/job/<job>/instance/<host>`. A host
/// name that is not a plain path segment goes base64url-encoded
/// (`instance@base64/…`), as the Pushgateway documents.
pub fn group_url(base: &str, job: &str, host: &str) -> String {
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    let seg = |name: &str, v: &str| {
        if plain(v) {
            format!("{name}/{v}")
        } else {
            format!("{name}@base64/{}", base64url(v.as_bytes()))
        }
    };
    format!(
        "{}/metrics/{}/{}",
        base.trim_end_matches('/'),
        seg("job", job),
        seg("instance", host)
    )
}

/// RFC 4648 base64url with padding.
fn base64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The body of a push: the text exposition, ending with a newline
/// (Pushgateway 1.5 answers 400 otherwise).
pub fn body(tick: &Tick) -> String {
    let mut text = prometheus::encode(&tick.families);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

pub async fn run(ctx: Ctx, s: Settings, mut ticks: broadcast::Receiver<Arc<Tick>>) {
    let url = group_url(&s.to.url, super::JOB, &ctx.host);
    let what = format!("push to the Pushgateway at {}", redact_url(&s.to.url));
    let mut tracker = Tracker::new(&ctx, what.clone());
    let request = |method: reqwest::Method| {
        super::auth(
            ctx.client.request(method, url.as_str()),
            s.to.user.as_deref(),
            s.to.password.as_ref(),
        )
    };
    tracing::info!("Pushgateway push on: {}", redact_url(&url));
    loop {
        let tick = tokio::select! {
            biased;
            _ = ctx.shutdown.cancelled() => break,
            t = ticks.recv() => match t {
                Ok(t) => t,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
        };
        // Only the newest tick is worth pushing.
        let tick = newest(tick, &mut ticks);
        let samples: usize = tick.families.iter().map(|f| f.samples.len()).sum();
        let put = super::send(
            request(reqwest::Method::PUT)
                .header(reqwest::header::CONTENT_TYPE, prometheus::CONTENT_TYPE)
                .body(body(&tick)),
        );
        tokio::pin!(put);
        let result = tokio::select! {
            r = &mut put => r,
            _ = ctx.shutdown.cancelled() => {
                // Let a push in flight land before the group is deleted.
                let _ = tokio::time::timeout(STOP_WAIT, &mut put).await;
                break;
            }
        };
        match result {
            Ok(()) => tracker.ok(format!("Pushed {samples} metrics to the Pushgateway")),
            Err(f) => tracker.failed(&f, "the next tick pushes again"),
        }
    }
    if s.keep_on_exit {
        tracing::info!(
            "Pushgateway: the group is kept (pushgateway.keep_on_exit); delete it there when this server is gone"
        );
        return;
    }
    let deleted = super::send(request(reqwest::Method::DELETE).timeout(STOP_WAIT)).await;
    match deleted {
        Ok(()) => tracing::info!(
            "Pushgateway: group job={} instance={} deleted",
            super::JOB,
            ctx.host
        ),
        Err(f) => {
            let msg = match &f {
                Failure::Retry { message, .. } | Failure::Reject(message) => message,
            };
            tracing::warn!(
                sink = "pushgateway",
                "Pushgateway: cannot delete group job={} instance={}: {}; its last values stay there until deleted",
                super::JOB,
                ctx.host,
                msg
            )
        }
    }
}

/// The newest tick already waiting, or `tick`.
fn newest(mut tick: Arc<Tick>, rx: &mut broadcast::Receiver<Arc<Tick>>) -> Arc<Tick> {
    loop {
        match rx.try_recv() {
            Ok(t) => tick = t,
            Err(TryRecvError::Lagged(_)) => continue,
            Err(TryRecvError::Empty | TryRecvError::Closed) => return tick,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_urls_encode_odd_host_names() {
        assert_eq!(
            group_url("http://pg:9091/", "onec_backup_bot", "SRV-1C.corp"),
            "http://pg:9091/metrics/job/onec_backup_bot/instance/SRV-1C.corp"
        );
        assert_eq!(
            group_url("http://pg:9091", "onec_backup_bot", "сервер/1"),
            format!(
                "http://pg:9091/metrics/job/onec_backup_bot/instance@base64/{}",
                base64url("сервер/1".as_bytes())
            )
        );
    }

    #[test]
    fn base64url_matches_rfc_4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url(plain.as_bytes()), enc);
        }
        // The URL-safe alphabet: 0xfb 0xff → "-_8=".
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8=");
    }

    #[test]
    fn the_body_ends_with_a_newline() {
        let tick = Tick {
            at_ms: 0,
            snapshot: Default::default(),
            backup: Default::default(),
            families: vec![],
        };
        assert_eq!(body(&tick), "\n");
    }
}
