//! Cron expressions: parsing `min hour dom month dow` (or six fields with
//! leading seconds) into bit sets, with an error that names the field, the
//! value and the accepted range. When the schedule fires is [`super::next`];
//! what it looks like in words is [`super::words`].

use std::fmt;

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
    pub(super) expr: String,
    pub(super) seconds: u64,
    pub(super) minutes: u64,
    pub(super) hours: u32,
    pub(super) doms: u32,
    pub(super) months: u16,
    /// Bits 0..=6, Sunday = 0 (7 is folded into 0).
    pub(super) dows: u8,
    pub(super) dom_star: bool,
    pub(super) dow_star: bool,
    /// The five minute..dow field texts, for [`Schedule::description`].
    pub(super) fields: [String; 5],
    pub(super) has_seconds: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
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
}
