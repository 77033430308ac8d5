//! The agent's own process on Linux, for [`super`]: `/proc/self/stat`.

use super::AgentProcess;
use crate::metrics::MetricsError;
use crate::metrics::linux::read_text;
use crate::metrics::process::parse_pid_stat;
use std::path::Path;

/// Our pid, resident memory and CPU time.
pub(crate) fn read(root: &Path) -> Result<AgentProcess, MetricsError> {
    let st = parse_pid_stat(&read_text(root, "proc/self/stat")?)?;
    let (tck, page) = crate::platform::clock_ticks_and_page_size();
    Ok(AgentProcess {
        pid: st.pid,
        rss_bytes: st.rss_pages * page,
        cpu_seconds: st.cpu_ticks as f64 / tck,
    })
}
