//! Prometheus remote write 1.0 (`GRAFANA_PROMETHEUS_URL`): Grafana Cloud,
//! Mimir, VictoriaMetrics, or Prometheus with
//! `--web.enable-remote-write-receiver`. Every tick with a new snapshot
//! becomes a queued [`Batch`](super::prompb::Batch) stamped with the
//! snapshot's time; batches go out oldest first, one request at a time,
//! so no series ever goes back in time or repeats a timestamp. While the
//! target is away the queue keeps up to `GRAFANA_PROMETHEUS_QUEUE_SAMPLES`
//! samples, none older than `GRAFANA_PROMETHEUS_MAX_AGE_SECS` (Prometheus
//! refuses samples older than its head block as "out of bounds").

use super::prompb::{self, Batch, Target};
use super::queue::Limits;
use super::{Ctx, Outbox, Tracker, Words};
use crate::config::{Config, Endpoint, redact_url};
use crate::export::Tick;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Most samples in one request (Grafana Cloud takes far more; Prometheus
/// sends 2000).
pub const MAX_PER_REQUEST: usize = 5_000;

/// What this sink needs from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub to: Endpoint,
    pub queue_samples: usize,
    pub max_age: Duration,
}

impl Settings {
    pub fn from_config(cfg: &Config) -> Option<Settings> {
        let e = &cfg.export;
        Some(Settings {
            to: e.prometheus_remote.clone()?,
            queue_samples: e.prometheus_remote_queue_samples,
            max_age: e.prometheus_remote_max_age,
        })
    }
}

fn sent(n: usize) -> String {
    format!("Sent {n} metrics to Prometheus")
}

/// Run until the agent stops.
pub async fn run(ctx: Ctx, s: Settings, mut ticks: broadcast::Receiver<Arc<Tick>>) {
    let what = format!("remote write to {}", redact_url(&s.to.url));
    let target = Target {
        job: super::JOB.to_string(),
        instance: ctx.host.clone(),
    };
    let mut out: Outbox<Batch> = Outbox::new(
        Tracker::new(&ctx, what.clone()),
        Limits {
            max_samples: s.queue_samples,
            max_age_ms: s.max_age.as_millis() as i64,
        },
        MAX_PER_REQUEST,
        Words {
            unit: "samples",
            sent,
            full_hint: "raise GRAFANA_PROMETHEUS_QUEUE_SAMPLES to ride out longer outages",
            old_hint: format!(
                "{} s (GRAFANA_PROMETHEUS_MAX_AGE_SECS): the target would refuse them",
                s.max_age.as_secs()
            ),
            warn_full: true,
        },
    );
    tracing::info!("Prometheus remote write on: {}", redact_url(&s.to.url));
    // Type and help of every family, sent with each request.
    let mut metadata: Vec<u8> = Vec::new();
    // The sampler measures every few seconds and ticks may come more
    // often; a tick at 0 has no snapshot yet (the first round is late).
    let mut last_at = 0;
    loop {
        let due = out.due();
        tokio::select! {
            biased;
            _ = ctx.shutdown.cancelled() => break,
            t = super::fresh_tick(&mut ticks, &mut last_at, "remote_write", &what) => match t {
                Some(tick) => {
                    if metadata.is_empty() {
                        metadata = prompb::metadata_bytes(&tick.families);
                    }
                    out.push(prompb::batch(&tick.families, tick.at_ms, &target), super::now_ms());
                }
                None => break,
            },
            _ = super::sleep_until(due), if due.is_some() => {
                let (client, url) = (&ctx.client, &s.to.url);
                let (user, password) = (s.to.user.as_deref(), s.to.password.as_ref());
                out.send_next(super::now_ms(), &ctx.shutdown, |items| {
                    let body = prompb::body(items, &metadata)
                        .map_err(|e| format!("cannot encode the request: {e}"))?;
                    let mut req = client.post(url.as_str());
                    for (k, v) in prompb::HEADERS {
                        req = req.header(k, v);
                    }
                    Ok(super::auth(req, user, password).body(body))
                })
                .await;
            }
        }
    }
    super::unsent_at_stop(&out, &what);
}
