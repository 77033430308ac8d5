//! The shape of the web dashboard's strings (`crate::web`): plain text,
//! escaped by the page templates (callers never pre-escape). One instance
//! per language lives beside the bot's texts in `ru.rs` and `en.rs`.

/// The dashboard's strings in one language.
pub struct Web {
    /// `ru` / `en`: the page's `lang` attribute.
    pub code: &'static str,
    /// The other language: its code and its name in itself (the switch).
    pub other_code: &'static str,
    pub other_name: &'static str,
    pub app_title: &'static str,
    pub nav_overview: &'static str,
    pub nav_history: &'static str,
    pub nav_charts: &'static str,
    /// What an anonymous visitor sees instead of the details.
    pub anonymous_note: &'static str,

    // Overview.
    pub bases_title: &'static str,
    pub no_bases: &'static str,
    pub never_backed_up: &'static str,
    pub running_now: &'static str,
    pub last_result: &'static str,
    pub last_good: &'static str,
    /// `3 h 05 min ago`.
    pub ago: fn(what: &str) -> String,
    /// `in 2 h 05 min`.
    pub in_time: fn(what: &str) -> String,
    pub no_good_yet: &'static str,
    pub size_trend: &'static str,
    pub next_run: &'static str,
    pub manual_only: &'static str,
    pub inside_now: &'static str,
    pub nobody_inside: &'static str,
    pub offsite: &'static str,
    pub offsite_never: &'static str,
    /// `2 waiting (1.2 GiB)`.
    pub offsite_queued: fn(n: u64, bytes: &str) -> String,
    pub drill: &'static str,
    pub drill_never: &'static str,
    pub backup_now: &'static str,
    pub server_title: &'static str,
    pub cpu: &'static str,
    pub memory: &'static str,
    pub disk_free: &'static str,
    /// `full in about 12 days at the last 7 days' pace`.
    pub days_until_full: fn(days: f64) -> String,
    pub disk_not_filling: &'static str,
    pub rdp_sessions: &'static str,
    pub sinks_title: &'static str,
    pub no_sinks: &'static str,
    pub sink_up: &'static str,
    pub sink_down: &'static str,
    pub version: &'static str,
    pub uptime: &'static str,
    pub unknown: &'static str,
    pub history_unreadable: &'static str,

    // Statuses and triggers (by their stored text).
    pub status: fn(code: &str) -> &'static str,
    pub trigger: fn(code: &str) -> &'static str,

    // History.
    pub history_title: &'static str,
    pub filter_base: &'static str,
    pub filter_status: &'static str,
    pub filter_trigger: &'static str,
    pub filter_from: &'static str,
    pub filter_to: &'static str,
    pub filter_any: &'static str,
    pub filter_apply: &'static str,
    pub col_started: &'static str,
    pub col_base: &'static str,
    pub col_trigger: &'static str,
    pub col_status: &'static str,
    pub col_duration: &'static str,
    pub col_size: &'static str,
    pub no_runs: &'static str,
    pub prev_page: &'static str,
    pub next_page: &'static str,
    /// `page 2 of 7 (312 runs)`.
    pub page_of: fn(page: u64, pages: u64, total: u64) -> String,

    // One run.
    /// `Run 42`.
    pub run_title: fn(id: i64) -> String,
    pub no_such_run: &'static str,
    pub run_method: &'static str,
    pub run_started: &'static str,
    pub run_finished: &'static str,
    pub run_archive: &'static str,
    pub run_source_size: &'static str,
    pub run_sha256: &'static str,
    pub run_encrypted: &'static str,
    pub run_exit_code: &'static str,
    pub run_error: &'static str,
    pub run_explained: &'static str,
    /// What the users-inside policy did in the run.
    pub run_users: &'static str,
    /// Each stage of the run with how long it took.
    pub run_stages: &'static str,
    pub run_log_lines: &'static str,
    pub run_verification: &'static str,
    /// The archive's SHA-256 was recorded after it was verified.
    pub run_verified: &'static str,
    pub run_offsite: &'static str,

    // Charts.
    pub charts_title: &'static str,
    pub range_24h: &'static str,
    pub range_7d: &'static str,
    pub range_30d: &'static str,
    pub chart_cpu: &'static str,
    pub chart_memory: &'static str,
    pub chart_disk: &'static str,
    pub chart_duration: &'static str,
    pub chart_size: &'static str,
    /// Fewer than two samples; the first was taken at `since`.
    pub chart_not_enough: fn(since: &str) -> String,
    /// No sample at all in the window.
    pub chart_no_samples: &'static str,
    pub chart_no_runs: &'static str,
}
