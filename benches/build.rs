//! Builds the compute guest (`guest/`) for wasm32-unknown-unknown and exposes its path as
//! `GUEST_WASM`; with the `peer-wasm3` feature, compiles wasm3's C sources from
//! `$WASM3_SOURCE_DIR` into a static library for `src/wasm3.rs`.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let target_dir = out.join("guest-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--manifest-path",
        ])
        .arg(manifest.join("guest/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .expect("run cargo for the guest");
    assert!(status.success(), "building benches/guest for wasm32-unknown-unknown failed (rustup target add wasm32-unknown-unknown)");
    let wasm = target_dir.join("wasm32-unknown-unknown/release/bench_guest.wasm");
    println!("cargo:rustc-env=GUEST_WASM={}", wasm.display());
    println!("cargo:rerun-if-changed=guest/src/lib.rs");
    println!("cargo:rerun-if-changed=guest/Cargo.toml");
    if std::env::var_os("CARGO_FEATURE_PEER_WASM3").is_some() {
        build_wasm3();
    }
}

/// wasm3's C sources (`*.c` in `$WASM3_SOURCE_DIR`), compiled with the flags of wasm3's own
/// release build (CMake: -O3, no frame pointer, no stack checks) and without WASI.
fn build_wasm3() {
    println!("cargo:rerun-if-env-changed=WASM3_SOURCE_DIR");
    let dir = PathBuf::from(std::env::var("WASM3_SOURCE_DIR").expect(
        "peer-wasm3 needs WASM3_SOURCE_DIR: a directory with wasm3's C sources (scripts/bench.sh sets it)",
    ));
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("WASM3_SOURCE_DIR {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    sources.sort();
    assert!(
        !sources.is_empty(),
        "no C sources in WASM3_SOURCE_DIR {}",
        dir.display()
    );
    cc::Build::new()
        .files(&sources)
        .include(&dir)
        .opt_level(3)
        .debug(false)
        .flag_if_supported("-fomit-frame-pointer")
        .flag_if_supported("-fno-stack-check")
        .flag_if_supported("-fno-stack-protector")
        .flag_if_supported("-w")
        .define("NDEBUG", None)
        .define("d_m3HasWASI", "0")
        .compile("wasm3");
    for source in &sources {
        println!("cargo:rerun-if-changed={}", source.display());
    }
}
