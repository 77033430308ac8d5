//! `.1CD` header and `.dt` stream checks.
//!
//! A file infobase (`1Cv8.1CD`) starts with a 24-byte header whose page
//! count times page size must equal the file size; a Designer dump (`.dt`)
//! is a 9-byte header followed by one raw DEFLATE stream that must inflate
//! to its very end. Both can therefore be checked without 1C. Files of the
//! same shape for tests are written by [`super::generate`].

use std::io::{self, Read};

use flate2::{Decompress, FlushDecompress, Status};

/// Signature at offset 0 of every `.1CD` file.
pub const CD_SIGNATURE: &[u8; 8] = b"1CDBMSV8";
/// Signature at offset 0 of every `.dt` dump.
pub const DT_SIGNATURE: &[u8; 8] = b"1CIBDmpF";
/// The only `.dt` version byte seen in real dumps.
pub const DT_VERSION: u8 = 0x33;
/// Length of the `.1CD` header [`check_1cd_header`] needs.
pub const CD_HEADER_LEN: usize = 24;

/// The format version bytes of an 8.2.14 `.1CD` header.
pub(crate) const V8_2_14: [u8; 4] = [8, 2, 14, 0];
/// The format version bytes of an 8.3.8 `.1CD` header.
pub(crate) const V8_3_8: [u8; 4] = [8, 3, 8, 0];

/// The facts a `.1CD` header states about its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CdHeader {
    pub version: [u8; 4],
    pub pages: u32,
    /// The effective page size (4096 for 8.2.14, whose header stores 0).
    pub page_size: u32,
}

impl CdHeader {
    /// The format version as 1C writes it, e.g. `"8.2.14"`.
    pub fn version_string(&self) -> String {
        let [a, b, c, _] = self.version;
        format!("{a}.{b}.{c}")
    }
}

/// Why a `.1CD` header does not describe a usable infobase file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CdError {
    #[error("not a 1C infobase file: header is {got} bytes long, expected at least 24")]
    TooShort { got: usize },
    #[error("not a 1C infobase file: signature is {found:?}, expected \"1CDBMSV8\"")]
    BadSignature { found: String },
    #[error(
        "unsupported infobase format {}.{}.{}.{} (expected 8.2.14 or 8.3.8)",
        .version[0], .version[1], .version[2], .version[3]
    )]
    UnsupportedVersion { version: [u8; 4] },
    #[error("bad page size {page_size} for format {format} (expected {expected})")]
    BadPageSize {
        page_size: u32,
        format: String,
        expected: &'static str,
    },
    #[error(
        "truncated: header says {pages} pages x {page_size} = {expected} bytes, file has {got} bytes; \
         the copy is incomplete or the base is damaged"
    )]
    Truncated {
        pages: u32,
        page_size: u32,
        expected: u64,
        got: u64,
    },
    #[error(
        "size mismatch: header says {pages} pages x {page_size} = {expected} bytes, file has {got} bytes \
         (longer than its header says)"
    )]
    TooLong {
        pages: u32,
        page_size: u32,
        expected: u64,
        got: u64,
    },
}

/// Check a `.1CD` header (at least its first 24 bytes) against the length
/// of the whole file.
pub fn check_1cd_header(first_24_bytes: &[u8], file_len: u64) -> Result<CdHeader, CdError> {
    let h = first_24_bytes;
    if h.len() < CD_HEADER_LEN {
        return Err(CdError::TooShort { got: h.len() });
    }
    if &h[0..8] != CD_SIGNATURE {
        return Err(CdError::BadSignature {
            found: String::from_utf8_lossy(&h[0..8]).into_owned(),
        });
    }
    let version: [u8; 4] = h[8..12].try_into().expect("4 bytes");
    let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().expect("4 bytes"));
    let pages = u32_at(12);
    let stored_size = u32_at(20);
    let page_size = match version {
        V8_2_14 => match stored_size {
            0 | 4096 => 4096,
            other => {
                return Err(CdError::BadPageSize {
                    page_size: other,
                    format: "8.2.14".into(),
                    expected: "0 meaning 4096",
                });
            }
        },
        V8_3_8 => match stored_size {
            4096 | 8192 | 16384 | 32768 | 65536 => stored_size,
            other => {
                return Err(CdError::BadPageSize {
                    page_size: other,
                    format: "8.3.8".into(),
                    expected: "4096, 8192, 16384, 32768 or 65536",
                });
            }
        },
        _ => return Err(CdError::UnsupportedVersion { version }),
    };
    let expected = u64::from(pages) * u64::from(page_size);
    if file_len < expected {
        return Err(CdError::Truncated {
            pages,
            page_size,
            expected,
            got: file_len,
        });
    }
    if file_len > expected {
        return Err(CdError::TooLong {
            pages,
            page_size,
            expected,
            got: file_len,
        });
    }
    Ok(CdHeader {
        version,
        pages,
        page_size,
    })
}

/// What reading a `.dt` dump to its end showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtCheck {
    /// The stream inflated completely with nothing left over.
    Complete { inflated: u64 },
    /// A version byte we have not seen: the dump cannot be checked (this is
    /// not evidence of damage).
    UnknownFormat { version_byte: u8 },
    /// The dump is truncated or corrupted; the text says how.
    Damaged(String),
}

/// Read a `.dt` dump to its end and tell whether it is complete. Streams
/// with fixed buffers (a few hundred KiB whatever the dump size). `Err` is
/// only for read errors of `r` itself.
pub fn check_dt(mut r: impl Read) -> io::Result<DtCheck> {
    let mut head = [0u8; 9];
    let got = read_full(&mut r, &mut head)?;
    if got < 9 {
        return Ok(DtCheck::Damaged(format!(
            "dump is {got} bytes long, shorter than its 9-byte header"
        )));
    }
    if &head[0..8] != DT_SIGNATURE {
        return Ok(DtCheck::Damaged(format!(
            "not a 1C dump: signature is {:?}, expected \"1CIBDmpF\"",
            String::from_utf8_lossy(&head[0..8])
        )));
    }
    if head[8] != DT_VERSION {
        return Ok(DtCheck::UnknownFormat {
            version_byte: head[8],
        });
    }
    let mut inflater = Decompress::new(false);
    let mut input = vec![0u8; 64 * 1024];
    let mut output = vec![0u8; 256 * 1024];
    loop {
        let n = r.read(&mut input)?;
        if n == 0 {
            return Ok(DtCheck::Damaged(format!(
                "truncated: the compressed data ends after {} bytes of content, before the end of the stream",
                inflater.total_out()
            )));
        }
        let mut pos = 0;
        while pos < n {
            let before_in = inflater.total_in();
            let status =
                match inflater.decompress(&input[pos..n], &mut output, FlushDecompress::None) {
                    Ok(s) => s,
                    Err(e) => {
                        return Ok(DtCheck::Damaged(format!(
                            "corrupted compressed data after {} bytes of content ({e})",
                            inflater.total_out()
                        )));
                    }
                };
            pos += (inflater.total_in() - before_in) as usize;
            if status == Status::StreamEnd {
                let mut extra = (n - pos) as u64;
                loop {
                    let m = r.read(&mut input)?;
                    if m == 0 {
                        break;
                    }
                    extra += m as u64;
                }
                if extra > 0 {
                    return Ok(DtCheck::Damaged(format!(
                        "{extra} unexpected bytes after the end of the compressed stream"
                    )));
                }
                return Ok(DtCheck::Complete {
                    inflated: inflater.total_out(),
                });
            }
        }
    }
}

/// Read into `buf` until it is full or `r` ends; returns how many bytes
/// were read (less than `buf.len()` only at the end of `r`).
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onec::generate::{CdFormat, generate_1cd, write_dt};
    use std::fs::File;
    use std::path::{Path, PathBuf};

    fn fixtures() -> Option<PathBuf> {
        let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures"));
        if p.is_dir() {
            Some(p)
        } else {
            eprintln!("skipped: no shared fixtures at {}", p.display());
            None
        }
    }

    fn header_of(path: &Path) -> (Vec<u8>, u64) {
        let mut f = File::open(path).unwrap();
        let mut h = vec![0u8; CD_HEADER_LEN];
        f.read_exact(&mut h).unwrap();
        (h, f.metadata().unwrap().len())
    }

    #[test]
    fn generated_files_have_valid_headers() {
        let dir = tempfile::tempdir().unwrap();
        for (format, version, size) in [
            (CdFormat::V8_2_14, "8.2.14", 4096),
            (CdFormat::V8_3_8, "8.3.8", 8192),
        ] {
            let p = dir.path().join(format!("{version}.1CD"));
            generate_1cd(&p, format, 37, 7).unwrap();
            let (h, len) = header_of(&p);
            assert_eq!(len, 37 * size as u64);
            let hdr = check_1cd_header(&h, len).unwrap();
            assert_eq!(hdr.pages, 37);
            assert_eq!(hdr.page_size, size);
            assert_eq!(hdr.version_string(), version);
        }
    }

    #[test]
    fn header_errors_are_precise() {
        let good = CdFormat::V8_3_8.header(10);
        let len = 10 * 8192;
        // table: (mutation, file length, expected error)
        let mut bad_sig = good;
        bad_sig[0] = b'X';
        let mut bad_ver = good;
        bad_ver[9] = 9;
        let mut bad_size = good;
        bad_size[20..24].copy_from_slice(&1000u32.to_le_bytes());
        let mut old_bad_size = CdFormat::V8_2_14.header(10);
        old_bad_size[20..24].copy_from_slice(&8192u32.to_le_bytes());
        let cases: Vec<(&[u8], u64, &str)> = vec![
            (&good[..20], len, "header is 20 bytes long"),
            (&bad_sig, len, "signature is \"XCDBMSV8\""),
            (&bad_ver, len, "unsupported infobase format 8.9.8.0"),
            (&bad_size, len, "bad page size 1000 for format 8.3.8"),
            (
                &old_bad_size,
                10 * 4096,
                "bad page size 8192 for format 8.2.14",
            ),
            (
                &good,
                len - 100,
                "truncated: header says 10 pages x 8192 = 81920 bytes, file has 81820",
            ),
            (&good, len + 8192, "longer than its header says"),
        ];
        for (h, l, want) in cases {
            let err = check_1cd_header(h, l).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
        assert!(check_1cd_header(&good, len).is_ok());
    }

    #[test]
    fn real_fixture_headers() {
        let Some(fx) = fixtures() else { return };
        for (dir, version, pages, size) in [
            ("infobase-8.2.14", "8.2.14", 858, 4096),
            ("infobase-8.3.8", "8.3.8", 374, 8192),
        ] {
            let (h, len) = header_of(&fx.join(dir).join("1Cv8.1CD"));
            let hdr = check_1cd_header(&h, len).unwrap();
            assert_eq!(
                (hdr.version_string().as_str(), hdr.pages, hdr.page_size),
                (version, pages, size)
            );
            assert!(matches!(
                check_1cd_header(&h, len - 1),
                Err(CdError::Truncated { .. })
            ));
        }
    }

    fn dt_bytes(payload: u64) -> Vec<u8> {
        let mut v = Vec::new();
        write_dt(&mut v, payload, 3).unwrap();
        v
    }

    #[test]
    fn dt_complete() {
        let v = dt_bytes(300_000);
        assert_eq!(
            check_dt(&v[..]).unwrap(),
            DtCheck::Complete { inflated: 300_000 }
        );
    }

    #[test]
    fn dt_damage_is_found() {
        let v = dt_bytes(300_000);
        let truncated = &v[..v.len() - 10];
        assert!(
            matches!(check_dt(truncated).unwrap(), DtCheck::Damaged(m) if m.contains("truncated"))
        );
        // raw DEFLATE has no checksum, so a flipped byte is caught only when
        // it breaks the stream's structure; most flips do (the archive CRC
        // catches the rest).
        let caught = (0..20)
            .map(|i| {
                let mut flipped = v.clone();
                flipped[100 + i * (v.len() - 200) / 20] ^= 0xFF;
                check_dt(&flipped[..]).unwrap()
            })
            .filter(|c| !matches!(c, DtCheck::Complete { inflated: 300_000 }))
            .count();
        assert!(caught >= 10, "only {caught} of 20 flips caught");
        let mut extra = v.clone();
        extra.extend_from_slice(b"junk");
        assert!(
            matches!(check_dt(&extra[..]).unwrap(), DtCheck::Damaged(m) if m.contains("4 unexpected bytes"))
        );
        let mut sig = v.clone();
        sig[0] = b'X';
        assert!(
            matches!(check_dt(&sig[..]).unwrap(), DtCheck::Damaged(m) if m.contains("not a 1C dump"))
        );
        assert!(matches!(check_dt(&v[..5]).unwrap(), DtCheck::Damaged(_)));
    }

    #[test]
    fn dt_unknown_version_is_not_damage() {
        let mut v = dt_bytes(1000);
        v[8] = 0x34;
        assert_eq!(
            check_dt(&v[..]).unwrap(),
            DtCheck::UnknownFormat { version_byte: 0x34 }
        );
    }

    #[test]
    fn real_fixture_dump() {
        let Some(fx) = fixtures() else { return };
        let f = File::open(fx.join("dump/1Cv8.dt")).unwrap();
        assert_eq!(
            check_dt(f).unwrap(),
            DtCheck::Complete { inflated: 266_812 }
        );
        let all = std::fs::read(fx.join("dump/1Cv8.dt")).unwrap();
        assert!(matches!(
            check_dt(&all[..all.len() / 2]).unwrap(),
            DtCheck::Damaged(_)
        ));
    }
}
