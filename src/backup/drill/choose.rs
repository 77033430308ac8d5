//! Which source a base's next restore drill takes its archive from, by the
//! base's `drill_from` (`BACKUP_DRILL_FROM` / `bases[].drill_from`): the
//! local archive, always one offsite target, or with `alternate` the local
//! archive and each target that copies the base in turn. The turn is read
//! from the `drills` table (each row records its source), so it survives
//! restarts and counts console, scheduled and Telegram drills alike. The
//! rule itself ([`next_source`]) is pure.

use super::super::history::{History, HistoryError, LOCAL};
use crate::config::{Base, Config, DrillFrom};

/// Where the next drill of a base takes its archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// The local archive.
    Local,
    /// The copy on this offsite target; `fallback`: when it holds no copy
    /// of the base, drill the local archive instead (an `alternate` turn)
    /// rather than skip.
    Target { name: String, fallback: bool },
}

/// The candidate whose last drill is oldest: one never drilled first, and
/// among equals the earlier in `candidates` (the local archive is listed
/// first). `last` holds each source's last drill as an ever-growing
/// number (the drill's row id): smaller is older. Source names match
/// without regard to case (target names are typed by people).
pub fn next_source<'a>(candidates: &[&'a str], last: &[(String, i64)]) -> Option<&'a str> {
    let last_of = |c: &str| {
        last.iter()
            .filter(|(s, _)| s.eq_ignore_ascii_case(c))
            .map(|(_, id)| *id)
            .max()
    };
    // `None` (never drilled) sorts before every `Some`; `min_by_key` keeps
    // the first of equals.
    candidates.iter().copied().min_by_key(|c| last_of(c))
}

/// The source of `base`'s next drill by its `drill_from` setting; for
/// `alternate`, the local archive and every configured target that copies
/// the base, by [`next_source`] over the base's recorded drills.
pub fn plan(cfg: &Config, history: &History, base: &Base) -> Result<Planned, HistoryError> {
    Ok(match &base.drill_from {
        DrillFrom::Local => Planned::Local,
        DrillFrom::Target(name) => Planned::Target {
            name: name.clone(),
            fallback: false,
        },
        DrillFrom::Alternate => {
            let mut candidates = vec![LOCAL];
            candidates.extend(
                cfg.offsite
                    .iter()
                    .filter(|t| t.takes(&base.name))
                    .map(|t| t.name.as_str()),
            );
            let last = history.drill_sources(&base.name)?;
            match next_source(&candidates, &last) {
                Some(name) if name != LOCAL => Planned::Target {
                    name: name.to_string(),
                    fallback: true,
                },
                _ => Planned::Local,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(v: &[(&str, i64)]) -> Vec<(String, i64)> {
        v.iter().map(|(s, id)| (s.to_string(), *id)).collect()
    }

    #[test]
    fn never_drilled_goes_first_in_listed_order() {
        let c = ["local", "nas", "s3"];
        assert_eq!(next_source(&c, &[]), Some("local"));
        assert_eq!(next_source(&c, &last(&[("local", 1)])), Some("nas"));
        assert_eq!(
            next_source(&c, &last(&[("local", 1), ("nas", 2)])),
            Some("s3")
        );
    }

    #[test]
    fn the_oldest_last_drill_goes_next_and_the_turn_wraps() {
        let c = ["local", "nas"];
        // local, nas, local, nas...
        assert_eq!(
            next_source(&c, &last(&[("local", 1), ("nas", 2)])),
            Some("local")
        );
        assert_eq!(
            next_source(&c, &last(&[("local", 3), ("nas", 2)])),
            Some("nas")
        );
        // A fallback turn recorded as local keeps the target due.
        assert_eq!(
            next_source(&c, &last(&[("local", 4), ("nas", 2)])),
            Some("nas")
        );
    }

    #[test]
    fn sources_no_longer_configured_are_ignored_and_case_does_not_matter() {
        let c = ["local", "NAS"];
        let l = last(&[("local", 5), ("nas", 7), ("old-target", 1)]);
        assert_eq!(next_source(&c, &l), Some("local"));
        assert_eq!(next_source(&["local"], &l), Some("local"));
        assert_eq!(next_source(&[], &l), None);
    }
}
