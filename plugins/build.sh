#!/usr/bin/env bash
# Builds every plugin for wasm32-unknown-unknown (release: opt-level z, LTO, panic=abort,
# stripped) into plugins/target/wasm32-unknown-unknown/release/, prints each module's size, and
# checks each one against guest ABI v1 (imports only from "pluginhost" with the ABI's signatures,
# exports memory and run, one pluginhost.manifest section).
#
#   plugins/build.sh            build, list sizes, check
#   plugins/build.sh --no-check build and list sizes only
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
target=wasm32-unknown-unknown
out="target/$target/release"

if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    rustup target add "$target"
fi

cargo build --release --target "$target"

modules=()
for toml in */*/Cargo.toml; do
    name=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$toml" | head -n 1)
    modules+=("$out/${name//-/_}.wasm")
done

echo
echo "plugin modules in plugins/$out:"
total=0
for m in "${modules[@]}"; do
    size=$(wc -c < "$m")
    total=$((total + size))
    printf '  %-36s %8d bytes\n' "$(basename "$m")" "$size"
done
printf '  %-36s %8d bytes\n' "total" "$total"

if [[ "${1:-}" != "--no-check" ]]; then
    echo
    if command -v wasm-tools >/dev/null; then
        for m in "${modules[@]}"; do
            wasm-tools validate "$m"
        done
        echo "wasm-tools validate: all modules valid"
    fi
    if command -v python3 >/dev/null; then
        python3 check_wasm.py "${modules[@]}"
    else
        echo "python3 not found: ABI check skipped"
    fi
fi
