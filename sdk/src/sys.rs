//! The raw ABI imports (v1, and v2's `random_fill`, `clock_now` and `net_dial_tls`): the only
//! `unsafe` code in the SDK.
//!
//! Each import is wrapped in a safe function that takes Rust slices. Pointers and lengths are
//! `u32` values carried in `i32`; a slice's address and length always fit on wasm32.
//!
//! The soundness argument for every call is the same and rests on the host keeping the ABI: the
//! host reads guest memory only inside `[ptr, ptr + len)` of the slices passed as sources, writes
//! only inside `[dst, dst + dst_len)` of the slice passed as destination, keeps no pointer after
//! the call returns, and does not unwind into the guest. A `&[u8]`/`&mut [u8]` borrowed for the
//! call is valid (initialised, in bounds, and not aliased by any other live `&mut`) for exactly
//! that range, and every `u8` bit pattern is valid, so whatever the host writes is a valid value.

#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "pluginhost")]
    unsafe extern "C" {
        pub fn input_len() -> i32;
        pub fn input_read(dst: i32, len: i32) -> i32;
        pub fn output_write(src: i32, len: i32) -> i32;
        // Named apart from libm's `log`; imported as `pluginhost.log`.
        #[link_name = "log"]
        pub fn host_log(level: i32, src: i32, len: i32) -> i32;
        pub fn fs_read(path: i32, path_len: i32, dst: i32, dst_len: i32) -> i32;
        pub fn fs_size(path: i32, path_len: i32) -> i32;
        pub fn fs_write(path: i32, path_len: i32, src: i32, src_len: i32) -> i32;
        pub fn fs_rename(from: i32, from_len: i32, to: i32, to_len: i32) -> i32;
        pub fn net_dial(host: i32, host_len: i32, port: i32) -> i32;
        pub fn net_send(handle: i32, src: i32, len: i32) -> i32;
        pub fn net_recv(handle: i32, dst: i32, len: i32) -> i32;
        pub fn net_close(handle: i32) -> i32;
        pub fn process_exec(argv: i32, argv_len: i32, dst: i32, dst_len: i32) -> i32;
        // ABI v2.
        pub fn random_fill(dst: i32, len: i32) -> i32;
        pub fn clock_now(dst: i32, len: i32) -> i32;
        pub fn net_dial_tls(host: i32, host_len: i32, port: i32) -> i32;
    }
}

/// What every host call returns off wasm32, where there is no host.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) const NO_HOST: i32 = -99;

/// Off wasm32 there is no host: these stand-ins touch no memory and fail with [`NO_HOST`].
/// They are `unsafe fn` only so that the call sites below are the same on every target.
#[cfg(not(target_arch = "wasm32"))]
mod imports {
    use super::NO_HOST;

    pub unsafe fn input_len() -> i32 {
        NO_HOST
    }
    pub unsafe fn input_read(_: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn output_write(_: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn host_log(_: i32, _: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn fs_read(_: i32, _: i32, _: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn fs_size(_: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn fs_write(_: i32, _: i32, _: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn fs_rename(_: i32, _: i32, _: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn net_dial(_: i32, _: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn net_send(_: i32, _: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn net_recv(_: i32, _: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn net_close(_: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn process_exec(_: i32, _: i32, _: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn random_fill(_: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn clock_now(_: i32, _: i32) -> i32 {
        NO_HOST
    }
    pub unsafe fn net_dial_tls(_: i32, _: i32, _: i32) -> i32 {
        NO_HOST
    }
}

/// A guest address as the ABI carries it (a `u32` in an `i32`; addresses are 32-bit on wasm32).
fn addr(ptr: *const u8) -> i32 {
    ptr as usize as u32 as i32
}

/// A slice length as the ABI carries it. Slices never exceed `i32::MAX` bytes on wasm32; were one
/// longer, the host would be told (and so touch) fewer bytes than the slice has, never more.
fn len(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(crate) fn input_len() -> i32 {
    // SAFETY: integers only; the host touches no guest memory.
    unsafe { imports::input_len() }
}

pub(crate) fn input_read(dst: &mut [u8]) -> i32 {
    // SAFETY: the host writes at most `dst.len()` bytes into `dst`, which is exclusively borrowed
    // for the call (module docs).
    unsafe { imports::input_read(addr(dst.as_mut_ptr()), len(dst.len())) }
}

pub(crate) fn output_write(src: &[u8]) -> i32 {
    // SAFETY: the host only reads `src`, which is borrowed for the call (module docs).
    unsafe { imports::output_write(addr(src.as_ptr()), len(src.len())) }
}

pub(crate) fn log(level: i32, message: &[u8]) -> i32 {
    // SAFETY: the host only reads `message`, which is borrowed for the call (module docs).
    unsafe { imports::host_log(level, addr(message.as_ptr()), len(message.len())) }
}

pub(crate) fn fs_read(path: &[u8], dst: &mut [u8]) -> i32 {
    // SAFETY: the host reads only `path` and writes at most `dst.len()` bytes into `dst`; both are
    // borrowed for the call and cannot overlap (one is `&mut`) (module docs).
    unsafe {
        imports::fs_read(
            addr(path.as_ptr()),
            len(path.len()),
            addr(dst.as_mut_ptr()),
            len(dst.len()),
        )
    }
}

pub(crate) fn fs_size(path: &[u8]) -> i32 {
    // SAFETY: the host only reads `path`, which is borrowed for the call (module docs).
    unsafe { imports::fs_size(addr(path.as_ptr()), len(path.len())) }
}

pub(crate) fn fs_write(path: &[u8], src: &[u8]) -> i32 {
    // SAFETY: the host only reads `path` and `src`, both borrowed for the call (module docs).
    unsafe {
        imports::fs_write(
            addr(path.as_ptr()),
            len(path.len()),
            addr(src.as_ptr()),
            len(src.len()),
        )
    }
}

pub(crate) fn fs_rename(from: &[u8], to: &[u8]) -> i32 {
    // SAFETY: the host only reads `from` and `to`, both borrowed for the call (module docs).
    unsafe {
        imports::fs_rename(
            addr(from.as_ptr()),
            len(from.len()),
            addr(to.as_ptr()),
            len(to.len()),
        )
    }
}

pub(crate) fn net_dial(host: &[u8], port: u16) -> i32 {
    // SAFETY: the host only reads `host`, which is borrowed for the call (module docs).
    unsafe { imports::net_dial(addr(host.as_ptr()), len(host.len()), i32::from(port)) }
}

pub(crate) fn net_send(handle: i32, src: &[u8]) -> i32 {
    // SAFETY: the host only reads `src`, which is borrowed for the call (module docs).
    unsafe { imports::net_send(handle, addr(src.as_ptr()), len(src.len())) }
}

pub(crate) fn net_recv(handle: i32, dst: &mut [u8]) -> i32 {
    // SAFETY: the host writes at most `dst.len()` bytes into `dst`, which is exclusively borrowed
    // for the call (module docs).
    unsafe { imports::net_recv(handle, addr(dst.as_mut_ptr()), len(dst.len())) }
}

pub(crate) fn net_close(handle: i32) -> i32 {
    // SAFETY: integers only; the host touches no guest memory.
    unsafe { imports::net_close(handle) }
}

pub(crate) fn process_exec(argv: &[u8], dst: &mut [u8]) -> i32 {
    // SAFETY: the host reads only `argv` and writes at most `dst.len()` bytes into `dst`; both are
    // borrowed for the call and cannot overlap (one is `&mut`) (module docs).
    unsafe {
        imports::process_exec(
            addr(argv.as_ptr()),
            len(argv.len()),
            addr(dst.as_mut_ptr()),
            len(dst.len()),
        )
    }
}

pub(crate) fn random_fill(dst: &mut [u8]) -> i32 {
    // SAFETY: the host writes at most `dst.len()` bytes into `dst`, which is exclusively borrowed
    // for the call (module docs).
    unsafe { imports::random_fill(addr(dst.as_mut_ptr()), len(dst.len())) }
}

pub(crate) fn clock_now(dst: &mut [u8; 8]) -> i32 {
    // SAFETY: the host writes at most 8 bytes into `dst`, which is exclusively borrowed for the
    // call (module docs).
    unsafe { imports::clock_now(addr(dst.as_mut_ptr()), len(dst.len())) }
}

pub(crate) fn net_dial_tls(host: &[u8], port: u16) -> i32 {
    // SAFETY: the host only reads `host`, which is borrowed for the call (module docs).
    unsafe { imports::net_dial_tls(addr(host.as_ptr()), len(host.len()), i32::from(port)) }
}
