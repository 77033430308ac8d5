//! The zip container, written by hand (the `zip` crate only reads it back
//! in tests): local headers patched in place with CRC and sizes (no data
//! descriptors), UTF-8 names, DOS local timestamps, and ZIP64 records only
//! where a size, offset or count needs them. The entry data comes from the
//! parallel compressor in [`super::deflate`], or is stored as it is when a
//! sample of it does not compress (a `.dt`, already compressed files).

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::{Mutex, mpsc};
use std::time::SystemTime;

use super::deflate::{CHUNK, Done, Job, WINDOW, deflate_level, worker};
use super::zip_aes::{self, Sealing};
use super::{ArchiveError, Out, Pack, Source, Ticker, read_err};
use crate::backup::crypt::ae2;
use crate::cancel::Cancel;
use crate::config::Secret;
use crate::onec::files::read_full;

pub(super) const U32_MAX: u64 = 0xFFFF_FFFF;

/// Upper bound of the deflate size of `n` input bytes as we write it
/// (stored blocks and per-chunk sync flushes included).
fn max_deflated(n: u64) -> u64 {
    n + n / 1024 + 4096
}

/// Whether an entry of `len` bytes needs a ZIP64 local header. Decided
/// before compressing, so it uses the worst case of the compressed size.
pub(super) fn local_needs_zip64(len: u64) -> bool {
    len >= U32_MAX || max_deflated(len) >= U32_MAX
}

#[derive(Debug, Clone)]
pub(super) struct ZipEntry {
    pub(super) name: Vec<u8>,
    pub(super) time: u16,
    pub(super) date: u16,
    pub(super) crc: u32,
    pub(super) compressed: u64,
    pub(super) size: u64,
    pub(super) offset: u64,
    /// [`METHOD_DEFLATE`] or [`METHOD_STORED`].
    pub(super) method: u16,
    pub(super) zip64_local: bool,
    /// Tests only: use ZIP64 records even when nothing needs them.
    pub(super) force_zip64: bool,
}

pub(super) const FLAG_UTF8: u16 = 1 << 11;
pub(super) const METHOD_DEFLATE: u16 = 8;
pub(super) const METHOD_STORED: u16 = 0;

/// An entry whose sample deflates to more than this share of its
/// size (in percent) is stored instead: a `.dt` is itself a DEFLATE stream
/// and gains nothing but time from a second pass.
const STORE_ABOVE_PERCENT: u64 = 97;
/// The size of the sample: the first chunk of every entry is this short,
/// so deciding costs a few milliseconds (the stream is the same whatever
/// the chunk sizes).
const SAMPLE: usize = 256 * 1024;

impl ZipEntry {
    fn version_needed(zip64: bool) -> u16 {
        if zip64 { 45 } else { 20 }
    }

    pub(super) fn local_header(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(30 + self.name.len() + 20);
        put32(&mut h, 0x0403_4b50);
        put16(&mut h, Self::version_needed(self.zip64_local));
        put16(&mut h, FLAG_UTF8);
        put16(&mut h, self.method);
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

    pub(super) fn central_header(&self) -> Vec<u8> {
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
        put16(&mut h, self.method);
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
pub(super) fn end_records(entries: u64, cd_offset: u64, cd_size: u64, force: bool) -> Vec<u8> {
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
pub(super) fn dos_datetime(t: SystemTime) -> (u16, u16) {
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

pub(super) fn write_zip(p: Pack, level: i32, force_zip64: bool) -> Result<u64, ArchiveError> {
    let mut out = Out::create(p.tmp)?;
    let level = deflate_level(level);
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let job_rx = Mutex::new(job_rx);
    let entries = std::thread::scope(|s| {
        let background = crate::platform::this_thread_is_background();
        for _ in 0..p.threads {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            s.spawn(move || {
                crate::platform::background_like(background);
                worker(level, job_rx, done_tx)
            });
        }
        drop(done_tx);
        let mut pipe = Pipe {
            jobs: job_tx,
            done: done_rx,
            max_in_flight: p.threads * 2 + 2,
            pool: Vec::new(),
            password: p.password.cloned(),
        };
        let mut entries = Vec::with_capacity(p.sources.len());
        for src in p.sources {
            entries.push(pipe.entry(src, &mut out, p.ticker, p.cancel, force_zip64)?);
        }
        Ok::<_, ArchiveError>(entries)
        // `pipe` drops here, closing the job queue so the workers exit.
    })?;
    let cd_offset = out.pos;
    for e in &entries {
        match p.password {
            Some(_) => out.write(&zip_aes::central_header(e.central_header()))?,
            None => out.write(&e.central_header())?,
        }
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
    /// Encrypt every entry (WinZip AES-256) with this password.
    password: Option<Secret>,
}

/// One entry's reading and writing state.
struct Flow<'a> {
    src: &'a Source,
    f: File,
    read: u64,
    crc: crc32fast::Hasher,
    tail: Vec<u8>,
    sent: u64,
    written: u64,
    sent_last: bool,
    /// The entry's encryption, when there is a password.
    sealing: Option<Sealing>,
}

impl Flow<'_> {
    fn emit(&mut self, data: &mut [u8], out: &mut Out) -> Result<(), ArchiveError> {
        emit(&mut self.sealing, data, out)
    }
}

/// Write entry data, encrypted (in place) when there is a password.
fn emit(sealing: &mut Option<Sealing>, data: &mut [u8], out: &mut Out) -> Result<(), ArchiveError> {
    match sealing {
        Some(s) => s.write(data, out),
        None => out.write(data),
    }
}

impl Pipe {
    /// Write one entry: header, data (deflated in parallel, or stored when
    /// the first chunks do not compress), patched header.
    fn entry(
        &mut self,
        src: &Source,
        out: &mut Out,
        ticker: &mut Ticker,
        cancel: &Cancel,
        force_zip64: bool,
    ) -> Result<ZipEntry, ArchiveError> {
        let password = self.password.clone();
        let password = password.as_ref();
        let f = File::open(&src.path).map_err(|e| read_err(&src.path, e))?;
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
            method: METHOD_DEFLATE,
            // Encryption adds a few bytes to the compressed size.
            zip64_local: force_zip64
                || local_needs_zip64(meta.len() + password.map_or(0, |_| ae2::OVERHEAD)),
            force_zip64,
        };
        let header = |e: &ZipEntry| match password {
            Some(_) => zip_aes::local_header(e.local_header()),
            None => e.local_header(),
        };
        out.write(&header(&e))?;
        let data_start = out.pos;
        let sealing = password.map(|pw| Sealing::start(pw, out)).transpose()?;
        let mut flow = Flow {
            src,
            f,
            read: 0,
            crc: crc32fast::Hasher::new(),
            tail: Vec::with_capacity(WINDOW),
            sent: 0,
            written: 0,
            sent_last: false,
            sealing,
        };
        let mut pending: BTreeMap<u64, Done> = BTreeMap::new();

        // The sample: a short first chunk, deflated before the rest is read.
        self.send(&mut flow, SAMPLE, cancel)?;
        let d = self.recv()?;
        let (raw, deflated) = (d.len, d.out.as_ref().map_or(0, |o| o.len() as u64));
        pending.insert(d.seq, d);
        if deflated * 100 > raw * STORE_ABOVE_PERCENT {
            e.method = METHOD_STORED;
            self.store(&mut flow, pending, out, ticker, cancel)?;
        } else {
            self.deflate(&mut flow, pending, out, ticker, cancel)?;
        }

        if flow.read != e.size {
            return Err(ArchiveError::Changed {
                path: src.path.clone(),
                expected: e.size,
                got: flow.read,
            });
        }
        if let Some(s) = flow.sealing.take() {
            s.finish(out)?;
        }
        e.crc = flow.crc.finalize();
        e.compressed = out.pos - data_start;
        if !e.zip64_local && e.compressed >= U32_MAX {
            return Err(ArchiveError::Compress(format!(
                "{}: compressed size {} exceeds the bound chosen for its header",
                src.name, e.compressed
            )));
        }
        out.patch(e.offset, &header(&e))?;
        Ok(e)
    }

    /// Read the next chunk of up to `size` bytes (after the previous 32 KiB,
    /// its dictionary) and queue it for a worker.
    fn send(&mut self, flow: &mut Flow, size: usize, cancel: &Cancel) -> Result<(), ArchiveError> {
        cancel.check()?;
        let mut buf = self.pool.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(&flow.tail);
        let dict = buf.len();
        buf.resize(dict + size, 0);
        let path = &flow.src.path;
        let n = read_full(&mut flow.f, &mut buf[dict..]).map_err(|e| read_err(path, e))?;
        buf.truncate(dict + n);
        flow.read += n as u64;
        flow.sent_last = n < size;
        flow.tail.clear();
        flow.tail
            .extend_from_slice(&buf[buf.len() - buf.len().min(WINDOW)..]);
        let job = Job {
            seq: flow.sent,
            data: buf,
            dict,
            last: flow.sent_last,
        };
        self.jobs
            .send(job)
            .map_err(|_| ArchiveError::Compress("worker threads stopped".into()))?;
        flow.sent += 1;
        Ok(())
    }

    fn recv(&mut self) -> Result<Done, ArchiveError> {
        self.done
            .recv()
            .map_err(|_| ArchiveError::Compress("worker threads stopped".into()))
    }

    /// Deflate the rest in parallel, writing chunks in order as they come
    /// back (`pending` holds the sample's).
    fn deflate(
        &mut self,
        flow: &mut Flow,
        mut pending: BTreeMap<u64, Done>,
        out: &mut Out,
        ticker: &mut Ticker,
        cancel: &Cancel,
    ) -> Result<(), ArchiveError> {
        loop {
            while let Some(d) = pending.remove(&flow.written) {
                let mut bytes = d.out.map_err(ArchiveError::Compress)?;
                flow.emit(&mut bytes, out)?;
                flow.crc.combine(&d.crc);
                ticker.add(d.len);
                self.pool.push(d.data);
                flow.written += 1;
                cancel.check()?;
            }
            let mut in_flight = (flow.sent - flow.written) as usize - pending.len();
            while !flow.sent_last && in_flight + pending.len() < self.max_in_flight {
                self.send(flow, CHUNK, cancel)?;
                in_flight += 1;
            }
            if flow.written == flow.sent {
                return Ok(());
            }
            let d = self.recv()?;
            pending.insert(d.seq, d);
        }
    }

    /// The rest of an unencrypted stored entry copied file to file by the
    /// OS ([`Out::copy_from`]) while a second reader checksums the same
    /// bytes: they cross our memory once, not twice (a 1 GiB `.dt` packs
    /// at the speed of `cp`). `false`, nothing done, where the OS cannot.
    fn store_in_kernel(
        flow: &mut Flow,
        out: &mut Out,
        ticker: &mut Ticker,
        cancel: &Cancel,
    ) -> Result<bool, ArchiveError> {
        use std::sync::atomic::{AtomicBool, Ordering};
        const STEP: u64 = 8 << 20;
        let path = &flow.src.path;
        let mut again = File::open(path).map_err(|e| read_err(path, e))?;
        std::io::Seek::seek(&mut again, std::io::SeekFrom::Start(flow.read))
            .map_err(|e| read_err(path, e))?;
        let background = crate::platform::this_thread_is_background();
        let stop = AtomicBool::new(false);
        let (copied, summed) = std::thread::scope(|s| {
            let summer = s.spawn(|| {
                crate::platform::background_like(background);
                let mut crc = crc32fast::Hasher::new();
                let mut buf = vec![0u8; CHUNK];
                let mut total = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let n = read_full(&mut again, &mut buf).map_err(|e| read_err(path, e))?;
                    crc.update(&buf[..n]);
                    total += n as u64;
                    if n < CHUNK {
                        break;
                    }
                }
                Ok::<_, ArchiveError>((total, crc))
            });
            let copied = out.copy_from(&flow.f, STEP, &mut |n| {
                ticker.add(n);
                Ok(cancel.check()?)
            });
            if !matches!(copied, Ok(Some(_))) {
                stop.store(true, Ordering::Relaxed);
            }
            let summed = summer.join().unwrap_or_else(|_| {
                Err(ArchiveError::Compress(
                    "the checksum thread panicked".into(),
                ))
            });
            (copied, summed)
        });
        let Some(copied) = copied? else {
            return Ok(false);
        };
        let (summed, crc) = summed?;
        if summed != copied {
            return Err(ArchiveError::Changed {
                path: path.clone(),
                expected: flow.read + copied,
                got: flow.read + summed,
            });
        }
        flow.read += copied;
        flow.crc.combine(&crc);
        flow.sent_last = true;
        Ok(true)
    }

    /// Store the entry: the sample as read, then the rest copied.
    fn store(
        &mut self,
        flow: &mut Flow,
        pending: BTreeMap<u64, Done>,
        out: &mut Out,
        ticker: &mut Ticker,
        cancel: &Cancel,
    ) -> Result<(), ArchiveError> {
        for mut d in pending.into_values() {
            let at = d.data.len() - d.len as usize;
            flow.emit(&mut d.data[at..], out)?;
            flow.crc.combine(&d.crc);
            ticker.add(d.len);
            self.pool.push(d.data);
        }
        if flow.sent_last {
            return Ok(());
        }
        if flow.sealing.is_none() && Self::store_in_kernel(flow, out, ticker, cancel)? {
            return Ok(());
        }
        // A reader thread reads and checksums while this one writes.
        let (full_tx, full_rx) = mpsc::sync_channel::<Result<(Vec<u8>, usize), ArchiveError>>(2);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
        for _ in 0..3 {
            let _ = empty_tx.send(self.pool.pop().unwrap_or_default());
        }
        let background = crate::platform::this_thread_is_background();
        let Flow {
            src,
            f,
            read,
            crc,
            sent_last,
            sealing,
            ..
        } = flow;
        std::thread::scope(|s| {
            s.spawn(move || {
                crate::platform::background_like(background);
                while let Ok(mut buf) = empty_rx.recv() {
                    buf.resize(CHUNK, 0);
                    let r = read_full(f, &mut buf).map_err(|e| read_err(&src.path, e));
                    let n = *r.as_ref().unwrap_or(&0);
                    crc.update(&buf[..n]);
                    *read += n as u64;
                    let end = r.is_err() || n < CHUNK;
                    if full_tx.send(r.map(|n| (buf, n))).is_err() || end {
                        return;
                    }
                }
            });
            // Dropped on any return, so a waiting reader stops too.
            let empty_tx = empty_tx;
            for r in full_rx {
                let (mut buf, n) = r?;
                cancel.check()?;
                emit(sealing, &mut buf[..n], out)?;
                ticker.add(n as u64);
                let _ = empty_tx.send(buf);
            }
            *sent_last = true;
            Ok(())
        })
    }
}
