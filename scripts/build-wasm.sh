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
"$ROOT/.tools/bin/worker-build" --release
# The function-name section is ~60 KiB of the gzipped upload and only helps a
# profiler: the deployed module goes without it; `make profile` runs the copy
# kept in target/ that still has it.
mkdir -p target
cp build/index_bg.wasm target/index_bg.names.wasm
"$WASM_OPT_BIN" --strip-debug --strip-producers build/index_bg.wasm -o build/index_bg.wasm
