//! When a [`Schedule`] fires: the first run strictly after an instant, on
//! the local wall clock of that instant's zone, with the daylight saving
//! time rules described on [`Schedule`] (a time in a spring-forward gap
//! fires once right after the gap; a time in a fall-back fold fires once,
//! at its first occurrence).

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ZonedDateTime};

use super::{SEARCH_DAYS, Schedule};

impl Schedule {
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

#[cfg(test)]
mod tests {
    use super::super::testing::{MON, sched, z};
    use rstest::rstest;

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

    #[rstest]
    #[case::next_after_sequence_in_moscow(
        "5 13,18 * * *", MON,
        &[
            "2026-01-05T13:05:00+03:00[Europe/Moscow]",
            "2026-01-05T18:05:00+03:00[Europe/Moscow]",
            "2026-01-06T13:05:00+03:00[Europe/Moscow]",
        ],
    )]
    // Berlin springs forward that night; Moscow does not.
    #[case::moscow_has_no_dst(
        "30 2 * * *", "2026-03-28T12:00:00[Europe/Moscow]",
        &[
            "2026-03-29T02:30:00+03:00[Europe/Moscow]",
            "2026-03-30T02:30:00+03:00[Europe/Moscow]",
        ],
    )]
    // Europe/Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST.
    #[case::spring_gap_fires_once_after_the_gap_1(
        "30 2 * * *", "2026-03-28T12:00:00[Europe/Berlin]",
        &[
            "2026-03-29T03:00:00+02:00[Europe/Berlin]",
            "2026-03-30T02:30:00+02:00[Europe/Berlin]",
        ],
    )]
    #[case::spring_gap_fires_once_after_the_gap_2(
        "* * * * *", "2026-03-29T01:58:00+01:00[Europe/Berlin]",
        &[
            "2026-03-29T01:59:00+01:00[Europe/Berlin]",
            "2026-03-29T03:00:00+02:00[Europe/Berlin]",
            "2026-03-29T03:01:00+02:00[Europe/Berlin]",
        ],
    )]
    #[case::spring_gap_fires_once_after_the_gap_3(
        "0 * * * *", "2026-03-29T00:30:00+01:00[Europe/Berlin]",
        &[
            "2026-03-29T01:00:00+01:00[Europe/Berlin]",
            "2026-03-29T03:00:00+02:00[Europe/Berlin]",
            "2026-03-29T04:00:00+02:00[Europe/Berlin]",
        ],
    )]
    // America/New_York 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    #[case::spring_gap_in_new_york(
        "30 2 * * *", "2026-03-07T12:00:00[America/New_York]",
        &[
            "2026-03-08T03:00:00-04:00[America/New_York]",
            "2026-03-09T02:30:00-04:00[America/New_York]",
        ],
    )]
    // Europe/Berlin 2026-10-25: 03:00 CEST falls back to 02:00 CET.
    #[case::fall_fold_fires_once_at_first_occurrence_1(
        "30 2 * * *", "2026-10-24T12:00:00[Europe/Berlin]",
        &[
            "2026-10-25T02:30:00+02:00[Europe/Berlin]",
            "2026-10-26T02:30:00+01:00[Europe/Berlin]",
        ],
    )]
    #[case::fall_fold_fires_once_at_first_occurrence_2(
        "0 * * * *", "2026-10-25T01:30:00+02:00[Europe/Berlin]",
        &[
            "2026-10-25T02:00:00+02:00[Europe/Berlin]",
            "2026-10-25T03:00:00+01:00[Europe/Berlin]",
            "2026-10-25T04:00:00+01:00[Europe/Berlin]",
        ],
    )]
    #[case::fall_fold_fires_once_at_first_occurrence_3(
        "* * * * *", "2026-10-25T02:58:00+02:00[Europe/Berlin]",
        &[
            "2026-10-25T02:59:00+02:00[Europe/Berlin]",
            "2026-10-25T03:00:00+01:00[Europe/Berlin]",
        ],
    )]
    // `after` in the second 02:xx: the 02:30 run already happened.
    #[case::fall_fold_from_inside_the_repeated_hour_1(
        "30 2 * * *", "2026-10-25T02:10:00+01:00[Europe/Berlin]",
        &[
            "2026-10-26T02:30:00+01:00[Europe/Berlin]",
        ],
    )]
    #[case::fall_fold_from_inside_the_repeated_hour_2(
        "15 * * * *", "2026-10-25T02:10:00+01:00[Europe/Berlin]",
        &[
            "2026-10-25T03:15:00+01:00[Europe/Berlin]",
        ],
    )]
    #[case::fall_fold_every_second_skips_the_whole_repeated_hour(
        "* * * * * *", "2026-10-25T02:00:00+01:00[Europe/Berlin]",
        &[
            "2026-10-25T03:00:00+01:00[Europe/Berlin]",
            "2026-10-25T03:00:01+01:00[Europe/Berlin]",
        ],
    )]
    // America/New_York 2026-11-01: 02:00 EDT falls back to 01:00 EST.
    #[case::fall_fold_in_new_york(
        "30 1 * * *", "2026-10-31T12:00:00[America/New_York]",
        &[
            "2026-11-01T01:30:00-04:00[America/New_York]",
            "2026-11-02T01:30:00-05:00[America/New_York]",
        ],
    )]
    fn fires_in_sequence(#[case] expr: &str, #[case] after: &str, #[case] want: &[&str]) {
        assert_eq!(sequence(expr, after, want.len()), want);
    }
}
