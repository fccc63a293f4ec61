#!/usr/bin/env bash
# Builds the real plugins the firmware bundles, from ../plugins, sized for a microcontroller:
# the same sources, lock file and 16 KiB guest stack (plugins/.cargo/config.toml; rustc's
# default 1 MiB would make every plugin's initial linear memory 17 pages = 1088 KiB, over
# Limits::EMBEDDED's 128 KiB). PLUGIN_STACK_BYTES overrides the stack size. Output goes to
# no_std_tests/target/plugins (our own target dir), so nothing under plugins/ is written. Cargo
# makes this a no-op when nothing changed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
stack="${PLUGIN_STACK_BYTES:-16384}"

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cd "$root/plugins"
# RUSTFLAGS replaces the [target] rustflags of plugins/.cargo/config.toml (the same flag, with
# the override applied); it only applies to the wasm32 artefacts (not to build scripts or proc
# macros), because --target is set.
RUSTFLAGS="-C link-arg=-zstack-size=$stack" \
    cargo build --release --locked --target wasm32-unknown-unknown \
    --target-dir "$here/target/plugins" \
    -p connector-file-deploy -p dns-zonefile -p dns-rfc2136
