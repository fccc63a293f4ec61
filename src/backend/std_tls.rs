//! Client TLS for [`TcpNetwork`](super::TcpNetwork) (feature `tls`): rustls with the `ring`
//! provider.
//!
//! The host, not the plugin, runs TLS: the server's certificate chain is verified against the
//! trust anchors the embedder configured (never a plugin's), and the certificate must be valid
//! for the name the plugin dialled, the one its grant admitted (SNI carries the same name). There
//! is no client certificate (the host holds no key), no way to skip verification, and no
//! session state kept between dials.

use std::borrow::ToOwned;
use std::boxed::Box;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use std::vec::Vec;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::std_net::{socket_timeout, SocketTimeouts};
use super::{BackendError, Connection};
use crate::grant::HostName;

/// The largest trust-anchor file read (a system bundle is a few hundred KiB).
const MAX_ROOTS_FILE_BYTES: u64 = 16 << 20;

/// Why a set of trust anchors was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsRootsError {
    /// The file could not be read (missing, unreadable, or over 16 MiB).
    Unreadable,
    /// The text holds no PEM `CERTIFICATE` block.
    NoCertificates,
    /// A `CERTIFICATE` block is not a usable trust anchor (bad base64 or DER).
    Invalid,
}

impl fmt::Display for TlsRootsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsRootsError::Unreadable => "the trust-anchor file cannot be read",
            TlsRootsError::NoCertificates => "no PEM CERTIFICATE block among the trust anchors",
            TlsRootsError::Invalid => "a trust anchor is not a valid X.509 certificate",
        })
    }
}

impl core::error::Error for TlsRootsError {}

/// A TLS client configuration: the trust anchors and rustls's safe defaults (TLS 1.2 and 1.3,
/// no client authentication).
#[derive(Clone)]
pub(super) struct TlsClient {
    config: Arc<ClientConfig>,
    anchors: usize,
}

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClient")
            .field("trust_anchors", &self.anchors)
            .finish_non_exhaustive()
    }
}

impl TlsClient {
    /// A client trusting exactly the certificates in `pem` (one or more `CERTIFICATE` blocks;
    /// other blocks are ignored).
    pub(super) fn from_pem(pem: &[u8]) -> Result<TlsClient, TlsRootsError> {
        let mut roots = RootCertStore::empty();
        let mut anchors = 0usize;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|_| TlsRootsError::Invalid)?;
            roots.add(cert).map_err(|_| TlsRootsError::Invalid)?;
            anchors += 1;
        }
        if anchors == 0 {
            return Err(TlsRootsError::NoCertificates);
        }
        // rustls 0.23.48 deprecates its ring provider because ring has no post-quantum key
        // exchange; aws-lc-rs would need cmake and NASM to build. Classical ECDHE (X25519,
        // P-256, P-384) protects what a plugin sends; docs/threat-model.md notes the choice.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| TlsRootsError::Invalid)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsClient {
            config: Arc::new(config),
            anchors,
        })
    }

    /// A client trusting the certificates in the PEM file at `path`.
    pub(super) fn from_file(path: &Path) -> Result<TlsClient, TlsRootsError> {
        let file = std::fs::File::open(path).map_err(|_| TlsRootsError::Unreadable)?;
        let mut pem = Vec::new();
        file.take(MAX_ROOTS_FILE_BYTES + 1)
            .read_to_end(&mut pem)
            .map_err(|_| TlsRootsError::Unreadable)?;
        if pem.len() as u64 > MAX_ROOTS_FILE_BYTES {
            return Err(TlsRootsError::Unreadable);
        }
        TlsClient::from_pem(&pem)
    }

    /// How many trust anchors the client holds.
    pub(super) fn anchors(&self) -> usize {
        self.anchors
    }

    /// Runs the handshake over `sock` for `host` (the dialled name: SNI and the name the
    /// certificate must be valid for), within `deadline` in all (`sock`'s timeouts must not be
    /// longer). The connection's later sends and receives wait at most `io_timeout` each.
    pub(super) fn handshake(
        &self,
        host: &HostName,
        mut sock: TcpStream,
        deadline: Duration,
        io_timeout: Duration,
    ) -> Result<Box<dyn Connection>, BackendError> {
        let name = server_name(host)?;
        let mut conn = ClientConnection::new(Arc::clone(&self.config), name.clone())
            .map_err(|_| BackendError::Tls)?;
        let start = Instant::now();
        while conn.is_handshaking() {
            if start.elapsed() > deadline {
                return Err(BackendError::TimedOut);
            }
            if let Err(e) = conn.complete_io(&mut sock) {
                let fault = map_tls_io(&e);
                if fault == BackendError::Tls {
                    host_log!(warn, "TLS handshake with {:?} failed: {}", name, e);
                }
                return Err(fault);
            }
        }
        Ok(Box::new(TlsConnection {
            stream: StreamOwned::new(conn, sock),
            timeouts: SocketTimeouts::new(io_timeout, socket_timeout(deadline)),
        }))
    }
}

/// The name rustls checks the certificate against: a DNS name or an IP address.
fn server_name(host: &HostName) -> Result<ServerName<'static>, BackendError> {
    match host {
        HostName::Dns(name) => {
            ServerName::try_from(name.as_str().to_owned()).map_err(|_| BackendError::Tls)
        }
        HostName::Ipv4(ip) => Ok(ServerName::from(std::net::IpAddr::V4(*ip))),
        HostName::Ipv6(ip) => Ok(ServerName::from(std::net::IpAddr::V6(*ip))),
    }
}

/// Maps an I/O error of a TLS connection: rustls reports protocol and certificate errors as
/// `InvalidData`, and a peer that hangs up mid-record (or is not speaking TLS) as
/// `UnexpectedEof`.
fn map_tls_io(error: &io::Error) -> BackendError {
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => BackendError::TimedOut,
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => BackendError::Tls,
        _ => BackendError::Io,
    }
}

/// A verified TLS connection.
struct TlsConnection {
    stream: StreamOwned<ClientConnection, TcpStream>,
    timeouts: SocketTimeouts,
}

impl TlsConnection {
    /// Sets the socket's read and write timeouts for a call that may wait `timeout`. A TLS
    /// record may need both directions (a write can flush, a read can answer a key update), so
    /// both are set.
    fn limit(&mut self, timeout: Duration) -> Result<(), BackendError> {
        let sock = &self.stream.sock;
        self.timeouts
            .limit_read(sock, timeout)
            .and_then(|()| self.timeouts.limit_write(sock, timeout))
            .map_err(|e| map_tls_io(&e))
    }
}

impl Connection for TlsConnection {
    fn send(&mut self, data: &[u8], timeout: Duration) -> Result<usize, BackendError> {
        self.limit(timeout)?;
        let sent = self.stream.write(data).map_err(|e| map_tls_io(&e))?;
        self.stream.flush().map_err(|e| map_tls_io(&e))?;
        Ok(sent)
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, BackendError> {
        self.limit(timeout)?;
        loop {
            match self.stream.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A peer that closes without close_notify may have truncated the stream.
                result => return result.map_err(|e| map_tls_io(&e)),
            }
        }
    }
}

impl Drop for TlsConnection {
    fn drop(&mut self) {
        // Best effort: tell the server we are done.
        self.stream.conn.send_close_notify();
        let _ = self.stream.conn.complete_io(&mut self.stream.sock);
    }
}
