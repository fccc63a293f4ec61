//! Runs one benchmarked operation `n` times after one warm-up run, for instruction counting under
//! callgrind (`scripts/bench.sh` runs it with two values of `n` and takes the difference, so setup
//! cancels out and the per-operation count is exact and repeatable on a noisy machine).
//!
//! `icount <case> <n> [arg]`, cases: `throughput-{host,wasmi,wasmi_fuel} <workload>`,
//! `roundtrip-{host,wasmi}`, `hostcall-{memfs,nullfs,raw}`, `load-{host,wasmi} <plugin stem>`.
use pluginhost::Grant;
use pluginhost_benches::*;
use std::hint::black_box;

fn repeat(n: usize, mut op: impl FnMut()) {
    op();
    for _ in 0..n {
        op();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (case, n) = (args[1].as_str(), args[2].parse::<usize>().expect("n"));
    let arg = args.get(3).cloned().unwrap_or_default();
    let input: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 3) as u8).collect();
    match case {
        "throughput-host" => {
            let host = pluginhost::Host::new(host_config());
            let mut plugin = host.load(GUEST, Grant::none()).unwrap();
            repeat(n, || drop(black_box(host.invoke(&mut plugin, &arg, b"").unwrap())));
        }
        "throughput-wasmi" | "throughput-wasmi_fuel" => {
            let mut raw = RawInstance::new(GUEST, case.ends_with("fuel"));
            let f = raw.func(&arg);
            repeat(n, || assert_eq!(raw.call(&f), 0));
        }
        "roundtrip-host" => {
            let host = pluginhost::Host::new(host_config());
            let wasm = wat::parse_str(ROUNDTRIP_WAT).unwrap();
            let mut plugin = host.load(&wasm, Grant::none()).unwrap();
            repeat(n, || drop(black_box(host.invoke(&mut plugin, "run", black_box(&input)).unwrap())));
        }
        "roundtrip-wasmi" => {
            let mut raw = RawRoundTrip::new(false);
            repeat(n, || drop(black_box(raw.invoke(black_box(&input)))));
        }
        "hostcall-memfs" | "hostcall-nullfs" => {
            let host = if case.ends_with("memfs") { memfs_host() } else { nullfs_host() };
            let wasm = wat::parse_str(hostcall_wat("pluginhost", "fs_write")).unwrap();
            let mut plugin = host.load(&wasm, fs_grant()).unwrap();
            repeat(n, || drop(black_box(host.invoke(&mut plugin, "run", b"").unwrap())));
        }
        "hostcall-raw" => {
            let mut raw = RawCopy::new();
            repeat(n, || assert_eq!(raw.run(), 0));
        }
        "load-host" | "load-wasmi" => {
            let wasm = std::fs::read(bundled_dir().join(format!("{arg}.wasm"))).unwrap();
            let host = pluginhost::Host::new(host_config());
            if case == "load-host" {
                repeat(n, || drop(black_box(host.load(black_box(&wasm), full_grant()).unwrap())));
            } else {
                repeat(n, || drop(black_box(raw_load(black_box(&wasm)))));
            }
        }
        other => panic!("unknown case {other}"),
    }
}
