//! The native-stack probe: does any class of guest operation nest native frames in *this* build?
//!
//! wasmi's tail-call dispatch (every optimised build, the Cortex-M4 firmware) ends each
//! instruction handler in a sibling call to the next. That is LLVM's choice, not a language
//! guarantee: a handler whose final call is not a sibling call nests one native frame per executed
//! instruction, and a guest loop of such instructions overflows the host's native stack (wasmi
//! 2.0.0's `memory.grow` and `table.grow` did, until `vendor/wasmi`'s patch; wasmi issue #1942 saw
//! call operators do it unless `codegen-units = 1`). A new rustc, wasmi or profile can bring it
//! back, so embedders run [`probe_native_stack`] on their own build: for each [`OpClass`] it runs
//! a loop of operations between two host calls that record the address of a local, under the
//! engine configuration every plugin gets, and reports how far the native stack moved.

use alloc::vec::Vec;
use core::fmt;

use wasmi::{Caller, Engine, Linker, Module, Store, TypedFunc};

use crate::abi::ABI_MODULE;
use crate::runtime::{engine_config, Limits};

/// The probe's module (`ops.wat`, compiled): one entry point per [`OpClass`].
pub const PROBE_MODULE: &[u8] = include_bytes!("ops.wasm");

/// A class of guest operations the probe runs in a loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OpClass {
    /// Integer and float arithmetic, conversions, `select`.
    Arithmetic,
    /// `if`/`else`, `br_if`, blocks.
    Branches,
    /// `br_table`.
    BrTable,
    /// Loads, stores and `memory.size`.
    Memory,
    /// `memory.grow` by 0 pages (from a local).
    MemoryGrow,
    /// `memory.grow` past the memory's maximum (returns -1).
    MemoryGrowFailing,
    /// `memory.fill`, `memory.copy`, `memory.init`, `data.drop`.
    BulkMemory,
    /// `table.get`, `table.set`, `table.size`, `ref.func`, `ref.is_null`.
    Table,
    /// `table.fill`, `table.copy`, `table.init`, `elem.drop`.
    BulkTable,
    /// `table.grow` by 0 elements (from a local).
    TableGrow,
    /// `table.grow` past the table's maximum (returns -1).
    TableGrowFailing,
    /// `global.get` and `global.set` of every value type.
    Globals,
    /// Direct calls and multi-value returns.
    Calls,
    /// `call_indirect` (through a table index in a register and a constant one).
    CallIndirect,
    /// `return_call` and `return_call_indirect`.
    TailCalls,
    /// Calls of a host function.
    HostCalls,
}

impl OpClass {
    /// Every class, in the order the probe runs them.
    pub const ALL: [OpClass; 16] = [
        OpClass::Arithmetic,
        OpClass::Branches,
        OpClass::BrTable,
        OpClass::Memory,
        OpClass::MemoryGrow,
        OpClass::MemoryGrowFailing,
        OpClass::BulkMemory,
        OpClass::Table,
        OpClass::BulkTable,
        OpClass::TableGrow,
        OpClass::TableGrowFailing,
        OpClass::Globals,
        OpClass::Calls,
        OpClass::CallIndirect,
        OpClass::TailCalls,
        OpClass::HostCalls,
    ];

    /// The class's entry point in [`PROBE_MODULE`], e.g. `memory_grow`.
    pub const fn entry(self) -> &'static str {
        match self {
            OpClass::Arithmetic => "arithmetic",
            OpClass::Branches => "branches",
            OpClass::BrTable => "br_table",
            OpClass::Memory => "memory_access",
            OpClass::MemoryGrow => "memory_grow",
            OpClass::MemoryGrowFailing => "memory_grow_failing",
            OpClass::BulkMemory => "bulk_memory",
            OpClass::Table => "table_access",
            OpClass::BulkTable => "bulk_table",
            OpClass::TableGrow => "table_grow",
            OpClass::TableGrowFailing => "table_grow_failing",
            OpClass::Globals => "globals",
            OpClass::Calls => "calls",
            OpClass::CallIndirect => "call_indirect",
            OpClass::TailCalls => "tail_calls",
            OpClass::HostCalls => "host_calls",
        }
    }
}

impl fmt::Display for OpClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.entry())
    }
}

/// How far one class moved the native stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClassDepth {
    /// The class.
    pub class: OpClass,
    /// Operations run between the two records.
    pub operations: u32,
    /// Bytes between the native stack depth before and after the operations (0 when flat).
    pub growth_bytes: usize,
}

impl ClassDepth {
    /// Native stack bytes per operation, rounded up (0 when flat).
    pub fn bytes_per_operation(&self) -> usize {
        self.growth_bytes.div_ceil(self.operations.max(1) as usize)
    }
}

/// What [`probe_native_stack`] measured, class by class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackProbeReport {
    classes: Vec<ClassDepth>,
}

impl StackProbeReport {
    /// Every class measured, in [`OpClass::ALL`] order.
    pub fn classes(&self) -> &[ClassDepth] {
        &self.classes
    }

    /// The classes that moved the native stack.
    pub fn growing(&self) -> impl Iterator<Item = &ClassDepth> {
        self.classes.iter().filter(|c| c.growth_bytes > 0)
    }

    /// Whether every class left the native stack where it found it.
    pub fn is_flat(&self) -> bool {
        self.growing().next().is_none()
    }
}

impl fmt::Display for StackProbeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.classes {
            writeln!(
                f,
                "{:<22} {:>9} ops  {:>9} bytes of native stack  {}",
                c.class.entry(),
                c.operations,
                c.growth_bytes,
                if c.growth_bytes == 0 { "flat" } else { "GROWS" }
            )?;
        }
        Ok(())
    }
}

/// Why the probe could not measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StackProbeError {
    /// The probe module did not compile or instantiate with this build's wasmi configuration.
    Setup,
    /// A class's entry point trapped or ran out of fuel.
    Run(OpClass),
    /// A class's entry point did not record the stack depth twice.
    NotRecorded(OpClass),
}

impl fmt::Display for StackProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackProbeError::Setup => f.write_str("the probe module did not load"),
            StackProbeError::Run(class) => write!(f, "the probe of {class} did not run to its end"),
            StackProbeError::NotRecorded(class) => {
                write!(f, "the probe of {class} did not record the stack depth")
            }
        }
    }
}

impl core::error::Error for StackProbeError {}

/// What the probe's host functions see.
struct ProbeState {
    /// The operation count handed to the entry point.
    operations: u32,
    /// The native stack address of the first record, and of the last.
    first: Option<usize>,
    last: Option<usize>,
}

/// The address of a local of this frame: a reading of the native stack depth.
#[inline(never)]
fn stack_address() -> usize {
    let local = 0u8;
    core::hint::black_box(&local) as *const u8 as usize
}

/// Runs `operations` operations of every [`OpClass`] under the engine configuration of a plugin
/// (fuel metering, eager compilation, [`Limits::DEFAULT`]'s recursion and module limits) and
/// reports, per class, how many bytes the native stack moved between a host call before the
/// operations and one after them. In a sound build every class is flat.
///
/// The probe needs native stack in proportion to `operations` only when a class grows it:
/// 10,000 operations of a class nesting 200 bytes each need 2 MB. Use a smaller count on a
/// microcontroller.
///
/// # Errors
/// [`StackProbeError`] when the probe module cannot be loaded or a class does not run through.
pub fn probe_native_stack(operations: u32) -> Result<StackProbeReport, StackProbeError> {
    let engine = Engine::new(&engine_config(&Limits::DEFAULT));
    let module = Module::new(&engine, PROBE_MODULE).map_err(|_| StackProbeError::Setup)?;
    let mut linker = Linker::<ProbeState>::new(&engine);
    linker
        .func_wrap(
            ABI_MODULE,
            "input_len",
            |mut caller: Caller<'_, ProbeState>| {
                let here = stack_address();
                let state = caller.data_mut();
                state.first.get_or_insert(here);
                state.last = Some(here);
                0i32
            },
        )
        .map_err(|_| StackProbeError::Setup)?;
    linker
        .func_wrap(
            ABI_MODULE,
            "input_read",
            |mut caller: Caller<'_, ProbeState>, dst: u32, len: u32| {
                let count = caller.data().operations.to_le_bytes();
                let copied = count.len().min(len as usize);
                let written = caller
                    .get_export("memory")
                    .and_then(|export| export.into_memory())
                    .is_some_and(|memory| {
                        memory
                            .write(&mut caller, dst as usize, &count[..copied])
                            .is_ok()
                    });
                if written {
                    copied as i32
                } else {
                    -2
                }
            },
        )
        .map_err(|_| StackProbeError::Setup)?;

    let mut classes = Vec::with_capacity(OpClass::ALL.len());
    for class in OpClass::ALL {
        // A fresh store and instance per class: `data.drop` and `elem.drop` change an instance.
        let state = ProbeState {
            operations,
            first: None,
            last: None,
        };
        let mut store = Store::new(&engine, state);
        store
            .set_fuel(u64::MAX)
            .map_err(|_| StackProbeError::Setup)?;
        let instance = linker
            .instantiate_and_start(&mut store, &module)
            .map_err(|_| StackProbeError::Setup)?;
        let entry: TypedFunc<(), i32> = instance
            .get_typed_func(&store, class.entry())
            .map_err(|_| StackProbeError::Setup)?;
        entry
            .call(&mut store, ())
            .map_err(|_| StackProbeError::Run(class))?;
        let (Some(first), Some(last)) = (store.data().first, store.data().last) else {
            return Err(StackProbeError::NotRecorded(class));
        };
        classes.push(ClassDepth {
            class,
            operations,
            growth_bytes: first.abs_diff(last),
        });
    }
    Ok(StackProbeReport { classes })
}
