//! `Host::load_static`: a plugin loaded from `&'static [u8]` (its function bodies borrowed by
//! wasmi, not copied) behaves exactly as the same plugin loaded with `Host::load`: the same
//! outputs, fuel, counters, denials and back-end effects, under either translation mode; and a
//! module that does not load is refused with the same typed error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(all(feature = "cap-fs", feature = "cap-net", feature = "cap-process"))]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

#[global_allocator]
static ALLOCATOR: support::alloc::Counting = support::alloc::Counting;

use std::sync::Arc;

use pluginhost::proto::deploy::DeployRequest;
use pluginhost::proto::dns::PublishTxtRequest;
use pluginhost::{
    Backends, Capability, Completion, DenialLog, Grant, Host, HostConfig, InvokeError, LoadError,
    MemoryFilesystem, MemoryNetwork, MemoryProcessRunner, Plugin, PluginStats, Translation,
};
use pluginhost_bundled as bundled;
use support::hosts::{config_with, grant};
use support::wat::wasm;

/// How a test loads its plugin.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// `Host::load_with_backends`: wasmi copies the function bodies.
    Lent,
    /// `Host::load_static_with_backends`: wasmi borrows them.
    Static,
}

const TRANSLATIONS: [Translation; 2] = [Translation::Lazy, Translation::Eager];

const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";

const ZONE: &str = "$ORIGIN example.com.\n\
@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300\n\
@ 3600 IN NS ns1.example.com.\n\
www 300 IN A 192.0.2.10\n";

fn load(
    host: &Host,
    source: Source,
    wasm: &'static [u8],
    grant: Grant,
    backends: Backends,
) -> Result<Plugin, LoadError> {
    match source {
        Source::Lent => host.load_with_backends(wasm, grant, backends),
        Source::Static => host.load_static_with_backends(wasm, grant, backends),
    }
}

/// What one run left behind: each invocation's result, the plugin's counters and denials, and
/// the files in its filesystem.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    calls: Vec<Result<Completion, InvokeError>>,
    stats: PluginStats,
    denials: DenialLog,
    files: Vec<(String, Vec<u8>)>,
}

/// A plugin, its grant, the in-memory filesystem it starts with, and the inputs it is invoked with.
struct Scenario<'a> {
    wasm: &'static [u8],
    specs: &'a [&'a str],
    dirs: &'a [&'a str],
    files: &'a [(&'a str, &'a str)],
    inputs: &'a [Vec<u8>],
}

/// Loads the scenario's plugin from `source` under `translation` with in-memory back-ends, and
/// invokes `run` once with each input.
fn run(source: Source, translation: Translation, scenario: &Scenario<'_>) -> Outcome {
    let Scenario {
        wasm,
        specs,
        dirs,
        files,
        inputs,
    } = *scenario;
    let fs = Arc::new(MemoryFilesystem::new());
    for dir in dirs {
        fs.create_dir(dir);
    }
    for (path, data) in files {
        fs.insert(path, data.as_bytes());
    }
    let backends = Backends::unavailable()
        .with_filesystem(fs.clone())
        .with_network(Arc::new(MemoryNetwork::new()))
        .with_process(Arc::new(MemoryProcessRunner::new()));
    let host = Host::new(
        HostConfig::default()
            .with_fuel(5_000_000)
            .with_translation(translation),
    );
    let mut plugin = load(&host, source, wasm, grant(specs), backends)
        .unwrap_or_else(|e| panic!("{source:?} load: {e}"));
    let calls = inputs
        .iter()
        .map(|input| host.call(&mut plugin, "run", input))
        .collect();
    let files = fs
        .paths()
        .into_iter()
        .map(|path| {
            let data = fs.get(&path).unwrap();
            (path, data)
        })
        .collect();
    Outcome {
        calls,
        stats: plugin.stats(),
        denials: plugin.denials().clone(),
        files,
    }
}

/// Runs the same scenario lent and static under both translation modes, and checks that the two
/// sources agree; returns the static outcome under lazy translation.
fn same_either_way(scenario: Scenario<'_>) -> Outcome {
    let mut lazy_static = None;
    for translation in TRANSLATIONS {
        let lent = run(Source::Lent, translation, &scenario);
        let borrowed = run(Source::Static, translation, &scenario);
        assert_eq!(borrowed, lent, "{translation:?}");
        if translation == Translation::Lazy {
            lazy_static = Some(borrowed);
        }
    }
    lazy_static.unwrap()
}

fn deploy(target_dir: &str, file_name: &str) -> Vec<u8> {
    postcard::to_allocvec(&DeployRequest {
        chain_pem: PEM.to_string(),
        key_ref: None,
        target_dir: target_dir.to_string(),
        file_name: file_name.to_string(),
    })
    .unwrap()
}

#[test]
fn file_deploy_is_the_same_loaded_static() {
    // One deploy inside the grant, one outside it (denied), one after the denial.
    let outcome = same_either_way(Scenario {
        wasm: bundled::CONNECTOR_FILE_DEPLOY,
        specs: &["fs.write=/certs"],
        dirs: &["/certs", "/etc"],
        files: &[],
        inputs: &[
            deploy("/certs", "chain.pem"),
            deploy("/etc", "passwd"),
            deploy("/certs", "again.pem"),
        ],
    });
    assert_eq!(outcome.calls.len(), 3);
    for call in &outcome.calls {
        let completion = call.as_ref().unwrap();
        assert!(completion.fuel_used > 0, "{completion:?}");
    }
    // Two host calls per deploy (write, then rename into place).
    assert_eq!(outcome.stats.calls.allowed(Capability::FsWrite), 4);
    assert_eq!(outcome.stats.calls.denied(Capability::FsWrite), 1);
    let paths: Vec<&str> = outcome.files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/certs/again.pem", "/certs/chain.pem"]);
}

#[test]
fn dns_zonefile_is_the_same_loaded_static() {
    let request = postcard::to_allocvec(&PublishTxtRequest {
        zone: "example.com".to_string(),
        fqdn: "www.example.com".to_string(),
        value: "token-value".to_string(),
        ttl: 60,
    })
    .unwrap();
    let outcome = same_either_way(Scenario {
        wasm: bundled::DNS_ZONEFILE,
        specs: &["fs.read=/zones", "fs.write=/zones"],
        dirs: &["/zones"],
        files: &[("/zones/example.com.zone", ZONE)],
        inputs: &[request],
    });
    let zone = &outcome.files.first().unwrap().1;
    assert!(
        String::from_utf8_lossy(zone).contains("token-value"),
        "{}",
        String::from_utf8_lossy(zone)
    );
}

#[test]
fn denials_are_the_same_loaded_static() {
    // Every privileged attempt of the hostile plugin outside /scratch is denied and recorded.
    let outcome = same_either_way(Scenario {
        wasm: bundled::HOSTILE_EXFILTRATE,
        specs: &[
            "fs.read=/public",
            "net.dial=ca.example.com:443",
            "process.exec=/usr/bin/true",
            "fs.write=/scratch",
        ],
        dirs: &["/scratch", "/keys"],
        files: &[("/keys/device.key", "DECOY")],
        inputs: &[Vec::new()],
    });
    assert!(outcome.stats.calls.denied(Capability::FsRead) >= 3);
    assert!(outcome.stats.calls.denied(Capability::FsWrite) >= 3);
    assert!(!outcome.denials.is_empty());
}

#[test]
fn fuel_exhaustion_is_the_same_loaded_static() {
    let outcome = same_either_way(Scenario {
        wasm: bundled::HOSTILE_SPIN,
        specs: &[],
        dirs: &[],
        files: &[],
        inputs: &[Vec::new(), Vec::new()],
    });
    for call in &outcome.calls {
        assert!(call.is_err(), "{call:?}");
    }
    assert_eq!(outcome.stats.rebuilds, 1);
}

#[test]
fn load_static_uses_the_hosts_backends() {
    let fs = Arc::new(MemoryFilesystem::new());
    fs.create_dir("/certs");
    let host = Host::with_backends(
        HostConfig::default(),
        Backends::unavailable().with_filesystem(fs.clone()),
    );
    let mut plugin = host
        .load_static(bundled::CONNECTOR_FILE_DEPLOY, grant(&["fs.write=/certs"]))
        .unwrap();
    let completion = host
        .call(&mut plugin, "run", &deploy("/certs", "chain.pem"))
        .unwrap();
    assert_eq!(completion.status, 0);
    assert_eq!(fs.get("/certs/chain.pem").as_deref(), Some(PEM.as_bytes()));
}

/// `bytes` for the lifetime of the test process.
fn leak(bytes: Vec<u8>) -> &'static [u8] {
    bytes.leak()
}

#[test]
fn refusals_are_the_same_typed_errors() {
    let plugin = bundled::CONNECTOR_FILE_DEPLOY;
    let cases: Vec<(&str, &'static [u8], Grant)> = vec![
        ("empty", b"", Grant::none()),
        ("not wasm", b"\x7fELF\x02\x01\x01\0", Grant::none()),
        ("short header", b"\0asm\x01\0", Grant::none()),
        ("component", b"\0asm\x0d\0\x01\0", Grant::none()),
        ("truncated", &plugin[..plugin.len() - 100], Grant::none()),
        (
            "invalid body",
            leak(wasm(
                r#"(module (memory (export "memory") 1)
                    (func (export "run") (result i32)))"#,
            )),
            Grant::none(),
        ),
        (
            "unknown import",
            leak(wasm(
                r#"(module (import "pluginhost" "signer" (func))
                    (memory (export "memory") 1)
                    (func (export "run") (result i32) (i32.const 0)))"#,
            )),
            Grant::none(),
        ),
        ("not granted", plugin, Grant::none()),
        (
            "start trap",
            leak(wasm(
                r#"(module (memory (export "memory") 1) (func $s unreachable) (start $s)
                    (func (export "run") (result i32) (i32.const 0)))"#,
            )),
            Grant::none(),
        ),
    ];
    for translation in TRANSLATIONS {
        let host = Host::new(HostConfig::default().with_translation(translation));
        for (name, wasm, grant) in &cases {
            let lent = host.load(wasm, grant.clone()).unwrap_err();
            let borrowed = host.load_static(wasm, grant.clone()).unwrap_err();
            assert_eq!(borrowed, lent, "{name} ({translation:?})");
        }
    }
    let kinds: Vec<&str> = cases
        .iter()
        .map(|(_, wasm, grant)| {
            let host = Host::new(HostConfig::default());
            host.load_static(wasm, grant.clone()).unwrap_err().kind()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "invalid_module",
            "invalid_module",
            "invalid_module",
            "invalid_module",
            "invalid_module",
            "invalid_module",
            "unknown_import",
            "not_granted",
            "trap",
        ]
    );

    // Limits are checked before compiling, the same way.
    let host = Host::new(config_with(|limits| limits.module_bytes = 1_000));
    let lent = host.load(plugin, Grant::none()).unwrap_err();
    let borrowed = host.load_static(plugin, Grant::none()).unwrap_err();
    assert_eq!(borrowed, lent);
    assert!(
        matches!(borrowed, LoadError::ModuleTooLarge { .. }),
        "{borrowed}"
    );
}

/// The size of `wasm`'s section `id` (10 code, 11 data).
fn section_bytes(wasm: &[u8], section: u8) -> usize {
    wasmparser::Parser::new(0)
        .parse_all(wasm)
        .find_map(|payload| match payload.unwrap().as_section() {
            Some((id, range)) if id == section => Some(range.len()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no section {section}"))
}

/// Heap this thread holds after loading `wasm` from `source` (the plugin still loaded).
fn heap_after_load(source: Source, translation: Translation, wasm: &'static [u8]) -> isize {
    let host = Host::new(HostConfig::default().with_translation(translation));
    let before = support::alloc::thread_current();
    let grant = grant(&["fs.write=/certs"]);
    let plugin = load(&host, source, wasm, grant, Backends::unavailable()).unwrap();
    let held = support::alloc::thread_current() - before;
    drop(plugin);
    held
}

#[test]
fn static_load_holds_no_copy_of_the_code_or_data() {
    support::alloc::assert_installed();
    let wasm = bundled::CONNECTOR_FILE_DEPLOY;
    let code = isize::try_from(section_bytes(wasm, 10)).unwrap();
    // The data section less its headers: a few bytes per segment.
    let data = isize::try_from(section_bytes(wasm, 11)).unwrap();
    let lent = heap_after_load(Source::Lent, Translation::Lazy, wasm);
    let borrowed = heap_after_load(Source::Static, Translation::Lazy, wasm);
    println!("lazy: lent {lent}, static {borrowed}, code section {code}, data section {data}");
    // Every body longer than wasmi's 22-byte inline buffer was a heap copy; a body of up to 22
    // bytes was stored inline (no heap), so the saving is the code section less those, and the
    // active data segments' bytes.
    assert!(
        lent - borrowed > (code + data) * 9 / 10,
        "lent {lent}, static {borrowed}, code section {code}, data section {data}"
    );
    // Eager translation keeps no bodies: what differs is the data segments' bytes.
    let lent = heap_after_load(Source::Lent, Translation::Eager, wasm);
    let borrowed = heap_after_load(Source::Static, Translation::Eager, wasm);
    println!("eager: lent {lent}, static {borrowed}");
    assert!(
        (data - 64..=data).contains(&(lent - borrowed)),
        "lent {lent}, static {borrowed}, data section {data}"
    );
}

/// Two functions of the same shape and size, `$first` and `$second`, each behind its own export,
/// and a small `warm` export. Each big function keeps many locals live across a long body, so
/// translating it needs scratch (operand and control stacks, the instruction buffer, the
/// validator's stacks) of about the size of its translated code.
fn two_big_functions() -> &'static [u8] {
    let body = |seed: u32| {
        let mut body = String::new();
        for i in 0..400u32 {
            let (to, from) = (i % 32, (i * 7 + seed) % 32);
            body.push_str(&format!(
                "(local.set {to} (i32.add (local.get {from}) (i32.mul (local.get {to}) (i32.const {}))))\n",
                i + seed
            ));
        }
        body
    };
    let locals = " i32".repeat(32);
    leak(wasm(&format!(
        r#"(module
            (memory (export "memory") 1)
            (func $first (result i32) (local{locals}) {} (local.get 0))
            (func $second (result i32) (local{locals}) {} (local.get 0))
            (func (export "warm") (result i32) (i32.const 0))
            (func (export "first") (result i32) (drop (call $first)) (i32.const 0))
            (func (export "second") (result i32) (drop (call $second)) (i32.const 0)))"#,
        body(1),
        body(2),
    )))
}

/// A translated function leaves only its code behind: the engine keeps no translation scratch
/// (which is as large as the largest function translated) for the rest of the plugin's life.
/// Lazily: the first big function's translation holds what the second's does. Eagerly: a load
/// holds both functions' code and nothing more.
#[test]
fn translation_leaves_no_scratch_behind() {
    support::alloc::assert_installed();
    let wasm = two_big_functions();
    let host = Host::new(HostConfig::default().with_translation(Translation::Lazy));
    let before_load = support::alloc::thread_current();
    let mut plugin = host.load_static(wasm, Grant::default()).unwrap();
    let lazy_load = support::alloc::thread_current() - before_load;
    // The first invocation sets up what every later one reuses (the execution stack and such).
    assert_eq!(host.call(&mut plugin, "warm", b"").unwrap().status, 0);
    let mut held = Vec::new();
    for entry in ["first", "second"] {
        let before = support::alloc::thread_current();
        assert_eq!(host.call(&mut plugin, entry, b"").unwrap().status, 0);
        held.push(support::alloc::thread_current() - before);
    }
    drop(plugin);
    let (first, second) = (held[0], held[1]);
    println!("lazy: held after translating the first {first}, the second {second}");
    assert!(second > 4 * 1024, "the second function's code: {second}");
    assert!(
        first <= second + second / 8 + 512,
        "{first} against {second}"
    );

    let host = Host::new(HostConfig::default().with_translation(Translation::Eager));
    let before_load = support::alloc::thread_current();
    let plugin = host.load_static(wasm, Grant::default()).unwrap();
    let eager_load = support::alloc::thread_current() - before_load;
    drop(plugin);
    println!("eager load {eager_load}, lazy load {lazy_load}");
    assert!(
        eager_load - lazy_load <= 2 * second + second / 4 + 1024,
        "eager {eager_load}, lazy {lazy_load}, one function's code {second}"
    );
}
