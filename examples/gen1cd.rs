//! Generate test data for the packing benchmark: a realistic `1Cv8.1CD`
//! (8.3.8 header, 8 KiB pages) of either page mix, or a `.dt` dump:
//! `cargo run --release --example gen1cd -- OUT SIZE_MIB [SEED] [catalogs|registers|dt]`.
//! Streams page by page, so memory stays small whatever the size. A `.dt`
//! comes out about SIZE_MIB large (its payload is sized by the measured
//! ratio of the generated dump text).

use std::io::BufWriter;
use std::process::ExitCode;

use onec_backup_bot::onec::generate::{CdFormat, Mix, generate_1cd_mix, write_dt};

/// How much the generated dump text deflates (measured: 3.54x).
const DT_RATIO: f64 = 3.54;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), Some(mib)) = (
        args.first(),
        args.get(1).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: gen1cd OUT SIZE_MIB [SEED] [catalogs|registers|dt]");
        return ExitCode::from(2);
    };
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let kind = args.get(3).map_or("catalogs", String::as_str);
    if kind == "dt" {
        let payload = (mib as f64 * 1024.0 * 1024.0 * DT_RATIO) as u64;
        let r = std::fs::File::create(out).and_then(|f| {
            let mut w = BufWriter::with_capacity(1 << 20, f);
            write_dt(&mut w, payload, seed)?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()
        });
        return match r {
            Ok(()) => {
                println!("wrote {out}: a .dt of {payload} payload bytes");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gen1cd: cannot write {out}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let Some(mix) = Mix::parse(kind) else {
        eprintln!("gen1cd: unknown kind {kind:?} (expected catalogs, registers or dt)");
        return ExitCode::from(2);
    };
    let pages = (mib * 1024 * 1024 / 8192).max(1);
    let Ok(pages) = u32::try_from(pages) else {
        eprintln!("gen1cd: {mib} MiB is too large for a .1CD (at most 2^32 pages)");
        return ExitCode::from(2);
    };
    match generate_1cd_mix(out.as_ref(), CdFormat::V8_3_8, pages, seed, mix) {
        Ok(()) => {
            println!(
                "wrote {out}: pages x 8192 = {} bytes ({kind})",
                u64::from(pages) * 8192
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen1cd: cannot write {out}: {e}");
            ExitCode::FAILURE
        }
    }
}
