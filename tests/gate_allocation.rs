//! The gate allocates nothing per call: once a plugin has run, an invocation making hundreds of
//! gated filesystem calls (admitted and denied) allocates no heap memory at all on the host.

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

#[global_allocator]
static ALLOCATOR: support::alloc::Counting = support::alloc::Counting;

use std::sync::Arc;

use pluginhost::{Capability, HostConfig, MemoryFilesystem};
use support::hosts::{grant, host_with_fs};
use support::measure::measure;
use support::wat::wasm;

/// 100 rounds of: write 64 bytes under `/data`, read them back, size them, a write to `/etc/x`
/// (denied), and writes to two already normal paths (the fast paths: 15 bytes, checked in a
/// padded buffer, and 20 bytes); returns the first unexpected result.
const GATED_LOOP: &str = r#"(module
  (import "pluginhost" "fs_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "pluginhost" "fs_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "pluginhost" "fs_size" (func $size (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "/data/./out//bench.bin")
  (data (i32.const 32) "/etc/x")
  (data (i32.const 64) "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
  (data (i32.const 384) "/data/out/b.bin")
  (data (i32.const 416) "/data/out/normal.bin")
  (func (export "run") (result i32) (local $i i32) (local $r i32)
    (loop $l
      (local.set $r (call $write (i32.const 0) (i32.const 22) (i32.const 64) (i32.const 64)))
      (if (i32.ne (local.get $r) (i32.const 64)) (then (return (i32.const 1))))
      (local.set $r (call $read (i32.const 0) (i32.const 22) (i32.const 256) (i32.const 64)))
      (if (i32.ne (local.get $r) (i32.const 64)) (then (return (i32.const 2))))
      (local.set $r (call $size (i32.const 0) (i32.const 22)))
      (if (i32.ne (local.get $r) (i32.const 64)) (then (return (i32.const 3))))
      (local.set $r (call $write (i32.const 32) (i32.const 6) (i32.const 64) (i32.const 64)))
      (if (i32.ne (local.get $r) (i32.const -1)) (then (return (i32.const 4))))
      (local.set $r (call $write (i32.const 384) (i32.const 15) (i32.const 64) (i32.const 64)))
      (if (i32.ne (local.get $r) (i32.const 64)) (then (return (i32.const 5))))
      (local.set $r (call $write (i32.const 416) (i32.const 20) (i32.const 64) (i32.const 64)))
      (if (i32.ne (local.get $r) (i32.const 64)) (then (return (i32.const 6))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))
    (i32.const 0)))"#;

#[test]
fn gated_fs_calls_allocate_nothing_once_warm() {
    let fs = Arc::new(MemoryFilesystem::new());
    assert!(fs.create_dir("/data/out"));
    let host = host_with_fs(HostConfig::default(), fs.clone());
    let mut plugin = host
        .load(
            &wasm(GATED_LOOP),
            grant(&["fs.read=/data", "fs.write=/data"]),
        )
        .unwrap();
    // The first invocation sizes the path and scratch buffers and creates the file.
    assert_eq!(host.call(&mut plugin, "run", b"").unwrap().status, 0);
    let (completion, usage) = measure(|| host.call(&mut plugin, "run", b"").unwrap());
    assert_eq!(completion.status, 0);
    let calls = plugin.stats().calls;
    assert_eq!(calls.allowed(Capability::FsWrite), 600);
    assert_eq!(calls.allowed(Capability::FsRead), 400);
    assert_eq!(calls.denied(Capability::FsWrite), 200);
    for path in [
        "/data/out/bench.bin",
        "/data/out/b.bin",
        "/data/out/normal.bin",
    ] {
        assert_eq!(fs.get(path).unwrap().len(), 64, "{path}");
    }
    assert_eq!(
        (usage.peak, usage.retained),
        (0, 0),
        "600 gated calls allocated on the host"
    );
}
