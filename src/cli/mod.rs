//! Command-line interface: parses arguments, loads configuration, calls the
//! library, prints results and maps errors to exit codes: 0 done (or
//! skipped), 1 the operation failed, 2 usage or configuration error. One
//! file per command, as in rustic.

mod backup;
mod config_cmd;
mod demo;
mod drill;
mod list;
mod metrics;
mod offsite;
mod progress;
mod prune;
mod restore;
mod run;
mod schedule;
mod service;
mod users;
mod verify;

use crate::cancel::Cancel;
use crate::config::{self, Config, LoadOptions};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Backups, monitoring and Telegram control for 1C:Enterprise file infobases.
#[derive(Debug, Parser)]
#[command(name = "onec-backup-bot", version, about, long_about = None)]
pub struct Cli {
    /// Read settings from this `.env` file (default: `.env` in the current folder, if present).
    #[arg(long, global = true, value_name = "PATH")]
    env_file: Option<PathBuf>,
    /// Read settings from this YAML file (default: `config.yaml` in the current folder, if present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Create a small demo infobase in a temporary folder and back it up
    /// with `copy` (no 1C, no Telegram needed).
    #[arg(long)]
    demo: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent: HTTP API and metrics, scheduler, Telegram bot (the default).
    Run,
    /// Back up one base (the default one unless --base), or all with --all.
    Backup(backup::Args),
    /// Check an archive (CRC or authentication code and size of every entry, 1CD header, .dt stream) and print its SHA-256.
    Verify(verify::Args),
    /// Restore drill: restore the newest good archive of a base (or all)
    /// into a scratch folder, check it, remove it; exit 0 only when every
    /// drill passed.
    Drill(drill::Args),
    /// Restore a backup (or `latest`) into a new infobase folder; a .dt is loaded by 1C.
    Restore(restore::Args),
    /// Show the backup history.
    List(list::Args),
    /// Apply the retention policy (or show it with --dry-run).
    Prune(prune::Args),
    /// Offsite copies: status, push (upload the queue now), prune (remote retention).
    Offsite {
        #[command(subcommand)]
        action: offsite::Action,
    },
    /// Show each base's schedule and its next run times.
    Schedule(schedule::Args),
    /// Install or control the agent as a Windows service / systemd unit.
    Service {
        #[command(subcommand)]
        action: service::Action,
    },
    /// Started by the Windows service manager (not for interactive use).
    #[command(hide = true)]
    ServiceRun {
        #[arg(long, default_value = crate::daemon::service::DEFAULT_NAME)]
        name: String,
    },
    /// Who is inside each base now: the 1C client processes on this
    /// computer with user, pid, session and since when.
    Users(users::Args),
    /// Print one collection of the server metrics (--format prom|json).
    Metrics(metrics::Args),
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        action: config_cmd::Action,
    },
}

/// Exit codes.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// An error that ends the command, with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_FAILED,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }
}

impl From<config::ConfigError> for Failure {
    fn from(e: config::ConfigError) -> Self {
        Failure::usage(format!(
            "{e}\nfix the settings above (see .env.example and config.example.yaml), then run `onec-backup-bot config check`"
        ))
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("error: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

/// Load the configuration for a one-shot command (logging to stderr, off
/// unless `LOG_LEVEL` is set).
fn load(cli: &Cli) -> Result<Config, Failure> {
    let cfg = load_config(cli)?;
    init_logging(&cfg, "off");
    Ok(cfg)
}

fn load_config(cli: &Cli) -> Result<Config, Failure> {
    Ok(config::load(&LoadOptions::from_process(
        cli.env_file.clone(),
        cli.config.clone(),
    ))?)
}

/// Log to stderr (masked, colour only on a terminal). Commands print their own results (and errors), so
/// logging is off unless `LOG_LEVEL` is set explicitly.
fn init_logging(cfg: &Config, default_level: &str) {
    let explicit = cfg.entries.iter().any(|e| {
        e.key.yaml == "logging.level" && e.origin.as_ref().is_some_and(|o| o.kind() != "default")
    });
    let level = if explicit {
        cfg.logging.level.as_str()
    } else {
        default_level
    };
    let filter = tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|_| "warn".into());
    crate::logging::init_stderr(filter, cfg.masker());
}

fn run(cli: Cli) -> Result<(), Failure> {
    if cli.demo {
        return demo::run();
    }
    match &cli.command {
        None | Some(Command::Run) => run::run(load_config(&cli)?),
        Some(Command::Config { action }) => config_cmd::run(&cli, action),
        Some(Command::Service { action }) => service::run(&cli, action),
        Some(Command::ServiceRun { name }) => service::service_run(name),
        Some(Command::Verify(args)) => verify::run(&cli, args),
        Some(Command::Backup(args)) => backup::run(&load(&cli)?, args),
        Some(Command::Drill(args)) => drill::run(&load(&cli)?, args),
        Some(Command::Restore(args)) => restore::run(&load(&cli)?, args),
        Some(Command::List(args)) => list::run(&load(&cli)?, args),
        Some(Command::Prune(args)) => prune::run(&load(&cli)?, args),
        Some(Command::Offsite { action }) => offsite::run(&load(&cli)?, action),
        Some(Command::Schedule(args)) => schedule::run(&load(&cli)?, args),
        Some(Command::Metrics(args)) => metrics::run(&load(&cli)?, args),
        Some(Command::Users(args)) => users::run(&load(&cli)?, args),
    }
}

/// `--base NAME | --all`, for the commands that work on bases.
#[derive(Debug, clap::Args)]
pub struct Bases {
    /// The base (its `name:`; default: the default base).
    #[arg(long, short)]
    base: Option<String>,
    /// Every configured base, one after another.
    #[arg(long, conflicts_with = "base")]
    all: bool,
}

/// The bases a command works on: every one with `--all`, else the one
/// named by `--base` (the default base without it); a usage error naming
/// the configured bases otherwise.
fn select_bases<'a>(
    cfg: &'a Config,
    which: &Bases,
) -> Result<Vec<&'a crate::config::Base>, Failure> {
    let (name, all) = (which.base.as_deref(), which.all);
    if cfg.bases.is_empty() {
        return Err(Failure::usage(
            "no infobase configured: set ONEC_BASE_PATH (or add a `bases:` list to config.yaml)",
        ));
    }
    if all {
        return Ok(cfg.bases.iter().collect());
    }
    match cfg.base(name) {
        Some(b) => Ok(vec![b]),
        None => {
            let names: Vec<&str> = cfg.bases.iter().map(|b| b.name.as_str()).collect();
            Err(Failure::usage(format!(
                "no base named {:?}; configured bases: {}",
                name.unwrap_or(""),
                names.join(", ")
            )))
        }
    }
}

/// Open the history for a command that works on bases (recovering after
/// an unclean stop and saying so), with a cancel flag that Ctrl-C /
/// SIGTERM sets so the work stops cleanly.
fn open_for_work(cfg: &Config) -> Result<(crate::backup::history::History, Cancel), Failure> {
    let (history, recovery) =
        crate::backup::run::open_and_recover(cfg).map_err(|e| Failure::failed(e.to_string()))?;
    report_recovery(recovery);
    let cancel = Cancel::new();
    let c = cancel.clone();
    let _ = ctrlc::set_handler(move || c.cancel());
    Ok((history, cancel))
}

/// Tell the user what start-up recovery cleaned up, if anything.
fn report_recovery(r: crate::backup::run::Recovery) {
    if r.interrupted > 0 || r.removed_temps > 0 {
        eprintln!(
            "note: recovered after an unclean stop: {} run(s) marked interrupted, {} temporary file(s) removed",
            r.interrupted, r.removed_temps
        );
    }
}

/// Print a value as pretty JSON on stdout.
fn print_json(v: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    );
}
