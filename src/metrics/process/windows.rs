//! The Windows process table for [`super`]: `sysinfo` for names, CPU and
//! memory; owners' SIDs named with `LookupAccountSidW` (cached, since the
//! same few accounts own every process).

use super::ProcInfo;
use crate::metrics::MetricsError;
use crate::metrics::windows::wide;
use std::collections::HashMap;
use std::path::Path;
use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Authorization::ConvertStringSidToSidW;
use windows_sys::Win32::Security::PSID;

/// sysinfo's process list (it keeps the previous CPU times) and the
/// account names seen so far.
pub(crate) struct ProcState {
    sys: System,
    /// SID string → account name.
    accounts: HashMap<String, Option<String>>,
}

impl Default for ProcState {
    fn default() -> Self {
        ProcState {
            sys: System::new(),
            accounts: HashMap::new(),
        }
    }
}

/// Every process with its owner, CPU percent and resident memory.
pub(crate) fn read(_root: &Path, state: &mut ProcState) -> Result<Vec<ProcInfo>, MetricsError> {
    state.sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .with_cpu()
            .with_memory()
            .with_user(UpdateKind::OnlyIfNotSet),
    );
    let mut out = Vec::with_capacity(state.sys.processes().len());
    for (pid, p) in state.sys.processes() {
        let user = p.user_id().map(|uid| uid.to_string()).map(|sid| {
            state
                .accounts
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

/// Account name of a SID string (`S-1-5-21-…`), `None` for unknown SIDs.
fn account_name(sid_str: &str) -> Option<String> {
    let w = wide(sid_str);
    let mut sid: PSID = std::ptr::null_mut();
    // SAFETY: `w` is NUL-terminated; on success `sid` is LocalAlloc'ed.
    if unsafe { ConvertStringSidToSidW(w.as_ptr(), &mut sid) } == 0 {
        return None;
    }
    // SAFETY: `sid` is valid until the LocalFree below.
    let name = unsafe { crate::platform::win::account_name(sid) };
    // SAFETY: `sid` came from ConvertStringSidToSidW.
    unsafe { LocalFree(sid) };
    name
}
