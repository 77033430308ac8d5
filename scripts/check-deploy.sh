#!/usr/bin/env bash
# Проверка deployment-ассетов OneCBackupBot (Prometheus, алерты, дашборды Grafana).
#
#   scripts/check-deploy.sh               статические проверки (promtool + JSON + имена метрик)
#   scripts/check-deploy.sh --list-exprs  вывести все PromQL-выражения дашбордов, по одному
#                                         на строку, с подставленными переменными Grafana
#                                         ($instance=.+, $__rate_interval=5m, $__interval=1m,
#                                         $__range=1h); больше ничего в stdout не пишется
#   scripts/check-deploy.sh --e2e         статические проверки + запуск настоящего Prometheus
#                                         против фейкового экспортёра со всеми метриками из
#                                         docs/GRAFANA_INTEGRATION.md: каждое выражение
#                                         дашбордов и алертов должно выполниться без ошибок
#                                         и вернуть данные
#
# Контракт имён метрик — таблица в docs/GRAFANA_INTEGRATION.md (строки вида | `onec_...` | ...).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PROM_YML=deploy/prometheus/prometheus.yml
ALERTS_YML=deploy/prometheus/alerts.yml
ALERTS_TEST_YML=deploy/prometheus/alerts_test.yml
DOC=docs/GRAFANA_INTEGRATION.md
DASHBOARDS=(deploy/grafana/dashboards/*.json)

MODE=check
case "${1:-}" in
  "") ;;
  --list-exprs) MODE=list ;;
  --e2e) MODE=e2e ;;
  -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
  *) echo "неизвестный аргумент: $1 (см. --help)" >&2; exit 2 ;;
esac

PY=python3
command -v "$PY" >/dev/null || { echo "нужен python3" >&2; exit 1; }

# Общий python-код: разбор дашбордов, таблицы метрик и выражений.
read -r -d '' PYLIB <<'PYEOF' || true
import json, re, sys, glob

DOC = "docs/GRAFANA_INTEGRATION.md"
DASHBOARDS = sorted(glob.glob("deploy/grafana/dashboards/*.json"))
SUBST = [("$__rate_interval", "5m"), ("${__rate_interval}", "5m"),
         ("$__interval", "1m"), ("${__interval}", "1m"),
         ("$__range", "1h"), ("${__range}", "1h"),
         ("$instance", ".+"), ("${instance}", ".+")]
ALLOWED_VARS = {"instance", "__rate_interval", "__interval", "__range"}
EXTRA_METRICS = {"up"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right",
            "and", "or", "unless", "offset", "bool", "inf", "nan", "atan2"}
FUNCTIONS = set("""abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month
day_of_week day_of_year days_in_month delta deriv exp floor histogram_quantile holt_winters hour
idelta increase irate label_join label_replace ln log2 log10 minute month predict_linear rate
resets round scalar sgn sort sort_desc sqrt time timestamp vector year avg_over_time min_over_time
max_over_time sum_over_time count_over_time quantile_over_time stddev_over_time stdvar_over_time
last_over_time present_over_time acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg pi rad
sum min max avg group stddev stdvar count count_values bottomk topk quantile""".split())

def doc_metrics():
    """{name: (type, labels)} из таблицы метрик в документации."""
    rows = {}
    dups = []
    for line in open(DOC, encoding="utf-8"):
        m = re.match(r"^\|\s*`(onec_[a-z0-9_]+)`\s*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|", line)
        if not m:
            continue
        name, typ, labels = m.group(1), m.group(2).strip().lower(), m.group(3)
        if name in rows:
            dups.append(name)
        lbls = re.findall(r"`([a-z_]+)`", labels)
        rows[name] = (typ, lbls)
    return rows, dups

def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)

def all_panels(d):
    for p in d.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:
            yield q

def dashboard_exprs(d):
    for p in all_panels(d):
        for t in p.get("targets", []) or []:
            e = t.get("expr")
            if e and not t.get("hide"):
                yield p, e

def subst(expr):
    for a, b in SUBST:
        expr = expr.replace(a, b)
    return " ".join(expr.split())

def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)

def metric_refs(expr):
    """[(name, None)] — имена метрик (и "func:имя" для функций) в выражении."""
    e = strip_strings(expr)
    # грубое, но достаточное для наших выражений удаление контекстов, где идут имена меток
    e_nolabels = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e_nolabels = re.sub(r"\{[^}]*\}", lambda m: "{" + " " * (len(m.group(0)) - 2) + "}", e_nolabels)
    e_nolabels = re.sub(r"\[[^\]]*\]", " ", e_nolabels)
    refs = []
    for m in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)", e_nolabels):
        name = m.group(1)
        rest = e_nolabels[m.end():].lstrip()
        if rest.startswith("("):
            refs.append(("func:" + name, None))
            continue
        if name.lower() in KEYWORDS:
            continue
        refs.append((name, None))
    return refs

def selectors(expr):
    """[(metric, selector_body)] по исходному выражению (строки в кавычках учитываются)."""
    out = []
    for m in re.finditer(r'(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\})?', expr):
        out.append((m.group(1), m.group(2)))
    return out
PYEOF
export PYLIB

# ------------------------------------------------------------------ --list-exprs
if [[ $MODE == list ]]; then
  exec "$PY" - <<'PYEOF'
import os
exec(os.environ["PYLIB"])
seen = set()
for path in DASHBOARDS:
    for _, e in dashboard_exprs(load(path)):
        s = subst(e)
        if s not in seen:
            seen.add(s)
            print(s)
PYEOF
fi

fail=0
step() { printf '\n== %s\n' "$*"; }

# ------------------------------------------------------------------ promtool
step "promtool"
if ! command -v promtool >/dev/null 2>&1; then
  if [[ -x /usr/bin/promtool ]]; then
    export PATH="/usr/bin:$PATH"
  else
    echo "promtool не найден — ставлю Debian-пакет prometheus"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y prometheus || { apt-get update && apt-get install -y prometheus; }
  fi
fi
promtool --version 2>&1 | head -1

step "promtool check config $PROM_YML"
promtool check config "$PROM_YML" || fail=1
step "promtool check rules $ALERTS_YML"
promtool check rules "$ALERTS_YML" || fail=1
if [[ -f $ALERTS_TEST_YML ]]; then
  step "promtool test rules $ALERTS_TEST_YML"
  promtool test rules "$ALERTS_TEST_YML" || fail=1
fi

# ------------------------------------------------------------------ JSON
step "JSON-синтаксис дашбордов"
for f in "${DASHBOARDS[@]}"; do
  if "$PY" -m json.tool "$f" >/dev/null; then echo "ok   $f"; else echo "FAIL $f"; fail=1; fi
done

# ------------------------------------------------------------------ структура и имена метрик
step "структура дашбордов, таблица метрик, имена метрик в выражениях"
"$PY" - <<'PYEOF' || fail=1
import os, re
exec(os.environ["PYLIB"])
errors = []
def err(msg): errors.append(msg)

metrics, dups = doc_metrics()
if not metrics:
    err(f"{DOC}: не найдена таблица метрик (строки | `onec_...` | type | labels | description |)")
for d in dups:
    err(f"{DOC}: метрика {d} описана в таблице больше одного раза")
for name, (typ, _) in metrics.items():
    if typ not in ("gauge", "counter"):
        err(f"{DOC}: {name}: тип должен быть gauge или counter, а не {typ!r}")
allowed = set(metrics) | EXTRA_METRICS
print(f"метрик в таблице документации: {len(metrics)}")

used = set()
for path in DASHBOARDS:
    d = load(path)
    where = os.path.basename(path)
    if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 38:
        err(f"{where}: schemaVersion должен быть >= 38")
    if not d.get("uid") or not d.get("title"):
        err(f"{where}: нет uid или title")
    if d.get("id") is not None:
        err(f"{where}: id должен быть null, иначе импорт может перезаписать чужой дашборд")
    inputs = d.get("__inputs", [])
    if not any(i.get("name") == "DS_PROMETHEUS" and i.get("type") == "datasource"
               and i.get("pluginId") == "prometheus" for i in inputs):
        err(f"{where}: нет __inputs DS_PROMETHEUS (datasource/prometheus)")
    if not d.get("__requires"):
        err(f"{where}: нет __requires")
    tl = d.get("templating", {}).get("list", [])
    names = [v.get("name") for v in tl]
    if names != ["instance"]:
        err(f"{where}: ожидается ровно одна переменная instance, найдено {names}")
    for v in tl:
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if q != "label_values(onec_cpu_percent, instance)":
            err(f"{where}: переменная {v.get('name')}: неожиданный запрос {q!r}")
        if (v.get("datasource") or {}).get("uid") != "${DS_PROMETHEUS}":
            err(f"{where}: переменная {v.get('name')}: datasource должен быть ${{DS_PROMETHEUS}}")
    ids = set()
    cells = {}
    for p in all_panels(d):
        t = f"{where}: панель {p.get('id')} {p.get('title')!r}"
        if p.get("id") in ids:
            err(f"{t}: повторяющийся id")
        ids.add(p.get("id"))
        gp = p.get("gridPos")
        if not gp or not all(isinstance(gp.get(k), int) for k in ("h", "w", "x", "y")):
            err(f"{t}: нет корректного gridPos")
        else:
            if gp["x"] + gp["w"] > 24:
                err(f"{t}: gridPos выходит за 24 колонки")
            for yy in range(gp["y"], gp["y"] + gp["h"]):
                for xx in range(gp["x"], gp["x"] + gp["w"]):
                    if (xx, yy) in cells:
                        err(f"{t}: gridPos перекрывается с панелью {cells[(xx, yy)]}")
                        break
                    cells[(xx, yy)] = p.get("id")
        if p.get("type") == "row":
            continue
        ds = p.get("datasource") or {}
        if ds.get("uid") != "${DS_PROMETHEUS}":
            err(f"{t}: datasource панели должен быть ${{DS_PROMETHEUS}}, а не {ds}")
        if not p.get("targets"):
            err(f"{t}: нет запросов")
        if "unit" not in p.get("fieldConfig", {}).get("defaults", {}):
            err(f"{t}: не задан unit")
        for tg in p.get("targets", []):
            if (tg.get("datasource") or {}).get("uid") != "${DS_PROMETHEUS}":
                err(f"{t}: datasource запроса {tg.get('refId')} должен быть ${{DS_PROMETHEUS}}")
            if not tg.get("expr"):
                err(f"{t}: запрос {tg.get('refId')} без expr")
    for p, e in dashboard_exprs(d):
        t = f"{where}: {p.get('title')!r}: {e}"
        for v in re.findall(r"\$\{?(\w+)", e):
            if v not in ALLOWED_VARS:
                err(f"{t}: недопустимая переменная ${v}")
        for name, _ in metric_refs(e):
            if name.startswith("func:"):
                if name[5:] not in FUNCTIONS:
                    err(f"{t}: неизвестная функция {name[5:]}")
            elif name not in allowed:
                err(f"{t}: метрика {name} отсутствует в таблице {DOC}")
            else:
                used.add(name)
        for name, sel in selectors(e):
            if name in allowed and (sel is None or 'instance=~"$instance"' not in sel):
                err(f"{t}: у {name} нет селектора {{instance=~\"$instance\"}}")

# выражения алертов тоже должны ссылаться только на документированные метрики
try:
    import yaml
    rules = yaml.safe_load(open("deploy/prometheus/alerts.yml", encoding="utf-8"))
    for g in rules["groups"]:
        for r in g["rules"]:
            for name, _ in metric_refs(r["expr"]):
                if not name.startswith("func:") and name not in allowed:
                    err(f"alerts.yml: {r.get('alert')}: метрика {name} отсутствует в таблице {DOC}")
            if r.get("labels", {}).get("severity") not in ("warning", "critical"):
                err(f"alerts.yml: {r.get('alert')}: severity должен быть warning или critical")
            if not r.get("annotations", {}).get("summary") or not r.get("annotations", {}).get("description"):
                err(f"alerts.yml: {r.get('alert')}: нужны аннотации summary и description")
except ImportError:
    print("PyYAML не установлен — проверка имён метрик в alerts.yml пропущена")

print(f"метрик из таблицы, использованных в дашбордах: {len(used & set(metrics))} из {len(metrics)}")
unused = sorted(set(metrics) - used)
if unused:
    print("не показаны на дашбордах: " + ", ".join(unused))
for e in errors:
    print("FAIL " + e)
if errors:
    raise SystemExit(1)
print("ok")
PYEOF

# ------------------------------------------------------------------ e2e
if [[ $MODE == e2e && $fail == 0 ]]; then
  step "e2e: Prometheus + фейковый экспортёр"
  command -v prometheus >/dev/null || { echo "нет бинарника prometheus (пакет prometheus)"; exit 1; }
  TMP=$(mktemp -d)
  PIDS=()
  cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
  trap cleanup EXIT
  free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  EXP_PORT=$(free_port); PROM_PORT=$(free_port)

  # Фейковый агент: все метрики из таблицы документации с метками из колонки labels.
  cat >"$TMP/exporter.py" <<'PYEOF'
import os, sys, time, http.server
exec(os.environ["PYLIB"])
metrics, _ = doc_metrics()
start = time.time()
LABELS = {"core": ["0", "1"], "mountpoint": ["/", "/srv"], "fstype": ["ext4", "xfs"],
          "device": ["sda", "eth0"], "rank": ["1", "2"], "name": ["1cv8c", "postgres"],
          "user": ["ivanov", "petrov"], "kind": ["rdp", "ssh"], "state": ["active", "disconnected"],
          "host": ["10.0.0.5", "10.0.0.6"], "base": ["buh", "zup"], "status": ["ok", "failed", "skipped", "interrupted"],
          "collector": ["cpu", "memory"], "hostname": ["srv-1c"], "os": ["linux"], "os_version": ["12"],
          "kernel": ["6.1.0"], "arch": ["x86_64"], "version": ["0.1.0"]}
def body():
    n = int((time.time() - start) * 10) + 1
    out = []
    for name, (typ, labels) in sorted(metrics.items()):
        out.append(f"# HELP {name} test\n# TYPE {name} {typ}")
        combos = [dict()]
        for l in labels:
            vals = LABELS.get(l, ["x"])
            if l != "status":
                vals = vals[:2]
            combos = [dict(c, **{l: v}) for c in combos for v in vals]
        for c in combos:
            lbl = ",".join(f'{k}="{v}"' for k, v in c.items())
            lbl = "{" + lbl + "}" if lbl else ""
            if typ == "counter":
                v = n * 7
            elif name.endswith("_timestamp_seconds") or name in ("onec_backup_timestamp", "onec_timestamp_unix", "onec_boot_time_seconds"):
                v = int(time.time()) - 3600
            elif name == "onec_backup_status":
                v = 1
            else:
                v = 42
            out.append(f"{name}{lbl} {v}")
    return ("\n".join(out) + "\n").encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = body()
        self.send_response(200); self.send_header("Content-Type", "text/plain; version=0.0.4"); self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a): pass
if len(sys.argv) > 2 and sys.argv[2] == "--dump":
    sys.stdout.buffer.write(body()); sys.exit(0)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF
  "$PY" "$TMP/exporter.py" 0 --dump >"$TMP/sample.prom"
  echo "promtool check metrics (фейковый вывод по таблице; замечания о суффиксах _total/_count"
  echo "для имён из прототипа ожидаемы — имена сохранены ради совместимости):"
  promtool check metrics <"$TMP/sample.prom" | sed 's/^/  /' || true   # только линтер; не валим

  "$PY" "$TMP/exporter.py" "$EXP_PORT" & PIDS+=($!)
  sed -e "s#localhost:8080#127.0.0.1:$EXP_PORT#" -e 's#scrape_interval: 30s#scrape_interval: 1s#g' -e 's#scrape_timeout: 10s#scrape_timeout: 1s#' \
      -e 's#evaluation_interval: 30s#evaluation_interval: 1s#' "$PROM_YML" >"$TMP/prometheus.yml"
  cp "$ALERTS_YML" "$TMP/alerts.yml"
  prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/data" \
      --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$TMP/prom.log" 2>&1 & PIDS+=($!)
  ready=0
  for _ in $(seq 1 30); do
    if "$PY" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
        "http://127.0.0.1:$PROM_PORT/-/ready" 2>/dev/null; then ready=1; break; fi
    sleep 1
  done
  if [[ $ready != 1 ]]; then
    echo "Prometheus не запустился:"; cat "$TMP/prom.log"; exit 1
  fi
  echo "Prometheus готов, жду накопления данных (15 с)…"
  sleep 15
  "$0" --list-exprs >"$TMP/exprs.txt"
  PROM_URL="http://127.0.0.1:$PROM_PORT" ALERTS="$ALERTS_YML" "$PY" - "$TMP/exprs.txt" <<'PYEOF' || fail=1
import json, os, sys, urllib.parse, urllib.request
url = os.environ["PROM_URL"]
def q(e):
    data = urllib.parse.urlencode({"query": e}).encode()
    try:
        r = json.load(urllib.request.urlopen(url + "/api/v1/query", data, timeout=10))
    except urllib.error.HTTPError as ex:
        r = json.load(ex)
    return r
bad = 0
exprs = [l.strip() for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
exprs.append('up{job="onec-backup-bot"}')
for e in exprs:
    r = q(e)
    if r.get("status") != "success":
        print(f"FAIL {e}: {r.get('error')}"); bad += 1
    elif not r["data"]["result"]:
        print(f"EMPTY {e}"); bad += 1
print(f"выражений дашбордов проверено: {len(exprs)}, проблем: {bad}")
try:
    import yaml
    for g in yaml.safe_load(open(os.environ["ALERTS"], encoding="utf-8"))["groups"]:
        for rule in g["rules"]:
            r = q(rule["expr"])
            if r.get("status") != "success":
                print(f"FAIL alert {rule['alert']}: {r.get('error')}"); bad += 1
    print("выражения алертов выполняются")
except ImportError:
    pass
raise SystemExit(1 if bad else 0)
PYEOF
fi

echo
if [[ $fail != 0 ]]; then echo "check-deploy: FAIL"; exit 1; fi
echo "check-deploy: OK"
