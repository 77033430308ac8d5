//! `GET /events`: live progress as server-sent events, for the overview's
//! small script (`live.js`, served at [`live_href`]; the page works
//! without it). On connecting, one
//! `progress` event per run in progress; then `progress` on every stage
//! change and at most every [`PROGRESS_EVERY`] while packing (stage,
//! percent, bytes per second measured here from the `JobEvent`s), and a
//! `finished` event per finished run from the agent's feed, so also runs
//! of other processes (a console `backup`, the Windows task scheduler).
//! A `: keep-alive` comment every [`KEEP_ALIVE`]. The stream is not
//! bound by the API's request timeout (that covers only the answer's
//! head), ends when the agent stops, and at most [`MAX_STREAMS`] are
//! open at once: the next gets 503.

use super::session::{Access, Visitor};
use crate::backup::feed::FinishedRun;
use crate::backup::jobs::{JobEvent, Running};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::{self, error::RecvError};

/// Open streams at most.
pub const MAX_STREAMS: usize = 16;
/// The comment that keeps proxies and browsers from closing an idle stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Progress of one base is sent at most this often (stage changes always).
pub const PROGRESS_EVERY: Duration = Duration::from_millis(250);

static LIVE_JS: &str = include_str!("live.js");

/// `/assets/live.js?v=<crc32>`: the overview's live script, a new link
/// whenever it changes (so browsers may keep it a year).
pub fn live_href() -> &'static str {
    static HREF: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "/assets/live.js?v={:08x}",
            crc32fast::hash(LIVE_JS.as_bytes())
        )
    });
    &HREF
}

pub fn routes() -> Router {
    Router::new()
        .route("/events", get(events))
        .route("/assets/live.js", get(live_js))
}

async fn live_js() -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (
                axum::http::header::CACHE_CONTROL,
                "public, max-age=31536000, immutable",
            ),
        ],
        LIVE_JS,
    )
        .into_response()
}

/// Counts a stream in while it lives.
struct Slot(Arc<Access>);

impl Slot {
    fn take(access: &Arc<Access>) -> Option<Slot> {
        let before = access.streams.fetch_add(1, Ordering::SeqCst);
        if before >= MAX_STREAMS {
            access.streams.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Slot(access.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A base's packing progress as last sent, for the speed.
struct Pace {
    stage: &'static str,
    run_id: Option<i64>,
    sent: Instant,
    done: u64,
    /// Bytes per second, smoothed.
    speed: Option<f64>,
}

/// What one stream keeps between events.
struct State {
    jobs: broadcast::Receiver<JobEvent>,
    feed: broadcast::Receiver<Arc<FinishedRun>>,
    stop: tokio_util::sync::CancellationToken,
    queue: VecDeque<Event>,
    pace: HashMap<String, Pace>,
    /// The page's language (stage and status names).
    lang: &'static str,
    _slot: Slot,
}

fn progress(lang: &str, base: &str, p: &Pace, done: u64, total: u64) -> Event {
    let percent = (total > 0).then(|| (done as f64 * 100.0 / total as f64).min(100.0));
    let data = json!({
        "base": base,
        "run_id": p.run_id,
        "stage": p.stage,
        "label": (crate::text::texts(lang).stage)(p.stage),
        "percent": percent.map(|x| (x * 10.0).round() / 10.0),
        "done": done,
        "total": total,
        "speed": p.speed.map(|s| s.round()),
    });
    Event::default().event("progress").data(data.to_string())
}

impl State {
    /// The runs in progress when the stream opens.
    fn snapshot(&mut self, running: Vec<Running>) {
        for r in running {
            let p = Pace {
                stage: r.stage.as_str(),
                run_id: r.run_id,
                sent: Instant::now(),
                done: r.done,
                speed: None,
            };
            self.queue
                .push_back(progress(self.lang, &r.base, &p, r.done, r.total));
            self.pace.insert(r.base, p);
        }
    }

    /// Turn a job event into at most one event to send.
    fn job(&mut self, e: JobEvent) {
        match e {
            JobEvent::Started { base, run_id, .. } => {
                let p = Pace {
                    stage: "preparing",
                    run_id: Some(run_id),
                    sent: Instant::now(),
                    done: 0,
                    speed: None,
                };
                self.queue.push_back(progress(self.lang, &base, &p, 0, 0));
                self.pace.insert(base, p);
            }
            JobEvent::Stage {
                base,
                run_id,
                stage,
            } => {
                let p = self.pace.entry(base.clone()).or_insert(Pace {
                    stage: stage.as_str(),
                    run_id,
                    sent: Instant::now(),
                    done: 0,
                    speed: None,
                });
                p.stage = stage.as_str();
                p.run_id = run_id.or(p.run_id);
                p.sent = Instant::now();
                p.done = 0;
                p.speed = None;
                let ev = progress(self.lang, &base, p, 0, 0);
                self.queue.push_back(ev);
            }
            JobEvent::Progress { base, done, total } => {
                let Some(p) = self.pace.get_mut(&base) else {
                    return;
                };
                let dt = p.sent.elapsed();
                if dt < PROGRESS_EVERY && done < total {
                    return;
                }
                if done >= p.done && dt > Duration::ZERO {
                    let now = (done - p.done) as f64 / dt.as_secs_f64();
                    p.speed = Some(p.speed.map_or(now, |s| 0.5 * s + 0.5 * now));
                }
                p.sent = Instant::now();
                p.done = done;
                let ev = progress(self.lang, &base, p, done, total);
                self.queue.push_back(ev);
            }
            // The feed announces it, for runs of any process.
            JobEvent::Finished { .. } => {}
        }
    }

    fn finished(&mut self, r: &FinishedRun) {
        self.pace.remove(&r.base);
        let data = json!({
            "base": r.base,
            "run_id": r.run.as_ref().map(|x| x.id),
            "status": r.status().as_str(),
            "label": (crate::text::web(self.lang).status)(r.status().as_str()),
        });
        self.queue
            .push_back(Event::default().event("finished").data(data.to_string()));
    }

    /// The next event, or `None` when the agent stops.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, State)> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Some((Ok(e), self));
            }
            tokio::select! {
                e = self.jobs.recv() => match e {
                    Ok(e) => self.job(e),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                },
                r = self.feed.recv() => match r {
                    Ok(r) => self.finished(&r),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                },
                _ = self.stop.cancelled() => return None,
            }
        }
    }
}

pub async fn events(
    Extension(access): Extension<Arc<Access>>,
    _: Visitor,
    headers: axum::http::HeaderMap,
) -> Response {
    let Some(slot) = Slot::take(&access) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "30")],
            format!("too many live streams are open (at most {MAX_STREAMS}); try again later"),
        )
            .into_response();
    };
    let agent = &access.agent;
    let mut state = State {
        jobs: agent.jobs.subscribe(),
        feed: agent.feed.subscribe(),
        stop: agent.shutdown.clone(),
        queue: VecDeque::new(),
        pace: HashMap::new(),
        lang: super::language(
            None,
            super::session::cookie(&headers, "lang"),
            &agent.cfg.ui_language(),
        ),
        _slot: slot,
    };
    state.snapshot(agent.jobs.running());
    // The first line at once, so a client knows it is connected.
    state.queue.push_front(
        Event::default()
            .comment("connected")
            .retry(Duration::from_secs(3)),
    );
    let stream = futures_util::stream::unfold(state, State::next);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response()
}
