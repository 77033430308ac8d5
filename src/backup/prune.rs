//! Applying the retention policy of one base to the archives on disk: only
//! files that match our own naming for that base's prefix *and* are
//! recorded in that base's history, only inside `BACKUP_DIR`, never the
//! newest verified archive (the planner guarantees it; this module checks
//! again), never after a failed run. Deletions are
//! recorded in history, and date folders left empty are removed.

use super::history::{History, Status};
use super::naming::{self, FoundArchive};
use crate::config::{Base, Config};
use crate::retention::{self, Candidate, Decision};
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The archives of `base` on disk and the planner's decision for each
/// (decisions newest first; `Decision::id` indexes `archives`). Only
/// archives recorded in this base's history are candidates: a file that
/// merely matches the name pattern (another base with the same prefix, an
/// older installation, a copy put there by hand) is in `unrecorded` and is
/// always kept.
pub struct Plan {
    pub archives: Vec<FoundArchive>,
    pub decisions: Vec<Decision>,
    /// Files that match this base's naming but no history row of this
    /// base: never deleted, shown by `prune --dry-run` as "not recorded, kept".
    pub unrecorded: Vec<FoundArchive>,
}

/// Compute the plan without touching anything (`prune --dry-run`).
pub fn plan(
    cfg: &Config,
    base: &Base,
    history: &History,
    now: jiff::ZonedDateTime,
) -> std::io::Result<Plan> {
    let found = naming::scan(&cfg.backup_dir, &base.prefix)?;
    let rows = history
        .list(usize::MAX >> 1, Some(&base.name))
        .map_err(std::io::Error::other)?;
    // Every archive this base's runs published, and which of them a
    // successful (so verified) run recorded.
    let mut recorded: HashSet<PathBuf> = HashSet::new();
    let mut verified: HashSet<PathBuf> = HashSet::new();
    for r in rows {
        if let Some(p) = r.archive_path {
            let p = normalise(&p);
            if r.status == Status::Ok {
                verified.insert(p.clone());
            }
            recorded.insert(p);
        }
    }
    let (archives, unrecorded): (Vec<FoundArchive>, Vec<FoundArchive>) = found
        .into_iter()
        .partition(|a| recorded.contains(&normalise(&a.path)));
    let candidates: Vec<Candidate> = archives
        .iter()
        .enumerate()
        .map(|(id, a)| Candidate {
            id,
            time: a.time,
            verified: verified.contains(&normalise(&a.path)),
        })
        .collect();
    let decisions = retention::plan(&base.keep, &candidates, now.datetime());
    Ok(Plan {
        archives,
        decisions,
        unrecorded,
    })
}

fn normalise(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Delete what the policy does not keep; returns the deleted paths.
pub fn apply(
    cfg: &Config,
    base: &Base,
    history: &History,
    run_id: Option<i64>,
    now: jiff::ZonedDateTime,
) -> std::io::Result<Vec<PathBuf>> {
    if base.keep.is_keep_all() {
        return Ok(Vec::new());
    }
    let plan = plan(cfg, base, history, now)?;
    let backup_dir = normalise(&cfg.backup_dir);
    let mut deleted = Vec::new();
    // Belt and braces: the newest archive of all is never deleted here.
    let newest = plan.archives.iter().map(|a| a.time).max();
    for d in plan.decisions.iter().filter(|d| !d.keep) {
        let a = &plan.archives[d.id];
        if Some(a.time) == newest || !normalise(&a.path).starts_with(&backup_dir) {
            continue;
        }
        let reasons = "not kept by policy";
        let r = if a.path.is_dir() {
            fs::remove_dir_all(&a.path)
        } else {
            fs::remove_file(&a.path)
        };
        match r {
            Ok(()) => {
                tracing::info!(base = %base.name, path = %a.path.display(), "retention deleted an old archive");
                let _ = history.record_deletion(run_id, &a.path, a.size, reasons);
                deleted.push(a.path.clone());
                if let Some(dir) = a.path.parent() {
                    // Only succeeds when the date folder is now empty.
                    let _ = fs::remove_dir(dir);
                }
            }
            Err(e) => tracing::warn!(path = %a.path.display(), "retention could not delete: {e}"),
        }
    }
    Ok(deleted)
}
