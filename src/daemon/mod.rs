//! The always-on agent: [`run`] starts and stops every component (the one
//! place that does), the scheduler, worker lifecycle, service install. [`schedule`] holds the pure time rules (cron in a zone across
//! DST, quiet hours, catch-up); [`service`] installs the agent as a Windows
//! service or a systemd unit; [`worker`] hands a metrics tick to the push
//! sinks every `METRICS_INTERVAL` and stores chart samples.

pub mod run;
pub mod schedule;
pub mod scheduler;
pub mod service;
pub mod worker;

pub use run::run;
