//! Resumable fuel slices: `Host::start` -> `Call::resume(slice)` -> `Step::{Done, Paused}`.
//!
//! A sliced run must be indistinguishable from an uninterrupted one (same status, output and
//! total fuel), the total budget must hold across slices, host-call charges that straddle a
//! slice boundary must be carried exactly, and a dropped call must leave the plugin and the pool
//! usable.

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::sync::Arc;

use pluginhost::{
    Call, Capability, Completion, Grant, Host, HostConfig, InvokeError, MemoryFilesystem, Step,
};
use support::hosts::host_with_fs;
use support::wat::wasm;

/// Runs `call` with slices from `slices` (cycled) until it finishes; returns the completion and
/// how many times it paused. Checks the fuel bookkeeping after every slice.
fn run_sliced(
    mut call: Call<'_>,
    budget: u64,
    slices: impl Iterator<Item = u64> + Clone,
) -> Result<(Completion, usize), (InvokeError, usize)> {
    let mut paused = 0;
    let mut last_used = 0;
    for slice in slices.cycle() {
        match call.resume(slice) {
            Ok(Step::Paused) => {
                paused += 1;
                let used = call.fuel_used();
                assert!(used >= last_used, "fuel used never goes down");
                assert_eq!(used + call.fuel_remaining(), budget);
                last_used = used;
            }
            Ok(Step::Done(completion)) => {
                assert_eq!(completion.fuel_used, call.fuel_used());
                assert_eq!(call.resume(1), Err(InvokeError::Finished));
                return Ok((completion, paused));
            }
            Err(error) => {
                assert_eq!(call.resume(1), Err(InvokeError::Finished));
                return Err((error, paused));
            }
        }
    }
    unreachable!("cycle never ends")
}

/// Loops `iterations` times mixing a hash, writing the hash every 1,000 iterations.
fn long_computation(iterations: u32) -> Vec<u8> {
    wasm(&format!(
        r#"(module
            (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "run") (result i32)
                (local $i i32) (local $h i32)
                (local.set $h (i32.const 0x811c9dc5))
                (block $done (loop $next
                    (br_if $done (i32.ge_u (local.get $i) (i32.const {iterations})))
                    (local.set $h (i32.mul (i32.xor (local.get $h) (local.get $i))
                                           (i32.const 0x01000193)))
                    (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 1000)))
                        (then (i32.store (i32.const 0) (local.get $h))
                              (drop (call $out (i32.const 0) (i32.const 4)))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $next)))
                (i32.store (i32.const 0) (local.get $h))
                (drop (call $out (i32.const 0) (i32.const 4)))
                (i32.const 7)))"#
    ))
}

#[test]
fn a_long_computation_finishes_after_many_slices_exactly_as_uninterrupted() {
    let host = Host::new(HostConfig::default());
    let budget = host.config().fuel_per_invocation;
    let module = long_computation(50_000);
    let mut plugin = host.load(&module, Grant::none()).unwrap();
    let whole = host.call(&mut plugin, "run", b"").unwrap();
    assert_eq!(whole.status, 7);
    assert_eq!(whole.output.len(), 51 * 4);

    for slice in [1_000u64, 997, 4_096] {
        let call = host.start(&mut plugin, "run", b"").unwrap();
        let (sliced, paused) = run_sliced(call, budget, [slice].into_iter()).unwrap();
        assert!(
            paused > 100,
            "paused only {paused} times with {slice}-fuel slices"
        );
        assert_eq!(sliced, whole, "slices of {slice}");
    }
    assert_eq!(host.stats().in_flight, 0);
    assert_eq!(plugin.stats().rebuilds, 0);
}

#[test]
fn a_zero_fuel_slice_still_makes_progress() {
    let host = Host::new(HostConfig::default());
    let budget = host.config().fuel_per_invocation;
    let mut plugin = host.load(&long_computation(200), Grant::none()).unwrap();
    let whole = host.call(&mut plugin, "run", b"").unwrap();
    let call = host.start(&mut plugin, "run", b"").unwrap();
    let (sliced, paused) = run_sliced(call, budget, [0].into_iter()).unwrap();
    assert_eq!(sliced, whole);
    assert!(paused > 0);
}

const INFINITE: &str = r#"(module
    (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "run") (result i32)
        (loop $again
            (drop (call $out (i32.const 0) (i32.const 0)))
            (br $again))
        (i32.const 0)))"#;

#[test]
fn an_infinite_loop_exhausts_the_total_budget_across_slices() {
    let budget = 200_000;
    let host = Host::new(HostConfig::default().with_fuel(budget));
    let mut plugin = host.load(&wasm(INFINITE), Grant::none()).unwrap();
    for slice in [1u64, 7, 100, 4_999, 150_000] {
        let mut call = host.start(&mut plugin, "run", b"").unwrap();
        let mut sum = 0;
        let error = loop {
            let before = call.fuel_used();
            match call.resume(slice) {
                Ok(Step::Paused) => {
                    sum += call.fuel_used() - before;
                    assert!(sum <= budget, "slices summed to {sum} over {budget}");
                }
                Ok(Step::Done(c)) => panic!("an infinite loop finished: {c:?}"),
                Err(error) => {
                    sum += call.fuel_used() - before;
                    break error;
                }
            }
        };
        match error {
            InvokeError::FuelExhausted { fuel_used } => {
                assert_eq!(fuel_used, sum, "slices of {slice}");
                assert!(fuel_used <= budget);
                assert!(fuel_used > budget - 100, "stopped early at {fuel_used}");
            }
            other => panic!("expected FuelExhausted, got {other:?}"),
        }
        assert_eq!(call.resume(slice), Err(InvokeError::Finished));
    }
    assert_eq!(plugin.stats().fuel_exhausted, 5);
}

#[test]
fn the_exhausted_total_is_the_same_sliced_or_not() {
    let budget = 100_000;
    let host = Host::new(HostConfig::default().with_fuel(budget));
    let mut plugin = host.load(&wasm(INFINITE), Grant::none()).unwrap();
    let whole = host.call(&mut plugin, "run", b"").unwrap_err();
    for slice in [1u64, 3, 17, 1_000] {
        let call = host.start(&mut plugin, "run", b"").unwrap();
        let (sliced, _) = run_sliced(call, budget, [slice].into_iter()).unwrap_err();
        assert_eq!(sliced, whole, "slices of {slice}");
    }
}

#[test]
fn two_plugins_interleaved_slice_by_slice_match_sequential_runs() {
    let host = Host::new(HostConfig::default().with_max_concurrent(2));
    let mut a = host.load(&long_computation(20_000), Grant::none()).unwrap();
    let mut b = host.load(&long_computation(13_000), Grant::none()).unwrap();
    let whole_a = host.call(&mut a, "run", b"").unwrap();
    let whole_b = host.call(&mut b, "run", b"").unwrap();

    let mut call_a = host.start(&mut a, "run", b"").unwrap();
    let mut call_b = host.start(&mut b, "run", b"").unwrap();
    assert_eq!(host.stats().in_flight, 2);
    let (mut done_a, mut done_b) = (None, None);
    let mut turns = 0;
    while done_a.is_none() || done_b.is_none() {
        turns += 1;
        if done_a.is_none() {
            if let Step::Done(c) = call_a.resume(500).unwrap() {
                done_a = Some(c);
            }
        }
        if done_b.is_none() {
            if let Step::Done(c) = call_b.resume(700).unwrap() {
                done_b = Some(c);
            }
        }
    }
    assert!(turns > 100);
    assert_eq!(done_a.unwrap(), whole_a);
    assert_eq!(done_b.unwrap(), whole_b);
    drop((call_a, call_b));
    assert_eq!(host.stats().in_flight, 0);
}

#[test]
fn dropping_a_paused_call_leaves_the_plugin_usable_and_frees_its_slot() {
    let host = Host::new(HostConfig::default().with_max_concurrent(1));
    let mut plugin = host.load(&long_computation(5_000), Grant::none()).unwrap();
    let whole = host.call(&mut plugin, "run", b"").unwrap();

    let mut call = host.start(&mut plugin, "run", b"").unwrap();
    assert_eq!(call.resume(100).unwrap(), Step::Paused);
    assert_eq!(call.resume(100).unwrap(), Step::Paused);
    assert_eq!(host.stats().in_flight, 1);
    drop(call);

    assert_eq!(host.stats().in_flight, 0, "the slot is free again");
    assert!(
        !plugin.is_live(),
        "its state may be torn, so the instance is discarded"
    );
    let again = host.call(&mut plugin, "run", b"").unwrap();
    assert_eq!(again, whole);
    let stats = plugin.stats();
    assert_eq!(stats.rebuilds, 1);
    assert_eq!((stats.invocations, stats.completed), (3, 2));
    assert_eq!(host.stats().rejected_busy, 0);
}

#[test]
fn a_paused_call_holds_its_slot() {
    let host = Host::new(HostConfig::default().with_max_concurrent(1));
    let mut a = host.load(&long_computation(5_000), Grant::none()).unwrap();
    let mut b = host.load(&long_computation(5_000), Grant::none()).unwrap();
    let mut call = host.start(&mut a, "run", b"").unwrap();
    assert_eq!(call.resume(100).unwrap(), Step::Paused);
    assert_eq!(host.invoke(&mut b, "run", b""), Err(InvokeError::Busy));
    assert_eq!(host.stats().rejected_busy, 1);
    assert!(matches!(call.resume(u64::MAX).unwrap(), Step::Done(_)));
    drop(call);
    assert!(host.call(&mut b, "run", b"").is_ok());
}

/// Writes and reads back a file and writes output, 50 times, with host calls whose charges
/// (fs base 1,000) are far larger than the slices.
const HOST_CALL_HEAVY: &str = r#"(module
    (import "pluginhost" "fs_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (import "pluginhost" "fs_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "pluginhost" "fs_size" (func $size (param i32 i32) (result i32)))
    (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
    (import "pluginhost" "log" (func $log (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "/data/f")
    (data (i32.const 64) "slice boundaries must not change anything")
    (func (export "run") (result i32)
        (local $i i32)
        (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $i) (i32.const 50)))
            (i32.store8 (i32.const 64) (i32.add (i32.const 65) (local.get $i)))
            (drop (call $write (i32.const 0) (i32.const 7) (i32.const 64)
                               (i32.add (i32.const 1) (local.get $i))))
            (i32.store (i32.const 1024)
                (call $read (i32.const 0) (i32.const 7) (i32.const 2048) (i32.const 100)))
            (drop (call $out (i32.const 1024) (i32.const 4)))
            (drop (call $out (i32.const 2048) (i32.const 3)))
            (i32.store (i32.const 1024) (call $size (i32.const 0) (i32.const 7)))
            (drop (call $out (i32.const 1024) (i32.const 4)))
            (drop (call $log (i32.const 3) (i32.const 64) (i32.const 20)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (i32.const 0)))"#;

fn fs_host() -> Host {
    let fs = Arc::new(MemoryFilesystem::new());
    assert!(fs.create_dir("/data"));
    host_with_fs(HostConfig::default(), fs)
}

fn fs_grant() -> Grant {
    Grant::none()
        .with_path_prefix(Capability::FsWrite, "/data")
        .unwrap()
        .with_path_prefix(Capability::FsRead, "/data")
        .unwrap()
}

#[test]
fn host_call_charges_across_slice_boundaries_are_exact() {
    let module = wasm(HOST_CALL_HEAVY);
    let reference = {
        let host = fs_host();
        let mut plugin = host.load(&module, fs_grant()).unwrap();
        host.call(&mut plugin, "run", b"").unwrap()
    };
    assert_eq!(reference.status, 0);
    assert_eq!(reference.output.len(), 50 * 11);

    for slices in [
        (1..=50u64).collect::<Vec<_>>(),
        vec![1],
        vec![999, 1, 1000, 1001],
        vec![37, 3, 50, 11],
    ] {
        let host = fs_host();
        let budget = host.config().fuel_per_invocation;
        let mut plugin = host.load(&module, fs_grant()).unwrap();
        let call = host.start(&mut plugin, "run", b"").unwrap();
        let (sliced, paused) = run_sliced(call, budget, slices.clone().into_iter()).unwrap();
        assert_eq!(sliced, reference, "slices {slices:?}");
        assert!(
            paused >= 50,
            "paused only {paused} times with slices {slices:?}"
        );
        assert_eq!(plugin.stats().calls.allowed(Capability::FsWrite), 50);
    }
}

#[test]
fn a_host_call_debt_beyond_the_budget_is_fuel_exhaustion() {
    // With a budget that runs out in the middle of the loop, sliced and uninterrupted runs stop
    // at the same point with the same fuel.
    let module = wasm(HOST_CALL_HEAVY);
    let budget = 30_000;
    let whole = {
        let host = host_with_fs(
            HostConfig::default().with_fuel(budget),
            Arc::new(MemoryFilesystem::new()),
        );
        let mut plugin = host.load(&module, fs_grant()).unwrap();
        host.call(&mut plugin, "run", b"").unwrap_err()
    };
    assert!(matches!(whole, InvokeError::FuelExhausted { fuel_used } if fuel_used <= budget));
    for slices in [vec![1u64], (1..=50).collect(), vec![999, 1001]] {
        let host = host_with_fs(
            HostConfig::default().with_fuel(budget),
            Arc::new(MemoryFilesystem::new()),
        );
        let mut plugin = host.load(&module, fs_grant()).unwrap();
        let call = host.start(&mut plugin, "run", b"").unwrap();
        let (sliced, _) = run_sliced(call, budget, slices.clone().into_iter()).unwrap_err();
        assert_eq!(sliced, whole, "slices {slices:?}");
    }
}

#[test]
fn resume_after_done_or_failure_is_finished() {
    let host = Host::new(HostConfig::default().with_fuel(10_000));
    let mut plugin = host.load(&long_computation(10), Grant::none()).unwrap();
    let mut call = host.start(&mut plugin, "run", b"").unwrap();
    assert!(matches!(call.resume(u64::MAX), Ok(Step::Done(_))));
    assert_eq!(call.resume(u64::MAX), Err(InvokeError::Finished));
    assert_eq!(call.resume(0), Err(InvokeError::Finished));
    drop(call);
    assert!(
        plugin.is_live(),
        "a finished call leaves the instance alone"
    );

    let mut looping = host.load(&wasm(INFINITE), Grant::none()).unwrap();
    let mut call = host.start(&mut looping, "run", b"").unwrap();
    assert!(matches!(
        call.resume(u64::MAX),
        Err(InvokeError::FuelExhausted { .. })
    ));
    assert_eq!(call.resume(u64::MAX), Err(InvokeError::Finished));
    assert_eq!(InvokeError::Finished.kind(), "engine");
    drop(call);
    assert_eq!(host.stats().in_flight, 0);
}

mod docs_example {
    use std::cell::Cell;

    use pluginhost::{Host, InvokeError, Plugin, Step};

    thread_local! {
        static TURNS: Cell<u32> = const { Cell::new(0) };
    }

    fn feed_watchdog() {
        TURNS.with(|t| t.set(t.get() + 1));
    }

    fn poll_radio() {}

    // Copied from docs/execution.md.

    /// Fuel per turn of the main loop: small enough to keep the loop responsive.
    const SLICE_FUEL: u64 = 20_000;

    fn run_plugin(host: &Host, plugin: &mut Plugin, input: &[u8]) -> Result<Vec<u8>, InvokeError> {
        let mut call = host.start(plugin, "run", input)?; // Busy at once if the pool is full
        loop {
            match call.resume(SLICE_FUEL)? {
                Step::Paused => {
                    feed_watchdog();
                    poll_radio();
                }
                Step::Done(done) if done.status == 0 => return Ok(done.output),
                Step::Done(done) => {
                    return Err(InvokeError::Failed {
                        status: done.status,
                    })
                }
            }
        }
    }

    #[test]
    fn the_firmware_main_loop_of_the_docs_works() {
        let host = Host::new(pluginhost::HostConfig::default());
        let mut plugin = host
            .load(&super::long_computation(50_000), pluginhost::Grant::none())
            .unwrap();
        let whole = host.call(&mut plugin, "run", b"").unwrap();
        assert_eq!(whole.status, 7);
        assert_eq!(
            run_plugin(&host, &mut plugin, b""),
            Err(InvokeError::Failed { status: 7 })
        );
        let mut echo = host
            .load(
                &crate::support::wat::wasm(crate::support::wat::ECHO),
                pluginhost::Grant::none(),
            )
            .unwrap();
        assert_eq!(run_plugin(&host, &mut echo, b"hi"), Ok(b"ok:hi".to_vec()));
        let turns = TURNS.with(Cell::get);
        assert_eq!(u64::from(turns), whole.fuel_used / SLICE_FUEL);
    }
}

#[test]
fn fuel_of_a_dropped_call_is_counted_in_plugin_stats() {
    let host = Host::new(HostConfig::default());
    let mut plugin = host.load(&long_computation(50_000), Grant::none()).unwrap();
    let before = plugin.stats().fuel_used;
    let mut call = host.start(&mut plugin, "run", b"").unwrap();
    assert_eq!(call.resume(1_000).unwrap(), Step::Paused);
    assert_eq!(call.resume(1_000).unwrap(), Step::Paused);
    let used = call.fuel_used();
    assert!(used > 1_000, "{used}");
    drop(call);
    let stats = plugin.stats();
    assert_eq!(
        stats.fuel_used - before,
        used,
        "PluginStats::fuel_used is documented as all fuel consumed by invocations"
    );
    assert_eq!(stats.last_fuel_used, used);
}
