//! The on-device test suite: real plugins from `plugins/` and WAT fixtures, run by pluginhost on
//! the microcontroller with in-memory back-ends. Prints `PASS <case>` / `FAIL <case>: <why>`,
//! heap and stack high-water marks, and `N passed, M failed`; exits non-zero on any failure.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use pluginhost::probe_native_stack;
use pluginhost::proto::deploy::{DeployRequest, DeployResponse};
use pluginhost::proto::dns::{PublishTxtRequest, PublishTxtResponse, UpdateTxtResponse};
use pluginhost::proto::{FailureCode, Response};
use pluginhost::{
    Backends, Capability, Completion, Grant, Host, HostConfig, InvokeError, Limits, LoadError,
    MemoryFilesystem, MemoryNetwork, MemoryProcessRunner, Plugin, Residency, Step, Translation,
    Trap,
};
use pluginhost_firmware::{ensure, println, Suite, HEAP};

#[path = "../embedder.rs"]
mod embedder;
use embedder::{initial_memory_bytes, rfc2136_backends, rfc2136_input, RFC2136_GRANT};

macro_rules! wasm {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".wasm")) as &[u8]
    };
}

// Real plugins from plugins/ (built for the device by build-plugins.sh).
static FILE_DEPLOY: &[u8] = wasm!("connector_file_deploy");
static DNS_ZONEFILE: &[u8] = wasm!("dns_zonefile");
static DNS_RFC2136: &[u8] = wasm!("dns_rfc2136");
// WAT fixtures (fixtures/*.wat, converted by build.rs on the build machine).
static COMPUTE: &[u8] = wasm!("compute");
static SPIN: &[u8] = wasm!("spin");
static DENIED: &[u8] = wasm!("denied");
static ESCAPE: &[u8] = wasm!("escape");
static OOB: &[u8] = wasm!("oob");
static GROW: &[u8] = wasm!("grow");
static BIGMEM: &[u8] = wasm!("bigmem");
static RECURSE: &[u8] = wasm!("recurse");
static STARTLOOP: &[u8] = wasm!("startloop");
static GROWLOOPS: &[u8] = wasm!("growloops");
static GROWSTART: &[u8] = wasm!("growstart");

/// Fuel per invocation on the device.
const FUEL: u64 = 2_000_000;
/// Operations of each class the native-stack probe runs.
const PROBE_OPERATIONS: u32 = 1_000;
/// Grows per grow loop.
const GROW_ITERATIONS: u32 = 100_000;
/// Fuel for a grow loop (about 37 fuel per grow) and for the start function's 400,000 grows.
const GROW_FUEL: u64 = 20_000_000;
/// Fuel per slice in the interleaved run.
const SLICE: u64 = 20_000;
/// Main-loop iterations of other work between two turns of plugin slices.
const WORK_PER_TURN: u32 = 3;

const PEM: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGUgZm9yIHRoZSBNQ1UgdGVzdDAKBggqhkjOPQQDAjAQ\n\
MQ4wDAYDVQQDDAVtY3UtY2EwHhcNMjYwMTAxMDAwMDAwWhcNMjcwMTAxMDAwMDAwWjAQMQ4wDAYD\n\
-----END CERTIFICATE-----\n";

const ZONE: &str = "$ORIGIN example.com.\n\
@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300\n\
@ 3600 IN NS ns1.example.com.\n\
www 300 IN A 192.0.2.10\n";

/// The device's configuration: small limits, and functions translated on first call (a plugin
/// keeps translated code only for what it runs; docs/footprint.md).
fn config() -> HostConfig {
    HostConfig::DEFAULT
        .with_limits(Limits::EMBEDDED)
        .with_fuel(FUEL)
        .with_translation(Translation::Lazy)
}

/// A filesystem with the given directories, and back-ends around it.
fn backends_with(dirs: &[&str]) -> (Arc<MemoryFilesystem>, Backends) {
    let fs = Arc::new(MemoryFilesystem::with_capacity(32, 64 * 1024));
    for dir in dirs {
        fs.create_dir(dir);
    }
    let backends = Backends::unavailable()
        .with_filesystem(fs.clone())
        .with_network(Arc::new(MemoryNetwork::new()))
        .with_process(Arc::new(MemoryProcessRunner::new()));
    (fs, backends)
}

fn grant(specs: &[&str]) -> Grant {
    let mut grant = Grant::none();
    for spec in specs {
        grant = match grant.with_spec(spec) {
            Ok(g) => g,
            Err(e) => panic!("grant {spec}: {e}"),
        };
    }
    grant
}

fn deploy_input(dir: &str, name: &str) -> Vec<u8> {
    let request = DeployRequest {
        chain_pem: PEM.to_string(),
        key_ref: Some("keystore:mcu-1".to_string()),
        target_dir: dir.to_string(),
        file_name: name.to_string(),
    };
    postcard::to_allocvec(&request).unwrap_or_default()
}

fn dns_input() -> Vec<u8> {
    let request = PublishTxtRequest {
        zone: "example.com".to_string(),
        fqdn: "www.example.com".to_string(),
        value: "gfj9Xq-Mcu_TestToken0123456789abcdefghijkl".to_string(),
        ttl: 120,
    };
    postcard::to_allocvec(&request).unwrap_or_default()
}

fn i32s(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A plugin loaded from flash and invoked once, with the heap it used (bytes relative to the heap
/// before the load).
struct Measured {
    plugin: Plugin,
    done: Completion,
    after_load: usize,
    load_peak: usize,
    invoke_peak: usize,
    after_invoke: usize,
}

/// Loads `wasm` from flash with `host` (`Host::load_static`) and invokes `run` once with `input`,
/// measuring each step; `what` qualifies the error messages.
fn load_and_run(
    host: &Host,
    wasm: &'static [u8],
    grant: Grant,
    backends: Backends,
    input: &[u8],
    what: &str,
) -> Result<Measured, String> {
    let base = HEAP.current();
    HEAP.reset_peak();
    let mut plugin = host
        .load_static_with_backends(wasm, grant, backends)
        .map_err(|e| format!("load{what}: {e}"))?;
    let after_load = HEAP.current().saturating_sub(base);
    let load_peak = HEAP.peak() - base;
    HEAP.reset_peak();
    let done = host
        .call(&mut plugin, "run", input)
        .map_err(|e| format!("invoke{what}: {e}"))?;
    Ok(Measured {
        invoke_peak: HEAP.peak() - base,
        after_invoke: HEAP.current().saturating_sub(base),
        plugin,
        done,
        after_load,
        load_peak,
    })
}

/// Loads `wasm` from flash (`Host::load_static`), invokes `entry` once, and prints the heap use
/// of both steps: the bytes added by loading (and the part beyond the plugin's linear memory),
/// the peaks of load and invocation, and checks everything is freed when the plugin is dropped.
/// For comparison it first loads the same bytes with `Host::load` (wasmi copies every function
/// body to the heap) and prints what that load holds, `after_load_copied`. Then it does the same
/// under `Residency::Transient` (a `HEAP transient` line): what the plugin holds at rest after its
/// load and after its invocation, and the invocation's peak; the invocation must end with the
/// same status (its back-ends now hold what the first one wrote). Last, resident again under
/// other budgets for translated code (`HEAP budget` lines) and without one (a `HEAP unbudgeted`
/// line): what the budget saves, and costs. Each of those runs starts from the back-ends' first
/// state again (`reset` puts it back), so that its fuel compares with the first run's.
fn heap_profile(
    name: &str,
    wasm: &'static [u8],
    grant: Grant,
    backends: Backends,
    input: &[u8],
    reset: &dyn Fn(),
) -> Result<Completion, String> {
    let host = Host::new(config());
    let memory = initial_memory_bytes(wasm).unwrap_or(0) as usize;
    let base = HEAP.current();
    let copied = host
        .load_with_backends(wasm, grant.clone(), backends.clone())
        .map_err(|e| format!("load (copied): {e}"))?;
    let after_load_copied = HEAP.current() - base;
    drop(copied);
    ensure!(
        HEAP.current() == base,
        "the copied load kept {} bytes",
        HEAP.current() - base
    );
    let Measured {
        plugin,
        done,
        after_load,
        load_peak,
        invoke_peak,
        after_invoke,
    } = load_and_run(&host, wasm, grant.clone(), backends.clone(), input, "")?;
    // Linear memory never shrinks: its size after the invocation is its peak.
    let memory_after = plugin.memory_size();
    drop(plugin);
    // What the plugin's back-ends still hold (files it wrote); heap_released checks for leaks.
    let retained = HEAP.current().saturating_sub(base);
    let beyond = after_load as i64 - memory as i64;
    println!(
        "HEAP plugin={} wasm={} linear_memory={} after_load_copied={} beyond_copied={} after_load={} load_peak={} beyond_linear_memory={} invoke_peak={} after_invoke={} beyond_after_invoke={} pages_initial={} pages_after_invoke={} retained_by_backends={} fuel={} translated_code_bytes={}",
        name,
        wasm.len(),
        memory,
        after_load_copied,
        after_load_copied as i64 - memory as i64,
        after_load,
        load_peak,
        beyond,
        invoke_peak,
        after_invoke,
        after_invoke as i64 - memory_after as i64,
        memory / 65536,
        memory_after / 65536,
        retained,
        done.fuel_used,
        match Limits::EMBEDDED.translated_code_bytes {
            Some(bytes) => bytes.to_string(),
            None => "none".to_string(),
        }
    );
    defmt::info!(
        "heap {=str}: +{=usize} after load ({=i64} beyond linear memory), invoke peak +{=usize}",
        name,
        after_load,
        beyond,
        invoke_peak
    );

    // The same plugin, released between invocations. Measured from here: what the back-ends
    // hold already (files written above) is not the plugin's.
    let host = Host::new(config().with_residency(Residency::Transient));
    let Measured {
        plugin,
        done: again,
        after_load: rest_after_load,
        load_peak: transient_load_peak,
        invoke_peak: transient_invoke_peak,
        after_invoke: rest_after_invoke,
    } = load_and_run(
        &host,
        wasm,
        grant.clone(),
        backends.clone(),
        input,
        " (transient)",
    )?;
    ensure!(
        again.status == done.status,
        "transient invocation: status {} (resident: {})",
        again.status,
        done.status
    );
    ensure!(
        !plugin.is_live() && plugin.stats().reloads == 1 && plugin.memory_size() == memory_after,
        "transient plugin: live {} reloads {} memory {}",
        plugin.is_live(),
        plugin.stats().reloads,
        plugin.memory_size()
    );
    drop(plugin);
    println!(
        "HEAP transient plugin={} rest_after_load={} load_peak={} invoke_peak={} invoke_peak_beyond_linear_memory={} rest_after_invoke={}",
        name,
        rest_after_load,
        transient_load_peak,
        transient_invoke_peak,
        transient_invoke_peak as i64 - memory_after as i64,
        rest_after_invoke
    );

    // Resident again under other budgets for translated code (the next whole KiB above
    // `Limits::EMBEDDED`'s and twice it) and without one (keeping the code of every function it
    // runs): what `Limits::EMBEDDED`'s budget saves, and costs.
    let embedded = Limits::EMBEDDED.translated_code_bytes;
    for budget in [embedded.map(|b| b + 1024), embedded.map(|b| 2 * b), None] {
        reset();
        let limits = Limits::EMBEDDED.with_translated_code_bytes(budget);
        let host = Host::new(config().with_limits(limits));
        let Measured {
            plugin,
            done: other,
            after_load: other_after_load,
            invoke_peak: other_invoke_peak,
            after_invoke: other_after_invoke,
            ..
        } = load_and_run(
            &host,
            wasm,
            grant.clone(),
            backends.clone(),
            input,
            " (other budget)",
        )?;
        ensure!(
            other.status == done.status,
            "invocation with a translated-code budget of {:?}: status {} (budgeted: {})",
            budget,
            other.status,
            done.status
        );
        let other_memory = plugin.memory_size();
        drop(plugin);
        let measured = format!(
            "plugin={} beyond_linear_memory={} invoke_peak_beyond_linear_memory={} beyond_after_invoke={} fuel={}",
            name,
            other_after_load as i64 - memory as i64,
            other_invoke_peak as i64 - other_memory as i64,
            other_after_invoke as i64 - other_memory as i64,
            other.fuel_used
        );
        match budget {
            Some(bytes) => println!("HEAP budget translated_code_bytes={} {}", bytes, measured),
            None => println!("HEAP unbudgeted {}", measured),
        }
    }
    Ok(done)
}

/// Where a plugin's RAM goes: the host's load steps replayed with wasmi directly (same engine
/// configuration, `Module::new_static` as `Host::load_static` uses, every host function of the
/// ABI table linked), measured one by one. With lazy translation the "compiled module" is the
/// validated module whose functions borrow their wasm bodies from flash until their first call.
fn heap_breakdown(name: &str, wasm: &'static [u8]) -> Result<(), String> {
    use wasmi::{Caller, Engine, Linker, Module, Store};
    let e = |e: wasmi::Error| format!("{e}");
    let base = HEAP.current();
    let config = pluginhost::engine_config(&Limits::EMBEDDED, Translation::Lazy);
    let engine = Engine::new(&config);
    let after_engine = HEAP.current();
    let module = Module::new_static(&engine, wasm).map_err(e)?;
    let after_module = HEAP.current();
    let mut linker = Linker::<()>::new(&engine);
    for f in pluginhost::HOST_FUNCTIONS {
        let m = pluginhost::ABI_MODULE;
        match f.params {
            0 => linker.func_wrap(m, f.name, |_: Caller<'_, ()>| -> i32 { 0 }),
            1 => linker.func_wrap(m, f.name, |_: Caller<'_, ()>, _: i32| -> i32 { 0 }),
            2 => linker.func_wrap(m, f.name, |_: Caller<'_, ()>, _: i32, _: i32| -> i32 { 0 }),
            3 => linker.func_wrap(
                m,
                f.name,
                |_: Caller<'_, ()>, _: i32, _: i32, _: i32| -> i32 { 0 },
            ),
            _ => linker.func_wrap(
                m,
                f.name,
                |_: Caller<'_, ()>, _: i32, _: i32, _: i32, _: i32| -> i32 { 0 },
            ),
        }
        .map_err(|err| format!("{err}"))?;
    }
    let after_linker = HEAP.current();
    let mut store = Store::new(&engine, ());
    store.set_fuel(FUEL).map_err(e)?;
    let after_store = HEAP.current();
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .map_err(e)?;
    let after_instance = HEAP.current();
    let memory = initial_memory_bytes(wasm).unwrap_or(0) as usize;
    println!(
        "BREAKDOWN plugin={} engine={} compiled_module={} linker={} store={} instance={} (of which linear memory {}) total={} host_functions={}",
        name,
        after_engine - base,
        after_module - after_engine,
        after_linker - after_module,
        after_store - after_linker,
        after_instance - after_store,
        memory,
        after_instance - base,
        pluginhost::HOST_FUNCTIONS.len()
    );
    drop((instance, store, linker, module, engine, config));
    ensure!(
        HEAP.current() == base,
        "wasmi kept {} bytes",
        HEAP.current() - base
    );
    Ok(())
}

/// Runs `entry` of a freshly loaded plugin to completion in one go.
fn run_fresh(
    host: &Host,
    wasm: &'static [u8],
    grant: Grant,
    backends: Backends,
    input: &[u8],
) -> Result<Completion, String> {
    let mut plugin = host
        .load_static_with_backends(wasm, grant, backends)
        .map_err(|e| format!("load: {e}"))?;
    host.call(&mut plugin, "run", input)
        .map_err(|e| format!("invoke: {e}"))
}

#[pluginhost_firmware::entry]
fn main() -> ! {
    pluginhost_firmware::init();
    let boot_heap = HEAP.current();
    let mut suite = Suite::new();
    println!("pluginhost firmware on {}", pluginhost_firmware::TARGET);
    println!(
        "config: fuel {} per invocation, limits EMBEDDED (memory {} B, module {} B, input {} B, recursion {}), heap {} B",
        FUEL,
        Limits::EMBEDDED.memory_bytes,
        Limits::EMBEDDED.module_bytes,
        Limits::EMBEDDED.input_bytes,
        Limits::EMBEDDED.max_recursion_depth,
        pluginhost_firmware::HEAP_BYTES
    );
    defmt::info!("firmware up: {}", config());

    // --- The interpreter's native stack must not grow with executed instructions ----------------
    // (wasmi's tail-call dispatch needs sibling calls; where the compiler does not emit them, a
    // guest loop overruns the native stack, which a microcontroller does not detect: it corrupts
    // the heap.) Checked first, on a short budget, so a bad build fails here and stops.
    let mut stack_ok = false;
    suite.case("native_stack_flat_under_guest_loop", || {
        let host = Host::new(config().with_fuel(20_000));
        let mut plugin = host.load_static(SPIN, Grant::none()).map_err(|e| format!("load: {e}"))?;
        let (before, _) = pluginhost_firmware::stack_high_water();
        let result = host.call(&mut plugin, "run", &[]);
        let (after, size) = pluginhost_firmware::stack_high_water();
        println!("STACK guest loop of 20000 fuel: native high-water {} -> {} of {} bytes", before, after, size);
        ensure!(matches!(result, Err(InvokeError::FuelExhausted { .. })), "result {result:?}");
        ensure!(after < 64 * 1024, "native stack reached {after} bytes for a 20000-fuel loop: the dispatch is not tail-calling");
        stack_ok = true;
        Ok(())
    });
    if !stack_ok {
        println!("aborting: further guest code would overrun the native stack");
        suite.finish();
    }

    // Every operation class, measured by the library's probe: a class that nests native frames
    // reports its bytes here (1,000 operations of ~100 bytes fit in the stack) instead of
    // overrunning it in the cases below.
    suite.case("native_stack_probe_every_class", || {
        pluginhost_firmware::paint_stack();
        let report = probe_native_stack(PROBE_OPERATIONS).map_err(|e| format!("probe: {e}"))?;
        for class in report.classes() {
            println!(
                "STACK probe {}: {} bytes over {} operations",
                class.class, class.growth_bytes, class.operations
            );
        }
        let (used, size) = pluginhost_firmware::stack_high_water();
        println!(
            "STACK probe of every class: native high-water {} of {} bytes",
            used, size
        );
        ensure!(
            report.is_flat(),
            "some operation class grows the native stack"
        );
        Ok(())
    });

    // A hundred thousand grows of each kind, in exported functions and in a start function: with
    // an unpatched wasmi each would have nested a native frame (megabytes of stack).
    suite.case("grow_loops_native_stack_flat", || {
        let host = Host::new(config().with_fuel(GROW_FUEL));
        let input = GROW_ITERATIONS.to_le_bytes();
        for entry in [
            "memory_grow",
            "memory_grow_fail",
            "table_grow",
            "table_grow_fail",
        ] {
            pluginhost_firmware::paint_stack();
            let mut plugin = host
                .load_static(GROWLOOPS, Grant::none())
                .map_err(|e| format!("load: {e}"))?;
            let result = host.call(&mut plugin, entry, &input);
            let (used, size) = pluginhost_firmware::stack_high_water();
            println!(
                "STACK {} x {}: native high-water {} of {} bytes",
                GROW_ITERATIONS, entry, used, size
            );
            ensure!(result.is_ok(), "{entry}: {result:?}");
            ensure!(
                used < 64 * 1024,
                "{entry}: native stack reached {used} bytes"
            );
        }
        pluginhost_firmware::paint_stack();
        let loaded = host.load_static(GROWSTART, Grant::none());
        let (used, size) = pluginhost_firmware::stack_high_water();
        println!(
            "STACK 4 x 100000 grows in a start function: native high-water {} of {} bytes",
            used, size
        );
        ensure!(loaded.is_ok(), "start function: {:?}", loaded.err());
        ensure!(
            used < 64 * 1024,
            "start function: native stack reached {used} bytes"
        );
        Ok(())
    });

    // --- Conformance gate on the real plugins ---------------------------------------------------
    for (name, wasm) in [
        ("connector_file_deploy", FILE_DEPLOY),
        ("dns_zonefile", DNS_ZONEFILE),
        ("dns_rfc2136", DNS_RFC2136),
    ] {
        suite.case(&format!("conformance_{name}"), || {
            let host = Host::new(config());
            let base = HEAP.current();
            HEAP.reset_peak();
            let report = host.conformance(wasm);
            println!("HEAP conformance={} peak={}", name, HEAP.peak() - base);
            if !report.ok() {
                let failed: Vec<String> = report
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| format!("{}: {}", c.name, c.reason))
                    .collect();
                return Err(failed.join("; "));
            }
            ensure!(
                report.privileged_operations() == 0,
                "attempted privileged operations"
            );
            ensure!(report.manifest.is_some(), "no manifest found");
            defmt::info!(
                "conformance {=str}: ok, fuel {=u64}",
                name,
                report.fuel_used
            );
            Ok(())
        });
    }

    suite.case("conformance_refuses_hostile", || {
        let host = Host::new(config());
        let denied = host.conformance(DENIED);
        ensure!(!denied.ok(), "a plugin calling fs_write passed the gate");
        ensure!(
            denied.privileged_operations() == 2,
            "attempts {}",
            denied.privileged_operations()
        );
        let spin = host.conformance(SPIN);
        ensure!(!spin.ok() && spin.trapped, "a runaway loop passed the gate");
        let big = host.conformance(BIGMEM);
        ensure!(
            !big.ok() && !big.instantiated,
            "a 4 GiB memory passed the gate"
        );
        Ok(())
    });

    // --- The real connector under a narrow grant -------------------------------------------------
    suite.case("deploy_under_narrow_grant", || {
        let (fs, backends) = backends_with(&["/certs", "/etc"]);
        let done = heap_profile(
            "connector_file_deploy",
            FILE_DEPLOY,
            grant(&["fs.write=/certs"]),
            backends,
            &deploy_input("/certs", "chain.pem"),
            &|| {},
        )?;
        ensure!(done.status == 0, "status {}", done.status);
        let response: Response<DeployResponse> =
            postcard::from_bytes(&done.output).map_err(|e| format!("response: {e}"))?;
        let response =
            response.map_err(|f| format!("plugin failed: {:?} {}", f.code, f.message))?;
        ensure!(
            response.path == "/certs/chain.pem",
            "path {}",
            response.path
        );
        ensure!(
            response.bytes_written == PEM.len() as u64,
            "bytes {}",
            response.bytes_written
        );
        ensure!(
            fs.get("/certs/chain.pem").as_deref() == Some(PEM.as_bytes()),
            "file content differs"
        );
        ensure!(
            fs.paths() == ["/certs/chain.pem"],
            "files: {:?}",
            fs.paths()
        );
        Ok(())
    });

    suite.case("deploy_outside_grant_is_denied", || {
        let host = Host::new(config());
        let (fs, backends) = backends_with(&["/certs", "/etc"]);
        let mut plugin = host
            .load_static_with_backends(FILE_DEPLOY, grant(&["fs.write=/certs"]), backends)
            .map_err(|e| format!("load: {e}"))?;
        let response: Response<DeployResponse> = host
            .invoke_typed(
                &mut plugin,
                "run",
                &DeployRequest {
                    chain_pem: PEM.to_string(),
                    key_ref: None,
                    target_dir: "/etc".to_string(),
                    file_name: "passwd".to_string(),
                },
            )
            .map_err(|e| format!("invoke: {e}"))?;
        let failure = match response {
            Ok(r) => return Err(format!("deployed to {}", r.path)),
            Err(f) => f,
        };
        ensure!(
            failure.code == FailureCode::Denied,
            "code {:?}: {}",
            failure.code,
            failure.message
        );
        let stats = plugin.stats();
        ensure!(
            stats.calls.denied(Capability::FsWrite) == 1,
            "denied {}",
            stats.calls.denied(Capability::FsWrite)
        );
        ensure!(
            stats.calls.allowed(Capability::FsWrite) == 0,
            "allowed {}",
            stats.calls.allowed(Capability::FsWrite)
        );
        ensure!(fs.paths().is_empty(), "files: {:?}", fs.paths());
        defmt::info!("denied deploy: {}", stats);
        Ok(())
    });

    suite.case("dns_zonefile_publish", || {
        let (fs, backends) = backends_with(&["/zones"]);
        fs.insert("/zones/example.com.zone", ZONE.as_bytes());
        let done = heap_profile(
            "dns_zonefile",
            DNS_ZONEFILE,
            grant(&["fs.read=/zones", "fs.write=/zones"]),
            backends,
            &dns_input(),
            &|| {
                fs.insert("/zones/example.com.zone", ZONE.as_bytes());
            },
        )?;
        let response: Response<PublishTxtResponse> =
            postcard::from_bytes(&done.output).map_err(|e| format!("response: {e}"))?;
        let response =
            response.map_err(|f| format!("plugin failed: {:?} {}", f.code, f.message))?;
        let zone = fs.get("/zones/example.com.zone").unwrap_or_default();
        let zone = core::str::from_utf8(&zone).map_err(|_| "zone is not UTF-8".to_string())?;
        ensure!(
            zone.contains(&response.record_line),
            "record {:?} missing from zone",
            response.record_line
        );
        ensure!(
            zone.starts_with("$ORIGIN example.com."),
            "zone lost its head"
        );
        ensure!(
            fs.paths() == ["/zones/example.com.zone"],
            "files: {:?}",
            fs.paths()
        );
        Ok(())
    });

    suite.case("dns_rfc2136_update_refused", || {
        let done = heap_profile(
            "dns_rfc2136",
            DNS_RFC2136,
            grant(&RFC2136_GRANT),
            rfc2136_backends(),
            &rfc2136_input(),
            &|| {},
        )?;
        ensure!(done.status == 0, "status {}", done.status);
        let response: Response<UpdateTxtResponse> =
            postcard::from_bytes(&done.output).map_err(|e| format!("response: {e}"))?;
        match response {
            Err(f)
                if f.code == FailureCode::Unauthorized && f.message.contains("NOTAUTH/BADSIG") =>
            {
                Ok(())
            }
            other => Err(format!("expected an Unauthorized failure, got {other:?}")),
        }
    });

    // --- Heap profiles of the small WAT plugins -------------------------------------------------
    suite.case("heap_small_plugins", || {
        heap_profile(
            "compute.wat",
            COMPUTE,
            Grant::none(),
            Backends::unavailable(),
            &[],
            &|| {},
        )?;
        let (_fs, backends) = backends_with(&["/data"]);
        heap_profile(
            "denied.wat",
            DENIED,
            grant(&["fs.write=/data"]),
            backends,
            &[],
            &|| {},
        )?;
        let host = Host::new(config());
        let base = HEAP.current();
        let plugin = host.load_static(SPIN, Grant::none()).map_err(|e| format!("load: {e}"))?;
        println!(
            "HEAP plugin=spin.wat wasm={} linear_memory=65536 after_load={} beyond_linear_memory={}",
            SPIN.len(),
            HEAP.current() - base,
            (HEAP.current() - base) as i64 - 65536
        );
        drop(plugin);
        Ok(())
    });

    suite.case("heap_breakdown", || {
        heap_breakdown("connector_file_deploy", FILE_DEPLOY)?;
        heap_breakdown("dns_zonefile", DNS_ZONEFILE)?;
        heap_breakdown("dns_rfc2136", DNS_RFC2136)?;
        heap_breakdown("compute.wat", COMPUTE)?;
        heap_breakdown("denied.wat", DENIED)
    });

    // --- Resumable fuel slices interleaved with other work ---------------------------------------
    suite.case("fuel_slices_interleaved", || {
        let host = Host::new(config());
        let deploy_grant = || grant(&["fs.write=/certs"]);
        let input = deploy_input("/certs", "slices.pem");

        // Reference: each plugin freshly loaded and run without interruption.
        let compute_ref = run_fresh(&host, COMPUTE, Grant::none(), Backends::unavailable(), &[])?;
        let (fs_ref, backends) = backends_with(&["/certs"]);
        let deploy_ref = run_fresh(&host, FILE_DEPLOY, deploy_grant(), backends, &input)?;

        // The same, freshly loaded, advanced in slices of SLICE fuel, round-robin, with other work
        // done on every turn of the main loop.
        let mut compute = host
            .load_static(COMPUTE, Grant::none())
            .map_err(|e| format!("load: {e}"))?;
        let (fs, backends) = backends_with(&["/certs"]);
        let mut deploy = host
            .load_static_with_backends(FILE_DEPLOY, deploy_grant(), backends)
            .map_err(|e| format!("load: {e}"))?;
        let mut a = host.start(&mut compute, "run", &[]).map_err(|e| format!("start: {e}"))?;
        let mut b = host.start(&mut deploy, "run", &input).map_err(|e| format!("start: {e}"))?;
        let (mut done_a, mut done_b) = (None, None);
        let (mut slices_a, mut slices_b) = (0u32, 0u32);
        let (mut iterations, mut work) = (0u32, 0x1234_5678u32);
        // The main loop gives the plugins one slice each on every WORK_PER_TURN-th iteration and
        // does other work on the others; the number of iterations between two turns is checked.
        let mut since_turn = 0u32;
        let mut turns = 0u32;
        while done_a.is_none() || done_b.is_none() {
            iterations += 1;
            if iterations % (WORK_PER_TURN + 1) != 0 {
                // "Other work": what a firmware main loop does between plugin slices.
                for _ in 0..64 {
                    work ^= work << 13;
                    work ^= work >> 17;
                    work ^= work << 5;
                }
                since_turn += 1;
                continue;
            }
            ensure!(since_turn == WORK_PER_TURN, "{since_turn} iterations of other work before turn {turns}");
            since_turn = 0;
            turns += 1;
            if done_a.is_none() {
                slices_a += 1;
                if let Step::Done(c) = a.resume(SLICE).map_err(|e| format!("compute slice: {e}"))? {
                    done_a = Some(c);
                }
            }
            if done_b.is_none() {
                slices_b += 1;
                if let Step::Done(c) = b.resume(SLICE).map_err(|e| format!("deploy slice: {e}"))? {
                    done_b = Some(c);
                }
            }
            ensure!(iterations < 100_000, "no progress after {iterations} iterations");
        }
        drop((a, b));
        let (done_a, done_b) = (done_a.unwrap_or_else(|| unreachable!()), done_b.unwrap_or_else(|| unreachable!()));
        println!(
            "SLICES main_loop_iterations={} plugin_turns={} other_work_between_turns={} compute_slices={} compute_fuel={} deploy_slices={} deploy_fuel={} (work {:#x})",
            iterations, turns, WORK_PER_TURN, slices_a, done_a.fuel_used, slices_b, done_b.fuel_used, work
        );
        defmt::info!(
            "slices: {=u32} iterations, compute {=u32} slices / {=u64} fuel, deploy {=u32} slices / {=u64} fuel",
            iterations,
            slices_a,
            done_a.fuel_used,
            slices_b,
            done_b.fuel_used
        );
        ensure!(slices_a > 1 && slices_b > 1, "not sliced: {slices_a} / {slices_b}");
        ensure!(done_a == compute_ref, "compute: sliced {:?} != uninterrupted {:?}", done_a, compute_ref);
        ensure!(done_b == deploy_ref, "deploy: sliced fuel {} status {} != uninterrupted fuel {} status {}",
            done_b.fuel_used, done_b.status, deploy_ref.fuel_used, deploy_ref.status);
        ensure!(done_a.output.len() == 12, "compute output {:?}", done_a.output);
        ensure!(fs.get("/certs/slices.pem") == fs_ref.get("/certs/slices.pem"), "files differ");
        ensure!(fs.get("/certs/slices.pem").is_some(), "sliced deploy wrote nothing");
        ensure!(compute.stats().last_fuel_used == compute_ref.fuel_used, "stats fuel differs");
        Ok(())
    });

    // --- Hostile cases ---------------------------------------------------------------------------
    suite.case("runaway_loop_fuel_exhausted", || {
        let host = Host::new(config());
        let mut plugin = host
            .load_static(SPIN, Grant::none())
            .map_err(|e| format!("load: {e}"))?;
        match host.call(&mut plugin, "run", &[]) {
            Err(InvokeError::FuelExhausted { fuel_used }) => {
                ensure!(fuel_used == FUEL, "fuel used {fuel_used}, budget {FUEL}")
            }
            other => return Err(format!("expected FuelExhausted, got {other:?}")),
        }
        ensure!(!plugin.is_live(), "instance kept after fuel exhaustion");
        // Sliced: the budget still holds across slices.
        let mut call = host
            .start(&mut plugin, "run", &[])
            .map_err(|e| format!("start: {e}"))?;
        let mut slices = 0u32;
        let outcome = loop {
            slices += 1;
            match call.resume(250_000) {
                Ok(Step::Paused) => continue,
                other => break other,
            }
        };
        drop(call);
        ensure!(
            matches!(outcome, Err(InvokeError::FuelExhausted { .. })),
            "sliced: {outcome:?}"
        );
        ensure!(slices == 8, "sliced run took {slices} slices");
        let done = host
            .call(&mut plugin, "ok", &[])
            .map_err(|e| format!("after fault: {e}"))?;
        ensure!(done.status == 0, "ok returned {}", done.status);
        let stats = plugin.stats();
        ensure!(
            stats.fuel_exhausted == 2 && stats.rebuilds == 2,
            "stats {stats:?}"
        );
        Ok(())
    });

    suite.case("denied_call_outside_prefix", || {
        let host = Host::new(config());
        let (fs, backends) = backends_with(&["/data", "/etc"]);
        let mut plugin = host
            .load_static_with_backends(DENIED, grant(&["fs.write=/data"]), backends)
            .map_err(|e| format!("load: {e}"))?;
        let out = host
            .invoke(&mut plugin, "run", &[])
            .map_err(|e| format!("invoke: {e}"))?;
        let codes = i32s(&out);
        ensure!(codes == [2, -1], "plugin saw {codes:?}, expected [2, -1]");
        let stats = plugin.stats();
        ensure!(
            stats.calls.denied(Capability::FsWrite) == 1,
            "denied(FsWrite) = {}",
            stats.calls.denied(Capability::FsWrite)
        );
        ensure!(
            stats.calls.allowed(Capability::FsWrite) == 1,
            "allowed(FsWrite) = {}",
            stats.calls.allowed(Capability::FsWrite)
        );
        let log: Vec<_> = plugin
            .denials()
            .iter()
            .map(|d| (d.import, d.count))
            .collect();
        ensure!(log == [("fs_write", 1)], "denial log {log:?}");
        ensure!(fs.get("/etc/passwd").is_none(), "/etc/passwd was written");
        ensure!(
            fs.get("/data/ok").as_deref() == Some(&b"ok"[..]),
            "/data/ok missing"
        );
        Ok(())
    });

    suite.case("path_escape", || {
        let host = Host::new(config());
        let (fs, backends) = backends_with(&["/data", "/data2", "/etc", "/DATA"]);
        let mut plugin = host
            .load_static_with_backends(ESCAPE, grant(&["fs.write=/data"]), backends)
            .map_err(|e| format!("load: {e}"))?;
        let codes = i32s(&host.invoke(&mut plugin, "run", &[]).map_err(|e| format!("invoke: {e}"))?);
        println!("INFO path escapes /data/../etc/x //data/../x /data/./../x data/x /data2/x /DATA/x -> {:?}", codes);
        ensure!(codes.len() == 6, "codes {codes:?}");
        ensure!(codes[0] == -2, "/data/../etc/x -> {}, expected -2 (INVALID)", codes[0]);
        ensure!(codes.iter().all(|&c| c < 0), "an escape was admitted: {codes:?}");
        ensure!(fs.paths().is_empty() && fs.total_bytes() == 0, "written: {:?}", fs.paths());
        ensure!(plugin.stats().calls.allowed(Capability::FsWrite) == 0, "a write was allowed");
        Ok(())
    });

    suite.case("out_of_bounds_pointers", || {
        let host = Host::new(config());
        let (fs, backends) = backends_with(&["/data"]);
        let mut plugin = host
            .load_static_with_backends(OOB, grant(&["fs.write=/data"]), backends)
            .map_err(|e| format!("load: {e}"))?;
        let codes = i32s(
            &host
                .invoke(&mut plugin, "run", &[])
                .map_err(|e| format!("invoke: {e}"))?,
        );
        ensure!(
            codes == [-2, -2, -2],
            "codes {codes:?}, expected INVALID (-2) for each"
        );
        ensure!(fs.paths().is_empty(), "written: {:?}", fs.paths());
        Ok(())
    });

    suite.case("memory_bomb_grow", || {
        let host = Host::new(config());
        let mut plugin = host
            .load_static(GROW, Grant::none())
            .map_err(|e| format!("load: {e}"))?;
        let base = HEAP.current();
        HEAP.reset_peak();
        let codes = i32s(
            &host
                .invoke(&mut plugin, "run", &[])
                .map_err(|e| format!("invoke: {e}"))?,
        );
        let peak = HEAP.peak() - base;
        println!(
            "HEAP grow.wat invoke_peak={} (memory 1 -> 2 pages, then refused)",
            peak
        );
        ensure!(
            codes == [1, -1, -1, 2],
            "grow(1), grow(100), grow(65536), size = {codes:?}"
        );
        ensure!(
            peak < 3 * 65536,
            "heap grew by {peak} bytes for a 64 KiB growth"
        );
        Ok(())
    });

    suite.case("initial_memory_too_big", || {
        let host = Host::new(config());
        let base = HEAP.current();
        HEAP.reset_peak();
        match host.load_static(BIGMEM, Grant::none()) {
            Err(e) => {
                ensure!(e.kind() == "limit", "kind {} ({e})", e.kind());
                ensure!(matches!(e, LoadError::ResourceLimit(_)), "variant {e:?}");
            }
            Ok(_) => return Err("a 65536-page memory loaded".to_string()),
        }
        let peak = HEAP.peak() - base;
        ensure!(
            HEAP.current() == base,
            "{} bytes kept after the failed load",
            HEAP.current() - base
        );
        ensure!(
            peak < 256 * 1024,
            "peak {peak} bytes during the refused load"
        );
        Ok(())
    });

    suite.case("recursion_stack_overflow", || {
        let host = Host::new(config());
        let mut plugin = host
            .load_static(RECURSE, Grant::none())
            .map_err(|e| format!("load: {e}"))?;
        match host.call(&mut plugin, "run", &[]) {
            Err(InvokeError::Trap {
                trap: Trap::StackOverflow,
                ..
            }) => Ok(()),
            other => Err(format!("expected a StackOverflow trap, got {other:?}")),
        }
    });

    suite.case("start_function_loop", || {
        let host = Host::new(config());
        match host.load_static(STARTLOOP, Grant::none()) {
            Err(e) if e.kind() == "fuel_exhausted" => Ok(()),
            Err(e) => Err(format!("kind {} ({e})", e.kind())),
            Ok(_) => Err("loaded".to_string()),
        }
    });

    suite.case("heap_released", || {
        let now = HEAP.current();
        println!(
            "HEAP boot={} end={} allocations={} failed_allocations={} allocator_used={}",
            boot_heap,
            now,
            HEAP.allocations(),
            HEAP.failures(),
            HEAP.allocator_used()
        );
        ensure!(
            now == boot_heap,
            "{} bytes still allocated",
            now as i64 - boot_heap as i64
        );
        ensure!(
            HEAP.failures() == 0,
            "{} allocations failed",
            HEAP.failures()
        );
        Ok(())
    });

    suite.finish()
}
