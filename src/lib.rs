//! OneCBackupBot: backups, monitoring and Telegram control for 1C:Enterprise
//! file infobases, as one library driven by a thin binary (`src/main.rs`).
//!
//! Data flows one way: [`config`] is loaded once and handed down; [`onec`]
//! knows everything about 1C (finding the platform, running the Designer and
//! `ibcmd`, reading `.1CD`/`.dt` files); [`backup`] is the pipeline
//! (lock → make → pack → verify → publish → record → prune) and the only
//! owner of the history database; [`cli`] turns command lines into calls.
//! Two leaves import nothing of ours: [`schedule`] (cron across DST, quiet
//! hours, catch-up) and [`text`] (every user-facing text, per language).
//!
//! Modules are `pub` (unlike rustic's `pub(crate)` + curated re-exports)
//! because the benchmarks and end-to-end tests drive the same pieces the
//! binary does; the binary itself is the only supported interface.

pub mod agent;
pub mod api;
pub mod backup;
pub mod cancel;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod export;
pub mod logging;
pub mod metrics;
pub mod onec;
pub mod platform;
pub mod push;
pub mod schedule;
pub mod telegram;
pub mod text;
