//! `onec-backup-bot verify <archive>`: the same checks a backup runs on its
//! own archive, on any archive; says what is wrong, exit 1 when damaged.

use super::{Failure, print_json};
use crate::backup::run::human_bytes;
use crate::backup::verify;
use crate::cancel::Cancel;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive (.zip, .tar.zst, .dt, .1CD or an uncompressed backup folder).
    archive: PathBuf,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    if !args.archive.exists() {
        return Err(Failure::usage(format!(
            "{}: no such file or folder",
            args.archive.display()
        )));
    }
    match verify::verify(&args.archive, &Cancel::new()) {
        Ok(report) => {
            if args.json {
                print_json(&serde_json::json!({
                    "path": report.path, "ok": true, "size": report.size, "sha256": report.sha256,
                    "entries": report.entries.iter().map(|e| serde_json::json!({
                        "name": e.name, "size": e.size, "crc32": e.crc32.map(|c| format!("{c:08x}")), "detail": e.detail,
                    })).collect::<Vec<_>>(),
                }));
            } else {
                println!(
                    "{}: OK ({})",
                    report.path.display(),
                    human_bytes(report.size)
                );
                for e in &report.entries {
                    let crc = e
                        .crc32
                        .map(|c| format!(" crc32 {c:08x}"))
                        .unwrap_or_default();
                    let detail = e
                        .detail
                        .as_deref()
                        .map(|d| format!(" — {d}"))
                        .unwrap_or_default();
                    println!("  {} ({}){crc}{detail}", e.name, human_bytes(e.size));
                }
                println!("  sha256: {}", report.sha256);
            }
            Ok(())
        }
        Err(e) => {
            if args.json {
                print_json(
                    &serde_json::json!({"path": args.archive, "ok": false, "error": e.to_string()}),
                );
            }
            Err(Failure::failed(format!("{}: {e}", args.archive.display())))
        }
    }
}
