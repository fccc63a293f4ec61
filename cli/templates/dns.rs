//! {{name}}: a pluginhost DNS provider. It answers a `dns::PublishTxtRequest` by appending the
//! ACME challenge record to the zone file `/zones/<zone>.zone` (atomically: a `.tmp` file, then
//! a rename) and answers with a `dns::PublishTxtResponse`.

// No std on wasm32: the SDK brings an allocator and a panic handler (which traps). On the host
// target the crate builds with std, so `cargo test` tests the logic.
#![cfg_attr(target_arch = "wasm32", no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use pluginhost_sdk::proto::dns::{PublishTxtRequest, PublishTxtResponse};
use pluginhost_sdk::proto::PluginFailure;
use pluginhost_sdk::Error;

// Who the plugin is and what it asks for; checked at compile time. The operator's grants decide.
pluginhost_sdk::manifest! {
    abi: 2, // ABI 2: the `protocol` key
    name: "{{name}}",
    version: env!("CARGO_PKG_VERSION"),
    kind: dns,
    protocol: publish-txt, // the message pair `pluginhost run --request` encodes for
    grants: ["fs.read" => "/zones", "fs.write" => "/zones"],
}

// Exports `run: () -> i32`.
pluginhost_sdk::entry!(handler);

/// The largest zone file read.
const MAX_ZONE_BYTES: usize = 64 * 1024;

fn handler() -> Result<(), Error> {
    // Decodes the request, calls `publish`, writes the response. An input that is not a request
    // (the conformance gate's empty one) is answered with a `bad-request` failure.
    pluginhost_sdk::serve(publish)
}

fn publish(request: PublishTxtRequest) -> Result<PublishTxtResponse, PluginFailure> {
    let record_line = record(&request)?;
    let path = format!("/zones/{}.zone", request.zone.trim_end_matches('.'));
    let fail = |e: Error| PluginFailure::new(e.failure_code(), format!("{path}: {e}"));
    let mut zone = match pluginhost_sdk::fs::read_to_string(&path, MAX_ZONE_BYTES) {
        Ok(text) => text,
        Err(Error::NotFound) => String::new(),
        Err(e) => return Err(fail(e)),
    };
    if !zone.is_empty() && !zone.ends_with('\n') {
        zone.push('\n');
    }
    zone.push_str(&record_line);
    zone.push('\n');
    pluginhost_sdk::fs::write_atomic(&path, zone.as_bytes()).map_err(fail)?;
    pluginhost_sdk::info!("published {record_line} in {path}");
    Ok(PublishTxtResponse { record_line })
}

/// The record line to publish, if the request is one this provider accepts. Pure: tested on
/// the host.
pub fn record(request: &PublishTxtRequest) -> Result<String, PluginFailure> {
    let zone = request.zone.trim_end_matches('.');
    let fqdn = request.fqdn.trim_end_matches('.');
    let fqdn = fqdn.strip_prefix("*.").unwrap_or(fqdn);
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    };
    if !plain(zone) || !plain(fqdn) {
        return Err(PluginFailure::bad_request("zone and fqdn must be DNS names"));
    }
    if fqdn != zone && !fqdn.ends_with(&format!(".{zone}")) {
        return Err(PluginFailure::bad_request("fqdn is not in zone"));
    }
    let value_ok = (1..=255).contains(&request.value.len())
        && request
            .value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if !value_ok || request.ttl > i32::MAX as u32 {
        return Err(PluginFailure::bad_request("value or ttl out of range"));
    }
    let owner = if fqdn.starts_with("_acme-challenge.") {
        String::from(fqdn)
    } else {
        format!("_acme-challenge.{fqdn}")
    };
    Ok(format!("{owner}. {} IN TXT \"{}\"", request.ttl, request.value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_record() {
        let request = PublishTxtRequest {
            zone: "example.com".into(),
            fqdn: "*.www.example.com".into(),
            value: "token".into(),
            ttl: 60,
        };
        assert_eq!(
            record(&request).unwrap(),
            "_acme-challenge.www.example.com. 60 IN TXT \"token\""
        );
        let outside = PublishTxtRequest { fqdn: "example.org".into(), ..request };
        assert!(record(&outside).is_err());
        assert!(MANIFEST_TEXT.contains("grant=fs.write=/zones"));
        assert!(MANIFEST_TEXT.contains("\nprotocol=publish-txt\n"));
    }
}
