//! `host_abi`: every host function, called once with arbitrary arguments, memory size, limits,
//! grant and memory contents, through a tiny fixed module per function, and compared with a
//! model of `docs/abi.md`.
//!
//! The module of function `F` (built once, in a `OnceLock`):
//!
//! 1. `input_read(0, 64)`: the 64-byte header of the input lands at address 0; the guest loads
//!    its fields into locals (`grow`, `payload_dst`, `payload_len`, the pre-dial arguments, flags,
//!    `a0..a3`).
//! 2. `memory.grow(grow)`.
//! 3. `input_read(payload_dst, payload_len)`: the whole input (header and image) lands at
//!    `payload_dst`; the image (paths, hosts, argument vectors, raw bytes) starts at
//!    `payload_dst + 64`.
//! 4. Only for `net_send`, `net_recv`, `net_close`: `h = net_dial(...)` (the pre-dial), stored at
//!    address 0; with flag bit 0, `a0 = h`.
//! 5. `output_write(0, memory size)`: the "before" snapshot (not for `output_write` itself, whose
//!    output cap is under test and which never writes memory).
//! 6. `r = F(a0, ...)`.
//! 7. `output_write(0, memory size)`: the "after" snapshot; `run` returns `r`.
//!
//! Checks, for every input:
//! - The run completes (no trap, no fuel exhaustion) and the output has the predicted layout.
//! - The "before" snapshot equals the memory the harness predicts from the header (this checks
//!   `input_read` copies exactly, `memory.grow` obeys `Limits::memory_bytes`, and the pre-dial
//!   result against the model).
//! - The model lists, for `F`'s arguments on the "before" memory, every check that fails (a
//!   range out of memory is `INVALID`, over its cap `LIMIT`; bad text `INVALID`; not admitted by
//!   the grant model `DENIED`; a bad handle `BAD_HANDLE`; too many handles `LIMIT`). If any fails,
//!   the result must be one of their codes and nothing may change: guest memory, the
//!   `MemoryFilesystem`'s files, `MemoryNetwork::dial_count`, `MemoryProcessRunner::runs`.
//! - If none fails the call must reach the back-end, return what the back-end gives, and change
//!   guest memory only inside the destination range it reports (with the bytes it reports).
//! - Denials: the plugin's denied count grows by exactly the number of `DENIED` results.
//! - A module importing a function whose capability the grant lacks fails to load with
//!   `NotGranted`.

use std::ops::Range;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use pluginhost::{Capability, Host, HostConfig, LoadError, HOST_FUNCTIONS};

use crate::common::{self, le_i32, EntrySpec, GrantSpec, Memory};
use crate::models::grant::Model;
use crate::models::{host, path};

const DENIED: i32 = -1;
const INVALID: i32 = -2;
const NOT_FOUND: i32 = -3;
const IO: i32 = -4;
const LIMIT: i32 = -5;
const BAD_HANDLE: i32 = -6;

const PAGE: usize = 65_536;
const HEADER: usize = 64;

/// Functions that run the pre-dial before the call under test.
const NEEDS_HANDLE: &[&str] = &["net_send", "net_recv", "net_close"];

/// The module for each entry of `HOST_FUNCTIONS`, in the same order.
pub fn modules() -> &'static [Vec<u8>] {
    static MODULES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    MODULES.get_or_init(|| HOST_FUNCTIONS.iter().map(|f| module_for(f.name)).collect())
}

fn params_of(name: &str) -> usize {
    HOST_FUNCTIONS
        .iter()
        .find(|f| f.name == name)
        .map_or(0, |f| f.params)
}

/// The WAT of the module testing `name`.
pub fn module_wat(name: &str) -> String {
    let mut imports = vec!["input_read", "output_write"];
    let pre_dial = NEEDS_HANDLE.contains(&name);
    if pre_dial {
        imports.push("net_dial");
    }
    if !imports.contains(&name) {
        imports.push(name);
    }
    let mut wat = String::from("(module\n");
    for i in &imports {
        wat.push_str(&format!(
            "  (import \"pluginhost\" \"{i}\" (func ${i} (param{}) (result i32)))\n",
            " i32".repeat(params_of(i))
        ));
    }
    let args: String = (0..params_of(name))
        .map(|i| format!(" (local.get $a{i})"))
        .collect();
    let snapshot = name != "output_write";
    let before = if snapshot {
        "(drop (call $output_write (i32.const 0) (local.get $size)))"
    } else {
        ""
    };
    let after = before;
    let dial = if pre_dial {
        r#"(local.set $h (call $net_dial (local.get $dh) (local.get $dl) (local.get $dp)))
    (i32.store (i32.const 0) (local.get $h))
    (if (i32.and (local.get $flags) (i32.const 1)) (then (local.set $a0 (local.get $h))))"#
    } else {
        ""
    };
    wat.push_str(&format!(
        r#"  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (local $grow i32) (local $pdst i32) (local $plen i32) (local $dh i32) (local $dl i32)
    (local $dp i32) (local $flags i32) (local $a0 i32) (local $a1 i32) (local $a2 i32)
    (local $a3 i32) (local $h i32) (local $size i32) (local $r i32)
    (drop (call $input_read (i32.const 0) (i32.const {HEADER})))
    (local.set $grow (i32.load (i32.const 0)))
    (local.set $pdst (i32.load (i32.const 4)))
    (local.set $plen (i32.load (i32.const 8)))
    (local.set $dh (i32.load (i32.const 12)))
    (local.set $dl (i32.load (i32.const 16)))
    (local.set $dp (i32.load (i32.const 20)))
    (local.set $flags (i32.load (i32.const 24)))
    (local.set $a0 (i32.load (i32.const 28)))
    (local.set $a1 (i32.load (i32.const 32)))
    (local.set $a2 (i32.load (i32.const 36)))
    (local.set $a3 (i32.load (i32.const 40)))
    (drop (memory.grow (local.get $grow)))
    (drop (call $input_read (local.get $pdst) (local.get $plen)))
    {dial}
    (local.set $size (i32.mul (memory.size) (i32.const {PAGE})))
    {before}
    (local.set $r (call ${name}{args}))
    {after}
    (local.get $r)))
"#
    ));
    wat
}

fn module_for(name: &str) -> Vec<u8> {
    let wat = module_wat(name);
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("{name}: {e}\n{wat}"))
}

/// Path components blobs are made of.
const COMPONENTS: &[&str] = &[
    "data", "sub", "a.txt", "b.txt", "dätä", "c.txt", "etc", "secret", "usr", "bin", "tool",
    "true", "run.sh", "..", ".", "", "x", "DATA", "data2", "new", "empty", "dat",
];

/// Host labels blobs are made of.
const LABELS: &[&str] = &[
    "echo",
    "test",
    "ECHO",
    "a",
    "example",
    "com",
    "127",
    "0",
    "1",
    "::1",
    "[::1]",
    "0x7f000001",
    "2130706433",
    "*",
    "",
    "0177",
    "evil",
];

/// Argument vector items.
const ARGS: &[&str] = &[
    "/usr/bin/tool",
    "/bin/true",
    "/data/run.sh",
    "/usr//bin/tool",
    "/usr/bin/./tool",
    "-x",
    "",
    "arg",
    "/etc/secret",
    "/usr/bin",
];

/// Useful values: files, programs and hosts the back-ends know, and near misses.
const KNOWN: &[&[u8]] = &[
    b"/data/a.txt",
    b"/data/sub/b.txt",
    b"/data/new",
    b"/data/sub/new",
    b"/data/empty/new",
    "/dätä/c.txt".as_bytes(),
    b"/etc/secret",
    b"/data2/x",
    b"/DATA/a.txt",
    b"/data/../etc/secret",
    b"/data/a.txt\0",
    b"data/a.txt",
    b"/data//./a.txt/",
    b"/usr/bin/tool\0",
    b"/usr/bin/tool\0-x\0\0arg\0",
    b"/bin/true\0",
    b"/data/run.sh\0",
    b"/usr//bin/tool\0",
    b"/usr/bin/tool",
    b"echo.test",
    b"ECHO.test.",
    b"127.0.0.1",
    b"::1",
    b"[::1]",
    b"2130706433",
    b"a.example.com",
    b"echo.test\0.evil",
    b"\xff\xfe",
    b"hello \xc3",
];

/// A piece of the image.
#[derive(Arbitrary, Debug)]
pub enum Blob {
    /// One of [`KNOWN`].
    Known(u8),
    /// `/` + components joined by `/` (+ a trailing `/`).
    Path(Vec<u8>, bool),
    /// `/` + `n` times `a`.
    LongPath(u16),
    /// Labels joined by `.` (+ a trailing `.`).
    Host(Vec<u8>, bool),
    /// Items each followed by NUL (the last NUL optional).
    Argv(Vec<u8>, bool),
    /// Raw bytes.
    Raw(Vec<u8>),
    /// Text.
    Text(String),
    /// Zeros.
    Pad(u16),
}

impl Blob {
    fn bytes(&self) -> Vec<u8> {
        let pick = |pool: &[&str], i: &u8| pool[usize::from(*i) % pool.len()].to_owned();
        let out = match self {
            Blob::Known(i) => KNOWN[usize::from(*i) % KNOWN.len()].to_vec(),
            Blob::Path(parts, slash) => {
                let parts: Vec<String> =
                    parts.iter().take(16).map(|i| pick(COMPONENTS, i)).collect();
                let mut s = format!("/{}", parts.join("/"));
                if *slash {
                    s.push('/');
                }
                s.into_bytes()
            }
            Blob::LongPath(n) => {
                let mut s = String::from("/");
                s.push_str(&"a".repeat(usize::from(*n) % 4200));
                s.into_bytes()
            }
            Blob::Host(labels, dot) => {
                let labels: Vec<String> = labels.iter().take(8).map(|i| pick(LABELS, i)).collect();
                let mut s = labels.join(".");
                if *dot {
                    s.push('.');
                }
                s.into_bytes()
            }
            Blob::Argv(items, last_nul) => {
                let mut out = Vec::new();
                let items: Vec<String> = items.iter().take(80).map(|i| pick(ARGS, i)).collect();
                for (n, item) in items.iter().enumerate() {
                    out.extend_from_slice(item.as_bytes());
                    if n + 1 < items.len() || *last_nul {
                        out.push(0);
                    }
                }
                out
            }
            Blob::Raw(bytes) => bytes.clone(),
            Blob::Text(s) => s.clone().into_bytes(),
            Blob::Pad(n) => vec![0; usize::from(*n) % 70_000],
        };
        out.into_iter().take(70_000).collect()
    }
}

/// Arguments of a call: a blob's exact pointer and length, a pair near a blob, or one value.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ArgSpec {
    /// Pointer and length of blob `i`.
    Blob(u8),
    /// Pointer and length of blob `i`, each moved by a small delta.
    Near(u8, i8, i8),
    /// One argument.
    One(Arg),
}

/// One argument of a call.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Arg {
    /// The address of a blob, plus a small delta.
    Ptr(u8, i8),
    /// The length of a blob, plus a small delta.
    Len(u8, i8),
    /// The memory size plus a small delta.
    End(i16),
    /// A small number.
    Small(u8),
    /// Anything.
    Raw(i32),
}

/// Where the guest copies its input.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Dst {
    /// At `64 + 8 * v`.
    Low(u8),
    /// So that it ends `v % 8` bytes before the end of memory.
    End(u8),
    /// Anywhere.
    Raw(u32),
}

/// A value for a limit: usually `default`, else an interesting one or anything up to 65535.
fn pick_limit(v: u16, default: usize) -> usize {
    if v < 0xc000 {
        return default;
    }
    match v % 8 {
        0 => 0,
        1 => 4,
        2 => 16,
        3 => 64,
        4 => 4096,
        5 => 65_536,
        _ => usize::from(v & 0x3fff),
    }
}

/// Everything the fuzzer chooses.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// Which host function (index into `HOST_FUNCTIONS`).
    pub function: u8,
    /// The grant.
    pub grant: GrantSpec,
    /// Add the function's capability to the grant.
    pub with_capability: bool,
    /// `Limits::memory_bytes` is `1 + max_pages % 4` pages.
    pub max_pages: u8,
    /// `memory.grow` delta: small (`% 4`) or raw.
    pub grow: Result<u8, u32>,
    /// Where the input lands.
    pub payload_dst: Dst,
    /// The image.
    pub blobs: Vec<Blob>,
    /// The call's arguments, taken in order until four values are known (then `Small(0)`).
    pub args: Vec<ArgSpec>,
    /// Pre-dial host and length, and port (`net_send`/`net_recv`/`net_close`).
    pub dial: (ArgSpec, Arg),
    /// Add the usual scope of the function's capability to the grant (`fs.read=/data`,
    /// `fs.write=/data`, `net.dial=echo.test:7`, `process.exec=/usr/bin`).
    pub usual_scope: bool,
    /// Pre-dial `echo.test:7` (a blob appended to the image) instead of `dial`.
    pub usual_dial: bool,
    /// Pass the pre-dial's handle as the first argument.
    pub use_handle: bool,
    /// Limits: call, path, argv bytes, argv items, log message, log total, handles, output.
    pub limits: (u16, u16, u16, u8, u16, u16, u8, u16),
    /// `MemoryFilesystem` capacity: files, bytes.
    pub fs_capacity: (u8, u16),
    /// `MemoryNetwork::with_max_request_bytes`.
    pub max_request: u16,
}

struct Layout {
    size: usize,
    pdst: u32,
    offsets: Vec<(u32, u32)>,
}

impl Layout {
    /// Expands argument specs into exactly `n` values.
    fn expand(&self, specs: &[ArgSpec], n: usize) -> Vec<i32> {
        let mut out = Vec::new();
        for spec in specs {
            match *spec {
                ArgSpec::Blob(i) => {
                    out.push(self.resolve(Arg::Ptr(i, 0)));
                    out.push(self.resolve(Arg::Len(i, 0)));
                }
                ArgSpec::Near(i, dp, dl) => {
                    out.push(self.resolve(Arg::Ptr(i, dp)));
                    out.push(self.resolve(Arg::Len(i, dl)));
                }
                ArgSpec::One(a) => out.push(self.resolve(a)),
            }
            if out.len() >= n {
                break;
            }
        }
        out.resize(n, 0);
        out
    }

    fn resolve(&self, arg: Arg) -> i32 {
        let blob = |i: u8| {
            self.offsets
                .get(usize::from(i) % self.offsets.len().max(1))
                .copied()
                .unwrap_or((0, 0))
        };
        match arg {
            Arg::Ptr(i, d) => {
                let (off, _) = blob(i);
                self.pdst
                    .wrapping_add(HEADER as u32)
                    .wrapping_add(off)
                    .wrapping_add_signed(i32::from(d)) as i32
            }
            Arg::Len(i, d) => blob(i).1.wrapping_add_signed(i32::from(d)) as i32,
            Arg::End(d) => (self.size as u32).wrapping_add_signed(i32::from(d)) as i32,
            Arg::Small(v) => i32::from(v),
            Arg::Raw(v) => v,
        }
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let _ = outcome(data);
}

/// Runs one input and says which function it called and whether the call passed the host's
/// checks (reached the back-end); `None` if the input does not decode or the module did not
/// load. Used by the seed generator to keep inputs that reach each function's back-end.
pub fn outcome(data: &[u8]) -> Option<(&'static str, bool)> {
    let mut u = Unstructured::new(data);
    let input = Input::arbitrary(&mut u).ok()?;
    run_input(&input)
}

/// The memory range `ptr .. ptr + len` per the ABI: `INVALID` past the end (64-bit arithmetic
/// on the unsigned values), then `LIMIT` over `cap`.
fn range(mem: &[u8], ptr: i32, len: i32, cap: usize) -> Result<Range<usize>, i32> {
    let start = u64::from(ptr as u32);
    let len = u64::from(len as u32);
    if start + len > mem.len() as u64 {
        return Err(INVALID);
    }
    if len > cap as u64 {
        return Err(LIMIT);
    }
    Ok(start as usize..(start + len) as usize)
}

/// What the model expects of the call.
#[derive(Debug)]
enum Pass {
    InputLen,
    InputRead(Range<usize>),
    OutputWrite(Range<usize>),
    Log,
    FsRead(String, Range<usize>),
    FsSize(String),
    FsWrite(String, Vec<u8>),
    FsRename(String, String),
    NetDial(bool),
    /// `MemoryNetwork` offers no TLS: `IO`, nothing dialled.
    NetDialTls,
    NetSend(usize),
    NetRecv(Range<usize>),
    NetClose,
    Exec(Vec<String>, Range<usize>),
    RandomFill(Range<usize>),
    ClockNow(usize),
}

struct Env<'a> {
    mem: &'a [u8],
    limits: pluginhost::Limits,
    model: &'a Model,
    input: &'a [u8],
    handle: Option<i32>,
    open_handles: usize,
}

/// Collects the checks that fail.
#[derive(Default)]
struct Fails(Vec<i32>);

impl Fails {
    fn range(&mut self, env: &Env<'_>, ptr: i32, len: i32, cap: usize) -> Option<Range<usize>> {
        range(env.mem, ptr, len, cap)
            .map_err(|c| self.0.push(c))
            .ok()
    }

    /// A path argument: range (cap `path_bytes`), text, admission for `cap`.
    fn path(&mut self, env: &Env<'_>, ptr: i32, len: i32, cap: Capability) -> Option<String> {
        let r = self.range(env, ptr, len, env.limits.path_bytes)?;
        let Ok(comps) = path::parse(&env.mem[r]) else {
            self.0.push(INVALID);
            return None;
        };
        if env.model.admit_path(cap, &comps).is_none() {
            self.0.push(DENIED);
            return None;
        }
        Some(path::render(&comps))
    }

    fn handle(&mut self, env: &Env<'_>, handle: i32) {
        if env.handle != Some(handle) {
            self.0.push(BAD_HANDLE);
        }
    }
}

fn dial_model(env: &Env<'_>, f: &mut Fails, h: i32, hl: i32, port: i32) -> Option<bool> {
    let r = f.range(env, h, hl, 256)?;
    let Ok((target, port)) = host::dial_target(&env.mem[r], port as u32) else {
        f.0.push(INVALID);
        return None;
    };
    if !env.model.admit_dial(&target, port) {
        f.0.push(DENIED);
    }
    if env.open_handles >= env.limits.net_handles {
        f.0.push(LIMIT);
    }
    let served = common::SERVICES.iter().any(|s| {
        matches!(host::parse_pattern(s), Ok(host::Pattern::Exact(h, p)) if h == target && p == port)
    });
    Some(served)
}

/// The model of one call: `Err(codes)` if refused (the result must be one of `codes`), else
/// what must happen.
fn expect(name: &str, a: [i32; 4], env: &Env<'_>) -> Result<Pass, Vec<i32>> {
    let mut f = Fails::default();
    let l = env.limits;
    let pass = match name {
        "input_len" => Some(Pass::InputLen),
        "input_read" => f.range(env, a[0], a[1], usize::MAX).map(Pass::InputRead),
        "output_write" => f
            .range(env, a[0], a[1], l.output_bytes)
            .map(Pass::OutputWrite),
        "log" => {
            if !(0..=4).contains(&a[0]) {
                f.0.push(INVALID);
            }
            let cap = l.log_message_bytes.min(l.log_bytes);
            if let Some(r) = f.range(env, a[1], a[2], cap) {
                if std::str::from_utf8(&env.mem[r]).is_err() {
                    f.0.push(INVALID);
                }
            }
            Some(Pass::Log)
        }
        "fs_read" => {
            let p = f.path(env, a[0], a[1], Capability::FsRead);
            let d = f.range(env, a[2], a[3], l.call_bytes);
            p.zip(d).map(|(p, d)| Pass::FsRead(p, d))
        }
        "fs_size" => f
            .path(env, a[0], a[1], Capability::FsRead)
            .map(Pass::FsSize),
        "fs_write" => {
            let p = f.path(env, a[0], a[1], Capability::FsWrite);
            let d = f.range(env, a[2], a[3], l.call_bytes);
            p.zip(d).map(|(p, d)| Pass::FsWrite(p, env.mem[d].to_vec()))
        }
        "fs_rename" => {
            let from = f.path(env, a[0], a[1], Capability::FsWrite);
            let to = f.path(env, a[2], a[3], Capability::FsWrite);
            from.zip(to).map(|(a, b)| Pass::FsRename(a, b))
        }
        "net_dial" => dial_model(env, &mut f, a[0], a[1], a[2]).map(Pass::NetDial),
        "net_dial_tls" => dial_model(env, &mut f, a[0], a[1], a[2]).map(|_| Pass::NetDialTls),
        "net_send" => {
            let r = f.range(env, a[1], a[2], l.call_bytes);
            f.handle(env, a[0]);
            r.map(|r| Pass::NetSend(r.len()))
        }
        "net_recv" => {
            let r = f.range(env, a[1], a[2], l.call_bytes);
            f.handle(env, a[0]);
            r.map(Pass::NetRecv)
        }
        "net_close" => {
            f.handle(env, a[0]);
            Some(Pass::NetClose)
        }
        "process_exec" => exec_model(env, &mut f, a),
        "random_fill" => f.range(env, a[0], a[1], l.call_bytes).map(Pass::RandomFill),
        "clock_now" => match f.range(env, a[0], a[1], usize::MAX) {
            Some(r) if r.len() < 8 => {
                f.0.push(INVALID);
                None
            }
            r => r.map(|r| Pass::ClockNow(r.start)),
        },
        other => panic!("no model for host function {other}"),
    };
    match pass {
        Some(p) if f.0.is_empty() => Ok(p),
        _ => {
            assert!(!f.0.is_empty(), "{name}: no pass and no failure");
            Err(f.0)
        }
    }
}

fn exec_model(env: &Env<'_>, f: &mut Fails, a: [i32; 4]) -> Option<Pass> {
    let l = env.limits;
    let argv_r = f.range(env, a[0], a[1], l.argv_bytes);
    let dst_r = f.range(env, a[2], a[3], l.call_bytes);
    if let Some(d) = &dst_r {
        if d.len() < 4 {
            f.0.push(INVALID);
        }
    }
    if let (Some(x), Some(y)) = (&argv_r, &dst_r) {
        if !x.is_empty() && !y.is_empty() && x.start < y.end && y.start < x.end {
            f.0.push(INVALID);
        }
    }
    let bytes = &env.mem[argv_r?];
    let Some(body) = bytes.strip_suffix(&[0]) else {
        f.0.push(INVALID);
        return None;
    };
    let items: Vec<&[u8]> = body.split(|b| *b == 0).collect();
    if items.len() > l.argv_items {
        f.0.push(LIMIT);
    }
    let texts: Vec<Option<&str>> = items.iter().map(|i| std::str::from_utf8(i).ok()).collect();
    if texts.iter().any(Option::is_none) {
        f.0.push(INVALID);
    }
    let program = texts.first().copied().flatten()?;
    match path::parse(program.as_bytes()) {
        Ok(comps) if path::render(&comps) == program => {
            let admitted = env
                .model
                .admit_path(Capability::ProcessExec, &comps)
                .is_some()
                && !env.model.writable_area(&comps);
            if !admitted {
                f.0.push(DENIED);
            }
        }
        _ => f.0.push(INVALID),
    }
    let argv = texts.iter().map(|t| t.unwrap_or("").to_owned()).collect();
    dst_r.map(|d| Pass::Exec(argv, d))
}

/// Asserts that `after` differs from `before` only inside `within`.
fn only_within(before: &[u8], after: &[u8], within: Range<usize>, what: &str) {
    assert_eq!(before.len(), after.len());
    let first = before
        .iter()
        .zip(after)
        .enumerate()
        .find(|(i, (a, b))| a != b && !within.contains(i));
    if let Some((i, (a, b))) = first {
        panic!("{what}: guest memory changed at {i} ({a} -> {b}) outside {within:?}");
    }
}

fn run_input(input: &Input) -> Option<(&'static str, bool)> {
    let function = HOST_FUNCTIONS.get(usize::from(input.function) % HOST_FUNCTIONS.len())?;
    let name = function.name;
    let wasm = &modules()[usize::from(input.function) % HOST_FUNCTIONS.len()];

    // Grant.
    let mut spec = input.grant.clone();
    if input.with_capability {
        if let Some(c) = function.capability {
            spec.caps |= 1 << c.index();
        }
    }
    if input.usual_scope {
        // Pool indices: "/data" = 1, "/usr/bin" = 5; host "echo.test:7" = 0.
        let entry = match function.capability {
            Some(Capability::FsRead) => Some(EntrySpec::Prefix(0, 1)),
            Some(Capability::FsWrite) => Some(EntrySpec::Prefix(1, 1)),
            Some(Capability::NetDial) => Some(EntrySpec::Host(0)),
            Some(Capability::ProcessExec) => Some(EntrySpec::Prefix(3, 5)),
            _ => None,
        };
        spec.entries.splice(0..0, entry);
    }
    let (grant, model) = spec.build();

    // Memory size after the grow.
    let max_pages = 1 + usize::from(input.max_pages % 4);
    let delta = match input.grow {
        Ok(small) => u32::from(small % 4),
        Err(raw) => raw,
    };
    let pages = match 1usize.checked_add(delta as usize) {
        Some(p) if p <= max_pages => p,
        _ => 1,
    };
    let size = pages * PAGE;

    // The image and the header.
    let mut image = Vec::new();
    let mut offsets = Vec::new();
    for blob in input.blobs.iter().take(8) {
        let bytes = blob.bytes();
        offsets.push((image.len() as u32, bytes.len() as u32));
        image.extend_from_slice(&bytes);
        if image.len() > 200_000 {
            break;
        }
    }
    let usual_dial = input.usual_dial && NEEDS_HANDLE.contains(&name);
    let dial_blob = image.len() as u32;
    if usual_dial {
        image.extend_from_slice(b"echo.test");
    }
    let total = HEADER + image.len();
    let pdst = match input.payload_dst {
        Dst::Low(v) => 64 + 8 * u32::from(v),
        Dst::End(d) => (size as u32)
            .wrapping_sub(total as u32)
            .wrapping_sub(u32::from(d % 8)),
        Dst::Raw(v) => v,
    };
    let layout = Layout {
        size,
        pdst,
        offsets,
    };
    let a = layout.expand(&input.args, 4);
    let mut args = [a[0], a[1], a[2], a[3]];
    let d = layout.expand(&[input.dial.0], 2);
    let (dh, dl, dp) = if usual_dial {
        (
            pdst.wrapping_add(HEADER as u32 + dial_blob) as i32,
            "echo.test".len() as i32,
            7,
        )
    } else {
        (d[0], d[1], layout.resolve(input.dial.1))
    };
    let mut bytes = Vec::with_capacity(total);
    for v in [
        delta as i32,
        pdst as i32,
        total as i32,
        dh,
        dl,
        dp,
        i32::from(input.use_handle),
    ]
    .into_iter()
    .chain(args)
    {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.resize(HEADER, 0);
    bytes.extend_from_slice(&image);

    // Limits.
    let (call, pathb, argv, items, log_msg, log_total, handles, out_extra) = input.limits;
    let snapshot = name != "output_write";
    let limits = common::small_limits()
        .with_memory_bytes(max_pages * PAGE)
        .with_input_bytes(1 << 20)
        .with_output_bytes(if snapshot {
            2 * size
        } else {
            pick_limit(out_extra, 4096).min(2 * size)
        })
        .with_call_bytes(pick_limit(call, 4096))
        .with_path_bytes(pick_limit(pathb, 256).min(path::MAX))
        .with_argv_bytes(pick_limit(argv, 512))
        .with_argv_items(if items < 0xc0 {
            16
        } else {
            usize::from(items % 72)
        })
        .with_log_message_bytes(pick_limit(log_msg, 256))
        .with_log_bytes(pick_limit(log_total, 1024))
        .with_net_handles(if handles < 0xc0 {
            2
        } else {
            usize::from(handles % 3)
        });
    let config = HostConfig::DEFAULT
        .with_fuel(10_000_000)
        .with_limits(limits);

    let memory = Memory::new(
        if input.fs_capacity.0 < 0xc0 {
            None
        } else {
            Some((
                usize::from(input.fs_capacity.0 % 16),
                usize::from(input.fs_capacity.1),
            ))
        },
        if input.max_request < 0xc000 {
            1024
        } else {
            usize::from(input.max_request % 64)
        },
    );
    let files_before = memory.files();
    let host = Host::with_backends(config, memory.backends());
    let mut plugin = match host.load(wasm, grant) {
        Ok(p) => p,
        Err(LoadError::NotGranted { capability, .. }) => {
            common::note(|| format!("host_abi {name} not granted"));
            assert!(
                !model.allows(capability),
                "NotGranted {capability} but granted"
            );
            return None;
        }
        Err(e) => panic!("{name}: fixed module failed to load: {e:?}"),
    };
    if let Some(c) = function.capability {
        assert!(model.allows(c), "{name} linked without {c}");
    }

    let done = host
        .call(&mut plugin, "run", &bytes)
        .unwrap_or_else(|e| panic!("{name}: run failed: {e:?}"));
    let r = done.status;
    let out = &done.output;

    // Predicted memory before the call.
    let mut predicted = vec![0u8; size];
    predicted[..HEADER].copy_from_slice(&bytes[..HEADER]);
    let p = u64::from(pdst);
    if p + total as u64 <= size as u64 {
        let p = p as usize;
        predicted[p..p + total].copy_from_slice(&bytes);
    }
    let mut dials = 0;
    let mut denials = 0u64;
    let mut handle = None;
    if NEEDS_HANDLE.contains(&name) {
        let h = le_i32(out, 0).unwrap_or_else(|| panic!("no output"));
        let env = Env {
            mem: &predicted,
            limits,
            model: &model,
            input: &bytes,
            handle: None,
            open_handles: 0,
        };
        match expect("net_dial", [dh, dl, dp, 0], &env) {
            Err(codes) => assert!(codes.contains(&h), "pre-dial: {h} not in {codes:?}"),
            Ok(Pass::NetDial(served)) => {
                dials = 1;
                if served {
                    assert!(h >= 0, "pre-dial of a served target: {h}");
                } else {
                    assert_eq!(h, NOT_FOUND, "pre-dial of an unserved target");
                }
            }
            Ok(other) => unreachable!("{other:?}"),
        }
        denials += u64::from(h == DENIED);
        predicted[..4].copy_from_slice(&h.to_le_bytes());
        if h >= 0 {
            handle = Some(h);
        }
        if input.use_handle {
            // The guest passes the pre-dial's result as the first argument.
            args[0] = h;
        }
    }
    let env = Env {
        mem: &predicted,
        limits,
        model: &model,
        input: &bytes,
        handle,
        open_handles: usize::from(handle.is_some()),
    };

    // The output: before ++ appended ++ after.
    let (before, appended, after): (&[u8], &[u8], &[u8]) = if snapshot {
        assert_eq!(out.len(), 2 * size, "{name}: output is not two snapshots");
        (&out[..size], &[], &out[size..])
    } else {
        (&predicted, &out[..], &predicted)
    };
    assert!(
        before == &predicted[..],
        "{name}: memory before the call differs from the prediction"
    );

    let counts_before = denials;
    let files_after = memory.files();
    let dial_count = memory.net.dial_count();
    let runs = memory.proc.runs();
    let expectation = expect(name, args, &env);
    let passed = expectation.is_ok();
    common::note(|| match &expectation {
        Ok(_) => format!("host_abi {name} passed checks -> {r}"),
        Err(codes) => format!("host_abi {name} refused {codes:?} -> {r}"),
    });
    match expectation {
        Err(codes) => {
            assert!(
                codes.contains(&r),
                "{name}{args:?}: returned {r}, the model expects one of {codes:?}"
            );
            assert!(appended.is_empty(), "{name}: refused call appended output");
            only_within(before, after, 0..0, name);
            assert_eq!(
                files_after, files_before,
                "{name}: refused call changed files"
            );
            assert_eq!(dial_count, dials, "{name}: refused call dialled");
            assert!(runs.is_empty(), "{name}: refused call ran a program");
        }
        Ok(pass) => check_pass(
            name,
            &pass,
            r,
            &env,
            before,
            after,
            appended,
            &memory,
            &files_before,
            dials,
        ),
    }
    let gated = function.capability.is_some();
    let expected_denials = counts_before + u64::from(gated && r == DENIED);
    assert_eq!(
        plugin.stats().calls.total_denied(),
        expected_denials,
        "{name}: denials counted differently (result {r})"
    );
    Some((name, passed))
}

#[allow(clippy::too_many_arguments)]
fn check_pass(
    name: &str,
    pass: &Pass,
    r: i32,
    env: &Env<'_>,
    before: &[u8],
    after: &[u8],
    appended: &[u8],
    memory: &Memory,
    files_before: &[(String, Vec<u8>)],
    dials: usize,
) {
    let files_after = memory.files();
    let file = |p: &str| {
        files_before
            .iter()
            .find(|(q, _)| q == p)
            .map(|(_, d)| d.clone())
    };
    let unchanged_fs = || assert_eq!(files_after, files_before, "{name}: files changed");
    if !matches!(pass, Pass::NetDial(_)) {
        assert_eq!(memory.net.dial_count(), dials, "{name}: dialled");
    }
    if !matches!(pass, Pass::Exec(..)) {
        assert!(memory.proc.runs().is_empty(), "{name}: ran a program");
    }
    if !matches!(pass, Pass::FsWrite(..) | Pass::FsRename(..)) {
        unchanged_fs();
    }
    assert!(
        appended.is_empty() || matches!(pass, Pass::OutputWrite(_)),
        "{name}: output appended"
    );
    match pass {
        Pass::InputLen => {
            assert_eq!(r as usize, env.input.len());
            only_within(before, after, 0..0, name);
        }
        Pass::InputRead(dst) => {
            let n = dst.len().min(env.input.len());
            assert_eq!(r, n as i32, "input_read count");
            let dst = dst.start..dst.start + n;
            only_within(before, after, dst.clone(), name);
            assert_eq!(&after[dst], &env.input[..n]);
        }
        Pass::OutputWrite(src) => {
            assert_eq!(r, src.len() as i32, "output_write count");
            assert_eq!(
                appended,
                &before[src.clone()],
                "output_write appended other bytes"
            );
        }
        Pass::Log => {
            assert_eq!(r, 0, "log");
            only_within(before, after, 0..0, name);
        }
        Pass::FsRead(p, dst) => match file(p) {
            Some(data) => {
                assert_eq!(r, data.len() as i32, "fs_read {p}: size");
                let n = data.len().min(dst.len());
                let w = dst.start..dst.start + n;
                only_within(before, after, w.clone(), name);
                assert_eq!(&after[w], &data[..n], "fs_read {p}: bytes");
            }
            None => {
                assert_eq!(r, NOT_FOUND, "fs_read {p}");
                only_within(before, after, 0..0, name);
            }
        },
        Pass::FsSize(p) => {
            let expected = file(p).map_or(NOT_FOUND, |d| d.len() as i32);
            assert_eq!(r, expected, "fs_size {p}");
            only_within(before, after, 0..0, name);
        }
        Pass::FsWrite(p, data) => {
            only_within(before, after, 0..0, name);
            if r >= 0 {
                assert_eq!(r, data.len() as i32, "fs_write count");
                let mut expected: Vec<(String, Vec<u8>)> = files_before
                    .iter()
                    .filter(|(q, _)| q != p)
                    .cloned()
                    .collect();
                expected.push((p.clone(), data.clone()));
                expected.sort();
                assert_eq!(files_after, expected, "fs_write {p}: files");
            } else {
                assert!([NOT_FOUND, IO, LIMIT].contains(&r), "fs_write {p}: {r}");
                unchanged_fs();
            }
        }
        Pass::FsRename(from, to) => {
            only_within(before, after, 0..0, name);
            if r >= 0 {
                assert_eq!(r, 0);
                let data = file(from).unwrap_or_else(|| panic!("renamed missing {from}"));
                let mut expected: Vec<(String, Vec<u8>)> = files_before
                    .iter()
                    .filter(|(q, _)| q != from && q != to)
                    .cloned()
                    .collect();
                expected.push((to.clone(), data));
                expected.sort();
                assert_eq!(files_after, expected, "fs_rename {from} -> {to}");
            } else {
                assert!([NOT_FOUND, IO, LIMIT].contains(&r), "fs_rename: {r}");
                if file(from).is_none() {
                    assert_eq!(r, NOT_FOUND, "fs_rename of a missing file");
                }
                unchanged_fs();
            }
        }
        Pass::NetDialTls => {
            assert_eq!(r, IO, "net_dial_tls without TLS");
            only_within(before, after, 0..0, name);
        }
        Pass::RandomFill(dst) => {
            assert_eq!(r, dst.len() as i32, "random_fill count");
            only_within(before, after, dst.clone(), name);
            assert_eq!(
                &after[dst.clone()],
                &common::entropy_pattern(dst.len())[..],
                "random_fill bytes"
            );
        }
        Pass::ClockNow(at) => {
            assert_eq!(r, 8, "clock_now");
            let w = *at..*at + 8;
            only_within(before, after, w.clone(), name);
            assert_eq!(
                &after[w],
                &common::CLOCK_SECONDS.to_le_bytes(),
                "clock_now bytes"
            );
        }
        Pass::NetDial(served) => {
            assert_eq!(memory.net.dial_count(), dials + 1, "net_dial did not dial");
            if *served {
                assert!(r >= 0, "net_dial of a served target: {r}");
            } else {
                assert_eq!(r, NOT_FOUND, "net_dial of an unserved target");
            }
            only_within(before, after, 0..0, name);
        }
        Pass::NetSend(len) => {
            let room = memory.net.max_request_bytes();
            let expected = if *len == 0 {
                0
            } else if room == 0 {
                LIMIT
            } else {
                (*len).min(room) as i32
            };
            assert_eq!(r, expected, "net_send");
            only_within(before, after, 0..0, name);
        }
        Pass::NetRecv(dst) => {
            let response = common::echo_response(b"");
            let n = if dst.is_empty() {
                0
            } else {
                response.len().min(dst.len())
            };
            assert_eq!(r, n as i32, "net_recv");
            let w = dst.start..dst.start + n;
            only_within(before, after, w.clone(), name);
            assert_eq!(&after[w], &response[..n]);
        }
        Pass::NetClose => {
            assert_eq!(r, 0, "net_close");
            only_within(before, after, 0..0, name);
        }
        Pass::Exec(argv, dst) => {
            let runs = memory.proc.runs();
            assert_eq!(runs, vec![argv.clone()], "process_exec: runs");
            if common::PROGRAMS.contains(&argv[0].as_str()) {
                let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
                let (status, stdout) = common::program_result(&refs);
                let n = 4 + stdout.len().min(dst.len() - 4);
                assert_eq!(r, n as i32, "process_exec count");
                let w = dst.start..dst.start + n;
                only_within(before, after, w.clone(), name);
                assert_eq!(&after[w.start..w.start + 4], &status.to_le_bytes());
                assert_eq!(&after[w.start + 4..w.end], &stdout[..n - 4]);
            } else {
                assert_eq!(r, NOT_FOUND, "process_exec of an unknown program");
                only_within(before, after, 0..0, name);
            }
        }
    }
}
