//! Pack one file with `write_archive` and report time, size and peak memory:
//! `cargo run --release --example pack_bench -- FILE [zip|zstd|both] [THREADS] [LEVEL]`.
//! Writes `FILE.bench.zip` / `FILE.bench.tar.zst` next to FILE. Peak RSS is
//! the process's VmHWM, so run one mode per process for a clean number
//! (`bench/pack.sh` does).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use onec_backup_bot::backup::archive::{Source, extension, write_archive};
use onec_backup_bot::cancel::Cancel;
use onec_backup_bot::config::Compress;

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(file) = args.first().map(PathBuf::from) else {
        eprintln!("usage: pack_bench FILE [zip|zstd|both] [THREADS] [LEVEL]");
        return ExitCode::from(2);
    };
    let modes: &[Compress] = match args.get(1).map(String::as_str).unwrap_or("both") {
        "zip" => &[Compress::Zip],
        "zstd" => &[Compress::Zstd],
        "both" => &[Compress::Zip, Compress::Zstd],
        other => {
            eprintln!("pack_bench: unknown mode {other:?} (expected zip, zstd or both)");
            return ExitCode::from(2);
        }
    };
    let threads = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    let level = args.get(3).and_then(|s| s.parse().ok());
    let name = file
        .file_name()
        .map_or("data".into(), |n| n.to_string_lossy().into_owned());
    let sources = [Source {
        name,
        path: file.clone(),
    }];
    for &mode in modes {
        let out = bench_path(&file, extension(mode, false));
        let start = Instant::now();
        let r = write_archive(
            &sources,
            &out,
            mode,
            level,
            threads,
            &mut |_| {},
            &Cancel::new(),
        );
        let secs = start.elapsed().as_secs_f64();
        match r {
            Ok(bytes) => println!(
                "{:<5} threads={threads} seconds={secs:.2} size={bytes} peak_rss_kib={} out={}",
                mode.as_str(),
                peak_rss_kib().map_or("?".into(), |k| k.to_string()),
                out.display()
            ),
            Err(e) => {
                eprintln!("pack_bench: {} failed: {e}", mode.as_str());
                let _ = std::fs::remove_file(&out);
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn bench_path(file: &Path, ext: &str) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".bench");
    s.push(ext);
    PathBuf::from(s)
}
