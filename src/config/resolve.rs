//! Layering (env > `.env` > `config.yaml` > default) and validation into the
//! typed [`Config`]. Every problem is collected; secrets are masked in every
//! problem and in the `config check` entries. Defaults come from the key
//! table (`keys.rs`) only: a key with a default is always set once the
//! sources are layered, so nothing here writes a fallback of its own.
//! Checks between settings are in `cross_checks.rs`.

use super::cross_checks;
use super::keys::{self, KEYS, Key, Kind};
use super::model::{
    Api, Base, Config, DrillFrom, Endpoint, Entry, Export, Logging, Telegram, TlsFiles,
};
use super::sources::{DotEnvEntry, Raw, RawBase, YamlDoc};
use super::value::{Typed, show, url_credential, validate};
use super::{Compress, ConfigError, Method, Origin, Problem, Secret, UsersPolicy};
use crate::retention::KeepPolicy;
use jiff::SignedDuration;
use jiff::tz::TimeZone;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The files that were found and parsed.
pub struct Files<'a> {
    pub dotenv: Option<(&'a Path, &'a [DotEnvEntry])>,
    pub yaml: Option<(&'a Path, &'a YamlDoc)>,
}

/// The layering of one load: the sources, and what was picked, typed and
/// found wrong so far.
pub(super) struct Resolver<'a> {
    env: &'a HashMap<String, String>,
    pub(super) files: &'a Files<'a>,
    dotenv: HashMap<&'a str, &'a DotEnvEntry>,
    pub(super) problems: Vec<Problem>,
    pub(super) typed: HashMap<&'static str, (Typed, Origin)>,
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

    /// [`Resolver::pick`] for the other files of this module.
    pub(super) fn pick_pub(&self, key: &Key) -> Option<Raw> {
        self.pick(key)
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
                    // The result is an error now; the table's default stands
                    // in so that a key with a default is always set.
                    if let Some(t) = key.default.and_then(|d| validate(key.kind, d).ok()) {
                        self.typed.insert(key.yaml, (t, Origin::Default));
                    }
                }
            }
        }
    }

    pub(super) fn str(&self, yaml: &str) -> Option<String> {
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
    /// The value of a key the table gives a default: always set once
    /// [`Resolver::run`] has run, so it is read without a second default.
    fn defaulted(&self, yaml: &str) -> Option<&Typed> {
        debug_assert!(
            keys::by_yaml(yaml).is_some_and(|k| k.default.is_some()),
            "{yaml} has no default in the key table"
        );
        self.typed.get(yaml).map(|(t, _)| t)
    }
    fn num(&self, yaml: &str) -> i64 {
        match self.defaulted(yaml) {
            Some(Typed::Int(n)) => *n,
            _ => 0,
        }
    }
    fn text(&self, yaml: &str) -> String {
        match self.defaulted(yaml) {
            Some(Typed::Str(s)) => s.clone(),
            _ => String::new(),
        }
    }
    fn flag(&self, yaml: &str) -> bool {
        matches!(self.defaulted(yaml), Some(Typed::Bool(true)))
    }
    fn ids(&self, yaml: &str) -> Vec<i64> {
        match self.typed.get(yaml) {
            Some((Typed::Ids(v), _)) => v.clone(),
            _ => Vec::new(),
        }
    }
    pub(super) fn origin(&self, yaml: &str) -> Origin {
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
        Base {
            name: String::new(),
            path: PathBuf::new(),
            method: word(&Method::ALL, &self.text("backup.method")),
            prefix: self.str("backup.file_prefix").unwrap_or_default(),
            user: self.str("onec.uc"),
            password: self.secret("onec.up"),
            lock_code: self.secret("onec.lock_code"),
            compress: word(&Compress::ALL, &self.text("backup.compress")),
            compress_level: self.int("backup.compress_level").map(|n| n as i32),
            archive_password: self.secret("backup.archive_password"),
            delete_dt_after_compress: self.flag("backup.delete_dt_after_compress"),
            include_log: self.flag("backup.include_log"),
            when_users_inside: word(&UsersPolicy::ALL, &self.text("backup.when_users_inside")),
            users_retry: Duration::from_secs(60 * self.num("backup.users_retry_minutes") as u64),
            users_wait: Duration::from_secs(60 * self.num("backup.users_wait_minutes") as u64),
            users_warn_minutes: self.num("backup.users_warn_minutes") as u32,
            users_close_grace: Duration::from_secs(
                self.num("backup.users_close_grace_seconds") as u64
            ),
            timeout: Duration::from_secs(self.num("onec.timeout") as u64),
            keep: self.global_keep(),
            schedule: match self.typed.get("backup.schedule") {
                Some((Typed::Cron(sched), _)) => Some((**sched).clone()),
                _ => None,
            },
            quiet_hours: match self.typed.get("backup.quiet_hours") {
                Some((Typed::Window(q), _)) => Some(*q),
                _ => None,
            },
            drill: match self.typed.get("backup.drill_schedule") {
                Some((Typed::Cron(sched), _)) => Some((**sched).clone()),
                _ => None,
            },
            drill_from: DrillFrom::parse(&self.text("backup.drill_from")),
            drill_from_origin: self.origin("backup.drill_from"),
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
                        line: rb.line,
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
        // A field is checked as the global setting of the same meaning.
        let kind = |yaml: &str| keys::by_yaml(yaml).map_or(Kind::Str, |k| k.kind);
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
        if let Some(Typed::Str(m)) = check("method", kind("backup.method"), p) {
            b.method = word(&Method::ALL, &m);
        }
        if let Some(Typed::Str(c)) = check("compress", kind("backup.compress"), p) {
            b.compress = word(&Compress::ALL, &c);
        }
        if let Some(Typed::Str(s)) = check("prefix", kind("backup.file_prefix"), p) {
            b.prefix = s;
        }
        if let Some(Typed::Str(s)) = check("uc", kind("onec.uc"), p) {
            b.user = Some(s).filter(|s| !s.is_empty());
        }
        if let Some(Typed::Str(s)) = check("up", kind("onec.up"), p) {
            b.password = Some(Secret::new(s)).filter(|s| !s.is_empty());
        }
        if let Some(Typed::Str(s)) = check("lock_code", kind("onec.lock_code"), p) {
            b.lock_code = Some(Secret::new(s)).filter(|s| !s.is_empty());
        }
        let archive_pw = kind("backup.archive_password");
        if let Some(Typed::Str(s)) = check("archive_password", archive_pw, p) {
            b.archive_password = Some(Secret::new(s)).filter(|s| !s.is_empty());
        }
        if let Some(Typed::Int(n)) = check("compress_level", kind("backup.compress_level"), p) {
            b.compress_level = Some(n as i32);
        }
        let delete_dt = kind("backup.delete_dt_after_compress");
        if let Some(Typed::Bool(v)) = check("delete_dt_after_compress", delete_dt, p) {
            b.delete_dt_after_compress = v;
        }
        if let Some(Typed::Bool(v)) = check("include_log", kind("backup.include_log"), p) {
            b.include_log = v;
        }
        let users = kind("backup.when_users_inside");
        if let Some(Typed::Str(w)) = check("when_users_inside", users, p) {
            b.when_users_inside = word(&UsersPolicy::ALL, &w);
        }
        let warn = kind("backup.users_warn_minutes");
        if let Some(Typed::Int(n)) = check("users_warn_minutes", warn, p) {
            b.users_warn_minutes = n as u32;
        }
        if let Some(Typed::Int(n)) = check("timeout", kind("onec.timeout"), p) {
            b.timeout = Duration::from_secs(n as u64);
        }
        if let Some(Typed::Cron(sched)) = check("schedule", kind("backup.schedule"), p) {
            b.schedule = Some(*sched);
        }
        if let Some(Typed::Window(q)) = check("quiet_hours", kind("backup.quiet_hours"), p) {
            b.quiet_hours = Some(q);
        }
        if let Some(Typed::Cron(sched)) = check("drill", kind("backup.drill_schedule"), p) {
            b.drill = Some(*sched);
        }
        if let Some(Typed::Str(s)) = check("drill_from", kind("backup.drill_from"), p) {
            b.drill_from = DrillFrom::parse(&s);
            b.drill_from_origin = here("drill_from");
        }
        let keep_fields: Vec<&String> = f.keys().filter(|k| k.starts_with("keep.")).collect();
        if !keep_fields.is_empty() {
            // A base's own retention replaces the global one as a whole.
            b.keep = KeepPolicy::default();
            for field in keep_fields {
                let opt = &field["keep.".len()..];
                match check(field, kind(&format!("backup.{field}")), p) {
                    Some(Typed::Dur(d)) => b.keep.within = Some(d),
                    Some(Typed::Int(n)) => {
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
                    _ => {}
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

    /// Every base: the default one (`ONEC_BASE_PATH`) first, then the
    /// `bases:` list, each with its archive prefix filled in.
    fn bases(&mut self) -> Vec<Base> {
        let template = self.template();
        let mut bases = Vec::new();
        if let Some(path) = self.path("onec.base_path") {
            let mut b = template.clone();
            b.name = default_prefix(&path).trim_end_matches('_').to_string();
            b.path = path;
            b.origin = self.origin("onec.base_path");
            bases.push(b);
        }
        if let Some((_, doc)) = self.files.yaml {
            for rb in &doc.bases {
                if let Some(b) = self.base_from_yaml(rb, &template) {
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
        for b in &mut bases {
            if b.prefix.is_empty() {
                b.prefix = default_prefix(&b.path);
            }
        }
        bases
    }

    fn telegram(&self) -> Telegram {
        Telegram {
            bot_token: self.secret("telegram.bot_token"),
            allowed_user_ids: dedup(self.ids("security.allowed_user_ids")),
            notify_chat_ids: dedup(
                [
                    self.ids("telegram.notify_chat_ids"),
                    self.ids("telegram.broadcast_chat_id"),
                ]
                .concat(),
            ),
            allowed_chat_ids: dedup(self.ids("telegram.allowed_chat_ids")),
            language: self.text("telegram.language"),
            api_url: self.str("telegram.api_url"),
            proxy: self.str("telegram.proxy"),
        }
    }

    fn export(&self) -> Export {
        Export {
            prometheus_remote: self.endpoint("grafana.prometheus_"),
            prometheus_remote_queue_samples: self.num("grafana.prometheus_queue_samples") as usize,
            prometheus_remote_max_age: Duration::from_secs(
                self.num("grafana.prometheus_max_age_secs") as u64,
            ),
            pushgateway: self.str("prometheus.pushgateway_url").map(|url| Endpoint {
                url,
                user: self.str("pushgateway.user"),
                password: self.secret("pushgateway.password"),
            }),
            pushgateway_keep_on_exit: self.flag("pushgateway.keep_on_exit"),
            influxdb: self.endpoint("influxdb."),
            influxdb_token: self.secret("influxdb.token"),
            influxdb_org: self.str("influxdb.org"),
            influxdb_bucket: self.str("influxdb.bucket"),
            influxdb_database: self.str("influxdb.database"),
            loki: self.endpoint("grafana.loki_"),
            uptime_kuma_push_url: self.secret("uptime_kuma.push_url"),
            uptime_kuma_heartbeat: self.flag("uptime_kuma.heartbeat"),
            push_timeout: Duration::from_secs(self.num("push.timeout_secs") as u64),
        }
    }
}

impl Resolver<'_> {
    /// A sink's endpoint from the keys `<stem>url`, `<stem>user` and
    /// `<stem>password`; `None` when its URL is unset.
    fn endpoint(&self, stem: &str) -> Option<Endpoint> {
        Some(Endpoint {
            url: self.str(&format!("{stem}url"))?,
            user: self.str(&format!("{stem}user")),
            password: self.secret(&format!("{stem}password")),
        })
    }

    /// The items of a list setting.
    fn list(&self, yaml: &str) -> Vec<String> {
        match self.typed.get(yaml) {
            Some((Typed::List(v), _)) => v.clone(),
            _ => Vec::new(),
        }
    }

    /// The credential in the user-info of every URL setting, and the
    /// value of every secret setting.
    fn other_secrets(&self) -> Vec<Secret> {
        let in_urls = KEYS
            .iter()
            .filter(|k| matches!(k.kind, Kind::Url | Kind::ProxyUrl | Kind::SecretUrl))
            .filter_map(|k| self.str(k.yaml))
            .filter_map(|u| url_credential(&u).map(Secret::new));
        let settings = KEYS
            .iter()
            .filter(|k| k.kind == Kind::Secret)
            .filter_map(|k| self.secret(k.yaml));
        in_urls.chain(settings).collect()
    }
}

/// Layer the sources, validate every value, build the bases, then run the
/// cross-checks; every problem is collected into one error.
pub fn resolve(env: &HashMap<String, String>, files: &Files) -> Result<Config, ConfigError> {
    let mut r = Resolver::new(env, files);
    r.run();
    let bases = r.bases();
    cross_checks::check_bases(&mut r.problems, &bases);
    let offsite = r.offsite(&bases);
    cross_checks::check_drill_from(&mut r.problems, &bases, &offsite);
    let telegram = r.telegram();
    let export = r.export();
    cross_checks::check_influxdb(&mut r, &export);
    cross_checks::check_url_credentials(&mut r);
    let api = Api {
        host: r.text("api.host"),
        port: r.num("api.port") as u16,
        token: r.secret("api.token"),
        read_token: r.secret("api.read_token"),
        basic: r.str("api.basic_user").zip(r.secret("api.basic_password")),
        ui_language: r.str("api.ui_language"),
        tls: r
            .path("api.tls_cert_file")
            .zip(r.path("api.tls_key_file"))
            .map(|(cert, key)| TlsFiles { cert, key }),
    };
    cross_checks::check_api(&mut r);
    let warnings = cross_checks::warnings(&r, &telegram, &bases);

    let backup_dir = r.path("backup.backup_dir").unwrap_or_default();
    let (timezone, timezone_name) = match r.typed.get("app.timezone") {
        Some((Typed::Tz(tz), _)) => (tz.clone(), tz.iana_name().unwrap_or("UTC").to_string()),
        _ => (TimeZone::UTC, "UTC".to_string()),
    };
    let history_db = r
        .path("backup.history_db")
        .unwrap_or_else(|| backup_dir.join("app.sqlite3"));
    let cfg = Config {
        app_name: r.text("app.name"),
        timezone,
        timezone_name,
        drill_dir: r
            .path("backup.drill_dir")
            .unwrap_or_else(|| default_drill_dir(&history_db)),
        drill_max_age_days: r.num("backup.drill_max_age_days") as u32,
        history_db,
        lock_dir: r.path("backup.lock_dir"),
        logging: Logging {
            dir: r.path("logging.dir").unwrap_or_else(|| backup_dir.clone()),
            level: r.text("logging.level"),
        },
        backup_dir,
        onec_exe: r.path("onec.exe"),
        ibcmd_exe: r.path("onec.ibcmd_exe"),
        bases,
        min_free_percent: r.num("backup.min_free_percent") as u8,
        max_age_hours: r.num("backup.max_age_hours") as u32,
        offsite,
        offsite_max_age_hours: r.num("backup.offsite_max_age_hours") as u32,
        catch_up: SignedDuration::from_hours(r.num("backup.catch_up_hours")),
        shutdown_grace: Duration::from_secs(r.num("app.shutdown_grace_secs") as u64),
        telegram,
        api,
        metrics_interval: Duration::from_secs(r.num("metrics.interval") as u64),
        export,
        entries: std::mem::take(&mut r.entries),
        warnings,
        env_file: files.dotenv.map(|d| d.0.to_path_buf()),
        config_file: files.yaml.map(|y| y.0.to_path_buf()),
        other_secrets: r.other_secrets(),
        archive_old_passwords: r
            .list("backup.archive_old_passwords")
            .into_iter()
            .map(Secret::new)
            .collect(),
    };
    if r.problems.is_empty() {
        Ok(cfg)
    } else {
        // A secret's value is shown as `***` already; this catches one
        // quoted by any other path.
        let masker = cfg.masker();
        for p in &mut r.problems {
            p.value = p.value.as_deref().map(|v| masker.mask(v));
        }
        Err(ConfigError {
            problems: r.problems,
        })
    }
}

/// The variant of `all` named `word` (a value already validated against
/// the same names by its key's `Choice` kind).
fn word<T: Copy + Default>(all: &[(&str, T)], word: &str) -> T {
    all.iter()
        .find(|(name, _)| *name == word)
        .map(|x| x.1)
        .unwrap_or_default()
}

/// The default `BACKUP_DRILL_DIR`: a `drill` folder beside the history
/// database.
fn default_drill_dir(history_db: &Path) -> PathBuf {
    match history_db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join("drill"),
        _ => PathBuf::from("drill"),
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
pub(super) fn forbidden_in_file_name(c: char) -> bool {
    matches!(c, '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*') || c.is_control()
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
