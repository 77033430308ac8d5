//! Running a 1C process under a deadline and a [`Cancel`] flag, and killing
//! it together with every process it started when either fires. The kill
//! mechanism is per-OS behind one signature: a process group and `killpg`
//! on Unix (`process/unix.rs`), a Job Object on Windows (`process/windows.rs`).

use crate::cancel::Cancel;
use std::io;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[cfg(unix)]
#[path = "process/unix.rs"]
mod sys;
#[cfg(windows)]
#[path = "process/windows.rs"]
mod sys;

/// How often the child, the deadline and the cancel flag are checked.
const POLL: Duration = Duration::from_millis(100);

/// How a supervised run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// The process exited by itself; `None` when killed by a signal.
    Exited(Option<i32>),
    /// The deadline passed; the process tree was killed.
    TimedOut,
    /// Cancel was requested; the process tree was killed.
    Cancelled,
}

/// A started process and the handle that can kill its whole tree.
struct Supervised {
    child: Child,
    tree: sys::Tree,
}

impl Supervised {
    fn kill_tree(&mut self) {
        if let Err(e) = self.tree.kill(&self.child) {
            tracing::warn!("cannot kill the 1C process tree: {e}");
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Start `cmd` (stdin null; stdout/stderr as the caller set them) in its own
/// process tree and wait until it exits, the `timeout` passes, or `cancel`
/// is set; in the last two cases the whole tree is killed first.
pub fn run(cmd: Command, timeout: Duration, cancel: &Cancel) -> io::Result<RunEnd> {
    let mut sup = spawn(cmd)?;
    let start = Instant::now();
    loop {
        if let Some(status) = sup.child.try_wait()? {
            return Ok(RunEnd::Exited(status.code()));
        }
        if cancel.is_cancelled() {
            sup.kill_tree();
            return Ok(RunEnd::Cancelled);
        }
        if start.elapsed() >= timeout {
            sup.kill_tree();
            return Ok(RunEnd::TimedOut);
        }
        thread::sleep(
            POLL.min(timeout.saturating_sub(start.elapsed()))
                .max(Duration::from_millis(1)),
        );
    }
}

/// Start `cmd` (stdin null) in its own process tree.
fn spawn(mut cmd: Command) -> io::Result<Supervised> {
    cmd.stdin(Stdio::null());
    sys::prepare(&mut cmd);
    let child = cmd.spawn()?;
    match sys::Tree::attach(&child) {
        Ok(tree) => Ok(Supervised { child, tree }),
        Err(e) => {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

/// A process left running in its own tree (the locking 1C session): the
/// caller polls it and ends it; dropping it ends the tree too.
pub struct Background(Option<Supervised>);

impl Background {
    /// Start `cmd` without waiting for it.
    pub fn start(cmd: Command) -> io::Result<Background> {
        spawn(cmd).map(|s| Background(Some(s)))
    }

    /// `Some(code)` once it exited by itself (`code` `None`: killed by a
    /// signal), `None` while it runs.
    pub fn exited(&mut self) -> io::Result<Option<Option<i32>>> {
        match &mut self.0 {
            Some(s) => Ok(s.child.try_wait()?.map(|st| st.code())),
            None => Ok(Some(None)),
        }
    }

    /// Kill the tree (if still running) and reap it.
    pub fn end(&mut self) {
        if let Some(mut s) = self.0.take() {
            // Once reaped, its group id may be reused: never killed then.
            if matches!(s.child.try_wait(), Ok(None)) {
                s.kill_tree();
            }
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn exit_code_is_reported() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exit 3"]);
        let end = run(cmd, Duration::from_secs(10), &Cancel::new()).unwrap();
        assert_eq!(end, RunEnd::Exited(Some(3)));
    }

    #[test]
    fn timeout_kills_the_shell_and_its_child() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let mut cmd = Command::new("sh");
        // The background sleep is a grandchild we must also kill.
        cmd.arg("-c").arg(format!(
            "sleep 60 & echo $! > '{}'; wait",
            pid_file.display()
        ));
        let start = Instant::now();
        let end = run(cmd, Duration::from_millis(500), &Cancel::new()).unwrap();
        assert_eq!(end, RunEnd::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(5));
        let pid: u32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(wait_gone(pid), "grandchild {pid} survived");
    }

    #[test]
    fn cancel_kills_promptly() {
        let cancel = Cancel::new();
        let c2 = cancel.clone();
        let t = thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            c2.cancel();
        });
        let mut cmd = Command::new("sleep");
        cmd.arg("60");
        let start = Instant::now();
        assert_eq!(
            run(cmd, Duration::from_secs(60), &cancel).unwrap(),
            RunEnd::Cancelled
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        t.join().unwrap();
    }

    /// True once `pid` no longer exists (or is a zombie awaiting its reaper).
    pub(crate) fn wait_gone(pid: u32) -> bool {
        for _ in 0..50 {
            let alive = crate::platform::pid_alive(pid);
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| {
                    s.rsplit(')')
                        .next()
                        .is_some_and(|r| r.trim_start().starts_with('Z'))
                })
                .unwrap_or(false);
            if !alive || zombie {
                return true;
            }
            thread::sleep(Duration::from_millis(100));
        }
        false
    }
}
