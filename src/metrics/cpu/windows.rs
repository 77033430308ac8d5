//! Windows CPU figures for [`super`]: `GetSystemTimes` for the
//! user/system/idle split,
//! `NtQuerySystemInformation(SystemProcessorPerformanceInformation)` for
//! per-core busy percent, `CallNtPowerInformation` for frequency.
//!
//! sysinfo's CPU usage is deliberately not used: it reads performance
//! counters (PDH), which are slower, need the counter names registered, and
//! fall back to `PdhEnumObjectsW`, which Wine does not implement (calling
//! it ends the process there, so the Wine smoke run could not work).

use super::{Cpu, WindowsTimes, per_core_busy, percentages};
use crate::metrics::MetricsError;
use crate::metrics::windows::{ft, os_err};
use std::io;
use std::path::Path;
use sysinfo::System;
use windows_sys::Wdk::System::SystemInformation::{
    NtQuerySystemInformation, SystemProcessorPerformanceInformation,
};
use windows_sys::Win32::Foundation::FILETIME;
use windows_sys::Win32::System::Power::{
    CallNtPowerInformation, PROCESSOR_POWER_INFORMATION, ProcessorInformation,
};
use windows_sys::Win32::System::SystemInformation::GetTickCount64;
use windows_sys::Win32::System::Threading::{
    ALL_PROCESSOR_GROUPS, GetActiveProcessorCount, GetSystemTimes,
};
use windows_sys::Win32::System::WindowsProgramming::SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION;

/// The previous reading of the totals and of each processor, and when it
/// was taken (milliseconds since boot).
#[derive(Default)]
pub(crate) struct CpuState {
    prev_times: WindowsTimes,
    prev_cores: Vec<WindowsTimes>,
    prev_uptime_ms: u64,
}

/// Whole-machine CPU times since boot.
fn system_times() -> Result<WindowsTimes, MetricsError> {
    let (mut i, mut k, mut u) = (
        FILETIME::default(),
        FILETIME::default(),
        FILETIME::default(),
    );
    // SAFETY: three valid out-pointers.
    if unsafe { GetSystemTimes(&mut i, &mut k, &mut u) } == 0 {
        return Err(os_err("GetSystemTimes"));
    }
    Ok(WindowsTimes {
        idle: ft(&i),
        kernel: ft(&k),
        user: ft(&u),
    })
}

/// Per-processor CPU times since boot, one entry per logical processor of
/// this process's processor group (all of them below 64 processors).
fn processor_times() -> Result<Vec<WindowsTimes>, MetricsError> {
    type Info = SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION;
    // SAFETY: no pointers involved.
    let mut cap = (unsafe { GetActiveProcessorCount(ALL_PROCESSOR_GROUPS) } as usize).max(1);
    for _ in 0..3 {
        let mut buf = vec![Info::default(); cap];
        let mut got = 0u32;
        // SAFETY: `buf` holds `cap` records of the documented type and its
        // size in bytes is passed.
        let status = unsafe {
            NtQuerySystemInformation(
                SystemProcessorPerformanceInformation,
                buf.as_mut_ptr().cast(),
                (cap * std::mem::size_of::<Info>()) as u32,
                &mut got,
            )
        };
        const STATUS_INFO_LENGTH_MISMATCH: i32 = 0xC000_0004_u32 as i32;
        if status == STATUS_INFO_LENGTH_MISMATCH {
            cap = (got as usize / std::mem::size_of::<Info>()).max(cap * 2);
            continue;
        }
        if status < 0 {
            return Err(MetricsError::Os {
                call: "NtQuerySystemInformation(SystemProcessorPerformanceInformation)",
                source: io::Error::other(format!("NTSTATUS {:#010x}", status as u32)),
            });
        }
        buf.truncate(got as usize / std::mem::size_of::<Info>());
        return Ok(buf
            .iter()
            .map(|p| WindowsTimes {
                idle: p.IdleTime.max(0) as u64,
                kernel: p.KernelTime.max(0) as u64,
                user: p.UserTime.max(0) as u64,
            })
            .collect());
    }
    Err(MetricsError::parse(
        "NtQuerySystemInformation(SystemProcessorPerformanceInformation)",
        "the processor list kept growing",
    ))
}

/// Busy percent, the user/system/idle split and per-core percent since the
/// previous reading (since boot on the first).
pub(crate) fn read(_root: &Path, state: &mut CpuState) -> Result<Cpu, MetricsError> {
    let times = system_times()?;
    let cores = processor_times()?;
    let all = percentages(&state.prev_times.into(), &times.into());
    let per_core_percent = per_core_busy(&state.prev_cores, &cores);
    state.prev_times = times;
    state.prev_cores = cores;
    // SAFETY: no arguments.
    let now_ms = unsafe { GetTickCount64() };
    let interval_seconds = now_ms.saturating_sub(state.prev_uptime_ms) as f64 / 1000.0;
    state.prev_uptime_ms = now_ms;

    let (freq_current_mhz, freq_max_mhz) = frequencies(per_core_percent.len());
    Ok(Cpu {
        percent: all.busy,
        logical_cores: per_core_percent.len() as u32,
        physical_cores: System::physical_core_count().map(|n| n as u32),
        freq_current_mhz,
        freq_max_mhz,
        user_percent: all.user,
        system_percent: all.system,
        idle_percent: all.idle,
        iowait_percent: 0.0,
        per_core_percent,
        interval_seconds,
    })
}

/// (current, max) MHz from `CallNtPowerInformation(ProcessorInformation)`.
fn frequencies(cores: usize) -> (Option<f64>, Option<f64>) {
    if cores == 0 {
        return (None, None);
    }
    let mut info = vec![PROCESSOR_POWER_INFORMATION::default(); cores];
    let size = (cores * std::mem::size_of::<PROCESSOR_POWER_INFORMATION>()) as u32;
    // SAFETY: the output buffer holds `cores` records of the documented type.
    let status = unsafe {
        CallNtPowerInformation(
            ProcessorInformation,
            std::ptr::null(),
            0,
            info.as_mut_ptr().cast(),
            size,
        )
    };
    if status != 0 {
        return (None, None);
    }
    let cur = info.iter().map(|i| f64::from(i.CurrentMhz)).sum::<f64>() / cores as f64;
    let max = info.iter().map(|i| f64::from(i.MaxMhz)).fold(0.0, f64::max);
    (Some(cur), (max > 0.0).then_some(max))
}
