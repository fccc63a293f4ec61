#!/usr/bin/env bash
# Runs pluginhost on emulated microcontrollers:
#   1. builds the real plugins for the device (build-plugins.sh: plugins/ with a 16 KiB guest stack),
#   2. builds the firmware for thumbv7em-none-eabihf and riscv32imac-unknown-none-elf,
#   3. runs it under QEMU (Cortex-M4F on mps2-an386; RISC-V on virt if qemu-system-riscv32 is
#      installed), and decodes its defmt frames when python3 is available.
# Fails if a build fails, QEMU exits non-zero or times out, or the output lacks the final
# `N passed, 0 failed` line.
#
# Needs: the Rust toolchain (rustup), qemu-system-arm (Debian: apt-get install qemu-system-arm);
# optional: qemu-system-riscv32 (apt-get install qemu-system-misc), python3.
# Environment: QEMU_TIMEOUT (seconds per run, default 300), SKIP_RISCV_RUN=1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
timeout_s="${QEMU_TIMEOUT:-300}"
arm=thumbv7em-none-eabihf
riscv=riscv32imac-unknown-none-elf

step() { printf '\n==> %s\n' "$*"; }

if ! command -v qemu-system-arm >/dev/null; then
    echo "error: qemu-system-arm not found (Debian/Ubuntu: apt-get install qemu-system-arm)" >&2
    exit 1
fi

step "rustup targets"
rustup target add "$arm" "$riscv" wasm32-unknown-unknown >/dev/null

step "plugins for the device"
./build-plugins.sh

# One cargo invocation per target: a multi-target build would unify features across both
# (critical-section's restore state, wasmi's riscv32-only portable dispatch).
step "firmware: $arm"
cargo build --release --features transient --bin firmware --target "$arm"
step "firmware: $riscv"
cargo build --release --features transient --bin firmware --target "$riscv"

# Finds llvm-nm for the defmt decoder: rustup's llvm-tools, else one on PATH.
find_nm() {
    local sysroot
    sysroot="$(rustc --print sysroot)"
    for nm in "$sysroot"/lib/rustlib/*/bin/llvm-nm "$(command -v llvm-nm || true)"; do
        if [[ -n "$nm" && -x "$nm" ]]; then
            echo "$nm"
            return 0
        fi
    done
    return 1
}

# run_image NAME IMAGE QEMU-ARGS...: runs one image in target/qemu/NAME (where its defmt.bin
# lands), checks the exit code and the final line, then decodes the defmt frames.
run_image() {
    local name="$1" image="$2"
    shift 2
    local dir="$here/target/qemu/$name"
    mkdir -p "$dir"
    rm -f "$dir/defmt.bin"
    step "QEMU: $name"
    local rc=0
    (cd "$dir" && timeout "$timeout_s" "$@" -kernel "$image") | tee "$dir/output.txt" || rc=$?
    if [[ $rc -eq 124 ]]; then
        echo "FAIL $name: QEMU timed out after ${timeout_s}s" >&2
        return 1
    fi
    if [[ $rc -ne 0 ]]; then
        echo "FAIL $name: QEMU exited with $rc" >&2
        return 1
    fi
    if ! tail -n 1 "$dir/output.txt" | grep -Eq '^[0-9]+ passed, 0 failed$'; then
        echo "FAIL $name: output lacks the final 'N passed, 0 failed' line" >&2
        return 1
    fi
    local nm frames
    if command -v python3 >/dev/null && nm="$(find_nm)"; then
        python3 "$here/defmt-frames.py" "$image" "$dir/defmt.bin" --nm "$nm" > "$dir/defmt.txt"
        frames="$(sed -n 's/^DEFMT \([0-9]*\) frames.*/\1/p' "$dir/output.txt")"
        if ! grep -qx "defmt: $frames frames decoded" "$dir/defmt.txt"; then
            echo "FAIL $name: defmt.bin does not decode to the $frames frames the firmware wrote" >&2
            tail -n 3 "$dir/defmt.txt" >&2
            return 1
        fi
        echo "defmt: $frames frames decoded to $dir/defmt.txt, e.g."
        grep -m 3 'plugin ' "$dir/defmt.txt" | sed 's/^/    /' || true
    else
        echo "defmt: frames in $dir/defmt.bin (python3 or llvm-nm missing: not decoded)"
    fi
}

run_image "$arm" "$here/target/$arm/release/firmware" \
    qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
    -semihosting-config enable=on,target=native

if [[ "${SKIP_RISCV_RUN:-}" == 1 ]]; then
    echo "riscv32: built, run skipped (SKIP_RISCV_RUN=1)"
elif command -v qemu-system-riscv32 >/dev/null; then
    run_image "$riscv" "$here/target/$riscv/release/firmware" \
        qemu-system-riscv32 -machine virt -nographic -bios none \
        -semihosting-config enable=on,target=native
else
    echo "riscv32: built, not run (qemu-system-riscv32 not installed: apt-get install qemu-system-misc)"
fi

echo
echo "firmware passed under QEMU"
