//! The 1C client in `ENTERPRISE` mode with a start parameter of the
//! standard subsystem library (BSP): `/C"ЗавершитьРаботуПользователей"`
//! asks every session to close and refuses new ones without the lock code
//! (`/UC<code>`); `/C"РазрешитьРаботуПользователей"` lifts that. The
//! locking session keeps running while BSP waits for the others, so it is
//! started in the background ([`start_lock`]) and ended by the caller; the
//! unlock runs to its end ([`allow_sessions`]). Credentials and the code
//! are handled as in the Designer runs: masked in every log line and error,
//! never in the child's environment.

use super::{Launch, OnecError, mask, masked_key_lines, outlog, process, render_command};
use crate::cancel::Cancel;
use crate::config::Secret;
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// BSP's start parameter that ends users' sessions and locks the base.
pub const END_SESSIONS: &str = "ЗавершитьРаботуПользователей";
/// BSP's start parameter that lifts the lock.
pub const ALLOW_SESSIONS: &str = "РазрешитьРаботуПользователей";

/// One `ENTERPRISE` run against a file infobase.
#[derive(Debug, Clone, Copy)]
pub struct SessionsJob<'a> {
    /// `1cv8` (the same executable as the Designer's).
    pub exe: &'a Path,
    pub base: &'a Path,
    pub user: Option<&'a str>,
    pub password: Option<&'a Secret>,
    pub lock_code: &'a Secret,
    /// `/Out` log of the run.
    pub out_log: &'a Path,
    /// For [`allow_sessions`]: how long the unlock may take.
    pub timeout: Duration,
}

/// `ENTERPRISE /F <base> [/N<user>] [/P<pwd>] /C<param> /UC<code> /Out <log>
/// /DisableStartupDialogs /DisableStartupMessages`.
pub fn enterprise_args(job: &SessionsJob, param: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["ENTERPRISE".into(), "/F".into(), job.base.into()];
    if let Some(user) = job.user.filter(|u| !u.is_empty()) {
        args.push(format!("/N{user}").into());
    }
    if let Some(pwd) = job.password.filter(|p| !p.is_empty()) {
        args.push(format!("/P{}", pwd.expose()).into());
    }
    args.push(format!("/C{param}").into());
    args.push(format!("/UC{}", job.lock_code.expose()).into());
    args.extend([
        "/Out".into(),
        job.out_log.into(),
        "/DisableStartupDialogs".into(),
        "/DisableStartupMessages".into(),
    ]);
    args
}

/// The session that locks the base, running until BSP has ended the
/// others (it then exits by itself) or the caller ends it.
pub struct LockingSession<'a> {
    job: SessionsJob<'a>,
    proc: process::Background,
}

/// Start `ENTERPRISE … /C"ЗавершитьРаботуПользователей" /UC<code>` in the
/// background.
pub fn start_lock<'a>(job: &SessionsJob<'a>) -> Result<LockingSession<'a>, OnecError> {
    super::locate::check_allowed(job.exe)?;
    super::remove_stale(job.out_log)?;
    let args = enterprise_args(job, END_SESSIONS);
    tracing::info!(exe = %job.exe.display(), base = %job.base.display(), "starting the 1C session that locks the base");
    tracing::debug!("command: {}", render_command(job.exe, &args, job.password));
    let mut cmd = super::child_command(job.exe, job.password);
    cmd.args(&args).stdout(Stdio::null()).stderr(Stdio::null());
    let proc = process::Background::start(cmd).map_err(|source| OnecError::Spawn {
        exe: job.exe.to_path_buf(),
        source,
    })?;
    Ok(LockingSession { job: *job, proc })
}

impl LockingSession<'_> {
    /// `Ok(true)` once the session ended by itself with success, `Ok(false)`
    /// while it runs, the error (quoting its log) when it failed.
    pub fn finished(&mut self) -> Result<bool, OnecError> {
        let code = match self.proc.exited() {
            Ok(None) => return Ok(false),
            Ok(Some(code)) => code.unwrap_or(-1),
            Err(source) => {
                return Err(OnecError::Spawn {
                    exe: self.job.exe.to_path_buf(),
                    source,
                });
            }
        };
        if code == 0 {
            return Ok(true);
        }
        // 1C writes its log a little after it exits.
        std::thread::sleep(Duration::from_millis(300));
        let text = super::read_log(self.job.out_log, self.job.password);
        Err(OnecError::Failed {
            what: "session lock",
            exit_code: code,
            dump_result: None,
            explanation: outlog::explain(&text),
            log: masked_key_lines(&text, self.job.password),
        })
    }

    /// End the session (and whatever it started) if it still runs.
    pub fn end(mut self) {
        self.proc.end();
    }
}

/// Run `ENTERPRISE … /C"РазрешитьРаботуПользователей" /UC<code>` to its
/// end (never cancelled: users must be let back in), within `job.timeout`.
pub fn allow_sessions(job: &SessionsJob) -> Result<(), OnecError> {
    super::locate::check_allowed(job.exe)?;
    super::remove_stale(job.out_log)?;
    let launch = Launch {
        exe: job.exe,
        base: job.base,
        password: job.password,
        out_log: job.out_log,
        timeout: job.timeout,
        cancel: &Cancel::new(),
        what: "session unlock",
    };
    let args = enterprise_args(job, ALLOW_SESSIONS);
    let quiet = (Stdio::null(), Stdio::null());
    super::run_1c(&launch, &args, quiet, |_| None).map(|_| ())
}

/// `text` with the job's password and code masked (for callers quoting 1C).
pub fn masked(job: &SessionsJob, text: &str) -> String {
    job.lock_code.mask_in(&mask(text, job.password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_carry_the_parameter_and_code_and_the_log_hides_them() {
        let pwd = Secret::new("pw-1");
        let code = Secret::new("code-4711");
        let job = SessionsJob {
            exe: Path::new("1cv8"),
            base: Path::new("/srv/buh"),
            user: Some("Админ"),
            password: Some(&pwd),
            lock_code: &code,
            out_log: Path::new("/tmp/out.log"),
            timeout: Duration::from_secs(60),
        };
        let args = enterprise_args(&job, END_SESSIONS);
        let text: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            text,
            [
                "ENTERPRISE",
                "/F",
                "/srv/buh",
                "/NАдмин",
                "/Ppw-1",
                "/CЗавершитьРаботуПользователей",
                "/UCcode-4711",
                "/Out",
                "/tmp/out.log",
                "/DisableStartupDialogs",
                "/DisableStartupMessages"
            ]
        );
        let shown = render_command(job.exe, &args, job.password);
        assert!(
            !shown.contains("pw-1") && !shown.contains("code-4711"),
            "{shown}"
        );
        assert_eq!(masked(&job, "x code-4711 pw-1"), "x *** ***");
    }
}
