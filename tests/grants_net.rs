//! Network grants through the real `net_dial` host function (catalogue 26, 27), against a
//! `MemoryNetwork` that has a service behind every name the tests dial: only the grant (or the
//! host's strict parsing) can stop a dial, and `dial_count` shows whether one happened.

#![cfg(feature = "cap-net")]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::sync::Arc;

use pluginhost::{Grant, GrantError, Host, HostConfig, HostError, MemoryNetwork};
use support::abi::*;
use support::checks::*;
use support::fixture::*;
use support::hosts::*;

/// Every `host:port` any test here dials, each answering with its own name.
const SERVICES: &[&str] = &[
    "ca.example.com:443",
    "ca.example.com:22",
    "ca.example.com:4430",
    "ca.example.com.evil.net:443",
    "evilca.example.com:443",
    "a.ca.example.com:443",
    "example.com:443",
    "a.example.com:443",
    "a.example.com:444",
    "b.example.com:443",
    "a.b.example.com:443",
    "evilexample.com:443",
    "a.example.com.evil.net:443",
    "127.0.0.1:443",
    "127.0.0.1:8080",
    "[::1]:443",
    "[::ffff:127.0.0.1]:443",
    "[::ffff:127.0.0.1]:8080",
    "[::1]:8443",
    "2130706433:443",
    "0x7f000001:443",
    "0177.0.0.1:443",
];

/// A service that answers with its own name.
struct Named(&'static str);

impl pluginhost::MemoryService for Named {
    fn respond(&self, _request: &[u8]) -> Vec<u8> {
        self.0.as_bytes().to_vec()
    }
}

fn everyone_answers() -> (Host, Arc<MemoryNetwork>) {
    let net = SERVICES.iter().fold(MemoryNetwork::new(), |net, target| {
        net.with_service(target, Arc::new(Named(target)))
    });
    let net = Arc::new(net);
    let host = host_with_network(HostConfig::default(), net.clone());
    (host, net)
}

/// Dials every `(host bytes, port)` in one invocation and returns the codes.
fn dial_all(host: &Host, grant: Grant, targets: &[(&[u8], i32)]) -> (Vec<i32>, pluginhost::Plugin) {
    let mut fx = Fixture::new();
    for (name, port) in targets {
        let h = fx.put(name);
        fx.call("net_dial", &[h.ptr, h.len, *port]);
    }
    let (plugin, out) = fx.load_and_run(host, grant);
    (out.codes, plugin)
}

/// Dials every case's `(host bytes, port)` in one invocation, as [`dial_all`], and checks one
/// code came back per case.
fn dial_cases<T>(
    host: &Host,
    grant: Grant,
    cases: &[(&[u8], i32, T)],
) -> (Vec<i32>, pluginhost::Plugin) {
    let targets: Vec<(&[u8], i32)> = cases.iter().map(|(h, p, _)| (*h, *p)).collect();
    let (codes, plugin) = dial_all(host, grant, &targets);
    assert_eq!(codes.len(), cases.len(), "one code per dial");
    (codes, plugin)
}

/// Asserts each case marked admitted got a handle and every other one was denied.
#[track_caller]
fn assert_admitted(cases: &[(&[u8], i32, bool)], codes: &[i32]) {
    for ((name, port, admitted), got) in cases.iter().zip(codes) {
        let name = String::from_utf8_lossy(name);
        if *admitted {
            assert!(*got >= 0, "{name}:{port} should be admitted, got {got}");
        } else {
            assert_eq!(*got, DENIED, "{name}:{port}");
        }
    }
}

#[test]
fn catalogue_26_and_27_are_refused_with_exact_codes() {
    let (host, net) = everyone_answers();
    let cases: &[(&[u8], i32, i32)] = &[
        (b"ca.example.com.evil.net", 443, DENIED),
        (b"evilca.example.com", 443, DENIED),
        (b"ca.example.com", 22, DENIED),
        (b"ca.example.com", 4430, DENIED),
        (b"ca.example.com\0.x", 443, INVALID),
        (b"ca.example.com\0", 443, INVALID),
        (b"a.ca.example.com", 443, DENIED),
        (b"example.com", 443, DENIED),
        (b"127.0.0.1", 443, DENIED),
        (b"[::1]", 443, DENIED),
        // Catalogue 27: alternative spellings of 127.0.0.1 are not parsed at all...
        (b"2130706433", 443, INVALID),
        (b"0x7f000001", 443, INVALID),
        (b"0177.0.0.1", 443, INVALID),
        (b"127.1", 443, INVALID),
        (b"127.0.0.1.", 443, INVALID),
        // ...and the mapped IPv6 form parses, but is not the granted name.
        (b"[::ffff:127.0.0.1]", 443, DENIED),
        (b"::ffff:127.0.0.1", 443, DENIED),
        // Not a host at all.
        (b"ca.example.com:443", 443, INVALID),
        (b"ca.example.com..", 443, INVALID),
        (b"ca.example.com ", 443, INVALID),
        (b"ca.example.com/x", 443, INVALID),
        (b"ca.example.com\xff", 443, INVALID),
        ("ca.ex\u{e4}mple.com".as_bytes(), 443, INVALID),
        (b"", 443, INVALID),
        // A port whose low 16 bits are 443 is still not 443.
        (b"ca.example.com", 0x1_01BB, INVALID),
        (b"ca.example.com", -65_093, INVALID),
    ];
    let (codes, plugin) = dial_cases(&host, grant(&["net.dial=ca.example.com:443"]), cases);
    for ((name, port, want), got) in cases.iter().zip(&codes) {
        assert_eq!(got, want, "{}:{port}", String::from_utf8_lossy(name));
    }
    assert_eq!(
        net.dial_count(),
        0,
        "only the grant could stop these, and it did"
    );
    let denied = cases.iter().filter(|c| c.2 == DENIED).count() as u64;
    assert_counts(&plugin, [(0, 0), (0, 0), (0, denied), (0, 0)]);
}

#[test]
fn the_granted_name_is_admitted_in_any_case_and_with_a_trailing_dot() {
    let (host, net) = everyone_answers();
    let mut fx = Fixture::new();
    let bufs: Vec<Span> = (0..3).map(|_| fx.reserve(24)).collect();
    for (i, name) in ["ca.example.com", "CA.EXAMPLE.COM.", "Ca.Example.Com"]
        .iter()
        .enumerate()
    {
        let h = fx.put(name);
        fx.call("net_dial", &[h.ptr, h.len, 443]);
        fx.call_args(
            "net_recv",
            vec![Arg::Ret(2 * i), Arg::C(bufs[i].ptr), Arg::C(bufs[i].len)],
        );
    }
    for b in &bufs {
        fx.emit(b.prefix(18));
    }
    let (plugin, out) = fx.load_and_run(&host, grant(&["net.dial=ca.example.com:443"]));
    for i in 0..3 {
        assert!(out.codes[2 * i] >= 0, "dial {i}: {}", out.codes[2 * i]);
        assert_eq!(out.codes[2 * i + 1], 18, "recv {i}");
    }
    // Every dial reached the one granted service.
    assert_eq!(out.emitted, b"ca.example.com:443".repeat(3));
    assert_eq!(net.dial_count(), 3);
    // Three dials and three receives.
    assert_counts(&plugin, [(0, 0), (0, 0), (6, 0), (0, 0)]);
}

#[test]
fn a_grant_written_in_upper_case_with_a_dot_matches_too() {
    let (host, net) = everyone_answers();
    let (codes, _) = dial_all(
        &host,
        grant(&["net.dial=CA.EXAMPLE.COM.:443"]),
        &[(b"ca.example.com", 443)],
    );
    assert!(codes[0] >= 0, "{codes:?}");
    assert_eq!(net.dial_count(), 1);
}

#[test]
fn a_wildcard_matches_exactly_one_label() {
    let (host, net) = everyone_answers();
    let cases: &[(&[u8], i32, bool)] = &[
        (b"a.example.com", 443, true),
        (b"A.Example.COM.", 443, true),
        (b"b.example.com", 443, true),
        (b"example.com", 443, false),
        (b"a.b.example.com", 443, false),
        (b"evilexample.com", 443, false),
        (b"a.example.com", 444, false),
        (b"a.example.com.evil.net", 443, false),
        (b"127.0.0.1", 443, false),
    ];
    let (codes, plugin) = dial_cases(&host, grant(&["net.dial=*.example.com:443"]), cases);
    assert_admitted(cases, &codes);
    let admitted = cases.iter().filter(|c| c.2).count();
    assert_eq!(net.dial_count(), admitted);
    assert_counts(
        &plugin,
        [
            (0, 0),
            (0, 0),
            (admitted as u64, (cases.len() - admitted) as u64),
            (0, 0),
        ],
    );
}

#[test]
fn an_ip_literal_grant_admits_only_its_canonical_spelling() {
    let (host, net) = everyone_answers();
    let cases: &[(&[u8], i32, i32)] = &[
        (b"2130706433", 8080, INVALID),
        (b"0x7f000001", 8080, INVALID),
        (b"0177.0.0.1", 8080, INVALID),
        (b"127.000.000.001", 8080, INVALID),
        (b"[::ffff:127.0.0.1]", 8080, DENIED),
        (b"127.0.0.1", 443, DENIED),
    ];
    let (codes, _) = dial_cases(&host, grant(&["net.dial=127.0.0.1:8080"]), cases);
    let expected: Vec<i32> = cases.iter().map(|c| c.2).collect();
    assert_eq!(codes, expected);
    assert_eq!(net.dial_count(), 0);

    let (codes, _) = dial_all(
        &host,
        grant(&["net.dial=127.0.0.1:8080"]),
        &[(b"127.0.0.1", 8080)],
    );
    assert!(codes[0] >= 0, "{codes:?}");
    assert_eq!(net.dial_count(), 1);
}

#[test]
fn non_canonical_ip_grants_are_refused_when_built() {
    for entry in ["2130706433:443", "0x7f000001:443", "0177.0.0.1:443"] {
        assert_eq!(
            Grant::none().with_host(entry),
            Err(GrantError::Host(HostError::NonCanonicalIp)),
            "{entry}"
        );
    }
    assert_eq!(
        Grant::none().with_host("ca.example.com"),
        Err(GrantError::Host(HostError::MissingPort))
    );
    assert_eq!(
        Grant::none().with_host("*.com:443"),
        Err(GrantError::Host(HostError::MisplacedWildcard))
    );
}

#[test]
fn net_dial_granted_without_entries_admits_nothing() {
    let (host, net) = everyone_answers();
    let (codes, plugin) = dial_all(
        &host,
        Grant::new(&[pluginhost::Capability::NetDial]),
        &[(b"ca.example.com", 443), (b"127.0.0.1", 443)],
    );
    assert_eq!(codes, [DENIED, DENIED]);
    assert_eq!(net.dial_count(), 0);
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 2), (0, 0)]);
}

#[test]
fn an_ipv6_grant_admits_the_same_address_however_it_is_written() {
    let (host, net) = everyone_answers();
    let cases: &[(&[u8], i32, bool)] = &[
        (b"[::1]", 8443, true),
        (b"::1", 8443, true),
        (b"[0:0:0:0:0:0:0:1]", 8443, true),
        (b"127.0.0.1", 8443, false),
        (b"[::ffff:127.0.0.1]", 8443, false),
        (b"[::1]", 443, false),
    ];
    let (codes, _) = dial_cases(&host, grant(&["net.dial=[::1]:8443"]), cases);
    assert_admitted(cases, &codes);
    assert_eq!(net.dial_count(), 3);
}
