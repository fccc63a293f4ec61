//! A counting global allocator: live and peak bytes, process-wide (atomics) and per thread.
//!
//! A test crate opts in explicitly, exactly once (a crate may have only one global allocator):
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: support::alloc::Counting = support::alloc::Counting;
//! ```
//!
//! Cases of one test binary run in parallel on the harness's threads, so the process-wide peak
//! mixes every running case. Host invocations (and loads) run synchronously on the calling
//! thread, so what a hostile plugin makes the host and wasmi allocate is charged to the thread
//! that runs it: [`super::measure::measure`] uses the per-thread counters to bound one case's
//! work. (Helper threads of the real back-ends, such as the stdout reader of `CommandRunner`,
//! allocate at most their capped buffer and are not counted.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting live bytes.
pub struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // `Cell<isize>` has no destructor and a const initialiser, so touching these never allocates
    // (safe inside the allocator). Signed: a thread may free what another allocated.
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
        let _ = THREAD_PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn note_free(size: usize) {
    CURRENT.fetch_sub(size, Ordering::Relaxed);
    let _ =
        THREAD_CURRENT.try_with(|current| current.set(current.get().saturating_sub(signed(size))));
}

// SAFETY: every method forwards to `System` with the caller's arguments; the bookkeeping touches
// only atomics and const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            note_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            note_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        note_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // The new block counted before the old one goes: a moving realloc's worst case, so
            // a measured peak never understates.
            note_alloc(new_size);
            note_free(layout.size());
        }
        new
    }
}

/// Bytes allocated and not yet freed, process-wide.
pub fn current_bytes() -> usize {
    CURRENT.load(Ordering::Relaxed)
}

/// The most bytes ever live at once, process-wide.
pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Bytes this thread allocated and has not freed (negative if it freed others' allocations).
pub fn thread_current() -> isize {
    THREAD_CURRENT.with(Cell::get)
}

/// The most [`thread_current`] has been since the last [`reset_thread_peak`].
pub fn thread_peak() -> isize {
    THREAD_PEAK.with(Cell::get)
}

/// Starts a new per-thread peak from what this thread holds now.
pub fn reset_thread_peak() {
    THREAD_PEAK.with(|peak| peak.set(thread_current()));
}

/// Panics unless [`Counting`] is this binary's global allocator: without it every measurement
/// would read zero and no bound could fail.
#[track_caller]
pub fn assert_installed() {
    let before = thread_current();
    let probe = std::hint::black_box(Box::new(0u64));
    let during = thread_current();
    drop(probe);
    assert!(
        during > before,
        "the counting allocator is not installed in this test crate: add \
         `#[global_allocator] static ALLOCATOR: support::alloc::Counting = support::alloc::Counting;`"
    );
}
