//! pluginhost: `Config::set_translated_code_budget` evicts translated functions that no frame is
//! in, translates them again on their next call, and never evicts code an execution is in.

use wasmi::{
    Caller,
    CompilationMode,
    Config,
    CustomFuelCosts,
    Engine,
    Extern,
    Linker,
    Module,
    ResumableCall,
    Store,
    Val,
};

/// Functions in each module.
const FUNCS: u32 = 12;
/// `i32.add`s in each function body: about 1 KB of translated code each.
const ADDS: u32 = 64;

/// A function `$f{i}` returning its argument plus `i + ADDS`.
fn bulky_func(i: u32, call_next: Option<&str>) -> String {
    let mut body = format!("(func $f{i} (param i32) (result i32) local.get 0 i32.const {i} i32.add");
    for _ in 0..ADDS {
        body.push_str(" i32.const 1 i32.add");
    }
    if let Some(next) = call_next {
        body.push_str(&format!(" call {next}"));
    }
    body.push_str(")\n");
    body
}

/// `run(x)` calls `$f0` .. `$f{FUNCS-1}` in turn, twice, and a host function that calls back
/// into `inner` in between; `run_plain(x)` does the same without the host function.
fn sequence_wat() -> String {
    let mut wat = String::from(
        "(module (import \"env\" \"reenter\" (func $reenter (param i32) (result i32)))\n",
    );
    for i in 0..FUNCS {
        wat.push_str(&bulky_func(i, None));
    }
    for (name, reenter) in [("run", true), ("run_plain", false)] {
        wat.push_str(&format!(
            "(func (export \"{name}\") (param i32) (result i32) (local $round i32)\n"
        ));
        wat.push_str("(loop $again\n");
        for i in 0..FUNCS {
            wat.push_str(&format!("local.get 0 call $f{i} local.set 0\n"));
            if reenter && i == FUNCS / 2 {
                wat.push_str("local.get 0 call $reenter local.set 0\n");
            }
        }
        wat.push_str(
            "local.get $round i32.const 1 i32.add local.tee $round i32.const 2 i32.lt_u br_if $again)\n",
        );
        wat.push_str("local.get 0)\n");
    }
    // `inner(x)`, called from the host: runs the second half of the functions.
    wat.push_str("(func (export \"inner\") (param i32) (result i32) local.get 0\n");
    for i in FUNCS / 2..FUNCS {
        wat.push_str(&format!("call $f{i}\n"));
    }
    wat.push_str("))");
    wat
}

/// `chain(x)`: `$f0` calls `$f1` ... calls `$f{FUNCS-1}`, so every function is on the stack.
fn chain_wat() -> String {
    let mut wat = String::from("(module\n");
    for i in 0..FUNCS {
        let next = (i + 1 < FUNCS).then(|| format!("$f{}", i + 1));
        wat.push_str(&bulky_func(i, next.as_deref()));
    }
    wat.push_str("(func (export \"chain\") (param i32) (result i32) local.get 0 call $f0))");
    wat
}

fn per_func(i: u32) -> i32 {
    (i + ADDS) as i32
}

fn expected_run(x: i32) -> i32 {
    let inner: i32 = (FUNCS / 2..FUNCS).map(per_func).sum();
    expected_run_plain(x) + 2 * inner
}

fn expected_run_plain(x: i32) -> i32 {
    x + 2 * (0..FUNCS).map(per_func).sum::<i32>()
}

fn engine(budget: Option<usize>) -> Engine {
    engine_with(budget, None)
}

/// With `free_translation`, a first translation costs no fuel (but a translation after an
/// eviction does).
fn engine_with(budget: Option<usize>, free_translation: Option<()>) -> Engine {
    let mut config = Config::default();
    config
        .consume_fuel(true)
        .compilation_mode(CompilationMode::LazyTranslation)
        .set_translated_code_budget(budget);
    if free_translation.is_some() {
        config.fuel_cost(CustomFuelCosts {
            bytes_copied_per_fuel: 64,
            fuel_per_bytes_translated: 0,
            fuel_per_bytes_validated: 0,
        });
    }
    Engine::new(&config)
}

fn instantiate(engine: &Engine, wat: &str) -> (Store<()>, wasmi::Instance) {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    store.set_fuel(u64::MAX / 2).unwrap();
    let mut linker = <Linker<()>>::new(engine);
    linker
        .func_wrap(
            "env",
            "reenter",
            |mut caller: Caller<'_, ()>, x: i32| -> Result<i32, wasmi::Error> {
                let Some(Extern::Func(inner)) = caller.get_export("inner") else {
                    panic!("missing export `inner`")
                };
                let inner = inner.typed::<i32, i32>(&caller)?;
                inner.call(&mut caller, x)
            },
        )
        .unwrap();
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    (store, instance)
}

/// Runs `name(7)`; returns its result, the fuel it took and the engine's evictable code after it.
fn run_sequence(name: &str, budget: Option<usize>) -> (i32, u64, usize) {
    run_sequence_with(name, engine(budget))
}

fn run_sequence_with(name: &str, engine: Engine) -> (i32, u64, usize) {
    let (mut store, instance) = instantiate(&engine, &sequence_wat());
    let run = instance.get_typed_func::<i32, i32>(&store, name).unwrap();
    let before = store.get_fuel().unwrap();
    let result = run.call(&mut store, 7).unwrap();
    let fuel = before - store.get_fuel().unwrap();
    (result, fuel, engine.evictable_code_bytes())
}

#[test]
#[cfg_attr(not(feature = "wat"), ignore)]
fn without_a_budget_nothing_is_counted_or_evicted() {
    let (result, _, evictable) = run_sequence("run", None);
    assert_eq!(result, expected_run(7));
    assert_eq!(evictable, 0);
}

#[test]
#[cfg_attr(not(feature = "wat"), ignore)]
fn a_budget_evicts_and_translates_again() {
    let (result, fuel_unbounded, evictable_unbounded) = run_sequence("run_plain", Some(usize::MAX));
    assert_eq!(result, expected_run_plain(7));
    // `run_plain` itself is on the stack throughout, and about as large as two of the others.
    let average = evictable_unbounded / (FUNCS as usize + 2);
    let budget = 3 * average;
    let (result, fuel, evictable) = run_sequence("run_plain", Some(budget));
    assert_eq!(result, expected_run_plain(7));
    assert!(
        evictable <= budget + 3 * average,
        "kept {evictable} bytes, budget {budget}"
    );
    assert!(evictable < evictable_unbounded / 2);
    // Each translation after an eviction is charged again, the same in every run.
    assert!(fuel > fuel_unbounded, "{fuel} <= {fuel_unbounded}");
    assert_eq!(run_sequence("run_plain", Some(budget)).1, fuel);
}

#[test]
#[cfg_attr(not(feature = "wat"), ignore)]
fn a_translation_after_an_eviction_is_charged_even_if_translation_is_free() {
    let (_, fuel_kept, _) = run_sequence_with("run_plain", engine_with(None, Some(())));
    let (result, fuel, _) = run_sequence_with("run_plain", engine_with(Some(1), Some(())));
    assert_eq!(result, expected_run_plain(7));
    // Every function is translated twice: once free, once after its eviction, at 7 fuel per
    // byte of its body.
    assert!(fuel > fuel_kept + 7 * 100 * u64::from(FUNCS), "{fuel} vs {fuel_kept}");
}

#[test]
#[cfg_attr(not(feature = "wat"), ignore)]
fn a_nested_call_does_not_evict_the_code_of_its_caller() {
    // While the host function runs `inner`, `run` is parked on the native stack: nothing may be
    // evicted then, and `run` continues in its own code afterwards.
    let (result, _, evictable) = run_sequence("run", Some(1));
    assert_eq!(result, expected_run(7));
    let (_, _, evictable_unbounded) = run_sequence("run", Some(usize::MAX));
    assert!(evictable < evictable_unbounded);
}

#[test]
#[cfg_attr(not(feature = "wat"), ignore)]
fn code_on_the_call_stack_is_never_evicted() {
    let engine = engine(Some(1));
    let (mut store, instance) = instantiate(&engine, &chain_wat());
    let chain = instance
        .get_typed_func::<i32, i32>(&store, "chain")
        .unwrap();
    let expected = 5 + (0..FUNCS).map(per_func).sum::<i32>();
    for _ in 0..3 {
        assert_eq!(chain.call(&mut store, 5).unwrap(), expected);
    }
}

/// Runs `run_plain(7)` resumably in slices of `slice` fuel; returns its result, the slices and
/// the fuel it took, unpaid translation fuel included.
fn run_in_slices(engine: &Engine, slice: u64) -> (i32, u32, u64) {
    let (mut store, instance) = instantiate(engine, &sequence_wat());
    let run = instance.get_func(&store, "run_plain").unwrap();
    let mut results = [Val::I32(0)];
    let mut used = 0;
    store.set_fuel(slice).unwrap();
    let mut call = run
        .call_resumable(&mut store, &[Val::I32(7)], &mut results)
        .unwrap();
    let mut slices = 1;
    let mut given = slice;
    loop {
        used += given - store.get_fuel().unwrap() + store.take_unpaid_fuel();
        assert!(slices < 100_000, "no progress");
        match call {
            ResumableCall::Finished => break,
            ResumableCall::OutOfFuel(invocation) => {
                slices += 1;
                // At least what the next block needs, so every slice makes progress.
                given = slice.max(invocation.required_fuel());
                store.set_fuel(given).unwrap();
                call = invocation.resume(&mut store, &mut results).unwrap();
            }
            ResumableCall::HostTrap(_) => panic!("unexpected host trap"),
        }
    }
    (results[0].i32().unwrap(), slices, used)
}

#[test]
#[cfg_attr(not(feature = "wat"), ignore)]
fn a_resumed_call_keeps_the_code_it_was_suspended_in() {
    // First translations are free here: wasmi reports a first translation that runs out of fuel
    // inside an execution as an error, not as a resumable call.
    let engine = engine_with(Some(2_000), Some(()));
    let (result, slices, used) = run_in_slices(&engine, u64::MAX / 2);
    assert_eq!((result, slices), (expected_run_plain(7), 1));
    for slice in [50, 100, 999] {
        let engine = engine_with(Some(2_000), Some(()));
        let (result, slices, sliced_used) = run_in_slices(&engine, slice);
        assert_eq!(result, expected_run_plain(7));
        assert!(slices > 3, "{slices} slices of {slice}");
        // The fuel is the same however the call is sliced, translations after an eviction
        // included (charged in part to one slice, the rest recorded as unpaid).
        assert_eq!(sliced_used, used, "slices of {slice}");
    }
}

#[test]
#[cfg_attr(not(feature = "wat"), ignore)]
fn a_suspended_call_keeps_other_executions_from_evicting() {
    let engine = engine_with(Some(1), Some(()));
    let (mut store, instance) = instantiate(&engine, &sequence_wat());
    let run = instance.get_func(&store, "run_plain").unwrap();
    let mut results = [Val::I32(0)];
    store.set_fuel(300).unwrap();
    let ResumableCall::OutOfFuel(suspended) = run
        .call_resumable(&mut store, &[Val::I32(7)], &mut results)
        .unwrap()
    else {
        panic!("expected to run out of fuel")
    };
    // Another execution while `run` is suspended: it may not evict `run`'s code.
    store.set_fuel(u64::MAX / 2).unwrap();
    let inner = instance.get_typed_func::<i32, i32>(&store, "inner").unwrap();
    let kept = engine.evictable_code_bytes();
    assert!(kept > 0);
    assert_eq!(
        inner.call(&mut store, 1).unwrap(),
        1 + (FUNCS / 2..FUNCS).map(per_func).sum::<i32>()
    );
    assert!(engine.evictable_code_bytes() > kept);
    let call = suspended.resume(&mut store, &mut results).unwrap();
    assert!(matches!(call, ResumableCall::Finished));
    assert_eq!(results[0].i32(), Some(expected_run_plain(7)));
}
