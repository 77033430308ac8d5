//! Win32 pieces that several of the seam's `windows.rs` files need: UTF-16
//! strings, an account's name from its SID, one WTS session answer. Only
//! those files use it (it exists only on Windows); the rest of the crate
//! sees the shared signatures in [`crate::platform`] and the collectors.

use windows_sys::Win32::Security::{LookupAccountSidW, PSID, SID_NAME_USE};
use windows_sys::Win32::System::RemoteDesktop::{
    WTS_CURRENT_SERVER_HANDLE, WTS_INFO_CLASS, WTSFreeMemory, WTSQuerySessionInformationW,
};

/// A NUL-terminated UTF-16 copy of `s`.
pub(crate) fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// The text of a UTF-16 buffer up to its first NUL.
pub(crate) fn from_wide(buf: &[u16]) -> String {
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    String::from_utf16_lossy(&buf[..end])
}

/// A NUL-terminated UTF-16 string the OS handed over (empty for null).
///
/// # Safety
/// `p` is null or points to a NUL-terminated UTF-16 string that stays
/// alive for the duration of the call.
pub(crate) unsafe fn pwstr(p: windows_sys::core::PWSTR) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the caller's promise.
    let len = (0..).take_while(|&i| unsafe { *p.add(i) } != 0).count();
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(p, len) })
}

/// The account name (no domain) of a SID, `None` for an unknown one.
///
/// # Safety
/// `sid` must point to a valid SID for the duration of the call.
pub(crate) unsafe fn account_name(sid: PSID) -> Option<String> {
    let mut name = [0u16; 256];
    let mut domain = [0u16; 256];
    let (mut n, mut d) = (name.len() as u32, domain.len() as u32);
    let mut use_: SID_NAME_USE = 0;
    // SAFETY: buffers and their lengths match; the caller keeps `sid` valid.
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
    (ok != 0).then(|| from_wide(&name))
}

/// The raw bytes of one `WTSQuerySessionInformationW` answer about a
/// session of this server.
pub(crate) fn session_info(session: u32, class: WTS_INFO_CLASS) -> Option<Vec<u8>> {
    let mut buf: windows_sys::core::PWSTR = std::ptr::null_mut();
    let mut len = 0u32;
    // SAFETY: valid out-pointers; the buffer is freed with WTSFreeMemory.
    let ok = unsafe {
        WTSQuerySessionInformationW(
            WTS_CURRENT_SERVER_HANDLE,
            session,
            class,
            &mut buf,
            &mut len,
        )
    };
    if ok == 0 || buf.is_null() {
        return None;
    }
    // SAFETY: the API returned `len` bytes at `buf`.
    let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len as usize) }.to_vec();
    // SAFETY: `buf` came from the WTS API.
    unsafe { WTSFreeMemory(buf.cast()) };
    Some(bytes)
}
