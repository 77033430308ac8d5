//! The process table from `/proc` (Linux): `stat` for the parent, name and
//! start time, `status` for the owner's uid (named, with its home, through
//! `/etc/passwd`), `cmdline` for the arguments, `sessionid` for the audit
//! login session. A process that exits while being read is skipped.

use super::{CommandLine, ProcessFacts};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub fn is_elevated() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Whether `pid` runs as our effective uid (`/proc/<pid>` is owned by it).
pub fn same_owner(pid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| m.uid() == me)
}

pub fn terminate(pid: u32) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: a plain kill(2) of one positive pid.
    if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ESRCH) {
        Ok(())
    } else {
        Err(e)
    }
}

pub fn processes(detail: &dyn Fn(&str) -> bool) -> io::Result<Vec<ProcessFacts>> {
    let proc = Path::new("/proc");
    let mut users: Option<HashMap<u32, (String, PathBuf)>> = None;
    let boot = std::fs::read_to_string(proc.join("stat"))
        .ok()
        .and_then(|s| boot_time(&s));
    let (ticks, _) = crate::platform::clock_ticks_and_page_size();
    let mut out = Vec::new();
    for e in std::fs::read_dir(proc)?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let dir = e.path();
        let Some((name, parent, start_ticks)) = std::fs::read_to_string(dir.join("stat"))
            .ok()
            .and_then(|s| parse_stat(&s))
        else {
            continue;
        };
        let mut p = ProcessFacts {
            pid,
            parent: Some(parent),
            name,
            ..ProcessFacts::default()
        };
        if detail(&p.name) {
            let uid = std::fs::read_to_string(dir.join("status"))
                .ok()
                .and_then(|s| status_uid(&s));
            let users = users.get_or_insert_with(|| {
                std::fs::read_to_string("/etc/passwd")
                    .map(|t| passwd(&t))
                    .unwrap_or_default()
            });
            if let Some(uid) = uid {
                match users.get(&uid) {
                    Some((name, home)) => {
                        p.user = Some(name.clone());
                        p.profile_dir = Some(home.clone());
                    }
                    None => p.user = Some(uid.to_string()),
                }
            }
            p.session = std::fs::read_to_string(dir.join("sessionid"))
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .filter(|&s| s != u32::MAX);
            p.started =
                boot.map(|b| b + Duration::from_secs_f64(start_ticks as f64 / ticks.max(1.0)));
            p.command_line = std::fs::read(dir.join("cmdline"))
                .ok()
                .map(|b| split_cmdline(&b))
                .filter(|a| !a.is_empty())
                .map(CommandLine::Args);
        }
        out.push(p);
    }
    out.sort_by_key(|p| p.pid);
    Ok(out)
}

/// Samba keeps its opens to itself (`smbstatus`): none are listed here.
pub fn share_opens(_under: &Path) -> io::Result<Vec<super::ShareOpen>> {
    Ok(Vec::new())
}

/// `btime` of `/proc/stat`: when the machine booted.
fn boot_time(stat: &str) -> Option<SystemTime> {
    let secs: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// Name, parent pid and start time (clock ticks after boot) from
/// `/proc/<pid>/stat`; the name may hold spaces and parentheses.
fn parse_stat(text: &str) -> Option<(String, u32, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_ascii_whitespace().collect();
    // After the name: state, ppid (field 4), ..., starttime (field 22).
    let parent = rest.get(1)?.parse().ok()?;
    let start = rest.get(19)?.parse().ok()?;
    Some((name, parent, start))
}

/// The real uid of `/proc/<pid>/status`.
fn status_uid(text: &str) -> Option<u32> {
    text.lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// uid → (name, home) from `/etc/passwd`.
fn passwd(text: &str) -> HashMap<u32, (String, PathBuf)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let uid = f.get(2)?.parse().ok()?;
            Some((uid, (f.first()?.to_string(), PathBuf::from(f.get(5)?))))
        })
        .collect()
}

/// `/proc/<pid>/cmdline`: arguments separated (and ended) by NUL bytes.
fn split_cmdline(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_gives_name_parent_and_start() {
        let s = "4242 (1cv8c (x)) S 17 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 98765 1000 25 1";
        assert_eq!(parse_stat(s), Some(("1cv8c (x)".into(), 17, 98765)));
        assert_eq!(parse_stat("12 (x) S"), None);
    }

    #[test]
    fn cmdline_status_passwd_and_boot() {
        assert_eq!(
            split_cmdline(b"1cv8c\0ENTERPRISE\0/F/srv/\xd0\x91\xd1\x83\xd1\x85\0"),
            ["1cv8c", "ENTERPRISE", "/F/srv/Бух"]
        );
        assert!(split_cmdline(b"").is_empty());
        assert_eq!(
            status_uid("Name:\tx\nUid:\t1000\t1000\t1000\t1000\n"),
            Some(1000)
        );
        let u = passwd("root:x:0:0:root:/root:/bin/bash\nbuh:x:1001:1001::/home/buh:/bin/sh\n");
        assert_eq!(u[&1001], ("buh".into(), PathBuf::from("/home/buh")));
        assert_eq!(
            boot_time("cpu 1 2 3\nbtime 1700000000\n"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
    }
}
