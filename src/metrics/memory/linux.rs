//! Linux memory figures for [`super`]: `/proc/meminfo`.

use super::{Memory, parse_meminfo};
use crate::metrics::MetricsError;
use crate::metrics::linux::read_text;
use std::path::Path;

/// RAM and swap, bytes.
pub(crate) fn read(root: &Path) -> Result<Memory, MetricsError> {
    parse_meminfo(&read_text(root, "proc/meminfo")?)
}
