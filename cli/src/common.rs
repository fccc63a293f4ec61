//! What every subcommand shares: reading a module that may be binary or text, bounded reads,
//! usage and I/O errors, output to stdout and stderr, tables, and JSON.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use pluginhost::{
    CallCounts, Capability, DenialLog, DeniedTarget, Grant, GuestLogs, Limits, LoadError,
};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::exit::Exit;
use crate::options::LogFilter;

/// An error before anything ran: printed as one line on stderr, nothing on stdout.
#[derive(Debug)]
pub struct CliError {
    message: String,
    exit: Exit,
}

impl CliError {
    /// A usage or I/O error (exit 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            exit: Exit::Usage,
        }
    }

    /// The exit status it ends the command with.
    pub fn exit(&self) -> Exit {
        self.exit
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a subcommand returns: its exit status, or an error before anything ran.
pub type CliResult = Result<Exit, CliError>;

/// The SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Writes the plugin's log lines that `filter` shows to stderr, each as `[NAME] LEVEL: message`
/// (made printable), and says how many were dropped.
pub fn show_logs(name: &str, logs: &GuestLogs, filter: LogFilter) {
    let mut stderr = io::stderr().lock();
    for line in logs.iter().filter(|l| filter.shows(l.level)) {
        let _ = writeln!(
            stderr,
            "[{}] {}: {}",
            printable(name),
            line.level,
            printable(line.message)
        );
    }
    if logs.dropped() > 0 && filter.0.is_some() {
        let _ = writeln!(
            stderr,
            "[{}] ({} more log lines not kept: over the log buffer)",
            printable(name),
            logs.dropped()
        );
    }
}

/// The log lines as JSON: `[{level, message}]`.
pub fn logs_json(logs: &GuestLogs) -> Value {
    Value::Array(
        logs.iter()
            .map(|l| json!({ "level": l.level.name(), "message": l.message }))
            .collect(),
    )
}

/// What `grant` holds for `capability`, as the denial line shows it: `/data, /certs`, or
/// `none`.
pub fn grant_scopes(grant: &Grant, capability: Capability) -> String {
    if !grant.allows(capability) {
        return "none".to_string();
    }
    if grant.unrestricted().contains(capability) {
        return "everything".to_string();
    }
    let scopes: Vec<String> = if capability.takes_paths() {
        grant
            .path_prefixes(capability)
            .iter()
            .map(ToString::to_string)
            .collect()
    } else {
        grant.hosts().iter().map(ToString::to_string).collect()
    };
    if scopes.is_empty() {
        "no scope".to_string()
    } else {
        scopes.join(", ")
    }
}

/// One line per denied target: `denied fs.write /etc/passwd (grant: /data)`.
pub fn denial_lines(denials: &DenialLog, grant: &Grant) -> Vec<String> {
    let mut lines: Vec<String> = denials
        .targets()
        .map(|d| format!("denied {d} (grant: {})", grant_scopes(grant, d.capability)))
        .collect();
    if denials.unrecorded() > 0 {
        lines.push(format!(
            "denied {} more calls on other targets (not kept)",
            denials.unrecorded()
        ));
    }
    lines
}

/// The denied targets as JSON: `[{capability, import, target, truncated, count}]`.
pub fn denied_json(denials: &DenialLog) -> Value {
    denied_targets_json(denials.targets())
}

/// Denied targets (a run's [`DenialLog`] or a conformance report's) as JSON:
/// `[{capability, import, target, truncated, count}]`.
pub fn denied_targets_json<'a>(targets: impl Iterator<Item = &'a DeniedTarget>) -> Value {
    Value::Array(
        targets
            .map(|d| {
                json!({
                    "capability": d.capability.name(),
                    "import": d.import,
                    "target": d.target(),
                    "truncated": d.truncated,
                    "count": d.count,
                })
            })
            .collect(),
    )
}

/// Reads at most `limit` bytes from `reader`. Reads `limit + 1` bytes at most, so a larger (or
/// endless) source is refused without being read whole: `Ok(None)`.
pub fn read_bounded(reader: impl Read, limit: usize) -> io::Result<Option<Vec<u8>>> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut buf = Vec::new();
    reader.take(cap).read_to_end(&mut buf)?;
    Ok(if buf.len() > limit { None } else { Some(buf) })
}

/// The largest WebAssembly text accepted, as a multiple of the module size limit (text is
/// larger than the binary it encodes).
const TEXT_FACTOR: usize = 4;

/// Reads the module at `path`: binary WebAssembly is returned as is, anything else is converted
/// from WebAssembly text (the `wat` crate).
///
/// The outer error is a usage or I/O error (the file cannot be opened or read, or text is
/// larger than four times the module limit); the inner one is why the bytes are not a module,
/// as the host would have reported it (`invalid_module` or `limit`).
pub fn load_module(path: &Path, limits: &Limits) -> Result<Result<Vec<u8>, LoadError>, CliError> {
    let shown = path.display();
    let file =
        File::open(path).map_err(|e| CliError::usage(format!("cannot open {shown}: {e}")))?;
    let text_limit = limits.module_bytes.saturating_mul(TEXT_FACTOR);
    let read = read_bounded(&file, text_limit)
        .map_err(|e| CliError::usage(format!("cannot read {shown}: {e}")))?;
    let Some(bytes) = read else {
        // Only the first bytes were read: tell binary from text by them.
        let mut head = [0u8; 4];
        let binary = File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok_and(|()| head == *b"\0asm");
        if binary {
            let size = file
                .metadata()
                .ok()
                .and_then(|m| usize::try_from(m.len()).ok())
                .filter(|size| *size > text_limit)
                .unwrap_or(text_limit.saturating_add(1));
            return Ok(Err(LoadError::ModuleTooLarge {
                size,
                limit: limits.module_bytes,
            }));
        }
        return Err(CliError::usage(format!(
            "{shown} is not binary WebAssembly and is larger than {text_limit} bytes, the most \
             WebAssembly text accepted"
        )));
    };
    if !looks_like_text(&bytes) {
        // Binary (or empty, or random bytes): the host says what is wrong with it.
        return Ok(Ok(bytes));
    }
    match wat::Parser::new().parse_bytes(Some(path), &bytes) {
        Ok(wasm) => Ok(Ok(wasm.into_owned())),
        Err(e) => Ok(Err(LoadError::InvalidModule(format!(
            "not binary WebAssembly, and not valid WebAssembly text: {}",
            wat_error_line(&e.to_string())
        )))),
    }
}

/// Whether `bytes` may be WebAssembly text: UTF-8 whose first token opens an s-expression or a
/// comment. Anything else is handed to the host as binary, which names what it is not.
fn looks_like_text(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\0asm") {
        return false;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.starts_with('(') || text.starts_with(";;")
}

/// A `wat` error (a message, then `--> file:line:col` and a source excerpt) as one line:
/// `file:line:col: message`.
fn wat_error_line(rendered: &str) -> String {
    let mut lines = rendered.lines();
    let message = lines.next().unwrap_or("").trim();
    let location = lines.find_map(|line| line.trim().strip_prefix("--> "));
    match location {
        Some(location) => format!("{}: {message}", location.trim()),
        None => message.to_string(),
    }
}

/// `text` with control characters (newlines, escapes) written as `\n`, `\u{1b}`: names and
/// messages come from untrusted modules, and every line we print stays one line.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes `bytes` to stdout and flushes.
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| CliError::usage(format!("cannot write to stdout: {e}")))
}

/// Writes one line to stderr, prefixed with `pluginhost: `. A failure to write is ignored:
/// there is nowhere left to report it.
pub fn error_line(message: &str) {
    let _ = writeln!(io::stderr().lock(), "pluginhost: {}", printable(message));
}

/// Writes `value` to stdout as one JSON object on one line.
pub fn write_json(value: &Value) -> Result<(), CliError> {
    let mut text = value.to_string();
    text.push('\n');
    write_stdout(text.as_bytes())
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// A JSON object with every capability name as a key and `count(capability)` as the value.
pub fn per_capability(count: impl Fn(Capability) -> u64) -> Value {
    let map: Map<String, Value> = Capability::ALL
        .into_iter()
        .map(|cap| (cap.name().to_string(), Value::from(count(cap))))
        .collect();
    Value::Object(map)
}

/// `calls` as `(allowed, denied)` JSON objects keyed by capability name.
pub fn call_counts_json(calls: &CallCounts) -> (Value, Value) {
    (
        per_capability(|cap| calls.allowed(cap)),
        per_capability(|cap| calls.denied(cap)),
    )
}

/// An aligned table: a header row and `rows`, every cell made printable, columns separated by
/// two spaces, each line indented by two spaces.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| printable(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_string()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::from(" ");
        for (cell, width) in row.iter().zip(&widths) {
            line.push(' ');
            line.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad + 1));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn printable_escapes_controls() {
        assert_eq!(printable("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    }

    #[test]
    fn bounded_read_refuses_more() {
        assert_eq!(
            read_bounded(&b"abc"[..], 3).ok().flatten(),
            Some(b"abc".to_vec())
        );
        assert_eq!(read_bounded(&b"abcd"[..], 3).ok().flatten(), None);
    }

    #[test]
    fn wat_error_is_one_line() {
        let rendered = "expected `(`\n     --> x.wat:1:1\n  |\n1 | garbage\n  | ^";
        assert_eq!(wat_error_line(rendered), "x.wat:1:1: expected `(`");
    }

    #[test]
    fn table_aligns() {
        let out = table(&["A", "BB"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(out, "  A    BB\n  xyz  1\n");
    }
}
