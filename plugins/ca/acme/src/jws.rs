//! The ACME account key and JWS (RFC 7515) requests signed with it: ES256 over P-256.
//!
//! The key is generated in the plugin from the host's `random_fill` and never leaves the
//! plugin's memory: not in a response, not in a log, not to the host.

use alloc::format;
use alloc::string::String;

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use pluginhost_sdk::proto::{FailureCode, PluginFailure};
use sha2::{Digest, Sha256};

use crate::b64;

/// An account key pair with its public JWK.
pub struct AccountKey {
    key: SigningKey,
    jwk: String,
}

impl AccountKey {
    /// A new key from the host's entropy.
    pub fn generate() -> Result<AccountKey, PluginFailure> {
        // A uniformly random 32-byte string is a valid P-256 scalar unless it is 0 or >= n
        // (probability about 2^-32); draw again then.
        for _ in 0..4 {
            let mut seed = [0u8; 32];
            pluginhost_sdk::random::fill(&mut seed).map_err(|e| {
                PluginFailure::new(
                    e.failure_code(),
                    format!("no entropy from the host for the account key: {e}"),
                )
            })?;
            if let Ok(key) = SigningKey::from_bytes(&seed.into()) {
                seed.fill(0);
                return Ok(AccountKey::from_signing_key(key));
            }
        }
        Err(PluginFailure::new(
            FailureCode::Internal,
            "the host's entropy gave no valid P-256 scalar in 4 draws",
        ))
    }

    /// The key for `key` (tests use fixed keys).
    pub fn from_signing_key(key: SigningKey) -> AccountKey {
        let point = key.verifying_key().to_encoded_point(false);
        let (x, y) = match (point.x(), point.y()) {
            (Some(x), Some(y)) => (b64::url(x), b64::url(y)),
            // An uncompressed encoding always has both coordinates.
            _ => (String::new(), String::new()),
        };
        // Members in lexicographic order and no whitespace: this exact text is also the input
        // of the RFC 7638 thumbprint.
        let jwk = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        AccountKey { key, jwk }
    }

    /// The public key as a JWK object (JSON text).
    #[cfg(test)]
    pub fn jwk(&self) -> &str {
        &self.jwk
    }

    /// The RFC 7638 thumbprint: base64url(SHA-256(JWK)).
    pub fn thumbprint(&self) -> String {
        b64::url(&Sha256::digest(self.jwk.as_bytes()))
    }

    /// A flattened JWS (RFC 7515 section 7.2.2) of `payload` (empty for POST-as-GET) for `url`,
    /// identified by `kid` (the account URL) or, before the account exists, by the JWK.
    pub fn sign(&self, url: &str, nonce: &str, kid: Option<&str>, payload: &str) -> String {
        let who = match kid {
            Some(kid) => format!(r#""kid":{}"#, json_string(kid)),
            None => format!(r#""jwk":{}"#, self.jwk),
        };
        let protected = format!(
            r#"{{"alg":"ES256",{who},"nonce":{},"url":{}}}"#,
            json_string(nonce),
            json_string(url)
        );
        let protected = b64::url(protected.as_bytes());
        let payload = b64::url(payload.as_bytes());
        let signing_input = format!("{protected}.{payload}");
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        let signature = b64::url(&signature.to_bytes());
        format!(r#"{{"protected":"{protected}","payload":"{payload}","signature":"{signature}"}}"#)
    }
}

/// `text` as a JSON string literal.
pub fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| String::from("\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    fn fixed() -> AccountKey {
        AccountKey::from_signing_key(SigningKey::from_bytes(&[7u8; 32].into()).unwrap())
    }

    #[test]
    fn jwk_and_thumbprint_are_canonical() {
        let key = fixed();
        assert!(key.jwk().starts_with(r#"{"crv":"P-256","kty":"EC","x":""#));
        assert!(!key.jwk().contains(' '));
        // base64url of 32 bytes is 43 characters.
        assert_eq!(key.thumbprint().len(), 43);
        assert_eq!(key.thumbprint(), fixed().thumbprint());
    }

    #[test]
    fn signatures_verify_with_the_public_key() {
        let key = fixed();
        let jws = key.sign(
            "https://a.test/new-order",
            "nonce-1",
            Some("https://a.test/acct/1"),
            "{}",
        );
        let v: serde_json::Value = serde_json::from_str(&jws).unwrap();
        let protected = v["protected"].as_str().unwrap();
        let payload = v["payload"].as_str().unwrap();
        let signature = v["signature"].as_str().unwrap();
        let header = url_decode(protected);
        let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "https://a.test/acct/1");
        assert_eq!(header["nonce"], "nonce-1");
        assert_eq!(header["url"], "https://a.test/new-order");
        assert!(header.get("jwk").is_none());
        assert_eq!(url_decode(payload), b"{}");
        let sig = Signature::from_slice(&url_decode(signature)).unwrap();
        let verifying = VerifyingKey::from(&SigningKey::from_bytes(&[7u8; 32].into()).unwrap());
        verifying
            .verify(format!("{protected}.{payload}").as_bytes(), &sig)
            .unwrap();
        // Before the account exists the JWK identifies the key; POST-as-GET has an empty payload.
        let jws = key.sign("https://a.test/new-acct", "n", None, "");
        let v: serde_json::Value = serde_json::from_str(&jws).unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&url_decode(v["protected"].as_str().unwrap())).unwrap();
        assert_eq!(header["jwk"]["kty"], "EC");
        assert_eq!(v["payload"], "");
    }

    fn url_decode(text: &str) -> alloc::vec::Vec<u8> {
        let std: String = text
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        b64::decode_std(&std).unwrap()
    }
}
