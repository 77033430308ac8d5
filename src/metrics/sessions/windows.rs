//! Sessions from the WTS API (`WTSEnumerateSessionsW` +
//! `WTSQuerySessionInformationW`), never from `query user` text. Sessions
//! without a user (services session 0, the RDP listener) are skipped.

use super::{Session, SessionSource, classify_windows, state_from_wts, strip_domain};
use crate::metrics::MetricsError;
use crate::platform::win::{from_wide, pwstr, session_info as query};
use windows_sys::Win32::System::RemoteDesktop::{
    WTS_CURRENT_SERVER_HANDLE, WTS_INFO_CLASS, WTS_SESSION_INFOW, WTSClientName,
    WTSClientProtocolType, WTSEnumerateSessionsW, WTSFreeMemory, WTSUserName,
};

/// The local terminal server's sessions.
pub struct WtsSource;

fn query_string(id: u32, class: WTS_INFO_CLASS) -> String {
    let Some(b) = query(id, class) else {
        return String::new();
    };
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    from_wide(&units)
}

impl SessionSource for WtsSource {
    fn sessions(&mut self) -> Result<Vec<Session>, MetricsError> {
        let mut list: *mut WTS_SESSION_INFOW = std::ptr::null_mut();
        let mut count = 0u32;
        // SAFETY: valid out-pointers; the list is freed with WTSFreeMemory.
        if unsafe { WTSEnumerateSessionsW(WTS_CURRENT_SERVER_HANDLE, 0, 1, &mut list, &mut count) }
            == 0
        {
            return Err(MetricsError::Os {
                call: "WTSEnumerateSessionsW",
                source: std::io::Error::last_os_error(),
            });
        }
        let mut out = Vec::new();
        for i in 0..count as usize {
            // SAFETY: the API returned `count` records at `list`.
            let info = unsafe { &*list.add(i) };
            let user = query_string(info.SessionId, WTSUserName);
            if user.is_empty() {
                continue;
            }
            // SAFETY: null or a NUL-terminated string owned by `list`.
            let station = unsafe { pwstr(info.pWinStationName) };
            let protocol = query(info.SessionId, WTSClientProtocolType)
                .filter(|b| b.len() >= 2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .unwrap_or(0);
            out.push(Session {
                id: info.SessionId,
                user: strip_domain(&user).to_string(),
                kind: classify_windows(&station, protocol),
                state: state_from_wts(info.State),
                host: query_string(info.SessionId, WTSClientName),
                line: station,
            });
        }
        // SAFETY: `list` came from WTSEnumerateSessionsW.
        unsafe { WTSFreeMemory(list.cast()) };
        Ok(out)
    }
}
