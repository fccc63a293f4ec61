//! A TCP network back-end that resolves once, honours the operator's pinned names, refuses
//! internal addresses by default and (feature `tls`) speaks verified TLS.

use std::boxed::Box;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use std::vec::Vec;

#[cfg(feature = "tls")]
use super::std_tls::{TlsClient, TlsRootsError};
use super::{BackendError, Connection, Network};
use crate::grant::{DialTarget, HostName};

/// A resolver as given to [`TcpNetwork::resolve_with`]: a name and port to socket addresses.
type Resolver = Arc<dyn Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync>;

/// At most this many resolved addresses are tried per dial.
const MAX_ADDRESSES: usize = 16;

/// A [`Network`] that opens real TCP connections.
///
/// A name is resolved exactly once per dial; the resolved addresses are filtered by the address
/// policy and then (at most 16 of them) tried in order, always on the target's port (a resolver
/// cannot redirect to another port), and never resolved again. IP literals skip resolution but
/// not the policy.
///
/// The operator may [pin](TcpNetwork::pin) a name and port to one address (and port): a pinned
/// target is never resolved, and the dial goes to exactly that address, which must still pass
/// the address policy. The grant was checked against the name and port the plugin asked for.
///
/// With the `tls` feature and [trust anchors](TcpNetwork::tls_roots_pem), `dial_tls` runs a TLS
/// handshake over the connection and verifies the server's certificate against those anchors
/// and the dialled *name* (not the pinned address), with that name as SNI. Without anchors,
/// `dial_tls` is [`BackendError::Unsupported`].
///
/// The address policy never allows unspecified, multicast, broadcast or reserved addresses;
/// loopback only with [`TcpNetwork::allow_loopback`]; private, shared (CGNAT), link-local and
/// unique-local addresses only with [`TcpNetwork::allow_private`]. IPv4-mapped and NAT64
/// (`64:ff9b::/96`) IPv6 addresses are judged by the IPv4 address they carry.
///
/// Errors: a name that does not resolve (or resolves to nothing) is [`BackendError::NotFound`];
/// when every resolved address is refused by the policy, [`BackendError::Denied`]; when the
/// connect timeout passes, [`BackendError::TimedOut`]; a refused connection or any other failure
/// is [`BackendError::Io`]. Connections time out reads and writes after the I/O timeout
/// ([`BackendError::TimedOut`]). Each dial, send and receive also waits no longer than the
/// `timeout` the host passes (what is left of the invocation's
/// [`Limits::blocking_time`](crate::Limits)).
///
/// The default resolver is the system's (`ToSocketAddrs`), which has no timeout of its own and
/// cannot be given the host's: supply one with [`TcpNetwork::resolve_with`] if that matters (the
/// host still counts the time it took against the invocation's budget).
#[derive(Clone)]
pub struct TcpNetwork {
    connect_timeout: Duration,
    io_timeout: Duration,
    resolver: Option<Resolver>,
    allow_loopback: bool,
    allow_private: bool,
    pins: Vec<Pin>,
    #[cfg(feature = "tls")]
    tls: Option<TlsClient>,
}

impl TcpNetwork {
    /// A network with a 5 s connect timeout (for all addresses together), a 10 s read and write
    /// timeout, the system resolver, and loopback and private addresses refused.
    #[must_use]
    pub fn new() -> Self {
        TcpNetwork {
            connect_timeout: Duration::from_secs(5),
            io_timeout: Duration::from_secs(10),
            resolver: None,
            allow_loopback: false,
            allow_private: false,
            pins: Vec::new(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// This network sending `pin`'s name and port to its address, without resolving (the last
    /// pin for a name and port wins). The address policy still applies to the pinned address.
    #[must_use]
    pub fn pin(mut self, pin: Pin) -> Self {
        self.pins.retain(|p| p.target != pin.target);
        self.pins.push(pin);
        self
    }

    /// The pins, in the order given.
    pub fn pins(&self) -> &[Pin] {
        &self.pins
    }

    /// This network verifying TLS servers against exactly the certificates in `pem` (one or
    /// more PEM `CERTIFICATE` blocks: the operator's trust anchors, e.g. a private CA or the
    /// system bundle `/etc/ssl/certs/ca-certificates.crt`).
    ///
    /// # Errors
    /// [`TlsRootsError`] if there is no certificate or one does not parse.
    #[cfg(feature = "tls")]
    pub fn tls_roots_pem(mut self, pem: &[u8]) -> Result<Self, TlsRootsError> {
        self.tls = Some(TlsClient::from_pem(pem)?);
        Ok(self)
    }

    /// As [`TcpNetwork::tls_roots_pem`], reading the PEM file at `path` (at most 16 MiB).
    ///
    /// # Errors
    /// [`TlsRootsError::Unreadable`], and as [`TcpNetwork::tls_roots_pem`].
    #[cfg(feature = "tls")]
    pub fn tls_roots_file(
        mut self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Self, TlsRootsError> {
        self.tls = Some(TlsClient::from_file(path.as_ref())?);
        Ok(self)
    }

    /// How many TLS trust anchors this network holds (0: `dial_tls` is unsupported).
    pub fn tls_anchors(&self) -> usize {
        #[cfg(feature = "tls")]
        {
            self.tls.as_ref().map_or(0, TlsClient::anchors)
        }
        #[cfg(not(feature = "tls"))]
        {
            0
        }
    }

    /// This network with `timeout` as the budget for connecting, shared by all addresses tried.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// This network with `timeout` as each connection's read and write timeout.
    #[must_use]
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout;
        self
    }

    /// This network resolving names with `resolver`, called once per dial of a name.
    #[must_use]
    pub fn resolve_with(mut self, resolver: Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// This network allowing (or refusing) loopback addresses such as `127.0.0.1` and `::1`.
    #[must_use]
    pub fn allow_loopback(mut self, allow: bool) -> Self {
        self.allow_loopback = allow;
        self
    }

    /// This network allowing (or refusing) private, shared, link-local and unique-local
    /// addresses such as `10.0.0.1`, `169.254.169.254` and `fd00::1`.
    #[must_use]
    pub fn allow_private(mut self, allow: bool) -> Self {
        self.allow_private = allow;
        self
    }

    /// Whether the policy allows connecting to `ip`.
    fn allowed(&self, ip: IpAddr) -> bool {
        match classify(ip) {
            Class::Public => true,
            Class::Loopback => self.allow_loopback,
            Class::Private => self.allow_private,
            Class::Never => false,
        }
    }

    /// Resolves `target` once into candidate addresses on the target's port, or the pinned
    /// address.
    fn resolve(&self, target: &DialTarget) -> Result<Vec<SocketAddr>, BackendError> {
        if let Some(pin) = self.pins.iter().find(|p| p.target == *target) {
            return Ok(std::vec![pin.address]);
        }
        let port = target.port;
        let addrs: Vec<SocketAddr> = match &target.host {
            HostName::Ipv4(ip) => std::vec![SocketAddr::new(IpAddr::V4(*ip), port)],
            HostName::Ipv6(ip) => std::vec![SocketAddr::new(IpAddr::V6(*ip), port)],
            HostName::Dns(name) => {
                let resolved = match &self.resolver {
                    Some(resolver) => resolver(name, port),
                    None => (name.as_str(), port)
                        .to_socket_addrs()
                        .map(Iterator::collect),
                };
                match resolved {
                    Ok(addrs) => addrs,
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                        return Err(BackendError::TimedOut)
                    }
                    Err(_) => return Err(BackendError::NotFound),
                }
            }
        };
        if addrs.is_empty() {
            return Err(BackendError::NotFound);
        }
        Ok(addrs
            .into_iter()
            .map(|addr| SocketAddr::new(addr.ip(), port))
            .collect())
    }
}

impl Default for TcpNetwork {
    fn default() -> Self {
        TcpNetwork::new()
    }
}

impl fmt::Debug for TcpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpNetwork")
            .field("connect_timeout", &self.connect_timeout)
            .field("io_timeout", &self.io_timeout)
            .field("custom_resolver", &self.resolver.is_some())
            .field("allow_loopback", &self.allow_loopback)
            .field("allow_private", &self.allow_private)
            .field("pins", &self.pins)
            .field("tls_anchors", &self.tls_anchors())
            .finish()
    }
}

/// An operator's pin: dials of one DNS name and port go to one socket address, unresolved.
///
/// Written `NAME:PORT=ADDRESS` or `NAME:PORT=ADDRESS:PORT2` (the command line's `--resolve`):
/// `acme.example:14000=127.0.0.1`, `acme.example:443=127.0.0.1:14000`,
/// `acme.example:443=[::1]:14000`. Without a second port the address takes the dialled one. The
/// name is a DNS name (an IP literal needs no pin); the address is an IP literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    target: DialTarget,
    address: SocketAddr,
}

/// Why a pin was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PinError {
    /// There is no `=` between the name and the address.
    MissingAddress,
    /// The left side is not `NAME:PORT` with a valid name and a port in 1..=65535.
    BadTarget,
    /// The left side names an IP literal, which is dialled as it is.
    NotAName,
    /// The right side is not an IP literal, optionally with a port in 1..=65535.
    BadAddress,
}

impl fmt::Display for PinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PinError::MissingAddress => "a pin is NAME:PORT=ADDRESS[:PORT]: no `=`",
            PinError::BadTarget => "a pin's left side is not NAME:PORT",
            PinError::NotAName => "a pin's left side must be a DNS name, not an IP literal",
            PinError::BadAddress => {
                "a pin's right side is not an IP address (with an optional port 1-65535)"
            }
        })
    }
}

impl core::error::Error for PinError {}

impl Pin {
    /// A pin of `target` (a DNS name and port) to `address`.
    ///
    /// # Errors
    /// [`PinError::NotAName`] for an IP-literal target; [`PinError::BadAddress`] for port 0.
    pub fn new(target: DialTarget, address: SocketAddr) -> Result<Pin, PinError> {
        if !matches!(target.host, HostName::Dns(_)) {
            return Err(PinError::NotAName);
        }
        if address.port() == 0 {
            return Err(PinError::BadAddress);
        }
        Ok(Pin { target, address })
    }

    /// The name and port a plugin dials.
    pub fn target(&self) -> &DialTarget {
        &self.target
    }

    /// The address the dial goes to.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl FromStr for Pin {
    type Err = PinError;

    fn from_str(s: &str) -> Result<Pin, PinError> {
        let (left, right) = s.split_once('=').ok_or(PinError::MissingAddress)?;
        let target = DialTarget::parse(left).map_err(|_| PinError::BadTarget)?;
        let bare = right
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(right);
        let address = match bare.parse::<IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, target.port),
            Err(_) => right
                .parse::<SocketAddr>()
                .map_err(|_| PinError::BadAddress)?,
        };
        Pin::new(target, address)
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.target, self.address)
    }
}

/// How the address policy sees an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Public,
    Loopback,
    Private,
    Never,
}

fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    let [a, b, ..] = ip.octets();
    if a == 0 || ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        // 0.0.0.0/8 ("this network", which Linux connects to itself), 224/4, 240/4.
        Class::Never
    } else if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_private() || ip.is_link_local() || (a == 100 && (b & 0xc0) == 64) {
        // 10/8, 172.16/12, 192.168/16, 169.254/16, 100.64/10.
        Class::Private
    } else {
        Class::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> Class {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let [s0, s1, s2, s3, s4, s5, ..] = ip.segments();
    let upper_96_zero = s0 == 0 && s1 == 0 && s2 == 0 && s3 == 0 && s4 == 0 && s5 == 0;
    if s0 == 0x64 && s1 == 0xff9b && s2 == 0 && s3 == 0 && s4 == 0 && s5 == 0 {
        // NAT64 well-known prefix: judge the embedded IPv4 address.
        let [.., a, b, c, d] = ip.octets();
        return classify_v4(Ipv4Addr::new(a, b, c, d));
    }
    if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_multicast() || upper_96_zero {
        // ff00::/8, and ::/96: the unspecified address and the deprecated IPv4-compatible ones.
        Class::Never
    } else if (s0 & 0xfe00) == 0xfc00 || (s0 & 0xffc0) == 0xfe80 || (s0 & 0xffc0) == 0xfec0 {
        // Unique-local fc00::/7, link-local fe80::/10, deprecated site-local fec0::/10.
        Class::Private
    } else {
        Class::Public
    }
}

/// Maps an I/O error of a connection or a connect attempt.
fn map_io(error: &io::Error) -> BackendError {
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => BackendError::TimedOut,
        _ => BackendError::Io,
    }
}

impl TcpNetwork {
    /// Resolves (or looks up the pin), applies the policy and connects within the shorter of the
    /// network's connect timeout and `timeout`.
    fn connect(&self, target: &DialTarget, timeout: Duration) -> Result<TcpStream, BackendError> {
        let candidates = self.resolve(target)?;
        let allowed: Vec<SocketAddr> = candidates
            .into_iter()
            .filter(|addr| self.allowed(addr.ip()))
            .take(MAX_ADDRESSES)
            .collect();
        if allowed.is_empty() {
            return Err(BackendError::Denied);
        }
        let budget = self.connect_timeout.min(timeout);
        let deadline = Instant::now().checked_add(budget);
        let mut last = BackendError::TimedOut;
        for addr in allowed {
            let remaining = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => budget,
            };
            if remaining.is_zero() {
                return Err(BackendError::TimedOut);
            }
            match TcpStream::connect_timeout(&addr, remaining) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = map_io(&e),
            }
        }
        Err(last)
    }
}

impl Network for TcpNetwork {
    fn dial(
        &self,
        target: &DialTarget,
        timeout: Duration,
    ) -> Result<Box<dyn Connection>, BackendError> {
        let stream = self.connect(target, timeout)?;
        TcpConnection::open(stream, self.io_timeout)
    }

    fn dial_tls(
        &self,
        target: &DialTarget,
        timeout: Duration,
    ) -> Result<Box<dyn Connection>, BackendError> {
        #[cfg(feature = "tls")]
        {
            let tls = self.tls.as_ref().ok_or(BackendError::Unsupported)?;
            let start = Instant::now();
            let stream = self.connect(target, timeout)?;
            // The handshake gets what the connect left of `timeout`, and at most the network's
            // I/O timeout; the connection's later calls get their own budgets.
            let left = timeout.saturating_sub(start.elapsed()).min(self.io_timeout);
            let stream = configure(stream, left)?;
            tls.handshake(&target.host, stream, left, self.io_timeout)
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = (target, timeout);
            Err(BackendError::Unsupported)
        }
    }
}

/// Sets a connected stream's read and write timeouts to `limit` (see [`socket_timeout`]) and
/// `TCP_NODELAY`.
fn configure(stream: TcpStream, limit: Duration) -> Result<TcpStream, BackendError> {
    let timeout = Some(socket_timeout(limit));
    stream.set_read_timeout(timeout).map_err(|e| map_io(&e))?;
    stream.set_write_timeout(timeout).map_err(|e| map_io(&e))?;
    stream.set_nodelay(true).map_err(|e| map_io(&e))?;
    Ok(stream)
}

/// A TCP connection opened by [`TcpNetwork`].
struct TcpConnection {
    stream: TcpStream,
    timeouts: SocketTimeouts,
}

/// The read and write timeouts of a connection's socket, for [`TcpConnection`] and the TLS
/// connection alike.
pub(super) struct SocketTimeouts {
    /// The network's read and write timeout; each call waits for at most this or its own
    /// `timeout`, whichever is shorter.
    io_timeout: Duration,
    /// The read and write timeouts set on the socket now (set again only when they change).
    read: Duration,
    write: Duration,
}

impl SocketTimeouts {
    /// For a socket whose read and write timeouts are both `current` now (as set by
    /// [`configure`]); later calls wait at most `io_timeout` each.
    pub(super) fn new(io_timeout: Duration, current: Duration) -> SocketTimeouts {
        SocketTimeouts {
            io_timeout,
            read: current,
            write: current,
        }
    }

    /// Sets `stream`'s read timeout for a call that may wait `timeout` (if it changes).
    pub(super) fn limit_read(&mut self, stream: &TcpStream, timeout: Duration) -> io::Result<()> {
        let wanted = socket_timeout(self.io_timeout.min(timeout));
        set_if_changed(&mut self.read, wanted, |t| stream.set_read_timeout(Some(t)))
    }

    /// Sets `stream`'s write timeout for a call that may wait `timeout` (if it changes).
    pub(super) fn limit_write(&mut self, stream: &TcpStream, timeout: Duration) -> io::Result<()> {
        let wanted = socket_timeout(self.io_timeout.min(timeout));
        set_if_changed(&mut self.write, wanted, |t| {
            stream.set_write_timeout(Some(t))
        })
    }
}

/// Calls `set` with `wanted` and records it in `current`, unless it is set already.
fn set_if_changed(
    current: &mut Duration,
    wanted: Duration,
    set: impl FnOnce(Duration) -> io::Result<()>,
) -> io::Result<()> {
    if wanted != *current {
        set(wanted)?;
        *current = wanted;
    }
    Ok(())
}

/// The socket timeout for a call that may wait `limit`: rounded up to whole milliseconds (so the
/// socket never gives up before `limit`), and at least 1 ms (zero would mean "none").
pub(super) fn socket_timeout(limit: Duration) -> Duration {
    let millis = limit.as_nanos().div_ceil(1_000_000).max(1);
    Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

impl TcpConnection {
    fn open(stream: TcpStream, io_timeout: Duration) -> Result<Box<dyn Connection>, BackendError> {
        let stream = configure(stream, io_timeout)?;
        Ok(Box::new(TcpConnection {
            stream,
            timeouts: SocketTimeouts::new(io_timeout, socket_timeout(io_timeout)),
        }))
    }
}

impl Connection for TcpConnection {
    fn send(&mut self, data: &[u8], timeout: Duration) -> Result<usize, BackendError> {
        self.timeouts
            .limit_write(&self.stream, timeout)
            .map_err(|e| map_io(&e))?;
        loop {
            match self.stream.write(data) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return result.map_err(|e| map_io(&e)),
            }
        }
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, BackendError> {
        self.timeouts
            .limit_read(&self.stream, timeout)
            .map_err(|e| map_io(&e))?;
        loop {
            match self.stream.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return result.map_err(|e| map_io(&e)),
            }
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;

    /// A host budget longer than any timeout these tests set.
    const T: Duration = Duration::from_secs(3600);
    use std::net::TcpListener;
    use std::string::String;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::thread;

    fn target(host: HostName, port: u16) -> DialTarget {
        DialTarget { host, port }
    }

    /// A loopback echo server for one connection.
    fn echo_server() -> (u16, thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 64];
            loop {
                let n = stream.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).unwrap();
            }
        });
        (port, handle)
    }

    #[test]
    fn dial_and_echo_on_loopback() {
        let (port, server) = echo_server();
        let net = TcpNetwork::new().allow_loopback(true);
        let mut conn = net
            .dial(&target(HostName::Ipv4(Ipv4Addr::LOCALHOST), port), T)
            .unwrap();
        assert_eq!(conn.send(b"ping", T).unwrap(), 4);
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        while got.len() < 4 {
            let n = conn.recv(&mut buf, T).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"ping");
        drop(conn);
        server.join().unwrap();
    }

    #[test]
    fn loopback_refused_by_default() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let net = TcpNetwork::new();
        assert_eq!(
            net.dial(&target(HostName::Ipv4(Ipv4Addr::LOCALHOST), port), T)
                .err(),
            Some(BackendError::Denied)
        );
        assert_eq!(
            net.dial(&target(HostName::Ipv6(Ipv6Addr::LOCALHOST), port), T)
                .err(),
            Some(BackendError::Denied)
        );
        let mapped = Ipv4Addr::LOCALHOST.to_ipv6_mapped();
        assert_eq!(
            net.dial(&target(HostName::Ipv6(mapped), port), T).err(),
            Some(BackendError::Denied)
        );
        // Even with loopback allowed, 0.0.0.0 (which reaches this machine) is never dialled.
        let net = net.allow_loopback(true);
        assert_eq!(
            net.dial(&target(HostName::Ipv4(Ipv4Addr::UNSPECIFIED), port), T)
                .err(),
            Some(BackendError::Denied)
        );
    }

    #[test]
    fn resolver_called_once_and_its_address_used() {
        let (port, server) = echo_server();
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::<(String, u16)>::new()));
        let resolver: Resolver = {
            let calls = Arc::clone(&calls);
            let seen = Arc::clone(&seen);
            Arc::new(move |name: &str, port: u16| {
                calls.fetch_add(1, Ordering::SeqCst);
                seen.lock().unwrap().push((name.into(), port));
                // A refused address first, then the server (on another port, which is ignored).
                Ok(std::vec![
                    SocketAddr::from(([10, 0, 0, 1], port)),
                    SocketAddr::from(([127, 0, 0, 1], 1)),
                ])
            })
        };
        let net = TcpNetwork::new()
            .allow_loopback(true)
            .resolve_with(resolver);
        let mut conn = net
            .dial(&target(HostName::Dns("svc.test".into()), port), T)
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            seen.lock().unwrap().as_slice(),
            &[(String::from("svc.test"), port)]
        );
        conn.send(b"x", T).unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(conn.recv(&mut buf, T).unwrap(), 1);
        drop(conn);
        server.join().unwrap();
    }

    #[test]
    fn resolver_returning_denied_address_is_denied() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let net = TcpNetwork::new().resolve_with(Arc::new(move |_: &str, port: u16| {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(std::vec![
                SocketAddr::from(([127, 0, 0, 1], port)),
                SocketAddr::from(([169, 254, 169, 254], port)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
            ])
        }));
        assert_eq!(
            net.dial(&target(HostName::Dns("evil.test".into()), 80), T)
                .err(),
            Some(BackendError::Denied)
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn resolution_failures_are_not_found() {
        let empty = TcpNetwork::new().resolve_with(Arc::new(|_: &str, _: u16| Ok(Vec::new())));
        assert_eq!(
            empty
                .dial(&target(HostName::Dns("a.test".into()), 80), T)
                .err(),
            Some(BackendError::NotFound)
        );
        let failing = TcpNetwork::new().resolve_with(Arc::new(|_: &str, _: u16| {
            Err(io::Error::other("no such host"))
        }));
        assert_eq!(
            failing
                .dial(&target(HostName::Dns("a.test".into()), 80), T)
                .err(),
            Some(BackendError::NotFound)
        );
    }

    #[test]
    fn refused_connection_is_io() {
        // A port nothing listens on, below Linux's ephemeral range (32768 and up): the other
        // tests' servers bind port 0 and their connections take ephemeral ports, so neither
        // lands on it meanwhile, and a connection cannot meet itself there.
        let port = (20_000..32_000)
            .find(|&p| TcpListener::bind(("127.0.0.1", p)).is_ok())
            .unwrap();
        let net = TcpNetwork::new().allow_loopback(true);
        assert_eq!(
            net.dial(&target(HostName::Ipv4(Ipv4Addr::LOCALHOST), port), T)
                .err(),
            Some(BackendError::Io)
        );
    }

    #[test]
    fn recv_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let net = TcpNetwork::new()
            .allow_loopback(true)
            .io_timeout(Duration::from_millis(50));
        let mut conn = net
            .dial(&target(HostName::Ipv4(Ipv4Addr::LOCALHOST), port), T)
            .unwrap();
        let _server_side = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(conn.recv(&mut buf, T), Err(BackendError::TimedOut));
    }

    #[test]
    fn the_callers_timeout_bounds_recv_send_and_dial() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // The network's own timeouts are an hour: only the caller's bound them here.
        let net = TcpNetwork::new()
            .allow_loopback(true)
            .connect_timeout(Duration::from_secs(3600))
            .io_timeout(Duration::from_secs(3600));
        let short = Duration::from_millis(50);
        let mut conn = net
            .dial(&target(HostName::Ipv4(Ipv4Addr::LOCALHOST), port), short)
            .unwrap();
        let _server_side = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        let start = Instant::now();
        assert_eq!(conn.recv(&mut buf, short), Err(BackendError::TimedOut));
        assert!(
            start.elapsed() >= short,
            "gave up early: {:?}",
            start.elapsed()
        );
        // The peer never reads: sends fill the socket buffers, then one times out.
        let chunk = std::vec![0u8; 64 << 10];
        let mut sent = 0usize;
        let error = loop {
            match conn.send(&chunk, short) {
                Ok(n) => sent += n,
                Err(e) => break e,
            }
        };
        assert_eq!(error, BackendError::TimedOut);
        assert!(sent > 0);
        // A longer timeout is applied again for the next call (not stuck at the short one).
        assert_eq!(
            conn.recv(&mut buf, Duration::from_millis(120)),
            Err(BackendError::TimedOut)
        );
        assert_eq!(
            conn.recv(&mut buf, Duration::ZERO),
            Err(BackendError::TimedOut)
        );
    }

    #[test]
    fn socket_timeouts_round_up_to_whole_milliseconds() {
        assert_eq!(socket_timeout(Duration::ZERO), Duration::from_millis(1));
        assert_eq!(
            socket_timeout(Duration::from_nanos(1)),
            Duration::from_millis(1)
        );
        assert_eq!(
            socket_timeout(Duration::from_micros(1_500)),
            Duration::from_millis(2)
        );
        assert_eq!(
            socket_timeout(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        assert!(socket_timeout(Duration::MAX) > Duration::from_secs(1 << 40));
    }

    #[test]
    fn address_policy() {
        let v4 = |a, b, c, d| classify(IpAddr::V4(Ipv4Addr::new(a, b, c, d)));
        assert_eq!(v4(93, 184, 216, 34), Class::Public);
        assert_eq!(v4(127, 0, 0, 1), Class::Loopback);
        assert_eq!(v4(127, 1, 2, 3), Class::Loopback);
        assert_eq!(v4(10, 1, 2, 3), Class::Private);
        assert_eq!(v4(172, 16, 0, 1), Class::Private);
        assert_eq!(v4(172, 32, 0, 1), Class::Public);
        assert_eq!(v4(192, 168, 1, 1), Class::Private);
        assert_eq!(v4(169, 254, 169, 254), Class::Private);
        assert_eq!(v4(100, 64, 0, 1), Class::Private);
        assert_eq!(v4(100, 128, 0, 1), Class::Public);
        assert_eq!(v4(0, 0, 0, 0), Class::Never);
        assert_eq!(v4(0, 1, 2, 3), Class::Never);
        assert_eq!(v4(224, 0, 0, 1), Class::Never);
        assert_eq!(v4(255, 255, 255, 255), Class::Never);
        assert_eq!(v4(240, 0, 0, 1), Class::Never);
        let v6 = |s: &str| classify(IpAddr::V6(s.parse().unwrap()));
        assert_eq!(v6("2606:4700::1111"), Class::Public);
        assert_eq!(v6("::1"), Class::Loopback);
        assert_eq!(v6("::"), Class::Never);
        assert_eq!(v6("ff02::1"), Class::Never);
        assert_eq!(v6("::127.0.0.1"), Class::Never);
        assert_eq!(v6("fd00::1"), Class::Private);
        assert_eq!(v6("fe80::1"), Class::Private);
        assert_eq!(v6("fec0::1"), Class::Private);
        assert_eq!(v6("::ffff:127.0.0.1"), Class::Loopback);
        assert_eq!(v6("::ffff:10.0.0.1"), Class::Private);
        assert_eq!(v6("::ffff:8.8.8.8"), Class::Public);
        assert_eq!(v6("64:ff9b::7f00:1"), Class::Loopback);
        assert_eq!(v6("64:ff9b::a9fe:a9fe"), Class::Private);
        assert_eq!(v6("64:ff9b::808:808"), Class::Public);
    }
}
