//! The OS's entropy and wall clock (`std`).

use std::time::{SystemTime, UNIX_EPOCH};

use super::{BackendError, EntropySource, WallClock};

/// Random bytes from the operating system's generator (`getrandom(2)` on Linux, the platform's
/// equivalent elsewhere), through the `getrandom` crate.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsEntropy;

impl EntropySource for OsEntropy {
    fn fill(&self, dst: &mut [u8]) -> Result<(), BackendError> {
        getrandom::fill(dst).map_err(|_| BackendError::Io)
    }
}

/// The system's wall clock ([`SystemTime`]), in whole seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn unix_seconds(&self) -> Result<i64, BackendError> {
        let seconds = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()),
            // Before the epoch: whole seconds, rounded towards the past.
            Err(before) => {
                let d = before.duration();
                i64::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).map(|s| -s)
            }
        };
        seconds.map_err(|_| BackendError::Io)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn os_entropy_fills_and_differs() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        OsEntropy.fill(&mut a).unwrap();
        OsEntropy.fill(&mut b).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
        OsEntropy.fill(&mut []).unwrap();
    }

    #[test]
    fn system_clock_is_after_2024() {
        // 2024-01-01T00:00:00Z
        assert!(SystemClock.unix_seconds().unwrap() > 1_704_067_200);
    }
}
