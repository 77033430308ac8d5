//! Windows implementations for [`crate::platform`].

use super::DiskSpace;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use windows_sys::Win32::Storage::FileSystem::GetDiskFreeSpaceExW;

pub fn disk_space(path: &Path) -> io::Result<DiskSpace> {
    let wide: Vec<u16> = path
        .as_os_str()
        .encode_wide()
        .chain(std::iter::once(0))
        .collect();
    let (mut avail, mut total, mut free) = (0u64, 0u64, 0u64);
    // SAFETY: `wide` is NUL-terminated; the out-pointers are valid u64s.
    let ok = unsafe { GetDiskFreeSpaceExW(wide.as_ptr(), &mut avail, &mut total, &mut free) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(DiskSpace {
        total,
        available: avail,
        free,
    })
}

pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

pub fn hostname() -> Option<String> {
    // Set for every process, services included.
    std::env::var("COMPUTERNAME")
        .ok()
        .or_else(sysinfo::System::host_name)
}
