//! ACME problem documents (RFC 8555 section 6.7, RFC 7807) as typed failures.

use alloc::format;
use alloc::string::String;

use pluginhost_sdk::proto::{FailureCode, PluginFailure};
use serde::Deserialize;

const ACME_ERROR: &str = "urn:ietf:params:acme:error:";

/// A problem document, as far as it is read.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Problem {
    /// `urn:ietf:params:acme:error:rateLimited`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// What the CA says, for people.
    #[serde(default)]
    pub detail: String,
}

impl Problem {
    /// The problem in a response body, if it is one.
    pub fn parse(body: &[u8]) -> Option<Problem> {
        serde_json::from_slice::<Problem>(body)
            .ok()
            .filter(|p| !p.kind.is_empty())
    }

    /// The ACME error name (`rateLimited`), or the whole type for other URNs.
    pub fn name(&self) -> &str {
        self.kind.strip_prefix(ACME_ERROR).unwrap_or(&self.kind)
    }

    /// Whether this is `badNonce` (retried with the fresh nonce).
    pub fn is_bad_nonce(&self) -> bool {
        self.name() == "badNonce"
    }

    /// The failure code the host sees for this problem.
    pub fn code(&self) -> FailureCode {
        match self.name() {
            "rateLimited" => FailureCode::RateLimited,
            "unauthorized"
            | "accountDoesNotExist"
            | "externalAccountRequired"
            | "userActionRequired" => FailureCode::Unauthorized,
            "rejectedIdentifier"
            | "unsupportedIdentifier"
            | "caa"
            | "badCSR"
            | "badSignatureAlgorithm"
            | "badPublicKey"
            | "invalidContact"
            | "unsupportedContact"
            | "badRevocationReason"
            | "alreadyRevoked" => FailureCode::Rejected,
            "incorrectResponse" | "connection" | "dns" | "tls" => FailureCode::ChallengeFailed,
            _ => FailureCode::Upstream,
        }
    }

    /// The failure for this problem, answered with HTTP `status` (0 for one embedded in an
    /// order or challenge), with the CA's `Retry-After` if it gave one.
    pub fn failure(&self, what: &str, status: u16, retry_after: Option<&str>) -> PluginFailure {
        let mut message = format!("{what}: {} ({})", self.name(), clean(&self.detail));
        if status != 0 {
            message = format!("{message}, HTTP {status}");
        }
        if let Some(seconds) = retry_after {
            message = format!("{message}; retry after {} s", clean(seconds));
        }
        PluginFailure::new(self.code(), message)
    }
}

/// The failure for an error response without a problem document.
pub fn bare_failure(what: &str, status: u16, retry_after: Option<&str>) -> PluginFailure {
    let code = if status == 429 {
        FailureCode::RateLimited
    } else {
        FailureCode::Upstream
    };
    let mut message = format!("{what}: HTTP {status} without a problem document");
    if let Some(seconds) = retry_after {
        message = format!("{message}; retry after {} s", clean(seconds));
    }
    PluginFailure::new(code, message)
}

/// CA text cut short and without control characters.
fn clean(text: &str) -> String {
    text.chars()
        .take(300)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(name: &str) -> Problem {
        Problem {
            kind: format!("{ACME_ERROR}{name}"),
            detail: String::from("why\nnot"),
        }
    }

    #[test]
    fn types_map_to_codes() {
        for (name, code) in [
            ("rateLimited", FailureCode::RateLimited),
            ("unauthorized", FailureCode::Unauthorized),
            ("accountDoesNotExist", FailureCode::Unauthorized),
            ("rejectedIdentifier", FailureCode::Rejected),
            ("badCSR", FailureCode::Rejected),
            ("caa", FailureCode::Rejected),
            ("incorrectResponse", FailureCode::ChallengeFailed),
            ("dns", FailureCode::ChallengeFailed),
            ("connection", FailureCode::ChallengeFailed),
            ("serverInternal", FailureCode::Upstream),
            ("malformed", FailureCode::Upstream),
            ("badNonce", FailureCode::Upstream),
        ] {
            assert_eq!(problem(name).code(), code, "{name}");
        }
        assert!(problem("badNonce").is_bad_nonce());
        let f = problem("rateLimited").failure("new order", 429, Some("60"));
        assert_eq!(f.code, FailureCode::RateLimited);
        assert_eq!(
            f.message,
            "new order: rateLimited (why not), HTTP 429; retry after 60 s"
        );
        assert_eq!(bare_failure("x", 429, None).code, FailureCode::RateLimited);
        assert_eq!(bare_failure("x", 500, None).code, FailureCode::Upstream);
    }

    #[test]
    fn parses_problem_documents_only() {
        let body = br#"{"type":"urn:ietf:params:acme:error:badNonce","detail":"JWS has an invalid anti-replay nonce","status":400}"#;
        assert!(Problem::parse(body).unwrap().is_bad_nonce());
        assert_eq!(Problem::parse(b"{}"), None);
        assert_eq!(Problem::parse(b"<html>"), None);
    }
}
