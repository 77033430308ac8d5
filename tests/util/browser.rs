//! The headless browser of the dashboard test: Debian's `chromium` and
//! npm `playwright-core` (installed by scripts/test.sh into
//! `${CARGO_TARGET_DIR:-target}/node`), driven by a node script from
//! `tests/browser/`. Missing pieces fail the test with what to install.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target folder (`CARGO_TARGET_TMPDIR` is `<target>/tmp`).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .to_path_buf()
}

/// Where scripts/test.sh installs playwright-core.
pub fn node_dir() -> PathBuf {
    target_dir().join("node")
}

/// Check chromium, node and playwright-core are there: a failure says
/// what is missing and to run scripts/test.sh.
pub fn require() {
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "/usr/bin/chromium not found: install the Debian package `chromium` (scripts/test.sh does)"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node not found: install Node.js and npm (scripts/test.sh does): {node:?}"
    );
    let pw = node_dir().join("node_modules/playwright-core/package.json");
    assert!(
        pw.exists(),
        "{} not found: run scripts/test.sh (it runs `npm install playwright-core` into {})",
        pw.display(),
        node_dir().display()
    );
}

/// Run `tests/browser/<script>` with `env`: the JSON of its last stdout
/// line, or a failure with its output.
pub fn run(script: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser")
        .join(script);
    let out = Command::new("node")
        .arg(&path)
        .env("NODE_DIR", node_dir())
        .envs(env.iter().copied())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}; exit {:?}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
