//! Reference models, written from `docs/abi.md` and the API documentation rather than from the
//! implementation, that the fuzz targets compare `pluginhost` against.
//!
//! - [`path`]: guest paths (split on `/`, drop empty and `.` parts, refuse `..`, NUL, non-UTF-8,
//!   relative, over-long) and component-wise prefix admission.
//! - [`host`]: hosts (`HostName`), dial targets and `host:port` grant entries (lowercase, strip one
//!   trailing dot, strict dotted quad, IPv6 by value, wildcard = exactly one extra label, ports
//!   equal).
//! - [`grant`]: a grant as a list of prefix component vectors and host patterns.

/// Guest paths.
pub mod path {
    use pluginhost::PathError;

    /// The longest guest path, in bytes (`MAX_PATH_BYTES`).
    pub const MAX: usize = 4096;

    /// A path as its components; the root has none.
    pub type Components = Vec<String>;

    /// Parses a guest path the way `docs/abi.md` ("Paths") describes it, checking in the order
    /// the API documents: empty, too long, NUL, UTF-8, relative, then `..`.
    pub fn parse(bytes: &[u8]) -> Result<Components, PathError> {
        if bytes.is_empty() {
            return Err(PathError::Empty);
        }
        if bytes.len() > MAX {
            return Err(PathError::TooLong);
        }
        if bytes.iter().any(|b| *b == 0) {
            return Err(PathError::Nul);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| PathError::NotUtf8)?;
        if !text.starts_with('/') {
            return Err(PathError::Relative);
        }
        let mut out = Vec::new();
        for part in text.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err(PathError::ParentComponent),
                other => out.push(other.to_owned()),
            }
        }
        Ok(out)
    }

    /// The normal form of a parsed path: `/` and the components joined by `/`.
    pub fn render(components: &[String]) -> String {
        format!("/{}", components.join("/"))
    }

    /// Whether `prefix` is a component-wise prefix of `path` (exact bytes).
    pub fn starts_with(path: &[String], prefix: &[String]) -> bool {
        path.len() >= prefix.len() && path.iter().zip(prefix).all(|(a, b)| a == b)
    }
}

/// Hosts, dial targets and `host:port` grant entries.
pub mod host {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use pluginhost::{HostError, HostName};

    /// A checked host.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Host {
        /// A lowercase DNS name without the trailing dot, as its labels.
        Dns(Vec<String>),
        /// A strict dotted quad.
        V4([u8; 4]),
        /// An IPv6 address, by value.
        V6(u128),
    }

    impl Host {
        /// The same host as the library's type.
        pub fn to_lib(&self) -> HostName {
            match self {
                Host::Dns(labels) => HostName::Dns(labels.join(".")),
                Host::V4(o) => HostName::Ipv4(Ipv4Addr::from(*o)),
                Host::V6(v) => HostName::Ipv6(Ipv6Addr::from(*v)),
            }
        }
    }

    /// A grant entry.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Pattern {
        /// An exact host and port.
        Exact(Host, u16),
        /// `*.` + these labels (at least two), and a port.
        Wildcard(Vec<String>, u16),
    }

    fn v6(text: &str) -> Result<Host, HostError> {
        text.parse::<Ipv6Addr>()
            .map(|a| Host::V6(u128::from(a)))
            .map_err(|_| HostError::InvalidName)
    }

    /// One DNS label: 1..=63 bytes of `a-z0-9-_`, not starting or ending with `-`.
    fn label_ok(label: &str) -> bool {
        (1..=63).contains(&label.len())
            && label
                .chars()
                .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_'))
            && !label.starts_with('-')
            && !label.ends_with('-')
    }

    /// Something a resolver may read as a number: decimal digits only, or `0x` then hex digits.
    fn numeric(label: &str) -> bool {
        if let Some(hex) = label.strip_prefix("0x") {
            hex.chars().all(|c| c.is_ascii_hexdigit())
        } else {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_digit())
        }
    }

    /// Exactly `a.b.c.d`, each `0` or `[1-9][0-9]{0,2}` and at most 255.
    fn dotted_quad(text: &str) -> Option<[u8; 4]> {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        let mut out = [0u8; 4];
        for (slot, part) in out.iter_mut().zip(parts) {
            let digits = part.chars().all(|c| c.is_ascii_digit());
            let canonical = part == "0" || (!part.starts_with('0') && !part.is_empty());
            if !digits || !canonical || part.len() > 3 {
                return None;
            }
            let value: u32 = part.parse().ok()?;
            *slot = u8::try_from(value).ok()?;
        }
        Some(out)
    }

    /// Parses a host as `net_dial` receives it (`docs/abi.md`, "Hosts").
    pub fn parse_host(bytes: &[u8]) -> Result<Host, HostError> {
        if bytes.is_empty() {
            return Err(HostError::Empty);
        }
        if bytes.contains(&0) {
            return Err(HostError::Nul);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| HostError::NotUtf8)?;
        let stripped = text.strip_suffix('.').unwrap_or(text);
        if stripped.len() > 253 {
            return Err(HostError::TooLong);
        }
        if let Some(rest) = text.strip_prefix('[') {
            return match rest.strip_suffix(']') {
                Some(inner) => v6(inner),
                None => Err(HostError::InvalidName),
            };
        }
        if text.contains(':') {
            return v6(text);
        }
        if stripped.is_empty() || !stripped.is_ascii() {
            return Err(HostError::InvalidName);
        }
        let lower = stripped.to_ascii_lowercase();
        let labels: Vec<String> = lower.split('.').map(str::to_owned).collect();
        if !labels.iter().all(|l| label_ok(l)) {
            return Err(HostError::InvalidName);
        }
        if labels.last().is_some_and(|l| numeric(l)) {
            // The original text: a trailing dot is not part of a dotted quad.
            return dotted_quad(text)
                .map(Host::V4)
                .ok_or(HostError::NonCanonicalIp);
        }
        Ok(Host::Dns(labels))
    }

    /// A port written in a grant entry: decimal, no sign, no leading zero, 1..=65535.
    fn parse_port(text: &str) -> Result<u16, HostError> {
        if text.is_empty() {
            return Err(HostError::MissingPort);
        }
        let digits = text.chars().all(|c| c.is_ascii_digit());
        if !digits || text.starts_with('0') || text.len() > 5 {
            return Err(HostError::InvalidPort);
        }
        let value: u32 = text.parse().map_err(|_| HostError::InvalidPort)?;
        u16::try_from(value)
            .ok()
            .filter(|p| *p != 0)
            .ok_or(HostError::InvalidPort)
    }

    /// Splits `host:port` / `[v6]:port`.
    fn split(text: &str) -> Result<(&str, u16), HostError> {
        if text.is_empty() {
            return Err(HostError::Empty);
        }
        if text.starts_with('[') {
            let close = text.find(']').ok_or(HostError::InvalidName)?;
            let (host, rest) = text.split_at(close + 1);
            if rest.is_empty() {
                return Err(HostError::MissingPort);
            }
            let port = rest.strip_prefix(':').ok_or(HostError::InvalidName)?;
            return Ok((host, parse_port(port)?));
        }
        let (host, port) = text.split_once(':').ok_or(HostError::MissingPort)?;
        if port.contains(':') {
            return Err(HostError::InvalidName);
        }
        Ok((host, parse_port(port)?))
    }

    /// Parses a `net.dial` grant entry.
    pub fn parse_pattern(text: &str) -> Result<Pattern, HostError> {
        let (host, port) = split(text)?;
        if !host.contains('*') {
            return Ok(Pattern::Exact(parse_host(host.as_bytes())?, port));
        }
        let suffix = match host.strip_prefix("*.") {
            Some(s) if !s.is_empty() && !s.contains('*') => s,
            _ => return Err(HostError::MisplacedWildcard),
        };
        match parse_host(suffix.as_bytes())? {
            Host::Dns(labels) if labels.len() >= 2 => {
                if labels.join(".").len() + 2 > 253 {
                    return Err(HostError::TooLong);
                }
                Ok(Pattern::Wildcard(labels, port))
            }
            _ => Err(HostError::MisplacedWildcard),
        }
    }

    /// A guest's host and `i32` port (taken as `u32`): the host is checked first.
    pub fn dial_target(host: &[u8], port: u32) -> Result<(Host, u16), HostError> {
        let host = parse_host(host)?;
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or(HostError::InvalidPort)?;
        Ok((host, port))
    }

    /// Whether `pattern` admits `host:port`.
    pub fn matches(pattern: &Pattern, host: &Host, port: u16) -> bool {
        match pattern {
            Pattern::Exact(h, p) => *p == port && h == host,
            Pattern::Wildcard(suffix, p) => {
                *p == port
                    && matches!(host, Host::Dns(labels)
                        if labels.len() == suffix.len() + 1 && labels[1..] == suffix[..])
            }
        }
    }
}

/// A grant, as the models see it.
pub mod grant {
    use pluginhost::{Capability, Grant};

    use super::{host, path};

    /// What a grant admits, built alongside a library [`Grant`] from the same entries.
    #[derive(Clone, Debug, Default)]
    pub struct Model {
        /// Granted capabilities (bit `Capability::index`).
        pub caps: u8,
        /// Path prefixes per capability index.
        pub prefixes: [Vec<path::Components>; 4],
        /// `host:port` entries.
        pub hosts: Vec<host::Pattern>,
        /// `dangerous_allow_any_host` was called.
        pub any_host: bool,
    }

    fn bit(cap: Capability) -> u8 {
        1 << cap.index()
    }

    impl Model {
        /// Whether `cap` is granted (its imports link).
        pub fn allows(&self, cap: Capability) -> bool {
            self.caps & bit(cap) != 0
        }

        /// The longest admitting prefix of `cap` for `p`, if any.
        pub fn admit_path(&self, cap: Capability, p: &[String]) -> Option<&path::Components> {
            if !self.allows(cap) {
                return None;
            }
            self.prefixes[cap.index()]
                .iter()
                .filter(|prefix| path::starts_with(p, prefix))
                .max_by_key(|prefix| prefix.len())
        }

        /// Under or above an `fs.write` prefix.
        pub fn writable_area(&self, p: &[String]) -> bool {
            self.allows(Capability::FsWrite)
                && self.prefixes[Capability::FsWrite.index()]
                    .iter()
                    .any(|w| path::starts_with(p, w) || path::starts_with(w, p))
        }

        /// Whether `net.dial` admits `host:port`.
        pub fn admit_dial(&self, h: &host::Host, port: u16) -> bool {
            self.allows(Capability::NetDial)
                && (self.any_host || self.hosts.iter().any(|p| host::matches(p, h, port)))
        }
    }

    /// One entry of a grant under construction.
    #[derive(Clone, Debug)]
    pub enum Entry {
        /// `with_path_prefix`.
        Prefix(Capability, String),
        /// `with_host`.
        Host(String),
        /// `dangerous_allow_any_path`.
        AnyPath(Capability),
        /// `dangerous_allow_any_host`.
        AnyHost,
    }

    /// Builds the library grant and the model from the same entries. Entries the library refuses
    /// must be exactly those the model refuses (checked here).
    pub fn build(caps: &[Capability], entries: &[Entry]) -> (Grant, Model) {
        let mut grant = Grant::new(caps);
        let mut model = Model::default();
        for cap in caps {
            model.caps |= bit(*cap);
        }
        for entry in entries {
            match entry {
                Entry::Prefix(cap, text) => {
                    let lib = grant.clone().with_path_prefix(*cap, text);
                    let parsed = path::parse(text.as_bytes());
                    match (lib, cap.takes_paths()) {
                        (Ok(g), true) => {
                            let comps = parsed.unwrap_or_else(|e| {
                                panic!("grant accepted prefix {text:?} the model refuses: {e:?}")
                            });
                            grant = g;
                            model.caps |= bit(*cap);
                            let list = &mut model.prefixes[cap.index()];
                            if !list.contains(&comps) {
                                list.push(comps);
                            }
                        }
                        (Ok(_), false) => panic!("net.dial accepted a path prefix {text:?}"),
                        (Err(_), true) => assert!(
                            parsed.is_err() || model.prefixes[cap.index()].len() >= 64,
                            "grant refused prefix {text:?} the model accepts"
                        ),
                        (Err(_), false) => {}
                    }
                }
                Entry::Host(text) => {
                    let lib = grant.clone().with_host(text);
                    let parsed = host::parse_pattern(text);
                    match lib {
                        Ok(g) => {
                            let pattern = parsed.unwrap_or_else(|e| {
                                panic!("grant accepted host {text:?} the model refuses: {e:?}")
                            });
                            grant = g;
                            model.caps |= bit(Capability::NetDial);
                            model.hosts.push(pattern);
                        }
                        Err(_) => assert!(
                            parsed.is_err() || model.hosts.len() >= 64,
                            "grant refused host {text:?} the model accepts"
                        ),
                    }
                }
                Entry::AnyPath(cap) => {
                    if let Ok(g) = grant.clone().dangerous_allow_any_path(*cap) {
                        assert!(cap.takes_paths());
                        grant = g;
                        model.caps |= bit(*cap);
                        model.prefixes[cap.index()] = vec![Vec::new()];
                    } else {
                        assert!(!cap.takes_paths());
                    }
                }
                Entry::AnyHost => {
                    grant = grant.dangerous_allow_any_host();
                    model.caps |= bit(Capability::NetDial);
                    model.any_host = true;
                }
            }
        }
        (grant, model)
    }
}
