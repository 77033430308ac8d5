//! Safe extraction into the target folder. Every entry's name passes
//! [`super::names::safe_components`]; a folder on the way that exists as a
//! link or a file is refused (so an earlier entry, or whatever was in the
//! folder, cannot redirect a later one); links, hard links and device
//! entries are refused; each file is written to a new temporary name
//! (never opening an existing file), checked as `verify` checks it (CRC,
//! size, `.1CD` header, `.dt` stream) while it is written, flushed, then
//! renamed to its name. What was written is removed again unless the
//! restore succeeds ([`Target::keep`]).

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::{RestoreError, Ticker};
use crate::backup::crypt::{Keys, Passwords, age};
use crate::backup::verify::{self, EntryCheck, VerifyError, limits};
use crate::cancel::{Cancel, Cancelled};

/// The folder being restored into, and what this restore wrote there.
pub struct Target<'a> {
    pub to: &'a Path,
    cancel: &'a Cancel,
    /// Folders this restore created, in order.
    created_dirs: Vec<PathBuf>,
    /// Files this restore wrote (final names), in order.
    pub written: Vec<(String, PathBuf, u64)>,
    /// Names already written, case-folded (Windows names are case-blind).
    seen: HashSet<String>,
    kept: bool,
}

impl<'a> Target<'a> {
    pub fn new(to: &'a Path, cancel: &'a Cancel) -> Self {
        Target {
            to,
            cancel,
            created_dirs: Vec::new(),
            written: Vec::new(),
            seen: HashSet::new(),
            kept: false,
        }
    }

    /// Keep what was written (the restore succeeded, or its result is
    /// worth keeping).
    pub fn keep(&mut self) {
        self.kept = true;
    }

    /// The bytes written.
    pub fn bytes(&self) -> u64 {
        self.written.iter().map(|(_, _, n)| n).sum()
    }

    fn unsafe_entry(&self, name: &str, reason: &'static str) -> RestoreError {
        RestoreError::Unsafe {
            name: name.to_string(),
            reason,
            to: self.to.to_path_buf(),
        }
    }

    /// The folder for `parts` (created as needed, none of it a link).
    fn dir_of(&mut self, name: &str, parts: &[&str]) -> Result<PathBuf, RestoreError> {
        let mut dir = self.to.to_path_buf();
        for part in parts {
            dir.push(part);
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(_) => {
                    return Err(
                        self.unsafe_entry(name, "a folder on its path exists as a link or a file")
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&dir).map_err(|source| RestoreError::Write {
                        path: dir.clone(),
                        source,
                    })?;
                    self.created_dirs.push(dir.clone());
                }
                Err(source) => return Err(RestoreError::Write { path: dir, source }),
            }
        }
        Ok(dir)
    }

    /// A folder entry.
    pub fn folder(&mut self, name: &str) -> Result<(), RestoreError> {
        let parts = super::names::safe_components(name)
            .map_err(|reason| self.unsafe_entry(name, reason))?;
        self.dir_of(name, &parts).map(drop)
    }

    /// An entry of a kind we never write (a link, a device): refused.
    pub fn refuse(&self, name: &str, reason: &'static str) -> RestoreError {
        self.unsafe_entry(name, reason)
    }

    /// Write the file entry `name` (stored as `as_name` when given, e.g. a
    /// bare `.1CD` as `1Cv8.1CD`) from `r`, checked as it is written.
    pub fn file(
        &mut self,
        name: &str,
        as_name: Option<&str>,
        r: impl Read,
        expected: (Option<u64>, Option<u32>),
        ticker: Option<&Ticker>,
    ) -> Result<EntryCheck, RestoreError> {
        let stored = as_name.unwrap_or(name);
        let parts = super::names::safe_components(stored)
            .map_err(|reason| self.unsafe_entry(name, reason))?;
        if !self.seen.insert(stored.to_lowercase()) {
            return Err(self.unsafe_entry(name, "a second entry with the same name"));
        }
        let (leaf, dirs) = parts.split_last().expect("at least one component");
        let dir = self.dir_of(name, dirs)?;
        let path = dir.join(leaf);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            return Err(self.unsafe_entry(name, "a folder of that name exists in the target"));
        }
        let tmp = dir.join(format!(".{leaf}.restore-tmp"));
        // Checked under the stored name, so a bare `.1CD` is checked as one.
        let written = self.write_checked(stored, &tmp, r, expected, ticker);
        let check = match written {
            Ok(check) => check,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        // Replaces a file (or a link itself) of that name; never follows a link.
        if let Err(source) = fs::rename(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(RestoreError::Write { path, source });
        }
        self.written.push((stored.to_string(), path, check.size));
        Ok(check)
    }

    fn write_checked(
        &self,
        name: &str,
        tmp: &Path,
        r: impl Read,
        (size, crc): (Option<u64>, Option<u32>),
        ticker: Option<&Ticker>,
    ) -> Result<EntryCheck, RestoreError> {
        let write_err = |source: io::Error| RestoreError::Write {
            path: tmp.to_path_buf(),
            source,
        };
        // A stale temporary of an earlier restore: removed, never opened.
        let _ = fs::remove_file(tmp);
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp)
            .map_err(write_err)?;
        let mut through = WriteThrough {
            inner: r,
            out: BufWriter::with_capacity(1 << 20, f),
            failed: None,
            ticker,
        };
        let checked = verify::check_entry(name, &mut through, size, crc, self.cancel);
        if let Some(e) = through.failed.take() {
            return Err(write_err(e));
        }
        let check = checked?;
        let f = through
            .out
            .into_inner()
            .map_err(|e| write_err(e.into_error()))?;
        f.sync_all().map_err(write_err)?;
        Ok(check)
    }

    /// Flush the folders' entries to disk.
    pub fn sync(&self) {
        for dir in self
            .created_dirs
            .iter()
            .rev()
            .chain([&self.to.to_path_buf()])
        {
            let _ = crate::platform::sync_dir(dir);
        }
    }
}

impl Drop for Target<'_> {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        for (_, path, _) in self.written.iter().rev() {
            let _ = fs::remove_file(path);
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Passes an entry's bytes through to the file as they are read; a write
/// error is kept (and the read fails) so it can be told from a read error.
struct WriteThrough<'t, R> {
    inner: R,
    out: BufWriter<File>,
    failed: Option<io::Error>,
    ticker: Option<&'t Ticker<'t>>,
}

impl<R: Read> Read for WriteThrough<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Err(e) = self.out.write_all(&buf[..n]) {
            let kind = e.kind();
            self.failed = Some(e);
            return Err(io::Error::new(kind, "cannot write the restored file"));
        }
        if let Some(t) = self.ticker {
            t.add(n as u64);
        }
        Ok(n)
    }
}

/// Counts the compressed bytes read from an archive (the progress of a
/// `.tar.zst`, whose content size is not known in advance).
struct Counting<'t, R> {
    inner: R,
    ticker: &'t Ticker<'t>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ticker.add(n as u64);
        Ok(n)
    }
}

/// Extract every entry of our `.zip` (decrypting with `passwords`).
pub fn zip(
    archive: &Path,
    passwords: &Passwords,
    t: &mut Target,
    ticker: &Ticker,
) -> Result<(), RestoreError> {
    let mut z = verify::open_zip(archive)?;
    let mut passwords = passwords.iter().collect();
    for i in 0..z.len() {
        t.cancel.check()?;
        let (e, encrypted) = verify::zip_entry(&mut z, i, &mut passwords, archive)?;
        let name = match e.name() {
            Ok(n) => n.into_owned(),
            Err(_) => {
                let shown = format!("#{}", i + 1);
                return Err(t.refuse(&shown, "a name that is not valid text"));
            }
        };
        if e.is_symlink() {
            return Err(t.refuse(&name, "a symbolic link (links are never restored)"));
        }
        let is_special = e
            .unix_mode()
            .is_some_and(|m| !matches!(m & 0o170_000, 0 | 0o100_000 | 0o040_000));
        if is_special {
            return Err(t.refuse(&name, "a device, pipe or socket entry"));
        }
        if e.is_dir() {
            t.folder(&name)?;
            continue;
        }
        let expected = (Some(e.size()), verify::zip_crc(&e, encrypted));
        t.file(&name, None, e, expected, Some(ticker))?;
    }
    Ok(())
}

/// Extract every entry of our `.tar.zst` (its zstd checksum checked at the
/// end), or with `keys` of our `.tar.zst.age` (every chunk authenticated).
pub fn tar_zst(
    archive: &Path,
    keys: Option<&Keys>,
    t: &mut Target,
    ticker: &Ticker,
) -> Result<(), RestoreError> {
    let cancel = t.cancel;
    let stream_err = |e: io::Error| verify::tar_stream_error(archive, e, cancel);
    let f = File::open(archive).map_err(|source| VerifyError::Io {
        path: archive.to_owned(),
        source,
    })?;
    let counted = Counting { inner: f, ticker };
    let input: Box<dyn Read> = match keys {
        None => Box::new(counted),
        Some(keys) => {
            let opened = age::open(counted, keys).map_err(|e| verify::age_err(archive, &e))?;
            Box::new(opened.reader)
        }
    };
    let dec = zstd::Decoder::new(input).map_err(stream_err)?;
    let (guarded, rearm) = limits::TarGuard::new(dec);
    let mut ar = tar::Archive::new(guarded);
    let mut files = 0;
    for e in ar.entries().map_err(stream_err)? {
        cancel.check()?;
        let e = e.map_err(stream_err)?;
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let size = e.header().size().map_err(stream_err)?;
        use tar::EntryType as T;
        match e.header().entry_type() {
            T::Regular | T::Continuous => {
                t.file(&name, None, e, (Some(size), None), None)?;
                files += 1;
            }
            T::Directory => t.folder(&name)?,
            T::Symlink => return Err(t.refuse(&name, "a symbolic link (links are never restored)")),
            T::Link => return Err(t.refuse(&name, "a hard link (links are never restored)")),
            T::Char | T::Block | T::Fifo => {
                return Err(t.refuse(&name, "a device or pipe entry"));
            }
            _ => return Err(t.refuse(&name, "an entry of a kind our archives never hold")),
        }
        rearm.next_header();
    }
    // Read the zstd frame to its end so its content checksum is checked.
    let mut rest = ar.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(stream_err)?;
    if files == 0 {
        return Err(VerifyError::Damaged {
            path: archive.to_owned(),
            detail: "the archive holds no files".into(),
        }
        .into());
    }
    Ok(())
}

/// Copy a backup folder's files (links and special files refused).
pub fn folder(dir: &Path, t: &mut Target, ticker: &Ticker) -> Result<(), RestoreError> {
    for (name, path) in folder_files(dir)? {
        t.cancel.check()?;
        let f = File::open(&path).map_err(|source| VerifyError::Io {
            path: path.clone(),
            source,
        })?;
        let len = f.metadata().map(|m| m.len()).ok();
        t.file(&name, None, f, (len, None), Some(ticker))?;
    }
    Ok(())
}

/// A backup folder's regular files, sorted by name.
pub fn folder_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, RestoreError> {
    let mut files = Vec::new();
    verify::walk(dir, String::new(), &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(VerifyError::Damaged {
            path: dir.to_owned(),
            detail: "the folder is empty".into(),
        }
        .into());
    }
    Ok(files)
}

/// Copy a bare `.dt` or `.1CD` into the folder as `stored`.
pub fn bare(
    file: &Path,
    stored: &str,
    t: &mut Target,
    ticker: &Ticker,
) -> Result<(), RestoreError> {
    let f = File::open(file).map_err(|source| VerifyError::Io {
        path: file.to_owned(),
        source,
    })?;
    let len = f.metadata().map(|m| m.len()).ok();
    let name = file
        .file_name()
        .map_or_else(|| stored.to_string(), |n| n.to_string_lossy().into_owned());
    t.file(&name, Some(stored), f, (len, None), Some(ticker))?;
    Ok(())
}

impl From<Cancelled> for RestoreError {
    fn from(_: Cancelled) -> Self {
        RestoreError::Cancelled
    }
}
