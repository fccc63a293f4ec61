//! Footprint probe: pluginhost as the firmware builds it (every capability feature and defmt
//! logging, no `std`, no `report`), used through its whole public surface (conformance, load
//! under a grant, invoke, typed invoke, fuel slices, stats, errors as text) with the in-memory
//! back-ends.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::sync::Arc;

use pluginhost::{
    Backends, Grant, Host, HostConfig, Limits, MemoryFilesystem, MemoryNetwork,
    MemoryProcessRunner, Step, Translation,
};
use pluginhost_firmware::{println, HEAP};

static COMPUTE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/compute.wasm"));

/// Logs a failed step's error with defmt (interned: its text is not in the image) and names
/// the step.
fn failed<E: defmt::Format>(step: &'static str) -> impl Fn(E) -> &'static str {
    move |e| {
        defmt::error!("fp-host: {=str}: {}", step, e);
        step
    }
}

fn run() -> Result<(u64, usize), &'static str> {
    let fs = Arc::new(MemoryFilesystem::new());
    fs.create_dir("/data");
    let backends = Backends::unavailable()
        .with_filesystem(fs)
        .with_network(Arc::new(MemoryNetwork::new()))
        .with_process(Arc::new(MemoryProcessRunner::new()));
    let config = HostConfig::DEFAULT
        .with_limits(Limits::EMBEDDED)
        .with_fuel(2_000_000)
        .with_translation(Translation::Lazy);
    let host = Host::with_backends(config, backends);
    let report = host.conformance(COMPUTE);
    if !report.ok() {
        return Err("conformance");
    }
    let grant = Grant::none()
        .with_spec("fs.write=/data")
        .map_err(failed("grant"))?;
    let mut plugin = host.load_static(COMPUTE, grant).map_err(failed("load"))?;
    let output = host
        .invoke(&mut plugin, "run", &[])
        .map_err(failed("invoke"))?;
    let done = {
        let mut call = host
            .start(&mut plugin, "run", &[])
            .map_err(failed("start"))?;
        loop {
            if let Step::Done(done) = call.resume(20_000).map_err(failed("resume"))? {
                break done;
            }
        }
    };
    let typed: Result<u32, _> = host.invoke_typed(&mut plugin, "run", &7u32);
    let stats = plugin.stats();
    defmt::info!("fp-host: {}", stats);
    Ok((
        done.fuel_used + stats.invocations,
        output.len() + report.checks.len() + usize::from(typed.is_err()),
    ))
}

#[pluginhost_firmware::entry]
fn main() -> ! {
    pluginhost_firmware::init();
    match run() {
        Ok((fuel, n)) => {
            println!("fp-host: {} {} heap {}", fuel, n, HEAP.current());
            println!("1 passed, 0 failed");
            pluginhost_firmware::exit(true)
        }
        Err(e) => {
            println!("fp-host: {}", e);
            println!("0 passed, 1 failed");
            pluginhost_firmware::exit(false)
        }
    }
}
