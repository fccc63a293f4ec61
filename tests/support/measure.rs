//! Measuring what one piece of work allocates on its thread, with the counters of
//! [`super::alloc::Counting`] (which the test crate must install as its global allocator).

use super::alloc;

pub const KIB: usize = 1 << 10;
pub const MIB: usize = 1 << 20;

/// What one measured piece of work allocated on its thread.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    /// The most bytes held at once beyond what was live on this thread before it started.
    pub peak: usize,
    /// Bytes left allocated when it returned (negative if it freed more than it allocated).
    pub retained: isize,
}

/// Runs `f` on this thread and returns its result and what it allocated on this thread.
///
/// Panics if the counting allocator is not installed (every measurement would read zero).
/// With `BOUNDED_REPORT` set in the environment, prints each measurement and where it was taken
/// (`BOUNDED_REPORT=1 cargo test --test exhaustion -- --nocapture`).
#[track_caller]
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let caller = std::panic::Location::caller();
    alloc::assert_installed();
    let start = alloc::thread_current();
    alloc::reset_thread_peak();
    let result = f();
    let peak = alloc::thread_peak();
    let end = alloc::thread_current();
    let usage = Usage {
        peak: usize::try_from(peak.saturating_sub(start)).unwrap_or(0),
        retained: end.saturating_sub(start),
    };
    if std::env::var_os("BOUNDED_REPORT").is_some() {
        eprintln!("{caller}: {usage:?}");
    }
    (result, usage)
}
