//! A small HTTP/1.1 client over the host's TLS connections: keep-alive to one server at a
//! time, `Content-Length`, `chunked` and read-to-close bodies, bounded sizes.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use pluginhost_sdk::net::TcpStream;
use pluginhost_sdk::proto::{FailureCode, PluginFailure};
use pluginhost_sdk::Error;

use crate::url::Url;

/// The largest response head (status line and headers).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The largest response body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// At most this many headers are kept.
const MAX_HEADERS: usize = 64;

/// A response: status, headers (names lower-cased), body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// `(name, value)`, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The open connection and what was read past the last response.
struct Open {
    host: String,
    port: u16,
    stream: TcpStream,
    pending: Vec<u8>,
}

/// One keep-alive connection at a time, re-dialled when the server or the URL changes.
#[derive(Default)]
pub struct Client {
    open: Option<Open>,
    /// Connections dialled so far (for tests and logs).
    pub dials: u32,
}

fn io_failure(what: &str, error: Error) -> PluginFailure {
    let message = match error {
        Error::Tls => format!("{what}: the host could not verify the CA's TLS certificate"),
        Error::Denied => format!("{what}: the grant does not allow this host:port"),
        other => format!("{what}: {other}"),
    };
    PluginFailure::new(error.failure_code(), message)
}

impl Client {
    /// Sends one request and reads its response. A request on a kept-alive connection that the
    /// server had already closed is retried once on a new connection.
    pub fn request(
        &mut self,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, PluginFailure> {
        let mut wire = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: pluginhost-ca-acme/{}\r\n",
            url.path,
            url.authority(),
            env!("CARGO_PKG_VERSION")
        );
        for (name, value) in headers {
            wire.push_str(name);
            wire.push_str(": ");
            wire.push_str(value);
            wire.push_str("\r\n");
        }
        if !body.is_empty() || method == "POST" {
            wire.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        wire.push_str("\r\n");
        let mut bytes = wire.into_bytes();
        bytes.extend_from_slice(body);

        let reused = self.reuse(url);
        if !reused {
            self.dial(url)?;
        }
        match self.exchange(&bytes, method == "HEAD") {
            Ok(response) => Ok(response),
            Err(Retry::Stale) if reused => {
                self.open = None;
                self.dial(url)?;
                self.exchange(&bytes, method == "HEAD")
                    .map_err(Retry::failure)
            }
            Err(e) => {
                self.open = None;
                Err(e.failure())
            }
        }
    }

    fn reuse(&mut self, url: &Url) -> bool {
        match &self.open {
            Some(open) if open.host == url.host && open.port == url.port => true,
            _ => {
                self.open = None;
                false
            }
        }
    }

    fn dial(&mut self, url: &Url) -> Result<(), PluginFailure> {
        let stream = TcpStream::dial_tls(&url.host, url.port)
            .map_err(|e| io_failure(&format!("connecting to {}:{}", url.host, url.port), e))?;
        self.dials += 1;
        self.open = Some(Open {
            host: url.host.clone(),
            port: url.port,
            stream,
            pending: Vec::new(),
        });
        Ok(())
    }

    fn exchange(&mut self, request: &[u8], head_only: bool) -> Result<Response, Retry> {
        let open = self.open.as_mut().ok_or(Retry::Stale)?;
        open.stream.write_all(request).map_err(|_| Retry::Stale)?;
        let (response, keep) = read_response(open, head_only)?;
        if !keep {
            self.open = None;
        }
        Ok(response)
    }
}

/// Why an exchange failed: a kept-alive connection the server had closed before answering
/// (worth one retry), or a real failure.
enum Retry {
    Stale,
    Failed(PluginFailure),
}

impl Retry {
    fn failure(self) -> PluginFailure {
        match self {
            Retry::Stale => PluginFailure::new(
                FailureCode::Io,
                "the CA closed the connection before answering",
            ),
            Retry::Failed(f) => f,
        }
    }
}

impl From<PluginFailure> for Retry {
    fn from(f: PluginFailure) -> Self {
        Retry::Failed(f)
    }
}

/// Reads more bytes into `open.pending`; false at end of stream.
fn fill(open: &mut Open) -> Result<bool, PluginFailure> {
    let mut chunk = [0u8; 4096];
    let n = open
        .stream
        .recv(&mut chunk)
        .map_err(|e| io_failure("reading the CA's response", e))?;
    open.pending
        .extend_from_slice(chunk.get(..n).ok_or_else(|| protocol("overran a buffer"))?);
    Ok(n > 0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn protocol(why: &str) -> PluginFailure {
    PluginFailure::protocol(format!("the CA's HTTP response {why}"))
}

/// Reads one response; the second value says whether the connection may be kept.
fn read_response(open: &mut Open, head_only: bool) -> Result<(Response, bool), Retry> {
    let head_end = loop {
        if let Some(i) = find(&open.pending, b"\r\n\r\n") {
            break i;
        }
        if open.pending.len() > MAX_HEAD_BYTES {
            return Err(PluginFailure::limit("the CA's response head is over 16 KiB").into());
        }
        if !fill(open)? {
            return Err(if open.pending.is_empty() {
                Retry::Stale
            } else {
                protocol("ended inside its head").into()
            });
        }
    };
    let head = open
        .pending
        .get(..head_end)
        .and_then(|h| core::str::from_utf8(h).ok())
        .ok_or_else(|| protocol("head is not UTF-8"))?
        .to_string();
    open.pending.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| protocol("has no status line"))?;
    if !version.starts_with("HTTP/1.") {
        return Err(protocol("is not HTTP/1.x").into());
    }
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| protocol("has a malformed header"))?;
        if headers.len() < MAX_HEADERS {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let mut keep = !response
        .header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        && version == "HTTP/1.1";
    if head_only || status == 204 || status == 304 || status < 200 {
        return Ok((response, keep));
    }
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        response.body = read_chunked(open)?;
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| protocol("has a bad Content-Length"))?;
        if length > MAX_BODY_BYTES {
            return Err(PluginFailure::limit("the CA's response body is over 256 KiB").into());
        }
        while open.pending.len() < length {
            if !fill(open)? {
                return Err(protocol("ended before its Content-Length").into());
            }
        }
        response.body = open.pending.drain(..length).collect();
    } else {
        // Until the server closes: the connection cannot be kept.
        keep = false;
        while fill(open)? {
            if open.pending.len() > MAX_BODY_BYTES {
                return Err(PluginFailure::limit("the CA's response body is over 256 KiB").into());
            }
        }
        response.body = core::mem::take(&mut open.pending);
    }
    Ok((response, keep))
}

/// Reads a `chunked` body (trailers are read and dropped).
fn read_chunked(open: &mut Open) -> Result<Vec<u8>, PluginFailure> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(&open.pending, b"\r\n") {
                break i;
            }
            if open.pending.len() > 1024 || !fill(open)? {
                return Err(protocol("has a bad chunk header"));
            }
        };
        let line = open
            .pending
            .get(..line_end)
            .and_then(|l| core::str::from_utf8(l).ok())
            .ok_or_else(|| protocol("has a bad chunk header"))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| protocol("has a bad chunk size"))?;
        open.pending.drain(..line_end + 2);
        if size == 0 {
            // Trailers, then an empty line.
            loop {
                if let Some(i) = find(&open.pending, b"\r\n") {
                    open.pending.drain(..i + 2);
                    if i == 0 {
                        return Ok(body);
                    }
                } else if open.pending.len() > MAX_HEAD_BYTES || !fill(open)? {
                    return Err(protocol("ended inside its trailers"));
                }
            }
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(PluginFailure::limit(
                "the CA's response body is over 256 KiB",
            ));
        }
        while open.pending.len() < size + 2 {
            if !fill(open)? {
                return Err(protocol("ended inside a chunk"));
            }
        }
        body.extend(open.pending.drain(..size));
        if open.pending.get(..2) != Some(b"\r\n") {
            return Err(protocol("has a chunk without its CRLF"));
        }
        open.pending.drain(..2);
    }
}
