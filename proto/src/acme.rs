//! ACME (RFC 8555) certificate authorities: an order in steps the host drives.
//!
//! A CA plugin of this family speaks to a real ACME server (Let's Encrypt, pebble, step-ca) over
//! TLS that the host verifies. Proving control of a name needs the host's help (publishing a DNS
//! record through a DNS plugin, serving an HTTP token), and a validation takes time the plugin
//! must not spend spinning, so an order is driven by the host in steps, each one invocation:
//!
//! 1. [`AcmeRequest`] with `order_url: None`: the plugin creates (or finds) its account, places a
//!    new order and answers [`AcmeResponse::Challenges`]: what the host must publish for each name
//!    not yet authorized (nothing, if all are).
//! 2. The host publishes each [`ChallengeTask`] (a TXT record for `dns-01`, a file served at
//!    `http://NAME/.well-known/acme-challenge/TOKEN` for `http-01`).
//! 3. The same request with `order_url: Some(..)`: the plugin tells the CA the challenges are
//!    ready, polls a few times, finalizes with the CSR and downloads the chain:
//!    [`AcmeResponse::Issued`], or [`AcmeResponse::Pending`] when the CA is not done yet (the host
//!    waits `retry_after_seconds` and sends the same request again).
//!
//! Answered with `Response<AcmeResponse>`. The CA's problem documents become typed
//! [`FailureCode`](crate::FailureCode)s: `rateLimited` is `RateLimited`, a failed validation
//! `ChallengeFailed`, `unauthorized` and unknown accounts `Unauthorized`, a refused name or CSR
//! `Rejected`, anything else the CA says `Upstream`.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

/// How the CA is to validate control of each name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChallengeKind {
    /// `http-01`: the CA fetches `http://NAME/.well-known/acme-challenge/TOKEN` on port 80.
    Http01,
    /// `dns-01`: the CA looks up the TXT record `_acme-challenge.NAME`.
    Dns01,
}

impl ChallengeKind {
    /// The ACME name: `http-01`, `dns-01`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Http01 => "http-01",
            ChallengeKind::Dns01 => "dns-01",
        }
    }
}

/// One step of an order. Answered with `Response<AcmeResponse>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
// Names are not on the postcard wire; a self-describing format (JSON on the command line)
// refuses a field the message does not have.
#[serde(deny_unknown_fields)]
pub struct AcmeRequest {
    /// The CA's directory, `https://HOST[:PORT]/PATH` (e.g.
    /// `https://acme-v02.api.letsencrypt.org/directory`). The plugin dials the URLs the CA gives
    /// it with `net_dial_tls`, so the operator's `net.dial` grant decides which it may reach.
    pub directory_url: String,
    /// The PKCS#10 CSR, PEM, sent to the CA when the order is finalized. Never a private key.
    pub csr_pem: String,
    /// The names to order (DNS names or IP literals), as the host's policy approved them; the
    /// CA checks they match the CSR.
    pub identifiers: Vec<String>,
    /// The challenge the host will answer.
    pub challenge: ChallengeKind,
    /// Contact URLs for a new account (`mailto:ops@example.com`); may be empty.
    pub contact: Vec<String>,
    /// Whether the operator agrees to the CA's terms of service (required by most CAs).
    pub terms_of_service_agreed: bool,
    /// `None` to place a new order; the `order_url` of an earlier answer to continue that order
    /// once the host has published its challenges (or after `Pending`).
    pub order_url: Option<String>,
}

/// What the host must publish for one name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChallengeTask {
    /// The name being validated, e.g. `www.example.com`.
    pub identifier: String,
    /// The kind of challenge.
    pub kind: ChallengeKind,
    /// The CA's token.
    pub token: String,
    /// `TOKEN.THUMBPRINT` (RFC 8555 section 8.1).
    pub key_authorization: String,
    /// For `dns-01` the TXT record's name (`_acme-challenge.www.example.com`); for `http-01` the
    /// path to serve (`/.well-known/acme-challenge/TOKEN`).
    pub name: String,
    /// For `dns-01` the TXT record's value (base64url of the SHA-256 of the key authorization);
    /// for `http-01` the body to serve (the key authorization).
    pub value: String,
}

/// The outcome of one step.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AcmeResponse {
    /// The order exists; publish these (possibly none) and send the request again with
    /// `order_url`.
    Challenges {
        /// The order, to continue.
        order_url: String,
        /// What to publish, one per name not yet authorized.
        challenges: Vec<ChallengeTask>,
    },
    /// The CA is still validating or issuing: wait and send the same request again.
    Pending {
        /// The order, to continue.
        order_url: String,
        /// How long to wait, from the CA's `Retry-After` (at least 1).
        retry_after_seconds: u32,
    },
    /// The certificate.
    Issued {
        /// The order it came from.
        order_url: String,
        /// The leaf followed by its intermediates, PEM, as the CA sent it.
        chain_pem: String,
    },
}
