//! Checks between settings, after each value passed its own: bases that
//! would share archive names or a name, compression levels for the chosen
//! format, sinks configured half-way, credentials given twice, the API's
//! basic auth or TLS files given half-way or unreadable. Errors go to
//! the problems; allowed-but-probably-wrong settings become warnings.

use super::keys::{self, KEYS};
use super::model::{Base, DrillFrom, Export, Telegram};
use super::offsite::OffsiteTarget;
use super::resolve::{Resolver, forbidden_in_file_name};
use super::value::url_credential;
use super::{Compress, Origin, Problem, UsersPolicy};
use std::collections::BTreeMap;

/// A base's `drill_from` names a configured target that takes the base:
/// else a problem naming the setting and the valid choices.
pub(super) fn check_drill_from(
    problems: &mut Vec<Problem>,
    bases: &[Base],
    targets: &[OffsiteTarget],
) {
    for b in bases {
        let DrillFrom::Target(name) = &b.drill_from else {
            continue;
        };
        let found = targets.iter().find(|t| t.name.eq_ignore_ascii_case(name));
        if found.is_some_and(|t| t.takes(&b.name)) {
            continue;
        }
        let takers: Vec<&str> = targets
            .iter()
            .filter(|t| t.takes(&b.name))
            .map(|t| t.name.as_str())
            .collect();
        let why = match found {
            Some(t) => format!("offsite target {} does not copy base {}", t.name, b.name),
            None => format!("no offsite target is named {name}"),
        };
        problems.push(Problem::new(
            b.drill_from_origin.clone(),
            name.clone(),
            format!(
                "local, alternate or an offsite target that copies base {} (targets: {}) \
                 as the drill source (BACKUP_DRILL_FROM / bases[].drill_from): {why}",
                b.name,
                if takers.is_empty() {
                    "none".to_string()
                } else {
                    takers.join(", ")
                }
            ),
        ));
    }
}

/// Problems of the bases themselves and between them: prefixes Windows
/// cannot use or two bases share, compression levels out of range for the
/// format, bad or repeated names.
pub(super) fn check_bases(problems: &mut Vec<Problem>, bases: &[Base]) {
    let mut seen: BTreeMap<String, Origin> = BTreeMap::new();
    for b in bases {
        if let Err(expected) = check_prefix(&b.prefix) {
            problems.push(Problem::new(b.origin.clone(), b.prefix.clone(), expected));
        }
        if let Some(level) = b.compress_level {
            let (lo, hi) = match b.compress {
                Compress::Zip => (0, 9),
                Compress::Zstd => (1, 22),
                Compress::None => (0, 22),
            };
            if !(lo..=hi).contains(&level) {
                problems.push(Problem::new(
                    b.origin.clone(),
                    level.to_string(),
                    format!(
                        "a compression level from {lo} to {hi} for {} (BACKUP_COMPRESS_LEVEL)",
                        b.compress.as_str()
                    ),
                ));
            }
        }
        if b.archive_password.is_some() && b.compress == Compress::None {
            problems.push(Problem::new(
                b.origin.clone(),
                "compress: none with an archive password",
                "BACKUP_COMPRESS zip or zstd when BACKUP_ARCHIVE_PASSWORD is set: without an \
                 archive there is nothing to encrypt (zip: AES-256 that 7-Zip and WinRAR open; \
                 zstd: .tar.zst.age), or no archive password for this base",
            ));
        }
        if b.when_users_inside == UsersPolicy::Lock && b.lock_code.is_none() {
            problems.push(Problem::new(
                b.origin.clone(),
                "when_users_inside: lock without ONEC_LOCK_CODE",
                "ONEC_LOCK_CODE (bases[].lock_code) set to the permission code of the base's \
                 session lock when BACKUP_WHEN_USERS_INSIDE=lock: without it the agent cannot \
                 block new sessions and still get in to dump (or choose fail, wait or close)",
            ));
        }
        if b.name.chars().any(char::is_control) {
            problems.push(Problem::new(
                b.origin.clone(),
                b.name.clone(),
                "a base name without control characters",
            ));
        }
        let lower = b.name.to_lowercase();
        if let Some(first) = seen.get(&lower) {
            problems.push(Problem::new(
                b.origin.clone(),
                b.name.clone(),
                format!("a base name not already used by {first}"),
            ));
        } else {
            seen.insert(lower, b.origin.clone());
        }
    }

    // Two entries for one infobase folder would dump it twice at once.
    let mut folders: BTreeMap<String, String> = BTreeMap::new();
    for b in bases {
        let key = crate::platform::path_key(&b.path);
        match folders.get(&key) {
            Some(other) => problems.push(Problem::new(
                b.origin.clone(),
                b.path.display().to_string(),
                format!(
                    "an infobase folder no other base uses: bases {other:?} and {:?} are the same \
                     folder; keep one entry",
                    b.name
                ),
            )),
            None => {
                folders.insert(key, b.name.clone());
            }
        }
    }

    // Two bases whose archives would share names (case-insensitively, as
    // on NTFS) could prune or replace each other's backups.
    let mut prefixes: BTreeMap<String, String> = BTreeMap::new();
    for b in bases {
        let key = b.prefix.to_lowercase();
        match prefixes.get(&key) {
            Some(other) => problems.push(Problem::new(
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
}

fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.chars().any(forbidden_in_file_name) {
        Err("a file-name prefix without < > : \" / \\ | ? * characters".into())
    } else {
        Ok(())
    }
}

/// The warnings: allowed settings that are probably not what the admin
/// wants.
pub(super) fn warnings(r: &Resolver, telegram: &Telegram, bases: &[Base]) -> Vec<String> {
    let mut warnings = Vec::new();
    if telegram.bot_token.is_some() && telegram.allowed_user_ids.is_empty() {
        warnings.push(
            "BOT_TOKEN is set but ALLOWED_USER_IDS is empty: the bot will deny everyone (add your Telegram id)".into(),
        );
    }
    for (_, user, pass, _) in BASIC_AUTH_SINKS {
        if r.str(user).is_some() != r.str(pass).is_some() {
            warnings.push(format!(
                "{} and {} should be set together (basic auth needs both)",
                name(user),
                name(pass)
            ));
        }
    }
    // Settings of a sink whose URL is missing do nothing: say so.
    for (url, user, pass, others) in BASIC_AUTH_SINKS {
        if r.str(url).is_none() {
            let set: Vec<&str> = others
                .iter()
                .chain([&user, &pass])
                .filter(|y| r.str(y).is_some())
                .map(|y| name(y))
                .collect();
            if !set.is_empty() {
                warnings.push(format!(
                    "{} set but {} is empty: this push is off",
                    set.join(", "),
                    name(url)
                ));
            }
        }
    }
    for b in bases {
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
    if let Some(dotenv) = r.files.dotenv {
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
    warnings
}

/// The push sinks with basic auth: the URL that turns each on, its user
/// and password, and its other settings that do nothing without the URL.
const BASIC_AUTH_SINKS: [(&str, &str, &str, &[&str]); 4] = [
    (
        "grafana.prometheus_url",
        "grafana.prometheus_user",
        "grafana.prometheus_password",
        &[],
    ),
    (
        "prometheus.pushgateway_url",
        "pushgateway.user",
        "pushgateway.password",
        &[],
    ),
    (
        "influxdb.url",
        "influxdb.user",
        "influxdb.password",
        &[
            "influxdb.token",
            "influxdb.org",
            "influxdb.bucket",
            "influxdb.database",
        ],
    ),
    (
        "grafana.loki_url",
        "grafana.loki_user",
        "grafana.loki_password",
        &[],
    ),
];

/// The name users know a key by (its environment name).
fn name(yaml: &str) -> &str {
    keys::by_yaml(yaml).map_or(yaml, |k| k.display_name())
}

/// Credentials go either in a sink's URL (`https://user:pass@host`) or in
/// its user/password settings, not both: both would send two
/// `Authorization` headers, and which one a server takes is anyone's guess.
pub(super) fn check_url_credentials(r: &mut Resolver) {
    for (url_key, user, pass, _) in BASIC_AUTH_SINKS {
        let has_auth = r.str(user).is_some() || r.str(pass).is_some();
        if let Some(u) = r.str(url_key)
            && has_auth
            && url_credential(&u).is_some()
        {
            let origin = r.origin(url_key);
            r.problems.push(Problem::unknown(
                origin,
                format!(
                    "credentials either in the URL or in {} / {}, not both: remove the user:password@ part of the URL",
                    name(user),
                    name(pass)
                ),
            ));
        }
    }
}

/// InfluxDB takes one of two groups: 2.x (`INFLUXDB_TOKEN`, `INFLUXDB_ORG`,
/// `INFLUXDB_BUCKET`, all three) or 1.x (`INFLUXDB_DATABASE`, with
/// `INFLUXDB_USER` / `INFLUXDB_PASSWORD` when auth is on), never both.
pub(super) fn check_influxdb(r: &mut Resolver, e: &Export) {
    let Some(influxdb) = &e.influxdb else {
        return;
    };
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
    if influxdb.user.is_some() || influxdb.password.is_some() {
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

/// The API's pairs: basic auth needs both `API_BASIC_USER` and
/// `API_BASIC_PASSWORD`, TLS both `API_TLS_CERT_FILE` and
/// `API_TLS_KEY_FILE`; and the TLS files must be readable PEM with a
/// certificate and a private key (checked here so that a typo stops the
/// agent with exit code 2 instead of leaving the API off).
pub(super) fn check_api(r: &mut Resolver) {
    for (a, b) in [
        ("api.basic_user", "api.basic_password"),
        ("api.tls_cert_file", "api.tls_key_file"),
    ] {
        for (set, unset) in [(a, b), (b, a)] {
            if r.str(set).is_some() && r.str(unset).is_none() {
                let problem = format!(
                    "{} as well: {} works only with both set",
                    name(unset),
                    name(set)
                );
                r.problems.push(Problem::unknown(r.origin(set), problem));
            }
        }
    }
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let (Some(cert), Some(key)) = (r.str("api.tls_cert_file"), r.str("api.tls_key_file")) else {
        return;
    };
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(&cert).and_then(|it| it.collect());
    let cert_problem = match certs {
        Ok(c) if c.is_empty() => Some("no CERTIFICATE block in it".to_string()),
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    let key_problem = PrivateKeyDer::from_pem_file(&key)
        .err()
        .map(|e| e.to_string());
    for (yaml, path, problem) in [
        ("api.tls_cert_file", cert, cert_problem),
        ("api.tls_key_file", key, key_problem),
    ] {
        if let Some(p) = problem {
            let origin = r.origin(yaml);
            let what = if yaml.ends_with("key_file") {
                "a readable PEM file with a private key"
            } else {
                "a readable PEM file with the certificate chain"
            };
            r.problems
                .push(Problem::new(origin, path, format!("{what} ({p})")));
        }
    }
}
