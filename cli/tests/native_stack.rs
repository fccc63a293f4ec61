//! The `pluginhost` binary survives guest loops of grows, in the profile it was built with.
//!
//! `scripts/test.sh` runs this file with `--release` too: the release binary runs wasmi's
//! tail-call dispatch, where each grow used to nest a native frame until the process aborted with
//! a stack overflow (SIGABRT, exit 134). Every case must end in a typed outcome and a documented
//! exit status: never a signal. `pluginhost selftest` must find every operation class flat.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

fn pluginhost() -> Command {
    Command::cargo_bin("pluginhost").expect("binary built")
}

/// A module running `op` a million times, from `run` or as its start function.
fn grow_loop(op: &str, delta: i64, in_start: bool) -> String {
    let start = if in_start { "(start $body)" } else { "" };
    let call = if in_start { "" } else { "(call $body)" };
    format!(
        r#"(module
  (memory (export "memory") 1)
  (table 1 funcref)
  (func $body (local $i i32) (local $d i32)
    (local.set $d (i32.const {delta}))
    (loop $l
      {op}
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000000)))))
  {start}
  (func (export "run") (result i32) {call} (i32.const 0)))"#
    )
}

/// Every grow loop: (name, WAT file in `dir`).
fn grow_loops(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let ops = [
        ("memory_grow_0", "(drop (memory.grow (local.get $d)))", 0),
        (
            "memory_grow_fail",
            "(drop (memory.grow (local.get $d)))",
            100_000,
        ),
        (
            "table_grow_0",
            "(drop (table.grow (ref.null func) (local.get $d)))",
            0,
        ),
        (
            "table_grow_fail",
            "(drop (table.grow (ref.null func) (local.get $d)))",
            1_000_000,
        ),
    ];
    let mut loops = Vec::new();
    for (name, op, delta) in ops {
        for in_start in [false, true] {
            let name = format!("{name}_{}", if in_start { "start" } else { "run" });
            let path = dir.join(format!("{name}.wat"));
            std::fs::write(&path, grow_loop(op, delta, in_start)).expect("write fixture");
            loops.push((name, path));
        }
    }
    loops
}

/// Runs the binary and returns its exit status (a signal is a failure) and stdout as JSON.
fn json_status(cmd: &mut Command) -> (i32, Value) {
    let output = cmd.output().expect("pluginhost ran");
    let code = output.status.code().unwrap_or_else(|| {
        panic!(
            "pluginhost was killed by a signal: {:?}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (code, json)
}

#[test]
fn run_survives_a_million_grows_with_fuel_to_finish() {
    let dir = TempDir::new().unwrap();
    for (name, path) in grow_loops(dir.path()) {
        let (code, json) = json_status(pluginhost().arg("run").arg(&path).args([
            "--fuel",
            "1000000000",
            "--json",
        ]));
        assert_eq!(code, 0, "{name}: {json}");
        assert_eq!(json["ok"], Value::Bool(true), "{name}: {json}");
    }
}

#[test]
fn run_and_check_stop_a_million_grows_with_typed_fuel_exhaustion() {
    let dir = TempDir::new().unwrap();
    for (name, path) in grow_loops(dir.path()) {
        let (code, json) = json_status(pluginhost().arg("run").arg(&path).arg("--json"));
        assert_eq!(code, 4, "stopped by the host: {name}: {json}");
        assert_eq!(json["ok"], Value::Bool(false), "{name}: {json}");
        assert_eq!(json["error_kind"], "fuel_exhausted", "{name}: {json}");

        // The gate judges the candidate without dying of it.
        let (code, json) = json_status(pluginhost().arg("check").arg(&path).arg("--json"));
        assert_eq!(code, 3, "not admitted: {name}: {json}");
        assert_eq!(json["ok"], Value::Bool(false), "{name}: {json}");
    }
}

#[test]
fn selftest_finds_every_operation_class_flat() {
    let (code, json) = json_status(pluginhost().args(["selftest", "--json"]));
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["flat"], Value::Bool(true), "{json}");
    let classes = json["classes"].as_array().expect("classes");
    assert!(classes.len() >= 15, "{json}");
    for class in classes {
        assert_eq!(class["growth_bytes"], 0, "{class}");
    }
}
