//! Upload one file to an offsite target with the real kind code and report
//! the time: `cargo run --release --example offsite_put -- URL FILE NAME`.
//! URL as `OFFSITE_URL` takes it (`webdav://127.0.0.1:8080/dir`,
//! `file:///srv/copies`, …); the login from `OFFSITE_USER` /
//! `OFFSITE_PASSWORD`, a speed cap from `OFFSITE_BANDWIDTH`. Used by
//! `bench/offsite.sh`, which measures peak memory with `/usr/bin/time -v`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use onec_backup_bot::cancel::Cancel;
use onec_backup_bot::config::Secret;
use onec_backup_bot::config::offsite::{
    Mode, OffsiteTarget, Which, parse_bandwidth, parse_location,
};
use onec_backup_bot::offsite::{self, NoResume, Throttle, Upload};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, file, name] = args.as_slice() else {
        eprintln!("usage: offsite_put URL FILE NAME (login in OFFSITE_USER / OFFSITE_PASSWORD)");
        return ExitCode::from(2);
    };
    match run(url, Path::new(file), name) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("offsite_put: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(url: &str, file: &Path, name: &str) -> anyhow::Result<()> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let bandwidth = match env("OFFSITE_BANDWIDTH") {
        Some(b) => Some(parse_bandwidth(&b).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let target = OffsiteTarget {
        name: "offsite".into(),
        location: parse_location(url).map_err(anyhow::Error::msg)?,
        endpoint: env("OFFSITE_ENDPOINT"),
        region: env("OFFSITE_REGION"),
        path_style: false,
        access_key_id: env("OFFSITE_ACCESS_KEY_ID"),
        secret_access_key: env("OFFSITE_SECRET_ACCESS_KEY").map(Secret::new),
        user: env("OFFSITE_USER"),
        password: env("OFFSITE_PASSWORD").map(Secret::new),
        key_file: None,
        key_passphrase: None,
        known_host: None,
        bases: None,
        which: Which::Every,
        keep: Default::default(),
        bandwidth,
        mode: Mode::History,
        read_back: false,
    };
    let size = std::fs::metadata(file)?.len();
    let remote = offsite::open(&target)?;
    let throttle = Throttle::new(bandwidth);
    let started = Instant::now();
    let stored = remote.put(&Upload {
        file,
        name,
        size,
        sha256: "",
        resume: &NoResume,
        throttle: &throttle,
        cancel: &Cancel::new(),
        progress: &|_| {},
    })?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}: {} bytes to {name} in {secs:.2} s ({:.1} MiB/s), proof {}",
        remote.describe(),
        stored.bytes,
        stored.bytes as f64 / 1048576.0 / secs.max(1e-9),
        stored.proof.as_str()
    );
    Ok(())
}
