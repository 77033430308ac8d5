//! When a base's offsite copy on a target is too old: the pure rule behind
//! `onec_offsite_stale`, the `offsite` check of `/api/health`, the alert
//! and the stale mark of `/status` and `/bases`. Only a (base, target)
//! pair the target takes is ever stale; a pair without any good copy
//! counts from when the target was first seen (or, before that, from when
//! the agent started), so a new target is not stale at once. Times are
//! arguments, never read here.

/// How long the pair has gone without a good copy, in seconds, when that
/// is longer than `max_age_hours`; `None` otherwise. `first_seen_unix` is
/// when the target first appeared in the history (where "no copy yet"
/// counts from: a restart does not reset it, so a target that never
/// worked stays stale), `since_unix` when the agent started (used only
/// when the target was never seen).
pub fn stale_for(
    last_success_unix: Option<f64>,
    first_seen_unix: Option<f64>,
    since_unix: f64,
    now_unix: f64,
    max_age_hours: u32,
) -> Option<f64> {
    let from = last_success_unix.or(first_seen_unix).unwrap_or(since_unix);
    let age = now_unix - from;
    (age > f64::from(max_age_hours) * 3600.0).then_some(age)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: f64 = 3600.0;

    #[rstest::rstest]
    // Within the limit, exactly at it, past it.
    #[case(Some(100.0 * H), None, 0.0, 129.0 * H, 30, None)]
    #[case(Some(100.0 * H), None, 0.0, 130.0 * H, 30, None)]
    #[case(Some(100.0 * H), None, 0.0, 131.0 * H, 30, Some(31.0 * H))]
    // A good copy counts, however recently the target appeared.
    #[case(Some(100.0 * H), Some(500.0 * H), 0.0, 200.0 * H, 30, Some(100.0 * H))]
    // No copy yet: counted from the target's first sighting...
    #[case(None, Some(100.0 * H), 0.0, 120.0 * H, 30, None)]
    #[case(None, Some(100.0 * H), 0.0, 140.0 * H, 30, Some(40.0 * H))]
    // ...even when the agent restarted since (a target that never worked
    // stays stale).
    #[case(None, Some(0.0), 100.0 * H, 120.0 * H, 30, Some(120.0 * H))]
    // ...or from the agent's start when the target was never seen.
    #[case(None, None, 100.0 * H, 110.0 * H, 30, None)]
    #[case(None, None, 100.0 * H, 131.0 * H, 30, Some(31.0 * H))]
    // A shorter limit.
    #[case(Some(0.0), None, 0.0, 2.0 * H, 1, Some(2.0 * H))]
    fn stale_rows(
        #[case] last: Option<f64>,
        #[case] first_seen: Option<f64>,
        #[case] since: f64,
        #[case] now: f64,
        #[case] hours: u32,
        #[case] want: Option<f64>,
    ) {
        assert_eq!(stale_for(last, first_seen, since, now, hours), want);
    }
}
