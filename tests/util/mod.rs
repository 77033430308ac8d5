//! Shared helpers for the end-to-end suite: a temp world with a generated
//! infobase, a backup folder and the fake 1C installed as `1cv8` / `ibcmd`;
//! the real binary run with only the world's variables — a command
//! (`World::cmd`) or the agent (`World::agent`, the one way tests start
//! `onec-backup-bot run`); and the lock that keeps the heavy tests apart.
//! Beside it: the HTTP client (`http`), processes and polling (`proc`), a
//! loopback request recorder (`recorder`), real servers from Debian
//! packages and promtool (`servers`), moto's S3 from PyPI (`moto`),
//! `rclone serve webdav` (`rclone`), what the offsite kinds' tests share
//! (`remote`), OpenSSH's sshd (`sshd`) and an
//! in-process password-login SFTP server (`sftp_server`), and a fake
//! Telegram Bot API (`fake_telegram`).

// Most helpers serve the unix-only suites.
#![cfg_attr(not(unix), allow(dead_code))]

pub mod browser;
pub mod fake_telegram;
pub mod http;
pub mod moto;
pub mod proc;
pub mod rclone;
pub mod recorder;
pub mod remote;
pub mod servers;
#[cfg(unix)]
pub mod sftp_server;
#[cfg(unix)]
pub mod sshd;

use http::{Reply, get, request};
use onec_backup_bot::config::keys::KEYS;
use onec_backup_bot::onec::generate::{CdFormat, generate_1cd};
use proc::{Proc, free_port};
use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "S3cr3t-Pa55-word";

thread_local! {
    static HOLDS_HEAVY: Cell<bool> = const { Cell::new(false) };
}

/// Held by a test that starts a real server (Prometheus, Pushgateway,
/// influxd) or whose assertions measure time or burn every core: all the
/// suites share one process now, and on a two-core machine two such tests
/// at once make each other late. The other tests still run beside it.
pub struct Heavy {
    _slot: MutexGuard<'static, ()>,
}

/// Wait for the heavy slot (a test that panicked in it does not poison it).
pub fn heavy() -> Heavy {
    static HEAVY: Mutex<()> = Mutex::new(());
    let guard = HEAVY.lock().unwrap_or_else(PoisonError::into_inner);
    HOLDS_HEAVY.with(|h| h.set(true));
    Heavy { _slot: guard }
}

impl Drop for Heavy {
    fn drop(&mut self) {
        HOLDS_HEAVY.with(|h| h.set(false));
    }
}

/// Panic unless this test holds [`heavy`]: starting `what` without it
/// would race the other heavy tests.
pub fn assert_heavy(what: &str) {
    assert!(
        HOLDS_HEAVY.with(Cell::get),
        "take `util::heavy()` at the start of a test that starts {what}"
    );
}

/// The fake 1C (`src/bin/fake-1cv8.rs`) as `1cv8` and `ibcmd` in `dir`:
/// hard links where possible, so no write handle is ever open on a
/// program another test thread may be starting ("text file busy").
pub fn install_fake_1c(dir: &Path) -> [PathBuf; 2] {
    let fake = Path::new(env!("CARGO_BIN_EXE_fake-1cv8"));
    ["1cv8", "ibcmd"].map(|name| {
        let dest = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        if fs::hard_link(fake, &dest).is_err() {
            fs::copy(fake, &dest).unwrap();
        }
        dest
    })
}

/// A command's stdout; panics with its stdout and stderr unless it
/// succeeded.
pub fn ok_stdout(out: std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}: {text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub base: PathBuf,
    pub backups: PathBuf,
    pub bin: PathBuf,
    pub envs: Vec<(String, String)>,
}

impl World {
    /// A world with a small 8.3.8 base (`pages` × 8 KiB) named `buh`, in
    /// the target's temp folder (beside the fake 1C, so it can be linked).
    pub fn new(pages: u32) -> World {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let base = dir.path().join("buh");
        fs::create_dir_all(base.join("1Cv8Log")).unwrap();
        generate_1cd(&base.join("1Cv8.1CD"), CdFormat::V8_3_8, pages, 7).unwrap();
        fs::write(base.join("1Cv8Log/1Cv8.lgf"), "log header\n").unwrap();
        fs::write(base.join("1Cv8.1CD.cfl"), b"").unwrap();
        let backups = dir.path().join("backups");
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        let [onec, ibcmd] = install_fake_1c(&bin);
        let envs = vec![
            ("ONEC_BASE_PATH".into(), base.display().to_string()),
            ("BACKUP_DIR".into(), backups.display().to_string()),
            ("ONEC_EXE".into(), onec.display().to_string()),
            ("IBCMD_EXE".into(), ibcmd.display().to_string()),
            ("ONEC_UC".into(), "Администратор".into()),
            ("ONEC_UP".into(), PASSWORD.into()),
            ("APP_TIMEZONE".into(), "Europe/Moscow".into()),
        ];
        World {
            dir,
            base,
            backups,
            bin,
            envs,
        }
    }

    /// The fake 1C linked (or copied) as `name` into the world's `clients`
    /// folder: a stand-in 1C client process a test can start.
    pub fn onec_client(&self, name: &str) -> PathBuf {
        let dir = self.dir.path().join("clients");
        fs::create_dir_all(&dir).unwrap();
        let dest = dir.join(name);
        if !dest.exists() {
            let fake = Path::new(env!("CARGO_BIN_EXE_fake-1cv8"));
            if fs::hard_link(fake, &dest).is_err() {
                fs::copy(fake, &dest).unwrap();
            }
        }
        dest
    }

    pub fn set(&mut self, k: &str, v: &str) -> &mut Self {
        self.envs.retain(|(n, _)| n != k);
        self.envs.push((k.into(), v.into()));
        self
    }

    /// The real binary in the world's folder with only the world's
    /// variables: none of ours and no `FAKE_1C_*` from the test's own
    /// environment.
    pub fn command(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_onec-backup-bot"));
        c.current_dir(self.dir.path());
        for e in KEYS.iter().flat_map(|k| k.env) {
            c.env_remove(e);
        }
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("FAKE_1C_") {
                c.env_remove(k);
            }
        }
        c.envs(self.envs.iter().map(|(k, v)| (k, v)));
        c
    }

    /// `onec-backup-bot <args>` with `env` added, whose stdout must be
    /// JSON: its exit code, the JSON and its stderr.
    pub fn json(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, serde_json::Value, String) {
        let out = self
            .cmd()
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "bad json ({e}): {}\n{stderr}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        (out.status.code().unwrap(), v, stderr)
    }

    /// [`World::command`] with `assert_cmd`'s assertions.
    pub fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.command())
    }

    /// `onec-backup-bot <args>` (see [`World::command`]) in the
    /// background with `extra` variables, its output discarded; killed when
    /// dropped.
    pub fn spawn(&self, args: &[&str], extra: &[(&str, &str)]) -> Proc {
        let mut c = self.command();
        c.args(args)
            .envs(extra.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        proc::spawn(&mut c)
    }

    /// A console backup slowed by the fake 1C (4 s), returned once it
    /// holds the base's lock (its row is `running`). When it never gets
    /// there (within 60 s, for a loaded machine), the panic shows whether
    /// it exited, its stderr and the rows.
    pub fn slow_backup_holding_the_lock(&self) -> Proc {
        let log = self.dir.path().join("slow-backup.stderr");
        let mut c = self.command();
        c.arg("backup")
            .env("FAKE_1C_MODE", "slow")
            .env("FAKE_1C_SLEEP_MS", "4000")
            .stdout(std::process::Stdio::null())
            .stderr(fs::File::create(&log).unwrap());
        let mut first = proc::spawn(&mut c);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let runs = self.runs();
            if runs.iter().any(|r| r["status"] == "running") {
                return first;
            }
            let exited = first.0.try_wait().unwrap();
            if exited.is_some() || std::time::Instant::now() > deadline {
                panic!(
                    "the first run never held the lock (exit: {exited:?}); rows: {runs:?}; stderr:\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `onec-backup-bot run` (see [`World::command`]) with `extra`
    /// variables (an empty value removes the variable), its API on
    /// 127.0.0.1 and a free port (or `API_PORT` from `extra`), its stderr
    /// in a file of the world; not waiting for anything. Killed when
    /// dropped.
    pub fn start_agent(&self, extra: &[(&str, &str)]) -> Agent {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let port = extra
            .iter()
            .find(|(k, _)| *k == "API_PORT")
            .map_or_else(free_port, |(_, v)| v.parse().unwrap());
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let stderr = self.dir.path().join(format!("agent-{n}.stderr"));
        let mut c = self.command();
        c.arg("run")
            .env("API_HOST", "127.0.0.1")
            .env("API_PORT", port.to_string());
        for (k, v) in extra {
            if v.is_empty() {
                c.env_remove(k);
            } else {
                c.env(k, v);
            }
        }
        c.stdout(std::process::Stdio::null())
            .stderr(fs::File::create(&stderr).unwrap());
        Agent {
            proc: proc::spawn(&mut c),
            port,
            stderr,
        }
    }

    /// [`World::start_agent`], then wait until its API answers.
    pub fn agent(&self, extra: &[(&str, &str)]) -> Agent {
        let agent = self.start_agent(extra);
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(agent.port, "/api/health").status == 0 {
            assert!(
                Instant::now() < deadline,
                "the agent did not listen on {}; stderr:\n{}",
                agent.port,
                agent.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        agent
    }

    /// The agent's log file (`BACKUP_DIR/backup.log`).
    pub fn log_text(&self) -> String {
        fs::read_to_string(self.backups.join("backup.log")).unwrap_or_default()
    }

    /// Every file under the backup folder, relative, sorted.
    pub fn backup_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.backups, &self.backups, &mut out);
        out.sort();
        out
    }

    /// Final archives (date folders only, no temporaries).
    pub fn archives(&self) -> Vec<String> {
        self.backup_files()
            .into_iter()
            .filter(|f| f.len() > 11 && f.as_bytes()[4] == b'-' && !f.contains("/."))
            .collect()
    }

    pub fn history_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for suffix in ["", "-wal"] {
            if let Ok(b) = fs::read(self.backups.join(format!("app.sqlite3{suffix}"))) {
                all.extend(b);
            }
        }
        all
    }

    /// `list --json`: the recorded runs, newest first.
    pub fn list_json(&self) -> serde_json::Value {
        let out = self
            .cmd()
            .args(["list", "--json", "--limit", "100"])
            .output()
            .unwrap();
        serde_json::from_str(&ok_stdout(out)).unwrap()
    }

    /// [`World::list_json`] as a list.
    pub fn runs(&self) -> Vec<serde_json::Value> {
        self.list_json().as_array().cloned().unwrap_or_default()
    }

    /// Move every recorded run `hours` into the past (as if the agent had
    /// been off since then).
    pub fn backdate_runs(&self, hours: i64) {
        self.backdate("UPDATE runs SET started = ?1, finished = ?1", hours);
    }

    /// Run `update` on the history database with `?1` the time `hours`
    /// ago.
    pub fn backdate(&self, update: &str, hours: i64) {
        let then = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(hours))
            .unwrap()
            .to_string();
        rusqlite::Connection::open(self.backups.join("app.sqlite3"))
            .unwrap()
            .execute(update, [&then])
            .unwrap();
    }

    /// Record `rel` (a path under the backup folder) in the history as the
    /// archive of a successful run of `base`, as if an earlier run had made
    /// it (the database is created when missing).
    pub fn record_archive(&self, base: &str, rel: &str) {
        fs::create_dir_all(&self.backups).unwrap();
        drop(
            onec_backup_bot::backup::history::History::open(&self.backups.join("app.sqlite3"))
                .unwrap(),
        );
        let path = self.backups.join(rel);
        let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as i64;
        rusqlite::Connection::open(self.backups.join("app.sqlite3"))
            .unwrap()
            .execute(
                "INSERT INTO runs (base, \"trigger\", started, finished, status, method, \
                 archive_path, archive_size, pid) \
                 VALUES (?1, 'cli', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:01.000Z', \
                 'ok', 'copy', ?2, ?3, 1)",
                rusqlite::params![base, path.display().to_string(), size],
            )
            .unwrap();
    }

    /// Record a run of `buh` left `running` by a process (`pid`) that
    /// died, as a killed backup leaves it.
    pub fn record_abandoned_run(&self, started: &str, method: &str, pid: u32) {
        rusqlite::Connection::open(self.backups.join("app.sqlite3"))
            .unwrap()
            .execute(
                "INSERT INTO runs (base, \"trigger\", started, status, method, pid) \
                 VALUES ('buh', 'cli', ?1, 'running', ?2, ?3)",
                rusqlite::params![started, method, pid],
            )
            .unwrap();
    }
}

/// This machine's name, as the agent reports it.
pub fn host() -> String {
    onec_backup_bot::platform::hostname()
}

/// A daily cron expression firing at now + `offset` (negative: in the
/// past) in the world's zone (Europe/Moscow), to the minute.
pub fn daily_cron_at(offset: jiff::SignedDuration) -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Moscow").unwrap();
    let at = jiff::Timestamp::now()
        .checked_add(offset)
        .unwrap()
        .to_zoned_datetime(tz);
    format!("{} {} * * *", at.minute(), at.hour())
}

/// Every file below `dir` (hidden folders not entered), relative to
/// `root`, with `/` separators.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.') {
            walk(root, &p, out);
        } else {
            out.push(
                p.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

/// The last component of the path `p` (an archive's file name).
pub fn file_name(p: &str) -> String {
    Path::new(p)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// `onec-backup-bot run`, killed when dropped (see [`World::agent`]).
pub struct Agent {
    proc: Proc,
    /// Its HTTP API port.
    pub port: u16,
    stderr: PathBuf,
}

impl Agent {
    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// A request to its API, with `Authorization: Bearer <token>` when
    /// given.
    pub fn request(&self, method: &str, target: impl AsRef<[u8]>, token: Option<&str>) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        request(self.port, method, target, &headers, b"")
    }

    /// `/api/health` as JSON.
    pub fn health(&self) -> serde_json::Value {
        get(self.port, "/api/health").json()
    }

    /// One push sink's health entry.
    pub fn sink(&self, name: &str) -> serde_json::Value {
        self.health()["checks"]["sinks"]["sinks"][name].clone()
    }

    /// `/api/metrics.prom`.
    pub fn metrics(&self) -> String {
        get(self.port, "/api/metrics.prom").text()
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        self.proc.0.try_wait().unwrap().is_none()
    }

    /// Kill it now (and reap it).
    pub fn kill(&mut self) {
        let _ = self.proc.0.kill();
        let _ = self.proc.0.wait();
    }

    /// Ask it to stop as a service manager would (SIGTERM).
    #[cfg(unix)]
    pub fn sigterm(&self) {
        proc::sigterm(&self.proc.0);
    }

    /// Its exit code (-1: killed by a signal); panics with its stderr if
    /// it has not exited within `within`.
    pub fn wait_exit(&mut self, within: Duration) -> i32 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.proc.0.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "the agent did not exit within {within:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then its exit code within `within`.
    #[cfg(unix)]
    pub fn stop(&mut self, within: Duration) -> i32 {
        self.sigterm();
        self.wait_exit(within)
    }
}

/// Every file below `root`, hidden folders too, relative to it.
pub fn walk_all(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_path_buf());
            }
        }
    }
    out
}

/// The account this test runs as (the owner of stand-in 1C clients).
pub fn whoami() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
