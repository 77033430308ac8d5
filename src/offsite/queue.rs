//! The upload queue: [`sync`] queues each good archive (status ok, archive
//! on disk) for every target that takes its base and whose `which` accepts
//! it, whoever wrote the run; [`drain`] uploads the due items: the archive's
//! SHA-256 checked against its run, `put` with the resume state kept in the
//! queue row and the target's speed cap, a read-back SHA-256 when the
//! target verifies by reading, one `offsite_uploads` row per attempt, and
//! on failure one more attempt later (1 min doubling up to 1 h). The local
//! archive and its run row are only ever read.
//!
//! A new target does not upload years of archives: [`sync`] takes only runs
//! newer than the newest run when the target first appeared in the
//! history, plus each base's newest good archive of that moment.

use std::io::Write;
use std::sync::Mutex;

use anyhow::{Context, Result, anyhow, bail};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::backup::history::{
    History, NewUpload, QueueItem, QueueState, Run, UploadRow, UploadStatus,
};
use crate::cancel::Cancel;
use crate::config::Config;
use crate::config::offsite::{Mode, OffsiteTarget};

use super::pick::{self, Slot};
use super::remote::{Download, NoResume, Remote, Resume, Upload};
use super::throttle::Throttle;

/// Queue every good archive not queued yet; returns how many items were
/// added.
pub fn sync(cfg: &Config, history: &History) -> Result<usize> {
    let mut added = 0;
    // Each base's good runs, read once per sync (not once per run).
    let mut good_of: std::collections::HashMap<String, Vec<(i64, Timestamp)>> =
        std::collections::HashMap::new();
    for target in &cfg.offsite {
        let (_, first_run) = history.offsite_target_seen(&target.name)?;
        let mut runs: Vec<Run> = Vec::new();
        // Each base's newest good archive when the target appeared.
        for base in cfg.bases.iter().filter(|b| target.takes(&b.name)) {
            let seed = history
                .good_archives(&base.name, 50)?
                .into_iter()
                .find(|r| r.id <= first_run && archive_exists(r));
            runs.extend(seed);
        }
        let seeds: Vec<i64> = runs.iter().map(|r| r.id).collect();
        runs.extend(history.ok_runs_since(first_run)?);
        for run in &runs {
            let Some(base) = cfg.base(Some(&run.base)) else {
                continue;
            };
            if !target.takes(&base.name) || !archive_exists(run) {
                continue;
            }
            if !good_of.contains_key(&run.base) {
                good_of.insert(run.base.clone(), history.ok_run_starts(&run.base)?);
            }
            let good = &good_of[&run.base];
            if !seeds.contains(&run.id)
                && !pick::accepts(target.which, &cfg.timezone, (run.id, run.started), good)
            {
                continue;
            }
            let object = pick::object(
                target.mode,
                &base.name,
                &base.prefix,
                &file_name(run),
                Slot::Daily,
            );
            if history.offsite_enqueue(
                &target.name,
                run.id,
                &run.base,
                &object,
                run.archive_size,
            )? {
                tracing::info!(
                    target = %target.name, base = %run.base, object = %object,
                    "offsite: queued run {} for {}", run.id, target.name
                );
                added += 1;
            }
        }
    }
    Ok(added)
}

fn archive_exists(run: &Run) -> bool {
    run.archive_path.as_ref().is_some_and(|p| p.is_file())
}

fn file_name(run: &Run) -> String {
    run.archive_path
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("run-{}", run.id))
}

/// What a drain did.
#[derive(Debug, Default)]
pub struct Drained {
    /// Verified uploads (one per object).
    pub uploaded: Vec<UploadRow>,
    /// Failed items: target, base, object and the (masked) error.
    pub failed: Vec<Failed>,
    /// Objects remote retention deleted.
    pub pruned: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Failed {
    pub target: String,
    pub base: String,
    pub run_id: i64,
    pub object: String,
    pub error: String,
}

/// Which items a drain takes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    /// Only this target (by name, case-insensitive).
    pub target: Option<&'a str>,
    /// Only the items of this run.
    pub run_id: Option<i64>,
}

/// Upload every due item (of `filter`); a failure is recorded and the
/// drain goes on with the next item. `Err` only when the history fails.
pub fn drain(
    cfg: &Config,
    history: &History,
    filter: Filter<'_>,
    cancel: &Cancel,
) -> Result<Drained> {
    drain_with(cfg, history, filter, cancel, &super::open)
}

/// How a target is opened ([`super::open`]; tests give their own kind).
type Opener<'a> = &'a dyn Fn(&OffsiteTarget) -> Result<Box<dyn Remote>>;

/// [`drain`] with the kinds opened by `open`.
fn drain_with(
    cfg: &Config,
    history: &History,
    filter: Filter<'_>,
    cancel: &Cancel,
    open: Opener<'_>,
) -> Result<Drained> {
    let mut out = Drained::default();
    for target in cfg
        .offsite
        .iter()
        .filter(|t| filter.target.is_none_or(|n| t.name.eq_ignore_ascii_case(n)))
    {
        let due: Vec<QueueItem> = history
            .offsite_due(&target.name, &Timestamp::now())?
            .into_iter()
            .filter(|i| filter.run_id.is_none_or(|r| r == i.run_id))
            .collect();
        if due.is_empty() {
            continue;
        }
        let remote = open(target);
        for item in due {
            if cancel.is_cancelled() {
                return Ok(out);
            }
            if !history.offsite_claim(item.id, std::process::id())? {
                continue;
            }
            let started = Timestamp::now();
            let result = match &remote {
                Ok(r) => upload_item(cfg, history, target, r.as_ref(), &item, cancel),
                Err(e) => Err(anyhow!("{e:#}")),
            };
            match result {
                Ok(rows) => {
                    history.offsite_done(item.id)?;
                    for r in &rows {
                        tracing::info!(
                            target = %target.name, base = %item.base, object = %r.object,
                            "offsite: uploaded {} bytes to {} in {:.1}s, verified by {}",
                            r.bytes.unwrap_or(0), target.name, r.duration_ms as f64 / 1000.0,
                            r.verified.as_deref().unwrap_or("-")
                        );
                    }
                    out.uploaded.extend(rows);
                    if target.mode == Mode::History
                        && let Ok(remote) = &remote
                    {
                        match super::prune::apply(
                            cfg,
                            history,
                            target,
                            remote.as_ref(),
                            &item.base,
                            false,
                        ) {
                            Ok(plan) => out
                                .pruned
                                .extend(plan.into_iter().filter(|p| !p.keep).map(|p| p.object)),
                            Err(e) => tracing::warn!(
                                target = %target.name, base = %item.base,
                                "offsite: remote retention failed: {}", cfg.mask(&format!("{e:#}"))
                            ),
                        }
                    }
                }
                Err(e) => {
                    let error = cfg.mask(&format!(
                        "offsite target {} ({}): {e:#}",
                        target.name,
                        target.location.display()
                    ));
                    let finished = Timestamp::now();
                    history.record_upload(&NewUpload {
                        target: &target.name,
                        run_id: item.run_id,
                        base: &item.base,
                        object: &item.object,
                        bytes: None,
                        verified: None,
                        status: UploadStatus::Failed,
                        error: Some(&error),
                        started: &started,
                        finished: &finished,
                    })?;
                    let next = next_attempt(&finished, item.attempts + 1);
                    history.offsite_failed(item.id, &error, &next)?;
                    tracing::error!(
                        target = %target.name, base = %item.base, object = %item.object,
                        "offsite: upload failed (attempt {}, next at {next}): {error}",
                        item.attempts + 1
                    );
                    out.failed.push(Failed {
                        target: target.name.clone(),
                        base: item.base.clone(),
                        run_id: item.run_id,
                        object: item.object.clone(),
                        error,
                    });
                }
            }
        }
    }
    Ok(out)
}

fn next_attempt(now: &Timestamp, attempts: u32) -> Timestamp {
    let wait = pick::backoff(attempts);
    now.checked_add(jiff::SignedDuration::from_secs(wait.as_secs() as i64))
        .unwrap_or(*now)
}

/// `sync`, then every waiting item made due now, then `drain`: what
/// `offsite push` and a console backup do.
pub fn push(
    cfg: &Config,
    history: &History,
    filter: Filter<'_>,
    cancel: &Cancel,
) -> Result<Drained> {
    sync(cfg, history)?;
    history.offsite_due_now(filter.target)?;
    drain(cfg, history, filter, cancel)
}

/// The resume state of one queue item, kept in its row (its own
/// connection, so the kind may save from any thread).
struct QueueResume {
    db: Mutex<History>,
    id: i64,
}

impl Resume for QueueResume {
    fn load(&self) -> Option<String> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        db.offsite_resume(self.id).ok().flatten()
    }
    fn save(&self, state: Option<&str>) -> Result<()> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        db.offsite_save_resume(self.id, state)?;
        Ok(())
    }
}

/// Hashes and counts what is written to it.
#[derive(Default)]
pub struct HashWriter {
    hash: Sha256,
    pub bytes: u64,
}

impl HashWriter {
    pub fn hex(self) -> String {
        self.hash
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hash.update(buf);
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Upload one item's archive (each of its objects), verified; the rows
/// recorded.
fn upload_item(
    cfg: &Config,
    history: &History,
    target: &OffsiteTarget,
    remote: &dyn Remote,
    item: &QueueItem,
    cancel: &Cancel,
) -> Result<Vec<UploadRow>> {
    let run = history
        .run(item.run_id)?
        .ok_or_else(|| anyhow!("run {} is no longer in the history", item.run_id))?;
    let archive = run
        .archive_path
        .clone()
        .ok_or_else(|| anyhow!("run {} has no archive", run.id))?;
    let size = std::fs::metadata(&archive)
        .with_context(|| {
            format!(
                "the archive {} is gone (pruned or moved) before it was copied",
                archive.display()
            )
        })?
        .len();
    let sha = crate::backup::verify::sha256_file(&archive, cancel)
        .with_context(|| format!("cannot read the archive {}", archive.display()))?;
    if let Some(recorded) = &run.sha256
        && !recorded.eq_ignore_ascii_case(&sha)
    {
        bail!(
            "the archive {} no longer matches the SHA-256 its backup recorded ({recorded}, now \
             {sha}): it changed on disk after the backup, so it is not copied; check the disk",
            archive.display()
        );
    }
    let objects: Vec<String> = match target.mode {
        Mode::History => vec![item.object.clone()],
        Mode::Fixed => {
            let good = history.ok_run_starts(&run.base)?;
            let base = cfg.base(Some(&run.base));
            let prefix = base.map(|b| b.prefix.as_str()).unwrap_or("");
            pick::slots(&cfg.timezone, (run.id, run.started), &good)
                .into_iter()
                .map(|s| pick::object(Mode::Fixed, &run.base, prefix, &file_name(&run), s))
                .collect()
        }
    };
    let throttle = Throttle::new(target.bandwidth);
    let resume = QueueResume {
        db: Mutex::new(History::open(&cfg.history_db)?),
        id: item.id,
    };
    let mut rows = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        let started = Timestamp::now();
        let fixed = target.mode == Mode::Fixed;
        let name = if fixed {
            pick::temp_object(object)
        } else {
            object.clone()
        };
        let resume: &dyn Resume = if i == 0 { &resume } else { &NoResume };
        let up = Upload {
            file: &archive,
            name: &name,
            size,
            sha256: &sha,
            resume,
            throttle: &throttle,
            cancel,
            progress: &|_| {},
        };
        let stored = remote.put(&up)?;
        let checked = (|| -> Result<&'static str> {
            if stored.bytes != size {
                bail!(
                    "{} holds {} bytes under {name}, the archive has {size}",
                    remote.describe(),
                    stored.bytes
                );
            }
            if !target.read_back {
                return Ok(stored.proof.as_str());
            }
            let mut w = HashWriter::default();
            remote.get(Download {
                name: &name,
                to: &mut w,
                throttle: &throttle,
                cancel,
            })?;
            let (n, got) = (w.bytes, w.hex());
            if n != size || got != sha {
                bail!(
                    "read back {n} bytes of {name} from {} with SHA-256 {got}; the archive has \
                     {size} bytes and SHA-256 {sha}: the stored copy is damaged",
                    remote.describe()
                );
            }
            Ok("read")
        })();
        let verified = match checked {
            Ok(v) => v,
            Err(e) => {
                if fixed {
                    let _ = remote.delete(&name);
                }
                return Err(e);
            }
        };
        if fixed {
            remote
                .rename(&name, object)
                .with_context(|| format!("cannot move {name} over {object}"))?;
            // The slot's earlier copy is replaced.
            history.mark_upload_deleted(&target.name, object)?;
        }
        let finished = Timestamp::now();
        rows.push(history.record_upload(&NewUpload {
            target: &target.name,
            run_id: run.id,
            base: &run.base,
            object,
            bytes: Some(size),
            verified: Some(verified),
            status: UploadStatus::Ok,
            error: None,
            started: &started,
            finished: &finished,
        })?);
    }
    Ok(rows)
}

/// The state of a target's queue for one base: items waiting and their
/// bytes.
pub fn waiting(items: &[QueueItem], target: &str, base: &str) -> (usize, u64) {
    items
        .iter()
        .filter(|i| i.target == target && i.base == base && i.state != QueueState::Done)
        .fold((0, 0), |(n, b), i| (n + 1, b + i.bytes.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::history::{Finish, NewRun, Status, Trigger};
    use crate::config::{LoadOptions, load};
    use crate::offsite::remote::{Object, Proof, Stored};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A kind that saves resume state, fails its first `put` like a cut
    /// connection, and records what each `put` found to resume from.
    #[derive(Default)]
    struct Flaky {
        puts: AtomicUsize,
        resumed_from: Mutex<Vec<Option<String>>>,
    }

    struct Handle(Arc<Flaky>);

    impl Remote for Handle {
        fn describe(&self) -> String {
            "flaky".into()
        }
        fn put(&self, up: &Upload<'_>) -> Result<Stored> {
            self.0.resumed_from.lock().unwrap().push(up.resume.load());
            up.resume
                .save(Some("{\"upload_id\":\"u1\",\"parts\":[\"e1\"]}"))?;
            if self.0.puts.fetch_add(1, Ordering::SeqCst) == 0 {
                bail!("connection reset by peer");
            }
            Ok(Stored {
                bytes: up.size,
                proof: Proof::Etag,
            })
        }
        fn stat(&self, _: &str) -> Result<Option<Object>> {
            Ok(None)
        }
        fn list(&self, _: &str) -> Result<Vec<Object>> {
            Ok(Vec::new())
        }
        fn get(&self, _: Download<'_>) -> Result<u64> {
            bail!("not used")
        }
        fn delete(&self, _: &str) -> Result<()> {
            Ok(())
        }
        fn rename(&self, _: &str, _: &str) -> Result<()> {
            Ok(())
        }
    }

    /// A failed upload is retried later from the state the kind saved in
    /// the queue row, the local archive and its run untouched; the state
    /// is cleared when the item is done.
    #[test]
    fn a_cut_upload_is_retried_with_backoff_and_resumes_from_the_queue_row() {
        let dir = tempfile::tempdir().unwrap();
        let backups = dir.path().join("backups");
        std::fs::create_dir_all(&backups).unwrap();
        let env = [
            (
                "ONEC_BASE_PATH",
                dir.path().join("buh").display().to_string(),
            ),
            ("BACKUP_DIR", backups.display().to_string()),
            (
                "OFFSITE_URL",
                dir.path().join("copies").display().to_string(),
            ),
            ("OFFSITE_VERIFY", "size".to_string()),
        ];
        let cfg = load(&LoadOptions::only_env(env)).unwrap();
        let history = History::open(&cfg.history_db).unwrap();
        let archive = backups.join("buh_2026-12-03_03-00-00.zip");
        std::fs::write(&archive, b"archive bytes").unwrap();
        let sha = crate::backup::verify::sha256_file(&archive, &Cancel::new()).unwrap();
        let now = Timestamp::now();
        let id = history
            .start_run(&NewRun {
                base: "buh",
                trigger: Trigger::Cli,
                method: "copy",
                started: &now,
                pid: std::process::id(),
            })
            .unwrap();
        let f = Finish {
            archive_path: Some(&archive),
            archive_size: Some(13),
            sha256: Some(&sha),
            ..Finish::new(Status::Ok, &now)
        };
        history.finish_run(id, &f).unwrap();
        assert_eq!(sync(&cfg, &history).unwrap(), 1);
        assert_eq!(sync(&cfg, &history).unwrap(), 0, "queued once");

        let flaky = Arc::new(Flaky::default());
        let open =
            |_: &OffsiteTarget| -> Result<Box<dyn Remote>> { Ok(Box::new(Handle(flaky.clone()))) };
        let cancel = Cancel::new();
        let first = drain_with(&cfg, &history, Filter::default(), &cancel, &open).unwrap();
        assert_eq!(first.failed.len(), 1);
        assert!(
            first.failed[0].error.contains("connection reset"),
            "{:?}",
            first.failed
        );
        let item = &history.offsite_queue(None).unwrap()[0];
        assert_eq!((item.state, item.attempts), (QueueState::Failed, 1));
        let wait = item.next_attempt.duration_since(item.updated).as_secs();
        assert!((55..=65).contains(&wait), "backoff {wait}s");
        assert!(item.resume.as_deref().unwrap().contains("u1"));
        assert!(
            drain_with(&cfg, &history, Filter::default(), &cancel, &open)
                .unwrap()
                .failed
                .is_empty(),
            "not due before its backoff"
        );
        assert_eq!(flaky.puts.load(Ordering::SeqCst), 1);

        history.offsite_due_now(None).unwrap();
        let second = drain_with(&cfg, &history, Filter::default(), &cancel, &open).unwrap();
        assert!(second.failed.is_empty(), "{:?}", second.failed);
        assert_eq!(second.uploaded[0].verified.as_deref(), Some("etag"));
        let resumed = flaky.resumed_from.lock().unwrap().clone();
        assert_eq!(resumed[0], None);
        assert!(resumed[1].as_deref().unwrap().contains("e1"), "{resumed:?}");
        let item = &history.offsite_queue(None).unwrap()[0];
        assert_eq!(
            (item.state, item.resume.as_deref()),
            (QueueState::Done, None)
        );
        assert_eq!(std::fs::read(&archive).unwrap(), b"archive bytes");
        let run = history.run(id).unwrap().unwrap();
        assert_eq!(
            (run.status, run.sha256.as_deref()),
            (Status::Ok, Some(sha.as_str()))
        );
        let rows = history.uploads(None, 10).unwrap();
        let statuses: Vec<_> = rows.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [UploadStatus::Ok, UploadStatus::Failed]);
    }
}
