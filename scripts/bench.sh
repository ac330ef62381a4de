#!/usr/bin/env bash
# make bench: throughput and latency of every one-round-trip route against the
# runtime floor (GET /health: one D1 query), in one run, under wrangler dev
# (workerd + local D1). Server on core 0, load on core 1. Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${BENCH_SECONDS:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
command -v wrk >/dev/null || { echo "==> installing wrk (Debian)"; apt-get install -y -qq wrk >/dev/null; }
# shellcheck source=scripts/lib/worker.sh
source scripts/lib/worker.sh

# CPU time (user + system, clock ticks) of the workerd processes serving the Worker.
workerd_ticks() {
  local total=0 pid
  for pid in $(pgrep -g "$SERVER" workerd); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
HZ="$(getconf CLK_TCK)"
run() { # name, then wrk arguments → "name|req/s|p50|p99|non-2xx|workerd CPU ms per request"
  local name="$1"; shift
  local before; before="$(workerd_ticks)"
  local out; out="$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@")"
  local ticks=$(( $(workerd_ticks) - before ))
  local requests; requests="$(awk '/requests in/ {print $1}' <<<"$out")"
  echo "$name|$(awk '/Requests\/sec/ {print $2}' <<<"$out")|$(awk '$1=="50%" {print $2}' <<<"$out")|$(awk '$1=="99%" {print $2}' <<<"$out")|$(awk '/Non-2xx/ {print $5}' <<<"$out" | grep . || echo 0)|$(python3 -c "print(f'{$ticks * 1000 / $HZ / max($requests, 1):.2f}')")"
}
timing() { curl -s -o /dev/null -D - "$@" | awk -F': ' 'tolower($1)=="server-timing" {print $2}' | tr -d '\r'; }
post_script "$WORK/authorize-key.lua" "$KEY"
post_script "$WORK/authorize-session.lua" "$SESSION"
AUTHZ=(-X POST -H 'Content-Type: application/json' -d "{\"permission\":\"org:read\",\"org_id\":\"$ORG\"}")

echo "warming up…"
taskset -c 1 wrk -t1 -c4 -d2s "$BASE/health" >/dev/null
taskset -c 1 wrk -t1 -c4 -d2s -H "Authorization: Bearer $KEY" "$BASE/v1/orgs/$ORG" >/dev/null
taskset -c 1 wrk -t1 -c4 -d2s -H "Authorization: Bearer $SESSION" "$BASE/v1/me" >/dev/null

ROWS=() TIMES=()
measure() { # name, timing curl args (as one string array name), wrk args...
  local name="$1" tvar="$2"; shift 2
  local -n targs="$tvar"
  ROWS+=("$(run "$name" "$@")")
  TIMES+=("$(timing "${targs[@]}")")
}
T_H=("$BASE/health");                                                   measure "GET /health" T_H "$BASE/health"
T_KO=(-H "Authorization: Bearer $KEY" "$BASE/v1/orgs/$ORG");            measure "GET /v1/orgs/{id} (API key)" T_KO -H "Authorization: Bearer $KEY" "$BASE/v1/orgs/$ORG"
T_KA=("${AUTHZ[@]}" -H "Authorization: Bearer $KEY" "$BASE/v1/authorize"); measure "POST /v1/authorize (API key)" T_KA -s "$WORK/authorize-key.lua" "$BASE/v1/authorize"
T_SA=("${AUTHZ[@]}" -H "Authorization: Bearer $SESSION" "$BASE/v1/authorize"); measure "POST /v1/authorize (session)" T_SA -s "$WORK/authorize-session.lua" "$BASE/v1/authorize"
T_SM=(-H "Authorization: Bearer $SESSION" "$BASE/v1/me");               measure "GET /v1/me (session)" T_SM -H "Authorization: Bearer $SESSION" "$BASE/v1/me"
T_SO=(-H "Authorization: Bearer $SESSION" "$BASE/v1/orgs/$ORG");        measure "GET /v1/orgs/{id} (session)" T_SO -H "Authorization: Bearer $SESSION" "$BASE/v1/orgs/$ORG"
if [ "${BENCH_SCALE:-small}" = large ]; then
  # Page 1 and page 1 000 of the 10 000-member org's members (10 a page) and
  # audit log (100 a page), the later cursor found by walking the pages.
  read -r MEMBERS_1000 AUDIT_1000 < <(python3 - "$BASE" "$ORG" "$SESSION" <<'PY'
import json, sys, urllib.parse, urllib.request
base, org, bearer = sys.argv[1:4]
def cursor_of_page(path, limit, page):
    cursor = None
    for _ in range(page - 1):
        q = f"?limit={limit}" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        req = urllib.request.Request(base + path + q, headers={"authorization": "Bearer " + bearer})
        with urllib.request.urlopen(req) as r: cursor = json.loads(r.read())["next_cursor"]
    return urllib.parse.quote(cursor)
print(cursor_of_page(f"/v1/orgs/{org}/members", 10, 1000), cursor_of_page(f"/v1/orgs/{org}/audit-log", 100, 1000))
PY
)
  M="$BASE/v1/orgs/$ORG/members?limit=10"; L="$BASE/v1/orgs/$ORG/audit-log?limit=100"
  T_M1=(-H "Authorization: Bearer $SESSION" "$M");                     measure "members, page 1" T_M1 -H "Authorization: Bearer $SESSION" "$M"
  T_M2=(-H "Authorization: Bearer $SESSION" "$M&cursor=$MEMBERS_1000"); measure "members, page 1000" T_M2 -H "Authorization: Bearer $SESSION" "$M&cursor=$MEMBERS_1000"
  T_L1=(-H "Authorization: Bearer $SESSION" "$L");                     measure "audit log, page 1" T_L1 -H "Authorization: Bearer $SESSION" "$L"
  T_L2=(-H "Authorization: Bearer $SESSION" "$L&cursor=$AUDIT_1000");  measure "audit log, page 1000" T_L2 -H "Authorization: Bearer $SESSION" "$L&cursor=$AUDIT_1000"
fi
measure "GET /health (again)" T_H "$BASE/health"

# argon2id in workerd vs natively: sequential sign-ins (one hash each) less
# their D1 time, less the same for /health (the request's own overhead).
ARGON_WORKERD="$(taskset -c 1 python3 - "$BASE" <<'PY'
import json, re, statistics, sys, time, urllib.request
base = sys.argv[1]
def timed(path, body=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None, method="POST" if body else "GET")
    req.add_header("content-type", "application/json")
    started = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        r.read(); timing = r.headers.get("server-timing", "")
    wall = (time.perf_counter() - started) * 1000
    return wall - float(re.search(r"dur=([0-9.]+)", timing).group(1))
login = {"email": "bench@example.com", "password": "correct horse battery staple"}
signin = statistics.median(timed("/v1/auth/login", login) for _ in range(15))
floor = statistics.median(timed("/health") for _ in range(15))
print(f"{signin - floor:.1f}")
PY
)"
# The native hash on the Worker's core, as the Worker's ran.
cargo build -q --example argon2_native
ARGON_NATIVE="$(taskset -c 0 target/debug/examples/argon2_native 15)"

python3 - "$CONNECTIONS" "$DURATION" "${BENCH_SCALE:-small}" "${#ROWS[@]}" "${ROWS[@]}" "${TIMES[@]}" <<'PY'
import sys
def ms(v):
    return float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
conns, secs, scale, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = [a.split("|") for a in sys.argv[5:5 + n]]
times = sys.argv[5 + n:5 + 2 * n]
floor = (float(rows[0][1]) + float(rows[-1][1])) / 2
floor_p99 = (ms(rows[0][3]) + ms(rows[-1][3])) / 2
print(f"\n{conns} connections, {secs} s each, data: {scale}; server on core 0, wrk on core 1")
print(f"/health floor (mean of the first and last run): {floor:.0f} req/s, p99 {floor_p99:.1f} ms\n")
floor_cpu = (float(rows[0][5]) + float(rows[-1][5])) / 2
print(f"{'route':32} {'req/s':>7} {'p50':>8} {'p99':>8} {'non2xx':>6} {'floor':>6} {'p99×':>5} {'CPU':>5} {'+CPU':>5}  D1 (Server-Timing)")
failed = []
for row, t in zip(rows, times):
    share, p99x = float(row[1]) / floor, ms(row[3]) / floor_p99
    health = row[0].startswith("GET /health") or "page" in row[0]
    ok = health or (share >= 0.9 and p99x <= 1.5)
    if not ok: failed.append(row[0])
    cpu = float(row[5])
    print(f"{row[0]:32} {float(row[1]):7.0f} {row[2]:>8} {row[3]:>8} {row[4]:>6} {share:6.0%} {p99x:5.2f} {cpu:5.2f} {cpu - floor_cpu:+5.2f}  {t}{'' if ok else '  ← below goal'}")
print("\nCPU: workerd's CPU time (user + system, every thread: the isolate, D1's SQLite, the local")
print("rate limiter) per request, in ms; +CPU: beyond /health's, i.e. beyond the D1 call (goal ≤ 0.5 ms for a key check)")
print("goals: ≥ 90 % of the floor and p99 ≤ 1.5× for every one-round-trip route")
print("all met" if not failed else "not met: " + ", ".join(failed))
PY
python3 -c "import sys; w, n = float(sys.argv[1]), float(sys.argv[2]); print(f'\nargon2id (m=19 MiB, t=2, p=1): {w:.1f} ms in workerd, {n:.1f} ms natively = {w / n:.2f}x (goal <= 1.5x)')" "$ARGON_WORKERD" "$ARGON_NATIVE"
