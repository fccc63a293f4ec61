//! Fuel charged for host calls, and the faults that stop a plugin from inside one.
//!
//! Guest code pays wasmi's per-instruction fuel; host code is not metered by wasmi, so each host
//! function charges a fixed base cost (from the capability table) plus one unit per
//! [`HostCallCosts::bytes_per_fuel`](crate::HostCallCosts) bytes it moves. A charge that does not
//! fit the invocation's remaining total budget stops the plugin with `FuelExhausted` before any
//! work is done. A charge that fits the total but not the current slice is carried as debt into
//! the next slice, so sliced and uninterrupted runs consume exactly the same fuel.

use core::fmt;

use wasmi::errors::HostError;
use wasmi::Caller;

use super::ErrorCode;
use crate::runtime::HostState;

/// How a host call ended other than by returning a value to the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallFault {
    /// Return this code to the guest.
    Code(ErrorCode),
    /// The invocation's total fuel budget cannot pay for the call: stop the plugin.
    FuelExhausted,
    /// The invocation's blocking time ([`Limits::blocking_time`](crate::Limits)) is spent: stop
    /// the plugin.
    #[cfg_attr(
        not(any(feature = "cap-fs", feature = "cap-net", feature = "cap-process")),
        allow(dead_code)
    )]
    TimedOut,
}

impl From<ErrorCode> for CallFault {
    fn from(code: ErrorCode) -> Self {
        CallFault::Code(code)
    }
}

/// The host error that stops a plugin whose host call could not be paid for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HostFuelExhausted;

impl fmt::Display for HostFuelExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fuel budget exhausted by a host call")
    }
}

impl HostError for HostFuelExhausted {}

/// The host error that stops a plugin whose invocation spent its blocking time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HostTimedOut;

impl fmt::Display for HostTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("blocking time exhausted by a host call")
    }
}

impl HostError for HostTimedOut {}

/// The fuel position of one host call: what the slice has left and what the whole invocation
/// has left, and what the call has spent so far.
#[derive(Debug)]
pub(crate) struct FuelMeter {
    slice_left: u64,
    total_left: u64,
    spent: u64,
    bytes_per_fuel: u64,
}

impl FuelMeter {
    /// Reads the fuel position at the start of a host call.
    pub(crate) fn begin(caller: &Caller<'_, HostState>) -> Result<FuelMeter, wasmi::Error> {
        let slice_left = caller.get_fuel()?;
        let state = caller.data();
        Ok(FuelMeter {
            slice_left,
            total_left: state.fuel.total_left(slice_left),
            spent: 0,
            bytes_per_fuel: state.costs.bytes_per_fuel.max(1),
        })
    }

    /// Charges `fuel`, or refuses if the invocation's total budget cannot pay it.
    pub(crate) fn charge(&mut self, fuel: u64) -> Result<(), CallFault> {
        let spent = self.spent.saturating_add(fuel);
        if spent > self.total_left {
            return Err(CallFault::FuelExhausted);
        }
        self.spent = spent;
        Ok(())
    }

    /// Charges for moving `bytes` bytes.
    pub(crate) fn charge_bytes(&mut self, bytes: usize) -> Result<(), CallFault> {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.charge(bytes.div_ceil(self.bytes_per_fuel))
    }

    /// Applies what was spent to the store: from the slice, the excess as debt.
    pub(crate) fn commit(self, caller: &mut Caller<'_, HostState>) -> Result<(), wasmi::Error> {
        if self.spent <= self.slice_left {
            caller.set_fuel(self.slice_left - self.spent)
        } else {
            caller.data_mut().fuel.debt += self.spent - self.slice_left;
            caller.set_fuel(0)
        }
    }
}

/// Turns a host call's outcome into what wasmi expects: a value for the guest, or a trap.
pub(crate) fn finish(result: Result<i32, CallFault>) -> Result<i32, wasmi::Error> {
    match result {
        Ok(value) => Ok(value),
        Err(CallFault::Code(code)) => Ok(code.code()),
        Err(CallFault::FuelExhausted) => Err(wasmi::Error::host(HostFuelExhausted)),
        Err(CallFault::TimedOut) => Err(wasmi::Error::host(HostTimedOut)),
    }
}
