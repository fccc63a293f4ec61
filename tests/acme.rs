//! The bundled `ca-acme` plugin against pebble, Let's Encrypt's ACME test server, started on
//! loopback by `pluginhost-testbed`: the full RFC 8555 flow over host-verified TLS to a pinned
//! name, with `PEBBLE_VA_ALWAYS_VALID`, with real `http-01` and `dns-01` validation through
//! pebble-challtestsrv, and the error paths (badNonce retried and bounded, problem documents
//! typed, an untrusted server, an ungranted CA).
//!
//! Skipped (with a line on stderr) where pebble is not installed, except under `CI=true`.
//!
//! Built in release only (`cargo test --release -p pluginhost --test acme`, which
//! `scripts/test.sh` runs): an order is some 200 million interpreted instructions of ES256, a
//! quarter of a second with wasmi optimised and minutes for this file in a debug build.

#![cfg(all(feature = "tls", feature = "cap-net", not(debug_assertions)))]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, ThreadId};

use pluginhost::proto::acme::{AcmeRequest, ChallengeKind, ChallengeTask};
use pluginhost::proto::{FailureCode, PluginFailure};
use pluginhost::{Backends, Capability, Grant, Host, HostConfig, Pin, Plugin, TcpNetwork};
use pluginhost_testbed::{Pebble, PebbleOptions};
use support::acme::{drive, Issued};
use support::csr::key_and_csr;
use support::hosts::grant;

/// Fuel per step: an ES256 signature costs a few million wasm instructions, and a step signs up
/// to a few dozen requests.
const FUEL: u64 = 2_000_000_000;

/// Log lines of the plugins in this test binary (the host logs them through `log`, on the
/// thread that invokes the plugin), each with the thread that logged it.
fn captured() -> &'static Mutex<Vec<(ThreadId, String)>> {
    static LINES: OnceLock<Mutex<Vec<(ThreadId, String)>>> = OnceLock::new();
    static LOGGER: Capture = Capture;
    let lines = LINES.get_or_init(|| Mutex::new(Vec::new()));
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    lines
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        captured()
            .lock()
            .unwrap()
            .push((thread::current().id(), format!("{}", record.args())));
    }
    fn flush(&self) {}
}

/// How many lines this test's thread logged that contain `needle`. Tests run in parallel and
/// share the logger, so another test's lines must not count.
fn count_lines(needle: &str) -> usize {
    let me = thread::current().id();
    captured()
        .lock()
        .unwrap()
        .iter()
        .filter(|(thread, line)| *thread == me && line.contains(needle))
        .count()
}

fn start(options: &PebbleOptions) -> Option<Pebble> {
    Pebble::start(options).unwrap_or_else(|e| panic!("starting pebble: {e}"))
}

/// Pebble validating challenges for real, through pebble-challtestsrv.
fn validating() -> PebbleOptions {
    PebbleOptions {
        always_valid: false,
        challenge_server: true,
        ..PebbleOptions::default()
    }
}

/// `ca-acme` loaded on its own host, for orders to `pebble`.
struct Client<'p> {
    pebble: &'p Pebble,
    host: Host,
    plugin: Plugin,
}

impl<'p> Client<'p> {
    /// A host whose network pins pebble's name to its listener and trusts `roots` for TLS, and
    /// `ca-acme` loaded on it under `grant`.
    fn new(pebble: &'p Pebble, roots: &str, grant: Grant) -> Self {
        let pin: Pin = pebble.pin().parse().unwrap();
        let network = TcpNetwork::new()
            .allow_loopback(true)
            .pin(pin)
            .tls_roots_pem(roots.as_bytes())
            .unwrap();
        let host = Host::with_backends(
            HostConfig::default().with_fuel(FUEL),
            Backends::unavailable().with_network(Arc::new(network)),
        );
        let plugin = host
            .load(pluginhost_bundled::CA_ACME, grant)
            .expect("ca-acme loads");
        Client {
            pebble,
            host,
            plugin,
        }
    }

    /// The usual client: it trusts pebble's listener and is granted pebble's endpoint.
    fn of(pebble: &'p Pebble) -> Self {
        Self::new(pebble, &pebble.tls_ca_pem(), pebble_grant())
    }

    /// Orders a certificate for `names` (`publish` is called for each challenge) with a new
    /// key; a failed order panics with pebble's log.
    fn issue(
        &mut self,
        names: &[&str],
        challenge: ChallengeKind,
        publish: impl FnMut(&ChallengeTask),
    ) -> (rcgen::KeyPair, Issued) {
        let (key, request) = order_request(self.pebble, names, challenge);
        let issued = drive(&self.host, &mut self.plugin, request, publish)
            .unwrap_or_else(|f| panic!("{f}\n{}", self.pebble.log()));
        (key, issued)
    }

    /// Orders a certificate for `name`, publishing nothing, and returns how the order failed.
    fn failed_order(&mut self, name: &str, challenge: ChallengeKind) -> PluginFailure {
        let (_, request) = order_request(self.pebble, &[name], challenge);
        drive(&self.host, &mut self.plugin, request, |_| {}).unwrap_err()
    }
}

fn pebble_grant() -> Grant {
    grant(&[&format!(
        "net.dial={}:{}",
        Pebble::NAME,
        Pebble::GRANTED_PORT
    )])
}

fn order_request(
    pebble: &Pebble,
    names: &[&str],
    challenge: ChallengeKind,
) -> (rcgen::KeyPair, AcmeRequest) {
    let (key, csr_pem) = key_and_csr(names);
    let request = AcmeRequest {
        directory_url: pebble.directory_url(),
        csr_pem,
        identifiers: names.iter().map(|n| n.to_string()).collect(),
        challenge,
        contact: vec!["mailto:ops@example.com".into()],
        terms_of_service_agreed: true,
        order_url: None,
    };
    (key, request)
}

/// Checks `chain_pem` is a leaf for `names` and `key`, issued by pebble's intermediate, which
/// pebble's root (from its management interface) signed.
fn assert_issued_by_pebble(pebble: &Pebble, chain_pem: &str, names: &[&str], key: &rcgen::KeyPair) {
    use x509_parser::extensions::GeneralName;
    let blocks: Vec<_> = x509_parser::pem::Pem::iter_from_buffer(chain_pem.as_bytes())
        .map(Result::unwrap)
        .collect();
    assert!(blocks.len() >= 2, "leaf and intermediate: {chain_pem}");
    let leaf = blocks[0].parse_x509().unwrap();
    let intermediate = blocks[1].parse_x509().unwrap();
    assert_eq!(leaf.public_key().raw, key.public_key_der().as_slice());
    let mut sans: Vec<String> = leaf
        .subject_alternative_name()
        .unwrap()
        .expect("a SAN extension")
        .value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => d.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    sans.sort();
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(sans, expected);
    assert_eq!(leaf.issuer(), intermediate.subject());
    leaf.verify_signature(Some(intermediate.public_key()))
        .expect("the leaf is signed by the intermediate");
    let roots = pebble.issuer_roots_pem().expect("pebble's root");
    let root_pem = x509_parser::pem::Pem::iter_from_buffer(roots.as_bytes())
        .next()
        .expect("a root")
        .unwrap();
    let root = root_pem.parse_x509().unwrap();
    assert_eq!(intermediate.issuer(), root.subject());
    intermediate
        .verify_signature(Some(root.public_key()))
        .expect("the intermediate is signed by pebble's root");
    assert!(!chain_pem.contains("PRIVATE KEY"));
}

#[test]
fn issues_a_certificate_from_pebble_with_always_valid() {
    let Some(pebble) = start(&PebbleOptions::default()) else {
        return;
    };
    let mut client = Client::of(&pebble);
    let names = ["edge-01.example.com", "www.example.com"];
    let (key, issued) = client.issue(&names, ChallengeKind::Dns01, |_| {});
    eprintln!(
        "ca-acme: {} steps, {} fuel in all, memory {} bytes",
        issued.steps,
        client.plugin.stats().fuel_used,
        client.plugin.memory_size()
    );
    assert_eq!(issued.published.len(), 2, "one challenge per name");
    for task in &issued.published {
        assert_eq!(task.kind, ChallengeKind::Dns01);
        assert_eq!(task.name, format!("_acme-challenge.{}", task.identifier));
    }
    assert_issued_by_pebble(&pebble, &issued.chain_pem, &names, &key);
    // Every dial was a granted, verified TLS dial; nothing was denied.
    let calls = client.plugin.stats().calls;
    assert!(calls.allowed(Capability::NetDial) >= 1);
    assert_eq!(calls.total_denied(), 0);

    // The same instance keeps its account: a second order needs no new account.
    let accounts_before = count_lines("account https://");
    assert!(accounts_before >= 1, "the first order logged its account");
    let names = ["api.example.com"];
    let (key, issued) = client.issue(&names, ChallengeKind::Http01, |_| {});
    assert_issued_by_pebble(&pebble, &issued.chain_pem, &names, &key);
    assert_eq!(count_lines("account https://"), accounts_before);
}

#[test]
fn http01_is_validated_for_real_through_the_challenge_server() {
    let Some(pebble) = start(&validating()) else {
        return;
    };
    let mut client = Client::of(&pebble);
    let names = ["web.example.com"];
    let challenges = pebble.challenges().unwrap();
    let (key, issued) = client.issue(&names, ChallengeKind::Http01, |task| {
        assert!(task.name.starts_with("/.well-known/acme-challenge/"));
        challenges.add_http01(&task.token, &task.value).unwrap();
    });
    assert_eq!(issued.published.len(), 1);
    assert!(issued.steps >= 2);
    assert_issued_by_pebble(&pebble, &issued.chain_pem, &names, &key);
}

#[test]
fn dns01_is_validated_for_real_through_the_challenge_server() {
    let Some(pebble) = start(&validating()) else {
        return;
    };
    let mut client = Client::of(&pebble);
    let names = ["dns.example.com"];
    let challenges = pebble.challenges().unwrap();
    let (key, issued) = client.issue(&names, ChallengeKind::Dns01, |task| {
        assert_eq!(task.name, "_acme-challenge.dns.example.com");
        challenges.set_txt(&task.name, &task.value).unwrap();
    });
    assert_issued_by_pebble(&pebble, &issued.chain_pem, &names, &key);
}

#[test]
fn an_unanswered_challenge_fails_typed() {
    let Some(pebble) = start(&validating()) else {
        return;
    };
    // Nothing is published: pebble's validation gets a 404 from the challenge server.
    let failure = Client::of(&pebble).failed_order("nobody.example.com", ChallengeKind::Http01);
    assert_eq!(failure.code, FailureCode::ChallengeFailed, "{failure}");
    assert!(failure.message.contains("http-01"), "{failure}");
}

#[test]
fn bad_nonces_are_retried_and_the_retries_are_bounded() {
    // 40 % of nonces refused: every request that gets badNonce is sent again and the order
    // completes.
    let options = PebbleOptions {
        nonce_reject_percent: 40,
        ..PebbleOptions::default()
    };
    let Some(pebble) = start(&options) else {
        return;
    };
    let mut client = Client::of(&pebble);
    let before = count_lines("badNonce, retrying");
    let names = ["nonce.example.com"];
    let (key, issued) = client.issue(&names, ChallengeKind::Dns01, |_| {});
    assert_issued_by_pebble(&pebble, &issued.chain_pem, &names, &key);
    assert!(
        count_lines("badNonce, retrying") > before,
        "pebble refused no nonce in a whole order at 40 %?"
    );
    drop(client);
    drop(pebble);

    // Every nonce refused: the plugin gives up after its bound, with a typed failure.
    let options = PebbleOptions {
        nonce_reject_percent: 100,
        ..PebbleOptions::default()
    };
    let pebble = start(&options).expect("pebble was there a moment ago");
    let failure = Client::of(&pebble).failed_order("never.example.com", ChallengeKind::Dns01);
    assert_eq!(failure.code, FailureCode::Upstream, "{failure}");
    assert!(failure.message.contains("badNonce"), "{failure}");
}

#[test]
fn a_refused_name_is_a_typed_rejection() {
    let options = PebbleOptions {
        blocked_names: vec!["blocked.example.com".into()],
        ..PebbleOptions::default()
    };
    let Some(pebble) = start(&options) else {
        return;
    };
    let failure = Client::of(&pebble).failed_order("blocked.example.com", ChallengeKind::Dns01);
    assert_eq!(failure.code, FailureCode::Rejected, "{failure}");
    assert!(failure.message.contains("rejectedIdentifier"), "{failure}");
}

#[test]
fn an_untrusted_server_or_an_ungranted_ca_gets_nothing() {
    let Some(pebble) = start(&PebbleOptions::default()) else {
        return;
    };
    // Trust anchors that do not include pebble's listener CA: the host refuses the handshake.
    let stranger = pluginhost_testbed::TestCa::new("some other CA");
    let mut client = Client::new(&pebble, &stranger.cert_pem(), pebble_grant());
    let failure = client.failed_order("x.example.com", ChallengeKind::Dns01);
    assert_eq!(failure.code, FailureCode::Io, "{failure}");
    assert!(failure.message.contains("verify"), "{failure}");
    assert_eq!(client.plugin.stats().calls.total_denied(), 0);

    // A grant for another CA: the dial is denied and counted, before any connection.
    let other_ca = grant(&["net.dial=acme-v02.api.letsencrypt.org:443"]);
    let mut client = Client::new(&pebble, &pebble.tls_ca_pem(), other_ca);
    let failure = client.failed_order("x.example.com", ChallengeKind::Dns01);
    assert_eq!(failure.code, FailureCode::Denied, "{failure}");
    assert_eq!(client.plugin.stats().calls.denied(Capability::NetDial), 1);
}

#[test]
fn the_plugin_passes_the_gate_and_refuses_bad_requests_before_dialling() {
    let host = Host::new(HostConfig::default().with_fuel(FUEL));
    let report = host.conformance(pluginhost_bundled::CA_ACME);
    assert!(report.ok(), "{:?}", report.checks);
    let manifest = report.manifest.expect("a manifest");
    assert_eq!(manifest.abi, 2);
    assert_eq!(manifest.name, "ca-acme");
    assert_eq!(manifest.protocol, Some(pluginhost::proto::Protocol::Acme));

    // A CSR with a private key next to it, a plain-HTTP directory: refused, nothing dialled.
    let mut plugin = host
        .load(
            pluginhost_bundled::CA_ACME,
            grant(&["net.dial=a.example:443"]),
        )
        .unwrap();
    let (_, csr) = key_and_csr(&["a.example"]);
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    for (directory, csr_pem) in [
        ("https://a.example/dir", format!("{csr}{key}")),
        ("http://a.example/dir", csr.clone()),
    ] {
        let request = AcmeRequest {
            directory_url: directory.into(),
            csr_pem,
            identifiers: vec!["a.example".into()],
            challenge: ChallengeKind::Dns01,
            contact: Vec::new(),
            terms_of_service_agreed: true,
            order_url: None,
        };
        let response: pluginhost::proto::Response<pluginhost::proto::acme::AcmeResponse> =
            host.invoke_typed(&mut plugin, "run", &request).unwrap();
        assert_eq!(response.unwrap_err().code, FailureCode::BadRequest);
    }
    assert_eq!(plugin.stats().calls.allowed(Capability::NetDial), 0);
}
