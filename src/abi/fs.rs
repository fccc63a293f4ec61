//! Filesystem host functions (`fs.read`, `fs.write`).
//!
//! Order of checks in every call: the capability, the path (parsed and normalised), the grant's
//! prefixes, the data range and its cap, and only then the back-end, whose time is counted
//! against the invocation's blocking time (if it may block: `Filesystem::may_block`).

use wasmi::Caller;

use super::call::with_memory;
use super::fuel::CallFault;
use super::{guest, ErrorCode};
use crate::backend::{BackendError, Filesystem};
use crate::capability::Capability;
use crate::grant::GuestPath;
use crate::runtime::{BlockingBudget, HostState, Limits, Target};

/// Base fuel of every `fs_*` call (plus bytes).
pub(crate) const FS_FUEL: u64 = 1_000;

/// A gated import: the capability it needs and its name (for counters and the denial log).
type Gated = (Capability, &'static str);

const FS_READ: Gated = (Capability::FsRead, "fs_read");
const FS_SIZE: Gated = (Capability::FsRead, "fs_size");
const FS_WRITE: Gated = (Capability::FsWrite, "fs_write");
const FS_RENAME: Gated = (Capability::FsWrite, "fs_rename");

/// Parses the guest path at `ptr..ptr + len` into the reusable buffer `into`.
fn read_path(
    memory: &[u8],
    limit: usize,
    (ptr, len): (i32, i32),
    into: &mut GuestPath,
) -> Result<(), CallFault> {
    let bytes = guest::slice(memory, ptr, len, limit)?;
    into.reparse(bytes)
        .map_err(|_| CallFault::Code(ErrorCode::Invalid))
}

/// Refuses the call at once (counted, with the guest's path bytes as its target) if
/// `capability` was not granted at all.
#[inline]
fn require(
    state: &mut HostState,
    call: Gated,
    memory: &[u8],
    path: (i32, i32),
) -> Result<(), CallFault> {
    if state.grant.allows(call.0) {
        Ok(())
    } else {
        Err(refuse_ungranted(state, call, memory, path))
    }
}

/// Counts a call of a capability the grant does not hold as a denial of the guest's path bytes.
#[cold]
#[inline(never)]
fn refuse_ungranted(
    state: &mut HostState,
    call: Gated,
    memory: &[u8],
    (ptr, len): (i32, i32),
) -> CallFault {
    let raw = guest::slice(memory, ptr, len, state.limits.path_bytes).unwrap_or(&[]);
    state.record(call, false, Target::Bytes(raw));
    ErrorCode::Denied.into()
}

/// Why the body of an admitted call stopped.
enum Refusal {
    /// Return this to the guest.
    Call(CallFault),
    /// The back-end failed; mapped (and counted) by the plugin's ledger.
    Backend(BackendError),
}

impl From<CallFault> for Refusal {
    fn from(fault: CallFault) -> Self {
        Refusal::Call(fault)
    }
}

impl From<ErrorCode> for Refusal {
    fn from(code: ErrorCode) -> Self {
        Refusal::Call(CallFault::Code(code))
    }
}

impl From<BackendError> for Refusal {
    fn from(error: BackendError) -> Self {
        Refusal::Backend(error)
    }
}

/// What the body of an admitted call works with.
struct Admitted<'a> {
    /// The grant prefix that admitted the path.
    scope: &'a GuestPath,
    path: &'a GuestPath,
    limits: &'a Limits,
    filesystem: &'a dyn Filesystem,
    blocking: &'a mut BlockingBudget,
    /// Whether `filesystem` may block (its calls are then measured).
    measured: bool,
}

impl Admitted<'_> {
    /// Runs one filesystem call under the invocation's blocking time.
    fn io<R>(
        &mut self,
        call: impl FnOnce(&dyn Filesystem, &GuestPath, &GuestPath) -> Result<R, BackendError>,
    ) -> Result<R, Refusal> {
        let (filesystem, scope, path) = (self.filesystem, self.scope, self.path);
        Ok(file_io(self.blocking, self.measured, || {
            call(filesystem, scope, path)
        })??)
    }
}

/// Runs one filesystem call under the invocation's blocking time: file I/O takes no timeout, and
/// its time is counted if the back-end may block (`measured`).
fn file_io<R>(
    blocking: &mut BlockingBudget,
    measured: bool,
    call: impl FnOnce() -> Result<R, BackendError>,
) -> Result<Result<R, BackendError>, CallFault> {
    if measured {
        blocking.run(|_| call())
    } else {
        blocking.run_unmeasured(call)
    }
}

/// Parses the call's path into the reusable `state.paths[0]`, checks it against the grant's
/// prefixes (counted) and runs `body` with the admitting prefix and the path. Nothing is
/// allocated or reference-counted on the way.
fn with_admitted_path<R>(
    memory: &mut [u8],
    state: &mut HostState,
    call: Gated,
    path: (i32, i32),
    body: impl FnOnce(&mut [u8], Admitted<'_>) -> Result<R, Refusal>,
) -> Result<R, CallFault> {
    require(state, call, memory, path)?;
    read_path(memory, state.limits.path_bytes, path, &mut state.paths[0])?;
    let path = &state.paths[0];
    let scope = state.grant.admit_path(call.0, path);
    let target = Target::Text(path.as_str());
    state
        .ledger
        .record(&state.name, call, scope.is_some(), target);
    let scope = scope.ok_or(CallFault::Code(ErrorCode::Denied))?;
    let admitted = Admitted {
        scope,
        path,
        limits: &state.limits,
        filesystem: &*state.backends.filesystem,
        blocking: &mut state.blocking,
        measured: state.filesystem_blocks,
    };
    match body(memory, admitted) {
        Ok(value) => Ok(value),
        Err(Refusal::Call(fault)) => Err(fault),
        Err(Refusal::Backend(error)) => {
            Err(state.ledger.backend_fault(&state.name, call, target)(error))
        }
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
        // Read into the host's scratch buffer first: a refused read (e.g. a file too large to
        // report) must leave guest memory untouched.
        let mut scratch = core::mem::take(&mut state.scratch);
        let path = (path_ptr, path_len);
        let result = with_admitted_path(memory, state, FS_READ, path, |memory, mut call| {
            let range = guest::range(memory, dst, dst_len, call.limits.call_bytes)?;
            meter.charge_bytes(range.len())?;
            scratch.clear();
            scratch.resize(range.len(), 0);
            let size = call.io(|fs, scope, path| fs.read(scope, path, &mut scratch))?;
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
        let path = (path_ptr, path_len);
        let size = with_admitted_path(memory, state, FS_SIZE, path, |_, mut call| {
            call.io(|fs, scope, path| fs.size(scope, path))
        })?;
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
        let path = (path_ptr, path_len);
        with_admitted_path(memory, state, FS_WRITE, path, |memory, mut call| {
            let data = guest::slice(memory, src, src_len, call.limits.call_bytes)?;
            meter.charge_bytes(data.len())?;
            call.io(|fs, scope, path| fs.write(scope, path, data))?;
            Ok(i32::try_from(data.len()).map_err(|_| ErrorCode::Limit)?)
        })
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
        require(state, FS_RENAME, memory, (from_ptr, from_len))?;
        let limit = state.limits.path_bytes;
        let [from, to] = &mut state.paths;
        read_path(memory, limit, (from_ptr, from_len), from)?;
        read_path(memory, limit, (to_ptr, to_len), to)?;
        let [from, to] = &state.paths;
        let from_scope = state.grant.admit_path(Capability::FsWrite, from);
        let to_scope = state.grant.admit_path(Capability::FsWrite, to);
        let (Some(from_scope), Some(to_scope)) = (from_scope, to_scope) else {
            // The target named is the path the grant refused (the source if both were).
            let refused = if from_scope.is_none() { from } else { to };
            let target = Target::Text(refused.as_str());
            state.ledger.record(&state.name, FS_RENAME, false, target);
            return Err(ErrorCode::Denied.into());
        };
        state
            .ledger
            .record(&state.name, FS_RENAME, true, Target::None);
        let filesystem = &state.backends.filesystem;
        let renamed = file_io(&mut state.blocking, state.filesystem_blocks, || {
            filesystem.rename(from_scope, from, to_scope, to)
        })?;
        let target = Target::Text(to.as_str());
        renamed.map_err(state.ledger.backend_fault(&state.name, FS_RENAME, target))?;
        Ok(0)
    })
}
