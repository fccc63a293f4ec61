//! The plugin runtime (feature `rt`, wasm32 only): a global allocator and a panic handler.
//!
//! The allocator is [talc](https://crates.io/crates/talc) over the plugin's own linear memory.
//! It starts with what the initial memory holds beyond the stack and static data (from the
//! linker's `__heap_base` to its `__heap_end`), and only then asks for pages with
//! `memory.grow`, extending the heap. A plugin whose heap fits in that space never grows its
//! memory: dlmalloc, which `std` uses on wasm32, took every byte of its heap from `memory.grow`
//! and left the rest of the first page unused. When the host's memory limit refuses to grow,
//! allocation fails, and the default allocation-error handler panics.
//!
//! The panic handler executes `unreachable`, so every panic is a trap the host sees; no panic
//! message is formatted, which keeps the formatting machinery out of the binary.

#[cfg(all(feature = "rt", target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: talc::cell::TalcSyncCell<heap::InitialMemoryThenGrow, talc::wasm::WasmBinning> =
    talc::cell::TalcSyncCell::new_wasm(heap::InitialMemoryThenGrow::new());

#[cfg(all(feature = "rt", target_arch = "wasm32"))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// The allocator's source of memory; `unsafe` because it hands talc raw regions of linear memory.
#[cfg(all(feature = "rt", target_arch = "wasm32"))]
#[allow(unsafe_code)]
mod heap {
    use core::alloc::Layout;
    use core::arch::wasm32::memory_grow;
    use core::ptr::NonNull;

    use talc::base::binning::Binning;
    use talc::base::Talc;
    use talc::source::Source;

    /// A WebAssembly page.
    const PAGE: usize = 64 * 1024;

    /// What talc needs beyond an allocation's own bytes and alignment, rounded up generously (a
    /// chunk's header and the heap's bookkeeping); if a grow falls short, talc asks again.
    const OVERHEAD: usize = 64;

    unsafe extern "C" {
        /// Defined by the linker: the first byte after the stack and static data.
        static __heap_base: u8;
        /// Defined by the linker: the end of the module's initial memory.
        static __heap_end: u8;
    }

    /// First the unused rest of the initial memory, then pages from `memory.grow`.
    #[derive(Debug)]
    pub struct InitialMemoryThenGrow {
        /// Whether the rest of the initial memory has been handed to talc (at most once).
        initial_claimed: bool,
        /// The end of the newest heap region, which a grow right after it extends.
        end: Option<NonNull<u8>>,
    }

    impl InitialMemoryThenGrow {
        pub const fn new() -> Self {
            Self {
                initial_claimed: false,
                end: None,
            }
        }
    }

    // SAFETY: `acquire` hands talc only memory that nothing else uses, each byte once: the bytes
    // from the linker's `__heap_base` to its `__heap_end` (after the stack and static data, up to
    // the end of the initial memory), and pages `memory.grow` has just added. It never calls an
    // allocator.
    unsafe impl Source for InitialMemoryThenGrow {
        fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
            if !talc.source.initial_claimed {
                talc.source.initial_claimed = true;
                let base = core::ptr::addr_of!(__heap_base) as usize;
                let end = core::ptr::addr_of!(__heap_end) as usize;
                if base < end {
                    // SAFETY: see the impl.
                    if let Some(end) = unsafe { talc.claim(base as *mut u8, end - base) } {
                        talc.source.end = Some(end);
                        // talc asks again if the allocation does not fit.
                        return Ok(());
                    }
                }
            }
            let needed = layout
                .size()
                .saturating_add(layout.align())
                .saturating_add(OVERHEAD);
            let pages = needed.div_ceil(PAGE);
            let previous_pages = memory_grow::<0>(pages);
            if previous_pages == usize::MAX {
                return Err(());
            }
            let grown_bytes = pages.checked_mul(PAGE).ok_or(())?;
            let grown = previous_pages.checked_mul(PAGE).ok_or(())?;
            let grown_end = grown.checked_add(grown_bytes).ok_or(())?;
            let end = match talc.source.end {
                // SAFETY: the heap ended where the new pages begin: extend it over them.
                Some(end) if end.as_ptr() as usize == grown => {
                    Some(unsafe { talc.extend(end, grown_end as *mut u8) })
                }
                // SAFETY: the pages were just added; nothing else uses them.
                _ => unsafe { talc.claim(grown as *mut u8, grown_bytes) },
            };
            talc.source.end = Some(end.ok_or(())?);
            Ok(())
        }
    }
}
