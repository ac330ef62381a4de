#!/bin/sh
# Prints the gzip size of what a browser downloads on the console's first load
# (its one script and one stylesheet) and fails over the 100 KiB budget.
set -eu
cd "$(dirname "$0")/.."
DIR=build/console/assets
LIMIT=102400
js=$(gzip -9c "$DIR/app.js" | wc -c)
css=$(gzip -9c "$DIR/app.css" | wc -c)
total=$((js + css))
printf 'console first load (gzip -9): app.js %d B + app.css %d B = %d B (%d.%d KiB; budget 100 KiB)\n' \
  "$js" "$css" "$total" $((total / 1024)) $((total % 1024 * 10 / 1024))
if [ "$total" -gt "$LIMIT" ]; then
  echo "the console's first load is over its 100 KiB budget" >&2
  exit 1
fi
