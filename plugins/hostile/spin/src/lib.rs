//! `hostile-spin`: a hostile plugin for demonstrations that never returns. The host must stop it
//! (fuel metering or an epoch deadline) and report the invocation as timed out.
//!
//! Manifest: kind `other`, no requests.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use pluginhost_sdk::Error;

pluginhost_sdk::manifest! {
    name: "hostile-spin",
    version: env!("CARGO_PKG_VERSION"),
    kind: other,
}

pluginhost_sdk::entry!(handler);

fn handler() -> Result<(), Error> {
    pluginhost_sdk::log::warn("hostile-spin: looping forever");
    spin(u64::MAX);
    Ok(())
}

/// Counts to `limit` in a way the optimiser cannot remove (`u64::MAX` is forever in practice).
fn spin(limit: u64) -> u64 {
    let mut n: u64 = 0;
    while n < limit {
        n = core::hint::black_box(n + 1);
    }
    n
}

#[cfg(test)]
mod tests {
    use pluginhost_sdk::proto::{Manifest, PluginKind};

    #[test]
    fn manifest_and_spin() {
        let m = Manifest::parse(super::MANIFEST_TEXT).expect("valid manifest");
        assert_eq!(m.kind, PluginKind::Other);
        assert!(m.requests.is_empty());
        assert_eq!(super::spin(1000), 1000);
    }
}
