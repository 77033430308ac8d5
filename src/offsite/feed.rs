//! Every finished upload attempt, whoever made it (the agent's worker, a
//! console `backup` or `offsite push`), as one stream for the agent's
//! subscribers (the Telegram notices). Each attempt is one
//! `offsite_uploads` row, so the history is the one source: it is read
//! every [`POLL`](crate::backup::feed::POLL) and each row above the last one seen is announced once.
//!
//! [`Streaks`] is the pure rule that turns rows into notices: a failure
//! is told once per failing streak of a (target, base) pair, not once per
//! retry (retries come every 1 to 60 minutes), and the first good upload
//! after a told failure is told as a recovery.

use crate::backup::feed::{RowFeed, poll_rows};
use crate::backup::history::{History, HistoryError, UploadRow, UploadStatus};
use crate::config::Config;
use std::collections::HashSet;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The sending side, kept by the agent.
pub type UploadFeed = RowFeed<UploadRow>;

/// Publish upload rows recorded after `start_id` (the newest when the
/// agent started) on `feed` until `stop`.
pub async fn run(feed: UploadFeed, cfg: Arc<Config>, start_id: i64, stop: CancellationToken) {
    poll_rows(
        feed,
        cfg,
        start_id,
        stop,
        "offsite uploads",
        |h, after| h.uploads_since(after),
        |u| u.id,
    )
    .await
}

/// What one upload row changes for its (target, base) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The first failure of a streak: tell it.
    Failing,
    /// The first good upload after a told failure: tell it.
    Recovered,
}

/// The (target, base) pairs whose failure was told and has not recovered.
#[derive(Debug, Default)]
pub struct Streaks {
    failing: HashSet<(String, String)>,
}

impl Streaks {
    /// Start with `pairs` already failing (their failure was told before a
    /// restart: the next failure is not told again, the next success is).
    pub fn seeded(pairs: impl IntoIterator<Item = (String, String)>) -> Streaks {
        Streaks {
            failing: pairs.into_iter().collect(),
        }
    }

    /// What row `u` changes, if anything worth telling.
    pub fn see(&mut self, u: &UploadRow) -> Option<Change> {
        let key = (u.target.clone(), u.base.clone());
        match u.status {
            UploadStatus::Failed => self.failing.insert(key).then_some(Change::Failing),
            UploadStatus::Ok => self.failing.remove(&key).then_some(Change::Recovered),
        }
    }
}

/// The configured (target, base) pairs whose newest upload attempt
/// failed: the seed of [`Streaks`] when the agent starts.
pub fn failing_now(cfg: &Config, h: &History) -> Result<Vec<(String, String)>, HistoryError> {
    let mut out = Vec::new();
    for t in &cfg.offsite {
        for b in cfg.bases.iter().filter(|b| t.takes(&b.name)) {
            if h.last_upload(&t.name, &b.name)?
                .is_some_and(|u| u.status == UploadStatus::Failed)
            {
                out.push((t.name.clone(), b.name.clone()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(target: &str, base: &str, ok: bool) -> UploadRow {
        let t = jiff::Timestamp::UNIX_EPOCH;
        UploadRow {
            id: 1,
            target: target.into(),
            run_id: 1,
            base: base.into(),
            object: "o".into(),
            bytes: None,
            duration_ms: 0,
            verified: None,
            status: if ok {
                UploadStatus::Ok
            } else {
                UploadStatus::Failed
            },
            error: (!ok).then(|| "boom".to_string()),
            started: t,
            finished: t,
            deleted: None,
        }
    }

    #[test]
    fn a_failure_is_told_once_per_streak_and_the_recovery_once() {
        let mut s = Streaks::default();
        assert_eq!(s.see(&row("nas", "buh", true)), None, "ok as usual");
        assert_eq!(s.see(&row("nas", "buh", false)), Some(Change::Failing));
        for _ in 0..5 {
            assert_eq!(s.see(&row("nas", "buh", false)), None, "retries are quiet");
        }
        assert_eq!(
            s.see(&row("nas", "zup", false)),
            Some(Change::Failing),
            "bases are separate"
        );
        assert_eq!(
            s.see(&row("s3", "buh", false)),
            Some(Change::Failing),
            "targets are separate"
        );
        assert_eq!(s.see(&row("nas", "buh", true)), Some(Change::Recovered));
        assert_eq!(s.see(&row("nas", "buh", true)), None, "once");
        assert_eq!(
            s.see(&row("nas", "buh", false)),
            Some(Change::Failing),
            "a new streak"
        );
    }

    #[test]
    fn a_seeded_failure_is_not_told_again_but_its_recovery_is() {
        let mut s = Streaks::seeded([("nas".to_string(), "buh".to_string())]);
        assert_eq!(s.see(&row("nas", "buh", false)), None);
        assert_eq!(s.see(&row("nas", "buh", true)), Some(Change::Recovered));
    }
}
