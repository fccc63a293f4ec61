//! Request validation, the request/response exchange, and the CA answer's interpretation. Pure
//! apart from the [`Transport`] it is handed, so it is unit-tested on the host with a fake one.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use pluginhost_sdk::net::TcpStream;
use pluginhost_sdk::proto::ca::{IssueRequest, IssueResponse};
use pluginhost_sdk::proto::PluginFailure;
use pluginhost_sdk::Error;

use crate::http::{self, HttpError, Progress, Response};

/// The request path on the CA endpoint.
pub const ISSUE_PATH: &str = "/issue";
/// The request body's media type.
pub const CSR_CONTENT_TYPE: &str = "application/pkcs10";
/// The largest CSR accepted.
pub const MAX_CSR_BYTES: usize = 16 * 1024;
/// The most identifiers accepted.
pub const MAX_IDENTIFIERS: usize = 100;
/// How much of an error body is quoted in a failure message.
const ERROR_SNIPPET_BYTES: usize = 200;

/// A byte stream to the CA.
pub trait Transport {
    /// Sends all of `data`.
    fn send_all(&mut self, data: &[u8]) -> Result<(), Error>;
    /// Receives into `buf`; 0 when the peer has closed.
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error>;
}

impl Transport for TcpStream {
    fn send_all(&mut self, data: &[u8]) -> Result<(), Error> {
        self.write_all(data)
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        TcpStream::recv(self, buf)
    }
}

/// Checks the request: a PEM CSR and nothing secret, a plausible host, a port.
pub fn validate(request: &IssueRequest) -> Result<(), PluginFailure> {
    let csr = request.csr_pem.as_str();
    if csr.len() > MAX_CSR_BYTES {
        return Err(PluginFailure::limit("csr_pem is larger than 16 KiB"));
    }
    let trimmed = csr.trim_start();
    if !(trimmed.starts_with("-----BEGIN CERTIFICATE REQUEST-----")
        || trimmed.starts_with("-----BEGIN NEW CERTIFICATE REQUEST-----"))
    {
        return Err(PluginFailure::bad_request(
            "csr_pem is not a PEM certificate request",
        ));
    }
    if csr.contains("PRIVATE KEY") {
        return Err(PluginFailure::bad_request(
            "csr_pem contains a private key; refusing to send it",
        ));
    }
    if !csr
        .bytes()
        .all(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
    {
        return Err(PluginFailure::bad_request("csr_pem is not PEM text"));
    }
    if request.identifiers.len() > MAX_IDENTIFIERS
        || request
            .identifiers
            .iter()
            .any(|id| id.is_empty() || id.len() > 253 || !id.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(PluginFailure::bad_request(
            "identifiers must be at most 100 names of 1 to 253 printable ASCII bytes",
        ));
    }
    validate_host(&request.ca_host)?;
    if request.ca_port == 0 {
        return Err(PluginFailure::bad_request("ca_port must not be 0"));
    }
    Ok(())
}

/// A DNS name or IPv4 literal (`A-Z a-z 0-9 . - _`), or an IPv6 literal without brackets.
pub fn validate_host(host: &str) -> Result<(), PluginFailure> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && if host.contains(':') {
            host.bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        } else {
            host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
        };
    if ok {
        Ok(())
    } else {
        Err(PluginFailure::bad_request(
            "ca_host must be a DNS name or an IP literal, without port or brackets",
        ))
    }
}

/// Sends `request` and reads one response, bounded by [`http::MAX_RESPONSE_BYTES`].
pub fn exchange<T: Transport>(
    transport: &mut T,
    request: &[u8],
) -> Result<Response, PluginFailure> {
    transport
        .send_all(request)
        .map_err(|e| host_failure("sending the request", e))?;
    let mut received = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        if let Progress::Done(response) =
            http::parse_response(&received, false).map_err(http_failure)?
        {
            return Ok(response);
        }
        let n = transport
            .recv(&mut chunk)
            .map_err(|e| host_failure("reading the response", e))?;
        let Some(data) = chunk.get(..n).filter(|d| !d.is_empty()) else {
            return match http::parse_response(&received, true).map_err(http_failure)? {
                Progress::Done(response) => Ok(response),
                Progress::Incomplete => Err(http_failure(HttpError::Truncated)),
            };
        };
        if received.len() + data.len() > http::MAX_RESPONSE_BYTES {
            return Err(PluginFailure::limit("the CA's response is too large"));
        }
        received.extend_from_slice(data);
    }
}

/// A 200 with a PEM chain is the certificate; anything else is the CA's refusal.
pub fn interpret(response: Response) -> Result<IssueResponse, PluginFailure> {
    if response.status != 200 {
        return Err(PluginFailure::upstream(format!(
            "the CA answered {} {}: {}",
            response.status,
            printable(response.reason.as_bytes(), 64),
            printable(&response.body, ERROR_SNIPPET_BYTES),
        )));
    }
    let chain_pem = String::from_utf8(response.body)
        .map_err(|_| PluginFailure::protocol("the CA's answer is not UTF-8"))?;
    if !chain_pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(PluginFailure::protocol(
            "the CA's answer holds no PEM certificate",
        ));
    }
    if chain_pem.contains("PRIVATE KEY") {
        return Err(PluginFailure::protocol(
            "the CA's answer contains a private key; refusing it",
        ));
    }
    Ok(IssueResponse { chain_pem })
}

/// At most `max` bytes of `bytes`, with anything but printable ASCII shown as `?` and
/// whitespace runs as one space.
fn printable(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(max) {
        let c = if b.is_ascii_graphic() {
            char::from(b)
        } else if b.is_ascii_whitespace() {
            if out.ends_with(' ') || out.is_empty() {
                continue;
            }
            ' '
        } else {
            '?'
        };
        out.push(c);
    }
    if bytes.len() > max {
        out.push_str("...");
    }
    String::from(out.trim_end())
}

/// A host call's failure, with what was being done.
pub fn host_failure(doing: &str, error: Error) -> PluginFailure {
    PluginFailure::new(error.failure_code(), format!("{doing}: {error}"))
}

fn http_failure(error: HttpError) -> PluginFailure {
    match error {
        HttpError::BodyTooLarge | HttpError::HeadTooLarge => {
            PluginFailure::limit(format!("the CA's {error}"))
        }
        _ => PluginFailure::protocol(format!("the CA's {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use pluginhost_sdk::proto::FailureCode;

    const CSR: &str =
        "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
    const CHAIN: &str = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n";

    fn request() -> IssueRequest {
        IssueRequest {
            csr_pem: CSR.to_string(),
            identifiers: vec!["www.example.com".to_string()],
            ca_host: "ca.local".to_string(),
            ca_port: 8443,
        }
    }

    /// Replays a canned response in pieces and records what was sent.
    struct Fake {
        sent: Vec<u8>,
        pieces: Vec<Vec<u8>>,
        fail_recv: Option<Error>,
        max_send: usize,
    }

    impl Fake {
        fn new(response: &[u8], piece: usize) -> Self {
            Fake {
                sent: Vec::new(),
                pieces: response.chunks(piece).rev().map(<[u8]>::to_vec).collect(),
                fail_recv: None,
                max_send: usize::MAX,
            }
        }
    }

    impl Transport for Fake {
        fn send_all(&mut self, data: &[u8]) -> Result<(), Error> {
            if data.len() > self.max_send {
                return Err(Error::Limit);
            }
            self.sent.extend_from_slice(data);
            Ok(())
        }

        fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
            if let Some(e) = self.fail_recv {
                return Err(e);
            }
            match self.pieces.pop() {
                None => Ok(0),
                Some(piece) => {
                    let n = piece.len().min(buf.len());
                    buf[..n].copy_from_slice(&piece[..n]);
                    Ok(n)
                }
            }
        }
    }

    fn ok_response() -> Vec<u8> {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/pem-certificate-chain\r\nContent-Length: {}\r\n\r\n{CHAIN}",
            CHAIN.len()
        )
        .into_bytes()
    }

    #[test]
    fn happy_path_in_small_pieces() {
        let req = request();
        validate(&req).unwrap();
        let wire = http::build_post(
            &req.ca_host,
            req.ca_port,
            ISSUE_PATH,
            CSR_CONTENT_TYPE,
            req.csr_pem.as_bytes(),
        );
        for piece in [1, 7, 4096] {
            let mut fake = Fake::new(&ok_response(), piece);
            let response = exchange(&mut fake, &wire).unwrap();
            assert_eq!(fake.sent, wire);
            assert_eq!(interpret(response).unwrap().chain_pem, CHAIN);
        }
        // Content-Length lets the exchange finish without waiting for the close.
        let mut fake = Fake::new(&ok_response(), 4096);
        fake.pieces.insert(0, b"never read".to_vec());
        assert!(exchange(&mut fake, b"x").is_ok());
    }

    #[test]
    fn refusals_become_upstream_failures() {
        let mut fake = Fake::new(
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 23\r\n\r\nidentifier\x1b[31m  denied",
            64,
        );
        let f = interpret(exchange(&mut fake, b"x").unwrap()).unwrap_err();
        assert_eq!(f.code, FailureCode::Upstream);
        assert_eq!(
            f.message,
            "the CA answered 403 Forbidden: identifier?[31m denied"
        );
        let long = format!("HTTP/1.1 500 Oops\r\n\r\n{}", "x".repeat(500));
        let mut fake = Fake::new(long.as_bytes(), 100);
        let f = interpret(exchange(&mut fake, b"x").unwrap()).unwrap_err();
        assert!(f.message.ends_with("xxx..."), "{}", f.message);
        assert!(f.message.len() < 300);
    }

    #[test]
    fn bad_answers() {
        let answer = |body: &str| {
            interpret(Response {
                status: 200,
                reason: "OK".into(),
                body: body.as_bytes().to_vec(),
            })
        };
        assert_eq!(answer("hello").unwrap_err().code, FailureCode::Protocol);
        assert_eq!(
            answer(&format!("{CHAIN}-----BEGIN PRIVATE KEY-----"))
                .unwrap_err()
                .code,
            FailureCode::Protocol
        );
        let bytes = interpret(Response {
            status: 200,
            reason: String::new(),
            body: vec![0xff],
        });
        assert_eq!(bytes.unwrap_err().code, FailureCode::Protocol);

        let mut fake = Fake::new(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", 64);
        assert_eq!(
            exchange(&mut fake, b"x").unwrap_err().code,
            FailureCode::Protocol
        );
        let mut fake = Fake::new(b"garbage\r\n\r\n", 64);
        assert_eq!(
            exchange(&mut fake, b"x").unwrap_err().code,
            FailureCode::Protocol
        );
        let mut fake = Fake::new(b"", 64);
        assert_eq!(
            exchange(&mut fake, b"x").unwrap_err().code,
            FailureCode::Protocol
        );
        let mut fake = Fake::new(&ok_response(), 64);
        fake.fail_recv = Some(Error::Io);
        let f = exchange(&mut fake, b"x").unwrap_err();
        assert_eq!(
            (f.code, f.message.as_str()),
            (FailureCode::Io, "reading the response: I/O error")
        );
        let mut fake = Fake::new(&ok_response(), 64);
        fake.max_send = 0;
        assert_eq!(
            exchange(&mut fake, b"x").unwrap_err().code,
            FailureCode::Limit
        );
        let mut endless = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        endless.resize(http::MAX_RESPONSE_BYTES + 10, b'a');
        let mut fake = Fake::new(&endless, 16 * 1024);
        assert_eq!(
            exchange(&mut fake, b"x").unwrap_err().code,
            FailureCode::Limit
        );
    }

    #[test]
    fn request_validation() {
        let bad = |f: fn(&mut IssueRequest)| {
            let mut r = request();
            f(&mut r);
            validate(&r).unwrap_err().code
        };
        assert_eq!(bad(|r| r.csr_pem = "hello".into()), FailureCode::BadRequest);
        assert_eq!(
            bad(|r| r.csr_pem.push_str("-----BEGIN PRIVATE KEY-----")),
            FailureCode::BadRequest
        );
        assert_eq!(bad(|r| r.csr_pem.push('\0')), FailureCode::BadRequest);
        assert_eq!(
            bad(|r| r.csr_pem.push_str(&"A".repeat(MAX_CSR_BYTES))),
            FailureCode::Limit
        );
        assert_eq!(bad(|r| r.ca_port = 0), FailureCode::BadRequest);
        for host in [
            "",
            "ca.local:8443",
            "[::1]",
            "ca local",
            "ca.local\r\nX: y",
            "a..b",
            "ca.local/x",
        ] {
            let mut r = request();
            r.ca_host = host.into();
            assert_eq!(
                validate(&r).unwrap_err().code,
                FailureCode::BadRequest,
                "{host:?}"
            );
        }
        for host in ["127.0.0.1", "::1", "ca-1.example_x.com", "fe80::1"] {
            validate_host(host).unwrap();
        }
        assert_eq!(
            bad(|r| r.identifiers = vec![String::new()]),
            FailureCode::BadRequest
        );
        assert_eq!(
            bad(|r| r.identifiers = vec!["a b".into()]),
            FailureCode::BadRequest
        );
        assert_eq!(
            bad(|r| r.identifiers = vec!["a".into(); 101]),
            FailureCode::BadRequest
        );
        let mut r = request();
        r.identifiers.clear();
        validate(&r).unwrap();
    }
}
