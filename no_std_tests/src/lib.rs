//! The device runtime shared by the firmware and the footprint probes: semihosting output and
//! exit, a heap that tracks its current and peak use, a `defmt` global logger that writes frames
//! to a semihosting file, a panic handler, native stack painting, and a tiny test harness.
//!
//! Targets: `thumbv7em-none-eabihf` (QEMU `mps2-an386`, Cortex-M4F) and
//! `riscv32imac-unknown-none-elf` (QEMU `virt`).

#![no_std]

extern crate alloc;

use alloc::string::String;
use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

#[cfg(target_arch = "arm")]
pub use cortex_m_rt::entry;
#[cfg(target_arch = "arm")]
pub use cortex_m_semihosting as sh;
#[cfg(target_arch = "riscv32")]
pub use riscv_rt::entry;
#[cfg(target_arch = "riscv32")]
pub use riscv_semihosting as sh;

/// The target the image was built for.
#[cfg(target_arch = "arm")]
pub const TARGET: &str = "thumbv7em-none-eabihf (Cortex-M4F, QEMU mps2-an386)";
/// The target the image was built for.
#[cfg(target_arch = "riscv32")]
pub const TARGET: &str = "riscv32imac-unknown-none-elf (QEMU virt)";

/// Prints a line on the host's stdout through semihosting.
#[macro_export]
macro_rules! println {
    ($($t:tt)*) => { $crate::sh::hprintln!($($t)*) };
}

/// Ends the emulation with exit code 0 (`ok`) or 1.
pub fn exit(ok: bool) -> ! {
    defmt_close();
    sh::debug::exit(if ok {
        sh::debug::EXIT_SUCCESS
    } else {
        sh::debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("PANIC {}", info);
    exit(false)
}

/// A fault (bad memory access, illegal instruction, ...) ends the run with a message instead of
/// the runtime's default endless loop.
#[cfg(target_arch = "arm")]
#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    println!("HARDFAULT pc={:#010x} lr={:#010x}", frame.pc(), frame.lr());
    exit(false)
}

/// A fault (bad memory access, illegal instruction, ...) ends the run with a message instead of
/// the runtime's default endless loop.
#[cfg(target_arch = "riscv32")]
#[export_name = "ExceptionHandler"]
fn exception_handler(_frame: &riscv_rt::TrapFrame) -> ! {
    println!(
        "EXCEPTION mcause={:#x} mepc={:#010x} mtval={:#010x}",
        riscv::register::mcause::read().bits(),
        riscv::register::mepc::read(),
        riscv::register::mtval::read()
    );
    exit(false)
}

// ---------------------------------------------------------------------------------------------
// Heap with a high-water mark
// ---------------------------------------------------------------------------------------------

/// Bytes of RAM given to the heap (of the board's 4 MiB on Cortex-M, 16 MiB mapped on RISC-V).
pub const HEAP_BYTES: usize = 3 * 1024 * 1024;

/// A heap that counts the bytes currently allocated (as requested by `Layout`), the peak since
/// the last [`TrackingHeap::reset_peak`], allocations, and failed allocations.
pub struct TrackingHeap {
    heap: embedded_alloc::LlffHeap,
    current: AtomicUsize,
    peak: AtomicUsize,
    allocations: AtomicUsize,
    failures: AtomicUsize,
}

impl TrackingHeap {
    const fn new() -> Self {
        TrackingHeap {
            heap: embedded_alloc::LlffHeap::empty(),
            current: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            allocations: AtomicUsize::new(0),
            failures: AtomicUsize::new(0),
        }
    }

    /// Bytes allocated now.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// The most bytes allocated at once since the last reset.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Starts a new high-water mark at the current use.
    pub fn reset_peak(&self) {
        self.peak.store(self.current(), Ordering::Relaxed);
    }

    /// Allocations made so far.
    pub fn allocations(&self) -> usize {
        self.allocations.load(Ordering::Relaxed)
    }

    /// Allocations the heap could not satisfy.
    pub fn failures(&self) -> usize {
        self.failures.load(Ordering::Relaxed)
    }

    /// Bytes the allocator itself reports as used (block sizes, including rounding).
    pub fn allocator_used(&self) -> usize {
        self.heap.used()
    }
}

unsafe impl GlobalAlloc for TrackingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let ptr = unsafe { self.heap.alloc(layout) };
        if ptr.is_null() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        } else {
            let now = self.current.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            self.peak.fetch_max(now, Ordering::Relaxed);
            self.allocations.fetch_add(1, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { self.heap.dealloc(ptr, layout) };
        self.current.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    // `realloc` is GlobalAlloc's default (alloc, copy, dealloc), so the peak includes the moment
    // both blocks exist, as it does on the device.
}

/// The global allocator.
#[global_allocator]
pub static HEAP: TrackingHeap = TrackingHeap::new();

static HEAP_READY: AtomicBool = AtomicBool::new(false);

/// Gives [`HEAP_BYTES`] of static RAM to the heap (once).
pub fn init_heap() {
    use core::mem::MaybeUninit;
    #[repr(C, align(16))]
    struct Arena([MaybeUninit<u8>; HEAP_BYTES]);
    static mut MEMORY: Arena = Arena([MaybeUninit::uninit(); HEAP_BYTES]);
    if HEAP_READY.swap(true, Ordering::AcqRel) {
        return;
    }
    // SAFETY: called once (guarded above), before any allocation; MEMORY is used only here.
    unsafe {
        HEAP.heap
            .init(core::ptr::addr_of_mut!(MEMORY) as usize, HEAP_BYTES)
    }
}

// ---------------------------------------------------------------------------------------------
// Native stack high-water mark
// ---------------------------------------------------------------------------------------------

const STACK_PAINT: u32 = 0xC0DE_57AC;

extern "C" {
    // Both cortex-m-rt and riscv-rt define these: the end of static RAM (where the stack may
    // grow down to) and the initial stack pointer.
    static __sheap: u32;
    static _stack_start: u32;
}

fn stack_bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are taken (no unsafe needed).
    (
        core::ptr::addr_of!(__sheap) as usize,
        core::ptr::addr_of!(_stack_start) as usize,
    )
}

#[inline(never)]
fn stack_pointer() -> usize {
    let marker = 0u8;
    core::ptr::addr_of!(marker) as usize
}

/// Fills the unused part of the stack with a pattern (call first thing in `main`).
pub fn paint_stack() {
    let (bottom, _) = stack_bounds();
    let limit = stack_pointer().saturating_sub(512) & !3;
    let mut addr = (bottom + 3) & !3;
    while addr < limit {
        // SAFETY: the words between the end of static RAM and below the live stack are unused.
        unsafe { core::ptr::write_volatile(addr as *mut u32, STACK_PAINT) };
        addr += 4;
    }
}

/// The deepest the native stack has reached since [`paint_stack`], in bytes, and its size.
pub fn stack_high_water() -> (usize, usize) {
    let (bottom, top) = stack_bounds();
    let mut addr = (bottom + 3) & !3;
    // SAFETY: reads of the painted region, which lies in RAM.
    while addr < top && unsafe { core::ptr::read_volatile(addr as *const u32) } == STACK_PAINT {
        addr += 4;
    }
    (top - addr, top - bottom)
}

// ---------------------------------------------------------------------------------------------
// defmt global logger: frames go to a semihosting file on the host (`defmt.bin` in QEMU's working
// directory), so they never mix with the human-readable lines on stdout. Decode them with
// `defmt-print -e IMAGE < defmt.bin`, or list them with no_std_tests/defmt-frames.py.
// ---------------------------------------------------------------------------------------------

#[defmt::global_logger]
struct SemihostingFileLogger;

static LOGGER_TAKEN: AtomicBool = AtomicBool::new(false);
static DEFMT_FD: AtomicIsize = AtomicIsize::new(-1);
static DEFMT_FRAMES: AtomicUsize = AtomicUsize::new(0);
static DEFMT_BYTES: AtomicUsize = AtomicUsize::new(0);
static mut ENCODER: defmt::Encoder = defmt::Encoder::new();
static mut FRAME_BUF: [u8; 256] = [0; 256];
static mut FRAME_LEN: usize = 0;

fn frame_flush() {
    // SAFETY: only called while the logger is acquired (single execution context).
    unsafe {
        let len = FRAME_LEN;
        let fd = DEFMT_FD.load(Ordering::Relaxed);
        if len > 0 && fd >= 0 {
            let buf = core::ptr::addr_of!(FRAME_BUF) as *const u8;
            sh::syscall!(WRITE, fd as usize, buf, len);
            DEFMT_BYTES.fetch_add(len, Ordering::Relaxed);
        }
        FRAME_LEN = 0;
    }
}

fn frame_push(mut bytes: &[u8]) {
    // SAFETY: only called while the logger is acquired (single execution context).
    unsafe {
        let buf = &mut *core::ptr::addr_of_mut!(FRAME_BUF);
        while !bytes.is_empty() {
            let room = buf.len() - FRAME_LEN;
            let n = room.min(bytes.len());
            buf[FRAME_LEN..FRAME_LEN + n].copy_from_slice(&bytes[..n]);
            FRAME_LEN += n;
            bytes = &bytes[n..];
            if FRAME_LEN == buf.len() {
                frame_flush();
            }
        }
    }
}

unsafe impl defmt::Logger for SemihostingFileLogger {
    fn acquire() {
        // No interrupt handler logs: a flag suffices to catch re-entrance.
        if LOGGER_TAKEN.swap(true, Ordering::Acquire) {
            panic!("defmt logger taken reentrantly");
        }
        // SAFETY: exclusive until release().
        unsafe { (*core::ptr::addr_of_mut!(ENCODER)).start_frame(frame_push) }
    }

    unsafe fn flush() {
        frame_flush();
    }

    unsafe fn release() {
        // SAFETY: acquired.
        unsafe { (*core::ptr::addr_of_mut!(ENCODER)).end_frame(frame_push) };
        frame_flush();
        DEFMT_FRAMES.fetch_add(1, Ordering::Relaxed);
        LOGGER_TAKEN.store(false, Ordering::Release);
    }

    unsafe fn write(bytes: &[u8]) {
        // SAFETY: acquired.
        unsafe { (*core::ptr::addr_of_mut!(ENCODER)).write(bytes, frame_push) }
    }
}

/// Opens (truncates) the host file that receives defmt frames. `name` must end with NUL.
pub fn defmt_open(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.last() != Some(&0) {
        return false;
    }
    // SAFETY: a NUL-terminated name and its length without the NUL, as SYS_OPEN expects.
    let fd = unsafe {
        sh::syscall!(
            OPEN,
            bytes.as_ptr(),
            sh::nr::open::W_TRUNC_BINARY,
            bytes.len() - 1
        )
    } as isize;
    if fd >= 0 {
        DEFMT_FD.store(fd, Ordering::Relaxed);
    }
    fd >= 0
}

/// Closes the defmt file (done by [`exit`]).
pub fn defmt_close() {
    let fd = DEFMT_FD.swap(-1, Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: an fd SYS_OPEN returned.
        unsafe { sh::syscall!(CLOSE, fd as usize) };
    }
}

/// Frames and bytes written to the defmt file.
pub fn defmt_written() -> (usize, usize) {
    (
        DEFMT_FRAMES.load(Ordering::Relaxed),
        DEFMT_BYTES.load(Ordering::Relaxed),
    )
}

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// Initialises the heap, paints the stack and opens the defmt file.
pub fn init() {
    init_heap();
    paint_stack();
    defmt_open("defmt.bin\0");
}

/// Counts cases and prints `PASS name` / `FAIL name: why` lines.
pub struct Suite {
    passed: u32,
    failed: u32,
}

impl Default for Suite {
    fn default() -> Self {
        Self::new()
    }
}

impl Suite {
    /// An empty suite.
    pub const fn new() -> Self {
        Suite {
            passed: 0,
            failed: 0,
        }
    }

    /// Runs one case.
    pub fn case(&mut self, name: &str, f: impl FnOnce() -> Result<(), String>) {
        match f() {
            Ok(()) => {
                self.passed += 1;
                println!("PASS {}", name);
                defmt::info!("PASS {=str}", name);
            }
            Err(why) => {
                self.failed += 1;
                println!("FAIL {}: {}", name, why);
                defmt::error!("FAIL {=str}: {=str}", name, why.as_str());
            }
        }
    }

    /// Prints the summary line and exits: code 0 if every case passed, 1 otherwise.
    pub fn finish(self) -> ! {
        let (used, size) = stack_high_water();
        println!("STACK native high-water {} of {} bytes", used, size);
        defmt::info!("{=u32} passed, {=u32} failed", self.passed, self.failed);
        let (frames, bytes) = defmt_written();
        println!(
            "DEFMT {} frames, {} bytes written to defmt.bin",
            frames, bytes
        );
        println!("{} passed, {} failed", self.passed, self.failed);
        exit(self.failed == 0 && self.passed > 0)
    }
}

/// Returns `Err(format!(...))` from the enclosing case unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($why:tt)*) => {
        if !$cond {
            return Err(::alloc::format!($($why)*));
        }
    };
}
