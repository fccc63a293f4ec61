//! {{name}}: a pluginhost certificate authority plugin. It answers a `ca::IssueRequest` by
//! sending the CSR to `ca_host:ca_port` as `POST /issue` (HTTP/1.1, no TLS: put it behind a
//! local proxy or replace the transport) and answers with the PEM chain of a `200` response as
//! a `ca::IssueResponse`.

// No std on wasm32: the SDK brings an allocator and a panic handler (which traps). On the host
// target the crate builds with std, so `cargo test` tests the logic.
#![cfg_attr(target_arch = "wasm32", no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use pluginhost_sdk::net::TcpStream;
use pluginhost_sdk::proto::ca::{IssueRequest, IssueResponse};
use pluginhost_sdk::proto::PluginFailure;
use pluginhost_sdk::Error;

// Who the plugin is and what it asks for; checked at compile time. The operator's grants decide
// (the request names the endpoint; the grant decides whether it may be reached).
pluginhost_sdk::manifest! {
    abi: 2, // ABI 2: the `protocol` key
    name: "{{name}}",
    version: env!("CARGO_PKG_VERSION"),
    kind: ca,
    protocol: issue, // the message pair `pluginhost run --request` encodes for
    grants: ["net.dial" => "ca.example.com:443"],
}

// Exports `run: () -> i32`.
pluginhost_sdk::entry!(handler);

/// The largest response read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

fn handler() -> Result<(), Error> {
    // Decodes the request, calls `issue`, writes the response. An input that is not a request
    // (the conformance gate's empty one) is answered with a `bad-request` failure.
    pluginhost_sdk::serve(issue)
}

fn issue(request: IssueRequest) -> Result<IssueResponse, PluginFailure> {
    let http = http_request(&request)?;
    let endpoint = format!("{}:{}", request.ca_host, request.ca_port);
    let fail = |e: Error| PluginFailure::new(e.failure_code(), format!("{endpoint}: {e}"));
    let mut stream = TcpStream::dial(&request.ca_host, request.ca_port).map_err(fail)?;
    stream.write_all(http.as_bytes()).map_err(fail)?;
    let answer = stream.read_to_end(MAX_RESPONSE_BYTES).map_err(fail)?;
    let _ = stream.close();
    let chain_pem = chain_of(&answer)?;
    pluginhost_sdk::info!("{endpoint} issued {} bytes of chain", chain_pem.len());
    Ok(IssueResponse { chain_pem })
}

/// The HTTP request for `request`, if it is one this plugin accepts. Pure: tested on the host.
pub fn http_request(request: &IssueRequest) -> Result<String, PluginFailure> {
    if !request.csr_pem.contains("-----BEGIN CERTIFICATE REQUEST-----") {
        return Err(PluginFailure::bad_request("csr_pem holds no CSR"));
    }
    if request.csr_pem.contains("PRIVATE KEY") {
        return Err(PluginFailure::bad_request("refusing key material"));
    }
    let host_ok = !request.ca_host.is_empty()
        && request
            .ca_host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b':');
    if !host_ok || request.ca_port == 0 {
        return Err(PluginFailure::bad_request("ca_host or ca_port is not valid"));
    }
    Ok(format!(
        "POST /issue HTTP/1.1\r\nHost: {}\r\nContent-Type: application/pkcs10\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        request.ca_host,
        request.csr_pem.len(),
        request.csr_pem
    ))
}

/// The PEM chain in a `200` answer. Pure: tested on the host.
pub fn chain_of(answer: &[u8]) -> Result<String, PluginFailure> {
    let text = core::str::from_utf8(answer)
        .map_err(|_| PluginFailure::protocol("the answer is not UTF-8"))?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| PluginFailure::protocol("the answer has no header end"))?;
    let status = head.split(' ').nth(1).unwrap_or("");
    if status != "200" {
        return Err(PluginFailure::upstream(format!("the CA answered {status}")));
    }
    if !body.contains("-----BEGIN CERTIFICATE-----") || body.contains("PRIVATE KEY") {
        return Err(PluginFailure::protocol("the answer holds no certificate chain"));
    }
    Ok(String::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speaks_http() {
        let request = IssueRequest {
            csr_pem: "-----BEGIN CERTIFICATE REQUEST-----\n...\n".into(),
            identifiers: alloc::vec!["www.example.com".into()],
            ca_host: "ca.example.com".into(),
            ca_port: 443,
        };
        assert!(http_request(&request).unwrap().starts_with("POST /issue HTTP/1.1\r\n"));
        let ok = b"HTTP/1.1 200 OK\r\n\r\n-----BEGIN CERTIFICATE-----\n";
        assert!(chain_of(ok).is_ok());
        assert!(chain_of(b"HTTP/1.1 403 Forbidden\r\n\r\nno").is_err());
        assert!(MANIFEST_TEXT.contains("grant=net.dial=ca.example.com:443"));
        assert!(MANIFEST_TEXT.contains("\nprotocol=issue\n"));
    }
}
