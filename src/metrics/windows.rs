//! What the Windows collectors share: FILETIME and UTF-16 conversions and
//! the error for a failed Win32 call. Each collector's own calls live in
//! its `windows.rs` (`cpu/windows.rs`, `memory/windows.rs`, …) next to the
//! Linux reader, with the same signature.

use super::MetricsError;
use std::io;
use windows_sys::Win32::Foundation::FILETIME;

/// A FILETIME as one number of 100 ns units.
pub(crate) fn ft(t: &FILETIME) -> u64 {
    (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime)
}

pub(crate) use crate::platform::win::wide;

/// The error of a Win32 call that just failed (`GetLastError`).
pub(crate) fn os_err(call: &'static str) -> MetricsError {
    MetricsError::Os {
        call,
        source: io::Error::last_os_error(),
    }
}
