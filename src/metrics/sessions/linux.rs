//! Sessions from utmp (`/var/run/utmp`): the binary `struct utmp` of glibc on
//! 64-bit Linux, 384 bytes per record; only `USER_PROCESS` records count.
//! utmp has no idle or disconnected state, so every session is active.

use super::{Session, SessionKind, SessionSource, SessionState};
use crate::metrics::MetricsError;
use std::path::PathBuf;

/// Size of one glibc `struct utmp` record.
pub const UTMP_RECORD_SIZE: usize = 384;
const USER_PROCESS: i16 = 7;
const OFF_PID: usize = 4;
const OFF_LINE: usize = 8;
const OFF_USER: usize = 44;
const OFF_HOST: usize = 76;

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).trim().to_string()
}

/// Kind of a utmp session from its line and host: `xrdp` in either, or an X
/// display `:10` and above (xrdp's first display) is RDP; a lower display is
/// the local console; any other host is SSH; no host is a tty.
pub fn classify_utmp(line: &str, host: &str) -> SessionKind {
    if line.to_ascii_lowercase().contains("xrdp") || host.to_ascii_lowercase().contains("xrdp") {
        return SessionKind::Rdp;
    }
    if let Some(display) = host.strip_prefix(':') {
        let n: u32 = display
            .split('.')
            .next()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        return if n >= 10 {
            SessionKind::Rdp
        } else {
            SessionKind::Console
        };
    }
    if !host.is_empty() {
        SessionKind::Ssh
    } else {
        SessionKind::Tty
    }
}

/// Sessions in a utmp file's bytes (a trailing partial record is ignored).
pub fn parse_utmp(bytes: &[u8]) -> Vec<Session> {
    bytes
        .chunks_exact(UTMP_RECORD_SIZE)
        .filter(|r| i16::from_ne_bytes([r[0], r[1]]) == USER_PROCESS)
        .filter_map(|r| {
            let user = cstr(&r[OFF_USER..OFF_USER + 32]);
            if user.is_empty() {
                return None;
            }
            let line = cstr(&r[OFF_LINE..OFF_LINE + 32]);
            let host = cstr(&r[OFF_HOST..OFF_HOST + 256]);
            let pid =
                i32::from_ne_bytes([r[OFF_PID], r[OFF_PID + 1], r[OFF_PID + 2], r[OFF_PID + 3]]);
            Some(Session {
                id: pid.max(0) as u32,
                user,
                kind: classify_utmp(&line, &host),
                state: SessionState::Active,
                host,
                line,
            })
        })
        .collect()
}

/// Reads a utmp file each round; a missing file means nobody is logged in
/// (containers have none).
pub struct UtmpSource {
    path: PathBuf,
}

impl UtmpSource {
    pub fn new(path: PathBuf) -> Self {
        UtmpSource { path }
    }
}

impl SessionSource for UtmpSource {
    fn sessions(&mut self) -> Result<Vec<Session>, MetricsError> {
        match std::fs::read(&self.path) {
            Ok(b) => Ok(parse_utmp(&b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(MetricsError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: i16, pid: i32, line: &str, user: &str, host: &str) -> Vec<u8> {
        let mut r = vec![0u8; UTMP_RECORD_SIZE];
        r[0..2].copy_from_slice(&kind.to_ne_bytes());
        r[OFF_PID..OFF_PID + 4].copy_from_slice(&pid.to_ne_bytes());
        r[OFF_LINE..OFF_LINE + line.len()].copy_from_slice(line.as_bytes());
        r[40..44].copy_from_slice(b"ts/0");
        r[OFF_USER..OFF_USER + user.len()].copy_from_slice(user.as_bytes());
        r[OFF_HOST..OFF_HOST + host.len()].copy_from_slice(host.as_bytes());
        r
    }

    #[test]
    fn utmp_records_are_classified_and_dead_ones_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("utmp");
        let mut bytes = record(2, 0, "~", "reboot", "6.1.0");
        bytes.extend(record(7, 1201, "pts/0", "ivan", "192.168.1.5"));
        bytes.extend(record(7, 901, "tty1", "root", ""));
        bytes.extend(record(7, 1502, "pts/1", "buh", ":10"));
        bytes.extend(record(8, 1100, "pts/2", "gone", "10.0.0.9"));
        std::fs::write(&path, &bytes).unwrap();
        let got = UtmpSource::new(path).sessions().unwrap();
        let s = |id, user: &str, kind, host: &str, line: &str| Session {
            id,
            user: user.into(),
            kind,
            state: SessionState::Active,
            host: host.into(),
            line: line.into(),
        };
        assert_eq!(
            got,
            [
                s(1201, "ivan", SessionKind::Ssh, "192.168.1.5", "pts/0"),
                s(901, "root", SessionKind::Tty, "", "tty1"),
                s(1502, "buh", SessionKind::Rdp, ":10", "pts/1"),
            ]
        );
        let counts = super::super::Sessions::from_sessions(got);
        assert_eq!((counts.logged_users, counts.active_rdp), (3, 1));
    }

    #[test]
    fn utmp_line_and_host_rules() {
        assert_eq!(classify_utmp("xrdp/0", ""), SessionKind::Rdp);
        assert_eq!(classify_utmp("pts/3", ":0"), SessionKind::Console);
        assert_eq!(classify_utmp("pts/3", ":11.0"), SessionKind::Rdp);
    }

    #[test]
    fn missing_utmp_is_nobody_logged_in() {
        let mut src = UtmpSource::new(PathBuf::from("/definitely/not/here/utmp"));
        assert!(src.sessions().unwrap().is_empty());
    }
}
