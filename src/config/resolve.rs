//! Layering (env > `.env` > `config.yaml` > default) and validation into the
//! typed [`Config`]. Every problem is collected; secrets are masked in every
//! problem and in the `config check` entries.

use super::keys::{self, KEYS, Key, Kind};
use super::sources::{DotEnvEntry, Raw, RawBase, YamlDoc};
use super::{Compress, ConfigError, Method, Origin, Problem, Secret};
use crate::backup::retention::KeepPolicy;
use crate::schedule::{QuietHours, Schedule};
use jiff::SignedDuration;
use jiff::tz::TimeZone;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The files that were found and parsed.
pub struct Files<'a> {
    pub dotenv: Option<(&'a Path, &'a [DotEnvEntry])>,
    pub yaml: Option<(&'a Path, &'a YamlDoc)>,
}

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
    pub delete_dt_after_compress: bool,
    pub include_log: bool,
    pub timeout: Duration,
    pub keep: KeepPolicy,
    /// When to back up automatically; `None` = manual backups only.
    pub schedule: Option<Schedule>,
    /// Scheduled runs falling in this window are skipped.
    pub quiet_hours: Option<QuietHours>,
    /// Where the base was defined (`ONEC_BASE_PATH`, `bases[2]`, …).
    pub origin: Origin,
}

#[derive(Debug, Clone, Default)]
pub struct Telegram {
    pub bot_token: Option<Secret>,
    /// `ALLOWED_USER_IDS` together with `security.allowed_user_ids`.
    pub allowed_user_ids: Vec<i64>,
    /// `NOTIFY_CHAT_IDS`, plus the prototype's `telegram.broadcast_chat_id`.
    pub notify_chat_ids: Vec<i64>,
    pub language: String,
    pub api_url: Option<String>,
    pub proxy: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Api {
    pub host: String,
    pub port: u16,
    pub token: Option<Secret>,
    pub read_token: Option<Secret>,
}

/// Push sinks (`crate::push`): each is on when its URL is set.
#[derive(Debug, Clone)]
pub struct Export {
    /// Prometheus remote write (Grafana Cloud, Mimir, VictoriaMetrics).
    pub prometheus_remote_url: Option<String>,
    pub prometheus_remote_user: Option<String>,
    pub prometheus_remote_password: Option<Secret>,
    /// The remote-write queue's bound, samples.
    pub prometheus_remote_queue_samples: usize,
    /// Queued samples older than this are dropped.
    pub prometheus_remote_max_age: Duration,
    pub pushgateway_url: Option<String>,
    pub pushgateway_user: Option<String>,
    pub pushgateway_password: Option<Secret>,
    /// Leave the group in the Pushgateway when the agent stops.
    pub pushgateway_keep_on_exit: bool,
    pub influxdb_url: Option<String>,
    /// InfluxDB 2.x: token, organisation and bucket.
    pub influxdb_token: Option<Secret>,
    pub influxdb_org: Option<String>,
    pub influxdb_bucket: Option<String>,
    /// InfluxDB 1.x: database, and user and password when auth is on.
    pub influxdb_database: Option<String>,
    pub influxdb_user: Option<String>,
    pub influxdb_password: Option<Secret>,
    pub loki_url: Option<String>,
    pub loki_user: Option<String>,
    pub loki_password: Option<Secret>,
    pub uptime_kuma_push_url: Option<Secret>,
    /// Also push `up` every `METRICS_INTERVAL`.
    pub uptime_kuma_heartbeat: bool,
    /// Connect plus answer, for every push request.
    pub push_timeout: Duration,
}

impl Default for Export {
    fn default() -> Self {
        Export {
            prometheus_remote_url: None,
            prometheus_remote_user: None,
            prometheus_remote_password: None,
            prometheus_remote_queue_samples: 100_000,
            prometheus_remote_max_age: Duration::from_secs(3600),
            pushgateway_url: None,
            pushgateway_user: None,
            pushgateway_password: None,
            pushgateway_keep_on_exit: false,
            influxdb_url: None,
            influxdb_token: None,
            influxdb_org: None,
            influxdb_bucket: None,
            influxdb_database: None,
            influxdb_user: None,
            influxdb_password: None,
            loki_url: None,
            loki_user: None,
            loki_password: None,
            uptime_kuma_push_url: None,
            uptime_kuma_heartbeat: false,
            push_timeout: Duration::from_secs(10),
        }
    }
}

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
    pub onec_exe: Option<PathBuf>,
    pub ibcmd_exe: Option<PathBuf>,
    /// The default base (from `ONEC_BASE_PATH` / `onec.base_path`) first,
    /// then the `bases:` list.
    pub bases: Vec<Base>,
    pub min_free_percent: u8,
    pub max_age_hours: u32,
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
}

impl Config {
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
        }
        out.extend(self.telegram.bot_token.iter());
        out.extend(self.api.token.iter());
        out.extend(self.api.read_token.iter());
        let e = &self.export;
        for s in [
            &e.prometheus_remote_password,
            &e.pushgateway_password,
            &e.influxdb_token,
            &e.influxdb_password,
            &e.loki_password,
            &e.uptime_kuma_push_url,
        ] {
            out.extend(s.iter());
        }
        out.retain(|s| !s.is_empty());
        out
    }

    /// Replace every known secret in `text` with `***`.
    pub fn mask(&self, text: &str) -> String {
        self.secrets()
            .iter()
            .fold(text.to_string(), |t, s| s.mask_in(&t))
    }
}

#[derive(Debug, Clone)]
enum Typed {
    Str(String),
    Int(i64),
    Bool(bool),
    Ids(Vec<i64>),
    Tz(TimeZone),
    Dur(SignedDuration),
    Cron(Box<Schedule>),
    Window(QuietHours),
}

/// Check one raw value against its kind. `Err` is the expected form.
fn validate(kind: Kind, raw: &str) -> Result<Typed, String> {
    let v = raw.trim();
    match kind {
        Kind::Str | Kind::Secret | Kind::Path => {
            if kind == Kind::Path && v.contains('\0') {
                return Err("a path without NUL characters".into());
            }
            Ok(Typed::Str(v.to_string()))
        }
        Kind::Int { min, max } => match v.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Typed::Int(n)),
            _ => Err(format!("a whole number from {min} to {max}")),
        },
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" | "да" => Ok(Typed::Bool(true)),
            "0" | "false" | "no" | "off" | "нет" => Ok(Typed::Bool(false)),
            _ => Err("true or false".into()),
        },
        Kind::Choice(words) => {
            let lower = v.to_ascii_lowercase();
            if words.contains(&lower.as_str()) {
                Ok(Typed::Str(lower))
            } else {
                Err(format!("one of: {}", words.join(", ")))
            }
        }
        Kind::Url | Kind::SecretUrl => {
            check_url(v, &["http", "https"]).map(|_| Typed::Str(v.to_string()))
        }
        Kind::ProxyUrl => {
            check_url(v, &["http", "https", "socks5", "socks5h"]).map(|_| Typed::Str(v.to_string()))
        }
        Kind::IdList => {
            let mut ids = Vec::new();
            for part in v
                .split([',', ';', ' '])
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                match part.parse::<i64>() {
                    Ok(id) => ids.push(id),
                    Err(_) => {
                        return Err(format!(
                            "comma-separated numeric Telegram ids such as 123456789,-1001234567890 (`{part}` is not a number)"
                        ));
                    }
                }
            }
            Ok(Typed::Ids(ids))
        }
        Kind::TimeZone => TimeZone::get(v)
            .map(Typed::Tz)
            .map_err(|_| "an IANA time zone name such as Europe/Moscow or Asia/Novosibirsk".into()),
        Kind::Within => KeepPolicy::parse_within(v)
            .map(Typed::Dur)
            .map_err(|e| format!("a duration such as 30d, 12h, 2w, 6m or 1y ({e})")),
        Kind::Host => {
            if !v.is_empty()
                && (v.parse::<std::net::IpAddr>().is_ok()
                    || v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
            {
                Ok(Typed::Str(v.to_string()))
            } else {
                Err("an IP address (0.0.0.0, 127.0.0.1, ::) or a host name".into())
            }
        }
        Kind::Cron => Schedule::parse(v).map(|s| Typed::Cron(Box::new(s))).map_err(|e| {
            format!(
                "a cron schedule of 5 fields (min hour day month weekday, e.g. \"5 13,18 * * *\") or 6 with seconds first ({e})"
            )
        }),
        Kind::TimeWindow => QuietHours::parse(v)
            .map(Typed::Window)
            .map_err(|e| format!("a time window such as 00:00-07:59 ({e})")),
        Kind::LogLevel => {
            let ok = !v.is_empty()
                && v.split(',').all(|part| {
                    let level = part
                        .rsplit('=')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase();
                    ["error", "warn", "info", "debug", "trace", "off"].contains(&level.as_str())
                });
            if ok {
                Ok(Typed::Str(v.to_string()))
            } else {
                Err("error, warn, info, debug or trace".into())
            }
        }
    }
}

fn check_url(v: &str, schemes: &[&str]) -> Result<(), String> {
    let expected = || format!("a URL starting with {}://", schemes.join("://, "));
    let Some((scheme, rest)) = v.split_once("://") else {
        return Err(expected());
    };
    if !schemes.contains(&scheme.to_ascii_lowercase().as_str()) {
        return Err(expected());
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || v.chars().any(char::is_whitespace) {
        return Err(format!("{} with a host name", expected()));
    }
    Ok(())
}

/// `url` without its user-info part (`https://user:pass@host/p` →
/// `https://host/p`): how every URL is shown in `config check`, problems,
/// logs and `/api/health`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// How a value is shown by `config check` and in problems.
fn show(kind: Kind, value: &str) -> String {
    match kind {
        Kind::Url | Kind::ProxyUrl => redact_url(value),
        Kind::Secret => "***".into(),
        Kind::SecretUrl => match value.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.split('/').next().unwrap_or("");
                format!("{scheme}://{host}/***")
            }
            None => "***".into(),
        },
        _ => value.to_string(),
    }
}

struct Resolver<'a> {
    env: &'a HashMap<String, String>,
    files: &'a Files<'a>,
    dotenv: HashMap<&'a str, &'a DotEnvEntry>,
    problems: Vec<Problem>,
    typed: HashMap<&'static str, (Typed, Origin)>,
    entries: Vec<Entry>,
}

impl<'a> Resolver<'a> {
    fn new(env: &'a HashMap<String, String>, files: &'a Files<'a>) -> Self {
        let mut dotenv = HashMap::new();
        if let Some((_, entries)) = files.dotenv {
            for e in entries {
                dotenv.insert(e.name.as_str(), e);
            }
        }
        Self {
            env,
            files,
            dotenv,
            problems: Vec::new(),
            typed: HashMap::new(),
            entries: Vec::new(),
        }
    }

    /// The winning raw value of a key from env, `.env`, then YAML.
    fn pick(&self, key: &Key) -> Option<Raw> {
        for name in key.env {
            if let Some(v) = self.env.get(*name).filter(|v| !v.trim().is_empty()) {
                return Some(Raw {
                    value: v.clone(),
                    origin: Origin::Env(name.to_string()),
                });
            }
        }
        if let Some((file, _)) = self.files.dotenv {
            for name in key.env {
                if let Some(e) = self.dotenv.get(name).filter(|e| !e.value.trim().is_empty()) {
                    return Some(Raw {
                        value: e.value.clone(),
                        origin: Origin::DotEnv {
                            file: file.to_path_buf(),
                            line: e.line,
                            name: Some(name.to_string()),
                        },
                    });
                }
            }
        }
        if let Some((_, doc)) = self.files.yaml
            && let Some(raw) = doc
                .globals
                .get(key.yaml)
                .filter(|r| !r.value.trim().is_empty())
        {
            return Some(raw.clone());
        }
        None
    }

    fn run(&mut self) {
        for key in KEYS {
            let mut picked = self.pick(key);
            // The allow-list is the union of the environment and the YAML list.
            if key.yaml == "security.allowed_user_ids"
                && let (Some(p), Some((_, doc))) = (&mut picked, self.files.yaml)
                && let Some(y) = doc.globals.get(key.yaml)
                && !matches!(p.origin, Origin::Yaml { .. })
            {
                p.value = format!("{},{}", p.value, y.value);
            }
            let (raw, origin) = match picked {
                Some(r) => (r.value, r.origin),
                None => match key.default {
                    Some(d) => (d.to_string(), Origin::Default),
                    None => {
                        self.entries.push(Entry {
                            key,
                            shown: "(not set)".into(),
                            origin: None,
                        });
                        continue;
                    }
                },
            };
            match validate(key.kind, &raw) {
                Ok(t) => {
                    self.entries.push(Entry {
                        key,
                        shown: show(key.kind, raw.trim()),
                        origin: Some(origin.clone()),
                    });
                    self.typed.insert(key.yaml, (t, origin));
                }
                Err(expected) => {
                    self.entries.push(Entry {
                        key,
                        shown: show(key.kind, raw.trim()),
                        origin: Some(origin.clone()),
                    });
                    self.problems
                        .push(Problem::new(origin, show(key.kind, &raw), expected));
                }
            }
        }
    }

    fn str(&self, yaml: &str) -> Option<String> {
        match self.typed.get(yaml) {
            Some((Typed::Str(s), _)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }
    fn secret(&self, yaml: &str) -> Option<Secret> {
        self.str(yaml).map(Secret::new)
    }
    fn path(&self, yaml: &str) -> Option<PathBuf> {
        self.str(yaml).map(PathBuf::from)
    }
    fn int(&self, yaml: &str) -> Option<i64> {
        match self.typed.get(yaml) {
            Some((Typed::Int(n), _)) => Some(*n),
            _ => None,
        }
    }
    fn bool(&self, yaml: &str, default: bool) -> bool {
        match self.typed.get(yaml) {
            Some((Typed::Bool(b), _)) => *b,
            _ => default,
        }
    }
    fn ids(&self, yaml: &str) -> Vec<i64> {
        match self.typed.get(yaml) {
            Some((Typed::Ids(v), _)) => v.clone(),
            _ => Vec::new(),
        }
    }
    fn origin(&self, yaml: &str) -> Origin {
        self.typed
            .get(yaml)
            .map(|(_, o)| o.clone())
            .unwrap_or(Origin::Default)
    }

    fn global_keep(&self) -> KeepPolicy {
        let n = |k: &str| self.int(&format!("backup.keep.{k}")).map(|v| v as u32);
        KeepPolicy {
            last: n("last"),
            hourly: n("hourly"),
            daily: n("daily"),
            weekly: n("weekly"),
            monthly: n("monthly"),
            half_yearly: n("half_yearly"),
            yearly: n("yearly"),
            within: match self.typed.get("backup.keep.within") {
                Some((Typed::Dur(d), _)) => Some(*d),
                _ => None,
            },
        }
    }

    /// The defaults a base inherits, as a base without a path or name.
    fn template(&self) -> Base {
        let method = match self.str("backup.method").as_deref() {
            Some("ibcmd") => Method::Ibcmd,
            Some("copy") => Method::Copy,
            _ => Method::Dump,
        };
        let compress = match self.str("backup.compress").as_deref() {
            Some("zstd") => Compress::Zstd,
            Some("none") => Compress::None,
            _ => Compress::Zip,
        };
        Base {
            name: String::new(),
            path: PathBuf::new(),
            method,
            prefix: self.str("backup.file_prefix").unwrap_or_default(),
            user: self.str("onec.uc"),
            password: self.secret("onec.up"),
            lock_code: self.secret("onec.lock_code"),
            compress,
            compress_level: self.int("backup.compress_level").map(|n| n as i32),
            delete_dt_after_compress: self.bool("backup.delete_dt_after_compress", true),
            include_log: self.bool("backup.include_log", false),
            timeout: Duration::from_secs(self.int("onec.timeout").unwrap_or(7200) as u64),
            keep: self.global_keep(),
            schedule: match self.typed.get("backup.schedule") {
                Some((Typed::Cron(sched), _)) => Some((**sched).clone()),
                _ => None,
            },
            quiet_hours: match self.typed.get("backup.quiet_hours") {
                Some((Typed::Window(q), _)) => Some(*q),
                _ => None,
            },
            origin: Origin::Default,
        }
    }

    fn base_from_yaml(&mut self, rb: &RawBase, template: &Base) -> Option<Base> {
        let mut b = template.clone();
        b.prefix = String::new();
        let before = self.problems.len();
        let f = &rb.fields;
        let here = |field: &str| -> Origin {
            f.get(field)
                .map(|r| r.origin.clone())
                .unwrap_or_else(|| match self.files.yaml {
                    Some((file, _)) => Origin::Yaml {
                        file: file.to_path_buf(),
                        path: format!("bases[{}]", rb.index),
                    },
                    None => Origin::Default,
                })
        };
        b.origin = here("");
        let check = |field: &str, kind: Kind, problems: &mut Vec<Problem>| -> Option<Typed> {
            let raw = f.get(field)?;
            match validate(kind, &raw.value) {
                Ok(t) => Some(t),
                Err(expected) => {
                    problems.push(Problem::new(
                        raw.origin.clone(),
                        show(kind, &raw.value),
                        expected,
                    ));
                    None
                }
            }
        };
        let p = &mut self.problems;
        let name = match check("name", Kind::Str, p) {
            Some(Typed::Str(s)) if !s.is_empty() => s,
            _ => {
                p.push(Problem::unknown(
                    here(""),
                    "a `name:` for this base (used in /backup NAME, metrics and file names)",
                ));
                String::new()
            }
        };
        match check("path", Kind::Path, p) {
            Some(Typed::Str(s)) if !s.is_empty() => b.path = PathBuf::from(s),
            _ => {
                p.push(Problem::unknown(
                    here(""),
                    "a `path:` to the infobase folder (the one holding 1Cv8.1CD)",
                ));
            }
        }
        if let Some(Typed::Str(m)) = check("method", Kind::Choice(keys::METHODS), p) {
            b.method = Method::ALL
                .iter()
                .find(|(n, _)| *n == m)
                .map(|x| x.1)
                .unwrap_or_default();
        }
        if let Some(Typed::Str(c)) = check("compress", Kind::Choice(keys::COMPRESSIONS), p) {
            b.compress = Compress::ALL
                .iter()
                .find(|(n, _)| *n == c)
                .map(|x| x.1)
                .unwrap_or_default();
        }
        if let Some(Typed::Str(s)) = check("prefix", Kind::Str, p) {
            b.prefix = s;
        }
        if let Some(Typed::Str(s)) = check("uc", Kind::Str, p) {
            b.user = Some(s).filter(|s| !s.is_empty());
        }
        if let Some(Typed::Str(s)) = check("up", Kind::Secret, p) {
            b.password = Some(Secret::new(s)).filter(|s| !s.is_empty());
        }
        if let Some(Typed::Str(s)) = check("lock_code", Kind::Secret, p) {
            b.lock_code = Some(Secret::new(s)).filter(|s| !s.is_empty());
        }
        if let Some(Typed::Int(n)) = check("compress_level", Kind::Int { min: 0, max: 22 }, p) {
            b.compress_level = Some(n as i32);
        }
        if let Some(Typed::Bool(v)) = check("delete_dt_after_compress", Kind::Bool, p) {
            b.delete_dt_after_compress = v;
        }
        if let Some(Typed::Bool(v)) = check("include_log", Kind::Bool, p) {
            b.include_log = v;
        }
        if let Some(Typed::Int(n)) = check(
            "timeout",
            Kind::Int {
                min: 5,
                max: 7 * 24 * 3600,
            },
            p,
        ) {
            b.timeout = Duration::from_secs(n as u64);
        }
        if let Some(Typed::Cron(sched)) = check("schedule", Kind::Cron, p) {
            b.schedule = Some(*sched);
        }
        if let Some(Typed::Window(q)) = check("quiet_hours", Kind::TimeWindow, p) {
            b.quiet_hours = Some(q);
        }
        let keep_fields: Vec<&String> = f.keys().filter(|k| k.starts_with("keep.")).collect();
        if !keep_fields.is_empty() {
            // A base's own retention replaces the global one as a whole.
            b.keep = KeepPolicy::default();
            for field in keep_fields {
                let opt = &field["keep.".len()..];
                if opt == "within" {
                    if let Some(Typed::Dur(d)) = check(field, Kind::Within, p) {
                        b.keep.within = Some(d);
                    }
                } else if let Some(Typed::Int(n)) = check(
                    field,
                    Kind::Int {
                        min: 1,
                        max: 100_000,
                    },
                    p,
                ) {
                    let n = Some(n as u32);
                    match opt {
                        "last" => b.keep.last = n,
                        "hourly" => b.keep.hourly = n,
                        "daily" => b.keep.daily = n,
                        "weekly" => b.keep.weekly = n,
                        "monthly" => b.keep.monthly = n,
                        "half_yearly" => b.keep.half_yearly = n,
                        _ => b.keep.yearly = n,
                    }
                }
            }
        }
        b.name = name;
        if self.problems.len() == before {
            Some(b)
        } else {
            None
        }
    }
}

/// The default archive prefix: the base folder's name and `_`.
pub fn default_prefix(base: &Path) -> String {
    let name = base
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .next_back()
        .unwrap_or_else(|| "base".into());
    // Windows paths read on Unix keep their backslashes in one component.
    let name = name.rsplit(['\\', '/']).next().unwrap_or(&name);
    // A folder name Windows cannot use in a file name is made safe rather
    // than rejected (`Buh:2024` → `Buh_2024_`); names that were already
    // safe are unchanged, so existing archives keep matching.
    let safe: String = name
        .chars()
        .map(|c| if forbidden_in_file_name(c) { '_' } else { c })
        .collect();
    let safe = safe.trim_end_matches(['.', ' ']);
    if safe.is_empty() {
        return "base_".into();
    }
    format!("{safe}_")
}

/// Characters Windows refuses in a file name.
fn forbidden_in_file_name(c: char) -> bool {
    matches!(c, '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*') || c.is_control()
}

fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.chars().any(forbidden_in_file_name) {
        Err("a file-name prefix without < > : \" / \\ | ? * characters".into())
    } else {
        Ok(())
    }
}

pub fn resolve(env: &HashMap<String, String>, files: &Files) -> Result<Config, ConfigError> {
    let mut r = Resolver::new(env, files);
    r.run();
    let template = r.template();
    let mut bases = Vec::new();
    if let Some(path) = r.path("onec.base_path") {
        let mut b = template.clone();
        b.name = default_prefix(&path).trim_end_matches('_').to_string();
        b.path = path;
        b.origin = r.origin("onec.base_path");
        bases.push(b);
    }
    if let Some((_, doc)) = files.yaml {
        for rb in &doc.bases {
            if let Some(b) = r.base_from_yaml(rb, &template) {
                // The same folder given as ONEC_BASE_PATH and in `bases:` is one base.
                if let Some(first) = bases.first()
                    && !matches!(first.origin, Origin::Yaml { .. })
                    && same_path(&first.path, &b.path)
                {
                    let origin = first.origin.clone();
                    bases[0] = Base { origin, ..b };
                    continue;
                }
                bases.push(b);
            }
        }
    }
    let mut seen: BTreeMap<String, Origin> = BTreeMap::new();
    for b in &mut bases {
        if b.prefix.is_empty() {
            b.prefix = default_prefix(&b.path);
        }
        if let Err(expected) = check_prefix(&b.prefix) {
            r.problems
                .push(Problem::new(b.origin.clone(), b.prefix.clone(), expected));
        }
        if let Some(level) = b.compress_level {
            let (lo, hi) = match b.compress {
                Compress::Zip => (0, 9),
                Compress::Zstd => (1, 22),
                Compress::None => (0, 22),
            };
            if !(lo..=hi).contains(&level) {
                r.problems.push(Problem::new(
                    b.origin.clone(),
                    level.to_string(),
                    format!(
                        "a compression level from {lo} to {hi} for {} (BACKUP_COMPRESS_LEVEL)",
                        b.compress.as_str()
                    ),
                ));
            }
        }
        if b.name.chars().any(char::is_control) {
            r.problems.push(Problem::new(
                b.origin.clone(),
                b.name.clone(),
                "a base name without control characters",
            ));
        }
        let lower = b.name.to_lowercase();
        if let Some(first) = seen.get(&lower) {
            r.problems.push(Problem::new(
                b.origin.clone(),
                b.name.clone(),
                format!("a base name not already used by {first}"),
            ));
        } else {
            seen.insert(lower, b.origin.clone());
        }
    }

    // Two bases whose archives would share names (case-insensitively, as
    // on NTFS) could prune or replace each other's backups.
    let mut prefixes: BTreeMap<String, String> = BTreeMap::new();
    for b in &bases {
        let key = b.prefix.to_lowercase();
        match prefixes.get(&key) {
            Some(other) => r.problems.push(Problem::new(
                b.origin.clone(),
                b.prefix.clone(),
                format!(
                    "an archive prefix no other base uses: bases {other:?} and {:?} would both \
                     name archives {}<date>; give one of them its own `prefix:` in config.yaml",
                    b.name, b.prefix
                ),
            )),
            None => {
                prefixes.insert(key, b.name.clone());
            }
        }
    }

    let backup_dir = r
        .path("backup.backup_dir")
        .unwrap_or_else(|| PathBuf::from("backups"));
    let mut warnings = Vec::new();
    let telegram = Telegram {
        bot_token: r.secret("telegram.bot_token"),
        allowed_user_ids: dedup(r.ids("security.allowed_user_ids")),
        notify_chat_ids: dedup(
            [
                r.ids("telegram.notify_chat_ids"),
                r.ids("telegram.broadcast_chat_id"),
            ]
            .concat(),
        ),
        language: r.str("telegram.language").unwrap_or_else(|| "ru".into()),
        api_url: r.str("telegram.api_url"),
        proxy: r.str("telegram.proxy"),
    };
    if telegram.bot_token.is_some() && telegram.allowed_user_ids.is_empty() {
        warnings.push(
            "BOT_TOKEN is set but ALLOWED_USER_IDS is empty: the bot will deny everyone (add your Telegram id)".into(),
        );
    }
    let export = Export {
        prometheus_remote_url: r.str("grafana.prometheus_url"),
        prometheus_remote_user: r.str("grafana.prometheus_user"),
        prometheus_remote_password: r.secret("grafana.prometheus_password"),
        prometheus_remote_queue_samples: r
            .int("grafana.prometheus_queue_samples")
            .unwrap_or(100_000) as usize,
        prometheus_remote_max_age: Duration::from_secs(
            r.int("grafana.prometheus_max_age_secs").unwrap_or(3600) as u64,
        ),
        pushgateway_url: r.str("prometheus.pushgateway_url"),
        pushgateway_user: r.str("pushgateway.user"),
        pushgateway_password: r.secret("pushgateway.password"),
        pushgateway_keep_on_exit: r.bool("pushgateway.keep_on_exit", false),
        influxdb_url: r.str("influxdb.url"),
        influxdb_token: r.secret("influxdb.token"),
        influxdb_org: r.str("influxdb.org"),
        influxdb_bucket: r.str("influxdb.bucket"),
        influxdb_database: r.str("influxdb.database"),
        influxdb_user: r.str("influxdb.user"),
        influxdb_password: r.secret("influxdb.password"),
        loki_url: r.str("grafana.loki_url"),
        loki_user: r.str("grafana.loki_user"),
        loki_password: r.secret("grafana.loki_password"),
        uptime_kuma_push_url: r.secret("uptime_kuma.push_url"),
        uptime_kuma_heartbeat: r.bool("uptime_kuma.heartbeat", false),
        push_timeout: Duration::from_secs(r.int("push.timeout_secs").unwrap_or(10) as u64),
    };
    check_influxdb(&mut r, &export);
    check_url_credentials(&mut r, &export);
    for (user, pass, what) in [
        (
            export.prometheus_remote_user.is_some(),
            export.prometheus_remote_password.is_some(),
            "GRAFANA_PROMETHEUS_USER and GRAFANA_PROMETHEUS_PASSWORD",
        ),
        (
            export.loki_user.is_some(),
            export.loki_password.is_some(),
            "GRAFANA_LOKI_USER and GRAFANA_LOKI_PASSWORD",
        ),
        (
            export.pushgateway_user.is_some(),
            export.pushgateway_password.is_some(),
            "PROMETHEUS_PUSHGATEWAY_USER and PROMETHEUS_PUSHGATEWAY_PASSWORD",
        ),
        (
            export.influxdb_user.is_some(),
            export.influxdb_password.is_some(),
            "INFLUXDB_USER and INFLUXDB_PASSWORD",
        ),
    ] {
        if user != pass {
            warnings.push(format!(
                "{what} should be set together (basic auth needs both)"
            ));
        }
    }
    // Settings of a sink whose URL is missing do nothing: say so.
    for (url, url_name, others) in [
        (
            &export.prometheus_remote_url,
            "GRAFANA_PROMETHEUS_URL",
            &["grafana.prometheus_user", "grafana.prometheus_password"][..],
        ),
        (
            &export.pushgateway_url,
            "PROMETHEUS_PUSHGATEWAY_URL",
            &["pushgateway.user", "pushgateway.password"][..],
        ),
        (
            &export.influxdb_url,
            "INFLUXDB_URL",
            &[
                "influxdb.token",
                "influxdb.org",
                "influxdb.bucket",
                "influxdb.database",
                "influxdb.user",
                "influxdb.password",
            ][..],
        ),
        (
            &export.loki_url,
            "GRAFANA_LOKI_URL",
            &["grafana.loki_user", "grafana.loki_password"][..],
        ),
    ] {
        if url.is_none() {
            let set: Vec<&str> = others
                .iter()
                .filter(|y| r.str(y).is_some())
                .filter_map(|y| keys::by_yaml(y).map(|k| k.display_name()))
                .collect();
            if !set.is_empty() {
                warnings.push(format!(
                    "{} set but {url_name} is empty: this push is off",
                    set.join(", ")
                ));
            }
        }
    }
    for b in &bases {
        if !b.path.is_dir() {
            warnings.push(format!(
                "base {}: folder {} does not exist (yet)",
                b.name,
                b.path.display()
            ));
        } else if !b.path.join("1Cv8.1CD").is_file() {
            warnings.push(format!(
                "base {}: no 1Cv8.1CD in {}",
                b.name,
                b.path.display()
            ));
        }
    }
    if bases.is_empty() {
        warnings.push(
            "no infobase configured: set ONEC_BASE_PATH or add a `bases:` list to back up".into(),
        );
    }
    if let Some(dotenv) = files.dotenv {
        for e in dotenv.1 {
            if keys::by_env(&e.name).is_none() {
                let hint =
                    keys::did_you_mean(&e.name, KEYS.iter().flat_map(|k| k.env.iter().copied()));
                if let Some(h) = hint {
                    warnings.push(format!(
                        "{}:{}: unknown variable {} (did you mean {h}?)",
                        dotenv.0.display(),
                        e.line,
                        e.name
                    ));
                }
            }
        }
    }

    let timezone_name = r
        .str("app.timezone")
        .unwrap_or_else(|| "Europe/Moscow".into());
    let timezone = match r.typed.get("app.timezone") {
        Some((Typed::Tz(tz), _)) => tz.clone(),
        _ => TimeZone::UTC,
    };
    let cfg = Config {
        app_name: r.str("app.name").unwrap_or_else(|| "OneCBackupBot".into()),
        timezone,
        timezone_name,
        history_db: r
            .path("backup.history_db")
            .unwrap_or_else(|| backup_dir.join("app.sqlite3")),
        logging: Logging {
            dir: r.path("logging.dir").unwrap_or_else(|| backup_dir.clone()),
            level: r.str("logging.level").unwrap_or_else(|| "info".into()),
        },
        backup_dir,
        onec_exe: r.path("onec.exe"),
        ibcmd_exe: r.path("onec.ibcmd_exe"),
        bases,
        min_free_percent: r.int("backup.min_free_percent").unwrap_or(10) as u8,
        max_age_hours: r.int("backup.max_age_hours").unwrap_or(26) as u32,
        catch_up: SignedDuration::from_hours(r.int("backup.catch_up_hours").unwrap_or(6)),
        shutdown_grace: Duration::from_secs(r.int("app.shutdown_grace_secs").unwrap_or(30) as u64),
        telegram,
        api: Api {
            host: r.str("api.host").unwrap_or_else(|| "0.0.0.0".into()),
            port: r.int("api.port").unwrap_or(8080) as u16,
            token: r.secret("api.token"),
            read_token: r.secret("api.read_token"),
        },
        metrics_interval: Duration::from_secs(r.int("metrics.interval").unwrap_or(60) as u64),
        export,
        entries: std::mem::take(&mut r.entries),
        warnings,
        env_file: files.dotenv.map(|d| d.0.to_path_buf()),
        config_file: files.yaml.map(|y| y.0.to_path_buf()),
    };
    if r.problems.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigError {
            problems: r.problems,
        })
    }
}

/// InfluxDB takes one of two groups: 2.x (`INFLUXDB_TOKEN`, `INFLUXDB_ORG`,
/// `INFLUXDB_BUCKET`, all three) or 1.x (`INFLUXDB_DATABASE`, with
/// `INFLUXDB_USER` / `INFLUXDB_PASSWORD` when auth is on), never both.
/// Credentials go either in a sink's URL (`https://user:pass@host`) or in
/// its user/password settings, not both: both would send two
/// `Authorization` headers, and which one a server takes is anyone's guess.
fn check_url_credentials(r: &mut Resolver, e: &Export) {
    for (url, url_key, has_auth, names) in [
        (
            &e.prometheus_remote_url,
            "grafana.prometheus_url",
            e.prometheus_remote_user.is_some() || e.prometheus_remote_password.is_some(),
            "GRAFANA_PROMETHEUS_USER / GRAFANA_PROMETHEUS_PASSWORD",
        ),
        (
            &e.pushgateway_url,
            "prometheus.pushgateway_url",
            e.pushgateway_user.is_some() || e.pushgateway_password.is_some(),
            "PROMETHEUS_PUSHGATEWAY_USER / PROMETHEUS_PUSHGATEWAY_PASSWORD",
        ),
        (
            &e.influxdb_url,
            "influxdb.url",
            e.influxdb_user.is_some() || e.influxdb_password.is_some(),
            "INFLUXDB_USER / INFLUXDB_PASSWORD",
        ),
        (
            &e.loki_url,
            "grafana.loki_url",
            e.loki_user.is_some() || e.loki_password.is_some(),
            "GRAFANA_LOKI_USER / GRAFANA_LOKI_PASSWORD",
        ),
    ] {
        if let Some(u) = url
            && has_auth
            && redact_url(u) != *u
        {
            let origin = r.origin(url_key);
            r.problems.push(Problem::unknown(
                origin,
                format!(
                    "credentials either in the URL or in {names}, not both: remove the user:password@ part of the URL"
                ),
            ));
        }
    }
}

fn check_influxdb(r: &mut Resolver, e: &Export) {
    if e.influxdb_url.is_none() {
        return;
    }
    let origin = r.origin("influxdb.url");
    let v2 = [
        (e.influxdb_token.is_some(), "INFLUXDB_TOKEN"),
        (e.influxdb_org.is_some(), "INFLUXDB_ORG"),
        (e.influxdb_bucket.is_some(), "INFLUXDB_BUCKET"),
    ];
    let v2_set: Vec<&str> = v2.iter().filter(|x| x.0).map(|x| x.1).collect();
    if e.influxdb_database.is_some() {
        if !v2_set.is_empty() {
            r.problems.push(Problem::unknown(
                origin,
                format!(
                    "either INFLUXDB_DATABASE (InfluxDB 1.x) or INFLUXDB_TOKEN, INFLUXDB_ORG and INFLUXDB_BUCKET (InfluxDB 2.x), not both (also set: {})",
                    v2_set.join(", ")
                ),
            ));
        }
        return;
    }
    if e.influxdb_user.is_some() || e.influxdb_password.is_some() {
        r.problems.push(Problem::unknown(
            origin.clone(),
            "INFLUXDB_DATABASE with INFLUXDB_USER / INFLUXDB_PASSWORD (they are for InfluxDB 1.x; 2.x uses INFLUXDB_TOKEN)",
        ));
    }
    for (set, name) in v2 {
        if !set {
            r.problems.push(Problem::unknown(
                origin.clone(),
                format!(
                    "{name} as well: InfluxDB 2.x needs a token, an organisation and a bucket (or set INFLUXDB_DATABASE for InfluxDB 1.x)"
                ),
            ));
        }
    }
}

fn dedup(mut v: Vec<i64>) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(*x));
    v
}

fn same_path(a: &Path, b: &Path) -> bool {
    let norm = |p: &Path| {
        p.to_string_lossy()
            .replace('\\', "/")
            .trim_end_matches('/')
            .to_lowercase()
    };
    norm(a) == norm(b)
}
