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
            let env = wasm3::Environment::new().expect("wasm3 env");
            let rt = env.create_runtime(1 << 20).expect("wasm3 runtime");
            let module = rt.parse_and_load_module(GUEST).expect("wasm3 load");
            let f = module.find_function::<(), i32>(workload);
            let r = module.find_function::<(), i32>("result");
            // wasm3-rs 0.3.1 fails some calls ("unknown value_type"): report and skip, never time
            // an engine whose result was not checked.
            match (f.as_ref().map(|f| f.call()), r.as_ref().map(|r| r.call())) {
                (Ok(Ok(0)), Ok(Ok(got))) if got == expected => {
                    let f = f.unwrap();
                    g.bench_function("wasm3", |b| b.iter(|| f.call().unwrap()));
                }
                other => eprintln!("WASM3-SKIPPED {workload}: {other:?}"),
            }
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
