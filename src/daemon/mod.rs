//! The always-on agent: [`run`] starts and stops every component (the one
//! place that does); [`scheduler`] runs each base's backups at the times
//! the pure rules of [`crate::schedule`] give; [`warnings`] warns the users
//! inside a base before its scheduled backup; [`drills`] runs each base's
//! restore drills on their own schedule; [`offsite`] uploads the offsite
//! queue every minute and after each backup; [`service`] installs the
//! agent as a Windows service or a systemd unit; [`worker`] hands a metrics
//! tick to the push sinks every `METRICS_INTERVAL` and stores chart samples.

pub mod drills;
pub mod offsite;
pub mod run;
pub mod scheduler;
pub mod service;
pub mod warnings;
pub mod worker;

pub use run::run;
