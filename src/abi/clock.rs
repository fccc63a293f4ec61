//! `clock_now`: the wall-clock time in whole seconds (ungated).

use wasmi::Caller;

use super::call::with_memory;
use super::{guest, ErrorCode};
use crate::runtime::HostState;

/// Base fuel of `clock_now`.
pub(crate) const CLOCK_NOW_FUEL: u64 = 50;

/// The bytes `clock_now` writes: one `i64`, little-endian.
const TIME_BYTES: usize = 8;

/// `clock_now(dst, len) -> i32`: writes the seconds since the Unix epoch (UTC) as an `i64`
/// little-endian to `dst`; `len` must be at least 8; returns 8.
pub(crate) fn clock_now(
    caller: Caller<'_, HostState>,
    dst: i32,
    len: i32,
) -> Result<i32, wasmi::Error> {
    with_memory(caller, CLOCK_NOW_FUEL, |memory, state, _meter| {
        let range = guest::range(memory, dst, len, usize::MAX)?;
        if range.len() < TIME_BYTES {
            return Err(ErrorCode::Invalid.into());
        }
        let seconds = state
            .backends
            .wall_clock
            .unix_seconds()
            .map_err(|_| ErrorCode::Io)?;
        let dst = memory
            .get_mut(range.start..range.start + TIME_BYTES)
            .ok_or(ErrorCode::Invalid)?;
        dst.copy_from_slice(&seconds.to_le_bytes());
        Ok(8)
    })
}
