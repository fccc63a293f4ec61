//! `hostile-memhog`: a hostile plugin for demonstrations that allocates 1 MiB blocks until the
//! allocator fails, then asks `memory.grow` for 4 GiB outright. The host's memory limit must
//! refuse both; the plugin then frees everything, writes a one-line report as its output, and
//! returns 0.
//!
//! The blocks are reserved, not filled: reserving already grows linear memory (which the host
//! allocates and zeroes), while filling every byte costs about 15 fuel per byte here, so under a
//! default fuel budget it would be stopped by fuel within its first MiB and never reach the
//! memory limit it exists to test.
//!
//! Manifest: kind `other`, no requests.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;

use pluginhost_sdk::Error;

pluginhost_sdk::manifest! {
    name: "hostile-memhog",
    version: env!("CARGO_PKG_VERSION"),
    kind: other,
}

pluginhost_sdk::entry!(handler);

/// 1 MiB.
const BLOCK: usize = 1 << 20;

fn handler() -> Result<(), Error> {
    pluginhost_sdk::log::warn("hostile-memhog: allocating until refused");
    let mib = hoard(4096);
    let grow = grow_all();
    let report = format!(
        "hostile-memhog: hoarded {mib} MiB before allocation failed; \
         memory.grow(65536 pages) -> {grow}\n"
    );
    pluginhost_sdk::log::warn(report.trim_end());
    let _ = pluginhost_sdk::output(report.as_bytes());
    Ok(())
}

/// Reserves up to `max_mib` 1 MiB blocks, writing one byte into each; returns how many it got.
/// All are freed before it returns.
fn hoard(max_mib: usize) -> usize {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    while blocks.len() < max_mib {
        let mut block = Vec::new();
        if block.try_reserve_exact(BLOCK).is_err() || blocks.try_reserve(1).is_err() {
            break;
        }
        block.push(0xA5);
        blocks.push(block);
    }
    blocks.len()
}

/// What `memory.grow` says to a request for 65536 more pages (4 GiB): `-1` is a refusal.
#[cfg(target_arch = "wasm32")]
fn grow_all() -> isize {
    core::arch::wasm32::memory_grow(0, 65536) as isize
}

#[cfg(not(target_arch = "wasm32"))]
fn grow_all() -> isize {
    -1
}

#[cfg(test)]
mod tests {
    use pluginhost_sdk::proto::{Manifest, PluginKind};

    #[test]
    fn manifest_and_hoard() {
        let m = Manifest::parse(super::MANIFEST_TEXT).expect("valid manifest");
        assert_eq!(m.kind, PluginKind::Other);
        assert!(m.requests.is_empty());
        assert_eq!(super::hoard(3), 3);
    }
}
