//! The table of every setting: its environment names (the first is the
//! canonical one; the rest are aliases), its `config.yaml` path, its kind (how
//! it is validated), its default and whether it is a secret. This table is
//! the only place a default is written: the resolver layers it under the
//! sources and never falls back to a value of its own, and a `bases:` field
//! is validated with the kind of the global key of the same meaning. Adding
//! a setting means adding one row here and reading it in `resolve.rs`;
//! `config check`, the unknown-key hints and the example files are driven
//! by this table.

mod table;

pub use table::KEYS;

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
    "users_warn_minutes",
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
