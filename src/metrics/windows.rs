//! Windows collectors: `sysinfo` for processes, disks and network
//! interfaces; Win32 for the rest (`GetSystemTimes` for the user/system/idle
//! split, `NtQuerySystemInformation(SystemProcessorPerformanceInformation)`
//! for per-core CPU, `CallNtPowerInformation` for frequency,
//! `GlobalMemoryStatusEx`, `GetExtendedTcpTable`, `IOCTL_DISK_PERFORMANCE`
//! on `\\.\PhysicalDriveN` as psutil does, `LookupAccountSidW` for process
//! owners). Raw FFI of the metrics module stays in this file and
//! `sessions/windows.rs`.
//!
//! sysinfo's CPU usage is deliberately not used: it reads performance
//! counters (PDH), which are slower, need the counter names registered, and
//! fall back to `PdhEnumObjectsW`, which Wine does not implement (calling
//! it ends the process there, so the Wine smoke run could not work).

use super::cpu::{WindowsTimes, per_core_busy, percentages};
use super::{
    Agent, Cpu, DiskDevice, DiskIo, Filesystem, IoCounters, Memory, MetricsError, NetCounters,
    NetInterface, Network, ProcInfo, SystemInfo, filesystem, network,
};
use std::collections::HashMap;
use std::io;
use sysinfo::{Disks, Networks, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
use windows_sys::Wdk::System::SystemInformation::{
    NtQuerySystemInformation, SystemProcessorPerformanceInformation,
};
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_INSUFFICIENT_BUFFER, FILETIME, INVALID_HANDLE_VALUE, LocalFree, NO_ERROR,
};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    GetExtendedTcpTable, MIB_TCP_STATE_ESTAB, MIB_TCP6ROW_OWNER_PID, MIB_TCPROW_OWNER_PID,
    TCP_TABLE_OWNER_PID_ALL,
};
use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6};
use windows_sys::Win32::Security::Authorization::ConvertStringSidToSidW;
use windows_sys::Win32::Security::{LookupAccountSidW, PSID, SID_NAME_USE};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};
use windows_sys::Win32::System::IO::DeviceIoControl;
use windows_sys::Win32::System::Ioctl::{DISK_PERFORMANCE, IOCTL_DISK_PERFORMANCE};
use windows_sys::Win32::System::Power::{
    CallNtPowerInformation, PROCESSOR_POWER_INFORMATION, ProcessorInformation,
};
use windows_sys::Win32::System::ProcessStatus::{GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS};
use windows_sys::Win32::System::SystemInformation::{
    GetTickCount64, GlobalMemoryStatusEx, MEMORYSTATUSEX,
};
use windows_sys::Win32::System::Threading::{
    ALL_PROCESSOR_GROUPS, GetActiveProcessorCount, GetCurrentProcess, GetProcessTimes,
    GetSystemTimes,
};
use windows_sys::Win32::System::WindowsProgramming::SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION;

fn ft(t: &FILETIME) -> u64 {
    (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime)
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

fn from_wide(buf: &[u16]) -> String {
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    String::from_utf16_lossy(&buf[..end])
}

fn os_err(call: &'static str) -> MetricsError {
    MetricsError::Os {
        call,
        source: io::Error::last_os_error(),
    }
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

/// State kept between rounds.
pub(crate) struct WinState {
    sys: System,
    networks: Networks,
    prev_times: WindowsTimes,
    prev_cores: Vec<WindowsTimes>,
    prev_uptime_ms: u64,
    /// SID string → account name.
    accounts: HashMap<String, Option<String>>,
}

impl WinState {
    pub(crate) fn new() -> Self {
        WinState {
            sys: System::new(),
            networks: Networks::new_with_refreshed_list(),
            prev_times: WindowsTimes::default(),
            prev_cores: Vec::new(),
            prev_uptime_ms: 0,
            accounts: HashMap::new(),
        }
    }

    pub(crate) fn cpu(&mut self) -> Result<Cpu, MetricsError> {
        let times = system_times()?;
        let cores = processor_times()?;
        let all = percentages(&self.prev_times.into(), &times.into());
        let per_core_percent = per_core_busy(&self.prev_cores, &cores);
        self.prev_times = times;
        self.prev_cores = cores;
        // SAFETY: no arguments.
        let now_ms = unsafe { GetTickCount64() };
        let interval_seconds = now_ms.saturating_sub(self.prev_uptime_ms) as f64 / 1000.0;
        self.prev_uptime_ms = now_ms;

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

    pub(crate) fn filesystems(&mut self) -> Result<Vec<Filesystem>, MetricsError> {
        let disks = Disks::new_with_refreshed_list();
        Ok(disks
            .list()
            .iter()
            .filter(|d| filesystem::is_real_fstype(&d.file_system().to_string_lossy()))
            .map(|d| Filesystem {
                device: d.name().to_string_lossy().into_owned(),
                mountpoint: d.mount_point().to_string_lossy().into_owned(),
                fstype: d.file_system().to_string_lossy().into_owned(),
                size: d.total_space(),
                free: d.available_space(),
                avail: d.available_space(),
            })
            .collect())
    }

    pub(crate) fn network(&mut self) -> Result<Network, MetricsError> {
        self.networks.refresh(true);
        let mut interfaces: Vec<NetInterface> = self
            .networks
            .list()
            .iter()
            .filter(|(name, _)| !network::is_loopback(name))
            .map(|(name, d)| NetInterface {
                name: name.clone(),
                counters: NetCounters {
                    bytes_sent: d.total_transmitted(),
                    bytes_recv: d.total_received(),
                    packets_sent: d.total_packets_transmitted(),
                    packets_recv: d.total_packets_received(),
                    errin: d.total_errors_on_received(),
                    errout: d.total_errors_on_transmitted(),
                    // sysinfo does not expose discards on Windows.
                    dropin: 0,
                    dropout: 0,
                },
            })
            .collect();
        interfaces.sort_by(|a, b| a.name.cmp(&b.name));
        let est = established(AF_INET as u32)? + established(AF_INET6 as u32)?;
        Ok(Network::from_interfaces(interfaces, est))
    }

    pub(crate) fn processes(&mut self) -> Result<Vec<ProcInfo>, MetricsError> {
        self.sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .with_user(UpdateKind::OnlyIfNotSet),
        );
        let mut out = Vec::with_capacity(self.sys.processes().len());
        for (pid, p) in self.sys.processes() {
            let user = p.user_id().map(|uid| uid.to_string()).map(|sid| {
                self.accounts
                    .entry(sid.clone())
                    .or_insert_with(|| account_name(&sid))
                    .clone()
                    .unwrap_or(sid)
            });
            out.push(ProcInfo {
                pid: pid.as_u32(),
                name: p.name().to_string_lossy().into_owned(),
                user,
                cpu_percent: f64::from(p.cpu_usage()).max(0.0),
                rss_bytes: p.memory(),
            });
        }
        out.sort_by_key(|p| p.pid);
        Ok(out)
    }
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

/// Account name of a SID string (`S-1-5-21-…`), `None` for unknown SIDs.
fn account_name(sid_str: &str) -> Option<String> {
    let w = wide(sid_str);
    let mut sid: PSID = std::ptr::null_mut();
    // SAFETY: `w` is NUL-terminated; on success `sid` is LocalAlloc'ed.
    if unsafe { ConvertStringSidToSidW(w.as_ptr(), &mut sid) } == 0 {
        return None;
    }
    let mut name = [0u16; 256];
    let mut domain = [0u16; 256];
    let (mut n, mut d) = (name.len() as u32, domain.len() as u32);
    let mut use_: SID_NAME_USE = 0;
    // SAFETY: buffers and their lengths match; `sid` is valid until freed.
    let ok = unsafe {
        LookupAccountSidW(
            std::ptr::null(),
            sid,
            name.as_mut_ptr(),
            &mut n,
            domain.as_mut_ptr(),
            &mut d,
            &mut use_,
        )
    };
    // SAFETY: `sid` came from ConvertStringSidToSidW.
    unsafe { LocalFree(sid) };
    (ok != 0).then(|| from_wide(&name))
}

/// ESTABLISHED connections of one address family.
fn established(family: u32) -> Result<u64, MetricsError> {
    let mut buf: Vec<u64> = Vec::new();
    for _ in 0..4 {
        let mut size = (buf.len() * 8) as u32;
        // SAFETY: `buf` holds `size` bytes (and is not used when empty).
        let rc = unsafe {
            GetExtendedTcpTable(
                if buf.is_empty() {
                    std::ptr::null_mut()
                } else {
                    buf.as_mut_ptr().cast()
                },
                &mut size,
                0,
                family,
                TCP_TABLE_OWNER_PID_ALL,
                0,
            )
        };
        if rc == ERROR_INSUFFICIENT_BUFFER {
            // Room for connections opened meanwhile (a busy server, or the
            // health checks of a starting agent), so the next call fits.
            let want = (size as usize + size as usize / 4 + 4096).max(buf.len() * 16);
            buf = vec![0u64; want.div_ceil(8)];
            continue;
        }
        if rc != NO_ERROR {
            return Err(MetricsError::Os {
                call: "GetExtendedTcpTable",
                source: io::Error::from_raw_os_error(rc as i32),
            });
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let base = buf.as_ptr().cast::<u8>();
        // SAFETY: the table starts with a u32 count followed by that many rows
        // (4-byte aligned), all inside `buf`.
        let count = unsafe { base.cast::<u32>().read() } as usize;
        let est = unsafe {
            if family == AF_INET6 as u32 {
                let rows = base.add(4).cast::<MIB_TCP6ROW_OWNER_PID>();
                (0..count)
                    .filter(|&i| rows.add(i).read_unaligned().dwState == MIB_TCP_STATE_ESTAB as u32)
                    .count()
            } else {
                let rows = base.add(4).cast::<MIB_TCPROW_OWNER_PID>();
                (0..count)
                    .filter(|&i| rows.add(i).read_unaligned().dwState == MIB_TCP_STATE_ESTAB as u32)
                    .count()
            }
        };
        return Ok(est as u64);
    }
    Err(MetricsError::parse(
        "GetExtendedTcpTable",
        format!("the table kept growing (past {} bytes)", buf.len() * 8),
    ))
}

pub(crate) fn memory() -> Result<Memory, MetricsError> {
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

/// `IOCTL_DISK_PERFORMANCE` on `\\.\PhysicalDrive0..31`. Needs the disk
/// performance counters enabled (they are by default since Windows 8).
pub(crate) fn disk_io() -> Result<DiskIo, MetricsError> {
    let mut io = DiskIo::default();
    let mut last_err = None;
    for n in 0..32 {
        let path = wide(&format!("\\\\.\\PhysicalDrive{n}"));
        // SAFETY: `path` is NUL-terminated; zero access is enough for this ioctl.
        let h = unsafe {
            CreateFileW(
                path.as_ptr(),
                0,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                std::ptr::null(),
                OPEN_EXISTING,
                0,
                std::ptr::null_mut(),
            )
        };
        if h == INVALID_HANDLE_VALUE {
            continue;
        }
        let mut perf = DISK_PERFORMANCE::default();
        let mut got = 0u32;
        // SAFETY: `perf` is a valid out-buffer of the size given.
        let ok = unsafe {
            DeviceIoControl(
                h,
                IOCTL_DISK_PERFORMANCE,
                std::ptr::null(),
                0,
                (&mut perf as *mut DISK_PERFORMANCE).cast(),
                std::mem::size_of::<DISK_PERFORMANCE>() as u32,
                &mut got,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            last_err = Some(io::Error::last_os_error());
        }
        // SAFETY: `h` is an open handle.
        unsafe { CloseHandle(h) };
        if ok == 0 {
            continue;
        }
        let counters = IoCounters {
            read_count: u64::from(perf.ReadCount),
            write_count: u64::from(perf.WriteCount),
            read_bytes: perf.BytesRead.max(0) as u64,
            write_bytes: perf.BytesWritten.max(0) as u64,
            read_time_ms: perf.ReadTime.max(0) as u64 / 10_000,
            write_time_ms: perf.WriteTime.max(0) as u64 / 10_000,
        };
        io.total.read_count += counters.read_count;
        io.total.write_count += counters.write_count;
        io.total.read_bytes += counters.read_bytes;
        io.total.write_bytes += counters.write_bytes;
        io.total.read_time_ms += counters.read_time_ms;
        io.total.write_time_ms += counters.write_time_ms;
        io.devices.push(DiskDevice {
            name: format!("PhysicalDrive{n}"),
            partition: false,
            counters,
        });
    }
    match (io.devices.is_empty(), last_err) {
        (true, Some(source)) => Err(MetricsError::Os {
            call: "DeviceIoControl(IOCTL_DISK_PERFORMANCE)",
            source,
        }),
        (true, None) => Err(MetricsError::parse(
            "physical drives",
            "no \\\\.\\PhysicalDriveN could be opened",
        )),
        _ => Ok(io),
    }
}

pub(crate) fn system() -> Result<SystemInfo, MetricsError> {
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

pub(crate) fn agent() -> Result<Agent, MetricsError> {
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
    Ok(Agent {
        pid: std::process::id(),
        rss_bytes: pmc.WorkingSetSize as u64,
        cpu_seconds: (ft(&k) + ft(&u)) as f64 / 1e7,
    })
}
