//! `hostile-growloop`: a hostile plugin for demonstrations that calls `memory.grow` a million
//! times, by 0 pages and by 65,536 pages (refused) in turn, then reports the memory size.
//!
//! Under wasmi 2.0.0's tail-call dispatch (every optimised build and the Cortex-M4 firmware)
//! each executed grow nested one native frame, so this loop overflowed the host's native stack
//! after ~50,000 iterations and aborted the whole process. With the patched wasmi the host's stack
//! stays flat: the default fuel budget stops the loop (the conformance gate reports fuel
//! exhaustion), and with a larger budget it runs to its end.
//!
//! Manifest: kind `other`, no requests.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::format;

use pluginhost_sdk::Error;

pluginhost_sdk::manifest! {
    name: "hostile-growloop",
    version: env!("CARGO_PKG_VERSION"),
    kind: other,
}

pluginhost_sdk::entry!(handler);

/// Grows the loop runs.
pub const GROWS: u32 = 1_000_000;

fn handler() -> Result<(), Error> {
    let (pages, refused) = grow_loop(GROWS);
    let report =
        format!("hostile-growloop: {GROWS} memory.grow calls, {refused} refused; {pages} pages\n");
    let _ = pluginhost_sdk::output(report.as_bytes());
    Ok(())
}

/// Runs `count` grows, alternating a delta of 0 and of 65,536 pages; returns the final memory
/// size in pages and how many grows were refused.
fn grow_loop(count: u32) -> (usize, u32) {
    let mut refused = 0;
    let mut pages = 0;
    for i in 0..count {
        // `black_box` keeps the delta a run-time value, so the compiler emits a real grow.
        let delta = core::hint::black_box(if i % 2 == 0 { 0 } else { 65_536 });
        let result = grow(delta);
        if result == usize::MAX {
            refused += 1;
        } else {
            pages = result;
        }
    }
    (pages, refused)
}

#[cfg(target_arch = "wasm32")]
fn grow(delta: usize) -> usize {
    core::arch::wasm32::memory_grow(0, delta)
}

#[cfg(not(target_arch = "wasm32"))]
fn grow(delta: usize) -> usize {
    if delta == 0 {
        1
    } else {
        usize::MAX
    }
}

#[cfg(test)]
mod tests {
    use pluginhost_sdk::proto::{Manifest, PluginKind};

    #[test]
    fn manifest_and_loop() {
        let m = Manifest::parse(super::MANIFEST_TEXT).expect("valid manifest");
        assert_eq!(m.kind, PluginKind::Other);
        assert!(m.requests.is_empty());
        assert_eq!(super::grow_loop(10), (1, 5));
    }
}
