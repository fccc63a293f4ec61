//! DNS provider plugins: publish ACME `dns-01` challenge records.

use alloc::string::String;

use serde::{Deserialize, Serialize};

/// Publish the TXT record `_acme-challenge.<fqdn>. <ttl> IN TXT "<value>"` in `zone`. Answered
/// with `Response<PublishTxtResponse>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
// Names are not on the postcard wire; a self-describing format (JSON on the command line)
// refuses a field the message does not have.
#[serde(deny_unknown_fields)]
pub struct PublishTxtRequest {
    /// The zone that holds the record, e.g. `example.com` (a trailing dot is allowed).
    pub zone: String,
    /// The name being validated, e.g. `www.example.com` or `*.example.com`; it must lie in
    /// `zone`. The record goes to `_acme-challenge.<fqdn>` (a leading `*.` is dropped, and a name
    /// that already starts with `_acme-challenge.` is used as it is).
    pub fqdn: String,
    /// The TXT value (for ACME: the base64url key authorization digest). Printable ASCII without
    /// `"` or `\`, at most 255 bytes.
    pub value: String,
    /// The record's TTL in seconds, at most 2^31 - 1.
    pub ttl: u32,
}

/// What was published.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublishTxtResponse {
    /// The record exactly as it now stands in the zone, e.g.
    /// `_acme-challenge.www.example.com. 60 IN TXT "abc"`.
    pub record_line: String,
}
