//! The English texts (`BOT_LANGUAGE=en`, and the CLI's 1C explanations).

use super::{Texts, Units, WEEKEND, WORKDAYS, clock, day_names, esc, join, minutes_past};

pub static EN: Texts = Texts {
    code: "en",
    commands: &[
        ("start", "What the bot can do"),
        ("help", "Command help"),
        ("backup", "Back up now [base]"),
        ("status", "Recent runs and state"),
        ("health", "Server health"),
        ("lastlog", "Last 100 log lines"),
        ("list", "Archives [base]"),
        ("disk", "All disks"),
        ("top", "Top processes by CPU and memory"),
        ("sessions", "Who is in RDP and in 1C"),
        ("bases", "Bases and their last result"),
        ("schedule", "Schedule"),
        ("chart", "CPU, memory and disk chart [hours]"),
        ("drill", "Restore drill of the newest archive [base]"),
        ("users", "Who is inside each 1C base now"),
    ],
    help: "<b>1C backup bot</b>\n\
/backup [base] — back up (asks first)\n\
/status — the last 20 runs\n\
/health — CPU, memory, disk, sessions, last backup\n\
/lastlog — the last 100 log lines as a file\n\
/list [base] — archives and sizes\n\
/disk — all disks\n\
/top — the busiest processes\n\
/sessions — who is in RDP and in 1C\n\
/users — who is inside each 1C base now (user, session, since)\n\
/bases — bases and their last result\n\
/schedule — the schedule\n\
/chart [hours] — chart over N hours (default 24)\n\
/drill [base] — restore the newest archive into a scratch folder to prove it works",
    denied: |id| {
        format!(
            "⛔ Access denied. Your Telegram ID is <code>{id}</code>. Ask the administrator to add it to ALLOWED_USER_IDS."
        )
    },
    button_denied: "⛔ Access denied",
    unknown_command: "Unknown command. Commands: /help",
    yes: "Yes",
    no: "No",
    confirm: |b| format!("Back up <b>{}</b> now?", esc(b)),
    cancelled: |b| format!("Backup of <b>{}</b> cancelled.", esc(b)),
    confirm_expired: "This confirmation has expired (it is valid for 10 minutes). Send /backup again.",
    no_bases: "No bases configured: set ONEC_BASE_PATH or bases: in config.yaml.",
    no_such_base: |n, k| format!("No base named “{}”. Configured: {}", esc(n), esc(k)),
    already_running: |b, s| {
        format!(
            "⏳ A backup of <b>{}</b> is already running (stage: {}). Wait for it to finish.",
            esc(b),
            esc(s)
        )
    },
    shutting_down: "The agent is stopping; no new backups are started.",
    stage: |key| match key {
        "preparing" => "preparing",
        "dumping" => "1C dump",
        "packing" => "packing",
        "verifying" => "verifying",
        "publishing" => "saving",
        "pruning" => "removing old backups",
        other => other,
    },
    progress_title: |b| format!("⏳ Backing up <b>{}</b>", esc(b)),
    done: |b, size, dur, path| {
        format!(
            "✅ Backup of <b>{}</b> done\nSize: {}\nDuration: {}\nFile: <code>{}</code>",
            esc(b),
            esc(size),
            esc(dur),
            esc(path)
        )
    },
    skipped: |b, r| format!("⏭ Backup of <b>{}</b> skipped: {}", esc(b), esc(r)),
    failed: |b, r| format!("❌ Backup of <b>{}</b> failed: {}", esc(b), esc(r)),
    interrupted: |b| {
        format!(
            "⚠️ Backup of <b>{}</b> interrupted by the agent stopping; nothing was kept.",
            esc(b)
        )
    },
    setup_failed: |r| format!("❌ The backup could not start: {}", esc(r)),
    log_lines: "Key lines of the 1C log:",
    run_line: |st, b, t| format!("{} <b>{}</b> ({})", esc(st), esc(b), esc(t)),
    status_title: "<b>Recent runs</b>",
    status_idle: "No backup is running now.",
    status_running: |b, s| format!("⏳ Running: <b>{}</b> — {}", esc(b), esc(s)),
    no_runs: "No runs yet.",
    health_title: "<b>Server health</b>",
    cpu: "CPU",
    ram: "Memory",
    disk: "Backup disk",
    uptime: "Server up",
    agent_uptime: "Agent up",
    rdp: "RDP sessions",
    onec_users: "1C clients",
    last_ok: "Last good backup",
    never: "none yet",
    ago: |a| format!("{} ago", esc(a)),
    unknown: "n/a",
    log_absent: |d| format!("No log: there is no backup.log in {}.", esc(d)),
    log_caption: |n| format!("The last {n} log lines"),
    list_title: |b| format!("<b>Archives of {}</b>", esc(b)),
    list_empty: |b| format!("No archives of <b>{}</b> yet.", esc(b)),
    disk_title: "<b>Disks</b>",
    top_cpu: "<b>Top by CPU</b>",
    top_mem: "<b>Top by memory</b>",
    sessions_title: "<b>Sessions</b>",
    no_sessions: "No sessions.",
    onec_title: "<b>1C clients</b>",
    no_onec: "No 1C clients running.",
    bases_title: "<b>Bases</b>",
    schedule_title: "<b>Schedule</b>",
    schedule_timezone: |tz| format!("Time zone: {}", esc(tz)),
    schedule_base: |b, e, w| format!("• <b>{}</b>: {} (<code>{}</code>)", esc(b), esc(w), esc(e)),
    schedule_manual: |b| {
        format!(
            "• <b>{}</b>: no schedule — manual backups only (/backup, CLI, API)",
            esc(b)
        )
    },
    schedule_quiet: |q| format!("  quiet hours: {}", esc(q)),
    schedule_next: "  next runs:",
    schedule_never: "  never fires",
    weekdays_short: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
    chart_bad_hours: |a| {
        format!(
            "“{}” is not a number of hours. Example: /chart 48 (1 to 720).",
            esc(a)
        )
    },
    chart_no_data: "No chart data yet: samples are stored once a minute.",
    chart_not_enough: |since| {
        format!(
            "Not enough data yet: samples are stored every minute since {}.",
            esc(since)
        )
    },
    chart_caption: |h, n| format!("CPU, memory and disk over {h} h ({n} samples)"),
    chart_series: ["CPU %", "Memory %", "Disk %"],
    command_failed: |e| format!("The command failed: {}", esc(e)),
    alert_low_disk: |p, f, m| {
        format!(
            "⚠️ Low space on the backup disk ({}): {:.1} % free, threshold {} %. Free some space or move BACKUP_DIR.",
            esc(p),
            f,
            m
        )
    },
    alert_stale: |b, a, h| {
        format!(
            "⚠️ <b>{}</b> has had no good backup for {} (threshold {} h). Check /status.",
            esc(b),
            esc(a),
            h
        )
    },
    drill_ok: |b, s, a, d, x| {
        format!(
            "✅ Restore drill of <b>{}</b> passed in {}: the archive {} ({}) restores.\n<i>{}</i>",
            esc(b),
            esc(d),
            esc(a),
            drill_source(s),
            esc(x)
        )
    },
    drill_failed: |b, s, r| {
        format!(
            "🚨 <b>Restore drill of {} FAILED</b> ({}): {}\nThis archive would not give the base back: make a new backup now and check the older archives.",
            esc(b),
            drill_source(s),
            esc(r)
        )
    },
    drill_skipped: |b, s, r| {
        format!(
            "⚠️ Restore drill of <b>{}</b> ({}) skipped: {}",
            esc(b),
            drill_source(s),
            esc(r)
        )
    },
    drill_started: |b, s| {
        format!(
            "🧪 Restore drill of <b>{}</b> started: the newest good archive ({}) is restored into a scratch folder and checked. The result follows.",
            esc(b),
            drill_source(s)
        )
    },
    drill_source,
    alert_drill_stale: |b, a, d| {
        format!(
            "⚠️ <b>{}</b> has had no successful restore drill for {} (threshold {} days): nobody knows whether its archives restore. Run <code>onec-backup-bot drill</code> and check the log.",
            esc(b),
            esc(a),
            d
        )
    },
    offsite_failed: |b, t, e| {
        format!(
            "🚨 <b>The offsite copy of {} to {} is failing</b>: {}\nThe local archive is intact; the agent retries by itself (every 1 minute to 1 hour) and tells you when an upload goes through. Details: <code>onec-backup-bot offsite status</code>.",
            esc(b),
            esc(t),
            esc(e)
        )
    },
    offsite_recovered: |b, t, o| {
        format!(
            "✅ Offsite copies of <b>{}</b> to <b>{}</b> work again: {} uploaded and verified.",
            esc(b),
            esc(t),
            esc(o)
        )
    },
    offsite_title: "Offsite copies:",
    offsite_line: |t, age, failing, stale, queued| {
        let mut s = format!(
            "☁️ {}: {}",
            esc(t),
            match age {
                Some(a) => format!("copy {} ago", esc(a)),
                None => "no copy yet".to_string(),
            }
        );
        if failing {
            s.push_str(" ✖ uploads failing");
        }
        if stale {
            s.push_str(" ⚠️ stale");
        }
        if queued > 0 {
            s.push_str(&format!(", {queued} queued"));
        }
        s
    },
    not_available: "no data",
    units: Units {
        day: "d",
        hour: "h",
        minute: "min",
        second: "s",
        bytes: ["B", "KiB", "MiB", "GiB", "TiB"],
    },
    schedule_every_minutes: |n| match n {
        None => "every minute".into(),
        Some(n) => format!("every {n} minutes"),
    },
    schedule_every_hour_at: |m| format!("every hour at {}", join(&minutes_past(m), AND)),
    schedule_at: |weekdays, times| {
        let days = match weekdays {
            None => "every day".to_string(),
            Some(WORKDAYS) => "on weekdays".to_string(),
            Some(WEEKEND) => "on weekends".to_string(),
            Some(d) => format!("every {}", join(&day_names(d, &DAYS), AND)),
        };
        format!("{days} at {}", join(&clock(times), AND))
    },
    schedule_cron: |e| format!("cron schedule: {e}"),
    explain_users_connected: "users are still connected to the infobase, so 1C could not lock it \
        exclusively: ask them to log out, or set a lock code (ONEC_LOCK_CODE) that \
        blocks new sessions and pass it with /UC",
    explain_wrong_credentials: "the infobase user or password is wrong: check ONEC_UC (user) and \
        ONEC_UP (password)",
    explain_no_infobase: "there is no infobase at the configured path: check ONEC_BASE (the \
        folder holding 1Cv8.1CD)",
    explain_disk_full: "the disk ran out of space during the dump: free some space or point the \
        temporary folder elsewhere",
    explain_hang: "1C did not finish in time and was stopped together with its child \
        processes; a hang usually means 1C opened a modal dialog that nobody can \
        answer, e.g. for wrong credentials (check ONEC_UC/ONEC_UP) or because users \
        are still connected (ask them to log out or use ONEC_LOCK_CODE)",
    service_description: "Backups and monitoring of 1C:Enterprise infobases (OneCBackupBot)",
    service_display_name: "OneCBackupBot — 1C backups",
    warn_unc_local_system: |p| {
        format!(
            "path {p} is a network share (UNC), and a service running as LocalSystem (SYSTEM) \
             cannot reach network shares; install the service as a domain user who can access \
             it: --user DOMAIN\\user --password …"
        )
    },
    warn_path_missing: |p| format!("path {p} does not exist: check the settings"),
    warn_path_inaccessible: |p, e| format!("path {p} is not accessible ({e})"),
    warn_path_unreadable: |p, e| format!("path {p} cannot be read ({e})"),
    warn_backup_dir_missing: |p| format!("backup folder {p} does not exist: create it"),
    warn_backup_dir_not_writable: |p, e| {
        format!("backup folder {p} is not writable ({e}): grant write access")
    },
    restore_dump_users: "the restored base has the users and passwords of the dumped base \
        (the dump's own users apply, not ONEC_UC/ONEC_UP or --user)",
    restore_load_by_hand: |dt, to, reason| {
        format!(
            "the dump {dt} is checked (complete) but not loaded: {reason}. Load it by hand: \
             create an empty file infobase in {to} (1C:Enterprise launcher → Add → Create a new \
             infobase), open it in the Designer, Administration → Load infobase… and choose the \
             .dt; or set ONEC_EXE (or IBCMD_EXE) and run restore again"
        )
    },
    users_warn_title: "1C backup",
    users_warn_session: |base, m| {
        format!(
            "The backup of the infobase \"{base}\" starts in {m} minute{}. \
             Please save your documents and close 1C.",
            if m == 1 { "" } else { "s" }
        )
    },
    users_warn_notice: |base, m, at, who| {
        format!(
            "⏰ The backup of <b>{}</b> starts in {m} minute{} (at {}), and these users are \
             inside:\n{who}\nThey have been warned.",
            esc(base),
            if m == 1 { "" } else { "s" },
            esc(at)
        )
    },
    users_client: |user, session, state, since, pid| {
        let mut parts = vec![format!("pid {pid}")];
        if let Some(s) = session {
            parts.push(match state {
                Some(st) if st != "other" => format!("session {s}, {}", esc(st)),
                _ => format!("session {s}"),
            });
        }
        if !since.is_empty() {
            parts.push(format!("since {}", esc(since)));
        }
        format!("• <b>{}</b> ({})", esc(user), parts.join(", "))
    },
    users_share: |user| format!("• <b>{}</b> (over the network share)", esc(user)),
    users_title: "<b>Who is inside the 1C bases</b>",
    users_base: |base, n| {
        if n == 0 {
            format!("<b>{}</b>: nobody", esc(base))
        } else {
            format!("<b>{}</b>: {n}", esc(base))
        }
    },
    users_unknown: |n| format!("<b>Base unknown</b> ({n}):"),
    users_other: |n| format!("<b>Other infobases</b> ({n}):"),
    users_cannot: |e| format!("Cannot read the process list: {}", esc(e)),
    sessions_onec: |user, session, n| match session {
        Some(s) => format!("{user} (session {s}): 1C × {n}"),
        None => format!("{user}: 1C × {n}"),
    },
    retry: "🔁 Retry",
    close_and_retry: "⛔ Close sessions and retry",
    close_confirm: |b, how| {
        format!(
            "Close the users' sessions in <b>{}</b> and retry the backup? {how} Unsaved work \
             of the users may be lost.",
            esc(b)
        )
    },
    how_lock: "New sessions will be blocked with the permission code and users asked to \
        leave; the block is lifted after the dump.",
    how_close: "The 1C processes of this base on the server will be ended after a short wait.",
    retry_expired: "This button has expired. Send /backup again.",
    users_note: |n| format!("\n👥 Users: {}", esc(n)),
};

const AND: &str = "and";

/// Day names after "every", Sunday first.
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A drill's source in words.
fn drill_source(source: &str) -> String {
    if source.eq_ignore_ascii_case("local") {
        "the local archive".into()
    } else {
        format!("the copy on offsite target <b>{}</b>", esc(source))
    }
}

/// The web dashboard (plain text; the page templates escape it).
pub static WEB: super::web::Web = super::web::Web {
    code: "en",
    other_code: "ru",
    other_name: "Русский",
    app_title: "1C backups",
    nav_overview: "Overview",
    nav_history: "History",
    nav_charts: "Charts",
    anonymous_note: "Only the state and age of the backups are shown. To see everything \
        (paths, users, history), sign in with the API_READ_TOKEN token or open this page \
        on the server itself (127.0.0.1).",
    bases_title: "Bases",
    no_bases: "No bases yet: set ONEC_BASE or a bases section in the configuration.",
    never_backed_up: "Never backed up",
    running_now: "Backing up now",
    last_result: "Last run",
    last_good: "Last good backup",
    ago: |w| format!("{w} ago"),
    in_time: |w| format!("in {w}"),
    no_good_yet: "no good backup yet",
    size_trend: "Archive size",
    next_run: "Next run",
    manual_only: "by hand only",
    inside_now: "In 1C now",
    nobody_inside: "nobody",
    offsite: "Offsite copies",
    offsite_never: "not uploaded yet",
    offsite_queued: |n, b| format!("queued: {n} ({b})"),
    drill: "Restore drill",
    drill_never: "none yet",
    backup_now: "Back up now",
    server_title: "Server",
    cpu: "CPU",
    memory: "Memory",
    disk_free: "Free on the backup disk",
    days_until_full: |d| format!("full in about {d:.0} days at the last 7 days' pace"),
    disk_not_filling: "not filling up over the last 7 days",
    rdp_sessions: "RDP sessions",
    sinks_title: "Metrics push",
    no_sinks: "not configured",
    sink_up: "working",
    sink_down: "failing",
    version: "Agent version",
    uptime: "Up for",
    unknown: "no data",
    history_unreadable: "The history cannot be read",
    status: |s| match s {
        "ok" => "ok",
        "failed" => "failed",
        "running" => "running",
        "skipped" => "skipped",
        "interrupted" => "interrupted",
        _ => "unknown",
    },
    trigger: |s| match s {
        "cli" => "console",
        "telegram" => "Telegram",
        "schedule" => "schedule",
        "api" => "API / web",
        _ => "unknown",
    },
    history_title: "Run history",
    filter_base: "Base",
    filter_status: "Result",
    filter_trigger: "Started by",
    filter_from: "From",
    filter_to: "To",
    filter_any: "any",
    filter_apply: "Show",
    col_started: "Started",
    col_base: "Base",
    col_trigger: "Trigger",
    col_status: "Result",
    col_duration: "Duration",
    col_size: "Size",
    no_runs: "No runs match these filters.",
    prev_page: "← Newer",
    next_page: "Older →",
    page_of: |p, n, t| format!("page {p} of {n} ({t} runs)"),
    run_title: |id| format!("Run {id}"),
    no_such_run: "There is no such run in the history.",
    run_method: "Method",
    run_started: "Started",
    run_finished: "Finished",
    run_archive: "Archive",
    run_source_size: "Data size",
    run_sha256: "SHA-256",
    run_encrypted: "Encrypted with key",
    run_exit_code: "1C exit code",
    run_error: "Error",
    run_explained: "What it means",
    run_users: "Users inside 1C",
    run_stages: "Stages",
    run_log_lines: "Key lines of the 1C log",
    run_verification: "Verification",
    run_verified: "the archive was verified before it was published; its checksum is recorded",
    run_offsite: "Offsite copies",
    charts_title: "Charts",
    range_24h: "24 hours",
    range_7d: "7 days",
    range_30d: "30 days",
    chart_cpu: "CPU, %",
    chart_memory: "Memory, %",
    chart_disk: "Backup disk, %",
    chart_duration: "Backup duration",
    chart_size: "Archive size",
    chart_not_enough: |since| {
        format!("Not enough data yet: samples are stored every minute since {since}.")
    },
    chart_no_samples: "No samples in this period: the agent stores one a minute while it runs.",
    chart_no_runs: "No good backups in this period.",
};

/// The dashboard's login, confirm step and refusals (`web::login`, `web::actions`).
pub static WEB_ACCESS: super::web_access::WebAccess = super::web_access::WebAccess {
    log_in: "Log in",
    log_out: "Log out",
    login_title: "Log in",
    token_label: "Token (API_TOKEN to view and start backups, API_READ_TOKEN to view)",
    logged_in_title: "Logged in",
    allows_act: "You may view everything and start backups.",
    allows_read: "Logged in with the read token: you may view everything but not start backups.",
    no_token_configured: "No token is configured: set API_TOKEN (view and start backups) or API_READ_TOKEN (view) in the agent's settings and restart it.",
    wrong_token: "Wrong token: use API_TOKEN or API_READ_TOKEN from the agent's settings.",
    confirm_title: "Back up now?",
    confirm_backup: |base| {
        format!(
            "Start a backup of {base} now? It runs in the background; the overview shows its progress."
        )
    },
    confirm_retry: |id, base| format!("Run #{id} of {base} failed. Back it up again now?"),
    confirm_button: |base| format!("Back up {base} now"),
    retry: "Back up again",
    cancel: "Cancel",
    refused_title: "Refused",
    cross_site: "Refused: the form was sent from another site.",
    must_log_in: "Log in with API_TOKEN to start backups.",
    read_only: "This session was opened with the read token (API_READ_TOKEN), which allows viewing only. Log in with API_TOKEN to start backups.",
    bad_csrf: "Refused: the form's security token is missing or stale. Reload the page and try again.",
    actions_off: "Starting backups from the dashboard is off: set API_TOKEN in the agent's settings and restart it.",
    already_running: |base, stage| {
        format!("A backup of {base} is already running ({stage}); wait for it to finish.")
    },
    no_base: |name| format!("No base named {name:?} is configured."),
    no_run: |id| format!("There is no run #{id} in the history."),
    not_failed: |id, status| {
        format!("Run #{id} did not fail ({status}); only failed runs are retried.")
    },
    history_unreadable: "The history could not be read; the details are in the agent's log.",
    stopping: "The agent is stopping; no new backups are started.",
};
