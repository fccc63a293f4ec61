//! Invoke round trip: 1 KiB in, 1 KiB out. `Host::invoke` vs raw wasmi with equivalent host
//! functions (fuel off and on) vs Extism's `Plugin::call` with a guest using its kernel ABI.
use criterion::{criterion_group, criterion_main, Criterion};
use pluginhost::Grant;
use pluginhost_benches::*;
use std::hint::black_box;

fn roundtrip(c: &mut Criterion) {
    let input: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut g = c.benchmark_group("roundtrip/1k");

    let host = pluginhost::Host::new(host_config());
    let wasm = wat::parse_str(ROUNDTRIP_WAT).unwrap();
    let mut plugin = host.load(&wasm, Grant::none()).unwrap();
    assert_eq!(host.invoke(&mut plugin, "run", &input).unwrap(), input);
    g.bench_function("host", |b| b.iter(|| host.invoke(&mut plugin, "run", black_box(&input)).unwrap()));

    for fuel in [false, true] {
        let mut raw = RawRoundTrip::new(fuel);
        assert_eq!(raw.invoke(&input), input);
        let name = if fuel { "wasmi_fuel" } else { "wasmi" };
        g.bench_function(name, |b| b.iter(|| raw.invoke(black_box(&input))));
    }

    #[cfg(feature = "peer-extism")]
    {
        let wasm = wat::parse_str(EXTISM_ROUNDTRIP_WAT).unwrap();
        let mut plugin = extism::Plugin::new(&wasm, [], false).expect("extism plugin");
        let out: Vec<u8> = plugin.call::<&[u8], &[u8]>("run", &input).unwrap().to_vec();
        assert_eq!(out, input);
        g.bench_function("extism", |b| {
            b.iter(|| plugin.call::<&[u8], &[u8]>("run", black_box(&input)).unwrap().to_vec())
        });
    }
    g.finish();
}

criterion_group! { name = benches; config = criterion(); targets = roundtrip }
criterion_main!(benches);
