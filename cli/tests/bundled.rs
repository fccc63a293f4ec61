//! `pluginhost run --request` against the bundled plugins, with no `--protocol`: each manifest
//! declares its protocol, so the CLI encodes the JSON request as that plugin's message and
//! decodes its typed response (a success, or a failure at the network or process step).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::{json, Value};
use tempfile::TempDir;

/// A CSR for `www.example.com` (public data: no key in it).
const CSR_PEM: &str = "-----BEGIN CERTIFICATE REQUEST-----
MIIBAjCBqQIBADAaMRgwFgYDVQQDDA93d3cuZXhhbXBsZS5jb20wWTATBgcqhkjO
PQIBBggqhkjOPQMBBwNCAAREHpidFbSOprPj0pZi9/dROj1BdkGk+7Csu+heieVe
TDmxp2r9Btss4rgEHhvu2X3VA+o3NUEalLYCURzRyMw9oC0wKwYJKoZIhvcNAQkO
MR4wHDAaBgNVHREEEzARgg93d3cuZXhhbXBsZS5jb20wCgYIKoZIzj0EAwIDSAAw
RQIgY+MWpCzWW+VBRO3MwzPviRXHhq5nePm6QAih9ywN6EcCIQDtCifmkLKI68w2
F89iv1++5f+eYjxEC/Lc+TBv5YZFyQ==
-----END CERTIFICATE REQUEST-----
";

/// Writes `contents` to `dir/name` (creating parents) and returns the path.
fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create fixture directory");
    }
    fs::write(&path, contents).expect("write fixture");
    path
}

/// Writes the bundled module `file` into `dir`.
fn module(dir: &Path, file: &str) -> PathBuf {
    let wasm = pluginhost_bundled::get(file).unwrap_or_else(|| panic!("{file} is bundled"));
    write(dir, file, wasm)
}

fn run(args: &[&str]) -> Output {
    Command::cargo_bin("pluginhost")
        .expect("binary built")
        .arg("run")
        .args(args)
        .output()
        .expect("runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

#[test]
fn reload_request_runs_the_granted_program() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let wasm = module(dir.path(), "connector_service_reload.wasm");
    // A host program outside any --root: the test double of a service's reload command.
    let script = write(
        dir.path(),
        "bin/reload-service",
        "#!/bin/sh\necho \"reloaded $*\"\nexit 0\n",
    );
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let request = json!({
        "program": s(&script),
        "args": ["--unit", "nginx"],
        "max_stdout": 1024,
    });
    let request = write(dir.path(), "reload.json", request.to_string());
    let grant = format!("process.exec={}", s(&script));

    let done = run(&[
        s(&wasm),
        "--request",
        s(&request),
        "--grant",
        &grant,
        "--json",
    ]);
    assert_eq!(code(&done), 0, "{}", stderr(&done));
    let v = json(&done);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["protocol"], "reload");
    assert_eq!(
        v["response"],
        json!({ "ok": { "status": 0, "stdout": "reloaded --unit nginx\n" } })
    );

    // Without --json, stdout is the decoded response.
    let shown = run(&[s(&wasm), "--request", s(&request), "--grant", &grant]);
    assert_eq!(code(&shown), 0, "{}", stderr(&shown));
    let response: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(response["ok"]["stdout"], "reloaded --unit nginx\n");

    // Ungranted, the program is refused: a typed failure, exit 1, the denial named.
    let denied = run(&[
        s(&wasm),
        "--request",
        s(&request),
        "--grant",
        "process.exec=/usr/sbin/reload-service",
        "--json",
    ]);
    assert_eq!(code(&denied), 1, "{}", stderr(&denied));
    let v = json(&denied);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error_kind"], "failure_response");
    assert_eq!(v["response"]["failure"]["code"], "denied", "{v}");
    assert!(
        stderr(&denied).contains(&format!("denied process.exec {}", s(&script))),
        "{}",
        stderr(&denied)
    );

    // A deploy request is not a reload request: a usage error naming the field, before the
    // plugin runs; the manifest declared the protocol, so there is no --protocol hint.
    let deploy = write(
        dir.path(),
        "deploy.json",
        r#"{"chain_pem": "x", "key_ref": null, "target_dir": "/certs", "file_name": "a.pem"}"#,
    );
    let misfit = run(&[s(&wasm), "--request", s(&deploy), "--grant", &grant]);
    assert_eq!(code(&misfit), 2, "{}", stderr(&misfit));
    let message = stderr(&misfit);
    assert!(
        message.contains("reload::ReloadRequest")
            && message.contains("declared by the manifest")
            && message.contains("chain_pem"),
        "{message}"
    );
    assert!(!message.contains("--protocol"), "{message}");
    assert!(misfit.stdout.is_empty());

    // --protocol still overrides the manifest.
    let forced = run(&[
        s(&wasm),
        "--request",
        s(&request),
        "--grant",
        &grant,
        "--protocol",
        "deploy",
    ]);
    assert_eq!(code(&forced), 2, "{}", stderr(&forced));
    assert!(stderr(&forced).contains("deploy::DeployRequest (protocol deploy, --protocol)"));
}

#[test]
fn update_txt_request_is_encoded_and_its_failure_decoded() {
    let dir = TempDir::new().unwrap();
    let wasm = module(dir.path(), "dns_rfc2136.wasm");
    write(
        dir.path(),
        "sandbox/secrets/tsig/acme.key",
        "hmac-sha256:acme-key:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n",
    );
    // The server in the request is not the one granted: the dial is denied, so the plugin
    // answers with a typed failure after reading the key and building the update.
    let request = json!({
        "change": "Add",
        "zone": "example.com",
        "fqdn": "www.example.com",
        "value": "txt-value",
        "ttl": 60,
        "server_host": "dns-secondary.local",
        "server_port": 53,
        "tsig_key_file": "/secrets/tsig/acme.key",
    });
    let request = write(dir.path(), "update.json", request.to_string());
    let root = dir.path().join("sandbox");
    let args = [
        s(&wasm),
        "--request",
        s(&request),
        "--root",
        s(&root),
        "--grant",
        "fs.read=/secrets/tsig",
        "--grant",
        "net.dial=dns-primary.local:53",
        "--json",
    ];
    let out = run(&args);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(v["protocol"], "update-txt");
    assert_eq!(v["error_kind"], "failure_response", "{v}");
    assert_eq!(v["response"]["failure"]["code"], "denied", "{v}");
    assert!(v["allowed"]["fs.read"].as_u64() > Some(0), "{v}");
    assert!(
        stderr(&out)
            .contains("denied net.dial dns-secondary.local:53 (grant: dns-primary.local:53)"),
        "{}",
        stderr(&out)
    );
    assert!(v["warnings"].as_array().unwrap().is_empty(), "{v}");

    // A field of the wrong type is named, before the plugin runs.
    let bad = fs::read_to_string(&request)
        .unwrap()
        .replace("\"ttl\":60", "\"ttl\":-1");
    let bad = write(dir.path(), "bad.json", bad);
    let out = run(&[s(&wasm), "--request", s(&bad), "--root", s(&root)]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("dns::UpdateTxtRequest") && stderr(&out).contains("field `ttl`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn acme_request_is_encoded_and_its_failure_decoded() {
    let dir = TempDir::new().unwrap();
    let wasm = module(dir.path(), "ca_acme.wasm");
    let mut request = json!({
        "directory_url": "https://acme-v02.api.letsencrypt.org/directory",
        "csr_pem": CSR_PEM,
        "identifiers": ["www.example.com"],
        "challenge": "Dns01",
        "contact": ["mailto:ops@example.com"],
        "terms_of_service_agreed": true,
        "order_url": null,
    });
    let path = write(dir.path(), "acme.json", request.to_string());
    // Granted only the test CA: the dial to Let's Encrypt is denied, a typed failure. The
    // account key is made first, which takes more than the default fuel (the edge agent's
    // policy gives ca-acme the same budget).
    let out = run(&[
        s(&wasm),
        "--request",
        s(&path),
        "--grant",
        "net.dial=acme.example:14000",
        "--fuel",
        "1000000000",
        "--json",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["protocol"], "acme");
    assert_eq!(v["error_kind"], "failure_response", "{v}");
    assert_eq!(v["response"]["failure"]["code"], "denied", "{v}");
    assert!(
        stderr(&out).contains("denied net.dial acme-v02.api.letsencrypt.org:443"),
        "{}",
        stderr(&out)
    );

    // An unknown field is refused by name (AcmeRequest denies unknown fields).
    request["contacts"] = json!([]);
    let typo = write(dir.path(), "typo.json", request.to_string());
    let out = run(&[s(&wasm), "--request", s(&typo)]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("acme::AcmeRequest") && stderr(&out).contains("contacts"),
        "{}",
        stderr(&out)
    );
}
