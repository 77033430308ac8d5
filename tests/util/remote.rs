//! What the tests of the offsite kinds share: a target with only its
//! location set, bytes that do not compress, SHA-256 in hex, reading an
//! object back through a [`Remote`] and a round trip under a speed cap.

use onec_backup_bot::cancel::Cancel;
use onec_backup_bot::config::offsite::{Location, Mode, OffsiteTarget, Which};
use onec_backup_bot::offsite::{Download, NoResume, Remote, Throttle, Upload};
use onec_backup_bot::retention::KeepPolicy;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::{Duration, Instant};

/// The target `offsite` at `location`, every other field unset or default.
pub fn target_at(location: Location) -> OffsiteTarget {
    OffsiteTarget {
        name: "offsite".into(),
        location,
        endpoint: None,
        region: None,
        path_style: false,
        access_key_id: None,
        secret_access_key: None,
        user: None,
        password: None,
        key_file: None,
        key_passphrase: None,
        known_host: None,
        bases: None,
        which: Which::default(),
        keep: KeepPolicy::default(),
        bandwidth: None,
        mode: Mode::default(),
        read_back: false,
    }
}

/// `len` bytes that do not compress, different for each `seed`.
pub fn noise(len: u64, seed: u64) -> Vec<u8> {
    onec_backup_bot::onec::generate::noise(len as usize, seed)
}

/// The SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The object `name` of `r`, read in full (the count it reports checked).
pub fn read_back(r: &dyn Remote, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let n = r
        .get(Download {
            name,
            to: &mut out,
            throttle: &Throttle::unlimited(),
            cancel: &Cancel::new(),
        })
        .unwrap();
    assert_eq!(n, out.len() as u64);
    out
}

/// `file` (holding `bytes`, whose SHA-256 is `sha256` or empty) put as
/// `name` and read back, each way under a fresh cap of `rate` bytes a
/// second; the bytes read back must be `bytes`. The times up and down.
pub fn capped_round_trip(
    r: &dyn Remote,
    file: &Path,
    name: &str,
    sha256: &str,
    bytes: &[u8],
    rate: u64,
) -> (Duration, Duration) {
    let cap = Throttle::new(Some(rate));
    let started = Instant::now();
    r.put(&Upload {
        file,
        name,
        size: bytes.len() as u64,
        sha256,
        resume: &NoResume,
        throttle: &cap,
        cancel: &Cancel::new(),
        progress: &|_| {},
    })
    .unwrap();
    let up = started.elapsed();
    let cap = Throttle::new(Some(rate));
    let started = Instant::now();
    let mut back = Vec::new();
    r.get(Download {
        name,
        to: &mut back,
        throttle: &cap,
        cancel: &Cancel::new(),
    })
    .unwrap();
    let down = started.elapsed();
    assert!(back == bytes, "the bytes read back under the cap differ");
    (up, down)
}
