//! Load: validate + compile + link + instantiate, `Host::load` vs raw wasmi with the same Config
//! (eager, fuel on, strict limits) and store limits, for generated modules of 8 KiB .. 6 MiB and
//! the bundled plugins. Writes the actual module sizes to target/load_sizes.txt.
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use pluginhost_benches::*;
use std::hint::black_box;

fn load(c: &mut Criterion) {
    let host = pluginhost::Host::new(host_config());
    let cases = load_cases();
    let sizes: String = cases.iter().map(|c| format!("{} {}\n", c.name, c.wasm.len())).collect();
    let _ = std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/target/load_sizes.txt"), sizes);
    for case in &cases {
        let mut g = c.benchmark_group(format!("load/{}", case.name));
        g.sampling_mode(SamplingMode::Flat);
        // Small modules load in about a millisecond: more samples steady their medians.
        g.sample_size(if case.wasm.len() < 100_000 { 40 } else { 10 });
        g.throughput(Throughput::Bytes(case.wasm.len() as u64));
        host.load(&case.wasm, full_grant()).expect("host load");
        raw_load(&case.wasm);
        g.bench_function("host", |b| b.iter(|| host.load(black_box(&case.wasm), full_grant()).unwrap()));
        g.bench_function("wasmi", |b| b.iter(|| raw_load(black_box(&case.wasm))));
        g.finish();
    }
}

criterion_group! { name = benches; config = criterion(); targets = load }
criterion_main!(benches);
