//! Configurations for other modules' unit tests.

use super::{Config, LoadOptions, load};
use std::path::Path;

/// A configuration from variables alone: one base in `dir/buh` (the folder
/// is created) backed up to `dir/b`, plus `extra` variables.
pub(crate) fn config_in(dir: &Path, extra: &[(&str, &str)]) -> Config {
    let base = dir.join("buh");
    std::fs::create_dir_all(&base).unwrap();
    let mut env = vec![
        ("ONEC_BASE_PATH".to_string(), base.display().to_string()),
        (
            "BACKUP_DIR".to_string(),
            dir.join("b").display().to_string(),
        ),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    load(&LoadOptions::only_env(env)).unwrap()
}
