//! The guest ABI through real host calls: every function's success path and every error code it
//! can return, with exact values; guest-pointer hostility (catalogue 1-7, 16); and per-capability
//! allowed/denied counting.

#![cfg(all(feature = "cap-fs", feature = "cap-net", feature = "cap-process"))]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pluginhost::{
    BackendError, Backends, Capability, Connection, DialTarget, ErrorCode, Grant, Host, HostConfig,
    MemoryNetwork, MemoryProcessRunner, Network,
};
use support::abi::*;
use support::backends::*;
use support::checks::*;
use support::fixture::*;
use support::hosts::*;
use support::wat::*;

fn fs_host(limits: impl FnOnce(&mut pluginhost::Limits)) -> (Host, Arc<RecordingFs>) {
    let fs = RecordingFs::new();
    assert!(fs.inner.create_dir("/data"));
    let host = host_with_fs(config_with(limits), fs.clone());
    (host, fs)
}

fn net_host(config: HostConfig) -> (Host, Arc<MemoryNetwork>) {
    let net = Arc::new(
        MemoryNetwork::new()
            .with_service("svc.example.com:7", Arc::new(Echo("echo:")))
            .with_service("other.example.com:7", Arc::new(Echo("other:")))
            .with_service("svc.example.com:8", Arc::new(Echo("eight:"))),
    );
    let host = host_with_network(config, net.clone());
    (host, net)
}

/// `/usr/bin/tool` exits 7 and prints `out:` and its arguments joined with `,`.
fn tool(argv: &[&str]) -> (i32, Vec<u8>) {
    (7, format!("out:{}", argv[1..].join(",")).into_bytes())
}

fn process_host(config: HostConfig) -> (Host, Arc<MemoryProcessRunner>) {
    let runner = Arc::new(
        MemoryProcessRunner::new()
            .with_program("/usr/bin/tool", tool)
            .with_program("/usr/bin/other", tool)
            .with_program("/bin/sh", tool),
    );
    let host = host_with_process(config, runner.clone());
    (host, runner)
}

#[test]
fn error_codes_have_the_documented_values() {
    let expected = [
        (ErrorCode::Denied, DENIED, "DENIED"),
        (ErrorCode::Invalid, INVALID, "INVALID"),
        (ErrorCode::NotFound, NOT_FOUND, "NOT_FOUND"),
        (ErrorCode::Io, IO, "IO"),
        (ErrorCode::Limit, LIMIT, "LIMIT"),
        (ErrorCode::BadHandle, BAD_HANDLE, "BAD_HANDLE"),
        (ErrorCode::Tls, TLS, "TLS"),
    ];
    for (code, value, name) in expected {
        assert_eq!(code.code(), value);
        assert_eq!(code.name(), name);
        assert_eq!(ErrorCode::from_code(value), Some(code));
    }
    assert_eq!(ErrorCode::from_code(0), None);
    assert_eq!(ErrorCode::from_code(-8), None);
}

// --- input_len / input_read ----------------------------------------------------------------------

#[test]
fn input_len_and_partial_reads() {
    let mut fx = Fixture::new();
    let a = fx.reserve(8);
    let b = fx.reserve(8);
    let c = fx.reserve(16);
    fx.call("input_len", &[])
        .call("input_read", &[a.ptr, 5]) // partial
        .call("input_read", &[b.ptr, 0]) // len 0: nothing copied
        .call("input_read", &[c.ptr, 100]) // more than there is: all of it
        .emit(a)
        .emit(b)
        .emit(c);
    let host = Host::new(HostConfig::default());
    let mut plugin = host.load(&fx.wasm(), Grant::none()).expect("load");
    let out = fx.run_with_input(&host, &mut plugin, b"hello world");
    assert_eq!(out.codes, [11, 5, 0, 11]);
    let mut expected = b"hello\0\0\0".to_vec();
    expected.extend_from_slice(&[0; 8]);
    expected.extend_from_slice(b"hello world\0\0\0\0\0");
    assert_eq!(out.emitted, expected);

    // The next invocation sees its own input only.
    let out = fx.run_with_input(&host, &mut plugin, b"hi");
    assert_eq!(out.codes, [2, 2, 0, 2]);
    assert_eq!(&out.emitted[..2], b"hi");
    // An empty input.
    let out = fx.run_with_input(&host, &mut plugin, b"");
    assert_eq!(out.codes, [0, 0, 0, 0]);
}

#[test]
fn input_read_out_of_bounds_is_invalid() {
    let mut fx = Fixture::new();
    fx.call("input_read", &[-16, 64]) // 0xFFFF_FFF0
        .call("input_read", &[PAGE as i32 - 4, 10]) // starts in bounds, ends past memory
        .call("input_read", &[-1, 1]);
    let host = Host::new(HostConfig::default());
    let mut plugin = host.load(&fx.wasm(), Grant::none()).expect("load");
    let out = fx.run_with_input(&host, &mut plugin, &[7; 100]);
    assert_eq!(out.codes, [INVALID, INVALID, INVALID]);
}

#[test]
fn input_read_checks_the_whole_destination_even_when_the_input_is_shorter() {
    let mut fx = Fixture::new();
    let tail = fx.put_at(PAGE - 8, "########");
    fx.call("input_read", &[PAGE as i32 - 4, 100]) // only 2 bytes of input, but 100 asked
        .call("input_read", &[0, -1]) // a length near 4 GiB
        .call("input_read", &[PAGE as i32 - 2, 2]) // exactly fits
        .emit(tail);
    let host = Host::new(HostConfig::default());
    let mut plugin = host.load(&fx.wasm(), Grant::none()).expect("load");
    let out = fx.run_with_input(&host, &mut plugin, b"hi");
    assert_eq!(out.codes, [INVALID, INVALID, 2]);
    assert_eq!(out.emitted, b"######hi", "the refused reads wrote nothing");
}

#[test]
fn input_over_the_limit_is_refused_before_running() {
    let host = Host::new(config_with(|l| l.input_bytes = 4));
    let mut fx = Fixture::new();
    fx.call("input_len", &[]);
    let mut plugin = host.load(&fx.wasm(), Grant::none()).expect("load");
    assert_eq!(fx.run_with_input(&host, &mut plugin, b"1234").codes, [4]);
    let e = host
        .call(&mut plugin, "run", b"12345")
        .expect_err("too large");
    assert_eq!(
        e,
        pluginhost::InvokeError::InputTooLarge { size: 5, limit: 4 }
    );
    assert_eq!(plugin.stats().invocations, 1, "nothing ran");
}

// --- output_write --------------------------------------------------------------------------------

const OUTPUT_CAP_WAT: &str = r#"(module
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "0123456789")
  ;; 5 bytes fit; 5 more would pass the cap of 8: LIMIT, and nothing of them is appended.
  (func (export "over") (result i32)
    (if (i32.ne (call $out (i32.const 0) (i32.const 5)) (i32.const 5)) (then (return (i32.const 100))))
    (call $out (i32.const 5) (i32.const 5)))
  ;; Exactly up to the cap; an empty write still succeeds; one byte more is LIMIT.
  (func (export "exact") (result i32)
    (if (i32.ne (call $out (i32.const 0) (i32.const 8)) (i32.const 8)) (then (return (i32.const 100))))
    (if (i32.ne (call $out (i32.const 0) (i32.const 0)) (i32.const 0)) (then (return (i32.const 101))))
    (call $out (i32.const 8) (i32.const 1))))"#;

#[test]
fn output_write_over_the_cap_is_limit_and_appends_nothing() {
    let host = Host::new(config_with(|l| l.output_bytes = 8));
    let mut plugin = host
        .load(&wasm(OUTPUT_CAP_WAT), Grant::none())
        .expect("load");
    for _ in 0..2 {
        // The cap is per invocation: the second run starts from an empty output again.
        let c = host.call(&mut plugin, "over", b"").expect("over");
        assert_eq!((c.status, c.output.as_slice()), (LIMIT, &b"01234"[..]));
    }
    let c = host.call(&mut plugin, "exact", b"").expect("exact");
    assert_eq!((c.status, c.output.as_slice()), (LIMIT, &b"01234567"[..]));
}

#[test]
fn output_write_with_a_bad_range_is_invalid_and_appends_nothing() {
    let mut fx = Fixture::new();
    fx.call("output_write", &[-16, 64])
        .call("output_write", &[PAGE as i32 - 4, 5])
        .call("output_write", &[0, -1])
        .call("output_write", &[-1, 0]);
    let host = Host::new(HostConfig::default());
    let (_, out) = fx.load_and_run(&host, Grant::none());
    // The output holds exactly the four codes the fixture wrote itself.
    assert_eq!(out.codes, [INVALID; 4]);
    assert!(out.emitted.is_empty());
}

// --- log -----------------------------------------------------------------------------------------

#[test]
fn log_levels_and_text_checks() {
    let mut fx = Fixture::new();
    let msg = fx.put("hello from a plugin");
    let not_utf8 = fx.put(b"bad \xff\xfe");
    let e_acute = fx.put("caf\u{e9}");
    for level in 0..=4 {
        fx.call("log", &[level, msg.ptr, msg.len]);
    }
    fx.call("log", &[5, msg.ptr, msg.len])
        .call("log", &[-1, msg.ptr, msg.len])
        .call("log", &[i32::MIN, msg.ptr, msg.len])
        .call("log", &[2, not_utf8.ptr, not_utf8.len])
        .call("log", &[2, e_acute.ptr, e_acute.len - 1]) // the length cuts "é"
        .call("log", &[2, e_acute.ptr, e_acute.len])
        .call("log", &[2, -16, 64])
        .call("log", &[2, msg.ptr, 0]);
    let host = Host::new(HostConfig::default());
    let (plugin, out) = fx.load_and_run(&host, Grant::none());
    assert_eq!(
        out.codes,
        [0, 0, 0, 0, 0, INVALID, INVALID, INVALID, INVALID, INVALID, 0, INVALID, 0]
    );
    assert_eq!(
        plugin.stats().calls.total_allowed() + plugin.stats().calls.total_denied(),
        0,
        "log is not gated"
    );
}

#[test]
fn log_message_and_invocation_caps_are_limit() {
    let host = Host::new(config_with(|l| {
        l.log_message_bytes = 16;
        l.log_bytes = 40;
    }));
    let mut fx = Fixture::new();
    let text = fx.put("0123456789abcdefg"); // 17 bytes
    let bad = fx.put(b"\xff\xff\xff\xff\xff\xff\xff\xff");
    fx.call("log", &[2, text.ptr, 17]) // over the message cap
        .call("log", &[2, text.ptr, 16]) // 16 of 40
        .call("log", &[9, text.ptr, 16]) // bad level: not counted
        .call("log", &[2, bad.ptr, bad.len]) // not UTF-8: not counted
        .call("log", &[2, text.ptr, 16]) // 32 of 40
        .call("log", &[2, text.ptr, 9]) // would be 41
        .call("log", &[2, text.ptr, 8]) // 40 of 40
        .call("log", &[2, text.ptr, 1]) // full
        .call("log", &[2, text.ptr, 0]); // nothing more is still fine
    let (mut plugin, out) = fx.load_and_run(&host, Grant::none());
    assert_eq!(
        out.codes,
        [LIMIT, 0, INVALID, INVALID, 0, LIMIT, 0, LIMIT, 0]
    );
    // The per-invocation budget starts over with the next invocation.
    assert_eq!(fx.run(&host, &mut plugin).codes, out.codes);
}

// --- Guest pointers (catalogue 1-5) ----------------------------------------------------------------

#[test]
fn hostile_ranges_on_a_gated_call_never_reach_the_backend() {
    let (host, fs) = fs_host(|l| l.call_bytes = 1024);
    let mut fx = Fixture::new();
    let path = fx.put("/data/x");
    fx.call("fs_write", &[path.ptr, path.len, -16, 64]) // 1: 0xFFFF_FFF0 + 64
        .call("fs_write", &[path.ptr, path.len, -1, 1]) // 2: a negative pointer is 0xFFFF_FFFF
        .call("fs_write", &[path.ptr, path.len, 0, -1]) // 2: a negative length is 0xFFFF_FFFF
        .call("fs_write", &[path.ptr, path.len, i32::MIN, 16]) // 2: 0x8000_0000
        .call("fs_write", &[path.ptr, path.len, PAGE as i32 - 8, 64]) // 3: end past memory
        .call("fs_write", &[path.ptr, path.len, 1, -2]) // 3: len near 4 GiB
        .call("fs_write", &[-16, 64, 0, 1]) // the path's range, too
        .call("fs_write", &[path.ptr, -1, 0, 1])
        .call("fs_write", &[path.ptr, path.len, 0, 1025]); // 4: in bounds, over call_bytes
    let (_, out) = fx.load_and_run(&host, grant(&["fs.write=/data"]));
    assert_eq!(
        out.codes,
        [INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, LIMIT]
    );
    assert_eq!(
        fs.ops(),
        Vec::<String>::new(),
        "no request reached the back-end"
    );
    assert!(fs.snapshot().is_empty());
}

#[test]
fn huge_in_bounds_length_is_limited_by_the_per_call_cap() {
    // Catalogue 4: 4 MiB of memory, all of it in bounds, against the default 64 KiB cap.
    let (host, fs) = fs_host(|_| {});
    let cap = HostConfig::default().limits.call_bytes as i32;
    let mut fx = Fixture::new();
    fx.pages(64);
    let path = fx.put("/data/x");
    fx.call("fs_write", &[path.ptr, path.len, 0, 64 * PAGE as i32])
        .call("fs_write", &[path.ptr, path.len, 0, cap + 1])
        .call("fs_read", &[path.ptr, path.len, 0, 64 * PAGE as i32])
        .call("fs_write", &[path.ptr, path.len, 0, cap]); // exactly the cap is fine
    let (_, out) = fx.load_and_run(&host, grant(&["fs.read=/data", "fs.write=/data"]));
    assert_eq!(out.codes, [LIMIT, LIMIT, LIMIT, cap]);
    assert_eq!(fs.ops(), [format!("write /data/x (scope /data) {cap}")]);
}

#[test]
fn fs_read_into_an_out_of_bounds_buffer_is_refused_before_io() {
    let (host, fs) = fs_host(|l| l.call_bytes = 1024);
    assert!(fs.inner.insert("/data/f", "0123456789"));
    let mut fx = Fixture::new();
    let path = fx.put("/data/f");
    fx.call("fs_read", &[path.ptr, path.len, -16, 64])
        .call("fs_read", &[path.ptr, path.len, PAGE as i32 - 4, 10])
        .call("fs_read", &[path.ptr, path.len, 0, -1])
        .call("fs_read", &[path.ptr, path.len, 0, 2048]);
    let (_, out) = fx.load_and_run(&host, grant(&["fs.read=/data"]));
    assert_eq!(out.codes, [INVALID, INVALID, INVALID, LIMIT]);
    assert!(fs.ops().is_empty(), "{:?}", fs.ops());
}

#[test]
fn hostile_ranges_on_net_and_process_calls() {
    let (host, net) = net_host(config_with(|l| l.call_bytes = 1024));
    let mut fx = Fixture::new();
    let h = fx.put("svc.example.com");
    let buf = fx.reserve(64);
    fx.call("net_dial", &[h.ptr, h.len, 7]);
    fx.call_args("net_send", vec![Arg::Ret(0), Arg::C(-16), Arg::C(64)])
        .call_args("net_send", vec![Arg::Ret(0), Arg::C(0), Arg::C(2048)])
        .call_args(
            "net_recv",
            vec![Arg::Ret(0), Arg::C(PAGE as i32 - 4), Arg::C(64)],
        )
        .call_args("net_recv", vec![Arg::Ret(0), Arg::C(0), Arg::C(2048)])
        .call_args(
            "net_recv",
            vec![Arg::Ret(0), Arg::C(buf.ptr), Arg::C(buf.len)],
        )
        .emit(buf.prefix(8));
    let (_, out) = fx.load_and_run(&host, grant(&["net.dial=svc.example.com:7"]));
    assert!(out.codes[0] >= 0, "dial: {}", out.codes[0]);
    assert_eq!(out.codes[1..], [INVALID, LIMIT, INVALID, LIMIT, 5]);
    // Nothing was sent: the service saw an empty request.
    assert_eq!(out.emitted, b"echo:\0\0\0");
    assert_eq!(net.dial_count(), 1);

    let (host, runner) = process_host(config_with(|l| l.call_bytes = 1024));
    let mut fx = Fixture::new();
    let args = fx.put(argv(&["/usr/bin/tool"]));
    fx.call("process_exec", &[args.ptr, args.len, -16, 64])
        .call("process_exec", &[args.ptr, args.len, PAGE as i32 - 4, 64])
        .call("process_exec", &[args.ptr, args.len, 0, 2048])
        .call("process_exec", &[-16, 64, 0, 64])
        .call("process_exec", &[args.ptr, -1, 0, 64]);
    let (_, out) = fx.load_and_run(&host, grant(&["process.exec=/usr/bin/tool"]));
    assert_eq!(out.codes, [INVALID, INVALID, LIMIT, INVALID, INVALID]);
    assert!(runner.runs().is_empty(), "{:?}", runner.runs());
}

// --- Paths (catalogue 6) --------------------------------------------------------------------------

#[test]
fn malformed_paths_are_invalid_for_every_fs_call() {
    let (host, fs) = fs_host(|l| l.path_bytes = 32);
    assert!(fs.inner.insert("/data/a", "a"));
    let before = fs.snapshot();
    let bad: [&[u8]; 10] = [
        b"/data/a\0b",
        b"/data/a\0",
        b"/data/\xff",
        b"/data/caf\xc3", // a length that cuts "é" (0xC3 0xA9)
        b"/data/\xc0\xaf",
        b"data/a",
        b"",
        b"/data/../data/a",
        b"/data/..",
        b" /data/a",
    ];
    let mut fx = Fixture::new();
    let good = fx.put("/data/a");
    let buf = fx.reserve(8);
    for path in bad {
        let p = fx.put(path);
        fx.call("fs_read", &[p.ptr, p.len, buf.ptr, buf.len])
            .call("fs_size", &[p.ptr, p.len])
            .call("fs_write", &[p.ptr, p.len, buf.ptr, buf.len])
            .call("fs_rename", &[p.ptr, p.len, good.ptr, good.len])
            .call("fs_rename", &[good.ptr, good.len, p.ptr, p.len]);
    }
    // Longer than Limits::path_bytes: LIMIT, before parsing.
    let long = fx.put(format!("/data/{}", "a".repeat(27))); // 33 bytes
    fx.call("fs_size", &[long.ptr, long.len]);
    let (plugin, out) = fx.load_and_run(&host, grant(&["fs.read=/data", "fs.write=/data"]));
    let mut expected = vec![INVALID; 5 * bad.len()];
    expected.push(LIMIT);
    assert_eq!(out.codes, expected);
    assert!(fs.ops().is_empty(), "{:?}", fs.ops());
    assert_eq!(fs.snapshot(), before);
    assert_eq!(
        plugin.stats().calls.total_denied(),
        0,
        "malformed is INVALID, not a denial"
    );
}

#[test]
fn a_path_of_exactly_path_bytes_is_accepted() {
    let (host, fs) = fs_host(|l| l.path_bytes = 32);
    let path = format!("/data/{}", "a".repeat(26)); // 32 bytes
    assert!(fs.inner.insert(&path, "x"));
    let mut fx = Fixture::new();
    let p = fx.put(&path);
    fx.call("fs_size", &[p.ptr, p.len]);
    let (_, out) = fx.load_and_run(&host, grant(&["fs.read=/data"]));
    assert_eq!(out.codes, [1]);
}

// --- No memory export (catalogue 7) --------------------------------------------------------------

#[test]
fn host_calls_without_a_memory_export_are_invalid() {
    let fs = RecordingFs::new();
    assert!(fs.inner.insert("/data/a", "abc"));
    let runner = Arc::new(MemoryProcessRunner::new().with_program("/usr/bin/tool", tool));
    let net = Arc::new(MemoryNetwork::new().with_service("svc.example.com:7", Arc::new(Echo(""))));
    let backends = Backends::unavailable()
        .with_filesystem(fs.clone())
        .with_network(net.clone())
        .with_process(runner.clone());
    let host = Host::with_backends(HostConfig::default(), backends);
    let everything = grant(&[
        "fs.read=/",
        "fs.write=/data",
        "net.dial=svc.example.com:7",
        "process.exec=/usr/bin/tool",
    ]);
    let calls: [(&str, &[i32]); 10] = [
        ("input_read", &[0, 4]),
        ("output_write", &[0, 0]),
        ("log", &[2, 0, 0]),
        ("fs_read", &[0, 7, 16, 4]),
        ("fs_size", &[0, 7]),
        ("fs_write", &[0, 7, 16, 4]),
        ("fs_rename", &[0, 7, 16, 7]),
        ("net_dial", &[0, 15, 7]),
        ("net_send", &[0, 0, 0]),
        ("process_exec", &[0, 14, 16, 16]),
    ];
    for without_memory in [false, true] {
        for (name, args) in calls {
            let mut fx = Fixture::new();
            if without_memory {
                fx.without_memory();
            } else {
                // The memory exists but is not exported as "memory".
                fx.without_memory_export();
                fx.put_at(DATA_START, "/data/a");
            }
            fx.call(name, args);
            let (_, out) = fx.load_and_run(&host, everything.clone());
            assert_eq!(
                out.status, INVALID,
                "{name} (no memory at all: {without_memory})"
            );
            assert!(
                out.codes.is_empty(),
                "the output could not be written either"
            );
        }
    }
    // Calls that need no memory still work.
    let mut fx = Fixture::new();
    fx.without_memory().call("input_len", &[]);
    let mut plugin = host.load(&fx.wasm(), Grant::none()).expect("load");
    assert_eq!(fx.run_with_input(&host, &mut plugin, b"abc").status, 3);
    let mut fx = Fixture::new();
    fx.without_memory().call("net_close", &[0]);
    let (_, out) = fx.load_and_run(&host, everything);
    assert_eq!(out.status, BAD_HANDLE);

    assert!(fs.ops().is_empty(), "{:?}", fs.ops());
    assert_eq!(net.dial_count(), 0);
    assert!(runner.runs().is_empty());
}

#[test]
fn an_export_named_memory_that_is_not_a_memory_does_not_count() {
    let host = Host::new(HostConfig::default());
    let bytes = wasm(
        r#"(module
            (import "pluginhost" "log" (func $log (param i32 i32 i32) (result i32)))
            (memory 1)
            (func (export "memory") (result i32) (i32.const 0))
            (func (export "run") (result i32) (call $log (i32.const 2) (i32.const 0) (i32.const 0))))"#,
    );
    let mut plugin = host.load(&bytes, Grant::none()).expect("load");
    assert_eq!(
        host.call(&mut plugin, "run", b"").expect("run").status,
        INVALID
    );
}

#[test]
fn ranges_are_checked_against_the_current_memory_size() {
    // A range past the initial page is INVALID until memory.grow makes it valid.
    let host = Host::new(HostConfig::default());
    let bytes = wasm(
        r#"(module
            (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "run") (result i32)
              (local $before i32)
              (local.set $before (call $out (i32.const 65534) (i32.const 4)))
              (if (i32.ne (memory.grow (i32.const 1)) (i32.const 1)) (then (return (i32.const 100))))
              (i32.store (i32.const 65534) (i32.const 0x64636261))
              (if (i32.ne (call $out (i32.const 65534) (i32.const 4)) (i32.const 4)) (then (return (i32.const 101))))
              (local.get $before)))"#,
    );
    let mut plugin = host.load(&bytes, Grant::none()).expect("load");
    let c = host.call(&mut plugin, "run", b"").expect("run");
    assert_eq!((c.status, c.output.as_slice()), (INVALID, &b"abcd"[..]));
}

// --- Filesystem success paths ----------------------------------------------------------------------

#[test]
fn fs_read_returns_the_total_size_and_copies_what_fits() {
    let (host, fs) = fs_host(|_| {});
    assert!(fs.inner.insert("/data/f", "0123456789"));
    assert!(fs.inner.create_dir("/data/dir"));
    let mut fx = Fixture::new();
    let f = fx.put("/data/f");
    let missing = fx.put("/data/missing");
    let dir = fx.put("/data/dir");
    let small = fx.put("########");
    let big = fx.put("################");
    fx.call("fs_read", &[f.ptr, f.len, small.ptr, 4]) // truncated copy
        .call("fs_read", &[f.ptr, f.len, big.ptr, big.len]) // all of it
        .call("fs_read", &[f.ptr, f.len, 0, 0]) // just the size
        .call("fs_size", &[f.ptr, f.len])
        .call("fs_read", &[missing.ptr, missing.len, big.ptr, big.len])
        .call("fs_size", &[missing.ptr, missing.len])
        .call("fs_size", &[dir.ptr, dir.len])
        .emit(small)
        .emit(big);
    let (_, out) = fx.load_and_run(&host, grant(&["fs.read=/data"]));
    assert_eq!(out.codes, [10, 10, 10, 10, NOT_FOUND, NOT_FOUND, NOT_FOUND]);
    assert_eq!(out.emitted, b"0123####0123456789######");
    assert_eq!(
        fs.ops()[..3],
        [
            "read /data/f (scope /data) into 4",
            "read /data/f (scope /data) into 16",
            "read /data/f (scope /data) into 0",
        ]
    );
}

#[test]
fn fs_write_and_fs_rename_success_and_errors() {
    let (host, fs) = fs_host(|_| {});
    assert!(fs.inner.insert("/data/old", "old contents"));
    let mut fx = Fixture::new();
    let a = fx.put("/data/a");
    let b = fx.put("/data/b");
    let old = fx.put("/data/old");
    let nodir = fx.put("/data/nodir/x");
    let missing = fx.put("/data/missing");
    let body = fx.put("hello");
    fx.call("fs_write", &[a.ptr, a.len, body.ptr, body.len]) // returns the bytes written
        .call("fs_write", &[old.ptr, old.len, body.ptr, 2]) // truncates
        .call("fs_write", &[b.ptr, b.len, body.ptr, 0]) // an empty file
        .call("fs_write", &[nodir.ptr, nodir.len, body.ptr, body.len]) // no parent
        .call("fs_rename", &[a.ptr, a.len, b.ptr, b.len]) // replaces b
        .call("fs_rename", &[a.ptr, a.len, b.ptr, b.len]) // a is gone now
        .call("fs_rename", &[missing.ptr, missing.len, a.ptr, a.len])
        .call("fs_rename", &[b.ptr, b.len, nodir.ptr, nodir.len]);
    let (_, out) = fx.load_and_run(&host, grant(&["fs.write=/data"]));
    assert_eq!(
        out.codes,
        [5, 2, 0, NOT_FOUND, 0, NOT_FOUND, NOT_FOUND, NOT_FOUND]
    );
    assert_eq!(
        fs.snapshot(),
        [
            ("/data/b".to_string(), b"hello".to_vec()),
            ("/data/old".to_string(), b"he".to_vec()),
        ]
    );
}

#[test]
fn granted_calls_on_an_unavailable_backend_are_io() {
    let host = Host::new(HostConfig::default()); // every back-end refuses with Unsupported
    let mut fx = Fixture::new();
    let p = fx.put("/data/x");
    let h = fx.put("svc.example.com");
    let args = fx.put(argv(&["/usr/bin/tool"]));
    let dst = fx.reserve(16);
    fx.call("fs_read", &[p.ptr, p.len, dst.ptr, dst.len])
        .call("fs_size", &[p.ptr, p.len])
        .call("fs_write", &[p.ptr, p.len, dst.ptr, dst.len])
        .call("fs_rename", &[p.ptr, p.len, p.ptr, p.len])
        .call("net_dial", &[h.ptr, h.len, 7])
        .call("process_exec", &[args.ptr, args.len, dst.ptr, dst.len]);
    let everything = grant(&[
        "fs.read=/data",
        "fs.write=/data",
        "net.dial=svc.example.com:7",
        "process.exec=/usr/bin/tool",
    ]);
    let (plugin, out) = fx.load_and_run(&host, everything);
    assert_eq!(out.codes, [IO; 6]);
    // The grant admitted every call; the back-end failing is not a denial.
    assert_counts(&plugin, [(2, 0), (2, 0), (1, 0), (1, 0)]);
}

// --- Network (catalogue 16) ------------------------------------------------------------------------

#[test]
fn net_round_trip_and_bad_handles() {
    let (host, net) = net_host(HostConfig::default());
    let mut fx = Fixture::new();
    let svc = fx.put("svc.example.com");
    let nosvc = fx.put("nosvc.example.com");
    let ping = fx.put("ping");
    let buf = fx.reserve(16);
    let buf2 = fx.reserve(8);
    let h = Arg::Ret(0);
    fx.call("net_dial", &[svc.ptr, svc.len, 7]) // 0
        .call_args("net_send", vec![h, Arg::C(ping.ptr), Arg::C(ping.len)]) // 1
        .call_args("net_recv", vec![h, Arg::C(buf.ptr), Arg::C(buf.len)]) // 2
        .call_args("net_recv", vec![h, Arg::C(buf2.ptr), Arg::C(buf2.len)]) // 3: drained
        .call_args("net_close", vec![h]) // 4
        .call_args("net_send", vec![h, Arg::C(ping.ptr), Arg::C(ping.len)]) // 5: closed
        .call_args("net_recv", vec![h, Arg::C(buf.ptr), Arg::C(buf.len)]) // 6: closed
        .call_args("net_close", vec![h]) // 7: closed twice
        .call("net_send", &[12_345, ping.ptr, ping.len]) // 8: forged
        .call("net_recv", &[-1, buf.ptr, buf.len]) // 9: forged
        .call("net_close", &[0x100]) // 10: forged (slot 0, another generation)
        .call("net_close", &[i32::MIN]) // 11: forged
        .call("net_dial", &[nosvc.ptr, nosvc.len, 7]) // 12: granted, nobody there
        .emit(buf)
        .emit(buf2);
    let (plugin, out) = fx.load_and_run(
        &host,
        grant(&["net.dial=svc.example.com:7", "net.dial=nosvc.example.com:7"]),
    );
    assert!(out.codes[0] >= 0, "dial: {}", out.codes[0]);
    assert_eq!(
        out.codes[1..],
        [
            4, 9, 0, 0, BAD_HANDLE, BAD_HANDLE, BAD_HANDLE, BAD_HANDLE, BAD_HANDLE, BAD_HANDLE,
            BAD_HANDLE, NOT_FOUND
        ]
    );
    assert_eq!(out.emitted, b"echo:ping\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    assert_eq!(net.dial_count(), 2);
    // Two dials, one send and two receives on the open connection: each a gated call the grant
    // admitted. Calls on a closed or forged handle are BAD_HANDLE (refused, not allowed);
    // closing is not counted.
    assert_counts(&plugin, [(0, 0), (0, 0), (5, 0), (0, 0)]);
}

#[test]
fn net_dial_with_a_bad_port_or_host_range_is_refused_before_dialling() {
    let (host, net) = net_host(HostConfig::default());
    let mut fx = Fixture::new();
    let svc = fx.put("svc.example.com");
    let long = fx.put("a".repeat(300));
    fx.call("net_dial", &[svc.ptr, svc.len, 0])
        .call("net_dial", &[svc.ptr, svc.len, -1])
        .call("net_dial", &[svc.ptr, svc.len, 65_536])
        .call("net_dial", &[svc.ptr, svc.len, -65_529]) // 0xFFFF_0007: not port 7
        .call("net_dial", &[svc.ptr, 0, 7])
        .call("net_dial", &[-16, 64, 7])
        .call("net_dial", &[long.ptr, long.len, 7]);
    let (plugin, out) = fx.load_and_run(&host, grant(&["net.dial=svc.example.com:7"]));
    assert_eq!(
        out.codes,
        [INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, LIMIT]
    );
    assert_eq!(net.dial_count(), 0);
    assert_eq!(plugin.stats().calls.total_denied(), 0);
}

const HANDLE_WAT: &str = r#"(module
  (import "pluginhost" "net_dial" (func $dial (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_send" (func $send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "svc.example.com")
  (global $h (mut i32) (i32.const -1))
  ;; Dials and keeps the handle in a global, which outlives the invocation.
  (func (export "open") (result i32)
    (global.set $h (call $dial (i32.const 0) (i32.const 15) (i32.const 7)))
    (global.get $h))
  ;; Sends on the kept handle.
  (func (export "send") (result i32)
    (call $send (global.get $h) (i32.const 0) (i32.const 4)))
  ;; Dials a new connection (which may reuse the old slot), then sends on the old handle.
  (func (export "reopen_send_old") (result i32)
    (local $old i32)
    (local.set $old (global.get $h))
    (global.set $h (call $dial (i32.const 0) (i32.const 15) (i32.const 7)))
    (if (i32.lt_s (global.get $h) (i32.const 0)) (then (return (i32.const 100))))
    (call $send (local.get $old) (i32.const 0) (i32.const 4))))"#;

#[test]
fn handles_do_not_survive_the_invocation() {
    let (host, net) = net_host(HostConfig::default());
    let mut plugin = host
        .load(&wasm(HANDLE_WAT), grant(&["net.dial=svc.example.com:7"]))
        .expect("load");
    let first = host.call(&mut plugin, "open", b"").expect("open").status;
    assert!(first >= 0, "dial: {first}");
    assert_eq!(
        host.call(&mut plugin, "send", b"").expect("send").status,
        BAD_HANDLE
    );
    assert_eq!(
        host.call(&mut plugin, "reopen_send_old", b"")
            .expect("reopen")
            .status,
        BAD_HANDLE
    );
    assert_eq!(net.dial_count(), 2);
}

/// A network whose connections count how many of them are alive.
#[derive(Default)]
struct LiveConnections {
    open: Arc<AtomicUsize>,
    dials: AtomicUsize,
}

struct Tracked(Arc<AtomicUsize>);

impl Connection for Tracked {
    fn send(&mut self, data: &[u8], _: Duration) -> Result<usize, BackendError> {
        Ok(data.len())
    }
    fn recv(&mut self, _buf: &mut [u8], _: Duration) -> Result<usize, BackendError> {
        Ok(0)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Network for LiveConnections {
    fn dial(&self, _target: &DialTarget, _: Duration) -> Result<Box<dyn Connection>, BackendError> {
        self.dials.fetch_add(1, Ordering::SeqCst);
        self.open.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(Tracked(Arc::clone(&self.open))))
    }
}

const LEAKY_WAT: &str = r#"(module
  (import "pluginhost" "net_dial" (func $net_dial (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_close" (func $net_close (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "svc.example.com")
  (func $dial (result i32) (call $net_dial (i32.const 0) (i32.const 15) (i32.const 7)))
  ;; Dials three, closes one, returns with two open.
  (func (export "leave_open") (result i32)
    (drop (call $dial)) (drop (call $dial)) (call $net_close (call $dial)))
  (func (export "trap_open") (result i32)
    (drop (call $dial)) (drop (call $dial)) unreachable)
  (func (export "spin_open") (result i32)
    (drop (call $dial)) (loop $l (br $l)) (i32.const 0)))"#;

#[test]
fn connections_left_open_are_closed_when_the_invocation_ends_however_it_ends() {
    let net = Arc::new(LiveConnections::default());
    let open = Arc::clone(&net.open);
    let host = host_with_network(HostConfig::default().with_fuel(1_000_000), net.clone());
    let mut plugin = host
        .load(&wasm(LEAKY_WAT), grant(&["net.dial=svc.example.com:7"]))
        .expect("load");

    // Returned normally.
    assert_eq!(
        host.call(&mut plugin, "leave_open", b"")
            .expect("run")
            .status,
        0
    );
    assert_eq!(net.dials.load(Ordering::SeqCst), 3);
    assert_eq!(open.load(Ordering::SeqCst), 0, "after returning");

    // Trapped.
    let e = host.call(&mut plugin, "trap_open", b"").expect_err("trap");
    assert!(matches!(e, pluginhost::InvokeError::Trap { .. }), "{e:?}");
    assert_eq!(net.dials.load(Ordering::SeqCst), 5);
    assert_eq!(open.load(Ordering::SeqCst), 0, "after a trap");

    // Ran out of fuel.
    let e = host.call(&mut plugin, "spin_open", b"").expect_err("fuel");
    assert!(
        matches!(e, pluginhost::InvokeError::FuelExhausted { .. }),
        "{e:?}"
    );
    assert_eq!(open.load(Ordering::SeqCst), 0, "after running out of fuel");

    // Paused in a slice and then dropped.
    let mut call = host.start(&mut plugin, "spin_open", b"").expect("start");
    assert_eq!(call.resume(50_000), Ok(pluginhost::Step::Paused));
    assert_eq!(
        open.load(Ordering::SeqCst),
        1,
        "open while the call is paused"
    );
    drop(call);
    assert_eq!(
        open.load(Ordering::SeqCst),
        0,
        "after dropping a paused call"
    );
    assert!(!plugin.is_live(), "a dropped call discards the instance");
    assert_eq!(net.dials.load(Ordering::SeqCst), 7);
}

#[test]
fn handles_belong_to_one_plugin() {
    let (host, net) = net_host(HostConfig::default());
    let grant = || grant(&["net.dial=svc.example.com:7"]);
    let mut a = host.load(&wasm(HANDLE_WAT), grant()).expect("load a");
    let mut b = host.load(&wasm(HANDLE_WAT), grant()).expect("load b");
    // Both get the first handle of their own table...
    let ha = host.call(&mut a, "open", b"").expect("open a").status;
    assert!(ha >= 0, "{ha}");
    // ...and b, which has nothing open, cannot use a handle value a holds (or held).
    let mut fx = Fixture::new();
    fx.call("net_send", &[ha, 0, 1])
        .call("net_recv", &[ha, 0, 1])
        .call("net_close", &[ha]);
    let (_, out) = fx.load_and_run(&host, grant());
    assert_eq!(out.codes, [BAD_HANDLE; 3]);
    let hb = host.call(&mut b, "open", b"").expect("open b").status;
    assert!(hb >= 0, "{hb}");
    assert_eq!(net.dial_count(), 2);
}

#[test]
fn more_than_net_handles_open_connections_is_limit() {
    let (host, net) = net_host(config_with(|l| l.net_handles = 2));
    let mut fx = Fixture::new();
    let svc = fx.put("svc.example.com");
    fx.call("net_dial", &[svc.ptr, svc.len, 7]) // 0
        .call("net_dial", &[svc.ptr, svc.len, 7]) // 1
        .call("net_dial", &[svc.ptr, svc.len, 7]) // 2: LIMIT
        .call_args("net_close", vec![Arg::Ret(0)]) // 3
        .call("net_dial", &[svc.ptr, svc.len, 7]) // 4: room again
        .call("net_dial", &[svc.ptr, svc.len, 7]); // 5: LIMIT
    let (mut plugin, out) = fx.load_and_run(&host, grant(&["net.dial=svc.example.com:7"]));
    assert!(
        out.codes[0] >= 0 && out.codes[1] >= 0 && out.codes[4] >= 0,
        "{:?}",
        out.codes
    );
    assert_eq!(
        [out.codes[2], out.codes[3], out.codes[5]],
        [LIMIT, 0, LIMIT]
    );
    let handles = [out.codes[0], out.codes[1], out.codes[4]];
    assert!(handles[0] != handles[1] && handles[2] != handles[0] && handles[2] != handles[1]);
    assert_eq!(
        net.dial_count(),
        3,
        "a refused dial never reached the back-end"
    );
    // Handles are per invocation: the next one may open two again.
    let out = fx.run(&host, &mut plugin);
    assert_eq!([out.codes[2], out.codes[5]], [LIMIT, LIMIT]);
    assert_eq!(net.dial_count(), 6);
}

// --- process_exec ------------------------------------------------------------------------------------

#[test]
fn process_exec_encoding_and_errors() {
    let (host, runner) = process_host(HostConfig::default());
    let mut fx = Fixture::new();
    let full = fx.put(argv(&["/usr/bin/tool", "a", "", "b"]));
    let bare = fx.put(argv(&["/usr/bin/tool"]));
    let unterminated = fx.put("/usr/bin/tool");
    let not_utf8 = fx.put(b"/usr/bin/tool\0\xff\0");
    let dst = fx.reserve(32);
    let dst4 = fx.reserve(4);
    let bad_programs = [
        "tool",
        "usr/bin/tool",
        "/usr//bin/tool",
        "/usr/bin/./tool",
        "/usr/bin/tool/",
        "/usr/bin/../bin/tool",
        "",
    ];
    fx.call("process_exec", &[full.ptr, full.len, dst.ptr, dst.len]) // 0
        .call("process_exec", &[bare.ptr, bare.len, dst4.ptr, 4]) // 1: status only
        .call("process_exec", &[bare.ptr, bare.len, dst4.ptr, 3]) // 2: dst_len < 4
        .call("process_exec", &[bare.ptr, bare.len, dst4.ptr, 0]) // 3
        .call(
            "process_exec",
            &[unterminated.ptr, unterminated.len, dst.ptr, dst.len],
        ) // 4
        .call(
            "process_exec",
            &[not_utf8.ptr, not_utf8.len, dst.ptr, dst.len],
        ) // 5
        .call("process_exec", &[bare.ptr, 0, dst.ptr, dst.len]) // 6: empty argv
        .call("process_exec", &[bare.ptr, bare.len, bare.ptr, 16]); // 7: argv and dst overlap
    for program in bad_programs {
        let a = fx.put(argv(&[program]));
        fx.call("process_exec", &[a.ptr, a.len, dst.ptr, dst.len]);
    }
    fx.emit(dst.prefix(12)).emit(dst4);
    let (plugin, out) = fx.load_and_run(&host, grant(&["process.exec=/usr/bin/tool"]));
    let mut expected = vec![12, 4, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID];
    expected.extend([INVALID; 7]);
    assert_eq!(out.codes, expected);
    let mut emitted = 7i32.to_le_bytes().to_vec();
    emitted.extend_from_slice(b"out:a,,b");
    emitted.extend_from_slice(&7i32.to_le_bytes());
    assert_eq!(out.emitted, emitted);
    let runs = runner.runs();
    assert_eq!(
        runs,
        [vec!["/usr/bin/tool", "a", "", "b"], vec!["/usr/bin/tool"]]
    );
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 0), (2, 0)]);
}

#[test]
fn process_exec_argv_caps_are_limit() {
    let (host, runner) = process_host(config_with(|l| {
        l.argv_items = 4;
        l.argv_bytes = 64;
    }));
    let mut fx = Fixture::new();
    let four = fx.put(argv(&["/usr/bin/tool", "1", "2", "3"]));
    let five = fx.put(argv(&["/usr/bin/tool", "1", "2", "3", "4"]));
    let long = fx.put(argv(&["/usr/bin/tool", &"x".repeat(50)])); // 65 bytes
    let dst = fx.reserve(32);
    fx.call("process_exec", &[four.ptr, four.len, dst.ptr, dst.len])
        .call("process_exec", &[five.ptr, five.len, dst.ptr, dst.len])
        .call("process_exec", &[long.ptr, long.len, dst.ptr, dst.len]);
    let (_, out) = fx.load_and_run(&host, grant(&["process.exec=/usr/bin/tool"]));
    assert_eq!(out.codes, [4 + 9, LIMIT, LIMIT]);
    assert_eq!(runner.runs().len(), 1);
}

// --- Denial counting -------------------------------------------------------------------------------

#[test]
fn counting_fs_read() {
    let (host, fs) = fs_host(|_| {});
    assert!(fs.inner.insert("/data/a", "abc"));
    assert!(fs.inner.insert("/etc/passwd", "root"));
    let before = fs.snapshot();
    let mut fx = Fixture::new();
    let a = fx.put("/data/a");
    let passwd = fx.put("/etc/passwd");
    let data2 = fx.put("/data2/x");
    let upper = fx.put("/DATA/a");
    let missing = fx.put("/data/missing");
    let buf = fx.reserve(8);
    fx.call("fs_read", &[a.ptr, a.len, buf.ptr, buf.len]) // allowed
        .call("fs_size", &[a.ptr, a.len]) // allowed
        .call("fs_read", &[passwd.ptr, passwd.len, buf.ptr, buf.len]) // denied
        .call("fs_size", &[data2.ptr, data2.len]) // denied
        .call("fs_read", &[missing.ptr, missing.len, buf.ptr, buf.len]) // allowed: NOT_FOUND
        .call("fs_read", &[upper.ptr, upper.len, buf.ptr, buf.len]) // denied
        .emit(buf);
    let (mut plugin, out) = fx.load_and_run(&host, grant(&["fs.read=/data"]));
    assert_eq!(out.codes, [3, 3, DENIED, DENIED, NOT_FOUND, DENIED]);
    assert_eq!(out.emitted, b"abc\0\0\0\0\0", "nothing of /etc/passwd");
    assert_counts(&plugin, [(3, 3), (0, 0), (0, 0), (0, 0)]);
    assert_eq!(denials(&plugin), [("fs_read", 2), ("fs_size", 1)]);
    assert_eq!(fs.ops().len(), 3);
    assert!(
        fs.ops().iter().all(|op| op.contains("/data/")),
        "{:?}",
        fs.ops()
    );
    assert_eq!(fs.snapshot(), before);
    // Counts accumulate over invocations.
    fx.run(&host, &mut plugin);
    assert_counts(&plugin, [(6, 6), (0, 0), (0, 0), (0, 0)]);

    // The capability without any prefix: linked, and every call denied.
    let (_, out) = fx.load_and_run(&host, Grant::new(&[Capability::FsRead]));
    assert_eq!(out.codes, [DENIED; 6]);
}

#[test]
fn counting_fs_write() {
    let (host, fs) = fs_host(|_| {});
    assert!(fs.inner.insert("/etc/x", "orig"));
    let mut fx = Fixture::new();
    let a = fx.put("/data/a");
    let b = fx.put("/data/b");
    let x = fx.put("/etc/x");
    let etc_b = fx.put("/etc/b");
    let data_x = fx.put("/data/x");
    let data2 = fx.put("/data2/a");
    let body = fx.put("1");
    fx.call("fs_write", &[a.ptr, a.len, body.ptr, body.len]) // allowed
        .call("fs_write", &[x.ptr, x.len, body.ptr, body.len]) // denied
        .call("fs_rename", &[a.ptr, a.len, b.ptr, b.len]) // allowed
        .call("fs_rename", &[b.ptr, b.len, etc_b.ptr, etc_b.len]) // denied: to outside
        .call("fs_rename", &[x.ptr, x.len, data_x.ptr, data_x.len]) // denied: from outside
        .call("fs_write", &[data2.ptr, data2.len, body.ptr, body.len]); // denied
    let (plugin, out) = fx.load_and_run(&host, grant(&["fs.write=/data"]));
    assert_eq!(out.codes, [1, DENIED, 0, DENIED, DENIED, DENIED]);
    assert_counts(&plugin, [(0, 0), (2, 4), (0, 0), (0, 0)]);
    assert_eq!(denials(&plugin), [("fs_write", 2), ("fs_rename", 2)]);
    assert_eq!(fs.ops().len(), 2, "{:?}", fs.ops());
    // The denied calls changed nothing.
    assert_eq!(
        fs.snapshot(),
        [
            ("/data/b".to_string(), b"1".to_vec()),
            ("/etc/x".to_string(), b"orig".to_vec()),
        ]
    );
}

#[test]
fn counting_net_dial() {
    let (host, net) = net_host(HostConfig::default());
    let mut fx = Fixture::new();
    let svc = fx.put("svc.example.com");
    let upper = fx.put("SVC.EXAMPLE.COM.");
    let other = fx.put("other.example.com");
    let ping = fx.put("ping");
    fx.call("net_dial", &[svc.ptr, svc.len, 7]) // allowed
        .call("net_dial", &[other.ptr, other.len, 7]) // denied
        .call("net_dial", &[svc.ptr, svc.len, 8]) // denied
        .call("net_dial", &[upper.ptr, upper.len, 7]) // allowed
        .call_args(
            "net_send",
            vec![Arg::Ret(0), Arg::C(ping.ptr), Arg::C(ping.len)],
        ) // counted as allowed: the connection is open
        .call_args("net_close", vec![Arg::Ret(3)]); // not counted
    let (plugin, out) = fx.load_and_run(&host, grant(&["net.dial=svc.example.com:7"]));
    assert!(out.codes[0] >= 0 && out.codes[3] >= 0, "{:?}", out.codes);
    assert_eq!(
        [out.codes[1], out.codes[2], out.codes[4], out.codes[5]],
        [DENIED, DENIED, 4, 0]
    );
    assert_counts(&plugin, [(0, 0), (0, 0), (3, 2), (0, 0)]);
    assert_eq!(denials(&plugin), [("net_dial", 2)]);
    // Each denial names its target, as the guest wrote it.
    let targets: Vec<String> = plugin.denials().targets().map(|d| d.to_string()).collect();
    assert_eq!(
        targets,
        ["net.dial other.example.com:7", "net.dial svc.example.com:8"]
    );
    assert_eq!(net.dial_count(), 2, "no dial for the denied targets");

    let (plugin, out) = fx.load_and_run(&host, Grant::new(&[Capability::NetDial]));
    assert_eq!(out.codes[..4], [DENIED; 4]);
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 4), (0, 0)]);
    assert_eq!(net.dial_count(), 2);
}

#[test]
fn counting_process_exec() {
    let (host, runner) = process_host(HostConfig::default());
    let mut fx = Fixture::new();
    let ok = fx.put(argv(&["/usr/bin/tool", "x"]));
    let other = fx.put(argv(&["/usr/bin/other"]));
    let sh = fx.put(argv(&["/bin/sh", "-c", "id"]));
    let dst = fx.reserve(16);
    fx.call("process_exec", &[ok.ptr, ok.len, dst.ptr, dst.len]) // allowed
        .call("process_exec", &[other.ptr, other.len, dst.ptr, dst.len]) // denied
        .call("process_exec", &[sh.ptr, sh.len, dst.ptr, dst.len]) // denied
        .call("process_exec", &[ok.ptr, ok.len, dst.ptr, dst.len]); // allowed
    let (plugin, out) = fx.load_and_run(&host, grant(&["process.exec=/usr/bin/tool"]));
    assert_eq!(out.codes, [9, DENIED, DENIED, 9]);
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 0), (2, 2)]);
    assert_eq!(denials(&plugin), [("process_exec", 2)]);
    assert_eq!(
        runner.runs(),
        [vec!["/usr/bin/tool", "x"], vec!["/usr/bin/tool", "x"]]
    );

    let (plugin, out) = fx.load_and_run(&host, Grant::new(&[Capability::ProcessExec]));
    assert_eq!(out.codes, [DENIED; 4]);
    assert_counts(&plugin, [(0, 0), (0, 0), (0, 0), (0, 4)]);
    assert_eq!(runner.runs().len(), 2, "no program ran");
}

#[test]
fn ungated_calls_are_not_counted() {
    let mut fx = Fixture::new();
    let msg = fx.put("hi");
    fx.call("input_len", &[])
        .call("input_read", &[msg.ptr, 0])
        .call("output_write", &[msg.ptr, 0]) // (writing bytes here would shift the codes)
        .call("log", &[2, msg.ptr, msg.len]);
    let host = Host::new(HostConfig::default());
    let (plugin, out) = fx.load_and_run(&host, Grant::none());
    assert_eq!(out.codes, [0, 0, 0, 0]);
    assert_counts(&plugin, [(0, 0); 4]);
    assert!(plugin.denials().is_empty());
}

// --- ABI v2: random_fill / clock_now (ungated) ---------------------------------------------------

fn host_with_system(
    config: HostConfig,
    entropy: Arc<dyn pluginhost::EntropySource>,
    clock: Arc<dyn pluginhost::WallClock>,
) -> Host {
    Host::with_backends(
        config,
        Backends::unavailable()
            .with_entropy(entropy)
            .with_wall_clock(clock),
    )
}

#[test]
fn random_fill_writes_exactly_its_range_and_returns_len() {
    let entropy = PatternEntropy::new(0x40);
    let host = host_with_system(
        HostConfig::default(),
        entropy.clone(),
        Arc::new(FixedClock(0)),
    );
    let mut fx = Fixture::new();
    // A guard byte pattern around the destination shows nothing else is touched.
    let before = fx.put([0xAA; 8]);
    let dst = fx.reserve(40);
    let after = fx.put([0xBB; 8]);
    let empty = fx.reserve(8);
    fx.call("random_fill", &[dst.ptr, 33])
        .call("random_fill", &[empty.ptr, 0])
        .emit(before)
        .emit(dst)
        .emit(after)
        .emit(empty);
    let (plugin, out) = fx.load_and_run(&host, Grant::none());
    assert_eq!(out.codes, [33, 0]);
    let mut expected = vec![0xAA; 8];
    expected.extend(entropy.pattern(33));
    expected.extend([0; 7]);
    expected.extend([0xBB; 8]);
    expected.extend([0; 8]);
    assert_eq!(out.emitted, expected);
    // Ungated: nothing counted, nothing denied, nothing refused.
    assert_counts(&plugin, [(0, 0); 4]);
    assert!(plugin.denials().is_empty());
    assert_eq!(plugin.stats().refused, 0);
}

#[test]
fn random_fill_from_the_os_differs_between_calls() {
    // std's default back-ends draw from the OS.
    let host = Host::new(HostConfig::default());
    let mut fx = Fixture::new();
    let a = fx.reserve(32);
    let b = fx.reserve(32);
    fx.call("random_fill", &[a.ptr, 32])
        .call("random_fill", &[b.ptr, 32])
        .emit(a)
        .emit(b);
    let (mut plugin, out) = fx.load_and_run(&host, Grant::none());
    assert_eq!(out.codes, [32, 32]);
    let (x, y) = out.emitted.split_at(32);
    assert_ne!(x, y);
    assert_ne!(x, [0; 32]);
    // A second invocation gets other bytes: never a fixed seed.
    let again = fx.run(&host, &mut plugin);
    assert_ne!(again.emitted, out.emitted);
}

#[test]
fn random_fill_hostile_ranges_are_refused_before_the_source_is_asked() {
    let entropy = PatternEntropy::new(1);
    let host = host_with_system(
        config_with(|l| l.call_bytes = 1024),
        entropy.clone(),
        Arc::new(FixedClock(0)),
    );
    let mut fx = Fixture::new();
    let dst = fx.put([0x77; 8]);
    let big = fx.reserve(1025);
    fx.call("random_fill", &[-16, 64]) // 0xFFFF_FFF0: wraps in 32 bits
        .call("random_fill", &[PAGE as i32 - 4, 8]) // ends past memory
        .call("random_fill", &[dst.ptr, -1]) // 4 GiB - 1
        .call("random_fill", &[dst.ptr, PAGE as i32]) // out of bounds and over the cap: INVALID
        .call("random_fill", &[dst.ptr, 1025]) // in bounds, over the per-call cap
        .call("random_fill", &[big.ptr, 1024]) // exactly the cap
        .emit(dst);
    let (plugin, out) = fx.load_and_run(&host, Grant::none());
    assert_eq!(out.codes[..5], [INVALID, INVALID, INVALID, INVALID, LIMIT]);
    assert_eq!(out.codes[5], 1024);
    assert_eq!(out.emitted, [0x77; 8], "refused calls write nothing");
    assert_eq!(
        entropy.requests(),
        1,
        "only the good call reached the source"
    );
    assert_eq!(plugin.stats().refused, 5);
    assert!(plugin.denials().is_empty());
}

#[test]
fn random_fill_without_a_source_or_with_a_failing_one_is_io_and_writes_nothing() {
    let no_source = host_with_system(
        HostConfig::default(),
        Arc::new(pluginhost::Unavailable),
        Arc::new(FixedClock(0)),
    );
    let failing = PatternEntropy::failing_after(5);
    let dies_midway = host_with_system(
        HostConfig::default(),
        failing.clone(),
        Arc::new(FixedClock(0)),
    );
    for host in [&no_source, &dies_midway] {
        let mut fx = Fixture::new();
        let dst = fx.put([0x5A; 16]);
        fx.call("random_fill", &[dst.ptr, 16]).emit(dst);
        let (plugin, out) = fx.load_and_run(host, Grant::none());
        assert_eq!(out.codes, [IO]);
        assert_eq!(out.emitted, [0x5A; 16], "a failed call writes nothing");
        assert_eq!(plugin.stats().refused, 1);
    }
    assert_eq!(failing.requests(), 1);
}

#[test]
fn clock_now_writes_seconds_little_endian() {
    for seconds in [1_700_000_000i64, 0, -1, i64::MAX, i64::MIN] {
        let host = host_with_system(
            HostConfig::default(),
            PatternEntropy::new(0),
            Arc::new(FixedClock(seconds)),
        );
        let mut fx = Fixture::new();
        let exact = fx.reserve(8);
        let wide = fx.put([0xCC; 16]);
        fx.call("clock_now", &[exact.ptr, 8])
            .call("clock_now", &[wide.ptr, 16])
            .emit(exact)
            .emit(wide);
        let (plugin, out) = fx.load_and_run(&host, Grant::none());
        assert_eq!(out.codes, [8, 8]);
        let mut expected = seconds.to_le_bytes().to_vec();
        expected.extend(seconds.to_le_bytes());
        expected.extend([0xCC; 8]); // only 8 bytes of a longer buffer are written
        assert_eq!(out.emitted, expected, "{seconds}");
        assert_counts(&plugin, [(0, 0); 4]);
    }
}

#[test]
fn clock_now_refuses_short_or_hostile_buffers_and_a_missing_clock() {
    let host = host_with_system(
        HostConfig::default(),
        PatternEntropy::new(0),
        Arc::new(FixedClock(42)),
    );
    let mut fx = Fixture::new();
    let dst = fx.put([0x11; 8]);
    fx.call("clock_now", &[dst.ptr, 7])
        .call("clock_now", &[dst.ptr, 0])
        .call("clock_now", &[PAGE as i32 - 4, 8])
        .call("clock_now", &[-4, 8])
        .call("clock_now", &[dst.ptr, -1])
        .emit(dst);
    let (plugin, out) = fx.load_and_run(&host, Grant::none());
    assert_eq!(out.codes, [INVALID; 5]);
    assert_eq!(out.emitted, [0x11; 8]);
    assert_eq!(plugin.stats().refused, 5);

    let no_clock = host_with_system(
        HostConfig::default(),
        PatternEntropy::new(0),
        Arc::new(pluginhost::Unavailable),
    );
    let mut fx = Fixture::new();
    let dst = fx.put([0x22; 8]);
    fx.call("clock_now", &[dst.ptr, 8]).emit(dst);
    let (_, out) = fx.load_and_run(&no_clock, Grant::none());
    assert_eq!(out.codes, [IO]);
    assert_eq!(out.emitted, [0x22; 8]);
}

#[test]
fn system_calls_are_not_privileged_for_the_gate() {
    let mut fx = Fixture::new();
    let dst = fx.reserve(16);
    fx.call("random_fill", &[dst.ptr, 16])
        .call("clock_now", &[dst.ptr, 8]);
    let host = Host::new(HostConfig::default());
    let report = host.conformance(&fx.wasm());
    assert!(report.attempted.is_empty(), "{:?}", report.attempted);
    assert_eq!(report.privileged_operations(), 0);
    assert!(report.declared.is_empty());
    let check = |name: &str| {
        report
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} check"))
            .passed
    };
    assert!(check("no_privileged_operations"));
    assert!(check("runs"));
    // The gate gives them the host's entropy and clock: `run` got 8 from clock_now.
    assert_eq!(report.status, Some(8));
}

/// A module importing `imports` with a manifest declaring `abi`.
fn with_manifest(abi: &str, imports: &[&str]) -> Vec<u8> {
    let mut wat = String::from("(module\n");
    for name in imports {
        wat.push_str(&support::wat::import_line(name));
        wat.push('\n');
    }
    wat.push_str(
        "(memory (export \"memory\") 1)\n(func (export \"run\") (result i32) (i32.const 0)))",
    );
    let text = format!("abi={abi}\nname=m\nversion=1\nkind=other\n");
    support::modules::with_named_section(
        support::wat::wasm(&wat),
        "pluginhost.manifest",
        text.as_bytes(),
    )
}

#[test]
fn a_manifest_needing_a_newer_abi_is_refused_and_older_ones_load() {
    let host = Host::new(HostConfig::default());
    assert_eq!(pluginhost::ABI_VERSION, 2);
    for abi in ["1", "2"] {
        let plugin = host
            .load(&with_manifest(abi, &["input_len"]), Grant::none())
            .unwrap_or_else(|e| panic!("abi={abi}: {e}"));
        assert_eq!(plugin.name(), "m");
    }
    for (abi, value) in [("3", 3u32), ("4294967295", u32::MAX), ("0", 0)] {
        let err = host
            .load(&with_manifest(abi, &["random_fill"]), Grant::none())
            .expect_err("a newer ABI is refused");
        assert_eq!(
            err,
            pluginhost::LoadError::UnsupportedAbi {
                abi: value,
                supported: 2
            }
        );
        assert_eq!(err.kind(), "unsupported_abi");
        assert!(
            err.to_string().contains(&format!("guest ABI {value}")),
            "{err}"
        );
    }
}

#[test]
fn the_gate_flags_a_manifest_declaring_an_older_abi_than_its_imports_need() {
    let host = Host::new(HostConfig::default());
    let passed = |wasm: &[u8]| {
        let report = host.conformance(wasm);
        let manifest = report.checks.iter().find(|c| c.name == "manifest").cloned();
        (manifest.expect("manifest check").passed, report.findings)
    };
    let (ok, findings) = passed(&with_manifest("1", &["random_fill", "input_len"]));
    assert!(!ok);
    assert!(
        findings
            .iter()
            .any(|f| f.contains("random_fill (ABI 2)") && f.contains("abi=1")),
        "{findings:?}"
    );
    assert!(passed(&with_manifest("2", &["random_fill", "clock_now"])).0);
    assert!(passed(&with_manifest("1", &["input_len"])).0);
    // The table says which version added each function.
    for f in pluginhost::HOST_FUNCTIONS {
        let expected = if ["random_fill", "clock_now", "net_dial_tls"].contains(&f.name) {
            2
        } else {
            1
        };
        assert_eq!(f.since, expected, "{}", f.name);
    }
}
