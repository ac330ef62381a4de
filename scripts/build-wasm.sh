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
exec "$ROOT/.tools/bin/worker-build" --release
