//! Linux filesystems for [`super`]: `/proc/mounts`, each real one sized
//! through [`crate::platform::disk_space`].

use super::{Filesystem, parse_mounts};
use crate::metrics::MetricsError;
use crate::metrics::linux::{read_text, under};
use std::path::Path;

/// Real filesystems from `{root}/proc/mounts`, sized with statvfs on
/// `{root}/{mountpoint}`; a mountpoint that cannot be sized (stale NFS,
/// permission) is skipped with a debug log.
pub(crate) fn read(root: &Path) -> Result<Vec<Filesystem>, MetricsError> {
    let text = read_text(root, "proc/mounts")?;
    let mut out = Vec::new();
    for (device, mountpoint, fstype) in parse_mounts(&text) {
        match crate::platform::disk_space(&under(root, &mountpoint)) {
            Ok(d) => out.push(Filesystem {
                device,
                mountpoint,
                fstype,
                size: d.total,
                free: d.free,
                avail: d.available,
            }),
            Err(e) => tracing::debug!("skipping filesystem {mountpoint}: {e}"),
        }
    }
    Ok(out)
}
