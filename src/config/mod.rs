//! Configuration: the one model every other module reads. Sources, highest
//! priority first: process environment > `.env` > `config.yaml` > defaults.
//! Loading splits "read the file" from "parse these bytes" so parsing is
//! tested from strings; every problem is collected and reported together,
//! naming its source, the value and the expected form.
//!
//! `model.rs` is the public [`Config`]; `keys.rs` the table of settings and
//! their defaults; `sources.rs` reads `.env` and YAML; `value.rs` checks one
//! value; `resolve.rs` layers and builds; `cross_checks.rs` checks settings
//! against each other; `check.rs` renders `config check`.

mod secret;

pub use secret::Secret;

use serde::Serialize;

/// `ALL` (each word with its variant, for parsing settings) and `as_str`
/// for an enum whose settings are single words.
macro_rules! words {
    ($ty:ident, $($variant:ident => $text:literal),+) => {
        impl $ty {
            pub const ALL: [(&'static str, $ty); [$($text),+].len()] = [$(($text, $ty::$variant)),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }
    };
}

/// How a base is backed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Designer `/DumpIB` to a `.dt`.
    #[default]
    Dump,
    /// `ibcmd infobase dump` to a `.dt`.
    Ibcmd,
    /// A cold copy of `1Cv8.1CD` (and optionally `1Cv8Log/`).
    Copy,
}

words!(Method, Dump => "dump", Ibcmd => "ibcmd", Copy => "copy");

/// How the backup is packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Compress {
    /// A `.zip` (deflate, ZIP64 when needed) that Explorer and 7-Zip open.
    #[default]
    Zip,
    /// A `.tar.zst`: much faster, needs zstd-aware tools to open.
    Zstd,
    /// No archive: the bare `.dt` (or a folder for `copy`).
    None,
}

words!(Compress, Zip => "zip", Zstd => "zstd", None => "none");

/// What a backup does when users are inside the base (`BACKUP_WHEN_USERS_INSIDE`,
/// `bases[].when_users_inside`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UsersPolicy {
    /// Try the dump; when 1C cannot lock the base, fail naming who was inside.
    #[default]
    Fail,
    /// Retry every `BACKUP_USERS_RETRY_MINUTES` until the users leave or
    /// `BACKUP_USERS_WAIT_MINUTES` pass (or quiet hours begin), then fail as `Fail`.
    Wait,
    /// Block new sessions with the lock code, wait for users to leave, dump,
    /// always unblock.
    Lock,
    /// End the 1C clients of the base on this computer after a grace
    /// period, then dump.
    Close,
}

words!(UsersPolicy, Fail => "fail", Wait => "wait", Lock => "lock", Close => "close");

mod check;
pub mod credentials;
mod cross_checks;
pub mod keys;
mod model;
pub mod offsite;
#[cfg(test)]
mod props;
mod resolve;
pub mod sources;
mod targets;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
mod value;

pub use check::render_check;
pub use model::{
    Api, Base, Config, DrillFrom, Endpoint, Entry, Export, Logging, Telegram, TlsFiles,
};
pub use value::redact_url;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Env(String),
    DotEnv {
        file: PathBuf,
        line: usize,
        name: Option<String>,
    },
    Yaml {
        file: PathBuf,
        path: String,
        /// The 1-based line where the key is written, when it is written
        /// in block style (`key: value` on its own line).
        line: Option<usize>,
    },
    /// A whole file (read errors).
    File(PathBuf),
    Default,
}

impl Origin {
    /// The short source kind shown by `config check`.
    pub fn kind(&self) -> &'static str {
        match self {
            Origin::Env(_) => "env",
            Origin::DotEnv { .. } => ".env",
            Origin::Yaml { .. } => "config.yaml",
            Origin::File(_) => "file",
            Origin::Default => "default",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env(name) => write!(f, "environment variable {name}"),
            Origin::DotEnv {
                file,
                line,
                name: Some(n),
            } => write!(f, "{}:{line} ({n})", file.display()),
            Origin::DotEnv {
                file,
                line,
                name: None,
            } => write!(f, "{}:{line}", file.display()),
            Origin::Yaml { file, path, .. } if path.is_empty() => write!(f, "{}", file.display()),
            Origin::Yaml { file, path, .. } => write!(f, "{}: {path}", file.display()),
            Origin::File(file) => write!(f, "{}", file.display()),
            Origin::Default => f.write_str("built-in default"),
        }
    }
}

/// One configuration problem: where, what value, what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub origin: Origin,
    /// The offending value (already masked when it is a secret); `None` for
    /// unknown keys and missing values.
    pub value: Option<String>,
    pub expected: String,
}

impl Problem {
    pub fn new(origin: Origin, value: impl Into<String>, expected: impl Into<String>) -> Self {
        Self {
            origin,
            value: Some(value.into()),
            expected: expected.into(),
        }
    }

    pub fn unknown(origin: Origin, expected: impl Into<String>) -> Self {
        Self {
            origin,
            value: None,
            expected: expected.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_without_line(f)?;
        match self.origin {
            Origin::Yaml {
                line: Some(line), ..
            } => write!(f, " (line {line})"),
            _ => Ok(()),
        }
    }
}

impl Problem {
    fn fmt_without_line(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(
                f,
                "{}: got {:?}, expected {}",
                self.origin, v, self.expected
            ),
            None if matches!(self.origin, Origin::Yaml { .. }) => {
                write!(
                    f,
                    "{}: unknown key, expected {}",
                    self.origin, self.expected
                )
            }
            None => write!(f, "{}: {}", self.origin, self.expected),
        }
    }
}

/// Every problem found while loading, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid configuration ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

/// Where to look for the files, and the environment to use.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--env-file`; default `.env` in the current directory (may be absent).
    pub env_file: Option<PathBuf>,
    /// `--config`; default `config.yaml` in the current directory (may be absent).
    pub config_file: Option<PathBuf>,
    /// The process environment (injected for tests).
    pub env: HashMap<String, String>,
    /// Read no `.env` / `config.yaml` at all (the demo).
    pub skip_files: bool,
}

impl LoadOptions {
    /// Options reading the real process environment.
    pub fn from_process(env_file: Option<PathBuf>, config_file: Option<PathBuf>) -> Self {
        Self {
            env_file,
            config_file,
            env: std::env::vars().collect(),
            skip_files: false,
        }
    }

    /// Options with `pairs` as the whole environment and no `.env` or
    /// `config.yaml` (the demo, and tests).
    pub fn only_env<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            env: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            skip_files: true,
            ..Default::default()
        }
    }
}

/// Load and validate the configuration from all sources.
pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
    let mut problems = Vec::new();
    let dotenv = read_source(
        opts,
        opts.env_file.as_ref(),
        ".env",
        sources::parse_dotenv_partial,
        &mut problems,
    );
    let yaml = read_source(
        opts,
        opts.config_file.as_ref(),
        "config.yaml",
        sources::parse_yaml_partial,
        &mut problems,
    );
    let files = resolve::Files {
        dotenv: dotenv.as_ref().map(|(p, e)| (p.as_path(), e.as_slice())),
        yaml: yaml.as_ref().map(|(p, d)| (p.as_path(), d)),
    };
    match resolve::resolve(&opts.env, &files) {
        Ok(cfg) if problems.is_empty() => Ok(cfg),
        Ok(_) => Err(ConfigError { problems }),
        Err(mut more) => {
            problems.append(&mut more.problems);
            Err(ConfigError { problems })
        }
    }
}

/// Read and parse one source file (`explicit`, else `default` in the
/// current folder), adding its problems to `problems`. What parsed is used
/// even when some of the file did not, so one typo does not hide the
/// problems of the values around it.
fn read_source<T>(
    opts: &LoadOptions,
    explicit: Option<&PathBuf>,
    default: &str,
    parse: fn(&str, &Path) -> (T, Vec<Problem>),
    problems: &mut Vec<Problem>,
) -> Option<(PathBuf, T)> {
    if opts.skip_files {
        return None;
    }
    let path = explicit.cloned().unwrap_or_else(|| PathBuf::from(default));
    match read_optional(&path, explicit.is_some()) {
        Ok(Some(text)) => {
            let (v, mut ps) = parse(&text, &path);
            problems.append(&mut ps);
            Some((path, v))
        }
        Ok(None) => None,
        Err(p) => {
            problems.push(p);
            None
        }
    }
}

/// A missing default file is fine; a missing explicit file, an unreadable
/// file or a non-UTF-8 file is a problem.
fn read_optional(path: &Path, explicit: bool) -> Result<Option<String>, Problem> {
    let origin = || Origin::File(path.to_path_buf());
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Problem::new(origin(), "(file)", "UTF-8 text (save the file as UTF-8)")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(None),
        Err(e) => Err(Problem::unknown(origin(), format!("a readable file ({e})"))),
    }
}
