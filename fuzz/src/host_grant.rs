//! `host_grant`: `HostName::parse`, `DialTarget::from_guest`/`parse`, `HostPattern::parse` and
//! `matches`, and `Grant::admit_dial` against the reference model in [`crate::models::host`]
//! (lowercase, strip one trailing dot, labels `[a-z0-9-_]` of 1..=63 bytes, at most 253 bytes,
//! numeric-looking names only as a strict dotted quad, IPv6 by value with or without brackets,
//! a wildcard matching exactly one extra label, ports equal).
//!
//! Also: display round trips (`HostPattern` and `DialTarget` print as text that parses back to
//! the same value), and a pattern always admits the target made of its own exact host.

use arbitrary::{Arbitrary, Unstructured};
use pluginhost::{DialTarget, Grant, HostName, HostPattern};

use crate::common::model_host;
use crate::models::host;

/// Pieces host texts are made of.
const TOKENS: &[&str] = &[
    "a",
    "b",
    "ca",
    "example",
    "com",
    "EXAMPLE",
    "Com",
    "test",
    "x-y",
    "_acme",
    "-a",
    "a-",
    "*",
    ".",
    ".",
    ".",
    ":",
    "[",
    "]",
    "::",
    "::1",
    "ffff",
    "127",
    "0",
    "1",
    "255",
    "256",
    "01",
    "0x7f",
    "0x",
    "2130706433",
    "443",
    "7",
    "65535",
    "65536",
    "0443",
    "é",
    "\u{0}",
    " ",
    "%",
    "fe80",
    "%eth0",
    "127.0.0.1",
    "::ffff:127.0.0.1",
    "2001:db8::a",
    "a.b.c",
];

/// A text made of tokens, or raw.
#[derive(Arbitrary, Debug)]
pub enum Text {
    /// Tokens concatenated.
    Tokens(Vec<u8>),
    /// Raw bytes.
    Raw(Vec<u8>),
    /// A long run of one label, to reach the length limits.
    Long(u8, u8, bool),
}

impl Text {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Text::Tokens(t) => t
                .iter()
                .take(40)
                .flat_map(|i| TOKENS[usize::from(*i) % TOKENS.len()].bytes())
                .collect(),
            Text::Raw(b) => b.clone(),
            Text::Long(label, count, dot) => {
                let label = "a".repeat(1 + usize::from(*label) % 64);
                let mut s = vec![label; 1 + usize::from(*count) % 8].join(".");
                if *dot {
                    s.push('.');
                }
                s.into_bytes()
            }
        }
    }
}

/// Everything the fuzzer chooses.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// The guest's host bytes.
    pub host: Text,
    /// The guest's port (an `i32` taken as `u32`).
    pub port: u32,
    /// Small port instead (`% 8`, so ports match more often).
    pub small_port: bool,
    /// Grant entries (`host:port` texts), up to four.
    pub patterns: Vec<(Text, Option<u16>)>,
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(input) = Input::arbitrary(&mut u) {
        run_input(&input);
    }
}

fn run_input(input: &Input) {
    let bytes = input.host.bytes();
    let lib = HostName::parse(&bytes);
    let model = host::parse_host(&bytes);
    match (&lib, &model) {
        (Ok(h), Ok(m)) => {
            assert_eq!(*h, m.to_lib(), "{:?}", String::from_utf8_lossy(&bytes));
            assert_eq!(model_host(h), *m);
        }
        (Err(e), Err(m)) => assert_eq!(e, m, "{:?}: error", String::from_utf8_lossy(&bytes)),
        _ => panic!(
            "{:?}: library {lib:?}, model {model:?}",
            String::from_utf8_lossy(&bytes)
        ),
    }
    let port = if input.small_port {
        input.port % 8
    } else {
        input.port
    };
    let target = DialTarget::from_guest(&bytes, port);
    let target_model = host::dial_target(&bytes, port);
    match (&target, &target_model) {
        (Ok(t), Ok((h, p))) => {
            assert_eq!(t.host, h.to_lib());
            assert_eq!(t.port, *p);
            // Display round trip.
            let shown = t.to_string();
            assert_eq!(DialTarget::parse(&shown).as_ref(), Ok(t), "{shown}");
        }
        (Err(e), Err(m)) => assert_eq!(e, m, "from_guest error"),
        _ => panic!("from_guest: library {target:?}, model {target_model:?}"),
    }

    let mut grant = Grant::none();
    let mut patterns = Vec::new();
    for (text, port) in input.patterns.iter().take(4) {
        let mut entry = text.bytes();
        if let Some(p) = port {
            entry.extend_from_slice(format!(":{}", p % 10).as_bytes());
        }
        let Ok(entry) = String::from_utf8(entry) else {
            continue;
        };
        let lib = HostPattern::parse(&entry);
        let model = host::parse_pattern(&entry);
        match (&lib, &model) {
            (Ok(p), Ok(m)) => {
                // Display round trip.
                let shown = p.to_string();
                assert_eq!(
                    HostPattern::parse(&shown).as_ref(),
                    Ok(p),
                    "{entry:?} -> {shown}"
                );
                match m {
                    host::Pattern::Exact(h, port) => {
                        assert_eq!(p.host(), Some(&h.to_lib()));
                        assert_eq!(p.port(), *port);
                        let own = DialTarget {
                            host: h.to_lib(),
                            port: *port,
                        };
                        assert!(p.matches(&own), "{entry:?} does not admit its own host");
                    }
                    host::Pattern::Wildcard(_, port) => {
                        assert_eq!(p.host(), None);
                        assert_eq!(p.port(), *port);
                    }
                }
                patterns.push((p.clone(), m.clone()));
                grant = grant
                    .with_host(&entry)
                    .expect("with_host of a parsed entry");
            }
            (Err(e), Err(m)) => assert_eq!(e, m, "{entry:?}: error"),
            _ => panic!("{entry:?}: library {lib:?}, model {model:?}"),
        }
    }

    if let (Ok(t), Ok((h, p))) = (&target, &target_model) {
        for (lib, model) in &patterns {
            assert_eq!(lib.matches(t), host::matches(model, h, *p), "{lib} vs {t}");
        }
        let expected = patterns.iter().any(|(_, m)| host::matches(m, h, *p));
        assert_eq!(
            grant.admit_dial(t),
            expected,
            "admit_dial {t} under {grant}"
        );
        assert!(!Grant::none().admit_dial(t));
        assert!(Grant::none().dangerous_allow_any_host().admit_dial(t));
    }
}
