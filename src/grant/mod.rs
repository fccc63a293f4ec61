//! Grants: which capabilities a plugin holds, narrowed by path prefixes and `host:port` entries.
//!
//! A [`Grant`] is deny-by-default. Granting a capability without any prefix admits nothing: its
//! imports link, but every call is denied until a prefix (or `host:port` entry) is added. Admitting
//! every path or host takes an explicit call to [`Grant::dangerous_allow_any_path`] or
//! [`Grant::dangerous_allow_any_host`].

use alloc::vec::Vec;
use core::fmt;

use crate::capability::{Capability, CapabilitySet};

mod net;
mod path;
pub(crate) mod separator;
mod wordwise;

pub(crate) use net::parse_port;
pub use net::{DialTarget, HostError, HostName, HostPattern, MAX_HOST_BYTES, MAX_LABEL_BYTES};
pub use path::{GuestPath, PathError, MAX_PATH_BYTES};

/// The longest host a guest may pass to `net_dial`, in bytes (a 253-byte name, a trailing dot,
/// or a bracketed IPv6 literal fit).
#[cfg(feature = "cap-net")]
pub(crate) const MAX_HOST_INPUT_BYTES: usize = 256;

/// The most prefixes or `host:port` entries one capability may hold.
pub const MAX_GRANT_ENTRIES: usize = 64;

/// Why a grant could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum GrantError {
    /// A path prefix was given for `net.dial`, or a `host:port` entry for a path capability.
    WrongKind(Capability),
    /// The path prefix is not an absolute, normalised-able path.
    Path(PathError),
    /// The `host:port` entry is malformed.
    Host(HostError),
    /// More than [`MAX_GRANT_ENTRIES`] entries for one capability.
    TooManyEntries(Capability),
    /// A grant spec was not of the form `CAPABILITY=SCOPE`.
    Spec,
    /// The capability name in a grant spec is unknown.
    UnknownCapability,
}

impl fmt::Display for GrantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrantError::WrongKind(cap) if cap.takes_paths() => {
                write!(f, "{cap} takes path prefixes, not host:port entries")
            }
            GrantError::WrongKind(cap) => write!(f, "{cap} takes host:port entries, not paths"),
            GrantError::Path(e) => write!(f, "invalid path prefix: {e}"),
            GrantError::Host(e) => write!(f, "invalid host:port entry: {e}"),
            GrantError::TooManyEntries(cap) => {
                write!(
                    f,
                    "too many entries for {cap} (at most {MAX_GRANT_ENTRIES})"
                )
            }
            GrantError::Spec => f.write_str("grant must be written CAPABILITY=SCOPE"),
            GrantError::UnknownCapability => f.write_str(
                "unknown capability (expected fs.read, fs.write, net.dial or process.exec)",
            ),
        }
    }
}

impl core::error::Error for GrantError {}

/// The capabilities a plugin holds and how far each reaches. Deny-by-default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grant {
    capabilities: CapabilitySet,
    unrestricted: CapabilitySet,
    prefixes: [Vec<GuestPath>; 4],
    hosts: Vec<HostPattern>,
}

impl Grant {
    /// A grant of nothing.
    pub fn none() -> Self {
        Grant::default()
    }

    /// A grant of `capabilities` with no prefixes or hosts yet: their imports link, every call is
    /// denied until scopes are added.
    pub fn new(capabilities: &[Capability]) -> Self {
        Grant {
            capabilities: capabilities.iter().copied().collect(),
            ..Grant::default()
        }
    }

    /// Adds `prefix` to a path capability (`fs.read`, `fs.write`, `process.exec`), granting it
    /// if it was not yet. For `process.exec` the prefix names programs (a file or a directory).
    ///
    /// # Errors
    /// [`GrantError::WrongKind`] for `net.dial`, [`GrantError::Path`] for a relative path or one
    /// with `..` or NUL, [`GrantError::TooManyEntries`] past [`MAX_GRANT_ENTRIES`].
    pub fn with_path_prefix(
        mut self,
        capability: Capability,
        prefix: &str,
    ) -> Result<Self, GrantError> {
        if !capability.takes_paths() {
            return Err(GrantError::WrongKind(capability));
        }
        let prefix = GuestPath::parse_str(prefix).map_err(GrantError::Path)?;
        self.push_prefix(capability, prefix)?;
        Ok(self)
    }

    /// Adds a `host:port` entry (or `*.example.com:port`) to `net.dial`, granting it if it was not
    /// yet.
    ///
    /// # Errors
    /// [`GrantError::Host`] if the entry is malformed (no explicit port, a misplaced wildcard, a
    /// non-canonical IP literal), [`GrantError::TooManyEntries`] past [`MAX_GRANT_ENTRIES`].
    pub fn with_host(mut self, entry: &str) -> Result<Self, GrantError> {
        let pattern = HostPattern::parse(entry).map_err(GrantError::Host)?;
        if self.hosts.len() >= MAX_GRANT_ENTRIES {
            return Err(GrantError::TooManyEntries(Capability::NetDial));
        }
        if !self.hosts.contains(&pattern) {
            self.hosts.push(pattern);
        }
        self.capabilities = self.capabilities.with(Capability::NetDial);
        Ok(self)
    }

    /// Adds a spec as typed on a command line or in a policy file: `fs.write=/data`,
    /// `net.dial=ca.example.com:443`, `process.exec=/usr/bin/true`. ASCII whitespace around the
    /// name and the scope is ignored.
    ///
    /// # Errors
    /// [`GrantError::Spec`] without `=`, [`GrantError::UnknownCapability`] for an unknown name, and
    /// the errors of [`Grant::with_path_prefix`] and [`Grant::with_host`].
    pub fn with_spec(self, spec: &str) -> Result<Self, GrantError> {
        let (name, scope) = separator::split_once(spec, b'=').ok_or(GrantError::Spec)?;
        let capability: Capability = name
            .trim_ascii()
            .parse()
            .map_err(|_| GrantError::UnknownCapability)?;
        let scope = scope.trim_ascii();
        if capability.takes_paths() {
            self.with_path_prefix(capability, scope)
        } else {
            self.with_host(scope)
        }
    }

    /// **Dangerous**: admits every path for `capability` (`fs.read`, `fs.write` or
    /// `process.exec`), as if granted the prefix `/`. Never use this for a plugin you do not
    /// fully trust.
    ///
    /// # Errors
    /// [`GrantError::WrongKind`] for `net.dial` (use [`Grant::dangerous_allow_any_host`]).
    pub fn dangerous_allow_any_path(mut self, capability: Capability) -> Result<Self, GrantError> {
        if !capability.takes_paths() {
            return Err(GrantError::WrongKind(capability));
        }
        let root = GuestPath::parse_str("/").map_err(GrantError::Path)?;
        self.prefixes[capability.index()].clear();
        self.push_prefix(capability, root)?;
        self.unrestricted = self.unrestricted.with(capability);
        Ok(self)
    }

    /// **Dangerous**: admits every host and port for `net.dial`. Never use this for a plugin you
    /// do not fully trust.
    #[must_use]
    pub fn dangerous_allow_any_host(mut self) -> Self {
        self.capabilities = self.capabilities.with(Capability::NetDial);
        self.unrestricted = self.unrestricted.with(Capability::NetDial);
        self
    }

    fn push_prefix(&mut self, capability: Capability, prefix: GuestPath) -> Result<(), GrantError> {
        let list = &mut self.prefixes[capability.index()];
        if list.len() >= MAX_GRANT_ENTRIES {
            return Err(GrantError::TooManyEntries(capability));
        }
        if !list.contains(&prefix) {
            list.push(prefix);
        }
        self.capabilities = self.capabilities.with(capability);
        Ok(())
    }

    /// The capabilities granted (with or without scopes).
    pub fn capabilities(&self) -> CapabilitySet {
        self.capabilities
    }

    /// Whether `capability` is granted (its imports may link).
    pub fn allows(&self, capability: Capability) -> bool {
        self.capabilities.contains(capability)
    }

    /// The capabilities granted through a `dangerous_allow_any_*` call.
    pub fn unrestricted(&self) -> CapabilitySet {
        self.unrestricted
    }

    /// The path prefixes of a path capability.
    pub fn path_prefixes(&self, capability: Capability) -> &[GuestPath] {
        &self.prefixes[capability.index()]
    }

    /// The `host:port` entries of `net.dial`.
    pub fn hosts(&self) -> &[HostPattern] {
        &self.hosts
    }

    /// The longest granted prefix of `capability` that admits `path`, or `None` if the grant
    /// does not admit it. Allocation-free.
    pub fn admit_path(&self, capability: Capability, path: &GuestPath) -> Option<&GuestPath> {
        if !self.capabilities.contains(capability) {
            return None;
        }
        // Prefixes are distinct, so two of the same length cannot both admit a path.
        let mut admitted: Option<&GuestPath> = None;
        for prefix in &self.prefixes[capability.index()] {
            let longer = admitted.is_none_or(|a| prefix.as_str().len() > a.as_str().len());
            if longer && path.starts_with(prefix) {
                admitted = Some(prefix);
            }
        }
        admitted
    }

    /// Whether `net.dial` admits `target`. Allocation-free.
    pub fn admit_dial(&self, target: &DialTarget) -> bool {
        self.capabilities.contains(Capability::NetDial)
            && (self.unrestricted.contains(Capability::NetDial)
                || self.hosts.iter().any(|pattern| pattern.matches(target)))
    }

    /// Whether `path` lies under, or is an ancestor of, any `fs.write` prefix: a program there
    /// could have been written by the plugin, so `process.exec` refuses it.
    pub fn is_writable_area(&self, path: &GuestPath) -> bool {
        self.capabilities.contains(Capability::FsWrite)
            && self.prefixes[Capability::FsWrite.index()]
                .iter()
                .any(|prefix| path.starts_with(prefix) || prefix.starts_with(path))
    }
}

impl fmt::Display for Grant {
    /// Lists the grant as specs, e.g. `fs.write=/data, net.dial=ca.example.com:443`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            if !core::mem::take(&mut first) {
                f.write_str(", ")?;
            }
            Ok(())
        };
        for cap in self.capabilities.iter() {
            if cap.takes_paths() {
                let list = self.path_prefixes(cap);
                if list.is_empty() {
                    sep(f)?;
                    write!(f, "{cap} (no paths)")?;
                }
                for prefix in list {
                    sep(f)?;
                    write!(f, "{cap}={prefix}")?;
                }
            } else if self.unrestricted.contains(cap) {
                sep(f)?;
                write!(f, "{cap}=* (any host)")?;
            } else {
                if self.hosts.is_empty() {
                    sep(f)?;
                    write!(f, "{cap} (no hosts)")?;
                }
                for host in &self.hosts {
                    sep(f)?;
                    write!(f, "{cap}={host}")?;
                }
            }
        }
        if first {
            f.write_str("(nothing)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn path(s: &str) -> GuestPath {
        GuestPath::parse_str(s).unwrap()
    }

    #[test]
    fn deny_by_default() {
        let none = Grant::none();
        assert!(none.capabilities().is_empty());
        assert!(none.admit_path(Capability::FsRead, &path("/")).is_none());
        assert!(!none.admit_dial(&DialTarget::parse("ca.example.com:443").unwrap()));
        // Granted without scopes: imports link, calls are denied.
        let bare = Grant::new(&[Capability::FsWrite, Capability::NetDial]);
        assert!(bare.allows(Capability::FsWrite));
        assert!(bare
            .admit_path(Capability::FsWrite, &path("/data/x"))
            .is_none());
        assert!(!bare.admit_dial(&DialTarget::parse("ca.example.com:443").unwrap()));
    }

    #[test]
    fn prefixes_pick_the_longest_match_and_stay_per_capability() {
        let grant = Grant::none()
            .with_path_prefix(Capability::FsWrite, "/data")
            .unwrap()
            .with_path_prefix(Capability::FsWrite, "/data/certs/")
            .unwrap()
            .with_path_prefix(Capability::FsRead, "/zones")
            .unwrap();
        assert_eq!(
            grant.admit_path(Capability::FsWrite, &path("/data/certs/a.pem")),
            Some(&path("/data/certs"))
        );
        assert_eq!(
            grant.admit_path(Capability::FsWrite, &path("/data/x")),
            Some(&path("/data"))
        );
        assert!(grant
            .admit_path(Capability::FsWrite, &path("/data2/x"))
            .is_none());
        assert!(grant
            .admit_path(Capability::FsRead, &path("/data/x"))
            .is_none());
        assert!(grant
            .admit_path(Capability::FsWrite, &path("/zones/a"))
            .is_none());
        // The longest wins whatever the order the prefixes were granted in.
        let reversed = Grant::none()
            .with_path_prefix(Capability::FsWrite, "/data/certs")
            .unwrap()
            .with_path_prefix(Capability::FsWrite, "/")
            .unwrap()
            .with_path_prefix(Capability::FsWrite, "/data")
            .unwrap();
        for (p, scope) in [
            ("/data/certs/a.pem", "/data/certs"),
            ("/data/certs", "/data/certs"),
            ("/data/certsx", "/data"),
            ("/data", "/data"),
            ("/dat", "/"),
            ("/", "/"),
        ] {
            assert_eq!(
                reversed.admit_path(Capability::FsWrite, &path(p)),
                Some(&path(scope)),
                "{p}"
            );
        }
    }

    #[test]
    fn specs_parse_like_the_command_line() {
        let grant = Grant::none()
            .with_spec("fs.write=/data")
            .unwrap()
            .with_spec("net.dial=ca.example.com:443")
            .unwrap()
            .with_spec("process.exec=/usr/bin/true")
            .unwrap();
        assert_eq!(
            grant.to_string(),
            "fs.write=/data, net.dial=ca.example.com:443, process.exec=/usr/bin/true"
        );
        assert_eq!(Grant::none().with_spec("fs.write"), Err(GrantError::Spec));
        assert_eq!(
            Grant::none().with_spec("fs.exec=/x"),
            Err(GrantError::UnknownCapability)
        );
        assert_eq!(
            Grant::none().with_spec("fs.write=data"),
            Err(GrantError::Path(PathError::Relative))
        );
        assert!(matches!(
            Grant::none().with_spec("net.dial=/data"),
            Err(GrantError::Host(_))
        ));
        assert!(Grant::none().with_spec("net.dial=ca.example.com").is_err());
        // ASCII whitespace around the parts is ignored; anything else is part of the scope.
        assert_eq!(
            Grant::none()
                .with_spec(" fs.write =\t/data \n")
                .unwrap()
                .to_string(),
            "fs.write=/data"
        );
        assert_eq!(
            Grant::none().with_spec("fs.write=\u{a0}/data"),
            Err(GrantError::Path(PathError::Relative))
        );
        assert_eq!(
            Grant::none().with_path_prefix(Capability::NetDial, "/x"),
            Err(GrantError::WrongKind(Capability::NetDial))
        );
    }

    #[test]
    fn unrestricted_needs_the_loud_call() {
        let grant = Grant::none()
            .dangerous_allow_any_path(Capability::FsRead)
            .unwrap();
        assert!(grant
            .admit_path(Capability::FsRead, &path("/etc/passwd"))
            .is_some());
        assert!(grant.unrestricted().contains(Capability::FsRead));
        let any = Grant::none().dangerous_allow_any_host();
        assert!(any.admit_dial(&DialTarget::parse("anything.example:1").unwrap()));
        assert_eq!(
            Grant::none().dangerous_allow_any_path(Capability::NetDial),
            Err(GrantError::WrongKind(Capability::NetDial))
        );
    }

    #[test]
    fn writable_area_blocks_exec_under_and_above_write_prefixes() {
        let grant = Grant::none()
            .with_path_prefix(Capability::FsWrite, "/data/bin")
            .unwrap();
        assert!(grant.is_writable_area(&path("/data/bin/tool")));
        assert!(grant.is_writable_area(&path("/data")));
        assert!(!grant.is_writable_area(&path("/usr/bin/true")));
        assert!(!grant.is_writable_area(&path("/data/binaries")));
    }

    #[test]
    fn entries_are_bounded() {
        let mut grant = Grant::none();
        for i in 0..MAX_GRANT_ENTRIES {
            grant = grant
                .with_path_prefix(Capability::FsRead, &alloc::format!("/p{i}"))
                .unwrap();
        }
        assert_eq!(
            grant.with_path_prefix(Capability::FsRead, "/one-more"),
            Err(GrantError::TooManyEntries(Capability::FsRead))
        );
    }
}
