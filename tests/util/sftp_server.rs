//! An in-process SSH server with SFTP over a temp folder, for password
//! logins: sshd can only check a password against a real system account,
//! which a test cannot create. Built with russh's server and russh-sftp's
//! server side, on a free loopback port, in a thread of its own; it takes
//! one user and password, serves plain SFTP (no extensions, so the client's
//! fallbacks — remove + rename, no fsync — are the ones exercised) and stops
//! when dropped.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use russh::server::{Auth, Msg, Server as _, Session};
use russh::{Channel, ChannelId};
use russh_sftp::protocol::{
    Attrs, Data, File, FileAttributes, Handle, Name, OpenFlags, Status, StatusCode, Version,
};
use tokio::sync::oneshot;

/// A running password-login SFTP server.
pub struct PasswordSftp {
    pub port: u16,
    /// The host key's `SHA256:…` fingerprint.
    pub fingerprint: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for PasswordSftp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl PasswordSftp {
    /// Serve `root` (client path `/x` = `root/x`) to `user` with `password`;
    /// the host key is generated under `keys`.
    pub fn start(root: &Path, keys: &Path, user: &str, password: &str) -> PasswordSftp {
        Self::start_on(None, root, keys, user, password)
    }

    /// The same on `port` when given (a restart: the host key under `keys`
    /// is reused when it is there).
    pub fn start_on(
        port: Option<u16>,
        root: &Path,
        keys: &Path,
        user: &str,
        password: &str,
    ) -> PasswordSftp {
        fs::create_dir_all(root).unwrap();
        fs::create_dir_all(keys).unwrap();
        let key_file = keys.join("server_host_ed25519");
        if !key_file.exists() {
            super::sshd::keygen(&key_file, "ed25519", "");
        }
        let fingerprint = super::sshd::fingerprint_of(&key_file.with_extension("pub"));
        let key = russh::keys::load_secret_key(&key_file, None).unwrap();
        let listener = match port {
            Some(p) => std::net::TcpListener::bind(("127.0.0.1", p)).unwrap(),
            None => super::proc::listen(),
        };
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let (root, user, password) = (root.to_path_buf(), user.to_string(), password.to_string());
        let thread = super::proc::serve_in_thread(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let config = Arc::new(russh::server::Config {
                auth_rejection_time: Duration::from_millis(100),
                auth_rejection_time_initial: Some(Duration::ZERO),
                keys: vec![key],
                ..Default::default()
            });
            let mut server = Server {
                root,
                user,
                password,
            };
            let running = server.run_on_socket(config, &listener);
            tokio::select! {
                _ = running => {}
                _ = stopped => {}
            }
        });
        PasswordSftp {
            port,
            fingerprint,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

struct Server {
    root: PathBuf,
    user: String,
    password: String,
}

impl russh::server::Server for Server {
    type Handler = Ssh;

    fn new_client(&mut self, _: Option<std::net::SocketAddr>) -> Ssh {
        Ssh {
            root: self.root.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            channels: HashMap::new(),
        }
    }
}

struct Ssh {
    root: PathBuf,
    user: String,
    password: String,
    channels: HashMap<ChannelId, Channel<Msg>>,
}

impl russh::server::Handler for Ssh {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if user == self.user && password == self.password {
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.close(channel)?;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        id: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match (name, self.channels.remove(&id)) {
            ("sftp", Some(channel)) => {
                session.channel_success(id)?;
                let handler = Sftp {
                    root: self.root.clone(),
                    open: HashMap::new(),
                    next: 0,
                };
                russh_sftp::server::run(channel.into_stream(), handler).await;
            }
            _ => session.channel_failure(id)?,
        }
        Ok(())
    }
}

enum Open {
    File(fs::File),
    /// A folder's entries, handed out on the first readdir.
    Dir(Option<Vec<File>>),
}

struct Sftp {
    root: PathBuf,
    open: HashMap<String, Open>,
    next: u64,
}

fn ok(id: u32) -> Status {
    Status {
        id,
        status_code: StatusCode::Ok,
        error_message: "Ok".into(),
        language_tag: "en-US".into(),
    }
}

fn code(e: std::io::Error) -> StatusCode {
    match e.kind() {
        std::io::ErrorKind::NotFound => StatusCode::NoSuchFile,
        std::io::ErrorKind::PermissionDenied => StatusCode::PermissionDenied,
        _ => StatusCode::Failure,
    }
}

impl Sftp {
    /// The local path of a client path; nothing outside the root.
    fn local(&self, path: &str) -> Result<PathBuf, StatusCode> {
        let mut p = self.root.clone();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err(StatusCode::PermissionDenied),
                part => p.push(part),
            }
        }
        Ok(p)
    }

    fn handle(&mut self, what: Open) -> String {
        self.next += 1;
        let h = self.next.to_string();
        self.open.insert(h.clone(), what);
        h
    }

    fn attrs(&self, id: u32, path: &str) -> Result<Attrs, StatusCode> {
        let m = fs::metadata(self.local(path)?).map_err(code)?;
        Ok(Attrs {
            id,
            attrs: FileAttributes::from(&m),
        })
    }
}

impl russh_sftp::server::Handler for Sftp {
    type Error = StatusCode;

    fn unimplemented(&self) -> StatusCode {
        StatusCode::OpUnsupported
    }

    async fn init(&mut self, _: u32, _: HashMap<String, String>) -> Result<Version, StatusCode> {
        Ok(Version::new())
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        _: FileAttributes,
    ) -> Result<Handle, StatusCode> {
        let p = self.local(&filename)?;
        let f = fs::OpenOptions::from(pflags).open(&p).map_err(code)?;
        Ok(Handle {
            id,
            handle: self.handle(Open::File(f)),
        })
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, StatusCode> {
        match self.open.remove(&handle) {
            Some(_) => Ok(ok(id)),
            None => Err(StatusCode::Failure),
        }
    }

    async fn read(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        len: u32,
    ) -> Result<Data, StatusCode> {
        let Some(Open::File(f)) = self.open.get(&handle) else {
            return Err(StatusCode::Failure);
        };
        let mut buf = vec![0u8; len as usize];
        let n = f.read_at(&mut buf, offset).map_err(code)?;
        if n == 0 {
            return Err(StatusCode::Eof);
        }
        buf.truncate(n);
        Ok(Data { id, data: buf })
    }

    async fn write(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        data: Vec<u8>,
    ) -> Result<Status, StatusCode> {
        let Some(Open::File(f)) = self.open.get(&handle) else {
            return Err(StatusCode::Failure);
        };
        f.write_all_at(&data, offset).map_err(code)?;
        Ok(ok(id))
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, StatusCode> {
        self.attrs(id, &path)
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, StatusCode> {
        self.attrs(id, &path)
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Result<Attrs, StatusCode> {
        let Some(Open::File(f)) = self.open.get(&handle) else {
            return Err(StatusCode::Failure);
        };
        let m = f.metadata().map_err(code)?;
        Ok(Attrs {
            id,
            attrs: FileAttributes::from(&m),
        })
    }

    async fn opendir(&mut self, id: u32, path: String) -> Result<Handle, StatusCode> {
        let p = self.local(&path)?;
        let mut files = Vec::new();
        for e in fs::read_dir(&p).map_err(code)? {
            let e = e.map_err(code)?;
            let m = e.metadata().map_err(code)?;
            files.push(File::new(
                e.file_name().to_string_lossy(),
                FileAttributes::from(&m),
            ));
        }
        Ok(Handle {
            id,
            handle: self.handle(Open::Dir(Some(files))),
        })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Result<Name, StatusCode> {
        match self.open.get_mut(&handle) {
            Some(Open::Dir(files)) => match files.take() {
                Some(files) if !files.is_empty() => Ok(Name { id, files }),
                _ => Err(StatusCode::Eof),
            },
            _ => Err(StatusCode::Failure),
        }
    }

    async fn remove(&mut self, id: u32, filename: String) -> Result<Status, StatusCode> {
        fs::remove_file(self.local(&filename)?).map_err(code)?;
        Ok(ok(id))
    }

    async fn mkdir(
        &mut self,
        id: u32,
        path: String,
        _: FileAttributes,
    ) -> Result<Status, StatusCode> {
        fs::create_dir(self.local(&path)?).map_err(code)?;
        Ok(ok(id))
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, StatusCode> {
        Ok(Name {
            id,
            files: vec![File::dummy(if path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            })],
        })
    }

    async fn rename(
        &mut self,
        id: u32,
        oldpath: String,
        newpath: String,
    ) -> Result<Status, StatusCode> {
        let (from, to) = (self.local(&oldpath)?, self.local(&newpath)?);
        // Plain SFTP (as OpenSSH without posix-rename): never over an existing file.
        if to.exists() {
            return Err(StatusCode::Failure);
        }
        fs::rename(from, to).map_err(code)?;
        Ok(ok(id))
    }
}
