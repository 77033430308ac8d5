//! Offsite targets from the sources: the one named `offsite` from the
//! `OFFSITE_*` settings (already validated by kind in the key table) and
//! every item of `offsite:` in `config.yaml`, each field checked with the
//! kind of the `OFFSITE_*` key of the same meaning. Then what a single
//! value cannot show: a bad URL, S3 without keys, SFTP without a password
//! or key or without a pinned host key, two targets with one name, a
//! `bases:` entry that names no configured base, bad which/mode/bandwidth.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::keys::{self, KEYS, Kind};
use super::model::Base;
use super::offsite::{Location, Mode, OffsiteTarget, Which, parse_bandwidth, parse_location};
use super::resolve::Resolver;
use super::sources::Raw;
use super::value::{Typed, show, url_credential, validate};
use super::{Origin, Problem, Secret};
use crate::retention::KeepPolicy;

/// The environment's target is named this.
pub const ENV_TARGET: &str = "offsite";

impl Resolver<'_> {
    /// Every configured target, in order: the environment's first, then the
    /// YAML list. A target with a problem is left out (the problem is kept).
    pub(super) fn offsite(&mut self, bases: &[Base]) -> Vec<OffsiteTarget> {
        let mut out: Vec<(OffsiteTarget, Origin)> = Vec::new();
        // Every name given, whether or not its target is valid.
        let mut names: Vec<(String, Origin)> = Vec::new();
        // The environment's target: its fields as picked (values already
        // checked by kind in `run`; a bad one is a problem there already).
        let mut env_fields = BTreeMap::new();
        for key in KEYS.iter().filter(|k| k.yaml.starts_with("offsite.")) {
            if let Some(raw) = self.picked(key.yaml) {
                env_fields.insert(key.yaml["offsite.".len()..].to_string(), raw);
            }
        }
        if env_fields.contains_key("url") {
            let here = self.origin("offsite.url");
            names.push((ENV_TARGET.into(), here.clone()));
            if let Some(t) = self.target(ENV_TARGET.into(), &env_fields, here.clone(), true) {
                out.push((t, here));
            }
        }
        let items = self
            .files
            .yaml
            .map(|(file, doc)| (file.to_path_buf(), doc.offsite.clone()))
            .unwrap_or_default();
        for item in &items.1 {
            let here = Origin::Yaml {
                file: items.0.clone(),
                path: format!("offsite[{}]", item.index),
                line: item.line,
            };
            let name = item
                .fields
                .get("name")
                .map(|r| r.value.trim().to_string())
                .filter(|n| !n.is_empty());
            let Some(name) = name else {
                self.problems.push(Problem::new(
                    here,
                    "(no name)",
                    "a `name:` for this offsite target (used in `offsite push --target NAME`, \
                     `restore --from NAME` and metrics)",
                ));
                continue;
            };
            names.push((name.clone(), here.clone()));
            if let Some(t) = self.target(name, &item.fields, here.clone(), false) {
                out.push((t, here));
            }
        }
        // Names are unique (case-insensitive: they are typed in commands).
        let mut seen: BTreeMap<String, Origin> = BTreeMap::new();
        for (name, here) in &names {
            if let Some(first) = seen.insert(name.to_lowercase(), here.clone()) {
                self.problems.push(Problem::new(
                    here.clone(),
                    name.clone(),
                    format!(
                        "a target name used once (also used at {first}; the environment's \
                         OFFSITE_URL target is named `{ENV_TARGET}`): rename one of them"
                    ),
                ));
            }
        }
        // A `bases:` entry names a configured base.
        for (t, here) in &out {
            for b in t.bases.iter().flatten() {
                if !bases.iter().any(|x| x.name.eq_ignore_ascii_case(b)) {
                    let known: Vec<&str> = bases.iter().map(|x| x.name.as_str()).collect();
                    self.problems.push(Problem::new(
                        here.clone(),
                        b.clone(),
                        format!(
                            "the name of a configured base in the target's bases (known: {})",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    ));
                }
            }
        }
        out.into_iter().map(|(t, _)| t).collect()
    }

    /// The raw value of a setting when it was set and passed its kind.
    fn picked(&self, yaml: &str) -> Option<Raw> {
        let (t, origin) = self.typed.get(yaml)?;
        if matches!(origin, Origin::Default) {
            return None;
        }
        let value = match t {
            Typed::Str(s) => s.clone(),
            Typed::Int(n) => n.to_string(),
            Typed::Bool(b) => b.to_string(),
            // `within` is the one duration: re-read as given.
            Typed::Dur(_) => self.raw_of(yaml)?,
            _ => return None,
        };
        Some(Raw {
            value,
            origin: origin.clone(),
        })
    }

    fn raw_of(&self, yaml: &str) -> Option<String> {
        let key = keys::by_yaml(yaml)?;
        self.pick_pub(key).map(|r| r.value)
    }

    /// One target from its fields (`url`, `keep.daily`, …).
    fn target(
        &mut self,
        name: String,
        f: &BTreeMap<String, Raw>,
        here: Origin,
        env: bool,
    ) -> Option<OffsiteTarget> {
        let before = self.problems.len();
        // How a field is named in a message: its env name or `field:`.
        let label = |field: &str| -> String {
            if env {
                keys::by_yaml(&format!("offsite.{field}"))
                    .map(|k| k.display_name().to_string())
                    .unwrap_or_else(|| field.to_string())
            } else {
                format!("`{field}:`")
            }
        };
        let p = &mut self.problems;
        let mut check = |field: &str| -> Option<Typed> {
            let raw = f.get(field)?;
            let kind = keys::by_yaml(&format!("offsite.{field}")).map_or(Kind::Str, |k| k.kind);
            match validate(kind, &raw.value) {
                Ok(t) => Some(t),
                Err(expected) => {
                    p.push(Problem::new(
                        raw.origin.clone(),
                        show(kind, &raw.value),
                        expected,
                    ));
                    None
                }
            }
        };
        let text = |t: Option<Typed>| match t {
            Some(Typed::Str(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        };
        let url = text(check("url"));
        let endpoint = text(check("endpoint"));
        let region = text(check("region"));
        let path_style = matches!(check("path_style"), Some(Typed::Bool(true)));
        let access_key_id = text(check("access_key_id"));
        let secret_access_key = text(check("secret_access_key")).map(Secret::new);
        let user = text(check("user"));
        let password = text(check("password")).map(Secret::new);
        let key_file = text(check("key_file")).map(PathBuf::from);
        let key_passphrase = text(check("key_passphrase")).map(Secret::new);
        let known_host = text(check("known_host"));
        let bases = text(check("bases")).map(|s| {
            s.split([',', ';'])
                .map(|b| b.trim().to_string())
                .filter(|b| !b.is_empty())
                .collect::<Vec<_>>()
        });
        let verify = text(check("verify"));
        let mut keep = KeepPolicy::default();
        for opt in keys::KEEP_KEYS {
            match check(&format!("keep.{opt}")) {
                Some(Typed::Dur(d)) => keep.within = Some(d),
                Some(Typed::Int(n)) => {
                    let n = Some(n as u32);
                    match *opt {
                        "last" => keep.last = n,
                        "hourly" => keep.hourly = n,
                        "daily" => keep.daily = n,
                        "weekly" => keep.weekly = n,
                        "monthly" => keep.monthly = n,
                        "half_yearly" => keep.half_yearly = n,
                        _ => keep.yearly = n,
                    }
                }
                _ => {}
            }
        }
        let which_raw = text(check("which"));
        let mode_raw = text(check("mode"));
        let bandwidth_raw = text(check("bandwidth"));
        let problems = &mut self.problems;
        let origin_of = |field: &str| f.get(field).map_or(here.clone(), |r| r.origin.clone());
        let which = match which_raw.as_deref().map(Which::parse) {
            None => Which::Every,
            Some(Ok(w)) => w,
            Some(Err(e)) => {
                problems.push(Problem::new(
                    origin_of("which"),
                    which_raw.clone().unwrap_or_default(),
                    format!("a known {} ({e})", label("which")),
                ));
                Which::Every
            }
        };
        let mode = match mode_raw.as_deref().map(Mode::parse) {
            None => Mode::History,
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                problems.push(Problem::new(
                    origin_of("mode"),
                    mode_raw.clone().unwrap_or_default(),
                    format!("a known {} ({e})", label("mode")),
                ));
                Mode::History
            }
        };
        let bandwidth = match bandwidth_raw.as_deref().map(parse_bandwidth) {
            None => None,
            Some(Ok(b)) => Some(b),
            Some(Err(e)) => {
                problems.push(Problem::new(
                    origin_of("bandwidth"),
                    bandwidth_raw.clone().unwrap_or_default(),
                    format!("a speed in {} ({e})", label("bandwidth")),
                ));
                None
            }
        };
        let Some(url) = url else {
            problems.push(Problem::new(
                here.clone(),
                "(no url)",
                format!(
                    "a {} for target {name}: s3://bucket/prefix, webdavs://host/path, \
                     sftp://user@host:22/path, file:///path or a folder path",
                    label("url")
                ),
            ));
            return None;
        };
        let location = match parse_location(&url) {
            Ok(l) => Some(l),
            Err(e) => {
                // A URL with a password in it is not shown.
                let shown = if url_credential(&url).is_some() || url.contains('@') {
                    "***".to_string()
                } else {
                    url.clone()
                };
                problems.push(Problem::new(
                    origin_of("url"),
                    shown,
                    format!("an offsite URL in {} ({e})", label("url")),
                ));
                None
            }
        }?;
        match &location {
            Location::S3 { .. } if access_key_id.is_none() || secret_access_key.is_none() => {
                problems.push(Problem::new(
                    origin_of("url"),
                    location.display(),
                    format!(
                        "S3 access keys for target {name}: set {} and {}",
                        label("access_key_id"),
                        label("secret_access_key")
                    ),
                ));
            }
            Location::Sftp { .. } => {
                if password.is_none() && key_file.is_none() {
                    problems.push(Problem::new(
                        origin_of("url"),
                        location.display(),
                        format!(
                            "a way to log in to SFTP target {name}: set {} or {} (with {} if \
                             the key is encrypted)",
                            label("password"),
                            label("key_file"),
                            label("key_passphrase")
                        ),
                    ));
                }
                if known_host.is_none() {
                    problems.push(Problem::new(
                        origin_of("url"),
                        location.display(),
                        format!(
                            "the server's host key pinned for SFTP target {name}: set {} to its \
                             fingerprint (SHA256:…, from `ssh-keygen -lf` of the server's public \
                             key) or to a known_hosts file path",
                            label("known_host")
                        ),
                    ));
                }
            }
            _ => {}
        }
        let read_back = match verify.as_deref() {
            Some(v) => v.eq_ignore_ascii_case("read"),
            None => matches!(location, Location::Folder(_) | Location::Sftp { .. }),
        };
        if self.problems.len() != before {
            return None;
        }
        Some(OffsiteTarget {
            name,
            location,
            endpoint,
            region,
            path_style,
            access_key_id,
            secret_access_key,
            user,
            password,
            key_file,
            key_passphrase,
            known_host,
            bases,
            which,
            keep,
            bandwidth,
            mode,
            read_back,
        })
    }
}
