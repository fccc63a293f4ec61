//! The native stack stays flat whatever a guest runs, in the build under test.
//!
//! Debug builds run wasmi's portable (loop) dispatch; release builds and the firmware run
//! tail-call dispatch, where one handler whose final call is not a sibling call nests a native
//! frame per executed instruction. `scripts/test.sh` runs this file in both profiles; only the
//! release run tests the dispatch that ships.
//!
//! * the probe module is its source, compiled;
//! * [`probe_native_stack`] finds every operation class flat in this build;
//! * a million operations of every class, through `Host::invoke`, on a 256 KiB thread (the
//!   small-stack oracle: any per-operation growth overflows it long before a default stack would);
//! * the grow loops of issue 13 (memory and table, delta 0 from a local and failing at the
//!   limit, in `run` and in a start function), a million each through `Host::load` and
//!   `Host::invoke` on a 256 KiB thread, each ending in a typed outcome.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::sync::Arc;
use std::thread;

use pluginhost::{probe_native_stack, Grant, Host, HostConfig, OpClass, Plugin, PROBE_MODULE};

use support::hosts::config_with;

const KIB: usize = 1024;

/// The native stack of the threads that run hostile loops. Running a plugin needs a few KiB in a
/// release build, so a per-operation growth of even 1 byte over a million operations overflows
/// 256 KiB. A debug build needs more to load a module (unoptimised validation and compilation; a
/// start function runs at load) and its portable dispatch is flat by construction.
const SMALL_NATIVE_STACK: usize = if cfg!(debug_assertions) {
    512 * KIB
} else {
    256 * KIB
};

/// Operations per class (and grows per loop): a million in release (the dispatch that ships);
/// fewer in debug, whose portable dispatch is flat by construction and 30x slower.
const SWEEP_OPERATIONS: u32 = if cfg!(debug_assertions) {
    50_000
} else {
    1_000_000
};

/// Fuel for a million operations of the widest class.
const SWEEP_FUEL: u64 = 2_000_000_000;

/// Runs `f` on a thread with [`SMALL_NATIVE_STACK`]; a native stack overflow aborts the test
/// process, which fails the test run.
fn on_small_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    thread::Builder::new()
        .name("small-stack".into())
        .stack_size(SMALL_NATIVE_STACK)
        .spawn(f)
        .expect("spawn a small-stack thread")
        .join()
        .expect("the small-stack thread finished")
}

#[test]
fn probe_module_is_its_source_compiled() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/stack_probe/ops.wat");
    let compiled = wat::parse_file(path).expect("ops.wat parses");
    if std::env::var_os("PLUGINHOST_REGENERATE_PROBE").is_some() {
        let out = concat!(env!("CARGO_MANIFEST_DIR"), "/src/stack_probe/ops.wasm");
        std::fs::write(out, &compiled).expect("write ops.wasm");
        return;
    }
    assert!(
        compiled == PROBE_MODULE,
        "src/stack_probe/ops.wasm is stale: PLUGINHOST_REGENERATE_PROBE=1 cargo test --test native_stack"
    );
}

#[test]
fn the_probe_finds_every_operation_class_flat() {
    // A default-sized stack here, so a growing class shows up as a failed assertion naming it
    // rather than as a crash (10,000 operations of ~200 bytes each fit in 8 MiB).
    let report = thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| probe_native_stack(10_000))
        .unwrap()
        .join()
        .unwrap()
        .expect("the probe runs");
    assert_eq!(report.classes().len(), OpClass::ALL.len());
    assert!(report.is_flat(), "native stack grows:\n{report}");
}

/// Loads the probe module as an ordinary plugin (it imports only ungated functions).
fn probe_plugin(host: &Host) -> Plugin {
    host.load(PROBE_MODULE, Grant::none())
        .expect("the probe module loads as a plugin")
}

#[test]
fn a_million_operations_of_every_class_run_on_a_small_native_stack() {
    let host = Arc::new(Host::new(HostConfig::default().with_fuel(SWEEP_FUEL)));
    // Load on this thread: validation and compilation need more native stack than running.
    let plugins: Vec<(OpClass, Plugin)> = OpClass::ALL
        .iter()
        .map(|&class| (class, probe_plugin(&host)))
        .collect();
    let results = on_small_stack(move || {
        plugins
            .into_iter()
            .map(|(class, mut plugin)| {
                let input = SWEEP_OPERATIONS.to_le_bytes();
                (class, host.invoke(&mut plugin, class.entry(), &input))
            })
            .collect::<Vec<_>>()
    });
    for (class, result) in results {
        assert!(result.is_ok(), "{class}: {result:?}");
    }
}

/// A module running `op` `iterations` times in `$body`, called from `run` or as the start function.
fn grow_loop(op: &str, delta: i64, in_start: bool, iterations: u32) -> Vec<u8> {
    let start = if in_start { "(start $body)" } else { "" };
    let call = if in_start { "" } else { "(call $body)" };
    wat::parse_str(format!(
        r#"(module
            (memory (export "memory") 1)
            (table 1 funcref)
            (func $body (local $i i32) (local $d i32)
              (local.set $d (i32.const {delta}))
              (loop $l
                {op}
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const {iterations})))))
            {start}
            (func (export "run") (result i32) {call} (i32.const 0)))"#
    ))
    .unwrap()
}

/// Every grow loop of issue 13, `iterations` grows each: (name, module).
fn grow_loops(iterations: u32) -> Vec<(String, Vec<u8>)> {
    let ops = [
        ("memory.grow 0", "(drop (memory.grow (local.get $d)))", 0),
        (
            "memory.grow past the limit",
            "(drop (memory.grow (local.get $d)))",
            100_000,
        ),
        (
            "table.grow 0",
            "(drop (table.grow (ref.null func) (local.get $d)))",
            0,
        ),
        (
            "table.grow past the limit",
            "(drop (table.grow (ref.null func) (local.get $d)))",
            1_000_000,
        ),
    ];
    let mut loops = Vec::new();
    for (name, op, delta) in ops {
        for in_start in [false, true] {
            let place = if in_start { "start" } else { "run" };
            loops.push((
                format!("{name} in {place}"),
                grow_loop(op, delta, in_start, iterations),
            ));
        }
    }
    loops
}

/// Loads `wasm` and invokes `run` on a small-stack thread; the output or the error's kind.
fn load_and_run_on_small_stack(config: HostConfig, wasm: Vec<u8>) -> Result<Vec<u8>, &'static str> {
    let host = Host::new(config);
    on_small_stack(move || {
        let mut plugin = host.load(&wasm, Grant::none()).map_err(|e| e.kind())?;
        host.invoke(&mut plugin, "run", b"").map_err(|e| e.kind())
    })
}

#[test]
fn a_million_grows_run_to_their_end_on_a_small_native_stack() {
    for (name, wasm) in grow_loops(SWEEP_OPERATIONS) {
        let outcome =
            load_and_run_on_small_stack(HostConfig::default().with_fuel(SWEEP_FUEL), wasm);
        assert_eq!(outcome, Ok(Vec::new()), "{name}");
    }
}

#[test]
fn grow_loops_under_the_default_budget_stop_with_typed_fuel_exhaustion() {
    for (name, wasm) in grow_loops(1_000_000) {
        // A million grows cost more than the default 10 million fuel (charged at load for a
        // start function, at invoke otherwise): fuel exhaustion, never a crash.
        let outcome = load_and_run_on_small_stack(HostConfig::default(), wasm);
        assert_eq!(outcome, Err("fuel_exhausted"), "{name}");
    }
}

#[test]
fn grow_loops_against_the_hosts_limits_run_to_their_end() {
    // The host's limits (not the module's maximum) refuse every growth past them: -1, no trap.
    let config = config_with(|l| {
        l.memory_bytes = 64 * KIB;
        l.table_elements = 16;
    })
    .with_fuel(SWEEP_FUEL);
    for (name, wasm) in grow_loops(SWEEP_OPERATIONS) {
        assert_eq!(
            load_and_run_on_small_stack(config, wasm),
            Ok(Vec::new()),
            "{name}"
        );
    }
}
