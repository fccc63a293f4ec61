//! Classifies wasmi errors into the host's typed outcomes.

use wasmi::errors::{EnforcedLimitsError, ErrorKind};
use wasmi::TrapCode;

use super::error::{text, LoadError, Trap};
use crate::abi::{HostFuelExhausted, HostTimedOut};

/// What stopped guest code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The fuel budget ran out (in guest code or in a host call).
    FuelExhausted,
    /// The blocking time ran out in a host call.
    TimedOut,
    /// A trap.
    Trap(Trap),
    /// A resource limit refused instantiation.
    Limit(alloc::string::String),
    /// Anything else.
    Other(alloc::string::String),
}

fn trap_of(code: TrapCode) -> Option<Trap> {
    Some(match code {
        TrapCode::UnreachableCodeReached => Trap::Unreachable,
        TrapCode::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => Trap::TableOutOfBounds,
        TrapCode::IndirectCallToNull => Trap::IndirectCallToNull,
        TrapCode::IntegerDivisionByZero => Trap::DivisionByZero,
        TrapCode::IntegerOverflow => Trap::IntegerOverflow,
        TrapCode::BadConversionToInteger => Trap::BadConversionToInteger,
        TrapCode::StackOverflow => Trap::StackOverflow,
        TrapCode::BadSignature => Trap::BadSignature,
        TrapCode::GrowthOperationLimited => Trap::GrowthLimited,
        TrapCode::OutOfSystemMemory => Trap::OutOfSystemMemory,
        TrapCode::OutOfFuel => return None,
    })
}

/// Classifies an error from running guest code.
pub(crate) fn classify(error: &wasmi::Error) -> Fault {
    if error.downcast_ref::<HostFuelExhausted>().is_some() {
        return Fault::FuelExhausted;
    }
    if error.downcast_ref::<HostTimedOut>().is_some() {
        return Fault::TimedOut;
    }
    if let Some(code) = error.as_trap_code() {
        return match trap_of(code) {
            Some(trap) => Fault::Trap(trap),
            None => Fault::FuelExhausted,
        };
    }
    match error.kind() {
        ErrorKind::Host(_) => Fault::Trap(Trap::Host),
        ErrorKind::Memory(_) | ErrorKind::Table(_) | ErrorKind::Instantiation(_) => {
            Fault::Limit(text(error))
        }
        _ => Fault::Other(text(error)),
    }
}

/// Classifies an error from instantiating (and running the start function).
pub(crate) fn load_error(error: &wasmi::Error, fuel_used: u64) -> LoadError {
    match classify(error) {
        Fault::FuelExhausted => LoadError::StartFuelExhausted { fuel_used },
        Fault::TimedOut => LoadError::StartTimedOut { fuel_used },
        Fault::Trap(trap) => LoadError::StartTrap(trap),
        Fault::Limit(e) => LoadError::ResourceLimit(e),
        Fault::Other(e) => LoadError::Engine(e),
    }
}

/// Classifies an error from compiling a module.
pub(crate) fn compile_error(error: &wasmi::Error) -> LoadError {
    match error.kind() {
        // Strict limits are checked before validation. More than one memory is not valid for
        // this host at all (multi-memory is disabled), so say so rather than "too many".
        ErrorKind::UserLimits(EnforcedLimitsError::TooManyMemories { .. }) => {
            LoadError::InvalidModule(
                "more than one memory (the multi-memory proposal is disabled)".into(),
            )
        }
        ErrorKind::UserLimits(_) | ErrorKind::ImplementationLimits(_) => {
            LoadError::ModuleLimit(text(error))
        }
        _ => LoadError::InvalidModule(text(error)),
    }
}
