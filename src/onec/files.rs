//! `.1CD` header and `.dt` stream checks, and generation of test infobases.
//!
//! A file infobase (`1Cv8.1CD`) starts with a 24-byte header whose page
//! count times page size must equal the file size; a Designer dump (`.dt`)
//! is a 9-byte header followed by one raw DEFLATE stream that must inflate
//! to its very end. Both can therefore be checked without 1C. The
//! generators write files of the same shape (with a realistic mix of page
//! contents) for tests, the demo and the packing benchmark.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use flate2::{Decompress, FlushDecompress, Status};

/// Signature at offset 0 of every `.1CD` file.
pub const CD_SIGNATURE: &[u8; 8] = b"1CDBMSV8";
/// Signature at offset 0 of every `.dt` dump.
pub const DT_SIGNATURE: &[u8; 8] = b"1CIBDmpF";
/// The only `.dt` version byte seen in real dumps.
pub const DT_VERSION: u8 = 0x33;
/// Length of the `.1CD` header [`check_1cd_header`] needs.
pub const CD_HEADER_LEN: usize = 24;

const V8_2_14: [u8; 4] = [8, 2, 14, 0];
const V8_3_8: [u8; 4] = [8, 3, 8, 0];

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

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
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

/// Which `.1CD` format to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdFormat {
    /// 8.2.14: 4 KiB pages, page size stored as 0.
    V8_2_14,
    /// 8.3.8: 8 KiB pages, page size stored.
    V8_3_8,
}

impl CdFormat {
    pub fn page_size(self) -> u32 {
        match self {
            CdFormat::V8_2_14 => 4096,
            CdFormat::V8_3_8 => 8192,
        }
    }

    /// The 24-byte header of a file of `pages` pages.
    pub fn header(self, pages: u32) -> [u8; CD_HEADER_LEN] {
        let mut h = [0u8; CD_HEADER_LEN];
        h[0..8].copy_from_slice(CD_SIGNATURE);
        let (version, stored) = match self {
            CdFormat::V8_2_14 => (V8_2_14, 0),
            CdFormat::V8_3_8 => (V8_3_8, 8192u32),
        };
        h[8..12].copy_from_slice(&version);
        h[12..16].copy_from_slice(&pages.to_le_bytes());
        h[16..20].copy_from_slice(&1u32.to_le_bytes());
        h[20..24].copy_from_slice(&stored.to_le_bytes());
        h
    }
}

/// Write a `.1CD` file of `pages` pages (at least 1): a valid header and a
/// realistic mix of page contents (see [`write_1cd`]).
pub fn generate_1cd(path: &Path, format: CdFormat, pages: u32, seed: u64) -> io::Result<()> {
    let f = File::create(path)?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    write_1cd(&mut w, format, pages, seed)?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Stream a `.1CD` of `pages` pages into `w`, one page at a time. Page 0
/// holds the header; the others are, by a seeded draw: free (zeroed) pages,
/// fixed-width records with UTF-16LE Russian strings, sorted index pages,
/// UTF-16LE prose, and about 5 % incompressible blobs. Every page is
/// different; gzip -6 packs the result about 5-6x, like real bases.
pub fn write_1cd(mut w: impl Write, format: CdFormat, pages: u32, seed: u64) -> io::Result<()> {
    let size = format.page_size() as usize;
    let mut page = vec![0u8; size];
    for n in 0..pages.max(1) {
        if n == 0 {
            page.fill(0);
            page[..CD_HEADER_LEN].copy_from_slice(&format.header(pages.max(1)));
        } else {
            fill_page(&mut page, u64::from(n), seed);
        }
        w.write_all(&page)?;
    }
    w.flush()
}

/// splitmix64: small, fast, seedable; good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

const WORDS: &[&str] = &[
    "Поступление",
    "товаров",
    "услуг",
    "Реализация",
    "контрагент",
    "Номенклатура",
    "склад",
    "Основной",
    "договор",
    "поставки",
    "оплата",
    "счет",
    "фактура",
    "ООО",
    "Ромашка",
    "Иванов",
    "Петров",
    "Сидорова",
    "Москва",
    "Санкт-Петербург",
    "проведен",
    "документ",
    "количество",
    "цена",
    "сумма",
    "НДС",
    "20%",
    "без",
    "организация",
    "подразделение",
    "бухгалтерия",
    "касса",
    "банк",
    "расчетный",
    "приходный",
    "ордер",
    "кассовый",
    "возврат",
    "поставщику",
    "списание",
    "материалов",
    "производство",
    "заказ",
    "покупателя",
    "отгрузка",
    "по",
    "для",
    "и",
    "в",
    "на",
    "с",
    "от",
    "за",
    "месяц",
    "квартал",
    "год",
    "отчет",
    "сотрудник",
    "зарплата",
    "начисление",
    "удержание",
    "отпуск",
    "больничный",
    "Кабель",
    "ВВГнг",
    "Болт",
    "М10",
    "Труба",
    "стальная",
    "шт",
    "кг",
    "м",
    "упаковка",
];

fn push_utf16(out: &mut Vec<u8>, s: &str) {
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

fn fill_page(page: &mut [u8], n: u64, seed: u64) {
    let mut rng = Rng(seed ^ n.wrapping_mul(0xA24B_AED4_963E_E407));
    rng.next();
    page.fill(0);
    let kind = rng.below(100);
    match kind {
        0..=9 => {} // a free page
        10..=14 => rng.fill(page),
        15..=49 => records_page(page, n, &mut rng),
        50..=69 => index_page(page, n, &mut rng),
        _ => prose_page(page, &mut rng),
    }
}

fn records_page(page: &mut [u8], n: u64, rng: &mut Rng) {
    const REC: usize = 160;
    let mut rec = Vec::with_capacity(REC);
    let count = page.len() / REC;
    let used = count - rng.below(count as u64 / 3) as usize;
    let mut id = n * 50;
    for i in 0..used {
        rec.clear();
        rec.push(1); // "record in use"
        id += 1 + rng.below(3);
        rec.extend_from_slice(&id.to_le_bytes());
        // a reference: a few well-known objects, as real foreign keys are
        let r = rng.below(40);
        rec.extend_from_slice(&(0x1C00_0000_u64 + r * 977).to_le_bytes());
        rec.extend_from_slice(&[0xA1, 0x7F, 0, 0x15, 0x5D, 0x01, 0, 0]);
        // a date (BCD-ish yyyy mm dd hh mm ss) and an amount
        let day = 1 + rng.below(28) as u8;
        rec.extend_from_slice(&[0x20, 0x24, 0x11, day, rng.below(24) as u8, 0, 0]);
        rec.extend_from_slice(&(rng.below(1_000_000) * 100).to_le_bytes());
        // a fixed-width UTF-16LE name, space padded
        let start = rec.len();
        let mut words = 1 + rng.below(3);
        while words > 0 {
            push_utf16(&mut rec, WORDS[rng.below(WORDS.len() as u64) as usize]);
            push_utf16(&mut rec, " ");
            words -= 1;
        }
        push_utf16(&mut rec, &format!("{:05}", rng.below(100_000)));
        rec.truncate(start + 100);
        while rec.len() < start + 100 {
            rec.extend_from_slice(&[0x20, 0]);
        }
        rec.resize(REC, 0);
        page[i * REC..(i + 1) * REC].copy_from_slice(&rec);
    }
}

fn index_page(page: &mut [u8], n: u64, rng: &mut Rng) {
    const KEY: usize = 24;
    page[0..2].copy_from_slice(&0x0001u16.to_le_bytes());
    let count = (page.len() - 16) / KEY;
    let used = count - rng.below(count as u64 / 2) as usize;
    page[2..4].copy_from_slice(&(used as u16).to_le_bytes());
    page[4..12].copy_from_slice(&n.to_le_bytes());
    let mut key = n * 1_000_000;
    for i in 0..used {
        key += 1 + rng.below(40);
        let o = 16 + i * KEY;
        page[o..o + 8].copy_from_slice(&key.to_be_bytes());
        page[o + 8..o + 12].copy_from_slice(&(rng.below(1 << 20) as u32).to_le_bytes());
        page[o + 12..o + 16].copy_from_slice(&[0, 0, 0x80, 0x3F]);
        page[o + 16..o + 24].copy_from_slice(&(n * 64 + (i as u64) / 8).to_le_bytes());
    }
}

fn prose_page(page: &mut [u8], rng: &mut Rng) {
    let mut text = Vec::with_capacity(page.len());
    while text.len() < page.len() {
        let len = 3 + rng.below(12);
        for _ in 0..len {
            push_utf16(&mut text, WORDS[rng.below(WORDS.len() as u64) as usize]);
            push_utf16(&mut text, " ");
        }
        push_utf16(&mut text, &format!("{}. ", rng.below(1000)));
    }
    page.copy_from_slice(&text[..page.len()]);
}

/// Write a well-formed `.dt` (signature, version byte, one raw DEFLATE
/// stream) whose content is `payload_bytes` bytes of dump-like text.
pub fn write_dt(mut w: impl Write, payload_bytes: u64, seed: u64) -> io::Result<()> {
    w.write_all(DT_SIGNATURE)?;
    w.write_all(&[DT_VERSION])?;
    let mut enc = flate2::write::DeflateEncoder::new(w, flate2::Compression::new(6));
    let mut rng = Rng(seed);
    let mut left = payload_bytes;
    let mut line = String::new();
    let mut first = true;
    while left > 0 {
        line.clear();
        if first {
            line.push_str("{\"CompatibilityMode\",\"8.3.8\"},\n");
            first = false;
        } else {
            line.push_str(&format!("{{{},\"", rng.below(1 << 30)));
            for _ in 0..1 + rng.below(8) {
                line.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
                line.push(' ');
            }
            line.push_str(&format!("\",{}}},\n", rng.next()));
        }
        let take = (line.len() as u64).min(left) as usize;
        enc.write_all(&line.as_bytes()[..take])?;
        left -= take as u64;
    }
    enc.finish()?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

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

    #[test]
    fn generated_pages_are_mixed_and_distinct() {
        let mut v = Vec::new();
        write_1cd(&mut v, CdFormat::V8_3_8, 200, 1).unwrap();
        let pages: Vec<&[u8]> = v.chunks(8192).collect();
        let zero = pages.iter().filter(|p| p.iter().all(|&b| b == 0)).count();
        assert!(zero > 5 && zero < 50, "free pages: {zero}");
        let mut nonzero: Vec<&[u8]> = pages
            .iter()
            .copied()
            .filter(|p| p.iter().any(|&b| b != 0))
            .collect();
        let n = nonzero.len();
        nonzero.sort();
        nonzero.dedup();
        assert_eq!(nonzero.len(), n, "non-free pages must all differ");
        let mut gz = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(&v).unwrap();
        let ratio = v.len() as f64 / gz.finish().unwrap().len() as f64;
        assert!((3.5..9.0).contains(&ratio), "deflate ratio {ratio}");
    }
}
