//! The Designer batch dump: `1cv8 DESIGNER /F <base> /DumpIB <dt> ...`.
//! 1C writes its `/Out` log and `/DumpResult` file a little after the process
//! exits, so both are polled for briefly before the run is judged.

use super::{DumpJob, DumpOutcome, OnecError, process, remove_stale};
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
    let mut args: Vec<OsString> = vec!["DESIGNER".into(), "/F".into(), job.base.into()];
    if let Some(user) = job.user.filter(|u| !u.is_empty()) {
        args.push(format!("/N{user}").into());
    }
    if let Some(pwd) = job.password.filter(|p| !p.is_empty()) {
        args.push(format!("/P{}", pwd.expose()).into());
    }
    if let Some(code) = job.lock_code.filter(|c| !c.is_empty()) {
        args.push(format!("/UC{code}").into());
    }
    args.extend([
        "/DumpIB".into(),
        job.dt_path.into(),
        "/Out".into(),
        job.out_log.into(),
        "/DumpResult".into(),
        dump_result.into(),
        "/DisableStartupDialogs".into(),
        "/DisableStartupMessages".into(),
    ]);
    args
}

/// Dump the infobase to `job.dt_path` with the Designer.
pub fn dump_designer(job: &DumpJob) -> Result<DumpOutcome, OnecError> {
    super::locate::check_allowed(job.exe)?;
    let result_path = dump_result_path(job.out_log);
    for stale in [job.dt_path, job.out_log, &result_path] {
        remove_stale(stale)?;
    }
    let args = designer_args(job, &result_path);
    let late = |end: &process::RunEnd| {
        let dump_result = match end {
            process::RunEnd::Exited(_) => wait_for_late_files(job.out_log, &result_path),
            _ => read_dump_result(&result_path),
        };
        let _ = std::fs::remove_file(&result_path);
        dump_result
    };
    let quiet = (Stdio::null(), Stdio::null());
    super::run_dump(job, "1C Designer dump", &args, quiet, late)
}

/// Poll until both the log and a readable `/DumpResult` exist, or
/// [`LATE_WRITE`] passes; return the DumpResult value if there is one.
fn wait_for_late_files(out_log: &Path, result_path: &Path) -> Option<i32> {
    let deadline = Instant::now() + LATE_WRITE;
    loop {
        let result = read_dump_result(result_path);
        if (result.is_some() && out_log.exists()) || Instant::now() >= deadline {
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
        assert_eq!(wait_for_late_files(&log, &res), Some(0));
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
