//! Memory and swap in bytes (`/proc/meminfo` on Linux), with psutil's
//! meaning of `used` so the prototype's dashboards keep their numbers.

use super::{MetricsError, percent};
use serde::Serialize;
use std::collections::HashMap;

#[cfg(unix)]
#[path = "memory/linux.rs"]
mod sys;
#[cfg(windows)]
#[path = "memory/windows.rs"]
mod sys;
pub(crate) use sys::read;

/// RAM and swap, bytes; percents 0–100.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memory {
    pub total: u64,
    /// Obtainable without swapping (`MemAvailable`).
    pub available: u64,
    /// `total - free - buffers - cached` (psutil), never above `total`.
    pub used: u64,
    pub free: u64,
    /// `(total - available) / total`.
    pub percent: f64,
    pub swap_total: u64,
    pub swap_used: u64,
    pub swap_free: u64,
    pub swap_percent: f64,
}

impl Memory {
    /// Build from raw byte figures, deriving `used` and the percents.
    pub fn from_parts(
        total: u64,
        available: u64,
        free: u64,
        buffers_and_cache: u64,
        swap_total: u64,
        swap_free: u64,
    ) -> Memory {
        let mut used = total.saturating_sub(free).saturating_sub(buffers_and_cache);
        if used == 0 {
            used = total.saturating_sub(free);
        }
        let swap_used = swap_total.saturating_sub(swap_free);
        Memory {
            total,
            available,
            used,
            free,
            percent: percent(total.saturating_sub(available) as f64, total as f64),
            swap_total,
            swap_used,
            swap_free,
            swap_percent: percent(swap_used as f64, swap_total as f64),
        }
    }
}

/// Parse `/proc/meminfo` (values in kB) into bytes.
pub fn parse_meminfo(text: &str) -> Result<Memory, MetricsError> {
    let mut kv: HashMap<&str, u64> = HashMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(':') {
            let mut it = v.split_ascii_whitespace();
            if let Some(n) = it.next().and_then(|n| n.parse::<u64>().ok()) {
                let mult = if it.next() == Some("kB") { 1024 } else { 1 };
                kv.insert(k.trim(), n * mult);
            }
        }
    }
    let get = |k: &str| kv.get(k).copied();
    let total =
        get("MemTotal").ok_or_else(|| MetricsError::parse("/proc/meminfo", "no MemTotal line"))?;
    let free = get("MemFree").unwrap_or(0);
    let cache =
        get("Buffers").unwrap_or(0) + get("Cached").unwrap_or(0) + get("SReclaimable").unwrap_or(0);
    // Kernels before 3.14 have no MemAvailable; approximate as psutil does.
    let available = get("MemAvailable").unwrap_or(free + cache).min(total);
    Ok(Memory::from_parts(
        total,
        available,
        free,
        cache,
        get("SwapTotal").unwrap_or(0),
        get("SwapFree").unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_in_bytes_with_psutil_used() {
        let m = parse_meminfo(
            "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 600 kB\nBuffers: 50 kB\n\
             Cached: 300 kB\nSReclaimable: 50 kB\nSwapTotal: 200 kB\nSwapFree: 150 kB\n",
        )
        .unwrap();
        assert_eq!(m.total, 1_024_000);
        assert_eq!(m.available, 614_400);
        assert_eq!(m.free, 102_400);
        assert_eq!(m.used, 500 * 1024);
        assert_eq!(m.percent, 40.0);
        assert_eq!(m.swap_used, 50 * 1024);
        assert_eq!(m.swap_percent, 25.0);
    }

    #[test]
    fn meminfo_without_total_is_an_error() {
        assert!(parse_meminfo("MemFree: 1 kB\n").is_err());
    }
}
