//! Windows filesystems for [`super`]: every volume `sysinfo` lists whose
//! type is on the allow-list of real filesystems.

use super::{Filesystem, is_real_fstype};
use crate::metrics::MetricsError;
use std::path::Path;
use sysinfo::Disks;

/// Real filesystems with their size and free space.
pub(crate) fn read(_root: &Path) -> Result<Vec<Filesystem>, MetricsError> {
    let disks = Disks::new_with_refreshed_list();
    Ok(disks
        .list()
        .iter()
        .filter(|d| is_real_fstype(&d.file_system().to_string_lossy()))
        .map(|d| Filesystem {
            device: d.name().to_string_lossy().into_owned(),
            mountpoint: d.mount_point().to_string_lossy().into_owned(),
            fstype: d.file_system().to_string_lossy().into_owned(),
            size: d.total_space(),
            free: d.available_space(),
            avail: d.available_space(),
        })
        .collect())
}
