//! The agent itself: our own resident memory and CPU time
//! (`/proc/self/stat` on Linux, `GetProcessMemoryInfo`/`GetProcessTimes`
//! on Windows).

use serde::Serialize;

/// Our own process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    pub pid: u32,
    pub rss_bytes: u64,
    /// User + kernel CPU time since start, seconds.
    pub cpu_seconds: f64,
}

#[cfg(not(windows))]
pub(crate) fn read(root: &std::path::Path) -> Result<Agent, super::MetricsError> {
    let st = super::process::parse_pid_stat(&super::read_text(root, "proc/self/stat")?)?;
    let (tck, page) = super::process::clk_tck_and_page();
    Ok(Agent {
        pid: st.pid,
        rss_bytes: st.rss_pages * page,
        cpu_seconds: st.cpu_ticks as f64 / tck,
    })
}
