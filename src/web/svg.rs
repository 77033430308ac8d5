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
