//! `onec-backup-bot verify <archive>`: the same checks a backup runs on its
//! own archive, on any archive; says what is wrong, exit 1 when damaged.
//! Entry names come from the archive, so they are printed [`printable`]
//! (and escaped by JSON itself with `--json`). An encrypted archive is
//! opened with the password in the variable `--password-env` names, then
//! the settings' archive passwords, the one whose key id the history
//! recorded for this archive first.

use super::{Cli, Failure, print_json};
use crate::backup::crypt::{Keys, Passwords};
use crate::backup::history::History;
use crate::backup::run::human_bytes;
use crate::backup::verify::{self, VerifyError, VerifyReport, printable};
use crate::cancel::Cancel;
use crate::config::{Config, Secret};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive (.zip, .tar.zst, .tar.zst.age, .dt, .1CD or an uncompressed backup folder).
    archive: PathBuf,
    /// Print a machine-readable report on stdout.
    #[arg(long)]
    json: bool,
    /// The environment variable holding the archive's password (tried
    /// before BACKUP_ARCHIVE_PASSWORD and BACKUP_ARCHIVE_OLD_PASSWORDS).
    #[arg(long, value_name = "NAME")]
    password_env: Option<String>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<(), Failure> {
    if !args.archive.exists() {
        return Err(Failure::usage(format!(
            "{}: no such file or folder",
            args.archive.display()
        )));
    }
    // The settings are optional here: a plain archive needs none.
    let cfg = super::load_config(cli);
    let passwords = archive_passwords(
        "--password-env",
        args.password_env.as_deref(),
        cfg.as_ref().ok(),
        None,
        &args.archive,
    )?;
    let keys = Keys::new(passwords);
    match verify::verify_with(&args.archive, &keys, &Cancel::new()) {
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
            let mut message = format!("{}: {e}", args.archive.display());
            let password_error = matches!(
                e,
                VerifyError::WrongPassword { .. } | VerifyError::NeedPassword { .. }
            );
            if password_error && let Err(f) = &cfg {
                message.push_str(&format!(
                    "\nnote: the settings could not be loaded, so their archive passwords were \
                     not tried: {}",
                    f.message.lines().next().unwrap_or("")
                ));
            }
            Err(Failure::failed(message))
        }
    }
}

/// The passwords that may open `archive`: the one in the environment
/// variable `var` (named by the option `flag`) first, then the settings'
/// archive passwords (`base`'s first), the one whose key id the history
/// recorded for this archive tried first.
pub(super) fn archive_passwords(
    flag: &str,
    var: Option<&str>,
    cfg: Option<&Config>,
    base: Option<&crate::config::Base>,
    archive: &Path,
) -> Result<Passwords, Failure> {
    let given = match var {
        Some(name) => match std::env::var(name) {
            Ok(v) if !v.is_empty() => Passwords::new(Some(&Secret::new(v)), []),
            _ => {
                return Err(Failure::usage(format!(
                    "{flag} {name}: the environment variable {name} is not set; set it \
                     to the archive's password"
                )));
            }
        },
        None => Passwords::default(),
    };
    Ok(match cfg {
        Some(cfg) => {
            let hint = recorded_key_id(cfg, archive);
            given
                .then(&Passwords::configured(cfg, base))
                .for_key_id(hint.as_deref())
        }
        None => given,
    })
}

/// The key id the history recorded for this archive, if the history has it.
fn recorded_key_id(cfg: &Config, archive: &Path) -> Option<String> {
    let name = archive.file_name()?.to_str()?;
    let h = History::open_read_only(&cfg.history_db, Duration::from_secs(2)).ok()?;
    h.key_id_of_archive(name).ok().flatten()
}

/// The `--json` report. Names are kept as they are: JSON escapes control
/// characters itself.
fn report_json(report: &VerifyReport) -> serde_json::Value {
    serde_json::json!({
        "path": report.path, "ok": true, "size": report.size, "sha256": report.sha256,
        "key_id": report.key_id,
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
    if let Some(id) = &report.key_id {
        out.push_str(&format!("  encrypted: password key id {id}\n"));
    }
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
