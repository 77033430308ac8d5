//! Recovery after killed runs: the base lock decides, never a reused PID.

use super::*;

fn config(dir: &Path) -> Config {
    let locks = dir.join("locks").display().to_string();
    crate::config::testing::config_in(
        dir,
        &[("BACKUP_LOCK_DIR", &locks), ("BACKUP_METHOD", "copy")],
    )
}

fn running_row(h: &History, base: &str, pid: u32) -> i64 {
    h.start_run(&NewRun {
        base,
        trigger: Trigger::Cli,
        method: "copy",
        started: &jiff::Timestamp::now(),
        pid,
    })
    .unwrap()
}

/// PIDs are reused (fast on Windows, PID 1 in containers): a row left
/// `running` by a killed run whose PID now belongs to a live process,
/// and its multi-GB temporary, must still be cleaned up; the base's
/// free lock says nobody is backing it up.
#[test]
fn recovery_trusts_the_free_lock_not_a_reused_pid() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (h, _) = open_and_recover(&cfg).unwrap();
    let day = cfg.backup_dir.join("2024-01-01");
    fs::create_dir_all(&day).unwrap();
    // PID 1 and our own PID are alive.
    let temp = day.join(".buh_2024-01-01_00-00-00.zip.1.partial");
    fs::write(&temp, b"half an archive").unwrap();
    let row = running_row(&h, "buh", std::process::id());
    let other = running_row(&h, "gone-base", std::process::id());
    let r = recover(&cfg, &h);
    assert_eq!(r.interrupted, 1, "{r:?}");
    assert_eq!(r.removed_temps, 1, "{r:?}");
    assert!(!temp.exists());
    assert_eq!(h.run(row).unwrap().unwrap().status, Status::Interrupted);
    // A base no longer configured keeps the PID rule: ours is alive.
    assert_eq!(h.run(other).unwrap().unwrap().status, Status::Running);
}

#[test]
fn recovery_leaves_a_locked_base_alone_whatever_the_pid() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (h, _) = open_and_recover(&cfg).unwrap();
    let day = cfg.backup_dir.join("2024-01-01");
    fs::create_dir_all(&day).unwrap();
    // The recorded PID is dead, but the base's lock is held: a run of
    // another process is going on (its PID may simply not be ours).
    let temp = day.join(".buh_2024-01-01_00-00-00.zip.4000000.partial");
    fs::write(&temp, b"being written").unwrap();
    let row = running_row(&h, "buh", 4_000_000);
    let held = lock::try_lock_base(&cfg, &cfg.bases[0]).unwrap().unwrap();
    let r = recover(&cfg, &h);
    assert_eq!((r.interrupted, r.removed_temps), (0, 0), "{r:?}");
    assert!(temp.exists());
    assert_eq!(h.run(row).unwrap().unwrap().status, Status::Running);
    drop(held);
    let r = recover(&cfg, &h);
    assert_eq!((r.interrupted, r.removed_temps), (1, 1), "{r:?}");
}
