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
//! * [`Pebble`], [`ChallengeServer`]: pebble, Let's Encrypt's ACME test CA, over HTTPS with a
//!   certificate from a [`TestCa`], and `pebble-challtestsrv` answering its `http-01` and `dns-01`
//!   validations (Debian `pebble`).
//! * [`served_certificate`]: the certificate a TLS server on loopback presents, verified.
//! * [`drive_order`]: the host's side of an ACME order through a CA plugin (place it, publish
//!   the challenges, continue, wait), for the tests and the `edge_agent` example.

#![forbid(unsafe_code)]

mod acme;
mod ca;
mod knot;
mod nginx;
mod pebble;
mod process;
mod tls;

pub use acme::{drive_order, AcmeOrder, OrderError, MAX_ORDER_STEPS, MAX_PENDING_WAIT};
pub use ca::{Leaf, TestCa};
pub use knot::{Knot, TsigKey};
pub use nginx::Nginx;
pub use pebble::{ChallengeServer, Pebble, PebbleOptions};
pub use process::{find_program, free_port, in_ci, program, wait_for_port, Server};
pub use tls::{served_certificate, sha256_fingerprint};
