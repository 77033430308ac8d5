//! Cron schedules evaluated in a time zone, correct across daylight saving
//! time, plus the pure decisions the agent makes around them: quiet hours,
//! the one catch-up run after downtime, and the next N run times for the
//! `schedule` command. Nothing here reads the clock: `now`/`after` are
//! arguments, so every rule is tested with exact instants.
//!
//! A leaf: it imports nothing of ours. `cron.rs` parses expressions,
//! `next.rs` finds the next run across DST, `quiet.rs` holds quiet hours,
//! `warn.rs` says when to warn users inside a base before a run, and
//! `words.rs` tells which simple shape a schedule has ([`Description`]);
//! the words themselves, in each language, are the text
//! module's, passed to [`Schedule::describe`].

mod cron;
mod next;
#[cfg(test)]
mod props;
mod quiet;
mod warn;
mod words;

pub use cron::{Schedule, ScheduleError};
pub use quiet::{QuietHours, QuietHoursError};
pub use warn::{Sent, WarnStep, warn_step};
pub use words::Description;

use jiff::{SignedDuration, ZonedDateTime};

/// How late a missed run may still be made up at start ([`catch_up`]).
pub const DEFAULT_MAX_LATE: SignedDuration = SignedDuration::from_hours(6);

/// How far ahead (in days) a schedule is searched before it is declared to
/// never fire (`0 0 30 2 *`). Nine years covers every Feb 29 + weekday mix.
const SEARCH_DAYS: i32 = 366 * 9;

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

/// Helpers shared by the tests of this module's files.
#[cfg(test)]
pub(crate) mod testing {
    use super::Schedule;
    use jiff::ZonedDateTime;

    pub fn z(s: &str) -> ZonedDateTime {
        s.parse()
            .unwrap_or_else(|e| panic!("bad test time {s}: {e}"))
    }

    pub fn sched(expr: &str) -> Schedule {
        Schedule::parse(expr).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Monday 2026-01-05 10:00 in Moscow (no DST).
    pub const MON: &str = "2026-01-05T10:00:00[Europe/Moscow]";
}

#[cfg(test)]
mod tests {
    use super::testing::{MON, sched, z};
    use super::*;

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
