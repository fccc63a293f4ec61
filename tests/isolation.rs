//! Two plugins from one host: separate state, separate grants and counters, and a fault in one
//! (catalogue 32) leaves the other untouched while the faulted one is rebuilt from scratch.

#![cfg(feature = "cap-fs")]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::sync::Arc;

use pluginhost::{
    Capability, Grant, Host, HostConfig, InvokeError, MemoryFilesystem, Plugin, Trap,
};
use support::abi::*;
use support::checks::*;
use support::hosts::*;
use support::wat::*;

/// A counter in a global and one in memory (starting at 100 from a data segment); a gated call;
/// and several ways to fault.
const COUNTER_WAT: &str = r#"(module
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (import "pluginhost" "fs_size" (func $fs_size (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))
  (global $zero (mut i32) (i32.const 0))
  (data (i32.const 16) "\64\00\00\00")
  (data (i32.const 32) "/data/a")
  ;; Bumps both counters and outputs them (global, memory) as two little-endian i32s.
  (func (export "bump") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
    (i32.store (i32.const 0) (global.get $count))
    (i32.store (i32.const 4) (i32.load (i32.const 16)))
    (drop (call $out (i32.const 0) (i32.const 8)))
    (i32.const 0))
  (func (export "probe") (result i32)
    (call $fs_size (i32.const 32) (i32.const 7)))
  ;; Bumps, then faults: the bump must not survive.
  (func (export "boom") (result i32)
    (drop (call 2))
    unreachable)
  (func (export "oob") (result i32)
    (drop (call 2))
    (i32.load (i32.const 70000)))
  (func (export "div0") (result i32)
    (drop (call 2))
    (i32.div_s (i32.const 1) (global.get $zero)))
  (func (export "spin") (result i32)
    (drop (call 2))
    (loop $l (br $l))
    (i32.const 0)))"#;

fn host(config: HostConfig) -> Host {
    let fs = Arc::new(MemoryFilesystem::new());
    assert!(fs.insert("/data/a", "12345"));
    host_with_fs(config, fs)
}

fn load(host: &Host, grant: Grant) -> Plugin {
    host.load(&wasm(COUNTER_WAT), grant).expect("load")
}

/// Runs `bump` and returns (global counter, memory counter).
fn bump(host: &Host, plugin: &mut Plugin) -> (i32, i32) {
    let output = host.invoke(plugin, "bump", b"").expect("bump");
    assert_eq!(output.len(), 8);
    (
        i32::from_le_bytes([output[0], output[1], output[2], output[3]]),
        i32::from_le_bytes([output[4], output[5], output[6], output[7]]),
    )
}

fn readable() -> Grant {
    Grant::none().with_spec("fs.read=/data").expect("grant")
}

#[test]
fn state_stays_separate() {
    let host = host(HostConfig::default());
    let mut a = load(&host, readable());
    let mut b = load(&host, readable());
    assert_eq!(bump(&host, &mut a), (1, 101));
    assert_eq!(bump(&host, &mut a), (2, 102));
    assert_eq!(bump(&host, &mut a), (3, 103));
    assert_eq!(bump(&host, &mut b), (1, 101));
    assert_eq!(bump(&host, &mut a), (4, 104));
    assert_eq!(bump(&host, &mut b), (2, 102));
    assert_eq!(a.stats().invocations, 4);
    assert_eq!(b.stats().invocations, 2);
}

#[test]
fn grants_and_counters_stay_separate() {
    let host = host(HostConfig::default());
    let mut a = load(&host, readable());
    let mut b = load(&host, Grant::new(&[Capability::FsRead])); // linked, admits nothing
    assert_eq!(host.call(&mut a, "probe", b"").expect("probe").status, 5);
    assert_eq!(
        host.call(&mut b, "probe", b"").expect("probe").status,
        DENIED
    );
    assert_eq!(
        host.call(&mut b, "probe", b"").expect("probe").status,
        DENIED
    );
    assert_counts(&a, [(1, 0), (0, 0), (0, 0), (0, 0)]);
    assert_counts(&b, [(0, 2), (0, 0), (0, 0), (0, 0)]);
}

#[test]
fn a_trap_in_one_plugin_leaves_the_other_working_and_is_rebuilt() {
    let host = host(HostConfig::default());
    let mut a = load(&host, readable());
    let mut b = load(&host, Grant::new(&[Capability::FsRead]));
    assert_eq!(bump(&host, &mut a), (1, 101));
    assert_eq!(bump(&host, &mut a), (2, 102));
    assert_eq!(host.call(&mut a, "probe", b"").expect("probe").status, 5);
    assert_eq!(bump(&host, &mut b), (1, 101));
    assert_eq!(
        host.call(&mut b, "probe", b"").expect("probe").status,
        DENIED
    );
    let b_before = b.stats();

    let e = host.call(&mut a, "boom", b"").expect_err("trap");
    assert!(
        matches!(
            e,
            InvokeError::Trap {
                trap: Trap::Unreachable,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.kind(), "trap");
    assert!(!a.is_live(), "the trapped instance is discarded");
    assert_eq!((a.stats().traps, a.stats().rebuilds), (1, 0));

    // The other plugin carries on, with its state and counters as they were.
    assert!(b.is_live());
    assert_eq!(b.stats(), b_before);
    assert_eq!(bump(&host, &mut b), (2, 102));
    let b_after = b.stats();
    assert_eq!(
        (b_after.traps, b_after.rebuilds, b_after.fuel_exhausted),
        (0, 0, 0)
    );
    assert_eq!(b_after.calls, b_before.calls);
    assert_eq!(b_after.invocations, b_before.invocations + 1);

    // The trapped plugin is rebuilt before its next invocation: memory, globals and data
    // segments start over, while its statistics and call counters are kept.
    assert_eq!(bump(&host, &mut a), (1, 101));
    assert!(a.is_live());
    let stats = a.stats();
    assert_eq!((stats.rebuilds, stats.traps), (1, 1));
    assert_counts(&a, [(1, 0), (0, 0), (0, 0), (0, 0)]);
    assert_eq!(bump(&host, &mut a), (2, 102));
    assert_eq!(
        a.stats().rebuilds,
        1,
        "one rebuild per fault, not per invocation"
    );
    // The host drops a plugin's linker once its module is instantiated and builds it again for a
    // rebuild, from the same grant: the granted import still reaches its back-end.
    assert_eq!(host.call(&mut a, "probe", b"").expect("probe").status, 5);
    assert_counts(&a, [(2, 0), (0, 0), (0, 0), (0, 0)]);

    let pool = host.stats();
    assert_eq!(pool.in_flight, 0);
}

#[test]
fn every_trap_kind_is_typed_and_rebuilt() {
    let host = host(HostConfig::default());
    let mut a = load(&host, readable());
    let mut b = load(&host, readable());
    assert_eq!(bump(&host, &mut b), (1, 101));
    for (i, (entry, trap)) in [
        ("boom", Trap::Unreachable),
        ("oob", Trap::MemoryOutOfBounds),
        ("div0", Trap::DivisionByZero),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(bump(&host, &mut a), (1, 101), "{entry}: fresh state");
        assert_eq!(bump(&host, &mut a), (2, 102), "{entry}");
        match host.call(&mut a, entry, b"") {
            Err(InvokeError::Trap {
                trap: got,
                fuel_used,
            }) => {
                assert_eq!(got, trap, "{entry}");
                assert!(fuel_used > 0, "{entry}");
            }
            other => panic!("{entry}: expected a trap, got {other:?}"),
        }
        assert_eq!(a.stats().traps, i as u64 + 1);
        assert_eq!(a.stats().rebuilds, i as u64);
    }
    assert_eq!(bump(&host, &mut a), (1, 101));
    assert_eq!(a.stats().rebuilds, 3);
    // b never noticed.
    assert_eq!(bump(&host, &mut b), (2, 102));
    assert_eq!((b.stats().traps, b.stats().rebuilds), (0, 0));
}

#[test]
fn running_out_of_fuel_in_one_plugin_leaves_the_other_alone() {
    let budget = 200_000;
    let host = host(HostConfig::default().with_fuel(budget));
    let mut a = load(&host, readable());
    let mut b = load(&host, readable());
    assert_eq!(bump(&host, &mut a), (1, 101));
    assert_eq!(bump(&host, &mut b), (1, 101));
    let e = host.call(&mut a, "spin", b"").expect_err("fuel");
    assert_eq!(e, InvokeError::FuelExhausted { fuel_used: budget });
    assert_eq!(e.kind(), "fuel_exhausted");
    assert_eq!((a.stats().fuel_exhausted, a.stats().traps), (1, 0));
    assert_eq!(bump(&host, &mut b), (2, 102));
    assert_eq!(
        bump(&host, &mut a),
        (1, 101),
        "rebuilt after running out of fuel"
    );
    assert_eq!(a.stats().rebuilds, 1);
    assert_eq!(b.stats().rebuilds, 0);
}

#[test]
fn a_trap_during_a_gated_call_sequence_keeps_the_counts() {
    // Counts made in the invocation that trapped are kept too.
    const WAT: &str = r#"(module
      (import "pluginhost" "fs_size" (func $fs_size (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "/etc/passwd")
      (func (export "run") (result i32)
        (drop (call $fs_size (i32.const 0) (i32.const 11)))
        unreachable))"#;
    let host = host(HostConfig::default());
    let mut plugin = host.load(&wasm(WAT), readable()).expect("load");
    for round in 1..=2 {
        let e = host.call(&mut plugin, "run", b"").expect_err("trap");
        assert!(
            matches!(
                e,
                InvokeError::Trap {
                    trap: Trap::Unreachable,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_counts(&plugin, [(0, round), (0, 0), (0, 0), (0, 0)]);
    }
    assert_eq!(plugin.stats().rebuilds, 1);
}
