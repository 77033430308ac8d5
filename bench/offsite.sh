#!/usr/bin/env bash
# Offsite upload benchmark (issue 13, "Performance"): one incompressible file
# uploaded with our code (examples/offsite_put.rs, the real `offsite::open`
# and `put`) and with `rclone copyto`, in the same run, to
#   - `rclone serve webdav` on loopback (basic auth), and
#   - a folder on another path (the folder kind).
# Rows: wall-clock seconds, MiB/s and peak RSS (`/usr/bin/time -v`, the
# uploader's process only; the WebDAV server is the same for both).
# Targets: ours no slower than rclone; our peak RSS < 64 MB.
#
#   bench/offsite.sh                    # 1 GiB
#   SIZE_MIB=256 bench/offsite.sh
#   FOLDER_DIR=/mnt/other bench/offsite.sh   # where the folder target lives
#
# Needs rclone and time (Debian packages `rclone`, `time`); builds the
# example in release mode with $CARGO_TARGET_DIR (default target/).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=${SIZE_MIB:-1024}
TGT=${CARGO_TARGET_DIR:-target}
BIN="$TGT/release/examples/offsite_put"
for tool in rclone /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "offsite.sh: $tool missing (apt-get install rclone time)" >&2; exit 2; }
done
cargo build --release --example offsite_put >&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/offsite-bench.XXXXXX")
FOLDER=${FOLDER_DIR:-$WORK/folder}
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
  [ -n "${FOLDER_DIR:-}" ] && rm -rf "$FOLDER_DIR/ours" "$FOLDER_DIR/rclone"
  true
}
trap cleanup EXIT

echo "== $SIZE_MIB MiB of random bytes"
head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$WORK/src.bin"
SIZE=$(stat -c %s "$WORK/src.bin")

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/served"
rclone serve webdav "$WORK/served" --addr "127.0.0.1:$PORT" --user u --pass p --config /dev/null \
  2>"$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")" = 401 ] && break
  sleep 0.1
done

export OFFSITE_USER=u OFFSITE_PASSWORD=p
export RCLONE_WEBDAV_URL="http://127.0.0.1:$PORT" RCLONE_WEBDAV_USER=u
RCLONE_WEBDAV_PASS=$(rclone obscure p)
export RCLONE_WEBDAV_PASS RCLONE_CONFIG=/dev/null

# measure LABEL DEST-FILE COMMAND...: run once under /usr/bin/time -v.
measure() {
  local label=$1 dest=$2
  shift 2
  sync
  /usr/bin/time -v -o "$WORK/time.txt" "$@" >"$WORK/out.txt" 2>&1 || {
    echo "$label failed:" >&2
    cat "$WORK/out.txt" >&2
    exit 1
  }
  local wall rss got
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$WORK/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$WORK/time.txt")
  got=$(stat -c %s "$dest" 2>/dev/null || echo 0)
  [ "$got" = "$SIZE" ] || { echo "$label: $dest has $got bytes, expected $SIZE" >&2; exit 1; }
  cmp -s "$WORK/src.bin" "$dest" || { echo "$label: $dest differs from the source" >&2; exit 1; }
  printf '%-22s %8.2f s %8.1f MiB/s %8s MB peak RSS\n' "$label" "$wall" \
    "$(awk -v s="$SIZE" -v t="$wall" 'BEGIN { print s / 1048576 / (t > 0 ? t : 0.01) }')" "$rss"
  rm -f "$dest"
}

echo "== uploads (uploader's wall clock and peak RSS)"
measure "rclone -> webdav" "$WORK/served/rclone/base/big.zip" \
  rclone copyto "$WORK/src.bin" ":webdav:rclone/base/big.zip"
measure "ours   -> webdav" "$WORK/served/ours/base/big.zip" \
  "$BIN" "webdav://127.0.0.1:$PORT/ours" "$WORK/src.bin" "base/big.zip"
measure "rclone -> folder" "$FOLDER/rclone/base/big.zip" \
  rclone copyto "$WORK/src.bin" "$FOLDER/rclone/base/big.zip"
measure "ours   -> folder" "$FOLDER/ours/base/big.zip" \
  "$BIN" "file://$FOLDER/ours" "$WORK/src.bin" "base/big.zip"
echo "== targets: ours no slower than rclone; our peak RSS < 64 MB"
