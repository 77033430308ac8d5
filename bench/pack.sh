#!/usr/bin/env bash
# Packing benchmark: our zip and zstd writers against the usual tools on a
# realistic 1 GiB 1Cv8.1CD (generated once, cached in target/bench/).
#
#   bench/pack.sh            # 1 GiB, 2 threads
#   SIZE_MIB=256 bench/pack.sh
#
# Prints one row per tool (seconds, size, ratio, peak RSS from
# /usr/bin/time -v) and the target checks:
#   our zip >= 2.5x faster than `zip -6` (and faster than pigz), <= 3 % larger;
#   our zstd within 1.2x of the `zstd` tool's time; our peak RSS < 100 MB.
# The machine may be shared: the load average is printed before and after.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZE_MIB=${SIZE_MIB:-1024}
THREADS=${THREADS:-2}
# On a shared machine, run every tool REPEAT times (interleaved) and keep
# each tool's fastest run.
REPEAT=${REPEAT:-1}
# How our packer is run: "cli" (default) times the real thing, a whole
# `onec-backup-bot backup` with BACKUP_METHOD=copy (pack + verify + record);
# "example" times the packer alone (examples/pack_bench.rs).
PACKER=${PACKER:-cli}

BENCH=target/bench
mkdir -p "$BENCH"
SRC_DIR="$BENCH/base"
SRC="$SRC_DIR/1Cv8.1CD"
OUT="$BENCH/out"

need() {
    local missing=()
    for t in zip pigz zstd; do command -v "$t" >/dev/null || missing+=("$t"); done
    [ -x /usr/bin/time ] || missing+=(time)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}"
        apt-get install -y "${missing[@]}"
    fi
    command -v python3 >/dev/null || { echo "python3 is needed for the zipfile row" >&2; exit 1; }
}
need

echo "building (release)..."
cargo build --release --quiet --example gen1cd --example pack_bench
[ "$PACKER" = cli ] && cargo build --release --quiet --bin onec-backup-bot

if [ ! -f "$SRC" ] || [ "$(stat -c %s "$SRC")" -ne $((SIZE_MIB * 1024 * 1024)) ]; then
    mkdir -p "$SRC_DIR"
    echo "generating $SRC ($SIZE_MIB MiB)..."
    target/release/examples/gen1cd "$SRC" "$SIZE_MIB"
fi
SRC_BYTES=$(stat -c %s "$SRC")
cat "$SRC" >/dev/null # every tool reads from the page cache

# ours MODE OUTFILE: pack $SRC with our writer into OUTFILE.
ours() {
    local mode=$1 out=$2
    case "$PACKER" in
        example)
            target/release/examples/pack_bench "$SRC" "$mode" "$THREADS" >/dev/null
            mv "$SRC.bench$([ "$mode" = zip ] && echo .zip || echo .tar.zst)" "$out"
            ;;
        cli)
            local dir
            dir=$(mktemp -d "$BENCH/cli.XXXX")
            ONEC_BASE_PATH="$SRC_DIR" BACKUP_DIR="$dir" BACKUP_METHOD=copy \
                BACKUP_COMPRESS="$mode" \
                target/release/onec-backup-bot --env-file /dev/null backup --force >/dev/null
            mv "$(find "$dir" -type f \( -name '*.zip' -o -name '*.tar.zst' \) | head -1)" "$out"
            rm -rf "$dir"
            ;;
        *) echo "PACKER must be example or cli" >&2; exit 2 ;;
    esac
}

declare -A SECS SIZE RSS CPU
ROWS=()

# run LABEL OUTFILE CMD...: time CMD, record seconds, OUTFILE's size, peak
# RSS (keeping the fastest of the repeats).
run() {
    local label=$1 out=$2; shift 2
    rm -f "$out"
    local log secs
    log=$(mktemp)
    /usr/bin/time -v -o "$log" "$@"
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$log")
    if [ -z "${SECS[$label]:-}" ] || awk -v a="$secs" -v b="${SECS[$label]}" 'BEGIN { exit !(a < b) }'; then
        SECS[$label]=$secs
        CPU[$label]=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$log")
        RSS[$label]=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$log")
        SIZE[$label]=$(stat -c %s "$out")
    fi
    rm -f "$log" "$out"
    [[ " ${ROWS[*]} " == *" $label "* ]] || ROWS+=("$label")
    printf '  %-22s %8ss\n' "$label" "$secs"
}

export -f ours
export SRC SRC_DIR PACKER THREADS BENCH
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  (cores: $(nproc))"
echo "packing $SRC ($SRC_BYTES bytes), $THREADS threads:"
PY_ZIP='
import sys, zipfile
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
    z.write(sys.argv[1], "1Cv8.1CD")'
for ((rep = 1; rep <= REPEAT; rep++)); do
    [ "$REPEAT" -gt 1 ] && echo " round $rep of $REPEAT (load $(cut -d' ' -f1 /proc/loadavg))"
    run "ours zip"            "$OUT.ours.zip"     bash -c 'ours zip "$0"' "$OUT.ours.zip"
    run "ours zstd"           "$OUT.ours.tar.zst" bash -c 'ours zstd "$0"' "$OUT.ours.tar.zst"
    run "zip -6"              "$OUT.zip6.zip"     zip -6 -q -j "$OUT.zip6.zip" "$SRC"
    run "python zipfile -6"   "$OUT.py.zip"       python3 -c "$PY_ZIP" "$SRC" "$OUT.py.zip"
    run "pigz -6 -p $THREADS" "$OUT.gz"           bash -c 'pigz -6 -p "$1" -c "$2" > "$0"' "$OUT.gz" "$THREADS" "$SRC"
    run "zstd -3 -T$THREADS"  "$OUT.zst"          zstd -q -f -3 -T"$THREADS" "$SRC" -o "$OUT.zst"
    run "cp"                  "$OUT.copy"         cp "$SRC" "$OUT.copy"
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

echo
printf '| %-20s | %8s | %8s | %13s | %6s | %9s |\n' tool seconds "CPU s" "size (bytes)" ratio "peak RSS"
printf '|%s|%s|%s|%s|%s|%s|\n' "----------------------" "----------" "----------" "---------------" "--------" "-----------"
for r in "${ROWS[@]}"; do
    printf '| %-20s | %8s | %8s | %13s | %6s | %6s MB |\n' "$r" "${SECS[$r]}" "${CPU[$r]}" "${SIZE[$r]}" \
        "$(awk -v a="$SRC_BYTES" -v b="${SIZE[$r]}" 'BEGIN { printf "%.2f", a / b }')" "${RSS[$r]}"
done
echo
awk -v oz="${SECS[ours zip]}" -v z6="${SECS[zip -6]}" -v pg="${SECS[pigz -6 -p $THREADS]}" \
    -v osz="${SIZE[ours zip]}" -v z6sz="${SIZE[zip -6]}" \
    -v ozs="${SECS[ours zstd]}" -v zs="${SECS[zstd -3 -T$THREADS]}" \
    -v ozc="${CPU[ours zip]}" -v z6c="${CPU[zip -6]}" \
    -v rz="${RSS[ours zip]}" -v rs="${RSS[ours zstd]}" 'BEGIN {
    sp = z6 / oz; printf "our zip vs zip -6 speed:   %.2fx faster (target >= 2.5x) %s\n", sp, (sp >= 2.5 ? "OK" : "MISSED")
    printf "  (CPU time: zip -6 %.2fs / ours %.2fs = %.2fx; wall-clock gains need idle cores)\n", z6c, ozc, z6c / ozc
    printf "our zip vs pigz speed:     %.2fx faster (target > 1x)    %s\n", pg / oz, (pg > oz ? "OK" : "MISSED")
    d = (osz / z6sz - 1) * 100; printf "our zip vs zip -6 size:    %+.2f %% (target <= +3 %%)     %s\n", d, (d <= 3 ? "OK" : "MISSED")
    q = ozs / zs; printf "our zstd vs zstd tool time: %.2fx (target <= 1.2x)     %s\n", q, (q <= 1.2 ? "OK" : "MISSED")
    m = (rz > rs ? rz : rs); printf "our peak RSS:              %.1f MB (target < 100 MB)  %s\n", m, (m < 100 ? "OK" : "MISSED")
}'
