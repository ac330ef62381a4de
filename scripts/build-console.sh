#!/bin/sh
# Builds the console (console/) into build/console with the esbuild that ships
# inside node_modules (wrangler's own dependency): no network, no new tools.
# One JS bundle and one stylesheet, minified; index.html and _headers copied.
# The API reference (/docs) is a page of its own, not part of that bundle:
# Swagger UI's prebuilt bundle and stylesheet (swagger-ui-dist, from the lock)
# beside a small module that starts it, so the console's first load is as before.
# docs.html is served at /docs (Static Assets drop the .html), its files under /docs/.
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
mkdir -p "$OUT/docs"
"$ESBUILD" console/docs/docs.js --bundle --minify --format=esm --target=es2022 \
  --legal-comments=none --log-level=warning --outfile="$OUT/docs/docs.js"
SWAGGER="$ROOT/node_modules/swagger-ui-dist"
cp console/docs.html "$OUT/docs.html"
cp console/docs/docs.css "$SWAGGER/swagger-ui-bundle.js" "$SWAGGER/swagger-ui.css" "$OUT/docs/"
cp "$SWAGGER/LICENSE" "$OUT/docs/swagger-ui-LICENSE.txt"
# The OpenAPI document is a static file too: served from here, not from the wasm.
cp src/http/openapi.json "$OUT/openapi.json"
