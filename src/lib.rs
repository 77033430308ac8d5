//! OneCBackupBot: backups, monitoring and Telegram control for 1C:Enterprise
//! file infobases, as one library driven by a thin binary (`src/main.rs`).
//!
//! Data flows one way. The modules, leaves first; each uses only modules
//! listed before it (`arch_tests` enforces it, `docs/ARCHITECTURE.md`
//! explains it):
//!
//! 1. [`cancel`], [`platform`], [`logging`], [`text`], [`schedule`],
//!    [`retention`]: leaves that import nothing of ours;
//! 2. [`config`]: loaded once and handed down;
//! 3. [`onec`]: everything about 1C (finding the platform, the Designer
//!    and `ibcmd`, reading `.1CD`/`.dt` files);
//! 4. [`metrics`]: the host collectors;
//! 5. [`backup`]: the pipeline (lock → make → pack → verify → publish →
//!    record → prune) and the only owner of the history database;
//! 6. [`offsite`]: copies of archives on S3, WebDAV, SFTP or another
//!    folder;
//! 7. [`export`]: the metric model, its encoders and the push sinks' state;
//! 8. [`agent`]: the state the always-on agent's components share;
//! 9. [`chart`]: the rules every chart follows (series, downsampling,
//!    ticks), for the web pages and the bot;
//! 10. [`push`], [`web`], [`api`], [`telegram`]: the components (the web
//!     dashboard's pages are served by the API);
//! 11. [`daemon`]: starts and stops them (`daemon::run`), the scheduler,
//!     the metrics worker, service install;
//! 12. [`cli`]: turns command lines into calls.
//!
//! Modules are `pub` (unlike rustic's `pub(crate)` + curated re-exports)
//! because the benchmarks and end-to-end tests drive the same pieces the
//! binary does; the binary itself is the only supported interface.

#[cfg(test)]
mod arch_tests;

pub mod agent;
pub mod api;
pub mod backup;
pub mod cancel;
pub mod chart;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod export;
pub mod logging;
pub mod metrics;
pub mod offsite;
pub mod onec;
pub mod platform;
pub mod push;
pub mod retention;
pub mod schedule;
pub mod telegram;
pub mod text;
pub mod web;
