//! Unix: is a process id alive? `kill(pid, 0)` sends no signal and only
//! checks that the process exists (EPERM still means it exists).

pub fn pid_alive(pid: u32) -> bool {
    // 0 and values beyond i32 would address process groups or nothing.
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 performs only the existence and permission checks.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
