//! `onec-backup-bot --demo`: a working first run with no 1C and no Telegram.
//! Creates a small valid 8.3.8 file infobase (with an event log) in a new
//! temporary folder, backs it up with `copy` into a `backups` folder beside
//! it, verifies the archive, shows the history, and leaves everything there
//! to look at.

use super::Failure;
use crate::backup::history::Trigger;
use crate::backup::run::{self, Request, human_bytes};
use crate::cancel::Cancel;
use crate::config::{self, LoadOptions};
use crate::onec::generate::{CdFormat, generate_1cd};
use std::fs;

pub fn run() -> Result<(), Failure> {
    let root = tempfile::Builder::new()
        .prefix("onec-backup-bot-demo-")
        .tempdir()
        .map_err(|e| Failure::failed(format!("cannot create a temporary folder: {e}")))?
        .keep();
    let base = root.join("demo_base");
    let backups = root.join("backups");
    let made = (|| -> std::io::Result<()> {
        fs::create_dir_all(base.join("1Cv8Log"))?;
        // 2 MiB of realistic pages: records, indexes, prose, some noise.
        generate_1cd(&base.join("1Cv8.1CD"), CdFormat::V8_3_8, 256, 42)?;
        fs::write(
            base.join("1Cv8Log").join("1Cv8.lgf"),
            "1CV8LOG(ver 2.0)\n\u{feff}{demo}\n",
        )?;
        fs::write(base.join("1Cv8.1CD.cfl"), b"")?;
        Ok(())
    })();
    made.map_err(|e| {
        Failure::failed(format!(
            "cannot create the demo infobase in {}: {e}",
            base.display()
        ))
    })?;

    let env = [
        ("ONEC_BASE_PATH", base.display().to_string()),
        ("BACKUP_DIR", backups.display().to_string()),
        ("BACKUP_METHOD", "copy".into()),
        ("BACKUP_INCLUDE_LOG", "true".into()),
    ];
    let cfg = config::load(&LoadOptions::only_env(env))?;
    let (history, _) = run::open_and_recover(&cfg).map_err(|e| Failure::failed(e.to_string()))?;
    let b = &cfg.bases[0];
    println!("demo infobase: {} (1Cv8.1CD, 8.3.8 format)", base.display());
    let mut progress = super::progress::TermProgress::new(&b.name);
    let outcome = run::run(
        &cfg,
        &history,
        &Request {
            base: b,
            trigger: Trigger::Cli,
            force: true,
        },
        &mut |e| progress.event(e),
        &Cancel::new(),
    );
    progress.finish();
    let o = outcome.map_err(|e| Failure::failed(e.to_string()))?;
    let archive = o.archive.clone().unwrap_or_default();
    println!(
        "backup done: {} ({} from {}, {:.2} s)",
        archive.display(),
        human_bytes(o.archive_size.unwrap_or(0)),
        human_bytes(o.source_size.unwrap_or(0)),
        o.duration_secs
    );
    for v in &o.verified {
        println!("  verified: {v}");
    }
    println!("  sha256: {}", o.sha256.unwrap_or_default());
    println!("history: {}", cfg.history_db.display());
    println!();
    println!("try next:");
    println!("  onec-backup-bot verify {}", archive.display());
    println!("  BACKUP_DIR={} onec-backup-bot list", backups.display());
    println!("  remove the demo with: rm -r {}", root.display());
    Ok(())
}
