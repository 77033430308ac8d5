#!/usr/bin/env bash
# Type-check the Windows build by building it: the library and every binary
# for x86_64-pc-windows-gnu with Debian's rustc-web, its std
# sources and MinGW, as ../shared/windows.md describes. The same build is
# what scripts/wine-smoke.sh runs, so the Windows code is compiled once, not
# checked and then built again. Its own target dir keeps the host build
# cache. The tests themselves are not compiled for Windows: they run on
# Linux only (see docs/NOTES.md, "CI time").
#
# Dependencies at opt-level 0 and no debug info here (the host build uses
# opt-level 2): this build is only smoke-run on a few MiB, and it compiles
# about twice as fast cold.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/rustc ] || [ ! -d /usr/lib/rustlib/src/rust/library ]; then
  echo "windows-check: needs Debian packages rustc-web and rust-web-src (scripts/test.sh installs them)" >&2
  exit 2
fi
if ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  echo "windows-check: needs the Debian package mingw-w64 (scripts/test.sh installs it)" >&2
  exit 2
fi
# Only the library and the binaries: building an example would pull in the
# dev-dependencies and, through feature unification, rebuild much of the
# rest (the Wine smoke run's test infobase is made by the Linux build).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$PWD/target/windows" \
  CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
  cargo build -Zbuild-std --target x86_64-pc-windows-gnu --locked --lib --bins \
  --config 'profile.dev.package."*".opt-level=0' \
  --config 'profile.dev.debug=false' --config 'profile.dev.package."*".debug=false' \
  2>&1 | tee "$log"
# Warnings in our own code fail the check, as clippy -D warnings does on Linux.
if grep -q '^warning: `onec-backup-bot`' "$log"; then
  echo "windows-check: the Windows build of onec-backup-bot has warnings (above)" >&2
  exit 1
fi
