//! `GET /charts?range=24h|7d|30d`: CPU, memory and backup-disk use from
//! the stored host samples, and each base's backup duration and archive
//! size from its good runs, drawn as SVG on the server with the shared
//! chart rules (`crate::chart`: downsampling, ticks, "not enough data").

use super::layout::{Nav, Page, layout};
use super::svg::{Axes, Line, line_chart};
use super::{Visit, html};
use crate::agent::Agent;
use crate::backup::history::{History, RunFilter, Sample, Status};
use crate::chart::{self, MAX_POINTS, Point};
use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, html};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The time window of the charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Range {
    #[default]
    Day,
    Week,
    Month,
}

impl Range {
    pub const ALL: [Range; 3] = [Range::Day, Range::Week, Range::Month];

    /// `24h`, `7d`, `30d`; anything else is a day.
    pub fn parse(s: Option<&str>) -> Range {
        match s {
            Some("7d") => Range::Week,
            Some("30d") => Range::Month,
            _ => Range::Day,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Range::Day => "24h",
            Range::Week => "7d",
            Range::Month => "30d",
        }
    }
    pub fn secs(self) -> i64 {
        match self {
            Range::Day => 86_400,
            Range::Week => 7 * 86_400,
            Range::Month => 30 * 86_400,
        }
    }
}

/// One good run: its base, start (unix seconds), duration (seconds) and
/// archive size (bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct RunPoint {
    pub base: String,
    pub at: i64,
    pub duration: f64,
    pub size: u64,
}

/// One base's (duration, size) series.
type RunSeries = (Vec<Point>, Vec<Point>);

/// What the charts page shows.
#[derive(Debug, Clone, Default)]
pub struct ChartsModel {
    pub range: Range,
    /// Host samples in the window, oldest first.
    pub samples: Vec<Sample>,
    /// Good runs in the window, oldest first.
    pub runs: Vec<RunPoint>,
    pub error: Option<String>,
}

/// The charts page.
pub fn render(p: &Page, m: &ChartsModel) -> Markup {
    let t = p.t;
    let to = p.now.as_second();
    let from = to - m.range.secs();
    let ticks = chart::time_ticks(from, to, 8, &p.tz);
    let fmt_time = |ts: i64| p.local(ts as f64);
    let pct = |v: f64| format!("{v:.0} %");
    let percent_ticks = chart::value_ticks(0.0, 100.0, 5);
    let host = |title: &str, pick: fn(&Sample) -> Option<f64>| {
        let points = chart::series(&m.samples, pick);
        let axes = Axes {
            from,
            to,
            time_ticks: &ticks,
            value_ticks: &percent_ticks,
            fmt: &pct,
            fmt_time: &fmt_time,
        };
        let body = match chart::check(&points) {
            Ok(()) => line_chart(
                title,
                &axes,
                &[Line {
                    name: title,
                    points: chart::downsample(&points, MAX_POINTS),
                }],
            ),
            Err(none) => not_enough(p, none),
        };
        html! { h2 { (title) } (body) }
    };
    let mut per_base: BTreeMap<&str, RunSeries> = BTreeMap::new();
    for r in &m.runs {
        let e = per_base.entry(&r.base).or_default();
        e.0.push((r.at, r.duration));
        e.1.push((r.at, r.size as f64));
    }
    let runs_chart = |title: &str,
                      which: fn(&RunSeries) -> &Vec<Point>,
                      fmt: &dyn Fn(f64) -> String| {
        let lines: Vec<Line> = per_base
            .iter()
            .map(|(name, v)| Line {
                name,
                points: chart::downsample(which(v), MAX_POINTS),
            })
            .collect();
        let hi = lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .fold(0.0, f64::max);
        let vticks = chart::value_ticks(0.0, hi, 4);
        let axes = Axes {
            from,
            to,
            time_ticks: &ticks,
            value_ticks: &vticks,
            fmt,
            fmt_time: &fmt_time,
        };
        html! {
            h2 { (title) }
            @if m.runs.is_empty() {
                p.muted { (t.chart_no_runs) }
            } @else {
                (line_chart(title, &axes, &lines))
                p.legend { @for (i, l) in lines.iter().enumerate() { span { i class={ "s" (i % 6) } {} (l.name) } } }
            }
        }
    };
    let dur = |v: f64| p.units.duration(v);
    let size = |v: f64| p.bytes(v as u64);
    let body = html! {
        h1 { (t.charts_title) }
        nav.ranges {
            @for r in Range::ALL {
                a href={ "/charts?range=" (r.as_str()) } aria-current=[(r == m.range).then_some("page")] {
                    (match r { Range::Day => t.range_24h, Range::Week => t.range_7d, Range::Month => t.range_30d })
                }
            }
        }
        @if let Some(e) = &m.error { p.badge.bad { (t.history_unreadable) ": " (e) } }
        (host(t.chart_cpu, |s| s.cpu))
        (host(t.chart_memory, |s| s.mem))
        (host(t.chart_disk, |s| s.disk))
        (runs_chart(t.chart_duration, |v| &v.0, &dur))
        (runs_chart(t.chart_size, |v| &v.1, &size))
    };
    layout(p, Nav::Charts, t.charts_title, body)
}

/// "Not enough data yet (samples every minute since …)".
fn not_enough(p: &Page, none: chart::NotEnough) -> Markup {
    html! {
        p.muted {
            @match none.since {
                Some(at) => ((p.t.chart_not_enough)(&p.local(at as f64))),
                None => (p.t.chart_no_samples),
            }
        }
    }
}

/// Read the window's samples and good runs (blocking).
pub fn load(h: &History, range: Range, now: i64) -> Result<ChartsModel, String> {
    let from = now - range.secs();
    let samples = h.samples_since(from).map_err(|e| e.to_string())?;
    let filter = RunFilter {
        status: Some(Status::Ok),
        from: jiff::Timestamp::from_second(from).ok(),
        ..RunFilter::default()
    };
    let mut runs: Vec<RunPoint> = h
        .runs_page(&filter, 0, 100_000)
        .map_err(|e| e.to_string())?
        .runs
        .into_iter()
        .map(|r| RunPoint {
            at: r.started.as_second(),
            duration: r.duration_ms.unwrap_or(0) as f64 / 1000.0,
            size: r.archive_size.unwrap_or(0),
            base: r.base,
        })
        .collect();
    runs.reverse();
    Ok(ChartsModel {
        range,
        samples,
        runs,
        error: None,
    })
}

/// The charts page's GET parameters.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Params {
    pub range: Option<String>,
}

/// `GET /charts`.
pub async fn handler(
    State(agent): State<Arc<Agent>>,
    visit: Visit,
    Query(q): Query<Params>,
) -> Response {
    let p = match visit.full_page(agent.cfg.timezone.clone(), Nav::Charts, |p| {
        p.t.charts_title
    }) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let now = p.now;
    let range = Range::parse(q.range.as_deref());
    let a = agent.clone();
    let model = tokio::task::spawn_blocking(move || match super::history::open(&a)? {
        Some(h) => load(&h, range, now.as_second()),
        None => Ok(ChartsModel {
            range,
            ..ChartsModel::default()
        }),
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()))
    .unwrap_or_else(|e| ChartsModel {
        range,
        error: Some(e),
        ..ChartsModel::default()
    });
    html(&visit, render(&p, &model))
}
