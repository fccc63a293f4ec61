//! A loaded plugin: its own engine, compiled module, store and instance, instantiated with a
//! linker built from the capability table restricted to its grant (and dropped after).

use alloc::string::{String, ToString};
use alloc::sync::Arc;

use wasmi::{
    CompilationMode, Config, CustomFuelCosts, EnforcedLimits, Engine, ExternType, Instance, Linker,
    Module, Store, TypedFunc,
};

use super::config::{HostConfig, Limits, Translation};
use super::error::{text, LoadError};
use super::fault::{compile_error, load_error};
use super::logs::GuestLogs;
use super::state::{slice_charged, HostState, Ledger};
use super::stats::{DenialLog, PluginStats, Usage};
use crate::abi;
use crate::backend::Backends;
use crate::grant::Grant;
use pluginhost_proto::manifest::ManifestError;

/// How a plugin's linker is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkMode {
    /// Only host functions whose capability the grant holds; any other import fails the load.
    Granted,
    /// Every host function; gated ones deny (the grant is empty) and count each attempt. Used by
    /// the conformance check to observe a plugin.
    Probe,
}

#[cfg(feature = "transient")]
mod transient;

/// A plugin loaded by a [`Host`](crate::Host), ready to invoke.
///
/// After any trap or fuel exhaustion its instance is discarded and rebuilt from the compiled
/// module before the next invocation: linear memory, globals and tables start over from the
/// module's initial state. Call counters and statistics are kept. Under
/// `Residency::Transient` (feature `transient`) it holds no module between invocations.
pub struct Plugin {
    module: Module,
    /// How its linker is built. The linker itself is dropped once the module is instantiated (the
    /// store holds the host functions then) and built again when the instance is rebuilt.
    mode: LinkMode,
    pub(crate) store: Store<HostState>,
    pub(crate) instance: Option<Instance>,
    /// The last entry point looked up in the live instance, by name.
    entry: Option<(String, TypedFunc<(), i32>)>,
    pub(crate) fuel_budget: u64,
    pub(crate) stats: PluginStats,
    /// Whether the last invocation was stopped by its fuel budget.
    pub(crate) last_fuel_exhausted: bool,
    /// `Some` under `Residency::Transient`: how to load the module again.
    #[cfg(feature = "transient")]
    transient: Option<transient::Transient>,
}

impl core::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name())
            .field("grant", &self.grant())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// wasmi's dynamic fuel costs with translation and validation free: with lazy translation a
/// function is translated on its first call, and charging that to the calling invocation would
/// make the first invocation cost more than the next ones. Copies keep wasmi's default price.
const FUEL_COSTS: CustomFuelCosts = CustomFuelCosts {
    bytes_copied_per_fuel: 64,
    fuel_per_bytes_translated: 0,
    fuel_per_bytes_validated: 0,
};

/// Fuel charged per byte of wasm body when a function evicted under
/// [`Limits::translated_code_bytes`] is translated again: the price of a translation under
/// wasmi's default fuel costs. A first translation is not charged.
pub const RETRANSLATION_FUEL_PER_BYTE: u32 = 7;

/// The size a value stack starts at: wasmi's default minimum.
const VALUE_STACK_START_BYTES: usize = 1_000;

/// The wasmi [`Config`] of every plugin's engine under `limits` and `translation`: for
/// comparisons with wasmi itself (the benches' raw wasmi) and replays of the host's steps
/// (the firmware's heap breakdown) that must run wasmi exactly as the host does.
///
/// The whole module is validated at load either way; [`Translation`] only decides when functions
/// are translated, and fuel is the same for both (translation and validation are not charged),
/// unless [`Limits::translated_code_bytes`] makes a function be translated again
/// ([`RETRANSLATION_FUEL_PER_BYTE`]).
pub fn engine_config(limits: &Limits, translation: Translation) -> Config {
    let mut config = Config::default();
    config
        .consume_fuel(true)
        .fuel_cost(FUEL_COSTS)
        .compilation_mode(match translation {
            Translation::Eager => CompilationMode::Eager,
            Translation::Lazy => CompilationMode::LazyTranslation,
        })
        .wasm_multi_memory(false)
        .wasm_custom_page_sizes(false)
        .set_max_recursion_depth(limits.max_recursion_depth)
        // wasmi refuses a maximum below its minimum (1,000 bytes by default): lower the minimum
        // first when the limit is that small.
        .set_min_stack_height(limits.value_stack_bytes.min(VALUE_STACK_START_BYTES))
        .set_max_stack_height(limits.value_stack_bytes)
        // An engine belongs to one plugin and lives as long as it: scratch kept for the next
        // translation (as large as the largest function translated) would be held for good.
        .set_max_cached_translation_allocs(0)
        .set_translated_code_budget(limits.translated_code_bytes)
        .set_retranslation_fuel_per_byte(RETRANSLATION_FUEL_PER_BYTE);
    if !limits.keep_value_stack {
        config.set_max_cached_stacks(0);
    }
    if limits.strict_module_limits {
        config.enforced_limits(EnforcedLimits::strict());
    }
    config
}

/// A module's bytes, and whether the compiled module may borrow them.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wasm<'a> {
    /// Lent for the load only: a function waiting for lazy translation keeps a copy of its body.
    Lent(&'a [u8]),
    /// `'static` (e.g. `include_bytes!`, in flash on a device): a function waiting for lazy
    /// translation borrows its body from here ([`Module::new_static`]).
    Static(&'static [u8]),
}

impl<'a> Wasm<'a> {
    /// The bytes themselves.
    pub(crate) fn bytes(self) -> &'a [u8] {
        match self {
            Wasm::Lent(bytes) => bytes,
            Wasm::Static(bytes) => bytes,
        }
    }
}

/// Validates and compiles `wasm` in a new engine.
pub(crate) fn compile(config: &HostConfig, source: Wasm<'_>) -> Result<Module, LoadError> {
    let wasm = source.bytes();
    if wasm.len() > config.limits.module_bytes {
        return Err(LoadError::ModuleTooLarge {
            size: wasm.len(),
            limit: config.limits.module_bytes,
        });
    }
    check_header(wasm)?;
    // wasmi's strict limits allow at most 10,000 functions.
    let max_functions = config.limits.strict_module_limits.then_some(10_000);
    super::prescan::check_module(wasm, config.limits.max_locals_per_function, max_functions)?;
    let engine = Engine::new(&engine_config(&config.limits, config.translation));
    let module = match source {
        Wasm::Lent(bytes) => Module::new(&engine, bytes),
        Wasm::Static(bytes) => Module::new_static(&engine, bytes),
    };
    module.map_err(|e| compile_error(&e))
}

/// Refuses, each with its own message, what is not a WebAssembly module at all: no bytes,
/// bytes without the `\0asm` magic, a header cut short, or another binary-format version (such
/// as a component).
fn check_header(wasm: &[u8]) -> Result<(), LoadError> {
    let invalid = |message: String| Err(LoadError::InvalidModule(message));
    if wasm.is_empty() {
        return invalid(String::from("empty: 0 bytes, not a WebAssembly module"));
    }
    let magic = b"\0asm";
    if !wasm.starts_with(magic) && !magic.starts_with(wasm) {
        // Two hex digits per byte, written directly (no integer formatting machinery).
        let mut shown = String::new();
        for (i, byte) in wasm.iter().take(4).enumerate() {
            if i > 0 {
                shown.push_str(" ");
            }
            for nibble in [byte >> 4, byte & 0xf] {
                let at = usize::from(nibble);
                shown.push_str("0123456789abcdef".get(at..at + 1).unwrap_or("?"));
            }
        }
        return invalid(alloc::format!(
            "not a WebAssembly module: it starts with the bytes {shown}, not the magic \\0asm (00 61 73 6d)"
        ));
    }
    if wasm.len() < 8 {
        return invalid(alloc::format!(
            "truncated module: {} bytes, shorter than the 8-byte header",
            wasm.len()
        ));
    }
    match wasm.get(4..8) {
        Some([1, 0, 0, 0]) => Ok(()),
        Some([_, _, layer_lo, layer_hi]) if [*layer_lo, *layer_hi] != [0, 0] => invalid(
            String::from("a WebAssembly component, not a core module: plugins are core modules"),
        ),
        Some(version) => invalid(alloc::format!(
            "unsupported WebAssembly binary version {} (this host reads version 1)",
            u16::from_le_bytes([
                version.first().copied().unwrap_or(0),
                version.get(1).copied().unwrap_or(0)
            ])
        )),
        None => invalid(String::from("truncated module header")),
    }
}

/// Checks every import against the capability table (and, in [`LinkMode::Granted`], the grant),
/// then builds the linker from the table: the imported host functions only, so a load pays for
/// what the module uses.
fn link(module: &Module, grant: &Grant, mode: LinkMode) -> Result<Linker<HostState>, LoadError> {
    let mut linker = Linker::new(module.engine());
    // Which table entries are defined already (a module may import a function twice), one bit
    // per entry.
    const _: () = assert!(abi::HOST_FUNCTIONS.len() <= 64);
    let mut linked = 0u64;
    for import in module.imports() {
        let unknown = || LoadError::UnknownImport {
            module: import.module().to_string(),
            name: import.name().to_string(),
        };
        let (index, entry) = abi::find(import.module(), import.name()).ok_or_else(unknown)?;
        let ExternType::Func(ty) = import.ty() else {
            return Err(unknown());
        };
        if !entry.matches(ty) {
            return Err(LoadError::ImportSignature {
                import: entry.name,
                expected: text(&entry.signature()),
                found: abi::func_signature(ty),
            });
        }
        if let (LinkMode::Granted, Some(capability)) = (mode, entry.capability) {
            if !grant.allows(capability) {
                return Err(LoadError::NotGranted {
                    capability,
                    import: entry.name,
                });
            }
        }
        let bit = 1u64 << (index % 64);
        if linked & bit == 0 {
            entry
                .link(&mut linker)
                .map_err(|e| LoadError::Engine(text(&e)))?;
            linked |= bit;
        }
    }
    Ok(linker)
}

impl Plugin {
    /// Compiles, links and instantiates a plugin; its start function (if any) runs with the
    /// full fuel budget.
    pub(crate) fn load(
        config: &HostConfig,
        wasm: Wasm<'_>,
        grant: Grant,
        backends: Backends,
        mode: LinkMode,
    ) -> Result<Plugin, LoadError> {
        let module = compile(config, wasm)?;
        let name = match crate::manifest::manifest_of(&module) {
            Some(Ok(manifest)) => manifest.name,
            Some(Err(ManifestError::UnsupportedAbi { abi })) => {
                return Err(LoadError::UnsupportedAbi {
                    abi,
                    supported: abi::ABI_VERSION,
                })
            }
            // A missing or otherwise invalid manifest does not stop a load (the gate reports it).
            Some(Err(_)) | None => String::from("plugin"),
        };
        let linker = link(&module, &grant, mode)?;
        let state = HostState::new(
            name,
            Arc::new(grant),
            backends,
            config.limits,
            config.costs,
            Ledger::default(),
        );
        let store = Store::new(module.engine(), state);
        let mut plugin = Plugin {
            module,
            mode,
            store,
            instance: None,
            entry: None,
            fuel_budget: config.fuel_per_invocation,
            stats: PluginStats::default(),
            last_fuel_exhausted: false,
            #[cfg(feature = "transient")]
            transient: transient::Transient::new(config, wasm),
        };
        plugin.instantiate(&linker)?;
        plugin.release();
        Ok(plugin)
    }

    /// Instantiates the module in the current store with `linker`, running its start function
    /// under the fuel budget.
    fn instantiate(&mut self, linker: &Linker<HostState>) -> Result<(), LoadError> {
        let budget = self.fuel_budget;
        self.store.limiter(|state| &mut state.limiter);
        self.store.data_mut().fuel.begin_slice(budget, budget);
        self.store
            .set_fuel(budget)
            .map_err(|e| LoadError::Engine(text(&e)))?;
        let result = linker.instantiate_and_start(&mut self.store, &self.module);
        let charged = slice_charged(&mut self.store);
        let used = charged.min(budget);
        self.stats.fuel_used = self.stats.fuel_used.saturating_add(used);
        self.forget_translated_code();
        let instance = result.map_err(|e| load_error(&e, used))?;
        if charged > budget {
            // A translation after an eviction took the start function past its budget.
            return Err(LoadError::StartFuelExhausted { fuel_used: used });
        }
        self.store.data_mut().memory = instance.get_memory(&self.store, "memory");
        self.instance = Some(instance);
        Ok(())
    }

    /// The live instance's exported `() -> i32` function `name`; the last one found is kept, so
    /// invoking the same entry again skips the lookup. `None` without a live instance or export.
    pub(crate) fn entry(&mut self, name: &str) -> Option<TypedFunc<(), i32>> {
        let instance = self.instance?;
        if let Some((cached, func)) = &self.entry {
            if cached == name {
                return Some(*func);
            }
        }
        let func = instance.get_typed_func::<(), i32>(&self.store, name).ok()?;
        self.entry = Some((String::from(name), func));
        Some(func)
    }

    /// Discards the instance and its store, and instantiates the module afresh (loading it
    /// again first if `Residency::Transient` released it). Counters are kept.
    pub(crate) fn rebuild(&mut self) -> Result<(), LoadError> {
        #[cfg(feature = "transient")]
        if self.is_released() {
            return self.reload();
        }
        let linker = link(&self.module, &self.store.data().grant, self.mode)?;
        let state = self.fresh_state();
        self.store = Store::new(self.module.engine(), state);
        self.instance = None;
        self.entry = None;
        self.stats.rebuilds += 1;
        self.instantiate(&linker)
    }

    /// A new state for this plugin's store: what a fresh instance starts with, and the ledger,
    /// taken from the current store, which the caller replaces with one holding the new state.
    fn fresh_state(&mut self) -> HostState {
        let ledger = core::mem::take(&mut self.store.data_mut().ledger);
        let old = self.store.data();
        HostState::new(
            old.name.clone(),
            Arc::clone(&old.grant),
            old.backends.clone(),
            old.limits,
            old.costs,
            ledger,
        )
    }

    /// Under [`Limits::translated_code_bytes`], drops the code translated since the last call and
    /// forgets which functions ran, so that every invocation starts with none translated and is
    /// charged the same fuel for the same input. Does nothing without that limit, or while a
    /// call is suspended.
    #[inline]
    pub(crate) fn forget_translated_code(&mut self) {
        if self.store.data().limits.translated_code_bytes.is_some() {
            let _ = self.store.engine().forget_translated_code();
        }
    }

    /// Marks the instance as torn: it is rebuilt before the next invocation.
    pub(crate) fn poison(&mut self) {
        self.instance = None;
        self.entry = None;
    }

    /// Lets go of what a plugin does not need between invocations: everything of wasmi's under
    /// `Residency::Transient`, nothing otherwise.
    #[cfg(not(feature = "transient"))]
    #[inline(always)]
    pub(crate) fn release(&mut self) {}

    /// The plugin's name: from its manifest, or `plugin`.
    pub fn name(&self) -> &str {
        &self.store.data().name
    }

    /// The grant the plugin was loaded with.
    pub fn grant(&self) -> &Grant {
        &self.store.data().grant
    }

    /// What the plugin has done since it was loaded.
    pub fn stats(&self) -> PluginStats {
        PluginStats {
            calls: self.store.data().ledger.counts,
            refused: self.store.data().ledger.refused,
            ..self.stats
        }
    }

    /// Denied calls per import since the plugin was loaded.
    pub fn denials(&self) -> &DenialLog {
        &self.store.data().ledger.denials
    }

    /// The log lines the plugin wrote in its last invocation (kept until the next one starts,
    /// also when it trapped or ran out of fuel).
    pub fn logs(&self) -> &GuestLogs {
        &self.store.data().invocation.logs
    }

    /// What the plugin's last invocation consumed: fuel, linear memory, refused grows, output
    /// and log bytes. Compare it with the host's [`Limits`] to see which it reached.
    pub fn usage(&self) -> Usage {
        let state = self.store.data();
        let invocation = &state.invocation;
        Usage {
            fuel_used: self.stats.last_fuel_used,
            fuel_budget: self.fuel_budget,
            fuel_exhausted: self.last_fuel_exhausted,
            memory_bytes: self.memory_size(),
            memory_grows_refused: state.limiter.memory_refused,
            table_grows_refused: state.limiter.table_refused,
            output_bytes: invocation.output_bytes.max(invocation.output.len()),
            output_refused: invocation.output_refused,
            log_bytes: invocation.log_bytes,
            log_refused: invocation.log_refused,
        }
    }

    /// The current size of the plugin's exported linear memory in bytes (0 without one; while
    /// released under `Residency::Transient`, its size when it was released).
    pub fn memory_size(&self) -> usize {
        #[cfg(feature = "transient")]
        if let Some(bytes) = self.released_memory_bytes() {
            return bytes;
        }
        self.store
            .data()
            .memory
            .map_or(0, |memory| memory.data_size(&self.store))
    }

    /// Sets this plugin's fuel budget per invocation (and per rebuild of its instance),
    /// overriding the host's [`HostConfig::fuel_per_invocation`].
    pub fn set_fuel_budget(&mut self, fuel: u64) {
        self.fuel_budget = fuel;
    }

    /// This plugin's fuel budget per invocation.
    pub fn fuel_budget(&self) -> u64 {
        self.fuel_budget
    }

    /// Whether the instance is live (`false` after a fault, until the next invocation rebuilds
    /// it, and while released under `Residency::Transient`).
    pub fn is_live(&self) -> bool {
        self.instance.is_some()
    }
}
