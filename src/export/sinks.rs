//! The live state of every push sink (`crate::push`), kept next to the
//! metric model that reports it (`onec_sink_*`, the `sinks` health check):
//! a registry the agent owns and each sink task updates through its
//! [`SinkHandle`]. Knows no sink; sinks only write their row here.

use super::SinkState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The live state of every enabled sink, shared by the agent (metrics,
/// `/api/health`) and the sink tasks.
#[derive(Clone, Default)]
pub struct Sinks {
    list: Arc<Mutex<Vec<SinkState>>>,
    generation: Arc<AtomicU64>,
}

impl Sinks {
    /// Add a sink (up, nothing queued) and get the handle its task updates.
    pub fn add(&self, sink: &'static str, target: String) -> SinkHandle {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.push(SinkState {
            sink,
            target,
            up: true,
            ..SinkState::default()
        });
        self.generation.fetch_add(1, Ordering::Relaxed);
        SinkHandle {
            sinks: self.clone(),
            index: list.len() - 1,
        }
    }

    /// A copy of every sink's state, in registration order.
    pub fn states(&self) -> Vec<SinkState> {
        self.list.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Changes whenever any sink's state changes (cache key).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }
}

/// One sink's handle on its row in [`Sinks`].
#[derive(Clone)]
pub struct SinkHandle {
    sinks: Sinks,
    index: usize,
}

impl SinkHandle {
    pub fn update(&self, f: impl FnOnce(&mut SinkState)) {
        let mut list = self.sinks.list.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = list.get_mut(self.index) {
            let before = s.clone();
            f(s);
            if *s != before {
                self.sinks.generation.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn get(&self) -> SinkState {
        let list = self.sinks.list.lock().unwrap_or_else(|p| p.into_inner());
        list.get(self.index).cloned().unwrap_or_default()
    }
}
