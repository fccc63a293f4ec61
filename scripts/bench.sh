#!/usr/bin/env bash
# Builds and runs the benchmarks in benches/ (their own cargo workspace and target dir) and writes
# docs/performance.md from a real run: criterion timings, whole-process CPU time of the shipped
# CLI against wasmi's own CLI, the native-stack patch before/after, instruction counts.
#
#   scripts/bench.sh                 # everything: peers that build, all benches, report
#   BENCH_PEERS="" scripts/bench.sh  # raw wasmi baselines only (no wasmtime/extism/wasm3 build)
#   BENCH_PROFILE=1 scripts/bench.sh # also callgrind profiles of the host-side benchmarks
# With valgrind installed it also counts instructions per operation (scripts/icount.sh).
#   BENCH_SKIP_RUN=1 scripts/bench.sh # only regenerate docs/performance.md from the last run
#
# Knobs: BENCH_MEASUREMENT_TIME (s, default 2), BENCH_WARM_UP (s, default 0.5),
# BENCH_PEERS (default "peer-wasmtime peer-extism peer-wasm3"), BENCH_FILTER (criterion filter),
# BENCH_WHOLE=0 (skip the whole-process comparisons and the unpatched builds), BENCH_PAIRS
# (whole-process A/B pairs per workload, default 21; each run pinned to one CPU). With valgrind
# installed the whole-process comparisons are also made by instruction count (cachegrind).
# Peers need: wasmtime 49 / extism 1.41 declare rustc >= 1.96, so they are built with
# --ignore-rust-version; wasm3 0.5.0 is compiled from the C sources in the `pywasm3` 0.5.0 source
# package (fetched with pip; needs a C compiler). The whole-process comparison installs
# `wasmi_cli` 2.0.0 with `cargo install` into benches/target/wasmi-cli (its own profile: fat LTO,
# one codegen unit) and builds the host's CLI three ways: the shipped profile, the default
# release profile, and the shipped profile against wasmi without the native-stack patch 0001 (a
# copy of the tree with 0001 reversed in its vendored wasmi, in benches/target/unpatched).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCHES="$ROOT/benches"
cd "$BENCHES"

export BENCH_MEASUREMENT_TIME="${BENCH_MEASUREMENT_TIME:-2}"
export BENCH_WARM_UP="${BENCH_WARM_UP:-0.5}"
PEERS="${BENCH_PEERS-peer-wasmtime peer-extism peer-wasm3}"
FILTER="${BENCH_FILTER:-}"
WHOLE="${BENCH_WHOLE:-1}"
PAIRS="${BENCH_PAIRS:-21}"
CARGO=(cargo)
FLAGS=(--release --ignore-rust-version)
BFLAGS=(--ignore-rust-version) # cargo bench is always optimised (bench profile = release)
mkdir -p target

rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

# The bundled plugins, for the load benchmarks and counts (plugins/.cargo/config.toml applies).
if [[ -z "${BENCH_SKIP_RUN:-}" ]]; then
  (cd "$ROOT/plugins" && cargo build -q --release --locked --target wasm32-unknown-unknown)
fi

# ---- which peers build ------------------------------------------------------------------
BUILT=()
FAILED=""
if [[ -z "${BENCH_SKIP_RUN:-}" ]]; then
  if [[ " $PEERS " == *" peer-wasm3 "* ]]; then
    # wasm3 0.5.0's C sources, from the pywasm3 source package (the wasm3 crate on crates.io
    # vendors wasm3 0.4.7, which cannot compile multi-value block types that rustc now emits).
    W3="$BENCHES/target/wasm3-src"
    if [[ ! -f "$W3/pywasm3-0.5.0/wasm3/wasm3.h" ]]; then
      rm -rf "$W3" && mkdir -p "$W3"
      python3 -m pip download -q pywasm3==0.5.0 --no-binary :all: --no-deps -d "$W3" >"$W3/pip.log" 2>&1 \
        && tar xzf "$W3/pywasm3-0.5.0.tar.gz" -C "$W3" || echo "== wasm3 sources not available (see $W3/pip.log)"
    fi
    export WASM3_SOURCE_DIR="$W3/pywasm3-0.5.0/wasm3"
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

  # ---- builds for the whole-process comparisons (all compiling before any timing) -----------
  rm -f target/whole.txt target/unpatched-criterion.txt
  if [[ "$WHOLE" == 1 ]]; then
    echo "== whole-process builds"
    # The compute guest, as build.rs builds it.
    cargo build -q --release --target wasm32-unknown-unknown --manifest-path guest/Cargo.toml \
      --target-dir target/guest
    GUEST_WASM="$BENCHES/target/guest/wasm32-unknown-unknown/release/bench_guest.wasm"
    # wasmi's own CLI, built by cargo install with the profile it publishes (fat LTO, 1 CGU), from
    # outside this repository so that our .cargo/config.toml (function alignment) does not apply.
    WASMI_CLI="$BENCHES/target/wasmi-cli/bin/wasmi"
    if ! "$WASMI_CLI" --version 2>/dev/null | grep -q ' 2\.0\.0'; then
      (cd / && cargo install -q --locked wasmi_cli --version 2.0.0 --root "$BENCHES/target/wasmi-cli")
    fi
    # The control: wasmi's CLI 2.0.0 once more, with the same interpreter features (stable,
    # validate, memory64, auto-dispatch) but without its WASI and wast support, which the compute
    # module never reaches. Its ratio to the published build is how far a build's code placement
    # alone moves these workloads.
    WASMI_CLI_CONTROL="$BENCHES/target/wasmi-cli-control/bin/wasmi"
    if ! "$WASMI_CLI_CONTROL" --version 2>/dev/null | grep -q ' 2\.0\.0'; then
      (cd / && cargo install -q --locked wasmi_cli --version 2.0.0 --no-default-features \
        --features stable,run,wat,validate,memory64,auto-dispatch --root "$BENCHES/target/wasmi-cli-control")
    fi
    # The host's CLI: the shipped profile, and the default release profile without the function
    # alignment of .cargo/config.toml (RUSTFLAGS set, even empty, replaces it): the "before".
    (cd "$ROOT" && cargo build -q --locked --release -p pluginhost-cli)
    HOST_CLI="$ROOT/target/release/pluginhost"
    (cd "$ROOT" && RUSTFLAGS="" CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      CARGO_TARGET_DIR="$BENCHES/target/cli-default-profile" cargo build -q --locked --release -p pluginhost-cli)
    HOST_CLI_DEFAULT="$BENCHES/target/cli-default-profile/release/pluginhost"
    # The shipped profile with feature `compact-code` (wasmi's compact encoding, as the firmware
    # builds it): what that encoding costs in speed.
    (cd "$ROOT" && CARGO_TARGET_DIR="$BENCHES/target/cli-compact-code" \
      cargo build -q --locked --release -p pluginhost-cli --features pluginhost/compact-code)
    HOST_CLI_COMPACT="$BENCHES/target/cli-compact-code/release/pluginhost"
    # The same tree on the vendored wasmi without patch 0001 (the native-stack fix), reversed in
    # a copy: the host needs the later patches' API (`Module::new_static`, 0002; the cached
    # translation allocations, 0003), so "unpatched" is "without 0001", the patch it measures.
    UNPATCHED="$BENCHES/target/unpatched"
    rm -rf "$UNPATCHED/tree" && mkdir -p "$UNPATCHED/tree"
    (cd "$ROOT" && tar --exclude='benches/target' --exclude='benches/guest/target' \
      -cf - Cargo.toml Cargo.lock src proto cli bundled testbed benches vendor) | tar -xf - -C "$UNPATCHED/tree"
    (cd "$UNPATCHED/tree/vendor/wasmi" \
      && patch -s -R -p3 < ../wasmi-patches/0001-sibling-call-dispatch-for-grow-and-call-indirect.patch)
    if grep -rq memory_grow_outlined "$UNPATCHED/tree/vendor/wasmi/src"; then
      echo "error: the unpatched copy still has patch 0001" >&2; exit 1
    fi
    (cd "$UNPATCHED/tree" && CARGO_TARGET_DIR="$UNPATCHED/target" cargo build -q --release -p pluginhost-cli)
    HOST_CLI_UNPATCHED="$UNPATCHED/target/release/pluginhost"
    (cd "$UNPATCHED/tree/benches" && CARGO_TARGET_DIR="$UNPATCHED/benches-target" \
      cargo build -q --release --ignore-rust-version --bench throughput)
  fi

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

  # ---- the native-stack patch before/after (criterion, same profile) -------------------------
  if [[ "$WHOLE" == 1 ]]; then
    echo "== bench throughput against unpatched wasmi"
    rm -rf "$UNPATCHED/benches-target/criterion"
    (cd "$UNPATCHED/tree/benches" && CARGO_TARGET_DIR="$UNPATCHED/benches-target" cargo bench -q --ignore-rust-version --bench throughput -- \
      --warm-up-time "$BENCH_WARM_UP" --measurement-time "$BENCH_MEASUREMENT_TIME" --noplot \
      '^throughput/[a-z0-9_]+/(host|wasmi|wasmi_fuel)$' 2>&1 | grep -E 'time:' || true)
    rm -rf target/criterion-unpatched
    cp -r "$UNPATCHED/benches-target/criterion" target/criterion-unpatched

    # ---- whole process: CPU time of one run of a CLI, A/B pairs ------------------------------
    echo "== whole process (median of $PAIRS pairs, CPU time)"
    FUEL=100000000000
    WL=fib_long,sort_long,sha_long,xor_loop
    HOST_RUN="run $GUEST_WASM --entry {w} --fuel $FUEL"
    WASMI_RUN="$WASMI_CLI run --compilation-mode eager --fuel $FUEL --invoke {w} $GUEST_WASM"
    python3 "$BENCHES/wholeproc.py" shipped-vs-wasmi-cli "$PAIRS" "$WL" "$HOST_CLI $HOST_RUN" "$WASMI_RUN" | tee -a target/whole.txt
    python3 "$BENCHES/wholeproc.py" default-profile-vs-wasmi-cli "$PAIRS" "$WL" "$HOST_CLI_DEFAULT $HOST_RUN" "$WASMI_RUN" | tee -a target/whole.txt
    python3 "$BENCHES/wholeproc.py" patched-vs-unpatched "$PAIRS" "$WL" "$HOST_CLI $HOST_RUN" "$HOST_CLI_UNPATCHED $HOST_RUN" | tee -a target/whole.txt
    python3 "$BENCHES/wholeproc.py" control-vs-wasmi-cli "$PAIRS" "$WL" \
      "$WASMI_CLI_CONTROL run --compilation-mode eager --fuel $FUEL --invoke {w} $GUEST_WASM" "$WASMI_RUN" | tee -a target/whole.txt
    python3 "$BENCHES/wholeproc.py" compact-vs-shipped "$PAIRS" "$WL" "$HOST_CLI_COMPACT $HOST_RUN" "$HOST_CLI $HOST_RUN" | tee -a target/whole.txt
    # The shipped CLI against itself: how far this machine moves a ratio of two equal processes.
    python3 "$BENCHES/wholeproc.py" shipped-vs-shipped "$PAIRS" "$WL" "$HOST_CLI $HOST_RUN" "$HOST_CLI $HOST_RUN" | tee -a target/whole.txt
    # The same comparisons by instruction count: exact, so a ratio within the time noise above
    # still shows whether the two processes execute the same work.
    if command -v valgrind >/dev/null; then
      echo "== whole process, instruction counts (cachegrind)"
      python3 "$BENCHES/wholeproc.py" --instructions shipped-vs-wasmi-cli "$WL" "$HOST_CLI $HOST_RUN" "$WASMI_RUN" | tee -a target/whole.txt
      python3 "$BENCHES/wholeproc.py" --instructions patched-vs-unpatched "$WL" "$HOST_CLI $HOST_RUN" "$HOST_CLI_UNPATCHED $HOST_RUN" | tee -a target/whole.txt
      python3 "$BENCHES/wholeproc.py" --instructions compact-vs-shipped "$WL" "$HOST_CLI_COMPACT $HOST_RUN" "$HOST_CLI $HOST_RUN" | tee -a target/whole.txt
    fi
  fi
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
