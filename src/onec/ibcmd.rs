//! The `ibcmd` dump (`ibcmd infobase dump --db-path=<base> <dt>`) and load
//! (`ibcmd infobase restore --db-path=<base> [--create-database] <dt>`).
//! ibcmd has no `/Out`: its console output (stdout and stderr, UTF-8) is
//! captured into the job's log file and decoded and explained like the
//! Designer's log.

use super::{DumpJob, DumpOutcome, OnecError, RestoreJob, RestoreOutcome, remove_stale};
use crate::config::Secret;
use std::ffi::OsString;
use std::fs::File;
use std::path::Path;

/// `infobase <command> --db-path=<base> [--create-database] [--user=]
/// [--password=] <dt>`: `--name=value` options, then the file.
fn infobase_args(
    command: &str,
    base: &Path,
    create: bool,
    (user, password): (Option<&str>, Option<&Secret>),
    dt: &Path,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["infobase".into(), command.into()];
    let mut db_path = OsString::from("--db-path=");
    db_path.push(base);
    args.push(db_path);
    if create {
        args.push("--create-database".into());
    }
    if let Some(user) = user.filter(|u| !u.is_empty()) {
        args.push(format!("--user={user}").into());
    }
    if let Some(pwd) = password.filter(|p| !p.is_empty()) {
        args.push(format!("--password={}", pwd.expose()).into());
    }
    args.push(dt.into());
    args
}

/// ibcmd's arguments for a dump.
pub fn ibcmd_args(job: &DumpJob) -> Vec<OsString> {
    let creds = (job.user, job.password);
    infobase_args("dump", job.base, false, creds, job.dt_path)
}

/// ibcmd's arguments for a load.
pub fn ibcmd_restore_args(job: &RestoreJob) -> Vec<OsString> {
    let creds = (job.user, job.password);
    infobase_args("restore", job.base, job.create, creds, job.dt_path)
}

/// The log file as ibcmd's stdout and stderr.
fn console_to(log: &Path) -> Result<(std::process::Stdio, std::process::Stdio), OnecError> {
    let prepare = |source| OnecError::Prepare {
        path: log.to_path_buf(),
        source,
    };
    let out = File::create(log).map_err(prepare)?;
    let err = out.try_clone().map_err(prepare)?;
    Ok((out.into(), err.into()))
}

/// Load `job.dt_path` into `job.base` with `ibcmd` (exit code 0 means success).
pub fn restore_ibcmd(job: &RestoreJob) -> Result<RestoreOutcome, OnecError> {
    let started = std::time::Instant::now();
    let launch = super::restore_launch(job, "restore", started);
    let stdio = console_to(job.out_log)?;
    let outcome = super::run_1c(&launch, &ibcmd_restore_args(job), stdio, |_| None).map(
        |(exit_code, log_text)| RestoreOutcome {
            exit_code,
            log_text,
            duration: started.elapsed(),
        },
    );
    super::logged("restore", outcome, started)
}

/// Dump the infobase to `job.dt_path` with `ibcmd` (exit code 0 and a
/// non-empty `.dt` mean success; `lock_code` does not apply).
pub fn dump_ibcmd(job: &DumpJob) -> Result<DumpOutcome, OnecError> {
    remove_stale(job.dt_path)?;
    let to_log = console_to(job.out_log)?;
    super::run_dump(job, &ibcmd_args(job), to_log, |_| None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::Cancel;
    use crate::config::Secret;
    use std::path::Path;
    use std::time::Duration;

    #[test]
    fn builds_exact_arguments() {
        let cancel = Cancel::new();
        let pwd = Secret::new("qwe rty");
        let job = DumpJob {
            exe: Path::new("ibcmd"),
            base: Path::new("/srv/1c/base one"),
            user: Some("admin"),
            password: Some(&pwd),
            lock_code: Some("ignored"),
            dt_path: Path::new("/tmp/x.dt"),
            out_log: Path::new("/tmp/x.log"),
            timeout: Duration::from_secs(5),
            cancel: &cancel,
        };
        let expected = [
            "infobase",
            "dump",
            "--db-path=/srv/1c/base one",
            "--user=admin",
            "--password=qwe rty",
            "/tmp/x.dt",
        ];
        assert_eq!(ibcmd_args(&job), expected.map(OsString::from));
        let shown = super::super::render_command(job.exe, &ibcmd_args(&job), job.password);
        assert!(
            !shown.contains("qwe rty") && shown.contains("--password=***"),
            "{shown}"
        );
    }

    #[test]
    fn builds_exact_restore_arguments() {
        let cancel = Cancel::new();
        let job = RestoreJob {
            exe: Path::new("ibcmd"),
            base: Path::new("/srv/1c/new base"),
            create: true,
            dt_path: Path::new("/tmp/b.dt"),
            user: None,
            password: None,
            out_log: Path::new("/tmp/x.log"),
            timeout: Duration::from_secs(5),
            cancel: &cancel,
        };
        let expected = [
            "infobase",
            "restore",
            "--db-path=/srv/1c/new base",
            "--create-database",
            "/tmp/b.dt",
        ];
        assert_eq!(ibcmd_restore_args(&job), expected.map(OsString::from));
        let pwd = Secret::new("pw");
        let existing = RestoreJob {
            create: false,
            user: Some("admin"),
            password: Some(&pwd),
            ..job
        };
        let expected = [
            "infobase",
            "restore",
            "--db-path=/srv/1c/new base",
            "--user=admin",
            "--password=pw",
            "/tmp/b.dt",
        ];
        assert_eq!(ibcmd_restore_args(&existing), expected.map(OsString::from));
    }
}
