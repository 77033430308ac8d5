//! The process table: count, and the top processes by CPU and by resident
//! memory. On Linux from `/proc/[pid]/stat` and `/proc/[pid]/status`, with
//! uids named through `/etc/passwd` under the same root; per-process CPU is
//! the share of one core over the last sampling interval (the first time a
//! process is seen: since it started), so it can exceed 100 on busy
//! multi-threaded processes, as in `top` and psutil.

use super::MetricsError;
use serde::Serialize;
use std::collections::HashMap;

#[cfg(unix)]
#[path = "process/linux.rs"]
mod sys;
#[cfg(windows)]
#[path = "process/windows.rs"]
mod sys;
pub(crate) use sys::{ProcState, read};

/// One process as the collectors see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcInfo {
    pub pid: u32,
    /// Executable name (`1cv8c.exe` on Windows, the 15-byte `comm` on Linux).
    pub name: String,
    /// Owner's account name (`DOMAIN\user` is shortened to `user`); the uid
    /// as text when it has no name.
    pub user: Option<String>,
    /// Percent of one core over the last interval.
    pub cpu_percent: f64,
    pub rss_bytes: u64,
}

/// One entry of a top list: the process and its place (its fields are
/// read through it, as `top.name`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopProcess {
    /// 1 = the biggest.
    pub rank: u32,
    /// Its `pid` is kept for the JSON view; exporters must not use it as a
    /// label.
    #[serde(flatten)]
    pub process: ProcInfo,
}

impl std::ops::Deref for TopProcess {
    type Target = ProcInfo;
    fn deref(&self) -> &ProcInfo {
        &self.process
    }
}

/// Process summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Processes {
    pub count: u64,
    pub top_cpu: Vec<TopProcess>,
    pub top_memory: Vec<TopProcess>,
}

/// Count and top-`n` lists (ties broken by lower pid, so output is stable).
pub fn summarize(procs: &[ProcInfo], n: usize) -> Processes {
    let top = |key: &dyn Fn(&ProcInfo) -> f64| -> Vec<TopProcess> {
        let mut v: Vec<&ProcInfo> = procs.iter().collect();
        v.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.pid.cmp(&b.pid)));
        v.into_iter()
            .take(n)
            .enumerate()
            .map(|(i, p)| TopProcess {
                rank: i as u32 + 1,
                process: p.clone(),
            })
            .collect()
    };
    Processes {
        count: procs.len() as u64,
        top_cpu: top(&|p| p.cpu_percent),
        top_memory: top(&|p| p.rss_bytes as f64),
    }
}

/// The fields of `/proc/[pid]/stat` we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidStat {
    pub pid: u32,
    pub comm: String,
    /// utime + stime, clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot, clock ticks.
    pub start_ticks: u64,
    pub rss_pages: u64,
}

/// Parse `/proc/[pid]/stat` (the name may hold spaces and parentheses).
pub fn parse_pid_stat(text: &str) -> Result<PidStat, MetricsError> {
    let bad = |d: &str| MetricsError::parse("/proc/[pid]/stat", format!("{d}: {text:?}"));
    let open = text.find('(').ok_or_else(|| bad("no '('"))?;
    let close = text.rfind(')').ok_or_else(|| bad("no ')'"))?;
    let pid = text[..open].trim().parse().map_err(|_| bad("bad pid"))?;
    let comm = text[open + 1..close].to_string();
    let rest: Vec<&str> = text[close + 1..].split_ascii_whitespace().collect();
    if rest.len() < 22 {
        return Err(bad("too few fields"));
    }
    let n = |i: usize| rest[i].parse::<u64>().unwrap_or(0);
    Ok(PidStat {
        pid,
        comm,
        cpu_ticks: n(11) + n(12),
        start_ticks: n(19),
        rss_pages: n(21),
    })
}

/// The real uid (first number of the `Uid:` line) of `/proc/[pid]/status`.
pub fn parse_status_uid(text: &str) -> Option<u32> {
    text.lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_ascii_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// uid → name from `/etc/passwd`.
pub fn parse_passwd(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.get(2)?.parse().ok()?, f.first()?.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, cpu: f64, rss: u64) -> ProcInfo {
        ProcInfo {
            pid,
            name: format!("p{pid}"),
            user: None,
            cpu_percent: cpu,
            rss_bytes: rss,
        }
    }

    #[test]
    fn top_lists_are_ranked_and_cut() {
        let procs = [
            p(1, 5.0, 100),
            p(2, 50.0, 10),
            p(3, 5.0, 1000),
            p(4, 0.0, 500),
        ];
        let s = summarize(&procs, 2);
        assert_eq!(s.count, 4);
        let cpu: Vec<_> = s.top_cpu.iter().map(|t| (t.rank, t.pid)).collect();
        assert_eq!(cpu, [(1, 2), (2, 1)]);
        let mem: Vec<_> = s.top_memory.iter().map(|t| (t.rank, t.pid)).collect();
        assert_eq!(mem, [(1, 3), (2, 4)]);
    }

    #[test]
    fn stat_with_parens_in_name() {
        let s = parse_pid_stat(
            "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 500 1000 25 18446744073709551615",
        )
        .unwrap();
        assert_eq!(s.pid, 42);
        assert_eq!(s.comm, "a (b) c");
        assert_eq!(s.cpu_ticks, 10);
        assert_eq!(s.start_ticks, 500);
        assert_eq!(s.rss_pages, 25);
    }

    #[test]
    fn passwd_and_status_uid() {
        let u = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n# c\nivan:x:1000:1000::/home/ivan:/bin/sh\n",
        );
        assert_eq!(u.get(&1000).map(String::as_str), Some("ivan"));
        assert_eq!(
            parse_status_uid("Name:\tx\nUid:\t1000\t1000\t1000\t1000\n"),
            Some(1000)
        );
    }
}
