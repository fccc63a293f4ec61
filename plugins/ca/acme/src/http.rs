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
        let (response, keep) = read_response(&mut open.stream, &mut open.pending, head_only)?;
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

/// Where response bytes come from: the CA's connection (or a scripted one in tests).
trait Source {
    /// Reads at most `buf.len()` bytes; 0 at end of stream.
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error>;
}

impl Source for TcpStream {
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        TcpStream::recv(self, buf)
    }
}

/// Reads more bytes into `pending`; false at end of stream.
fn fill(stream: &mut impl Source, pending: &mut Vec<u8>) -> Result<bool, PluginFailure> {
    let mut chunk = [0u8; 4096];
    let n = stream
        .recv(&mut chunk)
        .map_err(|e| io_failure("reading the CA's response", e))?;
    pending.extend_from_slice(chunk.get(..n).ok_or_else(|| protocol("overran a buffer"))?);
    Ok(n > 0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn protocol(why: &str) -> PluginFailure {
    PluginFailure::protocol(format!("the CA's HTTP response {why}"))
}

/// Reads one response from `stream`, after the bytes already in `pending` (what was read past
/// the previous response); the second value says whether the connection may be kept.
fn read_response(
    stream: &mut impl Source,
    pending: &mut Vec<u8>,
    head_only: bool,
) -> Result<(Response, bool), Retry> {
    let head_end = loop {
        if let Some(i) = find(pending, b"\r\n\r\n") {
            break i;
        }
        if pending.len() > MAX_HEAD_BYTES {
            return Err(PluginFailure::limit("the CA's response head is over 16 KiB").into());
        }
        if !fill(stream, pending)? {
            return Err(if pending.is_empty() {
                Retry::Stale
            } else {
                protocol("ended inside its head").into()
            });
        }
    };
    let head = pending
        .get(..head_end)
        .and_then(|h| core::str::from_utf8(h).ok())
        .ok_or_else(|| protocol("head is not UTF-8"))?
        .to_string();
    pending.drain(..head_end + 4);
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
        response.body = read_chunked(stream, pending)?;
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| protocol("has a bad Content-Length"))?;
        if length > MAX_BODY_BYTES {
            return Err(PluginFailure::limit("the CA's response body is over 256 KiB").into());
        }
        while pending.len() < length {
            if !fill(stream, pending)? {
                return Err(protocol("ended before its Content-Length").into());
            }
        }
        response.body = pending.drain(..length).collect();
    } else {
        // Until the server closes: the connection cannot be kept.
        keep = false;
        while fill(stream, pending)? {
            if pending.len() > MAX_BODY_BYTES {
                return Err(PluginFailure::limit("the CA's response body is over 256 KiB").into());
            }
        }
        response.body = core::mem::take(pending);
    }
    Ok((response, keep))
}

/// Reads a `chunked` body (trailers are read and dropped).
fn read_chunked(stream: &mut impl Source, pending: &mut Vec<u8>) -> Result<Vec<u8>, PluginFailure> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(pending, b"\r\n") {
                break i;
            }
            if pending.len() > 1024 || !fill(stream, pending)? {
                return Err(protocol("has a bad chunk header"));
            }
        };
        let line = pending
            .get(..line_end)
            .and_then(|l| core::str::from_utf8(l).ok())
            .ok_or_else(|| protocol("has a bad chunk header"))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| protocol("has a bad chunk size"))?;
        pending.drain(..line_end + 2);
        if size == 0 {
            // Trailers, then an empty line.
            loop {
                if let Some(i) = find(pending, b"\r\n") {
                    pending.drain(..i + 2);
                    if i == 0 {
                        return Ok(body);
                    }
                } else if pending.len() > MAX_HEAD_BYTES || !fill(stream, pending)? {
                    return Err(protocol("ended inside its trailers"));
                }
            }
        }
        // Checked: a hostile size near usize::MAX must not wrap past the bound.
        if body
            .len()
            .checked_add(size)
            .is_none_or(|total| total > MAX_BODY_BYTES)
        {
            return Err(PluginFailure::limit(
                "the CA's response body is over 256 KiB",
            ));
        }
        while pending.len() < size + 2 {
            if !fill(stream, pending)? {
                return Err(protocol("ended inside a chunk"));
            }
        }
        body.extend(pending.drain(..size));
        if pending.get(..2) != Some(b"\r\n") {
            return Err(protocol("has a chunk without its CRLF"));
        }
        pending.drain(..2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer that answers with `script`, handing out at most `step` bytes per read, then ends
    /// the stream (or fails the read, if `fail_at_end`).
    struct Scripted {
        script: Vec<u8>,
        at: usize,
        step: usize,
        fail_at_end: bool,
    }

    impl Scripted {
        fn new(script: &[u8], step: usize) -> Self {
            Scripted {
                script: script.to_vec(),
                at: 0,
                step,
                fail_at_end: false,
            }
        }
    }

    impl Source for Scripted {
        fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
            let rest = &self.script[self.at..];
            if rest.is_empty() && self.fail_at_end {
                return Err(Error::Io);
            }
            let n = rest.len().min(self.step).min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.at += n;
            Ok(n)
        }
    }

    /// Reads one response from `wire` delivered `step` bytes at a time.
    fn read(wire: &[u8], step: usize) -> (Result<(Response, bool), Retry>, Vec<u8>) {
        let mut peer = Scripted::new(wire, step);
        let mut pending = Vec::new();
        let result = read_response(&mut peer, &mut pending, false);
        (result, pending)
    }

    fn ok(wire: &[u8], step: usize) -> (Response, bool) {
        match read(wire, step).0 {
            Ok(done) => done,
            Err(Retry::Stale) => panic!("stale connection for {wire:?}"),
            Err(Retry::Failed(f)) => panic!("failed: {f:?}"),
        }
    }

    fn failure(wire: &[u8]) -> PluginFailure {
        match read(wire, 4096).0 {
            Err(Retry::Failed(f)) => f,
            Err(Retry::Stale) => panic!("stale instead of a failure"),
            Ok((r, _)) => panic!("read {} instead of a failure", r.status),
        }
    }

    /// Every way of cutting the bytes into reads gives the same response.
    const STEPS: [usize; 5] = [1, 2, 3, 7, 4096];

    #[test]
    fn content_length_body_and_keep_alive() {
        let wire = b"HTTP/1.1 201 Created\r\nLocation: /acct/1\r\nReplay-Nonce: abc\r\nContent-Length: 5\r\n\r\nhello";
        for step in STEPS {
            let (r, keep) = ok(wire, step);
            assert_eq!(r.status, 201);
            assert_eq!(r.header("location"), Some("/acct/1"));
            assert_eq!(
                r.header("replay-nonce"),
                Some("abc"),
                "names are lower-cased"
            );
            assert_eq!(r.body, b"hello");
            assert!(keep);
        }
    }

    #[test]
    fn connection_close_and_http_1_0_are_not_kept() {
        let (_, keep) = ok(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            4096,
        );
        assert!(!keep);
        let (_, keep) = ok(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 4096);
        assert!(!keep);
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n\
            4;name=value\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n";
        for step in STEPS {
            let (r, keep) = ok(wire, step);
            assert_eq!(r.body, b"Wikipedia in\r\n\r\nchunks.");
            assert!(keep);
        }
    }

    #[test]
    fn a_body_read_until_close_ends_the_connection() {
        for step in STEPS {
            let (r, keep) = ok(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", step);
            assert_eq!(r.body, b"until the end");
            assert!(!keep);
        }
    }

    #[test]
    fn bodiless_statuses_and_head_read_no_body() {
        let wire = b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n";
        let (result, pending) = read(wire, 4096);
        let (r, keep) = result.ok().unwrap();
        assert_eq!((r.status, r.body.len(), keep), (204, 0, true));
        assert_eq!(
            pending, b"HTTP/1.1 200 OK\r\n",
            "the next response stays pending"
        );

        let mut peer = Scripted::new(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 4096);
        let mut pending = Vec::new();
        let (r, _) = read_response(&mut peer, &mut pending, true).ok().unwrap();
        assert_eq!((r.status, r.body.len()), (200, 0));
    }

    #[test]
    fn two_responses_in_one_read_are_read_in_turn() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 400 Bad\r\nContent-Length: 1\r\n\r\nb";
        let mut peer = Scripted::new(wire, 4096);
        let mut pending = Vec::new();
        let (first, _) = read_response(&mut peer, &mut pending, false).ok().unwrap();
        let (second, _) = read_response(&mut peer, &mut pending, false).ok().unwrap();
        assert_eq!((first.status, first.body), (200, b"a".to_vec()));
        assert_eq!((second.status, second.body), (400, b"b".to_vec()));
        assert!(pending.is_empty());
    }

    #[test]
    fn a_closed_connection_before_any_byte_is_stale_and_worth_a_retry() {
        assert!(matches!(read(b"", 4096).0, Err(Retry::Stale)));
    }

    #[test]
    fn malformed_responses_are_protocol_failures() {
        for wire in [
            &b"HTTP/1.1 200 OK\r\nContent-Le"[..],
            b"HTTP/2 200\r\n\r\n",
            b"SSH-2.0-OpenSSH\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 999 Nope\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\n\xff\xfe: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer: cut",
        ] {
            let f = failure(wire);
            assert_eq!(
                f.code,
                FailureCode::Protocol,
                "{:?}: {f:?}",
                String::from_utf8_lossy(wire)
            );
            assert!(
                f.message.starts_with("the CA's HTTP response "),
                "{}",
                f.message
            );
        }
    }

    #[test]
    fn oversized_heads_and_bodies_are_limit_failures() {
        let mut huge_head = b"HTTP/1.1 200 OK\r\n".to_vec();
        while huge_head.len() <= MAX_HEAD_BYTES + 4096 {
            huge_head.extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let over = MAX_BODY_BYTES + 1;
        let declared = format!("HTTP/1.1 200 OK\r\nContent-Length: {over}\r\n\r\n");
        let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..=MAX_BODY_BYTES / 4096 {
            chunked.extend_from_slice(b"1000\r\n");
            chunked.extend_from_slice(&[b'a'; 4096]);
            chunked.extend_from_slice(b"\r\n");
        }
        let mut until_close = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        until_close.resize(until_close.len() + over + 4096, b'a');
        for wire in [&huge_head[..], declared.as_bytes(), &chunked, &until_close] {
            assert_eq!(failure(wire).code, FailureCode::Limit);
        }
    }

    #[test]
    fn a_chunk_size_near_usize_max_is_refused_not_wrapped() {
        // Without the checked addition, `body.len() + size` wrapped below the bound and the
        // drain of `size` bytes panicked (a trap in the plugin instead of a typed failure).
        let size = format!("{:x}", usize::MAX);
        for wire in [
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\nab\r\n0\r\n\r\n"
            ),
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n{:x}\r\nab\r\n",
                usize::MAX - 1
            ),
        ] {
            assert_eq!(failure(wire.as_bytes()).code, FailureCode::Limit);
        }
    }

    #[test]
    fn a_read_error_is_an_io_failure() {
        let mut peer = Scripted::new(b"HTTP/1.1 200 OK\r\n", 4096);
        peer.fail_at_end = true;
        let mut pending = Vec::new();
        match read_response(&mut peer, &mut pending, false) {
            Err(Retry::Failed(f)) => assert_eq!(f.code, FailureCode::Io),
            _ => panic!("expected an IO failure"),
        }
    }
}
