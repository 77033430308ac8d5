//! System identity: hostname, OS, version, kernel, architecture, boot time
//! and uptime (`/proc/sys/kernel/*`, `/etc/os-release`, `/proc/stat`
//! `btime`, `/proc/uptime` on Linux).

use serde::Serialize;

/// What this host is and how long it has been up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemInfo {
    pub hostname: String,
    /// `linux`, `windows`, `macos` (Rust's `std::env::consts::OS`).
    pub os: String,
    /// Distribution or edition (`Debian GNU/Linux 12 (bookworm)`,
    /// `Windows Server 2019 Standard`).
    pub os_version: String,
    /// Kernel release (`6.1.0-18-amd64`, Windows build number).
    pub kernel: String,
    /// `x86_64`, `aarch64` (`std::env::consts::ARCH`).
    pub arch: String,
    /// Unix seconds.
    pub boot_time_unix: u64,
    pub uptime_seconds: f64,
}

/// `PRETTY_NAME` of `/etc/os-release`, else `NAME VERSION`.
pub fn parse_os_release(text: &str) -> Option<String> {
    let get = |key: &str| {
        text.lines().find_map(|l| {
            let v = l.strip_prefix(key)?.strip_prefix('=')?;
            Some(v.trim().trim_matches('"').to_string())
        })
    };
    get("PRETTY_NAME").or_else(|| {
        let name = get("NAME")?;
        Some(match get("VERSION") {
            Some(v) => format!("{name} {v}"),
            None => name,
        })
    })
}

#[cfg(not(windows))]
pub(crate) fn read(root: &std::path::Path) -> Result<SystemInfo, super::MetricsError> {
    use super::{MetricsError, read_text};
    let stat = super::cpu::parse_stat(&read_text(root, "proc/stat")?)?;
    let uptime_seconds = super::cpu::parse_uptime(&read_text(root, "proc/uptime")?)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_pretty_name_or_name_version() {
        assert_eq!(
            parse_os_release("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n").as_deref(),
            Some("Debian GNU/Linux 12")
        );
        assert_eq!(
            parse_os_release("NAME=Alt\nVERSION=\"10.1\"\n").as_deref(),
            Some("Alt 10.1")
        );
        assert_eq!(parse_os_release("ID=x\n"), None);
    }
}
