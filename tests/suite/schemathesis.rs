//! Schemathesis (PyPI, in the venv `scripts/test.sh` makes) against the
//! OpenAPI description of a running agent: generated requests to every
//! operation, and every answer checked against the documented status codes,
//! content types and response schemas. No 5xx is allowed except the
//! documented 503 of a degraded `/api/health`.

use crate::util::{World, heavy};
use std::path::PathBuf;
use std::process::Command;

const TOKEN: &str = "schemathesis-write-token";

/// The schemathesis executable: `ONEC_TEST_SCHEMATHESIS`, else the venv
/// that scripts/test.sh creates under the target folder.
fn schemathesis() -> PathBuf {
    if let Some(p) = std::env::var_os("ONEC_TEST_SCHEMATHESIS") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let exe = target.join("venv-schemathesis/bin/schemathesis");
    assert!(
        exe.exists(),
        "{} is missing: run `bash scripts/test.sh` once (it makes the venv with \
         `python3 -m venv` and `pip install schemathesis`), or set ONEC_TEST_SCHEMATHESIS",
        exe.display()
    );
    exe
}

/// One schemathesis run; panics with its report when it finds anything.
fn run(port: u16, extra: &[&str]) {
    let out = Command::new(schemathesis())
        .args(["run", &format!("http://127.0.0.1:{port}/api/openapi.json")])
        .args(["--checks", "all", "--max-examples", "25", "--seed", "7"])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .args(["--request-timeout", "10"])
        .args(extra)
        .env("SCHEMATHESIS_HOOKS", "")
        .env("NO_COLOR", "1")
        .output()
        .expect("run schemathesis");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis found problems:\n{text}");
    let generated: u64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" generated"))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(generated > 0, "schemathesis tested nothing:\n{text}");
}

#[test]
fn every_operation_answers_as_documented() {
    let _slot = heavy();
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "copy").set("API_TOKEN", TOKEN);
    let agent = w.agent(&[]);
    // Everything but health: any 5xx is a failure.
    run(agent.port, &["--exclude-path", "/api/health"]);
    // Health: its 503 (degraded) is documented; schemas, codes and content
    // types are still checked.
    run(
        agent.port,
        &[
            "--include-path",
            "/api/health",
            "--exclude-checks",
            "not_a_server_error",
        ],
    );
    drop(agent);
}
