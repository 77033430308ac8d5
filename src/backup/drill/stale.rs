//! When a base's restore drills are overdue: the pure rule behind
//! `onec_restore_drill_stale`, `/api/health` and the Telegram notice. Only
//! a base with a drill schedule can be stale; one that never had a good
//! drill counts from `since` (when the agent started), so a fresh install
//! is not stale at once. Times are arguments, never read here.

/// How long the base has gone without a good drill, in seconds, when it
/// has a drill schedule and that is longer than `max_age_days`; `None`
/// otherwise.
pub fn stale_for(
    scheduled: bool,
    last_success_unix: Option<f64>,
    since_unix: f64,
    now_unix: f64,
    max_age_days: u32,
) -> Option<f64> {
    if !scheduled {
        return None;
    }
    let age = now_unix - last_success_unix.unwrap_or(since_unix);
    (age > f64::from(max_age_days) * 86_400.0).then_some(age)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: f64 = 86_400.0;

    #[rstest::rstest]
    // Manual-only bases are never stale, however old their last drill.
    #[case(false, Some(0.0), 0.0, 100.0 * D, 8, None)]
    #[case(false, None, 0.0, 100.0 * D, 8, None)]
    // Within the limit, exactly at it, past it.
    #[case(true, Some(10.0 * D), 0.0, 17.0 * D, 8, None)]
    #[case(true, Some(10.0 * D), 0.0, 18.0 * D, 8, None)]
    #[case(true, Some(10.0 * D), 0.0, 18.5 * D, 8, Some(8.5 * D))]
    // Never drilled: counted from the agent's start.
    #[case(true, None, 50.0 * D, 51.0 * D, 8, None)]
    #[case(true, None, 50.0 * D, 60.0 * D, 8, Some(10.0 * D))]
    // A longer limit.
    #[case(true, Some(0.0), 0.0, 20.0 * D, 30, None)]
    fn stale_rows(
        #[case] scheduled: bool,
        #[case] last: Option<f64>,
        #[case] since: f64,
        #[case] now: f64,
        #[case] days: u32,
        #[case] want: Option<f64>,
    ) {
        assert_eq!(stale_for(scheduled, last, since, now, days), want);
    }
}
