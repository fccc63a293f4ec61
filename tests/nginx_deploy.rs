//! Deploy and reload against a real nginx (Debian `nginx-light`, started by
//! `pluginhost_testbed::Nginx` on 127.0.0.1 with its own prefix).
//!
//! The agent side (this test) holds the private keys: it writes each new key into a key
//! directory no plugin is granted, outside the plugins' filesystem root. The bundled
//! `connector-file-deploy` writes the new chain into the directory nginx reads it from, under
//! `fs.write` to exactly that directory; `connector-service-reload` runs `nginx -s reload` with
//! the instance's `-p`/`-c`, under `process.exec` of exactly the nginx program (argv only, no
//! shell). A TLS client then checks the certificate nginx presents, by its SHA-256 fingerprint.
//! A reload that nginx refuses (a broken configuration, a chain that does not match the key)
//! is reported by a non-zero status and nginx's own message, and the old certificate stays.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pluginhost::proto::deploy::{DeployRequest, DeployResponse};
use pluginhost::proto::reload::{ReloadRequest, ReloadResponse};
use pluginhost::proto::{FailureCode, Response};
use pluginhost::{Backends, Capability, CommandRunner, DirFilesystem, Host, HostConfig, Plugin};
use pluginhost_bundled as bundled;
use pluginhost_testbed::{served_certificate, sha256_fingerprint, Nginx, TestCa};
use support::hosts::grant;

/// The name the site's certificates are for (sent as SNI, checked by the client).
const SITE: &str = "site.test";

/// A certificate with its key, as PEM, and the leaf's DER.
struct Issued {
    chain_pem: String,
    key_pem: String,
    leaf_der: Vec<u8>,
}

/// A new key and a certificate for [`SITE`] signed by `ca`; the chain is leaf + CA.
fn issue(ca: &TestCa) -> Issued {
    let leaf = ca.issue(&[SITE], false);
    Issued {
        chain_pem: format!("{}{}", leaf.cert_pem, ca.cert_pem()),
        key_pem: leaf.key_pem,
        leaf_der: leaf.cert_der,
    }
}

/// The layout: the plugins' root (with `certs/`, granted as `/certs`) and the agent's key
/// directory beside it, and nginx reading `certs/site.pem` and `keys/site.key`.
struct Site {
    _dir: tempfile::TempDir,
    root: PathBuf,
    key_path: PathBuf,
    chain_path: PathBuf,
    ca: TestCa,
    nginx: Nginx,
}

impl Site {
    /// Starts nginx serving a first certificate; `None` when nginx is not installed.
    fn start() -> Option<(Site, Issued)> {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("plugins-root");
        fs::create_dir_all(root.join("certs")).unwrap();
        let keys = dir.path().join("agent-keys");
        fs::create_dir(&keys).unwrap();
        let chain_path = root.join("certs/site.pem");
        let key_path = keys.join("site.key");
        let ca = TestCa::new("pluginhost nginx test CA");
        let first = issue(&ca);
        fs::write(&chain_path, &first.chain_pem).unwrap();
        install_key(&key_path, &first.key_pem);
        let nginx = Nginx::start(&chain_path, &key_path).unwrap()?;
        let site = Site {
            _dir: dir,
            root,
            key_path,
            chain_path,
            ca,
            nginx,
        };
        assert_eq!(
            site.served(),
            first.leaf_der,
            "nginx serves the first certificate"
        );
        Some((site, first))
    }

    fn served(&self) -> Vec<u8> {
        served_certificate(self.nginx.port(), SITE, &[self.ca.cert_der()]).unwrap()
    }

    /// Waits until nginx has finished its `count`-th reload (a reload is asynchronous: the
    /// master starts new workers and retires the old ones), at most 10 s.
    fn wait_for_reload(&self, count: usize) {
        self.nginx
            .wait_for_reload(count, Duration::from_secs(10))
            .unwrap();
    }

    /// A host whose filesystem is the plugins' root and whose runner runs host programs,
    /// refusing any under that root.
    fn host(&self) -> Host {
        let backends = Backends::unavailable()
            .with_filesystem(Arc::new(DirFilesystem::open(&self.root).unwrap()))
            .with_process(Arc::new(CommandRunner::new().refuse_under(&self.root)));
        Host::with_backends(HostConfig::default(), backends)
    }

    fn program(&self) -> String {
        self.nginx.program().display().to_string()
    }

    fn deployer(&self, host: &Host) -> Plugin {
        host.load(bundled::CONNECTOR_FILE_DEPLOY, grant(&["fs.write=/certs"]))
            .unwrap()
    }

    fn reloader(&self, host: &Host) -> Plugin {
        let spec = format!("process.exec={}", self.program());
        host.load(bundled::CONNECTOR_SERVICE_RELOAD, grant(&[&spec]))
            .unwrap()
    }

    fn deploy(&self, host: &Host, plugin: &mut Plugin, chain_pem: &str) -> DeployResponse {
        let request = DeployRequest {
            chain_pem: chain_pem.to_string(),
            key_ref: Some(self.key_path.display().to_string()),
            target_dir: "/certs".into(),
            file_name: "site.pem".into(),
        };
        let response: Response<DeployResponse> =
            host.invoke_typed(plugin, "run", &request).unwrap();
        response.unwrap()
    }

    fn reload(&self, host: &Host, plugin: &mut Plugin) -> ReloadResponse {
        let request = ReloadRequest {
            program: self.program(),
            args: self.nginx.reload_args(),
            max_stdout: 4096,
        };
        let response: Response<ReloadResponse> =
            host.invoke_typed(plugin, "run", &request).unwrap();
        response.unwrap()
    }
}

/// What the agent does with a new key: write it beside the old one, then rename it over it.
fn install_key(path: &Path, pem: &str) {
    let tmp = path.with_extension("key.tmp");
    fs::write(&tmp, pem).unwrap();
    fs::rename(&tmp, path).unwrap();
}

#[test]
fn deploy_and_reload_serve_the_new_certificate() {
    let Some((site, first)) = Site::start() else {
        return;
    };
    let host = site.host();
    let mut deployer = site.deployer(&host);
    let mut reloader = site.reloader(&host);

    let second = issue(&site.ca);
    install_key(&site.key_path, &second.key_pem);
    let deployed = site.deploy(&host, &mut deployer, &second.chain_pem);
    assert_eq!(deployed.path, "/certs/site.pem");
    assert_eq!(
        fs::read_to_string(&site.chain_path).unwrap(),
        second.chain_pem
    );
    // Deploying alone changes nothing nginx serves.
    assert_eq!(site.served(), first.leaf_der);

    let reloaded = site.reload(&host, &mut reloader);
    assert_eq!(
        reloaded.status, 0,
        "nginx -s reload said: {}",
        reloaded.stdout
    );
    site.wait_for_reload(1);
    assert_eq!(
        sha256_fingerprint(&site.served()),
        sha256_fingerprint(&second.leaf_der)
    );
    assert_ne!(
        sha256_fingerprint(&second.leaf_der),
        sha256_fingerprint(&first.leaf_der)
    );
    assert_eq!(site.nginx.reloads_received(), 1);

    // Each plugin used its one grant and was refused nothing.
    let (d, r) = (deployer.stats().calls, reloader.stats().calls);
    assert_eq!((d.allowed(Capability::FsWrite), d.total_denied()), (2, 0));
    assert_eq!(
        (r.allowed(Capability::ProcessExec), r.total_denied()),
        (1, 0)
    );
}

#[test]
fn grants_name_exactly_the_directory_and_the_program() {
    let Some((site, first)) = Site::start() else {
        return;
    };
    let host = site.host();
    let mut deployer = site.deployer(&host);
    let mut reloader = site.reloader(&host);

    // The deployer cannot write the agent's key directory (outside its root, and not granted),
    // nor anywhere in its root beside /certs.
    for dir in ["/agent-keys", "/", "/certs-old"] {
        let request = DeployRequest {
            chain_pem: issue(&site.ca).chain_pem,
            key_ref: None,
            target_dir: dir.into(),
            file_name: "site.key".into(),
        };
        let response: Response<DeployResponse> =
            host.invoke_typed(&mut deployer, "run", &request).unwrap();
        assert_eq!(response.unwrap_err().code, FailureCode::Denied, "{dir}");
    }
    // The reloader may run nginx and nothing else, not even a shell to run nginx with.
    for program in ["/bin/sh", "/usr/bin/kill"] {
        let request = ReloadRequest {
            program: program.into(),
            args: vec!["-c".into(), format!("{} -s stop", site.program())],
            max_stdout: 64,
        };
        let response: Response<ReloadResponse> =
            host.invoke_typed(&mut reloader, "run", &request).unwrap();
        assert_eq!(response.unwrap_err().code, FailureCode::Denied, "{program}");
    }
    assert_eq!(deployer.stats().calls.denied(Capability::FsWrite), 3);
    assert_eq!(reloader.stats().calls.denied(Capability::ProcessExec), 2);
    assert!(site.nginx.pid() > 0);
    assert_eq!(site.served(), first.leaf_der);
    assert_eq!(site.nginx.reloads_received(), 0);
}

#[test]
fn failed_reloads_keep_the_old_certificate_and_are_reported() {
    let Some((mut site, first)) = Site::start() else {
        return;
    };
    let host = site.host();
    let mut deployer = site.deployer(&host);
    let mut reloader = site.reloader(&host);

    // 1. A chain whose key the agent did not install: nginx checks the pair before it signals
    //    the master, and refuses.
    let orphan = issue(&site.ca);
    site.deploy(&host, &mut deployer, &orphan.chain_pem);
    let refused = site.reload(&host, &mut reloader);
    assert_eq!(refused.status, 1, "{}", refused.stdout);
    assert!(
        refused.stdout.contains("[emerg]") && refused.stdout.contains("key values mismatch"),
        "nginx's reason is reported: {}",
        refused.stdout
    );
    assert_eq!(site.served(), first.leaf_der);
    assert_eq!(site.nginx.reloads_received(), 0);

    // 2. A broken configuration (an operator's typo) with a good pair deployed: refused too.
    let second = issue(&site.ca);
    install_key(&site.key_path, &second.key_pem);
    site.deploy(&host, &mut deployer, &second.chain_pem);
    let config = fs::read_to_string(site.nginx.config()).unwrap();
    fs::write(
        site.nginx.config(),
        config.replace("worker_processes 1;", "worker_processes one;"),
    )
    .unwrap();
    let refused = site.reload(&host, &mut reloader);
    assert_eq!(refused.status, 1, "{}", refused.stdout);
    assert!(
        refused.stdout.contains("[emerg]") && refused.stdout.contains("worker_processes"),
        "{}",
        refused.stdout
    );
    assert_eq!(site.served(), first.leaf_der);
    assert_eq!(site.nginx.reloads_received(), 0);
    assert!(site.nginx.running());

    // 3. Fixed: the same reload now goes through, so the refusals above were nginx's.
    fs::write(site.nginx.config(), config).unwrap();
    let reloaded = site.reload(&host, &mut reloader);
    assert_eq!(reloaded.status, 0, "{}", reloaded.stdout);
    site.wait_for_reload(1);
    assert_eq!(site.served(), second.leaf_der);
}
