//! The host-key pin of the SFTP kind (`OFFSITE_KNOWN_HOST`, a target's
//! `known_host:`): a `SHA256:` fingerprint as `ssh-keygen -lf` prints it,
//! or a known_hosts file (plain, `[host]:port` and hashed entries); the
//! check of the key a server offers against it, with errors that say what
//! to put where; and the host-key algorithms to ask for so the server
//! offers the kind of key the file lists.

use std::path::PathBuf;

use russh::client;
use russh::keys::{HashAlg, PublicKey};

/// The host key we trust.
#[derive(Debug, Clone)]
pub enum Pin {
    /// `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it.
    Fingerprint(String),
    /// A known_hosts file (plain `host`, `[host]:port` and hashed entries).
    File(PathBuf),
    /// Nothing configured: every key is refused, and the error shows it.
    None,
}

impl Pin {
    pub fn parse(known_host: Option<&str>) -> Pin {
        match known_host.map(str::trim).filter(|s| !s.is_empty()) {
            None => Pin::None,
            Some(s) if s.starts_with("SHA256:") => Pin::Fingerprint(s.trim_end_matches('=').into()),
            Some(s) => Pin::File(PathBuf::from(s)),
        }
    }
}

/// The `SHA256:…` fingerprint of a key, as OpenSSH prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Whether `key`, offered by `host:port`, is the pinned one; the error says
/// what to do (and names both fingerprints on a mismatch).
pub fn check_pin(pin: &Pin, host: &str, port: u16, key: &PublicKey) -> Result<(), String> {
    let seen = fingerprint(key);
    match pin {
        Pin::None => Err(format!(
            "the server's host key is not pinned, so the connection was refused: check the \
             fingerprint out of band (ssh-keygen -lf on the server) and put it in \
             OFFSITE_KNOWN_HOST (or the target's known_host:); the server offered {seen}"
        )),
        Pin::Fingerprint(want) => {
            if *want == seen {
                Ok(())
            } else {
                Err(format!(
                    "HOST KEY MISMATCH: the server offered its {} key {seen} but \
                     OFFSITE_KNOWN_HOST (or the target's known_host:) pins {want}; someone may be \
                     intercepting the connection, or the server's key changed (then update it; \
                     pin the server's {} key, the one it offers)",
                    key.algorithm(),
                    key.algorithm()
                ))
            }
        }
        Pin::File(path) => {
            if !path.is_file() {
                return Err(format!(
                    "the known_hosts file {} in OFFSITE_KNOWN_HOST (or the target's known_host:) does not exist (put the file \
                     there or pin the fingerprint {seen} instead)",
                    path.display()
                ));
            }
            let listed = russh::keys::known_hosts::known_host_keys_path(host, port, path)
                .map_err(|e| format!("cannot read the known_hosts file {}: {e}", path.display()))?;
            if listed.iter().any(|(_, k)| k.key_data() == key.key_data()) {
                return Ok(());
            }
            let entry = if port == 22 {
                host.to_string()
            } else {
                format!("[{host}]:{port}")
            };
            let same_kind: Vec<String> = listed
                .iter()
                .filter(|(_, k)| k.algorithm() == key.algorithm())
                .map(|(line, k)| format!("{} (line {line})", fingerprint(k)))
                .collect();
            if same_kind.is_empty() {
                Err(format!(
                    "the known_hosts file {} has no {} key for {entry}: the server offered {seen}; \
                     add the server's key there (ssh-keyscan -p {port} {host}, checked out of \
                     band) or pin the fingerprint in OFFSITE_KNOWN_HOST (or the target's known_host:)",
                    path.display(),
                    key.algorithm()
                ))
            } else {
                Err(format!(
                    "HOST KEY MISMATCH: the server offered {seen} but the known_hosts file {} \
                     lists {} for {entry}; someone may be intercepting the connection, or the \
                     server's key changed (then update that file)",
                    path.display(),
                    same_kind.join(", ")
                ))
            }
        }
    }
}

/// With a known_hosts pin: the host-key algorithms of the keys it lists
/// for this server, in russh's order, so a server with several host keys
/// shows the one the file has (as OpenSSH's client does). `None` = the
/// default list.
pub(super) fn host_key_algorithms(
    pin: &Pin,
    host: &str,
    port: u16,
) -> Option<Vec<russh::keys::Algorithm>> {
    let Pin::File(path) = pin else {
        return None;
    };
    let listed = russh::keys::known_hosts::known_host_keys_path(host, port, path).ok()?;
    let algs: Vec<_> = client::Config::default()
        .preferred
        .key
        .iter()
        .filter(|a| {
            listed.iter().any(|(_, k)| {
                let b = k.algorithm();
                use russh::keys::Algorithm::Rsa;
                matches!((*a, &b), (Rsa { .. }, Rsa { .. })) || **a == b
            })
        })
        .cloned()
        .collect();
    (!algs.is_empty()).then_some(algs)
}
