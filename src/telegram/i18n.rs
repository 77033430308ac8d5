//! Every user-facing string of the bot, in Russian (the default) and English
//! (`BOT_LANGUAGE=en`), in one place. Handlers never hold literals: they pick
//! a [`Texts`] with [`texts`] and call its fields. Functions escape every
//! dynamic value they are given for Telegram's HTML parse mode, so callers
//! pass raw values (base names, paths, error text).

use super::format::esc;

/// The strings of one language. Plain fields are fixed HTML-safe text; the
/// `fn` fields format dynamic values (escaping them).
pub struct Texts {
    /// `language_code` for `setMyCommands`.
    pub code: &'static str,
    /// Command descriptions for the menu, in [`super::commands::Command`] order.
    pub commands: &'static [(&'static str, &'static str)],
    pub help: &'static str,
    pub denied: fn(user_id: u64) -> String,
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
    pub stage: fn(stage: crate::backup::run::Stage) -> &'static str,
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
    pub schedule_none: &'static str,
    pub chart_bad_hours: fn(arg: &str) -> String,
    pub chart_no_data: &'static str,
    pub chart_caption: fn(hours: u32, points: usize) -> String,
    pub chart_series: [&'static str; 3],
    pub command_failed: fn(err: &str) -> String,
    pub alert_low_disk: fn(path: &str, free_percent: f64, min: u8) -> String,
    pub alert_stale: fn(base: &str, age: &str, max_hours: u32) -> String,
    pub not_available: &'static str,
}

/// The texts for `language` (`en` → English, anything else → Russian).
pub fn texts(language: &str) -> &'static Texts {
    if language.eq_ignore_ascii_case("en") {
        &EN
    } else {
        &RU
    }
}

pub static RU: Texts = Texts {
    code: "ru",
    commands: &[
        ("start", "Что умеет бот"),
        ("help", "Справка по командам"),
        ("backup", "Сделать резервную копию [база]"),
        ("status", "Последние запуски и состояние"),
        ("health", "Состояние сервера"),
        ("lastlog", "Последние 100 строк журнала"),
        ("list", "Архивы [база]"),
        ("disk", "Все диски"),
        ("top", "Процессы: топ по CPU и памяти"),
        ("sessions", "Кто в RDP и в 1С"),
        ("bases", "Базы и их последний результат"),
        ("schedule", "Расписание"),
        ("chart", "График CPU, памяти и диска [часы]"),
    ],
    help: "<b>Бот резервного копирования 1С</b>\n\
/backup [база] — резервная копия (с подтверждением)\n\
/status — последние 20 запусков\n\
/health — CPU, память, диск, сеансы, последняя копия\n\
/lastlog — последние 100 строк журнала файлом\n\
/list [база] — архивы и их размеры\n\
/disk — все диски\n\
/top — самые загруженные процессы\n\
/sessions — кто в RDP и в 1С\n\
/bases — базы и их последний результат\n\
/schedule — расписание\n\
/chart [часы] — график за N часов (по умолчанию 24)",
    denied: |id| {
        format!(
            "⛔ Доступ запрещён. Ваш Telegram ID: <code>{id}</code>. Попросите администратора добавить его в ALLOWED_USER_IDS."
        )
    },
    unknown_command: "Неизвестная команда. Список команд: /help",
    yes: "Да",
    no: "Нет",
    confirm: |b| format!("Сделать резервную копию базы <b>{}</b> сейчас?", esc(b)),
    cancelled: |b| format!("Резервная копия базы <b>{}</b> отменена.", esc(b)),
    confirm_expired: "Подтверждение устарело (действует 10 минут). Отправьте /backup ещё раз.",
    no_bases: "Базы не настроены: задайте ONEC_BASE_PATH или bases: в config.yaml.",
    no_such_base: |n, k| format!("Базы «{}» нет. Настроены: {}", esc(n), esc(k)),
    already_running: |b, s| {
        format!(
            "⏳ Копия базы <b>{}</b> уже выполняется (этап: {}). Дождитесь окончания.",
            esc(b),
            esc(s)
        )
    },
    shutting_down: "Агент останавливается; новые копии не запускаются.",
    stage: |s| {
        use crate::backup::run::Stage;
        match s {
            Stage::Preparing => "подготовка",
            Stage::Dumping => "выгрузка 1С",
            Stage::Packing => "упаковка",
            Stage::Verifying => "проверка архива",
            Stage::Publishing => "сохранение",
            Stage::Pruning => "удаление старых копий",
        }
    },
    progress_title: |b| format!("⏳ Резервная копия базы <b>{}</b>", esc(b)),
    done: |b, size, dur, path| {
        format!(
            "✅ Резервная копия базы <b>{}</b> готова\nРазмер: {}\nДлительность: {}\nФайл: <code>{}</code>",
            esc(b),
            esc(size),
            esc(dur),
            esc(path)
        )
    },
    skipped: |b, r| format!("⏭ Копия базы <b>{}</b> пропущена: {}", esc(b), esc(r)),
    failed: |b, r| format!("❌ Копия базы <b>{}</b> не удалась: {}", esc(b), esc(r)),
    interrupted: |b| {
        format!(
            "⚠️ Копия базы <b>{}</b> прервана остановкой агента; ничего не сохранено.",
            esc(b)
        )
    },
    setup_failed: |r| format!("❌ Копию не удалось начать: {}", esc(r)),
    log_lines: "Ключевые строки журнала 1С:",
    run_line: |st, b, t| format!("{} <b>{}</b> ({})", esc(st), esc(b), esc(t)),
    status_title: "<b>Последние запуски</b>",
    status_idle: "Сейчас копии не выполняются.",
    status_running: |b, s| format!("⏳ Выполняется: <b>{}</b> — {}", esc(b), esc(s)),
    no_runs: "Запусков ещё не было.",
    health_title: "<b>Состояние сервера</b>",
    cpu: "CPU",
    ram: "Память",
    disk: "Диск копий",
    uptime: "Сервер работает",
    agent_uptime: "Агент работает",
    rdp: "RDP-сеансы",
    onec_users: "Клиенты 1С",
    last_ok: "Последняя удачная копия",
    never: "ещё не было",
    ago: |a| format!("{} назад", esc(a)),
    unknown: "н/д",
    log_absent: |d| format!("Журнала нет: в {} нет файла backup.log.", esc(d)),
    log_caption: |n| format!("Последние {n} строк журнала"),
    list_title: |b| format!("<b>Архивы базы {}</b>", esc(b)),
    list_empty: |b| format!("Архивов базы <b>{}</b> пока нет.", esc(b)),
    disk_title: "<b>Диски</b>",
    top_cpu: "<b>Топ по CPU</b>",
    top_mem: "<b>Топ по памяти</b>",
    sessions_title: "<b>Сеансы</b>",
    no_sessions: "Нет сеансов.",
    onec_title: "<b>Клиенты 1С</b>",
    no_onec: "Клиентов 1С не запущено.",
    bases_title: "<b>Базы</b>",
    schedule_none: "Расписание не задано: копии делаются только вручную (/backup, CLI, API).",
    chart_bad_hours: |a| {
        format!(
            "«{}» — не число часов. Пример: /chart 48 (от 1 до 720).",
            esc(a)
        )
    },
    chart_no_data: "Данных для графика ещё нет: замеры сохраняются раз в минуту.",
    chart_caption: |h, n| format!("CPU, память и диск за {h} ч ({n} замеров)"),
    chart_series: ["CPU %", "Память %", "Диск %"],
    command_failed: |e| format!("Не удалось выполнить команду: {}", esc(e)),
    alert_low_disk: |p, f, m| {
        format!(
            "⚠️ Мало места на диске с копиями ({}): свободно {:.1} %, порог {} %. Освободите место или перенесите BACKUP_DIR.",
            esc(p),
            f,
            m
        )
    },
    alert_stale: |b, a, h| {
        format!(
            "⚠️ У базы <b>{}</b> нет удачной копии уже {} (порог {} ч). Проверьте /status.",
            esc(b),
            esc(a),
            h
        )
    },
    not_available: "нет данных",
};

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
/bases — bases and their last result\n\
/schedule — the schedule\n\
/chart [hours] — chart over N hours (default 24)",
    denied: |id| {
        format!(
            "⛔ Access denied. Your Telegram ID is <code>{id}</code>. Ask the administrator to add it to ALLOWED_USER_IDS."
        )
    },
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
    stage: |s| {
        use crate::backup::run::Stage;
        match s {
            Stage::Preparing => "preparing",
            Stage::Dumping => "1C dump",
            Stage::Packing => "packing",
            Stage::Verifying => "verifying",
            Stage::Publishing => "saving",
            Stage::Pruning => "removing old backups",
        }
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
    schedule_none: "No schedule is set: backups run manually only (/backup, CLI, API).",
    chart_bad_hours: |a| {
        format!(
            "“{}” is not a number of hours. Example: /chart 48 (1 to 720).",
            esc(a)
        )
    },
    chart_no_data: "No chart data yet: samples are stored once a minute.",
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
    not_available: "no data",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_list_every_command_and_escape_values() {
        for t in [&RU, &EN] {
            assert_eq!(t.commands.len(), 13);
            let s = (t.confirm)("<Тест & Co>");
            assert!(s.contains("&lt;Тест &amp; Co&gt;"), "{s}");
            assert!((t.denied)(42).contains("42"));
        }
        assert_eq!(texts("en").code, "en");
        assert_eq!(texts("ru").code, "ru");
        assert_eq!(texts("de").code, "ru");
    }
}
