//! `onec-backup-bot offsite status [--json]`: per target and base, the
//! last good copy, what waits in the queue, the last error and the remote
//! retention plan; `offsite push [--target NAME]`: queue what is missing
//! and upload now (exit 1 when an upload failed); `offsite prune [--target
//! NAME] [--dry-run]`: apply (or show) remote retention.

use super::{Failure, print_json};
use crate::backup::history::{History, QueueState};
use crate::backup::run::human_bytes;
use crate::config::Config;
use crate::config::offsite::OffsiteTarget;
use crate::offsite::{self, prune, queue};
use serde_json::json;

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Per target and base: the last good copy, the queue, the last error
    /// and the remote retention plan.
    Status {
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Queue every good archive not queued yet and upload the queue now
    /// (exit 1 when an upload failed).
    Push {
        /// Only this target.
        #[arg(long, value_name = "NAME")]
        target: Option<String>,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Apply remote retention (mode history), deleting only objects this
    /// program uploaded; --dry-run shows the plan.
    Prune {
        /// Only this target.
        #[arg(long, value_name = "NAME")]
        target: Option<String>,
        /// Show what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// The target named `name`, or a usage error naming the configured ones.
pub fn target<'a>(cfg: &'a Config, name: &str) -> Result<&'a OffsiteTarget, Failure> {
    cfg.target(name).ok_or_else(|| {
        let names: Vec<&str> = cfg.offsite.iter().map(|t| t.name.as_str()).collect();
        Failure::usage(if names.is_empty() {
            format!(
                "no offsite target named {name:?}: none is configured (set OFFSITE_URL or add \
                 an `offsite:` list to config.yaml)"
            )
        } else {
            format!(
                "no offsite target named {name:?}; configured targets: {}",
                names.join(", ")
            )
        })
    })
}

fn targets<'a>(cfg: &'a Config, only: Option<&str>) -> Result<Vec<&'a OffsiteTarget>, Failure> {
    if cfg.offsite.is_empty() {
        return Err(Failure::usage(
            "no offsite target is configured: set OFFSITE_URL (or add an `offsite:` list to \
             config.yaml), then run `onec-backup-bot config check`",
        ));
    }
    match only {
        Some(n) => Ok(vec![target(cfg, n)?]),
        None => Ok(cfg.offsite.iter().collect()),
    }
}

fn history_err(e: impl std::fmt::Display) -> Failure {
    Failure::failed(format!("the history database: {e}"))
}

pub fn run(cfg: &Config, action: &Action) -> Result<(), Failure> {
    match action {
        Action::Status { json } => status(cfg, *json),
        Action::Push { target, json } => push(cfg, target.as_deref(), *json),
        Action::Prune {
            target,
            dry_run,
            json,
        } => prune_cmd(cfg, target.as_deref(), *dry_run, *json),
    }
}

fn status(cfg: &Config, as_json: bool) -> Result<(), Failure> {
    let list = targets(cfg, None)?;
    let history = History::open(&cfg.history_db).map_err(history_err)?;
    let items = history.offsite_queue(None).map_err(history_err)?;
    let mut rows = Vec::new();
    for t in list {
        for base in cfg.bases.iter().filter(|b| t.takes(&b.name)) {
            let last = history
                .last_upload_ok(&t.name, &base.name)
                .map_err(history_err)?;
            let (waiting, bytes) = queue::waiting(&items, &t.name, &base.name);
            let last_error = items
                .iter()
                .rev()
                .find(|i| {
                    i.target == t.name && i.base == base.name && i.state == QueueState::Failed
                })
                .and_then(|i| i.last_error.clone());
            let plan = prune::plan(cfg, &history, t, &base.name)
                .map_err(|e| Failure::failed(format!("cannot plan remote retention: {e:#}")))?;
            let deleting: Vec<&str> = plan
                .iter()
                .filter(|p| !p.keep)
                .map(|p| p.object.as_str())
                .collect();
            // The rule of the metrics and /api/health: no copy yet counts
            // from when the target first appeared.
            let unix = |t: &jiff::Timestamp| t.as_millisecond() as f64 / 1000.0;
            let now = unix(&jiff::Timestamp::now());
            let first_seen = history
                .offsite_first_seen(&t.name)
                .map_err(history_err)?
                .map(|t| unix(&t));
            let stale = crate::offsite::stale::stale_for(
                last.as_ref().map(|u| unix(&u.finished)),
                first_seen,
                now,
                now,
                cfg.offsite_max_age_hours,
            )
            .is_some();
            rows.push(json!({
                "target": t.name,
                "kind": t.location.kind(),
                "location": t.location.display(),
                "base": base.name,
                "last_success": last.as_ref().map(|u| u.finished.to_string()),
                "last_object": last.as_ref().map(|u| u.object.clone()),
                "last_verified": last.as_ref().and_then(|u| u.verified.clone()),
                "stale": stale,
                "queued": waiting,
                "queued_bytes": bytes,
                "last_error": last_error,
                "retention_keep": plan.iter().filter(|p| p.keep).count(),
                "retention_delete": deleting,
            }));
        }
    }
    if as_json {
        print_json(&rows);
        return Ok(());
    }
    for r in &rows {
        let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
        println!(
            "{} ({} {}) / {}: last copy {}{}; queue {} item(s), {}{}",
            s("target"),
            s("kind"),
            s("location"),
            s("base"),
            s("last_success"),
            if r["stale"].as_bool() == Some(true) {
                format!(" (STALE: none within {} h)", cfg.offsite_max_age_hours)
            } else {
                String::new()
            },
            r["queued"],
            human_bytes(r["queued_bytes"].as_u64().unwrap_or(0)),
            match r["last_error"].as_str() {
                Some(e) => format!("; last error: {e}"),
                None => String::new(),
            }
        );
        let del = r["retention_delete"].as_array().map_or(0, |a| a.len());
        println!(
            "  remote retention: keep {}, delete {del}",
            r["retention_keep"]
        );
    }
    Ok(())
}

fn push(cfg: &Config, only: Option<&str>, as_json: bool) -> Result<(), Failure> {
    targets(cfg, only)?;
    let (history, cancel) = super::open_for_work(cfg)?;
    let filter = queue::Filter {
        target: only.map(|n| cfg.target(n).map_or(n, |t| t.name.as_str())),
        run_id: None,
    };
    let done = queue::push(cfg, &history, filter, &cancel)
        .map_err(|e| Failure::failed(cfg.mask(&format!("offsite push: {e:#}"))))?;
    report(&done, as_json);
    if done.failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed(format!(
            "{} offsite upload(s) failed; the local archives are untouched and stay queued \
             (retried with backoff by the agent, or now by `onec-backup-bot offsite push`)",
            done.failed.len()
        )))
    }
}

/// Print what a drain did.
pub fn report(done: &queue::Drained, as_json: bool) {
    if as_json {
        print_json(&json!({
            "uploaded": done.uploaded,
            "failed": done.failed.iter().map(|f| json!({
                "target": f.target, "base": f.base, "run_id": f.run_id,
                "object": f.object, "error": f.error,
            })).collect::<Vec<_>>(),
            "pruned": done.pruned,
        }));
        return;
    }
    for u in &done.uploaded {
        println!(
            "  offsite: {} → {}: {} ({}, {:.1} s, verified by {})",
            u.base,
            u.target,
            u.object,
            human_bytes(u.bytes.unwrap_or(0)),
            u.duration_ms as f64 / 1000.0,
            u.verified.as_deref().unwrap_or("-")
        );
    }
    for p in &done.pruned {
        println!("  offsite retention removed: {p}");
    }
    for f in &done.failed {
        eprintln!(
            "error: offsite copy of {} (run {}) to {} failed: {}",
            f.base, f.run_id, f.target, f.error
        );
    }
}

fn prune_cmd(
    cfg: &Config,
    only: Option<&str>,
    dry_run: bool,
    as_json: bool,
) -> Result<(), Failure> {
    let list = targets(cfg, only)?;
    let history = History::open(&cfg.history_db).map_err(history_err)?;
    let mut out = Vec::new();
    for t in list {
        let remote = if dry_run {
            None
        } else {
            Some(offsite::open(t).map_err(|e| Failure::failed(cfg.mask(&format!("{e:#}"))))?)
        };
        for base in cfg.bases.iter().filter(|b| t.takes(&b.name)) {
            let plan = match &remote {
                None => prune::plan(cfg, &history, t, &base.name),
                Some(r) => prune::apply(cfg, &history, t, r.as_ref(), &base.name, false),
            }
            .map_err(|e| {
                Failure::failed(cfg.mask(&format!(
                    "remote retention of {} on {}: {e:#}",
                    base.name, t.name
                )))
            })?;
            if !as_json {
                for p in &plan {
                    println!(
                        "{} {} {}: {} ({})",
                        t.name,
                        p.time,
                        p.object,
                        match (p.keep, dry_run) {
                            (true, _) => "keep",
                            (false, true) => "would delete",
                            (false, false) => "deleted",
                        },
                        if p.reasons.is_empty() {
                            "no rule keeps it".to_string()
                        } else {
                            p.reasons.join(", ")
                        }
                    );
                }
            }
            out.push(
                json!({"target": t.name, "base": base.name, "dry_run": dry_run, "plan": plan}),
            );
        }
    }
    if as_json {
        print_json(&out);
    }
    Ok(())
}
