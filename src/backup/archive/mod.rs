//! Packing a backup into its final form, fast: a `.zip` whose DEFLATE data
//! is compressed in parallel (pigz-style chunks joined into one stream), a
//! multithreaded `.tar.zst`, or a plain copy (a bare `.dt`, or a folder).
//!
//! Everything goes to one temporary path chosen by the caller, which renames
//! it after verification. Memory is bounded by a small queue of 1 MiB chunks
//! whatever the file size; cancellation is checked between chunks.
//!
//! The zip container is written here (the `zip` crate is used only to read
//! it back in tests): local headers are patched in place with CRC and sizes
//! (no data descriptors), names carry the UTF-8 flag, timestamps are DOS
//! local time from the file's mtime, and ZIP64 records appear only when a
//! size or offset needs them.

//!
//! With a password, zip entries are encrypted as WinZip AES-256 (AE-2) and
//! a `.tar.zst` becomes a `.tar.zst.age` (age with a passphrase), both as
//! the data streams out, so packing stays one pass.
//!
//! One file per job: `zip_writer.rs` the zip container (headers, ZIP64,
//! end records), `zip_aes.rs` its encryption layer, `deflate.rs` the
//! parallel DEFLATE workers it feeds, `tar_zst.rs` the `.tar.zst` writer;
//! this file the entry point, the plain copy and the output file they all
//! write through.

use std::fs::{self, File};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::backup::crypt::age::{self, FileKey};
use crate::cancel::{Cancel, Cancelled};
use crate::config::{Compress, Secret};
use crate::onec::files::read_full;

mod deflate;
mod tar_zst;
mod zip_aes;
mod zip_writer;

pub use tar_zst::seal_header;
use tar_zst::write_tar_zst;
use zip_writer::write_zip;

/// One file to pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Path inside the archive, `/`-separated: `1Cv8.1CD`, `1Cv8Log/1Cv8.lgf`.
    pub name: String,
    pub path: PathBuf,
}

/// How far packing has got, in uncompressed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// Why packing failed. The caller deletes the temporary output.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("nothing to pack: the list of source files is empty")]
    NoSources,
    #[error(
        "bad name {name:?} for a file inside the archive (expected a relative '/'-separated path without '..')"
    )]
    BadName { name: String },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "disk full while writing {} ({written} bytes written); free space in the backup folder or choose another one",
        path.display()
    )]
    DiskFull { path: PathBuf, written: u64 },
    #[error(
        "{} changed while being packed ({expected} bytes expected, {got} read); make sure nothing writes to it during the backup",
        path.display()
    )]
    Changed {
        path: PathBuf,
        expected: u64,
        got: u64,
    },
    #[error("compression failed: {0}")]
    Compress(String),
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

/// The file name extension of an archive of this kind (`""` for a folder).
pub fn extension(compress: Compress, method_is_copy: bool) -> &'static str {
    match compress {
        Compress::Zip => ".zip",
        Compress::Zstd => ".tar.zst",
        Compress::None if method_is_copy => "",
        Compress::None => ".dt",
    }
}

/// The extension of an archive packed with or without a password: an
/// encrypted `.tar.zst` is a `.tar.zst.age` (an encrypted zip keeps `.zip`).
pub fn sealed_extension(compress: Compress, method_is_copy: bool, encrypted: bool) -> &'static str {
    match compress {
        Compress::Zstd if encrypted => ".tar.zst.age",
        _ => extension(compress, method_is_copy),
    }
}

/// How to pack, beyond what and where.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub compress: Compress,
    /// Default: 6 for zip, 3 for zstd.
    pub level: Option<i32>,
    /// Compressing threads (at least 1).
    pub threads: usize,
    /// Encrypt with this password (zip or zstd only).
    pub password: Option<&'a Secret>,
}

/// What [`pack`] wrote.
#[derive(Debug)]
pub struct Packed {
    /// Bytes written.
    pub bytes: u64,
    /// The file key of a `.tar.zst.age`, so the verification right after
    /// packing need not derive it from the password again.
    pub file_key: Option<FileKey>,
    /// From [`pack_unsealed`] only: the `.tar.zst.age`'s header, still
    /// being made (scrypt), for [`seal_header`]. Until then the file starts
    /// with a placeholder (the rest is synced).
    pub header: Option<age::PendingHeader>,
}

/// Pack `sources` into `tmp` and `sync_all` it; returns the bytes written.
///
/// `Compress::None` writes a bare copy when there is exactly one source and
/// it is a `.dt`; otherwise `tmp` becomes a folder holding the files under
/// their names. `level` defaults to 6 for zip and 3 for zstd; `threads` is
/// the number of compressing threads (at least 1). On error or cancel only
/// `tmp` may be left behind, for the caller to delete.
pub fn write_archive(
    sources: &[Source],
    tmp: &Path,
    compress: Compress,
    level: Option<i32>,
    threads: usize,
    progress: &mut dyn FnMut(Progress),
    cancel: &Cancel,
) -> Result<u64, ArchiveError> {
    let opts = Options {
        compress,
        level,
        threads,
        password: None,
    };
    pack(sources, tmp, &opts, progress, cancel).map(|p| p.bytes)
}

/// [`write_archive`] with every option, encryption included.
pub fn pack(
    sources: &[Source],
    tmp: &Path,
    opts: &Options,
    progress: &mut dyn FnMut(Progress),
    cancel: &Cancel,
) -> Result<Packed, ArchiveError> {
    let mut packed = pack_unsealed(sources, tmp, opts, progress, cancel)?;
    if let Some(header) = packed.header.take() {
        seal_header(tmp, header)?;
    }
    Ok(packed)
}

/// [`pack`], except that a `.tar.zst.age` comes back before scrypt has
/// finished its header: [`Packed::header`] is for the caller to
/// [`seal_header`] (the backup verifies the payload meanwhile, so scrypt
/// runs beside verification, where a core is free, not only beside
/// compression).
pub fn pack_unsealed(
    sources: &[Source],
    tmp: &Path,
    opts: &Options,
    progress: &mut dyn FnMut(Progress),
    cancel: &Cancel,
) -> Result<Packed, ArchiveError> {
    let Options {
        compress,
        level,
        threads,
        password,
    } = *opts;
    let password = password.filter(|p| !p.is_empty());
    if password.is_some() && compress == Compress::None {
        return Err(ArchiveError::Compress(
            "a password needs compress zip or zstd: without an archive there is nothing to encrypt"
                .into(),
        ));
    }
    if sources.is_empty() {
        return Err(ArchiveError::NoSources);
    }
    let mut total = 0;
    for s in sources {
        check_name(&s.name)?;
        total += fs::metadata(&s.path)
            .map_err(|e| read_err(&s.path, e))?
            .len();
    }
    cancel.check()?;
    let threads = threads.max(1);
    let mut ticker = Ticker {
        done: 0,
        total,
        progress,
    };
    let pack = Pack {
        sources,
        tmp,
        threads,
        ticker: &mut ticker,
        cancel,
        password,
    };
    let plain = |bytes| Packed {
        bytes,
        file_key: None,
        header: None,
    };
    match compress {
        Compress::Zip => write_zip(pack, level.unwrap_or(6).clamp(0, 9), false).map(plain),
        Compress::Zstd => write_tar_zst(pack, level.unwrap_or(3).clamp(1, 22)),
        Compress::None if sources.len() == 1 && sources[0].name.ends_with(".dt") => {
            let mut out = Out::create(tmp)?;
            copy_into(&sources[0].path, &mut out, pack.ticker, cancel)?;
            out.finish().map(plain)
        }
        Compress::None => write_folder(sources, tmp, pack.ticker, cancel).map(plain),
    }
}

/// The buffer size of reads from the sources and writes to the output.
pub(super) const IO_BUF: usize = 1 << 20;

/// What a compressing writer packs and where: the checked sources, the
/// temporary output, its thread count, progress and cancellation.
pub(super) struct Pack<'a, 't> {
    pub(super) sources: &'a [Source],
    pub(super) tmp: &'a Path,
    pub(super) threads: usize,
    pub(super) ticker: &'a mut Ticker<'t>,
    pub(super) cancel: &'a Cancel,
    /// Encrypt with this password (never empty).
    pub(super) password: Option<&'a Secret>,
}

/// Reports progress as packed bytes add up.
pub(super) struct Ticker<'a> {
    pub(super) done: u64,
    pub(super) total: u64,
    pub(super) progress: &'a mut dyn FnMut(Progress),
}

impl Ticker<'_> {
    pub(super) fn add(&mut self, n: u64) {
        self.done += n;
        (self.progress)(Progress {
            done: self.done,
            total: self.total,
        });
    }
}

fn check_name(name: &str) -> Result<(), ArchiveError> {
    let bad = name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.contains(':')
        || name
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        Err(ArchiveError::BadName {
            name: name.to_owned(),
        })
    } else {
        Ok(())
    }
}

pub(super) fn read_err(path: &Path, source: io::Error) -> ArchiveError {
    ArchiveError::Read {
        path: path.to_owned(),
        source,
    }
}

pub(super) fn write_err(path: &Path, source: io::Error, written: u64) -> ArchiveError {
    if source.kind() == io::ErrorKind::StorageFull {
        ArchiveError::DiskFull {
            path: path.to_owned(),
            written,
        }
    } else {
        ArchiveError::Write {
            path: path.to_owned(),
            source,
        }
    }
}

/// The output file, counting what was written.
pub(super) struct Out {
    w: BufWriter<File>,
    pub(super) pos: u64,
    path: PathBuf,
}

impl Out {
    pub(super) fn create(path: &Path) -> Result<Out, ArchiveError> {
        let f = File::create(path).map_err(|e| write_err(path, e, 0))?;
        Ok(Out {
            w: BufWriter::with_capacity(IO_BUF, f),
            pos: 0,
            path: path.to_owned(),
        })
    }

    pub(super) fn write(&mut self, b: &[u8]) -> Result<(), ArchiveError> {
        self.w
            .write_all(b)
            .map_err(|e| write_err(&self.path, e, self.pos))?;
        self.pos += b.len() as u64;
        Ok(())
    }

    /// Copy the rest of `from` (from its position) to the end of the
    /// output inside the kernel ([`crate::platform::copy_range`]), `step`
    /// bytes at a time with `each(n)` after each step. `Ok(None)` with
    /// nothing copied where the OS cannot; else the bytes copied.
    pub(super) fn copy_from(
        &mut self,
        from: &File,
        step: u64,
        each: &mut dyn FnMut(u64) -> Result<(), ArchiveError>,
    ) -> Result<Option<u64>, ArchiveError> {
        self.w
            .flush()
            .map_err(|e| write_err(&self.path, e, self.pos))?;
        let mut copied = 0u64;
        loop {
            let n = match crate::platform::copy_range(from, self.w.get_ref(), step) {
                Ok(n) => n,
                Err(e) if copied == 0 && e.kind() == io::ErrorKind::Unsupported => {
                    return Ok(None);
                }
                Err(e) => return Err(write_err(&self.path, e, self.pos)),
            };
            if n == 0 {
                return Ok(Some(copied));
            }
            copied += n;
            self.pos += n;
            each(n)?;
        }
    }

    /// Overwrite bytes at `at` (already written), then return to the end.
    pub(super) fn patch(&mut self, at: u64, b: &[u8]) -> Result<(), ArchiveError> {
        let end = self.pos;
        let r = (|| {
            self.w.flush()?;
            let f = self.w.get_mut();
            f.seek(SeekFrom::Start(at))?;
            f.write_all(b)?;
            f.seek(SeekFrom::Start(end))?;
            Ok(())
        })();
        r.map_err(|e| write_err(&self.path, e, end))
    }

    pub(super) fn finish(mut self) -> Result<u64, ArchiveError> {
        let pos = self.pos;
        self.w.flush().map_err(|e| write_err(&self.path, e, pos))?;
        self.w
            .get_ref()
            .sync_all()
            .map_err(|e| write_err(&self.path, e, pos))?;
        Ok(pos)
    }
}

fn copy_into(
    src: &Path,
    out: &mut Out,
    ticker: &mut Ticker,
    cancel: &Cancel,
) -> Result<u64, ArchiveError> {
    let mut f = File::open(src).map_err(|e| read_err(src, e))?;
    let expected = f.metadata().map_err(|e| read_err(src, e))?.len();
    let mut buf = vec![0u8; IO_BUF];
    let mut copied = 0u64;
    loop {
        cancel.check()?;
        let n = read_full(&mut f, &mut buf).map_err(|e| read_err(src, e))?;
        if n == 0 {
            break;
        }
        out.write(&buf[..n])?;
        copied += n as u64;
        ticker.add(n as u64);
    }
    if copied != expected {
        return Err(ArchiveError::Changed {
            path: src.to_owned(),
            expected,
            got: copied,
        });
    }
    Ok(copied)
}

fn write_folder(
    sources: &[Source],
    dir: &Path,
    ticker: &mut Ticker,
    cancel: &Cancel,
) -> Result<u64, ArchiveError> {
    fs::create_dir(dir).map_err(|e| write_err(dir, e, 0))?;
    let mut total = 0;
    let mut dirs = vec![dir.to_owned()];
    for s in sources {
        let dest = s.name.split('/').fold(dir.to_owned(), |p, c| p.join(c));
        let parent = dest.parent().expect("dest is inside dir").to_owned();
        if !dirs.contains(&parent) {
            fs::create_dir_all(&parent).map_err(|e| write_err(&parent, e, total))?;
            dirs.push(parent);
        }
        let mut out = Out::create(&dest)?;
        copy_into(&s.path, &mut out, ticker, cancel)?;
        total += out.finish()?;
    }
    for d in dirs.iter().rev() {
        crate::platform::sync_dir(d).map_err(|e| write_err(d, e, total))?;
    }
    Ok(total)
}

#[cfg(test)]
mod packing_tests;
#[cfg(test)]
mod tests;
