//! Which archives to keep: a pure planner in the style of restic/rustic
//! `forget`. [`plan`] takes the policy, the candidates and `now` (never read
//! inside, so tests are exact) and returns, for every candidate, keep or
//! delete *and the reasons*. Nothing here touches the disk; the caller
//! deletes what the plan says and records it in the history.
//!
//! One safety rule sits above any policy: the newest verified archive is
//! always kept.

use jiff::SignedDuration;
use jiff::civil::DateTime;
use std::fmt;

/// How many archives to keep, per rule. All `None` (the default) keeps
/// everything; a rule set to `Some(0)` is the same as not set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepPolicy {
    /// The N newest archives.
    pub last: Option<u32>,
    /// The newest archive of each of the N most recent hours that have one.
    pub hourly: Option<u32>,
    /// … of each of the N most recent days.
    pub daily: Option<u32>,
    /// … of each of the N most recent ISO weeks (Monday to Sunday).
    pub weekly: Option<u32>,
    /// … of each of the N most recent calendar months.
    pub monthly: Option<u32>,
    /// … of each of the N most recent half-years (January–June, July–December).
    pub half_yearly: Option<u32>,
    /// … of each of the N most recent calendar years.
    pub yearly: Option<u32>,
    /// Every archive made after `now - within`.
    pub within: Option<SignedDuration>,
}

impl KeepPolicy {
    /// True when no rule is set (or every rule is zero): nothing is deleted.
    pub fn is_keep_all(&self) -> bool {
        let counts = [
            self.last,
            self.hourly,
            self.daily,
            self.weekly,
            self.monthly,
            self.half_yearly,
            self.yearly,
        ];
        counts.iter().all(|c| c.unwrap_or(0) == 0)
            && self.within.is_none_or(|w| w <= SignedDuration::ZERO)
    }

    /// Parse a `within` duration: one or more `<number><unit>` parts, each
    /// unit at most once, e.g. `30d`, `12h`, `2w`, `1y6m`. Units: `y` year
    /// (365 days), `m` month (30 days), `w` week (7 days), `d` day (24 hours),
    /// `h` hour. Days are fixed 24-hour spans (archive times are compared as
    /// local civil times, so a DST change does not shift the boundary).
    pub fn parse_within(s: &str) -> Result<SignedDuration, String> {
        const FORM: &str = "format is <number><unit>…, units y m w d h, e.g. 30d, 12h, 1y6m";
        let text = s.trim();
        if text.is_empty() {
            return Err(format!("invalid duration {s:?}: empty ({FORM})"));
        }
        let mut seen = String::new();
        let mut hours: i64 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(format!(
                    "invalid duration {s:?}: expected a number at {rest:?} ({FORM})"
                ));
            }
            let n: i64 = rest[..digits]
                .parse()
                .map_err(|_| format!("invalid duration {s:?}: number too large ({FORM})"))?;
            let unit = rest[digits..].chars().next().ok_or_else(|| {
                format!("invalid duration {s:?}: number {n} has no unit ({FORM})")
            })?;
            let per_unit = match unit {
                'y' => 365 * 24,
                'm' => 30 * 24,
                'w' => 7 * 24,
                'd' => 24,
                'h' => 1,
                other => {
                    return Err(format!(
                        "invalid duration {s:?}: unknown unit {other:?} ({FORM})"
                    ));
                }
            };
            if seen.contains(unit) {
                return Err(format!(
                    "invalid duration {s:?}: unit {unit:?} given twice ({FORM})"
                ));
            }
            seen.push(unit);
            hours = n
                .checked_mul(per_unit)
                .and_then(|h| hours.checked_add(h))
                .filter(|h| *h <= i64::MAX / 3600)
                .ok_or_else(|| format!("invalid duration {s:?}: too long ({FORM})"))?;
            rest = &rest[digits + unit.len_utf8()..];
        }
        if hours == 0 {
            return Err(format!(
                "invalid duration {s:?}: must be longer than zero ({FORM})"
            ));
        }
        Ok(SignedDuration::from_hours(hours))
    }
}

/// An archive the planner decides about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The caller's index, echoed in the [`Decision`].
    pub id: usize,
    /// Local time of the archive (from its name).
    pub time: DateTime,
    /// Whether the archive passed verification.
    pub verified: bool,
}

/// Why an archive is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    KeepAll,
    Last,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    HalfYearly,
    Yearly,
    Within,
    NewestVerified,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::KeepAll => "keep-all",
            Reason::Last => "last",
            Reason::Hourly => "hourly",
            Reason::Daily => "daily",
            Reason::Weekly => "weekly",
            Reason::Monthly => "monthly",
            Reason::HalfYearly => "half-yearly",
            Reason::Yearly => "yearly",
            Reason::Within => "within",
            Reason::NewestVerified => "newest-verified",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The planner's answer for one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub id: usize,
    pub time: DateTime,
    pub keep: bool,
    /// Empty exactly when `keep` is false.
    pub reasons: Vec<Reason>,
}

/// A period an archive falls in, for the bucketed rules.
type Bucket = (i16, i8, i8, i8);

/// The period `t` falls in for a bucketed rule; `None` for the others.
fn bucket(reason: Reason, t: DateTime) -> Option<Bucket> {
    Some(match reason {
        Reason::Hourly => (t.year(), t.month(), t.day(), t.hour()),
        Reason::Daily => (t.year(), t.month(), t.day(), 0),
        Reason::Weekly => {
            let w = t.date().iso_week_date();
            (w.year(), w.week(), 0, 0)
        }
        Reason::Monthly => (t.year(), t.month(), 0, 0),
        Reason::HalfYearly => (t.year(), if t.month() <= 6 { 1 } else { 2 }, 0, 0),
        Reason::Yearly => (t.year(), 0, 0, 0),
        Reason::KeepAll | Reason::Last | Reason::Within | Reason::NewestVerified => return None,
    })
}

/// Decide, for every candidate, keep or delete and why; newest first (ties
/// in time: higher `id` first). Walking from newest to oldest, `last` keeps
/// the N newest; each bucketed rule keeps the newest archive of each of the
/// N most recent periods that have an archive; `within` keeps archives
/// strictly newer than `now - within`. Then the newest verified candidate
/// is kept whatever the policy.
pub fn plan(policy: &KeepPolicy, candidates: &[Candidate], now: DateTime) -> Vec<Decision> {
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    sorted.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.id.cmp(&a.id)));

    let keep_all = policy.is_keep_all();
    let mut decisions: Vec<Decision> = sorted
        .iter()
        .map(|c| Decision {
            id: c.id,
            time: c.time,
            keep: keep_all,
            reasons: if keep_all {
                vec![Reason::KeepAll]
            } else {
                Vec::new()
            },
        })
        .collect();
    if keep_all {
        return decisions;
    }

    let mut last_left = policy.last.unwrap_or(0);
    let mut bucketed: Vec<(Reason, u32, Option<Bucket>)> = [
        (Reason::Hourly, policy.hourly),
        (Reason::Daily, policy.daily),
        (Reason::Weekly, policy.weekly),
        (Reason::Monthly, policy.monthly),
        (Reason::HalfYearly, policy.half_yearly),
        (Reason::Yearly, policy.yearly),
    ]
    .into_iter()
    .filter_map(|(r, n)| n.filter(|n| *n > 0).map(|n| (r, n, None)))
    .collect();
    let cutoff = policy
        .within
        .filter(|w| *w > SignedDuration::ZERO)
        .map(|w| now.saturating_sub(w));

    for d in &mut decisions {
        if last_left > 0 {
            last_left -= 1;
            d.reasons.push(Reason::Last);
        }
        for (reason, left, previous) in &mut bucketed {
            let b = bucket(*reason, d.time);
            if *left > 0 && b.is_some() && *previous != b {
                *left -= 1;
                *previous = b;
                d.reasons.push(*reason);
            }
        }
        if cutoff.is_some_and(|c| d.time > c) {
            d.reasons.push(Reason::Within);
        }
        d.keep = !d.reasons.is_empty();
    }

    let newest_verified = sorted.iter().position(|c| c.verified);
    if let Some(i) = newest_verified {
        let d = &mut decisions[i];
        if !d.keep {
            d.keep = true;
            d.reasons.push(Reason::NewestVerified);
        }
    }
    decisions
}

/// A plain-text table of a plan for `prune --dry-run`: time, archive name
/// (from `names(id)`), action and reasons, then a one-line summary.
pub fn render_table(decisions: &[Decision], names: &dyn Fn(usize) -> String) -> String {
    let rows: Vec<[String; 4]> = decisions
        .iter()
        .map(|d| {
            [
                d.time.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                names(d.id),
                if d.keep { "keep" } else { "delete" }.to_owned(),
                d.reasons
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    let header = ["time", "archive", "action", "reasons"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let kept = decisions.iter().filter(|d| d.keep).count();
    out.push_str(&format!(
        "{kept} to keep, {} to delete\n",
        decisions.len() - kept
    ));
    out
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use Reason::*;
    use jiff::civil::date;
    use rstest::rstest;

    /// `"2024-01-31 12:00"` → civil date-time.
    fn t(s: &str) -> DateTime {
        DateTime::strptime("%Y-%m-%d %H:%M", s).unwrap()
    }

    /// Candidates from times; `!` suffix marks unverified. Ids are positions.
    fn cands(times: &[&str]) -> Vec<Candidate> {
        times
            .iter()
            .enumerate()
            .map(|(id, s)| Candidate {
                id,
                time: t(s.trim_end_matches('!')),
                verified: !s.ends_with('!'),
            })
            .collect()
    }

    fn policy(f: impl FnOnce(&mut KeepPolicy)) -> KeepPolicy {
        let mut p = KeepPolicy::default();
        f(&mut p);
        p
    }

    /// (time, reasons) for kept candidates, newest first; deleted ones have
    /// empty reasons. The whole plan is compared so every row is checked.
    fn summary(ds: &[Decision]) -> Vec<(String, Vec<Reason>)> {
        ds.iter()
            .map(|d| {
                assert_eq!(d.keep, !d.reasons.is_empty(), "keep iff reasons: {d:?}");
                (
                    d.time.strftime("%Y-%m-%d %H:%M").to_string(),
                    d.reasons.clone(),
                )
            })
            .collect()
    }

    const NOW: &str = "2024-07-10 12:00";

    #[rstest]
    #[case::keep_all_default(
        KeepPolicy::default(),
        &["2024-07-01 10:00", "2024-07-02 10:00"],
        &[("2024-07-02 10:00", &[KeepAll][..]), ("2024-07-01 10:00", &[KeepAll])],
    )]
    #[case::all_zero_is_keep_all(
        policy(|p| { p.last = Some(0); p.daily = Some(0); }),
        &["2024-07-01 10:00"],
        &[("2024-07-01 10:00", &[KeepAll][..])],
    )]
    #[case::empty_input(policy(|p| p.last = Some(3)), &[], &[])]
    #[case::last(
        policy(|p| p.last = Some(2)),
        &["2024-07-01 10:00", "2024-07-03 10:00", "2024-07-02 10:00"],
        &[("2024-07-03 10:00", &[Last][..]), ("2024-07-02 10:00", &[Last]), ("2024-07-01 10:00", &[])],
    )]
    #[case::hourly_multiple_per_hour(
        policy(|p| p.hourly = Some(2)),
        &["2024-07-01 10:05", "2024-07-01 10:50", "2024-07-01 11:10", "2024-07-01 09:59"],
        &[
            ("2024-07-01 11:10", &[Hourly][..]),
            ("2024-07-01 10:50", &[Hourly]),
            ("2024-07-01 10:05", &[]),
            ("2024-07-01 09:59", &[]),
        ],
    )]
    #[case::daily_newest_of_each_day(
        policy(|p| p.daily = Some(2)),
        &["2024-07-01 08:00", "2024-07-01 20:00", "2024-07-03 09:00", "2024-07-03 09:30", "2024-06-30 23:59"],
        &[
            ("2024-07-03 09:30", &[Daily][..]),
            ("2024-07-03 09:00", &[]),
            ("2024-07-01 20:00", &[Daily]),
            ("2024-07-01 08:00", &[]),
            ("2024-06-30 23:59", &[]),
        ],
    )]
    #[case::daily_more_than_available(
        policy(|p| p.daily = Some(10)),
        &["2024-07-01 08:00", "2024-07-02 08:00"],
        &[("2024-07-02 08:00", &[Daily][..]), ("2024-07-01 08:00", &[Daily])],
    )]
    #[case::weekly_iso_across_year_boundary(
        // 2024-12-30 (Mon) .. 2025-01-05 (Sun) is ISO week 2025-W01;
        // 2024-12-29 (Sun) is 2024-W52.
        policy(|p| p.weekly = Some(2)),
        &["2024-12-29 10:00", "2024-12-30 10:00", "2025-01-01 10:00", "2025-01-05 10:00", "2024-12-23 10:00"],
        &[
            ("2025-01-05 10:00", &[Weekly][..]),
            ("2025-01-01 10:00", &[]),
            ("2024-12-30 10:00", &[]),
            ("2024-12-29 10:00", &[Weekly]),
            ("2024-12-23 10:00", &[]),
        ],
    )]
    #[case::monthly(
        policy(|p| p.monthly = Some(2)),
        &["2024-05-31 23:00", "2024-06-01 00:00", "2024-06-30 10:00", "2024-07-01 10:00", "2024-04-15 10:00"],
        &[
            ("2024-07-01 10:00", &[Monthly][..]),
            ("2024-06-30 10:00", &[Monthly]),
            ("2024-06-01 00:00", &[]),
            ("2024-05-31 23:00", &[]),
            ("2024-04-15 10:00", &[]),
        ],
    )]
    #[case::half_yearly_boundary(
        policy(|p| p.half_yearly = Some(3)),
        &["2023-12-31 23:00", "2024-01-01 01:00", "2024-06-30 23:00", "2024-07-01 00:00", "2023-07-01 00:00", "2023-06-30 00:00"],
        &[
            ("2024-07-01 00:00", &[HalfYearly][..]),
            ("2024-06-30 23:00", &[HalfYearly]),
            ("2024-01-01 01:00", &[]),
            ("2023-12-31 23:00", &[HalfYearly]),
            ("2023-07-01 00:00", &[]),
            ("2023-06-30 00:00", &[]),
        ],
    )]
    #[case::yearly(
        policy(|p| p.yearly = Some(2)),
        &["2022-12-31 10:00", "2023-01-01 10:00", "2023-12-31 10:00", "2024-03-01 10:00", "2021-06-01 10:00"],
        &[
            ("2024-03-01 10:00", &[Yearly][..]),
            ("2023-12-31 10:00", &[Yearly]),
            ("2023-01-01 10:00", &[]),
            ("2022-12-31 10:00", &[]),
            ("2021-06-01 10:00", &[]),
        ],
    )]
    #[case::within(
        // now = 2024-07-10 12:00, within 2d → strictly after 2024-07-08 12:00.
        policy(|p| p.within = Some(SignedDuration::from_hours(48))),
        &["2024-07-08 12:00", "2024-07-08 12:01", "2024-07-10 11:00", "2024-07-01 10:00"],
        &[
            ("2024-07-10 11:00", &[Within][..]),
            ("2024-07-08 12:01", &[Within]),
            ("2024-07-08 12:00", &[]),
            ("2024-07-01 10:00", &[]),
        ],
    )]
    #[case::combined(
        policy(|p| { p.last = Some(1); p.daily = Some(3); p.monthly = Some(2); }),
        &["2024-07-09 20:00", "2024-07-09 08:00", "2024-07-08 08:00", "2024-07-01 08:00", "2024-06-20 08:00", "2024-06-10 08:00", "2024-05-10 08:00"],
        &[
            ("2024-07-09 20:00", &[Last, Daily, Monthly][..]),
            ("2024-07-09 08:00", &[]),
            ("2024-07-08 08:00", &[Daily]),
            ("2024-07-01 08:00", &[Daily]),
            ("2024-06-20 08:00", &[Monthly]),
            ("2024-06-10 08:00", &[]),
            ("2024-05-10 08:00", &[]),
        ],
    )]
    #[case::newest_verified_kept_when_newest_unverified(
        policy(|p| p.last = Some(1)),
        &["2024-07-09 20:00!", "2024-07-08 20:00!", "2024-07-07 20:00", "2024-07-06 20:00"],
        &[
            ("2024-07-09 20:00", &[Last][..]),
            ("2024-07-08 20:00", &[]),
            ("2024-07-07 20:00", &[NewestVerified]),
            ("2024-07-06 20:00", &[]),
        ],
    )]
    #[case::newest_verified_already_kept_gets_no_extra_reason(
        policy(|p| p.daily = Some(1)),
        &["2024-07-09 20:00", "2024-07-08 20:00"],
        &[("2024-07-09 20:00", &[Daily][..]), ("2024-07-08 20:00", &[])],
    )]
    #[case::nothing_verified_no_safety_keep(
        policy(|p| p.within = Some(SignedDuration::from_hours(1))),
        &["2024-07-01 10:00!", "2024-07-02 10:00!"],
        &[("2024-07-02 10:00", &[][..]), ("2024-07-01 10:00", &[])],
    )]
    #[case::ties_same_time(
        // Same minute: the higher id counts as newer.
        policy(|p| p.daily = Some(1)),
        &["2024-07-09 20:00", "2024-07-09 20:00"],
        &[("2024-07-09 20:00", &[Daily][..]), ("2024-07-09 20:00", &[])],
    )]
    fn plan_rows(
        #[case] policy: KeepPolicy,
        #[case] times: &[&str],
        #[case] expected: &[(&str, &[Reason])],
    ) {
        let got = plan(&policy, &cands(times), t(NOW));
        let want: Vec<(String, Vec<Reason>)> = expected
            .iter()
            .map(|(s, r)| (s.to_string(), r.to_vec()))
            .collect();
        assert_eq!(summary(&got), want);
    }

    #[test]
    fn ties_are_ordered_by_id_descending() {
        let c = cands(&["2024-07-09 20:00", "2024-07-09 20:00", "2024-07-08 20:00"]);
        let got = plan(&policy(|p| p.last = Some(1)), &c, t(NOW));
        assert_eq!(got.iter().map(|d| d.id).collect::<Vec<_>>(), [1, 0, 2]);
        assert!(got[0].keep && !got[1].keep);
    }

    #[test]
    fn within_uses_the_given_now_only() {
        let c = cands(&["2020-01-01 00:00"]);
        let p = policy(|p| p.within = Some(SignedDuration::from_hours(24)));
        let early = plan(&p, &c, t("2020-01-01 12:00"));
        let late = plan(&p, &c, t("2020-01-03 12:00"));
        assert_eq!(early[0].reasons, [Within]);
        // Verified, so kept anyway, but only by the safety rule.
        assert_eq!(late[0].reasons, [NewestVerified]);
    }

    #[rstest]
    #[case("30d", 30 * 24)]
    #[case("12h", 12)]
    #[case("2w", 14 * 24)]
    #[case("1y6m", 365 * 24 + 180 * 24)]
    #[case(" 1d12h ", 36)]
    #[case("1m2w3d4h", 30 * 24 + 14 * 24 + 3 * 24 + 4)]
    fn parse_within_ok(#[case] s: &str, #[case] hours: i64) {
        assert_eq!(
            KeepPolicy::parse_within(s),
            Ok(SignedDuration::from_hours(hours))
        );
    }

    #[rstest]
    #[case("", "empty")]
    #[case("30", "has no unit")]
    #[case("d", "expected a number")]
    #[case("5x", "unknown unit 'x'")]
    #[case("1d2d", "given twice")]
    #[case("0d", "longer than zero")]
    #[case("-1d", "expected a number")]
    #[case("99999999999999999999y", "too large")]
    #[case("9999999999999999y", "too long")]
    fn parse_within_errors(#[case] s: &str, #[case] needle: &str) {
        let err = KeepPolicy::parse_within(s).unwrap_err();
        assert!(err.contains(needle), "{s:?}: {err}");
        assert!(err.contains("e.g. 30d"), "error names the form: {err}");
    }

    #[test]
    fn keep_all_detection() {
        assert!(KeepPolicy::default().is_keep_all());
        assert!(policy(|p| p.yearly = Some(0)).is_keep_all());
        assert!(!policy(|p| p.yearly = Some(1)).is_keep_all());
        assert!(!policy(|p| p.half_yearly = Some(1)).is_keep_all());
        assert!(!policy(|p| p.within = Some(SignedDuration::from_hours(1))).is_keep_all());
    }

    #[test]
    fn reason_display() {
        let all = [
            KeepAll,
            Last,
            Hourly,
            Daily,
            Weekly,
            Monthly,
            HalfYearly,
            Yearly,
            Within,
            NewestVerified,
        ];
        let shown: Vec<String> = all.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            shown,
            [
                "keep-all",
                "last",
                "hourly",
                "daily",
                "weekly",
                "monthly",
                "half-yearly",
                "yearly",
                "within",
                "newest-verified"
            ]
        );
    }

    #[test]
    fn render_table_golden() {
        let c = cands(&[
            "2024-07-09 20:00!",
            "2024-07-09 08:00",
            "2024-07-08 08:00",
            "2024-06-20 08:00",
        ]);
        let p = policy(|p| {
            p.last = Some(1);
            p.monthly = Some(1);
        });
        let ds = plan(&p, &c, t(NOW));
        let names = |id: usize| {
            let d = c[id].time;
            format!("buh_{}.zip", d.strftime("%Y-%m-%d_%H-%M-%S"))
        };
        let expected = "\
time                 archive                      action  reasons
2024-07-09 20:00:00  buh_2024-07-09_20-00-00.zip  keep    last, monthly
2024-07-09 08:00:00  buh_2024-07-09_08-00-00.zip  keep    newest-verified
2024-07-08 08:00:00  buh_2024-07-08_08-00-00.zip  delete
2024-06-20 08:00:00  buh_2024-06-20_08-00-00.zip  delete
2 to keep, 2 to delete
";
        assert_eq!(render_table(&ds, &names), expected);
        assert_eq!(date(2024, 7, 9).at(20, 0, 0, 0), ds[0].time);
    }

    #[test]
    fn render_table_empty() {
        assert_eq!(
            render_table(&[], &|_| String::new()),
            "time  archive  action  reasons\n0 to keep, 0 to delete\n"
        );
    }
}
