//! Real third-party servers on loopback for pluginhost's tests and the edge-agent demo.
//!
//! Each server (pebble, knotd, nginx) is started from its Debian package's program, on free
//! ports, with its configuration in a temporary directory, and stopped by the pid this process
//! started. [`program`] finds a server's program; under CI (`CI=true`) a missing program fails
//! instead of skipping.
//!
//! * [`Knot`]: `knotd`, an authoritative primary for one zone that accepts TSIG-signed RFC 2136
//!   updates of `_acme-challenge` TXT records (Debian `knot`; queries with `kdig` from
//!   `knot-dnsutils`).
//! * [`Nginx`]: nginx serving TLS with a certificate and key from given paths, reloadable with
//!   `nginx -s reload` (Debian `nginx-light`).
//! * [`served_certificate`]: the certificate a TLS server on loopback presents, verified.

#![forbid(unsafe_code)]

mod knot;
mod nginx;
mod process;
mod tls;

pub use knot::{Knot, TsigKey};
pub use nginx::Nginx;
pub use process::{free_port, in_ci, program, wait_for_port, Server};
pub use tls::{served_certificate, sha256_fingerprint};
