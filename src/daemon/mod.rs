//! The always-on agent: scheduler, worker lifecycle, shutdown, service
//! install. [`schedule`] holds the pure time rules (cron in a zone across
//! DST, quiet hours, catch-up); [`service`] installs the agent as a Windows
//! service or a systemd unit.

pub mod schedule;
pub mod scheduler;
pub mod service;
