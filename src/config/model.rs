//! The public configuration model every other module reads: the effective
//! [`Config`], its bases, sinks and servers, and the `config check` entries.
//! Plain data; how it is filled is in `resolve.rs`, its defaults are in the
//! key table (`keys.rs`) only.

use super::keys::Key;
use super::offsite::OffsiteTarget;
use super::{Compress, Method, Origin, Secret, UsersPolicy};
use crate::logging::Masker;
use crate::retention::KeepPolicy;
use crate::schedule::{QuietHours, Schedule};
use jiff::SignedDuration;
use jiff::tz::TimeZone;
use std::path::PathBuf;
use std::time::Duration;

/// One line of `config check`: a setting, its shown value and its source.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: &'static Key,
    /// The value as shown: `***` for secrets, `(not set)` when unset.
    pub shown: String,
    pub origin: Option<Origin>,
}

/// One infobase to protect.
#[derive(Debug, Clone)]
pub struct Base {
    pub name: String,
    pub path: PathBuf,
    pub method: Method,
    pub prefix: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub lock_code: Option<Secret>,
    pub compress: Compress,
    pub compress_level: Option<i32>,
    /// Encrypt this base's archives with this password
    /// (`BACKUP_ARCHIVE_PASSWORD`, or the base's `archive_password:`).
    pub archive_password: Option<Secret>,
    pub delete_dt_after_compress: bool,
    pub include_log: bool,
    /// What to do when users are inside the base.
    pub when_users_inside: UsersPolicy,
    /// Policy `wait`: how often to try again, and for how long in all.
    pub users_retry: Duration,
    pub users_wait: Duration,
    /// Warn the users inside this many minutes before a scheduled backup
    /// and again one minute before (`BACKUP_USERS_WARN_MINUTES`,
    /// `bases[].users_warn_minutes`); 0 = no warnings.
    pub users_warn_minutes: u32,
    /// Policy `close`: the pause between naming who will be closed and
    /// ending their 1C processes.
    pub users_close_grace: Duration,
    pub timeout: Duration,
    pub keep: KeepPolicy,
    /// When to back up automatically; `None` = manual backups only.
    pub schedule: Option<Schedule>,
    /// Scheduled runs falling in this window are skipped.
    pub quiet_hours: Option<QuietHours>,
    /// When to run a restore drill of the base's newest good archive
    /// (`bases[].drill`, else `BACKUP_DRILL_SCHEDULE`); `None` = only by hand.
    pub drill: Option<Schedule>,
    /// Where the base's restore drills take the archive from
    /// (`bases[].drill_from`, else `BACKUP_DRILL_FROM`; checked against the
    /// offsite targets when the configuration is loaded).
    pub drill_from: DrillFrom,
    /// Where `drill_from` was set (for its problems).
    pub drill_from_origin: Origin,
    /// Where the base was defined (`ONEC_BASE_PATH`, `bases[2]`, …).
    pub origin: Origin,
}

/// Where a base's restore drills take the archive from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DrillFrom {
    /// The local archive (the default).
    #[default]
    Local,
    /// Always the copy on this offsite target.
    Target(String),
    /// The local archive and each target that takes the base, in turn:
    /// the source whose last drill is oldest goes next.
    Alternate,
}

impl DrillFrom {
    /// The setting's word: `local`, `alternate`, or any other text as a
    /// target's name (checked against the targets later).
    pub fn parse(s: &str) -> DrillFrom {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("local") {
            DrillFrom::Local
        } else if s.eq_ignore_ascii_case("alternate") {
            DrillFrom::Alternate
        } else {
            DrillFrom::Target(s.to_string())
        }
    }

    /// As written in the settings.
    pub fn as_str(&self) -> &str {
        match self {
            DrillFrom::Local => "local",
            DrillFrom::Target(name) => name,
            DrillFrom::Alternate => "alternate",
        }
    }
}

/// The Telegram bot.
#[derive(Debug, Clone, Default)]
pub struct Telegram {
    pub bot_token: Option<Secret>,
    /// `ALLOWED_USER_IDS` together with `security.allowed_user_ids`.
    pub allowed_user_ids: Vec<i64>,
    /// `NOTIFY_CHAT_IDS`, plus the prototype's `telegram.broadcast_chat_id`.
    pub notify_chat_ids: Vec<i64>,
    /// `TELEGRAM_ALLOWED_CHAT_IDS`: the group chats where the bot answers
    /// (allowed users only); private chats need no listing.
    pub allowed_chat_ids: Vec<i64>,
    pub language: String,
    pub api_url: Option<String>,
    pub proxy: Option<String>,
}

/// The HTTP API and metrics server.
#[derive(Debug, Clone)]
pub struct Api {
    pub host: String,
    pub port: u16,
    pub token: Option<Secret>,
    pub read_token: Option<Secret>,
    /// Basic auth for the read routes (`API_BASIC_USER` /
    /// `API_BASIC_PASSWORD`): both or neither.
    pub basic: Option<(String, Secret)>,
    /// HTTPS: the PEM certificate chain and private key files, both or neither.
    pub tls: Option<TlsFiles>,
    /// `UI_LANGUAGE`: the web dashboard's default language (else the bot's).
    pub ui_language: Option<String>,
}

/// `API_TLS_CERT_FILE` and `API_TLS_KEY_FILE`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Where a push sink sends: its URL and the basic-auth credentials kept
/// beside it (`*_USER` / `*_PASSWORD`; a URL may carry its own instead).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

/// Push sinks (`crate::push`): each is on when its URL is set.
#[derive(Debug, Clone)]
pub struct Export {
    /// Prometheus remote write (Grafana Cloud, Mimir, VictoriaMetrics).
    pub prometheus_remote: Option<Endpoint>,
    /// The remote-write queue's bound, samples.
    pub prometheus_remote_queue_samples: usize,
    /// Queued samples older than this are dropped.
    pub prometheus_remote_max_age: Duration,
    pub pushgateway: Option<Endpoint>,
    /// Leave the group in the Pushgateway when the agent stops.
    pub pushgateway_keep_on_exit: bool,
    /// InfluxDB's URL; its user and password are for 1.x with auth on.
    pub influxdb: Option<Endpoint>,
    /// InfluxDB 2.x: token, organisation and bucket.
    pub influxdb_token: Option<Secret>,
    pub influxdb_org: Option<String>,
    pub influxdb_bucket: Option<String>,
    /// InfluxDB 1.x: the database.
    pub influxdb_database: Option<String>,
    pub loki: Option<Endpoint>,
    pub uptime_kuma_push_url: Option<Secret>,
    /// Also push `up` every `METRICS_INTERVAL`.
    pub uptime_kuma_heartbeat: bool,
    /// Connect plus answer, for every push request.
    pub push_timeout: Duration,
}

/// The log file.
#[derive(Debug, Clone)]
pub struct Logging {
    pub dir: PathBuf,
    pub level: String,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub app_name: String,
    pub timezone: TimeZone,
    pub timezone_name: String,
    pub backup_dir: PathBuf,
    pub history_db: PathBuf,
    /// Where per-infobase locks live; `None` = the machine-wide default
    /// (`backup::lock::default_dir`).
    pub lock_dir: Option<PathBuf>,
    pub onec_exe: Option<PathBuf>,
    pub ibcmd_exe: Option<PathBuf>,
    /// The default base (from `ONEC_BASE_PATH` / `onec.base_path`) first,
    /// then the `bases:` list.
    pub bases: Vec<Base>,
    pub min_free_percent: u8,
    pub max_age_hours: u32,
    /// Where copies of the archives go (`OFFSITE_URL` as the target named
    /// `offsite`, then the `offsite:` list).
    pub offsite: Vec<OffsiteTarget>,
    /// Warn when a base's newest offsite copy is older than this.
    pub offsite_max_age_hours: u32,
    /// Where restore drills make their scratch folders (`BACKUP_DRILL_DIR`,
    /// default: a `drill` folder beside the history database).
    pub drill_dir: PathBuf,
    /// A base with a drill schedule is stale when its last good drill is
    /// older than this many days.
    pub drill_max_age_days: u32,
    /// A scheduled run missed by less than this runs once at start.
    pub catch_up: SignedDuration,
    /// How long running backups get to finish when the agent stops.
    pub shutdown_grace: Duration,
    pub telegram: Telegram,
    pub api: Api,
    pub metrics_interval: Duration,
    pub export: Export,
    pub logging: Logging,
    /// Every setting with its shown value and source, for `config check`.
    pub entries: Vec<Entry>,
    /// Things that are allowed but probably not what the admin wants.
    pub warnings: Vec<String>,
    /// Where the files were looked for, for `config check`.
    pub env_file: Option<PathBuf>,
    pub config_file: Option<PathBuf>,
    /// The passwords (or tokens) in the user-info of URL settings
    /// (`TELEGRAM_PROXY`, sink URLs) and every secret setting, including
    /// those of a sink that is off: masked like every other secret.
    pub other_secrets: Vec<Secret>,
    /// `BACKUP_ARCHIVE_OLD_PASSWORDS`: older archive passwords, tried after
    /// the current one when an archive is opened.
    pub archive_old_passwords: Vec<Secret>,
}

impl Config {
    /// The web dashboard's default language: `UI_LANGUAGE`, else
    /// `BOT_LANGUAGE`.
    pub fn ui_language(&self) -> String {
        self.api
            .ui_language
            .clone()
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| self.telegram.language.clone())
    }

    /// The offsite target named `name` (case-insensitive).
    pub fn target(&self, name: &str) -> Option<&OffsiteTarget> {
        self.offsite
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// The base named `name` (case-insensitive), or the default base.
    pub fn base(&self, name: Option<&str>) -> Option<&Base> {
        match name {
            None => self.bases.first(),
            Some(n) => self
                .bases
                .iter()
                .find(|b| b.name.eq_ignore_ascii_case(n) || b.name == n),
        }
    }

    /// Every secret value, for masking free text (1C logs, error chains).
    pub fn secrets(&self) -> Vec<&Secret> {
        let mut out: Vec<&Secret> = Vec::new();
        for b in &self.bases {
            out.extend(b.password.iter());
            out.extend(b.lock_code.iter());
            out.extend(b.archive_password.iter());
        }
        out.extend(self.telegram.bot_token.iter());
        out.extend(self.api.token.iter());
        out.extend(self.api.read_token.iter());
        out.extend(self.api.basic.iter().map(|(_, p)| p));
        let e = &self.export;
        for p in [&e.prometheus_remote, &e.pushgateway, &e.influxdb, &e.loki] {
            out.extend(p.iter().filter_map(|p| p.password.as_ref()));
        }
        out.extend(e.influxdb_token.iter());
        out.extend(e.uptime_kuma_push_url.iter());
        for t in &self.offsite {
            out.extend(t.secrets());
        }
        out.extend(self.other_secrets.iter());
        out.extend(self.archive_old_passwords.iter());
        out.retain(|s| !s.is_empty());
        out
    }

    /// The masker for every secret here, `/UC` codes and URL user-info:
    /// what the log outputs go through.
    pub fn masker(&self) -> Masker {
        Masker::new(self.secrets().into_iter().map(Secret::expose))
    }

    /// Replace every known secret in `text` with `***` (and `/UC` codes and
    /// URL user-info).
    pub fn mask(&self, text: &str) -> String {
        self.masker().mask(text)
    }
}
