//! `onec-backup-bot prune [--dry-run]`: apply each base's retention policy,
//! or show the plan with the reason for every kept archive (files that
//! match the base's naming but are not in its history: "not recorded, kept").

use super::Failure;
use crate::backup::history::History;
use crate::backup::lock;
use crate::backup::{prune, run};
use crate::config::Config;
use crate::retention;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this base (default: every base).
    #[arg(long, short)]
    base: Option<String>,
    /// Show what would be deleted and why each archive is kept; delete nothing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(cfg: &Config, args: &Args) -> Result<(), Failure> {
    let bases: Vec<_> = match &args.base {
        Some(n) => vec![
            cfg.base(Some(n))
                .ok_or_else(|| Failure::usage(format!("no base named {n:?}")))?,
        ],
        None => cfg.bases.iter().collect(),
    };
    if bases.is_empty() {
        return Err(Failure::usage(
            "no infobase configured: set ONEC_BASE_PATH or add `bases:`",
        ));
    }
    // A dry run changes nothing: no recovery, no folder, no database made.
    let history = if args.dry_run {
        let opened = if cfg.history_db.exists() {
            History::open_read_only(&cfg.history_db, std::time::Duration::from_secs(5))
        } else {
            History::open_in_memory()
        };
        opened.map_err(|e| Failure::failed(e.to_string()))?
    } else {
        let (history, recovery) =
            run::open_and_recover(cfg).map_err(|e| Failure::failed(e.to_string()))?;
        super::report_recovery(recovery);
        history
    };
    let now = jiff::ZonedDateTime::now().with_time_zone(cfg.timezone.clone());
    for base in bases {
        let plan = prune::plan(cfg, base, &history, now.clone()).map_err(|e| {
            Failure::failed(format!(
                "cannot list archives in {}: {e}",
                cfg.backup_dir.display()
            ))
        })?;
        println!(
            "base {} ({} archive(s), prefix {}):",
            base.name,
            plan.archives.len(),
            base.prefix
        );
        for a in &plan.unrecorded {
            println!(
                "  {}  not recorded, kept (not made by this base's runs)",
                a.path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            );
        }
        if plan.archives.is_empty() {
            println!("  no recorded archives");
            continue;
        }
        let names = |id: usize| {
            plan.archives[id]
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        print!("{}", retention::render_table(&plan.decisions, &names));
        if base.keep.is_keep_all() {
            println!("  policy keeps everything (no keep options set)");
            continue;
        }
        if args.dry_run {
            let n = plan.decisions.iter().filter(|d| !d.keep).count();
            println!("  dry run: {n} archive(s) would be deleted");
            continue;
        }
        let _lock = match lock::try_lock_base(cfg, base) {
            Ok(Ok(l)) => l,
            Ok(Err(_)) => {
                println!(
                    "  skipped: a backup of {} is running; prune later",
                    base.name
                );
                continue;
            }
            Err(e) => return Err(Failure::failed(format!("cannot take the lock: {e}"))),
        };
        let deleted = prune::apply(cfg, base, &history, None, now.clone())
            .map_err(|e| Failure::failed(format!("retention failed: {e}")))?;
        println!("  deleted {} archive(s)", deleted.len());
        for p in deleted {
            println!("  - {}", p.display());
        }
    }
    Ok(())
}
