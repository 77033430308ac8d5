//! Pure rules of the queue: which archives a target takes (`which`: every,
//! or only the first good archive of each local day / ISO week / month),
//! the objects an archive becomes (mode history: `<base>/<archive name>`;
//! mode fixed: `<base>/<prefix>daily.<ext>` always, `weekly` when it is
//! the first good archive of its ISO week, `monthly` when the first of its
//! month) and the retry backoff (1 min doubling up to 1 h).

use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::config::offsite::{Mode, Which};

/// A period of local time an archive falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Day(Date),
    Week(i16, i8),
    Month(i16, i8),
}

fn period(p: Which, tz: &TimeZone, t: Timestamp) -> Option<Period> {
    let d = t.to_zoned_datetime(tz.clone()).date();
    Some(match p {
        Which::Every => return None,
        Which::Day => Period::Day(d),
        Which::Week => {
            let w = d.iso_week_date();
            Period::Week(w.year(), w.week())
        }
        Which::Month => Period::Month(d.year(), d.month()),
    })
}

/// Whether `run` (id, start time) is the first good archive of its period
/// among `good` (every good run of the same base: id and start time).
fn first_of(p: Which, tz: &TimeZone, run: (i64, Timestamp), good: &[(i64, Timestamp)]) -> bool {
    let Some(mine) = period(p, tz, run.1) else {
        return true;
    };
    !good
        .iter()
        .any(|&(id, t)| (t, id) < (run.1, run.0) && period(p, tz, t) == Some(mine))
}

/// Whether a target with `which` takes the archive of `run`.
pub fn accepts(
    which: Which,
    tz: &TimeZone,
    run: (i64, Timestamp),
    good: &[(i64, Timestamp)],
) -> bool {
    first_of(which, tz, run, good)
}

/// The fixed-mode slots an archive fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Daily,
    Weekly,
    Monthly,
}

impl Slot {
    pub fn as_str(self) -> &'static str {
        match self {
            Slot::Daily => "daily",
            Slot::Weekly => "weekly",
            Slot::Monthly => "monthly",
        }
    }
}

/// Daily always; weekly when `run` is the first good archive of its ISO
/// week; monthly when the first of its month.
pub fn slots(tz: &TimeZone, run: (i64, Timestamp), good: &[(i64, Timestamp)]) -> Vec<Slot> {
    let mut out = vec![Slot::Daily];
    if first_of(Which::Week, tz, run, good) {
        out.push(Slot::Weekly);
    }
    if first_of(Which::Month, tz, run, good) {
        out.push(Slot::Monthly);
    }
    out
}

/// The folder of a base on a target: its name, made a plain name part.
pub fn base_dir(base: &str) -> String {
    let s: String = base
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | ':') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match s.trim() {
        "" | "." | ".." => "base".into(),
        t => t.to_string(),
    }
}

/// The extension of an archive file name (`.zip`, `.tar.zst.age`, …),
/// known from the names this program writes; else what follows the last dot.
pub fn extension(file_name: &str) -> String {
    for ext in crate::backup::naming::EXTENSIONS {
        if !ext.is_empty() && file_name.ends_with(ext) {
            return ext.to_string();
        }
    }
    match file_name.rfind('.') {
        Some(i) if i > 0 => file_name[i..].to_string(),
        _ => String::new(),
    }
}

/// The object an archive is stored as: mode history `<base>/<file name>`,
/// mode fixed `<base>/<prefix><slot><ext>`.
pub fn object(mode: Mode, base: &str, prefix: &str, file_name: &str, slot: Slot) -> String {
    match mode {
        Mode::History => format!("{}/{file_name}", base_dir(base)),
        Mode::Fixed => format!(
            "{}/{prefix}{}{}",
            base_dir(base),
            slot.as_str(),
            extension(file_name)
        ),
    }
}

/// The temporary name a fixed-mode object is uploaded under before it is
/// moved over the slot, so a cut upload leaves the last good copy.
pub fn temp_object(object: &str) -> String {
    format!("{object}.uploading")
}

/// How long to wait before attempt `attempts + 1` after `attempts` failed
/// ones: 1 minute, doubling, at most 1 hour.
pub fn backoff(attempts: u32) -> Duration {
    let mins = 1u64 << attempts.saturating_sub(1).min(6);
    Duration::from_secs((mins * 60).min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn msk() -> TimeZone {
        TimeZone::get("Europe/Moscow").unwrap()
    }

    #[test]
    fn which_takes_the_first_good_archive_of_each_local_period() {
        let tz = msk();
        // 2026-12-06 is a Sunday; 2026-12-07 a Monday (a new ISO week).
        let good = [
            (1, t("2026-12-05T20:59:00Z")), // Sat 23:59 MSK
            (2, t("2026-12-05T21:01:00Z")), // Sun 00:01 MSK: a new local day
            (3, t("2026-12-06T10:00:00Z")), // Sun 13:00
            (4, t("2026-12-06T21:30:00Z")), // Mon 00:30 MSK: new day and week
            (5, t("2026-12-31T22:00:00Z")), // Fri 2027-01-01 01:00 MSK: new month
        ];
        let takes = |w| -> Vec<i64> {
            good.iter()
                .filter(|r| accepts(w, &tz, **r, &good))
                .map(|r| r.0)
                .collect()
        };
        assert_eq!(takes(Which::Every), [1, 2, 3, 4, 5]);
        assert_eq!(takes(Which::Day), [1, 2, 4, 5]);
        assert_eq!(takes(Which::Week), [1, 4, 5]);
        assert_eq!(takes(Which::Month), [1, 5]);
        // In UTC 1 and 2 fall on one day.
        let utc = TimeZone::UTC;
        assert!(!accepts(Which::Day, &utc, good[1], &good));
    }

    #[test]
    fn fixed_slots_daily_always_weekly_and_monthly_when_first() {
        let tz = msk();
        let good = [
            (1, t("2026-12-01T09:00:00Z")), // Tue, first of December
            (2, t("2026-12-02T09:00:00Z")), // Wed
            (3, t("2026-12-07T09:00:00Z")), // Mon, a new week
        ];
        assert_eq!(
            slots(&tz, good[0], &good),
            [Slot::Daily, Slot::Weekly, Slot::Monthly]
        );
        assert_eq!(slots(&tz, good[1], &good), [Slot::Daily]);
        assert_eq!(slots(&tz, good[2], &good), [Slot::Daily, Slot::Weekly]);
    }

    #[test]
    fn object_names() {
        let f = "buh_2026-12-03_03-00-00.tar.zst.age";
        assert_eq!(
            object(Mode::History, "Бухгалтерия", "buh_", f, Slot::Daily),
            format!("Бухгалтерия/{f}")
        );
        assert_eq!(
            object(Mode::Fixed, "buh", "buh_", f, Slot::Weekly),
            "buh/buh_weekly.tar.zst.age"
        );
        assert_eq!(
            object(Mode::Fixed, "a/b", "x_", "x_1.zip", Slot::Daily),
            "a_b/x_daily.zip"
        );
        assert_eq!(temp_object("b/x_daily.zip"), "b/x_daily.zip.uploading");
        assert_eq!(base_dir(".."), "base");
    }

    #[test]
    fn backoff_doubles_from_a_minute_to_an_hour() {
        let secs: Vec<u64> = (1..=9).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(backoff(0).as_secs(), 60);
    }
}
