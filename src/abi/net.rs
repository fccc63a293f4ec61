//! Network host functions (`net.dial`).
//!
//! `net_dial` and `net_dial_tls` parse the host strictly, check it and the port against the
//! grant's `host:port` entries, and only then ask the back-end to connect (for TLS: and to verify
//! the server for that host). Handles are per invocation: every connection still open when the
//! invocation ends is closed. Dialling, sending and receiving wait at most what is left of the
//! invocation's blocking time.

use wasmi::Caller;

use super::call::with_memory;
use super::fuel::CallFault;
use super::{guest, ErrorCode};
use crate::capability::Capability;
use crate::grant::DialTarget;
use crate::runtime::{HostState, Target};

/// Base fuel of `net_dial`.
pub(crate) const DIAL_FUEL: u64 = 10_000;
/// Base fuel of `net_dial_tls` (the host's handshake and certificate verification).
pub(crate) const DIAL_TLS_FUEL: u64 = 50_000;
/// Base fuel of `net_send` and `net_recv` (plus bytes).
pub(crate) const IO_FUEL: u64 = 500;
/// Base fuel of `net_close`.
pub(crate) const CLOSE_FUEL: u64 = 100;

/// Refuses the call (counted as a denial of `target`) unless `net.dial` was granted.
fn require(
    state: &mut HostState,
    import: &'static str,
    target: Target<'_>,
) -> Result<(), CallFault> {
    if state.grant.allows(Capability::NetDial) {
        Ok(())
    } else {
        state.record((Capability::NetDial, import), false, target);
        Err(ErrorCode::Denied.into())
    }
}

/// Counts a `net_send` or `net_recv` on an open connection as an allowed call: its target (a
/// connection the grant admitted when it was dialled) is admitted. A call on a handle that is
/// not open is refused with `BAD_HANDLE` (and counted as refused), not as allowed.
fn count_allowed(state_ledger: &mut crate::runtime::Ledger, name: &str, import: &'static str) {
    state_ledger.record(name, (Capability::NetDial, import), true, Target::None);
}

/// `net_dial(host, host_len, port) -> i32`: a handle to a new TCP connection.
pub(crate) fn net_dial(
    caller: Caller<'_, HostState>,
    host: i32,
    host_len: i32,
    port: i32,
) -> Result<i32, wasmi::Error> {
    dial(caller, DIAL_FUEL, "net_dial", (host, host_len, port))
}

/// `net_dial_tls(host, host_len, port) -> i32` (v2): a handle to a new TLS connection whose
/// server the back-end verified for `host`.
pub(crate) fn net_dial_tls(
    caller: Caller<'_, HostState>,
    host: i32,
    host_len: i32,
    port: i32,
) -> Result<i32, wasmi::Error> {
    dial(
        caller,
        DIAL_TLS_FUEL,
        "net_dial_tls",
        (host, host_len, port),
    )
}

/// Both dials: parse the host strictly, check the grant, then ask the back-end.
fn dial(
    caller: Caller<'_, HostState>,
    fuel: u64,
    import: &'static str,
    (host, host_len, port): (i32, i32, i32),
) -> Result<i32, wasmi::Error> {
    with_memory(caller, fuel, |memory, state, _meter| {
        let port = guest::unsigned(port);
        if !state.grant.allows(Capability::NetDial) {
            let raw = guest::slice(memory, host, host_len, crate::grant::MAX_HOST_INPUT_BYTES);
            require(state, import, Target::Dial(raw.unwrap_or(&[]), port))?;
        }
        let host = guest::slice(memory, host, host_len, crate::grant::MAX_HOST_INPUT_BYTES)?;
        let target = DialTarget::from_guest(host, port).map_err(|_| ErrorCode::Invalid)?;
        let admitted = state.grant.admit_dial(&target);
        state.record(
            (Capability::NetDial, import),
            admitted,
            Target::Dial(host, port),
        );
        if !admitted {
            return Err(ErrorCode::Denied.into());
        }
        if state.handles.is_full() {
            return Err(ErrorCode::Limit.into());
        }
        let network = &state.backends.network;
        let dialled = state.blocking.run(|timeout| {
            if import == "net_dial_tls" {
                network.dial_tls(&target, timeout)
            } else {
                network.dial(&target, timeout)
            }
        })?;
        let connection = dialled.map_err(state.ledger.backend_fault(
            &state.name,
            (Capability::NetDial, import),
            Target::Dial(host, port),
        ))?;
        Ok(state.handles.insert(connection)?)
    })
}

/// `net_send(handle, src, len) -> i32`: bytes sent (possibly fewer than `len`).
pub(crate) fn net_send(
    caller: Caller<'_, HostState>,
    handle: i32,
    src: i32,
    len: i32,
) -> Result<i32, wasmi::Error> {
    with_memory(caller, IO_FUEL, |memory, state, meter| {
        require(state, "net_send", Target::None)?;
        let data = guest::slice(memory, src, len, state.limits.call_bytes)?;
        let connection = state.handles.get_mut(handle).ok_or(ErrorCode::BadHandle)?;
        count_allowed(&mut state.ledger, &state.name, "net_send");
        meter.charge_bytes(data.len())?;
        let sent = state
            .blocking
            .run(|timeout| connection.send(data, timeout))?
            .map_err(ErrorCode::from)?;
        i32::try_from(sent).map_err(|_| CallFault::Code(ErrorCode::Io))
    })
}

/// `net_recv(handle, dst, len) -> i32`: bytes received; 0 when the peer closed.
pub(crate) fn net_recv(
    caller: Caller<'_, HostState>,
    handle: i32,
    dst: i32,
    len: i32,
) -> Result<i32, wasmi::Error> {
    with_memory(caller, IO_FUEL, |memory, state, meter| {
        require(state, "net_recv", Target::None)?;
        let range = guest::range(memory, dst, len, state.limits.call_bytes)?;
        let connection = state.handles.get_mut(handle).ok_or(ErrorCode::BadHandle)?;
        count_allowed(&mut state.ledger, &state.name, "net_recv");
        meter.charge_bytes(range.len())?;
        let buf = memory.get_mut(range).ok_or(ErrorCode::Invalid)?;
        let received = state
            .blocking
            .run(|timeout| connection.recv(buf, timeout))?
            .map_err(ErrorCode::from)?;
        i32::try_from(received.min(buf.len())).map_err(|_| CallFault::Code(ErrorCode::Io))
    })
}

/// `net_close(handle) -> i32`: closes the connection; 0.
pub(crate) fn net_close(caller: Caller<'_, HostState>, handle: i32) -> Result<i32, wasmi::Error> {
    super::call::with_state(caller, CLOSE_FUEL, |state| {
        // Not counted as an allowed call: it only releases a handle.
        require(state, "net_close", Target::None)?;
        if state.handles.remove(handle) {
            Ok(0)
        } else {
            Err(ErrorCode::BadHandle.into())
        }
    })
}
