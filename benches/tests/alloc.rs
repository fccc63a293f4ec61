//! The gate's check allocates nothing (counted by a global allocator on this thread only):
//! `Grant::admit_path` on a parsed path, `GuestPath::reparse` into a reused buffer, and a whole
//! invocation making 1,000 gated `fs_write` calls once the plugin has run before.
//! `GuestPath::parse` allocates exactly once (the normalised string).
use std::cell::Cell;
use std::alloc::{GlobalAlloc, Layout, System};

use pluginhost::{Capability, GuestPath};
use pluginhost_benches::{fs_grant, hostcall_wat, nullfs_host, FS_PATH};

thread_local! { static COUNT: Cell<u64> = const { Cell::new(0) }; }

struct ThreadCounting;
// SAFETY: forwards to `System`; only bumps a thread-local counter without allocating.
unsafe impl GlobalAlloc for ThreadCounting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static A: ThreadCounting = ThreadCounting;

fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = COUNT.with(Cell::get);
    f();
    COUNT.with(Cell::get) - before
}

#[test]
fn admit_path_does_not_allocate() {
    let grant = fs_grant();
    let inside = GuestPath::parse_str(FS_PATH).unwrap();
    let outside = GuestPath::parse_str("/data2/x").unwrap();
    let n = allocations_in(|| {
        for _ in 0..1000 {
            assert!(grant.admit_path(Capability::FsWrite, std::hint::black_box(&inside)).is_some());
            assert!(grant.admit_path(Capability::FsWrite, std::hint::black_box(&outside)).is_none());
            assert!(grant.admit_path(Capability::FsRead, std::hint::black_box(&inside)).is_none());
        }
    });
    assert_eq!(n, 0, "admit_path allocated {n} times in 3000 calls");
}

#[test]
fn guest_path_parse_allocates_once() {
    let n = allocations_in(|| {
        let p = GuestPath::parse(std::hint::black_box(b"//data/./x//bench.bin/")).unwrap();
        assert_eq!(p.as_str(), "/data/x/bench.bin");
    });
    assert_eq!(n, 1);
}

#[test]
fn reparse_and_admit_do_not_allocate() {
    let grant = fs_grant();
    let mut buffer = GuestPath::root();
    // The first parse sizes the buffer; every later one reuses it.
    buffer.reparse(b"/data/x/bench.bin.longest").unwrap();
    let n = allocations_in(|| {
        for _ in 0..1000 {
            for path in [FS_PATH.as_bytes(), b"//data/./x//bench.bin/", b"/data2/x"] {
                buffer.reparse(std::hint::black_box(path)).unwrap();
                std::hint::black_box(grant.admit_path(Capability::FsWrite, &buffer));
            }
            assert!(buffer.reparse(b"/data/../etc").is_err());
        }
    });
    assert_eq!(n, 0, "reparse + admit_path allocated {n} times in 4000 checks");
}

#[test]
fn gated_fs_write_invocation_does_not_allocate() {
    let wasm = wat::parse_str(hostcall_wat("pluginhost", "fs_write")).unwrap();
    let host = nullfs_host();
    let mut plugin = host.load(&wasm, fs_grant()).unwrap();
    assert_eq!(host.invoke(&mut plugin, "run", b"").unwrap(), b"");
    let n = allocations_in(|| {
        assert_eq!(host.invoke(&mut plugin, "run", b"").unwrap(), b"");
    });
    assert_eq!(plugin.stats().calls.allowed(Capability::FsWrite), 2000);
    assert_eq!(n, 0, "an invocation making 1,000 gated fs_write calls allocated {n} times");
}
