#!/usr/bin/env bash
# How long a release build of the CLI and three test binaries takes under each candidate profile
# (docs/build-profile.md). Each profile builds from clean into its own target dir, then once more
# after cleaning the host crate (what a CI run or an edit-test cycle pays for the host crate and the
# links; the pluginhost crate is cleaned in that dir, no source is touched). Prints wall and CPU
# (user + sys) seconds.
#   scripts/build-time.sh [OUT_DIR]   (default target/build-time)
#   BUILD_TIME_PROFILES="cgu1-nolto default" scripts/build-time.sh   (a subset)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/target/build-time}"
mkdir -p "$OUT"
cd "$ROOT"
TESTS=(--test containment --test gate_allocation --test exhaustion)

build() { # name, env assignments...
    local name="$1"
    shift
    [[ " ${BUILD_TIME_PROFILES:-shipped cgu1-nolto default} " == *" $name "* ]] || return 0
    local dir="$OUT/$name"
    rm -rf "$dir"
    for pass in clean touched; do
        # "touched": the host crate and everything after it rebuilt, as after an edit of src/
        # (cargo clean -p in this profile's own target dir: no file of the tree is touched).
        [[ $pass == touched ]] && CARGO_TARGET_DIR="$dir" cargo clean -q --release -p pluginhost
        /usr/bin/time -f "%e %U %S" -o "$OUT/$name.$pass.time" env CARGO_TARGET_DIR="$dir" "$@" \
            bash -c 'cargo build -q --locked --release -p pluginhost-cli &&
                     cargo test -q --locked --release --no-run -p pluginhost '"${TESTS[*]}"' 2>/dev/null'
        read -r wall user sys < <(tail -n 1 "$OUT/$name.$pass.time")
        printf 'BUILDTIME %s %s wall=%.0f cpu=%.0f\n' "$name" "$pass" "$wall" "$(echo "$user + $sys" | bc)"
    done
    rm -rf "$dir"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
build shipped                                   # [profile.release] of the root Cargo.toml
build cgu1-nolto CARGO_PROFILE_RELEASE_LTO=false
build default CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
