//! The bundled `dns-rfc2136` plugin against a real Knot DNS (Debian `knot`, started by
//! `pluginhost_testbed::Knot` on 127.0.0.1 with a TSIG key and an ACL that lets the key update
//! only the `_acme-challenge` TXT records of the test's names).
//!
//! The plugin runs under a least-privilege grant: `net.dial=127.0.0.1:<knotd's port>` and
//! `fs.read` of the directory that holds the zone's key file and nothing else (or of the key
//! file itself). The test asks knotd itself (`kdig`, Debian
//! `knot-dnsutils`) whether a record is served. A wrong secret, a key the server does not know
//! and a key it does not allow are `Unauthorized` failures; an update of a frozen zone and of a
//! zone the server does not serve are `Rejected` failures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::fs;
use std::sync::Arc;

use pluginhost::proto::dns::{TxtChange, UpdateTxtRequest, UpdateTxtResponse};
use pluginhost::proto::{FailureCode, PluginFailure, Response};
use pluginhost::{Backends, Capability, DirFilesystem, Host, HostConfig, Plugin, TcpNetwork};
use pluginhost_bundled as bundled;
use pluginhost_testbed::{Knot, TsigKey};
use support::hosts::grant;

const ZONE: &str = "example.test";
/// The zone's key directory (the `fs.read` scope) and the key file in it.
const KEY_DIR: &str = "/secrets/tsig/example.test";
const KEY_FILE: &str = "/secrets/tsig/example.test/update.key";

/// knotd, and a plugin root holding key files.
struct Bed {
    knot: Knot,
    root: tempfile::TempDir,
    host: Host,
}

impl Bed {
    /// `None` when knotd is not installed (outside CI).
    fn start() -> Option<Bed> {
        let knot = Knot::start(ZONE, &["www.example.test", "example.test"]).unwrap()?;
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("secrets/tsig/example.test")).unwrap();
        fs::create_dir_all(root.path().join("secrets/tsig/other.test")).unwrap();
        let bed = Bed {
            host: Host::with_backends(
                HostConfig::default(),
                Backends::unavailable()
                    .with_filesystem(Arc::new(DirFilesystem::open(root.path()).unwrap()))
                    .with_network(Arc::new(TcpNetwork::new().allow_loopback(true))),
            ),
            knot,
            root,
        };
        bed.write_key(KEY_FILE, &bed.knot.update_key().key_file_line());
        Some(bed)
    }

    fn write_key(&self, guest_path: &str, text: &str) {
        let path = self.root.path().join(guest_path.trim_start_matches('/'));
        fs::write(path, text).unwrap();
    }

    /// The plugin under `net.dial=127.0.0.1:<port>` and `fs.read=<KEY_DIR>`.
    fn plugin(&self) -> Plugin {
        let dial = format!("net.dial=127.0.0.1:{}", self.knot.port());
        let read = format!("fs.read={KEY_DIR}");
        self.host
            .load(bundled::DNS_RFC2136, grant(&[&dial, &read]))
            .unwrap()
    }

    fn request(&self, change: TxtChange, fqdn: &str, value: &str) -> UpdateTxtRequest {
        UpdateTxtRequest {
            change,
            zone: ZONE.into(),
            fqdn: fqdn.into(),
            value: value.into(),
            ttl: 60,
            server_host: "127.0.0.1".into(),
            server_port: self.knot.port(),
            tsig_key_file: KEY_FILE.into(),
        }
    }

    fn update(
        &self,
        plugin: &mut Plugin,
        request: &UpdateTxtRequest,
    ) -> Response<UpdateTxtResponse> {
        self.host.invoke_typed(plugin, "run", request).unwrap()
    }

    fn fails(&self, plugin: &mut Plugin, request: &UpdateTxtRequest) -> PluginFailure {
        match self.update(plugin, request) {
            Ok(ok) => panic!(
                "expected a failure, got {ok:?}; knotd's log:\n{}",
                self.knot.log()
            ),
            Err(failure) => failure,
        }
    }

    /// The TXT values knotd serves for `name`; `None` when kdig is not installed.
    fn served(&self, name: &str) -> Option<Vec<String>> {
        let mut values = self.knot.query_txt(name).unwrap()?;
        values.sort();
        Some(values)
    }
}

#[test]
fn adds_and_removes_the_challenge_record() {
    let Some(bed) = Bed::start() else {
        return;
    };
    let mut plugin = bed.plugin();
    let www = "_acme-challenge.www.example.test";
    let apex = "_acme-challenge.example.test";
    if let Some(values) = bed.served(www) {
        assert!(values.is_empty(), "{values:?}");
    }

    let added = bed
        .update(
            &mut plugin,
            &bed.request(TxtChange::Add, "www.example.test", "token-www"),
        )
        .unwrap();
    assert_eq!(
        added.record_line,
        "_acme-challenge.www.example.test. 60 IN TXT \"token-www\""
    );
    if let Some(values) = bed.served(www) {
        assert_eq!(values, ["token-www"]);
    }

    // The apex and its wildcard share one challenge name: both values are served at once.
    for (fqdn, value) in [
        ("example.test", "token-apex"),
        ("*.example.test", "token-wild"),
    ] {
        bed.update(&mut plugin, &bed.request(TxtChange::Add, fqdn, value))
            .unwrap();
    }
    if let Some(values) = bed.served(apex) {
        assert_eq!(values, ["token-apex", "token-wild"]);
    }

    // Removal takes exactly the value asked for.
    bed.update(
        &mut plugin,
        &bed.request(TxtChange::Remove, "example.test", "token-apex"),
    )
    .unwrap();
    if let Some(values) = bed.served(apex) {
        assert_eq!(values, ["token-wild"]);
    }
    for (fqdn, value) in [
        ("*.example.test", "token-wild"),
        ("www.example.test", "token-www"),
    ] {
        let removed = bed
            .update(&mut plugin, &bed.request(TxtChange::Remove, fqdn, value))
            .unwrap();
        assert!(removed.record_line.ends_with(&format!("\"{value}\"")));
    }
    if let (Some(a), Some(w)) = (bed.served(apex), bed.served(www)) {
        assert!(a.is_empty() && w.is_empty(), "{a:?} {w:?}");
    }

    // Six updates: a dial and a key file read each, nothing refused.
    let calls = plugin.stats().calls;
    assert!(calls.allowed(Capability::NetDial) >= 6);
    assert!(calls.allowed(Capability::FsRead) >= 6);
    assert_eq!(calls.total_denied(), 0);
}

#[test]
fn wrong_keys_are_unauthorized() {
    let Some(bed) = Bed::start() else {
        return;
    };
    let right = bed.knot.update_key().clone();
    let wrong_secret = TsigKey {
        secret: TsigKey::generate("x").unwrap().secret,
        ..right.clone()
    };
    let unknown = TsigKey::generate("no-such-key").unwrap();
    let cases = [
        (wrong_secret, "NOTAUTH/BADSIG"),
        (unknown, "NOTAUTH/BADKEY"),
        // Known to knotd, but its ACL lets this key update nothing.
        (bed.knot.other_key().clone(), "NOTAUTH/BADKEY"),
    ];
    for (key, expected) in cases {
        bed.write_key(KEY_FILE, &key.key_file_line());
        let mut plugin = bed.plugin();
        let request = bed.request(TxtChange::Add, "www.example.test", "nope");
        let failure = bed.fails(&mut plugin, &request);
        assert_eq!(
            failure.code,
            FailureCode::Unauthorized,
            "{}: {failure}",
            key.name
        );
        assert!(failure.message.contains(expected), "{failure}");
        assert!(failure.message.contains(&key.name), "{failure}");
    }
    // The right key, for a name its ACL does not cover: knotd answers BADKEY as well.
    bed.write_key(KEY_FILE, &right.key_file_line());
    let mut plugin = bed.plugin();
    let request = bed.request(TxtChange::Add, "mail.example.test", "nope");
    assert_eq!(
        bed.fails(&mut plugin, &request).code,
        FailureCode::Unauthorized
    );
    if let Some(values) = bed.served("_acme-challenge.www.example.test") {
        assert!(values.is_empty(), "{values:?}");
    }
    // A key file the plugin cannot use is a bad request, and names no secret.
    bed.write_key(KEY_FILE, "hmac-md5:acme-update:c2VjcmV0\n");
    let failure = bed.fails(
        &mut plugin,
        &bed.request(TxtChange::Add, "www.example.test", "x"),
    );
    assert_eq!(failure.code, FailureCode::BadRequest, "{failure}");
    assert!(!failure.message.contains("c2VjcmV0"), "{failure}");
}

#[test]
fn refused_updates_are_typed() {
    let Some(bed) = Bed::start() else {
        return;
    };
    let mut plugin = bed.plugin();
    let request = bed.request(TxtChange::Add, "www.example.test", "frozen");
    bed.knot.freeze(true).unwrap();
    let failure = bed.fails(&mut plugin, &request);
    assert_eq!(failure.code, FailureCode::Rejected, "{failure}");
    assert!(
        failure.message.ends_with("REFUSED"),
        "signed, verified: {failure}"
    );
    bed.knot.freeze(false).unwrap();
    bed.update(&mut plugin, &request).unwrap();

    // A zone knotd does not serve.
    let mut other = bed.request(TxtChange::Add, "www.other.test", "x");
    other.zone = "other.test".into();
    let failure = bed.fails(&mut plugin, &other);
    assert_eq!(failure.code, FailureCode::Rejected, "{failure}");
    assert!(failure.message.contains("not authoritative"), "{failure}");
}

#[test]
fn grants_are_least_privilege() {
    let Some(bed) = Bed::start() else {
        return;
    };
    // Another key file beside the granted one: not readable.
    bed.write_key(
        "/secrets/tsig/other.key",
        &bed.knot.update_key().key_file_line(),
    );
    let mut plugin = bed.plugin();
    let mut request = bed.request(TxtChange::Add, "www.example.test", "x");
    request.tsig_key_file = "/secrets/tsig/other.key".into();
    assert_eq!(bed.fails(&mut plugin, &request).code, FailureCode::Denied);
    // Another port, another host name for the same address: not dialled.
    let mut request = bed.request(TxtChange::Add, "www.example.test", "x");
    request.server_port = bed.knot.port().wrapping_add(1).max(1);
    assert_eq!(bed.fails(&mut plugin, &request).code, FailureCode::Denied);
    request.server_port = bed.knot.port();
    request.server_host = "localhost".into();
    assert_eq!(bed.fails(&mut plugin, &request).code, FailureCode::Denied);
    let calls = plugin.stats().calls;
    assert_eq!(
        (
            calls.denied(Capability::FsRead),
            calls.denied(Capability::NetDial)
        ),
        (1, 2)
    );
    assert_eq!(calls.allowed(Capability::NetDial), 0);
    if let Some(values) = bed.served("_acme-challenge.www.example.test") {
        assert!(values.is_empty(), "{values:?}");
    }

    // Narrower still: a grant of the key file itself. It works, and its neighbour is refused.
    bed.write_key(
        "/secrets/tsig/example.test/spare.key",
        &bed.knot.update_key().key_file_line(),
    );
    let dial = format!("net.dial=127.0.0.1:{}", bed.knot.port());
    let read = format!("fs.read={KEY_FILE}");
    let mut plugin = bed
        .host
        .load(bundled::DNS_RFC2136, grant(&[&dial, &read]))
        .unwrap();
    let request = bed.request(TxtChange::Add, "www.example.test", "file-grant");
    bed.update(&mut plugin, &request).unwrap();
    let mut spare = request.clone();
    spare.tsig_key_file = "/secrets/tsig/example.test/spare.key".into();
    assert_eq!(bed.fails(&mut plugin, &spare).code, FailureCode::Denied);
    if let Some(values) = bed.served("_acme-challenge.www.example.test") {
        assert_eq!(values, ["file-grant"]);
    }
}
