//! InfluxDB (`INFLUXDB_URL`): 2.x with `INFLUXDB_TOKEN`, `INFLUXDB_ORG`,
//! `INFLUXDB_BUCKET` → `POST /api/v2/write?org=…&bucket=…&precision=s`
//! with `Authorization: Token …`; or 1.x with `INFLUXDB_DATABASE` (and
//! `INFLUXDB_USER` / `INFLUXDB_PASSWORD` as basic auth when auth is on) →
//! `POST /write?db=…&precision=s`. Every tick's families become line
//! protocol points (`line_protocol.rs`), and every finished backup one
//! `backup_run` point with its status, duration, size and message. Points
//! wait in a bounded queue while the server is away (InfluxDB takes old
//! points, so only the size and a day's age bound it).

use super::line_protocol::{self, Line, Value};
use super::queue::{Item, Limits};
use super::{Ctx, Outbox, Tracker, Words};
use crate::backup::feed::FinishedRun;
use crate::backup::history::Status;
use crate::config::{Config, Secret, redact_url};
use crate::export::Tick;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Field values kept while the server is away (about 300 per tick).
pub const QUEUE_VALUES: usize = 100_000;
/// Points older than this are dropped from the queue.
pub const MAX_AGE_MS: i64 = 24 * 3600 * 1000;
/// Most field values in one request.
const MAX_PER_REQUEST: usize = 5_000;

/// Which InfluxDB and how to authenticate.
#[derive(Debug, Clone)]
pub enum Api {
    V2 {
        token: Secret,
        org: String,
        bucket: String,
    },
    V1 {
        database: String,
        user: Option<String>,
        password: Option<Secret>,
    },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub url: String,
    pub api: Api,
}

impl Settings {
    /// `None` when off (the configuration validated the groups).
    pub fn from_config(cfg: &Config) -> Option<Settings> {
        let e = &cfg.export;
        let to = e.influxdb.clone()?;
        let url = to.url;
        let api = match &e.influxdb_database {
            Some(db) => Api::V1 {
                database: db.clone(),
                user: to.user,
                password: to.password,
            },
            None => Api::V2 {
                token: e.influxdb_token.clone()?,
                org: e.influxdb_org.clone()?,
                bucket: e.influxdb_bucket.clone()?,
            },
        };
        Some(Settings { url, api })
    }

    /// The write endpoint with its query string.
    pub fn write_url(&self) -> Result<reqwest::Url, String> {
        let (path, pairs): (&str, Vec<(&str, &str)>) = match &self.api {
            Api::V2 { org, bucket, .. } => (
                "/api/v2/write",
                vec![("org", org), ("bucket", bucket), ("precision", "s")],
            ),
            Api::V1 { database, .. } => ("/write", vec![("db", database), ("precision", "s")]),
        };
        let mut url = reqwest::Url::parse(&super::with_path(&self.url, path))
            .map_err(|e| format!("INFLUXDB_URL is not a valid URL ({e})"))?;
        url.query_pairs_mut().extend_pairs(pairs);
        Ok(url)
    }

    /// A write request for `body`.
    pub fn request(
        &self,
        client: &reqwest::Client,
        url: &reqwest::Url,
        body: String,
    ) -> reqwest::RequestBuilder {
        let req = client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(body);
        match &self.api {
            Api::V2 { token, .. } => req.header(
                reqwest::header::AUTHORIZATION,
                format!("Token {}", token.expose()),
            ),
            Api::V1 { user, password, .. } => super::auth(req, user.as_deref(), password.as_ref()),
        }
    }
}

/// Points waiting to be written.
#[derive(Debug, Clone)]
pub struct Points {
    pub at_ms: i64,
    /// Field values in `text`.
    pub values: usize,
    pub text: String,
}

impl Item for Points {
    fn samples(&self) -> usize {
        self.values.max(1)
    }
    fn at_ms(&self) -> i64 {
        self.at_ms
    }
}

impl Points {
    pub fn of(lines: &[Line], at_ms: i64) -> Points {
        Points {
            at_ms,
            values: lines.iter().map(|l| l.fields.len()).sum(),
            text: line_protocol::encode(lines),
        }
    }
}

/// The `backup_run` point of a finished run: tags `host`, `base`,
/// `status`, `trigger`; fields `ok` (1/0), `duration_seconds`,
/// `size_bytes`, `run_id`, `message`.
pub fn backup_point(r: &FinishedRun, host: &str, now_ms: i64) -> Line {
    let at_ms = r
        .run
        .as_ref()
        .and_then(|x| x.finished)
        .map(|t| t.as_millisecond())
        .unwrap_or(now_ms);
    let mut fields = vec![(
        "ok".to_string(),
        Value::Int(i64::from(matches!(
            r.status(),
            Status::Ok | Status::Skipped
        ))),
    )];
    if let Some(d) = r.duration_secs() {
        fields.push(("duration_seconds".into(), Value::Float(d)));
    }
    if let Some(n) = r.archive_size() {
        fields.push(("size_bytes".into(), Value::Int(n as i64)));
    }
    if let Some(run) = &r.run {
        fields.push(("run_id".into(), Value::Int(run.id)));
    }
    if let Some(m) = r.message() {
        fields.push(("message".into(), Value::Str(m)));
    }
    Line {
        measurement: "backup_run".into(),
        tags: vec![
            ("base".into(), r.base.clone()),
            ("host".into(), host.into()),
            ("status".into(), r.status().as_str().into()),
            ("trigger".into(), r.trigger.as_str().into()),
        ],
        fields,
        time_s: at_ms.div_euclid(1000),
    }
}

fn sent(n: usize) -> String {
    format!("Sent {n} values to InfluxDB")
}

pub async fn run(
    ctx: Ctx,
    s: Settings,
    mut ticks: broadcast::Receiver<Arc<Tick>>,
    mut runs: broadcast::Receiver<Arc<FinishedRun>>,
) {
    let what = format!("InfluxDB write to {}", redact_url(&s.url));
    let url = match s.write_url() {
        Ok(u) => u,
        Err(e) => {
            tracing::error!("InfluxDB push is off: {e}");
            return;
        }
    };
    let mut out: Outbox<Points> = Outbox::new(
        Tracker::new(&ctx, what.clone()),
        Limits {
            max_samples: QUEUE_VALUES,
            max_age_ms: MAX_AGE_MS,
        },
        MAX_PER_REQUEST,
        Words {
            unit: "values",
            sent,
            full_hint: "the oldest points are lost; check the InfluxDB server",
            old_hint: "a day".into(),
            warn_full: true,
        },
    );
    let version = match s.api {
        Api::V1 { .. } => "1.x",
        Api::V2 { .. } => "2.x",
    };
    tracing::info!("InfluxDB {version} push on: {}", redact_url(&s.url));
    // A tick at 0 has no snapshot yet (the sampler's first round is late).
    let mut last_at = 0;
    loop {
        let due = out.due();
        tokio::select! {
            biased;
            _ = ctx.shutdown.cancelled() => break,
            // The same snapshot again would be the same points.
            t = super::fresh_tick(&mut ticks, &mut last_at, "influxdb", &what) => match t {
                Some(tick) => {
                    let lines = line_protocol::lines(&tick.families, tick.at_ms, &ctx.host);
                    out.push(Points::of(&lines, tick.at_ms), super::now_ms());
                }
                None => break,
            },
            r = super::next_run(&mut runs, "influxdb", &what) => match r {
                Some(run) => {
                    let now = super::now_ms();
                    let line = backup_point(&run, &ctx.host, now);
                    out.push(Points::of(&[line], now), now);
                }
                None => break,
            },
            _ = super::sleep_until(due), if due.is_some() => {
                out.send_next(super::now_ms(), &ctx.shutdown, |items| {
                    let body: String = items.iter().map(|p| p.text.as_str()).collect();
                    Ok(s.request(&ctx.client, &url, body))
                })
                .await;
            }
        }
    }
    super::unsent_at_stop(&out, &what);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_urls_for_both_versions() {
        let v2 = Settings {
            url: "https://eu-central-1-1.aws.cloud2.influxdata.com/".into(),
            api: Api::V2 {
                token: Secret::new("t"),
                org: "My Org".into(),
                bucket: "onec&1c".into(),
            },
        };
        assert_eq!(
            v2.write_url().unwrap().as_str(),
            "https://eu-central-1-1.aws.cloud2.influxdata.com/api/v2/write?org=My+Org&bucket=onec%261c&precision=s"
        );
        let v1 = Settings {
            url: "http://influx:8086".into(),
            api: Api::V1 {
                database: "onec".into(),
                user: None,
                password: None,
            },
        };
        assert_eq!(
            v1.write_url().unwrap().as_str(),
            "http://influx:8086/write?db=onec&precision=s"
        );
    }
}
