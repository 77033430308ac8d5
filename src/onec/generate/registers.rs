//! The register-like page mix of a generated `.1CD` ([`super::Mix::Registers`]):
//! wide rows of references and BCD amounts, rewritten copies of nearby
//! pages, sorted reference keys, addresses, and stored blobs, some random
//! and some already DEFLATE-compressed. It differs from the catalog mix in
//! what matters to a compressor: longer repeats (whole rows and pages a
//! few pages back), fewer free pages and more data that does not compress.

use std::io::Write;

use super::{Rng, WORDS, push_utf16};

/// A reference (an object's 16-byte id) from a pool of 600, so rows share them.
fn reference(seed: u64, rng: &mut Rng) -> [u8; 16] {
    let mut r = Rng(seed ^ (0x5851_F42D_4C95_7F2D ^ rng.below(600)));
    let mut id = [0u8; 16];
    r.fill(&mut id);
    id
}

/// A number as 1C stores it in a record: packed BCD, sign nibble first.
fn bcd(mut v: u64, out: &mut Vec<u8>, digits: usize) {
    let mut nibbles = vec![0u8; digits + 1];
    nibbles[0] = 1; // positive
    for d in nibbles[1..].iter_mut().rev() {
        *d = (v % 10) as u8;
        v /= 10;
    }
    if nibbles.len() % 2 == 1 {
        nibbles.push(0);
    }
    out.extend(nibbles.chunks(2).map(|p| p[0] << 4 | p[1]));
}

const STREETS: &[&str] = &[
    "ул. Ленина",
    "пр-т Мира",
    "ул. Садовая",
    "Промышленная ул.",
    "ш. Энтузиастов",
    "ул. Гагарина",
    "наб. Обводного канала",
];

const CITIES: &[&str] = &[
    "г. Москва",
    "г. Казань",
    "г. Екатеринбург",
    "г. Новосибирск",
    "г. Самара",
    "Московская обл., г. Химки",
];

/// Rows of a register: 120 bytes each, page nearly full.
fn rows_page(page: &mut [u8], n: u64, seed: u64, rng: &mut Rng) {
    const ROW: usize = 120;
    let count = page.len() / ROW;
    let used = count - rng.below(4) as usize;
    let mut row = Vec::with_capacity(ROW);
    let mut period = 0x2024_0000u64 + n / 16;
    for i in 0..used {
        row.clear();
        row.push(1);
        row.extend_from_slice(&reference(seed, rng));
        row.extend_from_slice(&reference(seed ^ 1, rng));
        period += rng.below(2);
        row.extend_from_slice(&period.to_be_bytes());
        row.extend_from_slice(&(n * 100 + i as u64).to_le_bytes());
        row.push(rng.below(2) as u8); // receipt or expense
        bcd(rng.below(10_000), &mut row, 15);
        bcd(rng.below(100_000_000), &mut row, 15);
        bcd(rng.below(1_000_000), &mut row, 15);
        let start = row.len();
        if rng.below(3) == 0 {
            push_utf16(&mut row, WORDS[rng.below(WORDS.len() as u64) as usize]);
        }
        row.truncate(start + 24);
        row.resize(ROW, 0);
        page[i * ROW..(i + 1) * ROW].copy_from_slice(&row);
    }
}

/// An index page: sorted 16-byte reference keys and row numbers.
fn keys_page(page: &mut [u8], n: u64, rng: &mut Rng) {
    const KEY: usize = 24;
    page[0..2].copy_from_slice(&0x0002u16.to_le_bytes());
    let count = (page.len() - 16) / KEY;
    let used = count - rng.below(count as u64 / 4) as usize;
    page[2..4].copy_from_slice(&(used as u16).to_le_bytes());
    let mut hi = n << 40;
    for i in 0..used {
        hi += 1 + rng.below(1 << 30);
        let o = 16 + i * KEY;
        page[o..o + 8].copy_from_slice(&hi.to_be_bytes());
        page[o + 8..o + 16].copy_from_slice(&rng.next().to_le_bytes());
        page[o + 16..o + 24].copy_from_slice(&(n * 300 + rng.below(300)).to_le_bytes());
    }
}

/// Addresses and short comments, UTF-16LE, in fixed 200-byte slots.
fn addresses_page(page: &mut [u8], rng: &mut Rng) {
    const SLOT: usize = 200;
    let mut text = Vec::with_capacity(SLOT);
    for slot in page.chunks_mut(SLOT) {
        text.clear();
        let city = CITIES[rng.below(CITIES.len() as u64) as usize];
        let street = STREETS[rng.below(STREETS.len() as u64) as usize];
        let s = format!(
            "{:06}, {city}, {street}, д. {}, кв. {}",
            100_000 + rng.below(900_000),
            1 + rng.below(120),
            1 + rng.below(400)
        );
        push_utf16(&mut text, &s);
        text.resize(slot.len(), 0);
        slot.copy_from_slice(&text);
    }
}

/// A blob that is itself a DEFLATE stream (a stored picture or a
/// configuration stream): compressed text, padded with its own bytes.
fn deflated_page(page: &mut [u8], rng: &mut Rng) {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    let mut filled = 0;
    let mut out = Vec::new();
    while filled < page.len() {
        let mut line = Vec::new();
        for _ in 0..64 {
            line.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
            line.extend_from_slice(format!(" {} ", rng.next()).as_bytes());
        }
        let _ = enc.write_all(&line);
        let _ = enc.flush();
        out.extend_from_slice(enc.get_ref());
        enc.get_mut().clear();
        filled = out.len();
    }
    page.copy_from_slice(&out[..page.len()]);
}

/// The page content by kind, without the rewritten copies.
fn original_page(page: &mut [u8], n: u64, seed: u64) -> u64 {
    let mut rng = Rng(seed ^ n.wrapping_mul(0xD605_BBB5_8C8A_BBCB));
    rng.next();
    page.fill(0);
    let kind = rng.below(100);
    match kind {
        0..=3 => {} // a free page
        4..=41 => rows_page(page, n, seed, &mut rng),
        42..=57 => {} // a rewritten copy: see `fill_page`
        58..=69 => keys_page(page, n, &mut rng),
        70..=81 => addresses_page(page, &mut rng),
        82..=91 => rng.fill(page),
        _ => deflated_page(page, &mut rng),
    }
    kind
}

/// Page `n` of the register mix: a rewritten copy of one of the previous
/// eight original pages with a few rows changed, or an original page.
pub(super) fn fill_page(page: &mut [u8], n: u64, seed: u64) {
    let kind = original_page(page, n, seed);
    if !(42..=57).contains(&kind) {
        return;
    }
    let mut rng = Rng(seed ^ n.wrapping_mul(0x9FB2_1C65_1E98_DF25));
    let back = 1 + rng.below(8.min(n.saturating_sub(1)).max(1));
    let from = n.saturating_sub(back).max(1);
    let from_kind = original_page(page, from, seed);
    if (42..=57).contains(&from_kind) || from == n {
        rows_page(page, n, seed, &mut rng);
        return;
    }
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(page.len() as u64 / 120) as usize * 120;
        let end = (at + 120).min(page.len());
        rng.fill(&mut page[at + 57..end]);
    }
}
