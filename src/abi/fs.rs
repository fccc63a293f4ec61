//! Filesystem host functions (`fs.read`, `fs.write`).
//!
//! Order of checks in every call: the capability, the path (parsed and normalised), the grant's
//! prefixes, the data range and its cap, and only then the back-end.

use alloc::sync::Arc;

use wasmi::Caller;

use super::call::with_memory;
use super::fuel::CallFault;
use super::{guest, ErrorCode};
use crate::capability::Capability;
use crate::grant::{Grant, GuestPath};
use crate::runtime::HostState;

/// Base fuel of every `fs_*` call (plus bytes).
pub(crate) const FS_FUEL: u64 = 1_000;

const FS_READ: (Capability, &str) = (Capability::FsRead, "fs_read");
const FS_SIZE: (Capability, &str) = (Capability::FsRead, "fs_size");
const FS_WRITE: (Capability, &str) = (Capability::FsWrite, "fs_write");
const FS_RENAME: (Capability, &str) = (Capability::FsWrite, "fs_rename");

/// Parses the guest path at `ptr..ptr + len`.
fn read_path(memory: &[u8], state: &HostState, ptr: i32, len: i32) -> Result<GuestPath, CallFault> {
    let bytes = guest::slice(memory, ptr, len, state.limits.path_bytes)?;
    GuestPath::parse(bytes).map_err(|_| CallFault::Code(ErrorCode::Invalid))
}

/// Checks the prefix of `grant` admitting `path` for `capability`; counts the outcome. Returns
/// the prefix.
fn admit<'g>(
    grant: &'g Grant,
    state: &mut HostState,
    (capability, import): (Capability, &'static str),
    path: &GuestPath,
) -> Result<&'g GuestPath, CallFault> {
    let scope = grant.admit_path(capability, path);
    state.record(capability, import, scope.is_some());
    scope.ok_or(CallFault::Code(ErrorCode::Denied))
}

/// Refuses the call at once (counted) if `capability` was not granted at all.
fn require(
    state: &mut HostState,
    (capability, import): (Capability, &'static str),
) -> Result<(), CallFault> {
    if state.grant.allows(capability) {
        Ok(())
    } else {
        state.record(capability, import, false);
        Err(ErrorCode::Denied.into())
    }
}

fn size_i32(size: u64) -> Result<i32, CallFault> {
    i32::try_from(size).map_err(|_| CallFault::Code(ErrorCode::Limit))
}

/// `fs_read(path, path_len, dst, dst_len) -> i32`: copies `min(size, dst_len)` bytes of the file
/// into `dst` and returns the file's total size.
pub(crate) fn fs_read(
    caller: Caller<'_, HostState>,
    path_ptr: i32,
    path_len: i32,
    dst: i32,
    dst_len: i32,
) -> Result<i32, wasmi::Error> {
    with_memory(caller, FS_FUEL, |memory, state, meter| {
        require(state, FS_READ)?;
        let path = read_path(memory, state, path_ptr, path_len)?;
        let grant = Arc::clone(&state.grant);
        let scope = admit(&grant, state, FS_READ, &path)?;
        let range = guest::range(memory, dst, dst_len, state.limits.call_bytes)?;
        meter.charge_bytes(range.len())?;
        // Read into the host's scratch buffer first: a refused read (e.g. a file too large to
        // report) must leave guest memory untouched.
        let mut scratch = core::mem::take(&mut state.scratch);
        scratch.clear();
        scratch.resize(range.len(), 0);
        let read = state.backends.filesystem.read(scope, &path, &mut scratch);
        let result = read.map_err(state.backend_fault(FS_READ)).and_then(|size| {
            let reported = size_i32(size)?;
            let copied = usize::try_from(size).unwrap_or(usize::MAX).min(range.len());
            let dst = memory
                .get_mut(range.start..range.start + copied)
                .ok_or(ErrorCode::Invalid)?;
            dst.copy_from_slice(scratch.get(..copied).ok_or(ErrorCode::Invalid)?);
            Ok(reported)
        });
        state.scratch = scratch;
        result
    })
}

/// `fs_size(path, path_len) -> i32`: the file's size in bytes.
pub(crate) fn fs_size(
    caller: Caller<'_, HostState>,
    path_ptr: i32,
    path_len: i32,
) -> Result<i32, wasmi::Error> {
    with_memory(caller, FS_FUEL, |memory, state, _meter| {
        require(state, FS_SIZE)?;
        let path = read_path(memory, state, path_ptr, path_len)?;
        let grant = Arc::clone(&state.grant);
        let scope = admit(&grant, state, FS_SIZE, &path)?;
        let size = state
            .backends
            .filesystem
            .size(scope, &path)
            .map_err(state.backend_fault(FS_SIZE))?;
        size_i32(size)
    })
}

/// `fs_write(path, path_len, src, src_len) -> i32`: creates or truncates the file and writes
/// `src`; returns `src_len`.
pub(crate) fn fs_write(
    caller: Caller<'_, HostState>,
    path_ptr: i32,
    path_len: i32,
    src: i32,
    src_len: i32,
) -> Result<i32, wasmi::Error> {
    with_memory(caller, FS_FUEL, |memory, state, meter| {
        require(state, FS_WRITE)?;
        let path = read_path(memory, state, path_ptr, path_len)?;
        let grant = Arc::clone(&state.grant);
        let scope = admit(&grant, state, FS_WRITE, &path)?;
        let data = guest::slice(memory, src, src_len, state.limits.call_bytes)?;
        meter.charge_bytes(data.len())?;
        state
            .backends
            .filesystem
            .write(scope, &path, data)
            .map_err(state.backend_fault(FS_WRITE))?;
        i32::try_from(data.len()).map_err(|_| CallFault::Code(ErrorCode::Limit))
    })
}

/// `fs_rename(from, from_len, to, to_len) -> i32`: renames within `fs.write` prefixes (both
/// paths must be admitted); returns 0.
pub(crate) fn fs_rename(
    caller: Caller<'_, HostState>,
    from_ptr: i32,
    from_len: i32,
    to_ptr: i32,
    to_len: i32,
) -> Result<i32, wasmi::Error> {
    with_memory(caller, FS_FUEL, |memory, state, _meter| {
        require(state, FS_RENAME)?;
        let from = read_path(memory, state, from_ptr, from_len)?;
        let to = read_path(memory, state, to_ptr, to_len)?;
        let grant = Arc::clone(&state.grant);
        let from_scope = grant.admit_path(Capability::FsWrite, &from);
        let to_scope = grant.admit_path(Capability::FsWrite, &to);
        let (Some(from_scope), Some(to_scope)) = (from_scope, to_scope) else {
            state.record(Capability::FsWrite, "fs_rename", false);
            return Err(ErrorCode::Denied.into());
        };
        state.record(Capability::FsWrite, "fs_rename", true);
        state
            .backends
            .filesystem
            .rename(from_scope, &from, to_scope, &to)
            .map_err(state.backend_fault(FS_RENAME))?;
        Ok(0)
    })
}
