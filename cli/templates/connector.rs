//! {{name}}: a pluginhost deployment connector. It answers a `deploy::DeployRequest` by writing
//! the certificate chain to `<target_dir>/<file_name>` (atomically: a `.tmp` file, then a
//! rename) and answers with a `deploy::DeployResponse`.

// No std on wasm32: the SDK brings an allocator and a panic handler (which traps). On the host
// target the crate builds with std, so `cargo test` tests the logic.
#![cfg_attr(target_arch = "wasm32", no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use pluginhost_sdk::proto::deploy::{DeployRequest, DeployResponse};
use pluginhost_sdk::proto::PluginFailure;

// Who the plugin is and what it asks for; checked at compile time. The operator's grants decide.
pluginhost_sdk::manifest! {
    abi: 2, // ABI 2: the `protocol` key
    name: "{{name}}",
    version: env!("CARGO_PKG_VERSION"),
    kind: connector,
    protocol: deploy, // the message pair `pluginhost run --request` encodes for
    grants: ["fs.write" => "/certs"],
}

// Exports `run: () -> i32`.
pluginhost_sdk::entry!(handler);

fn handler() -> Result<(), pluginhost_sdk::Error> {
    // Decodes the request, calls `deploy`, writes the response. An input that is not a request
    // (the conformance gate's empty one) is answered with a `bad-request` failure.
    pluginhost_sdk::serve(deploy)
}

fn deploy(request: DeployRequest) -> Result<DeployResponse, PluginFailure> {
    let path = plan(&request)?;
    if let Err(e) = pluginhost_sdk::fs::write_atomic(&path, request.chain_pem.as_bytes()) {
        pluginhost_sdk::warn!("cannot write {path}: {e}");
        return Err(PluginFailure::new(e.failure_code(), format!("{path}: {e}")));
    }
    pluginhost_sdk::info!("deployed {} bytes to {path}", request.chain_pem.len());
    Ok(DeployResponse {
        path,
        bytes_written: request.chain_pem.len() as u64,
    })
}

/// The path to write, if the request is one this connector accepts. Pure: tested on the host.
pub fn plan(request: &DeployRequest) -> Result<String, PluginFailure> {
    if !request.chain_pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(PluginFailure::bad_request("chain_pem holds no certificate"));
    }
    if request.chain_pem.contains("PRIVATE KEY") {
        return Err(PluginFailure::bad_request("refusing key material"));
    }
    if !request.target_dir.starts_with('/') {
        return Err(PluginFailure::bad_request("target_dir must be absolute"));
    }
    let name = &request.file_name;
    if name.is_empty() || name.starts_with('.') || name.contains('/') || name.len() > 255 {
        return Err(PluginFailure::bad_request("file_name must be a plain file name"));
    }
    Ok(format!("{}/{}", request.target_dir.trim_end_matches('/'), name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(dir: &str, name: &str) -> DeployRequest {
        DeployRequest {
            chain_pem: "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n".into(),
            key_ref: None,
            target_dir: dir.into(),
            file_name: name.into(),
        }
    }

    #[test]
    fn plans_the_path() {
        assert_eq!(plan(&request("/certs", "site.pem")).unwrap(), "/certs/site.pem");
        assert!(plan(&request("/certs", "../x")).is_err());
        assert!(plan(&request("certs", "site.pem")).is_err());
        assert!(MANIFEST_TEXT.contains("grant=fs.write=/certs"));
        assert!(MANIFEST_TEXT.contains("\nprotocol=deploy\n"));
    }
}
