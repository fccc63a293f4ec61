//! Loads one bundled plugin 200 times through the host or raw wasmi, for callgrind:
//! `valgrind --tool=callgrind target/release/examples/loadprof host|wasmi [plugin_file_stem]`.
use pluginhost_benches::*;
fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "host".into());
    let name = std::env::args().nth(2).unwrap_or_else(|| "hostile_spin".into());
    let wasm = std::fs::read(bundled_dir().join(format!("{name}.wasm"))).unwrap();
    let host = pluginhost::Host::new(host_config());
    for _ in 0..200 {
        if which == "host" {
            std::hint::black_box(host.load(&wasm, full_grant()).unwrap());
        } else {
            std::hint::black_box(raw_load(&wasm));
        }
    }
}
