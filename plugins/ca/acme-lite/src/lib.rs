//! `ca-acme-lite`: obtains a certificate for a CSR from a CA endpoint.
//!
//! It dials `ca_host:ca_port` through `net.dial` and speaks a minimal HTTP/1.1 (no TLS: the
//! channel is the host's business):
//!
//! ```text
//! POST /issue HTTP/1.1
//! Host: <ca_host>:<ca_port>
//! Content-Type: application/pkcs10
//! Content-Length: <n>
//! Connection: close
//!
//! <csr_pem>
//! ```
//!
//! A `200` response's body is the PEM chain; any other status becomes a `PluginFailure` with code
//! `Upstream`. Input: postcard `IssueRequest`; output: postcard
//! `Result<IssueResponse, PluginFailure>`.
//!
//! Manifest: ABI 2, kind `ca`, protocol `issue`, requests `net.dial=ca.local:8443`. The manifest
//! only asks: the operator's grant decides which `host:port` the plugin may reach.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod http;
mod issue;

use pluginhost_sdk::net::TcpStream;
use pluginhost_sdk::proto::ca::{IssueRequest, IssueResponse};
use pluginhost_sdk::proto::PluginFailure;
use pluginhost_sdk::Error;

pluginhost_sdk::manifest! {
    abi: 2,
    name: "ca-acme-lite",
    version: env!("CARGO_PKG_VERSION"),
    kind: ca,
    protocol: issue,
    grants: ["net.dial" => "ca.local:8443"],
}

pluginhost_sdk::entry!(handler);

fn handler() -> Result<(), Error> {
    pluginhost_sdk::serve(issue)
}

fn issue(request: IssueRequest) -> Result<IssueResponse, PluginFailure> {
    issue::validate(&request)?;
    pluginhost_sdk::info!(
        "requesting a certificate for {} identifier(s) from {}:{}",
        request.identifiers.len(),
        request.ca_host,
        request.ca_port
    );
    let wire = http::build_post(
        &request.ca_host,
        request.ca_port,
        issue::ISSUE_PATH,
        issue::CSR_CONTENT_TYPE,
        request.csr_pem.as_bytes(),
    );
    let mut stream = TcpStream::dial(&request.ca_host, request.ca_port)
        .map_err(|e| issue::host_failure("dialing the CA", e))?;
    let response = issue::exchange(&mut stream, &wire)?;
    // The response is complete; a failing close changes nothing.
    let _ = stream.close();
    let status = response.status;
    let issued = issue::interpret(response);
    match &issued {
        Ok(r) => pluginhost_sdk::info!("the CA issued a chain of {} bytes", r.chain_pem.len()),
        Err(_) => pluginhost_sdk::warn!("the CA refused or answered badly (status {})", status),
    }
    issued
}

#[cfg(test)]
mod tests {
    use pluginhost_sdk::proto::{Manifest, PluginKind};

    #[test]
    fn manifest() {
        let m = Manifest::parse(super::MANIFEST_TEXT).expect("valid manifest");
        assert_eq!(m.kind, PluginKind::Ca);
        assert_eq!(m.abi, 2);
        assert_eq!(m.protocol, Some(pluginhost_sdk::proto::Protocol::Issue));
        assert_eq!(m.scopes("net.dial").collect::<Vec<_>>(), ["ca.local:8443"]);
        assert_eq!(m.requests.len(), 1);
    }
}
