//! CPU: busy percent and user/system/idle split over the last sampling
//! interval (deltas of `/proc/stat`; the first round covers the time since
//! boot), per-core percent, core counts and frequency (`/proc/cpuinfo`,
//! `/sys/devices/system/cpu/cpu*/cpufreq`).

use super::{MetricsError, percent};
use serde::Serialize;
use std::collections::HashSet;

#[cfg(unix)]
#[path = "cpu/linux.rs"]
mod sys;
#[cfg(windows)]
#[path = "cpu/windows.rs"]
mod sys;
pub(crate) use sys::{CpuState, read};

/// CPU usage over the last sampling interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cpu {
    /// Busy time (everything but idle and iowait), 0–100.
    pub percent: f64,
    pub logical_cores: u32,
    /// Distinct physical cores, when the OS says.
    pub physical_cores: Option<u32>,
    /// Current frequency averaged over cores, MHz.
    pub freq_current_mhz: Option<f64>,
    /// Highest maximum frequency of any core, MHz.
    pub freq_max_mhz: Option<f64>,
    /// User time (including nice), 0–100.
    pub user_percent: f64,
    /// Kernel time (including irq and softirq), 0–100.
    pub system_percent: f64,
    pub idle_percent: f64,
    /// Waiting for I/O (Linux; 0 elsewhere), 0–100.
    pub iowait_percent: f64,
    /// Busy percent of each logical core, `logical_cores` entries.
    pub per_core_percent: Vec<f64>,
    /// The interval these percents cover, seconds (time since boot on the
    /// first round).
    pub interval_seconds: f64,
}

/// One `cpu` line of `/proc/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CpuTimes {
    /// All ticks (guest time is already part of user time).
    pub fn total(&self) -> u64 {
        self.user
            + self.nice
            + self.system
            + self.idle
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
    }
}

/// What `/proc/stat` says about CPUs and boot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stat {
    pub total: CpuTimes,
    pub per_core: Vec<CpuTimes>,
    /// `btime`, unix seconds.
    pub boot_time: Option<u64>,
}

/// Parse `/proc/stat`.
pub fn parse_stat(text: &str) -> Result<Stat, MetricsError> {
    let mut stat = Stat::default();
    let mut saw_total = false;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(key) = fields.next() else { continue };
        if key == "btime" {
            stat.boot_time = fields.next().and_then(|v| v.parse().ok());
        } else if let Some(rest) = key.strip_prefix("cpu") {
            let nums: Vec<u64> = fields.map(|f| f.parse().unwrap_or(0)).collect();
            if nums.len() < 4 {
                return Err(MetricsError::parse(
                    "/proc/stat",
                    format!("cpu line with fewer than 4 numbers: {line:?}"),
                ));
            }
            let at = |i: usize| nums.get(i).copied().unwrap_or(0);
            let t = CpuTimes {
                user: at(0),
                nice: at(1),
                system: at(2),
                idle: at(3),
                iowait: at(4),
                irq: at(5),
                softirq: at(6),
                steal: at(7),
            };
            if rest.is_empty() {
                stat.total = t;
                saw_total = true;
            } else {
                stat.per_core.push(t);
            }
        }
    }
    if !saw_total {
        return Err(MetricsError::parse("/proc/stat", "no aggregate `cpu` line"));
    }
    Ok(stat)
}

/// CPU times as Windows reports them (`GetSystemTimes` for the whole
/// machine, `SystemProcessorPerformanceInformation` per processor), in
/// 100 ns units. Windows counts idle time inside kernel time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowsTimes {
    pub idle: u64,
    pub kernel: u64,
    pub user: u64,
}

impl From<WindowsTimes> for CpuTimes {
    fn from(t: WindowsTimes) -> CpuTimes {
        CpuTimes {
            user: t.user,
            system: t.kernel.saturating_sub(t.idle),
            idle: t.idle,
            ..CpuTimes::default()
        }
    }
}

/// Busy percent of each processor between two readings. A processor with
/// no previous reading (first round, or the count changed) is measured
/// since boot, as the first round of the totals is.
pub fn per_core_busy(prev: &[WindowsTimes], cur: &[WindowsTimes]) -> Vec<f64> {
    let zero = WindowsTimes::default();
    let prev = if prev.len() == cur.len() { prev } else { &[] };
    cur.iter()
        .enumerate()
        .map(|(i, c)| percentages(&(*prev.get(i).unwrap_or(&zero)).into(), &(*c).into()).busy)
        .collect()
}

/// Percent split of the time between two readings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimesPercent {
    pub busy: f64,
    pub user: f64,
    pub system: f64,
    pub idle: f64,
    pub iowait: f64,
}

/// Percentages of the ticks between `prev` and `cur` (all zero when no tick
/// passed). Counters that went backwards (CPU hot-unplug) count as zero.
pub fn percentages(prev: &CpuTimes, cur: &CpuTimes) -> TimesPercent {
    let d = |a: u64, b: u64| b.saturating_sub(a) as f64;
    let user = d(prev.user, cur.user) + d(prev.nice, cur.nice);
    let system = d(prev.system, cur.system) + d(prev.irq, cur.irq) + d(prev.softirq, cur.softirq);
    let idle = d(prev.idle, cur.idle);
    let iowait = d(prev.iowait, cur.iowait);
    let steal = d(prev.steal, cur.steal);
    let total = user + system + idle + iowait + steal;
    TimesPercent {
        busy: percent(total - idle - iowait, total),
        user: percent(user, total),
        system: percent(system, total),
        idle: percent(idle, total),
        iowait: percent(iowait, total),
    }
}

/// Core counts and frequency from `/proc/cpuinfo`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuInfo {
    pub processors: u32,
    pub physical_cores: Option<u32>,
    /// Mean of the `cpu MHz` lines.
    pub mhz: Option<f64>,
}

/// Parse `/proc/cpuinfo` (x86 and ARM layouts).
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut info = CpuInfo::default();
    let mut cores = HashSet::new();
    let (mut phys, mut core): (Option<String>, Option<String>) = (None, None);
    let (mut mhz_sum, mut mhz_n) = (0.0, 0u32);
    let mut flush = |phys: &mut Option<String>, core: &mut Option<String>| {
        if let (Some(p), Some(c)) = (phys.take(), core.take()) {
            cores.insert((p, c));
        }
    };
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            flush(&mut phys, &mut core);
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "processor" => info.processors += 1,
            "physical id" => phys = Some(v.to_string()),
            "core id" => core = Some(v.to_string()),
            "cpu MHz" => {
                if let Ok(m) = v.parse::<f64>() {
                    mhz_sum += m;
                    mhz_n += 1;
                }
            }
            _ => {}
        }
    }
    flush(&mut phys, &mut core);
    if !cores.is_empty() {
        info.physical_cores = Some(cores.len() as u32);
    }
    if mhz_n > 0 {
        info.mhz = Some(mhz_sum / mhz_n as f64);
    }
    info
}

/// Seconds since boot from `/proc/uptime`.
pub fn parse_uptime(text: &str) -> Result<f64, MetricsError> {
    text.split_ascii_whitespace()
        .next()
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| {
            MetricsError::parse("/proc/uptime", format!("expected seconds, got {text:?}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 10 50 800 40 0 0 0 0 0\n\
        cpu0 60 10 30 380 20 0 0 0 0 0\n\
        cpu1 40 0 20 420 20 0 0 0 0 0\n\
        intr 1 2 3\nbtime 1700000000\n";

    #[test]
    fn parses_stat_lines_and_btime() {
        let s = parse_stat(STAT).unwrap();
        assert_eq!(s.total.user, 100);
        assert_eq!(s.total.iowait, 40);
        assert_eq!(s.total.total(), 1000);
        assert_eq!(s.per_core.len(), 2);
        assert_eq!(s.per_core[1].idle, 420);
        assert_eq!(s.boot_time, Some(1_700_000_000));
    }

    #[test]
    fn stat_without_cpu_line_is_an_error() {
        assert!(parse_stat("intr 1\n").is_err());
    }

    #[test]
    fn percentages_over_an_interval() {
        let a = CpuTimes {
            user: 100,
            idle: 100,
            ..Default::default()
        };
        let b = CpuTimes {
            user: 130,
            nice: 10,
            system: 10,
            idle: 140,
            iowait: 10,
            ..Default::default()
        };
        let p = percentages(&a, &b);
        assert_eq!(p.user, 40.0);
        assert_eq!(p.system, 10.0);
        assert_eq!(p.idle, 40.0);
        assert_eq!(p.iowait, 10.0);
        assert_eq!(p.busy, 50.0);
        let none = percentages(&b, &b);
        assert_eq!(none.busy, 0.0);
    }

    #[test]
    fn windows_kernel_time_includes_idle() {
        let t: CpuTimes = WindowsTimes {
            idle: 700,
            kernel: 900,
            user: 100,
        }
        .into();
        assert_eq!((t.user, t.system, t.idle), (100, 200, 700));
        assert_eq!(t.total(), 1000);
        // A kernel counter below idle (torn read) is not an underflow.
        let odd: CpuTimes = WindowsTimes {
            idle: 10,
            kernel: 5,
            user: 0,
        }
        .into();
        assert_eq!(odd.system, 0);
    }

    #[test]
    fn per_core_busy_over_an_interval() {
        let t = |idle, kernel, user| WindowsTimes { idle, kernel, user };
        let prev = [t(100, 150, 50), t(100, 100, 0)];
        // Core 0: 10 idle, 20 kernel-busy, 70 user of 100 → 90 %.
        // Core 1: all 100 idle → 0 %.
        let cur = [t(110, 180, 120), t(200, 200, 0)];
        assert_eq!(per_core_busy(&prev, &cur), vec![90.0, 0.0]);
        // Nothing elapsed: 0, not NaN.
        assert_eq!(per_core_busy(&cur, &cur), vec![0.0, 0.0]);
    }

    #[test]
    fn per_core_busy_without_matching_previous_reading_counts_since_boot() {
        let t = |idle, kernel, user| WindowsTimes { idle, kernel, user };
        let cur = [t(50, 75, 25), t(100, 100, 0)];
        assert_eq!(per_core_busy(&[], &cur), vec![50.0, 0.0]);
        // A processor count change (hot-add) starts over rather than pairing
        // the wrong cores.
        assert_eq!(per_core_busy(&[t(1, 1, 1)], &cur), vec![50.0, 0.0]);
    }

    #[test]
    fn cpuinfo_counts_physical_cores_once() {
        let text = "processor\t: 0\nphysical id\t: 0\ncore id\t: 0\ncpu MHz\t: 2000.0\n\n\
            processor\t: 1\nphysical id\t: 0\ncore id\t: 0\ncpu MHz\t: 3000.0\n\n\
            processor\t: 2\nphysical id\t: 0\ncore id\t: 1\ncpu MHz\t: 1000.0\n";
        let i = parse_cpuinfo(text);
        assert_eq!(i.processors, 3);
        assert_eq!(i.physical_cores, Some(2));
        assert_eq!(i.mhz, Some(2000.0));
    }
}
