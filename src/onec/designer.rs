//! The Designer batch dump (`1cv8 DESIGNER /F <base> /DumpIB <dt> ...`) and
//! load (`1cv8 CREATEINFOBASE File="<base>"`, then `1cv8 DESIGNER /F <base>
//! /RestoreIB <dt> ...`). 1C writes its `/Out` log and `/DumpResult` file a
//! little after the process exits, so both are polled for briefly before
//! the run is judged.

use super::{DumpJob, DumpOutcome, OnecError, RestoreJob, RestoreOutcome, process, remove_stale};
use crate::config::Secret;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

/// How long to wait after exit for `/Out` and `/DumpResult` to appear.
const LATE_WRITE: Duration = Duration::from_secs(3);

/// Where the `/DumpResult` file goes: `<out_log>.result`.
pub fn dump_result_path(out_log: &Path) -> PathBuf {
    let mut s = out_log.as_os_str().to_owned();
    s.push(".result");
    PathBuf::from(s)
}

/// The Designer's arguments, one token per element: paths follow their
/// option as a separate argument, `/N`, `/P`, `/UC` are glued to their value.
pub fn designer_args(job: &DumpJob, dump_result: &Path) -> Vec<OsString> {
    let mut args = designer_login(job.base, job.user, job.password);
    if let Some(code) = job.lock_code.filter(|c| !c.is_empty()) {
        args.push(format!("/UC{code}").into());
    }
    args.extend(batch_tail(
        ("/DumpIB", job.dt_path),
        job.out_log,
        dump_result,
    ));
    args
}

/// `<action> <dt> /Out <log> /DumpResult <res>` and the switches that keep
/// a batch run from stopping at a dialog.
fn batch_tail((action, dt): (&str, &Path), out_log: &Path, dump_result: &Path) -> [OsString; 8] {
    [
        action.into(),
        dt.into(),
        "/Out".into(),
        out_log.into(),
        "/DumpResult".into(),
        dump_result.into(),
        "/DisableStartupDialogs".into(),
        "/DisableStartupMessages".into(),
    ]
}

/// `DESIGNER /F <base>`, then `/N<user>` and `/P<password>` when given.
fn designer_login(base: &Path, user: Option<&str>, password: Option<&Secret>) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["DESIGNER".into(), "/F".into(), base.into()];
    if let Some(user) = user.filter(|u| !u.is_empty()) {
        args.push(format!("/N{user}").into());
    }
    if let Some(pwd) = password.filter(|p| !p.is_empty()) {
        args.push(format!("/P{}", pwd.expose()).into());
    }
    args
}

/// `CREATEINFOBASE File="<base>";`: a new, empty file infobase in the
/// folder (1C takes the connection string as one argument).
pub fn create_args(job: &RestoreJob) -> Vec<OsString> {
    let mut conn = OsString::from("File=\"");
    conn.push(job.base);
    conn.push("\";");
    vec![
        "CREATEINFOBASE".into(),
        conn,
        "/Out".into(),
        job.out_log.into(),
        "/DisableStartupDialogs".into(),
    ]
}

/// `DESIGNER /F <base> [/N /P] /RestoreIB <dt> /Out <log> /DumpResult <res>`.
pub fn restore_ib_args(job: &RestoreJob, dump_result: &Path) -> Vec<OsString> {
    let mut args = designer_login(job.base, job.user, job.password);
    args.extend(batch_tail(
        ("/RestoreIB", job.dt_path),
        job.out_log,
        dump_result,
    ));
    args
}

/// Load `job.dt_path` into `job.base` with the Designer, creating the
/// infobase first when `job.create`. The timeout covers both runs.
pub fn restore_designer(job: &RestoreJob) -> Result<RestoreOutcome, OnecError> {
    super::locate::check_allowed(job.exe)?;
    let started = Instant::now();
    let result_path = dump_result_path(job.out_log);
    let quiet = || (Stdio::null(), Stdio::null());
    if job.create {
        remove_stale(job.out_log)?;
        let launch = super::restore_launch(job, "infobase creation", started);
        let late = |end: &process::RunEnd| {
            if matches!(end, process::RunEnd::Exited(_)) {
                wait_for_late_files(job.out_log, None);
            }
            None
        };
        let created = super::run_1c(&launch, &create_args(job), quiet(), late);
        super::logged("infobase creation", created, started)?;
    }
    for stale in [job.out_log, &result_path] {
        remove_stale(stale)?;
    }
    let launch = super::restore_launch(job, "restore", started);
    let late = |end: &process::RunEnd| dump_result_after(end, job.out_log, &result_path);
    let args = restore_ib_args(job, &result_path);
    let outcome =
        super::run_1c(&launch, &args, quiet(), late).map(|(exit_code, log_text)| RestoreOutcome {
            exit_code,
            log_text,
            duration: started.elapsed(),
        });
    super::logged("restore", outcome, started)
}

/// Dump the infobase to `job.dt_path` with the Designer.
pub fn dump_designer(job: &DumpJob) -> Result<DumpOutcome, OnecError> {
    super::locate::check_allowed(job.exe)?;
    let result_path = dump_result_path(job.out_log);
    for stale in [job.dt_path, job.out_log, &result_path] {
        remove_stale(stale)?;
    }
    let args = designer_args(job, &result_path);
    let late = |end: &process::RunEnd| dump_result_after(end, job.out_log, &result_path);
    let quiet = (Stdio::null(), Stdio::null());
    super::run_dump(job, &args, quiet, late)
}

/// The `/DumpResult` of a run that ended as `end` (waited for briefly
/// when 1C exited by itself); the file is removed once read.
fn dump_result_after(end: &process::RunEnd, out_log: &Path, result_path: &Path) -> Option<i32> {
    let dump_result = match end {
        process::RunEnd::Exited(_) => wait_for_late_files(out_log, Some(result_path)),
        _ => read_dump_result(result_path),
    };
    let _ = std::fs::remove_file(result_path);
    dump_result
}

/// Poll until the log and (when asked for) a readable `/DumpResult` exist,
/// or [`LATE_WRITE`] passes; return the DumpResult value if there is one.
fn wait_for_late_files(out_log: &Path, result_path: Option<&Path>) -> Option<i32> {
    let deadline = Instant::now() + LATE_WRITE;
    loop {
        let result = result_path.and_then(read_dump_result);
        let result_ready = result_path.is_none() || result.is_some();
        if (result_ready && out_log.exists()) || Instant::now() >= deadline {
            return result;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// The number in a `/DumpResult` file (0 = success), if written.
fn read_dump_result(path: &Path) -> Option<i32> {
    let bytes = std::fs::read(path).ok()?;
    super::outlog::decode(&bytes).trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::Cancel;
    use crate::config::Secret;

    fn job<'a>(pwd: Option<&'a Secret>, cancel: &'a Cancel) -> DumpJob<'a> {
        DumpJob {
            exe: Path::new("1cv8"),
            base: Path::new("C:\\Bases\\Trade 2024"),
            user: Some("Администратор"),
            password: pwd,
            lock_code: Some("123"),
            dt_path: Path::new("D:\\tmp\\a.dt.tmp"),
            out_log: Path::new("D:\\tmp\\out.log"),
            timeout: Duration::from_secs(60),
            cancel,
        }
    }

    #[test]
    fn builds_exact_arguments() {
        let cancel = Cancel::new();
        let pwd = Secret::new("p@ss word");
        let j = job(Some(&pwd), &cancel);
        let args = designer_args(&j, &dump_result_path(j.out_log));
        let expected = [
            "DESIGNER",
            "/F",
            "C:\\Bases\\Trade 2024",
            "/NАдминистратор",
            "/Pp@ss word",
            "/UC123",
            "/DumpIB",
            "D:\\tmp\\a.dt.tmp",
            "/Out",
            "D:\\tmp\\out.log",
            "/DumpResult",
            "D:\\tmp\\out.log.result",
            "/DisableStartupDialogs",
            "/DisableStartupMessages",
        ];
        assert_eq!(args, expected.map(OsString::from));
    }

    #[test]
    fn builds_exact_restore_arguments() {
        let cancel = Cancel::new();
        let pwd = Secret::new("p@ss word");
        let job = crate::onec::RestoreJob {
            exe: Path::new("1cv8"),
            base: Path::new("C:\\Bases\\New base"),
            create: true,
            dt_path: Path::new("D:\\b.dt"),
            user: Some("Админ"),
            password: Some(&pwd),
            out_log: Path::new("C:\\Bases\\New base\\restore-1c.log"),
            timeout: Duration::from_secs(60),
            cancel: &cancel,
        };
        assert_eq!(
            create_args(&job),
            [
                "CREATEINFOBASE",
                "File=\"C:\\Bases\\New base\";",
                "/Out",
                "C:\\Bases\\New base\\restore-1c.log",
                "/DisableStartupDialogs",
            ]
            .map(OsString::from)
        );
        let args = restore_ib_args(&job, Path::new("r"));
        let expected = [
            "DESIGNER",
            "/F",
            "C:\\Bases\\New base",
            "/NАдмин",
            "/Pp@ss word",
            "/RestoreIB",
            "D:\\b.dt",
            "/Out",
            "C:\\Bases\\New base\\restore-1c.log",
            "/DumpResult",
            "r",
            "/DisableStartupDialogs",
            "/DisableStartupMessages",
        ];
        assert_eq!(args, expected.map(OsString::from));
        let shown = super::super::render_command(job.exe, &args, job.password);
        assert!(!shown.contains("p@ss"), "{shown}");
        // A dump path that starts with /P is a path, not a password.
        let job = crate::onec::RestoreJob {
            dt_path: Path::new("/Pool/b.dt"),
            ..job
        };
        let shown =
            super::super::render_command(job.exe, &restore_ib_args(&job, Path::new("r")), None);
        assert!(shown.contains("/RestoreIB /Pool/b.dt"), "{shown}");
    }

    #[test]
    fn omits_absent_or_empty_credentials() {
        let cancel = Cancel::new();
        let empty = Secret::new("");
        let mut j = job(Some(&empty), &cancel);
        j.user = None;
        j.lock_code = None;
        let args = designer_args(&j, Path::new("r"));
        assert_eq!(
            args[..4],
            ["DESIGNER", "/F", "C:\\Bases\\Trade 2024", "/DumpIB"].map(OsString::from)
        );
        assert!(!args.iter().any(|a| a.to_string_lossy().starts_with("/P")));
    }

    #[test]
    fn rendered_command_hides_the_password() {
        let cancel = Cancel::new();
        let pwd = Secret::new("Tr0ub4dor");
        let j = job(Some(&pwd), &cancel);
        let shown =
            super::super::render_command(j.exe, &designer_args(&j, Path::new("r")), j.password);
        assert!(!shown.contains("Tr0ub4dor"), "{shown}");
        assert!(
            shown.contains("/P***") && shown.contains("/NАдминистратор"),
            "{shown}"
        );
    }

    #[test]
    fn waits_for_files_1c_writes_after_exit() {
        let tmp = tempfile::tempdir().unwrap();
        let (log, res) = (
            tmp.path().join("out.log"),
            tmp.path().join("out.log.result"),
        );
        let (log2, res2) = (log.clone(), res.clone());
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(400));
            std::fs::write(&log2, b"done").unwrap();
            std::fs::write(&res2, b"0").unwrap();
        });
        let start = Instant::now();
        assert_eq!(wait_for_late_files(&log, Some(&res)), Some(0));
        assert!(start.elapsed() >= Duration::from_millis(350));
        assert!(start.elapsed() < LATE_WRITE);
        writer.join().unwrap();
    }

    #[test]
    fn reads_dump_result_with_bom_and_newline() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("r");
        std::fs::write(&p, b"\xEF\xBB\xBF1\r\n").unwrap();
        assert_eq!(read_dump_result(&p), Some(1));
        std::fs::write(&p, b"0").unwrap();
        assert_eq!(read_dump_result(&p), Some(0));
        assert_eq!(read_dump_result(&tmp.path().join("missing")), None);
    }
}
