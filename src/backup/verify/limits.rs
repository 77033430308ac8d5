//! Bounds on what an archive's own headers may claim, checked before the
//! reader allocates anything for them. The tar reader keeps a GNU long
//! name, a GNU long link or a PAX record in memory whole, as large as its
//! header says; [`TarGuard`] sits under it, reads each of those headers as
//! it streams past and refuses one that claims more than [`MAX_NAME`]
//! bytes. Zip needs no guard of ours: names, extra fields and comments have
//! 16-bit lengths, and the zip reader checks the directory's claimed size
//! and file count against the file itself (a test keeps it so).

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// The most a name, a link target or a PAX record may take (64 KiB):
/// far beyond any real path, far below anything that hurts.
pub const MAX_NAME: u64 = 64 * 1024;

const BLOCK: u64 = 512;

/// A tar extension header that claims more than [`MAX_NAME`].
#[derive(Debug, thiserror::Error)]
#[error(
    "the {what} header at offset {offset} claims {claimed} bytes, more than the {MAX_NAME} \
     allowed: it is not read"
)]
pub struct Oversized {
    pub what: &'static str,
    /// Where the header starts in the (decompressed) tar stream.
    pub offset: u64,
    pub claimed: u64,
}

impl Oversized {
    /// The guard's refusal inside an I/O error from the tar reader, if it is one.
    pub fn find(e: &io::Error) -> Option<&Oversized> {
        e.get_ref()?.downcast_ref()
    }
}

/// Passes a tar stream through, reading every header block in a run of
/// extension headers (the ones in front of an entry) and failing the read
/// that completes one claiming too much. After the caller has read an
/// entry's content to its end it calls [`Rearm::next_header`]: the next
/// block boundary holds the next run's first header.
pub struct TarGuard<R> {
    inner: R,
    /// Bytes passed through so far.
    pos: u64,
    /// Where the header being watched starts, while in a run of headers.
    header_at: Option<u64>,
    block: [u8; BLOCK as usize],
    filled: usize,
    rearm: Rc<Cell<bool>>,
}

/// Tells a [`TarGuard`] that an entry's content has been read.
#[derive(Clone)]
pub struct Rearm(Rc<Cell<bool>>);

impl Rearm {
    pub fn next_header(&self) {
        self.0.set(true);
    }
}

impl<R: Read> TarGuard<R> {
    /// A guard expecting a header first; and the handle to rearm it.
    pub fn new(inner: R) -> (Self, Rearm) {
        let rearm = Rc::new(Cell::new(true));
        let guard = TarGuard {
            inner,
            pos: 0,
            header_at: None,
            block: [0; BLOCK as usize],
            filled: 0,
            rearm: rearm.clone(),
        };
        (guard, Rearm(rearm))
    }

    /// A whole header block at `at` has been seen: where the next header
    /// starts when this one is an extension header, or `None` (an entry's
    /// own header, the end of the archive, or a size the tar reader will
    /// reject itself).
    fn after_header(&self, at: u64) -> Result<Option<u64>, Oversized> {
        let what = match self.block[156] {
            b'L' => "GNU long-name",
            b'K' => "GNU long-link",
            b'x' => "PAX",
            _ => return Ok(None),
        };
        let Some(claimed) = header_size(&self.block[124..136]) else {
            return Ok(None);
        };
        if claimed > MAX_NAME {
            return Err(Oversized {
                what,
                offset: at,
                claimed,
            });
        }
        Ok(Some(at + BLOCK + claimed.next_multiple_of(BLOCK)))
    }
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.rearm.replace(false) {
            self.header_at = Some(self.pos.next_multiple_of(BLOCK));
            self.filled = 0;
        }
        let n = self.inner.read(buf)?;
        let end = self.pos + n as u64;
        while let Some(at) = self.header_at {
            let from = at + self.filled as u64;
            if from >= end {
                break;
            }
            let Some(off) = from.checked_sub(self.pos) else {
                // Skipped by a seek we did not see: stop watching.
                self.header_at = None;
                break;
            };
            let off = off as usize;
            let take = (BLOCK as usize - self.filled).min(n - off);
            self.block[self.filled..self.filled + take].copy_from_slice(&buf[off..off + take]);
            self.filled += take;
            if self.filled < BLOCK as usize {
                break;
            }
            self.filled = 0;
            self.header_at = self
                .after_header(at)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
        self.pos = end;
        Ok(n)
    }
}

/// A tar size field as the tar reader reads it: octal digits, or base-256
/// (top bit set) taken from its last eight bytes.
fn header_size(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let tail: [u8; 8] = field[field.len() - 8..].try_into().ok()?;
        return Some(u64::from_be_bytes(tail));
    }
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    let digits = std::str::from_utf8(&field[..end]).ok()?.trim();
    u64::from_str_radix(digits, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_fields_read_like_the_tar_reader() {
        assert_eq!(header_size(b"00000000012\0"), Some(10));
        assert_eq!(header_size(b"     12 \0\0\0\0"), Some(10));
        assert_eq!(header_size(b"40000000000\0"), Some(4 << 30));
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[4..].copy_from_slice(&(1u64 << 40).to_be_bytes());
        assert_eq!(header_size(&big), Some(1 << 40));
        assert_eq!(header_size(b"zz\0\0\0\0\0\0\0\0\0\0"), None);
    }

    /// The guard sees headers however the stream is cut into reads.
    #[test]
    fn headers_split_across_reads_are_still_seen() {
        let mut h = [0u8; 512];
        h[124..136].copy_from_slice(b"00000200001\0");
        h[156] = b'L';
        let mut stream = vec![0u8; 1024];
        stream.extend(h);
        stream.extend(vec![0u8; 4096]);
        /// Hands out at most 7 bytes a read.
        struct Dribble<'a>(&'a [u8]);
        impl Read for Dribble<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(7).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let (mut g, rearm) = TarGuard::new(Dribble(&stream));
        // The first "entry" (a plain header and one block of content).
        let mut first = [0u8; 1024];
        g.read_exact(&mut first).unwrap();
        rearm.next_header();
        let err = io::copy(&mut g, &mut io::sink()).unwrap_err();
        let o = Oversized::find(&err).expect("the guard's error");
        assert_eq!(
            (o.what, o.offset, o.claimed),
            ("GNU long-name", 1024, 65537)
        );
    }
}
