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

/// No file-to-file copy into an open file at its position on Windows
/// (block cloning is ReFS-only): the caller copies through a buffer.
pub fn copy_range(_from: &std::fs::File, _to: &std::fs::File, _len: u64) -> io::Result<u64> {
    Err(io::ErrorKind::Unsupported.into())
}

pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use windows_sys::Win32::Storage::FileSystem::{MOVEFILE_WRITE_THROUGH, MoveFileExW};
    let wide = |p: &Path| -> Vec<u16> {
        p.as_os_str()
            .encode_wide()
            .chain(std::iter::once(0))
            .collect()
    };
    let (f, t) = (wide(from), wide(to));
    // SAFETY: both buffers are NUL-terminated UTF-16 strings. Without
    // MOVEFILE_REPLACE_EXISTING the call fails when `to` exists.
    let ok = unsafe { MoveFileExW(f.as_ptr(), t.as_ptr(), MOVEFILE_WRITE_THROUGH) };
    if ok == 0 {
        let e = io::Error::last_os_error();
        // ERROR_ALREADY_EXISTS (183) / ERROR_FILE_EXISTS (80).
        if matches!(e.raw_os_error(), Some(80) | Some(183)) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", to.display()),
            ));
        }
        return Err(e);
    }
    Ok(())
}

pub fn arg_verbatim(cmd: &mut std::process::Command, arg: &std::ffi::OsStr) {
    use std::os::windows::process::CommandExt;
    cmd.raw_arg(arg);
}

pub fn hostname() -> Option<String> {
    // Set for every process, services included.
    std::env::var("COMPUTERNAME")
        .ok()
        .or_else(sysinfo::System::host_name)
}

pub fn set_shared_readable(_path: &Path) {}

pub fn is_network_path(path: &Path) -> bool {
    use windows_sys::Win32::Storage::FileSystem::GetDriveTypeW;
    let text = path.to_string_lossy();
    if super::is_unc(&text) {
        return true;
    }
    let text = text.strip_prefix(r"\\?\").unwrap_or(&text);
    let mut chars = text.chars();
    let (Some(letter), Some(':')) = (chars.next(), chars.next()) else {
        return false;
    };
    let root = super::win::wide(&format!("{letter}:\\"));
    // DRIVE_REMOTE = 4.
    // SAFETY: `root` is a NUL-terminated UTF-16 string.
    unsafe { GetDriveTypeW(root.as_ptr()) == 4 }
}

pub fn pid_alive(pid: u32) -> bool {
    use windows_sys::Win32::Foundation::{
        CloseHandle, ERROR_ACCESS_DENIED, GetLastError, STILL_ACTIVE,
    };
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    };
    if pid == 0 {
        return false;
    }
    // Open the process for a limited query and ask whether it has exited.
    // SAFETY: plain Win32 calls; the handle is closed before returning.
    unsafe {
        let handle = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if handle.is_null() {
            // A process we may not query (another user's service) exists.
            return GetLastError() == ERROR_ACCESS_DENIED;
        }
        let mut code = 0u32;
        let ok = GetExitCodeProcess(handle, &mut code);
        CloseHandle(handle);
        ok != 0 && code == STILL_ACTIVE as u32
    }
}

pub fn raise_open_files_limit() -> io::Result<Option<(u64, u64)>> {
    Ok(None)
}

pub fn restrict_new_files() {
    // New files inherit their folder's ACL; there is no mask to set.
}

pub fn readable_by_everyone_users(path: &Path) -> Option<bool> {
    use windows_sys::Win32::Foundation::{GENERIC_ALL, GENERIC_READ, LocalFree};
    use windows_sys::Win32::Security::Authorization::{GetNamedSecurityInfoW, SE_FILE_OBJECT};
    use windows_sys::Win32::Security::{
        ACCESS_ALLOWED_ACE, ACL, CreateWellKnownSid, DACL_SECURITY_INFORMATION, EqualSid, GetAce,
        INHERIT_ONLY_ACE, PSECURITY_DESCRIPTOR, SECURITY_MAX_SID_SIZE, WinAuthenticatedUserSid,
        WinBuiltinUsersSid, WinWorldSid,
    };
    use windows_sys::Win32::Storage::FileSystem::FILE_READ_DATA;
    // ACCESS_ALLOWED_ACE_TYPE (in a windows-sys feature we do not otherwise need).
    const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;

    // BUILTIN\Users (S-1-5-32-545), Everyone (S-1-1-0), Authenticated Users (S-1-5-11).
    let mut sids = Vec::new();
    for kind in [WinBuiltinUsersSid, WinWorldSid, WinAuthenticatedUserSid] {
        let mut sid = vec![0u8; SECURITY_MAX_SID_SIZE as usize];
        let mut len = SECURITY_MAX_SID_SIZE;
        // SAFETY: `sid` is a writable buffer of `len` bytes.
        let ok = unsafe {
            CreateWellKnownSid(
                kind,
                std::ptr::null_mut(),
                sid.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if ok == 0 {
            return None;
        }
        sids.push(sid);
    }
    let wide: Vec<u16> = path
        .as_os_str()
        .encode_wide()
        .chain(std::iter::once(0))
        .collect();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `wide` is NUL-terminated; the out-pointers are valid; the
    // descriptor is freed below with LocalFree, as the API requires.
    let rc = unsafe {
        GetNamedSecurityInfoW(
            wide.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if rc != 0 {
        return None;
    }
    let read = FILE_READ_DATA | GENERIC_READ | GENERIC_ALL;
    // A NULL DACL grants everyone everything.
    let mut found = dacl.is_null();
    // SAFETY: `dacl` points into `sd`, alive until LocalFree; GetAce hands
    // out pointers to ACEs inside it, each starting with an ACE_HEADER.
    unsafe {
        let count = if dacl.is_null() { 0 } else { (*dacl).AceCount };
        for i in 0..u32::from(count) {
            let mut ace: *mut std::ffi::c_void = std::ptr::null_mut();
            if GetAce(dacl, i, &mut ace) == 0 {
                continue;
            }
            let ace = &*(ace as *const ACCESS_ALLOWED_ACE);
            if ace.Header.AceType != ACCESS_ALLOWED_ACE_TYPE
                || u32::from(ace.Header.AceFlags) & INHERIT_ONLY_ACE != 0
                || ace.Mask & read == 0
            {
                continue;
            }
            let sid = (&ace.SidStart as *const u32).cast_mut().cast();
            if sids
                .iter_mut()
                .any(|s| EqualSid(sid, s.as_mut_ptr().cast()) != 0)
            {
                found = true;
                break;
            }
        }
        LocalFree(sd);
    }
    Some(found)
}

/// Background processing mode for the calling thread: lower CPU
/// scheduling priority and very low I/O and memory priority.
pub fn background_priority_for_this_thread() -> io::Result<()> {
    use windows_sys::Win32::System::Threading::{
        GetCurrentThread, SetThreadPriority, THREAD_MODE_BACKGROUND_BEGIN,
    };
    // SAFETY: the pseudo-handle of the current thread needs no closing;
    // background mode may only be set on the current thread, as here.
    if unsafe { SetThreadPriority(GetCurrentThread(), THREAD_MODE_BACKGROUND_BEGIN) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub fn send_session_message(
    session: u32,
    msg: &super::WtsMessage,
    timeout_secs: u32,
) -> io::Result<()> {
    use windows_sys::Win32::System::RemoteDesktop::{WTS_CURRENT_SERVER_HANDLE, WTSSendMessageW};
    use windows_sys::Win32::UI::WindowsAndMessaging::{
        MB_ICONWARNING, MB_OK, MB_SETFOREGROUND, MB_TOPMOST,
    };
    let mut response = 0;
    // SAFETY: title and text are UTF-16 buffers whose byte lengths are
    // passed with them; `response` is a valid out-pointer. bWait = FALSE:
    // the call returns at once and the box closes after the timeout.
    let ok = unsafe {
        WTSSendMessageW(
            WTS_CURRENT_SERVER_HANDLE,
            session,
            msg.title.as_ptr(),
            msg.title_bytes(),
            msg.text.as_ptr(),
            msg.text_bytes(),
            MB_OK | MB_ICONWARNING | MB_SETFOREGROUND | MB_TOPMOST,
            timeout_secs,
            &mut response,
            0,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
