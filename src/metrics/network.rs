//! Network counters since boot over every interface but loopback
//! (`/proc/net/dev`), and the number of ESTABLISHED TCP connections, IPv4
//! and IPv6 (`/proc/net/tcp{,6}`, state `01`).

use super::MetricsError;
use serde::Serialize;

#[cfg(unix)]
#[path = "network/linux.rs"]
mod sys;
#[cfg(windows)]
#[path = "network/windows.rs"]
mod sys;
pub(crate) use sys::{NetState, read};

/// Cumulative interface counters (monotonic while the interface exists).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NetCounters {
    pub bytes_sent: u64,
    pub bytes_recv: u64,
    pub packets_sent: u64,
    pub packets_recv: u64,
    pub errin: u64,
    pub errout: u64,
    pub dropin: u64,
    pub dropout: u64,
}

impl NetCounters {
    fn add(&mut self, o: &NetCounters) {
        self.bytes_sent += o.bytes_sent;
        self.bytes_recv += o.bytes_recv;
        self.packets_sent += o.packets_sent;
        self.packets_recv += o.packets_recv;
        self.errin += o.errin;
        self.errout += o.errout;
        self.dropin += o.dropin;
        self.dropout += o.dropout;
    }
}

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetInterface {
    pub name: String,
    #[serde(flatten)]
    pub counters: NetCounters,
}

/// Network state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Network {
    /// Sum over `interfaces`.
    pub total: NetCounters,
    /// Every interface except loopback.
    pub interfaces: Vec<NetInterface>,
    /// ESTABLISHED TCP connections, IPv4 + IPv6.
    pub tcp_established: u64,
}

impl Network {
    /// Totals computed from the interfaces.
    pub fn from_interfaces(interfaces: Vec<NetInterface>, tcp_established: u64) -> Network {
        let mut total = NetCounters::default();
        for i in &interfaces {
            total.add(&i.counters);
        }
        Network {
            total,
            interfaces,
            tcp_established,
        }
    }
}

/// Whether an interface name is loopback (`lo`, Windows' `Loopback Pseudo-Interface 1`).
pub fn is_loopback(name: &str) -> bool {
    name == "lo" || name.to_ascii_lowercase().starts_with("loopback")
}

/// Parse `/proc/net/dev`, loopback left out.
pub fn parse_net_dev(text: &str) -> Result<Vec<NetInterface>, MetricsError> {
    let mut out = Vec::new();
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if is_loopback(name) {
            continue;
        }
        let n: Vec<u64> = rest
            .split_ascii_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        if n.len() < 16 {
            return Err(MetricsError::parse(
                "/proc/net/dev",
                format!("expected 16 counters for {name}, got {}", n.len()),
            ));
        }
        out.push(NetInterface {
            name: name.to_string(),
            counters: NetCounters {
                bytes_recv: n[0],
                packets_recv: n[1],
                errin: n[2],
                dropin: n[3],
                bytes_sent: n[8],
                packets_sent: n[9],
                errout: n[10],
                dropout: n[11],
            },
        });
    }
    Ok(out)
}

/// ESTABLISHED (`st` = `01`) rows of `/proc/net/tcp` or `tcp6`.
pub fn count_established(text: &str) -> u64 {
    text.lines()
        .skip(1)
        .filter(|l| l.split_ascii_whitespace().nth(3) == Some("01"))
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_without_loopback() {
        let text = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n\
            \x20   lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0\n\
            \x20 eth0: 1000 10 1 2 0 0 0 0 500 5 3 4 0 0 0 0\n\
            \x20 wlan0: 1 1 0 0 0 0 0 0 2 2 0 0 0 0 0 0\n";
        let ifs = parse_net_dev(text).unwrap();
        assert_eq!(ifs.len(), 2);
        let n = Network::from_interfaces(ifs, 3);
        assert_eq!(n.interfaces[0].name, "eth0");
        assert_eq!(
            n.interfaces[0].counters,
            NetCounters {
                bytes_sent: 500,
                bytes_recv: 1000,
                packets_sent: 5,
                packets_recv: 10,
                errin: 1,
                errout: 3,
                dropin: 2,
                dropout: 4,
            }
        );
        assert_eq!(n.total.bytes_recv, 1001);
        assert_eq!(n.total.packets_sent, 7);
    }

    #[test]
    fn counts_only_established() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue\n\
            0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000\n\
            1: 0100007F:0CEA 0100007F:D2A4 01 00000000:00000000\n\
            2: 0100007F:0CEA 0100007F:D2A6 06 00000000:00000000\n\
            3: 0100007F:0CEA 0100007F:D2A8 01 00000000:00000000\n";
        assert_eq!(count_established(text), 2);
    }
}
