//! The new user's path, end to end, from a fresh temporary directory: `pluginhost new`, build
//! for wasm32 with the one documented command, `check`, and `run` with a JSON request and a
//! grants file; every exit code of the table on the way.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as Std, Output};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

fn pluginhost(cwd: &Path) -> Command {
    let mut command = Command::cargo_bin("pluginhost").expect("binary built");
    command.current_dir(cwd);
    command
}

/// Where the new crates build: shared between runs of this test, so the SDK and its
/// dependencies compile once (the crates themselves are always fresh).
fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("new-plugins")
}

/// `cargo build --release --target wasm32-unknown-unknown` in `crate_dir`, as the README says,
/// without the settings of the outer build (which would override the crate's own
/// `.cargo/config.toml`). Returns the module's path.
fn build(crate_dir: &Path, module: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Std::new(cargo);
    command
        .current_dir(crate_dir)
        .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
        .env("CARGO_TARGET_DIR", target_dir());
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(var);
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "building {}: {}",
        crate_dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    target_dir()
        .join("wasm32-unknown-unknown/release")
        .join(module)
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON object ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Writes a new plugin of `kind`, builds it and checks it: admitted, with its SHA-256 printed.
/// Returns the crate directory and the module.
fn new_build_check(home: &Path, kind: &str, name: &str) -> (PathBuf, PathBuf) {
    let created = pluginhost(home)
        .args(["new", kind, name])
        .output()
        .expect("runs");
    assert_eq!(code(&created), 0, "{}", stderr(&created));
    let crate_dir = home.join(name);
    for file in [
        "Cargo.toml",
        ".cargo/config.toml",
        "src/lib.rs",
        "request.json",
        "README.md",
    ] {
        assert!(crate_dir.join(file).is_file(), "{kind}: {file}");
    }
    let module = build(&crate_dir, &format!("{}.wasm", name.replace('-', "_")));

    let checked = pluginhost(&crate_dir)
        .args(["check", module.to_str().unwrap()])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&checked.stdout).into_owned();
    assert_eq!(code(&checked), 0, "{kind} is admitted as written:\n{text}");
    assert!(text.ends_with("\nADMITTED\n"), "{text}");
    let sha = text
        .lines()
        .find_map(|l| l.strip_prefix("sha256: "))
        .expect("check prints the SHA-256");
    assert!(
        sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sha}"
    );
    let inspected = pluginhost(&crate_dir)
        .args(["inspect", module.to_str().unwrap(), "--json"])
        .output()
        .expect("runs");
    assert_eq!(json(&inspected)["sha256"], sha);
    assert_eq!(json(&inspected)["manifest"]["kind"], kind);
    // The template declares its protocol, so `run --request` needs no --protocol.
    let protocol = match kind {
        "ca" => "issue",
        "connector" => "deploy",
        _ => "publish-txt",
    };
    assert_eq!(json(&inspected)["manifest"]["protocol"], protocol);
    assert!(
        text.contains(&format!("\nprotocol: {protocol}\n")),
        "{text}"
    );
    // The small default stack: a few pages of linear memory, not 17.
    let checked_json = pluginhost(&crate_dir)
        .args(["check", module.to_str().unwrap(), "--json"])
        .output()
        .expect("runs");
    let v = json(&checked_json);
    let memory = v["resources"]["memory_bytes"].as_u64().unwrap();
    assert!(
        memory <= 4 * 65536,
        "{kind}: {memory} bytes of linear memory"
    );
    (crate_dir, module)
}

#[test]
fn a_new_connector_from_new_to_run() {
    let home = TempDir::new().unwrap();
    let (dir, module) = new_build_check(home.path(), "connector", "demo");
    let module = module.to_str().unwrap();

    // The operator's grant, in a file, and the sandbox that is the plugin's `/`.
    fs::write(dir.join("grants.toml"), "grants = [\"fs.write=/certs\"]\n").unwrap();
    fs::create_dir_all(dir.join("sandbox/certs")).unwrap();
    fs::create_dir_all(dir.join("sandbox/etc")).unwrap();
    let run = |request: &str, extra: &[&str]| -> Output {
        let mut args = vec!["run", module, "--request", request, "--root", "sandbox"];
        args.extend_from_slice(extra);
        pluginhost(&dir).args(&args).output().expect("runs")
    };

    // 0: deployed; the decoded response, the plugin's log line.
    let done = run("request.json", &["--grants", "grants.toml", "--json"]);
    assert_eq!(code(&done), 0, "{}", stderr(&done));
    let v = json(&done);
    assert_eq!(v["ok"], true);
    assert_eq!(v["response"]["ok"]["path"], "/certs/site.pem");
    let request: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("request.json")).unwrap()).unwrap();
    let chain = request["chain_pem"].as_str().unwrap();
    assert_eq!(v["response"]["ok"]["bytes_written"], chain.len());
    assert_eq!(
        fs::read_to_string(dir.join("sandbox/certs/site.pem")).unwrap(),
        chain
    );
    assert!(
        stderr(&done).contains(&format!(
            "[demo] info: deployed {} bytes to /certs/site.pem",
            chain.len()
        )),
        "{}",
        stderr(&done)
    );
    assert_eq!(v["logs"][0]["level"], "info");
    let shown = run("request.json", &["--grants", "grants.toml"]);
    assert_eq!(code(&shown), 0);
    let printed: Value = serde_json::from_slice(&shown.stdout).expect("the response as JSON");
    assert_eq!(printed["ok"]["path"], "/certs/site.pem");

    // 1: a path the grant does not reach: a named denial and a failure response.
    let outside = request.to_string().replace("\"/certs\"", "\"/etc\"");
    fs::write(dir.join("outside.json"), outside).unwrap();
    let denied = run("outside.json", &["--grants", "grants.toml"]);
    assert_eq!(code(&denied), 1);
    let err = stderr(&denied);
    assert!(
        err.contains("pluginhost: denied fs.write /etc/site.pem.tmp (grant: /certs)"),
        "{err}"
    );
    assert!(
        err.contains("[demo] warn: cannot write /etc/site.pem: denied"),
        "{err}"
    );
    let v = json(&run("outside.json", &["--grants", "grants.toml", "--json"]));
    assert_eq!(v["ok"], false);
    assert_eq!(v["error_kind"], "failure_response");
    assert_eq!(v["response"]["failure"]["code"], "denied");
    assert_eq!(v["denied"][0]["target"], "/etc/site.pem.tmp");
    assert!(!dir.join("sandbox/etc/site.pem").exists());
    assert!(!dir.join("sandbox/etc/site.pem.tmp").exists());

    // 2: a request that does not fit the message: a usage error naming the field; nothing ran.
    let typo = request.to_string().replace("\"file_name\"", "\"filename\"");
    fs::write(dir.join("typo.json"), typo).unwrap();
    let usage = run("typo.json", &["--grants", "grants.toml", "--json"]);
    assert_eq!(code(&usage), 2);
    assert!(usage.stdout.is_empty());
    assert!(stderr(&usage).contains("filename"), "{}", stderr(&usage));

    // 3: not granted: its imports need fs.write.
    let refused = run("request.json", &["--json"]);
    assert_eq!(code(&refused), 3, "{}", stderr(&refused));
    assert_eq!(json(&refused)["error_kind"], "not_granted");
    // 3 as well: a module that is not the one reviewed.
    let wrong_digest = run(
        "request.json",
        &["--grants", "grants.toml", "--sha256", &"0".repeat(64)],
    );
    assert_eq!(code(&wrong_digest), 3);

    // 4: stopped by the host (out of fuel).
    let stopped = run(
        "request.json",
        &["--grants", "grants.toml", "--fuel", "2000", "--json"],
    );
    assert_eq!(code(&stopped), 4);
    assert_eq!(json(&stopped)["error_kind"], "fuel_exhausted");
}

#[test]
fn every_template_builds_and_is_admitted() {
    let home = TempDir::new().unwrap();
    for (kind, name) in [("ca", "my-ca"), ("dns", "my-dns")] {
        let (dir, module) = new_build_check(home.path(), kind, name);
        // Each one answers its example request (with no grant for the CA: a named denial).
        if kind == "dns" {
            fs::create_dir_all(dir.join("sandbox/zones")).unwrap();
            let out = pluginhost(&dir)
                .args([
                    "run",
                    module.to_str().unwrap(),
                    "--request",
                    "request.json",
                    "--grant",
                    "fs.read=/zones",
                    "--grant",
                    "fs.write=/zones",
                    "--root",
                    "sandbox",
                    "--json",
                ])
                .output()
                .expect("runs");
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            let record = json(&out)["response"]["ok"]["record_line"]
                .as_str()
                .unwrap()
                .to_string();
            let zone = fs::read_to_string(dir.join("sandbox/zones/example.com.zone")).unwrap();
            assert_eq!(zone, format!("{record}\n"));
        } else {
            let out = pluginhost(&dir)
                .args([
                    "run",
                    module.to_str().unwrap(),
                    "--request",
                    "request.json",
                    "--grant",
                    "net.dial=ca.internal.example:443",
                    "--json",
                ])
                .output()
                .expect("runs");
            assert_eq!(code(&out), 1, "{}", stderr(&out));
            assert!(
                stderr(&out).contains(
                    "denied net.dial ca.example.com:443 (grant: ca.internal.example:443)"
                ),
                "{}",
                stderr(&out)
            );
            assert!(stderr(&out).contains(
                "warning: grant net.dial=ca.internal.example:443 reaches beyond what the manifest asks"
            ));
        }
    }
    // The name and the directory are checked first.
    let again = pluginhost(home.path())
        .args(["new", "dns", "my-dns"])
        .output()
        .expect("runs");
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("exists already"));
    let bad = pluginhost(home.path())
        .args(["new", "connector", "Bad.Name"])
        .output()
        .expect("runs");
    assert_eq!(code(&bad), 2);
    assert!(!home.path().join("Bad.Name").exists());
}
