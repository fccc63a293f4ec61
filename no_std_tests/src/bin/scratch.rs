#![no_std]
#![no_main]
extern crate alloc;
use alloc::vec::Vec;
use pluginhost_firmware::{println, HEAP};
use wasmi::{Config, CompilationMode, Engine, Linker, Module, Store};
static SPIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/spin.wasm"));

fn probe(tag: &str) {
    let v: Vec<u64> = (0..64).collect();
    println!("{} heap={} ok {}", tag, HEAP.current(), v.len());
}

#[pluginhost_firmware::entry]
fn main() -> ! {
    pluginhost_firmware::init_heap();
    pluginhost_firmware::paint_stack();
    for fuel in [1_000u64, 10_000, 20_000, 40_000, 100_000] {
        let mut config = Config::default();
        config.consume_fuel(true).compilation_mode(CompilationMode::Eager);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, SPIN).unwrap();
        let linker = Linker::<()>::new(&engine);
        let mut store = Store::new(&engine, ());
        store.set_fuel(fuel).unwrap();
        let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
        let run = instance.get_typed_func::<(), i32>(&store, "run").unwrap();
        let r = run.call(&mut store, ());
        println!("fuel {} -> {:?} left {:?}", fuel, r.map_err(|e| e.as_trap_code()), store.get_fuel());
        probe("after");
        println!("stack {:?}", pluginhost_firmware::stack_high_water());
    }
    pluginhost_firmware::exit(true)
}
