//! Cron schedules evaluated in a time zone, correct across daylight saving
//! time, plus the pure decisions the agent makes around them: quiet hours,
//! the one catch-up run after downtime, and the next N run times for the
//! `schedule` command. Nothing here reads the clock: `now`/`after` are
//! arguments, so every rule is tested with exact instants.

use std::fmt;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ZonedDateTime};

/// How late a missed run may still be made up at start ([`catch_up`]).
pub const DEFAULT_MAX_LATE: SignedDuration = SignedDuration::from_hours(6);

/// How far ahead (in days) a schedule is searched before it is declared to
/// never fire (`0 0 30 2 *`). Nine years covers every Feb 29 + weekday mix.
const SEARCH_DAYS: i32 = 366 * 9;

/// Language of human-readable texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "invalid schedule {expr:?}: expected 5 fields (minute hour day-of-month month day-of-week) \
         or 6 with leading seconds, got {count}"
    )]
    FieldCount { expr: String, count: usize },
    #[error("invalid schedule {expr:?}: {field} field {value:?} is out of range {min}-{max}")]
    OutOfRange {
        expr: String,
        field: &'static str,
        value: String,
        min: u32,
        max: u32,
    },
    #[error(
        "invalid schedule {expr:?}: {field} field {value:?} is not a number, range, list or step \
         (e.g. 5, 1-5, 1,15, */10)"
    )]
    Syntax {
        expr: String,
        field: &'static str,
        value: String,
    },
    #[error("invalid schedule {expr:?}: {field} field {value:?} has a zero step")]
    ZeroStep {
        expr: String,
        field: &'static str,
        value: String,
    },
    #[error("invalid schedule {expr:?}: {field} field {value:?} is a reversed range (start > end)")]
    Reversed {
        expr: String,
        field: &'static str,
        value: String,
    },
}

/// One cron field: its name for errors, bounds and accepted names.
struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The value of `names[0]` (JAN = 1, SUN = 0).
    names_base: u32,
}

const SECOND: FieldSpec = FieldSpec {
    name: "second",
    min: 0,
    max: 59,
    names: &[],
    names_base: 0,
};
const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
    names_base: 0,
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
    names_base: 0,
};
const DOM: FieldSpec = FieldSpec {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    names_base: 0,
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
    names_base: 1,
};
const DOW: FieldSpec = FieldSpec {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    names_base: 0,
};

/// A parsed cron expression. Fields are bit sets (bit `n` = value `n`).
///
/// # Time zones and daylight saving time
///
/// [`Schedule::next_after`] works on the *local wall clock* of the zone of
/// its argument:
/// - a local time that does not exist (spring-forward gap, e.g. 02:30 on the
///   last Sunday of March in Europe/Berlin) fires once, at the first instant
///   after the gap (03:00 new time), like cronie and systemd; all gap times
///   and the time right after the gap collapse into that one run;
/// - a local time that occurs twice (fall-back fold, 02:00–02:59 on the last
///   Sunday of October in Europe/Berlin) fires once, at its first
///   occurrence; the repeated hour is not run again, even for `* * * * *`.
///
/// Day semantics follow Vixie cron: when both day-of-month and day-of-week
/// are restricted (neither starts with `*`), a day matching either fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    expr: String,
    seconds: u64,
    minutes: u64,
    hours: u32,
    doms: u32,
    months: u16,
    /// Bits 0..=6, Sunday = 0 (7 is folded into 0).
    dows: u8,
    dom_star: bool,
    dow_star: bool,
    /// The five minute..dow field texts, for [`Schedule::describe`].
    fields: [String; 5],
    has_seconds: bool,
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

impl std::str::FromStr for Schedule {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Schedule::parse(s)
    }
}

impl Schedule {
    /// Parse `min hour dom month dow` or `sec min hour dom month dow`.
    pub fn parse(expr: &str) -> Result<Schedule, ScheduleError> {
        let parts: Vec<&str> = expr.split_whitespace().collect();
        let (sec_text, rest) = match parts.len() {
            5 => (None, &parts[..]),
            6 => (Some(parts[0]), &parts[1..]),
            count => {
                return Err(ScheduleError::FieldCount {
                    expr: expr.to_string(),
                    count,
                });
            }
        };
        let seconds = match sec_text {
            Some(t) => parse_field(expr, t, &SECOND)?,
            None => 1,
        };
        let minutes = parse_field(expr, rest[0], &MINUTE)?;
        let hours = parse_field(expr, rest[1], &HOUR)? as u32;
        let doms = parse_field(expr, rest[2], &DOM)? as u32;
        let months = parse_field(expr, rest[3], &MONTH)? as u16;
        let mut dows = parse_field(expr, rest[4], &DOW)?;
        if dows & (1 << 7) != 0 {
            dows = (dows | 1) & !(1 << 7);
        }
        Ok(Schedule {
            expr: parts.join(" "),
            seconds,
            minutes,
            hours,
            doms,
            months,
            dows: dows as u8,
            dom_star: rest[2].starts_with('*'),
            dow_star: rest[4].starts_with('*'),
            fields: std::array::from_fn(|i| rest[i].to_ascii_uppercase()),
            has_seconds: sec_text.is_some(),
        })
    }

    /// The expression as written (whitespace normalised).
    pub fn as_str(&self) -> &str {
        &self.expr
    }

    fn day_matches(&self, d: Date) -> bool {
        if self.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = self.doms & (1 << d.day()) != 0;
        let dow = self.dows & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        match (self.dom_star, self.dow_star) {
            (false, false) => dom || dow,
            (false, true) => dom,
            (true, false) => dow,
            (true, true) => true,
        }
    }

    /// First matching (h, m, s) at or after `from` within one day.
    fn first_time_from(&self, from: (u32, u32, u32)) -> Option<Time> {
        for h in from.0..24 {
            if self.hours & (1 << h) == 0 {
                continue;
            }
            let m0 = if h == from.0 { from.1 } else { 0 };
            for m in m0..60 {
                if self.minutes & (1 << m) == 0 {
                    continue;
                }
                let s0 = if h == from.0 && m == from.1 {
                    from.2
                } else {
                    0
                };
                if let Some(s) = (s0..60).find(|s| self.seconds & (1 << s) != 0) {
                    return Time::new(h as i8, m as i8, s as i8, 0).ok();
                }
            }
        }
        None
    }

    /// The first matching civil datetime at or after `from` (whole seconds).
    fn next_civil(&self, from: DateTime) -> Option<DateTime> {
        let mut date = from.date();
        let mut start = (
            from.hour() as u32,
            from.minute() as u32,
            from.second() as u32,
        );
        for _ in 0..SEARCH_DAYS {
            if self.day_matches(date)
                && let Some(t) = self.first_time_from(start)
            {
                return Some(date.to_datetime(t));
            }
            date = date.tomorrow().ok()?;
            start = (0, 0, 0);
        }
        None
    }

    /// The first run strictly after `after`, in the zone of `after`.
    /// See the type's documentation for the DST rules. `None` when the
    /// schedule never fires again (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, after: &ZonedDateTime) -> Option<ZonedDateTime> {
        let tz = after.time_zone();
        let limit = after.timestamp();
        // Whole seconds: start at the next second boundary.
        let mut from = after
            .datetime()
            .with()
            .subsec_nanosecond(0)
            .build()
            .ok()?
            .checked_add(SignedDuration::from_secs(1))
            .ok()?;
        // Bounded: inside a fold every candidate of the repeated hour may be
        // skipped (3600 for a per-second schedule).
        for _ in 0..10_000 {
            let civil = self.next_civil(from)?;
            let ts = resolve(tz, civil)?;
            if ts > limit {
                return Some(ts.to_zoned_datetime(tz.clone()));
            }
            from = civil.checked_add(SignedDuration::from_secs(1)).ok()?;
        }
        None
    }

    /// The schedule in words: "каждый день в 13:05 и 18:05" / "every day at
    /// 13:05 and 18:05"; the expression itself when it is not a simple shape.
    pub fn describe(&self, lang: Lang) -> String {
        self.describe_simple(lang).unwrap_or_else(|| match lang {
            Lang::Ru => format!("по расписанию cron: {}", self.expr),
            Lang::En => format!("cron schedule: {}", self.expr),
        })
    }

    fn describe_simple(&self, lang: Lang) -> Option<String> {
        if !self.dom_star || self.fields[3] != "*" {
            return None;
        }
        let secs = bits(self.seconds, 60);
        let [min_f, hour_f, ..] = &self.fields;
        // "every minute", "every N minutes", "every hour at :MM".
        if secs == [0] && self.dow_star {
            if min_f == "*" && hour_f == "*" {
                return Some(lang.pick("каждую минуту", "every minute").into());
            }
            if let Some(n) = min_f.strip_prefix("*/").and_then(|n| n.parse::<u32>().ok())
                && hour_f == "*"
                && n > 0
                && 60 % n == 0
            {
                return Some(match lang {
                    Lang::Ru => format!(
                        "{} {n} {}",
                        ru_plural(n, "каждую", "каждые", "каждые"),
                        ru_plural(n, "минуту", "минуты", "минут")
                    ),
                    Lang::En => format!("every {n} minutes"),
                });
            }
            let mins = bits(self.minutes, 60);
            if hour_f == "*" && !min_f.contains(['*', '/']) {
                let list: Vec<String> = mins.iter().map(|m| format!(":{m:02}")).collect();
                return Some(match lang {
                    Lang::Ru => format!("каждый час в {}", join(&list, lang)),
                    Lang::En => format!("every hour at {}", join(&list, lang)),
                });
            }
        }
        // Fixed times of day.
        if [min_f, hour_f].iter().any(|f| f.contains(['*', '/'])) {
            return None;
        }
        if self.has_seconds && self.fields.iter().any(|f| f.contains('/')) {
            return None;
        }
        let hours = bits(self.hours as u64, 24);
        let mins = bits(self.minutes, 60);
        if secs.len() > 1 || hours.len() * mins.len() > 8 {
            return None;
        }
        let mut times = Vec::new();
        for h in &hours {
            for m in &mins {
                times.push(if secs[0] == 0 {
                    format!("{h:02}:{m:02}")
                } else {
                    format!("{h:02}:{m:02}:{:02}", secs[0])
                });
            }
        }
        let at = join(&times, lang);
        let days = if self.dow_star {
            lang.pick("каждый день", "every day").to_string()
        } else {
            describe_dows(self.dows, lang)
        };
        Some(format!("{days} {} {at}", lang.pick("в", "at")))
    }
}

impl Lang {
    fn pick(self, ru: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }
}

fn bits(set: u64, width: u32) -> Vec<u32> {
    (0..width).filter(|i| set & (1 << i) != 0).collect()
}

fn join(items: &[String], lang: Lang) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {} {last}", init.join(", "), lang.pick("и", "and")),
    }
}

fn ru_plural<'a>(n: u32, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => one,
        (2..=4, r) if !(12..=14).contains(&r) => few,
        _ => many,
    }
}

fn describe_dows(dows: u8, lang: Lang) -> String {
    const RU: [&str; 7] = [
        "воскресеньям",
        "понедельникам",
        "вторникам",
        "средам",
        "четвергам",
        "пятницам",
        "субботам",
    ];
    const EN: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    if dows == 0b011_1110 {
        return lang.pick("по будням", "on weekdays").into();
    }
    if dows == 0b100_0001 {
        return lang.pick("по выходным", "on weekends").into();
    }
    // Monday first, Sunday last.
    let order = [1, 2, 3, 4, 5, 6, 0];
    let names: Vec<String> = order
        .iter()
        .filter(|&&d| dows & (1 << d) != 0)
        .map(|&d| lang.pick(RU[d], EN[d]).to_string())
        .collect();
    match lang {
        Lang::Ru => format!("по {}", join(&names, lang)),
        Lang::En => format!("every {}", join(&names, lang)),
    }
}

/// Map a civil datetime to the instant it fires at: the earlier instant of
/// a fold, the first instant after a gap.
fn resolve(tz: &TimeZone, civil: DateTime) -> Option<Timestamp> {
    let amb = tz.to_ambiguous_timestamp(civil);
    match amb.offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(civil).ok(),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(civil).ok(),
        AmbiguousOffset::Gap { before, .. } => {
            // With the pre-gap offset the civil time lands after the gap;
            // the transition just before it is the end of the gap.
            let past_gap = before.to_timestamp(civil).ok()?;
            match tz.preceding(past_gap).next() {
                Some(t) => Some(t.timestamp()),
                None => Some(past_gap),
            }
        }
    }
}

fn parse_field(expr: &str, text: &str, spec: &FieldSpec) -> Result<u64, ScheduleError> {
    let syntax = || ScheduleError::Syntax {
        expr: expr.to_string(),
        field: spec.name,
        value: text.to_string(),
    };
    let mut set = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(syntax());
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| syntax())?;
                if step == 0 {
                    return Err(ScheduleError::ZeroStep {
                        expr: expr.to_string(),
                        field: spec.name,
                        value: text.to_string(),
                    });
                }
                (r, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = if range == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let lo = value(expr, a, spec, syntax)?;
            let hi = value(expr, b, spec, syntax)?;
            if lo > hi {
                return Err(ScheduleError::Reversed {
                    expr: expr.to_string(),
                    field: spec.name,
                    value: text.to_string(),
                });
            }
            (lo, hi)
        } else {
            let v = value(expr, range, spec, syntax)?;
            // `5/15` means 5, 20, 35, 50 (start at 5 up to the maximum).
            (v, if step.is_some() { spec.max } else { v })
        };
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            set |= 1 << v;
            v += step;
        }
    }
    Ok(set)
}

fn value(
    expr: &str,
    text: &str,
    spec: &FieldSpec,
    syntax: impl Fn() -> ScheduleError,
) -> Result<u32, ScheduleError> {
    if let Some(i) = spec.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(spec.names_base + i as u32);
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    let out_of_range = || ScheduleError::OutOfRange {
        expr: expr.to_string(),
        field: spec.name,
        value: text.to_string(),
        min: spec.min,
        max: spec.max,
    };
    let v: u32 = text.parse().map_err(|_| out_of_range())?;
    if v < spec.min || v > spec.max {
        return Err(out_of_range());
    }
    Ok(v)
}

/// Hours during which scheduled runs are skipped, e.g. "00:00-07:59" or
/// "22:00-06:00" (wraps midnight). Both ends are inclusive at minute
/// precision: "00:00-07:59" covers 07:59:30 but not 08:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    start: Time,
    end: Time,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quiet hours {value:?}: expected HH:MM-HH:MM, e.g. 00:00-07:59 or 22:00-06:00")]
pub struct QuietHoursError {
    pub value: String,
}

impl std::str::FromStr for QuietHours {
    type Err = QuietHoursError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QuietHours::parse(s)
    }
}

impl QuietHours {
    pub fn parse(text: &str) -> Result<QuietHours, QuietHoursError> {
        let err = || QuietHoursError {
            value: text.to_string(),
        };
        let (a, b) = text.trim().split_once('-').ok_or_else(err)?;
        let hm = |s: &str| -> Option<Time> {
            let (h, m) = s.trim().split_once(':')?;
            if h.is_empty() || h.len() > 2 || m.len() != 2 {
                return None;
            }
            let h: i8 = h.parse().ok()?;
            let m: i8 = m.parse().ok()?;
            Time::new(h, m, 0, 0).ok()
        };
        Ok(QuietHours {
            start: hm(a).ok_or_else(err)?,
            end: hm(b).ok_or_else(err)?,
        })
    }

    pub fn start(&self) -> Time {
        self.start
    }

    pub fn end(&self) -> Time {
        self.end
    }

    pub fn contains(&self, t: &Time) -> bool {
        let key = |t: &Time| t.hour() as i32 * 60 + t.minute() as i32;
        let (s, e, t) = (key(&self.start), key(&self.end), key(t));
        if s <= e {
            s <= t && t <= e
        } else {
            t >= s || t <= e
        }
    }

    /// The first instant after the quiet window that contains `at`.
    fn window_end_after(&self, at: &ZonedDateTime) -> Option<ZonedDateTime> {
        let mut date = at.date();
        let t = at.time();
        let wraps = self.start > self.end;
        if wraps && (t.hour(), t.minute()) >= (self.start.hour(), self.start.minute()) {
            date = date.tomorrow().ok()?;
        }
        let end = self.end.with().second(59).build().ok()?;
        let civil = date.to_datetime(end);
        let ts = at.time_zone().to_ambiguous_timestamp(civil).later().ok()?;
        Some(ts.to_zoned_datetime(at.time_zone().clone()))
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start.hour(),
            self.start.minute(),
            self.end.hour(),
            self.end.minute()
        )
    }
}

/// The next run strictly after `after` that is not in quiet hours.
pub fn next_run(
    schedule: &Schedule,
    quiet: Option<&QuietHours>,
    after: &ZonedDateTime,
) -> Option<ZonedDateTime> {
    let mut cursor = after.clone();
    for _ in 0..SEARCH_DAYS {
        let next = schedule.next_after(&cursor)?;
        match quiet {
            Some(q) if q.contains(&next.time()) => {
                // Jump past the whole window instead of walking it.
                let end = q.window_end_after(&next)?;
                cursor = if end > next { end } else { next };
            }
            _ => return Some(next),
        }
    }
    None
}

/// The next `n` run times after `after`, quiet hours skipped.
pub fn upcoming(
    schedule: &Schedule,
    quiet: Option<&QuietHours>,
    after: &ZonedDateTime,
    n: usize,
) -> Vec<ZonedDateTime> {
    let mut out = Vec::with_capacity(n);
    let mut cursor = after.clone();
    while out.len() < n {
        match next_run(schedule, quiet, &cursor) {
            Some(t) => {
                cursor = t.clone();
                out.push(t);
            }
            None => break,
        }
    }
    out
}

/// The one run to make at start after downtime: the latest scheduled time in
/// `(last, now]` that is less than `max_late` before `now`. With no recorded
/// run, the window is `[now - max_late, now]`. Several missed times still
/// give one run, never a burst. `None`: nothing missed, or too late.
pub fn catch_up(
    schedule: &Schedule,
    last_run_or_start: Option<&ZonedDateTime>,
    now: &ZonedDateTime,
    max_late: SignedDuration,
) -> Option<ZonedDateTime> {
    let earliest = now.timestamp().checked_sub(max_late).ok()?;
    let mut cursor = match last_run_or_start {
        Some(last) if last.timestamp() >= earliest => last.timestamp(),
        // Older than the window: lateness is checked below.
        Some(_) => earliest,
        // Inclusive lower bound: start one nanosecond before.
        None => earliest.checked_sub(SignedDuration::from_nanos(1)).ok()?,
    };
    let tz = now.time_zone().clone();
    let mut found = None;
    loop {
        let next = schedule.next_after(&cursor.to_zoned_datetime(tz.clone()))?;
        if next.timestamp() > now.timestamp() {
            break;
        }
        cursor = next.timestamp();
        found = Some(next);
    }
    let found = found?;
    let lateness = now.timestamp().duration_since(found.timestamp());
    let in_time = match last_run_or_start {
        Some(_) => lateness < max_late,
        None => lateness <= max_late,
    };
    in_time.then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn z(s: &str) -> ZonedDateTime {
        s.parse()
            .unwrap_or_else(|e| panic!("bad test time {s}: {e}"))
    }

    fn sched(expr: &str) -> Schedule {
        Schedule::parse(expr).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Monday 2026-01-05 10:00 in Moscow (no DST).
    const MON: &str = "2026-01-05T10:00:00[Europe/Moscow]";

    #[rstest]
    #[case("5 13,18 * * *", "2026-01-05T13:05:00+03:00[Europe/Moscow]")]
    #[case("0 30 23 * * *", "2026-01-05T23:30:00+03:00[Europe/Moscow]")]
    #[case("* * * * *", "2026-01-05T10:01:00+03:00[Europe/Moscow]")]
    #[case("*/15 * * * *", "2026-01-05T10:15:00+03:00[Europe/Moscow]")]
    #[case("10-20/5 * * * *", "2026-01-05T10:10:00+03:00[Europe/Moscow]")]
    #[case("5/20 * * * *", "2026-01-05T10:05:00+03:00[Europe/Moscow]")]
    #[case("0 9 * * MON-FRI", "2026-01-06T09:00:00+03:00[Europe/Moscow]")]
    #[case("0 9 * * sat,sun", "2026-01-10T09:00:00+03:00[Europe/Moscow]")]
    #[case("0 9 * * 7", "2026-01-11T09:00:00+03:00[Europe/Moscow]")]
    #[case("0 9 * * 0", "2026-01-11T09:00:00+03:00[Europe/Moscow]")]
    #[case("0 9 * * 5-7", "2026-01-09T09:00:00+03:00[Europe/Moscow]")]
    #[case("0 0 1 * *", "2026-02-01T00:00:00+03:00[Europe/Moscow]")]
    #[case("0 0 1 jan *", "2027-01-01T00:00:00+03:00[Europe/Moscow]")]
    #[case("0 0 * FEB *", "2026-02-01T00:00:00+03:00[Europe/Moscow]")]
    #[case("0 0 * Mar-May *", "2026-03-01T00:00:00+03:00[Europe/Moscow]")]
    #[case("0 12 15 * 5", "2026-01-09T12:00:00+03:00[Europe/Moscow]")]
    #[case("0 12 15 * *", "2026-01-15T12:00:00+03:00[Europe/Moscow]")]
    #[case("0 12 */10 * 5", "2026-01-09T12:00:00+03:00[Europe/Moscow]")]
    #[case("0 0 29 2 *", "2028-02-29T00:00:00+03:00[Europe/Moscow]")]
    #[case("30 10 * * *", "2026-01-05T10:30:00+03:00[Europe/Moscow]")]
    #[case("0 10 * * *", "2026-01-06T10:00:00+03:00[Europe/Moscow]")]
    #[case("*/20 * * * * *", "2026-01-05T10:00:20+03:00[Europe/Moscow]")]
    #[case("0 0 */6 * * *", "2026-01-05T12:00:00+03:00[Europe/Moscow]")]
    #[case("0 8-18/4 * * *", "2026-01-05T12:00:00+03:00[Europe/Moscow]")]
    #[case("59 23 31 12 *", "2026-12-31T23:59:00+03:00[Europe/Moscow]")]
    #[case("0 0 * * 1", "2026-01-12T00:00:00+03:00[Europe/Moscow]")]
    #[case("0,30 * * * *", "2026-01-05T10:30:00+03:00[Europe/Moscow]")]
    #[case("  5   13  *  *  * ", "2026-01-05T13:05:00+03:00[Europe/Moscow]")]
    fn parses_and_finds_next(#[case] expr: &str, #[case] want: &str) {
        let got = sched(expr).next_after(&z(MON)).expect("fires");
        assert_eq!(got.to_string(), want, "{expr}");
    }

    #[rstest]
    #[case(
        "5 25 * * *",
        r#"invalid schedule "5 25 * * *": hour field "25" is out of range 0-23"#
    )]
    #[case("60 * * * *", r#"minute field "60" is out of range 0-59"#)]
    #[case("61 * * * * *", r#"second field "61" is out of range 0-59"#)]
    #[case("* * 0 * *", r#"day-of-month field "0" is out of range 1-31"#)]
    #[case("* * 32 * *", r#"day-of-month field "32" is out of range 1-31"#)]
    #[case("* * * 13 *", r#"month field "13" is out of range 1-12"#)]
    #[case("* * * * 8", r#"day-of-week field "8" is out of range 0-7"#)]
    #[case("* * * *", "expected 5 fields")]
    #[case("* * * * * * *", "got 7")]
    #[case("", "got 0")]
    #[case("a * * * *", r#"minute field "a" is not a number"#)]
    #[case("*/0 * * * *", r#"minute field "*/0" has a zero step"#)]
    #[case("*/x * * * *", r#"minute field "*/x" is not a number"#)]
    #[case("30-10 * * * *", r#"minute field "30-10" is a reversed range"#)]
    #[case("1,,2 * * * *", r#"minute field "1,,2" is not a number"#)]
    #[case("* * * JANUARY *", r#"month field "JANUARY" is not a number"#)]
    #[case("-1 * * * *", r#"minute field "-1" is not a number"#)]
    #[case("* * * * MON-", r#"day-of-week field "MON-" is not a number"#)]
    #[case(
        "* * * * FRI-MON",
        r#"day-of-week field "FRI-MON" is a reversed range"#
    )]
    #[case(
        "* 99999999999 * * *",
        r#"hour field "99999999999" is out of range 0-23"#
    )]
    fn rejects_with_precise_error(#[case] expr: &str, #[case] want: &str) {
        let err = Schedule::parse(expr).expect_err(expr).to_string();
        assert!(err.contains(want), "{expr}: {err}");
        assert!(err.contains(&format!("{:?}", expr.trim())) || expr.trim() != expr);
    }

    fn sequence(expr: &str, after: &str, n: usize) -> Vec<String> {
        let s = sched(expr);
        let mut cur = z(after);
        (0..n)
            .map(|_| {
                cur = s.next_after(&cur).expect("fires");
                cur.to_string()
            })
            .collect()
    }

    #[test]
    fn next_after_sequence_in_moscow() {
        assert_eq!(
            sequence("5 13,18 * * *", MON, 3),
            [
                "2026-01-05T13:05:00+03:00[Europe/Moscow]",
                "2026-01-05T18:05:00+03:00[Europe/Moscow]",
                "2026-01-06T13:05:00+03:00[Europe/Moscow]",
            ]
        );
    }

    #[test]
    fn next_after_is_strict_and_ignores_subseconds() {
        let s = sched("5 13 * * *");
        let at = z("2026-01-05T13:05:00[Europe/Moscow]");
        assert_eq!(
            s.next_after(&at).unwrap().to_string(),
            "2026-01-06T13:05:00+03:00[Europe/Moscow]"
        );
        let just_before = z("2026-01-05T13:04:59.999[Europe/Moscow]");
        assert_eq!(
            s.next_after(&just_before).unwrap().to_string(),
            "2026-01-05T13:05:00+03:00[Europe/Moscow]"
        );
    }

    #[test]
    fn impossible_date_never_fires() {
        assert_eq!(sched("0 0 30 2 *").next_after(&z(MON)), None);
        assert_eq!(sched("0 0 31 4,6,9,11 *").next_after(&z(MON)), None);
    }

    #[test]
    fn moscow_has_no_dst() {
        // Berlin springs forward that night; Moscow does not.
        assert_eq!(
            sequence("30 2 * * *", "2026-03-28T12:00:00[Europe/Moscow]", 2),
            [
                "2026-03-29T02:30:00+03:00[Europe/Moscow]",
                "2026-03-30T02:30:00+03:00[Europe/Moscow]",
            ]
        );
    }

    #[test]
    fn spring_gap_fires_once_after_the_gap() {
        // Europe/Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST.
        assert_eq!(
            sequence("30 2 * * *", "2026-03-28T12:00:00[Europe/Berlin]", 2),
            [
                "2026-03-29T03:00:00+02:00[Europe/Berlin]",
                "2026-03-30T02:30:00+02:00[Europe/Berlin]",
            ]
        );
        assert_eq!(
            sequence("* * * * *", "2026-03-29T01:58:00+01:00[Europe/Berlin]", 3),
            [
                "2026-03-29T01:59:00+01:00[Europe/Berlin]",
                "2026-03-29T03:00:00+02:00[Europe/Berlin]",
                "2026-03-29T03:01:00+02:00[Europe/Berlin]",
            ]
        );
        assert_eq!(
            sequence("0 * * * *", "2026-03-29T00:30:00+01:00[Europe/Berlin]", 3),
            [
                "2026-03-29T01:00:00+01:00[Europe/Berlin]",
                "2026-03-29T03:00:00+02:00[Europe/Berlin]",
                "2026-03-29T04:00:00+02:00[Europe/Berlin]",
            ]
        );
    }

    #[test]
    fn spring_gap_in_new_york() {
        // America/New_York 2026-03-08: 02:00 EST jumps to 03:00 EDT.
        assert_eq!(
            sequence("30 2 * * *", "2026-03-07T12:00:00[America/New_York]", 2),
            [
                "2026-03-08T03:00:00-04:00[America/New_York]",
                "2026-03-09T02:30:00-04:00[America/New_York]",
            ]
        );
    }

    #[test]
    fn fall_fold_fires_once_at_first_occurrence() {
        // Europe/Berlin 2026-10-25: 03:00 CEST falls back to 02:00 CET.
        assert_eq!(
            sequence("30 2 * * *", "2026-10-24T12:00:00[Europe/Berlin]", 2),
            [
                "2026-10-25T02:30:00+02:00[Europe/Berlin]",
                "2026-10-26T02:30:00+01:00[Europe/Berlin]",
            ]
        );
        assert_eq!(
            sequence("0 * * * *", "2026-10-25T01:30:00+02:00[Europe/Berlin]", 3),
            [
                "2026-10-25T02:00:00+02:00[Europe/Berlin]",
                "2026-10-25T03:00:00+01:00[Europe/Berlin]",
                "2026-10-25T04:00:00+01:00[Europe/Berlin]",
            ]
        );
        assert_eq!(
            sequence("* * * * *", "2026-10-25T02:58:00+02:00[Europe/Berlin]", 2),
            [
                "2026-10-25T02:59:00+02:00[Europe/Berlin]",
                "2026-10-25T03:00:00+01:00[Europe/Berlin]",
            ]
        );
    }

    #[test]
    fn fall_fold_from_inside_the_repeated_hour() {
        // `after` in the second 02:xx: the 02:30 run already happened.
        let after = "2026-10-25T02:10:00+01:00[Europe/Berlin]";
        assert_eq!(
            sequence("30 2 * * *", after, 1),
            ["2026-10-26T02:30:00+01:00[Europe/Berlin]"]
        );
        assert_eq!(
            sequence("15 * * * *", after, 1),
            ["2026-10-25T03:15:00+01:00[Europe/Berlin]"]
        );
    }

    #[test]
    fn fall_fold_every_second_skips_the_whole_repeated_hour() {
        assert_eq!(
            sequence("* * * * * *", "2026-10-25T02:00:00+01:00[Europe/Berlin]", 2),
            [
                "2026-10-25T03:00:00+01:00[Europe/Berlin]",
                "2026-10-25T03:00:01+01:00[Europe/Berlin]",
            ]
        );
    }

    #[test]
    fn fall_fold_in_new_york() {
        // America/New_York 2026-11-01: 02:00 EDT falls back to 01:00 EST.
        assert_eq!(
            sequence("30 1 * * *", "2026-10-31T12:00:00[America/New_York]", 2),
            [
                "2026-11-01T01:30:00-04:00[America/New_York]",
                "2026-11-02T01:30:00-05:00[America/New_York]",
            ]
        );
    }

    #[rstest]
    #[case(
        "5 13,18 * * *",
        "каждый день в 13:05 и 18:05",
        "every day at 13:05 and 18:05"
    )]
    #[case("0 30 23 * * *", "каждый день в 23:30", "every day at 23:30")]
    #[case("15 0 3 * * *", "каждый день в 03:00:15", "every day at 03:00:15")]
    #[case(
        "0 8,12,18 * * *",
        "каждый день в 08:00, 12:00 и 18:00",
        "every day at 08:00, 12:00 and 18:00"
    )]
    #[case("* * * * *", "каждую минуту", "every minute")]
    #[case("*/5 * * * *", "каждые 5 минут", "every 5 minutes")]
    #[case("*/2 * * * *", "каждые 2 минуты", "every 2 minutes")]
    #[case("15 * * * *", "каждый час в :15", "every hour at :15")]
    #[case("0,30 * * * *", "каждый час в :00 и :30", "every hour at :00 and :30")]
    #[case("0 9 * * 1-5", "по будням в 09:00", "on weekdays at 09:00")]
    #[case("0 10 * * sat,sun", "по выходным в 10:00", "on weekends at 10:00")]
    #[case(
        "0 9 * * FRI,MON",
        "по понедельникам и пятницам в 09:00",
        "every Monday and Friday at 09:00"
    )]
    #[case(
        "0 0 1 * *",
        "по расписанию cron: 0 0 1 * *",
        "cron schedule: 0 0 1 * *"
    )]
    #[case(
        "*/7 * * * *",
        "по расписанию cron: */7 * * * *",
        "cron schedule: */7 * * * *"
    )]
    #[case(
        "0 0 * JAN *",
        "по расписанию cron: 0 0 * JAN *",
        "cron schedule: 0 0 * JAN *"
    )]
    #[case(
        "0 */2 * * *",
        "по расписанию cron: 0 */2 * * *",
        "cron schedule: 0 */2 * * *"
    )]
    fn describes_in_both_languages(#[case] expr: &str, #[case] ru: &str, #[case] en: &str) {
        let s = sched(expr);
        assert_eq!(s.describe(Lang::Ru), ru, "{expr}");
        assert_eq!(s.describe(Lang::En), en, "{expr}");
    }

    #[rstest]
    #[case("00:00-07:59", "00:00", true)]
    #[case("00:00-07:59", "07:59", true)]
    #[case("00:00-07:59", "07:59:30", true)]
    #[case("00:00-07:59", "08:00", false)]
    #[case("00:00-07:59", "23:59", false)]
    #[case("22:00-06:00", "21:59", false)]
    #[case("22:00-06:00", "22:00", true)]
    #[case("22:00-06:00", "23:30", true)]
    #[case("22:00-06:00", "00:00", true)]
    #[case("22:00-06:00", "06:00", true)]
    #[case("22:00-06:00", "06:01", false)]
    #[case("22:00-06:00", "12:00", false)]
    fn quiet_hours_contains(#[case] range: &str, #[case] t: &str, #[case] want: bool) {
        let q = QuietHours::parse(range).unwrap();
        let t: Time = t.parse().unwrap();
        assert_eq!(q.contains(&t), want, "{range} {t}");
    }

    #[rstest]
    #[case("")]
    #[case("00:00")]
    #[case("24:00-07:00")]
    #[case("00:60-07:00")]
    #[case("0:0-7:00")]
    #[case("aa:bb-07:00")]
    fn quiet_hours_rejects(#[case] text: &str) {
        let err = QuietHours::parse(text).unwrap_err().to_string();
        assert!(err.contains("expected HH:MM-HH:MM"), "{err}");
        assert!(err.contains(&format!("{text:?}")), "{err}");
    }

    #[test]
    fn quiet_hours_round_trip() {
        let q = QuietHours::parse(" 22:00-6:00 ").unwrap();
        assert_eq!(q.to_string(), "22:00-06:00");
    }

    #[test]
    fn next_run_skips_quiet_hours() {
        let q = QuietHours::parse("00:00-07:59").unwrap();
        let s = sched("*/30 * * * *");
        let got = next_run(&s, Some(&q), &z("2026-01-05T23:45:00[Europe/Moscow]")).unwrap();
        assert_eq!(got.to_string(), "2026-01-06T08:00:00+03:00[Europe/Moscow]");
        // Without quiet hours the midnight run is taken.
        let got = next_run(&s, None, &z("2026-01-05T23:45:00[Europe/Moscow]")).unwrap();
        assert_eq!(got.to_string(), "2026-01-06T00:00:00+03:00[Europe/Moscow]");
    }

    #[test]
    fn next_run_skips_wrapping_quiet_hours() {
        let q = QuietHours::parse("22:00-06:00").unwrap();
        let s = sched("0 * * * *");
        let got = next_run(&s, Some(&q), &z("2026-01-05T21:30:00[Europe/Moscow]")).unwrap();
        assert_eq!(got.to_string(), "2026-01-06T07:00:00+03:00[Europe/Moscow]");
    }

    #[test]
    fn next_run_none_when_always_quiet() {
        let q = QuietHours::parse("00:00-07:59").unwrap();
        assert_eq!(next_run(&sched("0 3 * * *"), Some(&q), &z(MON)), None);
    }

    #[test]
    fn upcoming_lists_n_runs_without_quiet_ones() {
        let q = QuietHours::parse("00:00-07:59").unwrap();
        let got: Vec<String> = upcoming(&sched("5 1,13,18 * * *"), Some(&q), &z(MON), 4)
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(
            got,
            [
                "2026-01-05T13:05:00+03:00[Europe/Moscow]",
                "2026-01-05T18:05:00+03:00[Europe/Moscow]",
                "2026-01-06T13:05:00+03:00[Europe/Moscow]",
                "2026-01-06T18:05:00+03:00[Europe/Moscow]",
            ]
        );
        assert!(upcoming(&sched("0 0 30 2 *"), None, &z(MON), 3).is_empty());
    }

    fn cu(expr: &str, last: Option<&str>, now: &str) -> Option<String> {
        let last = last.map(z);
        catch_up(&sched(expr), last.as_ref(), &z(now), DEFAULT_MAX_LATE).map(|t| t.to_string())
    }

    const D: &str = "2026-01-05T";
    const TZ: &str = "[Europe/Moscow]";

    fn at(t: &str) -> String {
        format!("{D}{t}{TZ}")
    }

    #[test]
    fn catch_up_off_over_one_scheduled_time_runs() {
        assert_eq!(
            cu("0 3 * * *", Some(&at("02:00")), &at("05:00")),
            Some("2026-01-05T03:00:00+03:00[Europe/Moscow]".into())
        );
    }

    #[test]
    fn catch_up_off_over_several_runs_once_for_the_latest() {
        assert_eq!(
            cu("0 * * * *", Some(&at("01:30")), &at("05:10")),
            Some("2026-01-05T05:00:00+03:00[Europe/Moscow]".into())
        );
        // Last run days ago: still one run, the latest.
        assert_eq!(
            cu(
                "0 * * * *",
                Some("2026-01-02T10:00[Europe/Moscow]"),
                &at("05:10")
            ),
            Some("2026-01-05T05:00:00+03:00[Europe/Moscow]".into())
        );
    }

    #[test]
    fn catch_up_too_late_does_not_run() {
        assert_eq!(cu("0 3 * * *", Some(&at("02:00")), &at("10:00")), None);
        assert_eq!(cu("0 3 * * *", Some(&at("02:00")), &at("09:00")), None);
        assert_eq!(
            cu("0 3 * * *", Some(&at("02:00")), &at("08:59:59")),
            Some("2026-01-05T03:00:00+03:00[Europe/Moscow]".into())
        );
    }

    #[test]
    fn catch_up_nothing_missed() {
        assert_eq!(cu("0 3 * * *", Some(&at("03:00")), &at("05:00")), None);
        assert_eq!(cu("0 3 * * *", Some(&at("02:00")), &at("02:59")), None);
    }

    #[test]
    fn catch_up_without_previous_run_looks_back_max_late() {
        assert_eq!(
            cu("0 3 * * *", None, &at("05:00")),
            Some("2026-01-05T03:00:00+03:00[Europe/Moscow]".into())
        );
        assert_eq!(
            cu("0 3 * * *", None, &at("09:00")),
            Some("2026-01-05T03:00:00+03:00[Europe/Moscow]".into())
        );
        assert_eq!(cu("0 3 * * *", None, &at("09:00:01")), None);
        assert_eq!(cu("0 3 * * *", None, &at("02:00")), None);
    }

    #[test]
    fn catch_up_counts_the_run_at_now() {
        assert_eq!(
            cu("0 3 * * *", Some(&at("02:00")), &at("03:00")),
            Some("2026-01-05T03:00:00+03:00[Europe/Moscow]".into())
        );
    }
}
