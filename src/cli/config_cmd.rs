//! `onec-backup-bot config check`: the effective configuration with each
//! value's source (secrets as `***`), or every problem and exit 2.

use super::{Cli, Failure};
use crate::config::{self, LoadOptions};

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Print the effective configuration and where each value comes from.
    Check,
}

pub fn run(cli: &Cli, action: &Action) -> Result<(), Failure> {
    match action {
        Action::Check => {
            let cfg = config::load(&LoadOptions::from_process(
                cli.env_file.clone(),
                cli.config.clone(),
            ))?;
            print!("{}", config::render_check(&cfg));
            Ok(())
        }
    }
}
