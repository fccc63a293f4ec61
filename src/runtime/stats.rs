//! Counters: per plugin (invocations, fuel, traps, allowed and denied calls per capability) and
//! per host (the invocation pool).

use core::fmt;

use crate::capability::Capability;

/// Allowed and denied gated calls, per capability.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CallCounts {
    allowed: [u64; 4],
    denied: [u64; 4],
}

impl CallCounts {
    /// Gated calls of `capability` the grant admitted.
    pub fn allowed(&self, capability: Capability) -> u64 {
        self.allowed.get(capability.index()).copied().unwrap_or(0)
    }

    /// Gated calls of `capability` that were refused (by the grant, a prefix, or the back-end's
    /// own scope check).
    pub fn denied(&self, capability: Capability) -> u64 {
        self.denied.get(capability.index()).copied().unwrap_or(0)
    }

    /// All denied calls.
    pub fn total_denied(&self) -> u64 {
        self.denied.iter().sum()
    }

    /// All allowed calls.
    pub fn total_allowed(&self) -> u64 {
        self.allowed.iter().sum()
    }

    pub(crate) fn record(&mut self, capability: Capability, allowed: bool) {
        let counters = if allowed {
            &mut self.allowed
        } else {
            &mut self.denied
        };
        if let Some(count) = counters.get_mut(capability.index()) {
            *count = count.saturating_add(1);
        }
    }

    /// Turns one call counted as allowed into a denial (the back-end refused it).
    pub(crate) fn revoke(&mut self, capability: Capability) {
        if let Some(count) = self.allowed.get_mut(capability.index()) {
            *count = count.saturating_sub(1);
        }
        self.record(capability, false);
    }

    /// The difference `self - earlier`, for counts of one invocation.
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        let mut out = CallCounts::default();
        for i in 0..4 {
            if let (Some(o), Some(a), Some(b)) = (
                out.allowed.get_mut(i),
                self.allowed.get(i),
                earlier.allowed.get(i),
            ) {
                *o = a.saturating_sub(*b);
            }
            if let (Some(o), Some(a), Some(b)) = (
                out.denied.get_mut(i),
                self.denied.get(i),
                earlier.denied.get(i),
            ) {
                *o = a.saturating_sub(*b);
            }
        }
        out
    }
}

impl fmt::Display for CallCounts {
    /// e.g. `fs.write 2/0, net.dial 0/1` (allowed/denied), only capabilities with calls.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for cap in Capability::ALL {
            let (a, d) = (self.allowed(cap), self.denied(cap));
            if a == 0 && d == 0 {
                continue;
            }
            if !core::mem::take(&mut first) {
                f.write_str(", ")?;
            }
            write!(f, "{cap} {a}/{d}")?;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// What a plugin has done since it was loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PluginStats {
    /// Invocations started.
    pub invocations: u64,
    /// Invocations that returned (any status).
    pub completed: u64,
    /// Fuel consumed by all invocations and instantiations.
    pub fuel_used: u64,
    /// Fuel consumed by the last invocation.
    pub last_fuel_used: u64,
    /// Invocations that trapped (not counting fuel exhaustion).
    pub traps: u64,
    /// Invocations stopped by the fuel budget.
    pub fuel_exhausted: u64,
    /// Invocations stopped because they spent their blocking time
    /// ([`Limits::blocking_time`](crate::Limits)).
    pub timeouts: u64,
    /// Times the instance was rebuilt from its compiled module after a fault.
    pub rebuilds: u64,
    /// Allowed and denied gated calls per capability.
    pub calls: CallCounts,
    /// Host calls refused with a code other than `DENIED` (`INVALID`, `LIMIT`, `NOT_FOUND`,
    /// `IO`, `BAD_HANDLE`), gated or not.
    pub refused: u64,
}

/// What a host's invocation pool has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HostStats {
    /// Invocations running now.
    pub in_flight: usize,
    /// The most invocations that ran at once.
    pub peak_in_flight: usize,
    /// Invocations rejected with `Busy` because the pool was full.
    pub rejected_busy: usize,
}

/// Denied calls per import: which host functions a plugin tried and was refused.
///
/// Bounded by the size of the capability table (one entry per gated import).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DenialLog {
    entries: heapless::Vec<Denial, 16>,
}

/// Denied calls of one import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Denial {
    /// The capability the import needs.
    pub capability: Capability,
    /// The import's name in the `pluginhost` module.
    pub import: &'static str,
    /// How many calls were denied.
    pub count: u64,
}

impl DenialLog {
    pub(crate) fn record(&mut self, capability: Capability, import: &'static str) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.import == import) {
            entry.count = entry.count.saturating_add(1);
        } else {
            // The table has fewer than 16 gated imports, so this never drops an entry.
            let _ = self.entries.push(Denial {
                capability,
                import,
                count: 1,
            });
        }
    }

    /// Every import with at least one denied call, in first-denied order.
    pub fn iter(&self) -> impl Iterator<Item = &Denial> {
        self.entries.iter()
    }

    /// Whether nothing was denied.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
