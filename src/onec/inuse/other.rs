//! Other Unix systems: no portable way to list open files, so only the lock
//! and temp files in [`super`] count as evidence.

use super::Evidence;
use std::path::Path;

pub fn held_open(_file: &Path) -> Option<Evidence> {
    None
}
