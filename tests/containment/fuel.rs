//! Catalogue 18-20: fuel, with host calls that do real work.

use pluginhost::{Capability, Host, InvokeError, Plugin, Step};

use crate::harness::{Sandbox, Setup};
use crate::support::abi::argv;
use crate::support::measure::{measure, MIB};
use crate::support::wat::{wasm, wat_bytes};

/// Loops forever over one real host call: `fs_size` of a file, a dial and close of the granted
/// listener, or a run of the granted tool.
fn forever_plugin(sb: &Sandbox) -> Vec<u8> {
    let tool = argv(&[&sb.tool, "loop"]);
    wasm(&format!(
        r#"(module
  (import "pluginhost" "fs_size" (func $fs_size (param i32 i32) (result i32)))
  (import "pluginhost" "net_dial" (func $dial (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_close" (func $close (param i32) (result i32)))
  (import "pluginhost" "process_exec" (func $exec (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "/data/notes.txt")
  (data (i32.const 288) "127.0.0.1")
  (data (i32.const 320) "{argv}")
  (func (export "size_forever") (result i32)
    (loop $l (drop (call $fs_size (i32.const 256) (i32.const 15))) (br $l))
    (i32.const 0))
  (func (export "dial_forever") (result i32)
    (loop $l
      (drop (call $close (call $dial (i32.const 288) (i32.const 9) (i32.const {gp}))))
      (br $l))
    (i32.const 0))
  (func (export "exec_forever") (result i32)
    (loop $l
      (drop (call $exec (i32.const 320) (i32.const {argv_len}) (i32.const 1024) (i32.const 64)))
      (br $l))
    (i32.const 0)))"#,
        argv = wat_bytes(&tool),
        argv_len = tool.len(),
        gp = sb.granted.port(),
    ))
}

fn exhausts(host: &Host, plugin: &mut Plugin, entry: &str, budget: u64) {
    match host.call(plugin, entry, b"") {
        Err(InvokeError::FuelExhausted { fuel_used }) => assert!(fuel_used <= budget),
        other => panic!("{entry}: expected FuelExhausted, got {other:?}"),
    }
}

#[test]
fn case_18_host_calls_are_charged_fuel() {
    let budget = 1_000_000;
    let sb = Sandbox::with(Setup::default().fuel(budget));
    let module = forever_plugin(&sb);
    let base = |name: &str| {
        pluginhost::HOST_FUNCTIONS
            .iter()
            .find(|f| f.name == name)
            .unwrap()
            .base_fuel
    };
    // The documented policy (docs/abi.md): a base per call plus one unit per 8 bytes moved.
    assert_eq!(
        (
            base("fs_size"),
            base("net_dial"),
            base("net_close"),
            base("process_exec")
        ),
        (1_000, 10_000, 100, 100_000)
    );
    let ((plugin, counts), usage) = measure(|| {
        let mut plugin = sb.host.load(&module, sb.standard_grant()).unwrap();
        let mut counts = Vec::new();
        for (entry, capability) in [
            ("size_forever", Capability::FsRead),
            ("dial_forever", Capability::NetDial),
            ("exec_forever", Capability::ProcessExec),
        ] {
            let before = plugin.stats().calls.allowed(capability);
            exhausts(&sb.host, &mut plugin, entry, budget);
            counts.push(plugin.stats().calls.allowed(capability) - before);
        }
        (plugin, counts)
    });
    let (sizes, dials, execs) = (counts[0], counts[1], counts[2]);
    // Each loop can do at most budget / cost calls, and the guest's own loop costs only a few
    // units more per round.
    let per_round = |cost: u64| (budget / (cost + 16), budget / cost);
    let within = |n: u64, (lo, hi): (u64, u64)| n >= lo && n <= hi;
    assert!(within(sizes, per_round(1_000)), "{sizes} fs_size calls");
    assert!(within(dials, per_round(10_100)), "{dials} dials");
    assert!(within(execs, per_round(100_000 + 64 / 8)), "{execs} runs");
    assert_eq!(plugin.stats().fuel_exhausted, 3);

    // Every counted dial and run really happened, and no call past the budget did: the real
    // back-ends saw exactly the admitted calls.
    let mut expect = sb.expect("case 18");
    expect.bound = 4 * MIB;
    expect.granted_connections = dials as usize;
    expect.tool_runs = execs as usize;
    sb.verify(usage, &expect, &[]);
}

/// `burn` makes 600 real `fs_size` calls (over half of a 1,000,000 budget); `exhaust` never
/// stops.
const BURN: &str = r#"(module
  (import "pluginhost" "fs_size" (func $fs_size (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "/data/notes.txt")
  (func (export "burn") (result i32)
    (local $i i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (i32.const 600)))
      (drop (call $fs_size (i32.const 256) (i32.const 15)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i32.const 0))
  (func (export "exhaust") (result i32)
    (loop $l (drop (call $fs_size (i32.const 256) (i32.const 15))) (br $l))
    (i32.const 0)))"#;

#[test]
fn case_19_fuel_resets_per_invocation() {
    let budget = 1_000_000;
    let sb = Sandbox::with(Setup::default().fuel(budget));
    let module = wasm(BURN);
    let ((fuel, sliced, slices), usage) = measure(|| {
        let mut plugin = sb.host.load(&module, sb.standard_grant()).unwrap();
        let mut fuel = Vec::new();
        // More than half the budget each: had fuel accumulated, the second would run out.
        for _ in 0..5 {
            fuel.push(sb.host.call(&mut plugin, "burn", b"").unwrap().fuel_used);
        }
        exhausts(&sb.host, &mut plugin, "exhaust", budget);
        // Nothing carried over from the exhausted invocation either.
        fuel.push(sb.host.call(&mut plugin, "burn", b"").unwrap().fuel_used);
        // A call abandoned half-way leaves nothing behind.
        {
            let mut call = sb.host.start(&mut plugin, "burn", b"").unwrap();
            assert_eq!(call.resume(100_000).unwrap(), Step::Paused);
        }
        fuel.push(sb.host.call(&mut plugin, "burn", b"").unwrap().fuel_used);
        // In small slices: host-call debt carries between slices, never between invocations.
        let mut call = sb.host.start(&mut plugin, "burn", b"").unwrap();
        let mut slices = 0;
        let sliced = loop {
            slices += 1;
            if let Step::Done(done) = call.resume(7_777).unwrap() {
                break done.fuel_used;
            }
        };
        drop(call);
        fuel.push(sb.host.call(&mut plugin, "burn", b"").unwrap().fuel_used);
        (fuel, sliced, slices)
    });
    assert!(fuel[0] > budget / 2 && fuel[0] < budget, "{}", fuel[0]);
    assert!(fuel.iter().all(|f| *f == fuel[0]), "{fuel:?}");
    assert_eq!(sliced, fuel[0]);
    assert!(slices > 50, "{slices} slices");
    let mut expect = sb.expect("case 19");
    expect.bound = 4 * MIB;
    sb.verify(usage, &expect, &[]);
}

/// One invocation of real I/O whose fuel does not depend on what the I/O returns: reads a file
/// into 64 bytes, dials, sends `ping`, receives into 64 bytes once, closes, runs the tool into 64
/// bytes, and writes a fixed 64-byte output.
fn io_plugin(sb: &Sandbox) -> Vec<u8> {
    let tool = argv(&[&sb.tool, "fuel"]);
    wasm(&format!(
        r#"(module
  (import "pluginhost" "input_read" (func $input_read (param i32 i32) (result i32)))
  (import "pluginhost" "fs_read" (func $fs_read (param i32 i32 i32 i32) (result i32)))
  (import "pluginhost" "net_dial" (func $dial (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_send" (func $send (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_recv" (func $recv (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_close" (func $close (param i32) (result i32)))
  (import "pluginhost" "process_exec" (func $exec (param i32 i32 i32 i32) (result i32)))
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "/data/notes.txt")
  (data (i32.const 288) "127.0.0.1")
  (data (i32.const 304) "ping")
  (data (i32.const 320) "{argv}")
  (func (export "run") (result i32)
    (local $h i32)
    (i32.store (i32.const 0) (call $input_read (i32.const 2048) (i32.const 16)))
    (i32.store (i32.const 4) (call $fs_read (i32.const 256) (i32.const 15) (i32.const 1024) (i32.const 64)))
    (local.set $h (call $dial (i32.const 288) (i32.const 9) (i32.const {gp})))
    (i32.store (i32.const 8) (local.get $h))
    (i32.store (i32.const 12) (call $send (local.get $h) (i32.const 304) (i32.const 4)))
    (i32.store (i32.const 16) (i32.gt_s (call $recv (local.get $h) (i32.const 1100) (i32.const 64)) (i32.const 0)))
    (i32.store (i32.const 20) (call $close (local.get $h)))
    (i32.store (i32.const 24) (call $exec (i32.const 320) (i32.const {argv_len}) (i32.const 1200) (i32.const 64)))
    (drop (call $out (i32.const 0) (i32.const 64)))
    (i32.const 0))
  (func (export "boom") (result i32) unreachable))"#,
        argv = wat_bytes(&tool),
        argv_len = tool.len(),
        gp = sb.granted.port(),
    ))
}

#[test]
fn case_20_same_module_input_budget_same_fuel() {
    let sb = Sandbox::new();
    let module = io_plugin(&sb);
    // A second host with the same configuration and back-ends.
    let other = Host::with_backends(*sb.host.config(), sb.host.backends().clone());
    let ((runs, outputs), usage) = measure(|| {
        let mut runs = Vec::new();
        let mut outputs = Vec::new();
        let mut run = |host: &Host, plugin: &mut Plugin| {
            let done = host.call(plugin, "run", b"same input").unwrap();
            assert_eq!(done.status, 0);
            runs.push(done.fuel_used);
            outputs.push(done.output);
        };
        let mut a = sb.host.load(&module, sb.standard_grant()).unwrap();
        for _ in 0..3 {
            run(&sb.host, &mut a);
        }
        assert!(sb.host.call(&mut a, "boom", b"same input").is_err());
        run(&sb.host, &mut a); // rebuilt
        let mut b = sb.host.load(&module, sb.standard_grant()).unwrap();
        run(&sb.host, &mut b);
        let mut c = other.load(&module, sb.standard_grant()).unwrap();
        run(&other, &mut c);
        (runs, outputs)
    });
    assert!(runs.iter().all(|f| *f == runs[0]), "{runs:?}");
    let notes = crate::harness::NOTES.len() as i32;
    let tool_out = 4 + Sandbox::tool_stdout(&["fuel"]).len() as i32;
    for output in &outputs {
        let words: Vec<i32> = output[..28]
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(
            [words[0], words[1], words[3], words[4], words[5], words[6]],
            [10, notes, 4, 1, 0, tool_out],
            "{words:?}"
        );
        assert!(words[2] >= 0);
    }
    let mut expect = sb.expect("case 20");
    expect.bound = 4 * MIB;
    expect.granted_connections = runs.len();
    expect.tool_runs = runs.len();
    let outputs: Vec<&[u8]> = outputs.iter().map(Vec::as_slice).collect();
    let connections = sb.verify(usage, &expect, &outputs);
    assert!(connections.iter().all(|c| c == b"ping"), "{connections:?}");
}
