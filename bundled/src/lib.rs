//! The bundled plugins of `pluginhost` (the `plugins/` workspace), built for
//! `wasm32-unknown-unknown` when this crate is built and embedded as byte slices.
//!
//! ```
//! let (name, wasm) = pluginhost_bundled::all()[0];
//! assert!(name.ends_with(".wasm"));
//! assert_eq!(&wasm[..4], b"\0asm");
//! assert_eq!(pluginhost_bundled::get("connector_file_deploy.wasm"), Some(pluginhost_bundled::CONNECTOR_FILE_DEPLOY));
//! ```
//!
//! The build script runs `cargo build --locked --release --target wasm32-unknown-unknown` on
//! `plugins/Cargo.toml` with a clean environment (no `RUSTFLAGS`, wrappers or target settings of
//! the outer build) into a target directory of its own, `<target-dir>/plugins` (override with
//! `PLUGINHOST_BUNDLED_TARGET_DIR`), never `plugins/target`. It installs the
//! `wasm32-unknown-unknown` standard library with `rustup target add` first if the toolchain
//! lacks it, and re-runs when a file of `plugins/`, `sdk/` or `proto/` changes.
//!
//! Each module is the release build of one plugin crate (opt-level `z`, LTO, `panic = "abort"`,
//! stripped), named as cargo names it: `<crate_name>.wasm`. These bytes are what an embedder
//! would ship; a module still has to pass [the conformance gate] and is only ever loaded under
//! the grants an operator chose.
//!
//! [the conformance gate]: https://docs.rs/pluginhost/latest/pluginhost/struct.Host.html#method.conformance

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

macro_rules! module {
    ($file:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $file))
    };
}

/// `ca-acme` (kind `ca`, ABI 2, protocol `acme`, asks `net.dial` to Let's Encrypt and
/// `acme.example:14000`): obtains a certificate from an ACME (RFC 8555) CA over host-verified TLS,
/// in steps the host drives. `acme::AcmeRequest` → `Result<acme::AcmeResponse, _>`.
pub const CA_ACME: &[u8] = module!("ca_acme.wasm");

/// `ca-acme-lite` (kind `ca`, protocol `issue`, asks `net.dial=ca.local:8443`): obtains a
/// certificate for a CSR with `POST /issue` over HTTP/1.1. `ca::IssueRequest` →
/// `Result<ca::IssueResponse, _>`.
pub const CA_ACME_LITE: &[u8] = module!("ca_acme_lite.wasm");

/// `connector-file-deploy` (kind `connector`, protocol `deploy`, asks `fs.write=/certs`): writes a
/// chain to `<target_dir>/<file_name>` atomically (`.tmp`, then rename). `deploy::DeployRequest` →
/// `Result<deploy::DeployResponse, _>`.
pub const CONNECTOR_FILE_DEPLOY: &[u8] = module!("connector_file_deploy.wasm");

/// `connector-service-reload` (kind `connector`, protocol `reload`, asks
/// `process.exec=/usr/sbin/reload-service` and `/usr/sbin/nginx`): runs one program, no shell.
/// `reload::ReloadRequest` → `Result<reload::ReloadResponse, _>`.
pub const CONNECTOR_SERVICE_RELOAD: &[u8] = module!("connector_service_reload.wasm");

/// `dns-zonefile` (kind `dns`, protocol `publish-txt`, asks `fs.read=/zones`, `fs.write=/zones`):
/// publishes an ACME `dns-01` TXT record in `/zones/<zone>.zone`. `dns::PublishTxtRequest` →
/// `Result<dns::PublishTxtResponse, _>`.
pub const DNS_ZONEFILE: &[u8] = module!("dns_zonefile.wasm");

/// `dns-rfc2136` (kind `dns`, protocol `update-txt`, asks `fs.read=/secrets/tsig`,
/// `net.dial=dns-primary.local:53`): adds or removes an ACME `dns-01` TXT record on an
/// authoritative server by RFC 2136 dynamic update over TCP, signed with the TSIG key in
/// `tsig_key_file`. `dns::UpdateTxtRequest` → `Result<dns::UpdateTxtResponse, _>`.
pub const DNS_RFC2136: &[u8] = module!("dns_rfc2136.wasm");

/// `hostile-exfiltrate` (kind `other`, asks only `fs.write=/scratch`): **hostile**. Tries to
/// read the device key, write outside its grant, dial and run a shell; must be refused by the
/// conformance gate and contained by any grant.
pub const HOSTILE_EXFILTRATE: &[u8] = module!("hostile_exfiltrate.wasm");

/// `hostile-spin` (kind `other`, asks nothing): **hostile**. Loops forever; the fuel budget
/// stops it.
pub const HOSTILE_SPIN: &[u8] = module!("hostile_spin.wasm");

/// `hostile-memhog` (kind `other`, asks nothing): **hostile**. Allocates until refused, then
/// asks `memory.grow` for 4 GiB; the memory limit contains it.
pub const HOSTILE_MEMHOG: &[u8] = module!("hostile_memhog.wasm");

/// `hostile-growloop` (kind `other`, asks nothing): **hostile**. Calls `memory.grow` a million
/// times (by 0 and by 4 GiB in turn): the loop that aborted release builds of the host before
/// its wasmi was patched. The fuel budget stops it; the host's native stack stays flat.
pub const HOSTILE_GROWLOOP: &[u8] = module!("hostile_growloop.wasm");

static ALL: [(&str, &[u8]); 10] = [
    ("ca_acme.wasm", CA_ACME),
    ("ca_acme_lite.wasm", CA_ACME_LITE),
    ("connector_file_deploy.wasm", CONNECTOR_FILE_DEPLOY),
    ("connector_service_reload.wasm", CONNECTOR_SERVICE_RELOAD),
    ("dns_zonefile.wasm", DNS_ZONEFILE),
    ("dns_rfc2136.wasm", DNS_RFC2136),
    ("hostile_exfiltrate.wasm", HOSTILE_EXFILTRATE),
    ("hostile_spin.wasm", HOSTILE_SPIN),
    ("hostile_memhog.wasm", HOSTILE_MEMHOG),
    ("hostile_growloop.wasm", HOSTILE_GROWLOOP),
];

/// Every bundled module as `(file name, bytes)`, e.g. `("dns_zonefile.wasm", ...)`: the real
/// plugins first, then the hostile demonstration plugins.
pub fn all() -> &'static [(&'static str, &'static [u8])] {
    &ALL
}

/// The module with this file name (`"dns_zonefile.wasm"`), if bundled.
pub fn get(file_name: &str) -> Option<&'static [u8]> {
    ALL.iter()
        .find(|(name, _)| *name == file_name)
        .map(|(_, wasm)| *wasm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_of_the_plugins_workspace_is_bundled() {
        // Set by build.rs from plugins/Cargo.toml: `<crate_name>.wasm` of every member.
        let built: Vec<&str> = env!("PLUGINHOST_BUNDLED_MODULES").split(',').collect();
        let mut listed: Vec<&str> = all().iter().map(|(name, _)| *name).collect();
        let mut built_sorted = built.clone();
        built_sorted.sort_unstable();
        listed.sort_unstable();
        assert_eq!(
            listed, built_sorted,
            "plugins/ and the list in bundled/src/lib.rs differ"
        );
    }

    #[test]
    fn modules_are_wasm_with_a_manifest() {
        for (name, wasm) in all() {
            assert!(
                wasm.starts_with(b"\0asm\x01\0\0\0"),
                "{name}: not a wasm module"
            );
            let section = b"pluginhost.manifest";
            assert!(
                wasm.windows(section.len()).any(|w| w == section),
                "{name}: no manifest section"
            );
            assert_eq!(get(name), Some(*wasm));
        }
        assert_eq!(get("nope.wasm"), None);
    }
}
