//! Fixtures that call host functions with constant arguments and report each result.
//!
//! A [`Fixture`] is a plugin whose `run` entry makes a fixed sequence of host calls. Each call's
//! `i32` result is stored in a scratch area at the start of memory and, after the last call, the
//! whole scratch area is written to the output (4 bytes little-endian per call), followed by any
//! spans the test asked to see again with [`Fixture::emit`]. `run` returns the last call's result
//! as its status, so even a plugin whose output cannot be written (no `memory` export) reports
//! the code of its one call.
//!
//! Data (paths, hosts, argument vectors) goes to fixed offsets through `(data ...)` segments,
//! handed out by [`Fixture::put`] and [`Fixture::reserve`] from [`DATA_START`] upwards.

use std::fmt::Write as _;

use pluginhost::{Completion, Host, Plugin, HOST_FUNCTIONS};

use super::wat::{import_line, wasm, wat_bytes};

/// Results of a fixture's calls are stored here, 4 bytes each.
pub const SCRATCH: u32 = 0;
/// The most calls one fixture makes.
pub const MAX_CALLS: usize = 64;
/// The first offset [`Fixture::put`] and [`Fixture::reserve`] hand out.
pub const DATA_START: u32 = 256;
/// One wasm page.
pub const PAGE: u32 = 65_536;

/// A range of fixture memory: where data was put, or a buffer reserved for the host to fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub ptr: i32,
    pub len: i32,
}

impl Span {
    /// The span's first `len` bytes.
    pub fn prefix(self, len: i32) -> Span {
        assert!(len <= self.len);
        Span { ptr: self.ptr, len }
    }
}

/// An argument of a fixture call.
#[derive(Clone, Copy, Debug)]
pub enum Arg {
    /// A constant.
    C(i32),
    /// The result of an earlier call of the same fixture (by index), e.g. a network handle.
    Ret(usize),
}

/// A plugin making a fixed sequence of host calls; see the module documentation.
#[derive(Clone, Debug)]
pub struct Fixture {
    pages: u32,
    memory: MemoryKind,
    data: Vec<(u32, Vec<u8>)>,
    next: u32,
    calls: Vec<(String, Vec<Arg>)>,
    emits: Vec<Span>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MemoryKind {
    Exported,
    Internal,
    None,
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

impl Fixture {
    /// One exported page of memory, no data, no calls.
    pub fn new() -> Fixture {
        Fixture {
            pages: 1,
            memory: MemoryKind::Exported,
            data: Vec::new(),
            next: DATA_START,
            calls: Vec::new(),
            emits: Vec::new(),
        }
    }

    /// Sets the memory's initial size in pages.
    pub fn pages(&mut self, pages: u32) -> &mut Self {
        self.pages = pages;
        self
    }

    /// Keeps the memory but does not export it: host calls find no `memory` export.
    pub fn without_memory_export(&mut self) -> &mut Self {
        self.memory = MemoryKind::Internal;
        self
    }

    /// No memory at all; only one call, whose result `run` returns.
    pub fn without_memory(&mut self) -> &mut Self {
        self.memory = MemoryKind::None;
        self
    }

    /// Places `bytes` at the next free offset (8-aligned) and returns where.
    pub fn put(&mut self, bytes: impl AsRef<[u8]>) -> Span {
        let bytes = bytes.as_ref();
        let span = self.reserve(bytes.len());
        self.data.push((span.ptr as u32, bytes.to_vec()));
        span
    }

    /// Reserves `len` bytes (zeroed) at the next free offset (8-aligned) and returns where.
    pub fn reserve(&mut self, len: usize) -> Span {
        let ptr = self.next;
        let len = u32::try_from(len).expect("span too long");
        let end = ptr.checked_add(len).expect("span too long");
        assert!(
            u64::from(end) <= u64::from(self.pages) * u64::from(PAGE),
            "fixture data past the end of memory; add pages"
        );
        self.next = end.div_ceil(8) * 8;
        Span {
            ptr: ptr as i32,
            len: len as i32,
        }
    }

    /// Places `bytes` at a fixed `offset` (which the allocator then skips).
    pub fn put_at(&mut self, offset: u32, bytes: impl AsRef<[u8]>) -> Span {
        let bytes = bytes.as_ref();
        assert!(
            offset >= DATA_START,
            "offsets below DATA_START hold results"
        );
        self.data.push((offset, bytes.to_vec()));
        let end = offset + bytes.len() as u32;
        self.next = self.next.max(end.div_ceil(8) * 8);
        Span {
            ptr: offset as i32,
            len: bytes.len() as i32,
        }
    }

    /// Calls host function `name` with constant arguments. (An `output_write` of any bytes
    /// here would land in the output before the codes; use custom WAT for output tests.)
    pub fn call(&mut self, name: &str, args: &[i32]) -> &mut Self {
        let args = args.iter().map(|a| Arg::C(*a)).collect();
        self.call_args(name, args)
    }

    /// Calls host function `name` with arguments that may refer to earlier results.
    pub fn call_args(&mut self, name: &str, args: Vec<Arg>) -> &mut Self {
        assert!(
            self.calls.len() < MAX_CALLS,
            "too many calls in one fixture"
        );
        if let Some(function) = HOST_FUNCTIONS.iter().find(|f| f.name == name) {
            assert_eq!(
                function.params,
                args.len(),
                "{name} takes {} arguments",
                function.params
            );
        }
        for arg in &args {
            if let Arg::Ret(i) = arg {
                assert!(*i < self.calls.len(), "Ret({i}) refers to a later call");
            }
        }
        self.calls.push((name.to_string(), args));
        self
    }

    /// After the calls, also writes `span` to the output (to see what the host put there).
    pub fn emit(&mut self, span: Span) -> &mut Self {
        self.emits.push(span);
        self
    }

    /// How many calls the fixture makes.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether the fixture makes no calls.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The fixture as WAT text.
    pub fn wat(&self) -> String {
        let mut names: Vec<&str> = self.calls.iter().map(|(n, _)| n.as_str()).collect();
        if self.memory != MemoryKind::None {
            names.push("output_write");
        }
        let mut seen = Vec::new();
        let mut out = String::from("(module\n");
        for name in names {
            if !seen.contains(&name) {
                seen.push(name);
                let _ = writeln!(out, "  {}", import_line(name));
            }
        }
        match self.memory {
            MemoryKind::Exported => {
                let _ = writeln!(out, "  (memory (export \"memory\") {})", self.pages);
            }
            MemoryKind::Internal => {
                let _ = writeln!(out, "  (memory {})", self.pages);
            }
            MemoryKind::None => {}
        }
        for (offset, bytes) in &self.data {
            let _ = writeln!(
                out,
                "  (data (i32.const {offset}) \"{}\")",
                wat_bytes(bytes)
            );
        }
        out.push_str("  (func (export \"run\") (result i32)\n");
        if self.memory == MemoryKind::None {
            assert!(
                self.calls.len() <= 1,
                "a fixture without memory makes one call"
            );
            match self.calls.first() {
                Some(call) => {
                    let _ = writeln!(out, "    {})", self.call_expr(call));
                }
                None => out.push_str("    (i32.const 0))\n"),
            }
            out.push_str(")\n");
            return out;
        }
        for (i, call) in self.calls.iter().enumerate() {
            let _ = writeln!(
                out,
                "    (i32.store (i32.const {}) {})",
                SCRATCH as usize + 4 * i,
                self.call_expr(call)
            );
        }
        let _ = writeln!(
            out,
            "    (drop (call $output_write (i32.const {SCRATCH}) (i32.const {})))",
            4 * self.calls.len()
        );
        for span in &self.emits {
            let _ = writeln!(
                out,
                "    (drop (call $output_write (i32.const {}) (i32.const {})))",
                span.ptr, span.len
            );
        }
        match self.calls.len() {
            0 => out.push_str("    (i32.const 0))\n"),
            n => {
                let _ = writeln!(
                    out,
                    "    (i32.load (i32.const {})))",
                    SCRATCH as usize + 4 * (n - 1)
                );
            }
        }
        out.push_str(")\n");
        out
    }

    fn call_expr(&self, (name, args): &(String, Vec<Arg>)) -> String {
        let mut expr = format!("(call ${name}");
        for arg in args {
            match arg {
                Arg::C(c) => {
                    let _ = write!(expr, " (i32.const {c})");
                }
                Arg::Ret(i) => {
                    let _ = write!(expr, " (i32.load (i32.const {}))", SCRATCH as usize + 4 * i);
                }
            }
        }
        expr.push(')');
        expr
    }

    /// The fixture as a wasm module.
    pub fn wasm(&self) -> Vec<u8> {
        wasm(&self.wat())
    }

    /// Invokes `run` with `input` and splits the output into the calls' codes and the emitted
    /// bytes. Panics if the invocation does not complete.
    pub fn run_with_input(&self, host: &Host, plugin: &mut Plugin, input: &[u8]) -> Outcome {
        let completion = match host.call(plugin, "run", input) {
            Ok(completion) => completion,
            Err(e) => panic!("invocation failed: {e}\n{}", self.wat()),
        };
        Outcome::split(completion, self.calls.len())
    }

    /// As [`Fixture::run_with_input`] with an empty input.
    pub fn run(&self, host: &Host, plugin: &mut Plugin) -> Outcome {
        self.run_with_input(host, plugin, b"")
    }

    /// Loads the fixture into `host` under `grant` (panicking on a load error) and runs it once.
    pub fn load_and_run(&self, host: &Host, grant: pluginhost::Grant) -> (Plugin, Outcome) {
        let mut plugin = match host.load(&self.wasm(), grant) {
            Ok(plugin) => plugin,
            Err(e) => panic!("load failed: {e}\n{}", self.wat()),
        };
        let outcome = self.run(host, &mut plugin);
        (plugin, outcome)
    }
}

/// What one run of a [`Fixture`] reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The status `run` returned: the last call's result.
    pub status: i32,
    /// Each call's result, in order (empty if the output could not be written).
    pub codes: Vec<i32>,
    /// The emitted spans, concatenated.
    pub emitted: Vec<u8>,
}

impl Outcome {
    fn split(completion: Completion, calls: usize) -> Outcome {
        let output = completion.output;
        let head = (4 * calls).min(output.len());
        let codes = output[..head]
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Outcome {
            status: completion.status,
            codes,
            emitted: output[head..].to_vec(),
        }
    }
}
