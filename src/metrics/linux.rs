//! What the Linux collectors share: reading `/proc`, `/sys` and `/etc`
//! under the configurable root ([`super::MetricsOptions::proc_root`]), so
//! tests can point them at a captured fixture tree. Each collector's reader
//! lives in its `linux.rs` (`cpu/linux.rs`, `memory/linux.rs`, …) next to
//! the Windows one, with the same signature.

use super::MetricsError;
use std::path::{Path, PathBuf};

/// `root` joined with an absolute-looking path such as `proc/stat`.
pub(crate) fn under(root: &Path, rel: &str) -> PathBuf {
    root.join(rel.trim_start_matches('/'))
}

/// Read a text file under `root`, naming it in the error.
pub(crate) fn read_text(root: &Path, rel: &str) -> Result<String, MetricsError> {
    let path = under(root, rel);
    std::fs::read_to_string(&path).map_err(|source| MetricsError::Read { path, source })
}
