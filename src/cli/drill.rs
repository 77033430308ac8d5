//! `onec-backup-bot drill [--base NAME | --all] [--json]`: a restore drill
//! of one base (or each): its newest good archive restored into a scratch
//! folder under `BACKUP_DRILL_DIR`, checked and removed, the result recorded
//! in history. Exit 0 only when every drill passed; 1 when one failed or
//! was skipped (nothing proven: no archive, no space, a backup running);
//! 2 for a configuration error. The archive comes from where the base's
//! `drill_from` (`BACKUP_DRILL_FROM`) says: local, an offsite target's
//! newest copy (downloaded and checked against the recorded SHA-256), or
//! the next `alternate` turn; `--from TARGET | local` overrides it. A
//! console drill does not wait for a running backup of the base: it is
//! skipped at once.

use super::{Failure, print_json};
use crate::backup::drill::{self, Request, Source};
use crate::backup::history::{Drill, DrillStatus, LOCAL, Trigger};
use crate::config::Config;
use crate::offsite::fetch::drill_source;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    bases: super::Bases,
    /// Print a machine-readable result on stdout.
    #[arg(long)]
    json: bool,
    /// Drill the newest copy on this offsite target (downloaded into the
    /// drill folder, checked against the recorded SHA-256, then restored
    /// as usual), or `local` for the local archive, whatever
    /// BACKUP_DRILL_FROM says.
    #[arg(long, value_name = "TARGET")]
    from: Option<String>,
}

pub fn run(cfg: &Config, args: &Args) -> Result<(), Failure> {
    let bases = super::select_bases(cfg, &args.bases)?;
    // A name given here must be a configured target (exit 2), or `local`.
    if let Some(name) = args.from.as_deref()
        && !name.eq_ignore_ascii_case(LOCAL)
    {
        super::offsite::target(cfg, name)?;
    }
    // Ctrl-C / SIGTERM: stop cleanly (the scratch folder is removed).
    let (history, cancel) = super::open_for_work(cfg)?;
    let mut all_ok = true;
    let mut rows = Vec::new();
    for base in bases {
        if !args.json {
            eprintln!("restore drill of {}...", base.name);
        }
        // `--from`, else the base's `drill_from` (its `alternate` turn).
        let from = drill_source(cfg, &history, base, args.from.as_deref())
            .map_err(|e| Failure::failed(format!("{e:#}")))?;
        let req = Request {
            base,
            trigger: Trigger::Cli,
            lock_wait: Duration::ZERO,
            source: from.as_ref().map(|(s, _)| s as &dyn Source),
            fallback: from.as_ref().is_some_and(|(_, f)| *f),
        };
        let d = drill::drill(cfg, &history, &req, &cancel)
            .map_err(|e| Failure::failed(e.to_string()))?;
        all_ok &= d.status == DrillStatus::Ok;
        if !args.json {
            println!("{}", render(&d));
        }
        rows.push(d);
        if cancel.is_cancelled() {
            break;
        }
    }
    if args.json {
        match rows.as_slice() {
            [one] => print_json(one),
            many => print_json(&many),
        }
    }
    if all_ok {
        Ok(())
    } else {
        Err(Failure {
            code: super::EXIT_FAILED,
            message: String::new(),
        })
    }
}

/// One drill's result line.
fn render(d: &Drill) -> String {
    let archive = d
        .archive_path
        .as_ref()
        .map(|p| format!(" {}", p.display()))
        .unwrap_or_default();
    let secs = d.duration_ms as f64 / 1000.0;
    match d.status {
        DrillStatus::Ok => format!(
            "restore drill of {}: OK in {secs:.1}s —{archive}: {}",
            d.base,
            d.detail.as_deref().unwrap_or("")
        ),
        DrillStatus::Failed => format!(
            "restore drill of {}: FAILED after {secs:.1}s: {}",
            d.base,
            d.reason.as_deref().unwrap_or("")
        ),
        DrillStatus::Skipped => format!(
            "restore drill of {}: skipped: {}",
            d.base,
            d.reason.as_deref().unwrap_or("")
        ),
    }
}
