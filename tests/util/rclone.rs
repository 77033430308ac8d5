//! `rclone serve webdav` (Debian package `rclone`) on a free loopback
//! port, serving a temp folder with basic auth `u` / `p`: the real WebDAV
//! server of the offsite tests. Started only by a test holding
//! [`super::heavy`]; killed when dropped. A missing rclone fails the test
//! with the package to install.

use super::assert_heavy;
use super::http::get;
use super::proc::{Proc, free_port, spawn, wait_for};
use super::servers::require;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub const USER: &str = "u";
pub const PASS: &str = "p-Secret-WebDAV-9";

/// A running `rclone serve webdav`.
pub struct WebDavServer {
    pub port: u16,
    /// The folder it serves.
    pub root: PathBuf,
    /// Its stderr, for failure messages.
    pub log: PathBuf,
    _proc: Proc,
}

impl WebDavServer {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Serve `root` (created if missing) over WebDAV; the log goes to `log_dir`.
pub fn serve_webdav(root: &Path, log_dir: &Path) -> WebDavServer {
    assert_heavy("rclone serve webdav");
    let exe = require("rclone", "rclone");
    std::fs::create_dir_all(root).unwrap();
    let port = free_port();
    let log = log_dir.join("rclone.log");
    let proc = spawn(
        Command::new(exe)
            .args(["serve", "webdav"])
            .arg(root)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .args(["--user", USER, "--pass", PASS])
            .args(["--config", "/dev/null", "-v"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    // Without the login it answers 401 once it listens.
    wait_for(
        "rclone serve webdav to answer",
        Duration::from_secs(30),
        || get(port, "/").status == 401,
    );
    WebDavServer {
        port,
        root: root.to_path_buf(),
        log,
        _proc: proc,
    }
}
