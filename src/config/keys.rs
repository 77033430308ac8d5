//! The table of every setting: its environment names (the first is the
//! canonical one; the rest are aliases), its `config.yaml` path, its kind (how
//! it is validated), its default and whether it is a secret. This table is
//! the only place a default is written: the resolver layers it under the
//! sources and never falls back to a value of its own, and a `bases:` field
//! is validated with the kind of the global key of the same meaning. Adding
//! a setting means adding one row here and reading it in `resolve.rs`;
//! `config check`, the unknown-key hints and the example files are driven
//! by this table.

/// How a raw string value is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Path,
    Secret,
    /// Several secrets: comma-separated (a YAML list keeps each item whole,
    /// commas and all).
    SecretList,
    /// An integer in an inclusive range.
    Int {
        min: i64,
        max: i64,
    },
    Bool,
    /// One of the listed words (case-insensitive).
    Choice(&'static [&'static str]),
    /// An `http://` or `https://` URL.
    Url,
    /// An http(s) URL whose path carries a token (Uptime Kuma push URLs):
    /// shown with the path masked.
    SecretUrl,
    /// A proxy URL: http, https, socks5 or socks5h.
    ProxyUrl,
    /// Comma-separated Telegram ids (integers, may be negative for groups).
    IdList,
    /// An IANA time zone name such as `Europe/Moscow`.
    TimeZone,
    /// A retention duration such as `30d`, `12h`, `2w`.
    Within,
    /// A host name or IP address to listen on.
    Host,
    /// A log level or `tracing` filter (`info`, `debug`, `onec_backup_bot=debug`).
    LogLevel,
    /// A cron expression (5 fields, or 6 with seconds first).
    Cron,
    /// A daily time window `HH:MM-HH:MM` (may wrap midnight).
    TimeWindow,
}

#[derive(Debug)]
pub struct Key {
    /// Environment / `.env` names, canonical first. Empty: YAML only.
    pub env: &'static [&'static str],
    /// Dotted path in `config.yaml`.
    pub yaml: &'static str,
    pub kind: Kind,
    pub default: Option<&'static str>,
    /// Russian one-line description, used by the example files.
    pub doc: &'static str,
}

impl Key {
    pub fn is_secret(&self) -> bool {
        matches!(self.kind, Kind::Secret | Kind::SecretList | Kind::SecretUrl)
    }

    /// A secret, or a URL that may carry credentials in its user-info.
    pub fn may_hold_secret(&self) -> bool {
        self.is_secret() || matches!(self.kind, Kind::Url | Kind::ProxyUrl)
    }

    /// The name shown to users: the canonical env name, else the YAML path.
    pub fn display_name(&self) -> &'static str {
        self.env.first().copied().unwrap_or(self.yaml)
    }
}

const fn k(
    env: &'static [&'static str],
    yaml: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    doc: &'static str,
) -> Key {
    Key {
        env,
        yaml,
        kind,
        default,
        doc,
    }
}

pub const METHODS: &[&str] = &["dump", "ibcmd", "copy"];
pub const COMPRESSIONS: &[&str] = &["zip", "zstd", "none"];
pub const LANGUAGES: &[&str] = &["ru", "en"];
pub const VERIFIES: &[&str] = &["read", "size"];
pub const USERS_POLICIES: &[&str] = &["fail", "wait", "lock", "close"];

use Kind::*;

/// Every global setting. Per-base settings (`bases:` items) are in
/// [`BASE_KEYS`].
pub static KEYS: &[Key] = &[
    k(
        &["APP_NAME"],
        "app.name",
        Str,
        Some("OneCBackupBot"),
        "Имя агента в сообщениях",
    ),
    k(
        &["APP_TIMEZONE"],
        "app.timezone",
        TimeZone,
        Some("Europe/Moscow"),
        "Часовой пояс для имён архивов и расписания",
    ),
    k(
        &["ALLOWED_USER_IDS"],
        "security.allowed_user_ids",
        IdList,
        None,
        "Telegram ID, которым разрешено управлять ботом (через запятую); пусто = никому",
    ),
    k(
        &["ONEC_EXE"],
        "onec.exe",
        Path,
        None,
        "Путь к 1cv8(.exe); пусто = найти новейшую установленную платформу",
    ),
    k(
        &["IBCMD_EXE"],
        "onec.ibcmd_exe",
        Path,
        None,
        "Путь к ibcmd(.exe); пусто = рядом с 1cv8",
    ),
    k(
        &["ONEC_BASE_PATH"],
        "onec.base_path",
        Path,
        None,
        "Каталог файловой информационной базы (где лежит 1Cv8.1CD)",
    ),
    k(
        &["ONEC_UC", "ONEC_USER"],
        "onec.uc",
        Str,
        None,
        "Пользователь 1С",
    ),
    k(
        &["ONEC_UP", "ONEC_PASSWORD"],
        "onec.up",
        Secret,
        None,
        "Пароль пользователя 1С",
    ),
    k(
        &["ONEC_LOCK_CODE"],
        "onec.lock_code",
        Secret,
        None,
        "Код разрешения входа (/UC) при установленной блокировке сеансов",
    ),
    k(
        &["ONEC_TIMEOUT"],
        "onec.timeout",
        Int {
            min: 5,
            max: 7 * 24 * 3600,
        },
        Some("7200"),
        "Сколько секунд ждать 1С, затем завершить её процессы",
    ),
    k(
        &["BACKUP_DIR"],
        "backup.backup_dir",
        Path,
        Some("backups"),
        "Каталог для архивов, журнала и базы истории",
    ),
    k(
        &["BACKUP_PREFIX"],
        "backup.file_prefix",
        Str,
        None,
        "Префикс имени архива; пусто = имя каталога базы и _",
    ),
    k(
        &["BACKUP_METHOD"],
        "backup.method",
        Choice(METHODS),
        Some("dump"),
        "dump (Конфигуратор /DumpIB) | ibcmd | copy (холодная копия 1Cv8.1CD)",
    ),
    k(
        &["BACKUP_COMPRESS"],
        "backup.compress",
        Choice(COMPRESSIONS),
        Some("zip"),
        "zip | zstd (.tar.zst, быстрее) | none (без архива)",
    ),
    k(
        &["BACKUP_COMPRESS_LEVEL"],
        "backup.compress_level",
        Int { min: 0, max: 22 },
        None,
        "Уровень сжатия: zip 0–9 (по умолчанию 6), zstd 1–22 (по умолчанию 3)",
    ),
    k(
        &["BACKUP_ARCHIVE_PASSWORD"],
        "backup.archive_password",
        Secret,
        None,
        "Пароль шифрования архивов: zip — AES-256 (открывают 7-Zip и WinRAR), zstd — .tar.zst.age (age -d); храните его и вне сервера",
    ),
    k(
        &["BACKUP_ARCHIVE_OLD_PASSWORDS"],
        "backup.archive_old_passwords",
        SecretList,
        None,
        "Прежние пароли архивов через запятую (в YAML — списком): ими проверяются и восстанавливаются старые архивы",
    ),
    k(
        &["BACKUP_DELETE_DT_AFTER_COMPRESS"],
        "backup.delete_dt_after_compress",
        Bool,
        Some("true"),
        "Удалять .dt после упаковки в архив",
    ),
    k(
        &["BACKUP_INCLUDE_LOG"],
        "backup.include_log",
        Bool,
        Some("false"),
        "Для copy: добавлять журнал регистрации 1Cv8Log/",
    ),
    k(
        &["BACKUP_WHEN_USERS_INSIDE"],
        "backup.when_users_inside",
        Choice(USERS_POLICIES),
        Some("fail"),
        "Если в базе остались пользователи: fail (выгрузка пробуется; при отказе 1С в ошибке названы пользователи) | wait (повторять, пока не выйдут) | lock | close (ещё не реализованы)",
    ),
    k(
        &["BACKUP_USERS_RETRY_MINUTES"],
        "backup.users_retry_minutes",
        Int { min: 1, max: 1440 },
        Some("5"),
        "when_users_inside=wait: через сколько минут повторять выгрузку",
    ),
    k(
        &["BACKUP_USERS_WAIT_MINUTES"],
        "backup.users_wait_minutes",
        Int { min: 0, max: 1440 },
        Some("60"),
        "when_users_inside=wait: сколько минут всего ждать выхода пользователей, затем ошибка с их именами",
    ),
    k(
        &["BACKUP_HISTORY_DB"],
        "backup.history_db",
        Path,
        None,
        "Файл истории SQLite; пусто = BACKUP_DIR/app.sqlite3",
    ),
    k(
        &["BACKUP_LOCK_DIR"],
        "backup.lock_dir",
        Path,
        None,
        "Общая для всей машины папка блокировок баз (одна копия базы за раз для службы и консоли); пусто = %ProgramData%\\OneCBackupBot\\locks или /var/lib/onec-backup-bot/locks",
    ),
    k(
        &["BACKUP_MIN_FREE_PERCENT"],
        "backup.min_free_percent",
        Int { min: 0, max: 100 },
        Some("10"),
        "Предупреждать, когда свободно меньше стольких % диска BACKUP_DIR",
    ),
    k(
        &["BACKUP_MAX_AGE_HOURS"],
        "backup.max_age_hours",
        Int {
            min: 1,
            max: 24 * 366,
        },
        Some("26"),
        "Предупреждать, когда успешной копии нет дольше стольких часов (для баз с расписанием)",
    ),
    k(
        &["BACKUP_KEEP_LAST"],
        "backup.keep.last",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "Хранить N последних архивов",
    ),
    k(
        &["BACKUP_KEEP_HOURLY"],
        "backup.keep.hourly",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "Хранить по одному архиву за N последних часов",
    ),
    k(
        &["BACKUP_KEEP_DAILY"],
        "backup.keep.daily",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "Хранить по одному архиву за N последних дней",
    ),
    k(
        &["BACKUP_KEEP_WEEKLY"],
        "backup.keep.weekly",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "Хранить по одному архиву за N последних недель",
    ),
    k(
        &["BACKUP_KEEP_MONTHLY"],
        "backup.keep.monthly",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "Хранить по одному архиву за N последних месяцев",
    ),
    k(
        &["BACKUP_KEEP_HALF_YEARLY"],
        "backup.keep.half_yearly",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "Хранить по одному архиву за N последних полугодий",
    ),
    k(
        &["BACKUP_KEEP_YEARLY"],
        "backup.keep.yearly",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "Хранить по одному архиву за N последних лет",
    ),
    k(
        &["BACKUP_KEEP_WITHIN"],
        "backup.keep.within",
        Within,
        None,
        "Хранить все архивы моложе срока (30d, 12h, 2w, 6m, 1y)",
    ),
    k(
        &["BOT_TOKEN"],
        "telegram.bot_token",
        Secret,
        None,
        "Токен Telegram-бота от @BotFather",
    ),
    k(
        &[],
        "telegram.broadcast_chat_id",
        IdList,
        None,
        "Чат для уведомлений (как в прототипе)",
    ),
    k(
        &["NOTIFY_CHAT_IDS"],
        "telegram.notify_chat_ids",
        IdList,
        None,
        "Чаты для уведомлений; пусто = все разрешённые пользователи",
    ),
    k(
        &["TELEGRAM_ALLOWED_CHAT_IDS"],
        "telegram.allowed_chat_ids",
        IdList,
        None,
        "Группы, где бот отвечает разрешённым пользователям (ID чатов через запятую); пусто = только личные чаты",
    ),
    k(
        &["BOT_LANGUAGE"],
        "telegram.language",
        Choice(LANGUAGES),
        Some("ru"),
        "Язык бота: ru | en",
    ),
    k(
        &["TELEGRAM_API_URL"],
        "telegram.api_url",
        Url,
        None,
        "Свой адрес Bot API (локальный сервер или ретранслятор)",
    ),
    k(
        &["TELEGRAM_PROXY"],
        "telegram.proxy",
        ProxyUrl,
        None,
        "Прокси для Telegram: http://, https:// или socks5://",
    ),
    k(
        &["API_HOST"],
        "api.host",
        Host,
        Some("0.0.0.0"),
        "Адрес HTTP API и метрик",
    ),
    k(
        &["API_PORT"],
        "api.port",
        Int { min: 1, max: 65535 },
        Some("8080"),
        "Порт HTTP API и метрик",
    ),
    k(
        &["API_TOKEN"],
        "api.token",
        Secret,
        None,
        "Bearer-токен для POST /api/backup; пусто = запуск через API запрещён",
    ),
    k(
        &["API_READ_TOKEN"],
        "api.read_token",
        Secret,
        None,
        "Bearer-токен для чтения метрик и истории; пусто = без токена",
    ),
    k(
        &["API_BASIC_USER"],
        "api.basic_user",
        Str,
        None,
        "Basic auth для чтения метрик и истории (вместе с API_BASIC_PASSWORD); запуск копий — только по API_TOKEN",
    ),
    k(
        &["API_BASIC_PASSWORD"],
        "api.basic_password",
        Secret,
        None,
        "Пароль basic auth для чтения (вместе с API_BASIC_USER)",
    ),
    k(
        &["API_TLS_CERT_FILE"],
        "api.tls_cert_file",
        Path,
        None,
        "HTTPS: файл сертификата PEM (цепочка); вместе с API_TLS_KEY_FILE",
    ),
    k(
        &["API_TLS_KEY_FILE"],
        "api.tls_key_file",
        Path,
        None,
        "HTTPS: файл закрытого ключа PEM; вместе с API_TLS_CERT_FILE",
    ),
    k(
        &["METRICS_INTERVAL"],
        "metrics.interval",
        Int {
            min: 1,
            max: 86_400,
        },
        Some("60"),
        "Интервал сбора и отправки метрик, секунд",
    ),
    k(
        &["GRAFANA_PROMETHEUS_URL"],
        "grafana.prometheus_url",
        Url,
        None,
        "Prometheus remote write (например, Grafana Cloud)",
    ),
    k(
        &["GRAFANA_PROMETHEUS_USER"],
        "grafana.prometheus_user",
        Str,
        None,
        "Пользователь remote write",
    ),
    k(
        &["GRAFANA_PROMETHEUS_PASSWORD"],
        "grafana.prometheus_password",
        Secret,
        None,
        "Пароль / API-ключ remote write",
    ),
    k(
        &["GRAFANA_PROMETHEUS_QUEUE_SAMPLES"],
        "grafana.prometheus_queue_samples",
        Int {
            min: 1_000,
            max: 5_000_000,
        },
        Some("100000"),
        "Очередь remote write на время недоступности хранилища, сэмплов (старые вытесняются)",
    ),
    k(
        &["GRAFANA_PROMETHEUS_MAX_AGE_SECS"],
        "grafana.prometheus_max_age_secs",
        Int {
            min: 60,
            max: 86_400,
        },
        Some("3600"),
        "Сэмплы из очереди старше стольких секунд выбрасываются (Prometheus отвергает слишком старые)",
    ),
    k(
        &["PROMETHEUS_PUSHGATEWAY_URL"],
        "prometheus.pushgateway_url",
        Url,
        None,
        "Адрес Prometheus Pushgateway",
    ),
    k(
        &["PROMETHEUS_PUSHGATEWAY_USER"],
        "pushgateway.user",
        Str,
        None,
        "Пользователь Pushgateway (basic auth)",
    ),
    k(
        &["PROMETHEUS_PUSHGATEWAY_PASSWORD"],
        "pushgateway.password",
        Secret,
        None,
        "Пароль Pushgateway (basic auth)",
    ),
    k(
        &["PROMETHEUS_PUSHGATEWAY_KEEP_ON_EXIT"],
        "pushgateway.keep_on_exit",
        Bool,
        Some("false"),
        "Не удалять группу метрик из Pushgateway при остановке агента",
    ),
    k(
        &["INFLUXDB_URL"],
        "influxdb.url",
        Url,
        None,
        "Адрес InfluxDB (2.x: с INFLUXDB_TOKEN/ORG/BUCKET; 1.x: с INFLUXDB_DATABASE)",
    ),
    k(
        &["INFLUXDB_TOKEN"],
        "influxdb.token",
        Secret,
        None,
        "Токен InfluxDB",
    ),
    k(
        &["INFLUXDB_ORG"],
        "influxdb.org",
        Str,
        None,
        "Организация InfluxDB",
    ),
    k(
        &["INFLUXDB_BUCKET"],
        "influxdb.bucket",
        Str,
        None,
        "Bucket InfluxDB",
    ),
    k(
        &["INFLUXDB_DATABASE"],
        "influxdb.database",
        Str,
        None,
        "База InfluxDB 1.x (вместо INFLUXDB_TOKEN/ORG/BUCKET)",
    ),
    k(
        &["INFLUXDB_USER"],
        "influxdb.user",
        Str,
        None,
        "Пользователь InfluxDB 1.x (если включена авторизация)",
    ),
    k(
        &["INFLUXDB_PASSWORD"],
        "influxdb.password",
        Secret,
        None,
        "Пароль InfluxDB 1.x",
    ),
    k(
        &["GRAFANA_LOKI_URL"],
        "grafana.loki_url",
        Url,
        None,
        "Адрес Loki для отправки журнала",
    ),
    k(
        &["GRAFANA_LOKI_USER"],
        "grafana.loki_user",
        Str,
        None,
        "Пользователь Loki",
    ),
    k(
        &["GRAFANA_LOKI_PASSWORD"],
        "grafana.loki_password",
        Secret,
        None,
        "Пароль / API-ключ Loki",
    ),
    k(
        &["UPTIME_KUMA_PUSH_URL"],
        "uptime_kuma.push_url",
        SecretUrl,
        None,
        "Push-адрес монитора Uptime Kuma",
    ),
    k(
        &["UPTIME_KUMA_HEARTBEAT"],
        "uptime_kuma.heartbeat",
        Bool,
        Some("false"),
        "Кроме итогов копий, отправлять в Uptime Kuma «жив» каждые METRICS_INTERVAL секунд",
    ),
    k(
        &["PUSH_TIMEOUT_SECS"],
        "push.timeout_secs",
        Int { min: 1, max: 60 },
        Some("10"),
        "Сколько секунд ждать ответа от адреса отправки метрик и журналов (соединение и ответ)",
    ),
    k(
        &["LOG_DIR"],
        "logging.dir",
        Path,
        None,
        "Каталог журнала; пусто = BACKUP_DIR",
    ),
    k(
        &["LOG_LEVEL"],
        "logging.level",
        LogLevel,
        Some("info"),
        "Уровень журнала: error | warn | info | debug | trace",
    ),
    k(
        &["BACKUP_SCHEDULE"],
        "backup.schedule",
        Cron,
        None,
        "Расписание cron (5 полей: \"5 13,18 * * *\", или 6 с секундами: \"0 30 23 * * *\"); пусто = только вручную",
    ),
    k(
        &["BACKUP_QUIET_HOURS"],
        "backup.quiet_hours",
        TimeWindow,
        None,
        "Тихие часы без копий по расписанию, например 00:00-07:59",
    ),
    k(
        &["BACKUP_CATCH_UP_HOURS"],
        "backup.catch_up_hours",
        Int { min: 0, max: 168 },
        Some("6"),
        "Пропущенный (компьютер был выключен) запуск выполняется при старте, если опоздание меньше стольких часов",
    ),
    k(
        &["BACKUP_DRILL_SCHEDULE"],
        "backup.drill_schedule",
        Cron,
        None,
        "Расписание учебного восстановления (cron, например \"0 4 * * 0\" — по воскресеньям в 04:00): новейший проверенный архив восстанавливается во временную папку и проверяется; пусто = только вручную (onec-backup-bot drill)",
    ),
    k(
        &["BACKUP_DRILL_DIR"],
        "backup.drill_dir",
        Path,
        None,
        "Папка для временных восстановлений (удаляются всегда); пусто = папка drill рядом с базой истории",
    ),
    k(
        &["BACKUP_DRILL_MAX_AGE_DAYS"],
        "backup.drill_max_age_days",
        Int { min: 1, max: 366 },
        Some("8"),
        "Предупреждать, когда успешного учебного восстановления нет дольше стольких дней (для баз с расписанием восстановления)",
    ),
    k(
        &["BACKUP_DRILL_FROM"],
        "backup.drill_from",
        Str,
        Some("local"),
        "Откуда учебное восстановление берёт архив: local — локальный архив; имя внешней цели (например offsite) — всегда её копия; alternate — по очереди локальный архив и каждая внешняя цель, которая копирует базу",
    ),
    k(
        &["OFFSITE_URL"],
        "offsite.url",
        Str,
        None,
        "Внешняя копия (цель с именем offsite): s3://bucket/prefix, webdav(s)://host/path, sftp://user@host:22/path, file:///path или путь к папке (в т.ч. \\\\nas\\share); пусто = без внешних копий",
    ),
    k(
        &["OFFSITE_ENDPOINT"],
        "offsite.endpoint",
        Str,
        None,
        "S3: адрес хранилища (https://storage.yandexcloud.net); пусто = AWS",
    ),
    k(
        &["OFFSITE_REGION"],
        "offsite.region",
        Str,
        None,
        "S3: регион (ru-central1); пусто = us-east-1",
    ),
    k(
        &["OFFSITE_PATH_STYLE"],
        "offsite.path_style",
        Bool,
        None,
        "S3: адресация endpoint/bucket/key (MinIO и большинство не-AWS хранилищ)",
    ),
    k(
        &["OFFSITE_ACCESS_KEY_ID"],
        "offsite.access_key_id",
        Str,
        None,
        "S3: идентификатор ключа доступа",
    ),
    k(
        &["OFFSITE_SECRET_ACCESS_KEY"],
        "offsite.secret_access_key",
        Secret,
        None,
        "S3: секретный ключ доступа",
    ),
    k(
        &["OFFSITE_USER"],
        "offsite.user",
        Str,
        None,
        "WebDAV / SFTP: пользователь",
    ),
    k(
        &["OFFSITE_PASSWORD"],
        "offsite.password",
        Secret,
        None,
        "WebDAV / SFTP: пароль",
    ),
    k(
        &["OFFSITE_KEY_FILE"],
        "offsite.key_file",
        Path,
        None,
        "SFTP: файл закрытого ключа (формат OpenSSH)",
    ),
    k(
        &["OFFSITE_KEY_PASSPHRASE"],
        "offsite.key_passphrase",
        Secret,
        None,
        "SFTP: пароль к файлу ключа",
    ),
    k(
        &["OFFSITE_KNOWN_HOST"],
        "offsite.known_host",
        Str,
        None,
        "SFTP: ключ сервера — отпечаток SHA256:… (ssh-keygen -lf) или путь к файлу known_hosts",
    ),
    k(
        &["OFFSITE_BASES"],
        "offsite.bases",
        Str,
        None,
        "Какие базы копировать (имена через запятую); пусто = все",
    ),
    k(
        &["OFFSITE_WHICH"],
        "offsite.which",
        Str,
        Some("every"),
        "Какие архивы копировать: every (все) | day | week | month (первый удачный за день / неделю / месяц)",
    ),
    k(
        &["OFFSITE_MODE"],
        "offsite.mode",
        Str,
        Some("history"),
        "history (объект на каждый архив) | fixed (daily/weekly/monthly заменяются на месте — для маленькой квоты)",
    ),
    k(
        &["OFFSITE_VERIFY"],
        "offsite.verify",
        Choice(VERIFIES),
        None,
        "Проверка после загрузки: read (прочитать обратно и сверить SHA-256) | size; пусто = read для папки и SFTP, size для S3 и WebDAV",
    ),
    k(
        &["OFFSITE_KEEP_LAST"],
        "offsite.keep.last",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "Хранить N последних копий на площадке",
    ),
    k(
        &["OFFSITE_KEEP_HOURLY"],
        "offsite.keep.hourly",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "… по одной за N последних часов",
    ),
    k(
        &["OFFSITE_KEEP_DAILY"],
        "offsite.keep.daily",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "… по одной за N последних дней",
    ),
    k(
        &["OFFSITE_KEEP_WEEKLY"],
        "offsite.keep.weekly",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "… по одной за N последних недель",
    ),
    k(
        &["OFFSITE_KEEP_MONTHLY"],
        "offsite.keep.monthly",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "… по одной за N последних месяцев",
    ),
    k(
        &["OFFSITE_KEEP_HALF_YEARLY"],
        "offsite.keep.half_yearly",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "… по одной за N последних полугодий",
    ),
    k(
        &["OFFSITE_KEEP_YEARLY"],
        "offsite.keep.yearly",
        Int {
            min: 1,
            max: 100_000,
        },
        None,
        "… по одной за N последних лет",
    ),
    k(
        &["OFFSITE_KEEP_WITHIN"],
        "offsite.keep.within",
        Within,
        None,
        "Хранить на площадке все копии моложе срока (30d, 12h, 2w)",
    ),
    k(
        &["OFFSITE_BANDWIDTH"],
        "offsite.bandwidth",
        Str,
        None,
        "Ограничение скорости загрузки, например 10MiB/s; пусто = без ограничения",
    ),
    k(
        &["OFFSITE_MAX_AGE_HOURS"],
        "backup.offsite_max_age_hours",
        Int {
            min: 1,
            max: 24 * 366,
        },
        Some("30"),
        "Предупреждать, когда новейшей внешней копии базы больше стольких часов",
    ),
    k(
        &["SHUTDOWN_GRACE_SECS"],
        "app.shutdown_grace_secs",
        Int { min: 0, max: 3600 },
        Some("30"),
        "Сколько секунд при остановке ждать завершения идущей копии, затем прервать её",
    ),
];

/// Keys allowed in each item of `bases:`. Anything not given falls back to
/// the global value of the same meaning.
pub static BASE_KEYS: &[&str] = &[
    "name",
    "path",
    "method",
    "prefix",
    "file_prefix",
    "uc",
    "user",
    "up",
    "password",
    "lock_code",
    "compress",
    "compress_level",
    "archive_password",
    "delete_dt_after_compress",
    "include_log",
    "when_users_inside",
    "timeout",
    "keep",
    "retention",
    "schedule",
    "quiet_hours",
    "drill",
    "drill_from",
];

/// Keys allowed in each item of `offsite:` (`keep:` holds [`KEEP_KEYS`]).
pub static OFFSITE_KEYS: &[&str] = &[
    "name",
    "url",
    "endpoint",
    "region",
    "path_style",
    "access_key_id",
    "secret_access_key",
    "user",
    "password",
    "key_file",
    "key_passphrase",
    "known_host",
    "bases",
    "which",
    "keep",
    "bandwidth",
    "mode",
    "verify",
];

/// Keys allowed under `keep:` / `retention:`.
pub static KEEP_KEYS: &[&str] = &[
    "last",
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "half_yearly",
    "yearly",
    "within",
];

pub fn by_yaml(path: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.yaml == path)
}

pub fn by_env(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.env.contains(&name))
}

/// The closest known name to `unknown` among `candidates`, when close enough
/// to be a likely typo.
pub fn did_you_mean<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let u = unknown.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&u, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Every environment name (aliases too) of a setting that is a secret or a
/// URL that may carry credentials: what child processes must not inherit.
pub fn secret_env_names() -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .filter(|k| k.may_hold_secret())
        .flat_map(|k| k.env.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn secret_env_names_cover_tokens_passwords_and_urls_that_may_carry_them() {
        let names: Vec<&str> = secret_env_names().collect();
        for n in [
            "BOT_TOKEN",
            "API_TOKEN",
            "API_READ_TOKEN",
            "ONEC_UP",
            "ONEC_PASSWORD",
            "ONEC_LOCK_CODE",
            "TELEGRAM_PROXY",
            "TELEGRAM_API_URL",
            "GRAFANA_PROMETHEUS_PASSWORD",
            "PROMETHEUS_PUSHGATEWAY_PASSWORD",
            "INFLUXDB_TOKEN",
            "INFLUXDB_PASSWORD",
            "GRAFANA_LOKI_PASSWORD",
            "GRAFANA_LOKI_URL",
            "UPTIME_KUMA_PUSH_URL",
            "BACKUP_ARCHIVE_PASSWORD",
            "BACKUP_ARCHIVE_OLD_PASSWORDS",
        ] {
            assert!(names.contains(&n), "{n} missing: {names:?}");
        }
        for n in ["ONEC_BASE_PATH", "ONEC_UC", "BACKUP_DIR", "APP_TIMEZONE"] {
            assert!(!names.contains(&n), "{n} is not a secret");
        }
    }

    #[test]
    fn names_are_unique() {
        let mut env = HashSet::new();
        let mut yaml = HashSet::new();
        for key in KEYS {
            assert!(yaml.insert(key.yaml), "duplicate yaml path {}", key.yaml);
            for e in key.env {
                assert!(env.insert(*e), "duplicate env name {e}");
            }
        }
    }

    #[test]
    fn prototype_names_are_all_here() {
        for name in [
            "ONEC_EXE",
            "ONEC_BASE_PATH",
            "BACKUP_DIR",
            "ONEC_UC",
            "ONEC_UP",
            "ONEC_USER",
            "ONEC_PASSWORD",
            "BOT_TOKEN",
            "ALLOWED_USER_IDS",
            "API_HOST",
            "API_PORT",
            "METRICS_INTERVAL",
            "GRAFANA_PROMETHEUS_URL",
            "GRAFANA_PROMETHEUS_USER",
            "GRAFANA_PROMETHEUS_PASSWORD",
            "PROMETHEUS_PUSHGATEWAY_URL",
            "INFLUXDB_URL",
            "INFLUXDB_TOKEN",
            "INFLUXDB_ORG",
            "INFLUXDB_BUCKET",
            "GRAFANA_LOKI_URL",
            "GRAFANA_LOKI_USER",
            "GRAFANA_LOKI_PASSWORD",
            "UPTIME_KUMA_PUSH_URL",
            "BACKUP_METHOD",
            "BACKUP_PREFIX",
            "BACKUP_COMPRESS",
            "BACKUP_COMPRESS_LEVEL",
            "ONEC_TIMEOUT",
            "ONEC_LOCK_CODE",
            "IBCMD_EXE",
        ] {
            assert!(by_env(name).is_some(), "{name} missing from the key table");
        }
        for path in [
            "app.name",
            "app.timezone",
            "security.allowed_user_ids",
            "onec.exe",
            "onec.base_path",
            "onec.uc",
            "onec.up",
            "backup.backup_dir",
            "backup.file_prefix",
            "backup.compress",
            "backup.compress_level",
            "backup.delete_dt_after_compress",
            "telegram.broadcast_chat_id",
        ] {
            assert!(by_yaml(path).is_some(), "{path} missing from the key table");
        }
    }

    #[test]
    fn secrets_are_marked() {
        for name in [
            "ONEC_UP",
            "BOT_TOKEN",
            "API_TOKEN",
            "INFLUXDB_TOKEN",
            "GRAFANA_LOKI_PASSWORD",
            "GRAFANA_PROMETHEUS_PASSWORD",
            "UPTIME_KUMA_PUSH_URL",
            "ONEC_LOCK_CODE",
            "API_READ_TOKEN",
            "API_BASIC_PASSWORD",
            "PROMETHEUS_PUSHGATEWAY_PASSWORD",
            "INFLUXDB_PASSWORD",
            "BACKUP_ARCHIVE_PASSWORD",
            "BACKUP_ARCHIVE_OLD_PASSWORDS",
        ] {
            assert!(by_env(name).unwrap().is_secret(), "{name} must be secret");
        }
    }

    #[test]
    fn typo_hints() {
        assert_eq!(
            did_you_mean("backup_dri", ["backup_dir", "method"]),
            Some("backup_dir")
        );
        assert_eq!(did_you_mean("zzz", ["backup_dir", "method"]), None);
    }
}
