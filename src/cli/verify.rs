//! `onec-backup-bot verify <archive>`: the same checks a backup runs on its
//! own archive, on any archive; says what is wrong, exit 1 when damaged.
//! Entry names come from the archive, so they are printed [`printable`]
//! (and escaped by JSON itself with `--json`).

use super::{Failure, print_json};
use crate::backup::run::human_bytes;
use crate::backup::verify::{self, VerifyReport, printable};
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
                print_json(&report_json(&report));
            } else {
                print!("{}", render(&report));
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

/// The `--json` report. Names are kept as they are: JSON escapes control
/// characters itself.
fn report_json(report: &VerifyReport) -> serde_json::Value {
    serde_json::json!({
        "path": report.path, "ok": true, "size": report.size, "sha256": report.sha256,
        "entries": report.entries.iter().map(|e| serde_json::json!({
            "name": e.name, "size": e.size, "crc32": e.crc32.map(|c| format!("{c:08x}")), "detail": e.detail,
        })).collect::<Vec<_>>(),
    })
}

/// The human-readable report, one entry a line, names escaped.
fn render(report: &VerifyReport) -> String {
    let mut out = format!(
        "{}: OK ({})\n",
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
        out.push_str(&format!(
            "  {} ({}){crc}{detail}\n",
            printable(&e.name),
            human_bytes(e.size)
        ));
    }
    out.push_str(&format!("  sha256: {}\n", report.sha256));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::verify::EntryCheck;

    #[test]
    fn hostile_names_are_printed_escaped() {
        let report = VerifyReport {
            path: "b.tar.zst".into(),
            size: 2048,
            sha256: "ab".repeat(32),
            entries: vec![EntryCheck {
                name: "evil\x1b[31m.txt\nforged: OK".into(),
                size: 2,
                crc32: Some(0x1234_abcd),
                detail: None,
            }],
            key_id: None,
        };
        let text = render(&report);
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(
            text.contains("  evil\\x1b[31m.txt\\x0aforged: OK (2 B) crc32 1234abcd\n"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 3, "{text}");
        let json = serde_json::to_string(&report_json(&report)).unwrap();
        assert!(!json.contains('\x1b') && !json.contains('\n'), "{json}");
        assert!(
            json.contains(r#""name":"evil\u001b[31m.txt\nforged: OK""#),
            "{json}"
        );
    }
}
