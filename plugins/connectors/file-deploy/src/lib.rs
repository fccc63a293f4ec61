//! `connector-file-deploy`: writes a certificate chain to `<target_dir>/<file_name>` atomically
//! (`<file_name>.tmp` first, then `fs_rename` over the final name).
//!
//! Input: postcard [`DeployRequest`]; output: postcard `Result<DeployResponse, PluginFailure>`.
//! Manifest: ABI 2, kind `connector`, protocol `deploy`, requests `fs.write=/certs`.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod plan;

use pluginhost_sdk::proto::deploy::{DeployRequest, DeployResponse};
use pluginhost_sdk::proto::PluginFailure;
use pluginhost_sdk::{fs, Error};

pluginhost_sdk::manifest! {
    abi: 2,
    name: "connector-file-deploy",
    version: env!("CARGO_PKG_VERSION"),
    kind: connector,
    protocol: deploy,
    grants: ["fs.write" => "/certs"],
}

pluginhost_sdk::entry!(handler);

fn handler() -> Result<(), Error> {
    pluginhost_sdk::serve(deploy)
}

fn deploy(request: DeployRequest) -> Result<DeployResponse, PluginFailure> {
    let path = plan::check(&request)?;
    let data = request.chain_pem.as_bytes();
    fs::write_atomic(&path, data).map_err(|error| plan::io_failure(&path, error))?;
    pluginhost_sdk::log::info(&pluginhost_sdk::strcat!(
        "deployed ",
        data.len(),
        " bytes to ",
        path
    ));
    Ok(DeployResponse {
        path,
        bytes_written: data.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use pluginhost_sdk::proto::{Manifest, PluginKind};

    #[test]
    fn manifest() {
        let m = Manifest::parse(super::MANIFEST_TEXT).expect("valid manifest");
        assert_eq!(m.kind, PluginKind::Connector);
        assert_eq!(m.abi, 2);
        assert_eq!(m.protocol, Some(pluginhost_sdk::proto::Protocol::Deploy));
        assert_eq!(m.scopes("fs.write").collect::<Vec<_>>(), ["/certs"]);
        assert_eq!(m.requests.len(), 1);
    }
}
