#!/usr/bin/env bash
# Type-check the Windows build on Linux with Debian's rustc-web
# and std sources, as ../shared/windows.md describes. Uses its own target dir
# so the host build cache is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/rustc ] || [ ! -d /usr/lib/rustlib/src/rust/library ]; then
  echo "windows-check: needs Debian packages rustc-web and rust-web-src (scripts/test.sh installs them)" >&2
  exit 2
fi
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$PWD/target/windows"
cargo check -Zbuild-std --target x86_64-pc-windows-gnu --all-targets
