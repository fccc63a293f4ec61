//! Errors of loading and invoking plugins.

use alloc::string::String;
use core::fmt;

use crate::capability::Capability;

/// The `Display` text of an error or value, through one shared function (one `to_string` per
/// type would each be compiled into a device image).
pub(crate) fn text(value: &dyn fmt::Display) -> String {
    alloc::format!("{value}")
}

/// Why a wasm trap stopped a plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Trap {
    /// An `unreachable` instruction ran.
    Unreachable,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// A table access outside its bounds.
    TableOutOfBounds,
    /// An indirect call through a null table entry.
    IndirectCallToNull,
    /// An integer division by zero.
    DivisionByZero,
    /// An integer overflow (e.g. `i32.div_s` of `MIN` by -1).
    IntegerOverflow,
    /// A float-to-integer conversion out of range.
    BadConversionToInteger,
    /// Guest calls nested deeper than the recursion limit.
    StackOverflow,
    /// An indirect call with the wrong signature.
    BadSignature,
    /// A growth operation was refused by a limit and configured to trap.
    GrowthLimited,
    /// The interpreter could not allocate memory.
    OutOfSystemMemory,
    /// A host call failed in a way the host does not expect.
    Host,
}

impl Trap {
    /// A short snake_case name, e.g. `stack_overflow`.
    pub const fn name(self) -> &'static str {
        match self {
            Trap::Unreachable => "unreachable",
            Trap::MemoryOutOfBounds => "memory_out_of_bounds",
            Trap::TableOutOfBounds => "table_out_of_bounds",
            Trap::IndirectCallToNull => "indirect_call_to_null",
            Trap::DivisionByZero => "division_by_zero",
            Trap::IntegerOverflow => "integer_overflow",
            Trap::BadConversionToInteger => "bad_conversion_to_integer",
            Trap::StackOverflow => "stack_overflow",
            Trap::BadSignature => "bad_signature",
            Trap::GrowthLimited => "growth_limited",
            Trap::OutOfSystemMemory => "out_of_system_memory",
            Trap::Host => "host",
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Trap::Unreachable => "unreachable instruction executed",
            Trap::MemoryOutOfBounds => "out-of-bounds memory access",
            Trap::TableOutOfBounds => "out-of-bounds table access",
            Trap::IndirectCallToNull => "indirect call to null",
            Trap::DivisionByZero => "integer division by zero",
            Trap::IntegerOverflow => "integer overflow",
            Trap::BadConversionToInteger => "invalid conversion to integer",
            Trap::StackOverflow => "call stack exhausted (recursion limit)",
            Trap::BadSignature => "indirect call signature mismatch",
            Trap::GrowthLimited => "growth refused by a limit",
            Trap::OutOfSystemMemory => "interpreter out of memory",
            Trap::Host => "unexpected host error",
        })
    }
}

/// Why a plugin could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LoadError {
    /// The module is larger than [`Limits::module_bytes`](crate::Limits::module_bytes).
    ModuleTooLarge {
        /// The module's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The bytes are not a valid WebAssembly module for this host (parse or validation error,
    /// or a feature this host disables such as 64-bit or multiple memories).
    InvalidModule(String),
    /// The module exceeds the strict module limits (functions, globals, segments, ...).
    ModuleLimit(String),
    /// The manifest declares a guest ABI version this host does not implement (newer than
    /// [`ABI_VERSION`](crate::ABI_VERSION), or 0): the plugin needs a newer host.
    UnsupportedAbi {
        /// The version the manifest declares.
        abi: u32,
        /// The newest version this host implements.
        supported: u32,
    },
    /// An import the capability table does not list.
    UnknownImport {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
    },
    /// An import whose capability the grant does not hold.
    NotGranted {
        /// The capability the import needs.
        capability: Capability,
        /// The import's name in the `pluginhost` module.
        import: &'static str,
    },
    /// A listed import declared with another signature than the ABI's.
    ImportSignature {
        /// The import's name in the `pluginhost` module.
        import: &'static str,
        /// The ABI's signature.
        expected: String,
        /// The signature the module declares.
        found: String,
    },
    /// Instantiation needed more than a resource limit allows (e.g. initial memory or table).
    ResourceLimit(String),
    /// The start function ran out of fuel.
    StartFuelExhausted {
        /// Fuel consumed before it stopped.
        fuel_used: u64,
    },
    /// The start function spent its blocking time in back-end calls
    /// ([`Limits::blocking_time`](crate::Limits::blocking_time)).
    StartTimedOut {
        /// Fuel consumed before it stopped.
        fuel_used: u64,
    },
    /// The start function trapped.
    StartTrap(Trap),
    /// The engine failed in a way not listed above.
    Engine(String),
}

impl LoadError {
    /// The kind as used in machine-readable output: `not_granted`, `unknown_import`,
    /// `unsupported_abi`, `invalid_module`, `limit`, `fuel_exhausted`, `timeout` or `trap`.
    pub fn kind(&self) -> &'static str {
        match self {
            LoadError::ModuleTooLarge { .. }
            | LoadError::ModuleLimit(_)
            | LoadError::ResourceLimit(_) => "limit",
            LoadError::InvalidModule(_)
            | LoadError::ImportSignature { .. }
            | LoadError::Engine(_) => "invalid_module",
            LoadError::UnknownImport { .. } => "unknown_import",
            LoadError::UnsupportedAbi { .. } => "unsupported_abi",
            LoadError::NotGranted { .. } => "not_granted",
            LoadError::StartFuelExhausted { .. } => "fuel_exhausted",
            LoadError::StartTimedOut { .. } => "timeout",
            LoadError::StartTrap(_) => "trap",
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::ModuleTooLarge { size, limit } => {
                write!(f, "module is {size} bytes, over the limit of {limit}")
            }
            LoadError::InvalidModule(e) => write!(f, "invalid module: {e}"),
            LoadError::ModuleLimit(e) => write!(f, "module exceeds a module limit: {e}"),
            LoadError::UnsupportedAbi { abi, supported } => write!(
                f,
                "manifest needs guest ABI {abi}; this host implements 1 to {supported}"
            ),
            LoadError::UnknownImport { module, name } => {
                write!(
                    f,
                    "import {module}.{name} is not a host function this host offers"
                )
            }
            LoadError::NotGranted { capability, import } => {
                write!(
                    f,
                    "import {import} needs {capability}, which the grant does not hold"
                )
            }
            LoadError::ImportSignature {
                import,
                expected,
                found,
            } => {
                write!(
                    f,
                    "import {import} is declared as {found}, the ABI says {expected}"
                )
            }
            LoadError::ResourceLimit(e) => write!(f, "instantiation exceeds a resource limit: {e}"),
            LoadError::StartFuelExhausted { fuel_used } => {
                write!(f, "start function ran out of fuel after {fuel_used}")
            }
            LoadError::StartTimedOut { fuel_used } => write!(
                f,
                "start function spent its blocking time in back-end calls (after {fuel_used} fuel)"
            ),
            LoadError::StartTrap(trap) => write!(f, "start function trapped: {trap}"),
            LoadError::Engine(e) => write!(f, "engine error: {e}"),
        }
    }
}

impl core::error::Error for LoadError {}

/// Why an invocation did not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum InvokeError {
    /// The host's invocation pool is full; nothing ran.
    Busy,
    /// The plugin has no export of that name with the entry signature `() -> i32`.
    NoEntry {
        /// The entry name asked for.
        name: String,
    },
    /// The input is larger than [`Limits::input_bytes`](crate::Limits::input_bytes); nothing ran.
    InputTooLarge {
        /// The input's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The invocation's fuel budget could not pay for its next step; the instance will be
    /// rebuilt.
    FuelExhausted {
        /// Fuel consumed: the budget less what was left, too little for the next basic block
        /// or host call.
        fuel_used: u64,
    },
    /// The invocation spent its [`Limits::blocking_time`](crate::Limits::blocking_time) blocked
    /// in back-end calls (dialling, sending, receiving, running a program, file I/O); the
    /// instance will be rebuilt.
    TimedOut {
        /// Fuel consumed: every call made, the one that ran out of time included, is charged as
        /// it would be had it returned at once.
        fuel_used: u64,
    },
    /// The plugin trapped; the instance will be rebuilt.
    Trap {
        /// Why.
        trap: Trap,
        /// Fuel consumed before the trap.
        fuel_used: u64,
    },
    /// The entry returned a non-zero status (from [`Host::invoke`](crate::Host::invoke)).
    Failed {
        /// The status the entry returned.
        status: i32,
    },
    /// Rebuilding the instance after an earlier fault failed.
    Rebuild(LoadError),
    /// The typed request could not be encoded.
    Encode,
    /// The output was not a valid encoding of the expected response type.
    Decode,
    /// The call was resumed after it had already finished or failed.
    Finished,
    /// The engine failed in a way not listed above.
    Engine(String),
}

impl InvokeError {
    /// The kind as used in machine-readable output: `busy`, `no_entry`, `limit`,
    /// `fuel_exhausted`, `timeout`, `trap`, `failed`, `invalid_module`, `encode`, `decode` or
    /// `engine`.
    pub fn kind(&self) -> &'static str {
        match self {
            InvokeError::Busy => "busy",
            InvokeError::NoEntry { .. } => "no_entry",
            InvokeError::InputTooLarge { .. } => "limit",
            InvokeError::FuelExhausted { .. } => "fuel_exhausted",
            InvokeError::TimedOut { .. } => "timeout",
            InvokeError::Trap { .. } => "trap",
            InvokeError::Failed { .. } => "failed",
            InvokeError::Rebuild(e) => e.kind(),
            InvokeError::Encode => "encode",
            InvokeError::Decode => "decode",
            InvokeError::Finished | InvokeError::Engine(_) => "engine",
        }
    }

    /// Fuel consumed, where the error reports it.
    pub fn fuel_used(&self) -> Option<u64> {
        match self {
            InvokeError::FuelExhausted { fuel_used }
            | InvokeError::TimedOut { fuel_used }
            | InvokeError::Trap { fuel_used, .. } => Some(*fuel_used),
            _ => None,
        }
    }
}

impl fmt::Display for InvokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvokeError::Busy => f.write_str("host is busy: the invocation pool is full"),
            InvokeError::NoEntry { name } => {
                write!(
                    f,
                    "plugin exports no entry `{name}` with signature () -> i32"
                )
            }
            InvokeError::InputTooLarge { size, limit } => {
                write!(f, "input is {size} bytes, over the limit of {limit}")
            }
            InvokeError::FuelExhausted { fuel_used } => {
                write!(f, "fuel budget exhausted after {fuel_used}")
            }
            InvokeError::TimedOut { fuel_used } => write!(
                f,
                "blocking time exhausted in back-end calls (after {fuel_used} fuel)"
            ),
            InvokeError::Trap { trap, fuel_used } => {
                write!(f, "plugin trapped: {trap} (after {fuel_used} fuel)")
            }
            InvokeError::Failed { status } => write!(f, "entry returned status {status}"),
            InvokeError::Rebuild(e) => write!(f, "rebuilding the plugin's instance failed: {e}"),
            InvokeError::Encode => f.write_str("could not encode the request"),
            InvokeError::Decode => f.write_str("could not decode the plugin's response"),
            InvokeError::Finished => f.write_str("the call has already finished"),
            InvokeError::Engine(e) => write!(f, "engine error: {e}"),
        }
    }
}

impl core::error::Error for InvokeError {}
