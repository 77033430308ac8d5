//! Who is inside an infobase: the 1C client processes on this computer
//! (`1cv8`, `1cv8c`, `1cv8s`, `1cv8t`, any case, `.exe` or not) with their
//! OS user, session, start time and the infobase each has open, read from
//! its command line (`/F<path>`, `File="…"` in `/IBConnectionString` or
//! after the launch mode, `/IBName<name>` resolved through the owner's
//! `ibases.v8i`). When the command line cannot be read or does not tell,
//! the base is unknown: never a guess. The agent's own 1C processes (its
//! process tree) are left out. The OS facts come from
//! [`crate::platform::processes`]; everything here is pure but [`clients`].

use crate::platform::{self, CommandLine, ProcessFacts};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Names of 1C client executables, without extension, lowercase.
pub const CLIENT_NAMES: &[&str] = &["1cv8", "1cv8c", "1cv8s", "1cv8t"];

/// Whether a process name is a 1C client.
pub fn is_client(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".exe").unwrap_or(&lower);
    CLIENT_NAMES.contains(&stem)
}

/// The infobase a command line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseRef {
    /// A file infobase folder (`/F`, `File="…"`).
    File(PathBuf),
    /// An entry of the user's list of infobases (`/IBName`).
    Listed(String),
    /// Nothing that names a file infobase (a server base, the launcher's
    /// own window, or no arguments).
    Unknown,
}

/// One 1C client process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Client {
    pub pid: u32,
    /// The executable (`1cv8c.exe`).
    pub program: String,
    /// The OS account; `None` when the OS would not say.
    pub user: Option<String>,
    /// Windows: the RDP / console session id; Linux: the login session.
    pub session: Option<u32>,
    /// Windows: that session's state (`active`, `disconnected`, …).
    pub session_state: Option<platform::SessionState>,
    /// When the process started (RFC 3339 in JSON).
    #[serde(serialize_with = "timestamp_text")]
    pub since: Option<jiff::Timestamp>,
    /// The infobase folder it has open; `None`: unknown.
    pub base: Option<PathBuf>,
    /// The `/IBName` it was started with, when it used one.
    pub listed_as: Option<String>,
}

fn timestamp_text<S: serde::Serializer>(
    t: &Option<jiff::Timestamp>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_string()),
        None => s.serialize_none(),
    }
}

/// Split a raw Windows command line the way 1C reads it: on blanks outside
/// double quotes, the quotes kept (`/F"C:\My base"` stays one token).
pub fn split_raw(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in raw.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                cur.push(ch);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A value with its surrounding quotes removed and `""` undoubled.
fn unquote(v: &str) -> String {
    let v = v.trim();
    match v.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        Some(inner) if v.len() >= 2 => inner.replace("\"\"", "\""),
        _ => v.to_string(),
    }
}

/// The `File` folder of a connection string (`File="C:\b";Usr=…`, quotes
/// maybe doubled as inside a quoted argument); `None` for a server base.
pub fn connection_file(conn: &str) -> Option<PathBuf> {
    let conn = unquote(conn);
    // `File=` at the start or after a `;`, not inside another value.
    let at = conn
        .as_bytes()
        .windows(5)
        .enumerate()
        .filter(|(_, w)| w.eq_ignore_ascii_case(b"file="))
        .map(|(i, _)| i)
        .find(|&i| i == 0 || conn[..i].trim_end().ends_with(';'))?;
    let rest = conn[at + 5..].trim_start();
    let value = match rest.strip_prefix('"') {
        Some(q) => q.split('"').next().unwrap_or(""),
        None => rest.split(';').next().unwrap_or(""),
    };
    let value = value.trim();
    (!value.is_empty()).then(|| PathBuf::from(value))
}

/// An option `name` (case-insensitive) at `tokens[i]`: its value glued
/// (`/Fpath`, `/F"path"`) or the next token (`/F path`), and how many
/// tokens it took.
fn option_value(tokens: &[String], i: usize, name: &str) -> Option<(String, usize)> {
    let t = &tokens[i];
    let head = t.get(..name.len())?;
    if !head.eq_ignore_ascii_case(name) {
        return None;
    }
    let rest = &t[name.len()..];
    if rest.is_empty() {
        let next = tokens.get(i + 1)?;
        // Another option (`/N`, `/DisableStartupDialogs`), not a path.
        if next.starts_with('/') && !next[1..].contains(['/', '\\']) {
            return None;
        }
        return Some((unquote(next), 2));
    }
    Some((unquote(rest), 1))
}

/// Which infobase a 1C command line (program first) names.
pub fn base_ref(tokens: &[String]) -> BaseRef {
    let mut i = 1;
    while i < tokens.len() {
        let t = &tokens[i];
        if let Some((v, _)) = option_value(tokens, i, "/IBConnectionString") {
            return connection_file(&v).map_or(BaseRef::Unknown, BaseRef::File);
        }
        if let Some((v, _)) = option_value(tokens, i, "/IBName") {
            return if v.is_empty() {
                BaseRef::Unknown
            } else {
                BaseRef::Listed(v)
            };
        }
        let is_f = t.starts_with('/') && t[1..].starts_with(['F', 'f']);
        if is_f && let Some((v, _)) = option_value(tokens, i, "/F") {
            return if v.is_empty() {
                BaseRef::Unknown
            } else {
                BaseRef::File(PathBuf::from(v))
            };
        }
        if t.get(..5).is_some_and(|h| h.eq_ignore_ascii_case("file="))
            || t.get(..6)
                .is_some_and(|h| h.eq_ignore_ascii_case("\"file="))
        {
            return connection_file(t).map_or(BaseRef::Unknown, BaseRef::File);
        }
        i += 1;
    }
    BaseRef::Unknown
}

/// The `[Name]` sections of an `ibases.v8i` with a file infobase
/// (`Connect=File="…";`): lowercased name → folder.
pub fn parse_ibases(text: &str) -> HashMap<String, PathBuf> {
    let mut out = HashMap::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.trim().to_lowercase());
        } else if let Some((k, v)) = line.split_once('=')
            && k.trim().eq_ignore_ascii_case("Connect")
            && let Some(name) = &section
            && let Some(dir) = connection_file(v.trim())
        {
            out.insert(name.clone(), dir);
        }
    }
    out
}

/// Where 1C keeps a user's list of infobases, under their profile folder.
pub fn ibases_file(profile: &Path) -> PathBuf {
    if cfg!(windows) {
        profile.join(r"AppData\Roaming\1C\1CEStart\ibases.v8i")
    } else {
        profile.join(".1C/1cestart/ibases.v8i")
    }
}

/// The 1C clients among `all` (the whole process table, details read for
/// clients), without `me` and its descendants; `lists` reads a user's
/// `ibases.v8i` (by profile folder) for `/IBName`.
pub fn clients_in(
    all: &[ProcessFacts],
    me: u32,
    lists: &mut dyn FnMut(&Path) -> Option<String>,
) -> Vec<Client> {
    let mut parsed: HashMap<PathBuf, HashMap<String, PathBuf>> = HashMap::new();
    all.iter()
        .filter(|p| is_client(&p.name))
        .filter(|p| !platform::ancestors(all, p.pid).contains(&me))
        .map(|p| {
            let tokens = match &p.command_line {
                Some(CommandLine::Args(a)) => a.clone(),
                Some(CommandLine::Raw(r)) => split_raw(r),
                None => Vec::new(),
            };
            let (base, listed_as) = match base_ref(&tokens) {
                BaseRef::File(dir) => (Some(dir), None),
                BaseRef::Listed(name) => {
                    let dir = p.profile_dir.as_ref().and_then(|prof| {
                        parsed
                            .entry(prof.clone())
                            .or_insert_with(|| {
                                lists(prof).map(|t| parse_ibases(&t)).unwrap_or_default()
                            })
                            .get(&name.to_lowercase())
                            .cloned()
                    });
                    (dir, Some(name))
                }
                BaseRef::Unknown => (None, None),
            };
            Client {
                pid: p.pid,
                program: p.name.clone(),
                user: p.user.clone(),
                session: p.session,
                session_state: p.session_state,
                since: p.started.and_then(|t| jiff::Timestamp::try_from(t).ok()),
                base,
                listed_as,
            }
        })
        .collect()
}

/// Every 1C client on this computer but ours.
pub fn clients() -> std::io::Result<Vec<Client>> {
    let all = platform::processes(&is_client)?;
    Ok(clients_in(&all, std::process::id(), &mut |profile| {
        let bytes = std::fs::read(ibases_file(profile)).ok()?;
        Some(super::outlog::decode(&bytes))
    }))
}

/// `1Cv8.1CD` of a base opened from another computer through this
/// computer's share (the agent runs on the file server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShareClient {
    pub user: String,
    /// The server's id of the open.
    pub open_id: u32,
}

/// Who has `base`'s `1Cv8.1CD` open over this computer's shares (Windows
/// only; an error without administrator rights).
pub fn over_share(base: &Path) -> std::io::Result<Vec<ShareClient>> {
    let cd = platform::path_key(&base.join("1Cv8.1CD"));
    Ok(platform::share_opens(base)?
        .into_iter()
        .filter(|o| platform::path_key(&o.path) == cd)
        .map(|o| ShareClient {
            user: o.user,
            open_id: o.id,
        })
        .collect())
}

/// Whether a client has the infobase in `base` open.
pub fn is_in(client: &Client, base: &Path) -> bool {
    client
        .base
        .as_ref()
        .is_some_and(|b| platform::path_key(b) == platform::path_key(base))
}

/// The clients inside `base`, then those whose base is unknown (they may
/// be inside too).
pub fn inside<'a>(clients: &'a [Client], base: &Path) -> (Vec<&'a Client>, Vec<&'a Client>) {
    let ours = clients.iter().filter(|c| is_in(c, base)).collect();
    let unknown = clients.iter().filter(|c| c.base.is_none()).collect();
    (ours, unknown)
}

/// `ivan (pid 812, session 3, since 2024-03-01 09:14)`, times in `tz`.
pub fn describe(c: &Client, tz: &jiff::tz::TimeZone) -> String {
    let mut parts = vec![format!("pid {}", c.pid)];
    match (c.session, c.session_state) {
        (Some(s), Some(state)) => parts.push(format!("session {s}, {}", state.as_str())),
        (Some(s), None) => parts.push(format!("session {s}")),
        _ => {}
    }
    if let Some(t) = c.since {
        parts.push(format!(
            "since {}",
            t.to_zoned_datetime(tz.clone()).strftime("%Y-%m-%d %H:%M")
        ));
    }
    format!(
        "{} ({})",
        c.user.as_deref().unwrap_or("unknown user"),
        parts.join(", ")
    )
}

/// Who was inside `base` right after a dump failed on the exclusive lock,
/// in words for the error: `inside: ivan (pid 812, …); unknown base: …`,
/// or why it cannot be told. Empty when nobody is seen.
pub fn who_is_inside(base: &Path, tz: &jiff::tz::TimeZone) -> String {
    let all = match clients() {
        Ok(c) => c,
        Err(e) => return format!("cannot list 1C processes to tell who is inside: {e}"),
    };
    let (ours, unknown) = inside(&all, base);
    let list = |v: &[&Client]| {
        v.iter()
            .map(|c| describe(c, tz))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    if !ours.is_empty() {
        out.push(format!("inside: {}", list(&ours)));
    }
    match over_share(base) {
        Ok(shared) if !shared.is_empty() => {
            let users: Vec<&str> = shared.iter().map(|s| s.user.as_str()).collect();
            out.push(format!(
                "open over the network share by: {}",
                users.join(", ")
            ));
        }
        Ok(_) => {}
        Err(e) => tracing::debug!("cannot list the share's open files: {e}"),
    }
    if !unknown.is_empty() {
        out.push(format!("1C open on an unknown base: {}", list(&unknown)));
    }
    out.join("; ")
}

/// The warning sent before a scheduled backup of a base that users are
/// inside (the agent's `daemon::warnings` makes it; the bot tells it).
#[derive(Debug, Clone)]
pub struct Warning {
    pub base: String,
    /// The backup starts in this many minutes.
    pub minutes: u32,
    /// When it starts.
    pub at: jiff::Timestamp,
    /// The 1C clients of the base on this computer.
    pub clients: Vec<Client>,
    /// Opens of its `1Cv8.1CD` over this computer's shares.
    pub shares: Vec<ShareClient>,
}

/// How many of `clients` are inside each of `bases` (name, folder), in
/// the order given (zeros kept).
pub fn count_per_base<'a>(
    clients: &[Client],
    bases: impl IntoIterator<Item = (&'a str, &'a Path)>,
) -> Vec<(String, u64)> {
    bases
        .into_iter()
        .map(|(name, path)| {
            let n = clients.iter().filter(|c| is_in(c, path)).count();
            (name.to_string(), n as u64)
        })
        .collect()
}

/// Phrases a run's stored error holds when it failed because users were
/// inside: 1C's exclusive-lock refusal as explained (dump, ibcmd) and the
/// in-use refusal of a copy (both are our own words, in English).
const BLOCKED_MARKS: [&str; 2] = [
    "so 1C could not lock it exclusively",
    "a copy taken while 1C is running can be inconsistent",
];

/// The phrases [`blocked_by_users`] looks for, for a history query.
pub fn blocked_marks() -> &'static [&'static str] {
    &BLOCKED_MARKS
}

/// Whether a failed run's stored error says users inside blocked it.
pub fn blocked_by_users(error: &str) -> bool {
    BLOCKED_MARKS.iter().any(|m| error.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_of_runs_blocked_by_users_are_told_apart() {
        let explained = crate::onec::Explanation::UsersConnected.to_string();
        assert!(blocked_by_users(&format!(
            "1C dump failed (exit code 1): {explained}; inside: ivan (pid 5)"
        )));
        let in_use = crate::onec::InUse {
            base: PathBuf::from("/srv/buh"),
            evidence: crate::onec::Evidence::LockFile(PathBuf::from("/srv/buh/1Cv8.1CL")),
        };
        assert!(blocked_by_users(&in_use.to_string()), "{in_use}");
        for other in [
            crate::onec::Explanation::WrongCredentials.to_string(),
            crate::onec::Explanation::Hang.to_string(),
            "not enough free space in /b".to_string(),
        ] {
            assert!(!blocked_by_users(&other), "{other}");
        }
    }

    #[test]
    fn clients_are_counted_per_configured_base() {
        let c = |pid, base: Option<&str>| Client {
            pid,
            program: "1cv8c".into(),
            user: Some("buh".into()),
            session: None,
            session_state: None,
            since: None,
            base: base.map(PathBuf::from),
            listed_as: None,
        };
        let all = [
            c(1, Some("/srv/a")),
            c(2, Some("/srv/a")),
            c(3, None),
            c(4, Some("/srv/x")),
        ];
        assert_eq!(
            count_per_base(
                &all,
                [("a", Path::new("/srv/a")), ("b", Path::new("/srv/b"))]
            ),
            [("a".to_string(), 2), ("b".to_string(), 0)]
        );
    }

    fn toks(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn raw(s: &str) -> BaseRef {
        base_ref(&split_raw(s))
    }

    fn file(p: &str) -> BaseRef {
        BaseRef::File(PathBuf::from(p))
    }

    #[test]
    fn client_names() {
        for n in ["1cv8", "1CV8C.EXE", "1cv8s.exe", "1cv8t", "1Cv8c"] {
            assert!(is_client(n), "{n}");
        }
        for n in [
            "1cv8x",
            "ragent.exe",
            "1cv8.exe.bak",
            "rphost",
            "1cestart.exe",
        ] {
            assert!(!is_client(n), "{n}");
        }
    }

    #[test]
    fn windows_command_lines_as_1c_starts_them() {
        assert_eq!(
            raw(
                r#""C:\Program Files\1cv8\8.3.24.1691\bin\1cv8c.exe" ENTERPRISE /F"D:\Базы\Бухгалтерия 3.0" /N"Иванов" /P"x y""#
            ),
            file(r"D:\Базы\Бухгалтерия 3.0")
        );
        assert_eq!(
            raw(r#"1cv8.exe ENTERPRISE /FD:\Bases\Trade /DisableStartupMessages"#),
            file(r"D:\Bases\Trade")
        );
        assert_eq!(
            raw(r#"1cv8.exe DESIGNER /F "D:\Bases\My base" /DumpIB x.dt"#),
            file(r"D:\Bases\My base")
        );
        assert_eq!(
            raw(
                r#"1cv8c.exe ENTERPRISE /IBConnectionString"File=""\\nas\1c\Зарплата"";Usr=""Петров"";""#
            ),
            file(r"\\nas\1c\Зарплата")
        );
        assert_eq!(
            raw(r#"1cv8c.exe /IBConnectionString "Srvr=""srv"";Ref=""b"";""#),
            BaseRef::Unknown
        );
        assert_eq!(
            raw(r#"1cv8.exe ENTERPRISE File="C:\Bases\Buh";"#),
            file(r"C:\Bases\Buh")
        );
        assert_eq!(
            raw(r#"1cv8c.exe ENTERPRISE /IBName"Бухгалтерия предприятия (демо)""#),
            BaseRef::Listed("Бухгалтерия предприятия (демо)".into())
        );
        assert_eq!(raw(r#"1cv8s.exe ENTERPRISE /S"srv\buh""#), BaseRef::Unknown);
        assert_eq!(raw("1cv8.exe"), BaseRef::Unknown);
        assert_eq!(raw(""), BaseRef::Unknown);
    }

    #[test]
    fn linux_argv() {
        assert_eq!(
            base_ref(&toks(&[
                "/opt/1cv8/x86_64/8.3.24/1cv8c",
                "ENTERPRISE",
                "/F/srv/1c/Бух"
            ])),
            file("/srv/1c/Бух")
        );
        assert_eq!(
            base_ref(&toks(&["1cv8c", "ENTERPRISE", "/F", "/srv/1c/my base"])),
            file("/srv/1c/my base")
        );
        assert_eq!(
            base_ref(&toks(&["1cv8c", "ENTERPRISE", "/IBName", "Склад"])),
            BaseRef::Listed("Склад".into())
        );
        // `/F` followed by another option tells nothing.
        assert_eq!(
            base_ref(&toks(&["1cv8c", "ENTERPRISE", "/F", "/N", "x"])),
            BaseRef::Unknown
        );
    }

    #[test]
    fn connection_strings() {
        assert_eq!(
            connection_file(r#"File="C:\1C\Base";Usr="a";"#),
            Some(PathBuf::from(r"C:\1C\Base"))
        );
        assert_eq!(
            connection_file(r#""File=""C:\1C\Base"";""#),
            Some(PathBuf::from(r"C:\1C\Base"))
        );
        assert_eq!(
            connection_file("file=/srv/b;"),
            Some(PathBuf::from("/srv/b"))
        );
        assert_eq!(connection_file(r#"Srvr="s";Ref="b";"#), None);
        assert_eq!(connection_file(r#"Usr="profile=x";"#), None);
        assert_eq!(
            connection_file(r#"Usr="profile=x";File="/srv/c";"#),
            Some(PathBuf::from("/srv/c"))
        );
        assert_eq!(connection_file(r#"File="";"#), None);
    }

    #[test]
    fn ibases_list_with_cyrillic_bom_and_server_bases() {
        let text = "\u{feff}[Бухгалтерия предприятия (демо)]\r\n\
            Connect=File=\"C:\\Users\\buh\\Documents\\InfoBase\";\r\n\
            ID=2d6c1c1c-0000-4000-8000-000000000000\r\n\
            OrderInList=16384\r\nFolder=/\r\n\
            [Зарплата на сервере]\r\nConnect=Srvr=\"srv\";Ref=\"zup\";\r\n\
            [Склад]\r\nConnect=File=\"\\\\nas\\1c\\Склад\";Usr=\"\";\r\n";
        let m = parse_ibases(text);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(
            m["бухгалтерия предприятия (демо)"],
            PathBuf::from(r"C:\Users\buh\Documents\InfoBase")
        );
        assert_eq!(m["склад"], PathBuf::from(r"\\nas\1c\Склад"));
    }

    fn proc(pid: u32, parent: u32, name: &str, args: &[&str]) -> ProcessFacts {
        ProcessFacts {
            pid,
            parent: Some(parent),
            name: name.into(),
            user: Some("buh".into()),
            session: Some(2),
            session_state: None,
            started: Some(std::time::SystemTime::UNIX_EPOCH),
            command_line: (!args.is_empty()).then(|| CommandLine::Args(toks(args))),
            profile_dir: Some(PathBuf::from("/home/buh")),
        }
    }

    #[test]
    fn clients_resolve_listed_names_skip_our_tree_and_other_programs() {
        let all = [
            proc(1, 0, "init", &[]),
            proc(10, 1, "1cv8c", &["1cv8c", "ENTERPRISE", "/F/srv/a"]),
            proc(11, 1, "1cv8c", &["1cv8c", "ENTERPRISE", "/IBName", "Склад"]),
            proc(
                12,
                1,
                "1cv8c",
                &["1cv8c", "ENTERPRISE", "/IBName", "Нет такой"],
            ),
            proc(13, 1, "1cv8", &[]),
            proc(14, 1, "notepad", &["notepad", "ENTERPRISE", "/F/srv/a"]),
            proc(100, 1, "onec-backup-bot", &[]),
            proc(101, 100, "1cv8", &["1cv8", "DESIGNER", "/F/srv/a"]),
        ];
        let mut reads = 0;
        let got = clients_in(&all, 100, &mut |prof| {
            reads += 1;
            assert_eq!(prof, Path::new("/home/buh"));
            Some("[склад]\nConnect=File=\"/srv/b\";\n".into())
        });
        assert_eq!(reads, 1, "one read per profile");
        let seen: Vec<(u32, Option<&str>, Option<&str>)> = got
            .iter()
            .map(|c| {
                (
                    c.pid,
                    c.base.as_deref().and_then(Path::to_str),
                    c.listed_as.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (10, Some("/srv/a"), None),
                (11, Some("/srv/b"), Some("Склад")),
                (12, None, Some("Нет такой")),
                (13, None, None),
            ]
        );
        let (ours, unknown) = inside(&got, Path::new("/srv/a"));
        assert_eq!(ours.iter().map(|c| c.pid).collect::<Vec<_>>(), [10]);
        assert_eq!(unknown.iter().map(|c| c.pid).collect::<Vec<_>>(), [12, 13]);
        let tz = jiff::tz::TimeZone::UTC;
        assert_eq!(
            describe(ours[0], &tz),
            "buh (pid 10, session 2, since 1970-01-01 00:00)"
        );
        // A Windows client left in a closed RDP window says so.
        let mut left = ours[0].clone();
        left.session_state = Some(platform::SessionState::Disconnected);
        assert_eq!(
            describe(&left, &tz),
            "buh (pid 10, session 2, disconnected, since 1970-01-01 00:00)"
        );
    }
}
