//! Generate a realistic `1Cv8.1CD` (8.3.8 header, 8 KiB pages) for the
//! packing benchmark: `cargo run --release --example gen1cd -- OUT.1CD SIZE_MIB [SEED]`.
//! Streams page by page, so memory stays small whatever the size.

use std::process::ExitCode;

use onec_backup_bot::onec::generate::{CdFormat, generate_1cd};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), Some(mib)) = (
        args.first(),
        args.get(1).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: gen1cd OUT.1CD SIZE_MIB [SEED]");
        return ExitCode::from(2);
    };
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let pages = (mib * 1024 * 1024 / 8192).max(1);
    let Ok(pages) = u32::try_from(pages) else {
        eprintln!("gen1cd: {mib} MiB is too large for a .1CD (at most 2^32 pages)");
        return ExitCode::from(2);
    };
    match generate_1cd(out.as_ref(), CdFormat::V8_3_8, pages, seed) {
        Ok(()) => {
            println!(
                "wrote {out}: {pages} pages x 8192 = {} bytes",
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
