//! `dns-rfc2136`: adds and removes an ACME `dns-01` challenge record on an authoritative DNS
//! server by dynamic update (RFC 2136), signed with TSIG `hmac-sha256` (RFC 8945).
//!
//! 1. Checks the request and reads the TSIG key from `tsig_key_file` (`fs.read`): the secret
//!    lives in a file the operator provisions and grants, never in a request.
//! 2. Builds one UPDATE: zone section `<zone> SOA IN`, no prerequisites, and either
//!    `_acme-challenge.<fqdn> <ttl> IN TXT "<value>"` (add) or the same record with class `NONE`
//!    (remove exactly that value). Signs it with a random message ID (`random_fill`) and the
//!    current time (`clock_now`).
//! 3. Sends it over TCP to `server_host:server_port` (`net.dial`), with the 2-byte length
//!    prefix of RFC 1035 §4.2.2, and reads one response.
//! 4. Succeeds only on `NOERROR` with a TSIG that verifies against the request's MAC and the
//!    plugin's clock; a wrong key (`NOTAUTH` with `BADKEY`/`BADSIG`/`BADTIME`) is an
//!    `Unauthorized` failure, `REFUSED` (and `NOTAUTH` for a zone the server does not serve) a
//!    `Rejected` failure (see [`outcome`]).
//!
//! Input: postcard `UpdateTxtRequest`; output: postcard
//! `Result<UpdateTxtResponse, PluginFailure>`. Manifest: ABI 2, kind `dns`, protocol
//! `update-txt`, requests `fs.read=/secrets/tsig` and `net.dial=dns-primary.local:53`; grant the
//! one key file and the real server.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod keyfile;
mod outcome;
mod plan;
mod tsig;
mod wire;

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use pluginhost_sdk::net::TcpStream;
use pluginhost_sdk::proto::dns::{TxtChange, UpdateTxtRequest, UpdateTxtResponse};
use pluginhost_sdk::proto::{FailureCode, PluginFailure};
use pluginhost_sdk::{fs, random, time, Error};

pluginhost_sdk::manifest! {
    abi: 2,
    name: "dns-rfc2136",
    version: env!("CARGO_PKG_VERSION"),
    kind: dns,
    protocol: update-txt,
    grants: ["fs.read" => "/secrets/tsig", "net.dial" => "dns-primary.local:53"],
}

pluginhost_sdk::entry!(handler);

fn handler() -> Result<(), Error> {
    pluginhost_sdk::serve(update)
}

/// One update, phase by phase.
///
/// Each phase here and in the modules (`plan`, `read_key`, `keyfile::parse`, `deliver`,
/// `update_message`, `tsig::sign`, `exchange`, `parse_response`, `tsig::verify`, `judge`) is
/// `#[inline(never)]`, and this function only calls the first three. The host translates a
/// function when it is first called and keeps it while it is on the call stack (with
/// `Limits::EMBEDDED`, at most 4 KiB of other code besides): inlined into one function, they
/// were 12.2 KB of wasm held for the whole update, some 19 KB translated, and set the plugin's
/// RAM peak on a microcontroller (docs/footprint.md).
#[inline(never)]
fn update(request: UpdateTxtRequest) -> Result<UpdateTxtResponse, PluginFailure> {
    let plan = plan::plan(&request)?;
    let key = read_key(&plan.key_file)?;
    deliver(plan, &key)
}

/// Signs the update, sends it, and judges the response.
#[inline(never)]
fn deliver(plan: plan::Plan, key: &keyfile::TsigKey) -> Result<UpdateTxtResponse, PluginFailure> {
    let mut id = [0u8; 2];
    random::fill(&mut id).map_err(|e| host_failure("drawing a message ID", e))?;
    let id = u16::from_be_bytes(id);
    let mut message = wire::update_message(
        id,
        &plan.zone,
        &plan.owner,
        plan.change,
        plan.ttl,
        plan.value.as_bytes(),
    );
    let request_mac = tsig::sign(&mut message, key, now()?);
    let server = format!("{}:{}", plan.server_host, plan.server_port);
    let response = exchange(&plan.server_host, plan.server_port, &message, &server)?;
    outcome::judge(
        &response,
        id,
        &request_mac,
        key,
        now()?,
        &server,
        &plan.zone,
    )?;
    let done = match plan.change {
        TxtChange::Add => "added",
        TxtChange::Remove => "removed",
    };
    pluginhost_sdk::info!("{done} {} at {server}", plan.record_line);
    Ok(UpdateTxtResponse {
        record_line: plan.record_line,
    })
}

/// Reads and parses the key file.
#[inline(never)]
fn read_key(path: &str) -> Result<keyfile::TsigKey, PluginFailure> {
    let text = match fs::read_to_string(path, keyfile::MAX_KEY_FILE_BYTES) {
        Ok(text) => text,
        Err(Error::Decode) => {
            return Err(PluginFailure::bad_request(format!(
                "TSIG key file {path} is not UTF-8"
            )))
        }
        Err(Error::Limit) => {
            return Err(PluginFailure::limit(format!(
                "TSIG key file {path} is larger than 4 KiB"
            )))
        }
        Err(e) => return Err(host_failure(&format!("reading TSIG key file {path}"), e)),
    };
    keyfile::parse(&text)
        .map_err(|e| PluginFailure::bad_request(format!("TSIG key file {path} {}", e.message())))
}

/// Seconds since the Unix epoch, from the host's clock.
fn now() -> Result<u64, PluginFailure> {
    let seconds = time::unix_seconds().map_err(|e| host_failure("reading the clock", e))?;
    u64::try_from(seconds)
        .map_err(|_| PluginFailure::new(FailureCode::Io, "the host's clock is before 1970"))
}

/// Sends `message` with its length prefix and reads the one response.
#[inline(never)]
fn exchange(host: &str, port: u16, message: &[u8], server: &str) -> Result<Vec<u8>, PluginFailure> {
    let len = u16::try_from(message.len())
        .map_err(|_| PluginFailure::limit("the UPDATE is longer than 65535 bytes"))?;
    let mut stream =
        TcpStream::dial(host, port).map_err(|e| host_failure(&format!("dialling {server}"), e))?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    stream
        .write_all(&framed)
        .map_err(|e| host_failure(&format!("sending to {server}"), e))?;
    let mut prefix = [0u8; 2];
    read_exact(&mut stream, &mut prefix, server)?;
    let len = usize::from(u16::from_be_bytes(prefix));
    if len < wire::HEADER_BYTES {
        return Err(PluginFailure::protocol(format!(
            "{server}: a response of {len} bytes is shorter than a DNS header"
        )));
    }
    let mut response = vec![0u8; len];
    read_exact(&mut stream, &mut response, server)?;
    // The response is complete; an error while closing changes nothing.
    let _ = stream.close();
    Ok(response)
}

fn read_exact(stream: &mut TcpStream, buf: &mut [u8], server: &str) -> Result<(), PluginFailure> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        let n = stream
            .recv(rest)
            .map_err(|e| host_failure(&format!("receiving from {server}"), e))?;
        if n == 0 {
            return Err(PluginFailure::protocol(format!(
                "{server} closed the connection before a whole response arrived"
            )));
        }
        filled += n;
    }
    Ok(())
}

fn host_failure(doing: &str, error: Error) -> PluginFailure {
    PluginFailure::new(error.failure_code(), format!("{doing}: {error}"))
}

#[cfg(test)]
mod tests {
    use pluginhost_sdk::proto::{Manifest, PluginKind};

    #[test]
    fn manifest() {
        let m = Manifest::parse(super::MANIFEST_TEXT).expect("valid manifest");
        assert_eq!(m.kind, PluginKind::DnsProvider);
        assert_eq!(m.abi, 2);
        assert_eq!(m.protocol, Some(pluginhost_sdk::proto::Protocol::UpdateTxt));
        assert_eq!(
            m.scopes("net.dial").collect::<Vec<_>>(),
            ["dns-primary.local:53"]
        );
        assert_eq!(m.scopes("fs.read").collect::<Vec<_>>(), ["/secrets/tsig"]);
        assert_eq!(m.requests.len(), 2);
    }
}
