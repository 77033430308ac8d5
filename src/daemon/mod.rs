//! The always-on agent: scheduler, worker lifecycle, shutdown, service
//! install. [`schedule`] holds the pure time rules (cron in a zone across
//! DST, quiet hours, catch-up); [`service`] installs the agent as a Windows
//! service or a systemd unit; [`worker`] hands a metrics tick to the push
//! sinks every `METRICS_INTERVAL` and stores chart samples.

pub mod schedule;
pub mod scheduler;
pub mod service;
pub mod worker;
