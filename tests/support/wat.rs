//! WAT text: compiling it, writing bytes and imports into it, and a benign plugin.

use std::fmt::Write as _;

use pluginhost::{HostFunction, HOST_FUNCTIONS};

/// Compiles WAT text, panicking with the parser's message.
pub fn wasm(wat: &str) -> Vec<u8> {
    match wat::parse_str(wat) {
        Ok(bytes) => bytes,
        Err(e) => panic!("fixture does not parse: {e}\n{wat}"),
    }
}

/// `bytes` as a WAT string literal body: every byte escaped as `\hh`.
pub fn wat_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for b in bytes {
        let _ = write!(out, "\\{b:02x}");
    }
    out
}

/// The `(import ...)` line of host function `name`, bound to `$name`, with its ABI signature.
pub fn import_line(name: &str) -> String {
    let function = host_function(name);
    let params = " i32".repeat(function.params);
    format!("(import \"pluginhost\" \"{name}\" (func ${name} (param{params}) (result i32)))")
}

/// The capability-table entry of host function `name`.
pub fn host_function(name: &str) -> &'static HostFunction {
    HOST_FUNCTIONS
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name} is not in HOST_FUNCTIONS"))
}

/// The base fuel of host function `name`, from the capability table.
pub fn base_fuel(name: &str) -> u64 {
    host_function(name).base_fuel
}

/// A benign plugin: copies its input to its output, prefixed with `ok:`.
pub const ECHO: &str = r#"(module
    (import "pluginhost" "input_read" (func $read (param i32 i32) (result i32)))
    (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "ok:")
    (func (export "run") (result i32)
        (local $n i32)
        (local.set $n (call $read (i32.const 16) (i32.const 4096)))
        (drop (call $out (i32.const 0) (i32.const 3)))
        (drop (call $out (i32.const 16) (local.get $n)))
        (i32.const 0)))"#;
