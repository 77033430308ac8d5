//! The process table as the OS describes it, for telling who is inside a
//! 1C infobase: every process's id, parent and executable name, and for
//! the processes a caller picks (by name) their owner, session, start time,
//! command line and the owner's profile folder. Linux reads `/proc`
//! (`processes/unix.rs`); Windows takes the list from `sysinfo` and asks
//! the OS for the rest (`processes/windows.rs`). A detail the OS refuses
//! (another user's process without administrator rights) is `None`, never
//! a guess.

use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

#[cfg(unix)]
#[path = "processes/unix.rs"]
mod sys;
#[cfg(windows)]
#[path = "processes/windows.rs"]
mod sys;

/// A process's command line as the OS keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// Already split into arguments (Linux `argv`); the program first.
    Args(Vec<String>),
    /// One text, as Windows keeps it; the program parses it itself (1C
    /// does, with its own quoting), so it is handed over unsplit.
    Raw(String),
}

/// One running process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessFacts {
    pub pid: u32,
    pub parent: Option<u32>,
    /// Executable file name: `1cv8c.exe` on Windows, the `comm` on Linux.
    pub name: String,
    /// The rest is filled only for the processes the caller picked.
    /// Owner's account name without the domain.
    pub user: Option<String>,
    /// Windows: the (RDP or console) session id; Linux: the audit login
    /// session, when the kernel keeps one.
    pub session: Option<u32>,
    /// Windows: that session's state; `None` on Linux, whose login
    /// sessions have none.
    pub session_state: Option<SessionState>,
    pub started: Option<SystemTime>,
    pub command_line: Option<CommandLine>,
    /// The owner's profile (home) folder.
    pub profile_dir: Option<PathBuf>,
}

/// The state of a login session. A closed set, safe as a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Active,
    /// A user closed the RDP window without logging off: their programs
    /// (1C among them) still run.
    Disconnected,
    Idle,
    /// Connected to a station but not logged on yet.
    Connected,
    Other,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Active => "active",
            SessionState::Disconnected => "disconnected",
            SessionState::Idle => "idle",
            SessionState::Connected => "connected",
            SessionState::Other => "other",
        }
    }
}

/// The state of a Windows session from its `WTS_CONNECTSTATE_CLASS`.
pub fn state_from_wts(state: i32) -> SessionState {
    match state {
        0 => SessionState::Active,
        1 => SessionState::Connected,
        4 => SessionState::Disconnected,
        5 => SessionState::Idle,
        _ => SessionState::Other,
    }
}

/// Every process, with the details for those whose executable name
/// `detail` accepts. Fails only when the table itself cannot be read.
pub fn processes(detail: &dyn Fn(&str) -> bool) -> io::Result<Vec<ProcessFacts>> {
    sys::processes(detail)
}

/// A file of this computer opened over the network through one of its
/// shares (SMB), as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareOpen {
    /// The server's id of the open (what closing it would take).
    pub id: u32,
    /// The local path of the file.
    pub path: PathBuf,
    /// The account that opened it.
    pub user: String,
}

/// Files under the local folder `under` that are open over the network
/// through this computer's shares: `NetFileEnum` on Windows (needs
/// administrator rights; an error without them), none elsewhere.
pub fn share_opens(under: &std::path::Path) -> io::Result<Vec<ShareOpen>> {
    sys::share_opens(under)
}

/// Whether this process runs with administrator rights (root on Unix, an
/// elevated token on Windows): what reading other users' command lines and
/// ending their processes needs.
pub fn is_elevated() -> bool {
    sys::is_elevated()
}

/// Whether this process may end process `pid`: with administrator rights
/// always; without them only a process of the same account (Unix; on
/// Windows a non-elevated service is refused, never tried).
pub fn may_terminate(pid: u32) -> bool {
    is_elevated() || sys::same_owner(pid)
}

/// End process `pid` at once (SIGKILL on Unix, `TerminateProcess` on
/// Windows): the last step of `close` after the users were warned. A
/// process already gone is fine.
pub fn terminate(pid: u32) -> io::Result<()> {
    sys::terminate(pid)
}

/// `pid` and its ancestors in `all`, nearest first (a loop in the parent
/// links, which a reused pid can make, ends the walk).
pub fn ancestors(all: &[ProcessFacts], pid: u32) -> Vec<u32> {
    let parent: std::collections::HashMap<u32, u32> = all
        .iter()
        .filter_map(|p| Some((p.pid, p.parent?)))
        .collect();
    let mut out = vec![pid];
    let mut at = pid;
    while let Some(&up) = parent.get(&at) {
        if up == 0 || out.contains(&up) {
            break;
        }
        out.push(up);
        at = up;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, parent: u32) -> ProcessFacts {
        ProcessFacts {
            pid,
            parent: Some(parent),
            ..ProcessFacts::default()
        }
    }

    #[test]
    fn session_states_are_named_as_wts_numbers_them() {
        // WTSActive, WTSConnected, WTSDisconnected, WTSIdle, WTSListen.
        let words: Vec<_> = [0, 1, 4, 5, 6].map(|n| state_from_wts(n).as_str()).into();
        assert_eq!(
            words,
            ["active", "connected", "disconnected", "idle", "other"]
        );
    }

    #[test]
    fn ancestors_walk_up_and_stop_at_loops() {
        let all = [p(1, 0), p(10, 1), p(20, 10), p(30, 40), p(40, 30)];
        assert_eq!(ancestors(&all, 20), [20, 10, 1]);
        assert_eq!(ancestors(&all, 30), [30, 40]);
        assert_eq!(ancestors(&all, 99), [99]);
    }

    /// A process of our own account may be ended, and is; an exited one
    /// is no error.
    #[cfg(unix)]
    #[test]
    fn terminate_ends_a_process_of_ours() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(may_terminate(pid));
        terminate(pid).unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "{status}");
        // Above any pid_max: no such process, no error.
        terminate(i32::MAX as u32).unwrap();
        assert!(!may_terminate(i32::MAX as u32) || is_elevated());
    }

    /// The real table holds this test process, with its parent, its
    /// command line and its owner when asked for.
    #[test]
    fn the_real_table_holds_us_with_details() {
        let me = std::process::id();
        let all = processes(&|_| true).unwrap();
        let us = all.iter().find(|p| p.pid == me).expect("our own process");
        assert!(us.parent.is_some(), "{us:?}");
        assert!(!us.name.is_empty(), "{us:?}");
        assert!(us.user.is_some(), "{us:?}");
        let started = us.started.expect("start time");
        let age = SystemTime::now()
            .duration_since(started)
            .unwrap_or_default();
        assert!(age.as_secs() < 24 * 3600, "{us:?}");
        match us.command_line.as_ref().expect("command line") {
            CommandLine::Args(a) => assert!(!a.is_empty()),
            CommandLine::Raw(r) => assert!(!r.is_empty()),
        }
        assert!(us.profile_dir.is_some(), "{us:?}");
        let none = processes(&|_| false).unwrap();
        let bare = none.iter().find(|p| p.pid == me).unwrap();
        assert_eq!(bare.command_line, None);
        assert_eq!(bare.user, None);
    }
}
