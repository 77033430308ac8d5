//! Properties of the cron parser (256 cases, README "Reliability"):
//! arbitrary text never panics it and an error always quotes the
//! expression; a generated valid expression parses, its normalised form
//! parses to the same schedule, and the next run is strictly later and
//! itself a run time (the next run after "one second before it" is it).

use super::Schedule;
use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use proptest::prelude::*;

/// One field in `min..=max`: `*`, a number, a range, a list, a step.
fn field(min: u32, max: u32) -> impl Strategy<Value = String> {
    (0..5u8, min..=max, min..=max, 1..=max.max(1)).prop_map(move |(form, a, b, step)| {
        let (lo, hi) = (a.min(b), a.max(b));
        match form {
            0 => "*".to_string(),
            1 => a.to_string(),
            2 => format!("{lo}-{hi}"),
            3 => format!("{a},{b}"),
            _ => format!("*/{step}"),
        }
    })
}

fn valid_expr() -> impl Strategy<Value = String> {
    (
        prop::option::of(field(0, 59)),
        field(0, 59),
        field(0, 23),
        field(1, 28),
        field(1, 12),
        field(0, 7),
    )
        .prop_map(|(s, mi, h, dom, mon, dow)| {
            let five = format!("{mi} {h} {dom} {mon} {dow}");
            match s {
                Some(s) => format!("{s}  {five}"),
                None => five,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_parses_or_fails_with_a_quoted_expression(text in "[ 0-9*/,a-zA-Z?#L-]{0,40}|(?s).{0,40}") {
        if let Err(e) = Schedule::parse(&text) {
            prop_assert!(e.to_string().contains(&format!("{text:?}")), "{e}");
        }
    }

    #[test]
    fn a_valid_expression_round_trips_and_fires_later(
        expr in valid_expr(),
        secs in 1_600_000_000i64..1_900_000_000,
        zone in prop::sample::select(vec!["UTC", "Europe/Moscow", "Europe/Berlin", "America/New_York"]),
    ) {
        let s = Schedule::parse(&expr).unwrap();
        let again = Schedule::parse(s.as_str()).unwrap();
        prop_assert_eq!(&again, &s);
        let tz = TimeZone::get(zone).unwrap();
        let after = Timestamp::from_second(secs).unwrap().to_zoned_datetime(tz);
        // Days 1-28 of every month: it always fires again.
        let next = s.next_after(&after).unwrap();
        prop_assert!(next > after);
        let just_before = next.checked_sub(SignedDuration::from_secs(1)).unwrap();
        prop_assert_eq!(s.next_after(&just_before), Some(next));
    }
}
