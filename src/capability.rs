//! The four privileged capabilities a grant can hold.

use core::fmt;
use core::str::FromStr;

/// A privileged capability a plugin can be granted.
///
/// Written `fs.read`, `fs.write`, `net.dial` and `process.exec` wherever a person reads or types it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Capability {
    /// Read files under granted path prefixes (`fs.read`).
    FsRead,
    /// Create, overwrite and rename files under granted path prefixes (`fs.write`).
    FsWrite,
    /// Open TCP connections to granted `host:port` entries (`net.dial`).
    NetDial,
    /// Run granted programs with an argument vector (`process.exec`).
    ProcessExec,
}

impl Capability {
    /// Every capability, in table order.
    pub const ALL: [Capability; 4] = [
        Capability::FsRead,
        Capability::FsWrite,
        Capability::NetDial,
        Capability::ProcessExec,
    ];

    /// The name a person reads and types: `fs.read`, `fs.write`, `net.dial`, `process.exec`.
    pub const fn name(self) -> &'static str {
        match self {
            Capability::FsRead => "fs.read",
            Capability::FsWrite => "fs.write",
            Capability::NetDial => "net.dial",
            Capability::ProcessExec => "process.exec",
        }
    }

    /// A dense index in `0..4`, for per-capability counters.
    pub const fn index(self) -> usize {
        match self {
            Capability::FsRead => 0,
            Capability::FsWrite => 1,
            Capability::NetDial => 2,
            Capability::ProcessExec => 3,
        }
    }

    /// Whether this capability is narrowed by path prefixes (as opposed to `host:port` entries).
    pub const fn takes_paths(self) -> bool {
        !matches!(self, Capability::NetDial)
    }

    const fn bit(self) -> u8 {
        1 << self.index()
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The text was not one of `fs.read`, `fs.write`, `net.dial`, `process.exec`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UnknownCapability;

impl fmt::Display for UnknownCapability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown capability (expected fs.read, fs.write, net.dial or process.exec)")
    }
}

impl core::error::Error for UnknownCapability {}

impl FromStr for Capability {
    type Err = UnknownCapability;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or(UnknownCapability)
    }
}

/// A set of capabilities, stored as bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CapabilitySet(u8);

impl CapabilitySet {
    /// The empty set.
    pub const fn empty() -> Self {
        CapabilitySet(0)
    }

    /// Whether `cap` is in the set.
    pub const fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bit() != 0
    }

    /// The set with `cap` added.
    #[must_use]
    pub const fn with(self, cap: Capability) -> Self {
        CapabilitySet(self.0 | cap.bit())
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The capabilities in the set, in table order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }
}

impl FromIterator<Capability> for CapabilitySet {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        iter.into_iter()
            .fold(CapabilitySet::empty(), CapabilitySet::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for cap in Capability::ALL {
            assert_eq!(cap.name().parse::<Capability>(), Ok(cap));
        }
        assert_eq!("fs.Read".parse::<Capability>(), Err(UnknownCapability));
        assert_eq!("".parse::<Capability>(), Err(UnknownCapability));
    }

    #[test]
    fn set_operations() {
        let set: CapabilitySet = [Capability::FsWrite, Capability::NetDial]
            .into_iter()
            .collect();
        assert!(set.contains(Capability::FsWrite));
        assert!(!set.contains(Capability::FsRead));
        assert_eq!(set.iter().count(), 2);
        assert!(CapabilitySet::empty().is_empty());
    }
}
