//! Packing runs at background priority and nothing else does: while a real
//! console backup packs, its packing threads run at nice 19 (Linux) and the
//! process's main thread at its own priority.
#![cfg(target_os = "linux")]

use crate::util::{World, heavy};
use std::fs;
use std::time::{Duration, Instant};

/// Each thread of `pid`: (thread id, name, nice value).
fn threads(pid: u32) -> Vec<(u32, String, i64)> {
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|t| {
            let tid: u32 = t.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(t.path().join("stat")).ok()?;
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let name = stat[open + 1..close].to_string();
            let nice = stat[close + 2..].split(' ').nth(19 - 3)?.parse().ok()?;
            Some((tid, name, nice))
        })
        .collect()
}

#[test]
fn packing_threads_run_at_nice_19_and_the_main_thread_does_not() {
    // Packing at level 9 takes every core for a while.
    let _heavy = heavy();
    let mut w = World::new(12_288);
    w.set("BACKUP_METHOD", "copy")
        .set("BACKUP_COMPRESS_LEVEL", "9");
    let mut child = w.spawn(&["backup"], &[]);
    let pid = child.0.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut packing: Vec<(u32, String, i64)> = Vec::new();
    let mut main_nice = Vec::new();
    while Instant::now() < deadline && child.0.try_wait().unwrap().is_none() {
        for t in threads(pid) {
            if t.0 == pid {
                main_nice.push(t.2);
            } else if t.1 == "pack" && !packing.iter().any(|p| p.0 == t.0) {
                packing.push(t);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = child.0.wait().unwrap();
    assert!(status.success(), "the backup failed: {status}");
    // The packing thread and its compressing workers (named after it).
    assert!(packing.len() >= 2, "packing threads seen: {packing:?}");
    assert!(
        packing.iter().all(|t| t.2 == 19),
        "packing below nice 19: {packing:?}"
    );
    assert!(!main_nice.is_empty());
    assert!(
        main_nice.iter().all(|&n| n < 19),
        "the main thread was lowered: {main_nice:?}"
    );
    assert_eq!(w.archives().len(), 1);
}
