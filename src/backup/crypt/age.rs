//! The age format (age-encryption.org/v1) with a passphrase, written and
//! read here so a `.tar.zst.age` opens with the `age` tool (`age -d`) and
//! with ours. The header holds one scrypt stanza: a random 16-byte file key
//! wrapped by ChaCha20-Poly1305 under scrypt(password, "age-encryption.org/
//! v1/scrypt" ‖ salt, N = 2^[`LOG_N`], r = 8, p = 1), and ends with an
//! HMAC-SHA256 of itself (key: HKDF-SHA256 of the file key, "header"). The
//! payload is a 16-byte nonce, then 64 KiB chunks sealed with
//! ChaCha20-Poly1305 under HKDF-SHA256(file key, nonce, "payload"), each
//! nonce an 11-byte big-endian counter and a last-chunk flag, so a
//! truncated or reordered file is caught.
//!
//! scrypt is deliberately slow (about a second and 256 MiB at
//! [`LOG_N`] = 18, age's own default): the writer hands back the file key so
//! the verification right after packing skips it, and the reader tries the
//! password whose key id the history names first. A header claiming a
//! work factor above [`MAX_LOG_N`] is refused before any memory is taken.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

use super::{Keys, key_id, random};
use crate::config::Secret;

/// The first line of every age file.
pub const MAGIC: &[u8] = b"age-encryption.org/v1\n";
/// The scrypt work factor we write: age's default, which every age reader
/// accepts (the `age` tool reads up to 22).
pub const LOG_N: u8 = 18;
/// The highest work factor we read (2^20 × 1 KiB = 1 GiB of memory).
pub const MAX_LOG_N: u8 = 20;

const SCRYPT_LABEL: &[u8] = b"age-encryption.org/v1/scrypt";
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
/// A header longer than this is not ours (ours is about 150 bytes).
const MAX_HEADER: usize = 16 * 1024;
/// Base64 lines of a stanza body are this long, except the last.
const COLUMNS: usize = 64;

/// The random key of one age file. Never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct FileKey([u8; 16]);

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileKey(***)")
    }
}

/// Why an age file could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum AgeError {
    #[error("wrong password (or the archive was made with another password)")]
    WrongPassword,
    #[error("the archive is encrypted and no password was given")]
    NoPassword,
    #[error("not an age file ({0})")]
    NotAge(String),
    #[error("its age header is damaged ({0})")]
    Header(String),
    #[error(
        "it was encrypted for an age recipient of type {0:?}, not with a password; only password-encrypted files are read"
    )]
    Recipient(String),
    #[error(
        "its scrypt work factor {0} is above {MAX_LOG_N}, the most read here (it would take over 1 GiB of memory)"
    )]
    WorkFactor(u8),
    #[error(
        "authentication failed in the encrypted data near byte {at}: the archive is damaged or was changed"
    )]
    Damaged { at: u64 },
    #[error("the encrypted data ends early (after {at} bytes): the archive is truncated")]
    Truncated { at: u64 },
    #[error("cannot read it: {0}")]
    Io(#[from] io::Error),
}

impl AgeError {
    /// The age error inside an I/O error from a reader stacked on ours
    /// (zstd, tar), if there is one.
    pub fn find(e: &io::Error) -> Option<&AgeError> {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|x| x as _);
        while let Some(err) = cur {
            if let Some(a) = err.downcast_ref::<AgeError>() {
                return Some(a);
            }
            if let Some(io) = err.downcast_ref::<io::Error>()
                && let Some(inner) = io.get_ref()
            {
                cur = Some(inner as _);
                continue;
            }
            cur = err.source();
        }
        None
    }
}

fn scrypt_key(password: &Secret, salt: &[u8; 16], log_n: u8) -> io::Result<LessSafeKey> {
    let mut full_salt = SCRYPT_LABEL.to_vec();
    full_salt.extend_from_slice(salt);
    let params =
        scrypt::Params::new(log_n, 8, 1).map_err(|_| io::Error::other("bad scrypt work factor"))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password.expose().as_bytes(), &full_salt, &params, &mut key)
        .map_err(|_| io::Error::other("scrypt failed"))?;
    Ok(chacha_key(&key))
}

fn chacha_key(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).expect("32-byte key"))
}

/// A length for HKDF's output.
struct Len32;

impl ring::hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

fn hkdf(ikm: &[u8], salt: &[u8], info: &[u8]) -> [u8; 32] {
    let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, salt).extract(ikm);
    let mut out = [0u8; 32];
    prk.expand(&[info], Len32)
        .and_then(|okm| okm.fill(&mut out))
        .expect("32 bytes is a valid HKDF-SHA256 length");
    out
}

fn header_mac(file_key: &FileKey, header: &[u8]) -> ring::hmac::Tag {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &hkdf(&file_key.0, b"", b"header"));
    ring::hmac::sign(&key, header)
}

fn payload_key(file_key: &FileKey, nonce: &[u8; 16]) -> LessSafeKey {
    chacha_key(&hkdf(&file_key.0, nonce, b"payload"))
}

fn chunk_nonce(counter: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// A new file key, scrypt salt and payload nonce.
fn fresh() -> io::Result<(FileKey, [u8; 16], [u8; 16])> {
    let mut file_key = FileKey([0; 16]);
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 16];
    random(&mut file_key.0)?;
    random(&mut salt)?;
    random(&mut nonce)?;
    Ok((file_key, salt, nonce))
}

/// The header of a file with `file_key`, wrapped under `wrap` (scrypt of
/// the password and `salt`), MAC line included.
fn header(
    file_key: &FileKey,
    salt: &[u8; 16],
    wrap: &LessSafeKey,
    log_n: u8,
) -> io::Result<Vec<u8>> {
    let mut body = file_key.0.to_vec();
    wrap.seal_in_place_append_tag(
        Nonce::assume_unique_for_key([0; 12]),
        Aad::empty(),
        &mut body,
    )
    .map_err(|_| io::Error::other("cannot wrap the file key"))?;
    let mut header = format!(
        "age-encryption.org/v1\n-> scrypt {} {log_n}\n{}\n---",
        B64.encode(salt),
        B64.encode(&body)
    )
    .into_bytes();
    let mac = header_mac(file_key, &header);
    header.extend_from_slice(format!(" {}\n", B64.encode(mac.as_ref())).as_bytes());
    Ok(header)
}

/// The length of every header [`header`] writes with work factor `log_n`
/// (salt, wrapped key and MAC have fixed lengths).
fn header_len(log_n: u8) -> io::Result<usize> {
    let zero = chacha_key(&[0; 32]);
    Ok(header(&FileKey([0; 16]), &[0; 16], &zero, log_n)?.len())
}

/// The header of a [`Writer::deferred`] file, not made yet: scrypt runs
/// when [`PendingHeader::finish`] is called, on the caller's thread (the
/// backup calls it on a thread of its own while it verifies the payload).
pub struct PendingHeader {
    file_key: FileKey,
    salt: [u8; 16],
    password: Secret,
    log_n: u8,
    len: usize,
}

impl fmt::Debug for PendingHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PendingHeader({} bytes)", self.len)
    }
}

impl PendingHeader {
    /// The placeholder's length: where the payload's nonce begins.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never: a header has its first line at least.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Run scrypt; the header's bytes, exactly as long as the placeholder.
    pub fn finish(self) -> io::Result<Vec<u8>> {
        let wrap = scrypt_key(&self.password, &self.salt, self.log_n)?;
        let h = header(&self.file_key, &self.salt, &wrap, self.log_n)?;
        if h.len() != self.len {
            return Err(io::Error::other("the age header changed length"));
        }
        Ok(h)
    }
}

/// Encrypts a stream into an age file as it is written. [`Writer::finish`]
/// must be called: it seals the last chunk.
pub struct Writer<W: Write> {
    inner: W,
    key: LessSafeKey,
    buf: Vec<u8>,
    counter: u64,
}

impl<W: Write> Writer<W> {
    /// Write the header (running scrypt once with work factor `log_n`)
    /// and the payload nonce to `inner`; returns the writer and the file
    /// key, for a verification that should not run scrypt again.
    pub fn new(mut inner: W, password: &Secret, log_n: u8) -> io::Result<(Writer<W>, FileKey)> {
        let (file_key, salt, nonce) = fresh()?;
        let wrap = scrypt_key(password, &salt, log_n)?;
        inner.write_all(&header(&file_key, &salt, &wrap, log_n)?)?;
        inner.write_all(&nonce)?;
        Ok((Writer::start(inner, &file_key, &nonce), file_key))
    }

    /// Like [`Writer::new`], but scrypt waits: `inner` gets a placeholder
    /// of the header's exact length (the header's length depends only on
    /// `log_n`), and the caller writes [`PendingHeader::finish`]'s bytes
    /// over it at offset 0, when and where it likes. The payload's key
    /// comes from the random file key alone, so nothing waits for scrypt:
    /// a backup runs it beside the verification instead of before the
    /// packing (about a second).
    pub fn deferred(
        mut inner: W,
        password: &Secret,
        log_n: u8,
    ) -> io::Result<(Writer<W>, FileKey, PendingHeader)> {
        let (file_key, salt, nonce) = fresh()?;
        let len = header_len(log_n)?;
        inner.write_all(&vec![0; len])?;
        inner.write_all(&nonce)?;
        let w = Writer::start(inner, &file_key, &nonce);
        let pending = PendingHeader {
            file_key: file_key.clone(),
            salt,
            password: password.clone(),
            log_n,
            len,
        };
        Ok((w, file_key, pending))
    }

    fn start(inner: W, file_key: &FileKey, nonce: &[u8; 16]) -> Writer<W> {
        Writer {
            inner,
            key: payload_key(file_key, nonce),
            buf: Vec::with_capacity(CHUNK + TAG),
            counter: 0,
        }
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        let nonce = chunk_nonce(self.counter, last);
        self.key
            .seal_in_place_append_tag(nonce, Aad::empty(), &mut self.buf)
            .map_err(|_| io::Error::other("cannot encrypt a chunk"))?;
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| io::Error::other("too many chunks for one age file"))?;
        Ok(())
    }

    /// Seal the last chunk; returns the inner writer (not flushed).
    pub fn finish(mut self) -> io::Result<W> {
        self.seal(true)?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Writer<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        // A full chunk is sealed only once more data shows it is not the last.
        if self.buf.len() == CHUNK {
            self.seal(false)?;
        }
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decrypts an age file as it is read; any damage or truncation is a read
/// error holding an [`AgeError`].
pub struct Reader<R: Read> {
    inner: BufReader<R>,
    key: LessSafeKey,
    counter: u64,
    /// Ciphertext read ahead: one chunk and one byte more, to know whether
    /// a full chunk is the last.
    cipher: Vec<u8>,
    plain: Vec<u8>,
    pos: usize,
    done: bool,
    /// Bytes of the file consumed so far (for error positions).
    offset: u64,
}

/// What [`open`] found: the reader, and the key id of the password that
/// opened the file.
pub struct Opened<R: Read> {
    pub reader: Reader<R>,
    pub key_id: String,
}

/// One stanza of the header.
struct Stanza {
    kind: String,
    args: Vec<String>,
    body: Vec<u8>,
}

fn header_line(r: &mut impl BufRead, header: &mut Vec<u8>) -> Result<String, AgeError> {
    let mut line = Vec::new();
    let limit = (MAX_HEADER + 1).saturating_sub(header.len()) as u64;
    r.take(limit).read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Err(if header.len() + line.len() > MAX_HEADER {
            AgeError::Header(format!("longer than {MAX_HEADER} bytes"))
        } else {
            AgeError::Header("it ends before the header does".into())
        });
    }
    header.extend_from_slice(&line);
    line.pop();
    String::from_utf8(line).map_err(|_| AgeError::Header("a line is not text".into()))
}

fn b64(s: &str, what: &str) -> Result<Vec<u8>, AgeError> {
    B64.decode(s)
        .map_err(|_| AgeError::Header(format!("{what} is not canonical base64")))
}

/// Read and check the header of an age file and unlock it with `keys`.
pub fn open<R: Read>(inner: R, keys: &Keys) -> Result<Opened<R>, AgeError> {
    let mut r = BufReader::with_capacity(CHUNK + TAG + 1, inner);
    let mut header = Vec::new();
    let first = header_line(&mut r, &mut header).map_err(|e| match e {
        AgeError::Io(e) => AgeError::Io(e),
        _ => AgeError::NotAge("it does not start with age-encryption.org/v1".into()),
    })?;
    if first.as_bytes() != &MAGIC[..MAGIC.len() - 1] {
        return Err(AgeError::NotAge(
            "it does not start with age-encryption.org/v1".into(),
        ));
    }
    let mut stanzas = Vec::new();
    let mut line = header_line(&mut r, &mut header)?;
    let (mac, header_len) = loop {
        if let Some(rest) = line.strip_prefix("-> ") {
            let mut words = rest.split(' ').map(str::to_string);
            let kind = words.next().unwrap_or_default();
            let args: Vec<String> = words.collect();
            let mut body = String::new();
            loop {
                let l = header_line(&mut r, &mut header)?;
                let short = l.len() < COLUMNS;
                body.push_str(&l);
                if l.len() > COLUMNS {
                    return Err(AgeError::Header("a stanza line is too long".into()));
                }
                if short {
                    break;
                }
            }
            let body = b64(&body, "a stanza body")?;
            stanzas.push(Stanza { kind, args, body });
            line = header_line(&mut r, &mut header)?;
        } else if let Some(m) = line.strip_prefix("--- ") {
            // The MAC covers the header up to and including "---".
            let full = header.len();
            header.truncate(full - line.len() - 1 + 3);
            break (b64(m, "the header MAC")?, full);
        } else {
            return Err(AgeError::Header(
                "a line is neither a stanza nor the end".into(),
            ));
        }
    };
    let stanza = match stanzas.as_slice() {
        [one] if one.kind == "scrypt" => one,
        [] => return Err(AgeError::Header("no recipient stanza".into())),
        _ => {
            let other = stanzas.iter().find(|s| s.kind != "scrypt");
            return match other {
                Some(s) => Err(AgeError::Recipient(s.kind.clone())),
                None => Err(AgeError::Header("more than one scrypt stanza".into())),
            };
        }
    };
    let (salt, log_n) = scrypt_args(stanza)?;
    let unlocked = unlock(keys, &header, &mac, &salt, log_n, &stanza.body)?;
    Ok(Opened {
        reader: Reader::payload(r, &unlocked.0, header_len as u64)?,
        key_id: unlocked.1,
    })
}

/// The payload of an age file whose header is not read (nor yet, maybe,
/// written: a [`Writer::deferred`] file before its header is in place),
/// opened with its file key: the payload starts `header_len` bytes in.
/// Every chunk is still authenticated, so damage is caught; the header is
/// for the caller to check once it is there ([`open`]).
pub fn open_payload<R: Read>(
    inner: R,
    file_key: &FileKey,
    header_len: usize,
) -> Result<Reader<R>, AgeError> {
    let mut r = BufReader::with_capacity(CHUNK + TAG + 1, inner);
    let skipped = io::copy(&mut (&mut r).take(header_len as u64), &mut io::sink())?;
    if skipped < header_len as u64 {
        return Err(AgeError::Truncated { at: skipped });
    }
    Reader::payload(r, file_key, header_len as u64)
}

impl<R: Read> Reader<R> {
    /// The reader of a payload whose nonce is next in `r`, `offset` bytes
    /// into the file.
    fn payload(mut r: BufReader<R>, file_key: &FileKey, offset: u64) -> Result<Self, AgeError> {
        let mut nonce = [0u8; 16];
        r.read_exact(&mut nonce).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => AgeError::Truncated { at: offset },
            _ => AgeError::Io(e),
        })?;
        Ok(Reader {
            inner: r,
            key: payload_key(file_key, &nonce),
            counter: 0,
            cipher: Vec::with_capacity(CHUNK + TAG + 1),
            plain: Vec::new(),
            pos: 0,
            done: false,
            offset: offset + 16,
        })
    }
}

fn scrypt_args(s: &Stanza) -> Result<([u8; 16], u8), AgeError> {
    let [salt, log_n] = s.args.as_slice() else {
        return Err(AgeError::Header(
            "the scrypt stanza needs a salt and a work factor".into(),
        ));
    };
    let salt: [u8; 16] = b64(salt, "the scrypt salt")?
        .try_into()
        .map_err(|_| AgeError::Header("the scrypt salt is not 16 bytes".into()))?;
    let canonical = !log_n.starts_with('0') && log_n.bytes().all(|b| b.is_ascii_digit());
    let log_n: u8 = log_n
        .parse()
        .ok()
        .filter(|n| canonical && *n > 0)
        .ok_or_else(|| AgeError::Header("the scrypt work factor is not a number".into()))?;
    if log_n > MAX_LOG_N {
        return Err(AgeError::WorkFactor(log_n));
    }
    if s.body.len() != 32 {
        return Err(AgeError::Header(
            "the wrapped file key is not 32 bytes".into(),
        ));
    }
    Ok((salt, log_n))
}

/// The file key and the key id of what opened it: the sealed key when it
/// fits the header's MAC, else each password in turn.
fn unlock(
    keys: &Keys,
    header: &[u8],
    mac: &[u8],
    salt: &[u8; 16],
    log_n: u8,
    body: &[u8],
) -> Result<(FileKey, String), AgeError> {
    let mac_ok = |fk: &FileKey| {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &hkdf(&fk.0, b"", b"header"));
        ring::hmac::verify(&key, header, mac).is_ok()
    };
    if let Some((fk, id)) = &keys.sealed
        && mac_ok(fk)
    {
        return Ok((fk.clone(), id.clone()));
    }
    if keys.passwords.is_empty() {
        return Err(AgeError::NoPassword);
    }
    for pw in keys.passwords.iter() {
        let wrap = scrypt_key(pw, salt, log_n)?;
        let mut b = body.to_vec();
        let Ok(plain) =
            wrap.open_in_place(Nonce::assume_unique_for_key([0; 12]), Aad::empty(), &mut b)
        else {
            continue;
        };
        let fk = FileKey(
            plain
                .try_into()
                .map_err(|_| AgeError::Header("bad file key".into()))?,
        );
        if !mac_ok(&fk) {
            return Err(AgeError::Header("its MAC does not match".into()));
        }
        return Ok((fk, key_id(pw)));
    }
    Err(AgeError::WrongPassword)
}

impl<R: Read> Reader<R> {
    /// Decrypt the next chunk into `plain`.
    fn next_chunk(&mut self) -> Result<(), AgeError> {
        let want = CHUNK + TAG + 1;
        while self.cipher.len() < want {
            let start = self.cipher.len();
            self.cipher.resize(want, 0);
            let n = self.inner.read(&mut self.cipher[start..]);
            let n = match n {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(e) => {
                    self.cipher.truncate(start);
                    return Err(AgeError::Io(e));
                }
            };
            self.cipher.truncate(start + n);
            if n == 0 {
                break;
            }
        }
        let last = self.cipher.len() < want;
        let carry = if last { None } else { self.cipher.pop() };
        let len = self.cipher.len();
        if len < TAG || (last && len == TAG && self.counter > 0) {
            return Err(AgeError::Truncated {
                at: self.offset + len as u64,
            });
        }
        // A full chunk at the end may be a middle one whose successors are
        // gone: keep a copy to tell truncation from damage.
        let spare = (last && len == CHUNK + TAG).then(|| self.cipher.clone());
        let nonce = chunk_nonce(self.counter, last);
        let opened = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut self.cipher);
        let Ok(plain) = opened else {
            let cut = spare.is_some_and(|mut c| {
                let nonce = chunk_nonce(self.counter, false);
                self.key.open_in_place(nonce, Aad::empty(), &mut c).is_ok()
            });
            return Err(if cut {
                AgeError::Truncated {
                    at: self.offset + len as u64,
                }
            } else {
                AgeError::Damaged { at: self.offset }
            });
        };
        let n = plain.len();
        self.cipher.truncate(n);
        std::mem::swap(&mut self.cipher, &mut self.plain);
        self.cipher.clear();
        self.cipher.extend(carry);
        self.pos = 0;
        self.offset += len as u64;
        self.counter += 1;
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            self.next_chunk().map_err(|e| match e {
                AgeError::Io(io) => io,
                other => io::Error::other(other),
            })?;
        }
        let n = buf.len().min(self.plain.len() - self.pos);
        buf[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
