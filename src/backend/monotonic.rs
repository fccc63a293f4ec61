//! The monotonic clock the host measures blocked time with ([`Limits::blocking_time`]).
//!
//! [`Limits::blocking_time`]: crate::Limits::blocking_time

use core::time::Duration;

/// A clock that never goes backwards, read by the host before and after each blocking back-end
/// call to count the time an invocation spends blocked ([`Limits::blocking_time`]).
///
/// Not a time of day, and never shown to plugins. With the `std` feature [`InstantClock`] is the
/// default; firmware supplies one from a hardware timer (see `docs/limits.md`).
///
/// [`Limits::blocking_time`]: crate::Limits::blocking_time
pub trait MonotonicClock: Send + Sync {
    /// The time since a fixed, arbitrary origin (such as boot). Never decreases.
    fn now(&self) -> Duration;
}

/// A [`MonotonicClock`] reading [`std::time::Instant`].
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub struct InstantClock {
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl InstantClock {
    /// A clock whose origin is now.
    #[must_use]
    pub fn new() -> Self {
        InstantClock {
            origin: std::time::Instant::now(),
        }
    }
}

#[cfg(feature = "std")]
impl Default for InstantClock {
    fn default() -> Self {
        InstantClock::new()
    }
}

#[cfg(feature = "std")]
impl MonotonicClock for InstantClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}
