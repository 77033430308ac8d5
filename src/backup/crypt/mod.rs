//! Archive encryption with `BACKUP_ARCHIVE_PASSWORD`: the passwords that
//! may open an archive (the current one, then `BACKUP_ARCHIVE_OLD_PASSWORDS`),
//! the short non-secret key id that tells which of them made an archive,
//! and the two formats, each in its own file: `ae2.rs` WinZip AES-256
//! (AE-2) for zip entries, opened by 7-Zip and WinRAR; `age.rs` the age
//! format with a passphrase (scrypt) around a whole `.tar.zst`.
//!
//! The crypto is ring (PBKDF2, HMAC, HKDF, ChaCha20-Poly1305, random
//! numbers), the `aes` block cipher and the `scrypt` KDF; nothing here
//! writes a password anywhere, and every error names what failed, never a
//! value.

use crate::config::{Base, Config, Secret};

pub mod ae2;
pub mod age;

/// What a key id is derived with: HMAC-SHA256(password, this).
const KEY_ID_LABEL: &[u8] = b"onec-backup-bot key id";

/// A short id of a password (8 hex digits), safe to store and show: it
/// tells which password made an archive without revealing it (it is a
/// keyed hash of a fixed text; guessing the password from it costs as much
/// as from the archive itself).
pub fn key_id(password: &Secret) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, password.expose().as_bytes());
    let tag = ring::hmac::sign(&key, KEY_ID_LABEL);
    tag.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The passwords that may open an archive, in the order they are tried:
/// the current one first, then the old ones; [`Passwords::for_key_id`]
/// puts the one an archive was made with first.
#[derive(Debug, Clone, Default)]
pub struct Passwords {
    list: Vec<Secret>,
}

impl Passwords {
    /// `current` then `old`, without empty or repeated values.
    pub fn new<'a>(current: Option<&'a Secret>, old: impl IntoIterator<Item = &'a Secret>) -> Self {
        let mut list: Vec<Secret> = Vec::new();
        for s in current.into_iter().chain(old) {
            if !s.is_empty() && !list.contains(s) {
                list.push(s.clone());
            }
        }
        Passwords { list }
    }

    /// Every archive password the settings hold: `base`'s first (when
    /// given), then every base's, then `BACKUP_ARCHIVE_OLD_PASSWORDS`.
    pub fn configured(cfg: &Config, base: Option<&Base>) -> Self {
        let bases = base.into_iter().chain(&cfg.bases);
        let current: Vec<&Secret> = bases.filter_map(|b| b.archive_password.as_ref()).collect();
        Passwords::new(None, current.into_iter().chain(&cfg.archive_old_passwords))
    }

    /// These passwords, then `more` (without repeats).
    pub fn then(&self, more: &Passwords) -> Passwords {
        Passwords::new(None, self.list.iter().chain(&more.list))
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The passwords in the order to try them.
    pub fn iter(&self) -> impl Iterator<Item = &Secret> {
        self.list.iter()
    }

    /// The same passwords with those whose key id is `id` first (the one
    /// the history says made the archive), the rest in their order.
    pub fn for_key_id(&self, id: Option<&str>) -> Passwords {
        let Some(id) = id else {
            return self.clone();
        };
        let (mut first, rest): (Vec<Secret>, Vec<Secret>) =
            self.list.iter().cloned().partition(|s| key_id(s) == id);
        first.extend(rest);
        Passwords { list: first }
    }
}

/// What can open an encrypted archive: the passwords to try and, right
/// after packing, the age file key the packer used (so the verification
/// that follows does not run scrypt again).
#[derive(Debug, Clone, Default)]
pub struct Keys {
    pub passwords: Passwords,
    /// The key of the age file just written, with the id of its password.
    pub sealed: Option<(age::FileKey, String)>,
}

impl Keys {
    pub fn new(passwords: Passwords) -> Self {
        Keys {
            passwords,
            sealed: None,
        }
    }
}

/// Fill `buf` from the system's secure random source.
pub(crate) fn random(buf: &mut [u8]) -> std::io::Result<()> {
    use ring::rand::SecureRandom;
    ring::rand::SystemRandom::new()
        .fill(buf)
        .map_err(|_| std::io::Error::other("the system random number generator failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_is_short_stable_and_tells_passwords_apart() {
        let a = key_id(&Secret::new("correct horse"));
        assert_eq!(a.len(), 8);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_eq!(a, key_id(&Secret::new("correct horse")));
        assert_ne!(a, key_id(&Secret::new("correct horse!")));
        // HMAC-SHA256(key = "pw", msg = "onec-backup-bot key id"), by
        // `printf 'onec-backup-bot key id' | openssl dgst -sha256 -hmac pw`.
        assert_eq!(key_id(&Secret::new("pw")), KNOWN_PW_ID);
    }

    const KNOWN_PW_ID: &str = "789eb1e8";

    #[test]
    fn passwords_keep_order_drop_repeats_and_put_the_matching_id_first() {
        let (a, b, c) = (Secret::new("a"), Secret::new("b"), Secret::new("c"));
        let p = Passwords::new(Some(&a), [&b, &a, &Secret::default(), &c]);
        let names = |p: &Passwords| p.iter().map(|s| s.expose().to_string()).collect::<Vec<_>>();
        assert_eq!(names(&p), ["a", "b", "c"]);
        assert_eq!(names(&p.for_key_id(Some(&key_id(&c)))), ["c", "a", "b"]);
        assert_eq!(names(&p.for_key_id(Some("00000000"))), ["a", "b", "c"]);
        assert_eq!(names(&p.for_key_id(None)), ["a", "b", "c"]);
        assert!(Passwords::new(None, []).is_empty());
    }
}
