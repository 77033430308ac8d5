//! End to end: what the agent creates on Unix is private to its user
//! (umask 0077 at start): archives, dumps, 1C's logs, the history
//! database, `backup.log` and their folders are 0600 / 0700.

#![cfg(unix)]

use crate::util::World;
use crate::util::proc::wait_for;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `backup --json` with the world's settings; the archive it made.
fn backup(w: &World) -> (PathBuf, serde_json::Value) {
    let out = w
        .cmd()
        .args(["backup", "--json", "--force"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    assert!(out.status.success(), "{v}");
    (PathBuf::from(v["archive"].as_str().unwrap()), v)
}

#[test]
fn backups_history_and_logs_are_private_to_the_agent_user() {
    let mut w = World::new(16);
    // A zip of a copy, and a bare dump with 1C's log of it.
    w.set("BACKUP_METHOD", "copy");
    let (zip, _) = backup(&w);
    w.set("BACKUP_METHOD", "dump")
        .set("BACKUP_COMPRESS", "none");
    let (dt, _) = backup(&w);
    assert!(dt.extension().is_some_and(|e| e == "dt"), "{dt:?}");
    for file in [&zip, &dt, &w.backups.join("app.sqlite3")] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    for dir in [&w.backups, zip.parent().unwrap(), dt.parent().unwrap()] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
    let list = w.list_json();
    let logs: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["log_path"].as_str())
        .collect();
    assert!(!logs.is_empty(), "{list}");
    for log in logs {
        assert_eq!(mode(Path::new(log)), 0o600, "{log}");
    }
    // The agent's own log.
    let mut agent = w.agent(&[]);
    let log = w.backups.join("backup.log");
    wait_for("backup.log", Duration::from_secs(20), || log.exists());
    assert_eq!(agent.stop(Duration::from_secs(20)), 0);
    assert_eq!(mode(&log), 0o600);
    for f in ["app.sqlite3-wal", "app.sqlite3-shm"] {
        let p = w.backups.join(f);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{f}");
        }
    }
}
