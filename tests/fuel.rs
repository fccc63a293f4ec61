//! Fuel and time: cases 18-20 of the hostile-plugin catalogue.
//!
//! 18. Host calls are charged by the documented policy: the base cost from the capability table
//!     plus one unit per `bytes_per_fuel` bytes moved, and a loop of host calls cannot exceed
//!     the budget.
//! 19. Fuel is reset per invocation; it never accumulates or leaks between calls.
//! 20. The same module, input and budget consume the same fuel every time.
//!
//! Exact fuel numbers are compared as differences between fixtures that differ only in the
//! host call under test, so wasmi's own per-instruction fuel cancels out. Per-iteration costs are
//! taken as `fuel(2n) - fuel(n)`, which also cancels the fixed cost of entering the entry.

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use pluginhost::{
    BackendError, Backends, Capability, Filesystem, Grant, GuestPath, Host, HostConfig,
    InvokeError, LoadError, HOST_FUNCTIONS,
};
use support::wat::{base_fuel, host_function, wasm, ECHO};

/// Fuel wasmi itself charges for a `call` of an imported function, beyond what evaluating and
/// dropping its arguments and result costs: measured against a loop that drops the same
/// constants instead of calling (wasmi 2.0).
const WASMI_CALL_FUEL: u64 = 1;

/// A module whose `run` executes `body` `n` times in a loop.
fn loop_module(imports: &str, body: &str, n: u32) -> Vec<u8> {
    wasm(&format!(
        r#"(module
            {imports}
            (memory (export "memory") 1)
            (func (export "run") (result i32)
                (local $i i32)
                (block $done (loop $next
                    (br_if $done (i32.ge_u (local.get $i) (i32.const {n})))
                    {body}
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $next)))
                (i32.const 0)))"#
    ))
}

/// Fuel one invocation of `run` consumes.
fn fuel_of(host: &Host, grant: &Grant, module: &[u8]) -> u64 {
    let mut plugin = host.load(module, grant.clone()).unwrap();
    host.call(&mut plugin, "run", b"").unwrap().fuel_used
}

/// Fuel `n` more iterations of `body` consume: `fuel(2n) - fuel(n)`.
fn fuel_of_iterations(host: &Host, grant: &Grant, imports: &str, body: &str, n: u32) -> u64 {
    fuel_of(host, grant, &loop_module(imports, body, 2 * n))
        - fuel_of(host, grant, &loop_module(imports, body, n))
}

fn import_of(name: &str) -> String {
    let f = host_function(name);
    format!(
        r#"(import "pluginhost" "{name}" (func ${name} {} (result i32)))"#,
        "(param i32)".repeat(f.params)
    )
}

fn big_budget_host() -> Host {
    Host::new(HostConfig::default().with_fuel(1_000_000_000))
}

// ---------------------------------------------------------------------------------------------
// 18. Host calls are charged
// ---------------------------------------------------------------------------------------------

#[test]
fn output_write_is_charged_its_base_plus_one_per_8_bytes() {
    let host = big_budget_host();
    let grant = Grant::none();
    let per_fuel = host.config().costs.bytes_per_fuel;
    assert_eq!(per_fuel, 8);
    let base = base_fuel("output_write");
    let import = import_of("output_write");
    const N: u32 = 100;
    for k in [0u64, 1, 7, 8, 9, 64, 1000, 4096] {
        let call = format!("(drop (call $output_write (i32.const 0) (i32.const {k})))");
        let drop = format!("(drop (i32.const 0)) (drop (i32.const {k}))");
        let with_call = fuel_of_iterations(&host, &grant, &import, &call, N);
        let without = fuel_of_iterations(&host, &grant, &import, &drop, N);
        let expected = u64::from(N) * (base + k.div_ceil(per_fuel) + WASMI_CALL_FUEL);
        assert_eq!(
            with_call - without,
            expected,
            "{N} output_write calls of {k} bytes"
        );
    }
}

#[test]
fn random_fill_is_charged_its_base_plus_one_per_8_bytes_and_clock_now_its_base() {
    let host = big_budget_host();
    let grant = Grant::none();
    let imports = format!("{}\n{}", import_of("random_fill"), import_of("clock_now"));
    const N: u32 = 50;
    for k in [0u64, 1, 8, 9, 4096] {
        let call = format!("(drop (call $random_fill (i32.const 0) (i32.const {k})))");
        let drop = format!("(drop (i32.const 0)) (drop (i32.const {k}))");
        let with_call = fuel_of_iterations(&host, &grant, &imports, &call, N);
        let without = fuel_of_iterations(&host, &grant, &imports, &drop, N);
        let expected = u64::from(N) * (base_fuel("random_fill") + k.div_ceil(8) + WASMI_CALL_FUEL);
        assert_eq!(with_call - without, expected, "random_fill of {k} bytes");
    }
    let call = "(drop (call $clock_now (i32.const 0) (i32.const 8)))";
    let drop = "(drop (i32.const 0)) (drop (i32.const 8))";
    let with_call = fuel_of_iterations(&host, &grant, &imports, call, N);
    let without = fuel_of_iterations(&host, &grant, &imports, drop, N);
    assert_eq!(
        with_call - without,
        u64::from(N) * (base_fuel("clock_now") + WASMI_CALL_FUEL)
    );
}

#[test]
fn the_per_byte_charge_is_exact_and_independent_of_wasm_costs() {
    // Same fixture, only the length differs: the difference is the per-byte charge alone.
    let host = big_budget_host();
    let grant = Grant::none();
    let import = import_of("output_write");
    let call = |k: u32| format!("(drop (call $output_write (i32.const 0) (i32.const {k})))");
    const N: u32 = 200;
    let zero = fuel_of(&host, &grant, &loop_module(&import, &call(0), N));
    for k in [1u32, 8, 9, 15, 16, 17, 1000] {
        let fuel = fuel_of(&host, &grant, &loop_module(&import, &call(k), N));
        assert_eq!(
            fuel - zero,
            u64::from(N) * u64::from(k.div_ceil(8)),
            "k = {k}"
        );
    }
}

/// Arguments that make each host function stop right after its base charge, moving no bytes:
/// capabilities without scopes are denied, pointers past the one-page memory are invalid, and
/// log level 70,000 is invalid.
fn fail_fast_call(name: &str, params: usize) -> String {
    format!(
        "(drop (call ${name} {}))",
        "(i32.const 70000)".repeat(params)
    )
}

#[test]
fn every_host_function_is_charged_its_table_base() {
    let host = big_budget_host();
    let grant = Grant::new(&Capability::ALL);
    assert!(!HOST_FUNCTIONS.is_empty());
    const N: u32 = 50;
    for f in HOST_FUNCTIONS {
        let import = import_of(f.name);
        let call = fail_fast_call(f.name, f.params);
        let drop = "(drop (i32.const 70000))".repeat(f.params);
        let with_call = fuel_of_iterations(&host, &grant, &import, &call, N);
        let without = fuel_of_iterations(&host, &grant, &import, &drop, N);
        assert_eq!(
            with_call - without,
            u64::from(N) * (f.base_fuel + WASMI_CALL_FUEL),
            "{} (base {})",
            f.name,
            f.base_fuel
        );
    }
}

#[test]
fn base_costs_differ_exactly_as_the_table_says() {
    // Functions of the same arity share the same wasm shape, so their per-call difference is
    // the difference of their table entries, whatever wasmi charges for the call itself.
    let host = big_budget_host();
    let grant = Grant::new(&Capability::ALL);
    const N: u32 = 50;
    let per_call = |name: &str| {
        let f = host_function(name);
        fuel_of_iterations(
            &host,
            &grant,
            &import_of(name),
            &fail_fast_call(name, f.params),
            N,
        ) / u64::from(N)
    };
    for (a, b) in [
        ("output_write", "fs_size"),
        ("output_write", "input_read"),
        ("log", "net_dial"),
        ("log", "net_send"),
        ("net_send", "net_recv"),
        ("fs_read", "process_exec"),
        ("fs_write", "fs_rename"),
    ] {
        let diff = i128::from(per_call(b)) - i128::from(per_call(a));
        let table = i128::from(base_fuel(b)) - i128::from(base_fuel(a));
        assert_eq!(diff, table, "{b} vs {a}");
    }
}

/// A filesystem that accepts every write and counts them.
#[derive(Default)]
struct CountingFs {
    writes: AtomicU64,
}

impl Filesystem for CountingFs {
    fn read(&self, _: &GuestPath, _: &GuestPath, _: &mut [u8]) -> Result<u64, BackendError> {
        Err(BackendError::NotFound)
    }
    fn size(&self, _: &GuestPath, _: &GuestPath) -> Result<u64, BackendError> {
        Err(BackendError::NotFound)
    }
    fn write(&self, _: &GuestPath, _: &GuestPath, _: &[u8]) -> Result<(), BackendError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn rename(
        &self,
        _: &GuestPath,
        _: &GuestPath,
        _: &GuestPath,
        _: &GuestPath,
    ) -> Result<(), BackendError> {
        Err(BackendError::Unsupported)
    }
}

const FS_WRITE_IMPORT: &str =
    r#"(import "pluginhost" "fs_write" (func $fs_write (param i32 i32 i32 i32) (result i32)))"#;
/// Writes 100 bytes to `/data/f` (the path is at 0, the data at 64).
const FS_WRITE_CALL: &str =
    "(drop (call $fs_write (i32.const 0) (i32.const 7) (i32.const 64) (i32.const 100)))";

fn fs_write_fixture(forever: bool) -> Vec<u8> {
    let run = if forever {
        format!("(loop $again {FS_WRITE_CALL} (br $again)) (i32.const 0)")
    } else {
        format!("{FS_WRITE_CALL} (i32.const 0)")
    };
    wasm(&format!(
        r#"(module
            {FS_WRITE_IMPORT}
            (memory (export "memory") 1)
            (data (i32.const 0) "/data/f")
            (func (export "run") (result i32) {run}))"#
    ))
}

fn counting_host(fuel: u64) -> (Host, Arc<CountingFs>) {
    let fs = Arc::new(CountingFs::default());
    let backends = Backends::unavailable().with_filesystem(fs.clone());
    (
        Host::with_backends(HostConfig::default().with_fuel(fuel), backends),
        fs,
    )
}

fn data_grant() -> Grant {
    Grant::none()
        .with_path_prefix(Capability::FsWrite, "/data")
        .unwrap()
}

#[test]
fn a_loop_of_host_calls_cannot_exceed_the_budget() {
    let budget = 1_000_000;
    let (host, fs) = counting_host(budget);
    let mut plugin = host.load(&fs_write_fixture(true), data_grant()).unwrap();
    let fuel_used = match host.invoke(&mut plugin, "run", b"") {
        Err(InvokeError::FuelExhausted { fuel_used }) => fuel_used,
        other => panic!("expected FuelExhausted, got {other:?}"),
    };
    let per_call = base_fuel("fs_write") + 100u64.div_ceil(8);
    let writes = fs.writes.load(Ordering::SeqCst);
    assert!(fuel_used <= budget);
    assert!(writes > 0);
    // Every write the back-end did was paid for, and the call that could not be paid for
    // stopped the plugin with less than one call's cost (plus one loop iteration) left.
    assert!(
        writes * per_call <= fuel_used,
        "{writes} writes in {fuel_used} fuel"
    );
    assert!(writes <= budget / per_call);
    assert!(
        budget - fuel_used < per_call + 20,
        "stopped with {fuel_used} of {budget} used"
    );
    assert_eq!(plugin.stats().fuel_exhausted, 1);
}

#[test]
fn a_host_call_the_budget_cannot_pay_for_does_no_work() {
    let (host, _) = counting_host(1_000_000);
    let module = fs_write_fixture(false);
    let exact = fuel_of(&host, &data_grant(), &module);
    assert!(exact > base_fuel("fs_write"));

    let (host, fs) = counting_host(exact);
    let mut plugin = host.load(&module, data_grant()).unwrap();
    let completion = host.call(&mut plugin, "run", b"").unwrap();
    assert_eq!(completion.fuel_used, exact, "exactly the budget is enough");
    assert_eq!(fs.writes.load(Ordering::SeqCst), 1);

    let (host, fs) = counting_host(exact - 1);
    let mut plugin = host.load(&module, data_grant()).unwrap();
    let result = host.call(&mut plugin, "run", b"");
    match result {
        Err(InvokeError::FuelExhausted { fuel_used }) => assert!(fuel_used < exact),
        other => panic!("expected FuelExhausted, got {other:?}"),
    }
    assert_eq!(
        fs.writes.load(Ordering::SeqCst),
        0,
        "refused before reaching the back-end"
    );
}

// ---------------------------------------------------------------------------------------------
// 19. Fuel is reset per invocation
// ---------------------------------------------------------------------------------------------

/// Loops `first input byte * 10,000` times, then writes the loop count.
const INPUT_SIZED_LOOP: &str = r#"(module
    (import "pluginhost" "input_read" (func $read (param i32 i32) (result i32)))
    (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "run") (result i32)
        (local $i i32) (local $n i32)
        (drop (call $read (i32.const 0) (i32.const 1)))
        (local.set $n (i32.mul (i32.load8_u (i32.const 0)) (i32.const 10000)))
        (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (i32.store (i32.const 8) (local.get $i))
        (drop (call $out (i32.const 8) (i32.const 4)))
        (i32.const 0)))"#;

#[test]
fn repeated_invocations_report_the_same_fuel() {
    let host = Host::new(HostConfig::default());
    let mut plugin = host.load(&wasm(INPUT_SIZED_LOOP), Grant::none()).unwrap();
    let at_load = plugin.stats().fuel_used;
    let first = host.call(&mut plugin, "run", &[3]).unwrap();
    let mut total = first.fuel_used;
    for _ in 0..9 {
        let again = host.call(&mut plugin, "run", &[3]).unwrap();
        assert_eq!(again, first);
        total += again.fuel_used;
    }
    let stats = plugin.stats();
    assert_eq!(stats.last_fuel_used, first.fuel_used);
    assert_eq!(
        stats.fuel_used,
        at_load + total,
        "stats add up; nothing else is charged"
    );
}

#[test]
fn a_budget_of_exactly_one_invocation_suffices_every_time() {
    // If fuel were carried over (or leaked) between invocations, the second would fail.
    let exact = {
        let host = Host::new(HostConfig::default());
        let mut plugin = host.load(&wasm(INPUT_SIZED_LOOP), Grant::none()).unwrap();
        host.call(&mut plugin, "run", &[2]).unwrap().fuel_used
    };
    let host = Host::new(HostConfig::default().with_fuel(exact));
    let mut plugin = host.load(&wasm(INPUT_SIZED_LOOP), Grant::none()).unwrap();
    for _ in 0..20 {
        let completion = host.call(&mut plugin, "run", &[2]).unwrap();
        assert_eq!(completion.fuel_used, exact);
        assert_eq!(completion.output, 20_000u32.to_le_bytes());
    }
    let over = host.call(&mut plugin, "run", &[3]);
    assert!(
        matches!(over, Err(InvokeError::FuelExhausted { .. })),
        "{over:?}"
    );
    let after = host.call(&mut plugin, "run", &[2]).unwrap();
    assert_eq!(
        after.fuel_used, exact,
        "an exhausted invocation leaves no debt"
    );
}

#[test]
fn a_plugin_that_exhausts_fuel_completes_on_the_next_small_input() {
    let host = Host::new(HostConfig::default().with_fuel(1_000_000));
    let mut fresh = host.load(&wasm(INPUT_SIZED_LOOP), Grant::none()).unwrap();
    let reference = host.call(&mut fresh, "run", &[1]).unwrap();

    let mut plugin = host.load(&wasm(INPUT_SIZED_LOOP), Grant::none()).unwrap();
    for _ in 0..3 {
        let big = host.call(&mut plugin, "run", &[255]);
        match big {
            Err(InvokeError::FuelExhausted { fuel_used }) => assert!(fuel_used <= 1_000_000),
            other => panic!("expected FuelExhausted, got {other:?}"),
        }
        let small = host.call(&mut plugin, "run", &[1]).unwrap();
        assert_eq!(small, reference);
    }
    let stats = plugin.stats();
    assert_eq!(
        (stats.fuel_exhausted, stats.rebuilds, stats.completed),
        (3, 3, 3)
    );
}

// ---------------------------------------------------------------------------------------------
// 20. Determinism
// ---------------------------------------------------------------------------------------------

/// Hashes its input 1,000 times over, logs, writes the hash in chunks and keeps a call counter
/// in a global; input `trap` makes it trap after doing all of that.
const DETERMINISTIC: &str = r#"(module
    (import "pluginhost" "input_len" (func $len (result i32)))
    (import "pluginhost" "input_read" (func $read (param i32 i32) (result i32)))
    (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
    (import "pluginhost" "log" (func $log (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (global $calls (mut i32) (i32.const 0))
    (data (i32.const 4096) "hashing")
    (func (export "run") (result i32)
        (local $n i32) (local $i i32) (local $round i32) (local $h i32)
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (local.set $n (call $read (i32.const 0) (call $len)))
        (local.set $h (i32.const 0x811c9dc5))
        (block $rounds_done (loop $rounds
            (br_if $rounds_done (i32.ge_u (local.get $round) (i32.const 1000)))
            (local.set $i (i32.const 0))
            (block $done (loop $next
                (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (local.get $i)))
                                       (i32.const 0x01000193)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $next)))
            (if (i32.eqz (i32.rem_u (local.get $round) (i32.const 100)))
                (then (drop (call $log (i32.const 3) (i32.const 4096) (i32.const 7)))
                      (i32.store (i32.const 8192) (local.get $h))
                      (drop (call $out (i32.const 8192) (i32.const 4)))))
            (local.set $round (i32.add (local.get $round) (i32.const 1)))
            (br $rounds)))
        (i32.store (i32.const 8192) (global.get $calls))
        (drop (call $out (i32.const 8192) (i32.const 4)))
        (if (i32.eq (i32.load (i32.const 0)) (i32.const 0x70617274)) (then unreachable))
        (i32.const 0)))"#;

#[test]
fn same_module_input_and_budget_give_the_same_fuel_and_output() {
    let input = b"determinism is a property of the whole stack";
    let run_on = |host: &Host, runs: usize| {
        let mut plugin = host.load(&wasm(DETERMINISTIC), Grant::none()).unwrap();
        (0..runs)
            .map(|_| {
                let c = host.call(&mut plugin, "run", input).unwrap();
                // The call counter (last word) is state; everything before it must repeat.
                (c.fuel_used, c.output[..c.output.len() - 4].to_vec())
            })
            .collect::<Vec<_>>()
    };
    let first_host = Host::new(HostConfig::default());
    let runs = run_on(&first_host, 5);
    assert!(runs.iter().all(|r| *r == runs[0]), "{runs:?}");
    let second_host = Host::new(HostConfig::default());
    assert_eq!(run_on(&second_host, 1)[0], runs[0], "another Host instance");
    assert_eq!(runs[0].1.len(), 40, "ten hash snapshots");
}

#[test]
fn a_rebuilt_instance_behaves_exactly_like_a_fresh_load() {
    let host = Host::new(HostConfig::default());
    let mut fresh = host.load(&wasm(DETERMINISTIC), Grant::none()).unwrap();
    let reference = host.call(&mut fresh, "run", b"some input").unwrap();
    assert_eq!(reference.output[40..], 1u32.to_le_bytes());

    let mut plugin = host.load(&wasm(DETERMINISTIC), Grant::none()).unwrap();
    host.call(&mut plugin, "run", b"x").unwrap();
    let second = host.call(&mut plugin, "run", b"some input").unwrap();
    assert_eq!(
        second.output[40..],
        2u32.to_le_bytes(),
        "globals persist between invocations"
    );
    let trapped = host.call(&mut plugin, "run", b"trap");
    assert!(
        matches!(trapped, Err(InvokeError::Trap { .. })),
        "{trapped:?}"
    );
    assert!(!plugin.is_live());

    let rebuilt = host.call(&mut plugin, "run", b"some input").unwrap();
    assert_eq!(
        rebuilt, reference,
        "same output, counter and fuel as a fresh instance"
    );
    let stats = plugin.stats();
    assert_eq!(
        (
            stats.invocations,
            stats.completed,
            stats.traps,
            stats.rebuilds
        ),
        (4, 3, 1, 1)
    );
}

// ---------------------------------------------------------------------------------------------
// The start function runs with exactly the budget
// ---------------------------------------------------------------------------------------------

/// A start function that loops 5,000 times and calls a host function on each turn.
const COSTLY_START: &str = r#"(module
    (import "pluginhost" "input_len" (func $len (result i32)))
    (memory (export "memory") 1)
    (global $ready (mut i32) (i32.const 0))
    (func $init
        (local $i i32)
        (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $i) (i32.const 5000)))
            (drop (call $len))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (global.set $ready (i32.const 1)))
    (start $init)
    (func (export "run") (result i32) (i32.sub (i32.const 1) (global.get $ready))))"#;

#[test]
fn the_start_function_runs_with_exactly_the_budget() {
    let module = wasm(COSTLY_START);
    let start_fuel = {
        let host = Host::new(HostConfig::default());
        host.load(&module, Grant::none()).unwrap().stats().fuel_used
    };
    // 5,000 turns, each paying at least input_len's base.
    assert!(start_fuel > 5000 * base_fuel("input_len"), "{start_fuel}");

    let host = Host::new(HostConfig::default().with_fuel(start_fuel));
    let mut plugin = host
        .load(&module, Grant::none())
        .expect("exactly enough fuel");
    assert_eq!(plugin.stats().fuel_used, start_fuel);
    // The invocation gets its own full budget, not what the start function left.
    assert_eq!(host.invoke(&mut plugin, "run", b""), Ok(Vec::new()));

    let host = Host::new(HostConfig::default().with_fuel(start_fuel - 1));
    match host.load(&module, Grant::none()) {
        Err(LoadError::StartFuelExhausted { fuel_used }) => assert!(fuel_used < start_fuel),
        other => panic!("expected StartFuelExhausted, got {other:?}"),
    }
}

#[test]
fn the_benign_fixture_costs_the_same_everywhere() {
    // A smoke check of the shared fixture the exhaustion tests rely on.
    let a = Host::new(HostConfig::default());
    let b = Host::new(HostConfig::default());
    let mut pa = a.load(&wasm(ECHO), Grant::none()).unwrap();
    let mut pb = b.load(&wasm(ECHO), Grant::none()).unwrap();
    let ca = a.call(&mut pa, "run", b"abc").unwrap();
    assert_eq!(ca, b.call(&mut pb, "run", b"abc").unwrap());
    assert_eq!(ca.output, b"ok:abc");
}
