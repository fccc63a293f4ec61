mod bounded;
use bounded::*;
use pluginhost::*;
use std::time::Instant;

#[test]
fn probe2() {
    let host = Host::new(HostConfig::default());
    let rec = wasm(r#"(module (import "pluginhost" "input_len" (func $len (result i32))) (memory (export "memory") 1)
      (func $r (param $n i32) (if (local.get $n) (then (call $r (i32.sub (local.get $n) (i32.const 1))))))
      (func (export "run") (result i32) (call $r (call $len)) (i32.const 0)))"#);
    let mut p = host.load(&rec, Grant::none()).unwrap();
    for d in [500usize, 509, 510, 511, 512, 513] {
        let r = host.call(&mut p, "run", &vec![0u8; d]);
        eprintln!("depth {d}: {:?}", r.map(|c| c.fuel_used));
    }
    for locals in [100usize, 1000, 10000] {
        let w = wasm(&format!(r#"(module (memory (export "memory") 1)
          (func $r (local {}) (call $r))
          (func (export "run") (result i32) (call $r) (i32.const 0)))"#, "i64 ".repeat(locals)));
        let mut p = host.load(&w, Grant::none()).unwrap();
        let (r, u) = measure(|| host.call(&mut p, "run", b""));
        eprintln!("recursion with {locals} locals: {:?} {u:?}", r);
    }
    let (r, u) = measure(|| host.load(&wasm(r#"(module (memory 65536))"#), Grant::none()).map(|_| ()));
    eprintln!("65536 pages {r:?} {u:?}");
    let w = wasm(r#"(module (memory (export "memory") 1) (table $t 1 funcref)
      (func (export "run") (result i32) (local $i i32)
        (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (i32.const 1000)))
          (drop (table.grow $t (ref.null func) (i32.const 1000000)))
          (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
        (drop (table.grow $t (ref.null func) (i32.const 9999)))
        (table.size $t)))"#);
    let mut p = host.load(&w, Grant::none()).unwrap();
    let (r, u) = measure(|| host.call(&mut p, "run", b""));
    eprintln!("table {r:?} {u:?}");
    for (n, nops) in [(10_000u32, 40u32), (10_001, 40)] {
        let m = many_functions_module(n, nops);
        let t = Instant::now();
        let (r, u) = measure(|| host.load(&m, Grant::none()).map(|_| ()));
        eprintln!("{n}x{nops}: {} bytes {:?} {u:?} {:?}", m.len(), r, t.elapsed());
    }
    for locals in [30000usize, 32000, 40000, 60000, 65000] {
        let w = wat::parse_str(&format!(r#"(module (func $f (local {}) ))"#, "i64 ".repeat(locals))).unwrap();
        eprintln!("locals {locals}: {:?}", host.load(&w, Grant::none()).map(|_| ()));
    }
    let t = Instant::now();
    let r = host.load(&wasm(r#"(module (func $s (loop $l (br $l))) (start $s))"#), Grant::none()).map(|_| ());
    eprintln!("start loop {r:?} {:?}", t.elapsed());
}
