//! Logged-in sessions: who, how (RDP, console, SSH, tty) and in what state,
//! with the counts the dashboards use (logged users, active RDP sessions).
//! The OS API sits behind [`SessionSource`] so tests can fake it: utmp on
//! Linux (`linux.rs`), the WTS API on Windows (`windows.rs`).

use super::{MetricsError, MetricsOptions};
use serde::Serialize;
use std::collections::BTreeSet;

#[cfg(unix)]
mod linux;
#[cfg(windows)]
mod windows;

#[cfg(windows)]
pub use self::windows::WtsSource;
#[cfg(unix)]
pub use linux::{UTMP_RECORD_SIZE, UtmpSource, classify_utmp, parse_utmp};

/// How a session reached the host. A closed set, safe as a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    Rdp,
    Console,
    Ssh,
    Tty,
    Other,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Rdp => "rdp",
            SessionKind::Console => "console",
            SessionKind::Ssh => "ssh",
            SessionKind::Tty => "tty",
            SessionKind::Other => "other",
        }
    }
}

/// Session state (defined beside the process table, which reads it too).
pub use crate::platform::{SessionState, state_from_wts};

/// One logged-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// WTS session id, or the login process pid from utmp.
    pub id: u32,
    /// Account name without the domain.
    pub user: String,
    pub kind: SessionKind,
    pub state: SessionState,
    /// Remote client host or address; empty for local sessions.
    pub host: String,
    /// Terminal line (`pts/0`, `tty1`) or WinStation name (`RDP-Tcp#3`).
    pub line: String,
}

/// Sessions and the counts derived from them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sessions {
    pub sessions: Vec<Session>,
    /// Distinct user names with at least one session.
    pub logged_users: u64,
    /// RDP sessions in the active state.
    pub active_rdp: u64,
    /// RDP sessions left disconnected (still holding a 1C licence, often).
    pub disconnected_rdp: u64,
}

impl Sessions {
    /// Derive the counts.
    pub fn from_sessions(sessions: Vec<Session>) -> Sessions {
        let users: BTreeSet<&str> = sessions.iter().map(|s| s.user.as_str()).collect();
        let rdp_in = |st: SessionState| {
            sessions
                .iter()
                .filter(|s| s.kind == SessionKind::Rdp && s.state == st)
                .count() as u64
        };
        Sessions {
            logged_users: users.len() as u64,
            active_rdp: rdp_in(SessionState::Active),
            disconnected_rdp: rdp_in(SessionState::Disconnected),
            sessions,
        }
    }
}

/// Where sessions come from.
pub trait SessionSource: Send {
    /// The current sessions, users only (no service or listener sessions).
    fn sessions(&mut self) -> Result<Vec<Session>, MetricsError>;
}

/// The OS session API configured by `opts`.
pub fn os_source(opts: &MetricsOptions) -> Box<dyn SessionSource> {
    #[cfg(unix)]
    {
        Box::new(UtmpSource::new(opts.utmp_path.clone()))
    }
    #[cfg(windows)]
    {
        let _ = opts;
        Box::new(WtsSource)
    }
}

/// `WTSClientProtocolType` value for RDP.
pub const WTS_PROTOCOL_RDP: u16 = 2;

/// Kind of a Windows session from its WinStation name and client protocol.
pub fn classify_windows(station: &str, protocol: u16) -> SessionKind {
    if protocol == WTS_PROTOCOL_RDP || station.to_ascii_lowercase().starts_with("rdp-tcp") {
        SessionKind::Rdp
    } else if station.eq_ignore_ascii_case("console") {
        SessionKind::Console
    } else {
        SessionKind::Other
    }
}

/// Windows accounts come as `DOMAIN\user` or `user@domain`; keep `user`.
pub fn strip_domain(name: &str) -> &str {
    let name = name.rsplit('\\').next().unwrap_or(name);
    name.split('@').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WTS-shaped sessions, as `WtsSource` would build them.
    struct FakeWts(Vec<(u32, &'static str, &'static str, u16, i32, &'static str)>);

    impl SessionSource for FakeWts {
        fn sessions(&mut self) -> Result<Vec<Session>, MetricsError> {
            Ok(self
                .0
                .iter()
                .filter(|r| !r.1.is_empty())
                .map(|&(id, user, station, proto, state, host)| Session {
                    id,
                    user: strip_domain(user).to_string(),
                    kind: classify_windows(station, proto),
                    state: state_from_wts(state),
                    host: host.to_string(),
                    line: station.to_string(),
                })
                .collect())
        }
    }

    #[test]
    fn rdp_and_console_counting() {
        let mut src = FakeWts(vec![
            (0, "", "Services", 0, 4, ""),
            (1, "SRV\\Administrator", "Console", 0, 0, ""),
            (2, "SRV\\buh1", "RDP-Tcp#0", 2, 0, "PC-BUH1"),
            (3, "buh2@corp.local", "RDP-Tcp#1", 2, 0, "PC-BUH2"),
            (4, "SRV\\buh1", "", 2, 4, "PC-BUH1-HOME"),
            (65536, "", "RDP-Tcp", 0, 6, ""),
        ]);
        let s = Sessions::from_sessions(src.sessions().unwrap());
        assert_eq!(s.sessions.len(), 4);
        assert_eq!(s.logged_users, 3);
        assert_eq!(s.active_rdp, 2);
        assert_eq!(s.disconnected_rdp, 1);
        let kinds: Vec<_> = s
            .sessions
            .iter()
            .map(|x| (x.user.as_str(), x.kind, x.state))
            .collect();
        assert_eq!(
            kinds,
            [
                ("Administrator", SessionKind::Console, SessionState::Active),
                ("buh1", SessionKind::Rdp, SessionState::Active),
                ("buh2", SessionKind::Rdp, SessionState::Active),
                ("buh1", SessionKind::Rdp, SessionState::Disconnected),
            ]
        );
    }

    #[test]
    fn fake_source_drives_the_collectors() {
        let src = FakeWts(vec![(2, "u", "RDP-Tcp#0", 2, 0, "pc")]);
        let opts = MetricsOptions {
            backup_dir: std::env::temp_dir(),
            ..MetricsOptions::default()
        };
        let snap = super::super::Collectors::with_session_source(opts, Box::new(src)).collect();
        assert_eq!(snap.sessions.as_ref().map(|s| s.active_rdp), Some(1));
    }

    #[test]
    fn windows_classification_table() {
        assert_eq!(classify_windows("RDP-Tcp#12", 0), SessionKind::Rdp);
        assert_eq!(classify_windows("", 2), SessionKind::Rdp);
        assert_eq!(classify_windows("Console", 0), SessionKind::Console);
        assert_eq!(classify_windows("ICA-tcp#1", 1), SessionKind::Other);
        assert_eq!(state_from_wts(5), SessionState::Idle);
        assert_eq!(state_from_wts(6), SessionState::Other);
        assert_eq!(strip_domain("a\\b"), "b");
    }
}
