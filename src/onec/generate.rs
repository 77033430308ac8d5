//! Writers of test data shaped like 1C's own files: a `.1CD` infobase with
//! a valid header and a realistic mix of page contents, and a well-formed
//! `.dt` dump. Used by the tests, the `--demo`, the examples and the packing
//! benchmark; the checks these files pass live in [`super::files`].

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

mod registers;

use super::files::{CD_HEADER_LEN, CD_SIGNATURE, DT_SIGNATURE, DT_VERSION, V8_2_14, V8_3_8};

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

/// Which mix of page contents a generated `.1CD` holds. Two differently
/// mixed bases keep the packer's tuning honest: a level chosen on one
/// generator alone fits that generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mix {
    /// Catalog-like: prose and short records, many free pages (see [`write_1cd`]).
    #[default]
    Catalogs,
    /// Register-like: wide rows of 16-byte references and BCD numbers,
    /// rewritten copies of nearby pages, addresses, and more stored blobs
    /// (see [`write_1cd_mix`]).
    Registers,
}

impl Mix {
    /// The mix named `catalogs` or `registers`.
    pub fn parse(s: &str) -> Option<Mix> {
        match s {
            "catalogs" => Some(Mix::Catalogs),
            "registers" => Some(Mix::Registers),
            _ => None,
        }
    }
}

/// Write a `.1CD` file of `pages` pages (at least 1): a valid header and a
/// realistic mix of page contents (see [`write_1cd`]).
pub fn generate_1cd(path: &Path, format: CdFormat, pages: u32, seed: u64) -> io::Result<()> {
    generate_1cd_mix(path, format, pages, seed, Mix::Catalogs)
}

/// [`generate_1cd`] with the given [`Mix`] of page contents.
pub fn generate_1cd_mix(
    path: &Path,
    format: CdFormat,
    pages: u32,
    seed: u64,
    mix: Mix,
) -> io::Result<()> {
    let f = File::create(path)?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    write_1cd_mix(&mut w, format, pages, seed, mix)?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Stream a `.1CD` of `pages` pages into `w`, one page at a time. Page 0
/// holds the header; the others are, by a seeded draw: free (zeroed) pages,
/// fixed-width records with UTF-16LE Russian strings, sorted index pages,
/// UTF-16LE prose, and about 5 % incompressible blobs. Every page is
/// different; gzip -6 packs the result about 5-6x, like real bases.
pub fn write_1cd(w: impl Write, format: CdFormat, pages: u32, seed: u64) -> io::Result<()> {
    write_1cd_mix(w, format, pages, seed, Mix::Catalogs)
}

/// Stream a `.1CD` of the given [`Mix`]. `Registers` draws: 4 % free
/// pages, 38 % register rows (120 bytes: two 16-byte references from a
/// pool of 600, a period, three BCD amounts, a short UTF-16LE comment),
/// 16 % rewritten copies of one of the previous eight pages with a few
/// rows changed (as a register's pages are after a repost), 12 % index
/// pages of sorted 16-byte keys, 12 % UTF-16LE addresses and comments,
/// 10 % random blobs and 8 % blobs that are themselves DEFLATE streams
/// (stored pictures, configuration streams). gzip -6 packs it about 3x.
pub fn write_1cd_mix(
    mut w: impl Write,
    format: CdFormat,
    pages: u32,
    seed: u64,
    mix: Mix,
) -> io::Result<()> {
    let fill_page = match mix {
        Mix::Catalogs => fill_page,
        Mix::Registers => registers::fill_page,
    };
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

/// `len` bytes that do not compress, different for each `seed` (so a piece
/// sent twice or misplaced shows): test and benchmark data.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0; len];
    Rng(seed).fill(&mut v);
    v
}

/// splitmix64: small, fast, seedable; good enough for test data.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(super) fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

pub(super) const WORDS: &[&str] = &[
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

pub(super) fn push_utf16(out: &mut Vec<u8>, s: &str) {
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

    #[test]
    fn register_mix_differs_from_the_catalog_mix_and_its_pages_differ() {
        let mut v = Vec::new();
        write_1cd_mix(&mut v, CdFormat::V8_3_8, 400, 1, Mix::Registers).unwrap();
        assert_eq!(v.len(), 400 * 8192);
        assert_eq!(&v[..8], CD_SIGNATURE);
        let mut pages: Vec<&[u8]> = v.chunks(8192).skip(1).collect();
        let zero = pages.iter().filter(|p| p.iter().all(|&b| b == 0)).count();
        assert!(zero < 40, "free pages: {zero}");
        pages.retain(|p| p.iter().any(|&b| b != 0));
        let n = pages.len();
        pages.sort();
        pages.dedup();
        assert_eq!(pages.len(), n, "non-free pages must all differ");
        let ratio = |data: &[u8]| {
            let mut gz =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
            gz.write_all(data).unwrap();
            data.len() as f64 / gz.finish().unwrap().len() as f64
        };
        let mut catalogs = Vec::new();
        write_1cd(&mut catalogs, CdFormat::V8_3_8, 400, 1).unwrap();
        let (r, c) = (ratio(&v), ratio(&catalogs));
        assert!((2.0..4.5).contains(&r), "register mix deflate ratio {r}");
        assert!(c - r > 1.0, "the mixes compress alike: {c} vs {r}");
    }
}
