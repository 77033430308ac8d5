//! Windows disk I/O counters for [`super`]: `IOCTL_DISK_PERFORMANCE` on
//! each `\\.\PhysicalDriveN`, as psutil does; the total sums whole
//! physical drives, so nothing is counted twice.

use super::{DiskDevice, DiskIo, IoCounters};
use crate::metrics::MetricsError;
use crate::metrics::windows::wide;
use std::io;
use std::path::Path;
use windows_sys::Win32::Foundation::{CloseHandle, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};
use windows_sys::Win32::System::IO::DeviceIoControl;
use windows_sys::Win32::System::Ioctl::{DISK_PERFORMANCE, IOCTL_DISK_PERFORMANCE};

/// `IOCTL_DISK_PERFORMANCE` on `\\.\PhysicalDrive0..31`. Needs the disk
/// performance counters enabled (they are by default since Windows 8).
pub(crate) fn read(_root: &Path) -> Result<DiskIo, MetricsError> {
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
