//! Shared pieces of the benchmarks: the guest modules, the raw-wasmi baselines built the way the
//! host builds its plugins, the generated modules for load timing, and a counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use pluginhost::{
    BackendError, Backends, Capability, Filesystem, Grant, GuestPath, Host, HostConfig, Limits,
    MemoryFilesystem,
};
use std::sync::Arc;

#[cfg(feature = "peer-wasm3")]
pub mod wasm3;

/// The compute guest (`guest/`, no_std Rust → wasm32): exports `fib25`, `sort10k`, `sha256_64k`
/// (each returns 0 and stores a checksum) and `result`, and the longer whole-process workloads
/// `fib_long`, `sort_long`, `sha_long`, `xor_loop` (scripts/bench.sh runs them through the CLIs).
pub static GUEST: &[u8] = include_bytes!(env!("GUEST_WASM"));

/// The three compute workloads, by export name.
pub const WORKLOADS: [&str; 3] = ["fib25", "sort10k", "sha256_64k"];

/// Fuel large enough for every workload (fib(25) is ~3 M units).
pub const BIG_FUEL: u64 = 1_000_000_000;

/// Criterion settings: short, so the whole suite fits in ~10 minutes on 2 cores. Command-line
/// flags (`--measurement-time`, `--warm-up-time`, `--sample-size`) override them.
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .without_plots()
}

/// The host configuration used throughout: the defaults with a large fuel budget.
pub fn host_config() -> HostConfig {
    HostConfig::default().with_fuel(BIG_FUEL)
}

/// wasmi's `Config` exactly as the host builds it ([`pluginhost::engine_config`] under the
/// default limits), with fuel metering switched by `fuel`.
pub fn raw_config(fuel: bool) -> wasmi::Config {
    let mut config = pluginhost::engine_config(&Limits::DEFAULT, pluginhost::Translation::Eager);
    config.consume_fuel(fuel);
    config
}

// ---- raw wasmi: compute ------------------------------------------------------------------

/// A raw wasmi instance of a module without imports.
pub struct RawInstance {
    pub store: wasmi::Store<()>,
    pub instance: wasmi::Instance,
    pub fuel: bool,
}

impl RawInstance {
    pub fn new(wasm: &[u8], fuel: bool) -> RawInstance {
        let engine = wasmi::Engine::new(&raw_config(fuel));
        let module = wasmi::Module::new(&engine, wasm).expect("compile");
        let mut store = wasmi::Store::new(&engine, ());
        if fuel {
            store.set_fuel(BIG_FUEL).unwrap();
        }
        let linker = wasmi::Linker::<()>::new(&engine);
        let instance = linker.instantiate_and_start(&mut store, &module).expect("instantiate");
        RawInstance { store, instance, fuel }
    }

    pub fn func(&self, name: &str) -> wasmi::TypedFunc<(), i32> {
        self.instance.get_typed_func::<(), i32>(&self.store, name).expect("export")
    }

    /// One call of `func`; with fuel on, the budget is reset first as the host does.
    #[inline]
    pub fn call(&mut self, func: &wasmi::TypedFunc<(), i32>) -> i32 {
        if self.fuel {
            self.store.set_fuel(BIG_FUEL).unwrap();
        }
        func.call(&mut self.store, ()).expect("call")
    }
}

/// The checksum each workload leaves behind, computed by raw wasmi (the reference).
pub fn reference_result(workload: &str) -> i32 {
    let mut raw = RawInstance::new(GUEST, false);
    let f = raw.func(workload);
    assert_eq!(raw.call(&f), 0);
    let r = raw.func("result");
    raw.call(&r)
}

// ---- round trip: 1 KiB in, 1 KiB out -------------------------------------------------------

/// The host's round-trip plugin: reads 1 KiB of input, writes it back as output.
pub const ROUNDTRIP_WAT: &str = r#"(module
  (import "pluginhost" "input_read" (func $in (param i32 i32) (result i32)))
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (drop (call $in (i32.const 1024) (i32.const 1024)))
    (drop (call $out (i32.const 1024) (i32.const 1024)))
    (i32.const 0)))"#;

/// The same work for Extism's kernel ABI, as extism-pdk does it: the input read 8 bytes at a time
/// with `input_load_u64`, the output copied into kernel memory with `alloc` + `store_u64` and
/// handed over with `output_set`.
pub const EXTISM_ROUNDTRIP_WAT: &str = r#"(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (local $len i64) (local $i i64) (local $off i64)
    (local.set $len (call $input_length))
    (block $done (loop $l
      (br_if $done (i64.ge_u (local.get $i) (local.get $len)))
      (i64.store offset=1024 (i32.wrap_i64 (local.get $i)) (call $input_load_u64 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 8)))
      (br $l)))
    (local.set $off (call $alloc (local.get $len)))
    (local.set $i (i64.const 0))
    (block $done2 (loop $l2
      (br_if $done2 (i64.ge_u (local.get $i) (local.get $len)))
      (call $store_u64 (i64.add (local.get $off) (local.get $i))
                       (i64.load offset=1024 (i32.wrap_i64 (local.get $i))))
      (local.set $i (i64.add (local.get $i) (i64.const 8)))
      (br $l2)))
    (call $output_set (local.get $off) (local.get $len))
    (i32.const 0)))"#;

/// Store data of the raw round trip: what the host keeps per invocation, minus everything else.
#[derive(Default)]
pub struct RawIo {
    pub input: Vec<u8>,
    pub output: Vec<u8>,
    pub memory: Option<wasmi::Memory>,
}

/// Raw wasmi running [`ROUNDTRIP_WAT`] with plain host functions `input_read`/`output_write`
/// (bounds-checked copies, no fuel charge, no limits, no counters).
pub struct RawRoundTrip {
    pub store: wasmi::Store<RawIo>,
    pub run: wasmi::TypedFunc<(), i32>,
    pub fuel: bool,
}

fn raw_slice(memory: &[u8], ptr: i32, len: i32) -> Option<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len as u32 as usize)?;
    (end <= memory.len()).then_some(start..end)
}

impl RawRoundTrip {
    pub fn new(fuel: bool) -> RawRoundTrip {
        let wasm = wat::parse_str(ROUNDTRIP_WAT).unwrap();
        let engine = wasmi::Engine::new(&raw_config(fuel));
        let module = wasmi::Module::new(&engine, &wasm).unwrap();
        let mut store = wasmi::Store::new(&engine, RawIo::default());
        let mut linker = wasmi::Linker::<RawIo>::new(&engine);
        linker
            .func_wrap("pluginhost", "input_read", |mut caller: wasmi::Caller<'_, RawIo>, dst: i32, len: i32| -> Result<i32, wasmi::Error> {
                let memory = caller.data().memory.unwrap();
                let (mem, io) = memory.data_and_store_mut(&mut caller);
                let Some(r) = raw_slice(mem, dst, len) else { return Ok(-2) };
                let n = r.len().min(io.input.len());
                mem[r.start..r.start + n].copy_from_slice(&io.input[..n]);
                Ok(n as i32)
            })
            .unwrap();
        linker
            .func_wrap("pluginhost", "output_write", |mut caller: wasmi::Caller<'_, RawIo>, src: i32, len: i32| -> Result<i32, wasmi::Error> {
                let memory = caller.data().memory.unwrap();
                let (mem, io) = memory.data_and_store_mut(&mut caller);
                let Some(r) = raw_slice(mem, src, len) else { return Ok(-2) };
                io.output.extend_from_slice(&mem[r]);
                Ok(len)
            })
            .unwrap();
        if fuel {
            store.set_fuel(BIG_FUEL).unwrap();
        }
        let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
        store.data_mut().memory = instance.get_memory(&store, "memory");
        let run = instance.get_typed_func::<(), i32>(&store, "run").unwrap();
        RawRoundTrip { store, run, fuel }
    }

    /// One invocation: input in, call, output out (as a fresh `Vec`, like `Host::invoke`).
    #[inline]
    pub fn invoke(&mut self, input: &[u8]) -> Vec<u8> {
        if self.fuel {
            self.store.set_fuel(BIG_FUEL).unwrap();
        }
        let io = self.store.data_mut();
        io.input.clear();
        io.input.extend_from_slice(input);
        assert_eq!(self.run.call(&mut self.store, ()).unwrap(), 0);
        std::mem::take(&mut self.store.data_mut().output)
    }
}

// ---- gated host call: fs_write of 64 bytes ------------------------------------------------

/// Calls per invocation in the host-call benchmarks (the per-call time is the total / this).
pub const HOSTCALL_LOOP: u32 = 1000;
/// The guest path written.
pub const FS_PATH: &str = "/data/bench.bin";

/// A guest that calls `module`.`name`(path, path_len, src, 64) [`HOSTCALL_LOOP`] times.
pub fn hostcall_wat(module: &str, name: &str) -> String {
    format!(
        r#"(module
  (import "{module}" "{name}" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{FS_PATH}")
  (data (i32.const 64) "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
  (func (export "run") (result i32) (local $i i32) (local $r i32)
    (loop $l
      (local.set $r (call $w (i32.const 0) (i32.const {len}) (i32.const 64) (i32.const 64)))
      (if (i32.ne (local.get $r) (i32.const 64)) (then (return (local.get $r))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const {HOSTCALL_LOOP}))))
    (i32.const 0)))"#,
        len = FS_PATH.len()
    )
}

/// Raw wasmi running [`hostcall_wat`]`("bench", "copy")`: a host function that bounds-checks and
/// copies the 64 bytes into a buffer (what `fs_write` to memory does, without the gate).
pub struct RawCopy {
    pub store: wasmi::Store<RawIo>,
    pub run: wasmi::TypedFunc<(), i32>,
}

impl RawCopy {
    pub fn new() -> RawCopy {
        let wasm = wat::parse_str(hostcall_wat("bench", "copy")).unwrap();
        let engine = wasmi::Engine::new(&raw_config(false));
        let module = wasmi::Module::new(&engine, &wasm).unwrap();
        let mut store = wasmi::Store::new(&engine, RawIo::default());
        let mut linker = wasmi::Linker::<RawIo>::new(&engine);
        linker
            .func_wrap("bench", "copy", |mut caller: wasmi::Caller<'_, RawIo>, _p: i32, _pl: i32, src: i32, len: i32| -> Result<i32, wasmi::Error> {
                let memory = caller.data().memory.unwrap();
                let (mem, io) = memory.data_and_store_mut(&mut caller);
                let Some(r) = raw_slice(mem, src, len) else { return Ok(-2) };
                io.output.clear();
                io.output.extend_from_slice(&mem[r]);
                Ok(len)
            })
            .unwrap();
        let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
        store.data_mut().memory = instance.get_memory(&store, "memory");
        let run = instance.get_typed_func::<(), i32>(&store, "run").unwrap();
        RawCopy { store, run }
    }

    #[inline]
    pub fn run(&mut self) -> i32 {
        self.run.call(&mut self.store, ()).unwrap()
    }
}

impl Default for RawCopy {
    fn default() -> Self {
        RawCopy::new()
    }
}

/// A filesystem back-end that accepts every write and keeps nothing: isolates the host's gate
/// from `MemoryFilesystem`'s own cost.
#[derive(Debug, Default)]
pub struct NullFs;

impl Filesystem for NullFs {
    fn read(&self, _: &GuestPath, _: &GuestPath, _: &mut [u8]) -> Result<u64, BackendError> {
        Ok(0)
    }
    fn size(&self, _: &GuestPath, _: &GuestPath) -> Result<u64, BackendError> {
        Ok(0)
    }
    fn write(&self, _: &GuestPath, _: &GuestPath, _: &[u8]) -> Result<(), BackendError> {
        Ok(())
    }
    fn rename(&self, _: &GuestPath, _: &GuestPath, _: &GuestPath, _: &GuestPath) -> Result<(), BackendError> {
        Ok(())
    }
    /// No I/O, like `MemoryFilesystem`: the host reads no clock around its calls.
    fn may_block(&self) -> bool {
        false
    }
}

/// The fs.write grant used throughout: prefix `/data` (plus two unrelated prefixes, so the check
/// has something to reject).
pub fn fs_grant() -> Grant {
    Grant::new(&[Capability::FsWrite])
        .with_path_prefix(Capability::FsWrite, "/etc/app")
        .unwrap()
        .with_path_prefix(Capability::FsWrite, "/var/lib/app")
        .unwrap()
        .with_path_prefix(Capability::FsWrite, "/data")
        .unwrap()
}

/// A host whose filesystem is a `MemoryFilesystem` with `/data` created.
pub fn memfs_host() -> Host {
    let fs = MemoryFilesystem::new();
    assert!(fs.create_dir("/data"));
    Host::with_backends(host_config(), Backends::unavailable().with_filesystem(Arc::new(fs)))
}

/// A host whose filesystem is [`NullFs`].
pub fn nullfs_host() -> Host {
    Host::with_backends(host_config(), Backends::unavailable().with_filesystem(Arc::new(NullFs)))
}

// ---- load: generated modules and the bundled plugins --------------------------------------

/// One module to load.
pub struct LoadCase {
    pub name: String,
    pub wasm: Vec<u8>,
}

/// A module of about `target` bytes: many functions with realistic bodies (loads, stores,
/// arithmetic, branches, a loop, a call), fewer than wasmi's strict limit of 10,000 functions.
pub fn generated_module(target: usize) -> Vec<u8> {
    const REP_BYTES: usize = 44; // measured: one repetition of the loop body
    let body = (target / 9_000).max(240);
    let reps = (body / REP_BYTES).max(1);
    let functions = (target / body).clamp(1, 9_000);
    let mut wat = String::with_capacity(functions * reps * 260);
    wat.push_str("(module (memory (export \"memory\") 1)\n");
    for f in 0..functions {
        wat.push_str(&format!(
            "(func $f{f} (param $a i32) (param $b i32) (result i32) (local $x i32) (local $y i32) (local $i i32)\n (local.set $x (local.get $a))\n (loop $l\n"
        ));
        for r in 0..reps {
            let c = (f * 31 + r * 7) % 1000 + 3;
            let o1 = (r * 4) % 128;
            let o2 = (r * 8 + 4) % 128;
            wat.push_str(&format!(
                "  (local.set $y (i32.add (i32.mul (local.get $x) (i32.const {c})) (i32.load offset={o1} (i32.and (local.get $y) (i32.const 65520)))))\n  (if (i32.gt_u (local.get $y) (local.get $b)) (then (local.set $x (i32.xor (local.get $x) (i32.rotl (local.get $y) (i32.const 7))))) (else (i32.store offset={o2} (i32.and (local.get $x) (i32.const 65520)) (i32.sub (local.get $y) (local.get $b)))))\n"
            ));
        }
        wat.push_str(" (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $b))))\n");
        if f > 0 {
            wat.push_str(&format!(
                " (local.set $x (i32.add (local.get $x) (call $f{} (local.get $y) (local.get $b))))\n",
                f - 1
            ));
        }
        wat.push_str(" (local.get $x))\n");
    }
    wat.push_str(&format!(
        "(func (export \"run\") (result i32) (drop (call $f{} (i32.const 1) (i32.const 2))) (i32.const 0)))",
        functions - 1
    ));
    wat::parse_str(&wat).expect("generated module")
}

/// Nominal sizes of the generated modules.
pub const GENERATED_SIZES: [(&str, usize); 5] = [
    ("gen_8k", 8 << 10),
    ("gen_64k", 64 << 10),
    ("gen_512k", 512 << 10),
    ("gen_2m", 2 << 20),
    ("gen_6m", 6 << 20),
];

/// The directory of the bundled plugins, if built.
pub fn bundled_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/target/wasm32-unknown-unknown/release")
}

/// The generated modules, then every bundled plugin found (sorted by name).
pub fn load_cases() -> Vec<LoadCase> {
    let mut cases: Vec<LoadCase> = GENERATED_SIZES
        .iter()
        .map(|(name, size)| LoadCase { name: (*name).into(), wasm: generated_module(*size) })
        .collect();
    let mut bundled: Vec<_> = std::fs::read_dir(bundled_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    bundled.sort();
    for path in bundled {
        let name = format!("plugin_{}", path.file_stem().unwrap().to_string_lossy());
        cases.push(LoadCase { name, wasm: std::fs::read(&path).unwrap() });
    }
    cases
}

/// Every capability, with a prefix for each path capability: links any bundled plugin.
pub fn full_grant() -> Grant {
    Grant::new(&Capability::ALL)
        .with_path_prefix(Capability::FsRead, "/data")
        .unwrap()
        .with_path_prefix(Capability::FsWrite, "/data")
        .unwrap()
        .with_path_prefix(Capability::ProcessExec, "/usr/sbin")
        .unwrap()
}

/// What raw wasmi keeps for a loaded module.
pub struct RawLoaded {
    pub store: wasmi::Store<wasmi::StoreLimits>,
    pub instance: wasmi::Instance,
    pub module: wasmi::Module,
    pub linker: wasmi::Linker<wasmi::StoreLimits>,
}

/// Raw wasmi load with the host's `Config` (eager translation, fuel on, strict limits) and store
/// limits: new engine, validate + translate, a linker with a no-op function per import, instantiate.
pub fn raw_load(wasm: &[u8]) -> RawLoaded {
    let limits = Limits::DEFAULT;
    let engine = wasmi::Engine::new(&raw_config(true));
    let module = wasmi::Module::new(&engine, wasm).expect("compile");
    let mut linker = wasmi::Linker::<wasmi::StoreLimits>::new(&engine);
    for import in module.imports() {
        if let wasmi::ExternType::Func(ty) = import.ty() {
            linker
                .func_new(import.module(), import.name(), ty.clone(), |_, _, results| {
                    for r in results.iter_mut() {
                        *r = wasmi::Val::I32(0);
                    }
                    Ok(())
                })
                .unwrap();
        }
    }
    let store_limits = wasmi::StoreLimitsBuilder::new()
        .memory_size(limits.memory_bytes)
        .table_elements(limits.table_elements)
        .instances(limits.instances)
        .tables(limits.tables)
        .memories(limits.memories)
        .trap_on_grow_failure(false)
        .build();
    let mut store = wasmi::Store::new(&engine, store_limits);
    store.limiter(|l| l);
    store.set_fuel(10_000_000).unwrap();
    let instance = linker.instantiate_and_start(&mut store, &module).expect("instantiate");
    RawLoaded { store, instance, module, linker }
}

// ---- counting allocator --------------------------------------------------------------------

/// A global allocator that counts live bytes and allocation calls (install it with
/// `#[global_allocator]` in the binary that measures).
pub struct CountingAlloc;

pub static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
/// The most live bytes since the last [`reset_peak`].
pub static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);
pub static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to `System` and only counts.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        grow_live(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        grow_live(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        grow_live(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

fn grow_live(bytes: usize) {
    let live = LIVE_BYTES.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
}

/// Starts a new peak: the current live bytes.
pub fn reset_peak() {
    PEAK_BYTES.store(LIVE_BYTES.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// The most live heap bytes since the last [`reset_peak`].
pub fn peak_bytes() -> usize {
    PEAK_BYTES.load(Ordering::Relaxed)
}

/// Live heap bytes now (only meaningful with [`CountingAlloc`] installed).
pub fn live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// Allocation calls so far (only meaningful with [`CountingAlloc`] installed).
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}
