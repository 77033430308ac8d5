//! `onec-backup-bot list`: the backup history, newest first, with the
//! offsite targets holding a copy of each run (`offsite` in JSON).

use super::{Failure, print_json};
use crate::backup::history::History;
use crate::backup::run::{self, human_bytes};
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many runs to show.
    #[arg(long, short = 'n', default_value_t = 20)]
    limit: usize,
    /// Only this base.
    #[arg(long, short)]
    base: Option<String>,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(cfg: &Config, args: &Args) -> Result<(), Failure> {
    if !cfg.history_db.exists() {
        if args.json {
            print_json(&Vec::<()>::new());
        } else {
            println!(
                "no backups yet (no history at {})",
                cfg.history_db.display()
            );
        }
        return Ok(());
    }
    let history = History::open(&cfg.history_db).map_err(|e| {
        Failure::failed(format!(
            "cannot open the history {}: {e}",
            cfg.history_db.display()
        ))
    })?;
    super::report_recovery(run::recover(cfg, &history));
    let runs = history
        .list(args.limit, args.base.as_deref())
        .map_err(|e| Failure::failed(format!("cannot read the history: {e}")))?;
    // Where each run is copied (offsite targets holding a live copy).
    let copies: Vec<Vec<String>> = runs
        .iter()
        .map(|r| history.copies_of_run(r.id))
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::failed(format!("cannot read the history: {e}")))?;
    if args.json {
        let rows: Vec<serde_json::Value> = runs
            .iter()
            .zip(&copies)
            .map(|(r, c)| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                if let serde_json::Value::Object(m) = &mut v {
                    m.insert("offsite".into(), serde_json::json!(c));
                }
                v
            })
            .collect();
        print_json(&rows);
        return Ok(());
    }
    if runs.is_empty() {
        println!("no backups recorded");
        return Ok(());
    }
    println!(
        "{:>5}  {:19}  {:12}  {:8}  {:11}  {:>10}  {:>8}  ARCHIVE / ERROR",
        "ID", "STARTED", "BASE", "TRIGGER", "STATUS", "SIZE", "TIME"
    );
    for (r, copied) in runs.into_iter().zip(copies) {
        let started = r
            .started
            .to_zoned_datetime(cfg.timezone.clone())
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string();
        let size = r
            .archive_size
            .map(human_bytes)
            .unwrap_or_else(|| "-".into());
        let took = r
            .duration_ms
            .map(|ms| format!("{:.1}s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "-".into());
        let what = match (&r.archive_path, &r.error) {
            (Some(p), _) => match &r.key_id {
                Some(id) => format!("{} (encrypted, key {id})", p.display()),
                None => p.display().to_string(),
            },
            (None, Some(e)) => e.lines().next().unwrap_or("").chars().take(100).collect(),
            _ => String::new(),
        };
        let what = if copied.is_empty() {
            what
        } else {
            format!("{what} [offsite: {}]", copied.join(", "))
        };
        println!(
            "{:>5}  {:19}  {:12}  {:8}  {:11}  {:>10}  {:>8}  {what}",
            r.id,
            started,
            r.base,
            r.trigger.as_str(),
            r.status.as_str(),
            size,
            took
        );
    }
    Ok(())
}
