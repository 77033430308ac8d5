//! Charts: `/chart [hours]` draws CPU, memory and backup-disk use over the
//! last N hours as a PNG with plotters, from the sample rows the metrics
//! worker (`daemon::worker`) stores once a minute. The font (DejaVu Sans,
//! Cyrillic included; licence in `DejaVuSans.LICENSE`) is bundled, so no
//! system font library is needed on any platform.

use super::{Ctx, api};
use crate::backup::history::Sample;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::sync::Once;
use teloxide::prelude::*;
use teloxide::types::InputFile;

/// `/chart` without an argument.
pub const DEFAULT_HOURS: u32 = 24;
pub const MAX_HOURS: u32 = 720;

static FONT: &[u8] = include_bytes!("DejaVuSans.ttf");

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("cannot draw the chart: {0}")]
    Draw(String),
    #[error("cannot write the chart image: {0}")]
    Io(#[from] std::io::Error),
}

/// Hours from the `/chart` argument: empty → 24; 1..=720; else None.
pub fn parse_hours(arg: &str) -> Option<u32> {
    if arg.is_empty() {
        return Some(DEFAULT_HOURS);
    }
    arg.parse::<u32>()
        .ok()
        .filter(|h| (1..=MAX_HOURS).contains(h))
}

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            if register_font("sans-serif", style, FONT).is_err() {
                tracing::warn!("cannot load the bundled chart font");
            }
        }
    });
}

/// The time-axis labels of a chart from `first` to `last` (unix
/// seconds) in `tz`: the shared rule ([`crate::chart::time_ticks`]), so
/// no label repeats.
fn x_labels(first: i64, last: i64, tz: &jiff::tz::TimeZone) -> Vec<(i64, String)> {
    crate::chart::time_ticks(first, last, 8, tz)
        .into_iter()
        .map(|t| (t.at, t.label))
        .collect()
}

/// Draw `samples` (oldest first) as a PNG: three lines, 0–100 %, time on
/// the x axis in `tz`.
pub fn render_png(
    samples: &[Sample],
    names: [&str; 3],
    tz: &jiff::tz::TimeZone,
) -> Result<Vec<u8>, ChartError> {
    register_fonts();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("chart.png");
    let draw = |e: &dyn std::fmt::Display| ChartError::Draw(e.to_string());
    {
        let root = BitMapBackend::new(&path, (1000, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw(&e))?;
        let first = samples.first().map(|s| s.ts).unwrap_or(0);
        let last = samples.last().map(|s| s.ts).unwrap_or(0).max(first + 60);
        let labels = x_labels(first, last, tz);
        let keys: Vec<i64> = labels.iter().map(|(at, _)| *at).collect();
        let keys_n = keys.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d((first..last).with_key_points(keys), 0f64..100f64)
            .map_err(|e| draw(&e))?;
        let fmt_x = move |ts: &i64| {
            labels
                .iter()
                .find(|(at, _)| at == ts)
                .map(|(_, l)| l.clone())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_labels(keys_n)
            .y_labels(6)
            .x_label_formatter(&fmt_x)
            .y_label_formatter(&|v| format!("{v:.0} %"))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| draw(&e))?;
        let colors = [
            RGBColor(220, 50, 47),
            RGBColor(38, 139, 210),
            RGBColor(133, 153, 0),
        ];
        type Pick = fn(&Sample) -> Option<f64>;
        let picks: [Pick; 3] = [|s| s.cpu, |s| s.mem, |s| s.disk];
        for ((name, pick), color) in names.iter().zip(picks).zip(colors) {
            chart
                .draw_series(LineSeries::new(
                    samples.iter().filter_map(|s| pick(s).map(|v| (s.ts, v))),
                    color.stroke_width(2),
                ))
                .map_err(|e| draw(&e))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| draw(&e))?;
        root.present().map_err(|e| draw(&e))?;
    }
    Ok(std::fs::read(&path)?)
}

/// `/chart [hours]`.
pub async fn command(ctx: &Ctx, chat: ChatId, arg: &str) -> anyhow::Result<()> {
    let t = ctx.texts;
    let Some(hours) = parse_hours(arg) else {
        api::send_html(ctx, chat, &(t.chart_bad_hours)(arg)).await;
        return Ok(());
    };
    let since = jiff::Timestamp::now().as_second() - i64::from(hours) * 3600;
    let samples = ctx.history(move |h| h.samples_since(since)).await?;
    // Fewer than two samples draw empty axes: say so, and since when the
    // agent has been sampling.
    if let Err(none) = crate::chart::check(&crate::chart::series(&samples, |s| Some(s.ts as f64))) {
        let since = none.since.map(|ts| {
            jiff::Timestamp::from_second(ts)
                .unwrap_or_default()
                .to_zoned_datetime(ctx.agent.cfg.timezone.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        });
        let text = match since {
            Some(at) => (t.chart_not_enough)(&at),
            None => t.chart_no_data.to_string(),
        };
        api::send_html(ctx, chat, &text).await;
        return Ok(());
    }
    let n = samples.len();
    let tz = ctx.agent.cfg.timezone.clone();
    let names = t.chart_series;
    let png = tokio::task::spawn_blocking(move || render_png(&samples, names, &tz)).await??;
    let req = ctx
        .bot
        .send_photo(chat, InputFile::memory(png).file_name("chart.png"))
        .caption((t.chart_caption)(hours, n));
    api::call(ctx, req).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_bounded() {
        assert_eq!(parse_hours(""), Some(24));
        assert_eq!(parse_hours("48"), Some(48));
        assert_eq!(parse_hours("0"), None);
        assert_eq!(parse_hours("721"), None);
        assert_eq!(parse_hours("abc"), None);
    }

    /// The bug: on a fresh agent (two samples a minute apart) the
    /// time axis said `17:49 17:49 17:49 17:49 17:50…`.
    #[test]
    fn time_labels_never_repeat_on_a_fresh_agent() {
        let first = 1_764_784_140; // 17:49 UTC
        for span in [60, 120, 600, 3600, 86_400, 3 * 86_400, 30 * 86_400] {
            let labels = x_labels(first, first + span, &jiff::tz::TimeZone::UTC);
            let mut texts: Vec<&str> = labels.iter().map(|(_, l)| l.as_str()).collect();
            assert!(labels.len() >= 2, "span {span}: {texts:?}");
            texts.dedup();
            assert_eq!(texts.len(), labels.len(), "span {span}: {labels:?}");
        }
    }

    #[test]
    fn renders_a_png_with_cyrillic_labels() {
        let samples: Vec<Sample> = (0..120)
            .map(|i| Sample {
                ts: 1_700_000_000 + i * 60,
                cpu: Some((i % 50) as f64),
                mem: Some(40.0),
                disk: if i % 7 == 0 { None } else { Some(70.0) },
                rdp: None,
                onec_users: None,
            })
            .collect();
        let png = render_png(
            &samples,
            ["CPU %", "Память %", "Диск %"],
            &jiff::tz::TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(png.len() > 5000, "{}", png.len());
    }
}
