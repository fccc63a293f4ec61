//! Checks made on a module's bytes before wasmi compiles it.
//!
//! - **Locals per function.** wasmi charges fuel per instruction but not for zeroing a called
//!   function's locals, so a function declaring tens of thousands of locals, called in a loop,
//!   would do far more work per unit of fuel than any other code. Refusing such functions at load
//!   keeps fuel a fair measure of work.
//! - **No 64-bit memories.** wasmi accepts them whenever its `memory64` cargo feature is on, and
//!   cargo unifies features across a build: the host cannot rely on its own wasmi features.

use alloc::format;

use wasmparser::{Parser, Payload, TypeRef};

use super::error::LoadError;

/// Refuses a module with a 64-bit memory (defined or imported), in which any function declares
/// more than `max` locals, or that is cut short. Other malformed input is left to the validator,
/// which reports it precisely; so is a code section of more than `max_functions` bodies, which
/// wasmi's strict limits refuse from its header.
pub(crate) fn check_module(
    wasm: &[u8],
    max: u32,
    max_functions: Option<u32>,
) -> Result<(), LoadError> {
    let mut index = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        let body = match payload {
            Ok(Payload::CodeSectionStart { count, size, .. }) => {
                if count == 0 && size > 0 {
                    // Malformed (bytes after a zero count). wasmi 2.0 divides the section size
                    // by the count for its strict limits and would panic: refuse it here.
                    return Err(LoadError::InvalidModule(
                        "code section declares no functions but has contents".into(),
                    ));
                }
                if max_functions.is_some_and(|m| count > m) {
                    return Ok(());
                }
                continue;
            }
            Ok(Payload::CodeSectionEntry(body)) => body,
            Ok(Payload::MemorySection(reader)) => {
                if reader.into_iter().any(|m| m.is_ok_and(|m| m.memory64)) {
                    return Err(memory64());
                }
                continue;
            }
            Ok(Payload::ImportSection(reader)) => {
                let imports_memory64 = reader
                    .into_iter()
                    .any(|i| i.is_ok_and(|i| matches!(i.ty, TypeRef::Memory(m) if m.memory64)));
                if imports_memory64 {
                    return Err(memory64());
                }
                continue;
            }
            Ok(_) => continue,
            // The reader ran out of bytes: the file was cut (a section claims more than is left).
            Err(e) if e.message().starts_with("unexpected end") => {
                return Err(LoadError::InvalidModule(format!(
                    "truncated module ({} bytes): {e}",
                    wasm.len()
                )))
            }
            Err(_) => return Ok(()),
        };
        #[cfg(debug_assertions)]
        if operators_after_end(&body) {
            // wasmi 2.0 translates an operator before validating it and hits a debug assertion
            // when one follows the body's final `end` (release builds refuse it cleanly as
            // invalid). Refuse it here so debug builds do not panic either.
            return Err(LoadError::InvalidModule(format!(
                "function {index} has operators after its final `end`"
            )));
        }
        let Ok(reader) = body.get_locals_reader() else {
            return Ok(());
        };
        let mut declared = 0u64;
        for group in reader {
            let Ok((count, _)) = group else {
                return Ok(());
            };
            declared += u64::from(count);
            if declared > u64::from(max) {
                return Err(LoadError::ModuleLimit(format!(
                    "function {index} (in the code section) declares more than {max} locals"
                )));
            }
        }
        index += 1;
    }
    Ok(())
}

fn memory64() -> LoadError {
    LoadError::InvalidModule("64-bit memory (the memory64 proposal is disabled)".into())
}

/// Whether a function body has operators after the `end` that closes it. Malformed bodies are
/// left to the validator.
#[cfg(debug_assertions)]
fn operators_after_end(body: &wasmparser::FunctionBody<'_>) -> bool {
    use wasmparser::Operator;
    let Ok(mut reader) = body.get_operators_reader() else {
        return false;
    };
    let mut depth = 1u32;
    while !reader.eof() {
        let Ok(op) = reader.read() else {
            return false;
        };
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => depth += 1,
            Operator::End => {
                depth -= 1;
                if depth == 0 {
                    return !reader.eof();
                }
            }
            _ => {}
        }
    }
    false
}
