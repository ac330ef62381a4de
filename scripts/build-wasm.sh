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
"$ROOT/.tools/bin/worker-build" --release
# The function-name section is ~60 KiB of the gzipped upload and only helps a
# profiler: the deployed module goes without it; `make profile` runs the copy
# kept in target/ that still has it.
mkdir -p target
cp build/index_bg.wasm target/index_bg.names.wasm
"$WASM_OPT_BIN" --strip-debug --strip-producers build/index_bg.wasm -o build/index_bg.wasm
