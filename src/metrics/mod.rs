//! Host metrics: one collector per file (`cpu.rs`, `memory.rs`, …), a plain
//! typed [`Snapshot`] model, and a background [`Sampler`] that refreshes the
//! snapshot every few seconds so that a scrape only clones an `Arc`.
//!
//! Shaped after vector's `host_metrics` source and node_exporter: a collector
//! never fails the snapshot (its section is `None`, its [`CollectorStatus`]
//! says `success: false`, and the failure is logged once, not every round);
//! on Linux everything is read from `/proc`, `/sys` and `/etc` under a
//! configurable root so tests can feed captured fixture trees; on Windows the
//! numbers come from `sysinfo` and a few Win32 calls. Each collector swaps
//! its OS reader by module, one signature for both (`cpu/linux.rs` and
//! `cpu/windows.rs`, …; `sessions/` behind a trait), so this file has no
//! per-OS code. Encoders (Prometheus text, JSON, push sinks) live elsewhere
//! and only read this model.

pub mod agent;
pub mod cpu;
pub mod disk;
pub mod filesystem;
pub mod memory;
pub mod network;
pub mod onec;
pub mod process;
pub mod sessions;
pub mod system;

#[cfg(unix)]
mod linux;
#[cfg(windows)]
mod windows;

pub use agent::AgentProcess;
pub use cpu::Cpu;
pub use disk::{DiskDevice, DiskIo, IoCounters};
pub use filesystem::{DiskUsage, Filesystem};
pub use memory::Memory;
pub use network::{NetCounters, NetInterface, Network};
pub use onec::{OnecBase, OnecUser, OnecUsers};
pub use process::{ProcInfo, Processes, TopProcess};
pub use sessions::{Session, SessionKind, SessionSource, SessionState, Sessions};
pub use system::SystemInfo;

use serde::Serialize;
use std::io;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What went wrong inside one collector. It never escapes a snapshot: it is
/// logged once and summarised in [`CollectorStatus::error`].
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("unexpected format in {what}: {detail}")]
    Parse { what: String, detail: String },
    #[error("{call} failed: {source}")]
    Os {
        call: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{what} is not available on this platform")]
    Unsupported { what: &'static str },
}

impl MetricsError {
    pub(crate) fn parse(what: impl Into<String>, detail: impl Into<String>) -> Self {
        MetricsError::Parse {
            what: what.into(),
            detail: detail.into(),
        }
    }
}

/// Where and how often to collect.
#[derive(Debug, Clone)]
pub struct MetricsOptions {
    /// Root under which `proc/`, `sys/` and `etc/` are read (Linux; `/` in
    /// production, a fixture tree in tests).
    pub proc_root: PathBuf,
    /// The directory backups are written to; its filesystem is reported as
    /// [`Snapshot::backup_disk`].
    pub backup_dir: PathBuf,
    /// The utmp file listing logged-in users (Linux).
    pub utmp_path: PathBuf,
    /// Pause between two background collections.
    pub interval: Duration,
    /// How many processes to keep in each top list.
    pub top_n: usize,
    /// The configured bases (name, folder): 1C clients are also counted
    /// per base (`onec_1c_clients_per_base`). Empty: not counted.
    pub bases: Vec<(String, PathBuf)>,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            proc_root: PathBuf::from("/"),
            backup_dir: PathBuf::from("."),
            utmp_path: PathBuf::from("/var/run/utmp"),
            interval: Duration::from_secs(5),
            top_n: 5,
            bases: Vec::new(),
        }
    }
}

impl MetricsOptions {
    /// The defaults, with the configuration's backup folder and bases.
    pub fn of(cfg: &crate::config::Config) -> Self {
        MetricsOptions {
            backup_dir: cfg.backup_dir.clone(),
            bases: cfg
                .bases
                .iter()
                .map(|b| (b.name.clone(), b.path.clone()))
                .collect(),
            ..MetricsOptions::default()
        }
    }
}

/// The collectors, in the order they run. Labels for
/// `*_collector_success{collector}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Collector {
    Cpu,
    Memory,
    BackupDisk,
    Filesystem,
    Disk,
    Network,
    Process,
    Sessions,
    Onec,
    System,
    Agent,
}

impl Collector {
    pub const ALL: [Collector; 11] = [
        Collector::Cpu,
        Collector::Memory,
        Collector::BackupDisk,
        Collector::Filesystem,
        Collector::Disk,
        Collector::Network,
        Collector::Process,
        Collector::Sessions,
        Collector::Onec,
        Collector::System,
        Collector::Agent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Collector::Cpu => "cpu",
            Collector::Memory => "memory",
            Collector::BackupDisk => "backup_disk",
            Collector::Filesystem => "filesystem",
            Collector::Disk => "disk",
            Collector::Network => "network",
            Collector::Process => "process",
            Collector::Sessions => "sessions",
            Collector::Onec => "onec",
            Collector::System => "system",
            Collector::Agent => "agent",
        }
    }
}

/// Health of one collector in one round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectorStatus {
    pub collector: Collector,
    pub success: bool,
    pub duration_seconds: f64,
    /// The error text when `success` is false.
    pub error: Option<String>,
}

/// Everything one collection round saw. A section is `None` when its
/// collector failed (see [`Snapshot::collectors`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// When the round finished, unix seconds.
    pub collected_at_unix: f64,
    /// How long the whole round took.
    pub collect_duration_seconds: f64,
    pub cpu: Option<Cpu>,
    pub memory: Option<Memory>,
    pub backup_disk: Option<DiskUsage>,
    pub filesystems: Option<Vec<Filesystem>>,
    pub disk_io: Option<DiskIo>,
    pub network: Option<Network>,
    pub processes: Option<Processes>,
    pub sessions: Option<Sessions>,
    pub onec: Option<OnecUsers>,
    pub system: Option<SystemInfo>,
    pub agent: Option<AgentProcess>,
    /// One entry per [`Collector`], in [`Collector::ALL`] order.
    pub collectors: Vec<CollectorStatus>,
}

impl Snapshot {
    /// The status of one collector in this snapshot.
    pub fn status(&self, which: Collector) -> Option<&CollectorStatus> {
        self.collectors.iter().find(|s| s.collector == which)
    }
}

/// The collectors with the state they keep between rounds (previous CPU
/// times, the interface list on Windows, previous per-process CPU ticks,
/// which collector is failing).
pub struct Collectors {
    opts: MetricsOptions,
    cpu: cpu::CpuState,
    network: network::NetState,
    process: process::ProcState,
    sessions: Box<dyn SessionSource>,
    failing: [bool; Collector::ALL.len()],
}

impl Collectors {
    /// Collectors reading the real OS session API.
    pub fn new(opts: MetricsOptions) -> Self {
        let source = sessions::os_source(&opts);
        Self::with_session_source(opts, source)
    }

    /// Collectors with a given session source (tests fake it).
    pub fn with_session_source(opts: MetricsOptions, sessions: Box<dyn SessionSource>) -> Self {
        Collectors {
            opts,
            cpu: cpu::CpuState::default(),
            network: network::NetState::default(),
            process: process::ProcState::default(),
            sessions,
            failing: [false; Collector::ALL.len()],
        }
    }

    /// Run every collector once.
    pub fn collect(&mut self) -> Snapshot {
        let started = Instant::now();
        let mut st = Vec::with_capacity(Collector::ALL.len());
        let cpu = self.run(Collector::Cpu, &mut st, |c| {
            cpu::read(&c.opts.proc_root, &mut c.cpu)
        });
        let memory = self.run(Collector::Memory, &mut st, |c| {
            memory::read(&c.opts.proc_root)
        });
        let backup_disk = self.run(Collector::BackupDisk, &mut st, |c| {
            filesystem::disk_usage(&c.opts.backup_dir)
        });
        let filesystems = self.run(Collector::Filesystem, &mut st, |c| {
            filesystem::read(&c.opts.proc_root)
        });
        let disk_io = self.run(Collector::Disk, &mut st, |c| disk::read(&c.opts.proc_root));
        let network = self.run(Collector::Network, &mut st, |c| {
            network::read(&c.opts.proc_root, &mut c.network)
        });
        let table = self.run(Collector::Process, &mut st, |c| {
            process::read(&c.opts.proc_root, &mut c.process)
        });
        let processes = table
            .as_ref()
            .map(|t| process::summarize(t, self.opts.top_n));
        let sessions = self.run(Collector::Sessions, &mut st, |c| {
            c.sessions.sessions().map(Sessions::from_sessions)
        });
        let onec = self.run(Collector::Onec, &mut st, |c| match &table {
            Some(t) => Ok(onec::OnecUsers {
                per_base: onec::per_base(&c.opts.bases).unwrap_or_default(),
                ..onec::count(t)
            }),
            None => Err(MetricsError::parse(
                "process table",
                "the process collector failed, see its error",
            )),
        });
        let system = self.run(Collector::System, &mut st, |c| {
            system::read(&c.opts.proc_root)
        });
        let agent = self.run(Collector::Agent, &mut st, |c| {
            agent::read(&c.opts.proc_root)
        });
        Snapshot {
            collected_at_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            collect_duration_seconds: started.elapsed().as_secs_f64(),
            cpu,
            memory,
            backup_disk,
            filesystems,
            disk_io,
            network,
            processes,
            sessions,
            onec,
            system,
            agent,
            collectors: st,
        }
    }

    fn run<T>(
        &mut self,
        which: Collector,
        statuses: &mut Vec<CollectorStatus>,
        f: impl FnOnce(&mut Self) -> Result<T, MetricsError>,
    ) -> Option<T> {
        let started = Instant::now();
        let result = f(self);
        let duration_seconds = started.elapsed().as_secs_f64();
        let idx = Collector::ALL.iter().position(|c| *c == which).unwrap_or(0);
        match result {
            Ok(v) => {
                if std::mem::replace(&mut self.failing[idx], false) {
                    tracing::info!(collector = which.as_str(), "metrics collector recovered");
                }
                statuses.push(CollectorStatus {
                    collector: which,
                    success: true,
                    duration_seconds,
                    error: None,
                });
                Some(v)
            }
            Err(e) => {
                if !std::mem::replace(&mut self.failing[idx], true) {
                    tracing::warn!(
                        collector = which.as_str(),
                        "metrics collector failed (reported as success=0 until it recovers): {e}"
                    );
                }
                statuses.push(CollectorStatus {
                    collector: which,
                    success: false,
                    duration_seconds,
                    error: Some(e.to_string()),
                });
                None
            }
        }
    }
}

/// A background thread that runs [`Collectors::collect`] every
/// [`MetricsOptions::interval`] and keeps the latest [`Snapshot`].
pub struct Sampler {
    latest: Arc<RwLock<Arc<Snapshot>>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Collect once (so [`Sampler::snapshot`] is never empty), then keep
    /// collecting in a thread named `metrics-sampler`.
    pub fn start(opts: MetricsOptions) -> Sampler {
        let collectors = Collectors::new(opts);
        Self::start_with(collectors)
    }

    /// Like [`Sampler::start`] with prepared collectors (e.g. a fake session
    /// source).
    pub fn start_with(mut collectors: Collectors) -> Sampler {
        let interval = collectors.opts.interval;
        let latest = Arc::new(RwLock::new(Arc::new(collectors.collect())));
        let (tx, rx) = mpsc::channel::<()>();
        let shared = Arc::clone(&latest);
        let thread = std::thread::Builder::new()
            .name("metrics-sampler".into())
            .spawn(move || {
                // A message or a dropped sender both mean stop.
                while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(interval) {
                    let snap = Arc::new(collectors.collect());
                    match shared.write() {
                        Ok(mut g) => *g = snap,
                        Err(poisoned) => *poisoned.into_inner() = snap,
                    }
                }
            });
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(
                    "cannot start the metrics sampler thread, metrics will not refresh: {e}"
                );
                None
            }
        };
        Sampler {
            latest,
            stop: Some(tx),
            thread,
        }
    }

    /// The latest snapshot (an `Arc` clone: microseconds).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.latest.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Stop the thread and wait for it (at most one collection round).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `part / whole * 100`, or 0 when `whole` is 0.
pub(crate) fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        (part / whole * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
