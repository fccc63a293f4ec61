//! The plugin runtime (feature `rt`, wasm32 only): a global allocator and a panic handler.
//!
//! The allocator is dlmalloc (the one Rust's own `std` uses on wasm32) over `memory.grow`; when
//! the host's memory limit refuses to grow, allocation fails, and the default allocation-error
//! handler panics. The panic handler executes `unreachable`, so every panic is a trap the host
//! sees; no panic message is formatted, which keeps the formatting machinery out of the binary.
//! No `unsafe` code here.

#[cfg(all(feature = "rt", target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

#[cfg(all(feature = "rt", target_arch = "wasm32"))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
