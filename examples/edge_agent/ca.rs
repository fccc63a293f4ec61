//! A small certificate authority for the demo, on 127.0.0.1 (ephemeral port), speaking the
//! HTTP/1.1 that `ca-acme-lite` speaks: `POST /issue` with a CSR (PEM), a `200` with the chain.
//!
//! Like an ACME CA with `dns-01`, it hands out a challenge token per name and issues only when
//! the zone carries `_acme-challenge.<name>. TXT "<token>"`. It reads the zone file the DNS
//! plugin writes (standing in for querying the zone's authoritative server). It signs only
//! names under its zone, for 90 days.

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CertificateSigningRequestParams, DnType,
    IsCa, KeyPair, SanType, SerialNumber,
};

/// A running demo CA. Stops when dropped.
pub struct DemoCa {
    addr: SocketAddr,
    tokens: BTreeMap<String, String>,
    stop: Arc<AtomicBool>,
    issued: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    server: Option<JoinHandle<()>>,
}

struct Authority {
    cert: Certificate,
    key: KeyPair,
    zone: String,
    zone_file: PathBuf,
    tokens: BTreeMap<String, String>,
    next_serial: AtomicU64,
}

impl DemoCa {
    /// Starts a CA named `CN=<name>` for names under `zone`, checking challenges in
    /// `zone_file`, with one challenge token for each of `names`.
    pub fn start(
        name: &str,
        zone: &str,
        zone_file: PathBuf,
        names: &[String],
    ) -> Result<DemoCa, String> {
        let key = KeyPair::generate().map_err(|e| format!("CA key: {e}"))?;
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(|e| format!("CA: {e}"))?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params
            .self_signed(&key)
            .map_err(|e| format!("CA certificate: {e}"))?;
        let tokens: BTreeMap<String, String> = names
            .iter()
            .map(|n| (n.to_ascii_lowercase(), random_token()))
            .collect();
        let authority = Arc::new(Authority {
            cert,
            key,
            zone: zone.trim_end_matches('.').to_ascii_lowercase(),
            zone_file,
            tokens: tokens.clone(),
            next_serial: AtomicU64::new(random_u64()),
        });

        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("CA listener: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("CA listener: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("CA listener: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let issued = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let server = {
            let (stop, issued, refused) = (stop.clone(), issued.clone(), refused.clone());
            thread::Builder::new()
                .name("demo-ca".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        match listener.accept() {
                            Ok((stream, _)) => {
                                let counter = if authority.serve(stream) {
                                    &issued
                                } else {
                                    &refused
                                };
                                counter.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                thread::sleep(Duration::from_millis(2));
                            }
                            Err(_) => break,
                        }
                    }
                })
                .map_err(|e| format!("CA thread: {e}"))?
        };
        Ok(DemoCa {
            addr,
            tokens,
            stop,
            issued,
            refused,
            server: Some(server),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `dns-01` challenge token for `name` (in ACME: part of the order's authorization).
    pub fn challenge(&self, name: &str) -> Option<&str> {
        self.tokens
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Certificates issued and requests refused so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.issued.load(Ordering::SeqCst),
            self.refused.load(Ordering::SeqCst),
        )
    }
}

impl Drop for DemoCa {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

impl Authority {
    /// Answers one connection; whether a certificate was issued.
    fn serve(&self, mut stream: TcpStream) -> bool {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
        let (status, body) = match read_request(&mut stream) {
            Err(why) => ("400 Bad Request", why),
            Ok((line, _)) if line != "POST /issue HTTP/1.1" => {
                ("404 Not Found", format!("no such endpoint: {line}"))
            }
            Ok((_, csr)) => match self.issue(&csr) {
                Ok(chain) => ("200 OK", chain),
                Err(why) => ("403 Forbidden", why),
            },
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/pem-certificate-chain\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes());
        status.starts_with("200")
    }

    /// Checks the CSR's names and their challenges, and signs it.
    fn issue(&self, csr_pem: &str) -> Result<String, String> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| format!("not a valid CSR: {e}"))?;
        let zone_text = std::fs::read_to_string(&self.zone_file).unwrap_or_default();
        if csr.params.subject_alt_names.is_empty() {
            return Err("the CSR names no DNS identifier".into());
        }
        for san in &csr.params.subject_alt_names {
            let SanType::DnsName(name) = san else {
                return Err(format!("identifier type not allowed: {san:?}"));
            };
            let name = name.as_str().to_ascii_lowercase();
            if !name.ends_with(&format!(".{}", self.zone)) {
                return Err(format!("{name} is outside {}", self.zone));
            }
            let token = self
                .tokens
                .get(&name)
                .ok_or_else(|| format!("no order for {name}"))?;
            let owner = format!("_acme-challenge.{name}.");
            let published = zone_text.lines().any(|line| {
                line.split_whitespace().next() == Some(owner.as_str())
                    && line.contains(" TXT ")
                    && line.contains(&format!("\"{token}\""))
            });
            if !published {
                return Err(format!("dns-01 challenge for {name} is not in the zone"));
            }
        }
        let now = time::OffsetDateTime::now_utc();
        csr.params.not_before = now - time::Duration::minutes(5);
        csr.params.not_after = now + time::Duration::days(90);
        // 64 random bits, positive and without a leading zero byte (minimal DER).
        let mut serial = self
            .next_serial
            .fetch_add(1, Ordering::SeqCst)
            .to_be_bytes();
        serial[0] = (serial[0] & 0x7f) | 0x10;
        csr.params.serial_number = Some(SerialNumber::from_slice(&serial));
        csr.params.is_ca = IsCa::ExplicitNoCa;
        let leaf = csr
            .signed_by(&self.cert, &self.key)
            .map_err(|e| format!("signing failed: {e}"))?;
        Ok(format!("{}{}", leaf.pem(), self.cert.pem()))
    }
}

/// Reads one request: the request line and a `Content-Length` body (at most 64 KiB).
fn read_request(stream: &mut TcpStream) -> Result<(String, String), String> {
    const MAX: usize = 64 * 1024;
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 || data.len() > MAX {
            return Err("incomplete request".into());
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .ok_or("no Content-Length")?;
    if length > MAX {
        return Err("body too large".into());
    }
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("incomplete body".into());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    let body = String::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())?;
    Ok((request_line, body))
}

/// 32 hex digits (a demo token, not a secret).
fn random_token() -> String {
    format!("{:016x}{:016x}", random_u64(), random_u64())
}

/// 64 bits from the standard library's randomly keyed hasher: enough for demo tokens and
/// serials without another dependency.
fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    hasher.finish()
}
