//! Regression tests for what the fuzzers in `fuzz/` found (README, "Fuzzing"). Each test is named
//! `<target>_<short_name>` after its input in `fuzz/regressions/<target>/`.

use pluginhost::{Grant, Host, HostConfig, LoadError};

/// Runs `f` on a thread with a small native stack, so that guest code recursing on the native
/// stack (instead of being interpreted in a loop) fails here rather than only in a big build.
fn on_small_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let handle = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(f)
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    match handle.join() {
        Ok(r) => r,
        Err(_) => panic!("the test thread panicked"),
    }
}

/// `fuzz/regressions/load/start_loop_native_stack.wasm`: a start function that is `loop br 0`
/// (hostile catalogue #15). In a cargo-fuzz build (sanitizer coverage, with or without
/// AddressSanitizer) wasmi's tail-call dispatch does not get its sibling calls turned into jumps
/// and every iteration took a native stack frame until SIGSEGV. Here it must be stopped by fuel
/// with a small native stack.
#[test]
fn load_start_loop_native_stack() {
    let wasm = include_bytes!("../fuzz/regressions/load/start_loop_native_stack.wasm");
    let err = on_small_stack(move || {
        Host::new(HostConfig::default().with_fuel(1_000_000))
            .load(wasm, Grant::none())
            .err()
    });
    assert!(
        matches!(err, Some(LoadError::StartFuelExhausted { fuel_used: 1_000_000 })),
        "{err:?}"
    );
}

/// `docs/abi.md`: 64-bit memories are disabled. wasmi accepts them whenever its `memory64` cargo
/// feature is on (it is in wasmi's default features), and cargo unifies features across the
/// build, so the host must not rely on this crate's own wasmi features to refuse them.
/// `cd fuzz && cargo test --release --no-default-features --features unify-memory64` runs this
/// check with the feature unified on.
#[test]
fn load_memory64_is_refused() {
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") i64 1)
            (func (export "run") (result i32) (i32.const 0)))"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let host = Host::new(HostConfig::default());
    let loaded = host.load(&wasm, Grant::none());
    assert!(
        matches!(loaded, Err(LoadError::InvalidModule(_))),
        "{:?}",
        loaded.map(|_| "loaded")
    );
    assert!(!host.conformance(&wasm).ok());
}
