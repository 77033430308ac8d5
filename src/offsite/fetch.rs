//! Fetching a copy back for `restore --from` and `drill --from`: the
//! object of a run on a target is downloaded into a fresh temporary folder
//! (beside the destination, or in the drill folder), under the archive's
//! own file name, and its SHA-256 is checked against the one its run
//! recorded before anything is restored from it; the folder goes when the
//! [`Fetched`] is dropped. [`drill_source`] turns a base's `drill_from`
//! (or `drill --from`) into the drill's [`TargetSource`].

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use crate::backup::drill::choose::{self, Planned};
use crate::backup::history::{History, LOCAL, Run};
use crate::cancel::Cancel;
use crate::config::offsite::OffsiteTarget;
use crate::config::{Base, Config};

use super::queue::HashWriter;
use super::throttle::Throttle;

/// A downloaded, verified archive; removed on drop.
pub struct Fetched {
    pub path: PathBuf,
    pub object: String,
    pub bytes: u64,
    _dir: tempfile::TempDir,
}

/// Writes to a file and a hasher at once.
struct Tee<'a> {
    file: &'a mut BufWriter<File>,
    hash: &'a mut HashWriter,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write_all(buf)?;
        self.hash.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The newest good run of `base` with a live copy on `target` (for
/// `latest` and drills), newest first among the last `limit` runs.
pub fn newest_copied(history: &History, target: &OffsiteTarget, base: &str) -> Result<Option<Run>> {
    for run in history.good_archives(base, 1000)? {
        if history.live_upload_of_run(&target.name, run.id)?.is_some() {
            return Ok(Some(run));
        }
    }
    Ok(None)
}

/// Download the copy of `run` on `target` into a new folder under `dir`
/// and verify it against the run's SHA-256 (a mismatch is an error naming
/// both sums).
pub fn fetch(
    history: &History,
    target: &OffsiteTarget,
    run: &Run,
    dir: &Path,
    cancel: &Cancel,
) -> Result<Fetched> {
    let row = history
        .live_upload_of_run(&target.name, run.id)?
        .ok_or_else(|| {
            anyhow!(
                "run {} of {} has no copy on offsite target {} (see `offsite status` and `list`)",
                run.id,
                run.base,
                target.name
            )
        })?;
    let Some(recorded) = run.sha256.clone() else {
        bail!(
            "run {} recorded no SHA-256, so its copy on {} cannot be verified",
            run.id,
            target.name
        );
    };
    let remote = super::open(target)?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".offsite-download-")
        .tempdir_in(dir)
        .with_context(|| format!("cannot create a temporary folder in {}", dir.display()))?;
    let name = run
        .archive_path
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| row.object.rsplit('/').next().unwrap_or("archive").into());
    let path = tmp.path().join(name);
    let mut file = BufWriter::new(
        File::create(&path).with_context(|| format!("cannot write {}", path.display()))?,
    );
    let mut hash = HashWriter::default();
    let throttle = Throttle::new(target.bandwidth);
    let n = remote
        .get(
            &row.object,
            &mut Tee {
                file: &mut file,
                hash: &mut hash,
            },
            &throttle,
            cancel,
        )
        .with_context(|| format!("cannot download {} from {}", row.object, remote.describe()))?;
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    let got = hash.hex();
    if !got.eq_ignore_ascii_case(&recorded) {
        bail!(
            "the copy {} on offsite target {} does NOT match the archive's recorded SHA-256: \
             got {got}, expected {recorded} ({n} bytes downloaded); it was damaged or replaced \
             on the target and is not restored",
            row.object,
            target.name
        );
    }
    Ok(Fetched {
        path,
        object: row.object,
        bytes: n,
        _dir: tmp,
    })
}

/// Where a drill of `base` takes its archive: `None` = the local archive,
/// else the target's copy and whether the local archive stands in when the
/// target holds no copy (an `alternate` turn). `from` (`drill --from`:
/// `local` or a target's name) overrides the base's `drill_from`.
pub fn drill_source<'a>(
    cfg: &'a Config,
    history: &History,
    base: &Base,
    from: Option<&str>,
) -> Result<Option<(TargetSource<'a>, bool)>> {
    let planned = match from {
        Some(name) if name.eq_ignore_ascii_case(LOCAL) => Planned::Local,
        Some(name) => Planned::Target {
            name: name.to_string(),
            fallback: false,
        },
        None => choose::plan(cfg, history, base)?,
    };
    Ok(match planned {
        Planned::Local => None,
        Planned::Target { name, fallback } => {
            let target = cfg.target(&name).ok_or_else(|| {
                let known: Vec<&str> = cfg.offsite.iter().map(|t| t.name.as_str()).collect();
                anyhow!(
                    "no offsite target is named {name} (drill source of {}; configured \
                     targets: {})",
                    base.name,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            })?;
            Some((TargetSource { target }, fallback))
        }
    })
}

/// A target as the place a drill's archive comes from (`drill --from`, a
/// base's `drill_from`).
pub struct TargetSource<'a> {
    pub target: &'a OffsiteTarget,
}

impl crate::backup::drill::Source for TargetSource<'_> {
    fn describe(&self) -> String {
        format!("offsite target {}", self.target.name)
    }

    fn name(&self) -> &str {
        &self.target.name
    }

    fn pick(&self, history: &History, base: &str) -> Result<Option<Run>, String> {
        newest_copied(history, self.target, base).map_err(|e| format!("{e:#}"))
    }

    fn fetch(
        &self,
        history: &History,
        run: &Run,
        dir: &Path,
        cancel: &Cancel,
    ) -> Result<(PathBuf, Box<dyn std::any::Any>), String> {
        let f = fetch(history, self.target, run, dir, cancel).map_err(|e| format!("{e:#}"))?;
        Ok((f.path.clone(), Box::new(f)))
    }
}
