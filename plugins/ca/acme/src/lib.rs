//! `ca-acme`: obtains a certificate from an ACME (RFC 8555) certificate authority.
//!
//! Input: postcard [`AcmeRequest`]; output: postcard `Result<AcmeResponse, PluginFailure>`. The
//! host drives an order in steps (new order → publish challenges → continue → maybe wait and
//! continue again → issued), as `pluginhost_proto::acme` describes.
//!
//! - Transport: HTTPS only, through `net_dial_tls`: the host verifies the CA's certificate
//!   against the operator's trust anchors and the name dialled; the operator's `net.dial` grant
//!   decides which CA hosts are reachable (every URL the CA hands out is dialled by its host and
//!   port, so a CA that moves its API elsewhere needs that host granted too).
//! - Account key: ES256 (P-256), generated in the plugin from the host's `random_fill` on first
//!   use and kept in the plugin instance's memory for the instance's lifetime. It never leaves
//!   the sandbox: not in a response, a log line or a file. The account URL is found again with
//!   `newAccount` for each directory. If the host rebuilds the instance (after a trap) or
//!   restarts, the next order uses a new key and so a new account; an order placed with the old
//!   one cannot be continued (the CA answers `unauthorized`: start a new order).
//! - Nonces: a `badNonce` answer is retried with the fresh nonce it carries, at most
//!   [`order::MAX_BAD_NONCE_RETRIES`] times per request.
//! - Problems: the CA's problem documents become typed failures (`RateLimited`, `Rejected`,
//!   `Unauthorized`, `ChallengeFailed`, else `Upstream`), with the CA's detail in the message.
//!
//! Manifest: ABI 2, kind `ca`, protocol `acme`, asks for `net.dial` to Let's Encrypt's
//! production and staging APIs and to `acme.example:14000` (the name the tests and the demo pin to a local pebble).

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod b64;
mod http;
mod jws;
pub mod order;
mod pem;
mod problem;
mod url;

use pluginhost_sdk::proto::acme::{AcmeRequest, AcmeResponse};
use pluginhost_sdk::proto::{FailureCode, PluginFailure};
use pluginhost_sdk::Error;

use order::Account;

pluginhost_sdk::manifest! {
    abi: 2,
    name: "ca-acme",
    version: env!("CARGO_PKG_VERSION"),
    kind: ca,
    protocol: acme,
    grants: [
        "net.dial" => "acme-v02.api.letsencrypt.org:443",
        "net.dial" => "acme-staging-v02.api.letsencrypt.org:443",
        "net.dial" => "acme.example:14000",
    ],
}

pluginhost_sdk::entry!(handler);

/// The account of this instance, made on first use.
static ACCOUNT: spin::Mutex<Option<Account>> = spin::Mutex::new(None);

fn handler() -> Result<(), Error> {
    pluginhost_sdk::serve(acme)
}

fn acme(request: AcmeRequest) -> Result<AcmeResponse, PluginFailure> {
    let csr_der = order::validate(&request)?;
    let mut account = ACCOUNT.lock();
    if account.is_none() {
        *account = Some(Account::generate()?);
    }
    match account.as_mut() {
        Some(account) => order::step(&request, &csr_der, account),
        None => Err(PluginFailure::new(FailureCode::Internal, "no account")),
    }
}

#[cfg(test)]
mod tests {
    use pluginhost_sdk::proto::{Manifest, PluginKind, Protocol};

    #[test]
    fn manifest() {
        let m = Manifest::parse(super::MANIFEST_TEXT).expect("valid manifest");
        assert_eq!(m.kind, PluginKind::Ca);
        assert_eq!(m.abi, 2);
        assert_eq!(m.protocol, Some(Protocol::Acme));
        assert_eq!(
            m.scopes("net.dial").collect::<Vec<_>>(),
            [
                "acme-v02.api.letsencrypt.org:443",
                "acme-staging-v02.api.letsencrypt.org:443",
                "acme.example:14000"
            ]
        );
        assert_eq!(m.requests.len(), 3);
    }
}
