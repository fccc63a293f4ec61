//! Counters: per plugin (invocations, fuel, traps, allowed and denied calls per capability) and
//! per host (the invocation pool).

use core::fmt::{self, Write as _};

use crate::capability::Capability;

/// Allowed and denied gated calls, per capability.
///
/// `Debug` and `Display` name each capability: `fs.write 2/0, net.dial 0/1` (allowed/denied).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
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

    #[inline]
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

impl fmt::Debug for CallCounts {
    /// `CallCounts { fs.read: 0/0, fs.write: 2/0, net.dial: 0/1, process.exec: 0/0 }`
    /// (allowed/denied).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Pair(u64, u64);
        impl fmt::Debug for Pair {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}/{}", self.0, self.1)
            }
        }
        let mut out = f.debug_struct("CallCounts");
        for cap in Capability::ALL {
            out.field(cap.name(), &Pair(self.allowed(cap), self.denied(cap)));
        }
        out.finish()
    }
}

/// What a plugin has done since it was loaded.
///
/// `Display` gives one line for people, e.g. `2 invocations (2 completed, 0 trapped, 0 out of
/// fuel, 0 rebuilds), 15,024 fuel (last 7,512), calls fs.write 2/1 (allowed/denied), 0 refused`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
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
    /// Times the module was loaded again for an invocation after
    /// `Residency::Transient` released it.
    pub reloads: u64,
    /// Allowed and denied gated calls per capability.
    pub calls: CallCounts,
    /// Host calls refused with a code other than `DENIED` (`INVALID`, `LIMIT`, `NOT_FOUND`,
    /// `IO`, `BAD_HANDLE`), gated or not.
    pub refused: u64,
}

/// `1234567` as `1,234,567`.
pub(crate) struct Grouped(pub(crate) u64);

impl fmt::Display for Grouped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut digits = [0u8; 20];
        let mut n = self.0;
        let mut len = 0;
        loop {
            if let Some(slot) = digits.get_mut(len) {
                // n % 10 < 10: fits in a u8.
                *slot = b'0' + u8::try_from(n % 10).unwrap_or(0);
            }
            len += 1;
            n /= 10;
            if n == 0 || len == digits.len() {
                break;
            }
        }
        for i in (0..len).rev() {
            let digit = digits.get(i).copied().unwrap_or(b'0');
            f.write_char(char::from(digit))?;
            if i > 0 && i % 3 == 0 {
                f.write_str(",")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for PluginStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} invocations ({} completed, {} trapped, {} out of fuel, {} rebuilds), {} fuel (last {}), calls {} (allowed/denied), {} refused",
            self.invocations,
            self.completed,
            self.traps,
            self.fuel_exhausted,
            self.rebuilds,
            Grouped(self.fuel_used),
            Grouped(self.last_fuel_used),
            self.calls,
            self.refused
        )
    }
}

/// What one invocation consumed ([`Plugin::usage`](crate::Plugin::usage)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Usage {
    /// Fuel the invocation used.
    pub fuel_used: u64,
    /// The plugin's fuel budget per invocation.
    pub fuel_budget: u64,
    /// Whether the invocation was stopped by its fuel budget.
    pub fuel_exhausted: bool,
    /// The size of linear memory at the end, in bytes: its peak, since memory never shrinks.
    pub memory_bytes: usize,
    /// `memory.grow` requests the host's memory limit refused. (A request past what the memory
    /// can hold at all, 4 GiB or the module's own maximum, fails in the interpreter before the
    /// host is asked, and is not counted.)
    pub memory_grows_refused: u64,
    /// `table.grow` requests the table limit refused.
    pub table_grows_refused: u64,
    /// Bytes written with `output_write`.
    pub output_bytes: usize,
    /// `output_write` calls refused with `LIMIT` (over `Limits::output_bytes`).
    pub output_refused: u64,
    /// Bytes written with `log`.
    pub log_bytes: usize,
    /// `log` calls refused with `LIMIT` (over `Limits::log_bytes` or `log_message_bytes`).
    pub log_refused: u64,
}

impl Usage {
    /// Whether any limit refused something or ran out.
    pub fn hit_a_limit(&self) -> bool {
        self.fuel_exhausted
            || self.memory_grows_refused > 0
            || self.table_grows_refused > 0
            || self.output_refused > 0
            || self.log_refused > 0
    }
}

/// What a host's invocation pool has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct HostStats {
    /// Invocations running now.
    pub in_flight: usize,
    /// The most invocations that ran at once.
    pub peak_in_flight: usize,
    /// Invocations rejected with `Busy` because the pool was full.
    pub rejected_busy: usize,
}

impl fmt::Display for HostStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} in flight (peak {}), {} rejected busy",
            self.in_flight, self.peak_in_flight, self.rejected_busy
        )
    }
}

/// The longest target a [`DenialLog`] keeps, in bytes; longer ones are cut at a character
/// boundary and marked [`DeniedTarget::truncated`].
pub const DENIED_TARGET_BYTES: usize = 80;

/// The most distinct (import, target) pairs a [`DenialLog`] keeps; denials of further targets
/// are still counted per import and in [`DenialLog::unrecorded`].
pub const DENIED_TARGETS: usize = 8;

/// Which calls a plugin tried and was refused: counts per import, and the first
/// [`DENIED_TARGETS`] distinct targets (path, `host:port` or program), each cut to
/// [`DENIED_TARGET_BYTES`].
///
/// Fixed size, allocated at the first denial (about 1.3 KiB on a 32-bit target), so a plugin
/// that is never refused does not hold it; recording any later denial never allocates. Should
/// that one allocation fail, denials are still counted per capability ([`CallCounts`]) and in
/// [`DenialLog::unrecorded`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DenialLog {
    /// Empty until the first denial, then exactly one record.
    recorded: alloc::vec::Vec<DenialRecord>,
    unrecorded: u64,
}

/// What a [`DenialLog`] keeps once something was denied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct DenialRecord {
    entries: heapless::Vec<Denial, 16>,
    targets: heapless::Vec<DeniedTarget, DENIED_TARGETS>,
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

/// Denied calls of one import on one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeniedTarget {
    /// The capability the import needs.
    pub capability: Capability,
    /// The import's name in the `pluginhost` module.
    pub import: &'static str,
    target: heapless::String<DENIED_TARGET_BYTES>,
    /// Whether the target was longer than [`DENIED_TARGET_BYTES`] and was cut.
    pub truncated: bool,
    /// How many calls on this target were denied.
    pub count: u64,
}

impl DeniedTarget {
    /// What was refused: the normalised path (or the guest's bytes, lossily decoded, when the
    /// call was refused before its path was read), `host:port`, or the program; empty when the
    /// call names no target (`net_send` on a connection without the capability).
    pub fn target(&self) -> &str {
        &self.target
    }
}

impl fmt::Display for DeniedTarget {
    /// e.g. `fs.write /etc/passwd` or `net.dial evil.example:443 (3 times)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.capability)?;
        if !self.target.is_empty() {
            write!(f, " {}", self.target)?;
            if self.truncated {
                f.write_str("...")?;
            }
        } else {
            write!(f, " ({})", self.import)?;
        }
        if self.count > 1 {
            write!(f, " ({} times)", self.count)?;
        }
        Ok(())
    }
}

/// A target being recorded: text the host already checked, or bytes from guest memory.
#[derive(Clone, Copy)]
#[cfg_attr(
    not(all(feature = "cap-fs", feature = "cap-net", feature = "cap-process")),
    allow(dead_code)
)]
pub(crate) enum Target<'a> {
    /// No target.
    None,
    /// A path, program or host as text.
    Text(&'a str),
    /// Guest bytes that may not be UTF-8.
    Bytes(&'a [u8]),
    /// A host and a port.
    Dial(&'a [u8], u32),
}

/// Appends `text` to `out`, cut at a character boundary; returns whether all of it fit.
fn push_cut<const N: usize>(out: &mut heapless::String<N>, text: &str) -> bool {
    for c in text.chars() {
        let c = if c.is_control() { '?' } else { c };
        if out.push(c).is_err() {
            return false;
        }
    }
    true
}

/// Appends the UTF-8 prefix of `bytes` (invalid sequences as U+FFFD), cut to fit.
fn push_lossy<const N: usize>(out: &mut heapless::String<N>, mut bytes: &[u8]) -> bool {
    loop {
        match core::str::from_utf8(bytes) {
            Ok(text) => return push_cut(out, text),
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                // `valid` is UTF-8 by construction.
                if !push_cut(out, core::str::from_utf8(valid).unwrap_or("")) {
                    return false;
                }
                if out.push('\u{fffd}').is_err() {
                    return false;
                }
                let skip = e.error_len().unwrap_or(rest.len()).max(1);
                bytes = rest.get(skip..).unwrap_or(&[]);
                if bytes.is_empty() {
                    return true;
                }
            }
        }
    }
}

impl Target<'_> {
    /// Writes the target into `out` (cleared first); returns whether all of it fit.
    fn write_into<const N: usize>(self, out: &mut heapless::String<N>) -> bool {
        out.clear();
        match self {
            Target::None => true,
            Target::Text(text) => push_cut(out, text),
            Target::Bytes(bytes) => push_lossy(out, bytes),
            Target::Dial(host, port) => {
                let mut digits: heapless::String<11> = heapless::String::new();
                let _ = fmt::Write::write_fmt(&mut digits, format_args!(":{port}"));
                push_lossy(out, host) && push_cut(out, &digits)
            }
        }
    }
}

impl DenialLog {
    pub(crate) fn record(
        &mut self,
        capability: Capability,
        import: &'static str,
        target: Target<'_>,
    ) {
        if self.recorded.is_empty() {
            if self.recorded.try_reserve_exact(1).is_err() {
                self.unrecorded = self.unrecorded.saturating_add(1);
                return;
            }
            self.recorded.push(DenialRecord::default());
        }
        let Some(record) = self.recorded.first_mut() else {
            return;
        };
        if let Some(entry) = record.entries.iter_mut().find(|e| e.import == import) {
            entry.count = entry.count.saturating_add(1);
        } else {
            // The table has fewer than 16 gated imports, so this never drops an entry.
            let _ = record.entries.push(Denial {
                capability,
                import,
                count: 1,
            });
        }
        let mut text = heapless::String::new();
        let whole = target.write_into(&mut text);
        if let Some(known) = record
            .targets
            .iter_mut()
            .find(|t| t.import == import && t.target == text)
        {
            known.count = known.count.saturating_add(1);
            return;
        }
        let entry = DeniedTarget {
            capability,
            import,
            target: text,
            truncated: !whole,
            count: 1,
        };
        if record.targets.push(entry).is_err() {
            self.unrecorded = self.unrecorded.saturating_add(1);
        }
    }

    /// Every import with at least one denied call, in first-denied order.
    pub fn iter(&self) -> impl Iterator<Item = &Denial> {
        self.recorded
            .first()
            .map_or(&[][..], |record| &record.entries[..])
            .iter()
    }

    /// The first [`DENIED_TARGETS`] distinct targets refused, in first-denied order.
    pub fn targets(&self) -> impl Iterator<Item = &DeniedTarget> {
        self.recorded
            .first()
            .map_or(&[][..], |record| &record.targets[..])
            .iter()
    }

    /// Denied calls whose target was not kept because [`DENIED_TARGETS`] others were.
    pub fn unrecorded(&self) -> u64 {
        self.unrecorded
    }

    /// Whether nothing was denied.
    pub fn is_empty(&self) -> bool {
        self.recorded.is_empty() && self.unrecorded == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denial_log_allocates_at_its_first_denial_only() {
        let mut log = DenialLog::default();
        assert!(log.is_empty());
        assert_eq!(log.recorded.capacity(), 0, "nothing held before a denial");
        log.record(Capability::FsWrite, "fs_write", Target::Text("/etc/passwd"));
        assert_eq!(log.recorded.capacity(), 1);
        for i in 0..20u32 {
            log.record(
                Capability::NetDial,
                "net_dial",
                Target::Dial(b"evil.example", i),
            );
        }
        assert_eq!(log.recorded.capacity(), 1, "later denials never allocate");
        assert!(!log.is_empty());
        assert_eq!(
            log.iter().map(|d| d.count).collect::<alloc::vec::Vec<_>>(),
            [1, 20]
        );
        assert_eq!(log.targets().count(), DENIED_TARGETS);
        assert_eq!(log.unrecorded(), 21 - DENIED_TARGETS as u64);
    }
}
