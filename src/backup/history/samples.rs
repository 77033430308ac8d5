//! Host samples (CPU, memory, disk, RDP sessions, 1C users), one a minute,
//! for the Telegram `/chart`; pruned after 30 days by the caller.

use rusqlite::params;
use serde::Serialize;

use super::{History, HistoryError, get_u64, to_i64};

/// One host sample (percents 0–100; `None` when the collector failed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Unix seconds.
    pub ts: i64,
    pub cpu: Option<f64>,
    pub mem: Option<f64>,
    pub disk: Option<f64>,
    pub rdp: Option<u64>,
    pub onec_users: Option<u64>,
}

/// Queries for the Telegram bot: charts.
impl History {
    /// Store one host sample.
    pub fn insert_sample(&self, s: &Sample) -> Result<(), HistoryError> {
        self.conn.execute(
            "INSERT INTO samples (ts, cpu, mem, disk, rdp, onec_users) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                s.ts,
                s.cpu,
                s.mem,
                s.disk,
                s.rdp.map(to_i64),
                s.onec_users.map(to_i64)
            ],
        )?;
        Ok(())
    }

    /// Samples with `ts >= since` (unix seconds), oldest first.
    pub fn samples_since(&self, since: i64) -> Result<Vec<Sample>, HistoryError> {
        let mut stmt = self.conn.prepare(
            "SELECT ts, cpu, mem, disk, rdp, onec_users FROM samples WHERE ts >= ?1 ORDER BY ts",
        )?;
        let rows = stmt
            .query_map([since], |r| {
                Ok(Sample {
                    ts: r.get(0)?,
                    cpu: r.get(1)?,
                    mem: r.get(2)?,
                    disk: r.get(3)?,
                    rdp: get_u64(r, 4)?,
                    onec_users: get_u64(r, 5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The backup disk's used percent since `since` (unix seconds) as
    /// hourly averages, oldest first: the trend behind "days until full",
    /// a week in 168 rows instead of 10,080.
    pub fn disk_hourly_since(&self, since: i64) -> Result<Vec<(i64, f64)>, HistoryError> {
        self.all(
            "SELECT ts / 3600 * 3600 AS hour, AVG(disk) FROM samples
             WHERE ts >= ?1 AND disk IS NOT NULL GROUP BY hour ORDER BY hour",
            [since],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Delete samples older than `before` (unix seconds); returns how many.
    pub fn prune_samples(&self, before: i64) -> Result<usize, HistoryError> {
        Ok(self
            .conn
            .execute("DELETE FROM samples WHERE ts < ?1", [before])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_trip_and_prune() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.sqlite3")).unwrap();
        for (ts, cpu) in [(100, Some(5.0)), (200, None), (300, Some(50.5))] {
            h.insert_sample(&Sample {
                ts,
                cpu,
                mem: Some(40.0),
                disk: Some(70.0),
                rdp: Some(2),
                onec_users: None,
            })
            .unwrap();
        }
        let got = h.samples_since(150).unwrap();
        assert_eq!(got.iter().map(|s| s.ts).collect::<Vec<_>>(), [200, 300]);
        assert_eq!(got[0].cpu, None);
        assert_eq!(got[1].cpu, Some(50.5));
        assert_eq!(got[1].rdp, Some(2));
        assert_eq!(h.disk_hourly_since(0).unwrap(), [(0, 70.0)]);
        assert_eq!(h.prune_samples(250).unwrap(), 2);
        assert_eq!(h.samples_since(0).unwrap().len(), 1);
    }
}
