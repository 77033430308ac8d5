//! Offsite targets as configured: where a copy of each archive goes
//! (`OFFSITE_URL` and friends for the one target named `offsite`, any number
//! under `offsite:` in `config.yaml`), parsed into [`Location`]s. The pure
//! parsers live here so `config check` can reject a bad URL or bandwidth
//! before anything is uploaded; the `offsite` module does the uploading.

use std::path::PathBuf;

use crate::retention::KeepPolicy;

use super::Secret;

/// One place archives are copied to.
#[derive(Debug, Clone)]
pub struct OffsiteTarget {
    /// `offsite` for the environment's target, else the YAML item's `name:`.
    pub name: String,
    pub location: Location,
    /// S3: the endpoint URL (`https://storage.yandexcloud.net`); `None` = AWS.
    pub endpoint: Option<String>,
    /// S3: the region (`ru-central1`); `None` = `us-east-1`.
    pub region: Option<String>,
    /// S3: path-style addressing (`endpoint/bucket/key`), needed by MinIO and
    /// most non-AWS servers; virtual-host style otherwise.
    pub path_style: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// WebDAV / SFTP user (SFTP: overrides the URL's `user@`).
    pub user: Option<String>,
    /// WebDAV / SFTP password.
    pub password: Option<Secret>,
    /// SFTP: a private key file (OpenSSH format).
    pub key_file: Option<PathBuf>,
    pub key_passphrase: Option<Secret>,
    /// SFTP: the server's host key, pinned: either a fingerprint
    /// (`SHA256:…`, as `ssh-keygen -lf` prints it) or the path of a
    /// known_hosts file.
    pub known_host: Option<String>,
    /// The bases copied here; `None` = every base.
    pub bases: Option<Vec<String>>,
    pub which: Which,
    /// Remote retention, applied after each verified upload.
    pub keep: KeepPolicy,
    /// Upload (and download) speed cap, bytes per second; `None` = no cap.
    pub bandwidth: Option<u64>,
    pub mode: Mode,
    /// Read the object back and compare its SHA-256 after an upload.
    pub read_back: bool,
}

impl OffsiteTarget {
    /// Whether archives of `base` go to this target.
    pub fn takes(&self, base: &str) -> bool {
        match &self.bases {
            None => true,
            Some(list) => list.iter().any(|b| b.eq_ignore_ascii_case(base)),
        }
    }

    /// Every secret of this target, for masking.
    pub fn secrets(&self) -> Vec<&Secret> {
        [
            &self.secret_access_key,
            &self.password,
            &self.key_passphrase,
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Where a target's objects live; names below it are `/`-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `s3://bucket/prefix`
    S3 { bucket: String, prefix: String },
    /// `webdav://host[:port]/path` (http) or `webdavs://…` (https).
    WebDav {
        https: bool,
        host: String,
        port: Option<u16>,
        path: String,
    },
    /// `sftp://[user@]host[:port]/path`
    Sftp {
        user: Option<String>,
        host: String,
        port: u16,
        path: String,
    },
    /// `file:///path`, a plain path, a mapped drive or a UNC `\\nas\share`.
    Folder(PathBuf),
}

impl Location {
    /// The kind's name as metrics and history show it.
    pub fn kind(&self) -> &'static str {
        match self {
            Location::S3 { .. } => "s3",
            Location::WebDav { .. } => "webdav",
            Location::Sftp { .. } => "sftp",
            Location::Folder(_) => "folder",
        }
    }

    /// The location as a URL without credentials, for logs and pages.
    pub fn display(&self) -> String {
        match self {
            Location::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
            Location::WebDav {
                https,
                host,
                port,
                path,
            } => {
                let scheme = if *https { "webdavs" } else { "webdav" };
                match port {
                    Some(p) => format!("{scheme}://{host}:{p}/{path}"),
                    None => format!("{scheme}://{host}/{path}"),
                }
            }
            Location::Sftp {
                user,
                host,
                port,
                path,
            } => match user {
                Some(u) => format!("sftp://{u}@{host}:{port}/{path}"),
                None => format!("sftp://{host}:{port}/{path}"),
            },
            Location::Folder(p) => p.display().to_string(),
        }
    }
}

/// Which archives a target takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Which {
    /// Every good archive.
    #[default]
    Every,
    /// The first good archive of each local day.
    Day,
    /// … of each ISO week (Monday to Sunday).
    Week,
    /// … of each calendar month.
    Month,
}

impl Which {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "every" | "all" => Ok(Which::Every),
            "day" | "daily" => Ok(Which::Day),
            "week" | "weekly" => Ok(Which::Week),
            "month" | "monthly" => Ok(Which::Month),
            other => Err(format!(
                "unknown value {other:?}: use every, day, week or month"
            )),
        }
    }
}

/// How objects are named on a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// One object per archive, under the archive's own name.
    #[default]
    History,
    /// `<prefix>daily.<ext>`, `<prefix>weekly.<ext>`, `<prefix>monthly.<ext>`
    /// replaced in place (uploaded under a temporary name, then moved), for
    /// small quotas.
    Fixed,
}

impl Mode {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "history" => Ok(Mode::History),
            "fixed" => Ok(Mode::Fixed),
            other => Err(format!("unknown value {other:?}: use history or fixed")),
        }
    }
}

/// Parse `OFFSITE_URL`: `s3://bucket/prefix`, `webdav://host/path`,
/// `webdavs://host/path`, `sftp://user@host:port/path`, `file:///path`, or a
/// plain local / UNC path. Credentials in the URL are refused: they belong in
/// their own (secret) settings.
pub fn parse_location(url: &str) -> Result<Location, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("empty: give s3://, webdav(s)://, sftp://, file:// or a folder path".into());
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Ok(Location::Folder(PathBuf::from(url)));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme == "file" {
        // file:///C:/backups, file:///srv/backups, file://nas/share (UNC).
        let path = match rest.strip_prefix('/') {
            Some(p) if p.len() >= 2 && p.as_bytes()[1] == b':' => p.to_string(),
            Some(_) => rest.to_string(),
            None => format!(r"\\{}", rest.replace('/', r"\")),
        };
        if path.trim_matches(['/', '\\']).is_empty() {
            return Err("file:// needs a folder path, e.g. file:///srv/backups".into());
        }
        return Ok(Location::Folder(PathBuf::from(path)));
    }
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, p.trim_matches('/').to_string()),
        None => (rest, String::new()),
    };
    if authority.is_empty() {
        return Err(format!("{scheme}:// needs a host (or bucket) after it"));
    }
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if userinfo.is_some_and(|u| u.contains(':')) {
        return Err(
            "the URL holds a password: put it in OFFSITE_PASSWORD (or the target's password:) instead"
                .into(),
        );
    }
    let split_port = |hp: &str| -> Result<(String, Option<u16>), String> {
        if let Some(h) = hp.strip_prefix('[') {
            // [::1]:22
            let (h, tail) = h
                .split_once(']')
                .ok_or_else(|| format!("unclosed [ in host {hp:?}"))?;
            let port = match tail.strip_prefix(':') {
                Some(p) => Some(p.parse().map_err(|_| format!("bad port {p:?}"))?),
                None => None,
            };
            return Ok((h.to_string(), port));
        }
        match hp.rsplit_once(':') {
            Some((h, p)) => Ok((
                h.to_string(),
                Some(p.parse().map_err(|_| format!("bad port {p:?}"))?),
            )),
            None => Ok((hp.to_string(), None)),
        }
    };
    match scheme.as_str() {
        "s3" => {
            if userinfo.is_some() {
                return Err("s3:// takes no user: use OFFSITE_ACCESS_KEY_ID".into());
            }
            Ok(Location::S3 {
                bucket: authority.to_string(),
                prefix: path,
            })
        }
        "webdav" | "webdavs" => {
            let (host, port) = split_port(hostport)?;
            Ok(Location::WebDav {
                https: scheme == "webdavs",
                host,
                port,
                path,
            })
        }
        "sftp" => {
            let (host, port) = split_port(hostport)?;
            Ok(Location::Sftp {
                user: userinfo.map(str::to_string),
                host,
                port: port.unwrap_or(22),
                path,
            })
        }
        other => Err(format!(
            "unknown scheme {other}://: use s3://, webdav://, webdavs://, sftp:// or file://"
        )),
    }
}

/// Parse a speed cap: `10MiB/s`, `500KB/s`, `2M`, `1048576` (bytes/s).
pub fn parse_bandwidth(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("/s")
        .or_else(|| t.strip_suffix("ps"))
        .unwrap_or(t)
        .trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a speed: write e.g. 10MiB/s or 500KB/s"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        u => {
            return Err(format!(
                "unknown unit {u:?} in {s:?}: use B, KB, KiB, MB, MiB, GB or GiB per second"
            ));
        }
    };
    let v = n * mult;
    if v.is_nan() || v < 1.0 {
        return Err(format!("{s:?} is not a positive speed"));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_every_kind() {
        assert_eq!(
            parse_location("s3://bucket/a/b/").unwrap(),
            Location::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            parse_location("webdavs://webdav.yandex.ru/backups/1c").unwrap(),
            Location::WebDav {
                https: true,
                host: "webdav.yandex.ru".into(),
                port: None,
                path: "backups/1c".into()
            }
        );
        assert_eq!(
            parse_location("webdav://127.0.0.1:8080/x").unwrap(),
            Location::WebDav {
                https: false,
                host: "127.0.0.1".into(),
                port: Some(8080),
                path: "x".into()
            }
        );
        assert_eq!(
            parse_location("sftp://backup@nas:2222/srv/1c").unwrap(),
            Location::Sftp {
                user: Some("backup".into()),
                host: "nas".into(),
                port: 2222,
                path: "srv/1c".into()
            }
        );
        assert_eq!(
            parse_location("sftp://[::1]/x").unwrap(),
            Location::Sftp {
                user: None,
                host: "::1".into(),
                port: 22,
                path: "x".into()
            }
        );
        assert_eq!(
            parse_location("file:///srv/backups").unwrap(),
            Location::Folder("/srv/backups".into())
        );
        assert_eq!(
            parse_location("file:///D:/copies").unwrap(),
            Location::Folder("D:/copies".into())
        );
        assert_eq!(
            parse_location(r"\\nas\share\1c").unwrap(),
            Location::Folder(r"\\nas\share\1c".into())
        );
        assert_eq!(
            parse_location("file://nas/share").unwrap(),
            Location::Folder(r"\\nas\share".into())
        );
    }

    #[test]
    fn bad_urls_say_what_to_do() {
        let e = parse_location("sftp://u:hunter2@h/x").unwrap_err();
        assert!(
            e.contains("OFFSITE_PASSWORD") && !e.contains("hunter2"),
            "{e}"
        );
        assert!(parse_location("ftp://h/x").unwrap_err().contains("sftp://"));
        assert!(parse_location("webdav:///x").unwrap_err().contains("host"));
        assert!(
            parse_location("sftp://h:port/x")
                .unwrap_err()
                .contains("port")
        );
        assert!(parse_location("").is_err());
    }

    #[test]
    fn display_never_has_credentials_and_round_trips() {
        for u in [
            "s3://b/p",
            "webdavs://h/p",
            "webdav://h:81/p",
            "sftp://u@h:22/p",
        ] {
            let l = parse_location(u).unwrap();
            assert_eq!(parse_location(&l.display()).unwrap(), l, "{u}");
        }
    }

    #[test]
    fn bandwidths() {
        assert_eq!(parse_bandwidth("10MiB/s").unwrap(), 10 * 1024 * 1024);
        assert_eq!(parse_bandwidth("500KB/s").unwrap(), 500_000);
        assert_eq!(parse_bandwidth("2M").unwrap(), 2_000_000);
        assert_eq!(parse_bandwidth("1048576").unwrap(), 1_048_576);
        assert_eq!(parse_bandwidth("1.5 MiB/s").unwrap(), 1_572_864);
        assert!(parse_bandwidth("fast").unwrap_err().contains("10MiB/s"));
        assert!(parse_bandwidth("10 parsecs").is_err());
        assert!(parse_bandwidth("0").is_err());
    }

    #[test]
    fn which_and_mode() {
        assert_eq!(Which::parse("Week").unwrap(), Which::Week);
        assert!(Which::parse("yearly").unwrap_err().contains("month"));
        assert_eq!(Mode::parse("fixed").unwrap(), Mode::Fixed);
        assert!(Mode::parse("x").is_err());
    }
}
