//! Catalogue 1-8: guest pointers and memory, against the real back-ends.

use pluginhost::{InvokeError, LoadError, Trap};

use crate::harness::{run_fixture, Sandbox, GRANTED_GREETING, NOTES};
use crate::support::abi::{argv, INVALID, LIMIT};
use crate::support::checks::{assert_counts, denials};
use crate::support::fixture::{Arg, Fixture, Span, DATA_START, PAGE};
use crate::support::measure::measure;
use crate::support::wat::{wasm, wat_bytes};

/// `0xFFFF_FFF0` as the guest passes it.
const WRAP: i32 = 0xFFFF_FFF0_u32 as i32;

#[test]
fn case_01_pointer_wraps_past_4gib() {
    let sb = Sandbox::new();
    let port = i32::from(sb.granted.port());
    let mut fx = Fixture::new();
    let notes = fx.put("/data/notes.txt");
    let new = fx.put("/data/new.txt");
    let host = fx.put("127.0.0.1");
    let args = fx.put(argv(&[&sb.tool]));
    let buf = fx.reserve(64);
    // `0xFFFF_FFF0 + len` is 2^32 + 48, 2^32 + 16 and exactly 2^32: in 32-bit arithmetic each
    // wraps to a small in-bounds end (0x30, 0x10, 0).
    for len in [64, 32, 16] {
        fx.call("fs_read", &[notes.ptr, notes.len, WRAP, len])
            .call("fs_read", &[WRAP, len, buf.ptr, buf.len])
            .call("fs_size", &[WRAP, len])
            .call("fs_write", &[new.ptr, new.len, WRAP, len])
            .call("fs_write", &[WRAP, len, buf.ptr, 4])
            .call("fs_rename", &[WRAP, len, new.ptr, new.len])
            .call("fs_rename", &[notes.ptr, notes.len, WRAP, len])
            .call("net_dial", &[WRAP, len, port])
            .call("process_exec", &[WRAP, len, buf.ptr, buf.len])
            .call("process_exec", &[args.ptr, args.len, WRAP, len])
            .call("output_write", &[WRAP, len])
            .call("input_read", &[WRAP, len])
            .call("log", &[2, WRAP, len]);
    }
    let dial = fx.len();
    fx.call("net_dial", &[host.ptr, host.len, port]);
    for len in [64, 32, 16] {
        fx.call_args("net_send", vec![Arg::Ret(dial), Arg::C(WRAP), Arg::C(len)])
            .call_args("net_recv", vec![Arg::Ret(dial), Arg::C(WRAP), Arg::C(len)]);
    }
    fx.call_args("net_close", vec![Arg::Ret(dial)]).emit(buf);

    let (plugin, out, usage) = run_fixture(&sb, &fx, sb.standard_grant(), &[0x5A; 64]);

    let mut expected = vec![INVALID; dial];
    expected.push(out.codes[dial]);
    expected.extend([INVALID; 6]);
    expected.push(0);
    assert!(
        out.codes[dial] >= 0,
        "the control dial: {}",
        out.codes[dial]
    );
    assert_eq!(out.codes, expected, "{}", fx.wat());
    assert_eq!(out.emitted, [0; 64], "nothing was copied anywhere");
    // Admitted by the grant (fs.read of notes, fs.write of new.txt, the dial), then refused by
    // the range check (a net_send or net_recv refused so is not counted as allowed); nothing was
    // denied; every INVALID is counted as refused.
    assert_counts(&plugin, [(3, 0), (3, 0), (1, 0), (0, 0)]);
    assert!(denials(&plugin).is_empty());
    assert_eq!(plugin.stats().refused, 45);

    let mut expect = sb.expect("case 01");
    expect.granted_connections = 1;
    let connections = sb.verify(usage, &expect, &[&out.emitted]);
    assert_eq!(connections, [Vec::<u8>::new()], "nothing was sent");
}

#[test]
fn case_02_negative_i32_is_unsigned_never_sign_extended() {
    let sb = Sandbox::new();
    let gp = i32::from(sb.granted.port());
    let mut fx = Fixture::new();
    let notes = fx.put("/data/notes.txt");
    let new = fx.put("/data/new.txt");
    let host = fx.put("127.0.0.1");
    let args = fx.put(argv(&[&sb.tool]));
    let buf = fx.reserve(64);
    fx.call("fs_read", &[notes.ptr, notes.len, -1, 1]) // ptr 0xFFFF_FFFF
        .call("fs_read", &[notes.ptr, notes.len, buf.ptr, -1]) // len 0xFFFF_FFFF
        .call("fs_read", &[notes.ptr, notes.len, i32::MIN, 16]) // ptr 0x8000_0000
        .call("fs_write", &[new.ptr, new.len, -1, 1])
        .call("fs_write", &[new.ptr, new.len, 0, -1])
        .call("fs_write", &[new.ptr, new.len, i32::MIN, 16])
        .call("fs_size", &[notes.ptr, -1])
        .call("fs_size", &[-8, 8])
        .call("fs_rename", &[notes.ptr, notes.len, new.ptr, -1])
        .call("net_dial", &[host.ptr, -1, gp])
        // Ports are u32 too: none of these may become the granted port by truncation or sign.
        .call("net_dial", &[host.ptr, host.len, -1])
        .call("net_dial", &[host.ptr, host.len, gp + 65_536])
        .call("net_dial", &[host.ptr, host.len, gp - 65_536])
        .call("net_dial", &[host.ptr, host.len, i32::MIN | gp])
        .call("net_dial", &[host.ptr, host.len, 0])
        .call("process_exec", &[args.ptr, -1, buf.ptr, buf.len])
        .call("process_exec", &[args.ptr, args.len, buf.ptr, -1])
        .call("process_exec", &[args.ptr, args.len, -1, 8])
        .call("output_write", &[0, -1])
        .call("output_write", &[-1, 1])
        .call("log", &[2, 0, -1])
        .call("log", &[-1, 0, 0])
        .call("input_read", &[-1, 1])
        .call("input_read", &[0, -1])
        .emit(buf);

    let (plugin, out, usage) = run_fixture(&sb, &fx, sb.standard_grant(), b"input");

    assert_eq!(out.codes, vec![INVALID; fx.len()], "{}", fx.wat());
    assert_eq!(out.emitted, [0; 64]);
    // Only the fs calls with a valid path reached the prefix check.
    assert_counts(&plugin, [(3, 0), (3, 0), (0, 0), (0, 0)]);
    assert!(denials(&plugin).is_empty());
    assert_eq!(plugin.stats().refused, fx.len() as u64);
    sb.verify(usage, &sb.expect("case 02"), &[&out.emitted]);
}

#[test]
fn case_03_range_end_past_memory_or_len_near_4gib() {
    let sb = Sandbox::new();
    let gp = i32::from(sb.granted.port());
    let end = PAGE as i32 - 8; // in bounds; 8 bytes before the end of memory
    let mut fx = Fixture::new();
    let notes = fx.put("/data/notes.txt");
    let new = fx.put("/data/new.txt");
    let host = fx.put("127.0.0.1");
    let args = fx.put(argv(&[&sb.tool]));
    let buf = fx.reserve(64);
    fx.call("fs_read", &[notes.ptr, notes.len, end, 64])
        .call("fs_read", &[notes.ptr, notes.len, 1, -2]) // len 0xFFFF_FFFE
        .call("fs_read", &[notes.ptr, notes.len, 0, PAGE as i32 + 1])
        .call("fs_write", &[new.ptr, new.len, end, 64])
        .call("fs_write", &[new.ptr, new.len, 1, -2])
        .call("fs_read", &[end, 64, buf.ptr, buf.len]) // the path's range
        .call("fs_size", &[notes.ptr, PAGE as i32])
        .call("net_dial", &[host.ptr, host.len, gp]);
    let dial = fx.len() - 1;
    let h = Arg::Ret(dial);
    fx.call_args("net_send", vec![h, Arg::C(end), Arg::C(64)])
        .call_args("net_recv", vec![h, Arg::C(end), Arg::C(64)])
        .call_args("net_recv", vec![h, Arg::C(1), Arg::C(-2)])
        .call("process_exec", &[args.ptr, args.len, end, 64])
        .call("process_exec", &[end, 64, buf.ptr, buf.len])
        .call("output_write", &[end, 64])
        .call("input_read", &[end, 64])
        .call("log", &[2, end, 64])
        .call_args("net_close", vec![h])
        .emit(buf)
        // The last 8 bytes of memory: a partial copy would show here.
        .emit(Span { ptr: end, len: 8 });

    let (plugin, out, usage) = run_fixture(&sb, &fx, sb.standard_grant(), &[0x5A; 64]);

    let mut expected = vec![INVALID; fx.len()];
    expected[dial] = out.codes[dial];
    *expected.last_mut().unwrap() = 0;
    assert!(
        out.codes[dial] >= 0,
        "the control dial: {}",
        out.codes[dial]
    );
    assert_eq!(out.codes, expected, "{}", fx.wat());
    assert_eq!(out.emitted, [0; 72], "no partial copy into memory");
    assert_counts(&plugin, [(3, 0), (2, 0), (1, 0), (0, 0)]);
    assert!(denials(&plugin).is_empty());
    assert_eq!(plugin.stats().refused, fx.len() as u64 - 2);

    let mut expect = sb.expect("case 03");
    expect.granted_connections = 1;
    let connections = sb.verify(usage, &expect, &[&out.emitted]);
    assert_eq!(connections, [Vec::<u8>::new()], "nothing was sent");
}

#[test]
fn case_04_huge_in_bounds_len_is_capped_before_any_copy() {
    let sb = Sandbox::new();
    let limits = sb.host.config().limits;
    let cap = i32::try_from(limits.call_bytes).unwrap();
    let gp = i32::from(sb.granted.port());
    // A memory of exactly Limits::memory_bytes (16 MiB by default), all of it in bounds.
    let pages = u32::try_from(limits.memory_bytes).unwrap() / PAGE;
    let huge = i32::try_from((pages - 1) * PAGE).unwrap(); // everything past the first page
    let mut fx = Fixture::new();
    fx.pages(pages);
    let notes = fx.put("/data/notes.txt");
    let new = fx.put("/data/new.txt");
    let host = fx.put("127.0.0.1");
    let args = fx.put(argv(&[&sb.tool]));
    let buf = fx.reserve(64);
    let at = PAGE as i32;
    fx.call("fs_write", &[new.ptr, new.len, at, huge])
        .call("fs_read", &[notes.ptr, notes.len, at, huge])
        .call("net_dial", &[host.ptr, host.len, gp]);
    let h = Arg::Ret(2);
    fx.call_args("net_send", vec![h, Arg::C(at), Arg::C(huge)])
        .call_args("net_recv", vec![h, Arg::C(at), Arg::C(huge)])
        .call("process_exec", &[args.ptr, args.len, at, huge])
        .call("process_exec", &[at, huge, buf.ptr, buf.len]) // argv over Limits::argv_bytes
        .call("output_write", &[at, huge]) // over Limits::output_bytes
        .call("log", &[2, at, huge]) // over Limits::log_message_bytes
        .call("fs_size", &[at, huge]) // a path over Limits::path_bytes
        .call("fs_write", &[new.ptr, new.len, at, cap + 1])
        .call("fs_write", &[new.ptr, new.len, at, cap]) // exactly the cap: written
        .call_args("net_close", vec![h]);

    let (plugin, out, usage) = run_fixture(&sb, &fx, sb.standard_grant(), b"");

    let mut expected = vec![LIMIT; fx.len()];
    expected[2] = out.codes[2];
    expected[fx.len() - 2] = cap;
    expected[fx.len() - 1] = 0;
    assert!(out.codes[2] >= 0, "the control dial: {}", out.codes[2]);
    assert_eq!(out.codes, expected);
    assert_counts(&plugin, [(1, 0), (3, 0), (1, 0), (0, 0)]);
    assert_eq!(plugin.stats().refused, fx.len() as u64 - 3);
    // Exactly the capped write reached the disk: `cap` zero bytes.
    assert_eq!(
        std::fs::read(sb.data.join("new.txt")).unwrap(),
        vec![0; limits.call_bytes]
    );

    // The bound: the plugin's own 16 MiB memory plus 4 MiB. Any host copy of one of the 16 MiB
    // ranges (or a buffer sized by them) would take it past 32 MiB.
    let mut expect = sb.expect("case 04");
    expect.granted_connections = 1;
    expect.writable = vec![sb.data.join("new.txt")];
    let connections = sb.verify(usage, &expect, &[]);
    assert_eq!(connections, [Vec::<u8>::new()], "nothing was sent");
}

#[test]
fn case_05_fs_read_into_oob_buffer_refused_before_io() {
    let sb = Sandbox::new();
    let mut fx = Fixture::new();
    let notes = fx.put("/data/notes.txt");
    let link = fx.put("/data/keylink");
    let missing = fx.put("/data/missing");
    let via_dir = fx.put("/data/keysdir/device.key");
    let buf = fx.reserve(64);
    let tail = PAGE as i32 - 4;
    // For each, the back-end would have answered differently (the size, DENIED, NOT_FOUND):
    // INVALID shows it was never asked.
    fx.call("fs_read", &[notes.ptr, notes.len, tail, 16])
        .call("fs_read", &[link.ptr, link.len, tail, 16])
        .call("fs_read", &[missing.ptr, missing.len, tail, 16])
        .call("fs_read", &[via_dir.ptr, via_dir.len, WRAP, 64])
        .call("fs_read", &[notes.ptr, notes.len, PAGE as i32, 1])
        // Controls: an empty range at the very end is in bounds and reaches the back-end ...
        .call("fs_read", &[notes.ptr, notes.len, PAGE as i32, 0])
        // ... and so does an in-bounds read through the outward link, which it refuses.
        .call("fs_read", &[link.ptr, link.len, buf.ptr, buf.len])
        .emit(buf)
        .emit(Span { ptr: tail, len: 4 });

    let (plugin, out, usage) = run_fixture(&sb, &fx, sb.standard_grant(), b"");

    let size = NOTES.len() as i32;
    assert_eq!(
        out.codes,
        [INVALID, INVALID, INVALID, INVALID, INVALID, size, -1]
    );
    assert_eq!(out.emitted, [0; 68]);
    // Seven admitted by the grant; the last turned into a denial by the back-end.
    assert_counts(&plugin, [(6, 1), (0, 0), (0, 0), (0, 0)]);
    assert_eq!(denials(&plugin), [("fs_read", 1)]);
    assert_eq!(plugin.stats().refused, 5);
    sb.verify(usage, &sb.expect("case 05"), &[&out.emitted]);
}

#[test]
fn case_06_malformed_path_text_is_invalid() {
    let mut sb = Sandbox::new();
    // Real files a lossy or truncating decoder would reach.
    for (name, body) in [("a", "a"), ("caf", "caf"), ("café", "café")] {
        std::fs::write(sb.data.join(name), body).unwrap();
    }
    sb.rebaseline();
    let gp = i32::from(sb.granted.port());
    let bad: [&[u8]; 7] = [
        b"/data/a\0.txt",      // interior NUL (a C API would open /data/a)
        b"/data/a\0",          // trailing NUL
        b"/data/caf\xc3",      // a length that cuts "é" (0xC3 0xA9)
        b"/data/\xff",         // not UTF-8
        b"/data/\xc0\xaf",     // overlong encoding of '/'
        b"/data/\xed\xa0\x80", // a UTF-16 surrogate
        b"/data/a\0/../../outside/keys/device.key",
    ];
    let mut fx = Fixture::new();
    let good = fx.put("/data/a");
    let body = fx.put("pwned");
    let buf = fx.reserve(16);
    for path in bad {
        let p = fx.put(path);
        fx.call("fs_read", &[p.ptr, p.len, buf.ptr, buf.len])
            .call("fs_size", &[p.ptr, p.len])
            .call("fs_write", &[p.ptr, p.len, body.ptr, body.len])
            .call("fs_rename", &[p.ptr, p.len, good.ptr, good.len])
            .call("fs_rename", &[good.ptr, good.len, p.ptr, p.len]);
    }
    let nul_host = fx.put("127.0.0.1\0.evil.example");
    let bad_host = fx.put(b"127.0.0.1\xff");
    let bad_argv = fx.put([sb.tool.as_bytes(), b"\0\xff\0"].concat());
    let unterminated = fx.put(sb.tool.as_bytes());
    let bad_log = fx.put(b"log \xff");
    let cafe = fx.put("/data/café");
    fx.call("net_dial", &[nul_host.ptr, nul_host.len, gp])
        .call("net_dial", &[bad_host.ptr, bad_host.len, gp])
        .call(
            "process_exec",
            &[bad_argv.ptr, bad_argv.len, buf.ptr, buf.len],
        )
        .call(
            "process_exec",
            &[unterminated.ptr, unterminated.len, buf.ptr, buf.len],
        )
        .call("log", &[2, bad_log.ptr, bad_log.len])
        // Control: a valid non-ASCII path works through the real filesystem.
        .call("fs_size", &[cafe.ptr, cafe.len])
        .emit(buf);

    let (plugin, out, usage) = run_fixture(&sb, &fx, sb.standard_grant(), b"");

    let mut expected = vec![INVALID; fx.len()];
    *expected.last_mut().unwrap() = "café".len() as i32;
    assert_eq!(out.codes, expected);
    assert_eq!(out.emitted, [0; 16]);
    assert_counts(&plugin, [(1, 0), (0, 0), (0, 0), (0, 0)]);
    assert!(
        denials(&plugin).is_empty(),
        "malformed is INVALID, not DENIED"
    );
    assert_eq!(plugin.stats().refused, fx.len() as u64 - 1);
    sb.verify(usage, &sb.expect("case 06"), &[&out.emitted]);
}

/// Builds a call's arguments from where its data is (pointer, length).
type Args<'a> = dyn Fn(i32, i32) -> Vec<i32> + 'a;

#[test]
fn case_07_memory_shape_refused_by_conformance_and_at_run_time() {
    let sb = Sandbox::new();
    let gp = i32::from(sb.granted.port());
    let tool_argv = argv(&[&sb.tool]);
    // Each gated call with arguments that would succeed if the host found a memory.
    let attempts: [(&str, &[u8], &Args<'_>); 5] = [
        ("fs_write", b"/data/new.txt", &|p, l| vec![p, l, p, l]),
        ("fs_read", b"/data/notes.txt", &|p, l| vec![p, l, p, 64]),
        ("fs_rename", b"/data/notes.txt", &|p, l| vec![p, l, p, l]),
        ("net_dial", b"127.0.0.1", &|p, l| vec![p, l, gp]),
        ("process_exec", &tool_argv, &|p, l| vec![p, l, 4096, 64]),
    ];
    let ((), usage) = measure(|| {
        for memory in ["internal", "none"] {
            for (name, bytes, args) in &attempts {
                let mut fx = Fixture::new();
                let (ptr, len) = (DATA_START as i32, bytes.len() as i32);
                if memory == "internal" {
                    // The memory exists, holds the arguments, but is not exported.
                    fx.without_memory_export();
                    fx.put_at(DATA_START, bytes);
                } else {
                    fx.without_memory();
                }
                fx.call(name, &args(ptr, len));
                let wasm = fx.wasm();
                let report = sb.host.conformance(&wasm);
                assert!(!report.ok(), "{name} ({memory}): conformance must refuse");
                assert!(!report.entry_exported);
                let exports = report.checks.iter().find(|c| c.name == "exports").unwrap();
                assert!(!exports.passed);
                assert!(exports.reason.contains("memory"), "{}", exports.reason);

                let mut plugin = sb.host.load(&wasm, sb.standard_grant()).unwrap();
                let outcome = fx.run(&sb.host, &mut plugin);
                assert_eq!(outcome.status, INVALID, "{name} ({memory})");
                assert!(outcome.codes.is_empty());
                // With an internal memory the fixture's own output_write is refused too.
                let refused = if memory == "internal" { 2 } else { 1 };
                assert_eq!(plugin.stats().refused, refused, "{name} ({memory})");
                assert_eq!(plugin.stats().calls.total_denied(), 0);
            }
        }
        // Two memories and a 64-bit memory: not valid for this host at all.
        for (what, wat) in [
            (
                "two memories",
                r#"(module (memory 1) (memory (export "memory") 1)
                    (func (export "run") (result i32) (i32.const 0)))"#,
            ),
            (
                "memory64",
                r#"(module (memory (export "memory") i64 1)
                    (func (export "run") (result i32) (i32.const 0)))"#,
            ),
        ] {
            let wasm = wasm(wat);
            let report = sb.host.conformance(&wasm);
            assert!(!report.ok(), "{what}");
            let validates = report
                .checks
                .iter()
                .find(|c| c.name == "validates")
                .unwrap();
            assert!(!validates.passed, "{what}: {}", validates.reason);
            let error = sb.host.load(&wasm, sb.standard_grant()).unwrap_err();
            assert!(
                matches!(error, LoadError::InvalidModule(_)),
                "{what}: {error:?}"
            );
        }
    });
    sb.verify(usage, &sb.expect("case 07"), &[]);
}

/// Case 8's plugin: it grows memory between host calls and hands the host pointers into the
/// newly grown region: an fs_read into the last 16 bytes of a fresh page, a net_recv into the
/// last 64 bytes right after growing by 3 pages (between the dial and the receive), a
/// process_exec writing its result at the end of memory grown again, and an fs_write whose
/// source is at the end of yet another fresh page. Outputs, in order: the 16 bytes read, the
/// greeting received, the exec result, then the 12 result words.
fn growing_plugin(gp: u16, exec_argv: &[u8]) -> Vec<u8> {
    let glen = GRANTED_GREETING.len();
    wasm(&format!(
        r#"(module
  (import "pluginhost" "fs_read" (func $fs_read (param i32 i32 i32 i32) (result i32)))
  (import "pluginhost" "fs_write" (func $fs_write (param i32 i32 i32 i32) (result i32)))
  (import "pluginhost" "net_dial" (func $dial (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_recv" (func $recv (param i32 i32 i32) (result i32)))
  (import "pluginhost" "net_close" (func $close (param i32) (result i32)))
  (import "pluginhost" "process_exec" (func $exec (param i32 i32 i32 i32) (result i32)))
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "/data/notes.txt")
  (data (i32.const 288) "/data/grown.txt")
  (data (i32.const 320) "127.0.0.1")
  (data (i32.const 352) "grown-region-payload")
  (data (i32.const 384) "{argv}")
  (func $end (result i32) (i32.mul (memory.size) (i32.const 65536)))
  (func (export "run") (result i32)
    (local $h i32) (local $got i32) (local $n i32)
    ;; The page that is not there yet is out of bounds.
    (i32.store (i32.const 0)
      (call $fs_read (i32.const 256) (i32.const 15) (i32.const 65536) (i32.const 16)))
    (i32.store (i32.const 4) (memory.grow (i32.const 1)))
    (i32.store (i32.const 8)
      (call $fs_read (i32.const 256) (i32.const 15) (i32.sub (call $end) (i32.const 16)) (i32.const 16)))
    (drop (call $out (i32.sub (call $end) (i32.const 16)) (i32.const 16)))
    (local.set $h (call $dial (i32.const 320) (i32.const 9) (i32.const {gp})))
    (i32.store (i32.const 12) (local.get $h))
    ;; Grow between the dial and the receive: a host holding a view of the old buffer would
    ;; write into freed memory here.
    (i32.store (i32.const 16) (memory.grow (i32.const 3)))
    (block $done (loop $more
      (local.set $n (call $recv (local.get $h)
        (i32.add (i32.sub (call $end) (i32.const 64)) (local.get $got))
        (i32.sub (i32.const {glen}) (local.get $got))))
      (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
      (local.set $got (i32.add (local.get $got) (local.get $n)))
      (br_if $more (i32.lt_u (local.get $got) (i32.const {glen})))))
    (i32.store (i32.const 20) (local.get $got))
    (drop (call $out (i32.sub (call $end) (i32.const 64)) (local.get $got)))
    (i32.store (i32.const 24) (call $close (local.get $h)))
    (i32.store (i32.const 28) (memory.grow (i32.const 2)))
    (local.set $n (call $exec (i32.const 384) (i32.const {argv_len})
      (i32.sub (call $end) (i32.const 64)) (i32.const 64)))
    (i32.store (i32.const 32) (local.get $n))
    (if (i32.gt_s (local.get $n) (i32.const 0))
      (then (drop (call $out (i32.sub (call $end) (i32.const 64)) (local.get $n)))))
    (i32.store (i32.const 36) (memory.grow (i32.const 1)))
    (memory.copy (i32.sub (call $end) (i32.const 20)) (i32.const 352) (i32.const 20))
    (i32.store (i32.const 40)
      (call $fs_write (i32.const 288) (i32.const 15) (i32.sub (call $end) (i32.const 20)) (i32.const 20)))
    (i32.store (i32.const 44) (memory.size))
    (drop (call $out (i32.const 0) (i32.const 48)))
    (i32.const 0))
  ;; The same instance: its memory is still 8 pages, so the end of page 8 is in bounds.
  (func (export "again") (result i32)
    (i32.store (i32.const 0) (memory.size))
    (i32.store (i32.const 4)
      (call $fs_read (i32.const 256) (i32.const 15) (i32.const {last}) (i32.const 16)))
    (drop (call $out (i32.const 0) (i32.const 8)))
    (i32.const 0))
  (func (export "boom") (result i32) unreachable))"#,
        argv = wat_bytes(exec_argv),
        argv_len = exec_argv.len(),
        last = 8 * PAGE - 16,
    ))
}

fn words(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Catalogue 8 is a property of the code's structure more than of any one call, so this is the
/// strongest black-box test of it, and the structure is what guarantees it:
///
/// * Every host function that touches guest memory runs its body inside `abi::call::with_memory`,
///   which asks wasmi for `memory.data_and_store_mut(&mut caller)` afresh on every call. The
///   `&mut [u8]` it gets borrows the `Caller` mutably for exactly the body's duration, so no guest
///   code can run (and no `memory.grow` can happen) while the host holds it, and the borrow
///   checker forbids keeping it past the call. `HostState` caches only the `Memory` *handle* (a
///   store index), never a slice or pointer; the crate is `#![forbid(unsafe_code)]`.
/// * Ranges are checked against the length of that fresh slice (`abi::guest::range`), so they are
///   always checked against the current size.
/// * Back-ends receive only a `&[u8]`/`&mut [u8]` and no `Caller` or store: they cannot re-enter
///   the guest (the `Filesystem`/`Network`/`ProcessRunner` traits say so and give no way to).
/// * After a fault the instance and its store are discarded and rebuilt, so not even the handle
///   survives.
///
/// Black-box, the plugin grows memory (forcing wasmi to reallocate its buffer) between host calls
/// and between invocations, passes pointers into the freshly grown region to every kind of
/// memory-touching call on the real back-ends, and checks every byte round-trips; then a pointer
/// valid only in the grown memory is INVALID after a trap rebuilt the instance at its initial
/// size, and no stale buffer is written.
#[test]
fn case_08_no_guest_memory_view_kept_across_growth() {
    let sb = Sandbox::new();
    let gp = sb.granted.port();
    let exec_argv = argv(&[&sb.tool, "grown"]);
    let module = growing_plugin(gp, &exec_argv);
    let stdout = Sandbox::tool_stdout(&["grown"]);

    let ((plugin, first, second, trapped, rebuilt), usage) = measure(|| {
        let mut plugin = sb.host.load(&module, sb.standard_grant()).unwrap();
        let first = sb.host.invoke(&mut plugin, "run", b"").unwrap();
        let second = sb.host.invoke(&mut plugin, "again", b"").unwrap();
        let trapped = sb.host.call(&mut plugin, "boom", b"");
        let rebuilt = sb.host.invoke(&mut plugin, "again", b"").unwrap();
        (plugin, first, second, trapped, rebuilt)
    });

    let mut expected = NOTES[..16].to_vec();
    expected.extend_from_slice(GRANTED_GREETING);
    expected.extend_from_slice(&0i32.to_le_bytes());
    expected.extend_from_slice(&stdout);
    let (data, codes) = first.split_at(first.len() - 48);
    assert_eq!(
        String::from_utf8_lossy(data),
        String::from_utf8_lossy(&expected)
    );
    let codes = words(codes);
    assert!(codes[3] >= 0, "dial: {}", codes[3]);
    let glen = GRANTED_GREETING.len() as i32;
    let exec_len = 4 + stdout.len() as i32;
    assert_eq!(
        codes,
        [
            INVALID,
            1,
            NOTES.len() as i32,
            codes[3],
            2,
            glen,
            0,
            5,
            exec_len,
            7,
            20,
            8
        ]
    );
    assert_eq!(
        std::fs::read(sb.data.join("grown.txt")).unwrap(),
        b"grown-region-payload",
        "fs_write read exactly the bytes at the end of the grown memory"
    );
    // Across invocations of the same instance the grown memory is still there ...
    assert_eq!(words(&second), [8, NOTES.len() as i32]);
    assert!(
        matches!(
            trapped,
            Err(InvokeError::Trap {
                trap: Trap::Unreachable,
                ..
            })
        ),
        "{trapped:?}"
    );
    // ... and after the rebuild it is gone: the old end of memory is out of bounds.
    assert_eq!(words(&rebuilt), [1, INVALID]);
    let stats = plugin.stats();
    assert_eq!((stats.traps, stats.rebuilds), (1, 1));
    // fs_read: two in `run`, one in each `again` (the last admitted, then INVALID).
    assert_counts(&plugin, [(4, 0), (1, 0), (2, 0), (1, 0)]);
    assert_eq!(stats.refused, 2);

    let mut expect = sb.expect("case 08");
    expect.writable = vec![sb.data.join("grown.txt")];
    expect.granted_connections = 1;
    expect.tool_runs = 1;
    // 8 pages of guest memory at most, reallocated as it grows.
    let connections = sb.verify(usage, &expect, &[&first, &second, &rebuilt]);
    assert_eq!(connections, [Vec::<u8>::new()]);
}

/// Catalogue 5's contract from the other side: a refused `fs_read` writes nothing to guest
/// memory (docs/abi.md: "A refused call changes nothing: no bytes are written to guest memory";
/// "Sizes ... that do not fit in an i32 are reported as LIMIT"). A granted file of 3 GiB
/// (sparse) is refused with LIMIT, yet its first bytes are already in the guest's buffer:
/// `abi::fs::fs_read` lets the back-end copy into `dst` and only then finds the size does not
/// fit (`size_i32`). No byte outside the grant leaks (the plugin may read this file), but the
/// ABI promise is broken. Suggested fix: refuse before copying — e.g. ask `Filesystem::size`
/// first and return LIMIT for a size over `i32::MAX`, and if `read` still reports such a size
/// (the file grew in between) restore `dst` (at most `Limits::call_bytes`, saved first) before
/// returning LIMIT; or document that a LIMIT from `fs_read` may leave `dst` filled.
#[test]
fn case_05_fs_read_refused_for_size_writes_nothing() {
    let mut sb = Sandbox::new();
    {
        use std::io::Write as _;
        let mut big = std::fs::File::create(sb.data.join("big")).unwrap();
        big.write_all(b"HEAD-OF-A-3-GIB-FILE").unwrap();
        big.set_len(3 << 30).unwrap(); // sparse: no disk space used
    }
    sb.rebaseline();
    let mut fx = Fixture::new();
    let big = fx.put("/data/big");
    let buf = fx.reserve(16);
    fx.call("fs_size", &[big.ptr, big.len])
        .call("fs_read", &[big.ptr, big.len, buf.ptr, buf.len])
        .emit(buf);

    let (plugin, out, usage) = run_fixture(&sb, &fx, sb.standard_grant(), b"");

    assert_eq!(out.codes, [LIMIT, LIMIT]);
    assert_eq!(plugin.stats().refused, 2);
    assert_eq!(
        String::from_utf8_lossy(&out.emitted),
        String::from_utf8_lossy(&[0; 16]),
        "a refused fs_read wrote into guest memory"
    );
    sb.verify(usage, &sb.expect("case 05 (size)"), &[&out.emitted]);
}
