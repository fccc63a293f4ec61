//! `connector-service-reload`: runs one program through `process.exec` (no shell, empty
//! environment) and reports its exit status and the start of its standard output.
//!
//! Input: postcard `ReloadRequest`; output: postcard `Result<ReloadResponse, PluginFailure>`.
//! A non-zero exit status is a successful response carrying that status. Manifest: ABI 2, kind
//! `connector`, protocol `reload`, requests `process.exec=/usr/sbin/reload-service` (an appliance's reload wrapper)
//! and `process.exec=/usr/sbin/nginx`; the operator's grant decides which one program may really
//! run.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod argv;

use alloc::format;
use alloc::string::String;

use pluginhost_sdk::proto::reload::{ReloadRequest, ReloadResponse};
use pluginhost_sdk::proto::PluginFailure;
use pluginhost_sdk::{process, Error};

pluginhost_sdk::manifest! {
    abi: 2,
    name: "connector-service-reload",
    version: env!("CARGO_PKG_VERSION"),
    kind: connector,
    protocol: reload,
    grants: [
        "process.exec" => "/usr/sbin/reload-service",
        "process.exec" => "/usr/sbin/nginx",
    ],
}

pluginhost_sdk::entry!(handler);

fn handler() -> Result<(), Error> {
    pluginhost_sdk::serve(reload)
}

fn reload(request: ReloadRequest) -> Result<ReloadResponse, PluginFailure> {
    let (argv, max_stdout) = argv::check(&request)?;
    let output = process::exec(&argv, max_stdout).map_err(|error| {
        PluginFailure::new(
            error.failure_code(),
            format!("running {}: {error}", request.program),
        )
    })?;
    pluginhost_sdk::info!("{} exited with status {}", request.program, output.status);
    Ok(ReloadResponse {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
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
        assert_eq!(m.protocol, Some(pluginhost_sdk::proto::Protocol::Reload));
        assert_eq!(
            m.scopes("process.exec").collect::<Vec<_>>(),
            ["/usr/sbin/reload-service", "/usr/sbin/nginx"]
        );
        assert_eq!(m.requests.len(), 2);
    }
}
