#!/usr/bin/env bash
# Regenerates docs/footprint.md: flash of the firmware probes in no_std_tests/ (runtime alone,
# wasmi alone, with the host) at opt-level "z" and "s", measured with llvm-size/llvm-nm from the
# rustup `llvm-tools` component; RAM (heap high-water marks, per-plugin RAM beyond linear memory,
# native stack) measured by running the firmware under QEMU, and the same per-plugin heap on x86_64
# (benches/examples/plugin_heap.rs).
#
# Needs: rustup, qemu-system-arm, python3; qemu-system-riscv32 optional. Takes a few minutes on
# two cores (two LTO profiles of four images).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fw="$root/no_std_tests"
out="$root/docs/footprint.md"
arm=thumbv7em-none-eabihf
riscv=riscv32imac-unknown-none-elf
timeout_s="${QEMU_TIMEOUT:-300}"

step() { printf '\n==> %s\n' "$*"; }

for tool in qemu-system-arm python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 1; }
done

step "tools"
rustup target add "$arm" "$riscv" wasm32-unknown-unknown >/dev/null
rustup component add llvm-tools >/dev/null 2>&1 || rustup component add llvm-tools-preview >/dev/null 2>&1 || true
llvm_bin="$(ls -d "$(rustc --print sysroot)"/lib/rustlib/*/bin 2>/dev/null | head -n 1)"
llvm_size="$llvm_bin/llvm-size"
llvm_nm="$llvm_bin/llvm-nm"
[[ -x "$llvm_size" ]] || llvm_size="$(command -v llvm-size)" || { echo "error: no llvm-size" >&2; exit 1; }
[[ -x "$llvm_nm" ]] || llvm_nm="$(command -v llvm-nm)" || { echo "error: no llvm-nm" >&2; exit 1; }
echo "llvm-size: $llvm_size"

step "plugins for the device"
"$fw/build-plugins.sh"

cd "$fw"
# The same without `compact-code` (wasmi's default encoding of translated code), copied aside
# before the builds below replace them: what that feature saves in RAM and costs in flash.
step "without compact-code: fp-wasmi (profile release-z) and firmware"
cargo build --profile release-z --target "$arm" --no-default-features --bin fp-wasmi
cp "target/$arm/release-z/fp-wasmi" "target/$arm/release-z/fp-wasmi-full-code"
cargo build --release --target "$arm" --no-default-features --features transient --bin firmware
cp "target/$arm/release/firmware" "target/$arm/release/firmware-full-code"
step "fp-host with feature transient (profile release-z)"
cargo build --profile release-z --target "$arm" --features transient --bin fp-host
cp "target/$arm/release-z/fp-host" "target/$arm/release-z/fp-host-transient"
for profile in release-z release; do
    step "images, profile $profile"
    cargo build --profile "$profile" --target "$arm" \
        --bin fp-baseline --bin fp-wasmi --bin fp-host
done
step "firmware (profile release, as no_std_tests/run.sh builds it)"
cargo build --release --target "$arm" --features transient --bin firmware
cargo build --release --target "$riscv" --features transient --bin firmware

# run NAME IMAGE QEMU...: runs an image, keeps its output in target/footprint/NAME.txt.
logs="$fw/target/footprint"
mkdir -p "$logs"
run() {
    local name="$1" image="$2"
    shift 2
    local rc=0
    (cd "$logs" && timeout "$timeout_s" "$@" -kernel "$image") > "$logs/$name.txt" || rc=$?
    if [[ $rc -ne 0 ]] || ! grep -Eq '^[0-9]+ passed, 0 failed$' "$logs/$name.txt"; then
        echo "error: $name failed under QEMU (exit $rc):" >&2
        tail -n 20 "$logs/$name.txt" >&2
        exit 1
    fi
    echo "$name: $(tail -n 1 "$logs/$name.txt")"
}
qemu_arm=(qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic -semihosting-config enable=on,target=native)
qemu_rv=(qemu-system-riscv32 -machine virt -nographic -bios none -semihosting-config enable=on,target=native)

step "QEMU runs"
for profile in release-z release; do
    for probe in fp-baseline fp-wasmi fp-host; do
        run "$profile-$probe" "$fw/target/$arm/$profile/$probe" "${qemu_arm[@]}"
    done
done
run "firmware-$arm" "$fw/target/$arm/release/firmware" "${qemu_arm[@]}"
run "firmware-full-code-$arm" "$fw/target/$arm/release/firmware-full-code" "${qemu_arm[@]}"
riscv_log=()
if command -v qemu-system-riscv32 >/dev/null; then
    run "firmware-$riscv" "$fw/target/$riscv/release/firmware" "${qemu_rv[@]}"
    riscv_log=(--riscv-device-log "$logs/firmware-$riscv.txt")
fi

step "x86_64: heap per real plugin (benches/examples/plugin_heap.rs)"
(cd "$root/benches" && cargo run -q --release --ignore-rust-version --example plugin_heap -- \
    "$fw/target/plugins/wasm32-unknown-unknown/release") > "$logs/x86_64.txt"
cat "$logs/x86_64.txt"
(cd "$root/benches" && cargo run -q --release --ignore-rust-version --example plugin_heap \
    --features pluginhost/compact-code -- \
    "$fw/target/plugins/wasm32-unknown-unknown/release") > "$logs/x86_64-compact-code.txt"
cat "$logs/x86_64-compact-code.txt"

step "docs/footprint.md"
wasmi_version="$(sed -n '/^name = "wasmi"$/{n;s/^version = "\(.*\)"$/\1/p}' "$fw/Cargo.lock")"
python3 "$fw/footprint.py" \
    --size "$llvm_size" --nm "$llvm_nm" --target-dir "$fw/target" \
    --device-log "$logs/firmware-$arm.txt" "${riscv_log[@]}" --x86-log "$logs/x86_64.txt" \
    --full-code-device-log "$logs/firmware-full-code-$arm.txt" \
    --x86-compact-log "$logs/x86_64-compact-code.txt" \
    --rustc "$(rustc --version | cut -d' ' -f1-2)" --wasmi "$wasmi_version" \
    --out "$out"
sed -n '/^## Targets/,/^## Flash/p' "$out" | sed '$d'
echo "wrote $out"
