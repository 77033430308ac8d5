//! A real OpenSSH server for the SFTP tests: `/usr/sbin/sshd -D -e` (Debian
//! `openssh-server`) on a free loopback port, with a fresh ed25519 host key,
//! `internal-sftp`, key logins of the current user against a temporary
//! authorized_keys file, and everything (config, keys, pid file, log) in
//! the test's temp folder; killed when dropped. Also `ssh-keygen` for user
//! keys. A missing sshd fails the test with the package to install.

use super::proc::{Proc, free_port, spawn};
use std::fs;
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd.
pub struct Sshd {
    pub port: u16,
    /// The login of the user running the tests (sshd can only log in as it).
    pub user: String,
    /// The host key's `SHA256:…` fingerprint, from `ssh-keygen -lf`.
    pub fingerprint: String,
    /// The host public key line (`ssh-ed25519 AAAA… comment`).
    pub host_pub: String,
    /// The RSA host key's line (`ssh-rsa AAAA… comment`).
    pub host_pub_rsa: String,
    pub log: PathBuf,
    authorized: PathBuf,
    _proc: Proc,
}

impl Sshd {
    /// Start sshd with its files under `dir` (created if missing).
    pub fn start(dir: &Path) -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} not found: install the Debian package `openssh-server` (scripts/test.sh does)"
        );
        fs::create_dir_all(dir).unwrap();
        // sshd refuses to start without its privilege-separation folder,
        // which only the package's service unit creates.
        let _ = fs::create_dir_all("/run/sshd");
        let host_key = dir.join("host_ed25519");
        keygen(&host_key, "ed25519", "");
        // A second host key, for pins that name the server's RSA key.
        let host_rsa = dir.join("host_rsa");
        keygen(&host_rsa, "rsa", "");
        let authorized = dir.join("authorized_keys");
        fs::write(&authorized, "").unwrap();
        let port = free_port();
        let pid = dir.join("sshd.pid");
        let config = dir.join("sshd_config");
        fs::write(
            &config,
            format!(
                "Port {port}\n\
                 ListenAddress 127.0.0.1\n\
                 HostKey {}\n\
                 HostKey {}\n\
                 PidFile {}\n\
                 AuthorizedKeysFile {}\n\
                 StrictModes no\n\
                 PermitRootLogin prohibit-password\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 UsePAM no\n\
                 Subsystem sftp internal-sftp\n\
                 LogLevel VERBOSE\n",
                host_key.display(),
                host_rsa.display(),
                pid.display(),
                authorized.display()
            ),
        )
        .unwrap();
        let log = dir.join("sshd.log");
        let proc = spawn(
            Command::new(SSHD)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&log).unwrap()),
        );
        let banner = |port: u16| -> bool {
            let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                return false;
            };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 8];
            s.read_exact(&mut buf).is_ok() && buf.starts_with(b"SSH-2.0")
        };
        let mut up = false;
        for _ in 0..150 {
            if banner(port) {
                up = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            up,
            "sshd did not answer on port {port} within 15 s: {}",
            fs::read_to_string(&log).unwrap_or_default()
        );
        let host_pub = fs::read_to_string(dir.join("host_ed25519.pub"))
            .unwrap()
            .trim()
            .to_string();
        let host_pub_rsa = fs::read_to_string(dir.join("host_rsa.pub"))
            .unwrap()
            .trim()
            .to_string();
        Sshd {
            port,
            host_pub_rsa,
            user: whoami(),
            fingerprint: fingerprint_of(&dir.join("host_ed25519.pub")),
            host_pub,
            log,
            authorized,
            _proc: proc,
        }
    }

    /// Let the public key `<key>.pub` log in.
    pub fn authorize(&self, key: &Path) {
        let mut pub_line = fs::read_to_string(pub_of(key)).unwrap();
        if !pub_line.ends_with('\n') {
            pub_line.push('\n');
        }
        let mut all = fs::read_to_string(&self.authorized).unwrap();
        all.push_str(&pub_line);
        fs::write(&self.authorized, all).unwrap();
    }

    /// A known_hosts line for this server's ed25519 key (`[127.0.0.1]:port key`).
    pub fn known_hosts_line(&self) -> String {
        Self::line(self.port, &self.host_pub)
    }

    /// The same for its RSA key.
    pub fn known_hosts_line_rsa(&self) -> String {
        Self::line(self.port, &self.host_pub_rsa)
    }

    fn line(port: u16, host_pub: &str) -> String {
        let mut parts = host_pub.split_whitespace();
        let (kind, b64) = (parts.next().unwrap(), parts.next().unwrap());
        format!("[127.0.0.1]:{port} {kind} {b64}\n")
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Make a key pair at `path` / `path.pub` (`kind`: ed25519, rsa, ecdsa),
/// protected by `passphrase` unless it is empty.
pub fn keygen(path: &Path, kind: &str, passphrase: &str) {
    let mut c = Command::new(ssh_keygen());
    c.args([
        "-q",
        "-t",
        kind,
        "-N",
        passphrase,
        "-C",
        "onec-backup-bot-test",
        "-f",
    ])
    .arg(path)
    .stdin(Stdio::null());
    if kind == "rsa" {
        c.args(["-b", "2048"]);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `SHA256:…` of a public key file, as `ssh-keygen -lf` prints it.
pub fn fingerprint_of(pub_file: &Path) -> String {
    let out = Command::new(ssh_keygen())
        .arg("-lf")
        .arg(pub_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen -lf failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .expect("ssh-keygen -lf prints `bits fingerprint comment (type)`")
        .to_string()
}

/// Hash every host name in a known_hosts file (`ssh-keygen -H`).
pub fn hash_known_hosts(file: &Path) {
    let out = Command::new(ssh_keygen())
        .arg("-H")
        .arg("-f")
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh-keygen -H: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = fs::remove_file(file.with_extension("old"));
}

fn pub_of(key: &Path) -> PathBuf {
    let mut p = key.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

fn ssh_keygen() -> PathBuf {
    let p = PathBuf::from("/usr/bin/ssh-keygen");
    assert!(
        p.exists(),
        "ssh-keygen not found: install the Debian package `openssh-client` (scripts/test.sh installs openssh-server, which brings it)"
    );
    p
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
