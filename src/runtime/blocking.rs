//! The wall-clock budget one invocation has for time spent blocked in back-end calls
//! ([`Limits::blocking_time`](crate::Limits)).

// Only the gated host functions block (none without a `cap-*` feature).
#![cfg_attr(
    not(any(feature = "cap-fs", feature = "cap-net", feature = "cap-process")),
    allow(dead_code)
)]

use alloc::sync::Arc;
use core::time::Duration;

use crate::abi::CallFault;
use crate::backend::{BackendError, MonotonicClock};

/// A back-end call that times out within this much of the time it was given (1 ms, in
/// nanoseconds) is taken to have used all of it: timers round, and a call given the last of the
/// budget must spend it.
const TIMER_SLACK_NANOS: u64 = 1_000_000;

/// `duration` in nanoseconds, saturating at `u64::MAX` (584 years).
///
/// The budget counts in `u64` nanoseconds: `Duration`'s saturating arithmetic carries seconds and
/// nanoseconds separately, with more code on a device for no gain here.
fn nanos(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(duration.subsec_nanos()))
}

/// What is left of an invocation's blocking time, and the clock that measures it.
pub(crate) struct BlockingBudget {
    /// The invocation's blocking time, in nanoseconds.
    limit: u64,
    /// The time spent so far, in nanoseconds.
    spent: u64,
    clock: Option<Arc<dyn MonotonicClock>>,
}

impl BlockingBudget {
    pub(crate) fn new(limit: Duration, clock: Option<Arc<dyn MonotonicClock>>) -> BlockingBudget {
        BlockingBudget {
            limit: nanos(limit),
            spent: 0,
            clock,
        }
    }

    /// Starts afresh (a new invocation).
    pub(crate) fn reset(&mut self) {
        self.spent = 0;
    }

    /// Runs one back-end call that may block, giving it what is left of the budget as its
    /// timeout, and counts the time it took: measured with the clock, or, without one, all it
    /// was given if it timed out (and nothing otherwise).
    ///
    /// # Errors
    /// [`CallFault::TimedOut`] if the budget was spent before the call (which is then not made)
    /// or by it (its result is dropped).
    pub(crate) fn run<R>(
        &mut self,
        call: impl FnOnce(Duration) -> Result<R, BackendError>,
    ) -> Result<Result<R, BackendError>, CallFault> {
        let remaining = self.limit.saturating_sub(self.spent);
        if remaining == 0 {
            return Err(CallFault::TimedOut);
        }
        let started = self.clock.as_deref().map(|clock| nanos(clock.now()));
        let result = call(Duration::from_nanos(remaining));
        let timed_out = matches!(result, Err(BackendError::TimedOut));
        let used = match (self.clock.as_deref(), started) {
            (Some(clock), Some(started)) => {
                let elapsed = nanos(clock.now()).saturating_sub(started);
                if timed_out && elapsed.saturating_add(TIMER_SLACK_NANOS) >= remaining {
                    remaining
                } else {
                    elapsed
                }
            }
            _ if timed_out => remaining,
            _ => 0,
        };
        self.spent = self.spent.saturating_add(used);
        if self.spent >= self.limit {
            Err(CallFault::TimedOut)
        } else {
            Ok(result)
        }
    }

    /// Runs one back-end call that cannot block (see `Filesystem::may_block`): refused like any
    /// other once the budget is spent, but not measured (no clock reads). A timeout it reports
    /// still spends the whole budget, as a timeout does without a clock.
    ///
    /// # Errors
    /// [`CallFault::TimedOut`] if the budget was spent before the call (which is then not made)
    /// or the call timed out.
    // Only filesystem calls are unmeasured.
    #[cfg_attr(not(feature = "cap-fs"), allow(dead_code))]
    pub(crate) fn run_unmeasured<R>(
        &mut self,
        call: impl FnOnce() -> Result<R, BackendError>,
    ) -> Result<Result<R, BackendError>, CallFault> {
        if self.spent >= self.limit {
            return Err(CallFault::TimedOut);
        }
        let result = call();
        if matches!(result, Err(BackendError::TimedOut)) {
            self.spent = self.limit;
            return Err(CallFault::TimedOut);
        }
        Ok(result)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use core::sync::atomic::{AtomicU64, Ordering};

    /// A clock that advances only when told to.
    #[derive(Default)]
    struct Manual(AtomicU64);

    impl Manual {
        fn advance(&self, millis: u64) {
            self.0.fetch_add(millis, Ordering::SeqCst);
        }
    }

    impl MonotonicClock for Manual {
        fn now(&self) -> Duration {
            Duration::from_millis(self.0.load(Ordering::SeqCst))
        }
    }

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn with_a_clock_measured_time_is_counted_until_the_budget_is_spent() {
        let clock = Arc::new(Manual::default());
        let mut budget = BlockingBudget::new(ms(100), Some(clock.clone()));
        let mut given = Vec::new();
        let mut call = |took: u64, result: Result<u8, BackendError>| {
            budget.run(|timeout| {
                given.push(timeout);
                clock.advance(took);
                result
            })
        };
        assert_eq!(call(30, Ok(1)), Ok(Ok(1)));
        // A back-end's own, shorter deadline: the guest sees it, the invocation goes on.
        assert_eq!(
            call(20, Err(BackendError::TimedOut)),
            Ok(Err(BackendError::TimedOut))
        );
        // A call that takes the rest ends the invocation, whatever it returned.
        assert_eq!(call(50, Ok(2)), Err(CallFault::TimedOut));
        assert_eq!(given, [ms(100), ms(70), ms(50)]);
        // Nothing more is called once spent; a new invocation starts afresh.
        assert_eq!(
            budget.run(|_| -> Result<u8, _> { panic!("called") }),
            Err(CallFault::TimedOut)
        );
        budget.reset();
        assert_eq!(budget.run(Ok::<_, BackendError>), Ok(Ok(ms(100))));
    }

    #[test]
    fn a_timeout_a_hair_early_still_spends_the_budget() {
        let clock = Arc::new(Manual::default());
        let mut budget = BlockingBudget::new(ms(100), Some(clock.clone()));
        let result = budget.run(|_| -> Result<(), _> {
            clock.advance(99);
            Err(BackendError::TimedOut)
        });
        assert_eq!(result, Err(CallFault::TimedOut));
    }

    #[test]
    fn without_a_clock_only_a_timeout_spends_the_budget() {
        let mut budget = BlockingBudget::new(ms(100), None);
        for _ in 0..1_000 {
            assert_eq!(budget.run(Ok::<_, BackendError>), Ok(Ok(ms(100))));
        }
        assert_eq!(
            budget.run(|_| Err::<(), _>(BackendError::Io)),
            Ok(Err(BackendError::Io))
        );
        assert_eq!(
            budget.run(|_| Err::<(), _>(BackendError::TimedOut)),
            Err(CallFault::TimedOut)
        );
    }

    #[test]
    fn extreme_durations_saturate_instead_of_wrapping() {
        assert_eq!(nanos(Duration::MAX), u64::MAX);
        assert_eq!(nanos(Duration::new(3, 5)), 3_000_000_005);
        // A limit past what u64 nanoseconds hold is 584 years; time measured past it spends it.
        let clock = Arc::new(Manual::default());
        let mut budget = BlockingBudget::new(Duration::MAX, Some(clock.clone()));
        assert_eq!(
            budget.run(Ok::<_, BackendError>),
            Ok(Ok(Duration::from_nanos(u64::MAX)))
        );
        assert_eq!(
            budget.run(|_| {
                clock.advance(u64::MAX / 1_000_000 + 1);
                Ok::<_, BackendError>(())
            }),
            Err(CallFault::TimedOut)
        );
    }

    #[test]
    fn a_zero_budget_allows_no_blocking_call() {
        let mut budget = BlockingBudget::new(Duration::ZERO, None);
        assert_eq!(
            budget.run(|_| -> Result<(), _> { panic!("called") }),
            Err(CallFault::TimedOut)
        );
        assert_eq!(
            budget.run_unmeasured(|| -> Result<(), _> { panic!("called") }),
            Err(CallFault::TimedOut)
        );
    }

    #[test]
    fn unmeasured_calls_read_no_clock_but_are_refused_once_the_budget_is_spent() {
        let clock = Arc::new(Manual::default());
        let mut budget = BlockingBudget::new(ms(100), Some(clock.clone()));
        for _ in 0..1_000 {
            // However long the call took, it is not counted.
            let took = budget.run_unmeasured(|| {
                clock.advance(1_000);
                Ok::<_, BackendError>(7)
            });
            assert_eq!(took, Ok(Ok(7)));
        }
        assert_eq!(
            budget.run_unmeasured(|| Err::<(), _>(BackendError::Io)),
            Ok(Err(BackendError::Io))
        );
        // A measured call still counts its own time, and spends the budget.
        assert_eq!(
            budget.run(|_| {
                clock.advance(100);
                Ok::<_, BackendError>(())
            }),
            Err(CallFault::TimedOut)
        );
        assert_eq!(
            budget.run_unmeasured(|| -> Result<(), _> { panic!("called") }),
            Err(CallFault::TimedOut)
        );
        // A timeout reported by an unmeasured call spends what was left.
        budget.reset();
        assert_eq!(
            budget.run_unmeasured(|| Err::<(), _>(BackendError::TimedOut)),
            Err(CallFault::TimedOut)
        );
        assert_eq!(
            budget.run_unmeasured(|| -> Result<(), _> { panic!("called") }),
            Err(CallFault::TimedOut)
        );
    }
}
