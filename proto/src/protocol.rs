//! Which message pair a plugin speaks: the manifest's optional `protocol` key.
//!
//! A plugin's [`PluginKind`] names its family; several message pairs belong to one family (a
//! connector may deploy a file or reload a service). The manifest's `protocol=<name>` line says
//! which pair this plugin answers, so a host or a command-line tool can encode a request for it
//! without being told. The key needs `abi=2` or later ([`Protocol::SINCE_ABI`]): hosts of ABI 1
//! refuse manifest keys they do not know.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::manifest::{eq_at, ManifestError, PluginKind};

/// A request/response pair of this crate, as a manifest's `protocol` key names it.
///
/// Variants are only appended (the postcard form of [`Manifest`](crate::Manifest) encodes the
/// variant index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Protocol {
    /// `issue`: [`ca::IssueRequest`](crate::ca::IssueRequest) →
    /// [`ca::IssueResponse`](crate::ca::IssueResponse) (kind `ca`).
    Issue,
    /// `acme`: [`acme::AcmeRequest`](crate::acme::AcmeRequest) →
    /// [`acme::AcmeResponse`](crate::acme::AcmeResponse) (kind `ca`).
    Acme,
    /// `deploy`: [`deploy::DeployRequest`](crate::deploy::DeployRequest) →
    /// [`deploy::DeployResponse`](crate::deploy::DeployResponse) (kind `connector`).
    Deploy,
    /// `reload`: [`reload::ReloadRequest`](crate::reload::ReloadRequest) →
    /// [`reload::ReloadResponse`](crate::reload::ReloadResponse) (kind `connector`).
    Reload,
    /// `publish-txt`: [`dns::PublishTxtRequest`](crate::dns::PublishTxtRequest) →
    /// [`dns::PublishTxtResponse`](crate::dns::PublishTxtResponse) (kind `dns`).
    PublishTxt,
    /// `update-txt`: [`dns::UpdateTxtRequest`](crate::dns::UpdateTxtRequest) →
    /// [`dns::UpdateTxtResponse`](crate::dns::UpdateTxtResponse) (kind `dns`).
    UpdateTxt,
}

impl Protocol {
    /// Every protocol, in declaration order.
    pub const ALL: [Protocol; 6] = [
        Protocol::Issue,
        Protocol::Acme,
        Protocol::Deploy,
        Protocol::Reload,
        Protocol::PublishTxt,
        Protocol::UpdateTxt,
    ];

    /// The oldest manifest `abi` that may have a `protocol` key.
    pub const SINCE_ABI: u32 = 2;

    /// The manifest spelling: `issue`, `acme`, `deploy`, `reload`, `publish-txt`, `update-txt`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::Issue => "issue",
            Protocol::Acme => "acme",
            Protocol::Deploy => "deploy",
            Protocol::Reload => "reload",
            Protocol::PublishTxt => "publish-txt",
            Protocol::UpdateTxt => "update-txt",
        }
    }

    /// The kind of plugin that speaks it: a manifest declaring this protocol must declare this
    /// kind.
    pub const fn kind(self) -> PluginKind {
        match self {
            Protocol::Issue | Protocol::Acme => PluginKind::Ca,
            Protocol::Deploy | Protocol::Reload => PluginKind::Connector,
            Protocol::PublishTxt | Protocol::UpdateTxt => PluginKind::DnsProvider,
        }
    }

    /// The request type's path in this crate, e.g. `reload::ReloadRequest`.
    pub const fn request_type(self) -> &'static str {
        match self {
            Protocol::Issue => "ca::IssueRequest",
            Protocol::Acme => "acme::AcmeRequest",
            Protocol::Deploy => "deploy::DeployRequest",
            Protocol::Reload => "reload::ReloadRequest",
            Protocol::PublishTxt => "dns::PublishTxtRequest",
            Protocol::UpdateTxt => "dns::UpdateTxtRequest",
        }
    }

    /// The response type's path in this crate (answered as `Response<T>`), e.g.
    /// `reload::ReloadResponse`.
    pub const fn response_type(self) -> &'static str {
        match self {
            Protocol::Issue => "ca::IssueResponse",
            Protocol::Acme => "acme::AcmeResponse",
            Protocol::Deploy => "deploy::DeployResponse",
            Protocol::Reload => "reload::ReloadResponse",
            Protocol::PublishTxt => "dns::PublishTxtResponse",
            Protocol::UpdateTxt => "dns::UpdateTxtResponse",
        }
    }

    /// The protocol spelled `b[start..end]`.
    pub(crate) const fn from_bytes(b: &[u8], start: usize, end: usize) -> Option<Protocol> {
        let mut i = 0;
        while i < Protocol::ALL.len() {
            let protocol = Protocol::ALL[i];
            if eq_at(b, start, end, protocol.as_str().as_bytes()) {
                return Some(protocol);
            }
            i += 1;
        }
        None
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = ManifestError;

    /// Parses the manifest spelling; [`ManifestError::BadProtocol`] (line 0) otherwise.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::from_bytes(s.as_bytes(), 0, s.len()).ok_or(ManifestError::BadProtocol { line: 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn names_round_trip_and_are_distinct() {
        for (i, protocol) in Protocol::ALL.into_iter().enumerate() {
            assert_eq!(protocol.as_str().parse::<Protocol>(), Ok(protocol));
            assert_eq!(protocol.to_string(), protocol.as_str());
            for other in &Protocol::ALL[i + 1..] {
                assert_ne!(protocol.as_str(), other.as_str());
            }
        }
        for bad in [
            "",
            "Issue",
            "publish_txt",
            "publish-txt ",
            "deploy\n",
            "dns",
        ] {
            assert_eq!(
                bad.parse::<Protocol>(),
                Err(ManifestError::BadProtocol { line: 0 }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn kinds_and_types() {
        use Protocol::*;
        let expected = [
            (
                Issue,
                PluginKind::Ca,
                "ca::IssueRequest",
                "ca::IssueResponse",
            ),
            (
                Acme,
                PluginKind::Ca,
                "acme::AcmeRequest",
                "acme::AcmeResponse",
            ),
            (
                Deploy,
                PluginKind::Connector,
                "deploy::DeployRequest",
                "deploy::DeployResponse",
            ),
            (
                Reload,
                PluginKind::Connector,
                "reload::ReloadRequest",
                "reload::ReloadResponse",
            ),
            (
                PublishTxt,
                PluginKind::DnsProvider,
                "dns::PublishTxtRequest",
                "dns::PublishTxtResponse",
            ),
            (
                UpdateTxt,
                PluginKind::DnsProvider,
                "dns::UpdateTxtRequest",
                "dns::UpdateTxtResponse",
            ),
        ];
        assert_eq!(expected.len(), Protocol::ALL.len());
        for (protocol, kind, request, response) in expected {
            assert_eq!(protocol.kind(), kind, "{protocol}");
            assert_eq!(protocol.request_type(), request);
            assert_eq!(protocol.response_type(), response);
        }
    }
}
