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
//!
//! Half the inputs (the top bit of `Params::fuel`) run under `Translation::Lazy` with a
//! translated-code budget of [`TINY_CODE_BUDGET`] bytes, so that functions are evicted while
//! others run and translated again (wasmi patch 0009) under the same checks.

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use pluginhost::{
    Completion, Host, InvokeError, LoadError, Plugin, Step, Translation, HOST_FUNCTIONS,
};

use crate::common::{self, GrantSpec, Memory};
use crate::models::grant::Model;

/// The translated-code budget of the lazily translated half of the inputs: small enough that
/// nearly every translation evicts.
pub const TINY_CODE_BUDGET: usize = 256;

/// The inputs the fuzzer chooses besides the module.
#[derive(Arbitrary, Debug)]
pub struct Params {
    /// The grant.
    pub grant: GrantSpec,
    /// Add every capability to the grant (without scopes), so that any import links.
    pub link_all: bool,
    /// Fuel per invocation: `1 + fuel % 100_000`; its top bit picks lazy translation under a
    /// tiny translated-code budget.
    pub fuel: u32,
    /// Up to four invocations: entry choice (`255` asks for a missing export) and input.
    pub invocations: Vec<(u8, Vec<u8>)>,
    /// Run the script module ([`script_module`]) instead of a wasm-smith module: each input is
    /// a script of host calls.
    pub script: bool,
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

/// Addresses and texts of the script module's data segments.
pub const SCRIPT_DATA: &[(u32, &str)] = &[
    (16, "/data/a.txt"),
    (32, "/data/sub/new"),
    (48, "echo.test"),
    (64, "/usr/bin/tool\\00-x\\00"),
    (96, "/data/run.sh\\00"),
    (112, "/data/sub/b.txt"),
    (128, "/etc/secret"),
    (144, "127.0.0.1"),
];

/// Where the script module copies its input.
pub const SCRIPT_AT: u32 = 1024;

/// A module that runs its input as a script of host calls: records of five little-endian `i32`
/// (`selector, a, b, c, d`); selector `% (n + 1)` (`n` host functions) picks
/// `HOST_FUNCTIONS[selector]` called with the first arguments, or `n` for `memory.grow(a)`. The results (4 bytes each) are written to the
/// output at the end; `run` returns 0. Paths, hosts and argument vectors the back-ends know are
/// in data segments ([`SCRIPT_DATA`]); the script itself lands at [`SCRIPT_AT`].
pub fn script_module() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let n = HOST_FUNCTIONS.len();
        let mut wat = String::from("(module\n");
        for (i, f) in HOST_FUNCTIONS.iter().enumerate() {
            wat.push_str(&format!(
                "  (import \"pluginhost\" \"{}\" (func $f{i} (param{}) (result i32)))\n",
                f.name,
                " i32".repeat(f.params)
            ));
        }
        wat.push_str("  (memory (export \"memory\") 2)\n");
        for (at, text) in SCRIPT_DATA {
            wat.push_str(&format!("  (data (i32.const {at}) \"{text}\")\n"));
        }
        let read = HOST_FUNCTIONS
            .iter()
            .position(|f| f.name == "input_read")
            .expect("input_read");
        let write = HOST_FUNCTIONS
            .iter()
            .position(|f| f.name == "output_write")
            .expect("output_write");
        wat.push_str(&format!(
            r#"  (func (export "run") (result i32)
    (local $n i32) (local $i i32) (local $p i32) (local $out i32)
    (local.set $n (call $f{read} (i32.const {SCRIPT_AT}) (i32.const 8192)))
    (local.set $out (i32.const 65536))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (i32.add (local.get $i) (i32.const 20)) (local.get $n)))
        (local.set $p (i32.add (i32.const {SCRIPT_AT}) (local.get $i)))
        (i32.store (local.get $out)
          (call $dispatch
            (i32.load (local.get $p)) (i32.load offset=4 (local.get $p))
            (i32.load offset=8 (local.get $p)) (i32.load offset=12 (local.get $p))
            (i32.load offset=16 (local.get $p))))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 20)))
        (br $next)))
    (drop (call $f{write} (i32.const 65536) (i32.sub (local.get $out) (i32.const 65536))))
    (i32.const 0))
  (func $dispatch (param $s i32) (param $a i32) (param $b i32) (param $c i32) (param $d i32)
    (result i32)
"#
        ));
        // Nested blocks: case k runs after the end of block $bk.
        wat.push_str("    (block $default\n");
        for k in (0..=n).rev() {
            wat.push_str(&format!("    (block $b{k}\n"));
        }
        let labels: String = (0..=n).map(|k| format!(" $b{k}")).collect();
        wat.push_str(&format!(
            "      (br_table{labels} $default (i32.rem_u (local.get $s) (i32.const {})))\n",
            n + 1
        ));
        for (k, f) in HOST_FUNCTIONS.iter().enumerate() {
            let args: String = ["$a", "$b", "$c", "$d"]
                .iter()
                .take(f.params)
                .map(|a| format!(" (local.get {a})"))
                .collect();
            wat.push_str(&format!("    ) (return (call $f{k}{args}))\n"));
        }
        wat.push_str(&format!(
            "    ) (return (memory.grow (local.get $a))))\n    (i32.const -100)))\n"
        ));
        wat::parse_str(&wat).unwrap_or_else(|e| panic!("script module: {e}\n{wat}"))
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
    if params.script {
        // The rest of the input is the first invocation's script.
        let script = u.take_rest();
        run_module(&params, script_module(), Some(script));
        return;
    }
    let Ok(module) = wasm_smith::Module::new(smith_config(), &mut u) else {
        return;
    };
    run_module(&params, &module.to_bytes(), None);
}

/// Loads `wasm` and runs `first` (if any, as `run`) and then the invocations of `params` (at
/// most four in all; at least one).
pub fn run_module(params: &Params, wasm: &[u8], first: Option<&[u8]>) {
    let budget = 1 + u64::from(params.fuel) % 100_000;
    let mut spec = params.grant.clone();
    if params.link_all || params.script {
        spec.caps |= 0x0f;
    }
    let (grant, model) = spec.build();
    let config = if params.fuel >> 31 == 1 {
        common::small_config(budget)
            .with_translation(Translation::Lazy)
            .with_limits(common::small_limits().with_translated_code_bytes(Some(TINY_CODE_BUDGET)))
    } else {
        common::small_config(budget)
    };
    common::note(|| format!("execute translation: {:?}", config.translation));
    let memory = Memory::new(Some((16, 4096)), 1024);
    let host = Host::with_backends(config, memory.guarded(&model));
    let mut plugin = match host.load(wasm, grant.clone()) {
        Ok(p) => p,
        Err(e) => {
            common::note(|| format!("execute load error: {}", e.kind()));
            check_generated_load_error(&e, budget, &model);
            return;
        }
    };
    let limit = config.limits.input_bytes;
    let mut invocations: Vec<(&str, &[u8])> = first
        .map(|input| ("run", &input[..input.len().min(limit)]))
        .into_iter()
        .chain(params.invocations.iter().map(|(entry, input)| {
            let entry = if *entry == 255 { "missing" } else { "run" };
            (entry, &input[..input.len().min(limit)])
        }))
        .take(4)
        .collect();
    if invocations.is_empty() {
        invocations.push(("run", b""));
    }
    let first: Vec<Outcome> = invocations
        .iter()
        .map(|(entry, input)| {
            let outcome = match host.call(&mut plugin, entry, input) {
                Ok(done) => Outcome::Done(done),
                Err(e) => Outcome::Failed(e),
            };
            check_outcome(&outcome, &plugin, budget, &model, *entry == "run", &config);
            common::note(|| match &outcome {
                Outcome::Done(d) => format!("execute done status={}", d.status.signum()),
                Outcome::Failed(e) => format!("execute failed: {}", e.kind()),
            });
            outcome
        })
        .collect();

    common::note(|| {
        let calls = plugin.stats().calls;
        format!(
            "execute gated calls: allowed>0 {} denied>0 {}",
            calls.total_allowed() > 0,
            calls.total_denied() > 0
        )
    });
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
