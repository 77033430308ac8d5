//! Linux network figures for [`super`]: `/proc/net/dev` and
//! `/proc/net/tcp{,6}`.

use super::{Network, count_established, parse_net_dev};
use crate::metrics::MetricsError;
use crate::metrics::linux::read_text;
use std::path::Path;

/// Nothing is kept between rounds on Linux (the Windows reader keeps its
/// interface list).
#[derive(Debug, Default)]
pub(crate) struct NetState {}

/// Interface counters (loopback left out) and ESTABLISHED connections.
pub(crate) fn read(root: &Path, _state: &mut NetState) -> Result<Network, MetricsError> {
    let interfaces = parse_net_dev(&read_text(root, "proc/net/dev")?)?;
    let mut est = count_established(&read_text(root, "proc/net/tcp")?);
    // No tcp6 file when IPv6 is disabled: nothing to add.
    if let Ok(t6) = read_text(root, "proc/net/tcp6") {
        est += count_established(&t6);
    }
    Ok(Network::from_interfaces(interfaces, est))
}
