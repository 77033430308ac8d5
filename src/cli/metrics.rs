//! `onec-backup-bot metrics [--format prom|json]`: one collection of the
//! server metrics printed on stdout, the same text `/api/metrics.prom`
//! serves (or the JSON of `/api/metrics`). CPU percentages need two
//! samples, so the collectors run twice, [`CPU_WINDOW`] apart.

use super::Failure;
use crate::config::Config;
use crate::export::{self, ArchiveCache, BackupState, prometheus};
use crate::metrics::{Collectors, MetricsOptions};
use std::io::Write;
use std::time::Duration;

/// The pause between the two collections.
pub const CPU_WINDOW: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Prom,
    /// Nested JSON, as GET /api/metrics.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Prom)]
    format: Format,
}

pub fn run(cfg: &Config, args: &Args) -> Result<(), Failure> {
    let mut collectors = Collectors::new(MetricsOptions::of(cfg));
    let _ = collectors.collect();
    std::thread::sleep(CPU_WINDOW);
    let snap = collectors.collect();
    let now = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
    let backup = BackupState::load(cfg, &[], &ArchiveCache::default(), now);
    if let Some(e) = &backup.history_error {
        eprintln!("warning: backup history not readable, backup metrics are incomplete: {e}");
    }
    let text = match args.format {
        Format::Prom => prometheus::encode(&export::build(&snap, &backup, &[])),
        Format::Json => {
            let v = export::json::to_json(&snap, &backup);
            let mut s = serde_json::to_string_pretty(&v)
                .map_err(|e| Failure::failed(format!("cannot encode the metrics as JSON: {e}")))?;
            s.push('\n');
            s
        }
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::failed(format!(
            "cannot write the metrics to stdout: {e}"
        ))),
        _ => Ok(()),
    }
}
