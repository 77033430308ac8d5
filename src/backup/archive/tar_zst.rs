//! The `.tar.zst` writer: a GNU tar stream through a multithreaded zstd
//! encoder (with its checksum), each source read exactly to the size its
//! tar header states; with a password, the zstd stream goes through the
//! age encryptor on its way to the file (`.tar.zst.age`), whose header
//! (scrypt's work) is made on a thread of its own meanwhile and written
//! over a placeholder at the end ([`seal_header`]: by [`super::pack`]
//! itself, or by the backup's verification, which reads the payload
//! while scrypt finishes).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::{ArchiveError, IO_BUF, Pack, Packed, Ticker, read_err, write_err};
use crate::backup::crypt::age;
use crate::cancel::{Cancel, Cancelled};

/// Counts bytes on their way to the file and remembers the first write
/// error, so it can be told apart from read errors and cancellation.
struct CountingFile {
    f: File,
    written: Arc<AtomicU64>,
}

impl Write for CountingFile {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.f.write(b)?;
        self.written.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.f.flush()
    }
}

/// Where the zstd stream goes: the file, or the age encryptor in front of it.
enum Sink {
    Plain(CountingFile),
    Age(Box<age::Writer<CountingFile>>),
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(f) => f.write(b),
            Sink::Age(w) => w.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(f) => f.flush(),
            Sink::Age(w) => w.flush(),
        }
    }
}

/// Reads a source for the tar writer, reporting progress and stopping on
/// cancel; records why it failed so the error can be named.
struct SourceReader<'a, 'b> {
    f: File,
    ticker: &'a mut Ticker<'b>,
    cancel: &'a Cancel,
    failure: Option<ArchiveError>,
    path: &'a Path,
}

impl Read for SourceReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            self.failure = Some(ArchiveError::Cancelled(Cancelled));
            return Err(io::Error::other(Cancelled));
        }
        match self.f.read(buf) {
            Ok(n) => {
                self.ticker.add(n as u64);
                Ok(n)
            }
            Err(e) => {
                let kind = e.kind();
                self.failure = Some(read_err(self.path, e));
                Err(io::Error::new(kind, "read failed"))
            }
        }
    }
}

pub(super) fn write_tar_zst(p: Pack, level: i32) -> Result<Packed, ArchiveError> {
    let tmp = p.tmp;
    let file = File::create(tmp).map_err(|e| write_err(tmp, e, 0))?;
    let written = Arc::new(AtomicU64::new(0));
    let wfail = |e: io::Error| write_err(tmp, e, written.load(Ordering::Relaxed));
    let file = CountingFile {
        f: file,
        written: written.clone(),
    };
    // The header (scrypt) is made later: see `seal_header`.
    let (sink, file_key, header) = match p.password {
        Some(pw) => {
            let (w, key, header) = age::Writer::deferred(file, pw, age::LOG_N).map_err(wfail)?;
            (Sink::Age(Box::new(w)), Some(key), Some(header))
        }
        None => (Sink::Plain(file), None, None),
    };
    let mut enc = zstd::Encoder::new(sink, level).map_err(wfail)?;
    enc.include_checksum(true).map_err(wfail)?;
    if p.threads > 1 {
        enc.multithread(p.threads as u32).map_err(wfail)?;
    }
    let mut tar = tar::Builder::new(enc);
    for s in p.sources {
        let f = File::open(&s.path).map_err(|e| read_err(&s.path, e))?;
        let meta = f.metadata().map_err(|e| read_err(&s.path, e))?;
        let mut h = tar::Header::new_gnu();
        h.set_size(meta.len());
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok());
        h.set_mtime(mtime.map_or(0, |d| d.as_secs()));
        let before = p.ticker.done;
        let mut r = SourceReader {
            f,
            ticker: &mut *p.ticker,
            cancel: p.cancel,
            failure: None,
            path: &s.path,
        };
        // The header states the size: read exactly that much, then make
        // sure the file neither ended early nor grew meanwhile.
        let limited = io::BufReader::with_capacity(IO_BUF, (&mut r).take(meta.len()));
        let appended = tar.append_data(&mut h, &s.name, limited);
        let got = r.ticker.done - before;
        if let Err(e) = appended {
            return Err(r.failure.take().unwrap_or_else(|| wfail(e)));
        }
        let now = r.f.metadata().map_err(|e| read_err(&s.path, e))?.len();
        if got != meta.len() || now != meta.len() {
            return Err(ArchiveError::Changed {
                path: s.path.clone(),
                expected: meta.len(),
                got: got.max(now),
            });
        }
    }
    let enc = tar.into_inner().map_err(wfail)?;
    let mut sink = match enc.finish().map_err(wfail)? {
        Sink::Plain(f) => f,
        Sink::Age(w) => w.finish().map_err(wfail)?,
    };
    sink.flush().map_err(wfail)?;
    // Synced now, while no other work waits: an age file's header is
    // written (and synced, one block) later by `seal_header`.
    sink.f.sync_all().map_err(wfail)?;
    Ok(Packed {
        bytes: written.load(Ordering::Relaxed),
        file_key,
        header,
    })
}

/// Wait for a [`Writer::deferred`](age::Writer::deferred) file's header,
/// write it over its placeholder at the start of `path` and `sync_all` the
/// file.
pub fn seal_header(path: &Path, header: age::PendingHeader) -> Result<(), ArchiveError> {
    let wfail = |e: io::Error| write_err(path, e, 0);
    let bytes = header.finish().map_err(wfail)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(wfail)?;
    f.seek(SeekFrom::Start(0)).map_err(wfail)?;
    f.write_all(&bytes).map_err(wfail)?;
    f.sync_all().map_err(wfail)
}
