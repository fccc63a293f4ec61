//! The shape every host function shares: charge the base fuel, find guest memory, run the body,
//! apply the fuel spent, and turn the outcome into a value or a trap.

use wasmi::{Caller, Extern, Memory};

use super::fuel::{finish, CallFault, FuelMeter};
use super::ErrorCode;
use crate::runtime::HostState;

/// Runs a host function body that needs guest memory.
pub(crate) fn with_memory(
    mut caller: Caller<'_, HostState>,
    base_fuel: u64,
    body: impl FnOnce(&mut [u8], &mut HostState, &mut FuelMeter) -> Result<i32, CallFault>,
) -> Result<i32, wasmi::Error> {
    let mut meter = FuelMeter::begin(&caller)?;
    let result = match meter.charge(base_fuel) {
        Err(fault) => Err(fault),
        Ok(()) => match guest_memory(&mut caller) {
            None => Err(CallFault::Code(ErrorCode::Invalid)),
            Some(memory) => {
                let (data, state) = memory.data_and_store_mut(&mut caller);
                body(data, state, &mut meter)
            }
        },
    };
    // The usual case first: a value for the guest, nothing refused (measured: the general
    // code below costs about 25 instructions more per call).
    if let Ok(value) = result {
        meter.commit(&mut caller)?;
        return Ok(value);
    }
    refused(caller, meter, result)
}

/// Runs a host function body that needs no guest memory.
pub(crate) fn with_state(
    mut caller: Caller<'_, HostState>,
    base_fuel: u64,
    body: impl FnOnce(&mut HostState) -> Result<i32, CallFault>,
) -> Result<i32, wasmi::Error> {
    let mut meter = FuelMeter::begin(&caller)?;
    let result = meter
        .charge(base_fuel)
        .and_then(|()| body(caller.data_mut()));
    if let Ok(value) = result {
        meter.commit(&mut caller)?;
        return Ok(value);
    }
    refused(caller, meter, result)
}

/// The end of a call that did not return a value: applies the fuel spent (unless the call could
/// not be paid for), counts the refusal, and gives the guest its error code or stops it. One
/// copy for every host function, out of the way of the usual case.
#[cold]
#[inline(never)]
fn refused(
    mut caller: Caller<'_, HostState>,
    meter: FuelMeter,
    result: Result<i32, CallFault>,
) -> Result<i32, wasmi::Error> {
    if result != Err(CallFault::FuelExhausted) {
        meter.commit(&mut caller)?;
    }
    count_refusal(caller.data_mut(), &result);
    finish(result)
}

/// Counts a call refused with a code other than `DENIED` (denials are counted per capability
/// where the grant is checked).
fn count_refusal(state: &mut HostState, result: &Result<i32, CallFault>) {
    if let Err(CallFault::Code(code)) = result {
        if *code != ErrorCode::Denied {
            state.ledger.refused = state.ledger.refused.saturating_add(1);
        }
    }
}

/// The plugin's exported `memory`, looked up once per instance.
fn guest_memory(caller: &mut Caller<'_, HostState>) -> Option<Memory> {
    if let Some(memory) = caller.data().memory {
        return Some(memory);
    }
    let memory = caller.get_export("memory").and_then(Extern::into_memory)?;
    caller.data_mut().memory = Some(memory);
    Some(memory)
}
