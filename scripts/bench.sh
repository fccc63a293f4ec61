#!/usr/bin/env bash
# Builds and runs the benchmarks in benches/ (their own cargo workspace and target dir) and writes
# docs/performance.md from criterion's estimates.
#
#   scripts/bench.sh                 # everything: peers that build, all benches, report
#   BENCH_PEERS="" scripts/bench.sh  # raw wasmi baselines only (no wasmtime/extism/wasm3 build)
#   BENCH_PROFILE=1 scripts/bench.sh # also callgrind profiles of the host-side benchmarks
# With valgrind installed it also counts instructions per operation (scripts/icount.sh).
#   BENCH_SKIP_RUN=1 scripts/bench.sh # only regenerate docs/performance.md from the last run
#
# Knobs: BENCH_MEASUREMENT_TIME (s, default 2), BENCH_WARM_UP (s, default 0.5),
# BENCH_PEERS (default "peer-wasmtime peer-extism peer-wasm3"), BENCH_FILTER (criterion filter).
# Peers need: wasmtime 49 / extism 1.41 declare rustc >= 1.96, so they are built with
# --ignore-rust-version; wasm3 needs libclang (apt-get install libclang-dev clang).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCHES="$ROOT/benches"
cd "$BENCHES"

export BENCH_MEASUREMENT_TIME="${BENCH_MEASUREMENT_TIME:-2}"
export BENCH_WARM_UP="${BENCH_WARM_UP:-0.5}"
PEERS="${BENCH_PEERS-peer-wasmtime peer-extism peer-wasm3}"
FILTER="${BENCH_FILTER:-}"
CARGO=(cargo)
FLAGS=(--release --ignore-rust-version)
BFLAGS=(--ignore-rust-version) # cargo bench is always optimised (bench profile = release)
mkdir -p target

rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

# ---- which peers build ------------------------------------------------------------------
BUILT=()
FAILED=""
if [[ -z "${BENCH_SKIP_RUN:-}" ]]; then
  if [[ " $PEERS " == *" peer-wasm3 "* ]] && ! ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1; then
    apt-get install -y -qq libclang-dev clang >/dev/null 2>&1 || true
  fi
  echo "== building benches with features: ${PEERS:-<none>}"
  if [[ -n "$PEERS" ]] && "${CARGO[@]}" build "${FLAGS[@]}" --benches --features "${PEERS// /,}" >target/build.log 2>&1; then
    read -r -a BUILT <<<"$PEERS"
  else
    for p in $PEERS; do
      echo "== trying $p alone"
      if "${CARGO[@]}" build "${FLAGS[@]}" --benches --features "$p" >"target/build-$p.log" 2>&1; then
        BUILT+=("$p")
      else
        FAILED+="$p (build failed: $(grep -m1 -E '^error' "target/build-$p.log" | cut -c1-160)); "
      fi
    done
  fi
  FEATURES="$(IFS=,; echo "${BUILT[*]:-}")"
  echo "$FEATURES" >target/peers_built.txt
  echo "$FAILED" >target/peers_failed.txt
  FEAT=()
  [[ -n "$FEATURES" ]] && FEAT=(--features "$FEATURES")
  "${CARGO[@]}" build "${FLAGS[@]}" --benches --tests "${FEAT[@]}"

  date -u '+%Y-%m-%d %H:%M UTC' >target/run_date.txt
  LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$LOAD_START" >target/load_start.txt
  # ---- allocation test ------------------------------------------------------------------
  "${CARGO[@]}" test "${FLAGS[@]}" "${FEAT[@]}" --test alloc 2>&1 | tee target/alloc_test.txt | tail -3

  # ---- timings ----------------------------------------------------------------------------
  rm -rf target/criterion
  for b in throughput roundtrip hostcall load; do
    echo "== bench $b"
    "${CARGO[@]}" bench "${BFLAGS[@]}" "${FEAT[@]}" --bench "$b" -- \
      --warm-up-time "$BENCH_WARM_UP" --measurement-time "$BENCH_MEASUREMENT_TIME" --noplot $FILTER \
      2>&1 | grep -E '^[a-z].*time:|^ +time:|^Benchmarking .*: Analyzing|^[a-z_0-9/]+$' || true
  done
  "${CARGO[@]}" bench "${BFLAGS[@]}" "${FEAT[@]}" --bench memory 2>/dev/null | grep '^MEM' | tee target/memory.txt
  cut -d' ' -f1-3 /proc/loadavg >target/load_end.txt

  # ---- instruction counts (repeatable where timings are not) ------------------------------
  if command -v valgrind >/dev/null; then
    echo "== instruction counts (callgrind)"
    "$ROOT/scripts/icount.sh" | tee target/icount.txt
  else
    rm -f target/icount.txt
  fi

  # ---- profiles (optional) ----------------------------------------------------------------
  if [[ -n "${BENCH_PROFILE:-}" ]] && command -v valgrind >/dev/null; then
    mkdir -p target/profiles
    rm -f target/profiles/*
    profile() { # name bench filter
      local bin
      bin="$(ls -t target/release/deps/"$2"-* | grep -v '\.d$' | head -1)"
      valgrind --tool=callgrind --callgrind-out-file="target/profiles/$1.out" "$bin" --bench \
        --profile-time 2 "$3" >/dev/null 2>&1 || true
      callgrind_annotate --inclusive=no "target/profiles/$1.out" 2>/dev/null \
        | grep -E '^ *[0-9,]+ \(' | head -25 \
        | sed -E 's#/root/.cargo/registry/src/[^/]+/##; s#/rustc/[0-9a-f]+/##' >"target/profiles/$1.txt" || true
      rm -f "target/profiles/$1.out"
    }
    profile hostcall_host_memfs hostcall 'hostcall/fs_write64x1000/host_memfs'
    profile hostcall_wasmi_copy hostcall 'hostcall/fs_write64x1000/wasmi_copy'
    profile roundtrip_host roundtrip 'roundtrip/1k/host$'
    profile load_host_gen_512k load 'load/gen_512k/host'
    profile throughput_host_fib throughput 'throughput/fib25/host'
  fi
fi

# ---- report -----------------------------------------------------------------------------
export PEERS_BUILT="$(tr ',' ' ' <target/peers_built.txt 2>/dev/null || true)"
export PEERS_FAILED="$(cat target/peers_failed.txt 2>/dev/null || true)"
export MACHINE_CPU="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
export MACHINE_CORES="$(nproc)"
export MACHINE_RUSTC="$(rustc -V)"
export MACHINE_DATE="$(cat target/run_date.txt 2>/dev/null || echo '?') (report written $(date -u '+%Y-%m-%d %H:%M UTC'))"
export MACHINE_LOAD_START="$(cat target/load_start.txt 2>/dev/null || echo '?')"
export MACHINE_LOAD_END="$(cat target/load_end.txt 2>/dev/null || echo '?')"
python3 "$BENCHES/report.py" "$BENCHES" "$ROOT/docs/performance.md"
