//! Direct calls to the imports with arguments the SDK never produces: pointers past the end of
//! linear memory, a wrapping range, a handle that was never opened, a non-UTF-8 path, an unknown
//! log level, a too-small exec buffer. A correct host answers each with an error code.

#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

/// The imports this module abuses.
#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "pluginhost")]
    unsafe extern "C" {
        pub fn input_read(dst: i32, len: i32) -> i32;
        pub fn output_write(src: i32, len: i32) -> i32;
        #[link_name = "log"]
        pub fn host_log(level: i32, src: i32, len: i32) -> i32;
        pub fn fs_size(path: i32, path_len: i32) -> i32;
        pub fn net_send(handle: i32, src: i32, len: i32) -> i32;
        pub fn process_exec(argv: i32, argv_len: i32, dst: i32, dst_len: i32) -> i32;
    }

    /// The first address past the end of linear memory.
    pub fn end_of_memory() -> i32 {
        (core::arch::wasm32::memory_size(0) * 65536) as i32
    }
}

/// Off wasm32 there is no host; every call "fails" with -99.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::missing_safety_doc)]
mod imports {
    pub unsafe fn input_read(_: i32, _: i32) -> i32 {
        -99
    }
    pub unsafe fn output_write(_: i32, _: i32) -> i32 {
        -99
    }
    pub unsafe fn host_log(_: i32, _: i32, _: i32) -> i32 {
        -99
    }
    pub unsafe fn fs_size(_: i32, _: i32) -> i32 {
        -99
    }
    pub unsafe fn net_send(_: i32, _: i32, _: i32) -> i32 {
        -99
    }
    pub unsafe fn process_exec(_: i32, _: i32, _: i32, _: i32) -> i32 {
        -99
    }
    pub fn end_of_memory() -> i32 {
        0x7fff_0000
    }
}

fn addr(bytes: &[u8]) -> i32 {
    bytes.as_ptr() as usize as u32 as i32
}

/// Each abuse and the host's raw answer.
pub fn attempts() -> [(&'static str, i32); 7] {
    let end = imports::end_of_memory();
    let path = b"/keys/device.key";
    let not_utf8 = b"/keys/\xff\xfe";
    let argv = b"/bin/true\0";
    let mut small = [0u8; 3];
    let message = b"hostile: level 99";
    [
        (
            "input_read into memory past the end",
            // SAFETY: `end` is past the end of linear memory: nothing of ours lives there, and
            // the host must refuse the range rather than write anywhere.
            unsafe { imports::input_read(end, 16) },
        ),
        (
            "output_write from a range that wraps around 4 GiB",
            // SAFETY: the host only reads; the range is invalid and must be refused.
            unsafe { imports::output_write(0xFFFF_FFF0_u32 as i32, 0x20) },
        ),
        (
            "fs_size with a path pointer past the end",
            // SAFETY: the host only reads; the range is invalid and must be refused.
            unsafe { imports::fs_size(end, path.len() as i32) },
        ),
        (
            "fs_size with a non-UTF-8 path",
            // SAFETY: `not_utf8` is a live slice the host only reads.
            unsafe { imports::fs_size(addr(not_utf8), not_utf8.len() as i32) },
        ),
        (
            "net_send on handle 7, never opened",
            // SAFETY: `path` is a live slice the host only reads.
            unsafe { imports::net_send(7, addr(path), path.len() as i32) },
        ),
        (
            "process_exec with a 3-byte result buffer",
            // SAFETY: `argv` is read; `small` is ours, 3 bytes, and the host may write at most 3.
            unsafe {
                imports::process_exec(
                    addr(argv),
                    argv.len() as i32,
                    small.as_mut_ptr() as usize as u32 as i32,
                    small.len() as i32,
                )
            },
        ),
        (
            "log at level 99",
            // SAFETY: `message` is a live slice the host only reads.
            unsafe { imports::host_log(99, addr(message), message.len() as i32) },
        ),
    ]
}
