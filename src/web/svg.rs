//! SVG drawn on the server: the overview's sparklines and the charts
//! page's line charts, from series the shared rules (`crate::chart`)
//! prepared. Every text is escaped by maud; colours come from the CSS.

use maud::{Markup, html};

/// A 120×24 sparkline of `values` (oldest first), scaled to its own
/// range.
pub fn sparkline(values: &[u64]) -> Markup {
    let (w, h) = (120.0, 24.0);
    let lo = values.iter().copied().min().unwrap_or(0) as f64;
    let hi = values.iter().copied().max().unwrap_or(0) as f64;
    let span = (hi - lo).max(1.0);
    let n = values.len().max(2) - 1;
    let mut pts = String::with_capacity(values.len() * 12);
    for (i, v) in values.iter().enumerate() {
        let x = w * i as f64 / n as f64;
        let y = h - 2.0 - (h - 4.0) * (*v as f64 - lo) / span;
        if !pts.is_empty() {
            pts.push(' ');
        }
        pts.push_str(&format!("{x:.1},{y:.1}"));
    }
    html! {
        svg.spark width="120" height="24" viewBox="0 0 120 24" role="img" aria-hidden="true" {
            polyline points=(pts) {}
        }
    }
}

/// One line of a chart: its name (the legend) and its points, oldest first.
pub struct Line<'a> {
    pub name: &'a str,
    pub points: Vec<crate::chart::Point>,
}

/// How a chart's axes are laid out: the time window, its ticks, the
/// value ticks and how values are written.
pub struct Axes<'a> {
    pub from: i64,
    pub to: i64,
    pub time_ticks: &'a [crate::chart::TimeTick],
    /// Ascending; the first is the bottom, the last the top.
    pub value_ticks: &'a [f64],
    pub fmt: &'a dyn Fn(f64) -> String,
    /// Labels a point's time in the hover text.
    pub fmt_time: &'a dyn Fn(i64) -> String,
}

const W: f64 = 800.0;
const H: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

/// A line chart: grid and labels from `axes`, one polyline per line
/// (class `s0`, `s1`, … for its colour) and a hover target per point.
pub fn line_chart(title: &str, axes: &Axes, lines: &[Line]) -> Markup {
    let span = (axes.to - axes.from).max(1) as f64;
    let lo = axes.value_ticks.first().copied().unwrap_or(0.0);
    let hi = axes.value_ticks.last().copied().unwrap_or(1.0);
    let vspan = if hi > lo { hi - lo } else { 1.0 };
    let x = |t: i64| LEFT + (W - LEFT - RIGHT) * (t - axes.from) as f64 / span;
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - (v - lo) / vspan);
    let poly = |pts: &[crate::chart::Point]| {
        let mut s = String::with_capacity(pts.len() * 14);
        for (t, v) in pts {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(&format!("{:.1},{:.1}", x(*t), y(*v)));
        }
        s
    };
    html! {
        svg.chart viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(title) {
            @for v in axes.value_ticks {
                line.grid x1=(LEFT) x2=(W - RIGHT) y1=(format!("{:.1}", y(*v))) y2=(format!("{:.1}", y(*v))) {}
                text x=(LEFT - 6.0) y=(format!("{:.1}", y(*v) + 4.0)) text-anchor="end" { ((axes.fmt)(*v)) }
            }
            @for tick in axes.time_ticks {
                line.grid x1=(format!("{:.1}", x(tick.at))) x2=(format!("{:.1}", x(tick.at))) y1=(TOP) y2=(H - BOTTOM) {}
                text x=(format!("{:.1}", x(tick.at))) y=(H - 6.0) text-anchor="middle" { (tick.label) }
            }
            @for (i, line) in lines.iter().enumerate() {
                polyline class={ "s" (i % 6) } points=(poly(&line.points)) {}
                @for (t, v) in &line.points {
                    circle.hit cx=(format!("{:.1}", x(*t))) cy=(format!("{:.1}", y(*v))) r="4"
                        data-tip={ (line.name) ": " ((axes.fmt)(*v)) " · " ((axes.fmt_time)(*t)) } {}
                }
            }
        }
    }
}
