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

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::SystemTime;

use flate2::{Compress as Deflater, Compression, FlushCompress, Status};

use crate::cancel::{Cancel, Cancelled};
use crate::config::Compress;
use crate::onec::files::read_full;

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
    match compress {
        Compress::Zip => {
            let level = level.unwrap_or(6).clamp(0, 9);
            write_zip(sources, tmp, level, threads, &mut ticker, cancel, false)
        }
        Compress::Zstd => {
            let level = level.unwrap_or(3).clamp(1, 22);
            write_tar_zst(sources, tmp, level, threads, &mut ticker, cancel)
        }
        Compress::None if sources.len() == 1 && sources[0].name.ends_with(".dt") => {
            let mut out = Out::create(tmp)?;
            copy_into(&sources[0].path, &mut out, &mut ticker, cancel)?;
            out.finish()
        }
        Compress::None => write_folder(sources, tmp, &mut ticker, cancel),
    }
}

const CHUNK: usize = 1 << 20;
const WINDOW: usize = 32 * 1024;
const IO_BUF: usize = 1 << 20;

struct Ticker<'a> {
    done: u64,
    total: u64,
    progress: &'a mut dyn FnMut(Progress),
}

impl Ticker<'_> {
    fn add(&mut self, n: u64) {
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

fn read_err(path: &Path, source: io::Error) -> ArchiveError {
    ArchiveError::Read {
        path: path.to_owned(),
        source,
    }
}

fn write_err(path: &Path, source: io::Error, written: u64) -> ArchiveError {
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
struct Out {
    w: BufWriter<File>,
    pos: u64,
    path: PathBuf,
}

impl Out {
    fn create(path: &Path) -> Result<Out, ArchiveError> {
        let f = File::create(path).map_err(|e| write_err(path, e, 0))?;
        Ok(Out {
            w: BufWriter::with_capacity(IO_BUF, f),
            pos: 0,
            path: path.to_owned(),
        })
    }

    fn write(&mut self, b: &[u8]) -> Result<(), ArchiveError> {
        self.w
            .write_all(b)
            .map_err(|e| write_err(&self.path, e, self.pos))?;
        self.pos += b.len() as u64;
        Ok(())
    }

    /// Overwrite bytes at `at` (already written), then return to the end.
    fn patch(&mut self, at: u64, b: &[u8]) -> Result<(), ArchiveError> {
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

    fn finish(mut self) -> Result<u64, ArchiveError> {
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

// ---------------------------------------------------------------- tar.zst

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

fn write_tar_zst(
    sources: &[Source],
    tmp: &Path,
    level: i32,
    threads: usize,
    ticker: &mut Ticker,
    cancel: &Cancel,
) -> Result<u64, ArchiveError> {
    let file = File::create(tmp).map_err(|e| write_err(tmp, e, 0))?;
    let written = Arc::new(AtomicU64::new(0));
    let wfail = |e: io::Error| write_err(tmp, e, written.load(Ordering::Relaxed));
    let sink = CountingFile {
        f: file,
        written: written.clone(),
    };
    let mut enc = zstd::Encoder::new(sink, level).map_err(wfail)?;
    enc.include_checksum(true).map_err(wfail)?;
    if threads > 1 {
        enc.multithread(threads as u32).map_err(wfail)?;
    }
    let mut tar = tar::Builder::new(enc);
    for s in sources {
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
        let before = ticker.done;
        let mut r = SourceReader {
            f,
            ticker,
            cancel,
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
    let mut sink = enc.finish().map_err(wfail)?;
    sink.flush().map_err(wfail)?;
    sink.f.sync_all().map_err(wfail)?;
    Ok(written.load(Ordering::Relaxed))
}

// ---------------------------------------------------------------- zip

/// The zlib-rs level used for a requested zip level. Measured on a
/// realistic 256 MiB `.1CD` (`bench/pack.sh`): Info-ZIP `zip -6` gave
/// 52.01 MB; zlib-rs level 6 gave 51.90 MB using 2.6 s of CPU, level 5
/// 52.28 MB (+0.5 %) using 2.1 s, level 4 54.69 MB (+5.1 %) using 1.8 s.
/// So the default 6 runs as 5, the fastest level within 3 % of `zip -6`;
/// other levels pass through.
fn deflate_level(requested: i32) -> u32 {
    match requested {
        ..=0 => 0,
        6 => 5,
        n => n.min(9) as u32,
    }
}

const U32_MAX: u64 = 0xFFFF_FFFF;

/// Upper bound of the deflate size of `n` input bytes as we write it
/// (stored blocks and per-chunk sync flushes included).
fn max_deflated(n: u64) -> u64 {
    n + n / 1024 + 4096
}

/// Whether an entry of `len` bytes needs a ZIP64 local header. Decided
/// before compressing, so it uses the worst case of the compressed size.
fn local_needs_zip64(len: u64) -> bool {
    len >= U32_MAX || max_deflated(len) >= U32_MAX
}

#[derive(Debug, Clone)]
struct ZipEntry {
    name: Vec<u8>,
    time: u16,
    date: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
    zip64_local: bool,
    /// Tests only: use ZIP64 records even when nothing needs them.
    force_zip64: bool,
}

const FLAG_UTF8: u16 = 1 << 11;
const METHOD_DEFLATE: u16 = 8;

impl ZipEntry {
    fn version_needed(zip64: bool) -> u16 {
        if zip64 { 45 } else { 20 }
    }

    fn local_header(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(30 + self.name.len() + 20);
        put32(&mut h, 0x0403_4b50);
        put16(&mut h, Self::version_needed(self.zip64_local));
        put16(&mut h, FLAG_UTF8);
        put16(&mut h, METHOD_DEFLATE);
        put16(&mut h, self.time);
        put16(&mut h, self.date);
        put32(&mut h, self.crc);
        if self.zip64_local {
            put32(&mut h, U32_MAX as u32);
            put32(&mut h, U32_MAX as u32);
        } else {
            put32(&mut h, self.compressed as u32);
            put32(&mut h, self.size as u32);
        }
        put16(&mut h, self.name.len() as u16);
        put16(&mut h, if self.zip64_local { 20 } else { 0 });
        h.extend_from_slice(&self.name);
        if self.zip64_local {
            put16(&mut h, 0x0001);
            put16(&mut h, 16);
            put64(&mut h, self.size);
            put64(&mut h, self.compressed);
        }
        h
    }

    fn central_header(&self) -> Vec<u8> {
        let f = self.force_zip64;
        let big_size = f || self.size >= U32_MAX;
        let big_comp = f || self.compressed >= U32_MAX;
        let big_off = f || self.offset >= U32_MAX;
        let mut extra = Vec::new();
        if big_size || big_comp || big_off {
            put16(&mut extra, 0x0001);
            let n = 8 * (u16::from(big_size) + u16::from(big_comp) + u16::from(big_off));
            put16(&mut extra, n);
            if big_size {
                put64(&mut extra, self.size);
            }
            if big_comp {
                put64(&mut extra, self.compressed);
            }
            if big_off {
                put64(&mut extra, self.offset);
            }
        }
        let zip64 = !extra.is_empty() || self.zip64_local;
        let clamp = |v: u64, big: bool| if big { U32_MAX as u32 } else { v as u32 };
        let mut h = Vec::with_capacity(46 + self.name.len() + extra.len());
        put32(&mut h, 0x0201_4b50);
        put16(&mut h, Self::version_needed(zip64)); // made by: MS-DOS host
        put16(&mut h, Self::version_needed(zip64));
        put16(&mut h, FLAG_UTF8);
        put16(&mut h, METHOD_DEFLATE);
        put16(&mut h, self.time);
        put16(&mut h, self.date);
        put32(&mut h, self.crc);
        put32(&mut h, clamp(self.compressed, big_comp));
        put32(&mut h, clamp(self.size, big_size));
        put16(&mut h, self.name.len() as u16);
        put16(&mut h, extra.len() as u16);
        put16(&mut h, 0); // comment
        put16(&mut h, 0); // disk
        put16(&mut h, 0); // internal attributes
        put32(&mut h, 0x20); // external: FILE_ATTRIBUTE_ARCHIVE
        put32(&mut h, clamp(self.offset, big_off));
        h.extend_from_slice(&self.name);
        h.extend_from_slice(&extra);
        h
    }
}

/// The end records: ZIP64 end record and locator when the entry count,
/// directory size or offset need them (or `force`), then the classic one.
fn end_records(entries: u64, cd_offset: u64, cd_size: u64, force: bool) -> Vec<u8> {
    let big_n = force || entries >= 0xFFFF;
    let big_size = force || cd_size >= U32_MAX;
    let big_off = force || cd_offset >= U32_MAX;
    let mut h = Vec::with_capacity(22 + 56 + 20);
    if big_n || big_size || big_off {
        let z64_at = cd_offset + cd_size;
        put32(&mut h, 0x0606_4b50);
        put64(&mut h, 44);
        put16(&mut h, 45);
        put16(&mut h, 45);
        put32(&mut h, 0);
        put32(&mut h, 0);
        put64(&mut h, entries);
        put64(&mut h, entries);
        put64(&mut h, cd_size);
        put64(&mut h, cd_offset);
        put32(&mut h, 0x0706_4b50);
        put32(&mut h, 0);
        put64(&mut h, z64_at);
        put32(&mut h, 1);
    }
    let n16 = if big_n { 0xFFFF } else { entries as u16 };
    put32(&mut h, 0x0605_4b50);
    put16(&mut h, 0);
    put16(&mut h, 0);
    put16(&mut h, n16);
    put16(&mut h, n16);
    put32(
        &mut h,
        if big_size {
            U32_MAX as u32
        } else {
            cd_size as u32
        },
    );
    put32(
        &mut h,
        if big_off {
            U32_MAX as u32
        } else {
            cd_offset as u32
        },
    );
    put16(&mut h, 0);
    h
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// DOS (time, date) in local time; clamped to 1980..=2107.
fn dos_datetime(t: SystemTime) -> (u16, u16) {
    let Ok(ts) = jiff::Timestamp::try_from(t) else {
        return (0, 0x21);
    };
    let dt = ts
        .to_zoned_datetime(jiff::tz::TimeZone::system())
        .datetime();
    let year = i32::from(dt.year());
    if year < 1980 {
        return (0, (1 << 5) | 1);
    }
    let year = year.min(2107);
    let time = (dt.hour() as u16) << 11 | (dt.minute() as u16) << 5 | (dt.second() as u16 / 2);
    let date = ((year - 1980) as u16) << 9 | (dt.month() as u16) << 5 | dt.day() as u16;
    (time, date)
}

struct Job {
    seq: u64,
    /// `data[..dict]` is the previous 32 KiB (the dictionary), the rest the chunk.
    data: Vec<u8>,
    dict: usize,
    last: bool,
}

struct Done {
    seq: u64,
    data: Vec<u8>,
    out: Result<Vec<u8>, String>,
    crc: crc32fast::Hasher,
    len: u64,
}

fn deflate_chunk(
    c: &mut Deflater,
    input: &[u8],
    out: &mut Vec<u8>,
    last: bool,
) -> Result<(), String> {
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let start = c.total_in();
    loop {
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let consumed = (c.total_in() - start) as usize;
        let status = c
            .compress_vec(&input[consumed..], out, flush)
            .map_err(|e| e.to_string())?;
        let consumed = (c.total_in() - start) as usize;
        match status {
            Status::StreamEnd => return Ok(()),
            _ if !last && consumed == input.len() && out.len() < out.capacity() => return Ok(()),
            _ => {}
        }
    }
}

fn worker(level: u32, jobs: &Mutex<mpsc::Receiver<Job>>, done: mpsc::Sender<Done>) {
    let mut c = Deflater::new(Compression::new(level), false);
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(Job {
            seq,
            data,
            dict,
            last,
        }) = job
        else {
            return;
        };
        c.reset();
        let input = &data[dict..];
        let mut crc = crc32fast::Hasher::new();
        crc.update(input);
        let mut out = Vec::with_capacity(input.len() / 2 + 1024);
        // A panic here must not leave the writer waiting for this chunk.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if dict > 0 {
                c.set_dictionary(&data[..dict]).map_err(|e| e.to_string())?;
            }
            deflate_chunk(&mut c, input, &mut out, last)
        }))
        .unwrap_or_else(|_| Err("the compressor failed unexpectedly".into()))
        .map(|()| out);
        let len = input.len() as u64;
        if done
            .send(Done {
                seq,
                data,
                out: r,
                crc,
                len,
            })
            .is_err()
        {
            return;
        }
    }
}

fn write_zip(
    sources: &[Source],
    tmp: &Path,
    level: i32,
    threads: usize,
    ticker: &mut Ticker,
    cancel: &Cancel,
    force_zip64: bool,
) -> Result<u64, ArchiveError> {
    let mut out = Out::create(tmp)?;
    let level = deflate_level(level);
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let job_rx = Mutex::new(job_rx);
    let entries = std::thread::scope(|s| {
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            s.spawn(move || worker(level, job_rx, done_tx));
        }
        drop(done_tx);
        let mut pipe = Pipe {
            jobs: job_tx,
            done: done_rx,
            max_in_flight: threads * 2 + 2,
            pool: Vec::new(),
        };
        let mut entries = Vec::with_capacity(sources.len());
        for src in sources {
            entries.push(pipe.entry(src, &mut out, ticker, cancel, force_zip64)?);
        }
        Ok::<_, ArchiveError>(entries)
        // `pipe` drops here, closing the job queue so the workers exit.
    })?;
    let cd_offset = out.pos;
    for e in &entries {
        out.write(&e.central_header())?;
    }
    let cd_size = out.pos - cd_offset;
    out.write(&end_records(
        entries.len() as u64,
        cd_offset,
        cd_size,
        force_zip64,
    ))?;
    out.finish()
}

struct Pipe {
    jobs: mpsc::Sender<Job>,
    done: mpsc::Receiver<Done>,
    max_in_flight: usize,
    pool: Vec<Vec<u8>>,
}

impl Pipe {
    /// Write one entry: header, parallel-deflated data, patched header.
    fn entry(
        &mut self,
        src: &Source,
        out: &mut Out,
        ticker: &mut Ticker,
        cancel: &Cancel,
        force_zip64: bool,
    ) -> Result<ZipEntry, ArchiveError> {
        let mut f = File::open(&src.path).map_err(|e| read_err(&src.path, e))?;
        let meta = f.metadata().map_err(|e| read_err(&src.path, e))?;
        let (time, date) = dos_datetime(meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
        let mut e = ZipEntry {
            name: src.name.as_bytes().to_vec(),
            time,
            date,
            crc: 0,
            compressed: 0,
            size: meta.len(),
            offset: out.pos,
            zip64_local: force_zip64 || local_needs_zip64(meta.len()),
            force_zip64,
        };
        out.write(&e.local_header())?;
        let data_start = out.pos;

        let mut crc = crc32fast::Hasher::new();
        let mut read = 0u64;
        let (mut sent, mut written, mut in_flight) = (0u64, 0u64, 0usize);
        let mut sent_last = false;
        let mut tail: Vec<u8> = Vec::with_capacity(WINDOW);
        let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
        loop {
            while !sent_last && in_flight < self.max_in_flight {
                cancel.check()?;
                let mut buf = self.pool.pop().unwrap_or_default();
                buf.clear();
                buf.extend_from_slice(&tail);
                let dict = buf.len();
                buf.resize(dict + CHUNK, 0);
                let n = read_full(&mut f, &mut buf[dict..]).map_err(|e| read_err(&src.path, e))?;
                buf.truncate(dict + n);
                read += n as u64;
                sent_last = n < CHUNK;
                tail.clear();
                tail.extend_from_slice(&buf[buf.len() - buf.len().min(WINDOW)..]);
                let job = Job {
                    seq: sent,
                    data: buf,
                    dict,
                    last: sent_last,
                };
                self.jobs
                    .send(job)
                    .map_err(|_| ArchiveError::Compress("worker threads stopped".into()))?;
                sent += 1;
                in_flight += 1;
            }
            if in_flight == 0 {
                break;
            }
            let d = self
                .done
                .recv()
                .map_err(|_| ArchiveError::Compress("worker threads stopped".into()))?;
            in_flight -= 1;
            pending.insert(d.seq, d);
            while let Some(d) = pending.remove(&written) {
                let bytes = d.out.map_err(ArchiveError::Compress)?;
                out.write(&bytes)?;
                crc.combine(&d.crc);
                ticker.add(d.len);
                self.pool.push(d.data);
                written += 1;
                cancel.check()?;
            }
        }
        if read != e.size {
            return Err(ArchiveError::Changed {
                path: src.path.clone(),
                expected: e.size,
                got: read,
            });
        }
        e.crc = crc.finalize();
        e.compressed = out.pos - data_start;
        if !e.zip64_local && e.compressed >= U32_MAX {
            return Err(ArchiveError::Compress(format!(
                "{}: compressed size {} exceeds the bound chosen for its header",
                src.name, e.compressed
            )));
        }
        let header = e.local_header();
        out.patch(e.offset, &header)?;
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn rand_bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Several MiB mixing random, repetitive and text-like data.
    fn mixed(n_mib: usize) -> Vec<u8> {
        let mut v = Vec::new();
        let mut i = 0u64;
        while v.len() < n_mib << 20 {
            match i % 3 {
                0 => v.extend_from_slice(&rand_bytes(300_000, i + 1)),
                1 => v.extend(std::iter::repeat_n(b"abcabcabd1Cv8 ".as_slice(), 40_000).flatten()),
                _ => {
                    for k in 0..20_000u64 {
                        v.extend_from_slice(format!("строка {k} номер {}\n", k * i).as_bytes());
                    }
                }
            }
            i += 1;
        }
        v.truncate((n_mib << 20) + 12_345);
        v
    }

    struct Fixture {
        dir: tempfile::TempDir,
        sources: Vec<Source>,
        contents: Vec<(String, Vec<u8>)>,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut contents = vec![
            ("1Cv8.1CD".to_string(), {
                let mut v = Vec::new();
                crate::onec::generate::write_1cd(
                    &mut v,
                    crate::onec::generate::CdFormat::V8_3_8,
                    300,
                    5,
                )
                .unwrap();
                v
            }),
            (
                "1Cv8Log/1Cv8.lgf".to_string(),
                "1CV8LOG(ver 2.0)\n{\"Пользователь\"}\n"
                    .as_bytes()
                    .repeat(100),
            ),
            (
                "1Cv8Log/20261125000000.lgp".to_string(),
                rand_bytes(70_000, 9),
            ),
            ("1Cv8Log/empty.lgx".to_string(), Vec::new()),
        ];
        contents.sort();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("1Cv8Log")).unwrap();
        let sources = contents
            .iter()
            .map(|(name, data)| {
                let path = src.join(name);
                fs::write(&path, data).unwrap();
                Source {
                    name: name.clone(),
                    path,
                }
            })
            .collect();
        Fixture {
            dir,
            sources,
            contents,
        }
    }

    fn pack(fx: &Fixture, compress: Compress, threads: usize, name: &str) -> PathBuf {
        let tmp = fx.dir.path().join(name);
        let mut last = None;
        let n = write_archive(
            &fx.sources,
            &tmp,
            compress,
            None,
            threads,
            &mut |p| last = Some(p),
            &Cancel::new(),
        )
        .unwrap();
        let total: u64 = fx.contents.iter().map(|(_, d)| d.len() as u64).sum();
        assert_eq!(last.map(|p| (p.done, p.total)), Some((total, total)));
        if tmp.is_file() {
            assert_eq!(n, fs::metadata(&tmp).unwrap().len());
        }
        tmp
    }

    fn read_zip(path: &Path) -> Vec<(String, Vec<u8>)> {
        let mut z = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
        let mut v = Vec::new();
        for i in 0..z.len() {
            let mut e = z.by_index(i).unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            v.push((e.name().unwrap().into_owned(), data));
        }
        v
    }

    fn tool(name: &str) -> bool {
        let ok = Command::new(name).arg("--help").output().is_ok();
        if !ok {
            eprintln!("skipped: `{name}` is not installed");
        }
        ok
    }

    #[test]
    fn zip_round_trip_and_external_tools() {
        let fx = fixture();
        let zip = pack(&fx, Compress::Zip, 2, "b.zip");
        assert_eq!(read_zip(&zip), fx.contents);
        if tool("unzip") {
            let o = Command::new("unzip").arg("-t").arg(&zip).output().unwrap();
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(o.status.success(), "unzip -t: {text}");
            assert!(text.contains("No errors detected"), "{text}");
        }
        if tool("7z") {
            let o = Command::new("7z").arg("t").arg(&zip).output().unwrap();
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success() && text.contains("Everything is Ok"),
                "7z t: {text}"
            );
        }
        // no ZIP64 for small archives; UTF-8 flag set on every entry
        let bytes = fs::read(&zip).unwrap();
        assert!(!bytes.windows(4).any(|w| w == [0x50, 0x4b, 0x06, 0x06]));
        assert_eq!(
            u16::from_le_bytes([bytes[6], bytes[7]]) & FLAG_UTF8,
            FLAG_UTF8
        );
    }

    #[test]
    fn forced_zip64_records_are_readable() {
        let fx = fixture();
        let tmp = fx.dir.path().join("z64.zip");
        let total = fx.contents.iter().map(|(_, d)| d.len() as u64).sum();
        let mut t = Ticker {
            done: 0,
            total,
            progress: &mut |_| {},
        };
        write_zip(&fx.sources, &tmp, 6, 2, &mut t, &Cancel::new(), true).unwrap();
        assert_eq!(read_zip(&tmp), fx.contents);
        if tool("unzip") {
            let o = Command::new("unzip").arg("-t").arg(&tmp).output().unwrap();
            assert!(
                o.status.success(),
                "unzip -t: {}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
        if tool("7z") {
            let o = Command::new("7z").arg("t").arg(&tmp).output().unwrap();
            assert!(
                o.status.success(),
                "7z t: {}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }

    #[test]
    fn zip64_is_chosen_only_when_needed() {
        assert!(!local_needs_zip64(0));
        assert!(!local_needs_zip64(3_000_000_000));
        assert!(local_needs_zip64(U32_MAX - 10));
        assert!(local_needs_zip64(5 << 30));
        let e = |size: u64, compressed: u64, offset: u64| ZipEntry {
            name: b"1Cv8.1CD".to_vec(),
            time: 0,
            date: 0x21,
            crc: 7,
            compressed,
            size,
            offset,
            zip64_local: local_needs_zip64(size),
            force_zip64: false,
        };
        // (size, compressed, offset) → expected extra field length in the central header
        for (size, comp, off, extra) in [
            (100, 50, 0, 0u16),
            (5 << 30, 1 << 30, 0, 12),
            (5 << 30, 5 << 30, 0, 20),
            (100, 50, 6 << 30, 12),
            (5 << 30, 5 << 30, 6 << 30, 28),
        ] {
            let h = e(size, comp, off).central_header();
            assert_eq!(
                u16::from_le_bytes([h[30], h[31]]),
                extra,
                "{size} {comp} {off}"
            );
            let needed = u16::from_le_bytes([h[6], h[7]]);
            assert_eq!(needed, if extra > 0 { 45 } else { 20 });
            if extra > 0 {
                let x = &h[46 + 8..];
                assert_eq!(&x[..2], &[1, 0]);
                let first = u64::from_le_bytes(x[4..12].try_into().unwrap());
                assert_eq!(
                    first,
                    if size >= U32_MAX {
                        size
                    } else if comp >= U32_MAX {
                        comp
                    } else {
                        off
                    }
                );
            }
        }
        let big = e(5 << 30, 1 << 30, 0).local_header();
        assert_eq!(&big[18..26], &[0xFF; 8]);
        assert_eq!(u64::from_le_bytes(big[42..50].try_into().unwrap()), 5 << 30);
        assert_eq!(end_records(3, 1000, 200, false).len(), 22);
        let z = end_records(3, 6 << 30, 200, false);
        assert_eq!(z.len(), 56 + 20 + 22);
        assert_eq!(u64::from_le_bytes(z[48..56].try_into().unwrap()), 6 << 30);
        assert_eq!(
            u64::from_le_bytes(z[64..72].try_into().unwrap()),
            (6 << 30) + 200
        );
        assert_eq!(end_records(70_000, 10, 10, false).len(), 98);
    }

    #[test]
    fn parallel_chunks_form_one_stream_whatever_the_threads() {
        let dir = tempfile::tempdir().unwrap();
        let data = mixed(5);
        let p = dir.path().join("big.bin");
        fs::write(&p, &data).unwrap();
        let src = [Source {
            name: "big.bin".into(),
            path: p,
        }];
        let mut crcs = Vec::new();
        for threads in [1, 2, 4] {
            let tmp = dir.path().join(format!("t{threads}.zip"));
            write_archive(
                &src,
                &tmp,
                Compress::Zip,
                None,
                threads,
                &mut |_| {},
                &Cancel::new(),
            )
            .unwrap();
            let mut z = zip::ZipArchive::new(File::open(&tmp).unwrap()).unwrap();
            let mut e = z.by_index(0).unwrap();
            crcs.push(e.crc32());
            let mut back = Vec::new();
            e.read_to_end(&mut back).unwrap();
            assert!(back == data, "threads {threads}: content differs");
        }
        assert_eq!(crcs, vec![crc32fast::hash(&data); 3]);
    }

    #[test]
    fn zstd_round_trip_and_tools() {
        let fx = fixture();
        let tzst = pack(&fx, Compress::Zstd, 2, "b.tar.zst");
        let dec = zstd::Decoder::new(File::open(&tzst).unwrap()).unwrap();
        let mut ar = tar::Archive::new(dec);
        let mut got = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            got.push((name, data));
        }
        assert_eq!(got, fx.contents);
        if tool("zstd") {
            let o = Command::new("zstd").arg("-t").arg(&tzst).output().unwrap();
            assert!(
                o.status.success(),
                "zstd -t: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let o = Command::new("sh")
                .arg("-c")
                .arg(format!("zstd -dc '{}' | tar -tvf -", tzst.display()))
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success() && text.contains("1Cv8Log/1Cv8.lgf"),
                "tar: {text}"
            );
        }
    }

    #[test]
    fn none_writes_a_bare_dt_or_a_folder() {
        let fx = fixture();
        let folder = pack(&fx, Compress::None, 1, "folder");
        for (name, data) in &fx.contents {
            assert_eq!(&fs::read(folder.join(name)).unwrap(), data, "{name}");
        }
        let dt = fx.dir.path().join("x.dt");
        let mut v = Vec::new();
        crate::onec::generate::write_dt(&mut v, 100_000, 1).unwrap();
        fs::write(&dt, &v).unwrap();
        let out = fx.dir.path().join("out.dt.tmp");
        let n = write_archive(
            &[Source {
                name: "1Cv8.dt".into(),
                path: dt,
            }],
            &out,
            Compress::None,
            None,
            1,
            &mut |_| {},
            &Cancel::new(),
        )
        .unwrap();
        assert_eq!(n, v.len() as u64);
        assert_eq!(fs::read(&out).unwrap(), v);
        assert_eq!(extension(Compress::None, false), ".dt");
        assert_eq!(extension(Compress::None, true), "");
        assert_eq!(extension(Compress::Zip, true), ".zip");
        assert_eq!(extension(Compress::Zstd, false), ".tar.zst");
    }

    #[test]
    fn cancel_mid_way_leaves_only_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.bin");
        fs::write(&p, mixed(6)).unwrap();
        let src = [Source {
            name: "big.bin".into(),
            path: p,
        }];
        for compress in [Compress::Zip, Compress::Zstd, Compress::None] {
            let out = dir.path().join("out");
            fs::create_dir(&out).unwrap();
            let tmp = out.join("b.tmp");
            let cancel = Cancel::new();
            let c2 = cancel.clone();
            let r = write_archive(
                &src,
                &tmp,
                compress,
                None,
                2,
                &mut |p| {
                    if p.done >= 2 << 20 {
                        c2.cancel();
                    }
                },
                &cancel,
            );
            assert!(
                matches!(r, Err(ArchiveError::Cancelled(_))),
                "{compress:?}: {r:?}"
            );
            let left: Vec<_> = fs::read_dir(&out)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert!(
                left.len() <= 1 && left.iter().all(|n| n == "b.tmp"),
                "{compress:?}: {left:?}"
            );
            fs::remove_dir_all(&out).unwrap();
        }
    }

    #[test]
    fn errors_are_clean() {
        let fx = fixture();
        for compress in [Compress::Zip, Compress::Zstd, Compress::None] {
            let tmp = fx.dir.path().join("no/such/dir/b.tmp");
            let err = write_archive(
                &fx.sources,
                &tmp,
                compress,
                None,
                2,
                &mut |_| {},
                &Cancel::new(),
            )
            .unwrap_err();
            assert!(
                matches!(err, ArchiveError::Write { .. }),
                "{compress:?}: {err}"
            );
            assert!(err.to_string().contains("no/such/dir"), "{err}");
        }
        let missing = [Source {
            name: "1Cv8.1CD".into(),
            path: fx.dir.path().join("gone.1CD"),
        }];
        let err = write_archive(
            &missing,
            &fx.dir.path().join("m.zip"),
            Compress::Zip,
            None,
            1,
            &mut |_| {},
            &Cancel::new(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("cannot read"), "{err}");
        for bad in ["", "/abs", "a/../b", "a//b", "c:\\x"] {
            let s = [Source {
                name: bad.into(),
                path: fx.sources[0].path.clone(),
            }];
            let r = write_archive(
                &s,
                &fx.dir.path().join("n.zip"),
                Compress::Zip,
                None,
                1,
                &mut |_| {},
                &Cancel::new(),
            );
            assert!(matches!(r, Err(ArchiveError::BadName { .. })), "{bad:?}");
        }
        assert!(matches!(
            write_archive(
                &[],
                &fx.dir.path().join("e.zip"),
                Compress::Zip,
                None,
                1,
                &mut |_| {},
                &Cancel::new()
            ),
            Err(ArchiveError::NoSources)
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn disk_full_is_named() {
        let full = Path::new("/dev/full");
        if !full.exists() {
            eprintln!("skipped: no /dev/full");
            return;
        }
        let fx = fixture();
        let dt = fx.dir.path().join("x.dt");
        fs::write(&dt, vec![7u8; 3 << 20]).unwrap();
        let one = [Source {
            name: "1Cv8.dt".into(),
            path: dt,
        }];
        for (compress, sources) in [
            (Compress::Zip, &fx.sources[..]),
            (Compress::Zstd, &fx.sources[..]),
            (Compress::None, &one[..]),
        ] {
            let err = write_archive(
                sources,
                full,
                compress,
                None,
                2,
                &mut |_| {},
                &Cancel::new(),
            )
            .unwrap_err();
            assert!(
                matches!(err, ArchiveError::DiskFull { .. }),
                "{compress:?}: {err}"
            );
            assert!(
                err.to_string()
                    .starts_with("disk full while writing /dev/full"),
                "{err}"
            );
        }
    }

    #[test]
    fn dos_datetime_encodes_local_time() {
        let (t, d) = dos_datetime(SystemTime::UNIX_EPOCH);
        assert_eq!((t, d), (0, 0x21), "before 1980 clamps to 1980-01-01");
        let ts: jiff::Timestamp = "2026-11-25T10:20:30Z".parse().unwrap();
        let (t, d) = dos_datetime(
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(ts.as_second() as u64),
        );
        let local = ts
            .to_zoned_datetime(jiff::tz::TimeZone::system())
            .datetime();
        assert_eq!(d >> 9, (local.year() - 1980) as u16);
        assert_eq!(t & 0x1F, 15);
        assert_eq!((t >> 5) & 0x3F, local.minute() as u16);
    }
}
