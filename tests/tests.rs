//! The end-to-end suite, one test binary (as ripgrep's `tests/tests.rs`):
//! each former test crate is a module under `tests/suite/`, the helpers
//! they share are in `tests/util/`. Tests of all suites run side by side
//! in one process; the ones that start real servers or measure time take
//! `util::heavy()` first. Run one suite with `cargo test --test e2e
//! suite::cli_backup::`.

mod util;

mod suite {
    mod agent_run;
    mod api_http;
    mod cli_backup;
    mod docs_metrics;
    mod drill;
    mod drill_from;
    mod encrypted;
    mod faults;
    mod offsite;
    mod offsite_kinds;
    mod offsite_s3;
    mod offsite_webdav;
    mod onec_fake;
    mod perms;
    mod priority;
    mod prometheus_e2e;
    mod push_influxdb;
    mod push_loki_kuma;
    mod push_pushgateway;
    mod push_remote_write;
    mod restore;
    mod schemathesis;
    mod secrets;
    mod sftp;
    mod telegram_bot;
    mod telegram_props;
    mod users;
    mod users_lock;
    mod users_warn;
    mod web_access;
    mod web_browser;
}
