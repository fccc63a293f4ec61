//! The typed messages of `pluginhost-proto` on the command line: a JSON request encoded as the
//! plugin's postcard message, and its postcard response decoded to JSON.

use std::fmt;
use std::str::FromStr;

use pluginhost::proto::ca::{IssueRequest, IssueResponse};
use pluginhost::proto::deploy::{DeployRequest, DeployResponse};
use pluginhost::proto::dns::{PublishTxtRequest, PublishTxtResponse};
use pluginhost::proto::reload::{ReloadRequest, ReloadResponse};
use pluginhost::proto::{Manifest, PluginKind, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

/// A request/response pair of `pluginhost-proto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `ca::IssueRequest` → `ca::IssueResponse` (kind `ca`).
    Issue,
    /// `deploy::DeployRequest` → `deploy::DeployResponse` (kind `connector`, the default).
    Deploy,
    /// `reload::ReloadRequest` → `reload::ReloadResponse` (kind `connector`).
    Reload,
    /// `dns::PublishTxtRequest` → `dns::PublishTxtResponse` (kind `dns`).
    PublishTxt,
}

impl Protocol {
    /// Every protocol.
    pub const ALL: [Protocol; 4] = [
        Protocol::Issue,
        Protocol::Deploy,
        Protocol::Reload,
        Protocol::PublishTxt,
    ];

    /// `issue`, `deploy`, `reload` or `publish-txt`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Issue => "issue",
            Protocol::Deploy => "deploy",
            Protocol::Reload => "reload",
            Protocol::PublishTxt => "publish-txt",
        }
    }

    /// The request type's name, for messages.
    pub fn request_type(self) -> &'static str {
        match self {
            Protocol::Issue => "ca::IssueRequest",
            Protocol::Deploy => "deploy::DeployRequest",
            Protocol::Reload => "reload::ReloadRequest",
            Protocol::PublishTxt => "dns::PublishTxtRequest",
        }
    }

    /// The protocol a manifest's kind implies: `ca` issue, `connector` deploy, `dns`
    /// publish-txt; `other` has none.
    pub fn of_manifest(manifest: &Manifest) -> Option<Protocol> {
        match manifest.kind {
            PluginKind::Ca => Some(Protocol::Issue),
            PluginKind::Connector => Some(Protocol::Deploy),
            PluginKind::DnsProvider => Some(Protocol::PublishTxt),
            _ => None,
        }
    }

    /// Encodes the JSON `request` as this protocol's postcard request.
    ///
    /// # Errors
    /// A message naming the field (or position) that does not fit the request type.
    pub fn encode(self, request: &str) -> Result<Vec<u8>, String> {
        match self {
            Protocol::Issue => encode::<IssueRequest>(request),
            Protocol::Deploy => encode::<DeployRequest>(request),
            Protocol::Reload => encode::<ReloadRequest>(request),
            Protocol::PublishTxt => encode::<PublishTxtRequest>(request),
        }
    }

    /// Decodes `output` as this protocol's `Response<T>`: `{"ok": {...}}` or
    /// `{"failure": {"code": "...", "message": "..."}}`, and whether it is a failure.
    ///
    /// # Errors
    /// Why the output is not one response.
    pub fn decode(self, output: &[u8]) -> Result<(Value, bool), String> {
        match self {
            Protocol::Issue => decode::<IssueResponse>(output),
            Protocol::Deploy => decode::<DeployResponse>(output),
            Protocol::Reload => decode::<ReloadResponse>(output),
            Protocol::PublishTxt => decode::<PublishTxtResponse>(output),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| "expected issue, deploy, reload or publish-txt".to_string())
    }
}

fn encode<T: DeserializeOwned + Serialize>(request: &str) -> Result<Vec<u8>, String> {
    let mut deserializer = serde_json::Deserializer::from_str(request);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let inner = strip_position(&inner);
        if path == "." || path.is_empty() || inner.contains(&format!("`{path}`")) {
            inner
        } else {
            format!("field `{path}`: {inner}")
        }
    })?;
    deserializer
        .end()
        .map_err(|e| format!("trailing characters after the request: {e}"))?;
    postcard::to_allocvec(&value).map_err(|e| format!("cannot encode the request: {e}"))
}

/// serde_json's message without its ` at line L column C` suffix when it names a field anyway.
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if error.is_data() {
        if let Some((message, _)) = text.rsplit_once(" at line ") {
            return message.to_string();
        }
    }
    text
}

fn decode<T: DeserializeOwned + Serialize>(output: &[u8]) -> Result<(Value, bool), String> {
    let (response, rest) = postcard::take_from_bytes::<Response<T>>(output).map_err(|e| {
        format!(
            "the output ({} bytes) is not a response message: {e}",
            output.len()
        )
    })?;
    if !rest.is_empty() {
        return Err(format!(
            "the output has {} bytes after the response message",
            rest.len()
        ));
    }
    Ok(match response {
        Ok(value) => {
            let value = serde_json::to_value(value).map_err(|e| e.to_string())?;
            (json!({ "ok": value }), false)
        }
        Err(failure) => (
            json!({ "failure": { "code": failure.code.name(), "message": failure.message } }),
            true,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pluginhost::proto::{FailureCode, PluginFailure};

    const DEPLOY: &str = r#"{"chain_pem": "-----BEGIN CERTIFICATE-----", "key_ref": null,
        "target_dir": "/certs", "file_name": "site.pem"}"#;

    #[test]
    fn encodes_like_postcard() {
        let bytes = Protocol::Deploy.encode(DEPLOY).unwrap();
        let expected = postcard::to_allocvec(&DeployRequest {
            chain_pem: "-----BEGIN CERTIFICATE-----".into(),
            key_ref: None,
            target_dir: "/certs".into(),
            file_name: "site.pem".into(),
        })
        .unwrap();
        assert_eq!(bytes, expected);
    }

    #[test]
    fn errors_name_the_field() {
        let missing = Protocol::Deploy
            .encode(r#"{"chain_pem": "x", "key_ref": null, "target_dir": "/certs"}"#)
            .unwrap_err();
        assert!(missing.contains("file_name"), "{missing}");
        let unknown = Protocol::Deploy
            .encode(&DEPLOY.replace("\"key_ref\"", "\"key_rfe\""))
            .unwrap_err();
        assert!(unknown.contains("key_rfe"), "{unknown}");
        let bad_type = Protocol::Issue
            .encode(r#"{"csr_pem": "x", "identifiers": [], "ca_host": "h", "ca_port": 70000}"#)
            .unwrap_err();
        assert!(bad_type.starts_with("field `ca_port`"), "{bad_type}");
        assert!(Protocol::Deploy.encode("not json").is_err());
        assert!(Protocol::Deploy.encode(&format!("{DEPLOY} {{}}")).is_err());
    }

    #[test]
    fn decodes_responses_and_failures() {
        let ok: Response<DeployResponse> = Ok(DeployResponse {
            path: "/certs/site.pem".into(),
            bytes_written: 5,
        });
        let (value, failed) = Protocol::Deploy
            .decode(&postcard::to_allocvec(&ok).unwrap())
            .unwrap();
        assert!(!failed);
        assert_eq!(value["ok"]["path"], "/certs/site.pem");
        let err: Response<DeployResponse> = Err(PluginFailure::new(FailureCode::Denied, "no"));
        let (value, failed) = Protocol::Deploy
            .decode(&postcard::to_allocvec(&err).unwrap())
            .unwrap();
        assert!(failed);
        assert_eq!(value["failure"]["code"], "denied");
        assert!(Protocol::Deploy.decode(b"").is_err());
        let mut long = postcard::to_allocvec(&ok).unwrap();
        long.push(0);
        assert!(Protocol::Deploy.decode(&long).is_err());
    }
}
