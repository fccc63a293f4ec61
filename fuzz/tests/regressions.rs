//! Replays the committed seeds and every regression input through the targets, on stable:
//!
//! ```sh
//! cd fuzz && cargo test --release --no-default-features
//! ```
//!
//! A crash found by the fuzzers is kept as `regressions/<target>/<short-name>` (the minimized
//! input from `fuzz/artifacts/<target>/`) and gets a test below named `<target>_<short_name>`.

use std::path::Path;

use pluginhost_fuzz::{inputs, TARGETS};

fn replay_dir(base: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(base);
    let mut n = 0;
    for (name, run) in TARGETS {
        for file in inputs(&root.join(name)) {
            let data = std::fs::read(&file).expect("read input");
            eprintln!("{name}: {}", file.display());
            run(&data);
            n += 1;
        }
    }
    n
}

#[test]
fn seeds_pass() {
    assert!(
        replay_dir("seeds") > 0,
        "no seeds: run `cargo run --bin seeds`"
    );
}

#[test]
fn regressions_pass() {
    replay_dir("regressions");
}

/// `regressions/load/start_loop_native_stack.wasm`: a start function `loop br 0` overflowed the
/// native stack in cargo-fuzz builds (wasmi's tail-call dispatch without sibling-call
/// optimisation); fuzz builds now use wasmi's portable dispatch. On stable this checks the
/// production dispatch stops it by fuel.
#[test]
fn load_start_loop_native_stack() {
    let data = include_bytes!("../regressions/load/start_loop_native_stack.wasm");
    pluginhost_fuzz::load::run(data);
}

/// The host must refuse a 64-bit memory even when the build enables `wasmi/memory64` (wasmi's
/// default features do): `cargo test --release --no-default-features --features unify-memory64`.
#[cfg(feature = "unify-memory64")]
#[test]
fn load_memory64_under_feature_unification() {
    use pluginhost::{Grant, Host, HostConfig, LoadError};
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") i64 1)
            (func (export "run") (result i32) (i32.const 0)))"#,
    )
    .expect("wat");
    let host = Host::new(HostConfig::default());
    let loaded = host.load(&wasm, Grant::none());
    assert!(
        matches!(loaded, Err(LoadError::InvalidModule(_))),
        "a 64-bit memory was accepted: {:?}",
        loaded.map(|_| "loaded")
    );
    assert!(
        !host.conformance(&wasm).ok(),
        "conformance admitted a 64-bit memory"
    );
}

/// `regressions/load/empty_code_section_divide_by_zero.wasm`: a code section of 0 bodies and
/// 1,001 bytes made wasmi's strict-limits check divide by zero (a panic in `Host::load` in every
/// build).
#[test]
fn load_empty_code_section_divide_by_zero() {
    let data = include_bytes!("../regressions/load/empty_code_section_divide_by_zero.wasm");
    pluginhost_fuzz::load::run(data);
}

/// `regressions/load/operators_after_end_translator_assert.wasm`: operators after a function's
/// final `end` made wasmi's translator hit a debug assertion (a panic in `Host::load` in any
/// build with debug assertions, cargo-fuzz builds included).
#[test]
fn load_operators_after_end_translator_assert() {
    let data = include_bytes!("../regressions/load/operators_after_end_translator_assert.wasm");
    pluginhost_fuzz::load::run(data);
}
