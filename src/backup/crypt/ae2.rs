//! WinZip AES-256 encryption of one zip entry (AE-2, as 7-Zip and WinRAR
//! read it): a random 16-byte salt per entry; PBKDF2-HMAC-SHA1 with 1000
//! iterations gives a 32-byte AES key, a 32-byte HMAC key and a 2-byte
//! password verifier; the compressed data is encrypted with AES in CTR
//! mode (WinZip's little-endian counter, starting at 1) and authenticated
//! by HMAC-SHA1 over the ciphertext, cut to 10 bytes. The entry's data is
//! then `salt ‖ verifier ‖ ciphertext ‖ code`, its method 99 and its CRC 0
//! (AE-2 stores none: the code is the check), with the real method in the
//! `0x9901` extra field. The zip writer calls [`Encryptor`] on each chunk as
//! it writes it, so encryption streams with packing.

use std::num::NonZeroU32;

use aes::Aes256;
use aes::cipher::{BlockCipherEncrypt, KeyInit};

/// The compression method of an AES-encrypted entry.
pub const METHOD: u16 = 99;
/// The id of the extra field that holds the real method.
pub const EXTRA_ID: u16 = 0x9901;
/// Bytes of the salt (AES-256).
pub const SALT_LEN: usize = 16;
/// Bytes of the authentication code at the end of the data.
pub const CODE_LEN: usize = 10;
/// Bytes an entry's data grows by: salt, verifier and code.
pub const OVERHEAD: u64 = (SALT_LEN + 2 + CODE_LEN) as u64;
/// The "version needed to extract" of an AES entry.
pub const VERSION_NEEDED: u16 = 51;
/// PBKDF2 iterations, fixed by the format.
const ITERATIONS: u32 = 1000;

/// The keys PBKDF2 gives for one entry.
pub struct Derived {
    pub aes_key: [u8; 32],
    pub mac_key: [u8; 32],
    pub verifier: [u8; 2],
}

/// Derive an entry's keys from the password and its salt.
pub fn derive(password: &[u8], salt: &[u8; SALT_LEN]) -> Derived {
    let mut out = [0u8; 66];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA1,
        NonZeroU32::new(ITERATIONS).expect("non-zero"),
        salt,
        password,
        &mut out,
    );
    let mut d = Derived {
        aes_key: [0; 32],
        mac_key: [0; 32],
        verifier: [0; 2],
    };
    d.aes_key.copy_from_slice(&out[..32]);
    d.mac_key.copy_from_slice(&out[32..64]);
    d.verifier.copy_from_slice(&out[64..]);
    d
}

/// The `0x9901` extra field: vendor version 2 (AE-2), vendor "AE",
/// strength 3 (AES-256), then the real compression method.
pub fn extra_field(real_method: u16) -> [u8; 11] {
    let mut f = [0u8; 11];
    f[..2].copy_from_slice(&EXTRA_ID.to_le_bytes());
    f[2..4].copy_from_slice(&7u16.to_le_bytes());
    f[4..6].copy_from_slice(&2u16.to_le_bytes());
    f[6..8].copy_from_slice(b"AE");
    f[8] = 3;
    f[9..11].copy_from_slice(&real_method.to_le_bytes());
    f
}

/// AES-256 in WinZip's CTR mode: block `i` (from 1) of the key stream is
/// the encryption of `i` as a 16-byte little-endian number. The same
/// operation encrypts and decrypts.
pub struct Ctr {
    cipher: Aes256,
    /// The counter of the next key-stream block.
    next: u128,
    /// Unused key stream of the last block, and where its unused part starts.
    left: [u8; 16],
    used: usize,
    batch: Vec<aes::Block>,
}

/// Blocks of key stream made per call of the cipher (4 KiB).
const BATCH: usize = 256;

impl Ctr {
    pub fn new(key: &[u8; 32]) -> Ctr {
        Ctr {
            cipher: Aes256::new(key.into()),
            next: 1,
            left: [0; 16],
            used: 16,
            batch: vec![aes::Block::default(); BATCH],
        }
    }

    /// XOR `data` with the next bytes of the key stream.
    pub fn apply(&mut self, data: &mut [u8]) {
        let mut data = data;
        while self.used < 16 && !data.is_empty() {
            data[0] ^= self.left[self.used];
            self.used += 1;
            data = &mut data[1..];
        }
        while !data.is_empty() {
            let blocks = data.len().div_ceil(16).min(BATCH);
            for b in &mut self.batch[..blocks] {
                b.copy_from_slice(&self.next.to_le_bytes());
                self.next = self.next.wrapping_add(1);
            }
            self.cipher.encrypt_blocks(&mut self.batch[..blocks]);
            let n = data.len().min(blocks * 16);
            for (chunk, ks) in data[..n].chunks_mut(16).zip(&self.batch[..blocks]) {
                for (d, k) in chunk.iter_mut().zip(ks.iter()) {
                    *d ^= k;
                }
                if chunk.len() < 16 {
                    self.left.copy_from_slice(ks);
                    self.used = chunk.len();
                }
            }
            data = &mut data[n..];
        }
    }
}

/// Encrypts one entry's compressed data as it streams past.
pub struct Encryptor {
    ctr: Ctr,
    mac: ring::hmac::Context,
}

impl Encryptor {
    /// A new entry's encryptor with a fresh random salt, and the bytes that
    /// open its data: the salt and the password verifier.
    pub fn new(password: &[u8]) -> std::io::Result<(Encryptor, [u8; SALT_LEN + 2])> {
        let mut salt = [0u8; SALT_LEN];
        super::random(&mut salt)?;
        Ok(Self::with_salt(password, &salt))
    }

    /// As [`Encryptor::new`] with a given salt (tests: a known vector).
    pub fn with_salt(password: &[u8], salt: &[u8; SALT_LEN]) -> (Encryptor, [u8; SALT_LEN + 2]) {
        let d = derive(password, salt);
        let mut head = [0u8; SALT_LEN + 2];
        head[..SALT_LEN].copy_from_slice(salt);
        head[SALT_LEN..].copy_from_slice(&d.verifier);
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &d.mac_key);
        let enc = Encryptor {
            ctr: Ctr::new(&d.aes_key),
            mac: ring::hmac::Context::with_key(&key),
        };
        (enc, head)
    }

    /// Encrypt the next bytes of the entry in place.
    pub fn apply(&mut self, data: &mut [u8]) {
        self.ctr.apply(data);
        self.mac.update(data);
    }

    /// The authentication code that ends the entry's data.
    pub fn finish(self) -> [u8; CODE_LEN] {
        let tag = self.mac.sign();
        let mut code = [0u8; CODE_LEN];
        code.copy_from_slice(&tag.as_ref()[..CODE_LEN]);
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6070's PBKDF2-HMAC-SHA1 vector ("password", "salt", 2
    /// iterations) checks ring's KDF as we call it; 1000 iterations and the
    /// 66-byte split are checked against 7-Zip in the archive tests.
    #[test]
    fn pbkdf2_sha1_matches_rfc_6070() {
        let mut out = [0u8; 20];
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA1,
            NonZeroU32::new(2).unwrap(),
            b"salt",
            b"password",
            &mut out,
        );
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    }

    /// The key stream is AES(1), AES(2), … little-endian, whatever the
    /// pieces the data comes in.
    #[test]
    fn ctr_counts_from_one_little_endian_across_uneven_pieces() {
        let key = [7u8; 32];
        let cipher = Aes256::new((&key).into());
        let mut expected = Vec::new();
        for i in 1u128..=300 {
            let mut b = aes::Block::default();
            b.copy_from_slice(&i.to_le_bytes());
            cipher.encrypt_block(&mut b);
            expected.extend_from_slice(&b);
        }
        let mut ctr = Ctr::new(&key);
        let mut got = vec![0u8; expected.len()];
        let mut at = 0;
        for piece in [1, 15, 16, 17, 3, 4096, 100].iter().cycle() {
            let end = (at + piece).min(got.len());
            ctr.apply(&mut got[at..end]);
            at = end;
            if at == got.len() {
                break;
            }
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn extra_field_says_ae2_aes256_and_the_real_method() {
        assert_eq!(
            extra_field(8),
            [0x01, 0x99, 7, 0, 2, 0, b'A', b'E', 3, 8, 0]
        );
    }

    #[test]
    fn encryption_round_trips_and_the_code_covers_the_ciphertext() {
        let salt = [1u8; SALT_LEN];
        let (mut enc, head) = Encryptor::with_salt(b"pw", &salt);
        assert_eq!(&head[..SALT_LEN], &salt);
        assert_eq!(head[SALT_LEN..], derive(b"pw", &salt).verifier);
        let plain: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut data = plain.clone();
        enc.apply(&mut data[..5000]);
        enc.apply(&mut data[5000..]);
        let code = enc.finish();
        assert_ne!(data, plain);
        let d = derive(b"pw", &salt);
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &d.mac_key);
        assert_eq!(&ring::hmac::sign(&key, &data).as_ref()[..CODE_LEN], &code);
        Ctr::new(&d.aes_key).apply(&mut data);
        assert_eq!(data, plain);
    }
}
