//! Footprint probe: the device runtime alone (start-up, heap, semihosting, panic handler,
//! formatting), without wasmi or pluginhost. scripts/footprint.sh subtracts it.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use pluginhost_firmware::{println, HEAP};

#[pluginhost_firmware::entry]
fn main() -> ! {
    pluginhost_firmware::init();
    let v: Vec<u32> = (0..16).collect();
    println!(
        "fp-baseline: sum {} heap {}",
        v.iter().sum::<u32>(),
        HEAP.current()
    );
    println!("1 passed, 0 failed");
    pluginhost_firmware::exit(true)
}
