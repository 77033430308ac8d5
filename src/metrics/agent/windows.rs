//! The agent's own process on Windows, for [`super`]:
//! `GetProcessMemoryInfo` (working set) and `GetProcessTimes`.

use super::AgentProcess;
use crate::metrics::MetricsError;
use crate::metrics::windows::{ft, os_err};
use std::path::Path;
use windows_sys::Win32::Foundation::FILETIME;
use windows_sys::Win32::System::ProcessStatus::{GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessTimes};

/// Our pid, working set and CPU time.
pub(crate) fn read(_root: &Path) -> Result<AgentProcess, MetricsError> {
    // SAFETY: the pseudo-handle of the current process needs no closing.
    let me = unsafe { GetCurrentProcess() };
    let mut pmc = PROCESS_MEMORY_COUNTERS {
        cb: std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32,
        ..Default::default()
    };
    // SAFETY: `pmc` is valid and its size is passed.
    if unsafe { GetProcessMemoryInfo(me, &mut pmc, pmc.cb) } == 0 {
        return Err(os_err("GetProcessMemoryInfo"));
    }
    let (mut c, mut e, mut k, mut u): (FILETIME, FILETIME, FILETIME, FILETIME) = Default::default();
    // SAFETY: four valid FILETIME out-pointers.
    if unsafe { GetProcessTimes(me, &mut c, &mut e, &mut k, &mut u) } == 0 {
        return Err(os_err("GetProcessTimes"));
    }
    Ok(AgentProcess {
        pid: std::process::id(),
        rss_bytes: pmc.WorkingSetSize as u64,
        cpu_seconds: (ft(&k) + ft(&u)) as f64 / 1e7,
    })
}
