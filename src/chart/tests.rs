use super::*;

#[test]
fn one_sample_is_not_enough() {
    assert_eq!(check(&[]), Err(NotEnough { since: None }));
    assert_eq!(check(&[(100, 1.0)]), Err(NotEnough { since: Some(100) }));
    assert_eq!(
        check(&[(100, 1.0), (100, 2.0)]),
        Err(NotEnough { since: Some(100) })
    );
    assert_eq!(check(&[(100, 1.0), (160, 2.0)]), Ok(()));
}

fn labels(from: i64, to: i64, tz: &TimeZone) -> Vec<String> {
    time_ticks(from, to, 8, tz)
        .into_iter()
        .map(|t| t.label)
        .collect()
}

#[test]
fn time_ticks_are_round_inside_the_range_and_never_repeat() {
    let moscow = TimeZone::get("Europe/Moscow").unwrap();
    let first = 1_764_784_140; // 2025-12-03 17:49 UTC
    for tz in [TimeZone::UTC, moscow] {
        for span in [
            60,
            61,
            300,
            3599,
            3600,
            86_400,
            7 * 86_400,
            30 * 86_400,
            400 * 86_400,
        ] {
            let ticks = time_ticks(first, first + span, 8, &tz);
            assert!(
                !ticks.is_empty() && ticks.len() <= 8,
                "span {span}: {ticks:?}"
            );
            let mut seen = std::collections::BTreeSet::new();
            for t in &ticks {
                assert!((first..=first + span).contains(&t.at), "span {span}: {t:?}");
                assert!(seen.insert(t.label.clone()), "span {span}: repeated {t:?}");
                assert_eq!(t.at % 60, 0, "not a whole minute: {t:?}");
            }
            assert!(ticks.windows(2).all(|w| w[0].at < w[1].at));
        }
    }
}

#[test]
fn time_tick_labels_follow_the_span() {
    let tz = TimeZone::UTC;
    let first = 1_764_784_140;
    assert_eq!(labels(first, first + 60, &tz), ["17:49", "17:50"]);
    assert_eq!(
        labels(first, first + 3600, &tz),
        ["17:50", "18:00", "18:10", "18:20", "18:30", "18:40"]
    );
    let week = labels(first, first + 7 * 86_400, &tz);
    assert_eq!(week[0], "04.12", "{week:?}");
    let two_days = labels(first, first + 2 * 86_400, &tz);
    assert!(
        two_days.iter().all(|l| l.len() == "04.12 00:00".len()),
        "{two_days:?}"
    );
}

#[test]
fn no_ticks_for_an_empty_range() {
    assert!(time_ticks(100, 100, 8, &TimeZone::UTC).is_empty());
    assert!(time_ticks(100, 50, 8, &TimeZone::UTC).is_empty());
}

#[test]
fn downsampling_keeps_the_ends_and_a_spike() {
    let mut pts: Vec<Point> = (0..43_200).map(|i| (i * 60, 10.0)).collect();
    pts[20_000].1 = 99.0;
    pts[30_000].1 = -5.0;
    let out = downsample(&pts, MAX_POINTS);
    assert!(out.len() <= MAX_POINTS, "{}", out.len());
    assert!(out.len() > MAX_POINTS / 2, "{}", out.len());
    assert_eq!(out.first(), pts.first());
    assert_eq!(out.last(), pts.last());
    assert!(out.contains(&(20_000 * 60, 99.0)));
    assert!(out.contains(&(30_000 * 60, -5.0)));
    assert!(out.windows(2).all(|w| w[0].0 < w[1].0), "time order");
    let few: Vec<Point> = (0..10).map(|i| (i, i as f64)).collect();
    assert_eq!(downsample(&few, MAX_POINTS), few);
}

#[test]
fn value_ticks_are_round_and_cover_the_data() {
    assert_eq!(
        value_ticks(0.0, 100.0, 5),
        [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    );
    let t = value_ticks(0.0, 7.3, 5);
    assert_eq!(t, [0.0, 2.0, 4.0, 6.0, 8.0]);
    let flat = value_ticks(0.0, 0.0, 5);
    assert!(flat.len() >= 2 && *flat.last().unwrap() >= 1.0, "{flat:?}");
    let big = value_ticks(0.0, 3.5e9, 4);
    assert!(*big.last().unwrap() >= 3.5e9 && big.len() <= 6, "{big:?}");
}

#[test]
fn days_until_full_from_the_trend() {
    // 1 % a day from 50 %, sampled hourly for 7 days: now 57 %, 43 days left.
    let pts: Vec<Point> = (0..=7 * 24)
        .map(|h| (h * 3600, 50.0 + h as f64 / 24.0))
        .collect();
    let d = days_until_full(&pts).unwrap();
    assert!((d - 43.0).abs() < 0.01, "{d}");
    // Flat or shrinking: never full.
    let flat: Vec<Point> = (0..100).map(|h| (h * 3600, 40.0)).collect();
    assert_eq!(days_until_full(&flat), None);
    let shrinking: Vec<Point> = (0..100)
        .map(|h| (h * 3600, 90.0 - h as f64 * 0.1))
        .collect();
    assert_eq!(days_until_full(&shrinking), None);
    // Too little data.
    assert_eq!(days_until_full(&[(0, 10.0)]), None);
    assert_eq!(days_until_full(&[(0, 10.0), (600, 20.0)]), None);
    // Already full.
    assert_eq!(days_until_full(&[(0, 99.0), (7200, 100.0)]), Some(0.0));
}
