//! Browsing the runs: the web dashboard's history page filters by base,
//! status, trigger and a time window and reads one page at a time, with
//! the count of every matching run for the pager.

use jiff::Timestamp;
use rusqlite::params;

use super::runs::{RUN_COLUMNS, run_from_row};
use super::{History, HistoryError, Run, Status, Trigger, to_i64, ts_text};

/// Which runs to show; every `None` matches all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    pub base: Option<String>,
    pub status: Option<Status>,
    pub trigger: Option<Trigger>,
    /// Runs started at or after this moment.
    pub from: Option<Timestamp>,
    /// Runs started before this moment.
    pub to: Option<Timestamp>,
}

/// One page of runs and how many match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPage {
    /// Newest first.
    pub runs: Vec<Run>,
    pub total: u64,
}

const WHERE: &str = r#"(?1 IS NULL OR base = ?1) AND (?2 IS NULL OR status = ?2)
    AND (?3 IS NULL OR "trigger" = ?3) AND (?4 IS NULL OR started >= ?4)
    AND (?5 IS NULL OR started < ?5)"#;

impl History {
    /// Up to `limit` runs matching `f`, newest first, skipping the first
    /// `offset`; plus the number of all matching runs.
    pub fn runs_page(
        &self,
        f: &RunFilter,
        offset: u64,
        limit: u64,
    ) -> Result<RunPage, HistoryError> {
        let from = f.from.as_ref().map(ts_text);
        let to = f.to.as_ref().map(ts_text);
        let total: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM runs WHERE {WHERE}"),
            params![f.base, f.status, f.trigger, from, to],
            |r| r.get(0),
        )?;
        let runs = self.all(
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE {WHERE}
                 ORDER BY started DESC, id DESC LIMIT ?6 OFFSET ?7"
            ),
            params![
                f.base,
                f.status,
                f.trigger,
                from,
                to,
                to_i64(limit),
                to_i64(offset)
            ],
            run_from_row,
        )?;
        Ok(RunPage {
            runs,
            total: u64::try_from(total).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::history::{Finish, NewRun};

    fn run(h: &History, base: &str, trigger: Trigger, status: Status, at: &str) -> i64 {
        let started: Timestamp = at.parse().unwrap();
        let id = h
            .start_run(&NewRun {
                base,
                trigger,
                method: "dump",
                started: &started,
                pid: 1,
            })
            .unwrap();
        h.finish_run(id, &Finish::new(status, &started)).unwrap();
        id
    }

    #[test]
    fn filters_and_pages_runs_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.sqlite3")).unwrap();
        let mut ids = Vec::new();
        for i in 0..30 {
            let (base, trig, st) = match i % 3 {
                0 => ("a", Trigger::Schedule, Status::Ok),
                1 => ("b", Trigger::Telegram, Status::Failed),
                _ => ("a", Trigger::Api, Status::Ok),
            };
            ids.push(run(
                &h,
                base,
                trig,
                st,
                &format!("2026-11-{:02}T10:00:00Z", i + 1),
            ));
        }
        let all = h.runs_page(&RunFilter::default(), 0, 50).unwrap();
        assert_eq!(all.total, 30);
        assert_eq!(all.runs.first().unwrap().id, ids[29]);
        let page2 = h.runs_page(&RunFilter::default(), 10, 10).unwrap();
        assert_eq!(
            page2.runs.iter().map(|r| r.id).collect::<Vec<_>>(),
            ids[10..20].iter().rev().copied().collect::<Vec<_>>()
        );
        let a_ok = RunFilter {
            base: Some("a".into()),
            status: Some(Status::Ok),
            ..RunFilter::default()
        };
        assert_eq!(h.runs_page(&a_ok, 0, 50).unwrap().total, 20);
        let tg = RunFilter {
            trigger: Some(Trigger::Telegram),
            ..RunFilter::default()
        };
        let got = h.runs_page(&tg, 0, 50).unwrap();
        assert_eq!(got.total, 10);
        assert!(
            got.runs
                .iter()
                .all(|r| r.base == "b" && r.status == Status::Failed)
        );
        let window = RunFilter {
            from: Some("2026-11-05T00:00:00Z".parse().unwrap()),
            to: Some("2026-11-08T00:00:00Z".parse().unwrap()),
            ..RunFilter::default()
        };
        let got = h.runs_page(&window, 0, 50).unwrap();
        assert_eq!(
            got.runs.iter().map(|r| r.id).collect::<Vec<_>>(),
            [ids[6], ids[5], ids[4]]
        );
        let none = RunFilter {
            base: Some("zzz".into()),
            ..RunFilter::default()
        };
        assert_eq!(
            h.runs_page(&none, 0, 50).unwrap(),
            RunPage {
                runs: vec![],
                total: 0
            }
        );
    }
}
