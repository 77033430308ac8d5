#!/usr/bin/env bash
# Scrape benchmark: our /api/metrics.prom against Debian's
# prometheus-node-exporter (started with --no-collector.systemd), in one run,
# on this machine, with wrk.
#
#   bench/metrics.sh                 # builds the release binary first
#   DURATION=20s bench/metrics.sh
#   BIN=path/to/onec-backup-bot bench/metrics.sh
#
# For each server: p50 and p99 latency and requests/s at 10 and 50
# connections (`wrk --latency`), and resident memory (VmRSS) idle, after
# 1000 scrapes, and after all the wrk runs. Targets (checked at the end):
#   our p99 <= 5 ms at 50 connections;
#   our requests/s >= 20x node_exporter's at the same connections;
#   our RSS <= 15 MB after 1000 scrapes.
# wrk and both servers share the machine's cores: the load average is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
# One wrk thread: on a 2-core machine a second one takes a whole core from
# the server under test (same for both servers); THREADS=2 to compare.
THREADS=${THREADS:-1}

need=()
command -v wrk >/dev/null || need+=(wrk)
[ -x /usr/bin/prometheus-node-exporter ] || need+=(prometheus-node-exporter)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
  echo "== installing ${need[*]}"
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -z "${BIN:-}" ]; then
  echo "== cargo build --release"
  cargo build --release --quiet --bin onec-backup-bot
  BIN=target/release/onec-backup-bot
fi
BIN=$(realpath "$BIN")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# A configured base (a placeholder .1CD is enough: nothing is backed up).
mkdir -p "$WORK/buh" "$WORK/backups"
head -c 65536 /dev/zero > "$WORK/buh/1Cv8.1CD"

OUR_PORT=$(free_port)
(cd "$WORK" && exec env -i PATH="$PATH" HOME="$WORK" \
  ONEC_BASE_PATH="$WORK/buh" BACKUP_DIR="$WORK/backups" BACKUP_METHOD=copy \
  API_HOST=127.0.0.1 API_PORT="$OUR_PORT" LOG_LEVEL=warn \
  "$BIN" run >"$WORK/agent.log" 2>&1) &
OUR_PID=$!
PIDS+=("$OUR_PID")

NODE_PORT=$(free_port)
/usr/bin/prometheus-node-exporter --no-collector.systemd \
  --web.listen-address="127.0.0.1:$NODE_PORT" >"$WORK/node.log" 2>&1 &
NODE_PID=$!
PIDS+=("$NODE_PID")

OUR_URL="http://127.0.0.1:$OUR_PORT/api/metrics.prom"
NODE_URL="http://127.0.0.1:$NODE_PORT/metrics"
for u in "$OUR_URL" "$NODE_URL"; do
  for _ in $(seq 100); do curl -fs -o /dev/null "$u" && break; sleep 0.1; done
  curl -fs -o /dev/null "$u" || { echo "no answer from $u"; cat "$WORK"/*.log; exit 1; }
done
# The agent resolves its real PID behind the subshell's exec.
OUR_IDLE=$(rss_kb "$OUR_PID"); NODE_IDLE=$(rss_kb "$NODE_PID")

echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 1000 scrapes each (4 in parallel)"
scrape_1000() {
  local cfg="$WORK/curl-$2.cfg"
  : > "$cfg"
  for _ in $(seq 1000); do printf 'url = "%s"\noutput = "/dev/null"\n' "$1" >> "$cfg"; done
  curl -fsS --no-progress-meter -Z --parallel-max 4 -K "$cfg"
}
scrape_1000 "$OUR_URL" our
scrape_1000 "$NODE_URL" node
OUR_1000=$(rss_kb "$OUR_PID"); NODE_1000=$(rss_kb "$NODE_PID")

# wrk: "Latency Distribution" 50% and 99% lines, and Requests/sec.
to_ms() { # 1.23ms | 456.00us | 1.20s -> milliseconds
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'
}
declare -A R
run_wrk() { # name url conns
  local out
  out=$(wrk -t"$THREADS" -c"$3" -d"$DURATION" --latency "$2")
  R[$1,$3,p50]=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
  R[$1,$3,p99]=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  R[$1,$3,rps]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  # Only 200 answers count (node_exporter answers 503 past --web.max-requests).
  local total bad
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
  R[$1,$3,ok]=$(awk -v r="${R[$1,$3,rps]}" -v t="$total" -v b="${bad:-0}" 'BEGIN { printf "%.2f", (t>0 ? r*(t-b)/t : 0) }')
  R[$1,$3,err]=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
}
for c in 10 50; do
  echo "== wrk -c$c -d$DURATION"
  run_wrk our "$OUR_URL" "$c"
  run_wrk node "$NODE_URL" "$c"
done
OUR_END=$(rss_kb "$OUR_PID"); NODE_END=$(rss_kb "$NODE_PID")
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

BYTES_OUR=$(curl -fs "$OUR_URL" | wc -c); BYTES_NODE=$(curl -fs "$NODE_URL" | wc -c)
echo
printf '| %-26s | %-6s | %9s | %9s | %10s | %10s |\n' server conns "p50 ms" "p99 ms" "req/s" "200 req/s"
printf '|%s|%s|%s|%s|%s|%s|\n' "----------------------------" "--------" "-----------" "-----------" "------------" "------------"
for name in our node; do
  label=$([ $name = our ] && echo "onec-backup-bot ($BYTES_OUR B)" || echo "node_exporter ($BYTES_NODE B)")
  for c in 10 50; do
    printf '| %-26s | %-6s | %9s | %9s | %10s | %10s |\n' "$label" "$c" "${R[$name,$c,p50]}" "${R[$name,$c,p99]}" "${R[$name,$c,rps]}" "${R[$name,$c,ok]}"
  done
done
echo
printf '| %-24s | %10s | %16s | %14s |\n' server "idle MB" "1000 scrapes MB" "after wrk MB"
printf '|%s|%s|%s|%s|\n' "--------------------------" "------------" "------------------" "----------------"
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k/1024 }'; }
printf '| %-24s | %10s | %16s | %14s |\n' onec-backup-bot "$(mb "$OUR_IDLE")" "$(mb "$OUR_1000")" "$(mb "$OUR_END")"
printf '| %-24s | %10s | %16s | %14s |\n' node_exporter "$(mb "$NODE_IDLE")" "$(mb "$NODE_1000")" "$(mb "$NODE_END")"
for k in "${!R[@]}"; do
  case $k in *,err) [ -n "${R[$k]// /}" ] && echo "note: $k: ${R[$k]}";; esac
done

echo
fail=0
check() { if awk "BEGIN { exit !($2) }"; then echo "PASS  $1"; else echo "MISS  $1"; fail=1; fi; }
check "our p99 at 50 connections ${R[our,50,p99]} ms <= 5 ms" "${R[our,50,p99]} <= 5"
for c in 10 50; do
  ratio=$(awk -v a="${R[our,$c,ok]}" -v b="${R[node,$c,ok]}" 'BEGIN { printf "%.1f", (b>0 ? a/b : 0) }')
  check "our 200 req/s at $c connections = ${ratio}x node_exporter's >= 20x" "$ratio >= 20"
done
check "our RSS after 1000 scrapes $(mb "$OUR_1000") MB <= 15 MB" "$OUR_1000 <= 15360"
exit $fail
