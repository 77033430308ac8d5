//! The always-on agent: scheduler, worker lifecycle, shutdown, service
//! install. [`scheduler`] runs each base's backups at the times the pure
//! rules of [`crate::schedule`] give; [`service`] installs the agent as a Windows
//! service or a systemd unit; [`worker`] hands a metrics tick to the push
//! sinks every `METRICS_INTERVAL` and stores chart samples.

pub mod scheduler;
pub mod service;
pub mod worker;
