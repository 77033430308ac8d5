#!/usr/bin/env bash
# Refresh docs/screenshots/ from the dashboard's browser test: runs
# tests/suite/web_browser.rs (which saves a PNG of each page under
# ${CARGO_TARGET_DIR:-target}/screenshots) and copies them. Needs what
# scripts/test.sh installs (chromium, node, playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."
SHOTS="${CARGO_TARGET_DIR:-target}/screenshots"
rm -rf "$SHOTS"
cargo test --test e2e suite::web_browser::
mkdir -p docs/screenshots
for name in overview login confirm progress done history run charts; do
  cp "$SHOTS/$name.png" "docs/screenshots/$name.png"
done
echo "docs/screenshots/ refreshed from $SHOTS"
