//! One invocation in progress, run to completion or in bounded fuel slices.

use alloc::vec::Vec;

use wasmi::{TypedFunc, TypedResumableCall, TypedResumableCallOutOfFuel};

use super::error::InvokeError;
use super::fault::{classify, Fault};
use super::plugin::Plugin;
use super::pool::Permit;
use super::state::slice_charged;

/// A finished invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The status the entry returned (`0` is success by the ABI's convention).
    pub status: i32,
    /// What the plugin wrote with `output_write`.
    pub output: Vec<u8>,
    /// Fuel the invocation consumed, host calls included.
    pub fuel_used: u64,
}

/// The result of one [`Call::resume`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The entry returned.
    Done(Completion),
    /// The slice's fuel ran out; resume to continue.
    Paused,
}

enum Progress {
    Ready(TypedFunc<(), i32>),
    Paused(TypedResumableCallOutOfFuel<i32>),
    Done,
}

/// An invocation started by [`Host::start`](crate::Host::start), advanced in fuel slices.
///
/// The invocation's total budget applies across slices. Dropping a call that has not finished
/// discards the plugin's instance (its state may be torn); the next invocation rebuilds it.
/// The call holds a slot of the host's invocation pool until it finishes or is dropped.
pub struct Call<'a> {
    plugin: &'a mut Plugin,
    _permit: Permit<'a>,
    progress: Progress,
    budget: u64,
    used: u64,
    required: u64,
}

impl<'a> Call<'a> {
    pub(crate) fn new(
        plugin: &'a mut Plugin,
        permit: Permit<'a>,
        entry: TypedFunc<(), i32>,
    ) -> Call<'a> {
        let budget = plugin.fuel_budget;
        Call {
            plugin,
            _permit: permit,
            progress: Progress::Ready(entry),
            budget,
            used: 0,
            required: 0,
        }
    }

    /// Fuel consumed so far.
    pub fn fuel_used(&self) -> u64 {
        self.used
    }

    /// Fuel left in the invocation's budget.
    pub fn fuel_remaining(&self) -> u64 {
        self.budget - self.used
    }

    /// Runs the invocation for at most `slice_fuel` more fuel (at least what the next basic
    /// block needs, so every slice makes progress), never past the total budget.
    ///
    /// # Errors
    /// [`InvokeError::FuelExhausted`] when the total budget is spent, [`InvokeError::TimedOut`]
    /// when the blocking time is, [`InvokeError::Trap`] on a trap (all three discard the
    /// instance), [`InvokeError::Finished`] if the call already ended.
    pub fn resume(&mut self, slice_fuel: u64) -> Result<Step, InvokeError> {
        let progress = core::mem::replace(&mut self.progress, Progress::Done);
        if matches!(progress, Progress::Done) {
            return Err(InvokeError::Finished);
        }
        let remaining = self.budget - self.used;
        if self.required > remaining || remaining == 0 {
            return Err(self.fail(Fault::FuelExhausted));
        }
        let given = slice_fuel.max(self.required).max(1).min(remaining);
        let store = &mut self.plugin.store;
        store.data_mut().fuel.begin_slice(given, remaining);
        if let Err(e) = store.set_fuel(given) {
            return Err(self.fail(Fault::Other(super::error::text(&e))));
        }
        let result = match progress {
            Progress::Ready(entry) => entry.call_resumable(&mut *store, ()),
            Progress::Paused(invocation) => invocation.resume(&mut *store),
            Progress::Done => return Err(InvokeError::Finished),
        };
        let used = self.used.saturating_add(slice_charged(store));
        self.used = used.min(self.budget);
        match result {
            Ok(TypedResumableCall::Finished(_)) if used > self.budget => {
                Err(self.fail(Fault::FuelExhausted))
            }
            Ok(TypedResumableCall::Finished(status)) => Ok(Step::Done(self.complete(status))),
            Ok(TypedResumableCall::OutOfFuel(invocation)) => {
                self.required = invocation.required_fuel();
                if self.required > self.budget - self.used {
                    // Ended before `fail`, which can then drop the code it ran in.
                    drop(invocation);
                    return Err(self.fail(Fault::FuelExhausted));
                }
                self.progress = Progress::Paused(invocation);
                Ok(Step::Paused)
            }
            Ok(TypedResumableCall::HostTrap(invocation)) => {
                let fault = classify(invocation.host_error());
                drop(invocation);
                Err(self.fail(fault))
            }
            Err(error) => {
                let fault = classify(&error);
                Err(self.fail(fault))
            }
        }
    }

    /// Runs the invocation to the end of its budget.
    ///
    /// # Errors
    /// As [`Call::resume`].
    pub fn finish(mut self) -> Result<Completion, InvokeError> {
        if let Progress::Ready(entry) = &self.progress {
            // Not started: run it in one go, without the bookkeeping of a resumable call. With
            // the whole remaining budget in one slice no host call can fall into debt, so the
            // outcome and fuel are exactly those of `resume(u64::MAX)`.
            let entry = *entry;
            self.progress = Progress::Done;
            return self.run_uninterrupted(entry);
        }
        loop {
            if let Step::Done(completion) = self.resume(u64::MAX)? {
                return Ok(completion);
            }
        }
    }

    fn run_uninterrupted(&mut self, entry: TypedFunc<(), i32>) -> Result<Completion, InvokeError> {
        let budget = self.budget;
        let store = &mut self.plugin.store;
        store.data_mut().fuel.begin_slice(budget, budget);
        if let Err(e) = store.set_fuel(budget) {
            return Err(self.fail(Fault::Other(super::error::text(&e))));
        }
        let result = entry.call(&mut *store, ());
        let used = slice_charged(store);
        self.used = used.min(budget);
        match result {
            Ok(_) if used > budget => Err(self.fail(Fault::FuelExhausted)),
            Ok(status) => Ok(self.complete(status)),
            Err(error) => {
                let fault = classify(&error);
                Err(self.fail(fault))
            }
        }
    }

    fn complete(&mut self, status: i32) -> Completion {
        let output = self.plugin.store.data_mut().end_invocation();
        // A transient plugin lets go of its engine, code included: nothing left to scan then.
        self.plugin.release();
        self.plugin.forget_translated_code();
        let stats = &mut self.plugin.stats;
        stats.completed += 1;
        stats.fuel_used = stats.fuel_used.saturating_add(self.used);
        stats.last_fuel_used = self.used;
        Completion {
            status,
            output,
            fuel_used: self.used,
        }
    }

    /// Ends an invocation that did not return: closes its connections, discards the instance
    /// (its state may be torn), releases a transient plugin, and counts the fuel it used.
    fn discard(&mut self) {
        let _ = self.plugin.store.data_mut().end_invocation();
        self.plugin.poison();
        // A transient plugin lets go of its engine, code included: nothing left to scan then.
        self.plugin.release();
        self.plugin.forget_translated_code();
        let stats = &mut self.plugin.stats;
        stats.fuel_used = stats.fuel_used.saturating_add(self.used);
        stats.last_fuel_used = self.used;
    }

    fn fail(&mut self, fault: Fault) -> InvokeError {
        self.progress = Progress::Done;
        self.discard();
        let stats = &mut self.plugin.stats;
        match fault {
            Fault::FuelExhausted => {
                stats.fuel_exhausted += 1;
                self.plugin.last_fuel_exhausted = true;
                InvokeError::FuelExhausted {
                    fuel_used: self.used,
                }
            }
            Fault::TimedOut => {
                stats.timeouts += 1;
                InvokeError::TimedOut {
                    fuel_used: self.used,
                }
            }
            Fault::Trap(trap) => {
                stats.traps += 1;
                InvokeError::Trap {
                    trap,
                    fuel_used: self.used,
                }
            }
            Fault::Limit(e) | Fault::Other(e) => {
                stats.traps += 1;
                InvokeError::Engine(e)
            }
        }
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        if !matches!(self.progress, Progress::Done) {
            // The suspended call goes first: while it exists its code cannot be dropped.
            self.progress = Progress::Done;
            self.discard();
        }
    }
}
