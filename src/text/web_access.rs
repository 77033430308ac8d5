//! The shape of the dashboard's access and action strings (`web::login`,
//! `web::actions`, `web::session`): the login form, the confirm step and
//! every refusal. Plain text, escaped by the templates. One instance per
//! language lives in `ru.rs` and `en.rs`.

pub struct WebAccess {
    pub log_in: &'static str,
    pub log_out: &'static str,
    pub login_title: &'static str,
    pub token_label: &'static str,
    pub logged_in_title: &'static str,
    pub allows_act: &'static str,
    pub allows_read: &'static str,
    pub no_token_configured: &'static str,
    pub wrong_token: &'static str,
    pub confirm_title: &'static str,
    pub confirm_backup: fn(base: &str) -> String,
    pub confirm_retry: fn(run_id: i64, base: &str) -> String,
    pub confirm_button: fn(base: &str) -> String,
    /// The button on a failed run's page.
    pub retry: &'static str,
    pub cancel: &'static str,
    pub refused_title: &'static str,
    pub cross_site: &'static str,
    pub must_log_in: &'static str,
    pub read_only: &'static str,
    pub bad_csrf: &'static str,
    pub actions_off: &'static str,
    pub already_running: fn(base: &str, stage: &str) -> String,
    pub no_base: fn(name: &str) -> String,
    pub no_run: fn(run_id: i64) -> String,
    pub not_failed: fn(run_id: i64, status: &str) -> String,
    pub history_unreadable: &'static str,
    pub stopping: &'static str,
}
