//! Shared helpers for the end-to-end tests: a temp world with a generated
//! infobase, a backup folder, the fake 1C copied in as `1cv8` / `ibcmd`, and
//! the real binary run with a clean environment (`backup` and friends, or
//! the agent on a free port); plus plain-socket HTTP (`net`), a loopback
//! request recorder (`recorder`) and real servers from Debian packages
//! (`servers`).

#![allow(dead_code)]

pub mod net;
pub mod recorder;
pub mod servers;

use assert_cmd::Command;
use onec_backup_bot::config::keys::KEYS;
use onec_backup_bot::onec::generate::{CdFormat, generate_1cd};
use std::fs;
use std::path::{Path, PathBuf};

pub const PASSWORD: &str = "S3cr3t-Pa55-word";

pub struct World {
    pub dir: tempfile::TempDir,
    pub base: PathBuf,
    pub backups: PathBuf,
    pub bin: PathBuf,
    pub envs: Vec<(String, String)>,
}

impl World {
    /// A world with a small 8.3.8 base (`pages` × 8 KiB) named `buh`.
    pub fn new(pages: u32) -> World {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("buh");
        fs::create_dir_all(base.join("1Cv8Log")).unwrap();
        generate_1cd(&base.join("1Cv8.1CD"), CdFormat::V8_3_8, pages, 7).unwrap();
        fs::write(base.join("1Cv8Log/1Cv8.lgf"), "log header\n").unwrap();
        fs::write(base.join("1Cv8.1CD.cfl"), b"").unwrap();
        let backups = dir.path().join("backups");
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        let exe = std::env::consts::EXE_SUFFIX;
        for name in ["1cv8", "ibcmd"] {
            fs::copy(
                env!("CARGO_BIN_EXE_fake-1cv8"),
                bin.join(format!("{name}{exe}")),
            )
            .unwrap();
        }
        let envs = vec![
            ("ONEC_BASE_PATH".into(), base.display().to_string()),
            ("BACKUP_DIR".into(), backups.display().to_string()),
            (
                "ONEC_EXE".into(),
                bin.join(format!("1cv8{exe}")).display().to_string(),
            ),
            (
                "IBCMD_EXE".into(),
                bin.join(format!("ibcmd{exe}")).display().to_string(),
            ),
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

    pub fn set(&mut self, k: &str, v: &str) -> &mut Self {
        self.envs.retain(|(n, _)| n != k);
        self.envs.push((k.into(), v.into()));
        self
    }

    /// The real binary, run in the world's folder with only our variables.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_onec-backup-bot"));
        c.current_dir(self.dir.path());
        for k in KEYS {
            for e in k.env {
                c.env_remove(e);
            }
        }
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c.env_remove("FAKE_1C_MODE");
        c
    }

    /// `onec-backup-bot run` in the world's folder with only the world's
    /// variables, its API on 127.0.0.1:`port` (not started).
    pub fn run_command(&self, port: u16) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_onec-backup-bot"));
        c.current_dir(self.dir.path()).arg("run");
        for k in KEYS {
            for e in k.env {
                c.env_remove(e);
            }
        }
        c.env_remove("FAKE_1C_MODE");
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c.env("API_HOST", "127.0.0.1")
            .env("API_PORT", port.to_string());
        c
    }

    /// `onec-backup-bot run` on a free loopback port with the world's
    /// variables and `extra`; stderr goes to `agent.stderr` in the world.
    pub fn spawn_agent(&self, extra: &[(&str, &str)]) -> RunningAgent {
        let port = net::free_port();
        let mut c = self.run_command(port);
        for (k, v) in extra {
            c.env(k, v);
        }
        let stderr = fs::File::create(self.dir.path().join("agent.stderr")).unwrap();
        c.stdout(std::process::Stdio::null()).stderr(stderr);
        let agent = RunningAgent {
            proc: net::Proc(c.spawn().unwrap()),
            port,
        };
        net::wait_for(
            "the agent to listen",
            std::time::Duration::from_secs(20),
            || net::get(port, "/api/health").0 != 0,
        );
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

    pub fn list_json(&self) -> serde_json::Value {
        let out = self
            .cmd()
            .args(["list", "--json", "--limit", "100"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl World {
    /// Move every recorded run `hours` into the past (as if the agent had
    /// been off since then).
    pub fn backdate_runs(&self, hours: i64) {
        let then = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(hours))
            .unwrap()
            .to_string();
        rusqlite::Connection::open(self.backups.join("app.sqlite3"))
            .unwrap()
            .execute("UPDATE runs SET started = ?1, finished = ?1", [&then])
            .unwrap();
    }
}

impl World {
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

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// `onec-backup-bot run`, killed when dropped.
pub struct RunningAgent {
    pub proc: net::Proc,
    /// Its HTTP API port.
    pub port: u16,
}

impl RunningAgent {
    /// `/api/health` as JSON.
    pub fn health(&self) -> serde_json::Value {
        let (code, body) = net::get(self.port, "/api/health");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: HTTP {code}: {body}"))
    }

    /// One push sink's health entry.
    pub fn sink(&self, name: &str) -> serde_json::Value {
        self.health()["checks"]["sinks"]["sinks"][name].clone()
    }

    /// `/api/metrics.prom`.
    pub fn metrics(&self) -> String {
        net::get(self.port, "/api/metrics.prom").1
    }

    /// SIGTERM, then wait for the exit code.
    #[cfg(unix)]
    pub fn stop(&mut self, within: std::time::Duration) -> i32 {
        net::sigterm(&self.proc.0);
        net::wait_exit(&mut self.proc.0, within)
    }
}
