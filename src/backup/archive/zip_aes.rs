//! The zip writer's encryption layer: turns the headers [`super::zip_writer`]
//! built for a plain entry into those of a WinZip AES-256 (AE-2) entry
//! (encrypted flag, method 99, version 5.1, CRC 0, the `0x9901` extra field
//! naming the real method) and wraps an entry's data with the salt and
//! password verifier before it and the authentication code after it. The
//! cryptography itself is in [`crate::backup::crypt::ae2`].

use super::{ArchiveError, Out};
use crate::backup::crypt::ae2::{self, Encryptor};
use crate::config::Secret;

const FLAG_ENCRYPTED: u16 = 1;

fn get16(h: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([h[at], h[at + 1]])
}

fn set16(h: &mut [u8], at: usize, v: u16) {
    h[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// Rewrite a header whose version, flags, method, CRC and extra length
/// sit at these offsets, and append the AES extra field (after the name
/// and extra fields; the comment is empty).
fn seal_header(mut h: Vec<u8>, version: &[usize], flags: usize, extra_len: usize) -> Vec<u8> {
    for &at in version {
        let v = get16(&h, at).max(ae2::VERSION_NEEDED);
        set16(&mut h, at, v);
    }
    let f = get16(&h, flags) | FLAG_ENCRYPTED;
    set16(&mut h, flags, f);
    let method = get16(&h, flags + 2);
    set16(&mut h, flags + 2, ae2::METHOD);
    // The CRC follows the method, time and date.
    h[flags + 8..flags + 12].fill(0);
    let extra = ae2::extra_field(method);
    let n = get16(&h, extra_len) + extra.len() as u16;
    set16(&mut h, extra_len, n);
    h.extend_from_slice(&extra);
    h
}

/// A local file header made for AE-2.
pub(super) fn local_header(h: Vec<u8>) -> Vec<u8> {
    seal_header(h, &[4], 6, 28)
}

/// A central directory header made for AE-2.
pub(super) fn central_header(h: Vec<u8>) -> Vec<u8> {
    seal_header(h, &[6], 8, 30)
}

/// One entry's encryption as its data is written.
pub(super) struct Sealing(Encryptor);

impl Sealing {
    /// Start an entry's data: a new salt and the password verifier.
    pub(super) fn start(password: &Secret, out: &mut Out) -> Result<Sealing, ArchiveError> {
        let (enc, head) = Encryptor::new(password.expose().as_bytes())
            .map_err(|e| ArchiveError::Compress(format!("cannot encrypt: {e}")))?;
        out.write(&head)?;
        Ok(Sealing(enc))
    }

    /// Encrypt the next piece of compressed data, then write it.
    pub(super) fn write(&mut self, data: &mut [u8], out: &mut Out) -> Result<(), ArchiveError> {
        self.0.apply(data);
        out.write(data)
    }

    /// End the entry's data with its authentication code.
    pub(super) fn finish(self, out: &mut Out) -> Result<(), ArchiveError> {
        out.write(&self.0.finish())
    }
}
