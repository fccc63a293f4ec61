//! Compute workloads for the throughput benchmarks. No imports, so every engine runs the same
//! module. Each timed export returns 0 (so `Host::invoke` accepts it) and leaves its checksum in
//! `RESULT`, which `result()` returns for verification outside the timing loop.
#![no_std]

use core::ptr::{addr_of, addr_of_mut};
use core::sync::atomic::{AtomicU32, Ordering};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

static RESULT: AtomicU32 = AtomicU32::new(0);
/// Read at run time so nothing is constant-folded.
static PARAM: AtomicU32 = AtomicU32::new(25);

const DATA_LEN: usize = 64 * 1024;
static mut DATA: [u8; DATA_LEN] = [0; DATA_LEN];
const SORT_LEN: usize = 10_000;
static mut SORT: [u32; SORT_LEN] = [0; SORT_LEN];

#[no_mangle]
pub extern "C" fn result() -> i32 {
    RESULT.load(Ordering::Relaxed) as i32
}

// ---- fib(25), recursive -------------------------------------------------------------------

fn fib(n: u32) -> u32 {
    if n < 2 {
        n
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

#[no_mangle]
pub extern "C" fn fib25() -> i32 {
    RESULT.store(fib(PARAM.load(Ordering::Relaxed)), Ordering::Relaxed);
    0
}

// ---- sort 10,000 u32 (LCG data, core's unstable sort) --------------------------------------

#[no_mangle]
pub extern "C" fn sort10k() -> i32 {
    // SAFETY: single-threaded wasm; the static is only touched here.
    let v = unsafe { &mut *addr_of_mut!(SORT) };
    let mut x: u32 = PARAM.load(Ordering::Relaxed);
    for e in v.iter_mut() {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *e = x;
    }
    v.sort_unstable();
    let mut sum = 0u32;
    for (i, e) in v.iter().enumerate().step_by(97) {
        sum = sum.wrapping_add(e.wrapping_mul(i as u32 + 1));
    }
    RESULT.store(sum, Ordering::Relaxed);
    0
}

// ---- SHA-256 over 64 KiB -------------------------------------------------------------------

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

fn compress(h: &mut [u32; 8], block: &[u8]) {
    let mut w = [0u32; 64];
    for i in 0..16 {
        w[i] = u32::from_be_bytes([block[4 * i], block[4 * i + 1], block[4 * i + 2], block[4 * i + 3]]);
    }
    for i in 16..64 {
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = *h;
    for i in 0..64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        hh = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
        *x = x.wrapping_add(y);
    }
}

fn sha256(data: &[u8]) -> [u32; 8] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];
    let mut chunks = data.chunks_exact(64);
    for block in &mut chunks {
        compress(&mut h, block);
    }
    let rest = chunks.remainder();
    let mut last = [0u8; 128];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] = 0x80;
    let blocks = if rest.len() < 56 { 1 } else { 2 };
    let bits = (data.len() as u64) * 8;
    last[blocks * 64 - 8..blocks * 64].copy_from_slice(&bits.to_be_bytes());
    for block in last[..blocks * 64].chunks_exact(64) {
        compress(&mut h, block);
    }
    h
}

#[no_mangle]
pub extern "C" fn sha256_64k() -> i32 {
    // SAFETY: single-threaded wasm; the static is only touched here.
    let data = unsafe { &mut *addr_of_mut!(DATA) };
    let mut x: u32 = PARAM.load(Ordering::Relaxed);
    for chunk in data.chunks_exact_mut(4) {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    let h = sha256(unsafe { &*addr_of!(DATA) });
    RESULT.store(h[0], Ordering::Relaxed);
    0
}

// ---- whole-process workloads (scripts/bench.sh runs them through each engine's CLI) ---------
// Each runs long enough (about 0.3 s) that process start-up and compilation are a small share.

/// A load/xor/store loop over 64 KiB, 4,096 passes.
#[no_mangle]
pub extern "C" fn xor_loop() -> i32 {
    // SAFETY: single-threaded wasm; the static is only touched here.
    let data = unsafe { &mut *addr_of_mut!(DATA) };
    let mut x: u32 = PARAM.load(Ordering::Relaxed);
    for _ in 0..4096 {
        for word in data.chunks_exact_mut(4) {
            let v = u32::from_le_bytes([word[0], word[1], word[2], word[3]]) ^ x;
            x = x.rotate_left(5).wrapping_add(v);
            word.copy_from_slice(&v.to_le_bytes());
        }
    }
    RESULT.store(x, Ordering::Relaxed);
    0
}

/// fib(36), recursive.
#[no_mangle]
pub extern "C" fn fib_long() -> i32 {
    RESULT.store(fib(PARAM.load(Ordering::Relaxed) + 11), Ordering::Relaxed);
    0
}

/// [`sort10k`] 256 times.
#[no_mangle]
pub extern "C" fn sort_long() -> i32 {
    let mut sum = 0u32;
    for _ in 0..256 {
        sort10k();
        sum = sum.wrapping_add(RESULT.load(Ordering::Relaxed));
    }
    RESULT.store(sum, Ordering::Relaxed);
    0
}

/// [`sha256_64k`] 128 times.
#[no_mangle]
pub extern "C" fn sha_long() -> i32 {
    let mut sum = 0u32;
    for _ in 0..128 {
        sha256_64k();
        sum = sum.wrapping_add(RESULT.load(Ordering::Relaxed));
    }
    RESULT.store(sum, Ordering::Relaxed);
    0
}
