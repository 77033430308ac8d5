//! `onec-backup-bot backup`: back up one base (or all), print the result
//! for people or as JSON, exit 0 (done or skipped) or 1 (failed). A good
//! new archive is copied to the offsite targets before the command exits
//! (`--no-offsite`: only queued); a failed copy exits 1 while the local
//! backup stays ok and recorded.

use super::progress::TermProgress;
use super::{Failure, print_json};
use crate::backup::history::{Status, Trigger};
use crate::backup::run::{self, BackupError, FailedRun, Outcome, Request, human_bytes};
use crate::config::Config;
use crate::offsite::queue;
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    bases: super::Bases,
    /// Back up even when the base has not changed since the last good backup.
    #[arg(long)]
    force: bool,
    /// Print a machine-readable result on stdout.
    #[arg(long)]
    json: bool,
    /// Do not upload to the offsite targets before exiting: the archive is
    /// only queued (the agent or `offsite push` uploads it).
    #[arg(long)]
    no_offsite: bool,
    /// Use this users-inside policy for this run instead of the
    /// configured BACKUP_WHEN_USERS_INSIDE (`lock` needs ONEC_LOCK_CODE).
    #[arg(long, value_name = "POLICY", value_parser = ["fail", "wait", "lock", "close"])]
    when_users_inside: Option<String>,
}

pub fn run(cfg: &Config, args: &Args) -> Result<(), Failure> {
    let bases = super::select_bases(cfg, &args.bases)?;
    // Ctrl-C / SIGTERM: stop cleanly (1C killed, temporaries removed, row `interrupted`).
    let (history, cancel) = super::open_for_work(cfg)?;
    let mut failed = 0;
    let mut results = Vec::new();
    let policy = args.when_users_inside.as_deref().and_then(|w| {
        crate::config::UsersPolicy::ALL
            .iter()
            .find(|(t, _)| *t == w)
            .map(|(_, p)| *p)
    });
    for base in bases {
        let overridden = policy.map(|p| crate::config::Base {
            when_users_inside: p,
            ..base.clone()
        });
        let base = overridden.as_ref().unwrap_or(base);
        let mut progress = TermProgress::new(&base.name);
        let req = Request {
            base,
            trigger: Trigger::Cli,
            force: args.force,
        };
        let r = run::run(cfg, &history, &req, &mut |e| progress.event(e), &cancel);
        progress.finish();
        if r.is_err() {
            failed += 1;
        }
        let mut value = args.json.then(|| to_json(&r));
        if !args.json {
            print_human(&r);
        }
        // A good new archive goes offsite now (or is queued with --no-offsite).
        if let Ok(o) = &r
            && o.status == Status::Ok
            && o.archive.is_some()
            && !cfg.offsite.is_empty()
        {
            let done = offsite_copy(cfg, &history, o.run_id, args.no_offsite, &cancel);
            match done {
                Ok(d) => {
                    if !d.failed.is_empty() {
                        failed += 1;
                        if !args.json {
                            eprintln!(
                                "error: the backup of {} is ok and recorded, but its offsite copy failed; it stays queued: run `onec-backup-bot offsite push` to retry",
                                o.base
                            );
                        }
                    }
                    if args.json {
                        if let Some(serde_json::Value::Object(m)) = value.as_mut() {
                            m.insert("offsite".into(), offsite_json(&d));
                        }
                    } else {
                        super::offsite::report(&d, false);
                    }
                }
                Err(e) => {
                    failed += 1;
                    let msg = cfg.mask(&format!(
                        "the backup of {} is ok and recorded, but its offsite copy could not be queued or sent: {e:#}",
                        o.base
                    ));
                    eprintln!("error: {msg}");
                }
            }
        }
        if let Some(v) = value {
            results.push(v);
        }
        if cancel.is_cancelled() {
            break;
        }
    }
    if args.json {
        if results.len() == 1 {
            print_json(&results[0])
        } else {
            print_json(&results)
        }
    }
    if failed > 0 {
        Err(Failure {
            code: super::EXIT_FAILED,
            message: String::new(),
        })
    } else {
        Ok(())
    }
}

/// Queue the new archive for every target, then (unless `queue_only`)
/// upload it now.
fn offsite_copy(
    cfg: &Config,
    history: &crate::backup::history::History,
    run_id: i64,
    queue_only: bool,
    cancel: &crate::cancel::Cancel,
) -> anyhow::Result<queue::Drained> {
    if queue_only {
        queue::sync(cfg, history)?;
        return Ok(queue::Drained::default());
    }
    let filter = queue::Filter {
        target: None,
        run_id: Some(run_id),
    };
    queue::push(cfg, history, filter, cancel)
}

fn offsite_json(d: &queue::Drained) -> serde_json::Value {
    json!({
        "uploaded": d.uploaded,
        "failed": d.failed.iter().map(|f| json!({
            "target": f.target, "object": f.object, "error": f.error,
        })).collect::<Vec<_>>(),
        "pruned": d.pruned,
    })
}

fn to_json(r: &Result<Outcome, BackupError>) -> serde_json::Value {
    match r {
        Ok(o) => serde_json::to_value(o).unwrap_or_default(),
        Err(BackupError::Failed(f)) => json!({
            "run_id": f.run_id, "base": f.base, "status": "failed", "error": f.message,
            "explanation": f.explanation.map(|x| x.to_string()),
            "log_excerpt": f.log_excerpt, "log_path": f.log_path,
        }),
        Err(BackupError::Interrupted(run)) => {
            json!({"run_id": run.id, "base": run.base, "status": "interrupted", "error": r.as_ref().err().map(|e| e.to_string())})
        }
        Err(e @ BackupError::Setup(_)) => json!({"status": "failed", "error": e.to_string()}),
    }
}

fn print_human(r: &Result<Outcome, BackupError>) {
    match r {
        Ok(o) if o.status == Status::Skipped => {
            println!(
                "backup of {} skipped: {}",
                o.base,
                o.reason.as_deref().unwrap_or("")
            );
        }
        Ok(o) => {
            println!(
                "backup of {} done: {} ({} from {}, {:.1} s)",
                o.base,
                o.archive
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                human_bytes(o.archive_size.unwrap_or(0)),
                human_bytes(o.source_size.unwrap_or(0)),
                o.duration_secs
            );
            for v in &o.verified {
                println!("  verified: {v}");
            }
            if let Some(s) = &o.sha256 {
                println!("  sha256: {s}");
            }
            for p in &o.pruned {
                println!("  retention removed: {}", p.display());
            }
            if let Some(note) = &o.users_note {
                println!("  users inside: {note}");
            }
        }
        Err(BackupError::Failed(f)) => {
            for l in failure_lines(f) {
                eprintln!("{l}");
            }
        }
        Err(e) => eprintln!("error: {e}"),
    }
}

/// The report of a failed run: the error, what it means (unless the error
/// already says it), the key lines of the 1C log and where the whole log is.
fn failure_lines(f: &FailedRun) -> Vec<String> {
    let FailedRun {
        message,
        explanation,
        log_excerpt,
        log_path,
        base,
        ..
    } = f;
    let mut out = vec![format!("error: backup of {base} failed: {message}")];
    if let Some(x) = explanation {
        let words = x.to_string();
        if !message.contains(&words) {
            out.push(format!("  what it means: {words}"));
        }
    }
    if !log_excerpt.is_empty() {
        out.push("  1C log:".into());
        out.extend(log_excerpt.iter().map(|l| format!("  | {l}")));
    }
    if let Some(p) = log_path {
        out.push(format!("  full 1C log: {}", p.display()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::history::Run;

    /// The 1C explanation is part of the error message already: the
    /// report says it once.
    #[test]
    fn a_failure_explains_once() {
        let x = crate::onec::Explanation::UsersConnected;
        let f = FailedRun {
            record: Run::example(1, "buh", Status::Failed),
            run_id: 1,
            base: "buh".into(),
            message: format!("1C dump failed (exit code 1): {x}; 1C log: a | b"),
            explanation: Some(x),
            log_excerpt: vec!["a".into(), "b".into()],
            log_path: None,
            users_inside: None,
            users_note: None,
        };
        let lines = failure_lines(&f).join("\n");
        assert_eq!(lines.matches(&x.to_string()).count(), 1, "{lines}");
        assert!(
            lines.starts_with("error: backup of buh failed: 1C dump failed"),
            "{lines}"
        );
        assert!(lines.contains("  | a\n  | b"), "{lines}");
        // An error text without it still gets the explanation.
        let g = FailedRun {
            message: "1C dump timed out".into(),
            ..f
        };
        let lines = failure_lines(&g).join("\n");
        assert!(lines.contains(&format!("what it means: {x}")), "{lines}");
    }
}
