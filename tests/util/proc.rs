//! Processes and time for the end-to-end tests: children killed when
//! dropped, spawning that survives "text file busy", free ports, polling,
//! SIGTERM, and whether a process is gone.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A child process killed and reaped when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawn `c`, retrying while the kernel says "text file busy": a program
/// copied just now may still be open for writing in a child that another
/// test thread forked at that moment (until that child execs).
pub fn spawn(c: &mut Command) -> Proc {
    for _ in 0..100 {
        match c.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(20));
            }
            r => return Proc(r.unwrap_or_else(|e| panic!("{c:?}: {e}"))),
        }
    }
    panic!("{c:?} stayed busy for 2 s");
}

/// `exe args` with `env` added, its stdin, stdout and stderr null.
pub fn quiet(exe: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(exe);
    c.args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// A thread running `server` to its end on a tokio runtime of its own
/// (two workers).
pub fn serve_in_thread(
    server: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(server);
    })
}

/// A loopback port nobody listens on (right now), never one handed out
/// before in this process: a test may keep its port unbound for a while
/// (a server that comes up later), and the tests of every suite share
/// this process.
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if give(port) {
            return port;
        }
    }
}

/// Ports handed out in this process.
static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Record `port` as handed out; false when it was already.
fn give(port: u16) -> bool {
    GIVEN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(port)
}

/// A listener on a loopback port never handed out before. Bound at once
/// (port 0), so no other process can take the port between the choice
/// and the bind.
pub fn listen() -> TcpListener {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        if give(l.local_addr().unwrap().port()) {
            return l;
        }
    }
}

/// Poll `f` every 100 ms until it holds; panic naming `what` after `within`.
pub fn wait_for(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Ask a process to stop as a service manager would.
#[cfg(unix)]
pub fn sigterm(child: &Child) {
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
}

/// The process id written to `file` (by the fake 1C's child).
pub fn pid_in(file: &std::path::Path) -> i32 {
    let text = std::fs::read_to_string(file).unwrap();
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}: {text:?}", file.display()))
}

/// True once `pid` has exited (a zombie awaiting a reaper counts: PID 1 in
/// a container may never reap orphans); false if it still runs after 5 s.
#[cfg(unix)]
pub fn gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let exited = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => {
                stat.rsplit(')')
                    .next()
                    .and_then(|s| s.split_whitespace().next())
                    == Some("Z")
            }
            // SAFETY: signal 0 only checks that the process exists.
            Err(_) => cfg!(target_os = "linux") || unsafe { libc::kill(pid, 0) } != 0,
        };
        if exited {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
