//! When to warn the users inside a base before its scheduled backup
//! (`BACKUP_USERS_WARN_MINUTES`): once that many minutes before the
//! scheduled time and again one minute before it. The schedule never
//! moves: the warnings are counted back from the run's instant (so across
//! a DST change "10 minutes before" is ten real minutes), a run already
//! due or past (a catch-up run at start) gets none, and an agent that
//! starts inside the window sends the first warning at once with the
//! minutes really left, never two warnings together. Pure: `now` and the
//! run time are arguments.

use jiff::{SignedDuration, Timestamp};

/// Which warnings of one scheduled run were already sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// The first one (`minutes` before, or fewer when started late).
    pub first: bool,
    /// The one a minute before.
    pub last: bool,
}

/// What to do now about the warnings of one scheduled run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarnStep {
    /// Send a warning saying the backup starts in `minutes`; `last` is the
    /// one-minute warning (mark [`Sent::last`]), else mark [`Sent::first`].
    Send { minutes: u32, last: bool },
    /// Nothing is due before this instant.
    WaitUntil(Timestamp),
    /// Every warning of this run is sent, skipped or off: wait for the run.
    Done,
}

/// The warning step for the run at `run`, with warnings `minutes` before it
/// (0: none) and at one minute, at `now`, given which were `sent`.
/// `minute` is the length of a minute (60 s; tests shorten it).
pub fn warn_step(
    run: Timestamp,
    minutes: u32,
    now: Timestamp,
    sent: Sent,
    minute: SignedDuration,
) -> WarnStep {
    if minutes == 0 || now >= run || minute <= SignedDuration::ZERO {
        return WarnStep::Done;
    }
    let before = |n: u32| run.checked_sub(minute * n as i32).unwrap_or(Timestamp::MIN);
    let last_at = before(1);
    if minutes > 1 && !sent.first && !sent.last {
        let first_at = before(minutes);
        if now < first_at {
            return WarnStep::WaitUntil(first_at);
        }
        if now < last_at {
            // Started late, or woke a little after `first_at`: the minutes
            // really left, rounded up (so on time it is `minutes`).
            let left = run.duration_since(now);
            let n = (left.as_nanos() as u128)
                .div_ceil(minute.as_nanos() as u128)
                .max(2);
            return WarnStep::Send {
                minutes: n.min(u128::from(minutes)) as u32,
                last: false,
            };
        }
    }
    if sent.last {
        return WarnStep::Done;
    }
    if now < last_at {
        return WarnStep::WaitUntil(last_at);
    }
    WarnStep::Send {
        minutes: 1,
        last: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::testing::{sched, z};
    use crate::schedule::{catch_up, next_run};

    const MIN: SignedDuration = SignedDuration::from_secs(60);

    fn ts(s: &str) -> Timestamp {
        z(s).timestamp()
    }

    fn step(run: &str, minutes: u32, now: &str, sent: Sent) -> WarnStep {
        warn_step(ts(run), minutes, ts(now), sent, MIN)
    }

    fn send(minutes: u32, last: bool) -> WarnStep {
        WarnStep::Send { minutes, last }
    }

    const RUN: &str = "2026-01-05T23:00:00[Europe/Moscow]";
    const NONE: Sent = Sent {
        first: false,
        last: false,
    };
    const FIRST: Sent = Sent {
        first: true,
        last: false,
    };
    const BOTH: Sent = Sent {
        first: true,
        last: true,
    };

    /// Moscow on the run's day at `hms`.
    fn at(hms: &str) -> String {
        format!("2026-01-05T{hms}[Europe/Moscow]")
    }

    fn wait(hms: &str) -> WarnStep {
        WarnStep::WaitUntil(ts(&at(hms)))
    }

    /// Each `(now, sent, expected)` of a run at 23:00 warned `minutes` before.
    fn check(minutes: u32, cases: &[(&str, Sent, WarnStep)]) {
        for (now, sent, want) in cases {
            let now = if now.contains('T') {
                now.to_string()
            } else {
                at(now)
            };
            assert_eq!(step(RUN, minutes, &now, *sent), *want, "at {now}");
        }
    }

    #[test]
    fn ten_minutes_then_one_minute_before_on_time() {
        check(
            10,
            &[
                ("22:00:00", NONE, wait("22:50:00")),
                ("22:50:00", NONE, send(10, false)),
                // A wake-up a little late still says 10 (rounded up).
                ("22:50:00.3", NONE, send(10, false)),
                ("22:50:01", FIRST, wait("22:59:00")),
                ("22:59:00", FIRST, send(1, true)),
                ("22:59:30", BOTH, WarnStep::Done),
            ],
        );
    }

    #[test]
    fn off_past_and_one_minute_only() {
        check(0, &[("22:55:00", NONE, WarnStep::Done)]);
        // The run's own instant and later (a catch-up run): nothing.
        check(
            10,
            &[
                (RUN, NONE, WarnStep::Done),
                ("23:00:01", NONE, WarnStep::Done),
            ],
        );
        // 1 minute: only the last warning.
        check(
            1,
            &[
                ("22:50:00", NONE, wait("22:59:00")),
                ("22:59:10", NONE, send(1, true)),
            ],
        );
    }

    #[test]
    fn started_inside_the_window_warns_once_with_the_minutes_left() {
        check(
            10,
            &[
                // 6 min 30 s left: "in 7 minutes", never "in 10".
                ("22:53:30", NONE, send(7, false)),
                // Under a minute left: only the last warning, not two at once.
                ("22:59:40", NONE, send(1, true)),
                // 1 min 10 s left: the first says 2, the last follows at 22:59.
                ("22:58:50", NONE, send(2, false)),
            ],
        );
    }

    #[test]
    fn counted_in_real_minutes_across_dst_changes() {
        // Berlin springs forward at 02:00 → 03:00 on 2026-03-29: a run at
        // 03:05 is warned at 01:55 (ten real minutes before).
        let s = sched("5 3 * * *");
        let run = next_run(&s, None, &z("2026-03-29T01:00:00[Europe/Berlin]")).unwrap();
        assert_eq!(run.to_string(), "2026-03-29T03:05:00+02:00[Europe/Berlin]");
        let first = ts("2026-03-29T01:55:00+01:00[Europe/Berlin]");
        assert_eq!(
            warn_step(
                run.timestamp(),
                10,
                ts("2026-03-29T01:00:00[Europe/Berlin]"),
                NONE,
                MIN
            ),
            WarnStep::WaitUntil(first)
        );
        assert_eq!(
            warn_step(run.timestamp(), 10, first, NONE, MIN),
            send(10, false)
        );
        // Falling back on 2026-10-25 (03:00 → 02:00): a run at the second
        // 02:30 (+01:00) is warned at 02:20 +01:00, after the first 02:30.
        let run = ts("2026-10-25T02:30:00+01:00[Europe/Berlin]");
        assert_eq!(
            warn_step(
                run,
                10,
                ts("2026-10-25T02:30:00+02:00[Europe/Berlin]"),
                NONE,
                MIN
            ),
            WarnStep::WaitUntil(ts("2026-10-25T02:20:00+01:00[Europe/Berlin]"))
        );
    }

    #[test]
    fn a_catch_up_run_at_start_gets_no_warning() {
        let s = sched("0 23 * * *");
        let now = z("2026-01-05T23:20:00[Europe/Moscow]");
        let missed = catch_up(&s, None, &now, crate::schedule::DEFAULT_MAX_LATE).unwrap();
        assert_eq!(
            warn_step(missed.timestamp(), 10, now.timestamp(), NONE, MIN),
            WarnStep::Done
        );
        // The next scheduled run is warned as usual.
        let next = next_run(&s, None, &now).unwrap();
        assert_eq!(
            warn_step(next.timestamp(), 10, now.timestamp(), NONE, MIN),
            WarnStep::WaitUntil(ts("2026-01-06T22:50:00[Europe/Moscow]"))
        );
    }

    #[test]
    fn runs_closer_than_the_warning_each_get_one_with_the_minutes_left() {
        // Every 5 minutes with 10-minute warnings: each run is warned once
        // right after the previous one, with 5 minutes left.
        let s = sched("*/5 * * * *");
        let after = z("2026-01-05T10:00:00[Europe/Moscow]");
        let run = next_run(&s, None, &after).unwrap();
        assert_eq!(
            warn_step(run.timestamp(), 10, after.timestamp(), NONE, MIN),
            send(5, false)
        );
    }

    /// The daemon's loop played from every start between 12 minutes and 1
    /// second before the run, waking up to 0.9 s late: at most one first
    /// and one last warning, in that order, all before the run; the first
    /// never promises more minutes than are left (rounded up) nor more than
    /// asked; the last comes within the final minute.
    #[test]
    fn a_simulated_loop_warns_at_most_twice_in_order_before_the_run() {
        let run = ts(RUN);
        for start in (1..=720).step_by(7) {
            let mut now = run.checked_sub(SignedDuration::from_secs(start)).unwrap();
            let mut sent = NONE;
            let mut told: Vec<(u32, bool, Timestamp)> = Vec::new();
            for wake in 0..10 {
                match warn_step(run, 10, now, sent, MIN) {
                    WarnStep::Send { minutes, last } => {
                        told.push((minutes, last, now));
                        if last {
                            sent.last = true;
                        } else {
                            sent.first = true;
                        }
                    }
                    WarnStep::WaitUntil(t) => {
                        assert!(t > now, "start {start}: waits forward");
                        let late = SignedDuration::from_millis(wake * 97 % 900);
                        now = t.checked_add(late).unwrap();
                    }
                    WarnStep::Done => break,
                }
            }
            assert!((1..=2).contains(&told.len()), "start {start}: {told:?}");
            assert!(told.last().unwrap().1, "start {start}: the last one comes");
            if let [(m, false, at), (1, true, _)] = told[..] {
                let left = run.duration_since(at).as_secs_f64() / 60.0;
                assert!(
                    m <= 10 && f64::from(m) >= left && f64::from(m) < left + 1.0,
                    "{start}: {m} for {left}"
                );
            }
            for (_, last, at) in &told {
                assert!(*at < run, "start {start}: told after the run");
                if *last {
                    assert!(run.duration_since(*at) <= MIN, "start {start}");
                }
            }
        }
    }

    #[test]
    fn a_short_test_minute_scales_everything() {
        let sec2 = SignedDuration::from_secs(2);
        let run = ts(RUN);
        let at = |s: i64| run.checked_sub(SignedDuration::from_secs(s)).unwrap();
        assert_eq!(
            warn_step(run, 3, at(30), NONE, sec2),
            WarnStep::WaitUntil(at(6))
        );
        assert_eq!(warn_step(run, 3, at(6), NONE, sec2), send(3, false));
        assert_eq!(
            warn_step(run, 3, at(5), FIRST, sec2),
            WarnStep::WaitUntil(at(2))
        );
        assert_eq!(warn_step(run, 3, at(2), FIRST, sec2), send(1, true));
    }
}
