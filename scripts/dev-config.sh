#!/bin/sh
# `make dev`'s configuration for one port: both Workers (the edge Worker,
# wrangler.toml, and the management Worker it hands most routes to,
# wrangler.manage.toml) run in one `wrangler dev`, which gives `--var` to the
# first only; each reads the `.dev.vars` beside its config. So this writes,
# into OUT:
#   .dev.vars              the settings and secrets of SOURCE (default: the
#                          repository's .dev.vars, written by scripts/setup.sh),
#                          then APP_URL for this port and every KEY=VALUE given
#                          (each replacing an earlier line of the same key);
#   wrangler.toml          the edge config, its paths made absolute;
#   wrangler.manage.toml   the management config, likewise.
# Usage: sh scripts/dev-config.sh [--vars-only | --built] OUT PORT [KEY=VALUE ...]
#        (SOURCE=… to read another settings file)
# `--vars-only` writes OUT/.dev.vars alone (the runtime tests bring their own
# configs). `--built` leaves the [build] step out of the edge config: the
# modules are built already (make bench, make profile, make fuzz).
set -eu
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VARS_ONLY=
BUILT=0
case "${1:-}" in
  --vars-only) VARS_ONLY=1; shift ;;
  --built) BUILT=1; shift ;;
esac
[ $# -ge 2 ] || { echo "usage: $0 [--vars-only | --built] OUT PORT [KEY=VALUE ...]" >&2; exit 2; }
OUT="$1"; PORT="$2"; shift 2
SOURCE="${SOURCE:-$ROOT/.dev.vars}"
mkdir -p "$OUT"

# The lines of SOURCE, less those of keys set here, then the keys set here.
keys="APP_URL"
for pair in "$@"; do
  case "$pair" in
    *=*) keys="$keys ${pair%%=*}" ;;
    *) echo "$0: not KEY=VALUE: $pair" >&2; exit 2 ;;
  esac
done
tmp="$OUT/.dev.vars.tmp"
: > "$tmp"
if [ -f "$SOURCE" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    key="${line%%=*}"
    case " $keys " in *" $key "*) continue ;; esac
    printf '%s\n' "$line" >> "$tmp"
  done < "$SOURCE"
fi
# dotenv values in double quotes, with backslashes and quotes escaped.
quote() { printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"; }
printf 'APP_URL=%s\n' "$(quote "http://127.0.0.1:$PORT")" >> "$tmp"
for pair in "$@"; do
  printf '%s=%s\n' "${pair%%=*}" "$(quote "${pair#*=}")" >> "$tmp"
done
mv "$tmp" "$OUT/.dev.vars"
[ -n "$VARS_ONLY" ] && exit 0

# The configs: `main`, the migrations, the console's assets and the build's
# command and watched folders made absolute (wrangler reads them relative to
# the config's folder); with --built, no [build] section at all.
for config in wrangler.toml wrangler.manage.toml; do
  awk -v root="$ROOT" -v built="$BUILT" '
    function absolute(line, key) { # key = "X"  ->  key = "ROOT/X"
      sub(/^[^"]*"/, "", line); sub(/".*$/, "", line)
      return key " = \"" root "/" line "\""
    }
    /^\[/ { in_build = ($0 ~ /^\[build(\.|\])/) }
    in_build && built { next }
    /^main[[:space:]]*=/ { print absolute($0, "main"); next }
    /^migrations_dir[[:space:]]*=/ { print absolute($0, "migrations_dir"); next }
    /^directory[[:space:]]*=/ { print absolute($0, "directory"); next }
    in_build && /^command[[:space:]]*=/ { sub(/^command[[:space:]]*=[[:space:]]*"/, ""); print "command = \"cd \047" root "\047 && " $0; next }
    in_build && /^watch_dir[[:space:]]*=/ { print "watch_dir = [\"" root "/src\", \"" root "/console\"]"; next }
    { print }' "$config" > "$OUT/$config"
done
