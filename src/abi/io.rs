//! Ungated host functions: the invocation's input and output, and logging.

use wasmi::Caller;

use super::call::{with_memory, with_state};
use super::fuel::CallFault;
use super::{guest, ErrorCode};
use crate::runtime::{HostState, LogLevel};

/// Base fuel of `input_len`.
pub(crate) const INPUT_LEN_FUEL: u64 = 8;
/// Base fuel of `input_read` (plus bytes).
pub(crate) const INPUT_READ_FUEL: u64 = 16;
/// Base fuel of `output_write` (plus bytes).
pub(crate) const OUTPUT_WRITE_FUEL: u64 = 16;
/// Base fuel of `log` (plus bytes).
pub(crate) const LOG_FUEL: u64 = 32;

fn len_i32(len: usize) -> Result<i32, CallFault> {
    i32::try_from(len).map_err(|_| CallFault::Code(ErrorCode::Limit))
}

/// `input_len() -> i32`: the length of this invocation's input.
pub(crate) fn input_len(caller: Caller<'_, HostState>) -> Result<i32, wasmi::Error> {
    with_state(caller, INPUT_LEN_FUEL, |state| {
        len_i32(state.invocation.input.len())
    })
}

/// `input_read(dst, len) -> i32`: copies `min(len, input_len)` bytes of the input to `dst`;
/// the whole range `dst .. dst + len` must lie in memory.
pub(crate) fn input_read(
    caller: Caller<'_, HostState>,
    dst: i32,
    len: i32,
) -> Result<i32, wasmi::Error> {
    with_memory(caller, INPUT_READ_FUEL, |memory, state, meter| {
        let input = &state.invocation.input;
        // The whole destination must lie in memory, even when fewer bytes are copied.
        let range = guest::range(memory, dst, len, usize::MAX)?;
        let n = range.len().min(input.len());
        meter.charge_bytes(n)?;
        let end = range.start + n;
        let dst = memory.get_mut(range.start..end).ok_or(ErrorCode::Invalid)?;
        dst.copy_from_slice(input.get(..n).ok_or(ErrorCode::Invalid)?);
        len_i32(n)
    })
}

/// `output_write(src, len) -> i32`: appends to the invocation's output.
pub(crate) fn output_write(
    caller: Caller<'_, HostState>,
    src: i32,
    len: i32,
) -> Result<i32, wasmi::Error> {
    with_memory(caller, OUTPUT_WRITE_FUEL, |memory, state, meter| {
        let room = state
            .limits
            .output_bytes
            .saturating_sub(state.invocation.output.len());
        let bytes = guest::slice(memory, src, len, room).inspect_err(|code| {
            if *code == ErrorCode::Limit {
                state.invocation.output_refused = state.invocation.output_refused.saturating_add(1);
            }
        })?;
        meter.charge_bytes(bytes.len())?;
        let output = &mut state.invocation.output;
        let needed = output.len() + bytes.len();
        if needed > output.capacity() {
            // Grow geometrically, but never reserve past the cap.
            let target = needed
                .max(output.capacity().saturating_mul(2))
                .min(state.limits.output_bytes);
            output.reserve_exact(target - output.len());
        }
        output.extend_from_slice(bytes);
        len_i32(bytes.len())
    })
}

/// `log(level, src, len) -> i32`: one log line from the plugin, bounded per message and per
/// invocation.
pub(crate) fn log(
    caller: Caller<'_, HostState>,
    level: i32,
    src: i32,
    len: i32,
) -> Result<i32, wasmi::Error> {
    with_memory(caller, LOG_FUEL, |memory, state, meter| {
        let level = LogLevel::from_abi(level).ok_or(ErrorCode::Invalid)?;
        let room = state
            .limits
            .log_bytes
            .saturating_sub(state.invocation.log_bytes);
        let cap = room.min(state.limits.log_message_bytes);
        let bytes = guest::slice(memory, src, len, cap).inspect_err(|code| {
            if *code == ErrorCode::Limit {
                state.invocation.log_refused = state.invocation.log_refused.saturating_add(1);
            }
        })?;
        meter.charge_bytes(bytes.len())?;
        let text = core::str::from_utf8(bytes).map_err(|_| ErrorCode::Invalid)?;
        state.invocation.log_bytes += bytes.len();
        state
            .invocation
            .logs
            .push(level, text, state.limits.log_bytes);
        let plugin = state.name.as_str();
        let level = level.to_abi();
        match level {
            0 => host_log!(error, "plugin {}: {}", plugin, text),
            1 => host_log!(warn, "plugin {}: {}", plugin, text),
            2 => host_log!(info, "plugin {}: {}", plugin, text),
            3 => host_log!(debug, "plugin {}: {}", plugin, text),
            _ => host_log!(trace, "plugin {}: {}", plugin, text),
        }
        #[cfg(not(any(feature = "log", feature = "defmt")))]
        let _ = (plugin, text);
        Ok(0)
    })
}
