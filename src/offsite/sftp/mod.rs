//! The SFTP kind: a pure-Rust SSH client (`russh`, ring crypto) speaking
//! SFTP (`russh-sftp`) inside a private current-thread tokio runtime. It
//! owns the connection (opened lazily, reopened when the session drops,
//! connect errors retried with backoff), the host-key pin
//! (`OFFSITE_KNOWN_HOST`: a `SHA256:` fingerprint or a known_hosts file;
//! no pin = no connection), password or key-file login, and the mapping of
//! object names to remote paths. An upload goes to `<name>.part`, is
//! flushed (`fsync@openssh.com` when offered), checked for size and renamed
//! over the final name (`posix-rename@openssh.com` when offered), so a cut
//! upload never replaces or imitates a good copy.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use russh::client;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh_sftp::client::RawSftpSession;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::{FileAttributes, OpenFlags, StatusCode};

use crate::cancel::Cancelled;
use crate::config::Secret;
use crate::config::offsite::{Location, OffsiteTarget};

use super::remote::{Download, Object, Proof, Remote, Stored, Upload, name_parts};
use crate::onec::files::read_full;

mod hostkey;

use hostkey::host_key_algorithms;
pub use hostkey::{Pin, check_pin, fingerprint};

/// Bytes read from the local file (or asked of the server) per round: the
/// throttle and the cancel flag are consulted once per chunk.
const CHUNK: usize = 1 << 20;
/// One SFTP read or write request (OpenSSH takes up to 255 KiB); a chunk is
/// sent as several such requests in flight at once.
const PIECE: usize = 64 * 1024;
/// Connection attempts before a connect error is final.
const CONNECT_ATTEMPTS: u32 = 4;
/// Seconds an SFTP request may wait for its answer.
const REQUEST_TIMEOUT_SECS: u64 = 60;

const POSIX_RENAME: &str = "posix-rename@openssh.com";
const FSYNC: &str = "fsync@openssh.com";

/// How we log in.
enum Auth {
    Password(Secret),
    Key {
        file: PathBuf,
        passphrase: Option<Secret>,
    },
}

/// The russh client handler: checks the host key against the pin and
/// keeps the verdict for the error message.
struct Client {
    pin: Pin,
    host: String,
    port: u16,
    refused: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(c) => PublicKey::from(c.public_key().clone()),
        };
        match check_pin(&self.pin, &self.host, self.port, &key) {
            Ok(()) => Ok(true),
            Err(why) => {
                *self.refused.lock().unwrap_or_else(PoisonError::into_inner) = Some(why);
                Ok(false)
            }
        }
    }
}

/// One open SSH session with its SFTP channel.
struct Conn {
    ssh: client::Handle<Client>,
    sftp: Arc<RawSftpSession>,
    posix_rename: bool,
    fsync: bool,
}

impl Conn {
    fn is_closed(&self) -> bool {
        self.ssh.is_closed()
    }
}

/// Whether a failed connection attempt is worth repeating.
enum ConnectError {
    /// The network or the server's SSH daemon (refused, reset, timed out).
    Transient(anyhow::Error),
    /// Authentication, host key, configuration: the same again would fail.
    Final(anyhow::Error),
}

/// An SFTP target.
pub struct Sftp {
    user: String,
    host: String,
    port: u16,
    /// The URL's path: `/srv/1c` (absolute) or `~/x` / `` (the login folder).
    url_path: String,
    /// The remote root the names go under: absolute, relative to the login
    /// folder, or "" (the login folder itself).
    root: String,
    auth: Auth,
    pin: Pin,
    rt: tokio::runtime::Runtime,
    conn: Mutex<Option<Conn>>,
}

impl Sftp {
    pub fn open(target: &OffsiteTarget) -> Result<Self> {
        let Location::Sftp {
            user,
            host,
            port,
            path,
        } = &target.location
        else {
            bail!("offsite target {} is not an SFTP target", target.name);
        };
        let user = target
            .user
            .clone()
            .or_else(|| user.clone())
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                anyhow!(
                    "offsite target {}: no SFTP user: put it in the URL (sftp://user@{host}/...) \
                     or in OFFSITE_USER (or the target's user:)",
                    target.name
                )
            })?;
        let auth = match (&target.key_file, &target.password) {
            (Some(file), _) => Auth::Key {
                file: file.clone(),
                passphrase: target.key_passphrase.clone(),
            },
            (None, Some(pw)) => Auth::Password(pw.clone()),
            (None, None) => bail!(
                "offsite target {}: no way to log in to sftp://{user}@{host}:{port}: set \
                 OFFSITE_KEY_FILE (an OpenSSH private key) or OFFSITE_PASSWORD (or the target's \
                 key_file: or password:)",
                target.name
            ),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the SFTP client's runtime")?;
        Ok(Self {
            user,
            host: host.clone(),
            port: *port,
            url_path: path.clone(),
            root: remote_root(path),
            auth,
            pin: Pin::parse(target.known_host.as_deref()),
            rt,
            conn: Mutex::new(None),
        })
    }

    /// The remote path of `name`, refusing names that would leave the root.
    fn path(&self, name: &str) -> Result<String> {
        name_parts(name)?;
        Ok(join(&self.root, name))
    }

    /// Log in and open the SFTP channel, retrying transient failures.
    async fn connect(&self) -> Result<Conn> {
        let mut delay = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            match self.connect_once().await {
                Ok(c) => return Ok(c),
                Err(ConnectError::Final(e)) => return Err(e),
                Err(ConnectError::Transient(e)) if attempt >= CONNECT_ATTEMPTS => {
                    return Err(e.context(format!("gave up after {attempt} attempts")));
                }
                Err(ConnectError::Transient(e)) => {
                    tracing::warn!(
                        "{}: connection attempt {attempt} failed, retrying in {delay:?}: {e:#}",
                        self.describe()
                    );
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
            }
        }
    }

    async fn connect_once(&self) -> Result<Conn, ConnectError> {
        let what = self.describe();
        // The key first: a bad key file or passphrase is a local problem.
        let key = match &self.auth {
            Auth::Key { file, passphrase } => Some(
                load_key(file, passphrase.as_ref())
                    .map_err(|e| ConnectError::Final(e.context(what.clone())))?,
            ),
            Auth::Password(_) => None,
        };
        let refused = Arc::new(Mutex::new(None));
        let handler = Client {
            pin: self.pin.clone(),
            host: self.host.clone(),
            port: self.port,
            refused: refused.clone(),
        };
        let mut config = client::Config {
            inactivity_timeout: None,
            nodelay: true,
            ..Default::default()
        };
        if let Some(keys) = host_key_algorithms(&self.pin, &self.host, self.port) {
            config.preferred.key = keys.into();
        }
        let config = Arc::new(config);
        let connected = tokio::time::timeout(
            Duration::from_secs(30),
            client::connect(config, (self.host.as_str(), self.port), handler),
        )
        .await;
        let mut ssh = match connected {
            Err(_) => {
                return Err(ConnectError::Transient(anyhow!(
                    "{what}: no SSH handshake within 30 s: check the host, the port and the firewall"
                )));
            }
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                if let Some(why) = refused
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
                {
                    return Err(ConnectError::Final(anyhow!("{what}: {why}")));
                }
                let transient = matches!(
                    e,
                    russh::Error::IO(_)
                        | russh::Error::Disconnect
                        | russh::Error::HUP
                        | russh::Error::ConnectionTimeout
                        | russh::Error::KexInit
                );
                let e = anyhow!("{what}: cannot connect: {e}: check the host and the port");
                return Err(if transient {
                    ConnectError::Transient(e)
                } else {
                    ConnectError::Final(e)
                });
            }
        };
        let transient = |e: russh::Error| {
            ConnectError::Transient(anyhow!("{what}: the SSH session failed: {e}"))
        };
        let auth = match (&self.auth, key) {
            (Auth::Password(pw), _) => ssh
                .authenticate_password(self.user.clone(), pw.expose())
                .await
                .map_err(transient)?,
            (Auth::Key { .. }, Some(key)) => {
                let hash = ssh
                    .best_supported_rsa_hash()
                    .await
                    .map_err(transient)?
                    .flatten();
                ssh.authenticate_publickey(
                    self.user.clone(),
                    PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                )
                .await
                .map_err(transient)?
            }
            (Auth::Key { .. }, None) => unreachable!("the key was loaded above"),
        };
        if !auth.success() {
            let check = match &self.auth {
                Auth::Password(_) => {
                    "check OFFSITE_USER and OFFSITE_PASSWORD (or the target's user: and password:)"
                }
                Auth::Key { .. } => {
                    "check OFFSITE_USER and OFFSITE_KEY_FILE (or the target's user: and key_file:; \
                     its public key must be in the user's authorized_keys on the server)"
                }
            };
            return Err(ConnectError::Final(anyhow!(
                "{what}: the server refused the login of {:?}: {check}",
                self.user
            )));
        }
        let channel = ssh.channel_open_session().await.map_err(transient)?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(transient)?;
        let sftp = RawSftpSession::new(channel.into_stream());
        sftp.set_timeout(REQUEST_TIMEOUT_SECS);
        let version = sftp.init().await.map_err(|e| {
            ConnectError::Final(anyhow!(
                "{what}: the server has no SFTP service ({e}): enable the sftp subsystem in sshd_config"
            ))
        })?;
        let has = |ext: &str| version.extensions.contains_key(ext);
        Ok(Conn {
            posix_rename: has(POSIX_RENAME),
            fsync: has(FSYNC),
            ssh,
            sftp: Arc::new(sftp),
        })
    }

    /// Run `op` on an open connection: connect first if there is none, and
    /// when the session dropped under `op`, reconnect and run it once more
    /// (each `op` may be repeated from the start or carries its own state).
    fn run<T>(&self, mut op: impl AsyncFnMut(&Conn) -> Result<T>) -> Result<T> {
        let mut slot = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        self.rt.block_on(async {
            let mut again = true;
            loop {
                if slot.as_ref().is_none_or(Conn::is_closed) {
                    *slot = None;
                    *slot = Some(self.connect().await?);
                }
                let conn = slot.as_ref().expect("connected above");
                match op(conn).await {
                    Ok(v) => return Ok(v),
                    Err(e) if e.is::<Cancelled>() => return Err(e),
                    Err(e) if again && (conn.is_closed() || lost(&e)) => {
                        tracing::warn!(
                            "{}: the session dropped, reconnecting: {e:#}",
                            self.describe()
                        );
                        let _ = conn.sftp.close_session();
                        *slot = None;
                        again = false;
                    }
                    Err(e) => return Err(e),
                }
            }
        })
    }

    /// `mkdir -p` of the folder `dir` (a remote path).
    async fn make_dirs(&self, c: &Conn, dir: &str) -> Result<()> {
        if dir.is_empty() || dir == "/" || is_dir(c, dir).await? {
            return Ok(());
        }
        let mut prefix = String::new();
        for (i, part) in dir.split('/').enumerate() {
            if i > 0 {
                prefix.push('/');
            }
            prefix.push_str(part);
            if part.is_empty() || part == "~" || part == "." {
                continue;
            }
            if is_dir(c, &prefix).await? {
                continue;
            }
            if let Err(e) = c.sftp.mkdir(prefix.clone(), FileAttributes::empty()).await
                && !is_dir(c, &prefix).await?
            {
                return Err(anyhow!(e)).with_context(|| {
                    format!(
                        "{}: cannot create the folder {prefix}: check that {:?} may write there",
                        self.describe(),
                        self.user
                    )
                });
            }
        }
        Ok(())
    }

    /// Write `up.file` to `tmp`, flush it and check its size.
    async fn send(&self, c: &Conn, up: &Upload<'_>, tmp: &str) -> Result<u64> {
        let mut src = std::fs::File::open(up.file)
            .with_context(|| format!("cannot open {}", up.file.display()))?;
        let handle = c
            .sftp
            .open(
                tmp,
                OpenFlags::CREATE | OpenFlags::TRUNCATE | OpenFlags::WRITE,
                FileAttributes::empty(),
            )
            .await
            .map_err(|e| anyhow!(e))
            .with_context(|| {
                format!(
                    "{}: cannot create {tmp}: check that {:?} may write there",
                    self.describe(),
                    self.user
                )
            })?
            .handle;
        let written = async {
            let mut buf = vec![0u8; CHUNK];
            let mut off = 0u64;
            loop {
                up.cancel.check()?;
                let n = read_full(&mut src, &mut buf)
                    .with_context(|| format!("cannot read {}", up.file.display()))?;
                if n == 0 {
                    break;
                }
                up.throttle.take_async(n as u64, up.cancel).await?;
                let mut set = tokio::task::JoinSet::new();
                for (i, piece) in buf[..n].chunks(PIECE).enumerate() {
                    let (s, h, at) = (c.sftp.clone(), handle.clone(), off + (i * PIECE) as u64);
                    let data = piece.to_vec();
                    set.spawn(async move { s.write(h, at, data).await });
                }
                while let Some(r) = set.join_next().await {
                    r.context("an SFTP write task failed")?
                        .map_err(|e| anyhow!(e))
                        .with_context(|| format!("{}: writing {tmp}", self.describe()))?;
                }
                off += n as u64;
                (up.progress)(off);
            }
            if c.fsync {
                c.sftp
                    .fsync(handle.clone())
                    .await
                    .map_err(|e| anyhow!(e))
                    .with_context(|| format!("{}: flushing {tmp}", self.describe()))?;
            }
            anyhow::Ok(off)
        }
        .await;
        let closed = c.sftp.close(handle).await;
        let written = written?;
        closed
            .map_err(|e| anyhow!(e))
            .with_context(|| format!("{}: closing {tmp}", self.describe()))?;
        let stored = c
            .sftp
            .stat(tmp)
            .await
            .map_err(|e| anyhow!(e))
            .with_context(|| format!("{}: cannot stat {tmp}", self.describe()))?
            .attrs
            .size;
        if written != up.size || stored != Some(up.size) {
            bail!(
                "{}: {tmp} holds {} bytes after the upload, the archive has {}",
                self.describe(),
                stored.map_or("an unknown number of".into(), |s| s.to_string()),
                up.size
            );
        }
        Ok(up.size)
    }

    /// Move `from` over `to` (both remote paths).
    async fn replace(&self, c: &Conn, from: &str, to: &str) -> Result<()> {
        let r = if c.posix_rename {
            match c
                .sftp
                .extended(POSIX_RENAME, two_strings(from, to))
                .await
                .map_err(|e| anyhow!(e))?
            {
                russh_sftp::protocol::Packet::Status(s) if s.status_code == StatusCode::Ok => {
                    Ok(())
                }
                russh_sftp::protocol::Packet::Status(s) => Err(anyhow!(SftpError::Status(s))),
                _ => Err(anyhow!("an unexpected answer to {POSIX_RENAME}")),
            }
        } else {
            // Plain SFTP rename refuses an existing target.
            match c.sftp.remove(to).await {
                Ok(_) => {}
                Err(e) if no_such_file(&e) => {}
                Err(e) => {
                    return Err(anyhow!(e))
                        .with_context(|| format!("{}: cannot remove {to}", self.describe()));
                }
            }
            c.sftp
                .rename(from, to)
                .await
                .map(|_| ())
                .map_err(|e| anyhow!(e))
        };
        r.with_context(|| format!("{}: cannot move {from} to {to}", self.describe()))
    }
}

impl Remote for Sftp {
    fn describe(&self) -> String {
        format!(
            "sftp://{}@{}:{}/{}",
            self.user,
            if self.host.contains(':') {
                format!("[{}]", self.host)
            } else {
                self.host.clone()
            },
            self.port,
            self.url_path
        )
    }

    fn put(&self, up: &Upload<'_>) -> Result<Stored> {
        let dest = self.path(up.name)?;
        let tmp = format!("{dest}.part");
        self.run(async |c| {
            self.make_dirs(c, parent(&dest)).await?;
            let sent = async {
                let bytes = self.send(c, up, &tmp).await?;
                self.replace(c, &tmp, &dest).await?;
                anyhow::Ok(bytes)
            }
            .await;
            match sent {
                Ok(bytes) => Ok(Stored {
                    bytes,
                    proof: Proof::Size,
                }),
                Err(e) => {
                    if !c.is_closed() {
                        let _ = c.sftp.remove(tmp.clone()).await;
                    }
                    Err(e)
                }
            }
        })
    }

    fn stat(&self, name: &str) -> Result<Option<Object>> {
        let p = self.path(name)?;
        self.run(async |c| match c.sftp.stat(p.clone()).await {
            Ok(a) if a.attrs.is_dir() => Ok(None),
            Ok(a) => Ok(Some(object(name.to_string(), &a.attrs))),
            Err(e) if no_such_file(&e) => Ok(None),
            Err(e) => {
                Err(anyhow!(e)).with_context(|| format!("{}: cannot stat {p}", self.describe()))
            }
        })
    }

    fn list(&self, dir: &str) -> Result<Vec<Object>> {
        let dir = dir.trim_end_matches('/');
        let start = if dir.is_empty() {
            String::new()
        } else {
            self.path(dir)?;
            dir.to_string()
        };
        self.run(async |c| {
            let mut out = Vec::new();
            let mut stack = vec![start.clone()];
            while let Some(rel) = stack.pop() {
                let remote = if rel.is_empty() {
                    if self.root.is_empty() {
                        ".".to_string()
                    } else {
                        self.root.clone()
                    }
                } else {
                    join(&self.root, &rel)
                };
                let handle = match c.sftp.opendir(remote.clone()).await {
                    Ok(h) => h.handle,
                    Err(e) if no_such_file(&e) => continue,
                    Err(e) => {
                        return Err(anyhow!(e))
                            .with_context(|| format!("{}: cannot list {remote}", self.describe()));
                    }
                };
                let mut entries = Vec::new();
                let read = loop {
                    match c.sftp.readdir(handle.clone()).await {
                        Ok(names) => entries.extend(names.files),
                        Err(SftpError::Status(s)) if s.status_code == StatusCode::Eof => {
                            break Ok(());
                        }
                        Err(e) => break Err(e),
                    }
                };
                let _ = c.sftp.close(handle).await;
                read.map_err(|e| anyhow!(e))
                    .with_context(|| format!("{}: cannot list {remote}", self.describe()))?;
                for f in entries {
                    if f.filename == "." || f.filename == ".." {
                        continue;
                    }
                    let name = join(&rel, &f.filename);
                    if f.attrs.is_dir() {
                        stack.push(name);
                    } else if f.attrs.is_regular() {
                        out.push(object(name, &f.attrs));
                    }
                }
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
    }

    fn get(&self, down: Download<'_>) -> Result<u64> {
        let (name, to, throttle, cancel) = (down.name, down.to, down.throttle, down.cancel);
        let p = self.path(name)?;
        // Kept across a reconnect: the read goes on where it stopped.
        let mut done = 0u64;
        self.run(async |c| {
            let handle = c
                .sftp
                .open(p.clone(), OpenFlags::READ, FileAttributes::empty())
                .await
                .map_err(|e| anyhow!(e))
                .with_context(|| format!("{}: cannot open {p}", self.describe()))?
                .handle;
            let r = async {
                loop {
                    cancel.check()?;
                    let mut set = tokio::task::JoinSet::new();
                    for i in 0..CHUNK / PIECE {
                        let (s, h, at) =
                            (c.sftp.clone(), handle.clone(), done + (i * PIECE) as u64);
                        set.spawn(async move { (at, s.read(h, at, PIECE as u32).await) });
                    }
                    let mut got = Vec::new();
                    while let Some(r) = set.join_next().await {
                        got.push(r.context("an SFTP read task failed")?);
                    }
                    got.sort_by_key(|(at, _)| *at);
                    let mut eof = false;
                    let mut n = 0u64;
                    let mut pieces = Vec::new();
                    for (_, r) in got {
                        let data = match r {
                            Ok(d) => d.data,
                            Err(SftpError::Status(s)) if s.status_code == StatusCode::Eof => {
                                eof = true;
                                break;
                            }
                            Err(e) => {
                                return Err(anyhow!(e))
                                    .with_context(|| format!("{}: reading {p}", self.describe()));
                            }
                        };
                        let short = data.len() < PIECE;
                        n += data.len() as u64;
                        pieces.push(data);
                        if short {
                            // A short read: go on from its end next round.
                            break;
                        }
                    }
                    if n > 0 {
                        throttle.take_async(n, cancel).await?;
                        for d in &pieces {
                            to.write_all(d).context("cannot write the download")?;
                        }
                        done += n;
                    }
                    if eof || n == 0 {
                        return anyhow::Ok(done);
                    }
                }
            }
            .await;
            let _ = c.sftp.close(handle).await;
            r
        })
    }

    fn delete(&self, name: &str) -> Result<()> {
        let p = self.path(name)?;
        self.run(async |c| match c.sftp.remove(p.clone()).await {
            Ok(_) => Ok(()),
            Err(e) if no_such_file(&e) => Ok(()),
            Err(e) => {
                Err(anyhow!(e)).with_context(|| format!("{}: cannot delete {p}", self.describe()))
            }
        })
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (f, t) = (self.path(from)?, self.path(to)?);
        self.run(async |c| {
            self.make_dirs(c, parent(&t)).await?;
            self.replace(c, &f, &t).await
        })
    }
}

/// The remote root of a URL path: `srv/1c` → `/srv/1c`; `~/x` → `x` and
/// `~` or `` → `` (relative to the login folder).
fn remote_root(url_path: &str) -> String {
    let p = url_path.trim_matches('/');
    if p.is_empty() || p == "~" {
        String::new()
    } else if let Some(rest) = p.strip_prefix("~/") {
        rest.trim_matches('/').to_string()
    } else {
        format!("/{p}")
    }
}

fn join(root: &str, name: &str) -> String {
    if root.is_empty() {
        name.to_string()
    } else {
        format!("{root}/{name}")
    }
}

fn parent(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((p, _)) => p,
        None => "",
    }
}

fn object(name: String, a: &FileAttributes) -> Object {
    Object {
        name,
        size: a.size.unwrap_or(0),
        modified: a
            .mtime
            .and_then(|t| jiff::Timestamp::from_second(i64::from(t)).ok()),
    }
}

async fn is_dir(c: &Conn, path: &str) -> Result<bool> {
    match c.sftp.stat(path).await {
        Ok(a) => Ok(a.attrs.is_dir()),
        Err(e) if no_such_file(&e) => Ok(false),
        Err(e) => Err(anyhow!(e)).with_context(|| format!("cannot stat {path}")),
    }
}

fn no_such_file(e: &SftpError) -> bool {
    matches!(e, SftpError::Status(s) if s.status_code == StatusCode::NoSuchFile)
}

/// Whether an error means the SFTP channel or the SSH session is gone.
fn lost(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<SftpError>(),
            Some(SftpError::IO(_) | SftpError::Timeout | SftpError::UnexpectedBehavior(_))
        )
    })
}

/// SFTP's wire encoding of two strings (the `posix-rename` request body).
fn two_strings(a: &str, b: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + a.len() + b.len());
    for s in [a, b] {
        v.extend_from_slice(&(s.len() as u32).to_be_bytes());
        v.extend_from_slice(s.as_bytes());
    }
    v
}

/// Read an OpenSSH private key, decrypting it with the passphrase.
fn load_key(file: &Path, passphrase: Option<&Secret>) -> Result<PrivateKey> {
    let text = std::fs::read_to_string(file).with_context(|| {
        format!(
            "cannot read the key file {} (OFFSITE_KEY_FILE or the target's key_file:)",
            file.display()
        )
    })?;
    match russh::keys::decode_secret_key(&text, passphrase.map(Secret::expose)) {
        Ok(k) => Ok(k),
        Err(russh::keys::Error::KeyIsEncrypted) => bail!(
            "the key file {} is protected by a passphrase: put it in OFFSITE_KEY_PASSPHRASE (or the target's key_passphrase:)",
            file.display()
        ),
        Err(e) if passphrase.is_some() => bail!(
            "cannot decrypt the key file {} ({e}): check OFFSITE_KEY_PASSPHRASE (or the target's key_passphrase:)",
            file.display()
        ),
        Err(e) => bail!(
            "cannot read the key file {} ({e}): OFFSITE_KEY_FILE (or the target's key_file:) must be an OpenSSH private key",
            file.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths_map_to_remote_roots() {
        assert_eq!(remote_root("srv/1c"), "/srv/1c");
        assert_eq!(remote_root(""), "");
        assert_eq!(remote_root("~"), "");
        assert_eq!(remote_root("~/copies/"), "copies");
        assert_eq!(join("/srv", "a/b.zip"), "/srv/a/b.zip");
        assert_eq!(join("", "a/b.zip"), "a/b.zip");
        assert_eq!(parent("/srv/a/b.zip"), "/srv/a");
        assert_eq!(parent("/b.zip"), "/");
        assert_eq!(parent("b.zip"), "");
    }

    #[test]
    fn pins_parse() {
        assert!(matches!(Pin::parse(None), Pin::None));
        assert!(matches!(Pin::parse(Some("  ")), Pin::None));
        assert!(
            matches!(Pin::parse(Some("SHA256:abc=")), Pin::Fingerprint(f) if f == "SHA256:abc")
        );
        assert!(matches!(Pin::parse(Some("/etc/kh")), Pin::File(p) if p == Path::new("/etc/kh")));
    }

    #[test]
    fn two_strings_are_length_prefixed() {
        assert_eq!(
            two_strings("a", "bc"),
            [0, 0, 0, 1, b'a', 0, 0, 0, 2, b'b', b'c']
        );
    }
}
