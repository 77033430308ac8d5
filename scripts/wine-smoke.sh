#!/usr/bin/env bash
# Smoke-run the Windows .exe under Wine 8 (../shared/windows.md): build it
# with MinGW, then run the real binary through what users do on Windows:
#   1. --version                      the .exe loads and starts
#   2. config check                   a config with Windows paths (Z: = Linux /)
#   3. metrics --format json          every collector we rely on works under Wine
#      users --json                   the process table and who is inside each base
#   4. backup (copy) + verify         a generated base is archived and checked
#   5. run + GET /api/health          the agent serves HTTP and stops cleanly on Ctrl-C
#   6. service install/start/status/stop/uninstall under Wine's service manager,
#      and a failed install that must leave no service behind
# Any failure stops the script with a message naming the step. Wine is
# stopped at the end (also on failure). Needs: mingw-w64, wine64, rustc-web,
# rust-web-src, curl, jq (scripts/test.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

WINE=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver
TARGET=x86_64-pc-windows-gnu
WIN_TARGET_DIR=$ROOT/target/windows
BIN_DIR=$WIN_TARGET_DIR/$TARGET/debug
EXE=$BIN_DIR/onec-backup-bot.exe
WORK=$ROOT/target/wine-smoke
SVC=OneCBackupBotSmoke

step() { echo "== wine: $*"; }
fail() {
  echo "wine-smoke: FAILED: $*" >&2
  exit 1
}
# Show a file framed, for failure messages.
show() {
  echo "---- $1" >&2
  cat "$1" >&2 || true
  echo "----" >&2
}

for tool in x86_64-w64-mingw32-gcc "$WINE" "$WINESERVER" /usr/bin/rustc curl jq; do
  command -v "$tool" >/dev/null ||
    fail "missing $tool: install the Debian packages mingw-w64 wine64 rustc-web rust-web-src curl jq (scripts/test.sh does)"
done

# The Windows path of a Linux path (Wine maps / to drive Z:).
winpath() { printf 'Z:%s' "${1//\//\\}"; }

# A TCP port nothing listens on (bash's /dev/tcp connect fails).
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  fail "no free TCP port found"
}

step "build the .exe (MinGW, target/windows: scripts/windows-check.sh)"
bash scripts/windows-check.sh || fail "the Windows build failed"

# Rust's std imports ProcessPrng from bcryptprimitives.dll, which Wine 8
# lacks; real Windows has it. The fixture DLL goes next to the .exe only.
step "build the ProcessPrng shim (tests/wine/bcryptprimitives.dll)"
x86_64-w64-mingw32-gcc -O2 -shared -o "$BIN_DIR/bcryptprimitives.dll" \
  tests/wine/bcryptprimitives.c tests/wine/bcryptprimitives.def -lbcrypt ||
  fail "the shim DLL did not build"

# A fresh prefix each run: a service left registered by an earlier, failed
# run would otherwise be started automatically with the prefix.
export WINEARCH=win64 WINEPREFIX=$ROOT/target/wine WINEDEBUG=-all
# No Mono / Gecko install dialogs when the prefix is created.
export WINEDLLOVERRIDES="mscoree,mshtml="
HOME_DIR=${HOME:-$ROOT/target}
RUN_PID=""
cleanup() {
  if [ -n "$RUN_PID" ]; then kill -KILL "$RUN_PID" 2>/dev/null || true; fi
  "$WINESERVER" -k 2>/dev/null || true
  "$WINESERVER" -w 2>/dev/null || true
}
trap cleanup EXIT
"$WINESERVER" -k 2>/dev/null || true
"$WINESERVER" -w 2>/dev/null || true
rm -rf "$WINEPREFIX" "$WORK"
mkdir -p "$WORK"

# The agent reads its settings from the environment too: give the Windows
# process only what Wine needs, so nothing from the caller's environment
# (a TELEGRAM_BOT_TOKEN, an API_PORT) leaks in.
w() {
  env -i PATH="$PATH" HOME="$HOME_DIR" LANG=C.UTF-8 \
    WINEARCH="$WINEARCH" WINEPREFIX="$WINEPREFIX" WINEDEBUG="$WINEDEBUG" \
    WINEDLLOVERRIDES="$WINEDLLOVERRIDES" ${EXTRA_ENV:-} \
    timeout -k 5 "${WINE_TIMEOUT:-180}" "$WINE" "$@"
}
bot() { w "$EXE" --env-file "$(winpath "$WORK/smoke.env")" "$@"; }

step "start Wine (prefix in target/wine; kept alive between commands)"
w wineboot -i >/dev/null 2>&1 || fail "wineboot could not create the prefix $WINEPREFIX"
# Let the session that created the prefix end first: a persistent server
# started during it ends up with two service managers answering in turn.
timeout 120 "$WINESERVER" -w || fail "the Wine session that created the prefix did not end"
# The service control manager lives as long as wineserver: -p keeps it
# (and a started service) alive between the commands below.
"$WINESERVER" -p 900 || fail "wineserver did not start"
# Start the session's system processes (services.exe, …) now, with no
# terminal or pipe to inherit: a `$(…)` below would otherwise wait for them.
w wineboot </dev/null >/dev/null 2>&1 || fail "the Wine session did not start"

step "1. onec-backup-bot.exe --version"
out=$(w "$EXE" --version 2>&1) || fail "--version exited with $?: $out"
want="onec-backup-bot $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
[ "$out" = "$want" ] || fail "--version printed '$out', expected '$want'"
echo "$out"

step "make a generated infobase (examples/gen1cd, Linux build, 4 MiB)"
BASE=$WORK/base/buh
mkdir -p "$BASE/1Cv8Log" "$WORK/backups" "$WORK/logs"
cargo run -q --locked --example gen1cd -- "$BASE/1Cv8.1CD" 4 7 >/dev/null ||
  fail "examples/gen1cd could not write $BASE/1Cv8.1CD"
printf 'log header\n' >"$BASE/1Cv8Log/1Cv8.lgf"
: >"$BASE/1Cv8.1CD.cfl"
[ "$(stat -c %s "$BASE/1Cv8.1CD")" = $((4 * 1024 * 1024)) ] || fail "the generated 1Cv8.1CD has the wrong size"

PORT=$(free_port)
cat >"$WORK/smoke.env" <<EOF
# Windows paths only: Wine maps the Linux root to Z:.
ONEC_BASE_PATH=$(winpath "$BASE")
BACKUP_DIR=$(winpath "$WORK/backups")
BACKUP_METHOD=copy
BACKUP_INCLUDE_LOG=true
LOG_DIR=$(winpath "$WORK/logs")
LOG_LEVEL=info
APP_TIMEZONE=Europe/Moscow
API_HOST=127.0.0.1
API_PORT=$PORT
METRICS_INTERVAL=2
EOF

step "2. config check (Windows paths)"
out=$(bot config check 2>&1) || { echo "$out" >&2; fail "config check rejected a valid config with Windows paths"; }
grep -qF "$(winpath "$BASE")" <<<"$out" || { echo "$out" >&2; fail "config check does not show the base path $(winpath "$BASE")"; }
echo "$out" | tail -3

step "3. metrics --format json"
bot metrics --format json >"$WORK/metrics.json" 2>"$WORK/metrics.err" ||
  { show "$WORK/metrics.err"; fail "metrics --format json exited with an error"; }
jq -e . "$WORK/metrics.json" >/dev/null || { show "$WORK/metrics.json"; fail "metrics --format json printed invalid JSON"; }
for key in cpu_percent cpu memory memory_percent disk disk_percent timestamp_unix system agent collectors; do
  jq -e --arg k "$key" 'has($k) and .[$k] != null' "$WORK/metrics.json" >/dev/null ||
    { show "$WORK/metrics.json"; fail "metrics JSON has no top-level \"$key\""; }
done
# The collectors Wine can serve must succeed; the others must only report
# success=false (a failing collector never breaks the scrape).
for c in cpu memory backup_disk filesystem process system agent; do
  jq -e --arg c "$c" '.collectors[] | select(.collector == $c) | .success' "$WORK/metrics.json" >/dev/null ||
    { show "$WORK/metrics.json"; fail "metrics collector \"$c\" failed under Wine"; }
done
jq -e '.cpu.count_logical > 0 and (.cpu.per_core | length) == .cpu.count_logical' "$WORK/metrics.json" >/dev/null ||
  { show "$WORK/metrics.json"; fail "metrics: per-core CPU does not match the logical core count"; }
jq -r '.collectors[] | "   collector \(.collector): " + (if .success then "ok" else "failed (\(.error))" end)' "$WORK/metrics.json"

step "3b. users --json"
bot users --json >"$WORK/users.json" 2>"$WORK/users.err" ||
  { show "$WORK/users.err"; fail "users --json exited with an error"; }
jq -e '(.bases | length) == 1 and (.bases[0].clients | type) == "array" and (.unknown | type) == "array" and (.other | type) == "array"' "$WORK/users.json" >/dev/null ||
  { show "$WORK/users.json"; fail "users --json printed unexpected JSON"; }
echo "   $(jq -c '{base: .bases[0].base, inside: (.bases[0].clients | length), unknown: (.unknown | length)}' "$WORK/users.json")"

step "4. backup --method copy, then verify the archive"
bot backup >"$WORK/backup.out" 2>&1 || { show "$WORK/backup.out"; fail "backup (BACKUP_METHOD=copy) failed"; }
mapfile -t archives < <(find "$WORK/backups" -type f -path '*/20*' ! -name '.*' | sort)
[ "${#archives[@]}" = 1 ] || { show "$WORK/backup.out"; fail "expected one archive under $WORK/backups, found ${#archives[@]}: ${archives[*]:-none}"; }
echo "   archive: ${archives[0]#"$WORK/"}"
bot verify "$(winpath "${archives[0]}")" >"$WORK/verify.out" 2>&1 ||
  { show "$WORK/verify.out"; fail "verify rejected the archive the backup just made"; }
grep -q "1CD 8.3.8, 512 pages" "$WORK/verify.out" || { show "$WORK/verify.out"; fail "verify did not check the 1CD header"; }
sha=$(sed -n 's/^ *sha256: \([0-9a-f]\{64\}\)$/\1/p' "$WORK/verify.out")
[ -n "$sha" ] || { show "$WORK/verify.out"; fail "verify printed no SHA-256"; }
out=$(bot list --json 2>&1) || fail "list --json failed: $out"
jq -e --arg sha "$sha" 'length == 1 and .[0].status == "ok" and .[0].method == "copy" and .[0].sha256 == $sha' \
  <<<"$out" >/dev/null || { echo "$out" >&2; fail "the history does not show one copy backup with the verified SHA-256"; }
echo "   verified, sha256 $sha"

# Wait until GET /api/health answers 200 with status ok, or give up (also
# when process $3, if given, ends first).
wait_health() {
  local port=$1 what=$2 pid=${3:-}
  for _ in $(seq 120); do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      show "$WORK/run.out"
      fail "$what: the agent exited before answering /api/health"
    fi
    if curl -fsS --max-time 5 "http://127.0.0.1:$port/api/health" >"$WORK/health.json" 2>/dev/null; then
      jq -e '.status == "ok"' "$WORK/health.json" >/dev/null ||
        { show "$WORK/health.json"; fail "$what: /api/health is not ok"; }
      return 0
    fi
    sleep 0.5
  done
  fail "$what: GET http://127.0.0.1:$port/api/health did not answer within 60 s"
}

step "5. run: GET /api/health on 127.0.0.1:$PORT, then Ctrl-C"
# Started without `timeout` and exec'ed, so $! is the Wine process itself.
# A background job of a script starts with SIGINT ignored; `set -m` gives
# it default signal handling, as in a console.
set -m
(exec env -i PATH="$PATH" HOME="$HOME_DIR" LANG=C.UTF-8 WINEARCH="$WINEARCH" \
  WINEPREFIX="$WINEPREFIX" WINEDEBUG="$WINEDEBUG" WINEDLLOVERRIDES="$WINEDLLOVERRIDES" \
  "$WINE" "$EXE" --env-file "$(winpath "$WORK/smoke.env")" run) >"$WORK/run.out" 2>&1 &
RUN_PID=$!
set +m
wait_health "$PORT" "run" "$RUN_PID"
echo "   health: $(jq -c '{status, version}' "$WORK/health.json")"
# Wine turns SIGINT into CTRL_C_EVENT for the console program, which is
# what Ctrl-C in a Windows console sends.
kill -INT "$RUN_PID"
code=0
for _ in $(seq 60); do
  kill -0 "$RUN_PID" 2>/dev/null || break
  sleep 0.5
done
if kill -0 "$RUN_PID" 2>/dev/null; then
  show "$WORK/run.out"
  fail "run did not stop within 30 s of Ctrl-C"
fi
wait "$RUN_PID" || code=$?
RUN_PID=""
[ "$code" = 0 ] || { show "$WORK/run.out"; fail "run exited with $code after Ctrl-C, expected 0"; }
grep -q "INFO.*stopped$" "$WORK/logs/backup.log" ||
  { show "$WORK/logs/backup.log"; fail "the agent's log has no \"stopped\" line after Ctrl-C"; }
echo "   stopped cleanly (exit 0, log says \"stopped\")"

step "6. service install / start / status / stop / uninstall ($SVC)"
svc() { bot service "$@" --name "$SVC"; }
# $1 is a glob: "running (pid *)".
status_is() {
  local want=$1 out
  out=$(svc status 2>&1) || fail "service status failed: $out"
  [[ "$out" == $want ]] || fail "service status is '$out', expected '$want'"
}
status_is "not installed"

# A failed install must not leave a half-made service behind (debug builds
# can make one required setting fail on purpose).
out=$(EXTRA_ENV=ONEC_BACKUP_BOT_TEST_FAIL_SETTING=failure_actions svc install 2>&1) &&
  fail "service install succeeded although a required setting failed: $out"
grep -q "removed again" <<<"$out" || fail "a failed service install did not say the service was removed: $out"
status_is "not installed"
echo "   a failed install leaves nothing behind"

out=$(svc install 2>&1) || fail "service install failed: $out"
echo "$out" | sed 's/^/   /'
status_is "stopped"
# Wine's sc.exe has no `qc`: read the service's registry key instead.
key="HKLM\\System\\CurrentControlSet\\Services\\$SVC"
cfg=$(w reg query "$key" 2>&1 | tr -d '\r') || fail "reg query $key failed: $cfg"
grep -qF "service-run --name $SVC --env-file $(winpath "$WORK/smoke.env")" <<<"$cfg" ||
  fail "the service does not start \`service-run\` with our settings: $cfg"
grep -qE "Start +REG_DWORD +0x2$" <<<"$cfg" || fail "the service is not set to start automatically: $cfg"
grep -qF "(OneCBackupBot)" <<<"$cfg" || fail "the service has no description: $cfg"
grep -qF "($SVC)" <<<"$cfg" || fail "the display name does not name the service $SVC: $cfg"

: >"$WORK/logs/backup.log"
out=$(svc start 2>&1) || fail "service start failed: $out"
wait_health "$PORT" "service"
status_is "running (pid *)"
echo "   running, health: $(jq -c '{status, version}' "$WORK/health.json")"

out=$(svc stop 2>&1) || fail "service stop failed: $out"
status_is "stopped"
grep -q "running as the Windows service" "$WORK/logs/backup.log" ||
  { show "$WORK/logs/backup.log"; fail "the log does not show the agent running as a service"; }
grep -q "INFO.*stopped$" "$WORK/logs/backup.log" ||
  { show "$WORK/logs/backup.log"; fail "the agent's log has no \"stopped\" line after service stop"; }
q=$(w sc query "$SVC" 2>&1) || fail "sc query $SVC failed: $q"
exit_code=$(sed -n 's/.*WIN32_EXIT_CODE *: *\([0-9]*\).*/\1/p' <<<"$q")
[ "$exit_code" = 0 ] || fail "the service did not stop with exit code 0: $q"

out=$(svc uninstall 2>&1) || fail "service uninstall failed: $out"
status_is "not installed"
echo "   installed, started, answered, stopped cleanly, removed"

step "all Wine smoke steps passed"
echo "wine-smoke: 6 passed, 0 failed"
