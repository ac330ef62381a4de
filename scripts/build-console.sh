#!/bin/sh
# Builds the console (console/) into build/console with the esbuild that ships
# inside node_modules (wrangler's own dependency): no network, no new tools.
# One JS bundle and one stylesheet, minified; index.html and _headers copied.
set -eu
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
OUT="$ROOT/build/console"
ESBUILD="$ROOT/node_modules/.bin/esbuild"
rm -rf "$OUT"
mkdir -p "$OUT/assets"
"$ESBUILD" console/src/main.js --bundle --minify --format=esm --target=es2022 \
  --legal-comments=none --log-level=warning --outfile="$OUT/assets/app.js"
"$ESBUILD" console/src/styles.css --bundle --minify --log-level=warning --outfile="$OUT/assets/app.css"
cp console/index.html console/_headers "$OUT/"
# The OpenAPI document is a static file too: served from here, not from the wasm.
cp src/http/openapi.json "$OUT/openapi.json"
