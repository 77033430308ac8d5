//! Windows: 1C opens `1Cv8.1CD` shared; our exclusive open (share mode 0)
//! fails with ERROR_SHARING_VIOLATION while any process has it open.

use super::Evidence;
use std::fs::OpenOptions;
use std::os::windows::fs::OpenOptionsExt;
use std::path::Path;
use windows_sys::Win32::Foundation::ERROR_SHARING_VIOLATION;

pub fn held_open(file: &Path) -> Option<Evidence> {
    match OpenOptions::new().read(true).share_mode(0).open(file) {
        Err(e) if e.raw_os_error() == Some(ERROR_SHARING_VIOLATION as i32) => {
            Some(Evidence::SharingViolation(file.to_path_buf()))
        }
        _ => None,
    }
}
