//! Gated host call: `fs_write` of 64 bytes (capability, path parse, prefix check, fuel, counters,
//! back-end) vs a raw wasmi host function copying the same 64 bytes. Each invocation makes
//! HOSTCALL_LOOP calls; the per-call figure is the time / HOSTCALL_LOOP. Also the check alone:
//! `GuestPath::reparse` into a reused buffer plus `Grant::admit_path` (what every gated fs call
//! does; allocation-free, see tests/alloc.rs), each part alone, and the allocating
//! `GuestPath::parse` for reference.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pluginhost::{Capability, GuestPath};
use pluginhost_benches::*;
use std::hint::black_box;

fn hostcall(c: &mut Criterion) {
    let mut g = c.benchmark_group("hostcall/fs_write64x1000");
    g.throughput(Throughput::Elements(HOSTCALL_LOOP as u64));
    let wasm = wat::parse_str(hostcall_wat("pluginhost", "fs_write")).unwrap();

    let host = memfs_host();
    let mut plugin = host.load(&wasm, fs_grant()).unwrap();
    assert_eq!(host.invoke(&mut plugin, "run", b"").unwrap(), b"");
    g.bench_function("host_memfs", |b| b.iter(|| host.invoke(&mut plugin, "run", b"").unwrap()));

    let host = nullfs_host();
    let mut plugin = host.load(&wasm, fs_grant()).unwrap();
    assert_eq!(host.invoke(&mut plugin, "run", b"").unwrap(), b"");
    g.bench_function("host_nullfs", |b| b.iter(|| host.invoke(&mut plugin, "run", b"").unwrap()));

    let mut raw = RawCopy::new();
    assert_eq!(raw.run(), 0);
    g.bench_function("wasmi_copy", |b| b.iter(|| raw.run()));
    g.finish();

    let mut g = c.benchmark_group("hostcall/check");
    let grant = fs_grant();
    let path = GuestPath::parse_str(FS_PATH).unwrap();
    assert!(grant.admit_path(Capability::FsWrite, &path).is_some());
    g.bench_function("admit_path", |b| {
        b.iter(|| grant.admit_path(black_box(Capability::FsWrite), black_box(&path)).is_some())
    });
    g.bench_function("reparse", |b| {
        let mut buffer = GuestPath::root();
        b.iter(|| buffer.reparse(black_box(FS_PATH.as_bytes())).unwrap())
    });
    g.bench_function("reparse_and_admit", |b| {
        let mut buffer = GuestPath::root();
        b.iter(|| {
            buffer.reparse(black_box(FS_PATH.as_bytes())).unwrap();
            grant.admit_path(black_box(Capability::FsWrite), &buffer).is_some()
        })
    });
    g.bench_function("guestpath_parse", |b| {
        b.iter(|| GuestPath::parse(black_box(FS_PATH.as_bytes())).unwrap())
    });
    g.finish();
}

criterion_group! { name = benches; config = criterion(); targets = hostcall }
criterion_main!(benches);
