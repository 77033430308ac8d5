//! Everything that knows 1C:Enterprise: finding the installed platform
//! (`1cv8`, `ibcmd`), running a Designer or `ibcmd` dump under a timeout,
//! decoding and explaining the Designer's `/Out` log, telling whether a file
//! base is in use, and checking `.1CD` / `.dt` files without 1C.
//!
//! The dump runners share one contract: a [`DumpJob`] in, a [`DumpOutcome`]
//! or an [`OnecError`] out. Success means exit code 0, a `/DumpResult` of 0
//! (when 1C wrote one) and a non-empty `.dt`; anything else is an error that
//! quotes the meaningful lines of 1C's log with the password and every other
//! known secret masked. The restore runners (a `.dt` loaded into a new or
//! existing file infobase) take a [`RestoreJob`] and are judged the same way,
//! on the same machinery. 1C runs without our secret environment variables
//! (nor any variable holding the job's password).

pub mod enterprise;
pub mod files;
pub mod generate;
pub mod inside;
pub mod outlog;

mod designer;
mod ibcmd;
mod inuse;
mod locate;
mod process;
#[cfg(test)]
mod props;

use crate::cancel::Cancel;
use crate::config::Secret;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use designer::{create_args, designer_args, dump_designer, restore_designer, restore_ib_args};
pub use ibcmd::{dump_ibcmd, ibcmd_args, ibcmd_restore_args, restore_ibcmd};
pub use inuse::{Evidence, InUse, check_idle};
pub use locate::{
    default_roots, designer_file_name, locate_designer, locate_designer_in, locate_ibcmd,
    parse_version,
};
pub use outlog::Explanation;

/// One dump to run. Paths are used as given; `dt_path` should be a temporary
/// name that the caller renames once the dump is verified.
#[derive(Debug, Clone, Copy)]
pub struct DumpJob<'a> {
    /// `1cv8` for [`dump_designer`], `ibcmd` for [`dump_ibcmd`].
    pub exe: &'a Path,
    /// The infobase folder (holding `1Cv8.1CD`).
    pub base: &'a Path,
    pub user: Option<&'a str>,
    pub password: Option<&'a Secret>,
    /// Designer only (`/UC`): the code that lets us in while new sessions are blocked.
    pub lock_code: Option<&'a str>,
    /// Where the `.dt` must be written (a temp name).
    pub dt_path: &'a Path,
    /// `/Out` log (Designer) or captured console (`ibcmd`); kept after the run.
    pub out_log: &'a Path,
    pub timeout: Duration,
    pub cancel: &'a Cancel,
}

/// A dump that 1C reported as successful and that produced a non-empty file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpOutcome {
    pub exit_code: i32,
    pub dt_size: u64,
    /// The decoded log (password masked).
    pub log_text: String,
    pub duration: Duration,
}

/// One `.dt` to load into a file infobase (`1cv8 DESIGNER /RestoreIB` or
/// `ibcmd infobase restore`).
#[derive(Debug, Clone, Copy)]
pub struct RestoreJob<'a> {
    /// `1cv8` for [`restore_designer`], `ibcmd` for [`restore_ibcmd`].
    pub exe: &'a Path,
    /// The infobase folder to load into.
    pub base: &'a Path,
    /// Create the infobase first (the folder holds no `1Cv8.1CD` yet):
    /// `CREATEINFOBASE` for the Designer, `--create-database` for ibcmd.
    pub create: bool,
    /// The dump to load.
    pub dt_path: &'a Path,
    /// Credentials of the infobase being loaded into (an existing one; a
    /// new one has no users). After loading, the dump's own users apply.
    pub user: Option<&'a str>,
    pub password: Option<&'a Secret>,
    /// `/Out` log (Designer) or captured console (`ibcmd`).
    pub out_log: &'a Path,
    /// For the whole job (creating and loading).
    pub timeout: Duration,
    pub cancel: &'a Cancel,
}

/// A load that 1C reported as successful.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreOutcome {
    pub exit_code: i32,
    /// The decoded log of the load (password masked).
    pub log_text: String,
    pub duration: Duration,
}

/// Why 1C could not be found, started, or did not produce a dump.
#[derive(Debug, thiserror::Error)]
pub enum OnecError {
    #[error("{program} not found ({searched}); set {env} to its full path")]
    NotFound {
        program: &'static str,
        /// What was looked at, in words (a path or a list of folders).
        searched: String,
        env: &'static str,
    },
    #[error(
        "refusing to run {exe}: {reason}; set ONEC_EXE to 1cv8.exe in the bin folder of \
         the platform version, e.g. C:\\Program Files\\1cv8\\8.3.24.1691\\bin\\1cv8.exe"
    )]
    Forbidden { exe: PathBuf, reason: &'static str },
    #[error("cannot start {exe}: {source}")]
    Spawn {
        exe: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot prepare {path}: {source}")]
    Prepare {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("1C {what} timed out after {seconds} s: {}{}", Explanation::Hang, quote(.log))]
    Timeout {
        /// What 1C was doing: `dump`, `infobase creation`, `restore`.
        what: &'static str,
        seconds: u64,
        log: Vec<String>,
    },
    #[error("1C {what} cancelled: stop requested{}", quote(.log))]
    Cancelled {
        what: &'static str,
        log: Vec<String>,
    },
    #[error(
        "1C {what} failed (exit code {exit_code}{}){}{}",
        .dump_result.map(|r| format!(", DumpResult {r}")).unwrap_or_default(),
        .explanation.map(|e| format!(": {e}")).unwrap_or_default(),
        quote(.log)
    )]
    Failed {
        what: &'static str,
        exit_code: i32,
        dump_result: Option<i32>,
        explanation: Option<Explanation>,
        log: Vec<String>,
    },
    #[error("1C reported success but wrote no dump at {path}{}", quote(.log))]
    NoDump { path: PathBuf, log: Vec<String> },
    #[error("1C reported success but the dump at {path} is empty{}", quote(.log))]
    EmptyDump { path: PathBuf, log: Vec<String> },
}

fn quote(log: &[String]) -> String {
    if log.is_empty() {
        String::new()
    } else {
        format!("; 1C log: {}", log.join(" | "))
    }
}

impl OnecError {
    /// The exit code of 1C when it ran to the end.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Self::Failed { exit_code, .. } => Some(*exit_code),
            _ => None,
        }
    }

    /// The quoted log lines (password masked), empty when there are none.
    pub fn log_excerpt(&self) -> &[String] {
        match self {
            Self::Timeout { log, .. }
            | Self::Cancelled { log, .. }
            | Self::Failed { log, .. }
            | Self::NoDump { log, .. }
            | Self::EmptyDump { log, .. } => log,
            _ => &[],
        }
    }

    /// What the failure means, when known, as a code the reader says in
    /// its own language.
    pub fn explanation_code(&self) -> Option<Explanation> {
        match self {
            Self::Failed { explanation, .. } => *explanation,
            Self::Timeout { .. } => Some(Explanation::Hang),
            _ => None,
        }
    }

    /// What the failure means in plain English words, when known (as in the
    /// error message).
    pub fn explanation(&self) -> Option<&'static str> {
        self.explanation_code().map(|x| x.words(&crate::text::EN))
    }
}

/// Mask a text that may quote 1C's output: the password, then every secret
/// the process knows ([`crate::logging::mask`]: the whole configuration's
/// secrets once logging is set up, `/UC` codes, URL user-info).
fn mask(text: &str, password: Option<&Secret>) -> String {
    let text = match password {
        Some(p) => p.mask_in(text),
        None => text.to_string(),
    };
    crate::logging::mask::mask(&text)
}

/// A command for a 1C program: our environment minus every variable that
/// holds one of our secrets (bot token, API tokens, passwords, proxy and
/// sink URLs) and minus any variable whose value is the job's `password`
/// (one named by `restore --password-env`). The rest is kept: 1C on Windows
/// needs `SystemRoot`, `TEMP`, `APPDATA` and more, so the environment is
/// never cleared whole.
fn child_command(exe: &Path, password: Option<&Secret>) -> std::process::Command {
    let mut cmd = std::process::Command::new(exe);
    for name in crate::config::keys::secret_env_names() {
        cmd.env_remove(name);
    }
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        for (name, value) in std::env::vars_os() {
            if value == *p.expose() {
                cmd.env_remove(name);
            }
        }
    }
    cmd
}

/// The key lines of a log, each with the password masked.
fn masked_key_lines(text: &str, password: Option<&Secret>) -> Vec<String> {
    outlog::key_lines(text)
        .iter()
        .map(|l| mask(l, password))
        .collect()
}

/// Render a command line for logs: the password is replaced by `***` in
/// `/P...` and `--password=...`, the lock code in `/UC...`, and both are
/// masked anywhere else they appear.
pub fn render_command(
    exe: &Path,
    args: &[std::ffi::OsString],
    password: Option<&Secret>,
) -> String {
    // Options whose value is the next argument (a path that may start with /P).
    const TAKES_PATH: &[&str] = &["/F", "/DumpIB", "/RestoreIB", "/Out", "/DumpResult"];
    let mut out = format!("\"{}\"", exe.display());
    let mut prev = String::new();
    for arg in args {
        let arg = arg.to_string_lossy().into_owned();
        let is_value = TAKES_PATH.iter().any(|o| o.eq_ignore_ascii_case(&prev));
        let shown = if !is_value && arg.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("/P")) {
            "/P***".to_string()
        } else if arg.starts_with("--password=") {
            "--password=***".to_string()
        } else if !is_value && arg.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("/UC")) {
            "/UC***".to_string()
        } else {
            mask(&arg, password)
        };
        out.push(' ');
        if shown.contains(' ') {
            out.push('"');
            out.push_str(&shown);
            out.push('"');
        } else {
            out.push_str(&shown);
        }
        prev = arg;
    }
    out
}

/// Remove a file left by an earlier run so it is never taken for this run's
/// output. A missing file is fine.
fn remove_stale(path: &Path) -> Result<(), OnecError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(OnecError::Prepare {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Read and decode a log 1C may not have written; masked, empty if absent.
fn read_log(path: &Path, password: Option<&Secret>) -> String {
    match std::fs::read(path) {
        Ok(bytes) => mask(&outlog::decode(&bytes), password),
        Err(_) => String::new(),
    }
}

/// What one 1C run needs besides its arguments.
struct Launch<'a> {
    exe: &'a Path,
    /// The infobase, for the log line.
    base: &'a Path,
    password: Option<&'a Secret>,
    out_log: &'a Path,
    timeout: Duration,
    cancel: &'a Cancel,
    /// What 1C is doing, for errors: `dump`, `infobase creation`, `restore`.
    what: &'static str,
}

/// Run `l.exe args` with its output going to `stdout` and `stderr`, and
/// judge how it ended: `late` gives the `/DumpResult` value once the
/// process has ended, then the log is read. Success needs exit code 0 and
/// DumpResult 0 when written; returns the exit code and the decoded log.
fn run_1c(
    l: &Launch,
    args: &[std::ffi::OsString],
    (stdout, stderr): (std::process::Stdio, std::process::Stdio),
    late: impl FnOnce(&process::RunEnd) -> Option<i32>,
) -> Result<(i32, String), OnecError> {
    tracing::info!(exe = %l.exe.display(), base = %l.base.display(), "starting 1C {}", l.what);
    tracing::debug!("command: {}", render_command(l.exe, args, l.password));
    let mut cmd = child_command(l.exe, l.password);
    for arg in args {
        // A connection string (`File="<dir>";`) is parsed by 1C itself.
        if arg.as_encoded_bytes().starts_with(b"File=\"") {
            crate::platform::arg_verbatim(&mut cmd, arg);
        } else {
            cmd.arg(arg);
        }
    }
    cmd.stdout(stdout).stderr(stderr);
    let end = process::run(cmd, l.timeout, l.cancel).map_err(|source| OnecError::Spawn {
        exe: l.exe.to_path_buf(),
        source,
    })?;
    let dump_result = late(&end);
    let log_text = read_log(l.out_log, l.password);
    let log = || masked_key_lines(&log_text, l.password);
    let exit_code = match end {
        process::RunEnd::TimedOut => {
            let seconds = l.timeout.as_secs_f64().ceil() as u64;
            let what = l.what;
            let log = log();
            return Err(OnecError::Timeout { what, seconds, log });
        }
        process::RunEnd::Cancelled => {
            let (what, log) = (l.what, log());
            return Err(OnecError::Cancelled { what, log });
        }
        // Killed by a signal: no code; report it as a failure all the same.
        process::RunEnd::Exited(code) => code.unwrap_or(-1),
    };
    if exit_code != 0 || dump_result.is_some_and(|r| r != 0) {
        return Err(OnecError::Failed {
            what: l.what,
            exit_code,
            dump_result,
            explanation: outlog::explain(&log_text),
            log: log(),
        });
    }
    Ok((exit_code, log_text))
}

/// Log how a run ended and pass the outcome on.
fn logged<T>(
    what: &str,
    outcome: Result<T, OnecError>,
    started: std::time::Instant,
) -> Result<T, OnecError> {
    match &outcome {
        Ok(_) => tracing::info!(secs = started.elapsed().as_secs(), "1C {what} finished"),
        Err(e) => tracing::warn!("1C {what} failed: {e}"),
    }
    outcome
}

/// Run `job.exe args` for a dump and judge it ([`run_1c`]), then check
/// that it produced a non-empty `.dt`.
fn run_dump(
    job: &DumpJob,
    args: &[std::ffi::OsString],
    stdio: (std::process::Stdio, std::process::Stdio),
    late: impl FnOnce(&process::RunEnd) -> Option<i32>,
) -> Result<DumpOutcome, OnecError> {
    let launch = Launch {
        exe: job.exe,
        base: job.base,
        password: job.password,
        out_log: job.out_log,
        timeout: job.timeout,
        cancel: job.cancel,
        what: "dump",
    };
    let started = std::time::Instant::now();
    let outcome = run_1c(&launch, args, stdio, late).and_then(|(exit_code, log_text)| {
        let log = || masked_key_lines(&log_text, job.password);
        let dt_size = match std::fs::metadata(job.dt_path) {
            Ok(m) => m.len(),
            Err(_) => {
                return Err(OnecError::NoDump {
                    path: job.dt_path.to_path_buf(),
                    log: log(),
                });
            }
        };
        if dt_size == 0 {
            return Err(OnecError::EmptyDump {
                path: job.dt_path.to_path_buf(),
                log: log(),
            });
        }
        Ok(DumpOutcome {
            exit_code,
            dt_size,
            log_text,
            duration: started.elapsed(),
        })
    });
    logged("dump", outcome, started)
}

/// The [`Launch`] of a restore step, with the time left of the job's timeout.
fn restore_launch<'a>(
    job: &RestoreJob<'a>,
    what: &'static str,
    started: std::time::Instant,
) -> Launch<'a> {
    Launch {
        exe: job.exe,
        base: job.base,
        password: job.password,
        out_log: job.out_log,
        timeout: job.timeout.saturating_sub(started.elapsed()),
        cancel: job.cancel,
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn render_command_masks_the_password() {
        let pwd = Secret::new("s3cr3t");
        let args: Vec<OsString> = [
            "DESIGNER",
            "/F",
            "C:\\My Base",
            "/NAdmin",
            "/Ps3cr3t",
            "--password=s3cr3t",
            "x-s3cr3t-y",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let shown = render_command(Path::new("1cv8"), &args, Some(&pwd));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        let paths: Vec<OsString> = ["/F", "/Pool/base", "/Pxyz"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(
            render_command(Path::new("1cv8"), &paths, None),
            "\"1cv8\" /F /Pool/base /P***"
        );
        assert_eq!(
            shown,
            "\"1cv8\" DESIGNER /F \"C:\\My Base\" /NAdmin /P*** --password=*** x-***-y"
        );
    }

    #[test]
    fn render_command_masks_the_lock_code() {
        let args: Vec<OsString> = ["DESIGNER", "/F", "/srv/b", "/UC4711", "/DumpIB", "d"]
            .iter()
            .map(OsString::from)
            .collect();
        let shown = render_command(Path::new("1cv8"), &args, None);
        assert_eq!(shown, "\"1cv8\" DESIGNER /F /srv/b /UC*** /DumpIB d");
    }

    #[test]
    fn one_c_logs_are_masked_with_every_known_secret_not_only_the_password() {
        crate::logging::mask::register(crate::logging::Masker::new(["bot-token-in-1c-log"]));
        let pwd = Secret::new("base-pw");
        let text = "Ошибка: base-pw bot-token-in-1c-log /UC4711";
        let lines = masked_key_lines(text, Some(&pwd));
        assert_eq!(lines, ["Ошибка: *** *** /UC***"]);
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("out.log");
        std::fs::write(&log, text).unwrap();
        assert_eq!(read_log(&log, Some(&pwd)), "Ошибка: *** *** /UC***");
    }

    #[test]
    fn children_get_the_environment_without_our_secrets() {
        let cmd = child_command(Path::new("1cv8"), None);
        let removed: Vec<String> = cmd
            .get_envs()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        for name in [
            "BOT_TOKEN",
            "API_TOKEN",
            "API_READ_TOKEN",
            "ONEC_UP",
            "ONEC_PASSWORD",
        ] {
            assert!(removed.iter().any(|r| r == name), "{name}: {removed:?}");
        }
        for kept in ["PATH", "SystemRoot", "TEMP", "ONEC_BASE_PATH"] {
            assert!(!removed.iter().any(|r| r == kept), "{kept} removed");
        }
        assert!(cmd.get_envs().all(|(_, v)| v.is_none()), "nothing is set");
    }

    #[test]
    fn children_do_not_inherit_a_variable_holding_the_password() {
        let (name, value) = std::env::vars_os()
            .find(|(_, v)| v.to_str().is_some_and(|v| !v.is_empty()))
            .expect("some variable is set");
        let pwd = Secret::new(value.to_str().unwrap());
        let cmd = child_command(Path::new("1cv8"), Some(&pwd));
        assert!(
            cmd.get_envs().any(|(k, v)| k == name && v.is_none()),
            "{name:?} is passed on"
        );
    }

    #[test]
    fn error_accessors_and_display() {
        let e = OnecError::Failed {
            what: "dump",
            exit_code: 1,
            dump_result: Some(1),
            explanation: outlog::explain("Ошибка установки монопольного режима"),
            log: vec!["Ошибка установки монопольного режима".into()],
        };
        assert_eq!(e.exit_code(), Some(1));
        assert_eq!(e.log_excerpt().len(), 1);
        assert!(
            e.explanation()
                .unwrap()
                .contains("users are still connected")
        );
        let text = e.to_string();
        assert!(
            text.starts_with("1C dump failed (exit code 1, DumpResult 1): users"),
            "{text}"
        );
        assert!(
            text.ends_with("; 1C log: Ошибка установки монопольного режима"),
            "{text}"
        );

        let t = OnecError::Timeout {
            what: "dump",
            seconds: 2,
            log: vec![],
        };
        assert_eq!(t.exit_code(), None);
        assert!(t.explanation().unwrap().contains("modal dialog"));
        assert!(t.to_string().contains("after 2 s"));
    }
}
