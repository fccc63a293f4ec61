//! End-to-end tests of the `pluginhost` binary: `run`, `inspect` and `check`.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

const HELLO: &str = r#"(module
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello")
  (func (export "run") (result i32)
    (drop (call $out (i32.const 0) (i32.const 5)))
    (i32.const 0)))"#;

const RETURNS_3: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "run") (result i32) (i32.const 3)))"#;

const TRAPS: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "run") (result i32) unreachable))"#;

const LOOPS: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "run") (result i32) (loop $l (br $l)) (i32.const 0)))"#;

const UNKNOWN_IMPORT: &str = r#"(module
  (import "env" "launch_missiles" (func $m))
  (memory (export "memory") 1)
  (func (export "run") (result i32) (call $m) (i32.const 0)))"#;

const BIG_MEMORY: &str = r#"(module
  (memory (export "memory") 2)
  (func (export "run") (result i32) (i32.const 0)))"#;

const NO_RUN: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "start") (result i32) (i32.const 0)))"#;

/// Echoes its input to its output.
const ECHO: &str = r#"(module
  (import "pluginhost" "input_len" (func $len (result i32)))
  (import "pluginhost" "input_read" (func $read (param i32 i32) (result i32)))
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (local $n i32)
    (local.set $n (call $read (i32.const 0) (call $len)))
    (drop (call $out (i32.const 0) (local.get $n)))
    (i32.const 0)))"#;

/// Writes "hi" to the path at offset 16 (`{path}` is substituted); returns 0 if the write
/// succeeded, else the error code.
fn fs_writer(path: &str) -> String {
    format!(
        r#"(module
  (import "pluginhost" "fs_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hi")
  (data (i32.const 16) "{path}")
  (func (export "run") (result i32)
    (local $r i32)
    (local.set $r (call $w (i32.const 16) (i32.const {len}) (i32.const 0) (i32.const 2)))
    (if (result i32) (i32.eq (local.get $r) (i32.const 2))
      (then (i32.const 0))
      (else (local.get $r)))))"#,
        len = path.len()
    )
}

/// Calls fs_write three times (no grant needed to try) and returns 0.
const TRIES_FS_WRITE: &str = r#"(module
  (import "pluginhost" "fs_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "/etc/passwd")
  (func (export "run") (result i32)
    (drop (call $w (i32.const 16) (i32.const 11) (i32.const 0) (i32.const 1)))
    (drop (call $w (i32.const 16) (i32.const 11) (i32.const 0) (i32.const 1)))
    (drop (call $w (i32.const 16) (i32.const 11) (i32.const 0) (i32.const 1)))
    (i32.const 0)))"#;

/// A gated import, an unknown import and a manifest custom section.
const INSPECTED: &str = r#"(module
  (import "pluginhost" "fs_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "env" "mystery" (func $m (param i32) (result i32)))
  (@custom "pluginhost.manifest" "abi=1\nname=demo\nversion=0.1.0\nkind=other\ngrant=fs.write=/data\n")
  (memory (export "memory") 1)
  (func (export "run") (result i32) (i32.const 0)))"#;

/// Writes `contents` to `dir/name` and returns the path.
fn write(dir: &TempDir, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, contents).expect("write fixture");
    path
}

fn wasm(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("fixture parses")
}

fn pluginhost() -> Command {
    Command::cargo_bin("pluginhost").expect("binary built")
}

/// Runs `pluginhost ARGS` and returns (exit code, stdout as JSON).
fn json_of(args: &[&str]) -> (i32, Value) {
    let output = pluginhost().args(args).output().expect("runs");
    let code = output.status.code().expect("exit code");
    let stdout = String::from_utf8(output.stdout).expect("utf-8 stdout");
    assert_eq!(stdout.lines().count(), 1, "one line of JSON: {stdout:?}");
    let value: Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert!(value.is_object(), "a JSON object: {value}");
    (code, value)
}

fn run_json(file: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["run", path_str(file), "--json"];
    args.extend_from_slice(extra);
    json_of(&args)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Checks the run JSON's shape: exactly the specified keys with the specified types.
fn assert_run_shape(v: &Value) {
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "allowed",
            "denials",
            "denied",
            "error",
            "error_kind",
            "fuel_used",
            "logs",
            "logs_dropped",
            "ok",
            "output_hex",
            "protocol",
            "response",
            "result",
            "sha256",
            "usage",
            "warnings"
        ]
    );
    assert!(v["denied"].is_array());
    assert!(v["logs"].is_array());
    assert!(v["logs_dropped"].is_u64());
    assert!(v["warnings"].is_array());
    assert!(v["sha256"].is_null() || v["sha256"].as_str().is_some_and(|h| h.len() == 64));
    assert!(v["ok"].is_boolean());
    assert!(v["result"].is_null() || v["result"].is_i64());
    assert!(v["error_kind"].is_null() || v["error_kind"].is_string());
    assert!(v["error"].is_null() || v["error"].is_string());
    assert!(v["output_hex"].is_string());
    assert!(v["protocol"].is_null() || v["protocol"].is_string());
    assert!(v["fuel_used"].is_u64());
    for counts in [&v["allowed"], &v["denials"]] {
        let map = counts.as_object().expect("counts object");
        let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["fs.read", "fs.write", "net.dial", "process.exec"]);
        assert!(map.values().all(Value::is_u64));
    }
}

fn assert_failed_with(v: &Value, kind: &str) {
    assert_run_shape(v);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error_kind"], kind, "{v}");
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(v["result"], Value::Null);
}

// ---------------------------------------------------------------------------------------- run

#[test]
fn run_hello_prints_raw_output() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "hello.wasm", wasm(HELLO));
    pluginhost()
        .args(["run", path_str(&file)])
        .assert()
        .success()
        .stdout(predicate::eq(&b"hello"[..]))
        .stderr(predicate::str::is_empty());
}

#[test]
fn run_json_success_fields() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "hello.wasm", wasm(HELLO));
    let (code, v) = run_json(&file, &[]);
    assert_eq!(code, 0);
    assert_run_shape(&v);
    assert_eq!(v["ok"], true);
    assert_eq!(v["result"], 0);
    assert_eq!(v["error_kind"], Value::Null);
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["output_hex"], "68656c6c6f");
    assert!(v["fuel_used"].as_u64().is_some_and(|f| f > 0));
    for cap in ["fs.read", "fs.write", "net.dial", "process.exec"] {
        assert_eq!(v["allowed"][cap], 0);
        assert_eq!(v["denials"][cap], 0);
    }
}

#[test]
fn run_wat_text_is_accepted() {
    let dir = TempDir::new().unwrap();
    let by_extension = write(&dir, "hello.wat", HELLO);
    pluginhost()
        .args(["run", path_str(&by_extension)])
        .assert()
        .success()
        .stdout("hello");
    // Text under another extension is recognised by its missing magic bytes.
    let by_content = write(&dir, "hello.wasm", HELLO);
    pluginhost()
        .args(["run", path_str(&by_content)])
        .assert()
        .success()
        .stdout("hello");
}

#[test]
fn run_non_zero_return_fails_without_error_kind() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "three.wat", RETURNS_3);
    let (code, v) = run_json(&file, &[]);
    assert_eq!(code, 1);
    assert_run_shape(&v);
    assert_eq!(v["ok"], false);
    assert_eq!(v["result"], 3);
    assert_eq!(v["error_kind"], Value::Null);
    assert_eq!(v["error"], Value::Null);
    pluginhost()
        .args(["run", path_str(&file)])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("returned 3"));
}

#[test]
fn run_not_granted() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "w.wat", fs_writer("/data/x"));
    let (code, v) = run_json(&file, &[]);
    assert_eq!(code, 3);
    assert_failed_with(&v, "not_granted");
    assert!(v["error"].as_str().unwrap().contains("fs.write"));
    pluginhost()
        .args(["run", path_str(&file)])
        .assert()
        .code(3)
        .stdout(predicate::str::is_empty())
        .stderr(
            predicate::str::contains("not_granted").and(predicate::str::contains("\n").count(1)),
        );
}

#[test]
fn run_unknown_import() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "u.wat", UNKNOWN_IMPORT);
    let (code, v) = run_json(&file, &[]);
    assert_eq!(code, 3);
    assert_failed_with(&v, "unknown_import");
    assert!(v["error"].as_str().unwrap().contains("env.launch_missiles"));
}

#[test]
fn run_invalid_module() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "garbage.wasm", b"\x00\x01garbage\xff\xfe");
    let (code, v) = run_json(&file, &[]);
    assert_eq!(code, 3);
    assert_failed_with(&v, "invalid_module");
    // Binary magic with a broken body.
    let file = write(&dir, "broken.wasm", b"\0asm\x01\x00\x00\x00\x01\xff");
    let (code, v) = run_json(&file, &[]);
    assert_eq!(code, 3);
    assert_failed_with(&v, "invalid_module");
}

#[test]
fn run_memory_limit() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "big.wat", BIG_MEMORY);
    let (code, v) = run_json(&file, &["--memory", "65536"]);
    assert_eq!(code, 4);
    assert_failed_with(&v, "limit");
    let (code, _) = run_json(&file, &["--memory", "131072"]);
    assert_eq!(code, 0);
}

#[test]
fn run_fuel_exhausted() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "loop.wat", LOOPS);
    let (code, v) = run_json(&file, &["--fuel", "10000"]);
    assert_eq!(code, 4);
    assert_failed_with(&v, "fuel_exhausted");
    assert_eq!(v["fuel_used"], 10000);
}

#[test]
fn run_trap() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "trap.wat", TRAPS);
    let (code, v) = run_json(&file, &[]);
    assert_eq!(code, 4);
    assert_failed_with(&v, "trap");
    assert!(v["error"].as_str().unwrap().contains("unreachable"));
}

#[test]
fn run_no_entry() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "hello.wat", HELLO);
    let (code, v) = run_json(&file, &["--entry", "missing"]);
    assert_eq!(code, 3);
    assert_failed_with(&v, "no_entry");
    assert!(v["error"].as_str().unwrap().contains("missing"));
}

#[test]
fn run_granted_write_lands_under_root() {
    let dir = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    fs::create_dir(root.path().join("data")).unwrap();
    let file = write(&dir, "w.wat", fs_writer("/data/x"));
    let root_arg = path_str(root.path());
    let (code, v) = run_json(&file, &["--grant", "fs.write=/data", "--root", root_arg]);
    assert_eq!(code, 0, "{v}");
    assert_run_shape(&v);
    assert_eq!(v["ok"], true);
    assert_eq!(v["allowed"]["fs.write"], 1);
    assert_eq!(v["denials"]["fs.write"], 0);
    assert_eq!(fs::read(root.path().join("data/x")).unwrap(), b"hi");
}

#[test]
fn run_write_outside_grant_is_denied() {
    let dir = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    fs::create_dir(root.path().join("data")).unwrap();
    fs::create_dir(root.path().join("etc")).unwrap();
    let file = write(&dir, "w.wat", fs_writer("/etc/x"));
    let root_arg = path_str(root.path());
    let (code, v) = run_json(&file, &["--grant", "fs.write=/data", "--root", root_arg]);
    assert_eq!(code, 1);
    assert_run_shape(&v);
    assert_eq!(v["result"], -1, "the guest sees DENIED");
    assert_eq!(v["error_kind"], Value::Null);
    assert_eq!(v["allowed"]["fs.write"], 0);
    assert_eq!(v["denials"]["fs.write"], 1);
    assert!(!root.path().join("etc/x").exists());
    assert_eq!(
        v["denied"],
        serde_json::json!([{
            "capability": "fs.write", "import": "fs_write", "target": "/etc/x",
            "truncated": false, "count": 1
        }])
    );
    // The human summary names the denial: capability, target and what was granted.
    pluginhost()
        .args([
            "run",
            path_str(&file),
            "--grant",
            "fs.write=/data",
            "--root",
            root_arg,
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "pluginhost: denied fs.write /etc/x (grant: /data)",
        ));
}

#[test]
fn run_fs_grant_without_root_is_a_usage_error_with_a_hint() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "w.wat", fs_writer("/data/x"));
    pluginhost()
        .args([
            "run",
            path_str(&file),
            "--json",
            "--grant",
            "fs.write=/data",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(
            predicate::str::contains("--grant fs.write=/data needs --root DIR").and(
                predicate::str::contains("--root ./sandbox with ./sandbox/data"),
            ),
        );
}

#[test]
fn run_invalid_grant_is_a_usage_error() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "hello.wat", HELLO);
    for (spec, message) in [
        ("fs.write", "grant must be written CAPABILITY=SCOPE"),
        ("fs.exec=/bin", "unknown capability"),
        ("fs.write=relative", "invalid path prefix"),
        ("net.dial=example.com", "port is missing"),
        ("net.dial=/data", "invalid host:port entry"),
    ] {
        pluginhost()
            .args(["run", path_str(&file), "--json", "--grant", spec])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(message));
    }
}

#[test]
fn run_missing_file_is_an_io_error() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope.wasm");
    pluginhost()
        .args(["run", path_str(&missing), "--json"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("cannot open").and(predicate::str::contains("nope.wasm")));
}

#[test]
fn run_missing_root_is_an_io_error() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "hello.wat", HELLO);
    let missing = dir.path().join("no-root");
    pluginhost()
        .args(["run", path_str(&file), "--root", path_str(&missing)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--root"));
}

#[test]
fn run_input_from_file_and_stdin() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "echo.wat", ECHO);
    let input = write(&dir, "input.bin", b"from a file\x00\xff");
    pluginhost()
        .args(["run", path_str(&file), "--input", path_str(&input)])
        .assert()
        .success()
        .stdout(predicate::eq(&b"from a file\x00\xff"[..]));
    pluginhost()
        .args(["run", path_str(&file), "--input", "-"])
        .write_stdin("from stdin")
        .assert()
        .success()
        .stdout("from stdin");
    let (code, v) = json_of(&[
        "run",
        path_str(&file),
        "--input",
        path_str(&input),
        "--json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(v["output_hex"], "66726f6d20612066696c6500ff");
}

#[test]
fn run_input_over_the_limit_is_refused() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "echo.wat", ECHO);
    let input = write(&dir, "big.bin", vec![b'x'; (1 << 20) + 1]);
    pluginhost()
        .args([
            "run",
            path_str(&file),
            "--input",
            path_str(&input),
            "--json",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("larger than 1048576 bytes"));
    let exact = write(&dir, "exact.bin", vec![b'x'; 1 << 20]);
    pluginhost()
        .args(["run", path_str(&file), "--input", path_str(&exact)])
        .assert()
        .success();
    pluginhost()
        .args(["run", path_str(&file), "--input", "-"])
        .write_stdin(vec![b'y'; (1 << 20) + 1])
        .assert()
        .code(2);
}

#[test]
fn run_dials_a_granted_loopback_address() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dialer = format!(
        r#"(module
  (import "pluginhost" "net_dial" (func $dial (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "127.0.0.1")
  (func (export "run") (result i32)
    (local $h i32)
    (local.set $h (call $dial (i32.const 0) (i32.const 9) (i32.const {port})))
    (if (result i32) (i32.ge_s (local.get $h) (i32.const 0))
      (then (i32.const 0))
      (else (local.get $h)))))"#
    );
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "dial.wat", dialer);
    let grant = format!("net.dial=127.0.0.1:{port}");
    let (code, v) = run_json(&file, &["--grant", &grant]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["allowed"]["net.dial"], 1);
    // Another port on loopback is not granted.
    let other = format!(
        "net.dial=127.0.0.1:{}",
        if port == 1 { 2 } else { port - 1 }
    );
    let (code, v) = run_json(&file, &["--grant", &other]);
    assert_eq!(code, 1);
    assert_eq!(v["result"], -1);
    assert_eq!(v["denials"]["net.dial"], 1);
    assert_eq!(v["denied"][0]["target"], format!("127.0.0.1:{port}"));
    drop(listener);
}

#[test]
fn run_resolve_pins_a_granted_name_to_an_address_and_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dialer = r#"(module
  (import "pluginhost" "net_dial" (func $dial (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "ca.example")
  (func (export "run") (result i32)
    (local $h i32)
    (local.set $h (call $dial (i32.const 0) (i32.const 10) (i32.const 443)))
    (if (result i32) (i32.ge_s (local.get $h) (i32.const 0))
      (then (i32.const 0))
      (else (local.get $h)))))"#;
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "dial.wat", dialer);
    let pin = format!("ca.example:443=127.0.0.1:{port}");
    // The grant names the real host; the pin (to loopback) lets the dial reach the listener.
    let (code, v) = run_json(
        &file,
        &["--grant", "net.dial=ca.example:443", "--resolve", &pin],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["allowed"]["net.dial"], 1);
    // The grant is still checked against the name: another granted name is denied.
    let (code, v) = run_json(
        &file,
        &["--grant", "net.dial=other.example:443", "--resolve", &pin],
    );
    assert_eq!(code, 1);
    assert_eq!(v["denials"]["net.dial"], 1);
    drop(listener);
}

#[test]
fn run_bad_resolve_or_tls_roots_is_a_usage_error() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "hello.wasm", wasm(HELLO));
    for args in [
        vec!["--resolve", "ca.example=127.0.0.1"],
        vec!["--resolve", "ca.example:443=localhost"],
        vec!["--resolve", "10.0.0.1:443=127.0.0.1"],
        vec![
            "--resolve",
            "ca.example:443=127.0.0.1",
            "--resolve",
            "ca.example:443=127.0.0.2",
        ],
        vec!["--tls-roots", "/nonexistent/roots.pem"],
    ] {
        let out = pluginhost()
            .arg("run")
            .arg(&file)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let not_pem = write(&dir, "roots.pem", "not a certificate");
    let out = pluginhost()
        .arg("run")
        .arg(&file)
        .arg("--tls-roots")
        .arg(&not_pem)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no PEM CERTIFICATE"));
}

// ------------------------------------------------------------------------------------ inspect

#[test]
fn inspect_human_table() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "demo.wat", INSPECTED);
    pluginhost()
        .args(["inspect", path_str(&file)])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("fs_write")
                .and(predicate::str::contains("func (i32, i32, i32, i32) -> i32"))
                .and(predicate::str::contains("fs.write"))
                .and(predicate::str::contains("mystery"))
                .and(predicate::str::contains("not in the capability table"))
                .and(predicate::str::contains("pluginhost.manifest"))
                .and(predicate::str::contains("demo"))
                .and(predicate::str::contains("0.1.0"))
                .and(predicate::str::contains("fs.write=/data")),
        );
}

#[test]
fn inspect_json() {
    let dir = TempDir::new().unwrap();
    let binary = wasm(INSPECTED);
    let file = write(&dir, "demo.wasm", &binary);
    let (code, v) = json_of(&["inspect", path_str(&file), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["size"], binary.len());
    let imports = v["imports"].as_array().unwrap();
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[0]["module"], "pluginhost");
    assert_eq!(imports[0]["name"], "fs_write");
    assert_eq!(imports[0]["type"], "func (i32, i32, i32, i32) -> i32");
    assert_eq!(imports[0]["listed"], true);
    assert_eq!(imports[0]["capability"], "fs.write");
    assert_eq!(imports[1]["module"], "env");
    assert_eq!(imports[1]["name"], "mystery");
    assert_eq!(imports[1]["listed"], false);
    assert_eq!(imports[1]["capability"], Value::Null);
    let exports = v["exports"].as_array().unwrap();
    assert!(exports
        .iter()
        .any(|e| e["name"] == "run" && e["type"] == "func () -> i32"));
    assert!(exports.iter().any(|e| e["name"] == "memory"));
    let sections = v["custom_sections"].as_array().unwrap();
    let manifest_section = sections
        .iter()
        .find(|s| s["name"] == "pluginhost.manifest")
        .expect("manifest section listed");
    assert_eq!(
        manifest_section["size"],
        "abi=1\nname=demo\nversion=0.1.0\nkind=other\ngrant=fs.write=/data\n".len()
    );
    assert_eq!(
        v["manifest"],
        serde_json::json!({
            "abi": 1,
            "name": "demo",
            "version": "0.1.0",
            "kind": "other",
            "protocol": null,
            "grants": ["fs.write=/data"],
        })
    );
}

/// Echoes its input, with a manifest of `kind` and the extra `lines` (e.g. a protocol).
fn echo_with_manifest(abi: u32, kind: &str, lines: &str) -> String {
    ECHO.replace(
        "(memory (export \"memory\") 1)",
        &format!(
            "(@custom \"pluginhost.manifest\" \"abi={abi}\\nname=echo\\nversion=1\\nkind={kind}\\n{lines}\")\n  \
             (memory (export \"memory\") 1)"
        ),
    )
}

#[test]
fn inspect_and_check_show_the_declared_protocol() {
    let dir = TempDir::new().unwrap();
    let file = write(
        &dir,
        "reload.wat",
        echo_with_manifest(2, "connector", "protocol=reload\\n"),
    );
    let (code, v) = json_of(&["inspect", path_str(&file), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["manifest"]["protocol"], "reload", "{v}");
    assert_eq!(v["manifest"]["abi"], 2);
    pluginhost()
        .args(["inspect", path_str(&file)])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^\s*protocol\s+reload$").unwrap());
    let (code, v) = json_of(&["check", path_str(&file), "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["protocol"], "reload");
    pluginhost()
        .args(["check", path_str(&file)])
        .assert()
        .success()
        .stdout(predicate::str::contains("\nprotocol: reload\n"));

    // No protocol declared: null, and the text says what --request would assume.
    let file = write(&dir, "guess.wat", echo_with_manifest(1, "connector", ""));
    let (_, v) = json_of(&["inspect", path_str(&file), "--json"]);
    assert_eq!(v["manifest"]["protocol"], Value::Null);
    let (_, v) = json_of(&["check", path_str(&file), "--json"]);
    assert_eq!(v["protocol"], Value::Null);
    pluginhost()
        .args(["check", path_str(&file)])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "protocol: none declared (--request assumes deploy, from kind connector",
        ));

    // A protocol in an ABI-1 manifest, or of another kind, makes the manifest invalid.
    for (abi, kind, expected) in [
        (1, "connector", "`protocol` needs abi=2 or later"),
        (2, "dns", "`reload` needs kind=connector, not kind=dns"),
    ] {
        let file = write(
            &dir,
            "bad.wat",
            echo_with_manifest(abi, kind, "protocol=reload\\n"),
        );
        let (_, v) = json_of(&["inspect", path_str(&file), "--json"]);
        let error = v["manifest"]["error"].as_str().unwrap();
        assert!(error.contains(expected), "{error}");
        let (code, v) = json_of(&["check", path_str(&file), "--json"]);
        assert_eq!(code, 3, "{v}");
        assert_eq!(v["ok"], false);
    }
}

#[test]
fn request_uses_the_declared_protocol_and_hints_when_guessing() {
    let dir = TempDir::new().unwrap();
    let reload = write(
        &dir,
        "reload.json",
        r#"{"program": "/usr/sbin/nginx", "args": ["-s", "reload"], "max_stdout": 64}"#,
    );
    let expected_hex = "0f2f7573722f7362696e2f6e67696e7802022d73067265 6c6f616440".replace(' ', "");

    // Declared: the request is encoded as a ReloadRequest (the echo plugin returns it, so the
    // response does not decode: a decode error that names the response type).
    let file = write(
        &dir,
        "declared.wat",
        echo_with_manifest(2, "connector", "protocol=reload\\n"),
    );
    let (code, v) = run_json(&file, &["--request", path_str(&reload)]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["protocol"], "reload");
    assert_eq!(v["output_hex"], expected_hex);
    assert_eq!(v["error_kind"], "decode");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("reload::ReloadResponse (declared by the manifest)"),
        "{v}"
    );

    // Not declared: deploy is guessed from the kind; the request does not fit, and the message
    // says how to name the protocol.
    let file = write(&dir, "guess.wat", echo_with_manifest(1, "connector", ""));
    let out = pluginhost()
        .args(["run", path_str(&file), "--request", path_str(&reload)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("deploy::DeployRequest (protocol deploy, guessed from kind connector)")
            && message.contains("the manifest declares no protocol")
            && message.contains("--protocol (kind connector also has reload)"),
        "{message}"
    );
    // ... and --protocol names it.
    let (_, v) = run_json(
        &file,
        &["--request", path_str(&reload), "--protocol", "reload"],
    );
    assert_eq!(v["protocol"], "reload");
    assert_eq!(v["output_hex"], expected_hex);
    // A bad --protocol lists the names.
    pluginhost()
        .args([
            "run",
            path_str(&file),
            "--request",
            path_str(&reload),
            "--protocol",
            "dns",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "issue, acme, deploy, reload, publish-txt, update-txt",
        ));
}

#[test]
fn inspect_reports_manifest_errors_and_absence() {
    let dir = TempDir::new().unwrap();
    let bad = INSPECTED.replace("kind=other", "kind=rocket");
    let file = write(&dir, "bad.wat", bad);
    let (code, v) = json_of(&["inspect", path_str(&file), "--json"]);
    assert_eq!(code, 0);
    assert!(v["manifest"]["error"].as_str().unwrap().contains("kind"));
    let file = write(&dir, "plain.wat", HELLO);
    let (code, v) = json_of(&["inspect", path_str(&file), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["manifest"], Value::Null);
    assert_eq!(v["imports"][0]["capability"], Value::Null);
    assert_eq!(v["imports"][0]["listed"], true);
    pluginhost()
        .args(["inspect", path_str(&file)])
        .assert()
        .success()
        .stdout(predicate::str::contains("manifest: none"));
}

#[test]
fn inspect_invalid_module_and_missing_file() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "garbage.wasm", b"\xde\xad\xbe\xef");
    pluginhost()
        .args(["inspect", path_str(&file)])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("invalid module"));
    let (code, v) = json_of(&["inspect", path_str(&file), "--json"]);
    assert_eq!(code, 3);
    assert_eq!(v["error_kind"], "invalid_module");
    pluginhost()
        .args(["inspect", path_str(&dir.path().join("nope.wasm"))])
        .assert()
        .code(2);
}

// -------------------------------------------------------------------------------------- check

#[test]
fn check_admits_a_clean_plugin() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "hello.wat", HELLO);
    let (code, v) = json_of(&["check", path_str(&file), "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["instantiated"], true);
    assert_eq!(v["entry_exported"], true);
    assert_eq!(v["trapped"], false);
    assert_eq!(v["trap"], Value::Null);
    assert_eq!(v["privileged_operations"], 0);
    assert_eq!(v["attempted"], serde_json::json!([]));
    assert!(v["fuel_used"].is_u64());
    assert!(v["findings"].is_array());
    let checks = v["checks"].as_array().unwrap();
    assert!(!checks.is_empty());
    assert!(checks
        .iter()
        .all(|c| c["passed"] == true && c["name"].is_string() && c["reason"].is_string()));
    pluginhost()
        .args(["check", path_str(&file)])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("PASS")
                .and(predicate::str::contains("FAIL").not())
                .and(predicate::str::ends_with("ADMITTED\n"))
                .and(predicate::str::contains("NOT ADMITTED").not()),
        );
}

#[test]
fn check_refuses_privileged_attempts() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "tries.wat", TRIES_FS_WRITE);
    let (code, v) = json_of(&["check", path_str(&file), "--json"]);
    assert_eq!(code, 3);
    assert_eq!(v["ok"], false);
    assert_eq!(v["privileged_operations"], 3);
    assert_eq!(
        v["attempted"],
        serde_json::json!([{ "capability": "fs.write", "import": "fs_write", "count": 3 }])
    );
    let findings = v["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| {
        let f = f.as_str().unwrap_or("");
        f.contains("fs_write") && f.contains("fs.write")
    }));
    let failed = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "no_privileged_operations")
        .unwrap();
    assert_eq!(failed["passed"], false);
    pluginhost()
        .args(["check", path_str(&file)])
        .assert()
        .code(3)
        .stdout(
            predicate::str::contains("FAIL")
                .and(predicate::str::contains("fs_write"))
                .and(predicate::str::ends_with("NOT ADMITTED\n")),
        );
}

#[test]
fn check_requires_the_entry() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "norun.wat", NO_RUN);
    let (code, v) = json_of(&["check", path_str(&file), "--json"]);
    assert_eq!(code, 3);
    assert_eq!(v["ok"], false);
    assert_eq!(v["entry_exported"], false);
}

#[test]
fn check_reports_traps() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "trap.wat", TRAPS);
    let (code, v) = json_of(&["check", path_str(&file), "--json"]);
    assert_eq!(code, 3);
    assert_eq!(v["ok"], false);
    assert_eq!(v["trapped"], true);
    assert!(v["trap"]
        .as_str()
        .is_some_and(|t| t.contains("unreachable")));
}

#[test]
fn check_garbage_is_not_admitted() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "garbage.wasm", b"\x7fELF\x02\x01\x01\x00garbage");
    let (code, v) = json_of(&["check", path_str(&file), "--json"]);
    assert_eq!(code, 3);
    assert_eq!(v["ok"], false);
    assert_eq!(v["instantiated"], false);
    assert_eq!(v["checks"][0]["name"], "validates");
    assert_eq!(v["checks"][0]["passed"], false);
    pluginhost()
        .args(["check", path_str(&file)])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("panicked").not())
        .stdout(predicate::str::ends_with("NOT ADMITTED\n"));
}

#[test]
fn check_unreadable_path_is_an_io_error() {
    let dir = TempDir::new().unwrap();
    for path in [dir.path().join("nope.wasm"), dir.path().to_path_buf()] {
        pluginhost()
            .args(["check", path_str(&path), "--json"])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::starts_with("pluginhost: error:"));
    }
}

// --------------------------------------------------------------------------------------- help

#[test]
fn help_of_every_subcommand() {
    for sub in ["run", "inspect", "check"] {
        pluginhost()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Exit status:"));
    }
    pluginhost()
        .args(["run", "--help"])
        .assert()
        .stdout(predicate::str::contains("loopback").and(predicate::str::contains("--grant")));
    pluginhost().assert().code(2);
}

/// Runs `program` through process_exec and writes the status and stdout it got to its output;
/// returns the error code if the call failed.
fn exec_plugin(program: &str) -> String {
    format!(
        r#"(module
  (import "pluginhost" "process_exec" (func $exec (param i32 i32 i32 i32) (result i32)))
  (import "pluginhost" "output_write" (func $out (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{program}\00")
  (func (export "run") (result i32)
    (local $n i32)
    (local.set $n (call $exec (i32.const 0) (i32.const {len}) (i32.const 1024) (i32.const 64)))
    (if (result i32) (i32.lt_s (local.get $n) (i32.const 0))
      (then (local.get $n))
      (else (drop (call $out (i32.const 1024) (local.get $n))) (i32.const 0)))))"#,
        len = program.len() + 1
    )
}

#[test]
fn run_executes_a_granted_program() {
    let program = "/usr/bin/true";
    if !Path::new(program).exists() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "exec.wat", exec_plugin(program));
    let (code, v) = run_json(&file, &["--grant", "process.exec=/usr/bin/true"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["output_hex"], "00000000", "exit status 0, no output");
    assert_eq!(v["allowed"]["process.exec"], 1);
    let (code, v) = run_json(&file, &["--grant", "process.exec=/usr/bin/false"]);
    assert_eq!(code, 1);
    assert_eq!(v["result"], -1);
    assert_eq!(v["denials"]["process.exec"], 1);
}

#[cfg(unix)]
#[test]
fn run_refuses_programs_under_the_root() {
    use std::os::unix::fs::PermissionsExt;
    let source = Path::new("/usr/bin/true");
    if !source.exists() {
        return;
    }
    let root = TempDir::new().unwrap();
    let copy = root.path().join("true");
    fs::copy(source, &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
    let copy = fs::canonicalize(&copy).unwrap();
    let copy = path_str(&copy).to_string();
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "exec.wat", exec_plugin(&copy));
    let grant = format!("process.exec={copy}");
    // Without --root the copy runs ...
    let (code, v) = run_json(&file, &["--grant", &grant]);
    assert_eq!(code, 0, "{v}");
    // ... under --root it is refused by the back-end and counted as a denial.
    let (code, v) = run_json(&file, &["--grant", &grant, "--root", path_str(root.path())]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["result"], -1);
    assert_eq!(v["allowed"]["process.exec"], 0);
    assert_eq!(v["denials"]["process.exec"], 1);
}

// ---------------------------------------------------------------- files, digests, grants, logs

/// Logs one line at each level, then returns 0.
const LOGS: &str = r#"(module
  (import "pluginhost" "log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "zero one two three four")
  (func (export "run") (result i32)
    (drop (call $log (i32.const 0) (i32.const 0) (i32.const 4)))
    (drop (call $log (i32.const 1) (i32.const 5) (i32.const 3)))
    (drop (call $log (i32.const 2) (i32.const 9) (i32.const 3)))
    (drop (call $log (i32.const 3) (i32.const 13) (i32.const 5)))
    (drop (call $log (i32.const 4) (i32.const 19) (i32.const 4)))
    (i32.const 0)))"#;

/// Grows memory one page at a time until refused, then returns 0 (a memory hog that the gate
/// would otherwise admit).
const MEMHOG: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (i32.const 0)))"#;

#[test]
fn bad_files_each_get_their_own_message() {
    let dir = TempDir::new().unwrap();
    let full = wasm(HELLO);
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("empty.wasm", Vec::new(), "empty: 0 bytes"),
        (
            "random.bin",
            b"\x7fELF\x02\x01\x01\x00\x93\x12\xfe".to_vec(),
            "not a WebAssembly module: it starts with the bytes 7f 45 4c 46",
        ),
        (
            "truncated.wasm",
            full[..full.len() - 3].to_vec(),
            "truncated module",
        ),
        (
            "nomemory.wasm",
            wasm(r#"(module (func (export "run") (result i32) (i32.const 0)))"#),
            "exports no linear memory named `memory`",
        ),
    ];
    for (name, bytes, message) in cases {
        let file = write(&dir, name, &bytes);
        let (code, v) = run_json(&file, &[]);
        assert_eq!(code, 3, "{name}: {v}");
        assert_failed_with(&v, "invalid_module");
        let error = v["error"].as_str().unwrap();
        assert!(error.contains(message), "{name}: {error}");
        assert!(!error.contains("WebAssembly text"), "{name}: {error}");
        pluginhost()
            .args(["run", path_str(&file)])
            .assert()
            .code(3)
            .stderr(predicate::str::contains(message).and(predicate::str::contains("\n").count(1)));
    }
}

#[test]
fn sha256_is_printed_and_checked() {
    let dir = TempDir::new().unwrap();
    let binary = wasm(HELLO);
    let file = write(&dir, "hello.wasm", &binary);
    // SHA-256 of the module, computed independently of the CLI.
    let expected = {
        use std::process::Command as Std;
        let out = Std::new("sha256sum").arg(&file).output();
        match out {
            Ok(out) if out.status.success() => {
                String::from_utf8(out.stdout).unwrap()[..64].to_string()
            }
            _ => return, // no sha256sum on this machine
        }
    };
    let (code, v) = json_of(&["inspect", path_str(&file), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["sha256"], expected);
    pluginhost()
        .args(["inspect", path_str(&file)])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("sha256: {expected}")));
    pluginhost()
        .args(["check", path_str(&file)])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("sha256: {expected}")));
    let (code, v) = run_json(&file, &["--sha256", &expected.to_uppercase()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["sha256"], expected);
    let wrong = "0".repeat(64);
    let (code, v) = run_json(&file, &["--sha256", &wrong]);
    assert_eq!(code, 3);
    assert_failed_with(&v, "sha256_mismatch");
    assert_eq!(v["output_hex"], "", "nothing ran");
    let (code, v) = json_of(&["check", path_str(&file), "--json", "--sha256", &wrong]);
    assert_eq!(code, 3);
    assert_eq!(v["ok"], false);
    pluginhost()
        .args(["run", path_str(&file), "--sha256", "abc"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("64 hexadecimal digits"));
}

#[test]
fn a_grant_may_name_one_file() {
    let dir = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    fs::create_dir(root.path().join("data")).unwrap();
    let root_arg = path_str(root.path());
    let exact = write(&dir, "x.wat", fs_writer("/data/x"));
    let (code, v) = run_json(&exact, &["--grant", "fs.write=/data/x", "--root", root_arg]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(fs::read(root.path().join("data/x")).unwrap(), b"hi");
    // A sibling, and a path under the file's name, are not that file.
    for other in ["/data/x.tmp", "/data/y"] {
        let file = write(&dir, "other.wat", fs_writer(other));
        let (code, v) = run_json(&file, &["--grant", "fs.write=/data/x", "--root", root_arg]);
        assert_eq!(code, 1, "{other}: {v}");
        assert_eq!(v["result"], -1, "{other}: DENIED");
        assert_eq!(v["denied"][0]["target"], other);
    }
    assert!(!root.path().join("data/y").exists());
}

#[test]
fn grants_file_same_format_as_the_agent_policy() {
    let dir = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    fs::create_dir(root.path().join("data")).unwrap();
    let root_arg = path_str(root.path());
    let file = write(&dir, "w.wat", fs_writer("/data/x"));
    let single = write(
        &dir,
        "grants.toml",
        "grants = [\"fs.write=/data\"]\nfuel = 5_000_000\n",
    );
    let (code, v) = run_json(&file, &["--grants", path_str(&single), "--root", root_arg]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["allowed"]["fs.write"], 1);
    // A whole policy: the [[plugin]] whose file is the module's name is used.
    let policy = write(
        &dir,
        "policy.toml",
        "[agent]\nidentity = \"x\"\n\n[[plugin]]\nfile = \"other.wasm\"\nrole = \"extra\"\n\
         grants = [\"fs.write=/elsewhere\"]\n\n[[plugin]]\nfile = \"w.wat\"\nrole = \"deploy\"\n\
         grants = [\"fs.write=/data\"]\nfuel = 1_000\n",
    );
    let (code, v) = run_json(&file, &["--grants", path_str(&policy), "--root", root_arg]);
    assert_eq!(code, 4, "its fuel applies: {v}");
    assert_failed_with(&v, "fuel_exhausted");
    let (code, v) = run_json(
        &file,
        &[
            "--grants",
            path_str(&policy),
            "--root",
            root_arg,
            "--fuel",
            "1000000",
        ],
    );
    assert_eq!(code, 0, "--fuel wins over the file: {v}");
    // Errors are usage errors naming the file.
    let bad = write(&dir, "bad.toml", "grants = [\"fs.write=data\"]\n");
    let unknown = write(&dir, "unknown.toml", "grant = [\"fs.write=/data\"]\n");
    for (path, message) in [
        (&bad, "invalid path prefix"),
        (&unknown, "unknown field"),
        (&dir.path().join("missing.toml"), "cannot open --grants"),
    ] {
        pluginhost()
            .args([
                "run",
                path_str(&file),
                "--grants",
                path_str(path),
                "--root",
                root_arg,
            ])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    let other = write(&dir, "nothere.wat", fs_writer("/data/x"));
    pluginhost()
        .args([
            "run",
            path_str(&other),
            "--grants",
            path_str(&policy),
            "--root",
            root_arg,
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no [[plugin]] with file = \"nothere.wat\"",
        ));
}

#[test]
fn grants_file_reads_the_edge_agent_policy_as_shipped() {
    // examples/edge_agent/policy.toml, with every key its [[plugin]] entries use (`only`
    // included): a module named like its deploy connector gets that entry's fs.write=/certs.
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/edge_agent/policy.toml");
    let dir = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    fs::create_dir(root.path().join("certs")).unwrap();
    let root_arg = path_str(root.path());
    for (path, code, allowed, denied) in [("/certs/x", 0, 1, 0), ("/scratch/x", 1, 0, 1)] {
        let file = write(&dir, "connector_file_deploy.wasm", fs_writer(path));
        let (status, v) = run_json(&file, &["--grants", path_str(&policy), "--root", root_arg]);
        assert_eq!(status, code, "{path}: {v}");
        assert_eq!(v["allowed"]["fs.write"], allowed, "{path}: {v}");
        assert_eq!(
            v["denied"].as_array().map(Vec::len),
            Some(denied),
            "{path}: {v}"
        );
    }
}

#[test]
fn grants_wider_than_the_manifest_are_warned_about_and_refused_with_strict() {
    let dir = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    fs::create_dir(root.path().join("data")).unwrap();
    let root_arg = path_str(root.path());
    // Asks for fs.write=/data, imports fs_write, does nothing.
    let file = write(
        &dir,
        "demo.wat",
        INSPECTED.replace(
            "  (import \"env\" \"mystery\" (func $m (param i32) (result i32)))\n",
            "",
        ),
    );
    let (code, v) = run_json(&file, &["--grant", "fs.write=/", "--root", root_arg]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["warnings"],
        serde_json::json!(["fs.write=/ reaches beyond what the manifest asks (fs.write=/data)"])
    );
    pluginhost()
        .args([
            "run",
            path_str(&file),
            "--grant",
            "fs.write=/",
            "--root",
            root_arg,
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: grant fs.write=/ reaches beyond what the manifest asks (fs.write=/data)",
        ));
    let (code, v) = run_json(
        &file,
        &[
            "--grant",
            "fs.write=/",
            "--grant",
            "fs.read=/data",
            "--root",
            root_arg,
            "--strict",
        ],
    );
    assert_eq!(code, 3);
    assert_failed_with(&v, "grant_excess");
    assert!(v["error"]
        .as_str()
        .unwrap()
        .contains("the manifest does not ask for fs.read"));
    // The same or narrower is fine, strict or not.
    let (code, v) = run_json(
        &file,
        &[
            "--grant",
            "fs.write=/data/x",
            "--root",
            root_arg,
            "--strict",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["warnings"], serde_json::json!([]));
    // check lints the grant too (the gate itself runs under an empty grant).
    let (code, v) = json_of(&["check", path_str(&file), "--json", "--grant", "fs.write=/"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1);
    let (code, v) = json_of(&[
        "check",
        path_str(&file),
        "--json",
        "--grant",
        "fs.write=/",
        "--strict",
    ]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["ok"], false);
}

#[test]
fn guest_logs_are_shown_with_the_plugin_name_and_level() {
    let dir = TempDir::new().unwrap();
    let named = LOGS.replace(
        "(memory (export \"memory\") 1)",
        "(@custom \"pluginhost.manifest\" \"abi=1\\nname=chatty\\nversion=1\\nkind=other\\n\")\n  (memory (export \"memory\") 1)",
    );
    let file = write(&dir, "logs.wat", named);
    pluginhost()
        .args(["run", path_str(&file)])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("[chatty] error: zero\n")
                .and(predicate::str::contains("[chatty] warn: one\n"))
                .and(predicate::str::contains("[chatty] info: two\n"))
                .and(predicate::str::contains("three").not())
                .and(predicate::str::contains("four").not()),
        );
    pluginhost()
        .args(["run", path_str(&file), "--log-level", "trace"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("[chatty] debug: three\n")
                .and(predicate::str::contains("[chatty] trace: four\n")),
        );
    pluginhost()
        .args(["run", path_str(&file), "--log-level", "off"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    pluginhost()
        .args(["check", path_str(&file), "--log-level", "warn"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("[chatty] warn: one\n")
                .and(predicate::str::contains("two").not()),
        );
    let (code, v) = run_json(&file, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        v["logs"].as_array().unwrap().len(),
        5,
        "JSON keeps every line: {v}"
    );
    assert_eq!(
        v["logs"][3],
        serde_json::json!({"level": "debug", "message": "three"})
    );
    let (_, v) = json_of(&["check", path_str(&file), "--json"]);
    assert_eq!(v["logs"].as_array().unwrap().len(), 5);
    pluginhost()
        .args(["run", path_str(&file), "--log-level", "loud"])
        .assert()
        .code(2);
}

#[test]
fn check_reports_resources_and_limits_hit() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "memhog.wat", MEMHOG);
    let (code, v) = json_of(&["check", path_str(&file), "--json", "--memory", "262144"]);
    assert_eq!(code, 0, "a finding, not a refusal: {v}");
    let r = &v["resources"];
    assert_eq!(r["memory_bytes"], 262_144);
    assert_eq!(r["memory_limit"], 262_144);
    assert_eq!(r["memory_grows_refused"], 1);
    assert_eq!(r["limits_hit"], serde_json::json!(["memory"]));
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f.as_str().unwrap().starts_with("hit the memory limit")));
    pluginhost()
        .args(["check", path_str(&file), "--memory", "262144"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("LIMIT HIT")
                .and(predicate::str::contains("hit the memory limit")),
        );
    let (code, v) = json_of(&[
        "check",
        path_str(&file),
        "--json",
        "--memory",
        "262144",
        "--strict",
    ]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["ok"], false);
    // check takes --fuel and --input like run.
    let (code, v) = json_of(&["check", path_str(&file), "--json", "--fuel", "50"]);
    assert_eq!(code, 3);
    assert_eq!(v["fuel_exhausted"], true);
    let echo = write(&dir, "echo.wat", ECHO);
    let input = write(&dir, "in.bin", b"12345");
    let (code, v) = json_of(&[
        "check",
        path_str(&echo),
        "--json",
        "--input",
        path_str(&input),
    ]);
    assert_eq!(code, 0);
    assert_eq!(v["resources"]["output_bytes"], 5);
}

#[test]
fn exit_codes_are_in_every_help() {
    for sub in ["run", "check", "inspect", "new"] {
        pluginhost()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(
                predicate::str::contains("Exit status:")
                    .and(predicate::str::contains("  3  refused"))
                    .and(predicate::str::contains("  4  stopped")),
            );
    }
}
