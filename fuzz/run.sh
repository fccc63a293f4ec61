#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) and fails if any of them finds a crash.
#
#   fuzz/run.sh [SECONDS]
#
# With a nightly toolchain: cargo-fuzz (installed if missing), libFuzzer with AddressSanitizer,
# starting from the committed seeds (fuzz/seeds/<target>, copied into fuzz/corpus/<target>) and
# the regression inputs (fuzz/regressions/<target>). Without nightly: replays the seeds and the
# regression inputs on stable through the same target functions (src/bin/replay.rs).
set -euo pipefail
cd "$(dirname "$0")"

secs="${1:-60}"
targets=(load execute host_abi path_grant host_grant)
# Per input: 10 s; memory: 2 GiB RSS, no single allocation over 512 MiB.
libfuzzer_flags=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512
    -print_final_stats=1)

for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    if [[ -d "seeds/$t" ]]; then
        cp -n "seeds/$t"/* "corpus/$t/" 2>/dev/null || true
    fi
done

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: no nightly toolchain; replaying seeds and regressions on stable"
    exec cargo run --release --no-default-features --features tools --bin replay -- all seeds regressions
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build

failed=()
for t in "${targets[@]}"; do
    echo "==> fuzz $t (${secs}s)"
    dirs=("corpus/$t")
    [[ -d "regressions/$t" ]] && dirs+=("regressions/$t")
    if ! cargo +nightly fuzz run "$t" "${dirs[@]}" -- "${libfuzzer_flags[@]}"; then
        failed+=("$t")
    fi
done

if ((${#failed[@]})); then
    echo "fuzz: crashes in: ${failed[*]} (inputs under fuzz/artifacts/<target>/)" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${secs}s each without a crash"
