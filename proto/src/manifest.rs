//! The plugin manifest: who the plugin is and which capabilities it asks for.
//!
//! A manifest only *requests*. What a plugin may do is decided by the grants the operator gives
//! it; a host must never grant something because the manifest asked for it.
//!
//! # Text encoding
//! UTF-8 lines, each `key=value` and each ended by `\n` (the last `\n` may be left out):
//!
//! ```text
//! abi=2
//! name=connector-file-deploy
//! version=0.1.0
//! kind=connector
//! protocol=deploy
//! grant=fs.write=/certs
//! ```
//!
//! * `abi`, `name`, `version` and `kind` appear exactly once each, in any order; `protocol` at
//!   most once; `grant` zero to [`MAX_GRANTS`] times. No other keys, no empty lines, no comments,
//!   no spaces around `=`, no control characters (so no `\r` or tab).
//! * `abi`: the guest ABI version the plugin needs, decimal without leading zeros, from
//!   [`MIN_ABI_VERSION`] to [`ABI_VERSION`] ([`ManifestError::UnsupportedAbi`] otherwise,
//!   reported before any other error, so a host can say "needs ABI 3" rather than "unknown key").
//!   Versions only add host functions: a plugin built for ABI 1 runs on every later host.
//! * `name`: 1 to [`MAX_NAME_BYTES`] of `a-z 0-9 . _ -`, starting with a letter or digit.
//! * `version`: 1 to [`MAX_VERSION_BYTES`] of `A-Z a-z 0-9 . _ - +`.
//! * `kind`: `ca`, `connector`, `dns` or `other`.
//! * `protocol` (optional, `abi=2` or later): the message pair the plugin answers, one of
//!   `issue` or `acme` (kind `ca`), `deploy` or `reload` (kind `connector`), `publish-txt` or
//!   `update-txt` (kind `dns`); see [`Protocol`]. A manifest of `abi=1` with a `protocol` line is
//!   refused ([`ManifestError::NeedsNewerAbi`]: hosts of ABI 1 refuse keys they do not know, so
//!   the plugin must say it needs ABI 2), and so is a protocol of another kind
//!   ([`ManifestError::ProtocolKindMismatch`]). Without it, a host can only guess the protocol
//!   from the kind.
//! * `grant=<capability>=<scope>`: capability `fs.read`, `fs.write` or `process.exec` with an
//!   absolute path scope (no empty, `.` or `..` components, no trailing `/` except `/` itself), or
//!   `net.dial` with a `host:port` scope (host a DNS name or IPv4 literal of `A-Z a-z 0-9 . - _`,
//!   or a bracketed IPv6 literal; port 1..=65535 in decimal). Scopes are at most
//!   [`MAX_SCOPE_BYTES`] long and may not repeat for the same capability.
//! * The whole text is at most [`MAX_MANIFEST_BYTES`].
//!
//! The checks are `const fn` ([`validate`]), so a plugin can prove its manifest well-formed at
//! compile time; [`Manifest::parse`] runs the same checks.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::protocol::Protocol;

/// The guest ABI version this crate describes: the newest a manifest may declare.
///
/// v2 added the ungated host functions `random_fill` and `clock_now`, and the
/// [`FailureCode`](crate::FailureCode)s after `Internal`.
pub const ABI_VERSION: u32 = 2;

/// The oldest guest ABI version a manifest may declare.
pub const MIN_ABI_VERSION: u32 = 1;

/// The name of the WebAssembly custom section that holds the manifest text.
pub const MANIFEST_SECTION: &str = "pluginhost.manifest";

/// The longest manifest text accepted, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 4096;

/// The most `grant` lines a manifest may have.
pub const MAX_GRANTS: usize = 64;

/// The longest plugin name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

/// The longest version string, in bytes.
pub const MAX_VERSION_BYTES: usize = 64;

/// The longest grant scope, in bytes.
pub const MAX_SCOPE_BYTES: usize = 1024;

/// The capability names a manifest may request.
pub const CAPABILITY_NAMES: [&str; 4] = ["fs.read", "fs.write", "net.dial", "process.exec"];

/// What a plugin is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PluginKind {
    /// A certificate authority integration (`kind=ca`).
    Ca,
    /// A deployment connector (`kind=connector`).
    Connector,
    /// A DNS provider for `dns-01` challenges (`kind=dns`).
    DnsProvider,
    /// Anything else (`kind=other`).
    Other,
}

impl PluginKind {
    /// The manifest spelling: `ca`, `connector`, `dns`, `other`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PluginKind::Ca => "ca",
            PluginKind::Connector => "connector",
            PluginKind::DnsProvider => "dns",
            PluginKind::Other => "other",
        }
    }

    const fn from_bytes(b: &[u8], start: usize, end: usize) -> Option<PluginKind> {
        if eq_at(b, start, end, b"ca") {
            Some(PluginKind::Ca)
        } else if eq_at(b, start, end, b"connector") {
            Some(PluginKind::Connector)
        } else if eq_at(b, start, end, b"dns") {
            Some(PluginKind::DnsProvider)
        } else if eq_at(b, start, end, b"other") {
            Some(PluginKind::Other)
        } else {
            None
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PluginKind {
    type Err = ManifestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PluginKind::from_bytes(s.as_bytes(), 0, s.len()).ok_or(ManifestError::BadKind { line: 0 })
    }
}

/// One capability a plugin asks to be granted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ManifestGrant {
    /// `fs.read`, `fs.write`, `net.dial` or `process.exec`.
    pub capability: String,
    /// A path prefix (`/certs`) or, for `net.dial`, a `host:port` entry (`ca.local:8443`).
    pub scope: String,
}

/// A plugin's manifest. See the [module docs](self) for the text encoding.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Manifest {
    /// The guest ABI version the plugin was built for.
    pub abi: u32,
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// What the plugin is for.
    pub kind: PluginKind,
    /// The capabilities it asks for, in manifest order.
    pub requests: Vec<ManifestGrant>,
    /// The message pair it declares it answers (`protocol=`, ABI 2), or `None`.
    ///
    /// Last, so the postcard form of the fields before it is unchanged; a self-describing
    /// format without it decodes as `None`.
    #[serde(default)]
    pub protocol: Option<Protocol>,
}

/// Why a manifest text was refused. Line numbers start at 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManifestError {
    /// The text is longer than [`MAX_MANIFEST_BYTES`].
    TooLarge,
    /// There are more than [`MAX_GRANTS`] `grant` lines.
    TooManyGrants,
    /// The `abi` is well-formed but outside [`MIN_ABI_VERSION`]`..=`[`ABI_VERSION`]: the plugin
    /// needs a newer host (or names no real version).
    UnsupportedAbi {
        /// The version the manifest names.
        abi: u32,
    },
    /// A required key (`abi`, `name`, `version`, `kind`) is missing.
    MissingKey {
        /// The missing key.
        key: &'static str,
    },
    /// An empty line, a control character, or a line without `=`.
    Malformed {
        /// The line.
        line: u32,
    },
    /// A key other than `abi`, `name`, `version`, `kind`, `protocol`, `grant`.
    UnknownKey {
        /// The line.
        line: u32,
    },
    /// `abi`, `name`, `version`, `kind` or `protocol` appears a second time.
    DuplicateKey {
        /// The line of the second appearance.
        line: u32,
    },
    /// `abi` is not a decimal `u32` without leading zeros.
    BadAbi {
        /// The line.
        line: u32,
    },
    /// `name` is empty, too long, or has characters outside `a-z 0-9 . _ -`.
    BadName {
        /// The line.
        line: u32,
    },
    /// `version` is empty, too long, or has characters outside `A-Z a-z 0-9 . _ - +`.
    BadVersion {
        /// The line.
        line: u32,
    },
    /// `kind` is not `ca`, `connector`, `dns` or `other`.
    BadKind {
        /// The line (0 when parsing a kind on its own).
        line: u32,
    },
    /// `protocol` is not `issue`, `acme`, `deploy`, `reload`, `publish-txt` or `update-txt`.
    BadProtocol {
        /// The line (0 when parsing a protocol on its own).
        line: u32,
    },
    /// A key the manifest's `abi` does not have: hosts of that ABI refuse it as unknown, so the
    /// manifest must declare `abi` `since` or later.
    NeedsNewerAbi {
        /// The line of the key.
        line: u32,
        /// The key.
        key: &'static str,
        /// The oldest `abi` that has the key.
        since: u32,
    },
    /// `protocol` names a message pair of another kind than the manifest's `kind` (e.g.
    /// `reload` with `kind=dns`).
    ProtocolKindMismatch {
        /// The line of `protocol`.
        line: u32,
        /// The declared protocol.
        protocol: Protocol,
        /// The declared kind.
        kind: PluginKind,
    },
    /// A grant names a capability other than `fs.read`, `fs.write`, `net.dial`, `process.exec`,
    /// or has no `=` between capability and scope.
    UnknownCapability {
        /// The line.
        line: u32,
    },
    /// A grant's scope is not a valid path prefix (or `host:port` for `net.dial`).
    BadScope {
        /// The line.
        line: u32,
    },
    /// The same capability and scope are requested twice.
    DuplicateGrant {
        /// The line of the second request.
        line: u32,
    },
}

impl ManifestError {
    /// The message without the line number; usable in `const` contexts.
    pub const fn as_str(&self) -> &'static str {
        match self {
            ManifestError::TooLarge => "manifest is larger than 4096 bytes",
            ManifestError::TooManyGrants => "manifest has more than 64 grant lines",
            ManifestError::UnsupportedAbi { .. } => "manifest names an unsupported abi version",
            ManifestError::MissingKey { .. } => {
                "manifest lacks a required key (abi, name, version, kind)"
            }
            ManifestError::Malformed { .. } => {
                "manifest line is empty, has a control character, or has no `=`"
            }
            ManifestError::UnknownKey { .. } => "manifest line has an unknown key",
            ManifestError::DuplicateKey { .. } => "manifest key appears twice",
            ManifestError::BadAbi { .. } => "manifest abi is not a decimal u32",
            ManifestError::BadName { .. } => {
                "manifest name is empty, too long or has bad characters"
            }
            ManifestError::BadVersion { .. } => {
                "manifest version is empty, too long or has bad characters"
            }
            ManifestError::BadKind { .. } => {
                "manifest kind is not one of ca, connector, dns, other"
            }
            ManifestError::BadProtocol { .. } => {
                "manifest protocol is not one of issue, acme, deploy, reload, publish-txt, \
                 update-txt"
            }
            ManifestError::NeedsNewerAbi { .. } => {
                "manifest key needs a newer abi than the manifest declares"
            }
            ManifestError::ProtocolKindMismatch { .. } => {
                "manifest protocol belongs to another kind"
            }
            ManifestError::UnknownCapability { .. } => "manifest grant names an unknown capability",
            ManifestError::BadScope { .. } => "manifest grant scope is malformed",
            ManifestError::DuplicateGrant { .. } => "manifest grant is requested twice",
        }
    }

    /// The line the error is on, if it is about one line.
    pub const fn line(&self) -> Option<u32> {
        match *self {
            ManifestError::Malformed { line }
            | ManifestError::UnknownKey { line }
            | ManifestError::DuplicateKey { line }
            | ManifestError::BadAbi { line }
            | ManifestError::BadName { line }
            | ManifestError::BadVersion { line }
            | ManifestError::BadKind { line }
            | ManifestError::BadProtocol { line }
            | ManifestError::NeedsNewerAbi { line, .. }
            | ManifestError::ProtocolKindMismatch { line, .. }
            | ManifestError::UnknownCapability { line }
            | ManifestError::BadScope { line }
            | ManifestError::DuplicateGrant { line } => Some(line),
            ManifestError::TooLarge
            | ManifestError::TooManyGrants
            | ManifestError::UnsupportedAbi { .. }
            | ManifestError::MissingKey { .. } => None,
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        match *self {
            ManifestError::UnsupportedAbi { abi } => {
                write!(
                    f,
                    " ({abi}; this host supports {MIN_ABI_VERSION} to {ABI_VERSION})"
                )
            }
            ManifestError::MissingKey { key } => write!(f, " (`{key}`)"),
            ManifestError::NeedsNewerAbi { line, key, since } => {
                write!(f, " (`{key}` needs abi={since} or later; line {line})")
            }
            ManifestError::ProtocolKindMismatch {
                line,
                protocol,
                kind,
            } => write!(
                f,
                " (`{protocol}` needs kind={}, not kind={kind}; line {line})",
                protocol.kind()
            ),
            _ => match self.line() {
                Some(line) if line > 0 => write!(f, " (line {line})"),
                _ => Ok(()),
            },
        }
    }
}

impl core::error::Error for ManifestError {}

impl Manifest {
    /// Parses and checks a manifest text. See the [module docs](self) for the rules.
    ///
    /// # Errors
    /// The first problem found, as a [`ManifestError`].
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        validate(text)?;
        let mut manifest = Manifest {
            abi: ABI_VERSION,
            name: String::new(),
            version: String::new(),
            kind: PluginKind::Other,
            requests: Vec::new(),
            protocol: None,
        };
        // `validate` has checked every line, so the branches below only pick the values out.
        for line in text.split_terminator('\n') {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key {
                "abi" => manifest.abi = parse_u32(value.as_bytes(), 0, value.len()).unwrap_or(0),
                "name" => manifest.name = String::from(value),
                "version" => manifest.version = String::from(value),
                "kind" => {
                    if let Ok(kind) = value.parse() {
                        manifest.kind = kind;
                    }
                }
                "protocol" => manifest.protocol = value.parse().ok(),
                "grant" => {
                    if let Some((capability, scope)) = value.split_once('=') {
                        manifest.requests.push(ManifestGrant {
                            capability: String::from(capability),
                            scope: String::from(scope),
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(manifest)
    }

    /// The text encoding: `abi`, `name`, `version`, `kind`, `protocol` (when declared), then one
    /// `grant` line per request, each line ended by `\n`. For a manifest that [`Manifest::parse`] returned,
    /// `Manifest::parse(&m.to_text()) == Ok(m)`; a manifest built by hand with bad fields gives a
    /// text that `parse` refuses.
    pub fn to_text(&self) -> String {
        use core::fmt::Write as _;
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "abi={}\nname={}\nversion={}\nkind={}\n",
            self.abi,
            self.name,
            self.version,
            self.kind.as_str()
        );
        if let Some(protocol) = self.protocol {
            let _ = writeln!(text, "protocol={protocol}");
        }
        for grant in &self.requests {
            let _ = writeln!(text, "grant={}={}", grant.capability, grant.scope);
        }
        text
    }

    /// The scopes requested for `capability`, in manifest order.
    pub fn scopes<'a>(&'a self, capability: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.requests
            .iter()
            .filter(move |g| g.capability == capability)
            .map(|g| g.scope.as_str())
    }
}

impl FromStr for Manifest {
    type Err = ManifestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Manifest::parse(s)
    }
}

/// Checks a manifest text without building a [`Manifest`]; usable in `const` contexts.
///
/// # Errors
/// The first problem found (an unsupported `abi` is reported before anything else).
pub const fn validate(text: &str) -> Result<(), ManifestError> {
    let b = text.as_bytes();
    if b.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError::TooLarge);
    }

    // Pass 1: a well-formed `abi` line naming another version wins over every other error, so a
    // host can say "built for ABI 2" rather than "unknown key".
    let mut pos = 0;
    while pos < b.len() {
        let end = line_end(b, pos);
        if starts_with_at(b, pos, end, b"abi=") {
            if let Some(abi) = parse_u32(b, pos + 4, end) {
                if abi < MIN_ABI_VERSION || abi > ABI_VERSION {
                    return Err(ManifestError::UnsupportedAbi { abi });
                }
            }
        }
        pos = end + 1;
    }

    // Pass 2: every line.
    let (mut abi, mut name, mut version) = (false, false, false);
    // The values the checks after the loop need: `abi` and `kind` may follow `protocol`.
    let mut abi_value: u32 = 0;
    let mut kind: Option<PluginKind> = None;
    let mut protocol: Option<(Protocol, u32)> = None;
    let mut grants = 0usize;
    let mut line: u32 = 0;
    let mut pos = 0;
    while pos < b.len() {
        line += 1;
        let end = line_end(b, pos);
        if end == pos {
            return Err(ManifestError::Malformed { line });
        }
        let mut i = pos;
        while i < end {
            if b[i] < 0x20 || b[i] == 0x7f {
                return Err(ManifestError::Malformed { line });
            }
            i += 1;
        }
        let eq = find_byte(b, pos, end, b'=');
        if eq == end {
            return Err(ManifestError::Malformed { line });
        }
        let (vs, ve) = (eq + 1, end);
        if eq_at(b, pos, eq, b"abi") {
            if abi {
                return Err(ManifestError::DuplicateKey { line });
            }
            abi = true;
            match parse_u32(b, vs, ve) {
                Some(value) => abi_value = value,
                None => return Err(ManifestError::BadAbi { line }),
            }
        } else if eq_at(b, pos, eq, b"name") {
            if name {
                return Err(ManifestError::DuplicateKey { line });
            }
            name = true;
            if !valid_name(b, vs, ve) {
                return Err(ManifestError::BadName { line });
            }
        } else if eq_at(b, pos, eq, b"version") {
            if version {
                return Err(ManifestError::DuplicateKey { line });
            }
            version = true;
            if !valid_version(b, vs, ve) {
                return Err(ManifestError::BadVersion { line });
            }
        } else if eq_at(b, pos, eq, b"kind") {
            if kind.is_some() {
                return Err(ManifestError::DuplicateKey { line });
            }
            kind = PluginKind::from_bytes(b, vs, ve);
            if kind.is_none() {
                return Err(ManifestError::BadKind { line });
            }
        } else if eq_at(b, pos, eq, b"protocol") {
            if protocol.is_some() {
                return Err(ManifestError::DuplicateKey { line });
            }
            match Protocol::from_bytes(b, vs, ve) {
                Some(p) => protocol = Some((p, line)),
                None => return Err(ManifestError::BadProtocol { line }),
            }
        } else if eq_at(b, pos, eq, b"grant") {
            grants += 1;
            if grants > MAX_GRANTS {
                return Err(ManifestError::TooManyGrants);
            }
            let ceq = find_byte(b, vs, ve, b'=');
            if ceq == ve {
                return Err(ManifestError::UnknownCapability { line });
            }
            let (ss, se) = (ceq + 1, ve);
            let scope_ok = if eq_at(b, vs, ceq, b"net.dial") {
                valid_dial_scope(b, ss, se)
            } else if eq_at(b, vs, ceq, b"fs.read")
                || eq_at(b, vs, ceq, b"fs.write")
                || eq_at(b, vs, ceq, b"process.exec")
            {
                valid_path_scope(b, ss, se)
            } else {
                return Err(ManifestError::UnknownCapability { line });
            };
            if !scope_ok {
                return Err(ManifestError::BadScope { line });
            }
            if grant_seen_before(b, pos, vs, ve) {
                return Err(ManifestError::DuplicateGrant { line });
            }
        } else {
            return Err(ManifestError::UnknownKey { line });
        }
        pos = end + 1;
    }
    if !abi {
        return Err(ManifestError::MissingKey { key: "abi" });
    }
    if !name {
        return Err(ManifestError::MissingKey { key: "name" });
    }
    if !version {
        return Err(ManifestError::MissingKey { key: "version" });
    }
    let Some(kind) = kind else {
        return Err(ManifestError::MissingKey { key: "kind" });
    };
    if let Some((protocol, line)) = protocol {
        if abi_value < Protocol::SINCE_ABI {
            return Err(ManifestError::NeedsNewerAbi {
                line,
                key: "protocol",
                since: Protocol::SINCE_ABI,
            });
        }
        // `PartialEq` is not `const`; the kinds are fieldless.
        if protocol.kind() as u8 != kind as u8 {
            return Err(ManifestError::ProtocolKindMismatch {
                line,
                protocol,
                kind,
            });
        }
    }
    Ok(())
}

/// The index of the `\n` ending the line that starts at `pos`, or `b.len()`.
const fn line_end(b: &[u8], pos: usize) -> usize {
    find_byte(b, pos, b.len(), b'\n')
}

/// The first index of `byte` in `b[start..end]`, or `end`.
const fn find_byte(b: &[u8], start: usize, end: usize, byte: u8) -> usize {
    let end = if end > b.len() { b.len() } else { end };
    let mut i = start;
    while i < end {
        if b[i] == byte {
            return i;
        }
        i += 1;
    }
    end
}

/// Whether `b[start..end] == lit`.
pub(crate) const fn eq_at(b: &[u8], start: usize, end: usize, lit: &[u8]) -> bool {
    if end < start || end > b.len() || end - start != lit.len() {
        return false;
    }
    let mut i = 0;
    while i < lit.len() {
        if b[start + i] != lit[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `b[start..end]` starts with `lit`.
const fn starts_with_at(b: &[u8], start: usize, end: usize, lit: &[u8]) -> bool {
    end - start >= lit.len() && eq_at(b, start, start + lit.len(), lit)
}

/// Whether `b[a..a+len] == b[c..c+len]`.
const fn same(b: &[u8], a: usize, c: usize, len: usize) -> bool {
    let mut i = 0;
    while i < len {
        if b[a + i] != b[c + i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A decimal `u32` without sign or leading zeros.
const fn parse_u32(b: &[u8], start: usize, end: usize) -> Option<u32> {
    if start == end || (b[start] == b'0' && end - start > 1) {
        return None;
    }
    let mut value: u64 = 0;
    let mut i = start;
    while i < end {
        let c = b[i];
        if !c.is_ascii_digit() {
            return None;
        }
        value = value * 10 + (c - b'0') as u64;
        if value > u32::MAX as u64 {
            return None;
        }
        i += 1;
    }
    Some(value as u32)
}

const fn valid_name(b: &[u8], start: usize, end: usize) -> bool {
    if start == end || end - start > MAX_NAME_BYTES {
        return false;
    }
    if !(b[start].is_ascii_lowercase() || b[start].is_ascii_digit()) {
        return false;
    }
    let mut i = start;
    while i < end {
        let c = b[i];
        if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'_' || c == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

const fn valid_version(b: &[u8], start: usize, end: usize) -> bool {
    if start == end || end - start > MAX_VERSION_BYTES {
        return false;
    }
    let mut i = start;
    while i < end {
        let c = b[i];
        if !(c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-' || c == b'+') {
            return false;
        }
        i += 1;
    }
    true
}

/// An absolute path: `/`, or `/` followed by non-empty components separated by single `/`, none
/// of them `.` or `..`.
const fn valid_path_scope(b: &[u8], start: usize, end: usize) -> bool {
    if start == end || end - start > MAX_SCOPE_BYTES || b[start] != b'/' {
        return false;
    }
    if end - start == 1 {
        return true;
    }
    let mut comp = start + 1;
    loop {
        let next = find_byte(b, comp, end, b'/');
        if next == comp || eq_at(b, comp, next, b".") || eq_at(b, comp, next, b"..") {
            return false;
        }
        if next == end {
            return true;
        }
        comp = next + 1;
    }
}

/// `host:port`: a DNS name or IPv4 literal, or a bracketed IPv6 literal, and a port 1..=65535.
const fn valid_dial_scope(b: &[u8], start: usize, end: usize) -> bool {
    if start == end || end - start > MAX_SCOPE_BYTES {
        return false;
    }
    // The port follows the last `:`.
    let mut colon = end;
    let mut i = end;
    while i > start {
        i -= 1;
        if b[i] == b':' {
            colon = i;
            break;
        }
    }
    if colon == end {
        return false;
    }
    match parse_u32(b, colon + 1, end) {
        Some(port) if port >= 1 && port <= 65535 => {}
        _ => return false,
    }
    let (hs, he) = (start, colon);
    if hs == he {
        return false;
    }
    if b[hs] == b'[' {
        // [v6]: hex digits, `:` and `.` (for embedded IPv4), at least one `:`.
        if he - hs < 4 || b[he - 1] != b']' {
            return false;
        }
        let mut colons = 0;
        let mut i = hs + 1;
        while i < he - 1 {
            let c = b[i];
            if c == b':' {
                colons += 1;
            } else if !(c.is_ascii_hexdigit() || c == b'.') {
                return false;
            }
            i += 1;
        }
        return colons >= 2;
    }
    // DNS name or IPv4: labels of 1..=63 `A-Z a-z 0-9 - _`, separated by single dots.
    if he - hs > 253 {
        return false;
    }
    let mut label = 0usize;
    let mut i = hs;
    while i < he {
        let c = b[i];
        if c == b'.' {
            if label == 0 {
                return false;
            }
            label = 0;
        } else if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' {
            label += 1;
            if label > 63 {
                return false;
            }
        } else {
            return false;
        }
        i += 1;
    }
    label > 0
}

/// Whether a `grant=` line before `line_start` has the same value as `b[vs..ve]`.
const fn grant_seen_before(b: &[u8], line_start: usize, vs: usize, ve: usize) -> bool {
    let len = ve - vs;
    let mut pos = 0;
    while pos < line_start {
        let end = line_end(b, pos);
        if starts_with_at(b, pos, end, b"grant=")
            && end - (pos + 6) == len
            && same(b, pos + 6, vs, len)
        {
            return true;
        }
        pos = end + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    const GOOD: &str = "abi=1\nname=connector-file-deploy\nversion=0.1.0\nkind=connector\n\
                        grant=fs.write=/certs\ngrant=net.dial=ca.local:8443\n";

    #[test]
    fn parses_a_good_manifest() {
        let m = Manifest::parse(GOOD).expect("valid");
        assert_eq!(m.abi, 1);
        assert_eq!(m.name, "connector-file-deploy");
        assert_eq!(m.version, "0.1.0");
        assert_eq!(m.kind, PluginKind::Connector);
        assert_eq!(
            m.requests,
            [
                ManifestGrant {
                    capability: "fs.write".into(),
                    scope: "/certs".into()
                },
                ManifestGrant {
                    capability: "net.dial".into(),
                    scope: "ca.local:8443".into()
                },
            ]
        );
        assert_eq!(m.scopes("fs.write").collect::<Vec<_>>(), ["/certs"]);
        assert_eq!(m.to_text(), GOOD);
        assert_eq!(GOOD.parse::<Manifest>(), Ok(m));
    }

    #[test]
    fn round_trips_every_kind() {
        for kind in [
            PluginKind::Ca,
            PluginKind::Connector,
            PluginKind::DnsProvider,
            PluginKind::Other,
        ] {
            let m = Manifest {
                abi: ABI_VERSION,
                name: "x".into(),
                version: "1.2.3-rc.1+build.5".into(),
                kind,
                requests: Vec::new(),
                protocol: None,
            };
            assert_eq!(Manifest::parse(&m.to_text()), Ok(m.clone()));
            assert_eq!(kind.as_str().parse::<PluginKind>(), Ok(kind));
        }
    }

    /// A manifest of `abi`, `kind` and `protocol` (in that order, then one grant).
    fn with_protocol(abi: u32, kind: &str, protocol: &str) -> String {
        format!(
            "abi={abi}\nname=a\nversion=1\nkind={kind}\nprotocol={protocol}\ngrant=fs.read=/a\n"
        )
    }

    #[test]
    fn parses_every_protocol_with_its_kind() {
        for protocol in Protocol::ALL {
            let text = with_protocol(2, protocol.kind().as_str(), protocol.as_str());
            assert_eq!(validate(&text), Ok(()), "{text}");
            let m = Manifest::parse(&text).expect("valid");
            assert_eq!(m.protocol, Some(protocol));
            assert_eq!(m.kind, protocol.kind());
            assert_eq!(m.requests.len(), 1);
            assert_eq!(m.to_text(), text);
            assert_eq!(Manifest::parse(&m.to_text()), Ok(m));
        }
        // No protocol line: none declared, and none written back.
        let m = Manifest::parse("abi=2\nname=a\nversion=1\nkind=dns\n").expect("valid");
        assert_eq!(m.protocol, None);
        assert!(!m.to_text().contains("protocol"));
    }

    #[test]
    fn protocol_may_come_before_abi_and_kind() {
        let m = Manifest::parse("protocol=reload\nname=a\nkind=connector\nversion=1\nabi=2")
            .expect("valid");
        assert_eq!(m.protocol, Some(Protocol::Reload));
        assert_eq!(
            err("protocol=reload\nname=a\nkind=dns\nversion=1\nabi=2"),
            ManifestError::ProtocolKindMismatch {
                line: 1,
                protocol: Protocol::Reload,
                kind: PluginKind::DnsProvider,
            }
        );
        assert_eq!(
            err("protocol=reload\nname=a\nkind=connector\nversion=1\nabi=1"),
            ManifestError::NeedsNewerAbi {
                line: 1,
                key: "protocol",
                since: 2
            }
        );
    }

    #[test]
    fn protocol_needs_abi_2() {
        for protocol in Protocol::ALL {
            let text = with_protocol(1, protocol.kind().as_str(), protocol.as_str());
            let expected = ManifestError::NeedsNewerAbi {
                line: 5,
                key: "protocol",
                since: Protocol::SINCE_ABI,
            };
            assert_eq!(validate(&text), Err(expected), "{text}");
            assert_eq!(Manifest::parse(&text), Err(expected), "{text}");
        }
        // An unsupported abi is still reported first.
        assert_eq!(
            err(&with_protocol(3, "ca", "no-such-protocol")),
            ManifestError::UnsupportedAbi { abi: 3 }
        );
    }

    #[test]
    fn protocol_must_fit_the_kind() {
        for protocol in Protocol::ALL {
            for kind in [
                PluginKind::Ca,
                PluginKind::Connector,
                PluginKind::DnsProvider,
                PluginKind::Other,
            ] {
                let text = with_protocol(2, kind.as_str(), protocol.as_str());
                if kind == protocol.kind() {
                    assert_eq!(validate(&text), Ok(()), "{text}");
                } else {
                    let expected = ManifestError::ProtocolKindMismatch {
                        line: 5,
                        protocol,
                        kind,
                    };
                    assert_eq!(validate(&text), Err(expected), "{text}");
                    assert_eq!(Manifest::parse(&text), Err(expected), "{text}");
                }
            }
        }
    }

    #[test]
    fn refuses_bad_and_repeated_protocols() {
        for bad in [
            "",
            "Reload",
            "publish_txt",
            "publish-txt ",
            " deploy",
            "dns",
            "deploy,reload",
            "issue=acme",
        ] {
            let text = format!("abi=2\nname=a\nversion=1\nkind=ca\nprotocol={bad}\n");
            assert_eq!(
                err(&text),
                ManifestError::BadProtocol { line: 5 },
                "{bad:?}"
            );
        }
        assert_eq!(
            err("abi=2\nname=a\nversion=1\nkind=ca\nprotocol=issue\nprotocol=issue\n"),
            ManifestError::DuplicateKey { line: 6 }
        );
        assert_eq!(
            err("abi=2\nname=a\nversion=1\nkind=ca\nprotocol=issue\nprotocol=acme\n"),
            ManifestError::DuplicateKey { line: 6 }
        );
        // A required key is still missing before a protocol is judged.
        assert_eq!(
            err("abi=1\nname=a\nversion=1\nprotocol=issue\n"),
            ManifestError::MissingKey { key: "kind" }
        );
    }

    #[test]
    fn order_of_keys_is_free_and_final_newline_optional() {
        let text = "kind=other\nversion=1\nname=a\nabi=1";
        let m = Manifest::parse(text).expect("valid");
        assert_eq!(m.kind, PluginKind::Other);
        assert!(m.requests.is_empty());
    }

    #[test]
    fn all_scope_shapes() {
        for scope in [
            "grant=fs.read=/",
            "grant=fs.read=/zones",
            "grant=process.exec=/usr/sbin/reload-service",
            "grant=net.dial=127.0.0.1:8443",
            "grant=net.dial=[::1]:443",
            "grant=net.dial=_srv.example-1.com:1",
            "grant=net.dial=a:65535",
        ] {
            let text = format!("abi=1\nname=a\nversion=1\nkind=other\n{scope}\n");
            assert_eq!(validate(&text), Ok(()), "{scope}");
        }
    }

    fn err(text: &str) -> ManifestError {
        Manifest::parse(text).expect_err(text)
    }

    fn with_line(extra: &str) -> ManifestError {
        err(&format!("abi=1\nname=a\nversion=1\nkind=other\n{extra}\n"))
    }

    #[test]
    fn refuses_structural_problems() {
        assert_eq!(err(""), ManifestError::MissingKey { key: "abi" });
        assert_eq!(err("abi=1\n"), ManifestError::MissingKey { key: "name" });
        assert_eq!(
            err("abi=1\nname=a\n"),
            ManifestError::MissingKey { key: "version" }
        );
        assert_eq!(
            err("abi=1\nname=a\nversion=1\n"),
            ManifestError::MissingKey { key: "kind" }
        );
        assert_eq!(err("abi=1\n\nname=a"), ManifestError::Malformed { line: 2 });
        assert_eq!(err("abi=1\r\nname=a"), ManifestError::Malformed { line: 1 });
        assert_eq!(err("abi=1\nname\n"), ManifestError::Malformed { line: 2 });
        assert_eq!(with_line("name=b"), ManifestError::DuplicateKey { line: 5 });
        assert_eq!(with_line("abi=1"), ManifestError::DuplicateKey { line: 5 });
        assert_eq!(
            with_line("comment=hi"),
            ManifestError::UnknownKey { line: 5 }
        );
        assert_eq!(
            with_line(" grant=fs.read=/a"),
            ManifestError::UnknownKey { line: 5 }
        );
        assert_eq!(
            with_line("grant=fs.read=/a\t"),
            ManifestError::Malformed { line: 5 }
        );
        assert_eq!(
            err("abi=1\nname=a\nversion=1\nkind=other\n\n"),
            ManifestError::Malformed { line: 5 }
        );
    }

    #[test]
    fn refuses_bad_values() {
        assert_eq!(
            err("abi=01\nname=a\nversion=1\nkind=ca"),
            ManifestError::BadAbi { line: 1 }
        );
        assert_eq!(
            err("abi=+1\nname=a\nversion=1\nkind=ca"),
            ManifestError::BadAbi { line: 1 }
        );
        assert_eq!(
            err("abi=\nname=a\nversion=1\nkind=ca"),
            ManifestError::BadAbi { line: 1 }
        );
        assert_eq!(
            err("abi=99999999999\nname=a\nversion=1\nkind=ca"),
            ManifestError::BadAbi { line: 1 }
        );
        for name in ["", "A", "-a", "a b", "a/b", "é"] {
            assert_eq!(
                err(&format!("abi=1\nname={name}\nversion=1\nkind=ca")),
                ManifestError::BadName { line: 2 },
                "{name:?}"
            );
        }
        let long = "a".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(
            err(&format!("abi=1\nname={long}\nversion=1\nkind=ca")),
            ManifestError::BadName { line: 2 }
        );
        assert_eq!(
            err("abi=1\nname=a\nversion=1 2\nkind=ca"),
            ManifestError::BadVersion { line: 3 }
        );
        assert_eq!(
            err("abi=1\nname=a\nversion=\nkind=ca"),
            ManifestError::BadVersion { line: 3 }
        );
        assert_eq!(
            err("abi=1\nname=a\nversion=1\nkind=CA"),
            ManifestError::BadKind { line: 4 }
        );
        assert_eq!(
            err("abi=1\nname=a\nversion=1\nkind=dnsprovider"),
            ManifestError::BadKind { line: 4 }
        );
    }

    #[test]
    fn refuses_bad_grants() {
        assert_eq!(
            with_line("grant=fs.delete=/a"),
            ManifestError::UnknownCapability { line: 5 }
        );
        assert_eq!(
            with_line("grant=fs.read"),
            ManifestError::UnknownCapability { line: 5 }
        );
        assert_eq!(
            with_line("grant=FS.READ=/a"),
            ManifestError::UnknownCapability { line: 5 }
        );
        for scope in [
            "fs.read=",
            "fs.read=certs",
            "fs.read=/certs/",
            "fs.read=//certs",
            "fs.read=/certs/../keys",
            "fs.read=/certs/./x",
            "fs.write=/..",
            "process.exec=bin/sh",
            "net.dial=",
            "net.dial=ca.local",
            "net.dial=ca.local:",
            "net.dial=ca.local:0",
            "net.dial=ca.local:65536",
            "net.dial=ca.local:08443",
            "net.dial=:443",
            "net.dial=ca..local:443",
            "net.dial=.ca.local:443",
            "net.dial=ca.local.:443",
            "net.dial=*.example.com:443",
            "net.dial=ca local:443",
            "net.dial=::1:443",
            "net.dial=[::1:443",
            "net.dial=[zz::1]:443",
            "net.dial=/certs",
        ] {
            assert_eq!(
                with_line(&format!("grant={scope}")),
                ManifestError::BadScope { line: 5 },
                "{scope}"
            );
        }
        assert_eq!(
            with_line("grant=fs.read=/a\ngrant=fs.write=/a\ngrant=fs.read=/a"),
            ManifestError::DuplicateGrant { line: 7 }
        );
    }

    #[test]
    fn every_supported_abi_parses_and_keeps_its_version() {
        for abi in MIN_ABI_VERSION..=ABI_VERSION {
            let m = Manifest::parse(&format!("abi={abi}\nname=a\nversion=1\nkind=ca")).unwrap();
            assert_eq!(m.abi, abi);
            assert_eq!(Manifest::parse(&m.to_text()), Ok(m));
        }
    }

    #[test]
    fn unsupported_abi_wins() {
        assert_eq!(
            err("name=A B\nabi=3\nfuture=yes"),
            ManifestError::UnsupportedAbi { abi: 3 }
        );
        assert_eq!(
            err("abi=4294967295\nname=a\nversion=1\nkind=ca"),
            ManifestError::UnsupportedAbi { abi: u32::MAX }
        );
        assert_eq!(
            err("abi=0\nname=a\nversion=1\nkind=ca"),
            ManifestError::UnsupportedAbi { abi: 0 }
        );
    }

    #[test]
    fn bounds() {
        let mut text = String::from("abi=1\nname=a\nversion=1\nkind=other\n");
        for i in 0..MAX_GRANTS {
            text.push_str(&format!("grant=fs.read=/{i}\n"));
        }
        assert!(Manifest::parse(&text).is_ok());
        text.push_str("grant=fs.read=/last\n");
        assert_eq!(err(&text), ManifestError::TooManyGrants);

        let mut big = String::from("abi=1\nname=a\nversion=1\nkind=other\ngrant=fs.read=/");
        big.push_str(&"x".repeat(MAX_MANIFEST_BYTES));
        assert_eq!(err(&big), ManifestError::TooLarge);
        let scope = format!("/{}", "x".repeat(MAX_SCOPE_BYTES));
        assert_eq!(
            with_line(&format!("grant=fs.read={scope}")),
            ManifestError::BadScope { line: 5 }
        );
    }

    #[test]
    fn validate_is_const() {
        const OK: Result<(), ManifestError> = validate(GOOD);
        const WITH_PROTOCOL: Result<(), ManifestError> =
            validate("abi=2\nname=a\nversion=1\nkind=connector\nprotocol=reload\n");
        const MISMATCH: Result<(), ManifestError> =
            validate("abi=2\nname=a\nversion=1\nkind=connector\nprotocol=acme\n");
        assert_eq!(WITH_PROTOCOL, Ok(()));
        assert_eq!(
            MISMATCH,
            Err(ManifestError::ProtocolKindMismatch {
                line: 5,
                protocol: Protocol::Acme,
                kind: PluginKind::Connector
            })
        );
        const BAD: Result<(), ManifestError> = validate("abi=1\n");
        assert_eq!(OK, Ok(()));
        assert_eq!(BAD, Err(ManifestError::MissingKey { key: "name" }));
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            ManifestError::BadScope { line: 5 }.to_string(),
            "manifest grant scope is malformed (line 5)"
        );
        assert_eq!(
            ManifestError::UnsupportedAbi { abi: 3 }.to_string(),
            "manifest names an unsupported abi version (3; this host supports 1 to 2)"
        );
        assert_eq!(
            ManifestError::MissingKey { key: "kind" }.to_string(),
            "manifest lacks a required key (abi, name, version, kind) (`kind`)"
        );
        assert_eq!(
            ManifestError::BadProtocol { line: 5 }.to_string(),
            "manifest protocol is not one of issue, acme, deploy, reload, publish-txt, \
             update-txt (line 5)"
        );
        assert_eq!(
            ManifestError::NeedsNewerAbi {
                line: 5,
                key: "protocol",
                since: 2
            }
            .to_string(),
            "manifest key needs a newer abi than the manifest declares (`protocol` needs abi=2 \
             or later; line 5)"
        );
        assert_eq!(
            ManifestError::ProtocolKindMismatch {
                line: 6,
                protocol: Protocol::Reload,
                kind: PluginKind::DnsProvider
            }
            .to_string(),
            "manifest protocol belongs to another kind (`reload` needs kind=connector, not \
             kind=dns; line 6)"
        );
        assert_eq!(MANIFEST_SECTION, "pluginhost.manifest");
        assert_eq!(CAPABILITY_NAMES.len(), 4);
    }
}
