//! The process host function (`process.exec`).
//!
//! The argument vector is a sequence of UTF-8 strings, each followed by one NUL byte. `argv[0]`
//! must be an absolute path admitted by a `process.exec` prefix and must not lie under (or above)
//! any `fs.write` prefix of the same grant, so a plugin can never run what it wrote. The output
//! buffer receives the 4-byte little-endian exit status followed by as much standard output as
//! fits.

use alloc::vec::Vec;

use wasmi::Caller;

use super::call::with_memory;
use super::fuel::CallFault;
use super::{guest, ErrorCode};
use crate::capability::Capability;
use crate::grant::GuestPath;
use crate::runtime::{HostState, Target};

/// Base fuel of `process_exec` (plus bytes).
pub(crate) const EXEC_FUEL: u64 = 100_000;

/// Splits a NUL-terminated argument vector; `INVALID` for anything malformed.
fn split_argv(bytes: &[u8], max_items: usize) -> Result<Vec<&str>, ErrorCode> {
    let body = bytes.strip_suffix(&[0]).ok_or(ErrorCode::Invalid)?;
    let mut argv = Vec::new();
    for item in body.split(|b| *b == 0) {
        if argv.len() >= max_items {
            return Err(ErrorCode::Limit);
        }
        argv.push(core::str::from_utf8(item).map_err(|_| ErrorCode::Invalid)?);
    }
    Ok(argv)
}

/// `process_exec(argv, argv_len, dst, dst_len) -> i32`: runs the program; returns the bytes
/// written to `dst` (at least 4: the exit status).
pub(crate) fn process_exec(
    caller: Caller<'_, HostState>,
    argv_ptr: i32,
    argv_len: i32,
    dst: i32,
    dst_len: i32,
) -> Result<i32, wasmi::Error> {
    with_memory(caller, EXEC_FUEL, |memory, state, meter| {
        if !state.grant.allows(Capability::ProcessExec) {
            // The target named is argv[0] as the guest wrote it.
            let raw =
                guest::slice(memory, argv_ptr, argv_len, state.limits.argv_bytes).unwrap_or(&[]);
            let program = raw.split(|b| *b == 0).next().unwrap_or(&[]);
            state.record(
                (Capability::ProcessExec, "process_exec"),
                false,
                Target::Bytes(program),
            );
            return Err(ErrorCode::Denied.into());
        }
        let argv_range = guest::range(memory, argv_ptr, argv_len, state.limits.argv_bytes)?;
        let dst_range = guest::range(memory, dst, dst_len, state.limits.call_bytes)?;
        if dst_range.len() < 4 {
            return Err(ErrorCode::Invalid.into());
        }
        let (argv_bytes, out) = guest::split_read_write(memory, argv_range, dst_range)?;
        let argv = split_argv(argv_bytes, state.limits.argv_items)?;
        let program = argv.first().copied().ok_or(ErrorCode::Invalid)?;
        let path = GuestPath::parse_str(program).map_err(|_| ErrorCode::Invalid)?;
        if path.as_str() != program {
            // Only a path already in normal form names exactly one program.
            return Err(ErrorCode::Invalid.into());
        }
        let grant = &state.grant;
        let admitted = grant.admit_path(Capability::ProcessExec, &path).is_some()
            && !grant.is_writable_area(&path);
        state.record(
            (Capability::ProcessExec, "process_exec"),
            admitted,
            Target::Text(program),
        );
        if !admitted {
            return Err(ErrorCode::Denied.into());
        }
        meter.charge_bytes(out.len())?;
        let (status, stdout) = out.split_at_mut(4);
        let runner = &state.backends.process;
        let ran = state
            .blocking
            .run(|timeout| runner.run(&argv, stdout, timeout))?;
        let result = ran.map_err(state.ledger.backend_fault(
            &state.name,
            (Capability::ProcessExec, "process_exec"),
            Target::Text(program),
        ))?;
        status.copy_from_slice(&result.status.to_le_bytes());
        let written = 4 + result.stdout_len.min(stdout.len());
        i32::try_from(written).map_err(|_| CallFault::Code(ErrorCode::Limit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_is_nul_terminated_utf8() {
        assert_eq!(split_argv(b"/bin/true\0", 8), Ok(alloc::vec!["/bin/true"]));
        assert_eq!(
            split_argv(b"/bin/echo\0a\0\0b\0", 8),
            Ok(alloc::vec!["/bin/echo", "a", "", "b"])
        );
        assert_eq!(split_argv(b"/bin/true", 8), Err(ErrorCode::Invalid));
        assert_eq!(split_argv(b"", 8), Err(ErrorCode::Invalid));
        assert_eq!(split_argv(b"\xff\0", 8), Err(ErrorCode::Invalid));
        assert_eq!(split_argv(b"a\0b\0c\0", 2), Err(ErrorCode::Limit));
    }
}
