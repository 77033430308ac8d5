//! Linux disk I/O counters for [`super`]: `/proc/diskstats`, with
//! `/sys/block` telling whole disks from partitions.

use super::{DiskIo, parse_diskstats};
use crate::metrics::MetricsError;
use crate::metrics::linux::{read_text, under};
use std::collections::HashSet;
use std::path::Path;

/// Counters per device and summed over whole disks.
pub(crate) fn read(root: &Path) -> Result<DiskIo, MetricsError> {
    let text = read_text(root, "proc/diskstats")?;
    let whole: Option<HashSet<String>> =
        std::fs::read_dir(under(root, "sys/block")).ok().map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        });
    parse_diskstats(&text, whole.as_ref())
}
