mod bounded;
use bounded::*;
use pluginhost::*;
use std::time::Instant;

#[test]
fn probe_mem() {
    let host = Host::new(HostConfig::default());
    for (name, body) in [
        ("page by page", "(block $d (loop $l (br_if $d (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l)))"),
        ("255 then 1", "(drop (memory.grow (i32.const 254))) (drop (memory.grow (i32.const 1))) (drop (memory.grow (i32.const 1)))"),
        ("129 then 1", "(drop (memory.grow (i32.const 128))) (drop (memory.grow (i32.const 1)))"),
    ] {
        let w = wasm(&format!(r#"(module (memory (export "memory") 1) (func (export "run") (result i32) {body} (memory.size)))"#));
        let mut p = host.load(&w, Grant::none()).unwrap();
        let (c, peak) = measure(|| host.call(&mut p, "run", b"").unwrap());
        eprintln!("{name}: pages {} peak {} ({} MiB)", c.status, peak, peak as f64 / MIB as f64);
    }
    for n in [1_000u32, 10_000, 1_000_000] {
        let m = many_functions_module(n);
        let t = Instant::now();
        let (r, peak) = measure(|| host.load(&m, Grant::none()).map(|_| ()));
        eprintln!("{n} funcs ({} bytes): {:?} peak {peak} in {:?}", m.len(), r.map_err(|e| e.kind()), t.elapsed());
    }
    for locals in [10u32, 1000, 10_000, 50_000] {
        let w = wasm(&format!(r#"(module (memory (export "memory") 1)
          (func $f (local {}) )
          (func (export "run") (result i32) (local $i i32)
            (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (i32.const 1000))) (call $f) (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
            (i32.const 0)))"#, "i64 ".repeat(locals as usize)));
        let mut p = host.load(&w, Grant::none()).unwrap();
        let t = Instant::now();
        let (c, peak) = measure(|| host.call(&mut p, "run", b""));
        eprintln!("locals {locals}: {:?} peak {peak} in {:?}", c.map(|c| c.fuel_used), t.elapsed());
    }
}
