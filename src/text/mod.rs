//! Every user-facing text, in Russian (the default) and English, one leaf
//! module per language (`ru.rs`, `en.rs`): the bot's replies, schedules in
//! words, what 1C failures mean, the OS service's name and warnings. The
//! CLI, the bot, the web page and Windows session messages all pick a
//! [`Texts`] with [`texts`] and call its fields. (Error messages and the
//! CLI's own report lines are English and stay with their code.)
//!
//! A leaf: it imports nothing of ours. Where a text is about one of our
//! types, it takes a plain key or plain values (a stage's `as_str()`, a
//! schedule's shape as numbers) and the owner of the type passes them.
//!
//! The bot's fields produce Telegram HTML and escape every dynamic value
//! they are given with [`esc`], so callers pass raw values (base names,
//! paths, error text). The other groups are plain text.

mod en;
mod ru;
mod web;
mod web_access;

pub use en::EN;
pub use ru::RU;
pub use web::Web;
pub use web_access::WebAccess;

/// The strings of one language. Plain fields are fixed text; the `fn`
/// fields format dynamic values.
pub struct Texts {
    // The bot (Telegram HTML).
    /// `language_code` for `setMyCommands`.
    pub code: &'static str,
    /// Command descriptions for the bot menu, in the order of the bot's
    /// command enum.
    pub commands: &'static [(&'static str, &'static str)],
    pub help: &'static str,
    pub denied: fn(user_id: u64) -> String,
    /// The short refusal of a button pressed by someone not allowed
    /// (plain text: a callback answer).
    pub button_denied: &'static str,
    pub unknown_command: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub confirm: fn(base: &str) -> String,
    pub cancelled: fn(base: &str) -> String,
    pub confirm_expired: &'static str,
    pub no_bases: &'static str,
    pub no_such_base: fn(name: &str, known: &str) -> String,
    pub already_running: fn(base: &str, stage: &str) -> String,
    pub shutting_down: &'static str,
    /// A backup stage in words, by its key (`preparing`, `dumping`,
    /// `packing`, `verifying`, `publishing`, `pruning`); an unknown key is
    /// returned as it is.
    pub stage: fn(key: &str) -> &str,
    pub progress_title: fn(base: &str) -> String,
    pub done: fn(base: &str, size: &str, duration: &str, path: &str) -> String,
    pub skipped: fn(base: &str, reason: &str) -> String,
    pub failed: fn(base: &str, reason: &str) -> String,
    pub interrupted: fn(base: &str) -> String,
    pub setup_failed: fn(reason: &str) -> String,
    pub log_lines: &'static str,
    pub run_line: fn(status: &str, base: &str, trigger: &str) -> String,
    pub status_title: &'static str,
    pub status_idle: &'static str,
    pub status_running: fn(base: &str, stage: &str) -> String,
    pub no_runs: &'static str,
    pub health_title: &'static str,
    pub cpu: &'static str,
    pub ram: &'static str,
    pub disk: &'static str,
    pub uptime: &'static str,
    pub agent_uptime: &'static str,
    pub rdp: &'static str,
    pub onec_users: &'static str,
    pub last_ok: &'static str,
    pub never: &'static str,
    pub ago: fn(age: &str) -> String,
    pub unknown: &'static str,
    pub log_absent: fn(dir: &str) -> String,
    pub log_caption: fn(lines: usize) -> String,
    pub list_title: fn(base: &str) -> String,
    pub list_empty: fn(base: &str) -> String,
    pub disk_title: &'static str,
    pub top_cpu: &'static str,
    pub top_mem: &'static str,
    pub sessions_title: &'static str,
    pub no_sessions: &'static str,
    pub onec_title: &'static str,
    pub no_onec: &'static str,
    pub bases_title: &'static str,
    pub schedule_title: &'static str,
    pub schedule_timezone: fn(tz: &str) -> String,
    /// A base's schedule: its cron expression and the same in words.
    pub schedule_base: fn(base: &str, expr: &str, words: &str) -> String,
    /// A base without a schedule.
    pub schedule_manual: fn(base: &str) -> String,
    pub schedule_quiet: fn(window: &str) -> String,
    pub schedule_next: &'static str,
    pub schedule_never: &'static str,
    /// Short day names, Sunday first.
    pub weekdays_short: [&'static str; 7],
    pub chart_bad_hours: fn(arg: &str) -> String,
    pub chart_no_data: &'static str,
    /// Fewer than two samples so far; the first was taken at `since`.
    pub chart_not_enough: fn(since: &str) -> String,
    pub chart_caption: fn(hours: u32, points: usize) -> String,
    pub chart_series: [&'static str; 3],
    pub command_failed: fn(err: &str) -> String,
    pub alert_low_disk: fn(path: &str, free_percent: f64, min: u8) -> String,
    pub alert_stale: fn(base: &str, age: &str, max_hours: u32) -> String,
    /// A restore drill that passed: the archive, how long it took, what was
    /// proven.
    pub drill_ok:
        fn(base: &str, source: &str, archive: &str, duration: &str, detail: &str) -> String,
    /// A restore drill that failed (`reason` says what, e.g. the archive is
    /// damaged).
    pub drill_failed: fn(base: &str, source: &str, reason: &str) -> String,
    pub drill_skipped: fn(base: &str, source: &str, reason: &str) -> String,
    /// `/drill` was accepted; the result follows as a notice. `source`:
    /// where the archive comes from, `local` or an offsite target's name.
    pub drill_started: fn(base: &str, source: &str) -> String,
    /// Where a drill's archive came from (a `Drill`'s `source`: `local` or
    /// an offsite target's name), in words, HTML-escaped.
    pub drill_source: fn(source: &str) -> String,
    /// A base with a drill schedule and no good drill for `age`.
    pub alert_drill_stale: fn(base: &str, age: &str, max_days: u32) -> String,
    /// An upload of `base` to offsite target `target` failed: the first
    /// failure of a streak (its retries are not told); `error` is the
    /// stored text, masked when it was recorded.
    pub offsite_failed: fn(base: &str, target: &str, error: &str) -> String,
    /// The first good upload of `base` to `target` after a told failure.
    pub offsite_recovered: fn(base: &str, target: &str, object: &str) -> String,
    /// The heading of the offsite lines in `/status`.
    pub offsite_title: &'static str,
    /// One target's copies of a base in `/status` and `/bases`: the age of
    /// the newest copy (`None`: no copy yet), whether the last upload
    /// failed, whether the newest copy is older than
    /// `OFFSITE_MAX_AGE_HOURS`, and the archives waiting in the queue.
    pub offsite_line:
        fn(target: &str, age: Option<&str>, failing: bool, stale: bool, queued: u64) -> String,
    pub not_available: &'static str,
    /// Units of durations and sizes (the bot's language everywhere).
    pub units: Units,

    // Schedules in words (plain text): the phrases `Schedule::describe`
    // takes, one per shape of `schedule::Description`.
    /// `None`: every minute; `Some(n)`: every `n` minutes.
    pub schedule_every_minutes: fn(n: Option<u32>) -> String,
    /// Every hour at these minutes.
    pub schedule_every_hour_at: fn(minutes: &[u32]) -> String,
    /// At these `[hour, minute, second]` times on the `weekdays` (bit 0 =
    /// Sunday … bit 6 = Saturday), every day when `None`.
    pub schedule_at: fn(weekdays: Option<u8>, times: &[[u32; 3]]) -> String,
    /// A schedule with no simpler shape: the cron expression.
    pub schedule_cron: fn(expr: &str) -> String,

    // What a 1C failure means (plain text), one field per explanation code
    // of `onec::outlog::Explanation`.
    pub explain_users_connected: &'static str,
    pub explain_wrong_credentials: &'static str,
    pub explain_no_infobase: &'static str,
    pub explain_disk_full: &'static str,
    pub explain_hang: &'static str,

    // The OS service (plain text).
    /// The description shown by `services.msc` and `systemctl status`.
    pub service_description: &'static str,
    /// The Windows display name of the default service.
    pub service_display_name: &'static str,
    /// A network share the service's LocalSystem account cannot reach.
    pub warn_unc_local_system: fn(path: &str) -> String,
    pub warn_path_missing: fn(path: &str) -> String,
    pub warn_path_inaccessible: fn(path: &str, err: &str) -> String,
    pub warn_path_unreadable: fn(path: &str, err: &str) -> String,
    pub warn_backup_dir_missing: fn(path: &str) -> String,
    pub warn_backup_dir_not_writable: fn(path: &str, err: &str) -> String,

    // Restore (plain text).
    /// After a `.dt` was loaded: whose users and passwords now apply.
    pub restore_dump_users: &'static str,
    /// A dump checked and extracted to `dt` but not loaded, because
    /// `reason`: how to load it by hand.
    pub restore_load_by_hand: fn(dt: &str, to: &str, reason: &str) -> String,

    // Users inside a base: warnings before a scheduled backup and `/users`.
    /// The title of the message box shown in the users' sessions (plain).
    pub users_warn_title: &'static str,
    /// The message box's text (plain): the backup of `base` starts in
    /// `minutes`; save your work and close 1C.
    pub users_warn_session: fn(base: &str, minutes: u32) -> String,
    /// The Telegram notice to the admins: the backup of `base` starts in
    /// `minutes` (at `at`, local time) and these users are inside;
    /// `who` is already HTML (lines made by `users_client`).
    pub users_warn_notice: fn(base: &str, minutes: u32, at: &str, who: &str) -> String,
    /// One 1C client in a list (HTML): its user, session, since when (local
    /// time, or empty) and pid.
    /// `state` is the Windows session's state word (`disconnected`, …).
    pub users_client:
        fn(user: &str, session: Option<u32>, state: Option<&str>, since: &str, pid: u32) -> String,
    /// One open of the base's file over this computer's network share.
    pub users_share: fn(user: &str) -> String,
    /// `/users`: the heading.
    pub users_title: &'static str,
    /// `/users`: a base and how many 1C clients are inside it.
    pub users_base: fn(base: &str, inside: usize) -> String,
    /// `/users`: the heading of clients whose base cannot be told.
    pub users_unknown: fn(count: usize) -> String,
    /// `/users`: the heading of clients of infobases that are not configured.
    pub users_other: fn(count: usize) -> String,
    /// `/users`: the process list could not be read.
    pub users_cannot: fn(err: &str) -> String,
    /// `/sessions`: 1C clients of one user in one session (plain text, a
    /// `<pre>` line).
    pub sessions_onec: fn(user: &str, session: Option<u32>, count: usize) -> String,
    // Users inside: the buttons on a failure they caused (Telegram HTML).
    /// «Повторить»: try the backup again as configured.
    pub retry: &'static str,
    /// «Закрыть сеансы и повторить».
    pub close_and_retry: &'static str,
    /// The question before closing: `how` is [`Texts::how_lock`] or
    /// [`Texts::how_close`].
    pub close_confirm: fn(base: &str, how: &str) -> String,
    pub how_lock: &'static str,
    pub how_close: &'static str,
    /// A retry button pressed after it expired.
    pub retry_expired: &'static str,
    /// What the users-inside policy did, under a finished run.
    pub users_note: fn(note: &str) -> String,
}

/// Units of time and size in one language.
pub struct Units {
    pub day: &'static str,
    pub hour: &'static str,
    pub minute: &'static str,
    pub second: &'static str,
    /// Bytes, then binary kilo-, mega-, giga- and tera-bytes (×1024).
    pub bytes: [&'static str; 5],
}

impl Units {
    /// `1 h 05 min`, `3 min 07 s`, `12 s`, `2 d 4 h` in these units.
    pub fn duration(&self, secs: f64) -> String {
        let s = secs.max(0.0).round() as u64;
        let (d, h, m, sec) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
        let Units {
            day,
            hour,
            minute,
            second,
            ..
        } = self;
        if d > 0 {
            format!("{d} {day} {h} {hour}")
        } else if h > 0 {
            format!("{h} {hour} {m:02} {minute}")
        } else if m > 0 {
            format!("{m} {minute} {sec:02} {second}")
        } else {
            format!("{sec} {second}")
        }
    }

    /// `1.5 KiB`: powers of 1024, one decimal above bytes.
    pub fn bytes(&self, n: u64) -> String {
        let mut v = n as f64;
        let mut u = 0;
        while v >= 1024.0 && u < self.bytes.len() - 1 {
            v /= 1024.0;
            u += 1;
        }
        if u == 0 {
            format!("{n} {}", self.bytes[0])
        } else {
            format!("{v:.1} {}", self.bytes[u])
        }
    }
}

/// The texts for `language` (`en` → English, anything else → Russian).
pub fn texts(language: &str) -> &'static Texts {
    if language.eq_ignore_ascii_case("en") {
        &EN
    } else {
        &RU
    }
}

/// The web dashboard's strings for `language` (`en` → English, anything
/// else → Russian).
pub fn web(language: &str) -> &'static Web {
    if language.eq_ignore_ascii_case("en") {
        &en::WEB
    } else {
        &ru::WEB
    }
}

/// The dashboard's login, confirm and refusal strings for `language`.
pub fn web_access(language: &str) -> &'static WebAccess {
    if language.eq_ignore_ascii_case("en") {
        &en::WEB_ACCESS
    } else {
        &ru::WEB_ACCESS
    }
}

/// Escape `&`, `<`, `>` (and quotes) for HTML (Telegram's HTML parse mode,
/// the web page).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// `a`, `a and b`, `a, b and c` with the language's `and`.
fn join(items: &[String], and: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {and} {last}", init.join(", ")),
    }
}

/// `:05`, `:30`: minutes past the hour.
fn minutes_past(minutes: &[u32]) -> Vec<String> {
    minutes.iter().map(|m| format!(":{m:02}")).collect()
}

/// `13:05`, or `03:00:15` when the second is not zero.
fn clock(times: &[[u32; 3]]) -> Vec<String> {
    times
        .iter()
        .map(|[h, m, s]| {
            if *s == 0 {
                format!("{h:02}:{m:02}")
            } else {
                format!("{h:02}:{m:02}:{s:02}")
            }
        })
        .collect()
}

/// The names (Sunday first in `names`) of the days in `weekdays`, Monday
/// first and Sunday last.
fn day_names(weekdays: u8, names: &[&str; 7]) -> Vec<String> {
    [1, 2, 3, 4, 5, 6, 0]
        .iter()
        .filter(|&&d| weekdays & (1 << d) != 0)
        .map(|&d| names[d].to_string())
        .collect()
}

/// Monday to Friday, as a `weekdays` bit set.
const WORKDAYS: u8 = 0b011_1110;
/// Saturday and Sunday.
const WEEKEND: u8 = 0b100_0001;

/// A warning in both languages, Russian first: for an admin who may read
/// either (the service warnings).
pub fn both(say: impl Fn(&Texts) -> String) -> String {
    format!("{} / {}", say(&RU), say(&EN))
}

#[cfg(test)]
mod tests;
