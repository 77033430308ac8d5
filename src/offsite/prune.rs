//! Remote retention: after a verified upload (mode history only), the
//! target's `keep` policy is planned by the same pure planner as local
//! retention over this target's successful, not yet deleted uploads of one
//! base, and only those objects are deleted. Nothing listed remotely that
//! this program did not record as uploaded is ever touched, nor another
//! base's objects. A dry run plans without deleting.

use anyhow::Result;

use crate::backup::history::History;
use crate::config::Config;
use crate::config::offsite::{Mode, OffsiteTarget};
use crate::retention::{self, Candidate};

use super::remote::Remote;

/// One object in a plan.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Planned {
    pub object: String,
    pub run_id: i64,
    /// The archive's local time.
    pub time: String,
    pub keep: bool,
    pub reasons: Vec<&'static str>,
}

/// The plan for `base` on `target` (empty in mode fixed or without a keep
/// policy: everything is kept).
pub fn plan(
    cfg: &Config,
    history: &History,
    target: &OffsiteTarget,
    base: &str,
) -> Result<Vec<Planned>> {
    if target.mode == Mode::Fixed || target.keep.is_keep_all() {
        return Ok(Vec::new());
    }
    // One candidate per object (a re-upload of one archive is one object).
    let mut rows = history.live_uploads(&target.name, base)?;
    rows.sort_by(|a, b| b.finished.cmp(&a.finished).then(b.id.cmp(&a.id)));
    let mut seen = std::collections::HashSet::new();
    rows.retain(|r| seen.insert(r.object.clone()));
    let mut candidates = Vec::new();
    let mut times = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let when = history
            .run(r.run_id)?
            .map(|run| run.started)
            .unwrap_or(r.started);
        let local = when.to_zoned_datetime(cfg.timezone.clone()).datetime();
        candidates.push(Candidate {
            id: i,
            time: local,
            verified: true,
        });
        times.push(local);
    }
    let now = jiff::ZonedDateTime::now()
        .with_time_zone(cfg.timezone.clone())
        .datetime();
    let decisions = retention::plan(&target.keep, &candidates, now);
    Ok(decisions
        .into_iter()
        .map(|d| Planned {
            object: rows[d.id].object.clone(),
            run_id: rows[d.id].run_id,
            time: times[d.id].to_string(),
            keep: d.keep,
            reasons: d.reasons.iter().map(|r| r.as_str()).collect(),
        })
        .collect())
}

/// Plan and (unless `dry_run`) delete what the plan drops, marking each
/// deleted row; returns the plan.
pub fn apply(
    cfg: &Config,
    history: &History,
    target: &OffsiteTarget,
    remote: &dyn Remote,
    base: &str,
    dry_run: bool,
) -> Result<Vec<Planned>> {
    let planned = plan(cfg, history, target, base)?;
    if dry_run {
        return Ok(planned);
    }
    for p in planned.iter().filter(|p| !p.keep) {
        remote.delete(&p.object)?;
        history.mark_upload_deleted(&target.name, &p.object)?;
        tracing::info!(
            target = %target.name, base, object = %p.object,
            "offsite: remote retention deleted {} from {}", p.object, target.name
        );
    }
    Ok(planned)
}
