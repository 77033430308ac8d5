//! Properties of the retention planner on generated archive sets and
//! policies (256 cases, README "Reliability"): every candidate gets exactly
//! one decision, kept exactly when it has a reason; the newest verified
//! archive is always kept; and planning again over what the first plan
//! kept deletes nothing more. That another base's archives are never
//! candidates is a property of `backup::prune`, checked there.

use super::*;
use jiff::civil::date;
use proptest::prelude::*;

fn policy() -> impl Strategy<Value = KeepPolicy> {
    let n = || prop::option::of(0..5u32);
    (
        n(),
        n(),
        n(),
        n(),
        n(),
        n(),
        n(),
        prop::option::of(-48..2000i64),
    )
        .prop_map(
            |(last, hourly, daily, weekly, monthly, half_yearly, yearly, within)| KeepPolicy {
                last,
                hourly,
                daily,
                weekly,
                monthly,
                half_yearly,
                yearly,
                within: within.map(SignedDuration::from_hours),
            },
        )
}

/// Up to 40 archives within about three years before `NOW` (several may
/// share a time), some unverified.
fn candidates() -> impl Strategy<Value = Vec<Candidate>> {
    prop::collection::vec((0..3 * 365 * 24 * 60i64, any::<bool>()), 0..40).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(id, (minutes_ago, verified))| Candidate {
                id,
                time: now()
                    .checked_sub(SignedDuration::from_mins(minutes_ago / 7 * 7))
                    .unwrap(),
                verified,
            })
            .collect()
    })
}

fn now() -> DateTime {
    date(2025, 3, 30).at(12, 0, 0, 0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_plan_keeps_the_newest_verified_and_is_stable(
        policy in policy(),
        cands in candidates(),
    ) {
        let plan1 = plan(&policy, &cands, now());
        prop_assert_eq!(plan1.len(), cands.len());
        let mut ids: Vec<usize> = plan1.iter().map(|d| d.id).collect();
        ids.sort_unstable();
        prop_assert_eq!(ids, (0..cands.len()).collect::<Vec<_>>());
        for d in &plan1 {
            prop_assert_eq!(d.keep, !d.reasons.is_empty(), "{:?}", d);
        }
        // The newest verified archive (ties: the higher id, as the plan
        // orders them) is kept.
        let newest = cands
            .iter()
            .filter(|c| c.verified)
            .max_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
        if let Some(n) = newest {
            prop_assert!(plan1.iter().any(|d| d.id == n.id && d.keep));
        }
        // What the first plan kept, planned again: nothing more goes.
        let kept: Vec<Candidate> = cands
            .iter()
            .filter(|c| plan1.iter().any(|d| d.id == c.id && d.keep))
            .copied()
            .collect();
        let plan2 = plan(&policy, &kept, now());
        let again: Vec<&Decision> = plan2.iter().filter(|d| !d.keep).collect();
        prop_assert!(again.is_empty(), "a second plan deletes {:?}", again);
    }
}
