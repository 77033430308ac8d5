//! System identity: hostname, OS, version, kernel, architecture, boot time
//! and uptime (`/proc/sys/kernel/*`, `/etc/os-release`, `/proc/stat`
//! `btime`, `/proc/uptime` on Linux).

use serde::Serialize;

#[cfg(unix)]
#[path = "system/linux.rs"]
mod sys;
#[cfg(windows)]
#[path = "system/windows.rs"]
mod sys;
pub(crate) use sys::read;

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
