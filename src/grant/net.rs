//! Network targets and grant patterns: strict host parsing and `host:port` matching.
//!
//! A [`HostName`] is a lowercase DNS name without a trailing dot, or an IP literal. Anything that
//! a resolver might read as a number in another form (`2130706433`, `0x7f000001`, `0177.0.0.1`,
//! `127.1`) is refused rather than guessed at, so a grant for a name can never be reached through
//! an alternative spelling of an address. A [`DialTarget`] adds an explicit port; a
//! [`HostPattern`] is one `net.dial` grant entry, an exact host or a `*.suffix` wildcard matching
//! exactly one extra label, with an explicit port.

use alloc::string::String;
use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use super::separator;

/// The longest host name accepted, in bytes, after removing one trailing dot.
pub const MAX_HOST_BYTES: usize = 253;

/// The longest DNS label accepted, in bytes.
pub const MAX_LABEL_BYTES: usize = 63;

/// A checked host: a lowercase DNS name (no trailing dot), or an IP literal.
///
/// Values built by [`HostName::parse`] are normalised, so equal hosts compare equal. A
/// [`HostName::Dns`] built by hand is not checked; one that is not normalised only ever fails to
/// match.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HostName {
    /// A lowercase DNS name without a trailing dot, such as `ca.example.com`.
    Dns(String),
    /// An IPv4 address, written as a strict dotted quad.
    Ipv4(Ipv4Addr),
    /// An IPv6 address, written with or without brackets.
    Ipv6(Ipv6Addr),
}

/// A checked host and an explicit port (`1..=65535`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DialTarget {
    /// The host to connect to.
    pub host: HostName,
    /// The port to connect to; never 0.
    pub port: u16,
}

/// A `net.dial` grant entry: an exact host or a `*.suffix` wildcard, with an explicit port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPattern {
    host: PatternHost,
    port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PatternHost {
    /// Matches this host only.
    Exact(HostName),
    /// Matches one label followed by this lowercase DNS name of at least two labels.
    Wildcard(String),
}

/// Why a host, target or grant entry was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HostError {
    /// The host was empty.
    Empty,
    /// The host was longer than [`MAX_HOST_BYTES`].
    TooLong,
    /// The host was not valid UTF-8.
    NotUtf8,
    /// The host contained a NUL byte.
    Nul,
    /// The host was neither a valid DNS name nor a valid IP literal.
    InvalidName,
    /// The host looked numeric but was not a strict dotted-quad IPv4 address.
    NonCanonicalIp,
    /// A `host:port` string had no port.
    MissingPort,
    /// The port was not a decimal number in `1..=65535`.
    InvalidPort,
    /// A `*` appeared other than as the whole leftmost label of a name of at least three labels.
    MisplacedWildcard,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostError::Empty => "host is empty",
            HostError::TooLong => "host is too long",
            HostError::NotUtf8 => "host is not valid UTF-8",
            HostError::Nul => "host contains a NUL byte",
            HostError::InvalidName => "host is not a valid DNS name or IP address",
            HostError::NonCanonicalIp => "host is a numeric address not in dotted-quad form",
            HostError::MissingPort => "port is missing",
            HostError::InvalidPort => "port is not in 1..=65535",
            HostError::MisplacedWildcard => "wildcard `*` is allowed only as `*.name.tld`",
        })
    }
}

impl core::error::Error for HostError {}

impl HostName {
    /// Parses a host passed by a guest, without a port.
    ///
    /// - Empty is [`HostError::Empty`], a NUL byte [`HostError::Nul`], invalid UTF-8
    ///   [`HostError::NotUtf8`], and more than [`MAX_HOST_BYTES`] after removing one trailing dot
    ///   [`HostError::TooLong`].
    /// - `[...]`, or anything containing `:`, must be an IPv6 address (brackets optional; no zone
    ///   id, no port), else [`HostError::InvalidName`].
    /// - Otherwise ASCII letters are lowercased and exactly one trailing `.` is removed; the
    ///   labels must be 1 to [`MAX_LABEL_BYTES`] bytes of `a-z`, `0-9`, `-` and `_`, not starting
    ///   or ending with `-`, else [`HostError::InvalidName`]. Non-ASCII is refused (no IDNA).
    /// - If the last label looks numeric (only decimal digits, or `0x` then only hex digits), the
    ///   whole host must be a strict dotted quad (four decimal parts `0..=255` without leading
    ///   zeros and without a trailing dot), else [`HostError::NonCanonicalIp`].
    pub fn parse(bytes: &[u8]) -> Result<HostName, HostError> {
        if bytes.is_empty() {
            return Err(HostError::Empty);
        }
        if bytes.iter().any(|&b| b == 0) {
            return Err(HostError::Nul);
        }
        let s = core::str::from_utf8(bytes).map_err(|_| HostError::NotUtf8)?;
        let without_dot = s.strip_suffix(".").unwrap_or(s);
        if without_dot.len() > MAX_HOST_BYTES {
            return Err(HostError::TooLong);
        }
        if let Some(inner) = s.strip_prefix("[") {
            let inner = inner.strip_suffix("]").ok_or(HostError::InvalidName)?;
            return parse_ipv6(inner);
        }
        if separator::contains(s, b':') {
            return parse_ipv6(s);
        }
        if without_dot.is_empty() || !without_dot.is_ascii() {
            return Err(HostError::InvalidName);
        }
        let name = without_dot.to_ascii_lowercase();
        if !separator::split(&name, b'.').all(valid_label) {
            return Err(HostError::InvalidName);
        }
        let last = match name.bytes().rposition(|b| b == b'.') {
            Some(dot) => name.get(dot + 1..).unwrap_or(""),
            None => name.as_str(),
        };
        if looks_numeric(last) {
            // `s` rather than `name`: a trailing dot is not part of a dotted quad.
            return strict_ipv4(s)
                .map(HostName::Ipv4)
                .ok_or(HostError::NonCanonicalIp);
        }
        Ok(HostName::Dns(name))
    }

    /// Parses a host given as a string; the same rules as [`HostName::parse`].
    pub fn parse_str(s: &str) -> Result<HostName, HostError> {
        HostName::parse(s.as_bytes())
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostName::Dns(name) => f.write_str(name),
            HostName::Ipv4(addr) => fmt::Display::fmt(addr, f),
            HostName::Ipv6(addr) => fmt::Display::fmt(addr, f),
        }
    }
}

impl DialTarget {
    /// Builds a target from a host passed by a guest (see [`HostName::parse`]) and a port the
    /// guest passed in an `i32`, taken as `u32` (never sign-extended); the port must be in
    /// `1..=65535`, else [`HostError::InvalidPort`]. The host is checked first.
    pub fn from_guest(host: &[u8], port: u32) -> Result<DialTarget, HostError> {
        let host = HostName::parse(host)?;
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or(HostError::InvalidPort)?;
        Ok(DialTarget { host, port })
    }

    /// Parses `host:port` or `[v6]:port`. The port is required ([`HostError::MissingPort`]) and
    /// must be plain decimal without leading zeros in `1..=65535` ([`HostError::InvalidPort`]);
    /// an IPv6 address without brackets is [`HostError::InvalidName`] here.
    pub fn parse(s: &str) -> Result<DialTarget, HostError> {
        let (host, port) = split_host_port(s)?;
        Ok(DialTarget {
            host: HostName::parse_str(host)?,
            port,
        })
    }
}

impl fmt::Display for DialTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            HostName::Ipv6(addr) => write!(f, "[{addr}]:{}", self.port),
            host => write!(f, "{host}:{}", self.port),
        }
    }
}

impl HostPattern {
    /// The exact host this pattern admits, or `None` for a `*.suffix` wildcard.
    pub fn host(&self) -> Option<&HostName> {
        match &self.host {
            PatternHost::Exact(host) => Some(host),
            PatternHost::Wildcard(_) => None,
        }
    }

    /// The port this pattern admits.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Parses a grant entry: `host:port`, `[v6]:port` or `*.example.com:443`.
    ///
    /// The host follows [`HostName::parse`] and the port [`DialTarget::parse`]. A `*` is allowed
    /// only as the entire leftmost label followed by at least two DNS labels; anything else with
    /// a `*` (`*`, `*.com`, `a*.b.com`, `*x.b.com`, `a.*.com`, `*.192.0.2.1`) is
    /// [`HostError::MisplacedWildcard`]. Wildcards never apply to IP literals.
    pub fn parse(s: &str) -> Result<HostPattern, HostError> {
        let (host, port) = split_host_port(s)?;
        if !separator::contains(host, b'*') {
            return Ok(HostPattern {
                host: PatternHost::Exact(HostName::parse_str(host)?),
                port,
            });
        }
        let suffix = host
            .strip_prefix("*.")
            .filter(|rest| !rest.is_empty() && !separator::contains(rest, b'*'))
            .ok_or(HostError::MisplacedWildcard)?;
        match HostName::parse_str(suffix)? {
            HostName::Dns(name) if separator::contains(&name, b'.') => {
                // The whole pattern, "*." included, must fit in a host name.
                if name.len().saturating_add(2) > MAX_HOST_BYTES {
                    return Err(HostError::TooLong);
                }
                Ok(HostPattern {
                    host: PatternHost::Wildcard(name),
                    port,
                })
            }
            _ => Err(HostError::MisplacedWildcard),
        }
    }

    /// Whether `target` is admitted by this entry.
    ///
    /// Ports must be equal. An exact entry matches an equal host only (IPv4 and IPv6 never
    /// match each other, so `::ffff:127.0.0.1` does not match `127.0.0.1`). A wildcard
    /// `*.example.com` matches exactly one extra label: `a.example.com`, but not `example.com`,
    /// `a.b.example.com` or `evilexample.com`.
    pub fn matches(&self, target: &DialTarget) -> bool {
        if self.port != target.port {
            return false;
        }
        match (&self.host, &target.host) {
            (PatternHost::Exact(host), target_host) => host == target_host,
            (PatternHost::Wildcard(suffix), HostName::Dns(name)) => name
                .strip_suffix(suffix.as_str())
                .and_then(|head| head.strip_suffix("."))
                .is_some_and(|label| !label.is_empty() && !separator::contains(label, b'.')),
            (PatternHost::Wildcard(_), _) => false,
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            PatternHost::Exact(HostName::Ipv6(addr)) => write!(f, "[{addr}]:{}", self.port),
            PatternHost::Exact(host) => write!(f, "{host}:{}", self.port),
            PatternHost::Wildcard(suffix) => write!(f, "*.{suffix}:{}", self.port),
        }
    }
}

/// Splits `host:port` or `[v6]:port` and parses the port. The host part is returned unchecked
/// (brackets kept), except that a bare IPv6 address is refused.
fn split_host_port(s: &str) -> Result<(&str, u16), HostError> {
    if s.is_empty() {
        return Err(HostError::Empty);
    }
    let (host, port) = if s.starts_with("[") {
        let close = s
            .bytes()
            .position(|b| b == b']')
            .ok_or(HostError::InvalidName)?;
        let (host, rest) = s
            .split_at_checked(close.saturating_add(1))
            .ok_or(HostError::InvalidName)?;
        if rest.is_empty() {
            return Err(HostError::MissingPort);
        }
        let port = rest.strip_prefix(":").ok_or(HostError::InvalidName)?;
        (host, port)
    } else {
        let (host, port) = separator::split_once(s, b':').ok_or(HostError::MissingPort)?;
        if separator::contains(port, b':') {
            // More than one ':' outside brackets: an IPv6 address without brackets.
            return Err(HostError::InvalidName);
        }
        (host, port)
    };
    if port.is_empty() {
        return Err(HostError::MissingPort);
    }
    Ok((host, parse_port(port)?))
}

/// A decimal port in `1..=65535`: digits only, no sign, no leading zero.
pub(crate) fn parse_port(s: &str) -> Result<u16, HostError> {
    if s.is_empty() || s.starts_with("0") || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HostError::InvalidPort);
    }
    u16::try_from(decimal(s.as_bytes())).map_err(|_| HostError::InvalidPort)
}

/// The value of at most nine ASCII decimal digits (checked by the caller).
fn decimal(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |value, b| value * 10 + u32::from(b.wrapping_sub(b'0')))
}

fn parse_ipv6(s: &str) -> Result<HostName, HostError> {
    ipv6_from_text(s.as_bytes())
        .map(HostName::Ipv6)
        .ok_or(HostError::InvalidName)
}

/// Reads an IPv6 address exactly as `Ipv6Addr::from_str` does, without core's generic address
/// parser: up to eight `:`-separated groups of one to four hex digits, one `::` standing for one
/// or more zero groups, and a dotted quad (strict, as in [`strict_ipv4`]) allowed in place of the
/// last two groups but not before the `::`. No zone id, no brackets.
fn ipv6_from_text(text: &[u8]) -> Option<Ipv6Addr> {
    let mut at = 0;
    let mut head = [0u16; 8];
    let (head_len, head_quad) = read_groups(text, &mut at, &mut head);
    if head_len == 8 {
        return (at == text.len()).then(|| Ipv6Addr::from(head));
    }
    if head_quad || text.get(at..at.saturating_add(2)) != Some(b"::".as_slice()) {
        return None;
    }
    at += 2;
    // `::` stands for at least one group.
    let mut tail = [0u16; 7];
    let tail_room = tail.get_mut(..7 - head_len)?;
    let (tail_len, _) = read_groups(text, &mut at, tail_room);
    if at != text.len() {
        return None;
    }
    let (to, from) = (head.get_mut(8 - tail_len..)?, tail.get(..tail_len)?);
    to.copy_from_slice(from);
    Some(Ipv6Addr::from(head))
}

/// Reads up to `groups.len()` groups at `*at`, each after a `:` but the first, where a dotted
/// quad may stand for two groups if there is room for both. Returns how many groups were read
/// and whether a dotted quad was; `*at` ends after the last group read.
fn read_groups(text: &[u8], at: &mut usize, groups: &mut [u16]) -> (usize, bool) {
    let limit = groups.len();
    for i in 0..limit {
        let start = match i {
            0 => *at,
            _ if text.get(*at) == Some(&b':') => *at + 1,
            _ => return (i, false),
        };
        if i + 1 < limit {
            if let Some(([a, b, c, d], end)) = read_quad(text, start) {
                if let Some(pair) = groups.get_mut(i..i + 2) {
                    pair.copy_from_slice(&[u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])]);
                }
                *at = end;
                return (i + 2, true);
            }
        }
        let digits = run(text, start, |b| b.is_ascii_hexdigit());
        if !(1..=4).contains(&digits) {
            return (i, false);
        }
        let group = text.get(start..start + digits).unwrap_or_default();
        let value = group.iter().fold(0u32, |value, b| {
            (value << 4) | char::from(*b).to_digit(16).unwrap_or(0)
        });
        if let Some(slot) = groups.get_mut(i) {
            // At most four hex digits: fits.
            *slot = u16::try_from(value).unwrap_or(0);
        }
        *at = start + digits;
    }
    (limit, false)
}

/// A strict dotted quad at `text[at..]` (four decimal parts in `0..=255` without leading zeros)
/// and where it ends.
fn read_quad(text: &[u8], mut at: usize) -> Option<([u8; 4], usize)> {
    let mut octets = [0u8; 4];
    for (i, octet) in octets.iter_mut().enumerate() {
        if i > 0 {
            if text.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let digits = run(text, at, |b| b.is_ascii_digit());
        let part = text.get(at..at + digits)?;
        if !(1..=3).contains(&digits) || (digits > 1 && part.first() == Some(&b'0')) {
            return None;
        }
        *octet = u8::try_from(decimal(part)).ok()?;
        at += digits;
    }
    Some((octets, at))
}

/// How many bytes from `text[at..]` on satisfy `class`.
fn run(text: &[u8], at: usize, class: impl Fn(u8) -> bool) -> usize {
    text.get(at..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| class(**b))
        .count()
}

/// A DNS label: 1 to 63 bytes of `a-z`, `0-9`, `-`, `_`, not starting or ending with `-`.
fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL_BYTES
        && !label.starts_with("-")
        && !label.ends_with("-")
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Whether a (lowercase) label is something a resolver may read as a number: decimal digits
/// only, or `0x` followed by hex digits only.
fn looks_numeric(label: &str) -> bool {
    match label.strip_prefix("0x") {
        Some(hex) => hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// A strict dotted quad: exactly four decimal parts in `0..=255`, no leading zeros.
fn strict_ipv4(s: &str) -> Option<Ipv4Addr> {
    let (octets, end) = read_quad(s.as_bytes(), 0)?;
    (end == s.len()).then(|| Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;

    fn grant(s: &str) -> HostPattern {
        match HostPattern::parse(s) {
            Ok(pattern) => pattern,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn target(s: &str) -> DialTarget {
        match DialTarget::parse(s) {
            Ok(t) => t,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn dns(s: &str) -> HostName {
        HostName::Dns(String::from(s))
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> HostName {
        HostName::Ipv4(Ipv4Addr::new(a, b, c, d))
    }

    /// A small deterministic generator (xorshift) for the differential tests below.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    /// IPv6 text built from parts that are often valid and often almost valid.
    fn ipv6_like(rng: &mut Rng) -> String {
        const PARTS: &[&str] = &[
            "0",
            "1",
            "00",
            "000",
            "0000",
            "00000",
            "f",
            "ff",
            "fff",
            "ffff",
            "FFFF",
            "fFfF",
            "12345",
            "abcd",
            "ABCD",
            "g",
            "a0",
            "7f00",
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "127.0.0.1",
            "1.2.3.04",
            "",
            ":",
            "::",
            ".",
            "%eth0",
            "[",
            "]",
            " ",
            "+1",
            "-1",
            "1000",
            "9.9.9.9",
        ];
        let groups = rng.below(10);
        let mut text = String::new();
        for i in 0..groups {
            if i > 0 {
                text.push_str(rng.pick(&[":", ":", ":", "::", ".", ":::"]));
            }
            text.push_str(rng.pick(PARTS));
        }
        if rng.below(4) == 0 {
            text.insert_str(0, rng.pick(&["::", ":", "0::", "::ffff:"]));
        }
        if rng.below(4) == 0 {
            text.push_str(rng.pick(&["::", ":", ":1", "::1", ".1"]));
        }
        text
    }

    #[test]
    fn ipv6_reads_as_core_does() {
        use core::str::FromStr;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut valid = 0;
        for _ in 0..300_000 {
            let text = if rng.below(3) == 0 {
                // Random bytes from the alphabet of the grammar.
                let alphabet = b"0123456789abcdefABCDEFxg:.:::";
                let len = rng.below(46);
                (0..len)
                    .map(|_| char::from(alphabet[rng.below(alphabet.len())]))
                    .collect()
            } else {
                ipv6_like(&mut rng)
            };
            let expected = Ipv6Addr::from_str(&text).ok();
            assert_eq!(ipv6_from_text(text.as_bytes()), expected, "{text:?}");
            valid += usize::from(expected.is_some());
        }
        // The generator reaches both sides often.
        assert!(valid > 5_000, "{valid} valid addresses");
        for text in [
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:1.2.3.4",
            "::ffff:127.0.0.1",
            "::1.2.3.4",
            "1::1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4::",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            ":1::",
            "1:::2",
            "12345::",
            "::ffff:1.2.3.04",
            "::ffff:256.0.0.1",
            "fe80::1%eth0",
            "[::1]",
            "",
        ] {
            assert_eq!(
                ipv6_from_text(text.as_bytes()),
                Ipv6Addr::from_str(text).ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn ports_and_quads_read_as_core_does() {
        use core::str::FromStr;
        for port in 0..=70_000u32 {
            let text = format!("{port}");
            let expected = u16::try_from(port).ok().filter(|p| *p != 0);
            assert_eq!(parse_port(&text).ok(), expected, "{text}");
        }
        for text in [
            "", "+1", "-1", "01", "00", "65536", "99999", "123456", "1a", " 1",
        ] {
            assert!(parse_port(text).is_err(), "{text:?}");
        }
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..100_000 {
            let parts = [
                "0", "1", "9", "10", "99", "100", "199", "255", "256", "999", "01", "001",
            ];
            let n = 3 + rng.below(3);
            let text: Vec<&str> = (0..n).map(|_| rng.pick(&parts)).collect();
            let text = text.join(".");
            // core's dotted-quad reader is as strict (no leading zeros, four parts).
            assert_eq!(strict_ipv4(&text), Ipv4Addr::from_str(&text).ok(), "{text}");
        }
    }

    fn repeat(s: &str, n: usize) -> String {
        let mut out = String::new();
        for _ in 0..n {
            out.push_str(s);
        }
        out
    }

    #[test]
    fn ca_grant_admits_only_itself() {
        let ca = grant("ca.example.com:443");
        assert!(ca.matches(&target("ca.example.com:443")));
        // Case-insensitive, one trailing dot allowed, both on the guest and the grant side.
        let upper = DialTarget::from_guest(b"CA.Example.COM.", 443);
        assert_eq!(upper.as_ref().map(|t| &t.host), Ok(&dns("ca.example.com")));
        assert!(upper.is_ok_and(|t| ca.matches(&t)));
        assert!(grant("CA.EXAMPLE.COM.:443").matches(&target("ca.example.com:443")));
        assert_eq!(grant("CA.EXAMPLE.COM.:443"), ca);

        // Parse, but do not match.
        for s in [
            "ca.example.com.evil.net:443",
            "evilca.example.com:443",
            "ca.example.com:22",
            "ca.example.co:443",
            "a.ca.example.com:443",
            "example.com:443",
            "127.0.0.1:443",
            "[::1]:443",
        ] {
            assert!(!ca.matches(&target(s)), "{s}");
        }
        assert!(!ca.matches(&target("ca.example.com:4430")));
        assert!(!ca.matches(&target("ca.example.com:44")));

        // Refused at parse.
        assert_eq!(
            DialTarget::from_guest(b"ca.example.com\0.x", 443),
            Err(HostError::Nul)
        );
        assert_eq!(
            DialTarget::parse("ca.example.com\0.x:443"),
            Err(HostError::Nul)
        );
        assert_eq!(
            DialTarget::from_guest(b"ca.example.com..", 443),
            Err(HostError::InvalidName)
        );
        assert_eq!(
            DialTarget::from_guest(b"ca.example.com ", 443),
            Err(HostError::InvalidName)
        );
        assert_eq!(
            DialTarget::from_guest(b"ca.example.com/x", 443),
            Err(HostError::InvalidName)
        );
        assert_eq!(
            DialTarget::from_guest(b"ca.example.com\xff", 443),
            Err(HostError::NotUtf8)
        );
        assert_eq!(
            DialTarget::from_guest("ca.exämple.com".as_bytes(), 443),
            Err(HostError::InvalidName)
        );
    }

    #[test]
    fn numeric_spellings_refused() {
        for s in [
            "2130706433",
            "0x7f000001",
            "0X7F000001",
            "0177.0.0.1",
            "127.1",
            "127.0.1",
            "127.0.0.01",
            "127.0.0.1.",
            "127.0.0.1.0",
            "127.0.0.256",
            "1.2.3.0x4",
            "0x7f.0.0.1",
            "a.0x10",
            "a.12",
            "0x",
            "00",
            "0",
        ] {
            assert_eq!(
                DialTarget::from_guest(s.as_bytes(), 443),
                Err(HostError::NonCanonicalIp),
                "{s}"
            );
        }
        for s in ["127.0.0.1.", "+1.2.3.4", "1.2.3.-4", "1.2.3.4 "] {
            assert!(HostName::parse_str(s).is_err(), "{s}");
        }
        assert_eq!(HostName::parse_str("127.0.0.1"), Ok(v4(127, 0, 0, 1)));
        assert_eq!(HostName::parse_str("0.0.0.0"), Ok(v4(0, 0, 0, 0)));
        assert_eq!(
            HostName::parse_str("255.255.255.255"),
            Ok(v4(255, 255, 255, 255))
        );
        assert_eq!(HostName::parse_str("10.0.100.1"), Ok(v4(10, 0, 100, 1)));
        // Only the last label decides: these are names.
        assert_eq!(
            HostName::parse_str("127.0.0.1.nip.io"),
            Ok(dns("127.0.0.1.nip.io"))
        );
        assert_eq!(HostName::parse_str("1.2.3.4a"), Ok(dns("1.2.3.4a")));
        assert_eq!(HostName::parse_str("0xg"), Ok(dns("0xg")));
        assert_eq!(HostName::parse_str("x0"), Ok(dns("x0")));

        let ca = grant("ca.example.com:443");
        let loopback = grant("127.0.0.1:443");
        for s in ["2130706433", "0x7f000001", "0177.0.0.1"] {
            assert_eq!(
                DialTarget::parse(&format!("{s}:443")),
                Err(HostError::NonCanonicalIp)
            );
            assert_eq!(
                HostPattern::parse(&format!("{s}:443")),
                Err(HostError::NonCanonicalIp)
            );
        }
        assert!(loopback.matches(&target("127.0.0.1:443")));
        assert!(!ca.matches(&target("127.0.0.1:443")));
    }

    #[test]
    fn mapped_ipv6_is_not_ipv4() {
        // "[::ffff:127.0.0.1]" parses, as IPv6, and matches neither grant.
        let mapped = DialTarget::from_guest(b"[::ffff:127.0.0.1]", 443);
        let expected = Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1);
        assert_eq!(
            mapped.as_ref().map(|t| &t.host),
            Ok(&HostName::Ipv6(expected))
        );
        assert_eq!(
            HostName::parse_str("::ffff:127.0.0.1"),
            Ok(HostName::Ipv6(expected))
        );
        let mapped = target("[::ffff:127.0.0.1]:443");
        assert!(!grant("ca.example.com:443").matches(&mapped));
        assert!(!grant("127.0.0.1:443").matches(&mapped));
        assert!(!grant("[::ffff:127.0.0.1]:443").matches(&target("127.0.0.1:443")));
        assert!(grant("[::ffff:127.0.0.1]:443").matches(&mapped));
    }

    #[test]
    fn ports() {
        assert_eq!(
            DialTarget::from_guest(b"ca.example.com", 0),
            Err(HostError::InvalidPort)
        );
        assert_eq!(
            DialTarget::from_guest(b"ca.example.com", 65_536),
            Err(HostError::InvalidPort)
        );
        // A negative i32 from the guest, reinterpreted as u32.
        let negative: i32 = -1;
        let port = u32::from_ne_bytes(negative.to_ne_bytes());
        assert_eq!(port, 0xFFFF_FFFF);
        assert_eq!(
            DialTarget::from_guest(b"ca.example.com", port),
            Err(HostError::InvalidPort)
        );
        // -65_093 sign-extended-then-truncated would be 443; it must not be.
        let sneaky = u32::from_ne_bytes((-65_093i32).to_ne_bytes());
        assert_eq!(sneaky & 0xFFFF, 443);
        assert_eq!(
            DialTarget::from_guest(b"ca.example.com", sneaky),
            Err(HostError::InvalidPort)
        );
        assert_eq!(
            DialTarget::from_guest(b"ca.example.com", 0x1_01BB),
            Err(HostError::InvalidPort)
        );
        assert_eq!(
            DialTarget::from_guest(b"ca.example.com", 1).map(|t| t.port),
            Ok(1)
        );
        assert_eq!(
            DialTarget::from_guest(b"ca.example.com", 65_535).map(|t| t.port),
            Ok(65_535)
        );
        // A bad host is reported before a bad port.
        assert_eq!(DialTarget::from_guest(b"", 0), Err(HostError::Empty));

        for (s, e) in [
            ("ca.example.com:0", HostError::InvalidPort),
            ("ca.example.com:65536", HostError::InvalidPort),
            ("ca.example.com:4294967295", HostError::InvalidPort),
            ("ca.example.com:-1", HostError::InvalidPort),
            ("ca.example.com:+443", HostError::InvalidPort),
            ("ca.example.com:0443", HostError::InvalidPort),
            ("ca.example.com: 443", HostError::InvalidPort),
            ("ca.example.com:443 ", HostError::InvalidPort),
            ("ca.example.com:https", HostError::InvalidPort),
            ("ca.example.com:", HostError::MissingPort),
            ("ca.example.com", HostError::MissingPort),
            ("[::1]", HostError::MissingPort),
            ("[::1]:", HostError::MissingPort),
            ("::1", HostError::InvalidName),
            ("::1:443", HostError::InvalidName),
            ("fe80::1:443", HostError::InvalidName),
            ("a:b:443", HostError::InvalidName),
            ("[::1]443", HostError::InvalidName),
            ("[::1]]:443", HostError::InvalidName),
            ("[::1:443", HostError::InvalidName),
            ("[fe80::1%eth0]:443", HostError::InvalidName),
            ("[example.com]:443", HostError::InvalidName),
            ("[127.0.0.1]:443", HostError::InvalidName),
            (":443", HostError::Empty),
            ("", HostError::Empty),
        ] {
            assert_eq!(DialTarget::parse(s), Err(e), "{s}");
            assert_eq!(HostPattern::parse(s), Err(e), "{s}");
        }
        assert_eq!(target("a.example.com:65535").port, 65_535);
    }

    #[test]
    fn wildcards() {
        let w = grant("*.example.com:443");
        assert!(w.matches(&target("a.example.com:443")));
        assert!(w.matches(&target("A.EXAMPLE.COM.:443")));
        assert!(w.matches(&target("_acme-challenge.example.com:443")));
        assert!(!w.matches(&target("example.com:443")));
        assert!(!w.matches(&target("a.b.example.com:443")));
        assert!(!w.matches(&target("evilexample.com:443")));
        assert!(!w.matches(&target("a.example.com.evil.net:443")));
        assert!(!w.matches(&target("a.example.co:443")));
        assert!(!w.matches(&target("a.example.com:80")));
        assert!(!w.matches(&target("1.2.3.4:443")));
        assert!(!w.matches(&target("[::1]:443")));
        // A hand-built name that is not normalised only fails to match.
        let raw = DialTarget {
            host: dns(".example.com"),
            port: 443,
        };
        assert!(!w.matches(&raw));

        assert!(grant("*.Example.COM.:443").matches(&target("x.example.com:443")));
        assert_eq!(grant("*.Example.COM.:443"), w);

        for s in [
            "*.com:443",
            "*.com.:443",
            "*:443",
            "*.:443",
            "a*.b.com:443",
            "*x.b.com:443",
            "a.*.com:443",
            "a.b.*:443",
            "**.b.com:443",
            "*.*.com:443",
            "*..b.com:443",
            "[*::1]:443",
            "*.192.0.2.1:443",
            "*.1.2.3.4:443",
        ] {
            let got = HostPattern::parse(s);
            assert!(
                got == Err(HostError::MisplacedWildcard) || got == Err(HostError::InvalidName),
                "{s}: {got:?}"
            );
        }
        assert_eq!(
            HostPattern::parse("*.com:443"),
            Err(HostError::MisplacedWildcard)
        );
        assert_eq!(
            HostPattern::parse("*:443"),
            Err(HostError::MisplacedWildcard)
        );
        assert_eq!(
            HostPattern::parse("a*.b.com:443"),
            Err(HostError::MisplacedWildcard)
        );
        assert_eq!(
            HostPattern::parse("*x.b.com:443"),
            Err(HostError::MisplacedWildcard)
        );
        assert_eq!(
            HostPattern::parse("a.*.com:443"),
            Err(HostError::MisplacedWildcard)
        );
        assert_eq!(
            HostPattern::parse("*.1.2.3.4:443"),
            Err(HostError::MisplacedWildcard)
        );
        assert_eq!(
            HostPattern::parse("*.0.0.1:443"),
            Err(HostError::NonCanonicalIp)
        );
        assert_eq!(
            HostPattern::parse("*.example.com"),
            Err(HostError::MissingPort)
        );
        assert_eq!(
            HostPattern::parse("*.example.com:0"),
            Err(HostError::InvalidPort)
        );
        // A guest can never name a host with '*'.
        assert_eq!(
            HostName::parse_str("*.example.com"),
            Err(HostError::InvalidName)
        );
        assert_eq!(
            DialTarget::parse("*.example.com:443"),
            Err(HostError::InvalidName)
        );
    }

    #[test]
    fn ipv6() {
        let p = grant("[::1]:8080");
        assert!(p.matches(&target("[::1]:8080")));
        assert!(p.matches(&target("[0:0:0:0:0:0:0:1]:8080")));
        assert!(p.matches(&DialTarget {
            host: HostName::Ipv6(Ipv6Addr::LOCALHOST),
            port: 8080
        }));
        assert_eq!(
            DialTarget::from_guest(b"::1", 8080).map(|t| p.matches(&t)),
            Ok(true)
        );
        assert_eq!(
            DialTarget::from_guest(b"[::1]", 8080).map(|t| p.matches(&t)),
            Ok(true)
        );
        assert!(!p.matches(&target("[::1]:8081")));
        assert!(!p.matches(&target("[::2]:8080")));
        assert!(!p.matches(&target("127.0.0.1:8080")));
        assert!(!p.matches(&target("localhost:8080")));
        let q = grant("[2001:DB8::A]:443");
        assert!(q.matches(&target("[2001:db8:0::a]:443")));
        assert_eq!(format!("{q}"), "[2001:db8::a]:443");
        for s in ["[::1", "::1]", "[[::1]]", "[::1%1]", "[:::1]", "[::1]."] {
            assert_eq!(HostName::parse_str(s), Err(HostError::InvalidName), "{s}");
        }
    }

    #[test]
    fn lengths() {
        let label63 = repeat("a", 63);
        let label64 = repeat("a", 64);
        assert_eq!(
            HostName::parse_str(&format!("{label63}.com")),
            Ok(dns(&format!("{label63}.com")))
        );
        assert_eq!(
            HostName::parse_str(&format!("{label64}.com")),
            Err(HostError::InvalidName)
        );
        assert_eq!(
            HostPattern::parse(&format!("*.{label64}.com:443")),
            Err(HostError::InvalidName)
        );

        // 4 * 63 + 3 dots = 255 > 253.
        let too_long = format!("{label63}.{label63}.{label63}.{label63}");
        assert_eq!(HostName::parse_str(&too_long), Err(HostError::TooLong));
        // Exactly 253 bytes, with and without one trailing dot.
        let max = format!("{label63}.{label63}.{label63}.{}", repeat("b", 61));
        assert_eq!(max.len(), MAX_HOST_BYTES);
        assert_eq!(HostName::parse_str(&max), Ok(dns(&max)));
        assert_eq!(HostName::parse_str(&format!("{max}.")), Ok(dns(&max)));
        assert_eq!(
            HostName::parse_str(&format!("x{max}")),
            Err(HostError::TooLong)
        );
        assert_eq!(
            HostName::parse_str(&format!("{max}..")),
            Err(HostError::TooLong)
        );
        // A wildcard whose whole text would be over 253 bytes.
        let suffix = format!("{label63}.{label63}.{label63}.{}", repeat("b", 60));
        assert_eq!(suffix.len(), 252);
        assert_eq!(
            HostPattern::parse(&format!("*.{suffix}:443")),
            Err(HostError::TooLong)
        );
        let suffix = format!("{label63}.{label63}.{label63}.{}", repeat("b", 59));
        assert!(HostPattern::parse(&format!("*.{suffix}:443")).is_ok());
        // Long garbage is refused without trouble.
        assert_eq!(HostName::parse(&[b'1'; 10_000]), Err(HostError::TooLong));
        assert_eq!(HostName::parse(&[0xff; 10_000]), Err(HostError::NotUtf8));
    }

    #[test]
    fn names() {
        assert_eq!(HostName::parse_str("localhost"), Ok(dns("localhost")));
        assert_eq!(HostName::parse_str("LocalHost."), Ok(dns("localhost")));
        assert_eq!(HostName::parse_str("a-b.c_d.e"), Ok(dns("a-b.c_d.e")));
        assert_eq!(
            HostName::parse_str("_acme-challenge.example.com"),
            Ok(dns("_acme-challenge.example.com"))
        );
        assert_eq!(
            HostName::parse_str("xn--bcher-kva.example"),
            Ok(dns("xn--bcher-kva.example"))
        );
        for (s, e) in [
            ("", HostError::Empty),
            (".", HostError::InvalidName),
            ("..", HostError::InvalidName),
            (".a", HostError::InvalidName),
            ("a..b", HostError::InvalidName),
            ("-a.com", HostError::InvalidName),
            ("a-.com", HostError::InvalidName),
            ("a.-com", HostError::InvalidName),
            ("a b.com", HostError::InvalidName),
            ("a/b.com", HostError::InvalidName),
            ("a@b.com", HostError::InvalidName),
            ("a%2e.com", HostError::InvalidName),
            ("bücher.example", HostError::InvalidName),
            ("a\u{2024}com", HostError::InvalidName),
            ("a\0", HostError::Nul),
        ] {
            assert_eq!(HostName::parse_str(s), Err(e), "{s:?}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "ca.example.com:443",
            "*.example.com:443",
            "127.0.0.1:1",
            "[::1]:8080",
            "[2001:db8::a]:65535",
            "[::ffff:127.0.0.1]:443",
        ] {
            assert_eq!(format!("{}", grant(s)), s);
            assert_eq!(HostPattern::parse(&format!("{}", grant(s))), Ok(grant(s)));
            if !s.starts_with('*') {
                assert_eq!(format!("{}", target(s)), s);
            }
        }
        assert_eq!(
            format!("{}", grant("CA.Example.COM.:443")),
            "ca.example.com:443"
        );
        assert_eq!(format!("{}", v4(10, 0, 0, 1)), "10.0.0.1");
        assert_eq!(format!("{}", HostName::Ipv6(Ipv6Addr::LOCALHOST)), "::1");
        let errors = [
            HostError::Empty,
            HostError::TooLong,
            HostError::NotUtf8,
            HostError::Nul,
            HostError::InvalidName,
            HostError::NonCanonicalIp,
            HostError::MissingPort,
            HostError::InvalidPort,
            HostError::MisplacedWildcard,
        ];
        for e in errors {
            assert!(!format!("{e}").is_empty());
            let _: &dyn core::error::Error = &e;
        }
    }

    /// Reference model of `matches`, on the strings as a person wrote them: lowercase, drop one
    /// trailing dot, split host and port at the last ':' (after a ']' for IPv6), then compare the
    /// exact host text, or for "*.suffix" require exactly one more label than the suffix.
    fn model(pattern: &str, target: &str) -> bool {
        fn split(s: &str) -> Option<(String, &str)> {
            let (host, port) = s.rsplit_once(':')?;
            let host = host.to_ascii_lowercase();
            let host = String::from(host.strip_suffix('.').unwrap_or(&host));
            Some((host, port))
        }
        let (Some((ph, pp)), Some((th, tp))) = (split(pattern), split(target)) else {
            return false;
        };
        if pp != tp {
            return false;
        }
        match ph.strip_prefix("*.") {
            None => ph == th,
            Some(suffix) => {
                let p_labels: Vec<&str> = suffix.split('.').collect();
                let t_labels: Vec<&str> = th.split('.').collect();
                t_labels.len() == p_labels.len() + 1 && t_labels[1..] == p_labels[..]
            }
        }
    }

    #[test]
    fn matches_agrees_with_model() {
        let patterns = [
            "ca.example.com:443",
            "*.example.com:443",
            "*.ca.example.com:443",
            "example.com:443",
            "example.com:80",
            "*.example.com:80",
            "a.b:1",
            "*.a.b:1",
            "127.0.0.1:443",
            "10.0.0.1:22",
            "[::1]:8080",
            "*.co.uk:443",
        ];
        let mut targets: Vec<String> = [
            "ca.example.com:443",
            "CA.EXAMPLE.COM.:443",
            "ca.example.com:22",
            "ca.example.com.evil.net:443",
            "evilca.example.com:443",
            "example.com:443",
            "example.com.:80",
            "a.example.com:443",
            "a.b.example.com:443",
            "x.ca.example.com:443",
            "evilexample.com:443",
            "examplecom:443",
            "a.b:1",
            "c.a.b:1",
            "a.b:10",
            "127.0.0.1:443",
            "10.0.0.1:22",
            "[::1]:8080",
            "[::1]:8081",
            "bbc.co.uk:443",
            "co.uk:443",
        ]
        .iter()
        .map(|s| String::from(*s))
        .collect();
        // Pseudo-random names over a few labels, from a fixed-seed generator.
        let labels = [
            "a", "b", "ca", "example", "com", "evil", "co", "uk", "EXAMPLE", "x-y",
        ];
        let ports = ["443", "443", "80", "1", "22", "8080"];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((seed >> 33) as usize) % n
        };
        let suffixes = [
            "",
            "example.com",
            "ca.example.com",
            "a.b",
            "co.uk",
            "com",
            "Example.Com",
        ];
        for _ in 0..500 {
            let mut parts: Vec<&str> = Vec::new();
            for _ in 0..next(3) {
                parts.push(labels[next(labels.len())]);
            }
            let suffix = suffixes[next(suffixes.len())];
            if !suffix.is_empty() || parts.is_empty() {
                parts.push(if suffix.is_empty() { "x" } else { suffix });
            }
            let mut s = parts.join(".");
            if next(5) == 0 {
                s.push('.');
            }
            s.push(':');
            s.push_str(ports[next(ports.len())]);
            targets.push(s);
        }
        let mut admitted = 0usize;
        for p in patterns {
            let pattern = grant(p);
            for t in &targets {
                let dial = target(t);
                let got = pattern.matches(&dial);
                assert_eq!(got, model(p, t), "{p} vs {t}");
                admitted += usize::from(got);
            }
        }
        assert!(admitted > 50, "only {admitted} admitted");
    }
}
