//! Builds the compute guest (`guest/`) for wasm32-unknown-unknown and exposes its path as
//! `GUEST_WASM`.
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
}
