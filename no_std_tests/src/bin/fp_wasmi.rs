//! Footprint probe: wasmi used the way pluginhost uses it (validation, lazy translation, fuel,
//! strict module limits, store limits, a linker with a host function that charges fuel and reads
//! guest memory, module inspection, resumable calls, trap classification) but without
//! pluginhost. `fp-host` minus this is the host's own code.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use pluginhost_firmware::{println, HEAP};
use wasmi::{
    Caller, CompilationMode, Config, EnforcedLimits, Engine, Error, ExternType, Linker, Module,
    Store, StoreLimits, StoreLimitsBuilder, TypedResumableCall,
};

static COMPUTE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/compute.wasm"));

struct State {
    limits: StoreLimits,
    output: Vec<u8>,
}

fn run() -> Result<(usize, u64), Error> {
    let mut config = Config::default();
    config
        .consume_fuel(true)
        .fuel_cost(wasmi::CustomFuelCosts {
            bytes_copied_per_fuel: 64,
            fuel_per_bytes_translated: 0,
            fuel_per_bytes_validated: 0,
        })
        .compilation_mode(CompilationMode::LazyTranslation)
        .wasm_multi_memory(false)
        .wasm_custom_page_sizes(false)
        .set_max_recursion_depth(128)
        .set_min_stack_height(1_000)
        .set_max_stack_height(32 << 10)
        .set_max_cached_stacks(0)
        .set_max_cached_translation_allocs(0)
        .set_translated_code_budget(Some(4 << 10))
        .set_retranslation_fuel_per_byte(7);
    config.enforced_limits(EnforcedLimits::strict());
    let engine = Engine::new(&config);
    let module = Module::new_static(&engine, COMPUTE)?;
    let mut imports = 0;
    for import in module.imports() {
        if let ExternType::Func(ty) = import.ty() {
            imports += ty.params().len() + import.module().len() + import.name().len();
        }
    }
    let exports = module.exports().count();
    let custom = module
        .custom_sections()
        .map(|s| s.data().len())
        .sum::<usize>();
    let mut linker = Linker::<State>::new(&engine);
    linker.func_wrap(
        "pluginhost",
        "output_write",
        |mut caller: Caller<'_, State>, ptr: i32, len: i32| -> Result<i32, Error> {
            let fuel = caller.get_fuel()?;
            caller.set_fuel(fuel.saturating_sub(10 + len as u64 / 8))?;
            let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
                return Ok(-2);
            };
            let (data, state) = memory.data_and_store_mut(&mut caller);
            let (start, end) = (
                ptr as u32 as usize,
                ptr as u32 as usize + len as u32 as usize,
            );
            match data.get(start..end) {
                Some(bytes) if state.output.len() + bytes.len() <= 4096 => {
                    state.output.extend_from_slice(bytes);
                    Ok(len)
                }
                _ => Ok(-2),
            }
        },
    )?;
    let limits = StoreLimitsBuilder::new()
        .memory_size(128 << 10)
        .table_elements(1000)
        .instances(1)
        .tables(2)
        .memories(1)
        .trap_on_grow_failure(false)
        .build();
    let mut store = Store::new(
        &engine,
        State {
            limits,
            output: Vec::new(),
        },
    );
    store.limiter(|s| &mut s.limits);
    store.set_fuel(2_000_000)?;
    let instance = linker.instantiate_and_start(&mut store, &module)?;
    let run = instance.get_typed_func::<(), i32>(&store, "run")?;
    store.set_fuel(20_000)?;
    let mut used = 0u64;
    let mut call = run.call_resumable(&mut store, ())?;
    let status = loop {
        used += 20_000 - store.get_fuel()?;
        match call {
            TypedResumableCall::Finished(status) => break status,
            TypedResumableCall::OutOfFuel(invocation) => {
                store.set_fuel(invocation.required_fuel().max(20_000))?;
                call = invocation.resume(&mut store)?;
            }
            TypedResumableCall::HostTrap(invocation) => {
                return Err(Error::new(alloc::format!(
                    "host trap {:?}",
                    invocation.host_error().as_trap_code()
                )));
            }
        }
    };
    Ok((
        store.data().output.len() + imports + exports + custom + status as usize,
        used,
    ))
}

#[pluginhost_firmware::entry]
fn main() -> ! {
    pluginhost_firmware::init();
    match run() {
        Ok((n, fuel)) => {
            println!("fp-wasmi: {} {} heap {}", n, fuel, HEAP.current());
            println!("1 passed, 0 failed");
            pluginhost_firmware::exit(true)
        }
        Err(e) => {
            println!("fp-wasmi: {} {:?}", e, e.as_trap_code());
            println!("0 passed, 1 failed");
            pluginhost_firmware::exit(false)
        }
    }
}
