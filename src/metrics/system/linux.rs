//! Linux system identity for [`super`]: `/proc/sys/kernel/*`,
//! `/etc/os-release`, `btime` of `/proc/stat` and `/proc/uptime`.

use super::{SystemInfo, parse_os_release};
use crate::metrics::MetricsError;
use crate::metrics::linux::read_text;
use std::path::Path;

/// Host name, OS version, kernel, boot time and uptime.
pub(crate) fn read(root: &Path) -> Result<SystemInfo, MetricsError> {
    let stat = crate::metrics::cpu::parse_stat(&read_text(root, "proc/stat")?)?;
    let uptime_seconds = crate::metrics::cpu::parse_uptime(&read_text(root, "proc/uptime")?)?;
    let boot_time_unix = stat
        .boot_time
        .ok_or_else(|| MetricsError::parse("/proc/stat", "no btime line"))?;
    let os_version = read_text(root, "etc/os-release")
        .ok()
        .and_then(|t| parse_os_release(&t))
        .unwrap_or_default();
    Ok(SystemInfo {
        hostname: read_text(root, "proc/sys/kernel/hostname")?
            .trim()
            .to_string(),
        os: std::env::consts::OS.to_string(),
        os_version,
        kernel: read_text(root, "proc/sys/kernel/osrelease")?
            .trim()
            .to_string(),
        arch: std::env::consts::ARCH.to_string(),
        boot_time_unix,
        uptime_seconds,
    })
}
