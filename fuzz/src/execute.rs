//! `execute`: wasm-smith modules that import the host ABI from `pluginhost`, export `memory` and
//! `run: () -> i32`, run under arbitrary grants, inputs and fuel budgets with in-memory back-ends.
//!
//! Input: [`Params`] (grant, budget, invocations, slicing), then the bytes wasm-smith draws from.
//!
//! Checks:
//! - `load` succeeds or fails with an error from the closed set; `NotGranted` only for a
//!   capability the grant lacks; never `UnknownImport`, `ImportSignature` or `InvalidModule`
//!   (wasm-smith is configured with exactly the features the host enables).
//! - Every invocation ends in a `Completion` or one of `FuelExhausted`, `Trap` (never
//!   `Trap::Host`), `Rebuild` (with a load error from the closed set); never `Busy`,
//!   `InputTooLarge`, `NoEntry` for `run`, `Engine`, `Finished`.
//! - `fuel_used <= budget` for every completion and error, with a slack of zero; output within
//!   `Limits::output_bytes`.
//! - Every request a back-end receives is admitted by the grant model under the scope it names
//!   (guarded back-ends panic otherwise).
//! - Determinism: when `Params::replay` is set, a second plugin loaded from the same bytes and
//!   run through the same invocations in random fuel slices (`Host::start` + `Call::resume`)
//!   gives identical statuses, outputs, errors and fuel.

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use pluginhost::{Completion, Host, InvokeError, LoadError, Plugin, Step, HOST_FUNCTIONS};

use crate::common::{self, GrantSpec, Memory};
use crate::models::grant::Model;

/// The inputs the fuzzer chooses besides the module.
#[derive(Arbitrary, Debug)]
pub struct Params {
    /// The grant.
    pub grant: GrantSpec,
    /// Add every capability to the grant (without scopes), so that any import links.
    pub link_all: bool,
    /// Fuel per invocation: `1 + fuel % 300_000`.
    pub fuel: u32,
    /// Up to four invocations: entry choice and input.
    pub invocations: Vec<(bool, Vec<u8>)>,
    /// Replay in slices on a second plugin and compare.
    pub replay: bool,
    /// Slice sizes for the replay (cycled); 0 means "1".
    pub slices: Vec<u16>,
}

/// A module whose imports wasm-smith may choose from: every host function of the ABI.
pub fn imports_module() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut wat = String::from("(module\n");
        for f in HOST_FUNCTIONS {
            wat.push_str(&format!(
                "  (import \"pluginhost\" \"{}\" (func (param{}) (result i32)))\n",
                f.name,
                " i32".repeat(f.params)
            ));
        }
        wat.push(')');
        wat::parse_str(&wat).expect("imports module")
    })
}

/// A module with the exports every generated module must have.
pub fn exports_module() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        wat::parse_str(
            r#"(module
                (memory (export "memory") 1)
                (func (export "run") (result i32) (i32.const 0)))"#,
        )
        .expect("exports module")
    })
}

/// The wasm-smith configuration: the features the host enables (wasmi 2.0 built without
/// `simd` and `memory64`; the host turns off multi-memory and custom page sizes), the ABI's
/// imports only, the required exports.
pub fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        available_imports: Some(imports_module().to_vec()),
        exports: Some(exports_module().to_vec()),
        max_imports: HOST_FUNCTIONS.len(),
        // The required `memory` export brings the one memory; a limit of 1 would add another.
        max_memories: 0,
        min_memories: 0,
        max_memory32_bytes: 4 << 20,
        memory64_enabled: false,
        custom_page_sizes_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        wide_arithmetic_enabled: false,
        custom_descriptors_enabled: false,
        compact_imports_enabled: false,
        reference_types_enabled: true,
        bulk_memory_enabled: true,
        multi_value_enabled: true,
        tail_call_enabled: true,
        extended_const_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        max_tables: 2,
        max_table_elements: 2_000,
        max_funcs: 40,
        max_instructions: 200,
        max_globals: 20,
        max_data_segments: 8,
        max_element_segments: 8,
        max_elements: 64,
        max_types: 40,
        allow_start_export: true,
        ..wasm_smith::Config::default()
    }
}

/// One invocation's outcome, for comparing runs.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Done(Completion),
    Failed(InvokeError),
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(params) = Params::arbitrary(&mut u) else {
        return;
    };
    let Ok(module) = wasm_smith::Module::new(smith_config(), &mut u) else {
        return;
    };
    run_module(&params, &module.to_bytes());
}

/// Loads `wasm` and runs the invocations of `params` (also used by the replay of seeds).
pub fn run_module(params: &Params, wasm: &[u8]) {
    let budget = 1 + u64::from(params.fuel) % 300_000;
    let mut spec = params.grant.clone();
    if params.link_all {
        spec.caps |= 0x0f;
    }
    let (grant, model) = spec.build();
    let config = common::small_config(budget);
    let memory = Memory::new(Some((16, 4096)), 1024);
    let host = Host::with_backends(config, memory.guarded(&model));
    let mut plugin = match host.load(wasm, grant.clone()) {
        Ok(p) => p,
        Err(e) => {
            check_generated_load_error(&e, budget, &model);
            return;
        }
    };
    let invocations: Vec<(&str, &[u8])> = params
        .invocations
        .iter()
        .take(4)
        .map(|(other, input)| {
            let entry = if *other { "missing" } else { "run" };
            (entry, &input[..input.len().min(512)])
        })
        .collect();
    let first: Vec<Outcome> = invocations
        .iter()
        .map(|(entry, input)| {
            let outcome = match host.call(&mut plugin, entry, input) {
                Ok(done) => Outcome::Done(done),
                Err(e) => Outcome::Failed(e),
            };
            check_outcome(&outcome, &plugin, budget, &model, *entry == "run", &config);
            outcome
        })
        .collect();

    if !params.replay {
        return;
    }
    let memory2 = Memory::new(Some((16, 4096)), 1024);
    let host2 = Host::with_backends(config, memory2.guarded(&model));
    let mut plugin2 = host2
        .load(wasm, grant)
        .unwrap_or_else(|e| panic!("second load of the same module failed: {e:?}"));
    let mut slices = params.slices.iter().cycle();
    for ((entry, input), expected) in invocations.iter().zip(&first) {
        let outcome = match host2.start(&mut plugin2, entry, input) {
            Err(e) => Outcome::Failed(e),
            Ok(mut call) => loop {
                let slice = slices.next().map_or(u64::MAX, |s| u64::from(*s).max(1));
                match call.resume(slice) {
                    Ok(Step::Done(done)) => break Outcome::Done(done),
                    Ok(Step::Paused) => {
                        assert!(call.fuel_used() < budget, "paused with no fuel left");
                    }
                    Err(e) => break Outcome::Failed(e),
                }
            },
        };
        assert_eq!(
            &outcome, expected,
            "sliced run of {entry} differs from the uninterrupted one"
        );
    }
    assert_eq!(memory.files(), memory2.files(), "back-end state differs");
    assert_eq!(memory.net.dial_count(), memory2.net.dial_count());
    assert_eq!(memory.proc.runs(), memory2.proc.runs());
}

fn check_generated_load_error(e: &LoadError, budget: u64, model: &Model) {
    match e {
        LoadError::UnknownImport { .. }
        | LoadError::ImportSignature { .. }
        | LoadError::InvalidModule(_) => {
            panic!("a wasm-smith module within the host's features was refused: {e:?}")
        }
        _ => common::check_load_error(e, budget, model),
    }
}

fn check_outcome(
    outcome: &Outcome,
    plugin: &Plugin,
    budget: u64,
    model: &Model,
    entry_exists: bool,
    config: &pluginhost::HostConfig,
) {
    let stats = plugin.stats();
    match outcome {
        Outcome::Done(done) => {
            assert!(entry_exists, "ran a missing entry");
            assert!(
                done.fuel_used <= budget,
                "used {} > budget {budget}",
                done.fuel_used
            );
            assert!(done.output.len() <= config.limits.output_bytes);
            assert_eq!(stats.last_fuel_used, done.fuel_used);
            assert!(plugin.is_live());
        }
        Outcome::Failed(e) => {
            common::check_invoke_error(e, budget, model, entry_exists);
            if let Some(used) = e.fuel_used() {
                assert_eq!(stats.last_fuel_used, used);
                assert!(!plugin.is_live(), "instance not discarded after {e:?}");
            }
        }
    }
}
