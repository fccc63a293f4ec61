//! The real servers of the renewal, started on loopback when they are installed
//! (`pluginhost-testbed`): pebble (the ACME CA), knotd (the zone's primary DNS server) and nginx
//! (the service whose certificate is renewed). Each runs from its Debian package's program on
//! free ports, with its configuration in a temporary directory of its own, and is stopped by the
//! pid this process started when [`Servers`] is dropped: at the end, and on every error path.

use std::path::Path;

use pluginhost_testbed::{
    find_program, served_certificate, Knot, Nginx, Pebble, PebbleOptions, TestCa,
};

use crate::keystore::install_private;

/// The programs the renewal with servers needs: name, Debian package, what for.
pub const PROGRAMS: [(&str, &str, &str); 4] = [
    ("pebble", "pebble", "the ACME CA"),
    ("knotd", "knot", "the zone's primary DNS server"),
    ("kdig", "knot-dnsutils", "asks knotd what it serves"),
    ("nginx", "nginx-light", "the service"),
];

/// The programs of [`PROGRAMS`] that are not installed.
pub fn missing() -> Vec<(&'static str, &'static str, &'static str)> {
    PROGRAMS
        .into_iter()
        .filter(|(name, _, _)| find_program(name).is_none())
        .collect()
}

/// The running servers. Dropping this stops each process by its pid.
pub struct Servers {
    pub pebble: Pebble,
    pub knot: Knot,
    pub nginx: Nginx,
    /// The CA of the certificate nginx starts with (the device's factory certificate).
    pub factory_ca: TestCa,
    /// That certificate, DER.
    pub factory_leaf: Vec<u8>,
}

impl Servers {
    /// Starts knotd as the primary of `zone`, letting its update key change only the
    /// `_acme-challenge` TXT records of `identity`, and writes that key to `tsig_key_path` (the
    /// DNS plugin's key file); starts nginx serving a factory certificate for `identity` from
    /// `chain_path` with its key at `key_path` (both written here); and starts pebble, which asks
    /// knotd for every name it validates.
    pub fn start(
        zone: &str,
        identity: &str,
        tsig_key_path: &Path,
        chain_path: &Path,
        key_path: &Path,
    ) -> Result<Servers, String> {
        let gone = |name: &str| format!("{name} was installed a moment ago and is not now");
        let knot = Knot::start(zone, &[identity])
            .map_err(|e| format!("starting knotd: {e}"))?
            .ok_or_else(|| gone("knotd"))?;
        install_private(tsig_key_path, knot.update_key().key_file_line().as_bytes())?;

        let factory_ca = TestCa::new("Edge Demo factory CA");
        let factory = factory_ca.issue(&[identity], false);
        std::fs::write(
            chain_path,
            format!("{}{}", factory.cert_pem, factory_ca.cert_pem()),
        )
        .map_err(|e| format!("writing {}: {e}", chain_path.display()))?;
        install_private(key_path, factory.key_pem.as_bytes())?;
        let nginx = Nginx::start(chain_path, key_path)
            .map_err(|e| format!("starting nginx: {e}"))?
            .ok_or_else(|| gone("nginx"))?;

        let options = PebbleOptions {
            always_valid: false,
            dns_port: Some(knot.port()),
            ..PebbleOptions::default()
        };
        let pebble = Pebble::start(&options)
            .map_err(|e| format!("starting pebble: {e}"))?
            .ok_or_else(|| gone("pebble"))?;
        Ok(Servers {
            pebble,
            knot,
            nginx,
            factory_ca,
            factory_leaf: factory.cert_der,
        })
    }

    /// The certificate nginx presents for `name`, verified against `root` (DER).
    pub fn served(&self, name: &str, root: &[u8]) -> Result<Vec<u8>, String> {
        served_certificate(self.nginx.port(), name, &[root.to_vec()])
            .map_err(|e| format!("TLS to nginx on 127.0.0.1:{}: {e}", self.nginx.port()))
    }
}
