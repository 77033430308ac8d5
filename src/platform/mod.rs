//! Small operating-system facts the rest of the crate needs (disk space,
//! durable renames, host name, whether a pid is alive, `/proc` units, the
//! process table with owners and command lines, session messages),
//! behind one signature per OS (`unix.rs`, `windows.rs`), swapped by module
//! as ripgrep does. Raw FFI stays in those files.
//!
//! The same pattern holds crate-wide, and a test here checks it: a
//! `libc::` or `windows_sys::` path appears only in a seam file — under a
//! `platform/` or `sys/` folder, or a `windows.rs`, `unix.rs` or `linux.rs`
//! swapped in by `#[cfg(..)] #[path = ".."] mod sys;` next to its module.

use std::io;
use std::path::Path;

mod processes;
mod session_message;
pub use processes::{
    CommandLine, ProcessFacts, SessionState, ShareOpen, ancestors, is_elevated, may_terminate,
    processes, share_opens, state_from_wts, terminate,
};
pub use session_message::{HAS_SESSION_MESSAGES, WtsMessage, send_session_message};

#[cfg(unix)]
#[path = "unix.rs"]
mod sys;
#[cfg(windows)]
#[path = "windows.rs"]
mod sys;
#[cfg(windows)]
pub(crate) mod win;

/// Space on the filesystem holding a path, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    pub total: u64,
    /// Free for an unprivileged writer (what we can actually use).
    pub available: u64,
    /// Free including blocks reserved for root.
    pub free: u64,
}

/// Space on the filesystem that holds `path` (which must exist).
pub fn disk_space(path: &Path) -> io::Result<DiskSpace> {
    sys::disk_space(path)
}

/// Make a rename or a new file in `dir` durable (fsync the directory on
/// Unix; a no-op on Windows, where NTFS journals metadata itself).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    sys::sync_dir(dir)
}

/// Copy up to `len` bytes from `from`'s position to `to`'s position inside
/// the kernel, both positions advancing; `Ok(0)` at the end of `from`.
/// Linux uses `copy_file_range` (the data never passes through our
/// memory); where there is no such call (Windows, other Unixes) or the
/// filesystems refuse it, this fails with [`io::ErrorKind::Unsupported`]
/// having copied nothing, and the caller copies through a buffer.
pub fn copy_range(from: &std::fs::File, to: &std::fs::File, len: u64) -> io::Result<u64> {
    sys::copy_range(from, to, len)
}

/// Move `from` to `to` only when `to` does not exist yet: a published
/// archive never replaces another file, whatever raced us to the name.
/// Fails with [`io::ErrorKind::AlreadyExists`] (and changes nothing) when
/// `to` exists. Linux uses `renameat2(RENAME_NOREPLACE)`; where the
/// filesystem refuses that, a file is linked then unlinked, and a folder
/// is renamed after an existence check (the caller holds the base's lock).
/// Windows uses `MoveFileExW` without `MOVEFILE_REPLACE_EXISTING` and with
/// `MOVEFILE_WRITE_THROUGH`, so the move is on disk when it returns.
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    sys::rename_no_replace(from, to)
}

/// The fallback when the OS has no atomic no-replace rename: a hard link
/// fails when `to` exists; a folder (which cannot be linked) is checked
/// first and renamed.
#[cfg_attr(windows, allow(dead_code))]
fn link_then_unlink(from: &Path, to: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(from)?.is_dir() {
        if std::fs::symlink_metadata(to).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", to.display()),
            ));
        }
        return std::fs::rename(from, to);
    }
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
}

/// Let every account read (and, for a folder, enter) `path` although the
/// process umask is private: the machine-wide lock folder is shared by
/// the service and console runs under other accounts. Best effort; a
/// no-op on Windows, where `%ProgramData%` is readable by all.
pub fn set_shared_readable(path: &Path) {
    sys::set_shared_readable(path)
}

/// One text per folder however its path is written: the canonical
/// absolute path (the path made absolute when it does not exist), without
/// Windows' `\\?\` prefix, lower-cased on Windows where case does not
/// matter. Keys the per-infobase lock and finds two bases on one folder.
pub fn path_key(path: &Path) -> String {
    let p = std::fs::canonicalize(path)
        .unwrap_or_else(|_| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    let text = p.to_string_lossy().into_owned();
    let text = text.strip_prefix(r"\\?\").unwrap_or(&text).to_string();
    if cfg!(windows) {
        text.to_lowercase()
    } else {
        text
    }
}

/// Whether `path` (or the nearest folder above it that exists) is on a
/// network filesystem: NFS, SMB/CIFS and the like on Linux (`statfs`), a
/// UNC path or a mapped network drive on Windows. SQLite's WAL is not safe
/// there. `false` when it cannot be told.
pub fn is_network_path(path: &Path) -> bool {
    let mut p = Some(path);
    while let Some(dir) = p {
        if dir.exists() {
            return sys::is_network_path(dir);
        }
        p = dir.parent();
    }
    sys::is_network_path(path)
}

/// Lower the calling thread to background priority for the rest of its
/// life, so 1C users and the agent's API stay responsive while we pack and
/// verify: nice 19, the `SCHED_IDLE` policy and the idle I/O class on
/// Linux (all per thread),
/// background processing mode on Windows (lower CPU, very low I/O and
/// memory priority). An unprivileged thread cannot raise itself back, so
/// call it on a thread of its own ([`in_background`]). Threads that such a
/// thread starts should call it too ([`this_thread_is_background`]):
/// Linux passes the priority on to them, Windows does not.
pub fn background_priority_for_this_thread() -> io::Result<()> {
    BACKGROUND.with(|b| b.set(true));
    sys::background_priority_for_this_thread()
}

thread_local! {
    static BACKGROUND: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether [`background_priority_for_this_thread`] was called on this thread.
pub fn this_thread_is_background() -> bool {
    BACKGROUND.with(|b| b.get())
}

/// On a thread started by another: take background priority when the
/// starter had it (`starter`: its [`this_thread_is_background`]).
pub fn background_like(starter: bool) {
    if starter && let Err(e) = background_priority_for_this_thread() {
        tracing::debug!("cannot lower a helper thread's priority: {e}");
    }
}

/// Run `work` on a new thread named `name` at background priority and
/// return its result. `work` gets a sender for messages (progress) that
/// `on_message` receives on the calling thread meanwhile. When no thread
/// can be started, `work` runs here at the caller's priority.
pub fn in_background<T: Send, M: Send>(
    name: &str,
    work: impl FnOnce(&std::sync::mpsc::Sender<M>) -> T + Send,
    mut on_message: impl FnMut(M),
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let slot = std::sync::Mutex::new(Some(work));
    let take = || slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn_scoped(s, move || {
                if let Err(e) = background_priority_for_this_thread() {
                    tracing::warn!("cannot lower the priority of {name}: {e}");
                }
                let work = take().expect("work is taken once");
                work(&tx)
            });
        match spawned {
            Ok(h) => {
                for m in &rx {
                    on_message(m);
                }
                h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
            }
            Err(e) => {
                tracing::warn!("cannot start a thread for {name} ({e}); running it here");
                let work = take().expect("the thread never started");
                let (tx, rx) = std::sync::mpsc::channel();
                let r = work(&tx);
                drop(tx);
                rx.iter().for_each(on_message);
                r
            }
        }
    })
}

/// A Windows UNC path (`\\server\share`, `\\?\UNC\server\share`),
/// which is always on the network.
#[cfg_attr(not(windows), allow(dead_code))]
fn is_unc(text: &str) -> bool {
    let t = text.replace('/', "\\");
    match t.strip_prefix(r"\\?\") {
        Some(rest) => rest.to_ascii_uppercase().starts_with(r"UNC\"),
        None => t.starts_with(r"\\") && !t.starts_with(r"\\.\"),
    }
}

/// Whether a process with this id is running now. Pid 0 and ids the OS
/// cannot address are never alive; a process we may not signal or query
/// (another user's) still counts as alive.
pub fn pid_alive(pid: u32) -> bool {
    sys::pid_alive(pid)
}

/// Clock ticks per second and the memory page size (Unix): the units of
/// the CPU times and resident sizes in `/proc/[pid]/stat`. The usual 100
/// and 4096 when the OS does not say.
#[cfg(unix)]
pub fn clock_ticks_and_page_size() -> (f64, u64) {
    sys::clock_ticks_and_page_size()
}

/// Add an argument the program reads from its raw command line, as 1C
/// reads the connection string `File="C:\Bases\Buh";`: on Windows it is
/// passed exactly as given (the standard quoting would turn its quotes
/// into `\"`, which 1C does not undo); elsewhere it is an ordinary argument.
pub fn arg_verbatim(cmd: &mut std::process::Command, arg: &std::ffi::OsStr) {
    sys::arg_verbatim(cmd, arg)
}

/// This computer's name (the `instance` / `host` label of pushed
/// metrics); `localhost` when the OS does not say.
pub fn hostname() -> String {
    sys::hostname()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Raise this process's soft limit of open files to the hard limit, so
/// that many HTTP connections cannot starve backups of file handles.
/// `Ok(Some((old, new)))` when raised, `Ok(None)` when there was nothing
/// to do (Windows has no such limit for sockets and files).
pub fn raise_open_files_limit() -> io::Result<Option<(u64, u64)>> {
    sys::raise_open_files_limit()
}

/// The soft limit of open files now (Unix).
#[cfg(unix)]
pub fn open_files_soft_limit() -> io::Result<u64> {
    sys::open_files_soft_limit()
}

/// Set the soft limit of open files, capped at the hard one (Unix).
#[cfg(unix)]
pub fn set_open_files_soft_limit(soft: u64) -> io::Result<()> {
    sys::set_open_files_soft_limit(soft)
}

/// Make what this process creates from now on private to the user it runs
/// as: umask 0077 on Unix, so archives, dumps, the history database, logs
/// and their folders are created 0600 / 0700. Called once at start. A
/// no-op on Windows, where a new file takes its folder's ACL (see
/// [`readable_by_everyone_users`]).
pub fn restrict_new_files() {
    sys::restrict_new_files()
}

/// Whether every local user may read `path`: its DACL has an allow entry
/// granting read to `BUILTIN\Users` (S-1-5-32-545), Everyone (S-1-1-0) or
/// Authenticated Users (S-1-5-11), or it has no DACL at all. `None` when
/// that cannot be told: on Unix (the mode bits say it, and the umask
/// keeps ours private) or when the ACL cannot be read.
pub fn readable_by_everyone_users(path: &Path) -> Option<bool> {
    sys::readable_by_everyone_users(path)
}

/// For a test of what gets created under [`restrict_new_files`]: the
/// umask is process-wide and would change what every other test creates,
/// so the test `name` (its full path) runs again alone in a child process
/// that restricts first. Returns true in the parent, once the child has
/// passed; false in the child, which goes on with the test.
#[cfg(all(test, unix))]
pub(crate) fn rerun_restricted(name: &str) -> bool {
    if std::env::var_os("ONEC_TEST_RESTRICTED").is_some() {
        restrict_new_files();
        return false;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("ONEC_TEST_RESTRICTED", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "{name} with umask 0077: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[cfg(all(test, unix))]
mod perms_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn restricted_files_and_folders_are_private() {
        if rerun_restricted("platform::perms_tests::restricted_files_and_folders_are_private") {
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("2024-01-01");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.zip"), b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("a.zip")), 0o600);
        assert_eq!(readable_by_everyone_users(&dir), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn copy_range_copies_from_each_position_and_stops_at_the_end() {
        use std::io::{Read, Seek, SeekFrom, Write};
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dir.path().join("from"), &data).unwrap();
        let mut from = std::fs::File::open(dir.path().join("from")).unwrap();
        let mut to = std::fs::File::create(dir.path().join("to")).unwrap();
        from.seek(SeekFrom::Start(1000)).unwrap();
        to.write_all(b"head").unwrap();
        let mut copied = 0;
        loop {
            match copy_range(&from, &to, 65_536) {
                Ok(0) => break,
                Ok(n) => copied += n,
                // Windows: nothing done, the caller copies itself.
                Err(e) if cfg!(windows) && e.kind() == io::ErrorKind::Unsupported => return,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(copied, 299_000);
        to.write_all(b"tail").unwrap();
        drop(to);
        let mut got = Vec::new();
        std::fs::File::open(dir.path().join("to"))
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(&got[..4], b"head");
        assert!(got[4..got.len() - 4] == data[1000..]);
        assert_eq!(&got[got.len() - 4..], b"tail");
    }

    /// This thread's nice value (field 19 of `/proc/thread-self/stat`),
    /// I/O priority class (`ioprio_get`) and whether its policy is `SCHED_IDLE`.
    #[cfg(target_os = "linux")]
    fn this_thread_priority() -> (i64, i64, bool) {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let nice = after_name.split(' ').nth(19 - 3).unwrap().parse().unwrap();
        // SAFETY: plain syscalls on our own task id; no pointers.
        let (io, policy) = unsafe {
            let tid = libc::syscall(libc::SYS_gettid);
            (
                libc::syscall(libc::SYS_ioprio_get, 1, tid),
                libc::sched_getscheduler(tid as libc::pid_t),
            )
        };
        assert!(io >= 0, "ioprio_get: {}", io::Error::last_os_error());
        (nice, io >> 13, policy == libc::SCHED_IDLE)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn background_work_runs_at_nice_19_idle_policy_and_idle_io_and_the_caller_keeps_its_own() {
        let before = this_thread_priority();
        assert_ne!(
            before,
            (19, 3, true),
            "the test itself runs at background priority"
        );
        let mut relayed = Vec::new();
        let (inside, started, flagged) = in_background(
            "bg-test",
            |tx| {
                tx.send(1).unwrap();
                tx.send(2).unwrap();
                let starter = this_thread_is_background();
                let started = std::thread::spawn(move || {
                    background_like(starter);
                    this_thread_priority()
                })
                .join()
                .unwrap();
                (this_thread_priority(), started, starter)
            },
            |m| relayed.push(m),
        );
        assert_eq!(
            inside,
            (19, 3, true),
            "nice and I/O class of the background thread"
        );
        assert_eq!(started, (19, 3, true), "a thread it started");
        assert!(flagged);
        assert_eq!(relayed, [1, 2]);
        assert_eq!(this_thread_priority(), before, "the caller changed");
        assert!(!this_thread_is_background());
    }

    #[test]
    fn hostname_is_never_empty() {
        let h = hostname();
        assert!(!h.is_empty() && !h.contains('\0'), "{h:?}");
    }

    #[test]
    fn disk_space_of_temp_dir_is_sane() {
        let d = disk_space(&std::env::temp_dir()).unwrap();
        assert!(d.total > 0);
        assert!(d.available <= d.total);
        assert!(d.free <= d.total);
    }

    #[test]
    fn disk_space_of_missing_path_fails() {
        assert!(disk_space(Path::new("/definitely/not/here/xyz")).is_err());
    }

    /// A temp dir with `a` holding `new` and `b` holding `old`.
    fn new_and_old(a: &str, b: &str, old: &[u8]) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join(a), d.path().join(b));
        std::fs::write(&a, b"new").unwrap();
        std::fs::write(&b, old).unwrap();
        (d, a, b)
    }

    #[test]
    fn rename_no_replace_never_replaces_a_file_or_a_folder() {
        let (d, a, b) = new_and_old("a.zip", "b.zip", b"old and good");
        let e = rename_no_replace(&a, &b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert_eq!(std::fs::read(&b).unwrap(), b"old and good");
        assert_eq!(std::fs::read(&a).unwrap(), b"new", "the source stays");
        let c = d.path().join("c.zip");
        rename_no_replace(&a, &c).unwrap();
        assert!(!a.exists());
        assert_eq!(std::fs::read(&c).unwrap(), b"new");

        let (da, db) = (d.path().join("dir-a"), d.path().join("dir-b"));
        std::fs::create_dir(&da).unwrap();
        std::fs::create_dir(&db).unwrap();
        std::fs::write(db.join("1Cv8.1CD"), b"kept").unwrap();
        let e = rename_no_replace(&da, &db).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert_eq!(std::fs::read(db.join("1Cv8.1CD")).unwrap(), b"kept");
        let dc = d.path().join("dir-c");
        rename_no_replace(&da, &dc).unwrap();
        assert!(dc.is_dir() && !da.exists());
    }

    #[test]
    fn link_fallback_never_replaces_either() {
        let (d, a, b) = new_and_old("a", "b", b"old");
        assert_eq!(
            link_then_unlink(&a, &b).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(std::fs::read(&b).unwrap(), b"old");
        std::fs::create_dir(d.path().join("da")).unwrap();
        std::fs::create_dir(d.path().join("db")).unwrap();
        assert_eq!(
            link_then_unlink(&d.path().join("da"), &d.path().join("db"))
                .unwrap_err()
                .kind(),
            io::ErrorKind::AlreadyExists
        );
        let c = d.path().join("c");
        link_then_unlink(&a, &c).unwrap();
        assert!(!a.exists() && std::fs::read(&c).unwrap() == b"new");
    }

    #[test]
    fn unc_paths_are_network_paths() {
        assert!(is_unc(r"\\nas\share\1c\app.sqlite3"));
        assert!(is_unc(r"\\?\UNC\nas\share\x"));
        assert!(is_unc("//nas/share/x"));
        assert!(!is_unc(r"\\?\C:\backups\x"));
        assert!(!is_unc(r"C:\backups"));
        assert!(!is_unc(r"\\.\pipe\x"));
        assert!(!is_network_path(&std::env::temp_dir()));
    }

    #[test]
    fn sync_dir_works_on_a_real_dir() {
        sync_dir(&std::env::temp_dir()).unwrap();
    }

    #[test]
    fn pid_alive_knows_us_and_refuses_pid_zero_and_huge() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
        assert!(!pid_alive(u32::MAX));
    }

    /// A file where raw OS calls may live: under a `platform/` or `sys/`
    /// folder, or named `windows.rs`, `unix.rs` or `linux.rs`.
    fn is_seam(rel: &Path) -> bool {
        let in_seam_dir = rel
            .parent()
            .is_some_and(|d| d.iter().any(|c| c == "platform" || c == "sys"));
        let seam_name = rel
            .file_name()
            .is_some_and(|n| n == "windows.rs" || n == "unix.rs" || n == "linux.rs");
        in_seam_dir || seam_name
    }

    /// `src` with comments, string and char literals blanked out (newlines
    /// kept, so line numbers still match).
    fn code_only(src: &str) -> String {
        let c: Vec<char> = src.chars().collect();
        let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
        let mut out = String::with_capacity(src.len());
        let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
        let mut i = 0;
        while i < c.len() {
            let next = c.get(i + 1).copied();
            if c[i] == '/' && next == Some('/') {
                while i < c.len() && c[i] != '\n' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            } else if c[i] == '/' && next == Some('*') {
                let mut depth = 0;
                while i < c.len() {
                    if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                        depth += 1;
                        out.push_str("  ");
                        i += 2;
                    } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        out.push_str("  ");
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        blank(&mut out, c[i]);
                        i += 1;
                    }
                }
            } else if c[i] == '"' {
                // A raw string is `r`, then hashes, then the quote (maybe
                // after `b` or `c`); it ends at a quote and as many hashes.
                let hashes = out.chars().rev().take_while(|&h| h == '#').count();
                let before: Vec<char> = out.chars().rev().skip(hashes).take(3).collect();
                let raw = before.first() == Some(&'r')
                    && match before.get(1) {
                        None => true,
                        Some(&p) if !ident(p) => true,
                        Some(&p) => {
                            (p == 'b' || p == 'c') && before.get(2).is_none_or(|&q| !ident(q))
                        }
                    };
                out.push('"');
                i += 1;
                while i < c.len() {
                    if !raw && c[i] == '\\' {
                        blank(&mut out, c[i]);
                        if let Some(&e) = c.get(i + 1) {
                            blank(&mut out, e);
                        }
                        i += 2;
                        continue;
                    }
                    if c[i] == '"' && (0..hashes).all(|k| c.get(i + 1 + k) == Some(&'#')) {
                        out.push('"');
                        i += 1;
                        break;
                    }
                    blank(&mut out, c[i]);
                    i += 1;
                }
            } else if c[i] == '\'' && (next == Some('\\') || c.get(i + 2) == Some(&'\'')) {
                // A char literal ('x', '\n', '\u{..}'); a lifetime is left alone.
                out.push('\'');
                i += 1;
                while i < c.len() && c[i] != '\'' {
                    let step = if c[i] == '\\' { 2 } else { 1 };
                    for k in 0..step {
                        if let Some(&e) = c.get(i + k) {
                            blank(&mut out, e);
                        }
                    }
                    i += step;
                }
                out.push('\'');
                i += 1;
            } else {
                out.push(c[i]);
                i += 1;
            }
        }
        out
    }

    /// Paths into the raw FFI crates in code: `libc::`, `windows_sys::` and
    /// `windows::` starting a path (not `windows_service::`, and not a
    /// module of that name inside another path such as `std::os::windows::`
    /// or `service::windows::`).
    fn ffi_paths(code: &str) -> Vec<(usize, String)> {
        let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let bytes = code.as_bytes();
        let mut hits = Vec::new();
        for krate in ["libc::", "windows_sys::", "windows::"] {
            for (at, _) in code.match_indices(krate) {
                let word_start = at == 0 || !ident(bytes[at - 1]);
                let in_path = at >= 3 && &bytes[at - 2..at] == b"::" && ident(bytes[at - 3]);
                if word_start && !in_path {
                    let line = code[..at].matches('\n').count() + 1;
                    hits.push((line, krate.to_string()));
                }
            }
        }
        hits
    }

    #[test]
    fn ffi_scanner_sees_paths_and_skips_comments_strings_and_submodules() {
        let src = r##"
use libc::kill; // windows::x
/* libc:: /* nested windows_sys:: */ still comment libc:: */
let a = "libc::"; let b = r#"windows_sys:: " still"#; let c = '"'; let d = b"windows::";
fn f<'a>(x: &'a str) { std::os::windows::io::x; service::windows::run(); windows_service::y; }
let e = ::windows::Foo; let f = windows_sys::core::PWSTR; let g = '\''; libc::getpid();
"##;
        let mut hits = ffi_paths(&code_only(src));
        hits.sort();
        let want: Vec<(usize, String)> = vec![
            (2, "libc::".into()),
            (6, "libc::".into()),
            (6, "windows::".into()),
            (6, "windows_sys::".into()),
        ];
        assert_eq!(hits, want);
        assert!(is_seam(Path::new("metrics/cpu/windows.rs")));
        assert!(is_seam(Path::new("platform/mod.rs")));
        assert!(is_seam(Path::new("x/sys/y.rs")));
        assert!(!is_seam(Path::new("metrics/mod.rs")));
        assert!(!is_seam(Path::new("sys.rs")));
    }

    /// The architecture rule: raw OS calls (`libc`, `windows-sys`) only in
    /// the platform seam, so every OS difference is swapped by module with
    /// one signature per function.
    #[test]
    fn ffi_only_in_the_platform_seam() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![src.clone()];
        let mut files = 0;
        let mut outside = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                files += 1;
                let rel = path.strip_prefix(&src).unwrap();
                if is_seam(rel) {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for (line, krate) in ffi_paths(&code_only(&text)) {
                    outside.push(format!("{}:{line}: {krate}", rel.display()));
                }
            }
        }
        assert!(
            files > 50,
            "only {files} .rs files found under {}",
            src.display()
        );
        assert!(
            outside.is_empty(),
            "raw FFI outside the platform seam (move it to a platform/, sys/, \
             windows.rs, unix.rs or linux.rs file):\n{}",
            outside.join("\n")
        );
    }
}
