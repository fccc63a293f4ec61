//! Catalogue 30-32: imports and entry points, and traps, on the real host.

use pluginhost::{Capability, Grant, InvokeError, LoadError, Trap};

use crate::harness::Sandbox;
use crate::support::checks::assert_counts;
use crate::support::hosts::grant;
use crate::support::measure::{measure, MIB};
use crate::support::wat::wasm;

/// A module importing `import` (a full `(import ...)` form) next to a real `fs_write`, with a
/// start function that would write `/data/pwned` and call the import: had it linked, the tree
/// would show it.
fn importing(import: &str, call: &str) -> Vec<u8> {
    wasm(&format!(
        r#"(module
          (import "pluginhost" "fs_write" (func $fs_write (param i32 i32 i32 i32) (result i32)))
          {import}
          (memory (export "memory") 1)
          (data (i32.const 0) "/data/pwned")
          (func $start
            (drop (call $fs_write (i32.const 0) (i32.const 11) (i32.const 0) (i32.const 11)))
            {call})
          (start $start)
          (func (export "run") (result i32) (i32.const 0)))"#
    ))
}

#[test]
fn case_30_unlisted_ungranted_or_mistyped_imports_fail_load() {
    let sb = Sandbox::new();
    let everything = sb.standard_grant();
    let unknown = |module: &str, name: &str| LoadError::UnknownImport {
        module: module.into(),
        name: name.into(),
    };
    let not_granted = |capability, import| LoadError::NotGranted { capability, import };
    let signature = |import, expected: &str, found: &str| LoadError::ImportSignature {
        import,
        expected: expected.into(),
        found: found.into(),
    };
    let sig = "(param i32 i32) (result i32)";
    let cases: Vec<(&str, Vec<u8>, Grant, LoadError)> = vec![
        (
            "a signer",
            importing(
                &format!(r#"(import "pluginhost" "signer" (func $x {sig}))"#),
                "(drop (call $x (i32.const 0) (i32.const 0)))",
            ),
            everything.clone(),
            unknown("pluginhost", "signer"),
        ),
        (
            "a keystore",
            importing(
                &format!(r#"(import "pluginhost" "keystore_get" (func $x {sig}))"#),
                "(drop (call $x (i32.const 0) (i32.const 0)))",
            ),
            everything.clone(),
            unknown("pluginhost", "keystore_get"),
        ),
        (
            "a listed name from a foreign module",
            importing(
                r#"(import "env" "fs_read" (func $x (param i32 i32 i32 i32) (result i32)))"#,
                "",
            ),
            everything.clone(),
            unknown("env", "fs_read"),
        ),
        (
            "WASI",
            importing(
                r#"(import "wasi_snapshot_preview1" "proc_exit" (func $x (param i32)))"#,
                "",
            ),
            everything.clone(),
            unknown("wasi_snapshot_preview1", "proc_exit"),
        ),
        (
            "a memory from the host",
            wasm(
                r#"(module
                  (import "pluginhost" "memory" (memory 1))
                  (export "memory" (memory 0))
                  (func (export "run") (result i32) (i32.const 0)))"#,
            ),
            everything.clone(),
            unknown("pluginhost", "memory"),
        ),
        (
            "fs_write without fs.write",
            importing("", ""),
            grant(&["fs.read=/data"]),
            not_granted(Capability::FsWrite, "fs_write"),
        ),
        (
            "net_dial without net.dial",
            importing(
                r#"(import "pluginhost" "net_dial" (func $x (param i32 i32 i32) (result i32)))"#,
                "",
            ),
            grant(&["fs.write=/data"]),
            not_granted(Capability::NetDial, "net_dial"),
        ),
        (
            "process_exec without process.exec",
            importing(
                r#"(import "pluginhost" "process_exec" (func $x (param i32 i32 i32 i32) (result i32)))"#,
                "",
            ),
            grant(&["fs.write=/data"]),
            not_granted(Capability::ProcessExec, "process_exec"),
        ),
        (
            "net_dial with an i64 port",
            importing(
                r#"(import "pluginhost" "net_dial" (func $x (param i32 i32 i64) (result i32)))"#,
                "",
            ),
            everything.clone(),
            signature(
                "net_dial",
                "(i32, i32, i32) -> i32",
                "(i32, i32, i64) -> i32",
            ),
        ),
        (
            "process_exec without a result",
            importing(
                r#"(import "pluginhost" "process_exec" (func $x (param i32 i32 i32 i32)))"#,
                "",
            ),
            everything.clone(),
            signature(
                "process_exec",
                "(i32, i32, i32, i32) -> i32",
                "(i32, i32, i32, i32)",
            ),
        ),
        (
            "fs_read with three parameters",
            importing(
                r#"(import "pluginhost" "fs_read" (func $x (param i32 i32 i32) (result i32)))"#,
                "",
            ),
            everything.clone(),
            signature(
                "fs_read",
                "(i32, i32, i32, i32) -> i32",
                "(i32, i32, i32) -> i32",
            ),
        ),
    ];
    let (results, usage) = measure(|| {
        cases
            .iter()
            .map(|(_, module, grant, _)| sb.host.load(module, grant.clone()))
            .collect::<Vec<_>>()
    });
    for ((what, _, _, expected), result) in cases.iter().zip(results) {
        let error = result.expect_err(what);
        assert_eq!(&error, expected, "{what}");
        // The message names the import (and the capability, where one is missing).
        let message = error.to_string();
        match &error {
            LoadError::UnknownImport { module, name } => {
                assert!(message.contains(&format!("{module}.{name}")), "{message}");
            }
            LoadError::NotGranted { capability, import } => {
                assert!(message.contains(import), "{message}");
                assert!(message.contains(capability.name()), "{message}");
            }
            LoadError::ImportSignature { import, .. } => {
                assert!(message.contains(import), "{message}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    let mut expect = sb.expect("case 30");
    expect.bound = 4 * MIB;
    sb.verify(usage, &expect, &[]);
}

#[test]
fn case_31_missing_or_mistyped_run_export() {
    let sb = Sandbox::new();
    // Each would write /data/pwned if its "entry" were ever called.
    let body =
        r#"(drop (call $fs_write (i32.const 0) (i32.const 11) (i32.const 0) (i32.const 11)))"#;
    let module = |exports: &str| {
        wasm(&format!(
            r#"(module
              (import "pluginhost" "fs_write" (func $fs_write (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "/data/pwned")
              {exports})"#
        ))
    };
    let cases = [
        (
            "no run",
            module(&format!(
                r#"(func (export "main") (result i32) {body} (i32.const 0))"#
            )),
        ),
        (
            "run takes a parameter",
            module(&format!(
                r#"(func (export "run") (param i32) (result i32) {body} (i32.const 0))"#
            )),
        ),
        (
            "run returns i64",
            module(&format!(
                r#"(func (export "run") (result i64) {body} (i64.const 0))"#
            )),
        ),
        (
            "run returns nothing",
            module(&format!(r#"(func (export "run") {body})"#)),
        ),
        (
            "run is a global",
            module(r#"(global (export "run") i32 (i32.const 0))"#),
        ),
        (
            "run is the memory",
            wasm(r#"(module (memory (export "memory") (export "run") 1))"#),
        ),
    ];
    let (results, usage) = measure(|| {
        cases
            .iter()
            .map(|(_, wasm)| {
                let report = sb.host.conformance(wasm);
                let mut plugin = sb.host.load(wasm, sb.standard_grant()).unwrap();
                let result = sb.host.call(&mut plugin, "run", b"");
                (report, plugin, result)
            })
            .collect::<Vec<_>>()
    });
    for ((what, _), (report, plugin, result)) in cases.iter().zip(results) {
        assert!(!report.ok(), "{what}: conformance must refuse");
        let exports = report.checks.iter().find(|c| c.name == "exports").unwrap();
        assert!(!exports.passed, "{what}");
        assert!(
            exports.reason.contains("run: () -> i32"),
            "{what}: {}",
            exports.reason
        );
        assert_eq!(
            result.unwrap_err(),
            InvokeError::NoEntry { name: "run".into() },
            "{what}"
        );
        let stats = plugin.stats();
        assert_eq!((stats.invocations, stats.traps), (0, 0), "{what}");
        assert!(plugin.is_live(), "{what}: nothing ran, nothing to rebuild");
        assert_counts(&plugin, [(0, 0); 4]);
    }
    let mut expect = sb.expect("case 31");
    expect.bound = 4 * MIB;
    sb.verify(usage, &expect, &[]);
}

/// A counter in memory (from 100), and entries that write a file, open a connection and send
/// on it, then fault in different ways.
fn trapping_plugin(gp: u16) -> Vec<u8> {
    wasm(&format!(
        r#"(module
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (import "pluginhost" "fs_write" (func $fs_write (param i32 i32 i32 i32) (result i32)))
  (import "pluginhost" "net_dial" (func $dial (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_send" (func $send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $zero (mut i32) (i32.const 0))
  (data (i32.const 16) "\64\00\00\00")
  (data (i32.const 256) "/data/trap.txt")
  (data (i32.const 288) "127.0.0.1")
  (data (i32.const 320) "before-trap")
  (func $bump (result i32)
    (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
    (i32.load (i32.const 16)))
  (func (export "count") (result i32)
    (i32.store (i32.const 0) (call $bump))
    (drop (call $out (i32.const 0) (i32.const 4)))
    (i32.const 0))
  (func $setup
    (local $h i32)
    (drop (call $bump))
    (drop (call $fs_write (i32.const 256) (i32.const 14) (i32.const 320) (i32.const 11)))
    (local.set $h (call $dial (i32.const 288) (i32.const 9) (i32.const {gp})))
    (drop (call $send (local.get $h) (i32.const 320) (i32.const 11))))
  (func (export "unreachable") (result i32) (call $setup) unreachable)
  (func (export "oob") (result i32) (call $setup) (i32.load (i32.const 70000)))
  (func (export "div0") (result i32) (call $setup) (i32.div_s (i32.const 1) (global.get $zero)))
  (func (export "overflow") (result i32)
    (call $setup)
    (i32.div_s (i32.const 0x80000000) (i32.sub (global.get $zero) (i32.const 1)))))"#
    ))
}

fn count(sb: &Sandbox, plugin: &mut pluginhost::Plugin) -> i32 {
    let out = sb.host.invoke(plugin, "count", b"").unwrap();
    i32::from_le_bytes(out.try_into().unwrap())
}

#[test]
fn case_32_trap_rebuilds_instance() {
    let sb = Sandbox::new();
    let module = trapping_plugin(sb.granted.port());
    // Another instance of the same module, loaded before: its state must carry on.
    let mut other = sb.host.load(&module, sb.standard_grant()).unwrap();
    assert_eq!(count(&sb, &mut other), 101);

    let ((plugin, seen), usage) = measure(|| {
        let mut plugin = sb.host.load(&module, sb.standard_grant()).unwrap();
        let mut seen = vec![count(&sb, &mut plugin), count(&sb, &mut plugin)];
        for (entry, trap) in [
            ("unreachable", Trap::Unreachable),
            ("oob", Trap::MemoryOutOfBounds),
            ("div0", Trap::DivisionByZero),
            ("overflow", Trap::IntegerOverflow),
        ] {
            match sb.host.call(&mut plugin, entry, b"") {
                Err(InvokeError::Trap { trap: got, .. }) => assert_eq!(got, trap, "{entry}"),
                other => panic!("{entry}: expected a trap, got {other:?}"),
            }
            assert!(!plugin.is_live(), "{entry}: the instance is discarded");
            // Rebuilt from the module: the counter starts over at 100.
            seen.push(count(&sb, &mut plugin));
        }
        (plugin, seen)
    });
    assert_eq!(seen, [101, 102, 101, 101, 101, 101]);
    let stats = plugin.stats();
    assert_eq!(
        (
            stats.invocations,
            stats.completed,
            stats.traps,
            stats.rebuilds
        ),
        (10, 6, 4, 4)
    );
    // Counters survive rebuilds.
    assert_counts(&plugin, [(0, 0), (4, 0), (8, 0), (0, 0)]);
    assert_eq!(
        count(&sb, &mut other),
        102,
        "the other instance is untouched"
    );
    assert_eq!((other.stats().traps, other.stats().rebuilds), (0, 0));
    assert_eq!(
        std::fs::read(sb.data.join("trap.txt")).unwrap(),
        b"before-trap"
    );

    let mut expect = sb.expect("case 32");
    expect.writable = vec![sb.data.join("trap.txt")];
    expect.granted_connections = 4;
    let connections = sb.verify(usage, &expect, &[]);
    // Each connection was closed by the host when its invocation trapped (the listener saw the
    // end of each), after the bytes sent before the trap.
    assert_eq!(connections, vec![b"before-trap".to_vec(); 4]);
}
