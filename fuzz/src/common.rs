//! Shared pieces of the targets: arbitrary grants, small limits, in-memory back-ends (and
//! guarding wrappers that check every request a back-end receives against the grant model), and
//! the closed sets of errors the host may return.

use std::sync::Arc;
use std::time::Duration;

use arbitrary::Arbitrary;
use pluginhost::{
    BackendError, Backends, Capability, Connection, DialTarget, Filesystem, GuestPath, HostConfig,
    HostName, InvokeError, Limits, LoadError, MemoryFilesystem, MemoryNetwork, MemoryProcessRunner,
    MemoryService, Network, ProcessOutput, ProcessRunner, Trap, HOST_FUNCTIONS,
};

use crate::models::grant::{self, Entry, Model};
use crate::models::{host, path};

/// Path prefixes grants are built from (some invalid on purpose).
pub const PATH_POOL: &[&str] = &[
    "/",
    "/data",
    "/data/sub",
    "/data/sub/",
    "/bin",
    "/usr/bin",
    "/usr/bin/tool",
    "/dätä",
    "/DATA",
    "/data2",
    "//data/./sub",
    "/data/../x",
    "data",
    "",
    "/etc",
];

/// `host:port` entries grants are built from (some invalid on purpose).
pub const HOST_POOL: &[&str] = &[
    "echo.test:7",
    "*.test:7",
    "127.0.0.1:7",
    "[::1]:7",
    "example.com:443",
    "*.example.com:443",
    "ECHO.TEST.:7",
    "2130706433:7",
    "*.com:7",
    "echo.test",
    "[::ffff:127.0.0.1]:7",
];

/// Files every in-memory filesystem starts with.
pub const FILES: &[(&str, &[u8])] = &[
    ("/data/a.txt", b"alpha"),
    ("/data/sub/b.txt", b"bravo bravo"),
    ("/dätä/c.txt", b"charlie"),
    ("/etc/secret", b"secret: never read me"),
    ("/usr/bin/tool", b"\x7fELF"),
    ("/data/run.sh", b"#!/bin/sh\n"),
];

/// Services of the in-memory network (`host:port`).
pub const SERVICES: &[&str] = &["echo.test:7", "127.0.0.1:7", "[::1]:7", "a.example.com:443"];

/// Programs of the in-memory process runner.
pub const PROGRAMS: &[&str] = &["/usr/bin/tool", "/bin/true", "/data/run.sh"];

/// The capability named by a byte.
pub fn cap(b: u8) -> Capability {
    Capability::ALL[usize::from(b) % Capability::ALL.len()]
}

/// The capabilities in the low four bits of `bits`.
pub fn caps(bits: u8) -> Vec<Capability> {
    Capability::ALL
        .into_iter()
        .filter(|c| bits & (1 << c.index()) != 0)
        .collect()
}

/// An arbitrary grant: capabilities, then up to 8 entries.
#[derive(Arbitrary, Debug, Clone)]
pub struct GrantSpec {
    /// `Grant::new` with the capabilities in the low four bits.
    pub caps: u8,
    /// Entries added after.
    pub entries: Vec<EntrySpec>,
}

/// One grant entry.
#[derive(Arbitrary, Debug, Clone)]
pub enum EntrySpec {
    /// A prefix from [`PATH_POOL`].
    Prefix(u8, u8),
    /// An arbitrary prefix.
    RawPrefix(u8, String),
    /// An entry from [`HOST_POOL`].
    Host(u8),
    /// An arbitrary `host:port` entry.
    RawHost(String),
    /// `dangerous_allow_any_path`.
    AnyPath(u8),
    /// `dangerous_allow_any_host`.
    AnyHost,
}

impl GrantSpec {
    /// The library grant and its model.
    pub fn build(&self) -> (pluginhost::Grant, Model) {
        let entries: Vec<Entry> = self
            .entries
            .iter()
            .take(8)
            .map(|e| match e {
                EntrySpec::Prefix(c, i) => Entry::Prefix(
                    cap(*c),
                    PATH_POOL[usize::from(*i) % PATH_POOL.len()].to_owned(),
                ),
                EntrySpec::RawPrefix(c, s) => Entry::Prefix(cap(*c), s.clone()),
                EntrySpec::Host(i) => {
                    Entry::Host(HOST_POOL[usize::from(*i) % HOST_POOL.len()].to_owned())
                }
                EntrySpec::RawHost(s) => Entry::Host(s.clone()),
                EntrySpec::AnyPath(c) => Entry::AnyPath(cap(*c)),
                EntrySpec::AnyHost => Entry::AnyHost,
            })
            .collect();
        grant::build(&caps(self.caps), &entries)
    }
}

/// A grant from one byte: the low four bits are the capabilities; bit 4 adds the usual prefixes
/// (`fs.read=/data`, `fs.write=/data/sub`, `process.exec=/usr/bin`), bit 5 the host
/// `echo.test:7`, bit 6 makes paths unrestricted for fs.read.
pub fn grant_from_byte(b: u8) -> (pluginhost::Grant, Model) {
    let mut entries = Vec::new();
    let capset = caps(b);
    if b & 0x10 != 0 {
        for (c, p) in [
            (Capability::FsRead, "/data"),
            (Capability::FsWrite, "/data/sub"),
            (Capability::ProcessExec, "/usr/bin"),
        ] {
            if capset.contains(&c) {
                entries.push(Entry::Prefix(c, p.to_owned()));
            }
        }
    }
    if b & 0x20 != 0 && capset.contains(&Capability::NetDial) {
        entries.push(Entry::Host("echo.test:7".to_owned()));
    }
    if b & 0x40 != 0 && capset.contains(&Capability::FsRead) {
        entries.push(Entry::AnyPath(Capability::FsRead));
    }
    grant::build(&capset, &entries)
}

/// Small limits: bounded memory and time for every fuzz input.
pub fn small_limits() -> Limits {
    Limits::EMBEDDED
        .with_memory_bytes(1 << 20)
        .with_table_elements(1_000)
        .with_module_bytes(256 << 10)
        .with_max_recursion_depth(128)
        .with_input_bytes(4 << 10)
        .with_output_bytes(4 << 10)
        .with_log_bytes(1 << 10)
        .with_log_message_bytes(256)
        .with_call_bytes(4 << 10)
        .with_path_bytes(256)
        .with_argv_bytes(512)
        .with_argv_items(16)
        .with_net_handles(2)
}

/// A host configuration with `fuel` per invocation and [`small_limits`].
pub fn small_config(fuel: u64) -> HostConfig {
    HostConfig::DEFAULT
        .with_fuel(fuel)
        .with_max_concurrent(1)
        .with_limits(small_limits())
}

/// Answers `echo:` followed by the request.
#[derive(Debug)]
pub struct Echo;

/// What [`Echo`] answers to `request`.
pub fn echo_response(request: &[u8]) -> Vec<u8> {
    let mut out = b"echo:".to_vec();
    out.extend_from_slice(request);
    out
}

impl MemoryService for Echo {
    fn respond(&self, request: &[u8]) -> Vec<u8> {
        echo_response(request)
    }
}

/// What program `argv[0]` of [`PROGRAMS`] returns.
pub fn program_result(argv: &[&str]) -> (i32, Vec<u8>) {
    match argv.first().copied() {
        Some("/bin/true") => (0, Vec::new()),
        Some("/data/run.sh") => (-1, b"ran a file the plugin could write".to_vec()),
        _ => (3, format!("tool:{}", argv.join(" ")).into_bytes()),
    }
}

/// The in-memory back-ends, kept typed so a target can inspect them.
#[derive(Clone)]
pub struct Memory {
    /// Files.
    pub fs: Arc<MemoryFilesystem>,
    /// Services.
    pub net: Arc<MemoryNetwork>,
    /// Programs.
    pub proc: Arc<MemoryProcessRunner>,
}

impl Memory {
    /// Fresh back-ends seeded with [`FILES`], [`SERVICES`] and [`PROGRAMS`].
    pub fn new(fs_capacity: Option<(usize, usize)>, max_request: usize) -> Memory {
        let fs = match fs_capacity {
            Some((files, bytes)) => MemoryFilesystem::with_capacity(files, bytes),
            None => MemoryFilesystem::new(),
        };
        for (p, data) in FILES {
            assert!(fs.insert(p, *data));
        }
        assert!(fs.create_dir("/data/empty"));
        let mut net = MemoryNetwork::new().with_max_request_bytes(max_request);
        for s in SERVICES {
            net = net.with_service(s, Arc::new(Echo));
        }
        let mut proc = MemoryProcessRunner::new();
        for p in PROGRAMS {
            proc = proc.with_program(p, program_result);
        }
        Memory {
            fs: Arc::new(fs),
            net: Arc::new(net),
            proc: Arc::new(proc),
        }
    }

    /// The back-ends as the host takes them.
    pub fn backends(&self) -> Backends {
        Backends::unavailable()
            .with_entropy(Arc::new(PatternEntropy))
            .with_wall_clock(Arc::new(FixedClock))
            .with_filesystem(self.fs.clone())
            .with_network(self.net.clone())
            .with_process(self.proc.clone())
    }

    /// Every file and its contents.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        self.fs
            .paths()
            .into_iter()
            .map(|p| {
                let data = self.fs.get(&p).unwrap_or_default();
                (p, data)
            })
            .collect()
    }

    /// Back-ends that check every request against `model` before passing it on.
    pub fn guarded(&self, model: &Model) -> Backends {
        Backends::unavailable()
            .with_entropy(Arc::new(PatternEntropy))
            .with_wall_clock(Arc::new(FixedClock))
            .with_filesystem(Arc::new(GuardFs {
                inner: self.fs.clone(),
                model: model.clone(),
            }))
            .with_network(Arc::new(GuardNet {
                inner: self.net.clone(),
                model: model.clone(),
            }))
            .with_process(Arc::new(GuardProc {
                inner: self.proc.clone(),
                model: model.clone(),
            }))
    }
}

/// The components of a library path (must agree with the model's parse of its text).
pub fn components(p: &GuestPath) -> Vec<String> {
    let modelled = path::parse(p.as_str().as_bytes())
        .unwrap_or_else(|e| panic!("normalised path {p} does not parse in the model: {e:?}"));
    assert_eq!(
        path::render(&modelled),
        p.as_str(),
        "{p} is not in normal form"
    );
    modelled
}

/// The model's host for a library host.
pub fn model_host(h: &HostName) -> host::Host {
    match h {
        HostName::Dns(name) => host::Host::Dns(name.split('.').map(str::to_owned).collect()),
        HostName::Ipv4(a) => host::Host::V4(a.octets()),
        HostName::Ipv6(a) => host::Host::V6(u128::from(*a)),
    }
}

/// Panics unless `model` admits `p` for `capability` with exactly the prefix `scope`.
fn check_scope(model: &Model, capability: Capability, scope: &GuestPath, p: &GuestPath) {
    let (s, c) = (components(scope), components(p));
    assert!(
        path::starts_with(&c, &s),
        "back-end got {p} outside its scope {scope}"
    );
    let admitted = model.admit_path(capability, &c);
    assert_eq!(
        admitted,
        Some(&s),
        "back-end got {capability} {p} under scope {scope}; the grant model admits it under {admitted:?}"
    );
}

struct GuardFs {
    inner: Arc<MemoryFilesystem>,
    model: Model,
}

impl Filesystem for GuardFs {
    fn read(&self, scope: &GuestPath, p: &GuestPath, dst: &mut [u8]) -> Result<u64, BackendError> {
        check_scope(&self.model, Capability::FsRead, scope, p);
        self.inner.read(scope, p, dst)
    }
    fn size(&self, scope: &GuestPath, p: &GuestPath) -> Result<u64, BackendError> {
        check_scope(&self.model, Capability::FsRead, scope, p);
        self.inner.size(scope, p)
    }
    fn write(&self, scope: &GuestPath, p: &GuestPath, data: &[u8]) -> Result<(), BackendError> {
        check_scope(&self.model, Capability::FsWrite, scope, p);
        self.inner.write(scope, p, data)
    }
    fn rename(
        &self,
        from_scope: &GuestPath,
        from: &GuestPath,
        to_scope: &GuestPath,
        to: &GuestPath,
    ) -> Result<(), BackendError> {
        check_scope(&self.model, Capability::FsWrite, from_scope, from);
        check_scope(&self.model, Capability::FsWrite, to_scope, to);
        self.inner.rename(from_scope, from, to_scope, to)
    }
}

struct GuardNet {
    inner: Arc<MemoryNetwork>,
    model: Model,
}

impl Network for GuardNet {
    fn dial(
        &self,
        target: &DialTarget,
        timeout: Duration,
    ) -> Result<Box<dyn Connection>, BackendError> {
        assert_ne!(target.port, 0, "dialled port 0");
        assert!(
            self.model
                .admit_dial(&model_host(&target.host), target.port),
            "back-end asked to dial {target}, which the grant model does not admit"
        );
        self.inner.dial(target, timeout)
    }
}

struct GuardProc {
    inner: Arc<MemoryProcessRunner>,
    model: Model,
}

impl ProcessRunner for GuardProc {
    fn run(
        &self,
        argv: &[&str],
        stdout: &mut [u8],
        timeout: Duration,
    ) -> Result<ProcessOutput, BackendError> {
        let program = argv
            .first()
            .copied()
            .unwrap_or_else(|| panic!("empty argv"));
        let comps = path::parse(program.as_bytes())
            .unwrap_or_else(|e| panic!("runner got program {program:?}: {e:?}"));
        assert_eq!(path::render(&comps), program, "program not in normal form");
        assert!(
            self.model
                .admit_path(Capability::ProcessExec, &comps)
                .is_some()
                && !self.model.writable_area(&comps),
            "runner asked to run {program}, which the grant model does not admit"
        );
        self.inner.run(argv, stdout, timeout)
    }
}

/// Checks a load error against the closed set the host documents.
pub fn check_load_error(e: &LoadError, budget: u64, model: &Model) {
    match e {
        LoadError::ModuleTooLarge { size, limit } => assert!(size > limit, "{e:?}"),
        LoadError::InvalidModule(_)
        | LoadError::ModuleLimit(_)
        | LoadError::ResourceLimit(_)
        | LoadError::UnknownImport { .. } => {}
        LoadError::ImportSignature {
            import, expected, ..
        } => {
            let f = HOST_FUNCTIONS
                .iter()
                .find(|f| f.name == *import)
                .unwrap_or_else(|| panic!("{e:?}: not a host function"));
            assert_eq!(*expected, f.signature().to_string(), "{e:?}");
        }
        LoadError::NotGranted { capability, import } => {
            assert!(!model.allows(*capability), "{e:?} but the grant holds it");
            let f = HOST_FUNCTIONS
                .iter()
                .find(|f| f.name == *import)
                .unwrap_or_else(|| panic!("{e:?}: not a host function"));
            assert_eq!(f.capability, Some(*capability), "{e:?}");
        }
        LoadError::StartFuelExhausted { fuel_used } => {
            assert!(*fuel_used <= budget, "{e:?} over the budget {budget}");
        }
        LoadError::StartTrap(trap) => check_trap(*trap),
        // A manifest section naming a newer ABI than the host's.
        LoadError::UnsupportedAbi { abi, supported } => {
            assert!(*abi > *supported || *abi == 0, "{e:?}");
        }
        other => panic!("load error outside the closed set: {other:?}"),
    }
}

/// Traps a guest can cause. `Trap::Host` ("a host call failed in a way the host does not
/// expect") is never expected.
pub fn check_trap(trap: Trap) {
    assert_ne!(trap, Trap::Host, "unexpected host error trap");
}

/// Checks an error of `Host::call` against the closed set: `FuelExhausted` and `Trap` (with
/// `fuel_used <= budget`), `Rebuild` (with a load error from the closed set), and `NoEntry` when
/// the entry is not `run`. Anything else (`Busy`, `InputTooLarge`, `Engine`, `Finished`, ...)
/// panics.
pub fn check_invoke_error(e: &InvokeError, budget: u64, model: &Model, entry_exists: bool) {
    match e {
        InvokeError::FuelExhausted { fuel_used } => {
            assert!(*fuel_used <= budget, "{e:?} over the budget {budget}");
        }
        InvokeError::Trap { trap, fuel_used } => {
            check_trap(*trap);
            assert!(*fuel_used <= budget, "{e:?} over the budget {budget}");
        }
        InvokeError::Rebuild(load) => check_load_error(load, budget, model),
        InvokeError::NoEntry { .. } if !entry_exists => {}
        other => panic!("invoke error outside the closed set: {other:?}"),
    }
}

/// Reads a little-endian `i32` at `at`.
pub fn le_i32(bytes: &[u8], at: usize) -> Option<i32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// With `PLUGINHOST_FUZZ_STATS` set, prints `label` to standard error (one line per event), so
/// that `replay` over a corpus shows which outcomes the inputs reach:
/// `PLUGINHOST_FUZZ_STATS=1 target/release/replay host_abi corpus/host_abi 2>&1 | sort | uniq -c`.
pub fn note(label: impl FnOnce() -> String) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("PLUGINHOST_FUZZ_STATS").is_some()) {
        eprintln!("{}", label());
    }
}

/// The second the fuzz back-ends' wall clock always tells.
pub const CLOCK_SECONDS: i64 = 1_700_000_000;

/// The bytes a `random_fill` of `len` gets from the fuzz back-ends: byte `i` is `i ^ 0x5a`, so
/// the model can predict guest memory exactly (a fuzz harness, not a generator).
pub fn entropy_pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8) ^ 0x5a).collect()
}

/// An entropy source with the known answer [`entropy_pattern`].
struct PatternEntropy;

impl pluginhost::EntropySource for PatternEntropy {
    fn fill(&self, dst: &mut [u8]) -> Result<(), BackendError> {
        dst.copy_from_slice(&entropy_pattern(dst.len()));
        Ok(())
    }
}

/// A wall clock stopped at [`CLOCK_SECONDS`].
struct FixedClock;

impl pluginhost::WallClock for FixedClock {
    fn unix_seconds(&self) -> Result<i64, BackendError> {
        Ok(CLOCK_SECONDS)
    }
}
