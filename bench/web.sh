#!/usr/bin/env bash
# The dashboard's overview with 5 bases, 1,000 runs and a week of samples:
# time to read the agent into the page and render it, and the page's size
# (examples/web_bench.rs). Goals: < 20 ms, < 100 KB with the CSS and script.
#   bench/web.sh            # dev build (our crate unoptimised: an upper bound)
#   PROFILE=release bench/web.sh
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${PROFILE:-dev}" = release ]; then
  cargo run --quiet --release --example web_bench
else
  cargo run --quiet --example web_bench
fi
