#!/usr/bin/env bash
# The whole test suite: formatting, lints, no_std builds for both microcontroller targets, the
# workspace's tests (host, CLI, proto), the plugins' own tests, and the firmware under QEMU when
# its image exists. Needs only the Rust toolchain; installs the targets it uses.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "rustup targets"
rustup target add thumbv7em-none-eabihf riscv32imac-unknown-none-elf wasm32-unknown-unknown >/dev/null

step "format"
cargo fmt --all -- --check

step "clippy (host workspace, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "no_std core: thumbv7em-none-eabihf and riscv32imac-unknown-none-elf"
for target in thumbv7em-none-eabihf riscv32imac-unknown-none-elf; do
    cargo build -p pluginhost --lib --locked --no-default-features --target "$target"
    cargo build -p pluginhost --lib --locked --no-default-features \
        --features cap-fs,cap-net,cap-process,defmt,compact-code --target "$target"
done

step "docs: library, proto, CLI, bundled, testbed and SDK (cargo doc, -D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked -p pluginhost -p pluginhost-proto -p pluginhost-cli \
    -p pluginhost-bundled -p pluginhost-testbed
(cd sdk && RUSTDOCFLAGS="-D warnings" cargo doc --no-deps)  # the SDK has no lock file of its own

step "tests (workspace)"
cargo test --workspace --locked

step "release profile, the dispatch that ships: containment suite, hostile cases, fuzz regressions, native-stack oracle"
# Debug builds run wasmi's portable dispatch; release builds and the firmware run tail-call
# dispatch, where a handler that is not a sibling call nests a native frame per guest operation.
# Built first and run second: RUST_MIN_STACK would shrink rustc's own threads too.
release_tests=(--test containment --test native_stack --test exhaustion --test fuzz_regressions --test load_static
    --test residency --test plugins --test code_budget)
cargo test --release --locked -p pluginhost "${release_tests[@]}" --no-run
cargo test --release --locked -p pluginhost-cli --no-run
# The small-stack oracle: every test thread gets 256 KiB of native stack, so any per-operation
# native stack growth in a hostile case overflows it (failing the run) long before 8 MiB would.
RUST_MIN_STACK=262144 cargo test --release --locked -p pluginhost "${release_tests[@]}"
# The same hostile and stack suites on wasmi's compact encoding (feature `compact-code`, which
# the firmware ships): another dispatch table and operand layout, so its handlers are checked
# too. Without fat LTO (`release-nolto`) to keep the link time down; same dispatch.
compact_tests=(--test containment --test native_stack --test exhaustion --test fuzz_regressions --test code_budget)
cargo test --profile release-nolto --locked -p pluginhost --features compact-code "${compact_tests[@]}" --no-run
RUST_MIN_STACK=262144 cargo test --profile release-nolto --locked -p pluginhost --features compact-code \
    "${compact_tests[@]}"
# run/check of hostile modules in the release binary; `selftest` probes every operation class.
cargo test --release --locked -p pluginhost-cli
cargo run --release --locked -p pluginhost-cli -- selftest

step "tests with real cryptography in plugins (release: ca-acme against pebble)"
cargo test --release --locked -p pluginhost --test acme

step "demo: the edge agent admits, renews and contains (exits non-zero on any surprise)"
# Against pebble, knotd and nginx (started and stopped by the demo; under CI=true a missing one
# fails it), then on the in-process CA, the path taken where they are not installed.
cargo run --release --locked --example edge_agent
cargo run --release --locked --example edge_agent -- --in-process

if [[ -f plugins/Cargo.toml ]]; then
    step "plugins: tests and clippy"
    (cd plugins && cargo test --locked && cargo clippy --locked --release --target wasm32-unknown-unknown -- -D warnings)
fi

if [[ -x no_std_tests/run.sh ]]; then
    step "firmware under QEMU"
    no_std_tests/run.sh
fi

if [[ -x fuzz/run.sh ]]; then
    step "fuzz: seeds, regressions and 30 s per target (replay on stable without nightly)"
    (cd fuzz && cargo test --release --no-default-features)
    fuzz/run.sh "${FUZZ_SECONDS:-30}"
fi

echo
echo "all checks passed"
