//! A small HTTP/1.1 client core: request building and incremental response parsing. Pure (no
//! host calls), so it is unit-tested on the host.
//!
//! Supported: `Content-Length`, `Transfer-Encoding: chunked`, and bodies delimited by the server
//! closing the connection; interim `1xx` responses are skipped. Everything is bounded.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The most bytes of status line and headers accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The most header lines accepted.
pub const MAX_HEADERS: usize = 64;
/// The largest body accepted (decoded).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The most bytes read from the connection in all.
pub const MAX_RESPONSE_BYTES: usize = MAX_HEAD_BYTES + 2 * MAX_BODY_BYTES;
/// The most interim (`1xx`) responses skipped.
const MAX_INTERIM: usize = 4;

/// A complete response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The reason phrase (ASCII, possibly empty).
    pub reason: String,
    /// The decoded body.
    pub body: Vec<u8>,
}

/// What [`parse_response`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// More bytes are needed.
    Incomplete,
    /// The whole response.
    Done(Response),
}

/// Why a response was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The status line and headers are larger than [`MAX_HEAD_BYTES`] or have too many lines.
    HeadTooLarge,
    /// The body is larger than [`MAX_BODY_BYTES`].
    BodyTooLarge,
    /// The connection closed before the response was complete.
    Truncated,
    /// The response is not valid HTTP/1.x.
    Malformed(&'static str),
    /// The response uses something this client does not implement.
    Unsupported(&'static str),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::HeadTooLarge => f.write_str("response headers too large"),
            HttpError::BodyTooLarge => f.write_str("response body too large"),
            HttpError::Truncated => f.write_str("connection closed mid-response"),
            HttpError::Malformed(what) => write!(f, "malformed response: {what}"),
            HttpError::Unsupported(what) => write!(f, "unsupported response: {what}"),
        }
    }
}

/// `POST <path>` with `body`, `Connection: close`.
pub fn build_post(host: &str, port: u16, path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(160 + body.len());
    out.extend_from_slice(b"POST ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    if host.contains(':') {
        // An IPv6 literal goes in brackets.
        out.push(b'[');
        out.extend_from_slice(host.as_bytes());
        out.push(b']');
    } else {
        out.extend_from_slice(host.as_bytes());
    }
    out.push(b':');
    push_decimal(&mut out, usize::from(port));
    out.extend_from_slice(b"\r\nContent-Type: ");
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(b"\r\nContent-Length: ");
    push_decimal(&mut out, body.len());
    out.extend_from_slice(
        b"\r\nAccept: application/pem-certificate-chain, */*\r\nConnection: close\r\n\
          User-Agent: pluginhost-ca-acme-lite\r\n\r\n",
    );
    out.extend_from_slice(body);
    out
}

fn push_decimal(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(pluginhost_sdk::text::decimal(n as u64, &mut [0; 20]));
}

/// Parses what has arrived so far. `eof` says the peer has closed, so nothing more will come.
pub fn parse_response(buf: &[u8], eof: bool) -> Result<Progress, HttpError> {
    let mut rest = buf;
    for _ in 0..=MAX_INTERIM {
        let Some((head, head_len)) = parse_head(rest)? else {
            return if eof {
                Err(HttpError::Truncated)
            } else {
                Ok(Progress::Incomplete)
            };
        };
        let body = rest.get(head_len..).unwrap_or_default();
        if (100..200).contains(&head.status) {
            if head.status == 101 {
                return Err(HttpError::Unsupported("101 Switching Protocols"));
            }
            rest = body;
            continue;
        }
        let decoded = if head.status == 204 || head.status == 304 {
            Some(Vec::new())
        } else if head.chunked {
            decode_chunked(body, eof)?
        } else if let Some(length) = head.content_length {
            if length > MAX_BODY_BYTES {
                return Err(HttpError::BodyTooLarge);
            }
            match body.get(..length) {
                Some(complete) => Some(complete.to_vec()),
                None if eof => return Err(HttpError::Truncated),
                None => None,
            }
        } else {
            if body.len() > MAX_BODY_BYTES {
                return Err(HttpError::BodyTooLarge);
            }
            eof.then(|| body.to_vec())
        };
        return Ok(match decoded {
            Some(body) => Progress::Done(Response {
                status: head.status,
                reason: head.reason,
                body,
            }),
            None => Progress::Incomplete,
        });
    }
    Err(HttpError::Unsupported("too many interim responses"))
}

struct Head {
    status: u16,
    reason: String,
    content_length: Option<usize>,
    chunked: bool,
}

/// Splits `buf` into lines ended by `\n` (a `\r` before it is dropped); returns the line and
/// the rest.
fn next_line(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let nl = buf.iter().position(|&b| b == b'\n')?;
    let line = buf.get(..nl)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, buf.get(nl + 1..)?))
}

/// The status line and headers, and how many bytes they took; `None` if incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, HttpError> {
    let Some((status_line, mut rest)) = next_line(buf) else {
        return if buf.len() > MAX_HEAD_BYTES {
            Err(HttpError::HeadTooLarge)
        } else {
            Ok(None)
        };
    };
    let (status, reason) = parse_status_line(status_line)?;
    let mut head = Head {
        status,
        reason,
        content_length: None,
        chunked: false,
    };
    let mut lines = 0;
    loop {
        let Some((line, after)) = next_line(rest) else {
            return if buf.len() > MAX_HEAD_BYTES {
                Err(HttpError::HeadTooLarge)
            } else {
                Ok(None)
            };
        };
        rest = after;
        if buf.len() - rest.len() > MAX_HEAD_BYTES {
            return Err(HttpError::HeadTooLarge);
        }
        if line.is_empty() {
            break;
        }
        lines += 1;
        if lines > MAX_HEADERS {
            return Err(HttpError::HeadTooLarge);
        }
        parse_header(line, &mut head)?;
    }
    if head.chunked {
        // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; a sender must not send
        // both, and a message with both is suspect (request smuggling), so refuse it.
        if head.content_length.is_some() {
            return Err(HttpError::Malformed(
                "both Content-Length and Transfer-Encoding",
            ));
        }
    }
    Ok(Some((head, buf.len() - rest.len())))
}

fn parse_status_line(line: &[u8]) -> Result<(u16, String), HttpError> {
    let bad = HttpError::Malformed("status line");
    let rest = line.strip_prefix(b"HTTP/1.").ok_or(bad)?;
    let (minor, rest) = rest.split_first().ok_or(bad)?;
    if !minor.is_ascii_digit() {
        return Err(bad);
    }
    let rest = rest.strip_prefix(b" ").ok_or(bad)?;
    let code = rest.get(..3).ok_or(bad)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return Err(bad);
    }
    let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    if !(100..=599).contains(&status) {
        return Err(bad);
    }
    let reason = match rest.get(3..) {
        None | Some([]) => &[][..],
        Some([b' ', reason @ ..]) => reason,
        Some(_) => return Err(bad),
    };
    if !reason
        .iter()
        .all(|&b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
    {
        return Err(bad);
    }
    Ok((status, reason.iter().map(|&b| char::from(b)).collect()))
}

fn parse_header(line: &[u8], head: &mut Head) -> Result<(), HttpError> {
    if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return Err(HttpError::Malformed("obsolete header line folding"));
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(HttpError::Malformed("header line"))?;
    let name = line.get(..colon).unwrap_or_default();
    let value = trim(line.get(colon + 1..).unwrap_or_default());
    if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
        return Err(HttpError::Malformed("header name"));
    }
    if value.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f) {
        return Err(HttpError::Malformed("header value"));
    }
    if name.eq_ignore_ascii_case(b"content-length") {
        let length = parse_decimal(value).ok_or(HttpError::Malformed("Content-Length"))?;
        if head.content_length.is_some_and(|l| l != length) {
            return Err(HttpError::Malformed("conflicting Content-Length"));
        }
        head.content_length = Some(length);
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        // Only `chunked` (alone, or as the last coding after identity) is supported.
        let last = value
            .rsplit(|&b| b == b',')
            .next()
            .map(trim)
            .unwrap_or_default();
        let others_identity = value
            .split(|&b| b == b',')
            .map(trim)
            .filter(|c| !c.eq_ignore_ascii_case(b"chunked"))
            .all(|c| c.eq_ignore_ascii_case(b"identity"));
        if !last.eq_ignore_ascii_case(b"chunked") || !others_identity || head.chunked {
            return Err(HttpError::Unsupported("transfer coding other than chunked"));
        }
        head.chunked = true;
    }
    Ok(())
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

/// A decimal without sign, at most 10 digits.
fn parse_decimal(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0usize, |n, d| n * 10 + usize::from(d - b'0')))
}

/// Decodes a chunked body; `None` if incomplete (and not `eof`).
fn decode_chunked(mut buf: &[u8], eof: bool) -> Result<Option<Vec<u8>>, HttpError> {
    let incomplete = if eof {
        Err(HttpError::Truncated)
    } else {
        Ok(None)
    };
    let mut body = Vec::new();
    loop {
        let Some((size_line, rest)) = next_line(buf) else {
            if buf.len() > 1024 {
                return Err(HttpError::Malformed("chunk size line"));
            }
            return incomplete;
        };
        // Chunk extensions (`;name=value`) are ignored.
        let digits = size_line
            .split(|&b| b == b';')
            .next()
            .map(trim)
            .unwrap_or_default();
        if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(HttpError::Malformed("chunk size"));
        }
        let size = digits.iter().fold(0usize, |n, &d| n * 16 + hex_value(d));
        if size == 0 {
            // Trailer fields until an empty line; they are ignored.
            let mut trailers = rest;
            loop {
                let Some((line, after)) = next_line(trailers) else {
                    return if trailers.len() > MAX_HEAD_BYTES {
                        Err(HttpError::HeadTooLarge)
                    } else {
                        incomplete
                    };
                };
                if line.is_empty() {
                    return Ok(Some(body));
                }
                trailers = after;
            }
        }
        // Checked: a hostile size near usize::MAX must not wrap past the bound.
        if body
            .len()
            .checked_add(size)
            .is_none_or(|total| total > MAX_BODY_BYTES)
        {
            return Err(HttpError::BodyTooLarge);
        }
        let Some(data) = rest.get(..size) else {
            return incomplete;
        };
        let after = rest.get(size..).unwrap_or_default();
        buf = match after {
            [b'\r', b'\n', tail @ ..] | [b'\n', tail @ ..] => tail,
            [] | [b'\r'] => return incomplete,
            _ => return Err(HttpError::Malformed("chunk not followed by CRLF")),
        };
        body.extend_from_slice(data);
    }
}

fn hex_value(d: u8) -> usize {
    usize::from(match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        b'A'..=b'F' => d - b'A' + 10,
        _ => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn done(buf: &[u8]) -> Response {
        match parse_response(buf, false).unwrap() {
            Progress::Done(r) => r,
            Progress::Incomplete => panic!("incomplete: {:?}", String::from_utf8_lossy(buf)),
        }
    }

    #[test]
    fn builds_the_request() {
        let req = build_post("ca.local", 8443, "/issue", "application/pkcs10", b"CSR");
        assert_eq!(
            String::from_utf8(req).unwrap(),
            "POST /issue HTTP/1.1\r\nHost: ca.local:8443\r\nContent-Type: application/pkcs10\r\n\
             Content-Length: 3\r\nAccept: application/pem-certificate-chain, */*\r\n\
             Connection: close\r\nUser-Agent: pluginhost-ca-acme-lite\r\n\r\nCSR"
        );
        let req = build_post("::1", 1, "/issue", "x", b"");
        assert!(req.starts_with(b"POST /issue HTTP/1.1\r\nHost: [::1]:1\r\n"));
        let mut n = Vec::new();
        push_decimal(&mut n, 0);
        push_decimal(&mut n, 65535);
        push_decimal(&mut n, usize::MAX);
        assert_eq!(n, format!("065535{}", usize::MAX).as_bytes());
    }

    #[test]
    fn content_length() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/pem-certificate-chain\r\nContent-Length: 5\r\n\r\nhello";
        let r = done(raw);
        assert_eq!(
            (r.status, r.reason.as_str(), r.body.as_slice()),
            (200, "OK", &b"hello"[..])
        );
        // Every prefix is incomplete, or truncated at EOF.
        for cut in 0..raw.len() {
            assert_eq!(
                parse_response(&raw[..cut], false),
                Ok(Progress::Incomplete),
                "{cut}"
            );
            assert_eq!(
                parse_response(&raw[..cut], true),
                Err(HttpError::Truncated),
                "{cut}"
            );
        }
        // Bytes after the body are ignored.
        let mut longer = raw.to_vec();
        longer.extend_from_slice(b"junk");
        assert_eq!(done(&longer).body, b"hello");
    }

    #[test]
    fn read_to_close_and_lf_only() {
        let raw = b"HTTP/1.0 403 Forbidden\nServer: x\n\nnope";
        assert_eq!(parse_response(raw, false), Ok(Progress::Incomplete));
        let Progress::Done(r) = parse_response(raw, true).unwrap() else {
            panic!()
        };
        assert_eq!(
            (r.status, r.reason.as_str(), r.body.as_slice()),
            (403, "Forbidden", &b"nope"[..])
        );
        let Progress::Done(r) = parse_response(b"HTTP/1.1 500\r\n\r\n", true).unwrap() else {
            panic!()
        };
        assert_eq!((r.status, r.reason.as_str(), r.body.len()), (500, "", 0));
    }

    #[test]
    fn chunked() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n";
        assert_eq!(done(raw).body, b"hello world");
        for cut in 0..raw.len() {
            assert_eq!(
                parse_response(&raw[..cut], false),
                Ok(Progress::Incomplete),
                "{cut}"
            );
            assert_eq!(
                parse_response(&raw[..cut], true),
                Err(HttpError::Truncated),
                "{cut}"
            );
        }
        let upper = b"HTTP/1.1 200 OK\r\ntransfer-encoding: identity, Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n";
        assert_eq!(done(upper).body, b"0123456789");
        assert_eq!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
                false
            ),
            Err(HttpError::Malformed("chunk not followed by CRLF"))
        );
        assert_eq!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                false
            ),
            Err(HttpError::Malformed("chunk size"))
        );
        assert_eq!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                false
            ),
            Err(HttpError::Unsupported("transfer coding other than chunked"))
        );
        assert_eq!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                false
            ),
            Err(HttpError::Malformed(
                "both Content-Length and Transfer-Encoding"
            ))
        );
        assert_eq!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20000\r\n",
                false
            ),
            Err(HttpError::BodyTooLarge)
        );
    }

    #[test]
    fn interim_and_empty_statuses() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        assert_eq!(done(raw).body, b"ok");
        assert_eq!(done(b"HTTP/1.1 204 No Content\r\n\r\n").body, b"");
        assert_eq!(
            parse_response(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", false),
            Err(HttpError::Unsupported("101 Switching Protocols"))
        );
        let many = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(6);
        assert_eq!(
            parse_response(&many, false),
            Err(HttpError::Unsupported("too many interim responses"))
        );
    }

    #[test]
    fn malformed() {
        for raw in [
            &b"HTTP/2 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 099 x\r\n\r\n",
            b"http/1.1 200 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\x01\r\n\r\n",
            b"SSH-2.0-OpenSSH\r\n",
        ] {
            assert_eq!(
                parse_response(raw, false),
                Err(HttpError::Malformed("status line")),
                "{raw:?}"
            );
        }
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false),
            Err(HttpError::Malformed("Content-Length"))
        );
        assert_eq!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                false
            ),
            Err(HttpError::Malformed("conflicting Content-Length"))
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", false),
            Err(HttpError::Malformed("obsolete header line folding"))
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", false),
            Err(HttpError::Malformed("header line"))
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", false),
            Err(HttpError::Malformed("header name"))
        );
    }

    #[test]
    fn bounds() {
        let huge_header = format!(
            "HTTP/1.1 200 OK\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        assert_eq!(
            parse_response(huge_header.as_bytes(), false),
            Err(HttpError::HeadTooLarge)
        );
        let endless = "a".repeat(MAX_HEAD_BYTES + 1);
        assert_eq!(
            parse_response(endless.as_bytes(), false),
            Err(HttpError::HeadTooLarge)
        );
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(
            parse_response(many.as_bytes(), false),
            Err(HttpError::HeadTooLarge)
        );
        let big = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        assert_eq!(
            parse_response(big.as_bytes(), false),
            Err(HttpError::BodyTooLarge)
        );
        let mut to_close = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        to_close.resize(to_close.len() + MAX_BODY_BYTES + 1, b'x');
        assert_eq!(
            parse_response(&to_close, false),
            Err(HttpError::BodyTooLarge)
        );
    }

    #[test]
    fn a_chunk_size_near_usize_max_is_refused_not_wrapped() {
        // The largest size the parser reads (8 hex digits) after a first chunk: on wasm32 (32-bit
        // `usize`) `body.len() + size` wrapped below the bound without the checked addition.
        let wire =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\nffffffff\r\nab\r\n";
        assert_eq!(parse_response(wire, false), Err(HttpError::BodyTooLarge));
    }
}
