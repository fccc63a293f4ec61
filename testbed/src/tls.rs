//! A TLS client (rustls, ring) that connects to a server on loopback, verifies its chain
//! against given roots and name, and returns the certificate it presented.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

/// Connects to `127.0.0.1:port` with TLS, sending `server_name` (SNI), verifies the presented
/// chain against `roots` (DER) for that name, and returns the leaf certificate (DER).
///
/// # Errors
/// If the connection or handshake fails, or the chain does not verify (`InvalidData`).
pub fn served_certificate(port: u16, server_name: &str, roots: &[Vec<u8>]) -> io::Result<Vec<u8>> {
    let invalid =
        |e: &dyn std::fmt::Display| io::Error::new(io::ErrorKind::InvalidData, e.to_string());
    let mut store = RootCertStore::empty();
    for root in roots {
        store
            .add(CertificateDer::from(root.clone()))
            .map_err(|e| invalid(&e))?;
    }
    // The ring provider (already in the dev tree through rcgen) is deprecated in rustls 0.23.4x
    // only for lacking post-quantum key exchange, which a loopback test does not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(&e))?
        .with_root_certificates(store)
        .with_no_client_auth();
    let name = ServerName::try_from(server_name.to_string()).map_err(|e| invalid(&e))?;
    let mut tls = ClientConnection::new(Arc::new(config), name).map_err(|e| invalid(&e))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut socket = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    socket.set_read_timeout(Some(Duration::from_secs(5)))?;
    socket.set_write_timeout(Some(Duration::from_secs(5)))?;
    while tls.is_handshaking() {
        tls.complete_io(&mut socket)?;
    }
    let leaf = tls
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|c| c.to_vec())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no certificate presented"))?;
    tls.send_close_notify();
    // The certificate is what was asked for; a failure to say goodbye changes nothing.
    let _ = tls.complete_io(&mut socket);
    Ok(leaf)
}

/// The SHA-256 fingerprint of `der`, as colon-separated upper-case hex (as `openssl x509
/// -fingerprint -sha256` prints it).
pub fn sha256_fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
