//! What a plugin did, as an embedder and an operator see it: guest log lines per invocation,
//! named denials, what an invocation consumed, the gate's resource findings, readable
//! statistics, and a clear error for each kind of bad module. All bounded.

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::sync::Arc;

use pluginhost::{
    Capability, Grant, Host, HostConfig, InvokeError, LimitHit, Limits, LoadError, LogLevel,
    MemoryFilesystem, DENIED_TARGETS, DENIED_TARGET_BYTES,
};
use support::hosts::{config_with, grant, host_with_fs};
use support::wat::wasm;

/// Logs `count` copies of the 10-byte message at offset 0 at level `level`, then traps if the
/// input is `t`.
fn logger(count: u32, level: i32) -> Vec<u8> {
    wasm(&format!(
        r#"(module
  (import "pluginhost" "log" (func $log (param i32 i32 i32) (result i32)))
  (import "pluginhost" "input_len" (func $len (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "line text!")
  (func (export "run") (result i32) (local $i i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (i32.const {count})))
      (drop (call $log (i32.const {level}) (i32.const 0) (i32.const 10)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (if (i32.gt_s (call $len) (i32.const 0)) (then unreachable))
    (i32.const 0)))"#
    ))
}

#[test]
fn log_lines_are_kept_per_invocation_and_survive_a_trap() {
    let host = Host::new(HostConfig::default());
    let mut plugin = host.load(&logger(3, 1), Grant::none()).unwrap();
    assert!(plugin.logs().is_empty());
    host.invoke(&mut plugin, "run", b"").unwrap();
    let lines: Vec<_> = plugin.logs().iter().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines
        .iter()
        .all(|l| l.level == LogLevel::Warn && l.message == "line text!"));
    // A trap: the lines written before it are still there to read.
    let trapped = host.invoke(&mut plugin, "run", b"t");
    assert!(
        matches!(trapped, Err(InvokeError::Trap { .. })),
        "{trapped:?}"
    );
    assert_eq!(plugin.logs().len(), 3);
    // The next invocation starts afresh.
    let mut quiet = host.load(&logger(0, 2), Grant::none()).unwrap();
    host.invoke(&mut quiet, "run", b"").unwrap();
    assert!(quiet.logs().is_empty());
}

#[test]
fn the_log_buffer_is_bounded_by_log_bytes() {
    // 100 lines of 10 bytes, 1,000 bytes of log budget: the guest may write every line it pays
    // for, the host keeps what fits in 1,000 bytes with its 5 bytes of bookkeeping a line.
    let host = Host::new(config_with(|l| l.log_bytes = 1_000));
    let mut plugin = host.load(&logger(100, 2), Grant::none()).unwrap();
    host.invoke(&mut plugin, "run", b"").unwrap();
    let logs = plugin.logs();
    assert_eq!(logs.len(), 1_000 / 15);
    assert_eq!(logs.dropped(), 100 - 1_000 / 15);
    assert_eq!(plugin.usage().log_refused, 0);
    // Past the budget the guest is refused (and the refusal counted).
    let mut more = host.load(&logger(150, 2), Grant::none()).unwrap();
    host.invoke(&mut more, "run", b"").unwrap();
    assert_eq!(more.usage().log_bytes, 1_000);
    assert_eq!(more.usage().log_refused, 50);
    assert_eq!(more.logs().len(), 66);
}

/// Writes to each path of `paths` (laid out from offset 64) once; returns 0.
fn writer(paths: &[String]) -> Vec<u8> {
    let mut data = String::new();
    let mut calls = String::new();
    let mut at = 64;
    for path in paths {
        data.push_str(&format!("(data (i32.const {at}) \"{path}\")\n"));
        calls.push_str(&format!(
            "(drop (call $w (i32.const {at}) (i32.const {}) (i32.const 0) (i32.const 1)))\n",
            path.len()
        ));
        at += path.len() + 1;
    }
    wasm(&format!(
        r#"(module
  (import "pluginhost" "fs_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  {data}
  (func (export "run") (result i32)
    {calls}
    (i32.const 0)))"#
    ))
}

#[test]
fn denials_name_their_targets_bounded() {
    let fs = Arc::new(MemoryFilesystem::new());
    fs.create_dir("/data");
    let host = host_with_fs(HostConfig::default(), fs);
    let long = format!("/etc/{}", "é".repeat(100));
    let mut paths = vec![
        "/etc/passwd".to_string(),
        "/etc/passwd".to_string(),
        "/data/ok".to_string(),
        "/etc//./shadow".to_string(),
        long.clone(),
    ];
    for i in 0..10 {
        paths.push(format!("/other/{i}"));
    }
    let mut plugin = host
        .load(&writer(&paths), grant(&["fs.write=/data"]))
        .unwrap();
    host.invoke(&mut plugin, "run", b"").unwrap();
    let denials = plugin.denials();
    let targets: Vec<_> = denials.targets().collect();
    assert_eq!(targets.len(), DENIED_TARGETS);
    assert_eq!(targets[0].to_string(), "fs.write /etc/passwd (2 times)");
    assert_eq!(targets[0].capability, Capability::FsWrite);
    assert_eq!(targets[0].import, "fs_write");
    // Normalised, as the grant saw it.
    assert_eq!(targets[1].target(), "/etc/shadow");
    // Cut at a character boundary within the bound.
    assert!(targets[2].truncated);
    assert!(targets[2].target().len() <= DENIED_TARGET_BYTES);
    assert!(long.starts_with(targets[2].target()));
    // 14 denied calls on 13 targets; 8 kept, the other 5 counted.
    assert_eq!(denials.unrecorded(), 5);
    assert_eq!(plugin.stats().calls.denied(Capability::FsWrite), 14);
    assert_eq!(plugin.stats().calls.allowed(Capability::FsWrite), 1);
}

#[test]
fn a_capability_not_granted_names_the_guests_bytes() {
    // The conformance gate's probe: every gated import linked, nothing granted.
    let host = Host::new(HostConfig::default());
    let report = host.conformance(&writer(&["/etc/cron.d/x".to_string()]));
    assert!(!report.ok());
    assert_eq!(report.denied.len(), 1);
    assert_eq!(report.denied[0].to_string(), "fs.write /etc/cron.d/x");
    assert!(report
        .findings
        .iter()
        .any(|f| f == "denied fs.write /etc/cron.d/x (fs_write)"));
}

const MEMHOG: &str = r#"(module
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (drop (memory.grow (i32.const 1)))
    (drop (call $out (i32.const 0) (i32.const 40)))
    (i32.const 0)))"#;

#[test]
fn usage_counts_refused_grows_and_output() {
    let host = Host::new(config_with(|l| {
        l.memory_bytes = 4 << 16;
        l.output_bytes = 32;
    }));
    let mut plugin = host.load(&wasm(MEMHOG), Grant::none()).unwrap();
    host.invoke(&mut plugin, "run", b"").unwrap();
    let usage = plugin.usage();
    assert_eq!(usage.memory_bytes, 4 << 16);
    assert_eq!(usage.memory_grows_refused, 2);
    assert_eq!((usage.output_bytes, usage.output_refused), (0, 1));
    assert!(!usage.fuel_exhausted);
    assert!(usage.fuel_used > 0 && usage.fuel_used == plugin.stats().last_fuel_used);
    assert!(usage.hit_a_limit());
    // The next invocation counts afresh (its memory is as large as before: it never shrinks).
    host.invoke(&mut plugin, "run", b"").unwrap();
    assert_eq!(plugin.usage().memory_grows_refused, 2);
}

#[test]
fn the_gate_reports_each_limit_hit() {
    let host = Host::new(config_with(|l| {
        l.memory_bytes = 4 << 16;
        l.output_bytes = 32;
    }));
    let report = host.conformance(&wasm(MEMHOG));
    assert!(
        report.ok(),
        "reaching a limit is a finding, not a failed check"
    );
    assert_eq!(report.limits_hit(), [LimitHit::Memory, LimitHit::Output]);
    let resources = report.resources.unwrap();
    assert_eq!(resources.usage.memory_bytes, 4 << 16);
    assert_eq!(resources.limits.memory_bytes, 4 << 16);
    assert!(report
        .findings
        .iter()
        .any(|f| f
            == "hit the memory limit: 2 memory.grow request(s) refused at 262144 of 262144 bytes"));
    assert!(report
        .findings
        .iter()
        .any(|f| f.starts_with("hit the output limit: 1 output_write call(s) refused")));
    // Fuel.
    let spin = wasm(
        r#"(module (memory (export "memory") 1)
             (func (export "run") (result i32) (loop $l (br $l)) (i32.const 0)))"#,
    );
    let report = Host::new(HostConfig::default().with_fuel(10_000)).conformance(&spin);
    assert_eq!(report.limits_hit(), [LimitHit::Fuel]);
    // The bundled memory hog: it attempts nothing privileged, and the gate says what it did.
    let report = Host::new(HostConfig::default()).conformance(pluginhost_bundled::HOSTILE_MEMHOG);
    assert!(
        report.limits_hit().contains(&LimitHit::Memory),
        "{report:?}"
    );
}

#[test]
fn each_kind_of_bad_module_has_its_own_message() {
    let host = Host::new(HostConfig::default());
    let full = wasm(
        r#"(module (memory (export "memory") 1) (func (export "run") (result i32) (i32.const 0)))"#,
    );
    let cases: [(&[u8], &str); 6] = [
        (b"", "empty: 0 bytes"),
        (
            b"\x7fELF\x02\x01",
            "not a WebAssembly module: it starts with the bytes 7f 45 4c 46",
        ),
        (b"\0as", "truncated module: 3 bytes"),
        (&full[..full.len() - 4], "truncated module ("),
        (
            b"\0asm\x0d\x00\x01\x00",
            "a WebAssembly component, not a core module",
        ),
        (
            b"\0asm\x02\x00\x00\x00",
            "unsupported WebAssembly binary version 2",
        ),
    ];
    for (bytes, message) in cases {
        match host.load(bytes, Grant::none()) {
            Err(LoadError::InvalidModule(text)) => {
                assert!(text.contains(message), "{bytes:?}: {text}");
                assert!(!text.contains('\n'), "one line: {text}");
            }
            other => panic!("{bytes:?}: {other:?}"),
        }
    }
}

#[test]
fn stats_read_like_sentences() {
    let fs = Arc::new(MemoryFilesystem::new());
    fs.create_dir("/data");
    let host = host_with_fs(HostConfig::default(), fs);
    let mut plugin = host
        .load(
            &writer(&["/data/a".to_string(), "/etc/x".to_string()]),
            grant(&["fs.write=/data"]),
        )
        .unwrap();
    host.invoke(&mut plugin, "run", b"").unwrap();
    let stats = plugin.stats();
    let shown = stats.to_string();
    assert!(
        shown.starts_with("1 invocations (1 completed, 0 trapped, 0 out of fuel, 0 rebuilds), "),
        "{shown}"
    );
    assert!(
        shown.ends_with("calls fs.write 1/1 (allowed/denied), 0 refused"),
        "{shown}"
    );
    let debug = format!("{:?}", stats.calls);
    assert_eq!(
        debug,
        "CallCounts { fs.read: 0/0, fs.write: 1/1, net.dial: 0/0, process.exec: 0/0 }"
    );
    let fuel = stats.fuel_used;
    assert!(fuel >= 1_000, "grouped digits expected: {fuel}");
    assert!(shown.contains(&format!("{},", fuel / 1000)), "{shown}");
    let _ = Limits::DEFAULT;
}
