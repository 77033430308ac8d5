//! Start-up recovery after runs that were killed: rows left `running`
//! become `interrupted` and their temporaries are removed, for each base
//! whose lock is free (the test is the lock, never a reused PID).

use super::super::history::History;
use super::super::{lock, naming};
use crate::config::Config;
use std::fs;

/// Clean up after runs that were killed. For a configured base the test
/// is its lock, never a PID (PIDs are reused, fast on Windows and as PID 1
/// in containers): when the lock is free, nobody is backing it up, so its
/// rows left `running` become `interrupted` and its temporary files are
/// removed. Leftovers of bases no longer configured fall back to "the
/// recorded process is gone".
pub fn recover(cfg: &Config, history: &History) -> Recovery {
    // Hold the free locks while cleaning, so no run can start meanwhile.
    let mut free = Vec::new();
    let mut busy = Vec::new();
    for base in &cfg.bases {
        match lock::try_lock_base(cfg, base) {
            Ok(Ok(held)) => free.push((base, held)),
            _ => busy.push(base),
        }
    }
    let is_free = |name: &str| free.iter().any(|(b, _)| b.name == name);
    let is_busy = |name: &str| busy.iter().any(|b| b.name == name);
    let interrupted = history
        .mark_interrupted_if(|base, pid| {
            is_free(base) || (!is_busy(base) && !super::super::history::pid_alive(pid))
        })
        .unwrap_or(0);
    let mut removed = 0;
    if let Ok(stale) = naming::stale_temps(&cfg.backup_dir) {
        for p in stale {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let owner_base = cfg
                .bases
                .iter()
                .find(|b| naming::temp_belongs_to(&name, &b.prefix));
            let stale = match owner_base {
                Some(b) => is_free(&b.name),
                None => {
                    !naming::temp_owner_pid(&name).is_some_and(super::super::history::pid_alive)
                }
            };
            if !stale {
                continue;
            }
            let r = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            if r.is_ok() {
                removed += 1;
            }
        }
    }
    if interrupted > 0 || removed > 0 {
        tracing::warn!(
            "recovered after an unclean stop: {interrupted} run(s) marked interrupted, {removed} temporary file(s) removed"
        );
    }
    Recovery {
        interrupted,
        removed_temps: removed,
    }
}

/// What start-up recovery did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recovery {
    pub interrupted: usize,
    pub removed_temps: usize,
}
