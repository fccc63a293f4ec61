#!/usr/bin/env bash
# Instruction counts per operation (callgrind), host vs raw wasmi: repeatable where wall-clock
# timings on a shared machine are not. Runs benches/examples/icount.rs with n1 and n2 repetitions
# and prints "ICOUNT <case> <arg> <instructions per operation>" from the difference.
#   scripts/icount.sh > benches/target/icount.txt   (needs valgrind)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/benches"
cargo build -q --release --ignore-rust-version --example icount
BIN=target/release/examples/icount
total() { # case n arg
  local out
  out="$(mktemp)"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" "$1" "$2" "${3:-}" >/dev/null 2>&1
  callgrind_annotate "$out" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,
  rm -f "$out"
}
per_op() { # case n1 n2 arg
  local a b
  a="$(total "$1" "$2" "${4:-}")"
  b="$(total "$1" "$3" "${4:-}")"
  echo "ICOUNT $1 ${4:--} $(((b - a) / ($3 - $2)))"
}
for w in fib25 sort10k sha256_64k; do
  for e in host wasmi wasmi_fuel; do per_op "throughput-$e" 1 3 "$w"; done
done
for e in host wasmi; do per_op "roundtrip-$e" 1000 11000; done
for e in memfs nullfs raw; do per_op "hostcall-$e" 10 110; done
shopt -s nullglob # no bundled plugins built: no load rows
for f in "$ROOT"/plugins/target/wasm32-unknown-unknown/release/*.wasm; do
  stem="$(basename "$f" .wasm)"
  for e in host wasmi; do per_op "load-$e" 5 25 "$stem"; done
done
