//! One collection as every push sink sees it: the host snapshot, the
//! backup state and the metric families built from them once, published
//! by the metrics worker (`daemon::worker`) every `METRICS_INTERVAL`.

use super::{BackupState, Family, SinkState};
use crate::metrics::Snapshot;
use std::sync::Arc;

/// One collection as every sink sees it.
#[derive(Debug)]
pub struct Tick {
    /// When the host snapshot was taken, unix milliseconds.
    pub at_ms: i64,
    pub snapshot: Arc<Snapshot>,
    pub backup: Arc<BackupState>,
    /// `super::build(snapshot, backup, sinks)`, built once for all sinks.
    pub families: Vec<Family>,
}

impl Tick {
    pub fn new(snapshot: Arc<Snapshot>, backup: Arc<BackupState>, sinks: &[SinkState]) -> Tick {
        let families = super::build(&snapshot, &backup, sinks);
        Tick {
            at_ms: (snapshot.collected_at_unix * 1000.0) as i64,
            snapshot,
            backup,
            families,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_carries_the_families_of_its_snapshot() {
        let snap = Arc::new(Snapshot {
            collected_at_unix: 12.5,
            ..Snapshot::default()
        });
        let t = Tick::new(snap.clone(), Arc::new(BackupState::default()), &[]);
        assert_eq!(t.at_ms, 12_500);
        assert_eq!(
            t.families,
            super::super::build(&snap, &BackupState::default(), &[])
        );
        assert!(t.families.iter().any(|f| f.name == "onec_cpu_percent"));
    }
}
