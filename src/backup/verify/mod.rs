//! Re-reading a finished backup before it is published: every entry of a
//! `.zip` or `.tar.zst` (or every file of a folder, or a bare `.dt`/`.1CD`)
//! is read to its end, its CRC and size compared, a `1Cv8.1CD` header
//! checked against its size and a `.dt` inflated to its end. The SHA-256 of
//! the archive is computed in a second thread at the same time.
//! An encrypted archive (AES zip entries, a `.tar.zst.age`) is opened with
//! the [`Keys`] given: every password is tried, AE-2's authentication code
//! and age's tags are checked as the data is read, and a password that
//! fits none says so plainly rather than "damaged".
//! Errors say in plain words what is wrong and that the backup is damaged.
//! Hostile input is bounded: no header may make us allocate more than
//! [`limits::MAX_NAME`], a folder's links and special files are reported,
//! never followed or read, and names in errors are [`printable`].

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::backup::crypt::Keys;
use crate::backup::crypt::age::{self, AgeError};
use crate::cancel::{Cancel, Cancelled};
use crate::config::Secret;
use crate::onec::files::{CD_HEADER_LEN, DtCheck, check_1cd_header, check_dt, read_full};

pub mod limits;

/// What was checked in one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryCheck {
    pub name: String,
    /// Uncompressed size.
    pub size: u64,
    /// CRC-32 of the content (as read, and equal to the stored one where
    /// the format stores one).
    pub crc32: Option<u32>,
    /// What the content check found, e.g. `1CD 8.3.8, 374 pages x 8192`.
    pub detail: Option<String>,
}

/// A verified backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub path: PathBuf,
    /// Size on disk (for a folder: the sum of its files).
    pub size: u64,
    /// Hex SHA-256 of the file; for a folder, of its manifest (one
    /// `name<TAB>size<TAB>crc32` line per file, sorted by name).
    pub sha256: String,
    pub entries: Vec<EntryCheck>,
    /// For an encrypted archive: the key id of the password that opened it.
    pub key_id: Option<String>,
}

/// Why a backup failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: not a zip archive ({reason}) — the backup is damaged", path.display())]
    NotZip { path: PathBuf, reason: String },
    #[error(
        "{}: not a backup we recognise (expected a .zip, .tar.zst, .dt, .1CD or a folder)",
        path.display()
    )]
    Unrecognised { path: PathBuf },
    #[error(
        "{}: truncated ({}) — the backup is incomplete, make it again",
        path.display(),
        printable(detail)
    )]
    Truncated { path: PathBuf, detail: String },
    // Details can quote a name from a header (the tar reader's errors do).
    #[error("{}: damaged ({}) — make the backup again", path.display(), printable(detail))]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "entry {}: CRC mismatch (expected {expected:08x}, got {got:08x}) — the archive is damaged",
        printable(name)
    )]
    Crc {
        name: String,
        expected: u32,
        got: u32,
    },
    #[error(
        "entry {}: size mismatch (expected {expected} bytes, got {got}) — the archive is damaged",
        printable(name)
    )]
    Size {
        name: String,
        expected: u64,
        got: u64,
    },
    #[error("entry {}: {reason} — the backup is damaged", printable(name))]
    Entry { name: String, reason: String },
    #[error(
        "{}: wrong password (or the archive was made with another password); give the one it was \
         made with in BACKUP_ARCHIVE_PASSWORD, BACKUP_ARCHIVE_OLD_PASSWORDS or --password-env",
        path.display()
    )]
    WrongPassword { path: PathBuf },
    #[error(
        "{}: the archive is encrypted; give its password in BACKUP_ARCHIVE_PASSWORD (or \
         BACKUP_ARCHIVE_OLD_PASSWORDS), or with --password-env NAME",
        path.display()
    )]
    NeedPassword { path: PathBuf },
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

/// Verify one of our outputs: `.zip`, `.tar.zst`, bare `.dt`, bare
/// `.1CD`, or a folder (copy method without compression). An encrypted
/// archive needs [`verify_with`].
pub fn verify(path: &Path, cancel: &Cancel) -> Result<VerifyReport, VerifyError> {
    verify_with(path, &Keys::default(), cancel)
}

/// [`verify`], opening an encrypted archive with `keys`.
pub fn verify_with(path: &Path, keys: &Keys, cancel: &Cancel) -> Result<VerifyReport, VerifyError> {
    let io_err = |source| VerifyError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if meta.is_dir() {
        return verify_folder(path, cancel);
    }
    let kind = detect(path)?;
    std::thread::scope(|s| {
        let background = crate::platform::this_thread_is_background();
        let hasher = s.spawn(move || {
            crate::platform::background_like(background);
            sha256_file(path, cancel)
        });
        let entries = match kind {
            Kind::Zip => zip_entries(path, keys, cancel),
            Kind::TarZst => tar_zst_entries(path, None, cancel),
            Kind::Age => tar_zst_entries(path, Some(keys), cancel),
            Kind::Bare => bare_entry(path, cancel).map(|e| (e, None)),
        };
        let sha = hasher.join().expect("sha256 thread does not panic");
        let (entries, key_id) = entries?;
        let sha256 = sha.map_err(|e| {
            if cancel.is_cancelled() {
                VerifyError::Cancelled(Cancelled)
            } else {
                io_err(e)
            }
        })?;
        Ok(VerifyReport {
            path: path.to_owned(),
            size: meta.len(),
            sha256,
            entries,
            key_id,
        })
    })
}

/// [`verify_with`] for a `.tar.zst.age` fresh from
/// [`archive::pack_unsealed`](crate::backup::archive::pack_unsealed) whose
/// header scrypt is still making: the payload is read with the file key
/// in `keys.sealed` while another thread waits for the header, writes and
/// syncs it ([`archive::seal_header`](crate::backup::archive::seal_header))
/// and then hashes the finished file; at the end the header itself is
/// read back and checked (its MAC, with the same key). So scrypt's second
/// runs beside the decompression, on the core it leaves free.
pub fn verify_sealing(
    path: &Path,
    keys: &Keys,
    header: age::PendingHeader,
    cancel: &Cancel,
) -> Result<VerifyReport, VerifyError> {
    let io_err = |source| VerifyError::Io {
        path: path.to_owned(),
        source,
    };
    let Some((file_key, _)) = &keys.sealed else {
        return Err(io_err(io::Error::other(
            "an unsealed age file is verified with the key it was written with",
        )));
    };
    let header_len = header.len();
    std::thread::scope(|s| {
        let background = crate::platform::this_thread_is_background();
        let sealer = s.spawn(move || {
            crate::platform::background_like(background);
            crate::backup::archive::seal_header(path, header)
                .map_err(|e| io::Error::other(e.to_string()))?;
            sha256_file(path, cancel)
        });
        let entries = File::open(path)
            .map_err(io_err)
            .and_then(|f| age::open_payload(f, file_key, header_len).map_err(|e| age_err(path, &e)))
            .and_then(|payload| tar_zst_stream(path, Box::new(payload), cancel));
        let sha = sealer.join().expect("the sealing thread does not panic");
        let sha256 = sha.map_err(|e| {
            if cancel.is_cancelled() {
                VerifyError::Cancelled(Cancelled)
            } else {
                io_err(e)
            }
        })?;
        let entries = entries?;
        // The header, now in place: it must open with the same key.
        let f = File::open(path).map_err(io_err)?;
        let key_id = age::open(f, keys).map_err(|e| age_err(path, &e))?.key_id;
        Ok(VerifyReport {
            path: path.to_owned(),
            size: std::fs::metadata(path).map_err(io_err)?.len(),
            sha256,
            entries,
            key_id: Some(key_id),
        })
    })
}

/// What an archive file is, by its magic number and name.
pub(crate) enum Kind {
    Zip,
    TarZst,
    /// A `.tar.zst` encrypted with age.
    Age,
    /// A bare `.dt` or `.1CD`.
    Bare,
}

/// Tell a `.zip`, a `.tar.zst` and a bare `.dt`/`.1CD` apart; a name that
/// promises one kind and bytes that are not it is an error.
pub(crate) fn detect(path: &Path) -> Result<Kind, VerifyError> {
    let mut head = [0u8; 22];
    let mut f = File::open(path).map_err(|source| VerifyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let n = read_full(&mut f, &mut head).map_err(|source| VerifyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let head = &head[..n];
    let lower = path.to_string_lossy().to_lowercase();
    let zip_magic = head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06");
    let zstd_magic = head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]);
    let age_magic = head.starts_with(age::MAGIC);
    if n == 0 {
        return Err(VerifyError::Truncated {
            path: path.to_owned(),
            detail: "the file is empty".into(),
        });
    }
    if lower.ends_with(".zip") && !zip_magic {
        return Err(VerifyError::NotZip {
            path: path.to_owned(),
            reason: "it does not start with a zip local header".into(),
        });
    }
    if lower.ends_with(".age") && !age_magic {
        return Err(VerifyError::Damaged {
            path: path.to_owned(),
            detail: "not an age file: it does not start with age-encryption.org/v1".into(),
        });
    }
    if lower.ends_with(".zst") && !zstd_magic {
        return Err(VerifyError::Damaged {
            path: path.to_owned(),
            detail: "not a zstd stream: wrong magic number".into(),
        });
    }
    if zip_magic {
        Ok(Kind::Zip)
    } else if age_magic {
        Ok(Kind::Age)
    } else if zstd_magic {
        Ok(Kind::TarZst)
    } else if lower.ends_with(".dt")
        || lower.ends_with(".1cd")
        || head.starts_with(crate::onec::files::DT_SIGNATURE)
        || head.starts_with(crate::onec::files::CD_SIGNATURE)
    {
        Ok(Kind::Bare)
    } else {
        Err(VerifyError::Unrecognised {
            path: path.to_owned(),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a file, lowercase hex (as runs record it).
pub fn sha256_file(path: &Path, cancel: &Cancel) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.is_cancelled() {
            return Err(io::Error::other(Cancelled));
        }
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hex(&h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

/// Passes bytes through, hashing and counting them, keeping the first 24
/// (for a `.1CD` header) and stopping on cancel.
struct Tee<'a, R> {
    inner: R,
    crc: crc32fast::Hasher,
    n: u64,
    head: Vec<u8>,
    cancel: &'a Cancel,
}

impl<'a, R: Read> Tee<'a, R> {
    fn new(inner: R, cancel: &'a Cancel) -> Self {
        Tee {
            inner,
            crc: crc32fast::Hasher::new(),
            n: 0,
            head: Vec::with_capacity(CD_HEADER_LEN),
            cancel,
        }
    }
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::other(Cancelled));
        }
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        self.n += n as u64;
        if self.head.len() < CD_HEADER_LEN {
            let take = (CD_HEADER_LEN - self.head.len()).min(n);
            self.head.extend_from_slice(&buf[..take]);
        }
        Ok(n)
    }
}

pub(crate) fn is_1cd(name: &str) -> bool {
    name.to_lowercase().ends_with(".1cd")
}

pub(crate) fn is_dt(name: &str) -> bool {
    name.to_lowercase().ends_with(".dt")
}

/// Read `r` to its end in 256 KiB steps: `io::copy`'s 8 KiB would make a
/// decompressor stop and copy out 32 times as often.
fn drain(r: &mut impl Read) -> io::Result<()> {
    let mut buf = vec![0u8; 256 << 10];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The outcome of reading one entry's content to its end.
struct Read1 {
    n: u64,
    crc: u32,
    /// A read error of the container (decompression, stored CRC).
    read_error: Option<io::Error>,
    detail: Option<String>,
    /// A content check that failed (`.1CD` header, `.dt` stream).
    problem: Option<String>,
}

fn read_entry(name: &str, r: impl Read, cancel: &Cancel) -> Result<Read1, VerifyError> {
    let mut tee = Tee::new(r, cancel);
    let mut detail = None;
    let mut problem = None;
    let mut read_error = None;
    if is_dt(name) {
        match check_dt(&mut tee) {
            Ok(DtCheck::Complete { inflated }) => {
                detail = Some(format!("dt complete, {inflated} bytes inflated"));
            }
            Ok(DtCheck::UnknownFormat { version_byte }) => {
                detail = Some(format!(
                    "dt format byte 0x{version_byte:02x} is unknown, content not checked"
                ));
            }
            Ok(DtCheck::Damaged(m)) => problem = Some(format!("dump is damaged: {m}")),
            Err(e) => read_error = Some(e),
        }
    }
    if read_error.is_none()
        && let Err(e) = drain(&mut tee)
    {
        read_error = Some(e);
    }
    if cancel.is_cancelled() {
        return Err(Cancelled.into());
    }
    if read_error.is_none() && is_1cd(name) {
        match check_1cd_header(&tee.head, tee.n) {
            Ok(h) => {
                detail = Some(format!(
                    "1CD {}, {} pages x {}",
                    h.version_string(),
                    h.pages,
                    h.page_size
                ));
            }
            Err(e) => problem = Some(format!("infobase file: {e}")),
        }
    }
    Ok(Read1 {
        n: tee.n,
        crc: tee.crc.finalize(),
        read_error,
        detail,
        problem,
    })
}

/// Turn an entry's outcome into a check or the most telling error: a
/// wrong CRC or size first (the container is damaged), then a read error,
/// then a failed content check.
fn judge(
    name: &str,
    r: Read1,
    expected_size: Option<u64>,
    expected_crc: Option<u32>,
) -> Result<EntryCheck, VerifyError> {
    let full = expected_size.is_none_or(|s| s == r.n);
    if let Some(expected) = expected_crc
        && full
        && expected != r.crc
    {
        return Err(VerifyError::Crc {
            name: name.into(),
            expected,
            got: r.crc,
        });
    }
    if let Some(e) = r.read_error {
        return Err(VerifyError::Entry {
            name: name.into(),
            reason: format!("cannot read it to its end ({e})"),
        });
    }
    if let Some(expected) = expected_size
        && expected != r.n
    {
        return Err(VerifyError::Size {
            name: name.into(),
            expected,
            got: r.n,
        });
    }
    if let Some(p) = r.problem {
        return Err(VerifyError::Entry {
            name: name.into(),
            reason: p,
        });
    }
    Ok(EntryCheck {
        name: name.into(),
        size: r.n,
        crc32: Some(r.crc),
        detail: r.detail,
    })
}

/// Read one entry's content from `r` to its end and check it as [`verify`]
/// does (CRC and size against the expected ones, a `.1CD` header, a `.dt`
/// stream): for a reader that also writes what it reads elsewhere.
pub(crate) fn check_entry(
    name: &str,
    r: impl Read,
    expected_size: Option<u64>,
    expected_crc: Option<u32>,
    cancel: &Cancel,
) -> Result<EntryCheck, VerifyError> {
    let r = read_entry(name, r, cancel)?;
    judge(name, r, expected_size, expected_crc)
}

/// Open a zip archive's directory, or say why it cannot be read.
pub(crate) fn open_zip(path: &Path) -> Result<zip::ZipArchive<File>, VerifyError> {
    let f = File::open(path).map_err(|source| VerifyError::Io {
        path: path.to_owned(),
        source,
    })?;
    zip::ZipArchive::new(f).map_err(|e| match e {
        zip::result::ZipError::Io(source) => VerifyError::Io {
            path: path.to_owned(),
            source,
        },
        other => VerifyError::Truncated {
            path: path.to_owned(),
            detail: format!("its directory cannot be read: {other}"),
        },
    })
}

fn zip_entries(
    path: &Path,
    keys: &Keys,
    cancel: &Cancel,
) -> Result<(Vec<EntryCheck>, Option<String>), VerifyError> {
    let mut z = open_zip(path)?;
    let mut passwords: Vec<&Secret> = keys.passwords.iter().collect();
    let mut key_id = None;
    let mut out = Vec::with_capacity(z.len());
    for i in 0..z.len() {
        cancel.check()?;
        let (e, encrypted) = zip_entry(&mut z, i, &mut passwords, path)?;
        if encrypted {
            key_id.get_or_insert_with(|| crate::backup::crypt::key_id(passwords[0]));
        }
        let name = e
            .name()
            .map_or_else(|_| format!("#{}", i + 1), |n| n.into_owned());
        if e.is_dir() {
            continue;
        }
        let (size, crc) = (e.size(), zip_crc(&e, encrypted));
        let r = read_entry(&name, e, cancel)?;
        out.push(judge(&name, r, Some(size), crc)?);
    }
    Ok((out, key_id))
}

/// Entry `i` of an open zip, and whether it is encrypted: decrypted with
/// the first of `passwords` that fits (which then moves to the front, to
/// be tried first for the next entry).
pub(crate) fn zip_entry<'z>(
    z: &'z mut zip::ZipArchive<File>,
    i: usize,
    passwords: &mut Vec<&Secret>,
    path: &Path,
) -> Result<(zip::read::ZipFile<'z, File>, bool), VerifyError> {
    let damaged = |e: zip::result::ZipError| VerifyError::Damaged {
        path: path.to_owned(),
        detail: format!("entry #{}: {e}", i + 1),
    };
    if !z.by_index_raw(i).map_err(damaged)?.encrypted() {
        return Ok((z.by_index(i).map_err(damaged)?, false));
    }
    if passwords.is_empty() {
        return Err(VerifyError::NeedPassword {
            path: path.to_owned(),
        });
    }
    let mut found = None;
    for (k, pw) in passwords.iter().enumerate() {
        match z.by_index_decrypt(i, pw.expose().as_bytes()) {
            Err(zip::result::ZipError::InvalidPassword) => continue,
            Err(e) => return Err(damaged(e)),
            Ok(_) => {
                found = Some(k);
                break;
            }
        }
    }
    let Some(k) = found else {
        return Err(VerifyError::WrongPassword {
            path: path.to_owned(),
        });
    };
    let pw = passwords.remove(k);
    passwords.insert(0, pw);
    Ok((
        z.by_index_decrypt(i, pw.expose().as_bytes())
            .map_err(damaged)?,
        true,
    ))
}

/// The CRC to expect of a zip entry. AE-2 stores none (0): its
/// authentication code, checked by the reader at the end of the data,
/// stands in for it.
pub(crate) fn zip_crc(e: &zip::read::ZipFile<'_, File>, encrypted: bool) -> Option<u32> {
    Some(e.crc32()).filter(|c| !encrypted || *c != 0)
}

/// The entries of a `.tar.zst`, or with `keys` of a `.tar.zst.age`; and
/// the key id of the password that opened it.
fn tar_zst_entries(
    path: &Path,
    keys: Option<&Keys>,
    cancel: &Cancel,
) -> Result<(Vec<EntryCheck>, Option<String>), VerifyError> {
    let f = File::open(path).map_err(|source| VerifyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let (input, key_id): (Box<dyn Read>, _) = match keys {
        None => (Box::new(f), None),
        Some(keys) => {
            let opened = age::open(f, keys).map_err(|e| age_err(path, &e))?;
            (Box::new(opened.reader), Some(opened.key_id))
        }
    };
    Ok((tar_zst_stream(path, input, cancel)?, key_id))
}

/// The entries of the `.tar.zst` stream `input` (of the file `path`).
fn tar_zst_stream(
    path: &Path,
    input: Box<dyn Read + '_>,
    cancel: &Cancel,
) -> Result<Vec<EntryCheck>, VerifyError> {
    let stream_err = |e: io::Error| tar_stream_error(path, e, cancel);
    let dec = zstd::Decoder::new(input).map_err(stream_err)?;
    let (guarded, rearm) = limits::TarGuard::new(dec);
    let mut ar = tar::Archive::new(guarded);
    let mut out = Vec::new();
    for e in ar.entries().map_err(stream_err)? {
        cancel.check()?;
        let e = e.map_err(stream_err)?;
        let name = e
            .path()
            .map_or_else(|_| "?".into(), |p| p.to_string_lossy().replace('\\', "/"));
        let size = e.header().size().map_err(stream_err)?;
        let r = read_entry(&name, e, cancel)?;
        if let Some(err) = r.read_error {
            return Err(stream_err(err));
        }
        out.push(judge(&name, r, Some(size), None)?);
        rearm.next_header();
    }
    // Read the zstd frame to its end so its content checksum is checked.
    let mut rest = ar.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(stream_err)?;
    if out.is_empty() {
        return Err(VerifyError::Damaged {
            path: path.to_owned(),
            detail: "the archive holds no files".into(),
        });
    }
    Ok(out)
}

/// An age error as a verification error: a wrong or missing password is
/// said as such; everything else is damage or truncation.
pub(crate) fn age_err(path: &Path, e: &AgeError) -> VerifyError {
    let path = path.to_owned();
    match e {
        AgeError::WrongPassword => VerifyError::WrongPassword { path },
        AgeError::NoPassword => VerifyError::NeedPassword { path },
        AgeError::Truncated { .. } => VerifyError::Truncated {
            path,
            detail: e.to_string(),
        },
        _ => VerifyError::Damaged {
            path,
            detail: e.to_string(),
        },
    }
}

/// What a read error of a `.tar.zst` stream means: cancelled, an age
/// error, an oversized header, truncated or damaged.
pub(crate) fn tar_stream_error(path: &Path, e: io::Error, cancel: &Cancel) -> VerifyError {
    if cancel.is_cancelled() {
        return VerifyError::Cancelled(Cancelled);
    }
    if let Some(a) = AgeError::find(&e) {
        return age_err(path, a);
    }
    if let Some(o) = limits::Oversized::find(&e) {
        return VerifyError::Damaged {
            path: path.to_owned(),
            detail: o.to_string(),
        };
    }
    let detail = format!("zstd stream: {e}");
    if e.kind() == io::ErrorKind::UnexpectedEof || e.to_string().contains("incomplete") {
        VerifyError::Truncated {
            path: path.to_owned(),
            detail,
        }
    } else {
        VerifyError::Damaged {
            path: path.to_owned(),
            detail,
        }
    }
}

fn bare_entry(path: &Path, cancel: &Cancel) -> Result<Vec<EntryCheck>, VerifyError> {
    let f = File::open(path).map_err(|source| VerifyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    // a bare file's type is known by its header when the name does not tell
    let mut head = [0u8; 8];
    let mut probe = File::open(path).map_err(|source| VerifyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let n = read_full(&mut probe, &mut head).map_err(|source| VerifyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let as_name = if is_dt(&name) || is_1cd(&name) {
        name.clone()
    } else if head[..n].starts_with(crate::onec::files::DT_SIGNATURE) {
        format!("{name}.dt")
    } else {
        format!("{name}.1CD")
    };
    let r = read_entry(&as_name, f, cancel)?;
    if let Some(source) = r.read_error {
        return Err(VerifyError::Io {
            path: path.to_owned(),
            source,
        });
    }
    Ok(vec![judge(&name, r, None, None)?])
}

fn verify_folder(dir: &Path, cancel: &Cancel) -> Result<VerifyReport, VerifyError> {
    let mut files = Vec::new();
    walk(dir, String::new(), &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(VerifyError::Damaged {
            path: dir.to_owned(),
            detail: "the folder is empty".into(),
        });
    }
    let mut entries = Vec::with_capacity(files.len());
    let mut manifest = String::new();
    let mut size = 0;
    for (name, path) in files {
        cancel.check()?;
        let f = File::open(&path).map_err(|source| VerifyError::Io {
            path: path.clone(),
            source,
        })?;
        let len = f
            .metadata()
            .map_err(|source| VerifyError::Io {
                path: path.clone(),
                source,
            })?
            .len();
        let r = read_entry(&name, f, cancel)?;
        if let Some(source) = r.read_error {
            return Err(VerifyError::Io { path, source });
        }
        let e = judge(&name, r, Some(len), None)?;
        manifest.push_str(&format!(
            "{}\t{}\t{:08x}\n",
            e.name,
            e.size,
            e.crc32.unwrap_or(0)
        ));
        size += e.size;
        entries.push(e);
    }
    let sha256 = hex(&Sha256::digest(manifest.as_bytes()));
    Ok(VerifyReport {
        path: dir.to_owned(),
        size,
        sha256,
        entries,
        key_id: None,
    })
}

/// A backup folder holds only folders and regular files, as the copy makes them.
fn not_regular(name: String, what: &str) -> VerifyError {
    VerifyError::Entry {
        name,
        reason: format!("{what}; a backup folder holds only regular files"),
    }
}

/// Every regular file under `dir` as (`/`-separated name, path); a link or
/// a special file is an error (never followed or read).
pub(crate) fn walk(
    dir: &Path,
    prefix: String,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), VerifyError> {
    let io_err = |source| VerifyError::Io {
        path: dir.to_owned(),
        source,
    };
    for e in std::fs::read_dir(dir).map_err(io_err)? {
        let e = e.map_err(io_err)?;
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        // The entry itself, not what a link points to.
        let ty = e.file_type().map_err(io_err)?;
        if ty.is_symlink() {
            return Err(not_regular(name, "a symbolic link (not followed)"));
        } else if ty.is_dir() {
            walk(&e.path(), format!("{name}/"), out)?;
        } else if ty.is_file() {
            out.push((name, e.path()));
        } else {
            return Err(not_regular(
                name,
                "not a regular file (a device, pipe or socket; not read)",
            ));
        }
    }
    Ok(())
}

/// A name (or a message quoting one) fit to print: control characters (an escape sequence
/// that would recolour or clear the terminal, a newline that would forge a
/// line) as `\xNN` or `\u{NN}`, bidirectional overrides as `\u{NNNN}`;
/// everything else, Cyrillic included, as it is.
pub fn printable(name: &str) -> Cow<'_, str> {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !name.contains(hidden) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match c {
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if hidden(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
pub(crate) mod tests;
