//! Unix process trees for [`super`]: the child leads a new process group, and
//! `killpg(SIGKILL)` takes the whole group down.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

/// Put the child in a process group of its own (pgid = its pid).
pub fn prepare(cmd: &mut Command) {
    cmd.process_group(0);
}

/// The process group led by the child.
pub struct Tree {
    pgid: libc::pid_t,
}

impl Tree {
    pub fn attach(child: &Child) -> io::Result<Self> {
        let pgid = libc::pid_t::try_from(child.id())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
        Ok(Self { pgid })
    }

    /// SIGKILL every process in the group. Called only while the leader has
    /// not been reaped, so the group id cannot have been reused.
    pub fn kill(&self, _child: &Child) -> io::Result<()> {
        // SAFETY: killpg has no memory-safety preconditions.
        if unsafe { libc::killpg(self.pgid, libc::SIGKILL) } == 0 {
            Ok(())
        } else {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ESRCH) {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}
