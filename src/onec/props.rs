//! Properties of the parsers that read bytes 1C (or a damaged disk) wrote:
//! the `/Out` log decoder, the `.1CD` header check and the `.dt` check
//! never panic on arbitrary bytes, and a `.dt` check reads through any
//! input with its fixed buffers (it only reads; memory is bounded by the
//! buffers, checked end to end in `tests/suite/faults.rs`). 256 cases each
//! (README "Reliability").

use super::files::{
    CD_HEADER_LEN, CD_SIGNATURE, DT_SIGNATURE, DT_VERSION, DtCheck, check_1cd_header, check_dt,
};
use super::outlog::{MAX_KEY_LINES, decode, explain, key_lines};
use flate2::Compression;
use flate2::write::DeflateEncoder;
use proptest::prelude::*;
use std::io::Write;

/// Bytes that are sometimes UTF-8 (with or without BOM), sometimes
/// Windows-1251, sometimes anything.
fn log_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        "(?s).{0,200}".prop_map(String::into_bytes),
        "(?s).{0,200}".prop_map(|s| [b"\xEF\xBB\xBF".as_slice(), s.as_bytes()].concat()),
    ]
}

/// A `.1CD` header: the signature (mostly), a version (mostly known), a
/// page count and page size, any of them possibly garbage.
fn cd_header() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        prop::sample::select(vec![[8u8, 2, 14, 0], [8, 3, 8, 0], [0, 0, 0, 0]]),
        any::<u32>(),
        any::<u32>(),
        prop::sample::select(vec![0u32, 4096, 8192, 65536, 12345]),
        0..=CD_HEADER_LEN + 8,
    )
        .prop_map(|(sig, version, pages, mid, size, len)| {
            let mut h = Vec::new();
            h.extend_from_slice(if sig { CD_SIGNATURE } else { b"1CDBMSV7" });
            h.extend_from_slice(&version);
            h.extend_from_slice(&pages.to_le_bytes());
            h.extend_from_slice(&mid.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.resize(len, 0xAB);
            h
        })
}

/// A `.dt`: a real dump of `content`, then damaged by `cut` (truncation),
/// `flip` (one byte changed) or `extra` trailing bytes, or pure noise
/// after the header.
fn dt_bytes() -> impl Strategy<Value = Vec<u8>> {
    let real = (
        prop::collection::vec(any::<u8>(), 0..4096),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        0..4u8,
        prop::collection::vec(any::<u8>(), 1..16),
    )
        .prop_map(|(content, cut, flip, damage, extra)| {
            let mut enc = DeflateEncoder::new(Vec::new(), Compression::fast());
            enc.write_all(&content).unwrap();
            let mut dt = [DT_SIGNATURE.as_slice(), &[DT_VERSION]].concat();
            dt.extend(enc.finish().unwrap());
            match damage {
                0 => dt.truncate(cut.index(dt.len() + 1)),
                1 => {
                    let i = flip.index(dt.len());
                    dt[i] ^= 0x5A;
                }
                2 => dt.extend(extra),
                _ => {}
            }
            dt
        });
    let noise = prop::collection::vec(any::<u8>(), 0..2048)
        .prop_map(|tail| [DT_SIGNATURE.as_slice(), &[DT_VERSION], &tail].concat());
    prop_oneof![real, noise, prop::collection::vec(any::<u8>(), 0..64)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_out_log_decoder_takes_any_bytes(bytes in log_bytes()) {
        let text = decode(&bytes);
        // Valid UTF-8 (without BOM) is kept as it is.
        if !bytes.starts_with(b"\xEF\xBB\xBF")
            && let Ok(s) = std::str::from_utf8(&bytes)
        {
            prop_assert_eq!(&text, s);
        }
        let _ = explain(&text);
        let lines = key_lines(&text);
        prop_assert!(lines.len() <= MAX_KEY_LINES);
        prop_assert!(lines.iter().all(|l| !l.is_empty() && l.trim() == l));
    }

    #[test]
    fn the_1cd_header_check_takes_any_bytes(
        header in cd_header(),
        noise in prop::collection::vec(any::<u8>(), 0..40),
        len in any::<u64>(),
    ) {
        // Built headers and pure noise, against any file length.
        for h in [&header, &noise] {
            if let Ok(ok) = check_1cd_header(h, len) {
                prop_assert_eq!(u64::from(ok.pages) * u64::from(ok.page_size), len);
                prop_assert!(ok.page_size.is_power_of_two());
            }
        }
    }

    #[test]
    fn the_dt_check_takes_any_bytes(dt in dt_bytes()) {
        let got = check_dt(dt.as_slice()).unwrap();
        if let DtCheck::Damaged(why) = &got {
            prop_assert!(!why.is_empty());
        }
        // Dropping the last byte of a complete dump is always caught.
        if matches!(got, DtCheck::Complete { .. }) {
            let cut = check_dt(&dt[..dt.len() - 1]).unwrap();
            prop_assert!(matches!(cut, DtCheck::Damaged(_)), "{:?}", cut);
        }
    }
}
