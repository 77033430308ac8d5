//! Unix implementations for [`crate::platform`].

use super::DiskSpace;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub fn disk_space(path: &Path) -> io::Result<DiskSpace> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated string and `st` a valid out-pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let frsize = if st.f_frsize > 0 {
        st.f_frsize as u64
    } else {
        st.f_bsize as u64
    };
    Ok(DiskSpace {
        total: st.f_blocks as u64 * frsize,
        available: st.f_bavail as u64 * frsize,
        free: st.f_bfree as u64 * frsize,
    })
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn copy_range(from: &std::fs::File, to: &std::fs::File, len: u64) -> io::Result<u64> {
    use std::os::fd::AsRawFd;
    let len = len.min(1 << 30) as usize;
    // SAFETY: two open descriptors; null offsets use and advance each
    // file's own position.
    let n = unsafe {
        libc::copy_file_range(
            from.as_raw_fd(),
            std::ptr::null_mut(),
            to.as_raw_fd(),
            std::ptr::null_mut(),
            len,
            0,
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::ENOSYS | libc::EXDEV | libc::EINVAL | libc::EOPNOTSUPP) => {
                io::Error::new(io::ErrorKind::Unsupported, e)
            }
            _ => e,
        });
    }
    Ok(n as u64)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn copy_range(_from: &std::fs::File, _to: &std::fs::File, _len: u64) -> io::Result<u64> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    let cstr = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))
    };
    let (f, t) = (cstr(from)?, cstr(to)?);
    // SAFETY: both are valid NUL-terminated strings; AT_FDCWD resolves
    // relative paths against the working directory as rename(2) does.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        // The filesystem (or an old kernel) cannot do it atomically.
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => {
            super::link_then_unlink(from, to)
        }
        _ => Err(e),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    super::link_then_unlink(from, to)
}

pub fn arg_verbatim(cmd: &mut std::process::Command, arg: &std::ffi::OsStr) {
    cmd.arg(arg);
}

pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is a valid writable buffer of the given length.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

pub fn set_shared_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o755 } else { 0o644 };
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(target_os = "linux")]
pub fn is_network_path(path: &Path) -> bool {
    // Magic numbers from statfs(2) / linux/magic.h.
    const NETWORK: &[i64] = &[
        0x6969,               // NFS
        0x517B,               // SMB
        0xFF534D42u32 as i64, // CIFS
        0xFE534D42u32 as i64, // SMB2
        0x01021997,           // 9P (v9fs)
        0x00C36400,           // CEPH
        0x65735546,           // FUSE (sshfs, rclone mount …)
        0x5346414F,           // AFS
        0x564c,               // NCP
    ];
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated and `st` a valid out-pointer.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return false;
    }
    NETWORK.contains(&(st.f_type as i64))
}

#[cfg(not(target_os = "linux"))]
pub fn is_network_path(_path: &Path) -> bool {
    false
}

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
    // EPERM: the process exists but belongs to someone else.
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

pub fn clock_ticks_and_page_size() -> (f64, u64) {
    // SAFETY: sysconf only reads configuration values.
    let (tck, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (
        if tck > 0 { tck as f64 } else { 100.0 },
        if page > 0 { page as u64 } else { 4096 },
    )
}

pub fn raise_open_files_limit() -> io::Result<Option<(u64, u64)>> {
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `lim` is a valid out-pointer for getrlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur >= lim.rlim_max {
        return Ok(None);
    }
    let old = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid, initialised rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Some((old as u64, lim.rlim_max as u64)))
}

/// The soft limit of open files now.
pub fn open_files_soft_limit() -> io::Result<u64> {
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `lim` is a valid out-pointer for getrlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lim.rlim_cur as u64)
}

/// Set the soft limit of open files (capped at the hard limit).
pub fn set_open_files_soft_limit(soft: u64) -> io::Result<()> {
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `lim` is a valid out-pointer, then a valid initialised rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    lim.rlim_cur = (soft as libc::rlim_t).min(lim.rlim_max);
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub fn restrict_new_files() {
    // SAFETY: umask only sets the process's file mode creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

pub fn readable_by_everyone_users(_path: &Path) -> Option<bool> {
    None
}

/// `ioprio_set`'s "who": one thread (a task id).
#[cfg(target_os = "linux")]
const IOPRIO_WHO_PROCESS: libc::c_int = 1;
/// The idle I/O class, shifted into place (`IOPRIO_CLASS_IDLE << 13`).
#[cfg(target_os = "linux")]
const IOPRIO_IDLE: libc::c_int = 3 << 13;

/// Nice 19, the `SCHED_IDLE` policy and the idle I/O class for the calling
/// thread only: on Linux all three are per thread (a task), addressed by
/// its id. Nice alone lowers the share of CPU but lets the thread finish
/// its time slice before a woken API thread runs (milliseconds under
/// EEVDF); a `SCHED_IDLE` thread is preempted at once.
#[cfg(target_os = "linux")]
pub fn background_priority_for_this_thread() -> io::Result<()> {
    // SAFETY: gettid takes no arguments and cannot fail.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param; `tid` is our own task.
    if unsafe { libc::sched_setscheduler(tid as libc::pid_t, libc::SCHED_IDLE, &param) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: plain syscalls on our own task id; no pointers involved.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, tid, IOPRIO_IDLE) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Elsewhere `setpriority` would lower the whole process, the agent's API
/// included: left alone.
#[cfg(not(target_os = "linux"))]
pub fn background_priority_for_this_thread() -> io::Result<()> {
    Ok(())
}

pub fn send_session_message(
    _session: u32,
    _msg: &super::WtsMessage,
    _timeout_secs: u32,
) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "this OS has no session messages (Windows WTSSendMessage); users are warned through Telegram only",
    ))
}
