//! The static capability table: every host function, its signature, the capability it needs and
//! its base fuel cost. A plugin's linker is built from this table restricted to its grant, and
//! from nothing else.

use alloc::string::String;
use core::fmt;

use wasmi::Linker;

use super::ABI_MODULE;
use crate::capability::Capability;
use crate::runtime::HostState;

/// One host function of the guest ABI.
pub struct HostFunction {
    /// The import name inside [`ABI_MODULE`](super::ABI_MODULE).
    pub name: &'static str,
    /// How many `i32` parameters it takes; every host function returns one `i32`.
    pub params: usize,
    /// The capability a grant must hold for the import to link, or `None` for ungated calls.
    pub capability: Option<Capability>,
    /// The fuel every call costs before any per-byte cost.
    pub base_fuel: u64,
    /// The ABI version that added it: a plugin importing it needs a host of at least that
    /// version (and should declare it as `abi=` in its manifest).
    pub since: u32,
    link: fn(&mut Linker<HostState>, &'static str) -> Result<(), wasmi::Error>,
}

impl HostFunction {
    /// The signature as written in the ABI document, e.g. `(i32, i32) -> i32`.
    pub fn signature(&self) -> Signature {
        Signature(self.params)
    }

    /// Defines this function in `linker`.
    pub(crate) fn link(&self, linker: &mut Linker<HostState>) -> Result<(), wasmi::Error> {
        (self.link)(linker, self.name)
    }

    /// Whether a wasm function type (given by its parameter and result types) matches.
    pub(crate) fn matches(&self, ty: &wasmi::FuncType) -> bool {
        ty.params().len() == self.params
            && ty.params().iter().all(|t| *t == wasmi::ValType::I32)
            && ty.results() == [wasmi::ValType::I32]
    }
}

impl fmt::Debug for HostFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostFunction")
            .field("name", &self.name)
            .field("signature", &self.signature())
            .field("capability", &self.capability)
            .field("base_fuel", &self.base_fuel)
            .field("since", &self.since)
            .finish()
    }
}

/// A host function signature: `params` times `i32` in, one `i32` out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature(usize);

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for i in 0..self.0 {
            f.write_str(if i == 0 { "i32" } else { ", i32" })?;
        }
        f.write_str(") -> i32")
    }
}

macro_rules! host_function {
    ($name:ident, $params:expr, $capability:expr, $fuel:expr, $func:path) => {
        host_function!($name, $params, $capability, $fuel, $func, since 1)
    };
    ($name:ident, $params:expr, $capability:expr, $fuel:expr, $func:path, since $since:literal) => {
        HostFunction {
            name: stringify!($name),
            params: $params,
            capability: $capability,
            base_fuel: $fuel,
            since: $since,
            link: |linker, name| {
                linker
                    .func_wrap(ABI_MODULE, name, $func)
                    .map(|_| ())
                    .map_err(wasmi::Error::from)
            },
        }
    };
}

/// Every host function the guest ABI offers, in ABI order.
pub static HOST_FUNCTIONS: &[HostFunction] = &[
    host_function!(
        input_len,
        0,
        None,
        super::io::INPUT_LEN_FUEL,
        super::io::input_len
    ),
    host_function!(
        input_read,
        2,
        None,
        super::io::INPUT_READ_FUEL,
        super::io::input_read
    ),
    host_function!(
        output_write,
        2,
        None,
        super::io::OUTPUT_WRITE_FUEL,
        super::io::output_write
    ),
    host_function!(log, 3, None, super::io::LOG_FUEL, super::io::log),
    #[cfg(feature = "cap-fs")]
    host_function!(
        fs_read,
        4,
        Some(Capability::FsRead),
        super::fs::FS_FUEL,
        super::fs::fs_read
    ),
    #[cfg(feature = "cap-fs")]
    host_function!(
        fs_size,
        2,
        Some(Capability::FsRead),
        super::fs::FS_FUEL,
        super::fs::fs_size
    ),
    #[cfg(feature = "cap-fs")]
    host_function!(
        fs_write,
        4,
        Some(Capability::FsWrite),
        super::fs::FS_FUEL,
        super::fs::fs_write
    ),
    #[cfg(feature = "cap-fs")]
    host_function!(
        fs_rename,
        4,
        Some(Capability::FsWrite),
        super::fs::FS_FUEL,
        super::fs::fs_rename
    ),
    #[cfg(feature = "cap-net")]
    host_function!(
        net_dial,
        3,
        Some(Capability::NetDial),
        super::net::DIAL_FUEL,
        super::net::net_dial
    ),
    #[cfg(feature = "cap-net")]
    host_function!(
        net_send,
        3,
        Some(Capability::NetDial),
        super::net::IO_FUEL,
        super::net::net_send
    ),
    #[cfg(feature = "cap-net")]
    host_function!(
        net_recv,
        3,
        Some(Capability::NetDial),
        super::net::IO_FUEL,
        super::net::net_recv
    ),
    #[cfg(feature = "cap-net")]
    host_function!(
        net_close,
        1,
        Some(Capability::NetDial),
        super::net::CLOSE_FUEL,
        super::net::net_close
    ),
    #[cfg(feature = "cap-net")]
    host_function!(
        net_dial_tls,
        3,
        Some(Capability::NetDial),
        super::net::DIAL_TLS_FUEL,
        super::net::net_dial_tls,
        since 2
    ),
    #[cfg(feature = "cap-process")]
    host_function!(
        process_exec,
        4,
        Some(Capability::ProcessExec),
        super::process::EXEC_FUEL,
        super::process::process_exec
    ),
    host_function!(
        random_fill,
        2,
        None,
        super::entropy::RANDOM_FILL_FUEL,
        super::entropy::random_fill,
        since 2
    ),
    host_function!(
        clock_now,
        2,
        None,
        super::clock::CLOCK_NOW_FUEL,
        super::clock::clock_now,
        since 2
    ),
];

/// The table entry for `module`/`name`, if the table lists it.
pub(crate) fn find(module: &str, name: &str) -> Option<(usize, &'static HostFunction)> {
    if module != ABI_MODULE {
        return None;
    }
    HOST_FUNCTIONS
        .iter()
        .enumerate()
        .find(|(_, f)| f.name == name)
}

/// The wasm text name of a value type: `i32`, `funcref`, ...
fn val_type_name(ty: wasmi::ValType) -> &'static str {
    match ty {
        wasmi::ValType::I32 => "i32",
        wasmi::ValType::I64 => "i64",
        wasmi::ValType::F32 => "f32",
        wasmi::ValType::F64 => "f64",
        wasmi::ValType::V128 => "v128",
        wasmi::ValType::FuncRef => "funcref",
        wasmi::ValType::ExternRef => "externref",
    }
}

/// Formats a function type as `(i32, i32) -> i32` (several results in parentheses, none
/// without the arrow).
pub(crate) fn func_signature(ty: &wasmi::FuncType) -> String {
    fn list(out: &mut String, types: &[wasmi::ValType]) {
        for (i, t) in types.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(val_type_name(*t));
        }
    }
    let mut out = String::from("(");
    list(&mut out, ty.params());
    out.push(')');
    let results = ty.results();
    if !results.is_empty() {
        out.push_str(" -> ");
        if results.len() > 1 {
            out.push('(');
        }
        list(&mut out, results);
        if results.len() > 1 {
            out.push(')');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::func_signature;
    use wasmi::{FuncType, ValType};

    #[test]
    fn signatures_read_as_in_the_abi_document() {
        let sig = |params: &[ValType], results: &[ValType]| {
            func_signature(&FuncType::new(params.iter().copied(), results.iter().copied()))
        };
        assert_eq!(sig(&[ValType::I32, ValType::I32], &[ValType::I32]), "(i32, i32) -> i32");
        assert_eq!(sig(&[], &[]), "()");
        assert_eq!(
            sig(&[ValType::I64, ValType::F32, ValType::F64], &[ValType::V128, ValType::FuncRef]),
            "(i64, f32, f64) -> (v128, funcref)"
        );
        assert_eq!(sig(&[ValType::ExternRef], &[]), "(externref)");
    }
}
