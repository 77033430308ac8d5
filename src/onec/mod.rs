//! Everything that knows 1C:Enterprise: finding the installed platform
//! (`1cv8`, `ibcmd`), running a Designer or `ibcmd` dump under a timeout,
//! decoding and explaining the Designer's `/Out` log, telling whether a file
//! base is in use, and checking `.1CD` / `.dt` files without 1C.
//!
//! The dump runners share one contract: a [`DumpJob`] in, a [`DumpOutcome`]
//! or an [`OnecError`] out. Success means exit code 0, a `/DumpResult` of 0
//! (when 1C wrote one) and a non-empty `.dt`; anything else is an error that
//! quotes the meaningful lines of 1C's log with the password and every other
//! known secret masked. 1C runs without our secret environment variables.

pub mod files;
pub mod generate;
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

pub use designer::{designer_args, dump_designer};
pub use ibcmd::{dump_ibcmd, ibcmd_args};
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
    #[error("1C dump timed out after {seconds} s: {}{}", Explanation::Hang, quote(.log))]
    Timeout { seconds: u64, log: Vec<String> },
    #[error("1C dump cancelled: stop requested{}", quote(.log))]
    Cancelled { log: Vec<String> },
    #[error(
        "1C dump failed (exit code {exit_code}{}){}{}",
        .dump_result.map(|r| format!(", DumpResult {r}")).unwrap_or_default(),
        .explanation.map(|e| format!(": {e}")).unwrap_or_default(),
        quote(.log)
    )]
    Failed {
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
            | Self::Cancelled { log }
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
/// sink URLs). The rest is kept: 1C on Windows needs `SystemRoot`, `TEMP`,
/// `APPDATA` and more, so the environment is never cleared whole.
fn child_command(exe: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(exe);
    for name in crate::config::keys::secret_env_names() {
        cmd.env_remove(name);
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
    const TAKES_PATH: &[&str] = &["/F", "/DumpIB", "/Out", "/DumpResult"];
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

/// Run `job.exe args` for a dump (`what`, e.g. `ibcmd dump`) with its
/// output going to `stdout` and `stderr`, and judge it: `late` gives the
/// `/DumpResult` value once the process has ended, then the log is read.
fn run_dump(
    job: &DumpJob,
    what: &str,
    args: &[std::ffi::OsString],
    (stdout, stderr): (std::process::Stdio, std::process::Stdio),
    late: impl FnOnce(&process::RunEnd) -> Option<i32>,
) -> Result<DumpOutcome, OnecError> {
    tracing::info!(exe = %job.exe.display(), base = %job.base.display(), "starting {what}");
    tracing::debug!("command: {}", render_command(job.exe, args, job.password));
    let mut cmd = child_command(job.exe);
    cmd.args(args).stdout(stdout).stderr(stderr);
    let started = std::time::Instant::now();
    let end = process::run(cmd, job.timeout, job.cancel).map_err(|source| OnecError::Spawn {
        exe: job.exe.to_path_buf(),
        source,
    })?;
    let dump_result = late(&end);
    let log_text = read_log(job.out_log, job.password);
    let outcome = judge(job, end, log_text, dump_result, started);
    match &outcome {
        Ok(o) => tracing::info!(
            bytes = o.dt_size,
            secs = o.duration.as_secs(),
            "{what} finished"
        ),
        Err(e) => tracing::warn!("{what} failed: {e}"),
    }
    outcome
}

/// Turn how the run ended, the log and the `/DumpResult` value into the
/// outcome: success needs exit code 0, DumpResult 0 when written, and a
/// non-empty `.dt`.
fn judge(
    job: &DumpJob,
    end: process::RunEnd,
    log_text: String,
    dump_result: Option<i32>,
    started: std::time::Instant,
) -> Result<DumpOutcome, OnecError> {
    let log = masked_key_lines(&log_text, job.password);
    let exit_code = match end {
        process::RunEnd::TimedOut => {
            let seconds = job.timeout.as_secs_f64().ceil() as u64;
            return Err(OnecError::Timeout { seconds, log });
        }
        process::RunEnd::Cancelled => return Err(OnecError::Cancelled { log }),
        // Killed by a signal: no code; report it as a failure all the same.
        process::RunEnd::Exited(code) => code.unwrap_or(-1),
    };
    if exit_code != 0 || dump_result.is_some_and(|r| r != 0) {
        return Err(OnecError::Failed {
            exit_code,
            dump_result,
            explanation: outlog::explain(&log_text),
            log,
        });
    }
    let dt_size = match std::fs::metadata(job.dt_path) {
        Ok(m) => m.len(),
        Err(_) => {
            return Err(OnecError::NoDump {
                path: job.dt_path.to_path_buf(),
                log,
            });
        }
    };
    if dt_size == 0 {
        return Err(OnecError::EmptyDump {
            path: job.dt_path.to_path_buf(),
            log,
        });
    }
    Ok(DumpOutcome {
        exit_code,
        dt_size,
        log_text,
        duration: started.elapsed(),
    })
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
        let cmd = child_command(Path::new("1cv8"));
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
    fn error_accessors_and_display() {
        let e = OnecError::Failed {
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
            seconds: 2,
            log: vec![],
        };
        assert_eq!(t.exit_code(), None);
        assert!(t.explanation().unwrap().contains("modal dialog"));
        assert!(t.to_string().contains("after 2 s"));
    }
}
