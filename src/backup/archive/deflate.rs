//! Parallel DEFLATE, pigz-style: the input is cut into 1 MiB chunks, each
//! compressed by a worker thread with the previous 32 KiB as its dictionary
//! and ended with a sync flush (the last one with a final block), so the
//! chunks joined in order form one valid raw DEFLATE stream. Each chunk's
//! CRC-32 comes back with it, for the writer to combine.

use std::sync::{Mutex, mpsc};

use flate2::{Compress as Deflater, Compression, FlushCompress, Status};

/// The size of one chunk of input.
pub(super) const CHUNK: usize = 1 << 20;
/// The DEFLATE window: how much of the previous chunk primes the next.
pub(super) const WINDOW: usize = 32 * 1024;

/// The zlib-rs level used for a requested zip level: the same number.
///
/// Chosen on a varied corpus, 1 MiB chunks primed with the previous
/// 32 KiB, against Info-ZIP `zip -6` (sizes; CPU seconds of one thread,
/// on a loaded machine): the bench's catalog-mix `.1CD` (256 MiB): level 5
/// +0.50 % (2.1 s), level 6 -0.22 % (2.6 s), `zip -6` 5.2 s; the
/// register-mix `.1CD` (256 MiB): level 5 +0.70 % (2.8 s), level 6
/// +0.09 % (3.5 s), `zip -6` 6.1 s; 200 MiB of a tar of shared libraries:
/// level 5 +2.40 % (2.6 s), level 6 +2.15 % (2.9 s), `zip -6` 8.1 s;
/// 200 MiB of a tar of `/usr/share`: level 5 +0.33 %, level 6 +0.19 %.
/// Level 6 is within 3 % everywhere with room to spare and needs about
/// half of `zip -6`'s CPU, so two threads stay well over 2.5x faster;
/// level 7 (zlib-rs switches to lazy matching there) gains another 1 % on
/// binaries for 1.8x the CPU of level 6, too slow for that promise.
pub(super) fn deflate_level(requested: i32) -> u32 {
    requested.clamp(0, 9) as u32
}

/// One chunk to compress.
pub(super) struct Job {
    pub(super) seq: u64,
    /// `data[..dict]` is the previous 32 KiB (the dictionary), the rest the chunk.
    pub(super) data: Vec<u8>,
    pub(super) dict: usize,
    pub(super) last: bool,
}

/// One compressed chunk, with its input buffer returned for reuse.
pub(super) struct Done {
    pub(super) seq: u64,
    pub(super) data: Vec<u8>,
    pub(super) out: Result<Vec<u8>, String>,
    pub(super) crc: crc32fast::Hasher,
    pub(super) len: u64,
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

pub(super) fn worker(level: u32, jobs: &Mutex<mpsc::Receiver<Job>>, done: mpsc::Sender<Done>) {
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
