//! The Linux process table for [`super`]: `/proc/[pid]/stat` and
//! `/proc/[pid]/status`, uids named through `/etc/passwd` under the same
//! root.

use super::{ProcInfo, parse_passwd, parse_pid_stat, parse_status_uid};
use crate::metrics::MetricsError;
use crate::metrics::cpu::parse_uptime;
use crate::metrics::linux::{read_text, under};
use std::collections::HashMap;
use std::path::Path;

/// Per-process CPU ticks of the previous round.
#[derive(Debug, Default)]
pub(crate) struct ProcState {
    prev: HashMap<u32, (u64, u64)>,
    prev_uptime: f64,
}

/// Every process with its owner, CPU percent and resident memory.
pub(crate) fn read(root: &Path, state: &mut ProcState) -> Result<Vec<ProcInfo>, MetricsError> {
    let uptime = parse_uptime(&read_text(root, "proc/uptime")?)?;
    let users = read_text(root, "etc/passwd")
        .map(|t| parse_passwd(&t))
        .unwrap_or_default();
    let (tck, page) = crate::platform::clock_ticks_and_page_size();
    let dir = under(root, "proc");
    let entries =
        std::fs::read_dir(&dir).map_err(|source| MetricsError::Read { path: dir, source })?;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    let interval = uptime - state.prev_uptime;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        // A process may exit between the listing and the read: skip it.
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Ok(st) = parse_pid_stat(&stat) else {
            continue;
        };
        let uid = std::fs::read_to_string(e.path().join("status"))
            .ok()
            .and_then(|s| parse_status_uid(&s));
        let cpu_percent = match state.prev.get(&pid) {
            Some(&(ticks, start)) if start == st.start_ticks && interval > 0.0 => {
                st.cpu_ticks.saturating_sub(ticks) as f64 / tck / interval * 100.0
            }
            _ => {
                let alive = uptime - st.start_ticks as f64 / tck;
                if alive > 0.0 {
                    st.cpu_ticks as f64 / tck / alive * 100.0
                } else {
                    0.0
                }
            }
        };
        seen.insert(pid, (st.cpu_ticks, st.start_ticks));
        out.push(ProcInfo {
            pid,
            name: st.comm,
            user: uid.map(|u| users.get(&u).cloned().unwrap_or_else(|| u.to_string())),
            cpu_percent,
            rss_bytes: st.rss_pages * page,
        });
    }
    out.sort_by_key(|p| p.pid);
    state.prev = seen;
    state.prev_uptime = uptime;
    Ok(out)
}
