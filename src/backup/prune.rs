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
    let today = now.date();
    if base.keep.is_keep_all() {
        prune_old_logs(&cfg.backup_dir, today);
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
                for c in &a.companions {
                    if let Err(e) = fs::remove_file(c) {
                        tracing::warn!(path = %c.display(), "retention could not delete: {e}");
                    }
                }
                remove_run_log(cfg, &a.path);
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
    prune_old_logs(&cfg.backup_dir, today);
    Ok(deleted)
}

/// The 1C `/Out` log of the run that made `archive`
/// (`BACKUP_DIR/logs/<day>/<stem>.log`) goes with the archive.
fn remove_run_log(cfg: &Config, archive: &Path) {
    let (Some(day), Some(name)) = (
        archive.parent().and_then(|d| d.file_name()),
        archive.file_name().and_then(|n| n.to_str()),
    ) else {
        return;
    };
    let stem = [".zip", ".tar.zst", ".dt"]
        .iter()
        .find_map(|e| name.strip_suffix(e))
        .unwrap_or(name);
    let dir = cfg.backup_dir.join("logs").join(day);
    let _ = fs::remove_file(dir.join(format!("{stem}.log")));
    // Only succeeds when the day's log folder is now empty.
    let _ = fs::remove_dir(&dir);
}

/// How long the 1C logs of runs without a kept archive (failed runs) stay.
pub const LOG_KEEP_DAYS: i64 = 30;

/// Remove `BACKUP_DIR/logs/<YYYY-MM-DD>/` folders older than
/// [`LOG_KEEP_DAYS`] (logs of kept archives are younger or go with their
/// archive; these are the logs of failed runs).
pub fn prune_old_logs(backup_dir: &Path, today: jiff::civil::Date) {
    let logs = backup_dir.join("logs");
    let Ok(entries) = fs::read_dir(&logs) else {
        return;
    };
    let Ok(cutoff) = today.checked_sub(jiff::Span::new().days(LOG_KEEP_DAYS)) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(day) = jiff::civil::Date::strptime("%Y-%m-%d", &name) else {
            continue;
        };
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && day < cutoff {
            match fs::remove_dir_all(e.path()) {
                Ok(()) => tracing::info!(folder = %e.path().display(), "removed old 1C logs"),
                Err(e2) => {
                    tracing::warn!(folder = %e.path().display(), "cannot remove old 1C logs: {e2}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_1c_log_folders_go_recent_ones_and_other_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        for day in ["2024-01-01", "2024-02-01", "2024-02-20", "not-a-date"] {
            fs::create_dir_all(logs.join(day)).unwrap();
            fs::write(logs.join(day).join("buh_x.log"), b"1C log").unwrap();
        }
        fs::write(logs.join("2023-01-01"), b"a file, not a folder").unwrap();
        let today = jiff::civil::date(2024, 3, 1);
        prune_old_logs(dir.path(), today);
        let mut left: Vec<String> = fs::read_dir(&logs)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["2023-01-01", "2024-02-01", "2024-02-20", "not-a-date"]
        );
    }
}

/// Properties of applying retention on disk (32 generated cases, README
/// "Reliability"): files that match base A's naming but were recorded by
/// base B (an earlier prefix) or by nobody are never candidates and never
/// deleted; A's newest verified archive always stays; applying twice
/// deletes nothing more.
#[cfg(test)]
mod props {
    use super::*;
    use crate::backup::history::{Finish, NewRun, Trigger};
    use crate::config::{LoadOptions, load};
    use proptest::prelude::*;

    /// Who recorded a file named like A's archives.
    #[derive(Debug, Clone, Copy)]
    enum Owner {
        A,
        B,
        Nobody,
    }

    fn setup(dir: &Path, last: u32) -> Config {
        let (a, b) = (dir.join("Buh"), dir.join("Zup"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        let yaml = dir.join("config.yaml");
        fs::write(
            &yaml,
            format!(
                "backup:\n  backup_dir: {}\n  lock_dir: {}\nbases:\n  - name: a\n    path: {}\n    keep: {{last: {last}}}\n  - name: b\n    path: {}\n",
                dir.join("backups").display(),
                dir.join("locks").display(),
                a.display(),
                b.display()
            ),
        )
        .unwrap();
        let env = dir.join(".env");
        fs::write(&env, "").unwrap();
        load(&LoadOptions {
            env_file: Some(env),
            config_file: Some(yaml),
            env: Default::default(),
            skip_files: false,
        })
        .unwrap()
    }

    fn record(h: &History, base: &str, path: &Path) {
        let now = jiff::Timestamp::now();
        let id = h
            .start_run(&NewRun {
                base,
                trigger: Trigger::Cli,
                method: "copy",
                started: &now,
                pid: 1,
            })
            .unwrap();
        h.finish_run(
            id,
            &Finish {
                archive_path: Some(path),
                archive_size: Some(1),
                ..Finish::new(Status::Ok, &now)
            },
        )
        .unwrap();
    }

    fn owner() -> impl Strategy<Value = Owner> {
        prop_oneof![Just(Owner::A), Just(Owner::B), Just(Owner::Nobody)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn another_bases_and_unrecorded_files_are_never_deleted(
            owners in prop::collection::vec(owner(), 1..12),
            last in 1..3u32,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let cfg = setup(dir.path(), last);
            fs::create_dir_all(&cfg.backup_dir).unwrap();
            let h = History::open(&cfg.history_db).unwrap();
            let day = cfg.backup_dir.join("2024-05-01");
            fs::create_dir_all(&day).unwrap();
            let mut files = Vec::new();
            for (i, o) in owners.iter().enumerate() {
                let p = day.join(format!("Buh_2024-05-01_10-{:02}-00.zip", i));
                fs::write(&p, b"x").unwrap();
                match o {
                    Owner::A => record(&h, "a", &p),
                    Owner::B => record(&h, "b", &p),
                    Owner::Nobody => {}
                }
                files.push((p, *o));
            }
            let a = cfg.base(Some("a")).unwrap();
            let now = jiff::Timestamp::from_second(1_714_608_000).unwrap().to_zoned_datetime(cfg.timezone.clone());
            let plan = plan(&cfg, a, &h, now.clone()).unwrap();
            for c in &plan.archives {
                let owner = files.iter().find(|(p, _)| *p == c.path).unwrap().1;
                prop_assert!(matches!(owner, Owner::A), "{} is a candidate", c.path.display());
            }
            let deleted = apply(&cfg, a, &h, None, now.clone()).unwrap();
            let again = apply(&cfg, a, &h, None, now).unwrap();
            prop_assert!(again.is_empty(), "a second pass deleted {again:?}");
            let newest_a = files.iter().rev().find(|(_, o)| matches!(o, Owner::A)).map(|(p, _)| p);
            for (p, o) in &files {
                match o {
                    Owner::A => {
                        if Some(p) == newest_a {
                            prop_assert!(p.exists(), "A's newest archive deleted");
                        }
                    }
                    _ => prop_assert!(p.exists() && !deleted.contains(p), "{} deleted", p.display()),
                }
            }
            let a_count = files.iter().filter(|(_, o)| matches!(o, Owner::A)).count();
            prop_assert_eq!(deleted.len(), a_count.saturating_sub(last as usize));
        }
    }
}
