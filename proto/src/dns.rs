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
// Names are not on the postcard wire; a self-describing format (JSON on the command line)
// refuses a field the message does not have.
#[serde(deny_unknown_fields)]
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

/// The longest TXT value (one character-string) a DNS plugin accepts, in bytes.
pub const MAX_TXT_VALUE_BYTES: usize = 255;

/// A DNS name lower-cased and without its trailing dot: 1..=253 bytes, labels of 1..=63
/// `a-z 0-9 -` (and `_` where `allow_underscore`), none starting or ending with `-`.
///
/// # Errors
/// A short reason, to be prefixed with the field's name.
pub fn normalize_dns_name(name: &str, allow_underscore: bool) -> Result<String, &'static str> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return Err("must be a DNS name of 1 to 253 bytes");
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("has an empty or over-long label");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("has a label starting or ending with '-'");
        }
        let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || (allow_underscore && b == b'_');
        if !label.bytes().all(ok) {
            return Err("may only contain letters, digits, '-' (and '_' in fqdn)");
        }
    }
    Ok(name.to_ascii_lowercase())
}

/// Checks a TXT value: 1..=[`MAX_TXT_VALUE_BYTES`] bytes of printable ASCII (space included)
/// without `"` or `\`, so it can be written in a zone file or a DNS message as it is.
///
/// # Errors
/// A short reason naming the value.
pub fn check_txt_value(value: &str) -> Result<(), &'static str> {
    if value.is_empty() || value.len() > MAX_TXT_VALUE_BYTES {
        return Err("value must be 1 to 255 bytes");
    }
    if !value
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        return Err("value may only contain printable ASCII without '\"' or '\\'");
    }
    Ok(())
}
