//! `dns-zonefile`: publishes an ACME `dns-01` challenge record in a zone file.
//!
//! Reads `/zones/<zone>.zone` (a missing file counts as empty), removes every TXT record owned
//! by `_acme-challenge.<fqdn>.`, appends `_acme-challenge.<fqdn>. <ttl> IN TXT "<value>"`, and
//! writes the file back atomically (`<file>.tmp`, then `fs_rename`).
//!
//! Input: postcard `PublishTxtRequest`; output: postcard
//! `Result<PublishTxtResponse, PluginFailure>`. Manifest: ABI 2, kind `dns`, protocol
//! `publish-txt`, requests `fs.read=/zones` and `fs.write=/zones`.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod zone;

use alloc::string::String;

use pluginhost_sdk::proto::dns::{PublishTxtRequest, PublishTxtResponse};
use pluginhost_sdk::proto::PluginFailure;
use pluginhost_sdk::{fs, strcat, Error};

pluginhost_sdk::manifest! {
    abi: 2,
    name: "dns-zonefile",
    version: env!("CARGO_PKG_VERSION"),
    kind: dns,
    protocol: publish-txt,
    grants: ["fs.read" => "/zones", "fs.write" => "/zones"],
}

pluginhost_sdk::entry!(handler);

fn handler() -> Result<(), Error> {
    pluginhost_sdk::serve(publish)
}

fn publish(request: PublishTxtRequest) -> Result<PublishTxtResponse, PluginFailure> {
    let plan = zone::plan(&request)?;
    let current = match fs::read_to_string(&plan.zone_path, zone::MAX_ZONE_BYTES) {
        Ok(text) => text,
        Err(Error::NotFound) => String::new(),
        Err(Error::Decode) => {
            return Err(PluginFailure::bad_request(strcat!(
                plan.zone_path,
                " is not UTF-8"
            )))
        }
        Err(error) => return Err(failure("reading", &plan.zone_path, error)),
    };
    let updated = zone::upsert(&current, &plan.origin, &plan.owner, &plan.record_line).map_err(
        |e| match e {
            zone::ZoneError::TooLarge => PluginFailure::limit(e.message()),
            _ => PluginFailure::bad_request(strcat!(plan.zone_path, ": ", e.message())),
        },
    )?;
    fs::write_atomic(&plan.zone_path, updated.as_bytes())
        .map_err(|error| failure("writing", &plan.zone_path, error))?;
    pluginhost_sdk::log::info(&strcat!("published ", plan.owner, " in ", plan.zone_path));
    Ok(PublishTxtResponse {
        record_line: plan.record_line,
    })
}

#[cold]
#[inline(never)]
fn failure(doing: &str, path: &str, error: Error) -> PluginFailure {
    PluginFailure::new(error.failure_code(), strcat!(doing, " ", path, ": ", error))
}

#[cfg(test)]
mod tests {
    use pluginhost_sdk::proto::{Manifest, PluginKind};

    #[test]
    fn manifest() {
        let m = Manifest::parse(super::MANIFEST_TEXT).expect("valid manifest");
        assert_eq!(m.kind, PluginKind::DnsProvider);
        assert_eq!(m.abi, 2);
        assert_eq!(
            m.protocol,
            Some(pluginhost_sdk::proto::Protocol::PublishTxt)
        );
        assert_eq!(m.scopes("fs.read").collect::<Vec<_>>(), ["/zones"]);
        assert_eq!(m.scopes("fs.write").collect::<Vec<_>>(), ["/zones"]);
        assert_eq!(m.requests.len(), 2);
    }
}
