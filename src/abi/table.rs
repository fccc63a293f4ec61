//! The static capability table: every host function, its signature, the capability it needs and
//! its base fuel cost. A plugin's linker is built from this table restricted to its grant, and
//! from nothing else.

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

use wasmi::{Caller, Linker};

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
    body: Body,
}

/// The result every host function returns to wasmi: a value for the guest, or a trap.
type Ret = Result<i32, wasmi::Error>;

/// A host function's Rust body, by arity. Linking goes through one closure type per arity, so
/// wasmi's typed trampoline (argument decoding, result encoding) is compiled five times, not
/// once per host function (3 KiB of device flash); each call pays one indirect call more.
#[derive(Clone, Copy)]
enum Body {
    A0(fn(Caller<'_, HostState>) -> Ret),
    #[cfg_attr(not(feature = "cap-net"), allow(dead_code))]
    A1(fn(Caller<'_, HostState>, i32) -> Ret),
    A2(fn(Caller<'_, HostState>, i32, i32) -> Ret),
    A3(fn(Caller<'_, HostState>, i32, i32, i32) -> Ret),
    #[cfg_attr(
        not(any(feature = "cap-fs", feature = "cap-process")),
        allow(dead_code)
    )]
    A4(fn(Caller<'_, HostState>, i32, i32, i32, i32) -> Ret),
}

impl Body {
    /// How many `i32` parameters the body takes.
    const fn params(self) -> usize {
        match self {
            Body::A0(_) => 0,
            Body::A1(_) => 1,
            Body::A2(_) => 2,
            Body::A3(_) => 3,
            Body::A4(_) => 4,
        }
    }
}

impl HostFunction {
    /// The signature as written in the ABI document, e.g. `(i32, i32) -> i32`.
    pub fn signature(&self) -> Signature {
        Signature(self.params)
    }

    /// Defines this function in `linker`.
    pub(crate) fn link(&self, linker: &mut Linker<HostState>) -> Result<(), wasmi::Error> {
        type C<'a> = Caller<'a, HostState>;
        let linked = match self.body {
            Body::A0(f) => linker.func_wrap(ABI_MODULE, self.name, move |c: C| f(c)),
            Body::A1(f) => linker.func_wrap(ABI_MODULE, self.name, move |c: C, a: i32| f(c, a)),
            Body::A2(f) => linker.func_wrap(ABI_MODULE, self.name, move |c: C, a: i32, b: i32| {
                f(c, a, b)
            }),
            Body::A3(f) => linker.func_wrap(
                ABI_MODULE,
                self.name,
                move |c: C, a: i32, b: i32, d: i32| f(c, a, b, d),
            ),
            Body::A4(f) => linker.func_wrap(
                ABI_MODULE,
                self.name,
                move |c: C, a: i32, b: i32, d: i32, e: i32| f(c, a, b, d, e),
            ),
        };
        linked.map(|_| ()).map_err(wasmi::Error::from)
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
    ($name:ident, $arity:ident, $capability:expr, $fuel:expr, $func:path) => {
        host_function!($name, $arity, $capability, $fuel, $func, since 1)
    };
    ($name:ident, $arity:ident, $capability:expr, $fuel:expr, $func:path, since $since:literal) => {
        HostFunction {
            name: stringify!($name),
            params: Body::$arity($func).params(),
            capability: $capability,
            base_fuel: $fuel,
            since: $since,
            body: Body::$arity($func),
        }
    };
}

/// Every host function the guest ABI offers, in ABI order.
pub static HOST_FUNCTIONS: &[HostFunction] = &[
    host_function!(
        input_len,
        A0,
        None,
        super::io::INPUT_LEN_FUEL,
        super::io::input_len
    ),
    host_function!(
        input_read,
        A2,
        None,
        super::io::INPUT_READ_FUEL,
        super::io::input_read
    ),
    host_function!(
        output_write,
        A2,
        None,
        super::io::OUTPUT_WRITE_FUEL,
        super::io::output_write
    ),
    host_function!(log, A3, None, super::io::LOG_FUEL, super::io::log),
    #[cfg(feature = "cap-fs")]
    host_function!(
        fs_read,
        A4,
        Some(Capability::FsRead),
        super::fs::FS_FUEL,
        super::fs::fs_read
    ),
    #[cfg(feature = "cap-fs")]
    host_function!(
        fs_size,
        A2,
        Some(Capability::FsRead),
        super::fs::FS_FUEL,
        super::fs::fs_size
    ),
    #[cfg(feature = "cap-fs")]
    host_function!(
        fs_write,
        A4,
        Some(Capability::FsWrite),
        super::fs::FS_FUEL,
        super::fs::fs_write
    ),
    #[cfg(feature = "cap-fs")]
    host_function!(
        fs_rename,
        A4,
        Some(Capability::FsWrite),
        super::fs::FS_FUEL,
        super::fs::fs_rename
    ),
    #[cfg(feature = "cap-net")]
    host_function!(
        net_dial,
        A3,
        Some(Capability::NetDial),
        super::net::DIAL_FUEL,
        super::net::net_dial
    ),
    #[cfg(feature = "cap-net")]
    host_function!(
        net_send,
        A3,
        Some(Capability::NetDial),
        super::net::IO_FUEL,
        super::net::net_send
    ),
    #[cfg(feature = "cap-net")]
    host_function!(
        net_recv,
        A3,
        Some(Capability::NetDial),
        super::net::IO_FUEL,
        super::net::net_recv
    ),
    #[cfg(feature = "cap-net")]
    host_function!(
        net_close,
        A1,
        Some(Capability::NetDial),
        super::net::CLOSE_FUEL,
        super::net::net_close
    ),
    #[cfg(feature = "cap-net")]
    host_function!(
        net_dial_tls,
        A3,
        Some(Capability::NetDial),
        super::net::DIAL_TLS_FUEL,
        super::net::net_dial_tls,
        since 2
    ),
    #[cfg(feature = "cap-process")]
    host_function!(
        process_exec,
        A4,
        Some(Capability::ProcessExec),
        super::process::EXEC_FUEL,
        super::process::process_exec
    ),
    host_function!(
        random_fill,
        A2,
        None,
        super::entropy::RANDOM_FILL_FUEL,
        super::entropy::random_fill,
        since 2
    ),
    host_function!(
        clock_now,
        A2,
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

/// Describes an import's or export's type: `func (i32) -> i32`, `memory min 1 max none (64 KiB
/// pages)`, `table min 1` or `global`.
pub(crate) fn describe(ty: &wasmi::ExternType) -> String {
    match ty {
        wasmi::ExternType::Func(f) => format!("func {}", func_signature(f)),
        wasmi::ExternType::Memory(m) => {
            let max = m
                .maximum()
                .map_or_else(|| "none".to_string(), |m| m.to_string());
            format!("memory min {} max {} (64 KiB pages)", m.minimum(), max)
        }
        wasmi::ExternType::Table(t) => format!("table min {}", t.minimum()),
        wasmi::ExternType::Global(_) => "global".to_string(),
    }
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
    out.push_str(")");
    let results = ty.results();
    if !results.is_empty() {
        out.push_str(" -> ");
        if results.len() > 1 {
            out.push_str("(");
        }
        list(&mut out, results);
        if results.len() > 1 {
            out.push_str(")");
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
            func_signature(&FuncType::new(
                params.iter().copied(),
                results.iter().copied(),
            ))
        };
        assert_eq!(
            sig(&[ValType::I32, ValType::I32], &[ValType::I32]),
            "(i32, i32) -> i32"
        );
        assert_eq!(sig(&[], &[]), "()");
        assert_eq!(
            sig(
                &[ValType::I64, ValType::F32, ValType::F64],
                &[ValType::V128, ValType::FuncRef]
            ),
            "(i64, f32, f64) -> (v128, funcref)"
        );
        assert_eq!(sig(&[ValType::ExternRef], &[]), "(externref)");
    }
}
