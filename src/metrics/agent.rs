//! The agent itself: our own resident memory and CPU time
//! (`/proc/self/stat` on Linux, `GetProcessMemoryInfo`/`GetProcessTimes`
//! on Windows).

use serde::Serialize;

#[cfg(unix)]
#[path = "agent/linux.rs"]
mod sys;
#[cfg(windows)]
#[path = "agent/windows.rs"]
mod sys;
pub(crate) use sys::read;

/// The agent's own process (not the [`crate::agent::Agent`] it runs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentProcess {
    pub pid: u32,
    pub rss_bytes: u64,
    /// User + kernel CPU time since start, seconds.
    pub cpu_seconds: f64,
}
