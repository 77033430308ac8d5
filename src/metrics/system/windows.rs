//! Windows system identity for [`super`]: names and versions from
//! `sysinfo`, uptime from `GetTickCount64`.

use super::SystemInfo;
use crate::metrics::MetricsError;
use std::path::Path;
use sysinfo::System;
use windows_sys::Win32::System::SystemInformation::GetTickCount64;

/// Host name, OS version, kernel, boot time and uptime.
pub(crate) fn read(_root: &Path) -> Result<SystemInfo, MetricsError> {
    // SAFETY: no arguments.
    let uptime_ms = unsafe { GetTickCount64() };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(SystemInfo {
        hostname: System::host_name().unwrap_or_default(),
        os: std::env::consts::OS.to_string(),
        os_version: System::long_os_version().unwrap_or_default(),
        kernel: System::kernel_version().unwrap_or_default(),
        arch: std::env::consts::ARCH.to_string(),
        boot_time_unix: now.saturating_sub(uptime_ms / 1000),
        uptime_seconds: uptime_ms as f64 / 1000.0,
    })
}
