#!/usr/bin/env bash
# `make test`: every check and test, in two lanes so both cores stay busy.
#   lane A (wasm32, its own target dir): clippy for wasm32 (both Workers:
#          the full crate and the edge build), the release builds of both
#          Workers, the console bundle;
#   lane B (host): fmt, clippy (the server, the client crate and the CLI),
#          the `latchkey` binary and the test binaries, then the unit and
#          native tests.
# The runtime tests (the built Worker under wrangler dev) run once both lanes
# are done. Each lane stops at its first failure; so does this script.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
export WASM_TARGET_DIR="${WASM_TARGET_DIR:-$ROOT/target/wasm}"
E2E_THREADS="${E2E_THREADS:-4}"

bash scripts/setup-browser.sh

lane_log="$(mktemp)"
trap 'rm -f "$lane_log"' EXIT
(
  set -e
  CARGO_TARGET_DIR="$WASM_TARGET_DIR" cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings
  CARGO_TARGET_DIR="$WASM_TARGET_DIR" cargo clippy --lib --target wasm32-unknown-unknown --features edge -- -D warnings
  sh scripts/build-wasm.sh
  sh scripts/build-console.sh
) >"$lane_log" 2>&1 &
lane=$!

finish_lane() {
  local status=0
  wait "$lane" || status=$?
  echo "==> lane A (wasm32 clippy, release build, console):"
  cat "$lane_log"
  if [ "$status" -ne 0 ]; then
    echo "lane A failed (exit $status)" >&2
    exit "$status"
  fi
}
# Whatever lane B does, lane A's output is shown and it is not left running.
trap 'kill "$lane" 2>/dev/null || true; rm -f "$lane_log"' EXIT

cargo fmt --all --check
cargo clippy --lib --tests -- -D warnings
# The client crate and the CLI (cli/): their lint, their unit tests and the
# `latchkey` binary the runtime tests run (tests/e2e_cli.rs). They share the
# server's compiled dependencies.
cargo clippy -p latchkey-client -p latchkey-cli --all-targets -- -D warnings
cargo build -p latchkey-cli
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$ROOT/$target_dir" ;; esac
export LATCHKEY_CLI_BIN="$target_dir/debug/latchkey"
cargo test --no-run --lib --test native --test e2e
cargo test --no-fail-fast --lib --test native
cargo test --no-fail-fast -p latchkey-client -p latchkey-cli
finish_lane
cargo test --no-fail-fast --test e2e -- --test-threads="$E2E_THREADS"
