//! `Residency::Transient`: a plugin holds nothing of wasmi's between invocations (no engine,
//! module, translated code, instance or linear memory) and loads its module again before each
//! one. Every invocation starts from the module's initial state; counters, denials, the last
//! logs and usage are kept; faults release it too; and what it holds at rest is small.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(all(feature = "transient", feature = "cap-fs"))]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

#[global_allocator]
static ALLOCATOR: support::alloc::Counting = support::alloc::Counting;

use std::sync::Arc;

use pluginhost::proto::deploy::DeployRequest;
use pluginhost::{
    Backends, Capability, Grant, Host, HostConfig, InvokeError, LoadError, LogLevel,
    MemoryFilesystem, Plugin, Residency, Step, Translation, Trap,
};
use pluginhost_bundled as bundled;
use support::alloc::thread_current;
use support::hosts::{config_with, grant};
use support::wat::{import_line, wasm};

fn transient() -> HostConfig {
    HostConfig::DEFAULT.with_residency(Residency::Transient)
}

/// Counts its runs in a global and returns the count; a start function burns some fuel; `log`
/// writes a line; `write` tries to write `/etc/x` (outside any grant here); `trap` traps after
/// growing its memory; `spin` never ends.
fn counter() -> Vec<u8> {
    wasm(&format!(
        r#"(module
            {}
            {}
            (memory (export "memory") 1)
            (data (i32.const 0) "/etc/x")
            (data (i32.const 16) "hello")
            (global $runs (mut i32) (i32.const 0))
            (func $start (local i32)
                (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get 0) (i32.const 100)))))
            (start $start)
            (func (export "run") (result i32)
                (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
                (global.get $runs))
            (func (export "log") (result i32)
                (drop (call $log (i32.const 2) (i32.const 16) (i32.const 5)))
                (i32.const 0))
            (func (export "write") (result i32)
                (call $fs_write (i32.const 0) (i32.const 6) (i32.const 16) (i32.const 5)))
            (func (export "trap") (result i32)
                (drop (memory.grow (i32.const 1)))
                unreachable)
            (func (export "spin") (result i32)
                (loop $l (br $l))
                (i32.const 0)))"#,
        import_line("log"),
        import_line("fs_write"),
    ))
}

fn load(host: &Host, wasm: &[u8]) -> Plugin {
    let fs = Arc::new(MemoryFilesystem::new());
    fs.create_dir("/data");
    let backends = Backends::unavailable().with_filesystem(fs);
    host.load_with_backends(wasm, grant(&["fs.write=/data"]), backends)
        .unwrap()
}

#[test]
fn every_invocation_starts_from_the_initial_state() {
    let module = counter();
    let resident = Host::new(HostConfig::DEFAULT);
    let mut kept = load(&resident, &module);
    let statuses: Vec<i32> = (0..3)
        .map(|_| resident.call(&mut kept, "run", b"").unwrap().status)
        .collect();
    assert_eq!(statuses, [1, 2, 3]);
    assert!(kept.is_live());

    let host = Host::new(transient());
    let mut plugin = load(&host, &module);
    assert!(!plugin.is_live(), "released right after its load");
    for _ in 0..3 {
        let done = host.call(&mut plugin, "run", b"").unwrap();
        assert_eq!(done.status, 1);
        assert!(!plugin.is_live());
    }
    let stats = plugin.stats();
    assert_eq!((stats.invocations, stats.completed), (3, 3));
    assert_eq!((stats.reloads, stats.rebuilds), (3, 0));
}

#[test]
fn fuel_is_that_of_a_resident_plugin_and_the_start_function_is_not_charged_to_it() {
    let module = counter();
    let resident = Host::new(HostConfig::DEFAULT);
    let mut kept = load(&resident, &module);
    let host = Host::new(transient());
    let mut plugin = load(&host, &module);
    for entry in ["log", "write", "log"] {
        let a = resident.call(&mut kept, entry, b"").unwrap();
        let b = host.call(&mut plugin, entry, b"").unwrap();
        assert_eq!((a.status, a.fuel_used), (b.status, b.fuel_used), "{entry}");
    }
    // Fuel of every start function run counts in the total (one at load, one per reload).
    assert!(plugin.stats().fuel_used > kept.stats().fuel_used);
}

#[test]
fn counters_denials_logs_and_usage_outlive_the_release() {
    let host = Host::new(transient());
    let mut plugin = load(&host, &counter());
    let denied = host.call(&mut plugin, "write", b"").unwrap();
    assert_eq!(denied.status, -1, "DENIED");
    host.call(&mut plugin, "log", b"").unwrap();
    assert_eq!(host.call(&mut plugin, "write", b"").unwrap().status, -1);

    assert!(!plugin.is_live());
    let calls = plugin.stats().calls;
    assert_eq!(calls.denied(Capability::FsWrite), 2);
    assert_eq!(calls.allowed(Capability::FsWrite), 0);
    let denial = plugin.denials().iter().next().expect("a denial");
    assert_eq!((denial.import, denial.count), ("fs_write", 2));
    let target = plugin.denials().targets().next().expect("a denied target");
    assert_eq!((target.target(), target.count), ("/etc/x", 2));

    // The last invocation's logs are those of `write` (none); those of `log` were there until it.
    assert_eq!(plugin.logs().len(), 0);
    host.call(&mut plugin, "log", b"").unwrap();
    let line = plugin.logs().iter().next().expect("a log line");
    assert_eq!((line.level, line.message), (LogLevel::Info, "hello"));
    assert_eq!(plugin.usage().memory_bytes, 65_536);
    assert_eq!(plugin.memory_size(), 65_536);
}

#[test]
fn a_fault_releases_the_plugin_and_the_next_invocation_loads_it_again() {
    let host = Host::new(transient());
    let mut plugin = load(&host, &counter());
    match host.call(&mut plugin, "trap", b"") {
        Err(InvokeError::Trap { trap, .. }) => assert_eq!(trap, Trap::Unreachable),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert!(!plugin.is_live());
    // Its memory had grown to two pages when it trapped.
    assert_eq!(plugin.memory_size(), 2 * 65_536);
    let host = Host::new(transient().with_fuel(10_000));
    assert!(matches!(
        host.call(&mut plugin, "spin", b""),
        Err(InvokeError::FuelExhausted { .. })
    ));
    assert!(!plugin.is_live());
    assert_eq!(host.call(&mut plugin, "run", b"").unwrap().status, 1);
    assert_eq!(plugin.memory_size(), 65_536);
    let stats = plugin.stats();
    assert_eq!(
        (
            stats.traps,
            stats.fuel_exhausted,
            stats.rebuilds,
            stats.reloads
        ),
        (1, 1, 0, 3)
    );
}

#[test]
fn an_abandoned_or_refused_invocation_releases_it_too() {
    let host = Host::new(transient());
    let mut plugin = load(&host, &counter());
    {
        let mut call = host.start(&mut plugin, "spin", b"").unwrap();
        assert_eq!(call.resume(1_000).unwrap(), Step::Paused);
        // Dropped unfinished.
    }
    assert!(!plugin.is_live());
    assert!(matches!(
        host.call(&mut plugin, "missing", b""),
        Err(InvokeError::NoEntry { .. })
    ));
    assert!(!plugin.is_live());
    assert_eq!(host.call(&mut plugin, "run", b"").unwrap().status, 1);
    assert_eq!(plugin.stats().reloads, 3);
}

#[test]
fn a_module_lent_for_the_load_is_copied_and_the_load_time_configuration_is_kept() {
    let mut bytes = counter();
    let host = Host::new(transient());
    let mut plugin = load(&host, &bytes);
    bytes.fill(0);
    drop(bytes);
    // Invoked through a host whose limits would refuse the module: the plugin loads again under
    // the configuration it was admitted with.
    let strict = Host::new(
        config_with(|limits| limits.module_bytes = 8).with_residency(Residency::Transient),
    );
    assert!(matches!(
        strict.load(&counter(), Grant::none()),
        Err(LoadError::ModuleTooLarge { .. })
    ));
    assert_eq!(strict.call(&mut plugin, "run", b"").unwrap().status, 1);
}

#[test]
fn the_conformance_gate_admits_under_a_transient_configuration() {
    let host = Host::new(transient());
    let report = host.conformance(bundled::CONNECTOR_FILE_DEPLOY);
    assert!(report.ok(), "{report:?}");
}

/// Heap held by a real plugin, measured on this thread: at rest a transient plugin holds a few
/// KiB whatever it ran; a resident one holds its compiled module, translated code and memory.
#[test]
fn a_released_plugin_holds_a_few_kib() {
    let fs = Arc::new(MemoryFilesystem::new());
    fs.create_dir("/certs");
    let backends = Backends::unavailable().with_filesystem(fs);
    let request = postcard::to_allocvec(&DeployRequest {
        chain_pem: String::from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
        key_ref: None,
        target_dir: String::from("/certs"),
        file_name: String::from("chain.pem"),
    })
    .unwrap();
    let mut held = Vec::new();
    for residency in [Residency::Resident, Residency::Transient] {
        let host = Host::new(
            HostConfig::DEFAULT
                .with_translation(Translation::Lazy)
                .with_residency(residency),
        );
        let before = thread_current();
        let mut plugin = host
            .load_static_with_backends(
                bundled::CONNECTOR_FILE_DEPLOY,
                grant(&["fs.write=/certs"]),
                backends.clone(),
            )
            .unwrap();
        let after_load = thread_current() - before;
        let done = host.call(&mut plugin, "run", &request).unwrap();
        assert_eq!(done.status, 0);
        let after_invoke = thread_current() - before;
        drop(plugin);
        held.push((after_load, after_invoke));
    }
    let (resident, transient) = (held[0], held[1]);
    assert!(
        transient.0 < 8 * 1024 && transient.1 < 8 * 1024,
        "{transient:?}"
    );
    // The resident plugin holds its linear memory (64 KiB or more) and its translated code.
    assert!(
        resident.1 > transient.1 + 64 * 1024,
        "{resident:?} {transient:?}"
    );
}

#[test]
fn a_module_that_fails_to_load_again_is_a_typed_error_and_the_plugin_stays_released() {
    // The start function reads /data/switch and traps unless it starts with `y`.
    let module = wasm(&format!(
        r#"(module
            {}
            (memory (export "memory") 1)
            (data (i32.const 0) "/data/switch")
            (func $start
                (drop (call $fs_read (i32.const 0) (i32.const 12) (i32.const 64) (i32.const 1)))
                (if (i32.ne (i32.load8_u (i32.const 64)) (i32.const 121)) (then unreachable)))
            (start $start)
            (func (export "run") (result i32) (i32.const 7)))"#,
        import_line("fs_read"),
    ));
    let fs = Arc::new(MemoryFilesystem::new());
    fs.create_dir("/data");
    fs.insert("/data/switch", "y");
    let backends = Backends::unavailable().with_filesystem(fs.clone());
    let host = Host::new(transient());
    let mut plugin = host
        .load_with_backends(&module, grant(&["fs.read=/data"]), backends)
        .unwrap();
    fs.insert("/data/switch", "n");
    match host.call(&mut plugin, "run", b"") {
        Err(InvokeError::Rebuild(LoadError::StartTrap(Trap::Unreachable))) => {}
        other => panic!("expected a failed reload, got {other:?}"),
    }
    assert!(!plugin.is_live());
    fs.insert("/data/switch", "y");
    assert_eq!(host.call(&mut plugin, "run", b"").unwrap().status, 7);
    assert_eq!(plugin.stats().reloads, 2);
}
