//! Host configuration: the fuel budget, the invocation pool size, limits and host-call costs.
//!
//! Every limit is on by default. `docs/limits.md` has the table of defaults for integrators.

use core::time::Duration;

/// [`Limits::EMBEDDED`]'s [`translated_code_bytes`](Limits::translated_code_bytes).
const TRANSLATED_CODE_BYTES_EMBEDDED: usize = 4 << 10;

/// Resource limits for every plugin a host loads. All are on by default.
///
/// Start from [`Limits::DEFAULT`] or [`Limits::EMBEDDED`] and change fields with the `with_*`
/// builders (`const fn`, so a configuration can live in a `static`) or by assignment; new
/// fields may be added in later versions.
///
/// ```
/// use pluginhost::Limits;
///
/// static LIMITS: Limits = Limits::EMBEDDED.with_memory_bytes(64 << 10).with_net_handles(1);
/// assert_eq!(LIMITS.memory_bytes, 64 << 10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Limits {
    /// Most bytes of one plugin's linear memory (initial size and growth).
    pub memory_bytes: usize,
    /// Most elements of one plugin's tables (each).
    pub table_elements: usize,
    /// Most instances per plugin store.
    pub instances: usize,
    /// Most tables per plugin store.
    pub tables: usize,
    /// Most linear memories per plugin store.
    pub memories: usize,
    /// Largest module accepted, in bytes; checked before parsing.
    pub module_bytes: usize,
    /// Apply wasmi's strict module limits (functions, globals, tables, data and element
    /// segments, parameters, bytes per function).
    pub strict_module_limits: bool,
    /// Deepest guest call nesting before a stack-overflow trap.
    pub max_recursion_depth: usize,
    /// Most bytes of one invocation's value stack (the locals and operands of every active guest
    /// frame, 8 bytes each); a call that needs more traps with a stack overflow. The stack
    /// starts at 1,000 bytes (or this limit, if lower) and grows as calls nest.
    pub value_stack_bytes: usize,
    /// Whether a plugin keeps its value stack between invocations. Kept, an invocation of a
    /// warm plugin allocates nothing, and the idle plugin holds the stack (as large as its
    /// deepest invocation made it, up to [`value_stack_bytes`](Limits::value_stack_bytes)).
    /// Released, each invocation allocates a new one and frees it when it ends.
    pub keep_value_stack: bool,
    /// Under [`Translation::Lazy`](crate::Translation::Lazy), most bytes of translated code a
    /// running invocation keeps beyond that of the functions on its call stack, which is never
    /// evicted (a target, not a cap). Before a function is translated, code of functions the
    /// invocation is not in is evicted until the rest and the new function's estimated code fit;
    /// an evicted function called again is translated again and charged
    /// [`RETRANSLATION_FUEL_PER_BYTE`](crate::RETRANSLATION_FUEL_PER_BYTE) per byte of its wasm
    /// body. The plugin drops its translated code when each invocation ends, so every invocation
    /// is charged alike. `None` keeps the code of every function that ran, for good.
    pub translated_code_bytes: Option<usize>,
    /// Most locals one function may declare (wasmi does not charge fuel for zeroing them).
    pub max_locals_per_function: u32,
    /// Largest input accepted by one invocation, in bytes.
    pub input_bytes: usize,
    /// Most output bytes one invocation may write.
    pub output_bytes: usize,
    /// Most log bytes one invocation may write (messages past this are refused with `LIMIT`).
    pub log_bytes: usize,
    /// Longest single log message, in bytes.
    pub log_message_bytes: usize,
    /// Most data bytes one `fs_*`, `net_send`, `net_recv` or `process_exec` call may move.
    pub call_bytes: usize,
    /// Longest guest path, in bytes.
    pub path_bytes: usize,
    /// Longest `process_exec` argument vector, in bytes.
    pub argv_bytes: usize,
    /// Most arguments in one `process_exec` argument vector.
    pub argv_items: usize,
    /// Most network connections one invocation may hold open at once.
    pub net_handles: usize,
    /// Most wall-clock time one invocation (or start function) may spend blocked in back-end
    /// calls: dialling, sending, receiving, running a program, file I/O. Each such call may
    /// block for at most what is left; once it is spent the invocation ends with
    /// [`InvokeError::TimedOut`](crate::InvokeError::TimedOut). Fuel is not affected: it stays
    /// charged per call and per byte. Counted in nanoseconds: anything from 584 years up is the
    /// same.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub blocking_time: Duration,
}

impl Limits {
    /// The defaults: sized for an appliance agent running a handful of small plugins.
    pub const DEFAULT: Limits = Limits {
        memory_bytes: 16 << 20,
        table_elements: 10_000,
        instances: 1,
        tables: 4,
        memories: 1,
        module_bytes: 8 << 20,
        strict_module_limits: true,
        max_recursion_depth: 512,
        value_stack_bytes: 1 << 20,
        keep_value_stack: true,
        translated_code_bytes: None,
        max_locals_per_function: 1_000,
        input_bytes: 1 << 20,
        output_bytes: 1 << 20,
        log_bytes: 16 << 10,
        log_message_bytes: 1 << 10,
        call_bytes: 64 << 10,
        path_bytes: crate::grant::MAX_PATH_BYTES,
        argv_bytes: 4 << 10,
        argv_items: 64,
        net_handles: 8,
        // Three times the longest single wait of the default back-ends (`CommandRunner` and
        // `TcpNetwork` reads and writes: 10 s), room for an ACME order or a DNS update with a
        // few round trips, yet a pool slot is never held much longer than half a minute.
        blocking_time: Duration::from_secs(30),
    };

    /// Small limits for a microcontroller with a few hundred KiB of RAM.
    pub const EMBEDDED: Limits = Limits {
        memory_bytes: 128 << 10,
        table_elements: 1_000,
        instances: 1,
        tables: 2,
        memories: 1,
        module_bytes: 256 << 10,
        strict_module_limits: true,
        max_recursion_depth: 128,
        // The bundled plugins need under 1,500 bytes.
        value_stack_bytes: 32 << 10,
        // 1-2 KiB per idle plugin, for an allocation per invocation.
        keep_value_stack: false,
        // Beyond the code on the call stack: the largest budget under which every bundled real
        // plugin's peak meets 32 KiB on a Cortex-M4 (5 KiB does not for dns_rfc2136); the fuel it
        // costs is in docs/footprint.md, the translated-code budget.
        translated_code_bytes: Some(TRANSLATED_CODE_BYTES_EMBEDDED),
        max_locals_per_function: 256,
        input_bytes: 4 << 10,
        output_bytes: 4 << 10,
        log_bytes: 1 << 10,
        log_message_bytes: 256,
        call_bytes: 4 << 10,
        path_bytes: 256,
        argv_bytes: 512,
        argv_items: 16,
        net_handles: 2,
        // One plugin at a time usually has the whole device: give it back sooner.
        blocking_time: Duration::from_secs(10),
    };
}

/// `const fn` builders, one per field: `with_NAME(self, value) -> Self`.
macro_rules! limit_setters {
    ($($setter:ident => $field:ident: $ty:ty;)*) => {
        impl Limits {
            $(
                #[doc = concat!("These limits with [`", stringify!($field), "`](Limits::", stringify!($field), ") set to `value`.")]
                #[must_use]
                pub const fn $setter(mut self, value: $ty) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}

limit_setters! {
        with_memory_bytes => memory_bytes: usize;
        with_table_elements => table_elements: usize;
        with_instances => instances: usize;
        with_tables => tables: usize;
        with_memories => memories: usize;
        with_module_bytes => module_bytes: usize;
        with_strict_module_limits => strict_module_limits: bool;
        with_max_recursion_depth => max_recursion_depth: usize;
        with_value_stack_bytes => value_stack_bytes: usize;
        with_keep_value_stack => keep_value_stack: bool;
        with_translated_code_bytes => translated_code_bytes: Option<usize>;
        with_max_locals_per_function => max_locals_per_function: u32;
        with_input_bytes => input_bytes: usize;
        with_output_bytes => output_bytes: usize;
        with_log_bytes => log_bytes: usize;
        with_log_message_bytes => log_message_bytes: usize;
        with_call_bytes => call_bytes: usize;
        with_path_bytes => path_bytes: usize;
        with_argv_bytes => argv_bytes: usize;
        with_argv_items => argv_items: usize;
        with_net_handles => net_handles: usize;
        with_blocking_time => blocking_time: Duration;
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// How host calls are charged fuel: each host function's base cost (in
/// [`HOST_FUNCTIONS`](crate::HOST_FUNCTIONS)) plus one unit per `bytes_per_fuel` bytes moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct HostCallCosts {
    /// Bytes moved per unit of fuel (at least 1).
    pub bytes_per_fuel: u64,
}

impl HostCallCosts {
    /// The defaults: one unit of fuel per 8 bytes moved.
    pub const DEFAULT: HostCallCosts = HostCallCosts { bytes_per_fuel: 8 };

    /// These costs with `bytes` bytes moved per unit of fuel (at least 1 is used).
    #[must_use]
    pub const fn with_bytes_per_fuel(mut self, bytes: u64) -> Self {
        self.bytes_per_fuel = bytes;
        self
    }
}

impl Default for HostCallCosts {
    fn default() -> Self {
        HostCallCosts::DEFAULT
    }
}

/// When a plugin's functions are translated to wasmi's internal code. Validation is always
/// complete at load: a module with an invalid function body is refused, called or not. Fuel is the
/// same either way (a first translation is never charged), unless
/// [`Limits::translated_code_bytes`] makes a `Lazy` plugin translate a function again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Translation {
    /// Every function at load (the default): loading costs the whole translation, invocations
    /// never translate.
    Eager,
    /// Each function on its first call. A plugin keeps translated code only for the functions it
    /// runs, which on a microcontroller is most of its RAM (docs/footprint.md). The first call of
    /// a function translates it on the calling thread, inside the invocation: that needs native
    /// stack beyond what running takes (more than 256 KiB in a debug build on x86_64; the
    /// Cortex-M4 firmware's whole suite stays within its stack at opt-level "s").
    Lazy,
}

/// What a plugin holds between invocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Residency {
    /// Its compiled module, translated code and live instance (the default): an invocation
    /// starts at once, and the guest's linear memory and globals carry over to the next one.
    Resident,
    /// Nothing of wasmi's: once an invocation ends (or the load that checked the plugin), the
    /// plugin releases its engine, module, translated code, instance and linear memory, and keeps
    /// its grant, counters, denials and last logs (about 1 KiB). The next invocation validates,
    /// compiles and instantiates it again (its start function runs again, outside the
    /// invocation's fuel), so every invocation starts from the module's initial state. For a
    /// device where plugins run now and then and RAM is short: what plugins hold at rest adds up,
    /// while only the invocations running at once need their peak. A plugin loaded with
    /// [`Host::load`](crate::Host::load) keeps a copy of its module to load again;
    /// [`Host::load_static`](crate::Host::load_static) borrows it. Feature `transient`.
    #[cfg(feature = "transient")]
    Transient,
}

/// Configuration of a [`Host`](crate::Host).
///
/// Start from [`HostConfig::DEFAULT`] and change it with the `with_*` builders (`const fn`);
/// new fields may be added in later versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct HostConfig {
    /// Fuel for every invocation (and for a start function at load). Never carried over.
    pub fuel_per_invocation: u64,
    /// Most invocations running at once across the host; more are rejected with `Busy`.
    pub max_concurrent: usize,
    /// Resource limits for every plugin.
    pub limits: Limits,
    /// Fuel charged for host calls.
    pub costs: HostCallCosts,
    /// When plugins' functions are translated.
    pub translation: Translation,
    /// What plugins hold between invocations.
    pub residency: Residency,
}

impl HostConfig {
    /// The defaults: 10 million fuel per invocation, 4 concurrent invocations, [`Limits::DEFAULT`].
    pub const DEFAULT: HostConfig = HostConfig {
        fuel_per_invocation: 10_000_000,
        max_concurrent: 4,
        limits: Limits::DEFAULT,
        costs: HostCallCosts::DEFAULT,
        translation: Translation::Eager,
        residency: Residency::Resident,
    };

    /// This configuration with another fuel budget.
    #[must_use]
    pub const fn with_fuel(mut self, fuel: u64) -> Self {
        self.fuel_per_invocation = fuel;
        self
    }

    /// This configuration with another pool size.
    #[must_use]
    pub const fn with_max_concurrent(mut self, max: usize) -> Self {
        self.max_concurrent = max;
        self
    }

    /// This configuration with other limits.
    #[must_use]
    pub const fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// This configuration with other host-call costs.
    #[must_use]
    pub const fn with_costs(mut self, costs: HostCallCosts) -> Self {
        self.costs = costs;
        self
    }

    /// This configuration with another [`Translation`] (e.g. [`Translation::Lazy`] on a
    /// microcontroller, where RAM is short).
    #[must_use]
    pub const fn with_translation(mut self, translation: Translation) -> Self {
        self.translation = translation;
        self
    }

    /// This configuration with another [`Residency`] (e.g. `Residency::Transient` on a
    /// microcontroller running several plugins now and then).
    #[must_use]
    pub const fn with_residency(mut self, residency: Residency) -> Self {
        self.residency = residency;
        self
    }
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig::DEFAULT
    }
}
