//! One metric model for every encoder: [`build`] turns a host
//! [`Snapshot`](crate::metrics::Snapshot) plus the [`BackupState`] into
//! metric [`Family`]s (name, help, gauge or counter, samples with typed
//! [`Labels`]), and the encoders only read those families: Prometheus text
//! (`prometheus.rs`), the push sinks' remote write, line protocol and
//! Pushgateway bodies (`crate::push`), and the prototype-shaped JSON
//! (`json.rs`, which reads the snapshot directly because its shape is
//! nested, not flat). The push sinks' own state comes in as plain
//! [`SinkState`] rows, so this module depends on no sink.
//!
//! Label sets are enum variants with named fields, never positional
//! vectors, so a label can not land under the wrong name (windows_exporter
//! once shipped exactly that bug). Names, types and labels are pinned by a
//! golden test and by `tests/suite/docs_metrics.rs` against the table in
//! `docs/GRAFANA_INTEGRATION.md`.
//!
//! This file holds the model (families, samples, labels) and the promtool
//! expectations; the catalogue of families that [`build`] fills is
//! `catalogue.rs`.

pub mod backup;
mod catalogue;
pub mod json;
pub mod prometheus;
pub mod sinks;
pub mod tick;

pub use backup::{
    ArchiveCache, BackupCache, BackupState, BaseBackup, BaseDrill, BaseOffsite, LastRun,
    TargetOffsite, drill_stale_for, stale_for,
};
pub use catalogue::build;
pub use sinks::{SinkHandle, Sinks};
pub use tick::Tick;

use crate::metrics::{Collector, Snapshot};

/// Prometheus metric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// The label set of one sample; each variant names its labels.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    None,
    Core {
        core: u32,
    },
    Mount {
        mountpoint: String,
        fstype: String,
    },
    Device {
        device: String,
    },
    Top {
        rank: u32,
        name: String,
    },
    Session {
        user: String,
        kind: &'static str,
        state: &'static str,
        host: String,
    },
    State {
        state: &'static str,
    },
    User {
        user: String,
    },
    System {
        hostname: String,
        os: String,
        os_version: String,
        kernel: String,
        arch: String,
    },
    Base {
        base: String,
    },
    BaseStatus {
        base: String,
        status: &'static str,
    },
    BaseTarget {
        base: String,
        target: String,
    },
    Target {
        target: String,
    },
    TargetStatus {
        target: String,
        status: &'static str,
    },
    Version {
        version: &'static str,
    },
    Collector {
        collector: &'static str,
    },
    Sink {
        sink: &'static str,
    },
}

impl Labels {
    /// Call `f(name, value)` for each label, in exposition order.
    pub fn for_each(&self, mut f: impl FnMut(&'static str, &str)) {
        match self {
            Labels::None => {}
            Labels::Core { core } => f("core", &core.to_string()),
            Labels::Mount { mountpoint, fstype } => {
                f("mountpoint", mountpoint);
                f("fstype", fstype);
            }
            Labels::Device { device } => f("device", device),
            Labels::Top { rank, name } => {
                f("rank", &rank.to_string());
                f("name", name);
            }
            Labels::Session {
                user,
                kind,
                state,
                host,
            } => {
                f("user", user);
                f("kind", kind);
                f("state", state);
                f("host", host);
            }
            Labels::State { state } => f("state", state),
            Labels::User { user } => f("user", user),
            Labels::System {
                hostname,
                os,
                os_version,
                kernel,
                arch,
            } => {
                f("hostname", hostname);
                f("os", os);
                f("os_version", os_version);
                f("kernel", kernel);
                f("arch", arch);
            }
            Labels::Base { base } => f("base", base),
            Labels::BaseStatus { base, status } => {
                f("base", base);
                f("status", status);
            }
            Labels::BaseTarget { base, target } => {
                f("base", base);
                f("target", target);
            }
            Labels::Target { target } => f("target", target),
            Labels::TargetStatus { target, status } => {
                f("target", target);
                f("status", status);
            }
            Labels::Version { version } => f("version", version),
            Labels::Collector { collector } => f("collector", collector),
            Labels::Sink { sink } => f("sink", sink),
        }
    }
}

/// One push sink as the metrics and `/api/health` show it (a copy taken
/// from the live registry in `crate::push`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SinkState {
    /// `remote_write`, `pushgateway`, `influxdb`, `loki` or `uptime_kuma`.
    pub sink: &'static str,
    /// Where it sends, without credentials (`https://host/path`).
    pub target: String,
    /// The last attempt succeeded, or none was made yet.
    pub up: bool,
    /// Failed attempts since the agent started (each retry counts).
    pub errors_total: u64,
    /// Samples (or log lines) waiting to be sent.
    pub queue_samples: u64,
    /// Samples (or log lines) given up on: rejected by the target, too
    /// old, or pushed out of a full queue.
    pub dropped_total: u64,
    /// The last failure, without credentials; `None` once it recovered.
    pub last_error: Option<String>,
}

/// One value of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

/// One metric: every sample shares the name, help and type.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

/// Families under construction.
struct Builder(Vec<Family>);

impl Builder {
    fn family(&mut self, name: &'static str, kind: Kind, help: &'static str) -> &mut Family {
        self.0.push(Family {
            name,
            help,
            kind,
            samples: Vec::new(),
        });
        self.0.last_mut().expect("just pushed")
    }

    /// A family with one unlabelled sample, or none when `value` is None.
    fn single(&mut self, name: &'static str, kind: Kind, help: &'static str, value: Option<f64>) {
        let f = self.family(name, kind, help);
        if let Some(v) = value {
            f.samples.push(Sample {
                labels: Labels::None,
                value: v,
            });
        }
    }
}

impl Family {
    fn push(&mut self, labels: Labels, value: f64) {
        self.samples.push(Sample { labels, value });
    }
}

/// promtool's message for a counter without `_total`.
pub const LINT_COUNTER_TOTAL: &str = "counter metrics should have \"_total\" suffix";
/// promtool's message for a non-counter ending in `_total`.
pub const LINT_NON_COUNTER_TOTAL: &str = "non-counter metrics should not have \"_total\" suffix";
/// promtool's message for a name ending in `_count` that is no histogram.
pub const LINT_COUNT: &str =
    "non-histogram and non-summary metrics should not have \"_count\" suffix";

/// Everything `promtool check metrics` (Prometheus 2.42) reports about our
/// exposition: all of it about the prototype's names, which users'
/// dashboards and alerts use and which therefore stay as they are.
pub const EXPECTED_LINT: &[(&str, &str)] = &[
    ("onec_disk_io_read_count", LINT_COUNTER_TOTAL),
    ("onec_disk_io_read_count", LINT_COUNT),
    ("onec_disk_io_write_count", LINT_COUNTER_TOTAL),
    ("onec_disk_io_write_count", LINT_COUNT),
    ("onec_disk_io_read_bytes", LINT_COUNTER_TOTAL),
    ("onec_disk_io_write_bytes", LINT_COUNTER_TOTAL),
    ("onec_disk_io_read_time", LINT_COUNTER_TOTAL),
    ("onec_disk_io_write_time", LINT_COUNTER_TOTAL),
    ("onec_network_bytes_sent", LINT_COUNTER_TOTAL),
    ("onec_network_bytes_recv", LINT_COUNTER_TOTAL),
    ("onec_network_packets_sent", LINT_COUNTER_TOTAL),
    ("onec_network_packets_recv", LINT_COUNTER_TOTAL),
    ("onec_network_errin", LINT_COUNTER_TOTAL),
    ("onec_network_errout", LINT_COUNTER_TOTAL),
    ("onec_network_dropin", LINT_COUNTER_TOTAL),
    ("onec_network_dropout", LINT_COUNTER_TOTAL),
    ("onec_memory_total", LINT_NON_COUNTER_TOTAL),
    ("onec_memory_swap_total", LINT_NON_COUNTER_TOTAL),
    ("onec_disk_backup_disk_total", LINT_NON_COUNTER_TOTAL),
    ("onec_processes_total_count", LINT_COUNT),
    ("onec_logged_users_count", LINT_COUNT),
    ("onec_rdp_active_count", LINT_COUNT),
];

/// Names of every family [`build`] returns, in order.
pub fn metric_names() -> Vec<&'static str> {
    build(&Snapshot::default(), &BackupState::default(), &[])
        .into_iter()
        .map(|f| f.name)
        .collect()
}

/// Collectors that failed in `s`, with their errors.
pub fn failed_collectors(s: &Snapshot) -> Vec<(Collector, String)> {
    s.collectors
        .iter()
        .filter(|c| !c.success)
        .map(|c| (c.collector, c.error.clone().unwrap_or_default()))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
