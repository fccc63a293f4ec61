//! The ACME flow: directory, nonce, account, order, authorizations, challenges, finalize, poll,
//! download. Each invocation is one step the host drives (see `pluginhost_proto::acme`).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use pluginhost_sdk::proto::acme::{AcmeRequest, AcmeResponse, ChallengeKind, ChallengeTask};
use pluginhost_sdk::proto::{FailureCode, PluginFailure};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::http::{Client, Response};
use crate::jws::{json_string, AccountKey};
use crate::problem::{bare_failure, Problem};
use crate::url::Url;
use crate::{b64, pem};

/// How many times a request refused with `badNonce` is sent again with the fresh nonce.
pub const MAX_BAD_NONCE_RETRIES: u32 = 10;
/// Rounds of the order's state machine per invocation before answering `Pending`.
const MAX_ROUNDS: u32 = 8;
/// The most names one order may have.
pub const MAX_IDENTIFIERS: usize = 100;
/// The longest name accepted.
const MAX_IDENTIFIER_BYTES: usize = 253;

/// The account: the key (made once per plugin instance) and its URL at each CA directory.
pub struct Account {
    key: AccountKey,
    kids: Vec<(String, String)>,
}

impl Account {
    /// A new account key from the host's entropy; no CA knows it yet.
    pub fn generate() -> Result<Account, PluginFailure> {
        Ok(Account {
            key: AccountKey::generate()?,
            kids: Vec::new(),
        })
    }

    fn kid(&self, directory: &str) -> Option<&str> {
        self.kids
            .iter()
            .find(|(d, _)| d == directory)
            .map(|(_, k)| k.as_str())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Directory {
    new_nonce: String,
    new_account: String,
    new_order: String,
}

#[derive(Deserialize)]
struct Order {
    status: String,
    #[serde(default)]
    authorizations: Vec<String>,
    finalize: String,
    #[serde(default)]
    certificate: Option<String>,
    #[serde(default)]
    error: Option<Problem>,
}

#[derive(Deserialize)]
struct Identifier {
    value: String,
}

#[derive(Deserialize)]
struct Authorization {
    status: String,
    identifier: Identifier,
    #[serde(default)]
    challenges: Vec<Challenge>,
}

#[derive(Deserialize)]
struct Challenge {
    #[serde(rename = "type")]
    kind: String,
    url: String,
    status: String,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    error: Option<Problem>,
}

#[derive(Serialize)]
struct NewIdentifier<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct NewOrder<'a> {
    identifiers: Vec<NewIdentifier<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewAccount<'a> {
    terms_of_service_agreed: bool,
    contact: &'a [String],
}

/// Checks the request before anything is sent.
pub fn validate(request: &AcmeRequest) -> Result<Vec<u8>, PluginFailure> {
    if request.identifiers.is_empty() {
        return Err(PluginFailure::bad_request("no identifiers to order"));
    }
    if request.identifiers.len() > MAX_IDENTIFIERS {
        return Err(PluginFailure::limit("more than 100 identifiers"));
    }
    for name in &request.identifiers {
        let ok = !name.is_empty()
            && name.len() <= MAX_IDENTIFIER_BYTES
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:*".contains(&b));
        if !ok {
            return Err(PluginFailure::bad_request(format!(
                "identifier {:.64} is not a DNS name or IP literal",
                name
            )));
        }
    }
    if request.contact.len() > 8 || request.contact.iter().any(|c| c.len() > 256) {
        return Err(PluginFailure::limit(
            "more than 8 contacts, or one over 256 bytes",
        ));
    }
    Url::parse(&request.directory_url)
        .map_err(|f| PluginFailure::bad_request(format!("directory_url: {}", f.message)))?;
    if let Some(order) = &request.order_url {
        Url::parse(order)
            .map_err(|f| PluginFailure::bad_request(format!("order_url: {}", f.message)))?;
    }
    pem::csr_der(&request.csr_pem)
}

/// One step of an order for `request`, with `account`.
pub fn step(
    request: &AcmeRequest,
    csr_der: &[u8],
    account: &mut Account,
) -> Result<AcmeResponse, PluginFailure> {
    let mut session = Session::open(&request.directory_url, account)?;
    session.ensure_account(request)?;
    match &request.order_url {
        None => session.new_order(request),
        Some(order_url) => session.advance(order_url, request.challenge, csr_der),
    }
}

/// One invocation's conversation with the CA.
struct Session<'a> {
    http: Client,
    directory_url: String,
    directory: Directory,
    nonce: Option<String>,
    account: &'a mut Account,
    retry_after: u32,
    bad_nonces: u32,
}

impl<'a> Session<'a> {
    /// Fetches the directory.
    fn open(directory_url: &str, account: &'a mut Account) -> Result<Session<'a>, PluginFailure> {
        let mut http = Client::default();
        let url = Url::parse(directory_url)?;
        let response = http.request("GET", &url, &[("Accept", "application/json")], b"")?;
        if response.status != 200 {
            return Err(error_of("fetching the directory", &response));
        }
        let directory: Directory = json(&response, "the directory")?;
        Ok(Session {
            http,
            directory_url: directory_url.to_string(),
            directory,
            nonce: None,
            account,
            retry_after: 1,
            bad_nonces: 0,
        })
    }

    /// A fresh nonce: the last response's, or one from `newNonce`.
    fn nonce(&mut self) -> Result<String, PluginFailure> {
        if let Some(nonce) = self.nonce.take() {
            return Ok(nonce);
        }
        let url = Url::parse(&self.directory.new_nonce)?;
        let response = self.http.request("HEAD", &url, &[], b"")?;
        if !(200..300).contains(&response.status) {
            return Err(error_of("getting a nonce", &response));
        }
        response
            .header("replay-nonce")
            .map(String::from)
            .ok_or_else(|| PluginFailure::protocol("newNonce answered without a Replay-Nonce"))
    }

    /// A signed POST (`payload` empty: POST-as-GET), sent again with the fresh nonce after
    /// `badNonce`, at most [`MAX_BAD_NONCE_RETRIES`] times. Error statuses become failures.
    fn post(
        &mut self,
        what: &str,
        url: &str,
        payload: &str,
        accept: &str,
    ) -> Result<Response, PluginFailure> {
        let target = Url::parse(url)?;
        let mut attempt = 0;
        loop {
            let nonce = self.nonce()?;
            let kid = self.account.kid(&self.directory_url).map(String::from);
            let body = self.account.key.sign(url, &nonce, kid.as_deref(), payload);
            let response = self.http.request(
                "POST",
                &target,
                &[
                    ("Content-Type", "application/jose+json"),
                    ("Accept", accept),
                ],
                body.as_bytes(),
            )?;
            self.nonce = response.header("replay-nonce").map(String::from);
            if let Some(seconds) = response
                .header("retry-after")
                .and_then(|s| s.trim().parse::<u32>().ok())
            {
                self.retry_after = seconds.clamp(1, 3600);
            }
            if response.status < 400 {
                return Ok(response);
            }
            let problem = Problem::parse(&response.body);
            if let Some(p) = &problem {
                if p.is_bad_nonce() && attempt < MAX_BAD_NONCE_RETRIES && self.nonce.is_some() {
                    attempt += 1;
                    self.bad_nonces += 1;
                    pluginhost_sdk::info!(
                        "{what}: badNonce, retrying with the fresh nonce ({attempt})"
                    );
                    continue;
                }
            }
            return Err(error_of(what, &response));
        }
    }

    /// The account URL at this directory: known, or made with `newAccount` (which also finds an
    /// existing account for the same key).
    fn ensure_account(&mut self, request: &AcmeRequest) -> Result<(), PluginFailure> {
        if self.account.kid(&self.directory_url).is_some() {
            return Ok(());
        }
        let payload = serde_json::to_string(&NewAccount {
            terms_of_service_agreed: request.terms_of_service_agreed,
            contact: &request.contact,
        })
        .map_err(|_| PluginFailure::new(FailureCode::Internal, "encoding newAccount"))?;
        let url = self.directory.new_account.clone();
        let response = self.post("creating the account", &url, &payload, "application/json")?;
        let kid = response
            .header("location")
            .ok_or_else(|| PluginFailure::protocol("newAccount answered without a Location"))?;
        Url::parse(kid)?;
        pluginhost_sdk::info!("account {kid} (HTTP {})", response.status);
        self.account
            .kids
            .push((self.directory_url.clone(), kid.to_string()));
        Ok(())
    }

    /// Places the order and lists what the host must publish.
    fn new_order(&mut self, request: &AcmeRequest) -> Result<AcmeResponse, PluginFailure> {
        let identifiers = request
            .identifiers
            .iter()
            .map(|value| NewIdentifier {
                kind: if value.parse::<core::net::IpAddr>().is_ok() {
                    "ip"
                } else {
                    "dns"
                },
                value,
            })
            .collect();
        let payload = serde_json::to_string(&NewOrder { identifiers })
            .map_err(|_| PluginFailure::new(FailureCode::Internal, "encoding newOrder"))?;
        let url = self.directory.new_order.clone();
        let response = self.post("placing the order", &url, &payload, "application/json")?;
        let order_url = response
            .header("location")
            .ok_or_else(|| PluginFailure::protocol("newOrder answered without a Location"))?
            .to_string();
        Url::parse(&order_url)?;
        let order: Order = json(&response, "the order")?;
        pluginhost_sdk::info!(
            "order {order_url}: {} ({} authorizations)",
            order.status,
            order.authorizations.len()
        );
        let mut challenges = Vec::new();
        for authz_url in &order.authorizations {
            let authz = self.authorization(authz_url)?;
            match authz.status.as_str() {
                "valid" => {}
                "pending" => {
                    let challenge = pick(&authz, request.challenge)?;
                    challenges.push(self.task(&authz, challenge, request.challenge)?);
                }
                other => return Err(authorization_failure(&authz, other)),
            }
        }
        Ok(AcmeResponse::Challenges {
            order_url,
            challenges,
        })
    }

    fn authorization(&mut self, url: &str) -> Result<Authorization, PluginFailure> {
        let response = self.post("fetching an authorization", url, "", "application/json")?;
        json(&response, "an authorization")
    }

    /// What the host must publish for `challenge`.
    fn task(
        &self,
        authz: &Authorization,
        challenge: &Challenge,
        kind: ChallengeKind,
    ) -> Result<ChallengeTask, PluginFailure> {
        let token = challenge
            .token
            .as_deref()
            .filter(|t| {
                !t.is_empty()
                    && t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .ok_or_else(|| PluginFailure::protocol("a challenge has no valid token"))?;
        let key_authorization = format!("{token}.{}", self.account.key.thumbprint());
        let identifier = authz.identifier.value.clone();
        let (name, value) = match kind {
            ChallengeKind::Dns01 => (
                format!("_acme-challenge.{}", identifier.trim_start_matches("*.")),
                b64::url(&Sha256::digest(key_authorization.as_bytes())),
            ),
            ChallengeKind::Http01 => (
                format!("/.well-known/acme-challenge/{token}"),
                key_authorization.clone(),
            ),
        };
        Ok(ChallengeTask {
            identifier,
            kind,
            token: token.to_string(),
            key_authorization,
            name,
            value,
        })
    }

    /// Drives the order as far as it goes in one invocation.
    fn advance(
        &mut self,
        order_url: &str,
        kind: ChallengeKind,
        csr_der: &[u8],
    ) -> Result<AcmeResponse, PluginFailure> {
        let mut finalized = false;
        for _ in 0..MAX_ROUNDS {
            let response = self.post("fetching the order", order_url, "", "application/json")?;
            let order: Order = json(&response, "the order")?;
            match order.status.as_str() {
                "pending" => {
                    for authz_url in &order.authorizations {
                        let authz = self.authorization(authz_url)?;
                        match authz.status.as_str() {
                            "valid" => {}
                            "pending" => {
                                let challenge = pick(&authz, kind)?;
                                match challenge.status.as_str() {
                                    "pending" => {
                                        let url = challenge.url.clone();
                                        self.post(
                                            "answering a challenge",
                                            &url,
                                            "{}",
                                            "application/json",
                                        )?;
                                        pluginhost_sdk::info!(
                                            "{} ready for {}",
                                            kind.as_str(),
                                            authz.identifier.value
                                        );
                                    }
                                    "invalid" => {
                                        return Err(challenge_failure(&authz, challenge));
                                    }
                                    _ => {}
                                }
                            }
                            other => return Err(authorization_failure(&authz, other)),
                        }
                    }
                }
                "ready" if !finalized => {
                    let payload = format!(r#"{{"csr":{}}}"#, json_string(&b64::url(csr_der)));
                    let url = order.finalize.clone();
                    self.post("finalizing the order", &url, &payload, "application/json")?;
                    finalized = true;
                    pluginhost_sdk::info!("order finalized with the CSR");
                }
                "ready" | "processing" => {}
                "valid" => {
                    let url = order.certificate.ok_or_else(|| {
                        PluginFailure::protocol("a valid order has no certificate URL")
                    })?;
                    let response = self.post(
                        "downloading the certificate",
                        &url,
                        "",
                        "application/pem-certificate-chain",
                    )?;
                    let chain_pem = String::from_utf8(response.body)
                        .ok()
                        .filter(|pem| pem.trim_start().starts_with("-----BEGIN CERTIFICATE-----"))
                        .ok_or_else(|| {
                            PluginFailure::protocol("the certificate download is not a PEM chain")
                        })?;
                    pluginhost_sdk::info!(
                        "issued: {} certificate(s), {} badNonce retries",
                        chain_pem.matches("-----BEGIN CERTIFICATE-----").count(),
                        self.bad_nonces
                    );
                    return Ok(AcmeResponse::Issued {
                        order_url: order_url.to_string(),
                        chain_pem,
                    });
                }
                "invalid" => {
                    // The order's own error, or the failed challenge behind it.
                    for authz_url in &order.authorizations {
                        let authz = self.authorization(authz_url)?;
                        if authz.status == "invalid" {
                            if let Ok(challenge) = pick(&authz, kind) {
                                return Err(challenge_failure(&authz, challenge));
                            }
                        }
                    }
                    return Err(match order.error {
                        Some(problem) => problem.failure("the order is invalid", 0, None),
                        None => PluginFailure::upstream("the order is invalid"),
                    });
                }
                other => {
                    return Err(PluginFailure::protocol(format!(
                        "the order has the unknown status {other:.32}"
                    )))
                }
            }
        }
        Ok(AcmeResponse::Pending {
            order_url: order_url.to_string(),
            retry_after_seconds: self.retry_after,
        })
    }
}

/// The challenge of `kind` in `authz`.
fn pick(authz: &Authorization, kind: ChallengeKind) -> Result<&Challenge, PluginFailure> {
    authz
        .challenges
        .iter()
        .find(|c| c.kind == kind.as_str())
        .ok_or_else(|| {
            PluginFailure::new(
                FailureCode::Rejected,
                format!(
                    "the CA offers no {} challenge for {:.64}",
                    kind.as_str(),
                    authz.identifier.value
                ),
            )
        })
}

fn challenge_failure(authz: &Authorization, challenge: &Challenge) -> PluginFailure {
    let what = format!(
        "{} for {:.64} failed",
        challenge.kind, authz.identifier.value
    );
    match &challenge.error {
        Some(problem) => {
            let mut f = problem.failure(&what, 0, None);
            // A failed validation is a challenge failure whatever type the CA gives it
            // (`unauthorized` for a wrong key authorization, `incorrectResponse`, `dns`, ...).
            if f.code != FailureCode::RateLimited {
                f.code = FailureCode::ChallengeFailed;
            }
            f
        }
        None => PluginFailure::new(FailureCode::ChallengeFailed, what),
    }
}

fn authorization_failure(authz: &Authorization, status: &str) -> PluginFailure {
    if status == "invalid" {
        if let Some(challenge) = authz.challenges.iter().find(|c| c.status == "invalid") {
            return challenge_failure(authz, challenge);
        }
        return PluginFailure::new(
            FailureCode::ChallengeFailed,
            format!(
                "the authorization for {:.64} is invalid",
                authz.identifier.value
            ),
        );
    }
    PluginFailure::new(
        FailureCode::Rejected,
        format!(
            "the authorization for {:.64} is {status:.16}",
            authz.identifier.value
        ),
    )
}

/// The failure for an error response.
fn error_of(what: &str, response: &Response) -> PluginFailure {
    let retry_after = response.header("retry-after");
    match Problem::parse(&response.body) {
        Some(problem) => problem.failure(what, response.status, retry_after),
        None => bare_failure(what, response.status, retry_after),
    }
}

/// A JSON body as `T`.
fn json<T: serde::de::DeserializeOwned>(
    response: &Response,
    what: &str,
) -> Result<T, PluginFailure> {
    serde_json::from_slice(&response.body)
        .map_err(|_| PluginFailure::protocol(format!("{what} is not the JSON ACME defines")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AcmeRequest {
        AcmeRequest {
            directory_url: "https://acme.example:14000/dir".into(),
            csr_pem: "-----BEGIN CERTIFICATE REQUEST-----\nMBAAAAAAAAAAAAAAAAAAAAAA\n-----END CERTIFICATE REQUEST-----\n".into(),
            identifiers: alloc::vec!["www.example.com".into()],
            challenge: ChallengeKind::Dns01,
            contact: Vec::new(),
            terms_of_service_agreed: true,
            order_url: None,
        }
    }

    #[test]
    fn validation() {
        assert!(validate(&request()).is_ok());
        let code = |f: fn(&mut AcmeRequest)| {
            let mut r = request();
            f(&mut r);
            validate(&r).unwrap_err().code
        };
        assert_eq!(code(|r| r.identifiers.clear()), FailureCode::BadRequest);
        assert_eq!(
            code(|r| r.identifiers = alloc::vec!["a b".into()]),
            FailureCode::BadRequest
        );
        assert_eq!(
            code(|r| r.identifiers = alloc::vec!["x".into(); 101]),
            FailureCode::Limit
        );
        assert_eq!(
            code(|r| r.directory_url = "http://a.test/dir".into()),
            FailureCode::BadRequest
        );
        assert_eq!(
            code(|r| r.order_url = Some("ftp://x".into())),
            FailureCode::BadRequest
        );
        assert_eq!(code(|r| r.csr_pem = "nope".into()), FailureCode::BadRequest);
        assert_eq!(
            code(|r| r.contact = alloc::vec!["m".into(); 9]),
            FailureCode::Limit
        );
    }

    #[test]
    fn challenge_tasks() {
        let account = Account {
            key: AccountKey::from_signing_key(
                p256::ecdsa::SigningKey::from_bytes(&[3u8; 32].into()).unwrap(),
            ),
            kids: Vec::new(),
        };
        let authz = Authorization {
            status: "pending".into(),
            identifier: Identifier {
                value: "www.example.com".into(),
            },
            challenges: alloc::vec![Challenge {
                kind: "dns-01".into(),
                url: "https://a.test/chal/1".into(),
                status: "pending".into(),
                token: Some("tok_en-1".into()),
                error: None,
            }],
        };
        let thumb = account.key.thumbprint();
        let mut account = account;
        let session = Session {
            http: Client::default(),
            directory_url: String::new(),
            directory: Directory {
                new_nonce: String::new(),
                new_account: String::new(),
                new_order: String::new(),
            },
            nonce: None,
            account: &mut account,
            retry_after: 1,
            bad_nonces: 0,
        };
        let challenge = pick(&authz, ChallengeKind::Dns01).unwrap();
        let task = session
            .task(&authz, challenge, ChallengeKind::Dns01)
            .unwrap();
        assert_eq!(task.key_authorization, format!("tok_en-1.{thumb}"));
        assert_eq!(task.name, "_acme-challenge.www.example.com");
        assert_eq!(
            task.value,
            b64::url(&Sha256::digest(task.key_authorization.as_bytes()))
        );
        let task = session
            .task(&authz, challenge, ChallengeKind::Http01)
            .unwrap();
        assert_eq!(task.name, "/.well-known/acme-challenge/tok_en-1");
        assert_eq!(task.value, task.key_authorization);
        assert_eq!(
            pick(&authz, ChallengeKind::Http01).err().map(|f| f.code),
            Some(FailureCode::Rejected)
        );
    }
}
