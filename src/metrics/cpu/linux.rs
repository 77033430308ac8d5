//! Linux CPU figures for [`super`]: deltas of `/proc/stat`, core counts
//! from `/proc/cpuinfo`, frequency from
//! `/sys/devices/system/cpu/cpu*/cpufreq`.

use super::{Cpu, CpuTimes, Stat, parse_cpuinfo, parse_stat, parse_uptime, percentages};
use crate::metrics::MetricsError;
use crate::metrics::linux::{read_text, under};
use std::path::Path;

/// Previous `/proc/stat` reading and when it was taken.
#[derive(Debug, Default)]
pub(crate) struct CpuState {
    prev: Option<(Stat, f64)>,
}

/// Busy percent, the split and per-core percent since the previous
/// reading (since boot on the first).
pub(crate) fn read(root: &Path, state: &mut CpuState) -> Result<Cpu, MetricsError> {
    let stat = parse_stat(&read_text(root, "proc/stat")?)?;
    let uptime = parse_uptime(&read_text(root, "proc/uptime")?)?;
    let info = read_text(root, "proc/cpuinfo")
        .map(|t| parse_cpuinfo(&t))
        .unwrap_or_default();
    let (prev, prev_at) = match state.prev.take() {
        Some((s, at)) if s.per_core.len() == stat.per_core.len() => (s, at),
        _ => (
            Stat {
                per_core: vec![CpuTimes::default(); stat.per_core.len()],
                ..Stat::default()
            },
            0.0,
        ),
    };
    let all = percentages(&prev.total, &stat.total);
    let per_core_percent = prev
        .per_core
        .iter()
        .zip(&stat.per_core)
        .map(|(a, b)| percentages(a, b).busy)
        .collect();
    let (freq_current_mhz, freq_max_mhz) = read_freq(root, stat.per_core.len());
    let cpu = Cpu {
        percent: all.busy,
        logical_cores: stat.per_core.len() as u32,
        physical_cores: info.physical_cores,
        freq_current_mhz: freq_current_mhz.or(info.mhz),
        freq_max_mhz,
        user_percent: all.user,
        system_percent: all.system,
        idle_percent: all.idle,
        iowait_percent: all.iowait,
        per_core_percent,
        interval_seconds: (uptime - prev_at).max(0.0),
    };
    state.prev = Some((stat, uptime));
    Ok(cpu)
}

/// (mean current, max of max) from cpufreq, MHz; `None` where absent
/// (virtual machines often have no cpufreq).
fn read_freq(root: &Path, cores: usize) -> (Option<f64>, Option<f64>) {
    let khz = |cpu: usize, file: &str| -> Option<f64> {
        let rel = format!("sys/devices/system/cpu/cpu{cpu}/cpufreq/{file}");
        std::fs::read_to_string(under(root, &rel))
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
    };
    let cur: Vec<f64> = (0..cores)
        .filter_map(|c| khz(c, "scaling_cur_freq"))
        .collect();
    let max = (0..cores)
        .filter_map(|c| khz(c, "cpuinfo_max_freq"))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let cur = (!cur.is_empty()).then(|| cur.iter().sum::<f64>() / cur.len() as f64 / 1000.0);
    (cur, max.map(|m| m / 1000.0))
}
