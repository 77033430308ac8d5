//! The rules every chart of ours follows, for the web dashboard's SVG
//! (`crate::web`) and the bot's PNG (`telegram::chart`) alike: host
//! samples → one series per measure, downsampling to a few hundred points
//! (min and max per bucket, so a spike survives), time-axis ticks whose
//! labels never repeat, value-axis ticks, whether there is enough data to
//! draw at all, and the disk's days-until-full from its trend. Pure
//! functions only; drawing is the callers' business.

use crate::backup::history::Sample;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A point: unix seconds and a value.
pub type Point = (i64, f64);

/// How many points a drawn series keeps at most.
pub const MAX_POINTS: usize = 400;

/// The seconds between stored host samples (the metrics worker's pace).
pub const SAMPLE_EVERY_SECS: i64 = 60;

/// The points of one measure of `samples` (oldest first), skipping the
/// samples where its collector failed.
pub fn series(samples: &[Sample], pick: impl Fn(&Sample) -> Option<f64>) -> Vec<Point> {
    samples
        .iter()
        .filter_map(|s| pick(s).map(|v| (s.ts, v)))
        .collect()
}

/// Whether `points` can be drawn as a line: at least two, at two
/// different times. Otherwise callers say [`not enough data`](NotEnough).
pub fn enough(points: &[Point]) -> bool {
    match (points.first(), points.last()) {
        (Some(a), Some(b)) => points.len() >= 2 && b.0 > a.0,
        _ => false,
    }
}

/// Why a chart is not drawn: fewer than two samples so far; `since` is
/// the first sample's time, if there is one (for "samples every minute
/// since …").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotEnough {
    pub since: Option<i64>,
}

/// [`enough`] as a result.
pub fn check(points: &[Point]) -> Result<(), NotEnough> {
    if enough(points) {
        Ok(())
    } else {
        Err(NotEnough {
            since: points.first().map(|p| p.0),
        })
    }
}

/// At most `max` points (at least 4) keeping the shape: the points are
/// cut into `max / 2` buckets of equal time and each bucket keeps its
/// lowest and its highest point, in time order. The first and last points
/// are always kept. Fewer points than `max` are returned as they are.
pub fn downsample(points: &[Point], max: usize) -> Vec<Point> {
    let max = max.max(4);
    if points.len() <= max {
        return points.to_vec();
    }
    let (t0, t1) = (points[0].0, points[points.len() - 1].0);
    let buckets = (max - 2) / 2;
    let span = (t1 - t0).max(1) as f64;
    let mut out = Vec::with_capacity(max);
    out.push(points[0]);
    let inner = &points[1..points.len() - 1];
    let mut i = 0;
    for b in 0..buckets {
        let end = t0 as f64 + span * (b + 1) as f64 / buckets as f64;
        let start = i;
        while i < inner.len() && ((inner[i].0 as f64) < end || b + 1 == buckets) {
            i += 1;
        }
        let bucket = &inner[start..i];
        if bucket.is_empty() {
            continue;
        }
        let lo = bucket
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
            .map(|x| x.0);
        let hi = bucket
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.1.total_cmp(&b.1.1))
            .map(|x| x.0);
        let (lo, hi) = (lo.unwrap_or(0), hi.unwrap_or(0));
        let (a, b) = (lo.min(hi), lo.max(hi));
        out.push(bucket[a]);
        if b != a {
            out.push(bucket[b]);
        }
    }
    out.push(points[points.len() - 1]);
    out
}

/// A labelled tick on the time axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeTick {
    pub at: i64,
    pub label: String,
}

/// Tick steps, seconds: from a minute to a week.
const STEPS: &[i64] = &[
    60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
];

/// Up to `max` ticks between `from` and `to` (unix seconds) at round
/// times in `tz` (whole minutes, hours, days), labelled `HH:MM`, `DD.MM
/// HH:MM` when the span passes a day, or `DD.MM` for day steps; no two
/// labels are the same (a repeat, as on a DST fall-back night, is
/// dropped). Empty when `to <= from`.
pub fn time_ticks(from: i64, to: i64, max: usize, tz: &TimeZone) -> Vec<TimeTick> {
    if to <= from || max == 0 {
        return Vec::new();
    }
    let span = to - from;
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s < max as i64)
        .unwrap_or_else(|| (span / max as i64 / 86_400 + 1) * 86_400);
    let fmt = if step >= 86_400 {
        "%d.%m"
    } else if span > 86_400 {
        "%d.%m %H:%M"
    } else {
        "%H:%M"
    };
    let offset = |t: i64| {
        Timestamp::from_second(t)
            .map(|ts| i64::from(tz.to_offset(ts).seconds()))
            .unwrap_or(0)
    };
    let local = from + offset(from);
    let mut at_local = local.div_euclid(step) * step;
    if at_local < local {
        at_local += step;
    }
    let mut out: Vec<TimeTick> = Vec::new();
    while out.len() < max + 1 {
        let at = at_local - offset(at_local - offset(from));
        if at > to {
            break;
        }
        at_local += step;
        if at < from {
            continue;
        }
        let label = Timestamp::from_second(at)
            .map(|ts| ts.to_zoned_datetime(tz.clone()).strftime(fmt).to_string())
            .unwrap_or_default();
        if out.iter().any(|t| t.label == label) {
            continue;
        }
        out.push(TimeTick { at, label });
    }
    out.truncate(max);
    out
}

/// Round value-axis ticks from 0 (or below, for negative data) to at
/// least `hi`: 1, 2 or 5 times a power of ten, at most `max` steps.
/// Returns the ticks; the last one is the axis top.
pub fn value_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let lo = lo.min(0.0);
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let raw = (hi - lo) / max.max(1) as f64;
    let pow = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * pow);
    let start = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut v = start;
    while out.len() <= max + 1 {
        out.push((v / step).round() * step);
        if v >= hi {
            break;
        }
        v += step;
    }
    out
}

/// Days until the disk is full at the pace of `used` (unix seconds, used
/// percent 0–100; the last 7 days' samples): a least-squares line through
/// the points, extended to 100 %. `None` when there are fewer than two
/// points, less than an hour between the first and last, or the disk is
/// not filling up.
pub fn days_until_full(used: &[Point]) -> Option<f64> {
    let (first, last) = (used.first()?, used.last()?);
    if used.len() < 2 || last.0 - first.0 < 3600 {
        return None;
    }
    let n = used.len() as f64;
    let t0 = first.0;
    let xs = used.iter().map(|p| (p.0 - t0) as f64 / 86_400.0);
    let mx = xs.clone().sum::<f64>() / n;
    let my = used.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, p) in xs.zip(used) {
        sxy += (x - mx) * (p.1 - my);
        sxx += (x - mx) * (x - mx);
    }
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx; // percent per day
    if slope <= 1e-6 {
        return None;
    }
    let now_x = (last.0 - t0) as f64 / 86_400.0;
    let now_used = my + slope * (now_x - mx);
    Some(((100.0 - now_used) / slope).max(0.0))
}

#[cfg(test)]
mod tests;
