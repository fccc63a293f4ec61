//! `net_dial_tls` through `TcpNetwork`: the host verifies the server against the operator's trust
//! anchors and the name the plugin dialled; pins send a granted name to an address (and port)
//! without resolving; the grant and the address policy still apply.

#![cfg(all(feature = "tls", feature = "cap-net"))]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pluginhost::{
    BackendError, DialTarget, Grant, HostConfig, Network, Pin, PinError, TcpNetwork, TlsRootsError,
};
use pluginhost_testbed::{Leaf, TestCa};
use support::abi::*;
use support::checks::*;
use support::fixture::*;
use support::hosts::*;

/// A back-end timeout longer than anything these tests wait for.
const T: Duration = Duration::from_secs(3600);

/// A TLS server on loopback presenting `leaf` that echoes one
/// connection's first message with `tls:` in front; returns its port.
fn tls_echo_server(leaf: &Leaf) -> (u16, thread::JoinHandle<()>) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone())),
        )
        .unwrap();
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::Stream::new(&mut conn, &mut sock);
        let mut buf = [0u8; 64];
        // A client that gave up on our certificate ends the handshake with an alert.
        let Ok(n) = tls.read(&mut buf) else { return };
        let mut reply = b"tls:".to_vec();
        reply.extend_from_slice(&buf[..n]);
        let _ = tls.write_all(&reply);
        let _ = tls.flush();
    });
    (port, server)
}

/// A plain TCP server that answers like an HTTP server and hangs up.
fn plain_server() -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let _ = sock.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    (port, server)
}

/// The fixture: `net_dial_tls(host, port)`, then send `ping` and receive up to 32 bytes.
fn dial_tls_fixture(host: &str, port: u16) -> (Fixture, Span) {
    let mut fx = Fixture::new();
    let name = fx.put(host);
    let msg = fx.put("ping");
    let buf = fx.reserve(32);
    fx.call("net_dial_tls", &[name.ptr, name.len, i32::from(port)])
        .call_args(
            "net_send",
            vec![Arg::Ret(0), Arg::C(msg.ptr), Arg::C(msg.len)],
        )
        .call_args(
            "net_recv",
            vec![Arg::Ret(0), Arg::C(buf.ptr), Arg::C(buf.len)],
        )
        .emit(buf);
    (fx, buf)
}

fn network(ca: &TestCa) -> TcpNetwork {
    TcpNetwork::new()
        .allow_loopback(true)
        .io_timeout(Duration::from_secs(5))
        .tls_roots_pem(ca.cert_pem().as_bytes())
        .unwrap()
}

fn pinned(name: &str, granted_port: u16, real_port: u16) -> Pin {
    format!("{name}:{granted_port}=127.0.0.1:{real_port}")
        .parse()
        .unwrap()
}

#[test]
fn a_verified_tls_connection_to_a_pinned_name_carries_data() {
    let ca = TestCa::new("net_tls test CA");
    let leaf = ca.issue(&["acme.test"], false);
    let (port, server) = tls_echo_server(&leaf);
    // The plugin dials the granted name and port 443; the pin sends it to the server's port.
    let net = network(&ca).pin(pinned("acme.test", 443, port));
    let host = host_with_network(HostConfig::default(), Arc::new(net));
    let (fx, _) = dial_tls_fixture("acme.test", 443);
    let (plugin, out) = fx.load_and_run(&host, grant(&["net.dial=acme.test:443"]));
    assert_eq!(out.codes[0], 0, "a handle");
    assert_eq!(out.codes[1], 4);
    assert_eq!(out.codes[2], 8);
    assert_eq!(&out.emitted[..8], b"tls:ping");
    // The dial, the send and the receive.
    assert_counts(&plugin, [(0, 0), (0, 0), (3, 0), (0, 0)]);
    server.join().unwrap();
}

#[test]
fn an_ip_literal_is_verified_against_the_certificates_ip_names() {
    let ca = TestCa::new("net_tls test CA");
    let leaf = ca.issue(&["127.0.0.1"], false);
    let (port, server) = tls_echo_server(&leaf);
    let host = host_with_network(HostConfig::default(), Arc::new(network(&ca)));
    let (fx, _) = dial_tls_fixture("127.0.0.1", port);
    let (_, out) = fx.load_and_run(&host, grant(&[&format!("net.dial=127.0.0.1:{port}")]));
    assert_eq!(&out.emitted[..8], b"tls:ping");
    server.join().unwrap();
}

/// Dials `name` (pinned to a server presenting `leaf`) through a network trusting `trusted`;
/// returns the dial's result and the plugin's (allowed, denied) net.dial counts.
fn dial_result(trusted: &TestCa, leaf: &Leaf, name: &str) -> (i32, (u64, u64)) {
    let (port, server) = tls_echo_server(leaf);
    let net = network(trusted).pin(pinned(name, 443, port));
    let host = host_with_network(HostConfig::default(), Arc::new(net));
    let (fx, _) = dial_tls_fixture(name, 443);
    let (plugin, out) = fx.load_and_run(&host, grant(&[&format!("net.dial={name}:443")]));
    server.join().unwrap();
    let calls = plugin.stats().calls;
    let net = pluginhost::Capability::NetDial;
    (out.codes[0], (calls.allowed(net), calls.denied(net)))
}

#[test]
fn a_certificate_for_another_name_is_refused_with_tls() {
    let ca = TestCa::new("net_tls test CA");
    let leaf = ca.issue(&["other.test"], false);
    let (code, counts) = dial_result(&ca, &leaf, "acme.test");
    assert_eq!(code, TLS);
    // A verification failure is not a denial: the grant admitted the dial.
    assert_eq!(counts.1, 0);
}

#[test]
fn a_certificate_from_an_untrusted_ca_is_refused_with_tls() {
    let trusted = TestCa::new("trusted CA");
    let rogue = TestCa::new("rogue CA");
    let leaf = rogue.issue(&["acme.test"], false);
    assert_eq!(dial_result(&trusted, &leaf, "acme.test").0, TLS);
}

#[test]
fn an_expired_certificate_is_refused_with_tls() {
    let ca = TestCa::new("net_tls test CA");
    let leaf = ca.issue(&["acme.test"], true);
    assert_eq!(dial_result(&ca, &leaf, "acme.test").0, TLS);
}

#[test]
fn a_peer_that_does_not_speak_tls_is_refused_with_tls() {
    let ca = TestCa::new("net_tls test CA");
    let (port, server) = plain_server();
    let net = network(&ca).pin(pinned("acme.test", 443, port));
    let host = host_with_network(HostConfig::default(), Arc::new(net));
    let (fx, _) = dial_tls_fixture("acme.test", 443);
    let (_, out) = fx.load_and_run(&host, grant(&["net.dial=acme.test:443"]));
    assert_eq!(out.codes[0], TLS);
    server.join().unwrap();
}

#[test]
fn without_trust_anchors_tls_is_unavailable() {
    let net = TcpNetwork::new()
        .allow_loopback(true)
        .pin(pinned("acme.test", 443, 1));
    assert_eq!(net.tls_anchors(), 0);
    let target = DialTarget::parse("acme.test:443").unwrap();
    assert_eq!(
        net.dial_tls(&target, T).err(),
        Some(BackendError::Unsupported)
    );
    let host = host_with_network(HostConfig::default(), Arc::new(net));
    let (fx, _) = dial_tls_fixture("acme.test", 443);
    let (_, out) = fx.load_and_run(&host, grant(&["net.dial=acme.test:443"]));
    assert_eq!(out.codes[0], IO);
}

#[test]
fn the_grant_still_decides_tls_dials() {
    let ca = TestCa::new("net_tls test CA");
    let net = network(&ca).pin(pinned("acme.test", 443, 1));
    let host = host_with_network(HostConfig::default(), Arc::new(net));
    // Another port, another name: denied before any connection, and counted.
    for (name, port) in [("acme.test", 444), ("evil.test", 443)] {
        let (fx, _) = dial_tls_fixture(name, port);
        let (plugin, out) = fx.load_and_run(&host, grant(&["net.dial=acme.test:443"]));
        assert_eq!(out.codes[0], DENIED, "{name}:{port}");
        assert_eq!(denials(&plugin), [("net_dial_tls", 1)]);
    }
    // No net.dial at all: the import does not link.
    let (fx, _) = dial_tls_fixture("acme.test", 443);
    let err = host.load(&fx.wasm(), Grant::none()).unwrap_err();
    assert!(
        matches!(
            err,
            pluginhost::LoadError::NotGranted {
                import: "net_dial_tls",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn trust_anchor_errors_are_typed() {
    let empty = TcpNetwork::new().tls_roots_pem(b"no certificates here");
    assert_eq!(empty.err(), Some(TlsRootsError::NoCertificates));
    let bad = TcpNetwork::new()
        .tls_roots_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    assert_eq!(bad.err(), Some(TlsRootsError::Invalid));
    let missing = TcpNetwork::new().tls_roots_file("/nonexistent/roots.pem");
    assert_eq!(missing.err(), Some(TlsRootsError::Unreadable));
    let ca = TestCa::new("two");
    let other = TestCa::new("three");
    let both = format!("{}{}", ca.cert_pem(), other.cert_pem());
    let net = TcpNetwork::new().tls_roots_pem(both.as_bytes()).unwrap();
    assert_eq!(net.tls_anchors(), 2);
}

// --- pins ----------------------------------------------------------------------------------------

#[test]
fn pins_parse_with_or_without_a_port() {
    let pin: Pin = "acme.example:14000=127.0.0.1".parse().unwrap();
    assert_eq!(pin.target().to_string(), "acme.example:14000");
    assert_eq!(pin.address(), SocketAddr::from(([127, 0, 0, 1], 14000)));
    let pin: Pin = "ACME.example.:443=127.0.0.1:14000".parse().unwrap();
    assert_eq!(pin.target().to_string(), "acme.example:443");
    assert_eq!(pin.address(), SocketAddr::from(([127, 0, 0, 1], 14000)));
    assert_eq!(pin.to_string(), "acme.example:443=127.0.0.1:14000");
    let pin: Pin = "a.test:443=[::1]:8443".parse().unwrap();
    assert_eq!(pin.address().to_string(), "[::1]:8443");
    let pin: Pin = "a.test:443=::1".parse().unwrap();
    assert_eq!(pin.address().to_string(), "[::1]:443");
    let pin: Pin = "a.test:443=[::1]".parse().unwrap();
    assert_eq!(pin.address().to_string(), "[::1]:443");
    for (bad, error) in [
        ("a.test:443", PinError::MissingAddress),
        ("a.test=127.0.0.1", PinError::BadTarget),
        ("a.test:0=127.0.0.1", PinError::BadTarget),
        ("a..test:443=127.0.0.1", PinError::BadTarget),
        ("*.test:443=127.0.0.1", PinError::BadTarget),
        ("10.0.0.1:443=127.0.0.1", PinError::NotAName),
        ("a.test:443=localhost", PinError::BadAddress),
        ("a.test:443=127.0.0.1:0", PinError::BadAddress),
        ("a.test:443=127.0.0.1:70000", PinError::BadAddress),
        ("a.test:443=0x7f000001", PinError::BadAddress),
        ("a.test:443=", PinError::BadAddress),
    ] {
        assert_eq!(bad.parse::<Pin>().err(), Some(error), "{bad}");
    }
}

/// An echo server for one plain TCP connection.
fn echo_server() -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = [0u8; 16];
        let n = sock.read(&mut buf).unwrap();
        sock.write_all(&buf[..n]).unwrap();
    });
    (port, server)
}

#[test]
fn a_pinned_name_is_never_resolved_and_goes_to_the_pinned_port() {
    let (port, server) = echo_server();
    let resolved = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&resolved);
    let net = TcpNetwork::new()
        .allow_loopback(true)
        .resolve_with(Arc::new(move |_: &str, _: u16| {
            counter.fetch_add(1, Ordering::SeqCst);
            Err(io::Error::other("the resolver must not be asked"))
        }))
        .pin(pinned("ca.example", 14000, 1)) // replaced by the next pin for the same target
        .pin(pinned("ca.example", 14000, port));
    assert_eq!(net.pins().len(), 1);
    let mut conn = net
        .dial(&DialTarget::parse("ca.example:14000").unwrap(), T)
        .unwrap();
    conn.send(b"hi", T).unwrap();
    let mut buf = [0u8; 2];
    assert_eq!(conn.recv(&mut buf, T).unwrap(), 2);
    server.join().unwrap();
    assert_eq!(resolved.load(Ordering::SeqCst), 0);
    // Another port of the same name is not pinned: it is resolved (and fails here).
    assert_eq!(
        net.dial(&DialTarget::parse("ca.example:443").unwrap(), T)
            .err(),
        Some(BackendError::NotFound)
    );
    assert_eq!(resolved.load(Ordering::SeqCst), 1);
}

#[test]
fn a_pinned_address_still_passes_the_address_policy() {
    // Loopback not allowed: the pin does not override the policy.
    let net = TcpNetwork::new().pin(pinned("ca.example", 443, 1));
    let target = DialTarget::parse("ca.example:443").unwrap();
    assert_eq!(net.dial(&target, T).err(), Some(BackendError::Denied));
    let private: Pin = "ca.example:443=10.1.2.3".parse().unwrap();
    let net = TcpNetwork::new().allow_loopback(true).pin(private);
    assert_eq!(net.dial(&target, T).err(), Some(BackendError::Denied));
    // Through a plugin: the back-end's refusal is counted as a denial.
    let host = host_with_network(HostConfig::default(), Arc::new(net));
    let mut fx = Fixture::new();
    let name = fx.put("ca.example");
    fx.call("net_dial", &[name.ptr, name.len, 443]);
    let (plugin, out) = fx.load_and_run(&host, grant(&["net.dial=ca.example:443"]));
    assert_eq!(out.codes, [DENIED]);
    assert_eq!(denials(&plugin), [("net_dial", 1)]);
}

#[test]
fn a_tls_peer_that_never_answers_the_handshake_ends_the_invocation_at_its_blocking_time() {
    // Accepts and keeps the connection open, never sending a byte of the handshake.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        let _ = stopped.recv();
        drop(sock);
    });
    let ca = TestCa::new("net_tls test CA");
    // The back-end would wait an hour; the invocation's blocking time is one second.
    let net = network(&ca)
        .io_timeout(T)
        .connect_timeout(T)
        .pin(pinned("acme.test", 443, port));
    let config = HostConfig::default()
        .with_limits(pluginhost::Limits::DEFAULT.with_blocking_time(Duration::from_secs(1)));
    let host = Arc::new(host_with_network(config, Arc::new(net)));
    let (fx, _) = dial_tls_fixture("acme.test", 443);
    let mut plugin = host
        .load(&fx.wasm(), grant(&["net.dial=acme.test:443"]))
        .unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    let worker = Arc::clone(&host);
    thread::spawn(move || {
        let result = worker.invoke(&mut plugin, "run", b"");
        let _ = done.send(result.map_err(|e| e.kind()));
    });
    // A watchdog, not a timing claim: unbounded, the handshake would wait for an hour.
    let result = finished
        .recv_timeout(Duration::from_secs(120))
        .expect("the TLS dial was still blocked after 120 s");
    assert_eq!(result, Err("timeout"));
    drop(stop);
}
