//! The process table on Windows: `sysinfo` lists every process with its
//! parent and name; for the picked ones the OS is asked directly
//! (`OpenProcess` with limited query rights): the session
//! (`ProcessIdToSessionId`), the start time (`GetProcessTimes`), the owner
//! (the token's SID named by `LookupAccountSidW`; its profile folder from
//! the registry's `ProfileList`) and the raw command line
//! (`NtQueryInformationProcess(ProcessCommandLineInformation)`, Windows 8.1
//! and later). Another user's process needs administrator rights: without
//! them those details stay `None`.

use super::{CommandLine, ProcessFacts};
use crate::platform::win::{account_name, from_wide, pwstr, session_info, wide};
use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
use windows_sys::Wdk::System::Threading::{
    NtQueryInformationProcess, ProcessCommandLineInformation,
};
use windows_sys::Win32::Foundation::{CloseHandle, FILETIME, HANDLE, LocalFree, UNICODE_STRING};
use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
use windows_sys::Win32::Security::{GetTokenInformation, PSID, TOKEN_QUERY, TOKEN_USER, TokenUser};
use windows_sys::Win32::System::Registry::{HKEY_LOCAL_MACHINE, RRF_RT_REG_SZ, RegGetValueW};
use windows_sys::Win32::System::RemoteDesktop::{ProcessIdToSessionId, WTSConnectState};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetProcessTimes, OpenProcess, OpenProcessToken,
    PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_TERMINATE, TerminateProcess,
};

pub fn is_elevated() -> bool {
    use windows_sys::Win32::Security::{TOKEN_ELEVATION, TokenElevation};
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the pseudo-handle of this process and an out-pointer.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return false;
    }
    let token = Handle(token);
    let mut elevation = TOKEN_ELEVATION { TokenIsElevated: 0 };
    let mut len = 0u32;
    // SAFETY: the buffer is one TOKEN_ELEVATION, its size given.
    let ok = unsafe {
        GetTokenInformation(
            token.0,
            TokenElevation,
            (&mut elevation as *mut TOKEN_ELEVATION).cast(),
            std::mem::size_of::<TOKEN_ELEVATION>() as u32,
            &mut len,
        )
    };
    ok != 0 && elevation.TokenIsElevated != 0
}

/// Without elevation a service does not try other sessions' processes.
pub fn same_owner(_pid: u32) -> bool {
    false
}

pub fn terminate(pid: u32) -> io::Result<()> {
    // SAFETY: OpenProcess with a pid; a null handle is an error.
    let h = unsafe { OpenProcess(PROCESS_TERMINATE, 0, pid) };
    if h.is_null() {
        return Err(io::Error::last_os_error());
    }
    let h = Handle(h);
    // SAFETY: a handle opened with PROCESS_TERMINATE.
    if unsafe { TerminateProcess(h.0, 1) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub fn processes(detail: &dyn Fn(&str) -> bool) -> io::Result<Vec<ProcessFacts>> {
    let mut sys = System::new();
    sys.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing());
    let mut out = Vec::with_capacity(sys.processes().len());
    for (pid, p) in sys.processes() {
        let mut facts = ProcessFacts {
            pid: pid.as_u32(),
            parent: p.parent().map(|p| p.as_u32()),
            name: p.name().to_string_lossy().into_owned(),
            ..ProcessFacts::default()
        };
        if detail(&facts.name) {
            fill(&mut facts);
        }
        out.push(facts);
    }
    out.sort_by_key(|p| p.pid);
    Ok(out)
}

/// `NetFileEnum` level 3 under `under`, every page.
pub fn share_opens(under: &std::path::Path) -> io::Result<Vec<super::ShareOpen>> {
    use windows_sys::Win32::Storage::FileSystem::{FILE_INFO_3, NetFileEnum};
    const ERROR_MORE_DATA: u32 = 234;
    let base = wide(&under.to_string_lossy());
    let mut out = Vec::new();
    let mut resume: usize = 0;
    loop {
        let mut buf: *mut u8 = std::ptr::null_mut();
        let (mut read, mut total) = (0u32, 0u32);
        // SAFETY: valid out-pointers; `buf` is freed with NetApiBufferFree.
        let rc = unsafe {
            NetFileEnum(
                std::ptr::null(),
                base.as_ptr(),
                std::ptr::null(),
                3,
                &mut buf,
                u32::MAX,
                &mut read,
                &mut total,
                &mut resume,
            )
        };
        if rc != 0 && rc != ERROR_MORE_DATA {
            return Err(io::Error::from_raw_os_error(rc as i32));
        }
        if !buf.is_null() {
            for i in 0..read as usize {
                // SAFETY: the call returned `read` FILE_INFO_3 records at `buf`.
                let f = unsafe { &*buf.cast::<FILE_INFO_3>().add(i) };
                // SAFETY: the record's strings live in `buf`, freed below.
                let (path, user) = unsafe { (pwstr(f.fi3_pathname), pwstr(f.fi3_username)) };
                out.push(super::ShareOpen {
                    id: f.fi3_id,
                    path: PathBuf::from(path),
                    user,
                });
            }
            // SAFETY: allocated by NetFileEnum.
            unsafe { NetApiBufferFree(buf.cast()) };
        }
        if rc != ERROR_MORE_DATA {
            return Ok(out);
        }
    }
}

#[link(name = "netapi32")]
unsafe extern "system" {
    /// Frees what `NetFileEnum` allocated (declared here rather than
    /// enabling a whole windows-sys feature for one function).
    fn NetApiBufferFree(buffer: *const core::ffi::c_void) -> u32;
}

/// A process handle closed when dropped.
struct Handle(HANDLE);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a handle we opened and own.
        unsafe { CloseHandle(self.0) };
    }
}

fn fill(p: &mut ProcessFacts) {
    let mut session = 0u32;
    // SAFETY: a valid out-pointer.
    if unsafe { ProcessIdToSessionId(p.pid, &mut session) } != 0 {
        p.session = Some(session);
        p.session_state = session_state(session).map(super::state_from_wts);
    }
    // SAFETY: plain call; a null handle means no access.
    let h = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, p.pid) };
    if h.is_null() {
        return;
    }
    let h = Handle(h);
    p.started = start_time(&h);
    p.command_line = command_line(&h).map(CommandLine::Raw);
    if let Some((user, sid)) = owner(&h) {
        p.user = Some(user);
        p.profile_dir = profile_dir(&sid);
    }
}

/// The session's `WTS_CONNECTSTATE_CLASS` (`WTSConnectState` answers one
/// `i32`).
fn session_state(session: u32) -> Option<i32> {
    let b = session_info(session, WTSConnectState)?;
    Some(i32::from_le_bytes(b.get(..4)?.try_into().ok()?))
}

fn start_time(h: &Handle) -> Option<SystemTime> {
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut c, mut e, mut k, mut u) = (zero, zero, zero, zero);
    // SAFETY: valid handle and out-pointers.
    if unsafe { GetProcessTimes(h.0, &mut c, &mut e, &mut k, &mut u) } == 0 {
        return None;
    }
    let t = (u64::from(c.dwHighDateTime) << 32) | u64::from(c.dwLowDateTime);
    // FILETIME counts 100 ns from 1601-01-01.
    let unix = t.checked_sub(116_444_736_000_000_000)?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(unix.saturating_mul(100)))
}

/// The raw command line (a `UNICODE_STRING` followed by its text).
fn command_line(h: &Handle) -> Option<String> {
    let mut need = 0u32;
    // SAFETY: a zero-length query only reports the size needed.
    unsafe {
        NtQueryInformationProcess(
            h.0,
            ProcessCommandLineInformation,
            std::ptr::null_mut(),
            0,
            &mut need,
        )
    };
    if need == 0 || need > 1 << 20 {
        return None;
    }
    let mut buf = vec![0u64; (need as usize).div_ceil(8)];
    let len = (buf.len() * 8) as u32;
    // SAFETY: `buf` is `len` bytes, 8-aligned.
    let status = unsafe {
        NtQueryInformationProcess(
            h.0,
            ProcessCommandLineInformation,
            buf.as_mut_ptr().cast(),
            len,
            &mut need,
        )
    };
    if status < 0 {
        return None;
    }
    // SAFETY: on success the buffer starts with a UNICODE_STRING whose
    // text lies inside the same buffer.
    let us = unsafe { &*buf.as_ptr().cast::<UNICODE_STRING>() };
    if us.Buffer.is_null() {
        return None;
    }
    // SAFETY: `Length` bytes at `Buffer`, inside `buf`.
    let text = unsafe { std::slice::from_raw_parts(us.Buffer, usize::from(us.Length) / 2) };
    Some(String::from_utf16_lossy(text))
}

/// The owner's account name (no domain) and SID string.
fn owner(h: &Handle) -> Option<(String, String)> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: valid handle and out-pointer.
    if unsafe { OpenProcessToken(h.0, TOKEN_QUERY, &mut token) } == 0 {
        return None;
    }
    let token = Handle(token);
    let mut buf = vec![0u64; 64];
    let mut len = 0u32;
    // SAFETY: `buf` is 512 bytes, 8-aligned; TOKEN_USER plus a SID fits.
    let ok = unsafe {
        GetTokenInformation(
            token.0,
            TokenUser,
            buf.as_mut_ptr().cast(),
            (buf.len() * 8) as u32,
            &mut len,
        )
    };
    if ok == 0 {
        return None;
    }
    // SAFETY: on success the buffer holds a TOKEN_USER.
    let sid: PSID = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    // SAFETY: `sid` points into `buf`, alive to the end of this function.
    let named = unsafe { account_name(sid) };
    let mut text: windows_sys::core::PWSTR = std::ptr::null_mut();
    // SAFETY: `sid` is valid; `text` is LocalAlloc'ed on success.
    let sid_text = if unsafe { ConvertSidToStringSidW(sid, &mut text) } != 0 {
        // SAFETY: the string the call above wrote, freed just below.
        let s = unsafe { pwstr(text) };
        // SAFETY: allocated by ConvertSidToStringSidW.
        unsafe { LocalFree(text.cast()) };
        s
    } else {
        String::new()
    };
    Some((named.unwrap_or_else(|| sid_text.clone()), sid_text))
}

/// `ProfileImagePath` of the SID under the registry's `ProfileList`.
fn profile_dir(sid: &str) -> Option<PathBuf> {
    if sid.is_empty() {
        return None;
    }
    let key = wide(&format!(
        r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\{sid}"
    ));
    let value = wide("ProfileImagePath");
    let mut buf = [0u16; 1024];
    let mut size = (buf.len() * 2) as u32;
    // SAFETY: NUL-terminated names; `buf` holds `size` bytes. REG_EXPAND_SZ
    // values come back expanded (no RRF_NOEXPAND).
    let rc = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            key.as_ptr(),
            value.as_ptr(),
            RRF_RT_REG_SZ,
            std::ptr::null_mut(),
            buf.as_mut_ptr().cast(),
            &mut size,
        )
    };
    (rc == 0)
        .then(|| PathBuf::from(from_wide(&buf)))
        .filter(|p| !p.as_os_str().is_empty())
}
