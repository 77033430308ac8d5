//! Windows memory figures for [`super`]: `GlobalMemoryStatusEx`; swap is
//! the page file, the commit limit less physical memory.

use super::Memory;
use crate::metrics::MetricsError;
use crate::metrics::windows::os_err;
use std::path::Path;
use windows_sys::Win32::System::SystemInformation::{GlobalMemoryStatusEx, MEMORYSTATUSEX};

/// RAM and page file, bytes.
pub(crate) fn read(_root: &Path) -> Result<Memory, MetricsError> {
    let mut m = MEMORYSTATUSEX {
        dwLength: std::mem::size_of::<MEMORYSTATUSEX>() as u32,
        ..Default::default()
    };
    // SAFETY: `m` is a valid MEMORYSTATUSEX with dwLength set.
    if unsafe { GlobalMemoryStatusEx(&mut m) } == 0 {
        return Err(os_err("GlobalMemoryStatusEx"));
    }
    // The commit limit includes RAM: the page file alone is the difference.
    let swap_total = m.ullTotalPageFile.saturating_sub(m.ullTotalPhys);
    let swap_free = m
        .ullAvailPageFile
        .saturating_sub(m.ullAvailPhys)
        .min(swap_total);
    Ok(Memory::from_parts(
        m.ullTotalPhys,
        m.ullAvailPhys,
        m.ullAvailPhys,
        0,
        swap_total,
        swap_free,
    ))
}
