//! Throughput: the same compute module (guest/) on the host (fuel on, via `Host::invoke`), raw
//! wasmi (fuel off and on; eager), and the peers. Only the run is timed: every module is compiled
//! and instantiated once, outside the loop.
use criterion::{criterion_group, criterion_main, Criterion};
use pluginhost::Grant;
use pluginhost_benches::*;
use std::hint::black_box;

fn throughput(c: &mut Criterion) {
    for workload in WORKLOADS {
        let expected = reference_result(workload);
        let mut g = c.benchmark_group(format!("throughput/{workload}"));

        // ours: Host::invoke (fuel on, resumable call, pool permit, input/output buffers)
        let host = pluginhost::Host::new(host_config());
        let mut plugin = host.load(GUEST, Grant::none()).expect("load");
        assert_eq!(host.invoke(&mut plugin, workload, b"").unwrap(), b"");
        assert_eq!(host.call(&mut plugin, "result", b"").unwrap().status, expected);
        g.bench_function("host", |b| b.iter(|| host.invoke(&mut plugin, black_box(workload), b"").unwrap()));

        for fuel in [false, true] {
            let mut raw = RawInstance::new(GUEST, fuel);
            let f = raw.func(workload);
            assert_eq!(raw.call(&f), 0);
            let name = if fuel { "wasmi_fuel" } else { "wasmi" };
            g.bench_function(name, |b| b.iter(|| raw.call(&f)));
        }

        #[cfg(feature = "peer-wasm3")]
        {
            // wasm3 0.5.0 through its C API; the result is checked before anything is timed.
            let rt = pluginhost_benches::wasm3::Wasm3::new(GUEST).expect("wasm3 load");
            let f = rt.func(workload).expect("wasm3 function");
            let r = rt.func("result").expect("wasm3 result function");
            assert_eq!(rt.call(f), Ok(0), "wasm3 {workload}");
            assert_eq!(rt.call(r), Ok(expected), "wasm3 {workload} result");
            g.bench_function("wasm3", |b| b.iter(|| rt.call(f).unwrap()));
        }

        #[cfg(feature = "peer-wasmtime")]
        for (name, target) in [("pulley", Some("pulley64")), ("cranelift", None)] {
            let mut config = wasmtime::Config::new();
            if let Some(t) = target {
                config.target(t).expect("pulley target");
            }
            let engine = wasmtime::Engine::new(&config).expect("wasmtime engine");
            let module = wasmtime::Module::new(&engine, GUEST).expect("wasmtime compile");
            let mut store = wasmtime::Store::new(&engine, ());
            let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("instantiate");
            let f = instance.get_typed_func::<(), i32>(&mut store, workload).unwrap();
            let r = instance.get_typed_func::<(), i32>(&mut store, "result").unwrap();
            assert_eq!(f.call(&mut store, ()).unwrap(), 0);
            assert_eq!(r.call(&mut store, ()).unwrap(), expected);
            g.bench_function(name, |b| b.iter(|| f.call(&mut store, ()).unwrap()));
        }
        g.finish();
    }
}

criterion_group! { name = benches; config = criterion(); targets = throughput }
criterion_main!(benches);
