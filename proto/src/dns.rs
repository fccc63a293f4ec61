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

/// Add or remove the TXT record `_acme-challenge.<fqdn>. <ttl> IN TXT "<value>"` on an
/// authoritative server by DNS dynamic update (RFC 2136) over TCP, signed with a TSIG key
/// (RFC 8945). Answered with `Response<UpdateTxtResponse>`. Appended in ABI v2.
///
/// The TSIG secret is not part of the request: the plugin reads it from `tsig_key_file` under
/// the operator's `fs.read` grant, so requests can be logged and the agent never handles it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UpdateTxtRequest {
    /// Whether to add the record or remove it.
    pub change: TxtChange,
    /// The zone that holds the record, e.g. `example.com` (a trailing dot is allowed); the
    /// update's zone section.
    pub zone: String,
    /// The name being validated, with the rules of [`PublishTxtRequest::fqdn`].
    pub fqdn: String,
    /// The TXT value, with the rules of [`PublishTxtRequest::value`].
    pub value: String,
    /// The record's TTL in seconds, at most 2^31 - 1 (ignored by [`TxtChange::Remove`]).
    pub ttl: u32,
    /// The primary server's host: a DNS name or an IP literal, without a port and without
    /// brackets. The plugin dials it with `net.dial`, so the operator's grant decides.
    pub server_host: String,
    /// The primary server's TCP port, usually 53.
    pub server_port: u16,
    /// The absolute guest path of the TSIG key file: one `[hmac-sha256:]<name>:<base64 secret>`
    /// line (the `-y` form of `kdig`, `knsupdate` and `nsupdate`) or a BIND `key "<name>" { ... };`
    /// clause (as `tsig-keygen` writes it). Only `hmac-sha256` keys are used.
    pub tsig_key_file: String,
}

/// What an [`UpdateTxtRequest`] does to the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxtChange {
    /// Add this value to the name's TXT records; other values stay (a name can carry several
    /// challenges at once, e.g. for `example.com` and `*.example.com`). Adding a record that is
    /// already there changes nothing.
    Add,
    /// Remove exactly this value from the name's TXT records; other values stay. Removing a
    /// record that is not there changes nothing.
    Remove,
}

/// What the server accepted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UpdateTxtResponse {
    /// The record added or removed, e.g. `_acme-challenge.www.example.com. 60 IN TXT "abc"`.
    pub record_line: String,
}
