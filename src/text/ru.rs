//! The Russian texts (the default language).

use super::{Texts, Units, WEEKEND, WORKDAYS, clock, day_names, esc, join, minutes_past};

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
        ("drill", "Учебное восстановление новейшего архива [база]"),
        ("users", "Кто сейчас в базах 1С"),
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
/users — кто сейчас в базах 1С (пользователь, сеанс, с какого времени)\n\
/bases — базы и их последний результат\n\
/schedule — расписание\n\
/chart [часы] — график за N часов (по умолчанию 24)\n\
/drill [база] — учебное восстановление новейшего архива во временную папку",
    denied: |id| {
        format!(
            "⛔ Доступ запрещён. Ваш Telegram ID: <code>{id}</code>. Попросите администратора добавить его в ALLOWED_USER_IDS."
        )
    },
    button_denied: "⛔ Нет доступа",
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
    stage: |key| match key {
        "preparing" => "подготовка",
        "dumping" => "выгрузка 1С",
        "packing" => "упаковка",
        "verifying" => "проверка архива",
        "publishing" => "сохранение",
        "pruning" => "удаление старых копий",
        other => other,
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
    schedule_title: "<b>Расписание</b>",
    schedule_timezone: |tz| format!("Часовой пояс: {}", esc(tz)),
    schedule_base: |b, e, w| format!("• <b>{}</b>: {} (<code>{}</code>)", esc(b), esc(w), esc(e)),
    schedule_manual: |b| {
        format!(
            "• <b>{}</b>: расписание не задано — только ручные копии (/backup, CLI, API)",
            esc(b)
        )
    },
    schedule_quiet: |q| format!("  тихие часы: {}", esc(q)),
    schedule_next: "  ближайшие запуски:",
    schedule_never: "  не сработает ни разу",
    weekdays_short: ["вс", "пн", "вт", "ср", "чт", "пт", "сб"],
    chart_bad_hours: |a| {
        format!(
            "«{}» — не число часов. Пример: /chart 48 (от 1 до 720).",
            esc(a)
        )
    },
    chart_no_data: "Данных для графика ещё нет: замеры сохраняются раз в минуту.",
    chart_not_enough: |since| {
        format!(
            "Данных для графика пока мало: замеры сохраняются раз в минуту с {}.",
            esc(since)
        )
    },
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
    drill_ok: |b, s, a, d, x| {
        format!(
            "✅ Учебное восстановление базы <b>{}</b> прошло за {}: архив {} ({}) восстанавливается.\n<i>{}</i>",
            esc(b),
            esc(d),
            esc(a),
            drill_source(s),
            esc(x)
        )
    },
    drill_failed: |b, s, r| {
        format!(
            "🚨 <b>Учебное восстановление базы {} НЕ ПРОШЛО</b> ({}): {}\nИз этого архива базу не вернуть: сделайте новую копию сейчас и проверьте более старые архивы.",
            esc(b),
            drill_source(s),
            esc(r)
        )
    },
    drill_skipped: |b, s, r| {
        format!(
            "⚠️ Учебное восстановление базы <b>{}</b> ({}) пропущено: {}",
            esc(b),
            drill_source(s),
            esc(r)
        )
    },
    drill_started: |b, s| {
        format!(
            "🧪 Учебное восстановление базы <b>{}</b> начато: новейший проверенный архив ({}) восстанавливается во временную папку и проверяется. Результат придёт следом.",
            esc(b),
            drill_source(s)
        )
    },
    drill_source,
    alert_drill_stale: |b, a, d| {
        format!(
            "⚠️ У базы <b>{}</b> нет успешного учебного восстановления уже {} (порог {} дн.): неизвестно, восстанавливаются ли её архивы. Запустите <code>onec-backup-bot drill</code> и посмотрите журнал.",
            esc(b),
            esc(a),
            d
        )
    },
    offsite_failed: |b, t, e| {
        format!(
            "🚨 <b>Внешняя копия базы {} на {} не загружается</b>: {}\nЛокальный архив цел; агент повторяет попытки сам (от 1 минуты до часа) и сообщит, когда загрузка пройдёт. Подробности: <code>onec-backup-bot offsite status</code>.",
            esc(b),
            esc(t),
            esc(e)
        )
    },
    offsite_recovered: |b, t, o| {
        format!(
            "✅ Внешняя копия базы <b>{}</b> на <b>{}</b> снова загружается: {} загружен и проверен.",
            esc(b),
            esc(t),
            esc(o)
        )
    },
    offsite_title: "Внешние копии:",
    offsite_line: |t, age, failing, stale, queued| {
        let mut s = format!(
            "☁️ {}: {}",
            esc(t),
            match age {
                Some(a) => format!("копия {} назад", esc(a)),
                None => "копии ещё нет".to_string(),
            }
        );
        if failing {
            s.push_str(" ✖ загрузка не удаётся");
        }
        if stale {
            s.push_str(" ⚠️ устарела");
        }
        if queued > 0 {
            s.push_str(&format!(", в очереди {queued}"));
        }
        s
    },
    not_available: "нет данных",
    units: Units {
        day: "дн",
        hour: "ч",
        minute: "мин",
        second: "с",
        bytes: ["Б", "КиБ", "МиБ", "ГиБ", "ТиБ"],
    },
    schedule_every_minutes: |n| match n {
        None => "каждую минуту".into(),
        Some(n) => format!(
            "{} {n} {}",
            plural(n, "каждую", "каждые", "каждые"),
            plural(n, "минуту", "минуты", "минут")
        ),
    },
    schedule_every_hour_at: |m| format!("каждый час в {}", join(&minutes_past(m), AND)),
    schedule_at: |weekdays, times| {
        let days = match weekdays {
            None => "каждый день".to_string(),
            Some(WORKDAYS) => "по будням".to_string(),
            Some(WEEKEND) => "по выходным".to_string(),
            Some(d) => format!("по {}", join(&day_names(d, &DAYS), AND)),
        };
        format!("{days} в {}", join(&clock(times), AND))
    },
    schedule_cron: |e| format!("по расписанию cron: {e}"),
    explain_users_connected: "к информационной базе ещё подключены пользователи, поэтому 1С не \
        смогла заблокировать её монопольно: попросите их выйти или задайте код блокировки \
        (ONEC_LOCK_CODE), который запрещает новые сеансы, и передавайте его через /UC",
    explain_wrong_credentials: "неверный пользователь или пароль информационной базы: \
        проверьте ONEC_UC (пользователь) и ONEC_UP (пароль)",
    explain_no_infobase: "по указанному пути нет информационной базы: проверьте ONEC_BASE \
        (папку с файлом 1Cv8.1CD)",
    explain_disk_full: "во время выгрузки закончилось место на диске: освободите место или \
        укажите другую папку для временных файлов",
    explain_hang: "1С не завершилась вовремя и была остановлена вместе с дочерними \
        процессами; обычно зависание означает, что 1С открыла модальное окно, на которое \
        некому ответить, например из-за неверного пользователя или пароля (проверьте \
        ONEC_UC/ONEC_UP) или потому что к базе ещё подключены пользователи (попросите их \
        выйти или используйте ONEC_LOCK_CODE)",
    service_description: "Резервное копирование и мониторинг информационных баз 1С:Предприятие (OneCBackupBot)",
    service_display_name: "OneCBackupBot — резервное копирование 1С",
    warn_unc_local_system: |p| {
        format!(
            "путь {p} — сетевая папка (UNC), а служба от имени LocalSystem (SYSTEM) не имеет \
             доступа к сетевым папкам; установите службу от имени доменного пользователя с \
             доступом к папке: --user ДОМЕН\\пользователь --password …"
        )
    },
    warn_path_missing: |p| format!("путь {p} не существует: проверьте настройки"),
    warn_path_inaccessible: |p, e| format!("путь {p} недоступен ({e})"),
    warn_path_unreadable: |p, e| format!("путь {p} не читается ({e})"),
    warn_backup_dir_missing: |p| format!("папка резервных копий {p} не существует: создайте её"),
    warn_backup_dir_not_writable: |p, e| {
        format!("в папку резервных копий {p} нельзя записать ({e}): выдайте права на запись")
    },
    restore_dump_users: "в восстановленной базе действуют пользователи и пароли выгруженной \
        базы (пользователи из самой выгрузки, а не ONEC_UC/ONEC_UP или --user)",
    restore_load_by_hand: |dt, to, reason| {
        format!(
            "выгрузка {dt} проверена (цела), но не загружена: {reason}. Загрузите её вручную: \
             создайте пустую файловую базу в {to} (окно запуска 1С:Предприятия → Добавить → \
             Создание новой информационной базы), откройте её в Конфигураторе, Администрирование \
             → Загрузить информационную базу… и выберите .dt; или задайте ONEC_EXE (или \
             IBCMD_EXE) и запустите restore снова"
        )
    },
    users_warn_title: "Резервное копирование 1С",
    users_warn_session: |base, m| {
        format!(
            "Через {m} {} начнётся резервное копирование базы «{base}». \
             Сохраните документы и закройте 1С.",
            plural(m, "минуту", "минуты", "минут")
        )
    },
    users_warn_notice: |base, m, at, who| {
        format!(
            "⏰ Через {m} {} (в {}) начнётся резервное копирование базы <b>{}</b>, \
             а в ней работают:\n{who}\nИм отправлено предупреждение.",
            plural(m, "минуту", "минуты", "минут"),
            esc(at),
            esc(base)
        )
    },
    users_client: |user, session, state, since, pid| {
        let mut parts = vec![format!("pid {pid}")];
        if let Some(s) = session {
            parts.push(match state {
                Some("active") => format!("сеанс {s}, активен"),
                Some("disconnected") => format!("сеанс {s}, отключён"),
                Some("idle") => format!("сеанс {s}, простаивает"),
                Some("connected") => format!("сеанс {s}, подключается"),
                _ => format!("сеанс {s}"),
            });
        }
        if !since.is_empty() {
            parts.push(format!("с {}", esc(since)));
        }
        format!("• <b>{}</b> ({})", esc(user), parts.join(", "))
    },
    users_share: |user| format!("• <b>{}</b> (по сети, через общую папку)", esc(user)),
    users_title: "<b>Кто в базах 1С</b>",
    users_base: |base, n| {
        if n == 0 {
            format!("<b>{}</b>: никого", esc(base))
        } else {
            format!("<b>{}</b>: {n}", esc(base))
        }
    },
    users_unknown: |n| format!("<b>База не определена</b> ({n}):"),
    users_other: |n| format!("<b>Другие базы</b> ({n}):"),
    users_cannot: |e| format!("Не удалось прочитать список процессов: {}", esc(e)),
    sessions_onec: |user, session, n| match session {
        Some(s) => format!("{user} (сеанс {s}): 1С × {n}"),
        None => format!("{user}: 1С × {n}"),
    },
    retry: "🔁 Повторить",
    close_and_retry: "⛔ Закрыть сеансы и повторить",
    close_confirm: |b, how| {
        format!(
            "Закрыть сеансы пользователей в базе <b>{}</b> и повторить копирование? {how} \
             Несохранённые данные пользователей могут быть потеряны.",
            esc(b)
        )
    },
    how_lock: "Начало сеансов будет заблокировано кодом разрешения, пользователи получат \
        просьбу выйти; после выгрузки блокировка снимается.",
    how_close: "Процессы 1С этой базы на сервере будут завершены после короткого ожидания.",
    retry_expired: "Кнопка устарела. Отправьте /backup ещё раз.",
    users_note: |n| format!("\n👥 Пользователи: {}", esc(n)),
};

const AND: &str = "и";

/// Day names after "по" (dative plural), Sunday first.
const DAYS: [&str; 7] = [
    "воскресеньям",
    "понедельникам",
    "вторникам",
    "средам",
    "четвергам",
    "пятницам",
    "субботам",
];

/// The Russian plural form for `n`: 1 минуту, 2 минуты, 5 минут (21, 22, 25 …).
fn plural<'a>(n: u32, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => one,
        (2..=4, r) if !(12..=14).contains(&r) => few,
        _ => many,
    }
}

/// Откуда взят архив учебного восстановления.
fn drill_source(source: &str) -> String {
    if source.eq_ignore_ascii_case("local") {
        "локальный архив".into()
    } else {
        format!("копия на внешней цели <b>{}</b>", esc(source))
    }
}

/// The web dashboard (plain text; the page templates escape it).
pub static WEB: super::web::Web = super::web::Web {
    code: "ru",
    other_code: "en",
    other_name: "English",
    app_title: "Резервные копии 1С",
    nav_overview: "Обзор",
    nav_history: "История",
    nav_charts: "Графики",
    anonymous_note: "Показаны только состояние и возраст копий. Чтобы видеть всё \
        (пути, пользователей, историю), войдите с токеном API_READ_TOKEN или откройте \
        страницу на самом сервере (127.0.0.1).",
    bases_title: "Базы",
    no_bases: "Баз пока нет: добавьте ONEC_BASE или раздел bases в конфигурацию.",
    never_backed_up: "Копий ещё не было",
    running_now: "Идёт копирование",
    last_result: "Последний запуск",
    last_good: "Последняя успешная",
    ago: |w| format!("{w} назад"),
    in_time: |w| format!("через {w}"),
    no_good_yet: "успешных копий нет",
    size_trend: "Размер архивов",
    next_run: "Следующий запуск",
    manual_only: "только вручную",
    inside_now: "Сейчас в 1С",
    nobody_inside: "никого",
    offsite: "Внешние копии",
    offsite_never: "ещё не выгружалась",
    offsite_queued: |n, b| format!("в очереди: {n} ({b})"),
    drill: "Учебное восстановление",
    drill_never: "ещё не было",
    backup_now: "Сделать копию сейчас",
    server_title: "Сервер",
    cpu: "Процессор",
    memory: "Память",
    disk_free: "Свободно на диске копий",
    days_until_full: |d| format!("заполнится примерно через {d:.0} дн. при темпе последних 7 дней"),
    disk_not_filling: "за 7 дней диск не заполняется",
    rdp_sessions: "Сеансы RDP",
    sinks_title: "Отправка метрик",
    no_sinks: "не настроена",
    sink_up: "работает",
    sink_down: "ошибка",
    version: "Версия агента",
    uptime: "Работает",
    unknown: "нет данных",
    history_unreadable: "История недоступна",
    status: |s| match s {
        "ok" => "успешно",
        "failed" => "ошибка",
        "running" => "идёт",
        "skipped" => "пропущено",
        "interrupted" => "прервано",
        _ => "неизвестно",
    },
    trigger: |s| match s {
        "cli" => "консоль",
        "telegram" => "Telegram",
        "schedule" => "расписание",
        "api" => "API / веб",
        _ => "неизвестно",
    },
    history_title: "История запусков",
    filter_base: "База",
    filter_status: "Результат",
    filter_trigger: "Кто запустил",
    filter_from: "С",
    filter_to: "По",
    filter_any: "все",
    filter_apply: "Показать",
    col_started: "Начало",
    col_base: "База",
    col_trigger: "Запуск",
    col_status: "Результат",
    col_duration: "Длительность",
    col_size: "Размер",
    no_runs: "Запусков с такими условиями нет.",
    prev_page: "← Новее",
    next_page: "Старее →",
    page_of: |p, n, t| format!("страница {p} из {n} (запусков: {t})"),
    run_title: |id| format!("Запуск {id}"),
    no_such_run: "Такого запуска нет в истории.",
    run_method: "Способ",
    run_started: "Начало",
    run_finished: "Конец",
    run_archive: "Архив",
    run_source_size: "Размер данных",
    run_sha256: "SHA-256",
    run_encrypted: "Зашифрован ключом",
    run_exit_code: "Код выхода 1С",
    run_error: "Ошибка",
    run_explained: "Что это значит",
    run_users: "Пользователи в 1С",
    run_stages: "Этапы",
    run_log_lines: "Главное из журнала 1С",
    run_verification: "Проверка",
    run_verified: "архив проверен перед публикацией, контрольная сумма записана",
    run_offsite: "Внешние копии",
    charts_title: "Графики",
    range_24h: "24 часа",
    range_7d: "7 дней",
    range_30d: "30 дней",
    chart_cpu: "Процессор, %",
    chart_memory: "Память, %",
    chart_disk: "Диск копий, %",
    chart_duration: "Длительность копирования",
    chart_size: "Размер архива",
    chart_not_enough: |since| {
        format!("Данных пока мало: замеры сохраняются раз в минуту с {since}.")
    },
    chart_no_samples: "Замеров за этот период нет: агент сохраняет их раз в минуту, пока работает.",
    chart_no_runs: "Успешных копий за этот период нет.",
};

/// Вход, подтверждение и отказы панели (`web::login`, `web::actions`).
pub static WEB_ACCESS: super::web_access::WebAccess = super::web_access::WebAccess {
    log_in: "Войти",
    log_out: "Выйти",
    login_title: "Вход",
    token_label: "Токен (API_TOKEN — смотреть и запускать копии, API_READ_TOKEN — только смотреть)",
    logged_in_title: "Вы вошли",
    allows_act: "Можно смотреть всё и запускать копии.",
    allows_read: "Вход по токену чтения: можно смотреть всё, запускать копии нельзя.",
    no_token_configured: "Токены не заданы: укажите API_TOKEN (смотреть и запускать копии) или API_READ_TOKEN (смотреть) в настройках агента и перезапустите его.",
    wrong_token: "Неверный токен: введите API_TOKEN или API_READ_TOKEN из настроек агента.",
    confirm_title: "Сделать копию сейчас?",
    confirm_backup: |base| {
        format!(
            "Запустить резервное копирование базы {base} сейчас? Оно пойдёт в фоне, ход виден на обзоре."
        )
    },
    confirm_retry: |id, base| {
        format!("Запуск #{id} базы {base} завершился ошибкой. Повторить копирование сейчас?")
    },
    confirm_button: |base| format!("Копировать {base} сейчас"),
    retry: "Повторить копирование",
    cancel: "Отмена",
    refused_title: "Отказано",
    cross_site: "Отказано: форма отправлена с другого сайта.",
    must_log_in: "Чтобы запускать копии, войдите с API_TOKEN.",
    read_only: "Вход выполнен токеном чтения (API_READ_TOKEN): он позволяет только смотреть. Войдите с API_TOKEN, чтобы запускать копии.",
    bad_csrf: "Отказано: защитный токен формы отсутствует или устарел. Обновите страницу и попробуйте снова.",
    actions_off: "Запуск копий из панели выключен: задайте API_TOKEN в настройках агента и перезапустите его.",
    already_running: |base, stage| {
        format!("Копирование базы {base} уже идёт ({stage}); дождитесь окончания.")
    },
    no_base: |name| format!("База {name:?} не настроена."),
    no_run: |id| format!("Запуска #{id} нет в истории."),
    not_failed: |id, status| {
        format!("Запуск #{id} не завершился ошибкой ({status}); повторяются только неудачные.")
    },
    history_unreadable: "Историю не удалось прочитать; подробности в журнале агента.",
    stopping: "Агент останавливается; новые копии не запускаются.",
};
