//! The `ibcmd` dump: `ibcmd infobase dump --db-path=<base> <dt>`. ibcmd has
//! no `/Out`: its console output (stdout and stderr, UTF-8) is captured into
//! the job's log file and decoded and explained like the Designer's log.

use super::{DumpJob, DumpOutcome, OnecError, remove_stale};
use std::ffi::OsString;
use std::fs::File;

/// ibcmd's arguments: `--name=value` options, then the output file.
pub fn ibcmd_args(job: &DumpJob) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["infobase".into(), "dump".into()];
    let mut db_path = OsString::from("--db-path=");
    db_path.push(job.base);
    args.push(db_path);
    if let Some(user) = job.user.filter(|u| !u.is_empty()) {
        args.push(format!("--user={user}").into());
    }
    if let Some(pwd) = job.password.filter(|p| !p.is_empty()) {
        args.push(format!("--password={}", pwd.expose()).into());
    }
    args.push(job.dt_path.into());
    args
}

/// Dump the infobase to `job.dt_path` with `ibcmd` (exit code 0 and a
/// non-empty `.dt` mean success; `lock_code` does not apply).
pub fn dump_ibcmd(job: &DumpJob) -> Result<DumpOutcome, OnecError> {
    remove_stale(job.dt_path)?;
    let prepare = |source| OnecError::Prepare {
        path: job.out_log.to_path_buf(),
        source,
    };
    let log = File::create(job.out_log).map_err(prepare)?;
    let log_err = log.try_clone().map_err(prepare)?;
    let args = ibcmd_args(job);
    let to_log = (log.into(), log_err.into());
    super::run_dump(job, "ibcmd dump", &args, to_log, |_| None)
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
}
