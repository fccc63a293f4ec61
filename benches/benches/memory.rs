//! Not a timing: heap bytes held per loaded plugin, beyond its linear memory, host vs raw wasmi,
//! measured with a counting global allocator. Prints `MEM <module> <who> <live> <linear> <beyond>`.
use pluginhost_benches::*;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let host = pluginhost::Host::new(host_config());
    let mut modules: Vec<(String, Vec<u8>)> = vec![
        ("compute_guest".into(), GUEST.to_vec()),
        ("roundtrip_wat".into(), wat::parse_str(ROUNDTRIP_WAT).unwrap()),
        ("gen_64k".into(), generated_module(64 << 10)),
        ("gen_512k".into(), generated_module(512 << 10)),
    ];
    for case in load_cases().into_iter().filter(|c| c.name.starts_with("plugin_")) {
        modules.push((case.name, case.wasm));
    }
    const N: usize = 8;
    for (name, wasm) in &modules {
        let linear = {
            let raw = raw_load(wasm);
            raw.instance.get_memory(&raw.store, "memory").map_or(0, |m| m.data_size(&raw.store))
        };
        let before = live_bytes();
        let plugins: Vec<_> = (0..N).map(|_| host.load(wasm, full_grant()).unwrap()).collect();
        let host_per = (live_bytes() - before) / N;
        drop(plugins);
        let before = live_bytes();
        let raws: Vec<_> = (0..N).map(|_| raw_load(wasm)).collect();
        let raw_per = (live_bytes() - before) / N;
        drop(raws);
        println!("MEM {name} host {host_per} {linear} {}", host_per as i64 - linear as i64);
        println!("MEM {name} wasmi {raw_per} {linear} {}", raw_per as i64 - linear as i64);
    }
}
