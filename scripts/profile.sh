#!/usr/bin/env bash
# make profile: drives the benchmark's load at the Worker (a key-authenticated
# read, then POST /v1/authorize with a key) while recording a CPU profile of it
# through workerd's inspector. Writes target/profile/*.cpuprofile and prints
# the top functions by self time. Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${BENCH_SECONDS:-10}"
command -v wrk >/dev/null || { echo "==> installing wrk (Debian)"; apt-get install -y -qq wrk >/dev/null; }
# shellcheck source=scripts/lib/worker.sh
WITH_NAMES=1 source scripts/lib/worker.sh
post_script "$WORK/authorize.lua" "$KEY"
mkdir -p target/profile
taskset -c 1 wrk -t1 -c4 -d2s -H "Authorization: Bearer $KEY" "$BASE/v1/orgs/$ORG" >/dev/null  # warm up
echo "==> GET /v1/orgs/{id} with an API key"
node scripts/profile.mjs "$INSPECT" target/profile/org-read-key.cpuprofile -- \
  taskset -c 1 wrk -t1 -c16 -d"${DURATION}s" -H "Authorization: Bearer $KEY" "$BASE/v1/orgs/$ORG"
echo "==> POST /v1/authorize with an API key"
node scripts/profile.mjs "$INSPECT" target/profile/authorize-key.cpuprofile -- \
  taskset -c 1 wrk -t1 -c16 -d"${DURATION}s" -s "$WORK/authorize.lua" "$BASE/v1/authorize"
echo "==> GET /v1/me with a session's access token"
node scripts/profile.mjs "$INSPECT" target/profile/me-session.cpuprofile -- \
  taskset -c 1 wrk -t1 -c16 -d"${DURATION}s" -H "Authorization: Bearer $SESSION" "$BASE/v1/me"
echo "==> GET /health (the floor, for comparison)"
node scripts/profile.mjs "$INSPECT" target/profile/health.cpuprofile -- \
  taskset -c 1 wrk -t1 -c16 -d"${DURATION}s" "$BASE/health"
