//! TCP (and, ABI v2, host-verified TLS) connections under the plugin's `net.dial` grants.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{check, Error};
use crate::sys;

/// The most bytes one `net_send` / `net_recv` call moves (16 KiB, well under the host's assumed
/// 64 KiB per-call cap). Larger writes and reads are split.
pub const CHUNK_BYTES: usize = 16 * 1024;

/// A TCP connection the host opened. Closed when dropped.
#[derive(Debug)]
pub struct TcpStream {
    handle: i32,
}

impl TcpStream {
    /// Connects to `host` (a DNS name or an IP literal, no port, no brackets) on `port`.
    ///
    /// # Errors
    /// [`Error::Denied`] unless a grant names `host:port`; the host's error otherwise.
    pub fn dial(host: &str, port: u16) -> Result<TcpStream, Error> {
        let handle = check(sys::net_dial(host.as_bytes(), port))?;
        Ok(TcpStream {
            handle: handle as i32,
        })
    }

    /// Connects to `host` on `port` over TLS (ABI v2: declare `abi: 2` in the manifest). The
    /// host runs TLS: it verifies the server's certificate against the operator's trust anchors
    /// and for exactly `host` (sent as SNI), so the plugin holds no trust store and cannot skip
    /// the check. Reads and writes are plaintext to the plugin, encrypted on the wire.
    ///
    /// # Errors
    /// [`Error::Denied`] unless a grant names `host:port`; [`Error::Tls`] when the server is not
    /// trusted for `host`; [`Error::Io`] when the host offers no TLS; the host's error otherwise.
    pub fn dial_tls(host: &str, port: u16) -> Result<TcpStream, Error> {
        let handle = check(sys::net_dial_tls(host.as_bytes(), port))?;
        Ok(TcpStream {
            handle: handle as i32,
        })
    }

    /// The host's handle for this connection.
    pub fn handle(&self) -> i32 {
        self.handle
    }

    /// Sends the start of `buf` (at most [`CHUNK_BYTES`]) in one call; returns how many bytes
    /// the host took, which may be fewer.
    ///
    /// # Errors
    /// The host's error.
    pub fn send(&mut self, buf: &[u8]) -> Result<usize, Error> {
        let chunk = &buf[..buf.len().min(CHUNK_BYTES)];
        let sent = check(sys::net_send(self.handle, chunk))? as usize;
        Ok(sent.min(chunk.len()))
    }

    /// Sends all of `buf`, in as many calls as it takes.
    ///
    /// # Errors
    /// The host's error; [`Error::Io`] if the host takes nothing.
    pub fn write_all(&mut self, mut buf: &[u8]) -> Result<(), Error> {
        while !buf.is_empty() {
            let sent = self.send(buf)?;
            if sent == 0 {
                return Err(Error::Io);
            }
            buf = &buf[sent..];
        }
        Ok(())
    }

    /// Receives into the start of `buf` (at most [`CHUNK_BYTES`]) in one call; returns how many
    /// bytes arrived, 0 when the peer has closed (or `buf` is empty).
    ///
    /// # Errors
    /// The host's error.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        let len = buf.len().min(CHUNK_BYTES);
        let received = check(sys::net_recv(self.handle, &mut buf[..len]))? as usize;
        Ok(received.min(len))
    }

    /// Receives until the peer closes, at most `limit` bytes.
    ///
    /// # Errors
    /// [`Error::Limit`] if the peer sends more than `limit` bytes; the host's error otherwise.
    pub fn read_to_end(&mut self, limit: usize) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let mut chunk = vec![0u8; CHUNK_BYTES.min(limit.saturating_add(1))];
        loop {
            let received = self.recv(&mut chunk)?;
            if received == 0 {
                return Ok(out);
            }
            if out.len() + received > limit {
                return Err(Error::Limit);
            }
            out.extend_from_slice(&chunk[..received]);
        }
    }

    /// Closes the connection now and reports the host's answer (dropping closes too, silently).
    ///
    /// # Errors
    /// The host's error.
    pub fn close(mut self) -> Result<(), Error> {
        let handle = core::mem::replace(&mut self.handle, -1);
        check(sys::net_close(handle)).map(|_| ())
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        if self.handle >= 0 {
            let _ = sys::net_close(self.handle);
        }
    }
}
