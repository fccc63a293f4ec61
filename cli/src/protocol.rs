//! The typed messages of `pluginhost-proto` on the command line: a JSON request encoded as the
//! plugin's postcard message, and its postcard response decoded to JSON.
//!
//! Which message pair: `--protocol`, else the manifest's `protocol` key, else a guess from the
//! manifest's kind ([`Choice`]).

use std::fmt;

use pluginhost::proto::acme::{AcmeRequest, AcmeResponse};
use pluginhost::proto::ca::{IssueRequest, IssueResponse};
use pluginhost::proto::deploy::{DeployRequest, DeployResponse};
use pluginhost::proto::dns::{
    PublishTxtRequest, PublishTxtResponse, UpdateTxtRequest, UpdateTxtResponse,
};
use pluginhost::proto::reload::{ReloadRequest, ReloadResponse};
use pluginhost::proto::{Manifest, PluginKind, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

pub use pluginhost::proto::Protocol;

/// Every protocol's name, for messages: `issue|acme|...`.
pub fn names(separator: &str) -> String {
    Protocol::ALL
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(separator)
}

/// The `--protocol` value parser.
///
/// # Errors
/// The names it accepts.
pub fn parse(name: &str) -> Result<Protocol, String> {
    name.parse()
        .map_err(|_| format!("expected one of {}", names(", ")))
}

/// Where the protocol of a run came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `--protocol`.
    Flag,
    /// The manifest's `protocol` key.
    Manifest,
    /// Guessed from the manifest's kind: the manifest declares no protocol.
    Kind(PluginKind),
}

/// The protocol of a run and where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The message pair.
    pub protocol: Protocol,
    /// How it was chosen.
    pub source: Source,
}

impl Choice {
    /// `--protocol` first, then the manifest's `protocol`, then the kind's usual protocol (`ca`
    /// issue, `connector` deploy, `dns` publish-txt; `other` none).
    pub fn new(flag: Option<Protocol>, manifest: Option<&Manifest>) -> Option<Choice> {
        if let Some(protocol) = flag {
            return Some(Choice {
                protocol,
                source: Source::Flag,
            });
        }
        let manifest = manifest?;
        if let Some(protocol) = manifest.protocol {
            return Some(Choice {
                protocol,
                source: Source::Manifest,
            });
        }
        let protocol = match manifest.kind {
            PluginKind::Ca => Protocol::Issue,
            PluginKind::Connector => Protocol::Deploy,
            PluginKind::DnsProvider => Protocol::PublishTxt,
            _ => return None,
        };
        Some(Choice {
            protocol,
            source: Source::Kind(manifest.kind),
        })
    }

    /// For a message about a request or response that does not fit: when the protocol was only
    /// guessed, the other protocols of the kind and the flag that names one.
    pub fn hint(self) -> Option<String> {
        let Source::Kind(kind) = self.source else {
            return None;
        };
        let others: Vec<&str> = Protocol::ALL
            .iter()
            .filter(|p| p.kind() == kind && **p != self.protocol)
            .map(|p| p.as_str())
            .collect();
        let alternatives = if others.is_empty() {
            String::new()
        } else {
            format!(" (kind {kind} also has {})", others.join(", "))
        };
        Some(format!(
            "the manifest declares no protocol: if the plugin speaks another, name it with \
             --protocol{alternatives}"
        ))
    }

    /// How it was chosen: `--protocol`, `declared by the manifest`, `guessed from kind K`.
    pub fn origin(self) -> String {
        match self.source {
            Source::Flag => "--protocol".to_string(),
            Source::Manifest => "declared by the manifest".to_string(),
            Source::Kind(kind) => format!("guessed from kind {kind}"),
        }
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.protocol, self.origin())
    }
}

/// What a manifest declares, for people: `reload`, or `none declared (--request assumes
/// deploy, from kind connector)`, or `none declared`.
pub fn declared_text(manifest: &Manifest) -> String {
    match Choice::new(None, Some(manifest)) {
        Some(Choice {
            protocol,
            source: Source::Manifest,
        }) => protocol.to_string(),
        Some(Choice {
            protocol,
            source: Source::Kind(kind),
        }) => format!(
            "none declared (--request assumes {protocol}, from kind {kind}; --protocol overrides)"
        ),
        _ => "none declared".to_string(),
    }
}

/// Encodes the JSON `request` as `protocol`'s postcard request.
///
/// # Errors
/// A message naming the field (or position) that does not fit the request type.
pub fn encode(protocol: Protocol, request: &str) -> Result<Vec<u8>, String> {
    match protocol {
        Protocol::Issue => encode_as::<IssueRequest>(request),
        Protocol::Acme => encode_as::<AcmeRequest>(request),
        Protocol::Deploy => encode_as::<DeployRequest>(request),
        Protocol::Reload => encode_as::<ReloadRequest>(request),
        Protocol::PublishTxt => encode_as::<PublishTxtRequest>(request),
        Protocol::UpdateTxt => encode_as::<UpdateTxtRequest>(request),
        _ => Err(format!("this pluginhost cannot encode {protocol} requests")),
    }
}

/// Decodes `output` as `protocol`'s `Response<T>`: `{"ok": {...}}` or
/// `{"failure": {"code": "...", "message": "..."}}`, and whether it is a failure.
///
/// # Errors
/// Why the output is not one response.
pub fn decode(protocol: Protocol, output: &[u8]) -> Result<(Value, bool), String> {
    match protocol {
        Protocol::Issue => decode_as::<IssueResponse>(output),
        Protocol::Acme => decode_as::<AcmeResponse>(output),
        Protocol::Deploy => decode_as::<DeployResponse>(output),
        Protocol::Reload => decode_as::<ReloadResponse>(output),
        Protocol::PublishTxt => decode_as::<PublishTxtResponse>(output),
        Protocol::UpdateTxt => decode_as::<UpdateTxtResponse>(output),
        _ => Err(format!(
            "this pluginhost cannot decode {protocol} responses"
        )),
    }
}

fn encode_as<T: DeserializeOwned + Serialize>(request: &str) -> Result<Vec<u8>, String> {
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

fn decode_as<T: DeserializeOwned + Serialize>(output: &[u8]) -> Result<(Value, bool), String> {
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
        let bytes = encode(Protocol::Deploy, DEPLOY).unwrap();
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
        let missing = encode(
            Protocol::Deploy,
            r#"{"chain_pem": "x", "key_ref": null, "target_dir": "/certs"}"#,
        )
        .unwrap_err();
        assert!(missing.contains("file_name"), "{missing}");
        let unknown = encode(
            Protocol::Deploy,
            &DEPLOY.replace("\"key_ref\"", "\"key_rfe\""),
        )
        .unwrap_err();
        assert!(unknown.contains("key_rfe"), "{unknown}");
        let bad_type = encode(
            Protocol::Issue,
            r#"{"csr_pem": "x", "identifiers": [], "ca_host": "h", "ca_port": 70000}"#,
        )
        .unwrap_err();
        assert!(bad_type.starts_with("field `ca_port`"), "{bad_type}");
        assert!(encode(Protocol::Deploy, "not json").is_err());
        assert!(encode(Protocol::Deploy, &format!("{DEPLOY} {{}}")).is_err());
    }

    #[test]
    fn encodes_acme_and_update_txt() {
        let acme = r#"{"directory_url": "https://acme.example:14000/dir", "csr_pem": "c",
            "identifiers": ["www.example.com"], "challenge": "Dns01", "contact": [],
            "terms_of_service_agreed": true, "order_url": null}"#;
        let expected = postcard::to_allocvec(&AcmeRequest {
            directory_url: "https://acme.example:14000/dir".into(),
            csr_pem: "c".into(),
            identifiers: vec!["www.example.com".into()],
            challenge: pluginhost::proto::acme::ChallengeKind::Dns01,
            contact: vec![],
            terms_of_service_agreed: true,
            order_url: None,
        })
        .unwrap();
        assert_eq!(encode(Protocol::Acme, acme).unwrap(), expected);
        let unknown =
            encode(Protocol::Acme, &acme.replace("\"contact\"", "\"contacts\"")).unwrap_err();
        assert!(unknown.contains("contacts"), "{unknown}");

        let update = r#"{"change": "Add", "zone": "example.com", "fqdn": "www.example.com",
            "value": "v", "ttl": 60, "server_host": "dns-primary.local", "server_port": 53,
            "tsig_key_file": "/secrets/tsig/key"}"#;
        let expected = postcard::to_allocvec(&UpdateTxtRequest {
            change: pluginhost::proto::dns::TxtChange::Add,
            zone: "example.com".into(),
            fqdn: "www.example.com".into(),
            value: "v".into(),
            ttl: 60,
            server_host: "dns-primary.local".into(),
            server_port: 53,
            tsig_key_file: "/secrets/tsig/key".into(),
        })
        .unwrap();
        assert_eq!(encode(Protocol::UpdateTxt, update).unwrap(), expected);
        let unknown =
            encode(Protocol::UpdateTxt, &update.replace("\"ttl\"", "\"tll\"")).unwrap_err();
        assert!(unknown.contains("tll"), "{unknown}");
        let bad_port = encode(Protocol::UpdateTxt, &update.replace("53", "65536")).unwrap_err();
        assert!(bad_port.starts_with("field `server_port`"), "{bad_port}");
    }

    #[test]
    fn every_protocol_encodes_and_decodes() {
        // Each protocol has its request and response types: a failure decodes for every one,
        // and an empty JSON object is missing a field of every request.
        let failure: Response<()> = Err(PluginFailure::new(FailureCode::Denied, "no"));
        let failure = postcard::to_allocvec(&failure).unwrap();
        for protocol in Protocol::ALL {
            let (value, failed) = decode(protocol, &failure).unwrap();
            assert!(failed, "{protocol}");
            assert_eq!(value["failure"]["code"], "denied");
            let missing = encode(protocol, "{}").unwrap_err();
            assert!(
                missing.starts_with("missing field"),
                "{protocol}: {missing}"
            );
        }
    }

    fn manifest(text: &str) -> Manifest {
        Manifest::parse(text).unwrap()
    }

    #[test]
    fn flag_then_manifest_then_kind() {
        let declared = manifest("abi=2\nname=a\nversion=1\nkind=connector\nprotocol=reload\n");
        let undeclared = manifest("abi=1\nname=a\nversion=1\nkind=connector\n");
        let other = manifest("abi=1\nname=a\nversion=1\nkind=other\n");
        let choice = |flag, m| Choice::new(flag, m).map(|c| (c.protocol, c.source));
        assert_eq!(
            choice(Some(Protocol::Deploy), Some(&declared)),
            Some((Protocol::Deploy, Source::Flag))
        );
        assert_eq!(
            choice(Some(Protocol::Acme), None),
            Some((Protocol::Acme, Source::Flag))
        );
        assert_eq!(
            choice(None, Some(&declared)),
            Some((Protocol::Reload, Source::Manifest))
        );
        assert_eq!(
            choice(None, Some(&undeclared)),
            Some((Protocol::Deploy, Source::Kind(PluginKind::Connector)))
        );
        assert_eq!(choice(None, Some(&other)), None);
        assert_eq!(choice(None, None), None);

        // Only a guess gets a hint, naming the kind's other protocols.
        assert_eq!(Choice::new(None, Some(&declared)).unwrap().hint(), None);
        let hint = Choice::new(None, Some(&undeclared))
            .unwrap()
            .hint()
            .unwrap();
        assert!(
            hint.contains("--protocol") && hint.contains("reload"),
            "{hint}"
        );
        assert!(Choice::new(None, Some(&declared))
            .unwrap()
            .to_string()
            .contains("declared by the manifest"));
    }

    #[test]
    fn flag_names() {
        for protocol in Protocol::ALL {
            assert_eq!(parse(protocol.as_str()), Ok(protocol));
        }
        let error = parse("publish_txt").unwrap_err();
        assert!(error.contains("update-txt"), "{error}");
    }

    #[test]
    fn decodes_responses_and_failures() {
        let ok: Response<DeployResponse> = Ok(DeployResponse {
            path: "/certs/site.pem".into(),
            bytes_written: 5,
        });
        let (value, failed) =
            decode(Protocol::Deploy, &postcard::to_allocvec(&ok).unwrap()).unwrap();
        assert!(!failed);
        assert_eq!(value["ok"]["path"], "/certs/site.pem");
        let err: Response<DeployResponse> = Err(PluginFailure::new(FailureCode::Denied, "no"));
        let (value, failed) =
            decode(Protocol::Deploy, &postcard::to_allocvec(&err).unwrap()).unwrap();
        assert!(failed);
        assert_eq!(value["failure"]["code"], "denied");
        assert!(decode(Protocol::Deploy, b"").is_err());
        let mut long = postcard::to_allocvec(&ok).unwrap();
        long.push(0);
        assert!(decode(Protocol::Deploy, &long).is_err());
    }
}
