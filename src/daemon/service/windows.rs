//! The Windows flavour: install/uninstall/start/stop/status through the
//! service control manager (`windows-service`), and [`run_as_service`], the
//! entry point used by `onec-backup-bot service-run` when the SCM starts the
//! process. The service restarts itself after failures (30 s, three times,
//! counter reset after a day) and starts delayed after boot. `install`
//! never leaves a half-made service behind: when a required setting fails
//! it deletes the service it just created (see [`super::settings`]).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

use super::settings::{self, Setting};
use super::{Account, Flavor, InstallOptions, ServiceError, description};
use crate::cancel::Cancel;

/// How long `uninstall`/`stop` wait for the service to stop.
const STOP_WAIT: Duration = Duration::from_secs(60);
/// Wait hint reported while stopping: the agent's 30 s grace plus margin.
const STOP_HINT_MS: u32 = 35_000;

const ERROR_ACCESS_DENIED: i32 = 5;
const ERROR_SERVICE_DOES_NOT_EXIST: i32 = 1060;
const ERROR_SERVICE_NOT_ACTIVE: i32 = 1062;
const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: i32 = 1063;
const ERROR_SERVICE_LOGON_FAILED: i32 = 1069;
const ERROR_SERVICE_MARKED_FOR_DELETE: i32 = 1072;
const ERROR_SERVICE_EXISTS: i32 = 1073;

fn win_error(action: &'static str, name: &str, source: windows_service::Error) -> ServiceError {
    let code = match &source {
        windows_service::Error::Winapi(e) => e.raw_os_error(),
        _ => None,
    };
    let hint = match code {
        Some(ERROR_ACCESS_DENIED) => {
            ": run the command from an elevated (administrator) command prompt".to_string()
        }
        Some(ERROR_SERVICE_EXISTS) => format!(
            ": the service already exists; remove it with `onec-backup-bot service uninstall \
             --name {name}` or choose another --name"
        ),
        Some(ERROR_SERVICE_DOES_NOT_EXIST) => {
            ": the service is not installed; install it with `onec-backup-bot service install`"
                .to_string()
        }
        Some(ERROR_SERVICE_MARKED_FOR_DELETE) => {
            ": the service is being deleted; close services.msc and try again".to_string()
        }
        Some(ERROR_SERVICE_LOGON_FAILED) => {
            ": the account could not log on; check the password and that the user has the \
             \"Log on as a service\" right (secpol.msc → Local Policies → User Rights Assignment)"
                .to_string()
        }
        Some(ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) => {
            ": `service-run` is started by the Windows service manager only; in a console use \
             `onec-backup-bot run`"
                .to_string()
        }
        _ => String::new(),
    };
    ServiceError::Windows {
        action,
        name: name.to_string(),
        hint,
        source,
    }
}

/// The process arguments the service is started with.
fn launch_arguments(opts: &InstallOptions) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["service-run".into()];
    if opts.name != super::DEFAULT_NAME {
        args.push("--name".into());
        args.push(opts.name.clone().into());
    }
    if let Some(config) = &opts.config {
        args.push("--config".into());
        args.push(config.into());
    }
    if let Some(env) = &opts.env_file {
        args.push("--env-file".into());
        args.push(env.into());
    }
    args
}

/// Apply one setting to a just-created service.
fn apply(
    service: &windows_service::service::Service,
    setting: Setting,
) -> windows_service::Result<()> {
    // Debug builds only: make one setting fail, so the Wine smoke run
    // (scripts/wine-smoke.sh) can check that a failed install is undone.
    #[cfg(debug_assertions)]
    if std::env::var("ONEC_BACKUP_BOT_TEST_FAIL_SETTING").as_deref() == Ok(setting.key()) {
        return Err(windows_service::Error::Winapi(std::io::Error::other(
            "failure injected by ONEC_BACKUP_BOT_TEST_FAIL_SETTING",
        )));
    }
    match setting {
        Setting::Description => service.set_description(description()),
        // Supported since Vista / Server 2008; Wine lacks it (optional).
        Setting::DelayedAutoStart => service.set_delayed_auto_start(true),
        Setting::FailureActions => {
            let restart = ServiceAction {
                action_type: ServiceActionType::Restart,
                delay: Duration::from_secs(30),
            };
            service.update_failure_actions(ServiceFailureActions {
                reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(24 * 60 * 60)),
                reboot_msg: None,
                command: None,
                actions: Some(vec![restart.clone(), restart.clone(), restart]),
            })
        }
        // Supported since Vista / Server 2008; Wine lacks it (optional).
        Setting::FailureActionsOnNonCrash => {
            service.set_failure_actions_on_non_crash_failures(true)
        }
    }
}

/// Register the service (auto start, delayed), set its Russian description
/// and the restart-on-failure policy. Does not start it. Returns warnings
/// about optional settings that could not be applied; when a required one
/// fails, the service is deleted again and the error says so.
pub fn install(opts: &InstallOptions) -> Result<Vec<String>, ServiceError> {
    super::validate_for(opts, Flavor::Windows)?;
    let name = opts.name.as_str();
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .map_err(|e| win_error("connect to the service manager for", name, e))?;
    let (account_name, account_password) = match &opts.account {
        Account::LocalSystem => (None, None),
        Account::User { name, password } => (
            Some(OsString::from(name)),
            password.as_ref().map(|p| OsString::from(p.expose())),
        ),
    };
    let info = ServiceInfo {
        name: name.into(),
        display_name: super::display_name(name).into(),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: opts.exe.clone(),
        launch_arguments: launch_arguments(opts),
        dependencies: vec![],
        account_name,
        account_password,
    };
    let service = manager
        .create_service(
            &info,
            ServiceAccess::CHANGE_CONFIG
                | ServiceAccess::QUERY_STATUS
                | ServiceAccess::START
                | ServiceAccess::DELETE,
        )
        .map_err(|e| win_error("create", name, e))?;
    match settings::apply_all(|setting| apply(&service, setting)) {
        Ok(skipped) => Ok(skipped
            .into_iter()
            .map(|(setting, e)| {
                let text = super::windows_detail(&e);
                settings::skipped_warning(setting, name, &text)
            })
            .collect()),
        Err((setting, e)) => {
            // Not started yet, so it goes as soon as our handle closes.
            let cleanup = service.delete().err().map(|e| super::windows_detail(&e));
            Err(ServiceError::InstallRolledBack {
                name: name.to_string(),
                error: Box::new(win_error(setting.action(), name, e)),
                cleanup,
            })
        }
    }
}

fn open_manager(name: &str) -> Result<ServiceManager, ServiceError> {
    ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .map_err(|e| win_error("connect to the service manager for", name, e))
}

/// Wait until the service reports `Stopped` or `STOP_WAIT` passes.
fn wait_stopped(
    service: &windows_service::service::Service,
    name: &str,
) -> Result<(), ServiceError> {
    let deadline = Instant::now() + STOP_WAIT;
    loop {
        let status = service
            .query_status()
            .map_err(|e| win_error("query", name, e))?;
        if status.current_state == ServiceState::Stopped {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(ServiceError::Io {
                action: "stop service",
                path: PathBuf::from(name),
                hint: ": it is still stopping; wait and check `onec-backup-bot service status`",
                source: std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out after 60 s"),
            });
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Ask the service to stop unless it already is stopped, then wait.
fn stop_and_wait(
    service: &windows_service::service::Service,
    name: &str,
) -> Result<(), ServiceError> {
    let status = service
        .query_status()
        .map_err(|e| win_error("query", name, e))?;
    if status.current_state != ServiceState::Stopped {
        match service.stop() {
            Ok(_) => {}
            Err(windows_service::Error::Winapi(e))
                if e.raw_os_error() == Some(ERROR_SERVICE_NOT_ACTIVE) => {}
            Err(e) => return Err(win_error("stop", name, e)),
        }
        wait_stopped(service, name)?;
    }
    Ok(())
}

/// Stop the service if it runs, wait for it, and delete it.
pub fn uninstall(name: &str) -> Result<(), ServiceError> {
    let manager = open_manager(name)?;
    let service = manager
        .open_service(
            name,
            ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
        )
        .map_err(|e| win_error("open", name, e))?;
    stop_and_wait(&service, name)?;
    service.delete().map_err(|e| win_error("delete", name, e))
}

pub fn start(name: &str) -> Result<(), ServiceError> {
    let service = open_manager(name)?
        .open_service(name, ServiceAccess::START)
        .map_err(|e| win_error("open", name, e))?;
    service
        .start(&[] as &[&OsStr])
        .map_err(|e| win_error("start", name, e))
}

pub fn stop(name: &str) -> Result<(), ServiceError> {
    let service = open_manager(name)?
        .open_service(name, ServiceAccess::QUERY_STATUS | ServiceAccess::STOP)
        .map_err(|e| win_error("open", name, e))?;
    stop_and_wait(&service, name)
}

/// One line: "running (pid 1234)", "stopped", "not installed", …
pub fn status(name: &str) -> Result<String, ServiceError> {
    let manager = open_manager(name)?;
    let service = match manager.open_service(name, ServiceAccess::QUERY_STATUS) {
        Ok(s) => s,
        Err(windows_service::Error::Winapi(e))
            if e.raw_os_error() == Some(ERROR_SERVICE_DOES_NOT_EXIST) =>
        {
            return Ok("not installed".to_string());
        }
        Err(e) => return Err(win_error("open", name, e)),
    };
    let status = service
        .query_status()
        .map_err(|e| win_error("query", name, e))?;
    let state = match status.current_state {
        ServiceState::Stopped => "stopped",
        ServiceState::StartPending => "starting",
        ServiceState::StopPending => "stopping",
        ServiceState::Running => "running",
        ServiceState::ContinuePending => "resuming",
        ServiceState::PausePending => "pausing",
        ServiceState::Paused => "paused",
    };
    Ok(match status.process_id {
        Some(pid) if pid != 0 => format!("{state} (pid {pid})"),
        _ => state.to_string(),
    })
}

/// The body of the service: runs the agent until `stop` is cancelled and
/// returns its exit code (0 = success). `report(ms)` tells the SCM the stop
/// needs up to `ms` more milliseconds; it is ignored before a stop request.
pub type ServiceBody = fn(stop: Cancel, report: &dyn Fn(u32)) -> i32;

static SERVICE: OnceLock<(String, ServiceBody)> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

/// Hand the process to the service control manager: blocks until the
/// service stops. Must be called from the process the SCM started
/// (`service-run`); in a console it fails with a hint to use `run`.
pub fn run_as_service(name: &str, body: ServiceBody) -> Result<(), ServiceError> {
    if SERVICE.set((name.to_string(), body)).is_err() {
        return Err(ServiceError::Io {
            action: "start service",
            path: PathBuf::from(name),
            hint: "",
            source: std::io::Error::other("the service dispatcher already ran in this process"),
        });
    }
    service_dispatcher::start(name, ffi_service_main).map_err(|e| win_error("run", name, e))
}

/// The folder services start in: the config's folder (from `--config` in
/// the process arguments), else the executable's folder — never
/// `C:\Windows\System32`, where relative paths in the config would point.
fn service_working_dir() -> Option<PathBuf> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let config = args.iter().enumerate().find_map(|(i, a)| {
        if a == "--config" {
            args.get(i + 1).map(PathBuf::from)
        } else {
            a.to_str()
                .and_then(|s| s.strip_prefix("--config="))
                .map(PathBuf::from)
        }
    });
    let base = match config {
        Some(c) => c,
        None => std::env::current_exe().ok()?,
    };
    base.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
}

fn service_main(_arguments: Vec<OsString>) {
    let Some((name, body)) = SERVICE.get() else {
        return;
    };
    if let Err(e) = run_service(name, *body) {
        tracing::error!("service {name}: {e}");
    }
}

fn status_of(
    state: ServiceState,
    accept: ServiceControlAccept,
    checkpoint: u32,
    wait_hint_ms: u32,
    exit_code: ServiceExitCode,
) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: accept,
        exit_code,
        checkpoint,
        wait_hint: Duration::from_millis(wait_hint_ms as u64),
        process_id: None,
    }
}

fn run_service(name: &str, body: ServiceBody) -> Result<(), ServiceError> {
    let stop = Cancel::new();
    let checkpoint = std::sync::Arc::new(AtomicU32::new(1));
    let handle_cell: std::sync::Arc<OnceLock<service_control_handler::ServiceStatusHandle>> =
        Default::default();

    let (h_stop, h_cell, h_checkpoint) = (stop.clone(), handle_cell.clone(), checkpoint.clone());
    let handle = service_control_handler::register(name, move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            h_stop.cancel();
            if let Some(h) = h_cell.get() {
                let cp = h_checkpoint.fetch_add(1, Ordering::SeqCst);
                let _ = h.set_service_status(status_of(
                    ServiceState::StopPending,
                    ServiceControlAccept::empty(),
                    cp,
                    STOP_HINT_MS,
                    ServiceExitCode::Win32(0),
                ));
            }
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    })
    .map_err(|e| win_error("register the control handler of", name, e))?;
    let _ = handle_cell.set(handle);

    let set = |status: ServiceStatus| {
        handle
            .set_service_status(status)
            .map_err(|e| win_error("report status of", name, e))
    };
    set(status_of(
        ServiceState::StartPending,
        ServiceControlAccept::empty(),
        checkpoint.fetch_add(1, Ordering::SeqCst),
        10_000,
        ServiceExitCode::Win32(0),
    ))?;
    if let Some(dir) = service_working_dir()
        && let Err(e) = std::env::set_current_dir(&dir)
    {
        tracing::warn!("service {name}: cannot change to {}: {e}", dir.display());
    }
    set(status_of(
        ServiceState::Running,
        ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN,
        0,
        0,
        ServiceExitCode::Win32(0),
    ))?;

    let report = |wait_hint_ms: u32| {
        if stop.is_cancelled() {
            let _ = handle.set_service_status(status_of(
                ServiceState::StopPending,
                ServiceControlAccept::empty(),
                checkpoint.fetch_add(1, Ordering::SeqCst),
                wait_hint_ms,
                ServiceExitCode::Win32(0),
            ));
        }
    };
    let code = body(stop.clone(), &report);

    let exit_code = if code == 0 {
        ServiceExitCode::Win32(0)
    } else {
        ServiceExitCode::ServiceSpecific(code as u32)
    };
    set(status_of(
        ServiceState::Stopped,
        ServiceControlAccept::empty(),
        0,
        0,
        exit_code,
    ))
}
