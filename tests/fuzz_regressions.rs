//! Regression tests for what the fuzzers in `fuzz/` found (README, "Fuzzing"). Each test is named
//! `<target>_<short_name>` after its input in `fuzz/regressions/<target>/`.

use pluginhost::{Grant, Host, HostConfig, LoadError};

/// Runs `f` on a thread with a small native stack, so that guest code recursing on the native
/// stack (instead of being interpreted in a loop) fails here rather than only in a big build.
fn on_small_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let handle = std::thread::Builder::new()
        // 1 MiB: an unoptimised build's interpreter frames need a few hundred KiB of native
        // stack at a constant depth; a dispatch that grows the stack per guest branch (the bug)
        // would need tens of MiB for the million-fuel loop below.
        .stack_size(1 << 20)
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
        // All of the budget but the few units that could not pay for the next block.
        matches!(
            err,
            Some(LoadError::StartFuelExhausted { fuel_used }) if (990_000..=1_000_000).contains(&fuel_used)
        ),
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

/// Refuses `wasm` with `InvalidModule` through `load`, `inspect` and `conformance`.
fn assert_refused(wasm: &[u8]) {
    let host = Host::new(HostConfig::default());
    let loaded = host.load(wasm, Grant::none());
    assert!(
        matches!(loaded, Err(LoadError::InvalidModule(_))),
        "{:?}",
        loaded.map(|_| "loaded")
    );
    assert!(pluginhost::inspect(host.config(), wasm).is_err());
    assert!(!host.conformance(wasm).ok());
}

/// `fuzz/regressions/load/empty_code_section_divide_by_zero.wasm` (1,012 bytes; found by the
/// `load` target): a module whose code section declares 0 bodies but is 1,001 bytes long. With
/// the strict module limits (`Limits::strict_module_limits`, on by default) wasmi 2.0 checks the
/// average body size as `size / count` (`module/parser/mod.rs:474`) when `size >= 1000`, and
/// divides by zero: `Host::load`, `inspect` and `Host::conformance` panic on untrusted bytes in
/// release builds too (a debug build stops one line earlier at a `debug_assert!`).
#[test]
fn load_empty_code_section_divide_by_zero() {
    assert_refused(include_bytes!(
        "../fuzz/regressions/load/empty_code_section_divide_by_zero.wasm"
    ));
}

/// `fuzz/regressions/load/operators_after_end_translator_assert.wasm` (30 bytes; reduced from a
/// `load` crash): a function body `end local.get 0 drop end`. wasmi 2.0 validates operators one
/// by one and only reports "operators remaining after end of function" at the end of the body;
/// in between its translator runs `local.get` with an empty control stack and hits
/// `debug_assert!(!self.is_empty())` (`engine/translator/func/stack/control.rs:297`). Any build
/// with debug assertions (`cargo test`, a debug CLI) panics; a release build refuses the module.
#[test]
fn load_operators_after_end_translator_assert() {
    assert_refused(include_bytes!(
        "../fuzz/regressions/load/operators_after_end_translator_assert.wasm"
    ));
}
