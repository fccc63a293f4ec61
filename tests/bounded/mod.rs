//! Shared helpers of the fuel, slice, pool and exhaustion tests: a counting global allocator,
//! WAT fixtures, host-function costs and a few back-ends.
//!
//! Each test binary that says `mod bounded;` gets this module's `#[global_allocator]` (exactly one
//! per binary). The allocator keeps two sets of counters:
//!
//! * process-wide `current` and `peak` bytes, in atomics ([`current_bytes`], [`peak_bytes`]);
//! * the same per thread, so a test can measure the peak growth of *its own* work with
//!   [`measure`] while other tests of the same binary allocate in parallel on other threads.
//!
//! Host invocations run synchronously on the calling thread, so everything a hostile plugin
//! makes the host (and wasmi) allocate is charged to the measuring thread.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use pluginhost::{HostFunction, HOST_FUNCTIONS};

// ---------------------------------------------------------------------------------------------
// Counting allocator
// ---------------------------------------------------------------------------------------------

/// The system allocator, counting live bytes.
pub struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // `Cell<isize>` needs no destructor, so these never allocate or register anything: safe to
    // touch from inside the allocator. Signed because a thread may free what another allocated.
    static THREAD_CURRENT: Cell<isize> = const { Cell::new(0) };
    static THREAD_PEAK: Cell<isize> = const { Cell::new(0) };
}

fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

fn note_alloc(size: usize) {
    let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
    let _ = THREAD_CURRENT.try_with(|current| {
        let now = current.get().saturating_add(signed(size));
        current.set(now);
        let _ = THREAD_PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

fn note_free(size: usize) {
    CURRENT.fetch_sub(size, Ordering::Relaxed);
    let _ =
        THREAD_CURRENT.try_with(|current| current.set(current.get().saturating_sub(signed(size))));
}

// SAFETY: every method forwards to `System` with the same arguments; the bookkeeping touches only
// atomics and const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            note_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            note_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // Counted as the new block appearing before the old one goes: the worst case of a
            // moving realloc, so a measured peak never understates.
            note_alloc(new_size);
            note_free(layout.size());
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated and not yet freed, process-wide.
pub fn current_bytes() -> usize {
    CURRENT.load(Ordering::Relaxed)
}

/// The most bytes ever live at once, process-wide.
pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// What one measured piece of work allocated on its thread.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    /// The most bytes it held at once beyond what was live before it started.
    pub peak: usize,
    /// Bytes it left allocated when it returned (negative if it freed more than it allocated).
    pub retained: isize,
}

/// Runs `f` on this thread and returns its result and what it allocated on this thread.
///
/// With `BOUNDED_REPORT` set in the environment, prints each measurement and where it was taken
/// (`BOUNDED_REPORT=1 cargo test --test exhaustion -- --nocapture`).
#[track_caller]
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let caller = std::panic::Location::caller();
    let start = THREAD_CURRENT.with(Cell::get);
    THREAD_PEAK.with(|peak| peak.set(start));
    let result = f();
    let peak = THREAD_PEAK.with(Cell::get);
    let end = THREAD_CURRENT.with(Cell::get);
    let usage = Usage {
        peak: usize::try_from(peak.saturating_sub(start)).unwrap_or(0),
        retained: end.saturating_sub(start),
    };
    if std::env::var_os("BOUNDED_REPORT").is_some() {
        eprintln!("{caller}: {usage:?}");
    }
    (result, usage)
}

pub const KIB: usize = 1 << 10;
pub const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// Compiles a WAT fixture, panicking with the parse error.
pub fn wasm(wat: &str) -> Vec<u8> {
    match wat::parse_str(wat) {
        Ok(bytes) => bytes,
        Err(e) => panic!("fixture does not parse: {e}\n{wat}"),
    }
}

/// The capability-table entry of a host function.
pub fn host_function(name: &str) -> &'static HostFunction {
    HOST_FUNCTIONS
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no host function {name}"))
}

/// The base fuel of a host function, from the capability table.
pub fn base_fuel(name: &str) -> u64 {
    host_function(name).base_fuel
}

/// A benign plugin: copies its input to its output, prefixed with `ok:`.
pub const ECHO: &str = r#"(module
    (import "pluginhost" "input_len" (func $len (result i32)))
    (import "pluginhost" "input_read" (func $read (param i32 i32) (result i32)))
    (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "ok:")
    (func (export "run") (result i32)
        (local $n i32)
        (local.set $n (call $read (i32.const 16) (i32.const 4096)))
        (drop (call $out (i32.const 0) (i32.const 3)))
        (drop (call $out (i32.const 16) (local.get $n)))
        (i32.const 0)))"#;

/// Asserts a benign plugin freshly loaded on `host` runs and echoes its input.
pub fn assert_benign_runs(host: &pluginhost::Host) {
    let mut benign = host
        .load(&wasm(ECHO), pluginhost::Grant::none())
        .expect("a benign plugin still loads");
    let out = host
        .invoke(&mut benign, "run", b"still here")
        .expect("a benign plugin still runs");
    assert_eq!(out, b"ok:still here");
}

// ---------------------------------------------------------------------------------------------
// Hand-encoded modules (for sizes a WAT parser would take seconds over)
// ---------------------------------------------------------------------------------------------

fn leb_u32(mut n: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn section(id: u8, body: &[u8], out: &mut Vec<u8>) {
    out.push(id);
    leb_u32(u32::try_from(body.len()).expect("section fits u32"), out);
    out.extend_from_slice(body);
}

/// A valid module with `count` functions of type `() -> ()`, each body `nops` `nop`s and `end`.
pub fn many_functions_module(count: u32, nops: u32) -> Vec<u8> {
    let mut out = b"\0asm\x01\0\0\0".to_vec();
    // Type section: one type, () -> ().
    section(1, &[1, 0x60, 0, 0], &mut out);
    // Function section: `count` functions of type 0.
    let mut funcs = Vec::new();
    leb_u32(count, &mut funcs);
    funcs.resize(funcs.len() + count as usize, 0);
    section(3, &funcs, &mut out);
    // Code section: each body is its size, no local declarations, the nops and `end`.
    let mut body = Vec::new();
    body.push(0);
    body.resize(1 + nops as usize, 0x01);
    body.push(0x0b);
    let mut code = Vec::new();
    leb_u32(count, &mut code);
    for _ in 0..count {
        leb_u32(u32::try_from(body.len()).expect("body fits u32"), &mut code);
        code.extend_from_slice(&body);
    }
    section(10, &code, &mut out);
    out
}
