//! Quiet hours: a daily window (possibly wrapping midnight) during which
//! scheduled runs are skipped.

use std::fmt;

use jiff::ZonedDateTime;
use jiff::civil::Time;

/// Hours during which scheduled runs are skipped, e.g. "00:00-07:59" or
/// "22:00-06:00" (wraps midnight). Both ends are inclusive at minute
/// precision: "00:00-07:59" covers 07:59:30 but not 08:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    start: Time,
    end: Time,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quiet hours {value:?}: expected HH:MM-HH:MM, e.g. 00:00-07:59 or 22:00-06:00")]
pub struct QuietHoursError {
    pub value: String,
}

impl std::str::FromStr for QuietHours {
    type Err = QuietHoursError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QuietHours::parse(s)
    }
}

impl QuietHours {
    pub fn parse(text: &str) -> Result<QuietHours, QuietHoursError> {
        let err = || QuietHoursError {
            value: text.to_string(),
        };
        let (a, b) = text.trim().split_once('-').ok_or_else(err)?;
        let hm = |s: &str| -> Option<Time> {
            let (h, m) = s.trim().split_once(':')?;
            if h.is_empty() || h.len() > 2 || m.len() != 2 {
                return None;
            }
            let h: i8 = h.parse().ok()?;
            let m: i8 = m.parse().ok()?;
            Time::new(h, m, 0, 0).ok()
        };
        Ok(QuietHours {
            start: hm(a).ok_or_else(err)?,
            end: hm(b).ok_or_else(err)?,
        })
    }

    pub fn start(&self) -> Time {
        self.start
    }

    pub fn end(&self) -> Time {
        self.end
    }

    pub fn contains(&self, t: &Time) -> bool {
        let key = |t: &Time| t.hour() as i32 * 60 + t.minute() as i32;
        let (s, e, t) = (key(&self.start), key(&self.end), key(t));
        if s <= e {
            s <= t && t <= e
        } else {
            t >= s || t <= e
        }
    }

    /// The first instant after the quiet window that contains `at`.
    pub(super) fn window_end_after(&self, at: &ZonedDateTime) -> Option<ZonedDateTime> {
        let mut date = at.date();
        let t = at.time();
        let wraps = self.start > self.end;
        if wraps && (t.hour(), t.minute()) >= (self.start.hour(), self.start.minute()) {
            date = date.tomorrow().ok()?;
        }
        let end = self.end.with().second(59).build().ok()?;
        let civil = date.to_datetime(end);
        let ts = at.time_zone().to_ambiguous_timestamp(civil).later().ok()?;
        Some(ts.to_zoned_datetime(at.time_zone().clone()))
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start.hour(),
            self.start.minute(),
            self.end.hour(),
            self.end.minute()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("00:00-07:59", "00:00", true)]
    #[case("00:00-07:59", "07:59", true)]
    #[case("00:00-07:59", "07:59:30", true)]
    #[case("00:00-07:59", "08:00", false)]
    #[case("00:00-07:59", "23:59", false)]
    #[case("22:00-06:00", "21:59", false)]
    #[case("22:00-06:00", "22:00", true)]
    #[case("22:00-06:00", "23:30", true)]
    #[case("22:00-06:00", "00:00", true)]
    #[case("22:00-06:00", "06:00", true)]
    #[case("22:00-06:00", "06:01", false)]
    #[case("22:00-06:00", "12:00", false)]
    fn quiet_hours_contains(#[case] range: &str, #[case] t: &str, #[case] want: bool) {
        let q = QuietHours::parse(range).unwrap();
        let t: Time = t.parse().unwrap();
        assert_eq!(q.contains(&t), want, "{range} {t}");
    }

    #[rstest]
    #[case("")]
    #[case("00:00")]
    #[case("24:00-07:00")]
    #[case("00:60-07:00")]
    #[case("0:0-7:00")]
    #[case("aa:bb-07:00")]
    fn quiet_hours_rejects(#[case] text: &str) {
        let err = QuietHours::parse(text).unwrap_err().to_string();
        assert!(err.contains("expected HH:MM-HH:MM"), "{err}");
        assert!(err.contains(&format!("{text:?}")), "{err}");
    }

    #[test]
    fn quiet_hours_round_trip() {
        let q = QuietHours::parse(" 22:00-6:00 ").unwrap();
        assert_eq!(q.to_string(), "22:00-06:00");
    }
}
