//! `onec-backup-bot service install | uninstall | start | stop | status`:
//! a native Windows service (no NSSM) or a systemd unit on Linux; and the
//! hidden `service-run`, which the Windows service manager starts.

use super::{Cli, Failure};
use crate::config::{self, Config, LoadOptions, Secret};
use crate::daemon::service::{self, Account, InstallOptions};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Register the agent as a service (Windows: automatic delayed start,
    /// restart on failure; Linux: a systemd unit, enabled and started).
    Install(InstallArgs),
    /// Stop and remove the service.
    Uninstall(NameArg),
    /// Start the service.
    Start(NameArg),
    /// Stop the service (a running backup gets SHUTDOWN_GRACE_SECS to finish).
    Stop(NameArg),
    /// Show the service state.
    Status(NameArg),
}

#[derive(Debug, clap::Args)]
pub struct NameArg {
    /// The service name.
    #[arg(long, default_value = service::DEFAULT_NAME)]
    name: String,
}

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// The service name.
    #[arg(long, default_value = service::DEFAULT_NAME)]
    name: String,
    /// Run as LocalSystem (Windows) / root (Linux): fine for local disks.
    #[arg(long, value_parser = ["LocalSystem"], conflicts_with = "user")]
    account: Option<String>,
    /// Run as this user (Windows: DOMAIN\user, needed when the base or
    /// BACKUP_DIR is on a network share; Linux: a user name).
    #[arg(long)]
    user: Option<String>,
    /// The Windows account's password.
    #[arg(long, requires = "user")]
    password: Option<String>,
    /// Linux: only print the systemd unit, install nothing.
    #[arg(long)]
    print: bool,
}

pub fn run(cli: &Cli, action: &Action) -> Result<(), Failure> {
    let err = |e: service::ServiceError| Failure::failed(e.to_string());
    match action {
        Action::Install(args) => install(cli, args),
        Action::Uninstall(n) => {
            uninstall(&n.name).map_err(err)?;
            println!("service {} removed", n.name);
            Ok(())
        }
        Action::Start(n) => {
            start(&n.name).map_err(err)?;
            println!("service {} started", n.name);
            Ok(())
        }
        Action::Stop(n) => {
            stop(&n.name).map_err(err)?;
            println!("service {} stopped", n.name);
            Ok(())
        }
        Action::Status(n) => {
            println!("{}", status(&n.name).map_err(err)?);
            Ok(())
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn install(cli: &Cli, args: &InstallArgs) -> Result<(), Failure> {
    // The configuration must be valid before anything is registered.
    let cfg: Config = config::load(&LoadOptions::from_process(
        cli.env_file.clone(),
        cli.config.clone(),
    ))?;
    let exe = std::env::current_exe()
        .map_err(|e| Failure::failed(format!("cannot find our own executable: {e}")))?;
    let config = cli.config.as_deref().map(absolute);
    let working_dir = match &config {
        Some(c) => c
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| absolute(Path::new("."))),
        None => absolute(Path::new(".")),
    };
    let account = match &args.user {
        Some(name) => Account::User {
            name: name.clone(),
            password: args.password.clone().map(Secret::new),
        },
        None => Account::LocalSystem,
    };
    let opts = InstallOptions {
        name: args.name.clone(),
        account,
        config,
        env_file: cli.env_file.as_deref().map(absolute),
        exe,
        working_dir: working_dir.clone(),
    };
    service::validate(&opts).map_err(|e| Failure::usage(e.to_string()))?;
    // Paths in the configuration are relative to the service's folder.
    let resolve = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            working_dir.join(p)
        }
    };
    let bases: Vec<PathBuf> = cfg.bases.iter().map(|b| resolve(&b.path)).collect();
    let base_refs: Vec<&Path> = bases.iter().map(PathBuf::as_path).collect();
    let mut warnings = service::path_warnings(&base_refs, &opts.account);
    warnings.extend(service::backup_dir_warnings(
        &resolve(&cfg.backup_dir),
        &opts.account,
    ));
    if let Some(w) = rights_warning(crate::platform::is_elevated(), args.user.as_deref()) {
        warnings.push(w);
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    install_native(&opts, &cfg, &bases, &resolve, args.print)
}

/// The warning for a service that may run without administrator rights
/// (installed by a user who is not elevated, or under a named account).
fn rights_warning(elevated: bool, user: Option<&str>) -> Option<String> {
    let who = match (elevated, user) {
        (_, Some(u)) => format!("the service runs as {u}, which may lack administrator rights"),
        (false, None) => "this is not run with administrator rights".to_string(),
        (true, None) => return None,
    };
    Some(format!(
        "{who}: without them the agent cannot read which base other users' 1C clients have \
         open (they show as \"unknown base\") and BACKUP_WHEN_USERS_INSIDE=close is refused; \
         install and run the service as an administrator (LocalSystem, root) for those"
    ))
}

#[cfg(windows)]
fn install_native(
    opts: &InstallOptions,
    _cfg: &Config,
    _bases: &[PathBuf],
    _resolve: &dyn Fn(&Path) -> PathBuf,
    print: bool,
) -> Result<(), Failure> {
    if print {
        return Err(Failure::usage("--print is for systemd units (Linux)"));
    }
    let warnings = service::windows::install(opts).map_err(|e| Failure::failed(e.to_string()))?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let how = if warnings.is_empty() {
        "automatic delayed start, restart after 30 s on failure"
    } else {
        "automatic start; see the warnings above"
    };
    println!(
        "service {} installed ({how}); start it with: onec-backup-bot service start --name {}",
        opts.name, opts.name
    );
    Ok(())
}

#[cfg(unix)]
fn install_native(
    opts: &InstallOptions,
    cfg: &Config,
    bases: &[PathBuf],
    resolve: &dyn Fn(&Path) -> PathBuf,
    print: bool,
) -> Result<(), Failure> {
    // The agent writes backups, logs and its history; 1C writes into the
    // base folder while dumping and keeps settings under the user's ~/.1cv8.
    let mut rw = vec![resolve(&cfg.backup_dir), resolve(&cfg.logging.dir)];
    if let Some(parent) = resolve(&cfg.history_db).parent() {
        rw.push(parent.to_path_buf());
    }
    rw.extend(bases.iter().cloned());
    let home = match &opts.account {
        Account::LocalSystem => PathBuf::from("/root"),
        Account::User { name, .. } => PathBuf::from("/home").join(name),
    };
    // Only when 1C has run as this user before: a missing path would stop
    // systemd from starting the unit.
    if home.join(".1cv8").is_dir() {
        rw.push(home.join(".1cv8"));
    }
    rw.sort();
    rw.dedup();
    let text = service::systemd::install(opts, cfg.shutdown_grace, &rw, &[], print)
        .map_err(|e| Failure::failed(e.to_string()))?;
    if print {
        println!("{}", text.trim_end());
    } else {
        println!(
            "systemd unit {} installed, enabled and started ({})",
            opts.name,
            service::systemd::unit_path(&opts.name).display()
        );
    }
    Ok(())
}

#[cfg(windows)]
use service::windows::{start, status, stop, uninstall};

#[cfg(unix)]
use service::systemd::{status, uninstall};

#[cfg(unix)]
fn start(name: &str) -> Result<(), service::ServiceError> {
    service::systemd::systemctl(&["start", name])
}

#[cfg(unix)]
fn stop(name: &str) -> Result<(), service::ServiceError> {
    service::systemd::systemctl(&["stop", name])
}

/// `service-run`: what the Windows service manager starts.
#[cfg(windows)]
pub fn service_run(name: &str) -> Result<(), Failure> {
    service::windows::run_as_service(name, service_body).map_err(|e| Failure::failed(e.to_string()))
}

#[cfg(windows)]
fn service_body(stop: crate::cancel::Cancel, report: &dyn Fn(u32)) -> i32 {
    use clap::Parser;
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(_) => return 2,
    };
    let cfg = match config::load(&LoadOptions::from_process(
        cli.env_file.clone(),
        cli.config.clone(),
    )) {
        Ok(c) => c,
        Err(e) => {
            let masker = crate::logging::Masker::default();
            crate::logging::init_agent(Path::new("."), jiff::tz::TimeZone::UTC, "info", masker);
            tracing::error!("{e}");
            return 2;
        }
    };
    crate::logging::init_agent(
        &cfg.logging.dir,
        cfg.timezone.clone(),
        &cfg.logging.level,
        cfg.masker(),
    );
    tracing::info!("running as the Windows service");
    crate::daemon::run(cfg, stop, &|| report(5_000)) as i32
}

#[cfg(unix)]
pub fn service_run(_name: &str) -> Result<(), Failure> {
    Err(Failure::usage(
        "`service-run` is for the Windows service manager; on Linux systemd runs `onec-backup-bot run`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_without_administrator_rights_is_warned_about() {
        assert_eq!(rights_warning(true, None), None);
        let w = rights_warning(false, None).unwrap();
        assert!(
            w.contains("administrator rights") && w.contains("close"),
            "{w}"
        );
        let w = rights_warning(true, Some("onec")).unwrap();
        assert!(w.starts_with("the service runs as onec"), "{w}");
    }
}
