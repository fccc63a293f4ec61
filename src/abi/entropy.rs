//! `random_fill`: random bytes from the embedder's entropy source (ungated).

use wasmi::Caller;

use super::call::with_memory;
use super::fuel::CallFault;
use super::{guest, ErrorCode};
use crate::runtime::HostState;

/// Base fuel of `random_fill` (plus bytes).
pub(crate) const RANDOM_FILL_FUEL: u64 = 200;

/// `random_fill(dst, len) -> i32`: fills `dst .. dst + len` with random bytes; returns `len`.
///
/// The bytes are drawn into the host's scratch buffer first and copied only when the source
/// delivered all of them, so a failed call leaves guest memory untouched; the scratch copy is
/// wiped afterwards (these bytes become the plugin's keys).
pub(crate) fn random_fill(
    caller: Caller<'_, HostState>,
    dst: i32,
    len: i32,
) -> Result<i32, wasmi::Error> {
    with_memory(caller, RANDOM_FILL_FUEL, |memory, state, meter| {
        let range = guest::range(memory, dst, len, state.limits.call_bytes)?;
        meter.charge_bytes(range.len())?;
        let n = range.len();
        let count = i32::try_from(n).map_err(|_| CallFault::Code(ErrorCode::Limit))?;
        state.scratch.clear();
        state.scratch.resize(n, 0);
        let filled = state.backends.entropy.fill(&mut state.scratch);
        let copied = match (filled, memory.get_mut(range)) {
            (Ok(()), Some(dst)) => {
                dst.copy_from_slice(&state.scratch);
                Ok(count)
            }
            (Ok(()), None) => Err(ErrorCode::Invalid.into()),
            (Err(_), _) => Err(ErrorCode::Io.into()),
        };
        state.scratch.fill(0);
        copied
    })
}
