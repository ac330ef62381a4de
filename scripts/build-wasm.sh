#!/bin/sh
# Builds the release Worker into build/ with locally installed tools only
# (worker-build would otherwise download wasm-bindgen and wasm-opt from GitHub).
set -eu
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
export WASM_BINDGEN_BIN="$ROOT/.tools/bin/wasm-bindgen"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
export WRANGLER_SEND_METRICS=false
# The wasm32 builds (and the wasm32 lint) keep their own target directory, so
# that `make test` can run them beside the host build instead of behind its
# lock (scripts/test.sh).
export CARGO_TARGET_DIR="${WASM_TARGET_DIR:-$ROOT/target/wasm}"
# Two Workers from one crate (docs/layout.md, "Two Workers"): the management
# Worker (every route, the queue consumers) into build/manage, then the edge
# Worker (feature `edge`: its own routes and the Cron Trigger; it hands the
# rest to the management Worker) into build/. Dependencies compile once.
"$ROOT/.tools/bin/worker-build" --release --out-dir build/manage
"$ROOT/.tools/bin/worker-build" --release --out-dir build -- --features edge
# The function-name section is ~60 KiB of each gzipped upload and only helps
# a profiler: the deployed modules go without it; `make profile` runs the
# copy of the edge Worker's kept in target/ that still has it.
mkdir -p target
cp build/index_bg.wasm target/index_bg.names.wasm
for wasm in build/index_bg.wasm build/manage/index_bg.wasm; do
  "$WASM_OPT_BIN" --strip-debug --strip-producers "$wasm" -o "$wasm"
done
