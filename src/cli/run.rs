//! `onec-backup-bot run` (also what runs with no subcommand, like the
//! prototype's `python main.py`): the always-on agent.

use super::Failure;
use crate::cancel::Cancel;
use crate::config::Config;

pub fn run(cfg: Config) -> Result<(), Failure> {
    let log_file = crate::logging::init_agent(
        &cfg.logging.dir,
        cfg.timezone.clone(),
        &cfg.logging.level,
        cfg.masker(),
    );
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    tracing::info!(
        "{} {} starting: {} base(s), backups in {}",
        cfg.app_name,
        env!("CARGO_PKG_VERSION"),
        cfg.bases.len(),
        cfg.backup_dir.display()
    );
    if let Some(f) = log_file {
        tracing::info!("log file: {}", f.display());
    }
    match crate::daemon::run(cfg, Cancel::new(), &|| {}) {
        0 => Ok(()),
        code => Err(Failure {
            code,
            message: String::new(),
        }),
    }
}
