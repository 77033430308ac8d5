//! One raw value at a time: checking a string against its [`Kind`] into a
//! typed value (`Err` is the expected form, for the problem text), and how
//! a value is shown (secrets masked, URL credentials removed, query strings
//! masked).

use super::keys::Kind;
use crate::logging::mask::userinfo_end;
use crate::retention::KeepPolicy;
use crate::schedule::{QuietHours, Schedule};
use jiff::SignedDuration;
use jiff::tz::TimeZone;

/// A validated value, by kind.
#[derive(Debug, Clone)]
pub(super) enum Typed {
    Str(String),
    /// Several values (a [`Kind::SecretList`]).
    List(Vec<String>),
    Int(i64),
    Bool(bool),
    Ids(Vec<i64>),
    Tz(TimeZone),
    Dur(SignedDuration),
    Cron(Box<Schedule>),
    Window(QuietHours),
}

/// Check one raw value against its kind. `Err` is the expected form.
pub(super) fn validate(kind: Kind, raw: &str) -> Result<Typed, String> {
    let v = raw.trim();
    match kind {
        Kind::Str | Kind::Secret | Kind::Path => {
            if kind == Kind::Path && v.contains('\0') {
                return Err("a path without NUL characters".into());
            }
            Ok(Typed::Str(v.to_string()))
        }
        Kind::SecretList => Ok(Typed::List(split_list(v))),
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
    let after = userinfo_end(rest).map_or(rest, |at| &rest[at + 1..]);
    let host = after.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || v.chars().any(char::is_whitespace) {
        return Err(format!("{} with a host name", expected()));
    }
    Ok(())
}

/// The items of a list value: comma-separated, or each ended by a NUL
/// when it came from a YAML list (whose items may hold commas); each
/// trimmed, empty ones dropped.
pub(super) fn split_list(v: &str) -> Vec<String> {
    let sep = if v.contains('\0') { '\0' } else { ',' };
    v.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `url` without its user-info part and with its query string and fragment
/// masked (`https://user:pass@host/p?token=x` → `https://host/p?***`): how
/// every URL is shown in `config check`, problems, logs and `/api/health`.
/// A password typed with a raw `/`, `?` or `#` is removed too (see
/// [`userinfo_end`]).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let rest = userinfo_end(rest).map_or(rest, |at| &rest[at + 1..]);
    match rest.find(['?', '#']) {
        Some(q) => format!("{scheme}://{}{}***", &rest[..q], &rest[q..q + 1]),
        None => format!("{scheme}://{rest}"),
    }
}

/// The secret part of a URL's user-info: the password, or the user when
/// there is no password (`https://token@host`).
pub(super) fn url_credential(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let info = &rest[..userinfo_end(rest)?];
    match info.split_once(':') {
        Some((_, pass)) if !pass.is_empty() => Some(pass),
        Some((user, _)) => Some(user),
        None => Some(info),
    }
    .filter(|s| !s.is_empty())
}

/// How a value is shown by `config check` and in problems.
pub(super) fn show(kind: Kind, value: &str) -> String {
    match kind {
        Kind::Url | Kind::ProxyUrl => redact_url(value),
        Kind::Secret | Kind::SecretList => "***".into(),
        Kind::SecretUrl => match value.split_once("://") {
            Some((scheme, rest)) => {
                let rest = userinfo_end(rest).map_or(rest, |at| &rest[at + 1..]);
                let host = rest.split(['/', '?', '#']).next().unwrap_or("");
                format!("{scheme}://{host}/***")
            }
            None => "***".into(),
        },
        _ => value.to_string(),
    }
}
