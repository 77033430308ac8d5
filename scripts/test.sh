#!/usr/bin/env bash
# The one command that checks everything (README: "Run all tests").
# Installs what the tests need when it is missing (Debian/Ubuntu, as root or
# with sudo), then: rustfmt check, clippy with warnings as errors, every test,
# the Windows build described in ../shared/windows.md (scripts/windows-check.sh,
# which is the type-check) and the smoke run of that .exe under Wine
# (scripts/wine-smoke.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests and checks use:
#   zip, unzip, p7zip-full  - archives are opened by Info-ZIP and 7-Zip in tests
#   zstd                    - .tar.zst archives are checked with the zstd tool
#   age                     - encrypted .tar.zst.age archives are decrypted by the age tool
#   rustc-web, rust-web-src, mingw-w64 - the Windows type-check and build
#   prometheus              - promtool, scrape and remote-write receiver tests
#   prometheus-pushgateway  - the Pushgateway push test
#   influxdb                - InfluxDB 1.x push test (influxd)
#   wine64, curl, jq        - the Windows smoke run under Wine
#   python3-venv            - the venv for Schemathesis (PyPI), the API fuzz test
#   rclone                  - `rclone serve webdav`, the WebDAV server of the offsite tests
#   openssh-server          - sshd (and ssh-keygen) for the SFTP offsite tests
#   chromium                - the headless browser of the dashboard test (driven by playwright-core)
#   nodejs, npm             - run that test's script and install playwright-core (below)
PKGS=(zip unzip p7zip-full zstd age rustc-web rust-web-src mingw-w64 prometheus prometheus-pushgateway influxdb wine64 curl jq python3-venv rclone openssh-server chromium)
# Node.js from Debian only when no node/npm is on the PATH already.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then PKGS+=(nodejs npm); fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing missing packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Schemathesis (PyPI) for the API test, in a venv under the target folder.
VENV="${CARGO_TARGET_DIR:-target}/venv-schemathesis"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "== installing schemathesis into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==4.32.5"
fi

# moto (PyPI) for the S3 offsite tests: `moto_server` is a real S3 API on
# loopback (tests/util/moto.rs), in its own venv under the target folder.
VENV="${CARGO_TARGET_DIR:-target}/venv-moto"
if [ ! -x "$VENV/bin/moto_server" ]; then
  echo "== installing moto into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "moto[server]==5.2.5"
fi

# playwright-core (npm) drives Debian's chromium in the dashboard test
# (tests/suite/web_browser.rs); no browser is downloaded.
NODE_DIR="${CARGO_TARGET_DIR:-target}/node"
if [ ! -f "$NODE_DIR/node_modules/playwright-core/package.json" ]; then
  echo "== installing playwright-core into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || echo '{"private": true}' > "$NODE_DIR/package.json"
  (cd "$NODE_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --silent "playwright-core@1.65.2")
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

echo "== tests"
# The library's and binaries' unit tests and the end-to-end binary; clippy
# above has already type-checked the examples, which bench/ builds itself.
cargo test --locked --lib --bins --tests

echo "== Windows smoke run under Wine (builds, and so type-checks, the Windows .exe first)"
bash scripts/wine-smoke.sh

echo "== all checks passed"
