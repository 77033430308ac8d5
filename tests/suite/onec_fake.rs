//! The Designer and ibcmd runners against the fake 1C (`src/bin/fake-1cv8.rs`),
//! installed per test in its own folder as `1cv8` / `ibcmd` and configured
//! through a `fake-1c.env` file beside it (so tests can run in parallel).

#[cfg(unix)]
use crate::util::proc::gone;
use crate::util::{install_fake_1c, ok_stdout, proc::pid_in};
use onec_backup_bot::cancel::Cancel;
use onec_backup_bot::config::Secret;
use onec_backup_bot::onec::{DumpJob, DumpOutcome, OnecError, dump_designer, dump_ibcmd};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PASSWORD: &str = "Pa55-w0rd";

/// A fake platform folder, an infobase and an output folder.
struct Rig {
    dir: tempfile::TempDir,
}

impl Rig {
    fn new(settings: &[(&str, &str)]) -> Self {
        // In the target dir so a hard link works.
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        install_fake_1c(dir.path());
        let mut env: String = settings.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        env.push_str(&format!(
            "FAKE_1C_ARGS_FILE={}\n",
            dir.path().join("args.txt").display()
        ));
        fs::write(dir.path().join("fake-1c.env"), env).unwrap();
        fs::create_dir(dir.path().join("base")).unwrap();
        fs::write(dir.path().join("base").join("1Cv8.1CD"), b"1CDBMSV8").unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn exe(&self, name: &str) -> PathBuf {
        self.path(&format!("{name}{}", std::env::consts::EXE_SUFFIX))
    }

    fn args(&self) -> Vec<String> {
        fs::read_to_string(self.path("args.txt"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    fn dump(
        &self,
        program: &str,
        timeout: Duration,
        cancel: &Cancel,
    ) -> Result<DumpOutcome, OnecError> {
        let (exe, base, dt, log) = (
            self.exe(program),
            self.path("base"),
            self.path("out.dt.tmp"),
            self.path("out.log"),
        );
        let password = Secret::new(PASSWORD);
        let job = DumpJob {
            exe: &exe,
            base: &base,
            user: Some("Администратор"),
            password: Some(&password),
            lock_code: Some("42"),
            dt_path: &dt,
            out_log: &log,
            timeout,
            cancel,
        };
        let result = if program == "ibcmd" {
            dump_ibcmd(&job)
        } else {
            dump_designer(&job)
        };
        if let Err(e) = &result {
            assert!(
                !e.to_string().contains(PASSWORD),
                "password in Display: {e}"
            );
            assert!(
                !format!("{e:?}").contains(PASSWORD),
                "password in Debug: {e:?}"
            );
        }
        result
    }

    /// The child of the fake (its pid in `child.pid`) has exited.
    fn assert_child_gone(&self, of: &str) {
        let child = pid_in(&self.path("child.pid"));
        #[cfg(unix)]
        assert!(gone(child), "the child {child} of {of} survived");
        #[cfg(not(unix))]
        let _ = (child, of);
    }

    /// `program` run with the fake in `mode`, which must fail.
    fn failing(mode: &str, program: &str) -> (Rig, OnecError) {
        let rig = Rig::new(&[("FAKE_1C_MODE", mode)]);
        let err = rig.run(program).unwrap_err();
        (rig, err)
    }

    fn run(&self, program: &str) -> Result<DumpOutcome, OnecError> {
        self.dump(program, Duration::from_secs(30), &Cancel::new())
    }
}

fn assert_real_dt(path: &Path, size: u64) {
    let bytes = fs::read(path).unwrap();
    assert_eq!(bytes.len() as u64, size);
    assert_eq!(&bytes[..9], b"1CIBDmpF\x33");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::DeflateDecoder::new(&bytes[9..]),
        &mut text,
    )
    .unwrap();
    assert_eq!(text.len(), 64 * 1024);
}

#[test]
fn designer_ok_writes_a_real_dump_and_decodes_the_log() {
    let rig = Rig::new(&[]);
    let out = rig.run("1cv8").unwrap();
    assert_eq!(out.exit_code, 0);
    assert!(out.dt_size > 9);
    assert_real_dt(&rig.path("out.dt.tmp"), out.dt_size);
    assert!(
        out.log_text
            .contains("Выгрузка информационной базы успешно завершена"),
        "{}",
        out.log_text
    );
    assert!(
        !rig.path("out.log.result").exists(),
        "DumpResult file must be removed"
    );
    assert!(rig.path("out.log").exists(), "the /Out log is kept");
}

#[test]
fn designer_receives_the_exact_argument_syntax() {
    let rig = Rig::new(&[]);
    rig.run("1cv8").unwrap();
    let p = |n: &str| rig.path(n).display().to_string();
    let expected = vec![
        "DESIGNER".to_string(),
        "/F".into(),
        p("base"),
        "/NАдминистратор".into(),
        format!("/P{PASSWORD}"),
        "/UC42".into(),
        "/DumpIB".into(),
        p("out.dt.tmp"),
        "/Out".into(),
        p("out.log"),
        "/DumpResult".into(),
        p("out.log.result"),
        "/DisableStartupDialogs".into(),
        "/DisableStartupMessages".into(),
    ];
    assert_eq!(rig.args(), expected);
}

#[test]
fn designer_checks_credentials() {
    let rig = Rig::new(&[
        ("FAKE_1C_EXPECT_USER", "Администратор"),
        ("FAKE_1C_EXPECT_PASSWORD", PASSWORD),
    ]);
    rig.run("1cv8").unwrap();
    let rig = Rig::new(&[("FAKE_1C_EXPECT_PASSWORD", "other")]);
    let err = rig.run("1cv8").unwrap_err();
    assert!(err.explanation().unwrap().contains("ONEC_UP"), "{err}");
}

#[test]
fn designer_lock_explains_connected_users() {
    let (rig, err) = Rig::failing("lock", "1cv8");
    assert_eq!(err.exit_code(), Some(1));
    assert!(
        matches!(
            err,
            OnecError::Failed {
                dump_result: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.explanation()
            .unwrap()
            .contains("users are still connected")
    );
    let text = err.to_string();
    assert!(
        text.contains("Не удалось монопольно заблокировать информационную базу"),
        "{text}"
    );
    assert!(text.contains("ONEC_LOCK_CODE"), "{text}");
    assert_eq!(err.log_excerpt().len(), 2);
    assert!(!rig.path("out.dt.tmp").exists());
}

#[test]
fn designer_badcreds_names_the_settings() {
    let (_rig, err) = Rig::failing("badcreds", "1cv8");
    assert_eq!(err.log_excerpt(), ["Пользователь ИБ не идентифицирован"]);
    assert!(
        err.to_string()
            .contains("check ONEC_UC (user) and ONEC_UP (password)"),
        "{err}"
    );
}

#[test]
fn designer_dumpresult_1_fails_despite_exit_0() {
    let (_rig, err) = Rig::failing("dumpresult1", "1cv8");
    assert!(
        matches!(
            err,
            OnecError::Failed {
                exit_code: 0,
                dump_result: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("DumpResult 1"), "{err}");
}

#[test]
fn designer_empty_dump_fails() {
    let (_rig, err) = Rig::failing("empty", "1cv8");
    assert!(matches!(err, OnecError::EmptyDump { .. }), "{err:?}");
}

#[test]
fn designer_missing_base_fails_with_the_1c_message() {
    let rig = Rig::new(&[]);
    fs::remove_file(rig.path("base").join("1Cv8.1CD")).unwrap();
    let err = rig.run("1cv8").unwrap_err();
    assert!(
        err.to_string()
            .contains("Информационная база не обнаружена"),
        "{err}"
    );
    assert!(err.explanation().unwrap().contains("ONEC_BASE"));
}

fn hang_rig() -> Rig {
    let rig = Rig::new(&[("FAKE_1C_MODE", "hang")]);
    let pid_file = rig.path("child.pid").display().to_string();
    let mut env = fs::read_to_string(rig.path("fake-1c.env")).unwrap();
    env.push_str(&format!("FAKE_1C_CHILD_PID_FILE={pid_file}\n"));
    fs::write(rig.path("fake-1c.env"), env).unwrap();
    rig
}

#[test]
fn designer_hang_is_killed_with_its_child_at_the_timeout() {
    let rig = hang_rig();
    let start = Instant::now();
    let err = rig
        .dump("1cv8", Duration::from_secs(2), &Cancel::new())
        .unwrap_err();
    let took = start.elapsed();
    assert!(
        matches!(err, OnecError::Timeout { seconds: 2, .. }),
        "{err:?}"
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "{took:?}"
    );
    assert!(err.to_string().contains("modal dialog"), "{err}");
    rig.assert_child_gone("the hung 1C");
}

#[test]
fn cancel_during_a_hang_stops_promptly() {
    let rig = hang_rig();
    let cancel = Cancel::new();
    let flag = cancel.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        flag.cancel();
    });
    let start = Instant::now();
    let err = rig
        .dump("1cv8", Duration::from_secs(60), &cancel)
        .unwrap_err();
    stopper.join().unwrap();
    assert!(matches!(err, OnecError::Cancelled { .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    rig.assert_child_gone("the cancelled 1C");
}

#[test]
fn ibcmd_ok_and_exact_syntax() {
    let rig = Rig::new(&[]);
    let out = rig.run("ibcmd").unwrap();
    assert_real_dt(&rig.path("out.dt.tmp"), out.dt_size);
    assert!(
        out.log_text.contains("успешно завершена"),
        "{}",
        out.log_text
    );
    let expected = vec![
        "infobase".to_string(),
        "dump".into(),
        format!("--db-path={}", rig.path("base").display()),
        "--user=Администратор".into(),
        format!("--password={PASSWORD}"),
        rig.path("out.dt.tmp").display().to_string(),
    ];
    assert_eq!(rig.args(), expected);
}

#[test]
fn ibcmd_lock_is_explained_from_captured_console() {
    let (rig, err) = Rig::failing("lock", "ibcmd");
    assert_eq!(err.exit_code(), Some(1));
    assert!(
        err.explanation()
            .unwrap()
            .contains("users are still connected")
    );
    assert!(
        err.to_string()
            .contains("Ошибка установки монопольного режима"),
        "{err}"
    );
    let kept = fs::read_to_string(rig.path("out.log")).unwrap();
    assert!(
        kept.contains("Не удалось монопольно заблокировать"),
        "{kept}"
    );
}

#[test]
fn ibcmd_empty_and_hang_fail() {
    let (_, err) = Rig::failing("empty", "ibcmd");
    assert!(matches!(err, OnecError::EmptyDump { .. }));
    let rig = hang_rig();
    let err = rig
        .dump("ibcmd", Duration::from_secs(1), &Cancel::new())
        .unwrap_err();
    assert!(
        matches!(err, OnecError::Timeout { seconds: 1, .. }),
        "{err:?}"
    );
    rig.assert_child_gone("the hung ibcmd");
}

#[test]
fn password_echoed_by_1c_is_masked_in_the_error() {
    // badcreds via expectation: the fake does not echo the password, so put
    // it into the base path that 1C quotes when the base is missing.
    let rig = Rig::new(&[]);
    let base = rig.path(&format!("base-{PASSWORD}"));
    let (exe, dt, log) = (rig.exe("1cv8"), rig.path("x.dt"), rig.path("x.log"));
    let password = Secret::new(PASSWORD);
    let cancel = Cancel::new();
    let job = DumpJob {
        exe: &exe,
        base: &base,
        user: None,
        password: Some(&password),
        lock_code: None,
        dt_path: &dt,
        out_log: &log,
        timeout: Duration::from_secs(30),
        cancel: &cancel,
    };
    let err = dump_designer(&job).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(text.contains("base-***"), "{text}");
}

#[test]
fn launchers_are_refused_before_running() {
    let rig = Rig::new(&[]);
    let launcher = rig.path("1cestart.exe");
    fs::hard_link(rig.exe("1cv8"), &launcher).unwrap();
    let (base, dt, log) = (rig.path("base"), rig.path("x.dt"), rig.path("x.log"));
    let cancel = Cancel::new();
    let job = DumpJob {
        exe: &launcher,
        base: &base,
        user: None,
        password: None,
        lock_code: None,
        dt_path: &dt,
        out_log: &log,
        timeout: Duration::from_secs(30),
        cancel: &cancel,
    };
    assert!(matches!(
        dump_designer(&job),
        Err(OnecError::Forbidden { .. })
    ));
    assert!(
        !rig.path("args.txt").exists(),
        "the launcher must not be started"
    );
}

/// Run the installed fake directly with a hand-written argv.
fn run_fake(rig: &Rig, program: &str, args: &[String]) -> std::process::Output {
    std::process::Command::new(rig.exe(program))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn fake_designer_accepts_glued_quoted_and_case_insensitive_options() {
    let rig = Rig::new(&[]);
    let p = |n: &str| rig.path(n).display().to_string();
    let args = vec![
        "designer".to_string(),
        format!("/F\"{}\"", p("base")),
        "/NAdmin".into(),
        format!("/dumpib{}", p("a.dt")),
        "/OUT".into(),
        p("a.log"),
        format!("/DUMPRESULT\"{}\"", p("a.res")),
        "/disablestartupdialogs".into(),
    ];
    ok_stdout(run_fake(&rig, "1cv8", &args));
    assert_real_dt(
        &rig.path("a.dt"),
        fs::metadata(rig.path("a.dt")).unwrap().len(),
    );
    assert_eq!(fs::read_to_string(rig.path("a.res")).unwrap(), "0");
    let log = fs::read(rig.path("a.log")).unwrap();
    assert!(
        std::str::from_utf8(&log).is_err(),
        "the fake /Out log is Windows-1251"
    );
}

#[test]
fn fake_rejects_unknown_or_missing_options_like_1c() {
    let rig = Rig::new(&[]);
    let base = rig.path("base").display().to_string();
    for args in [
        vec![
            "DESIGNER".to_string(),
            "/F".into(),
            base.clone(),
            "/Bogus".into(),
        ],
        vec!["DESIGNER".to_string(), "/F".into(), base.clone()],
        vec!["ENTERPRISE".to_string()],
    ] {
        let out = run_fake(&rig, "1cv8", &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    let out = run_fake(
        &rig,
        "ibcmd",
        &["infobase".into(), "dump".into(), "--bogus=1".into()],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn fake_ibcmd_accepts_separate_option_values() {
    let rig = Rig::new(&[]);
    let args: Vec<String> = vec![
        "infobase".into(),
        "dump".into(),
        "--db-path".into(),
        rig.path("base").display().to_string(),
        "--user".into(),
        "u".into(),
        rig.path("b.dt").display().to_string(),
    ];
    let out = ok_stdout(run_fake(&rig, "ibcmd", &args));
    assert!(out.contains("успешно завершена"), "{out}");
    assert!(fs::metadata(rig.path("b.dt")).unwrap().len() > 9);
}

#[test]
fn fake_creates_and_loads_with_the_real_syntax() {
    let rig = Rig::new(&[]);
    let p = |n: &str| rig.path(n).display().to_string();
    // A dump of its own to load.
    ok_stdout(run_fake(
        &rig,
        "1cv8",
        &[
            "DESIGNER".into(),
            "/F".into(),
            p("base"),
            "/DumpIB".into(),
            p("a.dt"),
        ],
    ));
    let new = p("new base");
    let create = vec![
        "createinfobase".to_string(),
        format!("file=\"{new}\";Locale=ru_RU"),
        "/out".into(),
        p("c.log"),
        "/DisableStartupDialogs".into(),
    ];
    ok_stdout(run_fake(&rig, "1cv8", &create));
    let fresh = fs::metadata(rig.path("new base/1Cv8.1CD")).unwrap().len();
    // A second creation in the same folder fails like 1C.
    assert_eq!(run_fake(&rig, "1cv8", &create).status.code(), Some(1));
    let load = vec![
        "DESIGNER".to_string(),
        format!("/F\"{new}\""),
        format!("/restoreib{}", p("a.dt")),
        "/Out".into(),
        p("r.log"),
        "/DumpResult".into(),
        p("r.res"),
    ];
    ok_stdout(run_fake(&rig, "1cv8", &load));
    assert_eq!(fs::read_to_string(rig.path("r.res")).unwrap(), "0");
    assert!(fs::metadata(rig.path("new base/1Cv8.1CD")).unwrap().len() > fresh);
    // A damaged dump is refused with a 1C-like message in /Out.
    let mut dt = fs::read(rig.path("a.dt")).unwrap();
    dt.truncate(dt.len() / 2);
    fs::write(rig.path("a.dt"), dt).unwrap();
    let out = run_fake(&rig, "1cv8", &load);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read_to_string(rig.path("r.res")).unwrap(), "1");
    let log = onec_backup_bot::onec::outlog::decode(&fs::read(rig.path("r.log")).unwrap());
    assert!(log.contains("Ошибка формата потока"), "{log}");
    // ibcmd: --create-database only with restore; the folder must be new.
    let ib = |extra: &[&str]| {
        let mut a: Vec<String> = ["infobase", "restore", "--db-path"]
            .map(String::from)
            .to_vec();
        a.push(p("ib base"));
        a.extend(extra.iter().map(|s| s.to_string()));
        run_fake(&rig, "ibcmd", &a)
    };
    let dt = rig.path("i.dt");
    ok_stdout(run_fake(
        &rig,
        "ibcmd",
        &[
            "infobase".into(),
            "dump".into(),
            format!("--db-path={}", p("base")),
            dt.display().to_string(),
        ],
    ));
    let dt = dt.display().to_string();
    assert_eq!(
        ib(&[&dt]).status.code(),
        Some(1),
        "no base without --create-database"
    );
    ok_stdout(ib(&["--create-database", &dt]));
    assert!(rig.path("ib base/1Cv8.1CD").is_file());
    let dump_create = run_fake(
        &rig,
        "ibcmd",
        &[
            "infobase".into(),
            "dump".into(),
            "--create-database".into(),
            dt,
        ],
    );
    assert_eq!(dump_create.status.code(), Some(1));
}
