//! Windows network figures for [`super`]: interface counters from
//! `sysinfo`, ESTABLISHED TCP connections (IPv4 and IPv6) from
//! `GetExtendedTcpTable`.

use super::{NetCounters, NetInterface, Network, is_loopback};
use crate::metrics::MetricsError;
use std::io;
use std::path::Path;
use sysinfo::Networks;
use windows_sys::Win32::Foundation::{ERROR_INSUFFICIENT_BUFFER, NO_ERROR};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    GetExtendedTcpTable, MIB_TCP_STATE_ESTAB, MIB_TCP6ROW_OWNER_PID, MIB_TCPROW_OWNER_PID,
    TCP_TABLE_OWNER_PID_ALL,
};
use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6};

/// The interface list, kept so counters are refreshed, not re-listed.
pub(crate) struct NetState {
    networks: Networks,
}

impl Default for NetState {
    fn default() -> Self {
        NetState {
            networks: Networks::new_with_refreshed_list(),
        }
    }
}

/// Interface counters (loopback left out) and ESTABLISHED connections.
pub(crate) fn read(_root: &Path, state: &mut NetState) -> Result<Network, MetricsError> {
    state.networks.refresh(true);
    let mut interfaces: Vec<NetInterface> = state
        .networks
        .list()
        .iter()
        .filter(|(name, _)| !is_loopback(name))
        .map(|(name, d)| NetInterface {
            name: name.clone(),
            counters: NetCounters {
                bytes_sent: d.total_transmitted(),
                bytes_recv: d.total_received(),
                packets_sent: d.total_packets_transmitted(),
                packets_recv: d.total_packets_received(),
                errin: d.total_errors_on_received(),
                errout: d.total_errors_on_transmitted(),
                // sysinfo does not expose discards on Windows.
                dropin: 0,
                dropout: 0,
            },
        })
        .collect();
    interfaces.sort_by(|a, b| a.name.cmp(&b.name));
    let est = established(AF_INET as u32)? + established(AF_INET6 as u32)?;
    Ok(Network::from_interfaces(interfaces, est))
}

/// ESTABLISHED connections of one address family.
fn established(family: u32) -> Result<u64, MetricsError> {
    let mut buf: Vec<u64> = Vec::new();
    for _ in 0..4 {
        let mut size = (buf.len() * 8) as u32;
        // SAFETY: `buf` holds `size` bytes (and is not used when empty).
        let rc = unsafe {
            GetExtendedTcpTable(
                if buf.is_empty() {
                    std::ptr::null_mut()
                } else {
                    buf.as_mut_ptr().cast()
                },
                &mut size,
                0,
                family,
                TCP_TABLE_OWNER_PID_ALL,
                0,
            )
        };
        if rc == ERROR_INSUFFICIENT_BUFFER {
            // Room for connections opened meanwhile (a busy server, or the
            // health checks of a starting agent), so the next call fits.
            let want = (size as usize + size as usize / 4 + 4096).max(buf.len() * 16);
            buf = vec![0u64; want.div_ceil(8)];
            continue;
        }
        if rc != NO_ERROR {
            return Err(MetricsError::Os {
                call: "GetExtendedTcpTable",
                source: io::Error::from_raw_os_error(rc as i32),
            });
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let base = buf.as_ptr().cast::<u8>();
        // SAFETY: the table starts with a u32 count followed by that many rows
        // (4-byte aligned), all inside `buf`.
        let count = unsafe { base.cast::<u32>().read() } as usize;
        let est = unsafe {
            if family == AF_INET6 as u32 {
                let rows = base.add(4).cast::<MIB_TCP6ROW_OWNER_PID>();
                (0..count)
                    .filter(|&i| rows.add(i).read_unaligned().dwState == MIB_TCP_STATE_ESTAB as u32)
                    .count()
            } else {
                let rows = base.add(4).cast::<MIB_TCPROW_OWNER_PID>();
                (0..count)
                    .filter(|&i| rows.add(i).read_unaligned().dwState == MIB_TCP_STATE_ESTAB as u32)
                    .count()
            }
        };
        return Ok(est as u64);
    }
    Err(MetricsError::parse(
        "GetExtendedTcpTable",
        format!("the table kept growing (past {} bytes)", buf.len() * 8),
    ))
}
