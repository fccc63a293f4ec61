//! The bulkhead: a host-wide cap on invocations running at once, lock-free and never waiting.

use core::sync::atomic::{AtomicUsize, Ordering};

use super::stats::HostStats;

/// At most `max` invocations at once; [`Pool::try_enter`] fails at once when full.
#[derive(Debug)]
pub(crate) struct Pool {
    max: usize,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    rejected: AtomicUsize,
}

/// A slot in the pool, given back on drop.
#[derive(Debug)]
pub(crate) struct Permit<'p> {
    pool: &'p Pool,
}

impl Pool {
    pub(crate) const fn new(max: usize) -> Pool {
        Pool {
            max,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            rejected: AtomicUsize::new(0),
        }
    }

    /// Takes a slot, or returns `None` (and counts the rejection) if all are taken.
    pub(crate) fn try_enter(&self) -> Option<Permit<'_>> {
        let taken = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            });
        match taken {
            Ok(previous) => {
                // A plain load first: the read-modify-write only when the peak moves.
                if previous + 1 > self.peak.load(Ordering::Relaxed) {
                    self.peak.fetch_max(previous + 1, Ordering::Relaxed);
                }
                Some(Permit { pool: self })
            }
            Err(_) => {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    pub(crate) fn stats(&self) -> HostStats {
        HostStats {
            in_flight: self.in_flight.load(Ordering::Acquire),
            peak_in_flight: self.peak.load(Ordering::Relaxed),
            rejected_busy: self.rejected.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.pool.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_when_full_and_frees_on_drop() {
        let pool = Pool::new(2);
        let a = pool.try_enter();
        let b = pool.try_enter();
        assert!(a.is_some() && b.is_some());
        assert!(pool.try_enter().is_none());
        drop(a);
        assert!(pool.try_enter().is_some());
        let stats = pool.stats();
        assert_eq!(
            (stats.in_flight, stats.peak_in_flight, stats.rejected_busy),
            (1, 2, 1)
        );
    }
}
