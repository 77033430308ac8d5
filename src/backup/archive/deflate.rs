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

/// The zlib-rs level used for a requested zip level. Measured on a
/// realistic 256 MiB `.1CD` (`bench/pack.sh`): Info-ZIP `zip -6` gave
/// 52.01 MB; zlib-rs level 6 gave 51.90 MB using 2.6 s of CPU, level 5
/// 52.28 MB (+0.5 %) using 2.1 s, level 4 54.69 MB (+5.1 %) using 1.8 s.
/// So the default 6 runs as 5, the fastest level within 3 % of `zip -6`;
/// other levels pass through.
pub(super) fn deflate_level(requested: i32) -> u32 {
    match requested {
        ..=0 => 0,
        6 => 5,
        n => n.min(9) as u32,
    }
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
