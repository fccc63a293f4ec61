//! The bundled plugins (`pluginhost-bundled`) under the host, against real back-ends.
//!
//! * Every real plugin passes the conformance gate with no privileged operation.
//! * `ca-acme-lite` obtains a certificate over real TCP from a loopback CA (rcgen) that the
//!   plugin reaches as `ca.local:8443`; `connector-file-deploy` and `dns-zonefile` work on a
//!   [`DirFilesystem`] in a temporary directory; `connector-service-reload` runs a real script
//!   through [`CommandRunner`].
//! * `hostile-exfiltrate` fails the gate, does not load under its manifest's grant, and under a
//!   narrow grant has every attempt refused with nothing written or read outside `/scratch`;
//!   `hostile-spin` is stopped by fuel; `hostile-memhog` by the memory limit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // each test crate uses a subset of the shared support
mod support;

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pluginhost::proto::ca::{IssueRequest, IssueResponse};
use pluginhost::proto::deploy::{DeployRequest, DeployResponse};
use pluginhost::proto::dns::{PublishTxtRequest, PublishTxtResponse};
use pluginhost::proto::reload::{ReloadRequest, ReloadResponse};
use pluginhost::proto::{FailureCode, PluginKind, Protocol, Response};
use pluginhost::{
    BackendError, Backends, Capability, CommandRunner, Connection, DialTarget, DirFilesystem,
    Grant, Host, HostConfig, HostName, InvokeError, Limits, LoadError, MemoryFilesystem, Network,
    ProcessOutput, ProcessRunner, TcpNetwork,
};
use pluginhost_bundled as bundled;
use support::csr::key_and_csr;
use support::hosts::{grant, host_with_fs, host_with_network, host_with_process};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A certificate authority on 127.0.0.1 (ephemeral port) that signs CSRs for `*.example.com`
/// names with an rcgen CA key, over the HTTP/1.1 that `ca-acme-lite` speaks.
struct LoopbackCa {
    addr: SocketAddr,
    ca_pem: String,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    server: JoinHandle<()>,
}

#[derive(Clone, Debug)]
struct SeenRequest {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl SeenRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl LoopbackCa {
    /// Serves up to `connections` connections, or until 10 s have passed; with 0, it stops
    /// listening at once (a dial that got through would be refused by the OS).
    fn start(connections: usize) -> LoopbackCa {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "pluginhost test CA");
        let ca_cert = params.self_signed(&ca_key).unwrap();
        let ca_pem = ca_cert.pem();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let server = thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut served = 0;
            while served < connections && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        served += 1;
                        serve_one(stream, &ca_cert, &ca_key, &log);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
        });
        LoopbackCa {
            addr,
            ca_pem,
            seen,
            server,
        }
    }

    fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve_one(
    mut stream: TcpStream,
    ca_cert: &rcgen::Certificate,
    ca_key: &rcgen::KeyPair,
    log: &Mutex<Vec<SeenRequest>>,
) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    log.lock().unwrap().push(request.clone());
    let (status, body) = if request.request_line != "POST /issue HTTP/1.1" {
        ("404 Not Found", String::from("no such endpoint\n"))
    } else {
        match sign(&request.body, ca_cert, ca_key) {
            Ok(leaf) => ("200 OK", format!("{leaf}{}", ca_cert.pem())),
            Err(why) => ("403 Forbidden", format!("{why}\n")),
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/pem-certificate-chain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

fn read_request(stream: &mut TcpStream) -> Option<SeenRequest> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 || data.len() > 64 * 1024 {
            return None;
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(data[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())?;
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(SeenRequest {
        request_line,
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

/// Signs `csr_pem` if every name it asks for is under `example.com`.
fn sign(
    csr_pem: &str,
    ca_cert: &rcgen::Certificate,
    ca_key: &rcgen::KeyPair,
) -> Result<String, String> {
    let mut csr = rcgen::CertificateSigningRequestParams::from_pem(csr_pem)
        .map_err(|e| format!("bad CSR: {e}"))?;
    for san in &csr.params.subject_alt_names {
        match san {
            rcgen::SanType::DnsName(name) if name.as_str().ends_with(".example.com") => {}
            other => return Err(format!("identifier not allowed: {other:?}")),
        }
    }
    let now = time::OffsetDateTime::now_utc();
    csr.params.not_before = now - time::Duration::minutes(5);
    csr.params.not_after = now + time::Duration::days(90);
    csr.params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x01, 0x5e, 0xed]));
    csr.params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let leaf = csr
        .signed_by(ca_cert, ca_key)
        .map_err(|e| format!("signing failed: {e}"))?;
    Ok(leaf.pem())
}

/// The embedder's routing table for `net.dial`: maps an exact `host:port` a plugin is granted to
/// the port a service really listens on, then dials through a [`TcpNetwork`] (which resolves
/// the name with its resolver and applies its address policy). Anything not routed goes to the
/// `TcpNetwork` unchanged.
///
/// Needed because `TcpNetwork` always connects on the target's port: its resolver can map
/// `ca.local` to `127.0.0.1`, but not `8443` to an ephemeral port.
struct RoutedNetwork {
    routes: Vec<(DialTarget, u16)>,
    tcp: TcpNetwork,
    dials: AtomicUsize,
}

impl RoutedNetwork {
    fn new(routes: Vec<(DialTarget, u16)>, tcp: TcpNetwork) -> Self {
        RoutedNetwork {
            routes,
            tcp,
            dials: AtomicUsize::new(0),
        }
    }
}

impl Network for RoutedNetwork {
    fn dial(
        &self,
        target: &DialTarget,
        timeout: Duration,
    ) -> Result<Box<dyn Connection>, BackendError> {
        self.dials.fetch_add(1, Ordering::SeqCst);
        let routed = self
            .routes
            .iter()
            .find(|(from, _)| from == target)
            .map(|(_, port)| DialTarget {
                host: target.host.clone(),
                port: *port,
            });
        self.tcp.dial(routed.as_ref().unwrap_or(target), timeout)
    }
}

/// A loopback-only TCP network that resolves `ca.local` (and nothing else) to 127.0.0.1, and
/// routes `ca.local:8443` to `port`.
fn ca_network(port: u16) -> RoutedNetwork {
    let tcp = TcpNetwork::new()
        .allow_loopback(true)
        .connect_timeout(Duration::from_secs(2))
        .io_timeout(Duration::from_secs(5))
        .resolve_with(Arc::new(|name: &str, port: u16| {
            if name == "ca.local" {
                Ok(vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))])
            } else {
                Err(io::Error::new(io::ErrorKind::NotFound, "unknown host"))
            }
        }));
    RoutedNetwork::new(
        vec![(DialTarget::parse("ca.local:8443").unwrap(), port)],
        tcp,
    )
}

/// Runs guest program paths as real programs: `/usr/sbin/reload-service` → a script in a
/// temporary directory. Unmapped programs are `NotFound`; mapped ones run through
/// [`CommandRunner`] (no shell, empty environment, deadline).
struct MappedPrograms {
    map: Vec<(String, PathBuf)>,
    runner: CommandRunner,
    runs: Mutex<Vec<Vec<String>>>,
}

impl ProcessRunner for MappedPrograms {
    fn run(
        &self,
        argv: &[&str],
        stdout: &mut [u8],
        timeout: Duration,
    ) -> Result<ProcessOutput, BackendError> {
        self.runs
            .lock()
            .unwrap()
            .push(argv.iter().map(|s| s.to_string()).collect());
        let (program, args) = argv.split_first().ok_or(BackendError::NotFound)?;
        let real = self
            .map
            .iter()
            .find(|(guest, _)| guest == program)
            .map(|(_, real)| real.to_str().ok_or(BackendError::Io))
            .ok_or(BackendError::NotFound)??;
        let mut mapped = vec![real];
        mapped.extend_from_slice(args);
        self.runner.run(&mapped, stdout, timeout)
    }
}

/// Every file under `dir` with its contents, by path relative to `dir`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.insert(path.strip_prefix(base).unwrap().join(""), Vec::new());
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

const CHAIN_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIDAV7tMAoGCCqGSM49BAMCMB0xGzAZBgNVBAMMEnBsdWdp\n-----END CERTIFICATE-----\n";

// ---------------------------------------------------------------------------------------------
// The gate
// ---------------------------------------------------------------------------------------------

#[test]
fn real_plugins_pass_the_conformance_gate() {
    let host = Host::new(HostConfig::default());
    /// Name, module, kind, protocol, and the manifest's requests.
    type Expected = (
        &'static str,
        &'static [u8],
        PluginKind,
        Protocol,
        &'static [(&'static str, &'static str)],
    );
    let expected: [Expected; 5] = [
        (
            "ca-acme-lite",
            bundled::CA_ACME_LITE,
            PluginKind::Ca,
            Protocol::Issue,
            &[("net.dial", "ca.local:8443")],
        ),
        (
            "connector-file-deploy",
            bundled::CONNECTOR_FILE_DEPLOY,
            PluginKind::Connector,
            Protocol::Deploy,
            &[("fs.write", "/certs")],
        ),
        (
            "connector-service-reload",
            bundled::CONNECTOR_SERVICE_RELOAD,
            PluginKind::Connector,
            Protocol::Reload,
            &[
                ("process.exec", "/usr/sbin/reload-service"),
                ("process.exec", "/usr/sbin/nginx"),
            ],
        ),
        (
            "dns-zonefile",
            bundled::DNS_ZONEFILE,
            PluginKind::DnsProvider,
            Protocol::PublishTxt,
            &[("fs.read", "/zones"), ("fs.write", "/zones")],
        ),
        (
            "dns-rfc2136",
            bundled::DNS_RFC2136,
            PluginKind::DnsProvider,
            Protocol::UpdateTxt,
            &[
                ("fs.read", "/secrets/tsig"),
                ("net.dial", "dns-primary.local:53"),
            ],
        ),
    ];
    for (name, wasm, kind, protocol, requests) in expected {
        let report = host.conformance(wasm);
        assert!(report.ok(), "{name} fails the gate: {:#?}", report.checks);
        assert_eq!(report.privileged_operations(), 0, "{name}");
        assert!(!report.trapped, "{name}");
        // An empty input is not a request: the plugin answers with a failure and returns 0.
        assert_eq!(report.status, Some(0), "{name}");
        let manifest = report.manifest.as_ref().expect("manifest");
        assert_eq!(manifest.name, name);
        assert_eq!(manifest.kind, kind, "{name}");
        // Each declares the message pair it answers (ABI 2), so no caller has to guess it.
        assert_eq!(manifest.protocol, Some(protocol), "{name}");
        assert_eq!(manifest.abi, 2, "{name}");
        let asked: Vec<(&str, &str)> = manifest
            .requests
            .iter()
            .map(|g| (g.capability.as_str(), g.scope.as_str()))
            .collect();
        assert_eq!(asked, requests, "{name}");
        // The imports need exactly the capabilities the manifest asks for.
        let asked_caps: Vec<Capability> =
            requests.iter().map(|(c, _)| c.parse().unwrap()).collect();
        assert_eq!(
            report.declared.iter().collect::<Vec<_>>(),
            asked_caps.iter().copied().fold(Vec::new(), |mut v, c| {
                if !v.contains(&c) {
                    v.push(c);
                }
                v
            }),
            "{name}"
        );
        assert!(
            report.fuel_used > 0 && report.fuel_used < 1_000_000,
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// ca-acme-lite
// ---------------------------------------------------------------------------------------------

/// A host whose network routes `ca.local:8443` to the CA on `port`, and `ca-acme-lite` loaded on
/// it with that one endpoint granted.
fn ca_plugin(port: u16) -> (Host, Arc<RoutedNetwork>, pluginhost::Plugin) {
    let network = Arc::new(ca_network(port));
    let host = host_with_network(HostConfig::default(), network.clone());
    let plugin = host
        .load(bundled::CA_ACME_LITE, grant(&["net.dial=ca.local:8443"]))
        .unwrap();
    (host, network, plugin)
}

/// An issue request for `identifier` with `csr_pem`, to the CA at `ca_host:ca_port`.
fn issue_request(csr_pem: String, identifier: &str, ca_host: &str, ca_port: u16) -> IssueRequest {
    IssueRequest {
        csr_pem,
        identifiers: vec![identifier.into()],
        ca_host: ca_host.into(),
        ca_port,
    }
}

#[test]
fn ca_plugin_obtains_a_certificate_from_a_loopback_ca() {
    let ca = LoopbackCa::start(1);
    let (host, network, mut plugin) = ca_plugin(ca.addr.port());
    let (key, csr_pem) = key_and_csr(&["www.example.com"]);
    let request = issue_request(csr_pem.clone(), "www.example.com", "ca.local", 8443);
    let response: Response<IssueResponse> =
        host.invoke_typed(&mut plugin, "run", &request).unwrap();
    let chain = response.unwrap().chain_pem;
    ca.server.join().unwrap();

    // The CA saw exactly the plugin's HTTP request, with the CSR as the body.
    let seen = ca.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].request_line, "POST /issue HTTP/1.1");
    assert_eq!(seen[0].header("host"), Some("ca.local:8443"));
    assert_eq!(seen[0].header("content-type"), Some("application/pkcs10"));
    assert_eq!(seen[0].body, csr_pem);

    // The chain is the leaf for our key, then the CA.
    let blocks: Vec<_> = x509_parser::pem::Pem::iter_from_buffer(chain.as_bytes())
        .map(Result::unwrap)
        .collect();
    assert_eq!(blocks.len(), 2);
    let leaf = blocks[0].parse_x509().unwrap();
    assert_eq!(leaf.public_key().raw, key.public_key_der().as_slice());
    assert_eq!(
        leaf.subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "www.example.com"
    );
    assert_eq!(leaf.raw_serial(), &[0x01, 0x5e, 0xed]);
    assert!(chain.ends_with(&ca.ca_pem));
    assert!(!chain.contains("PRIVATE KEY"));

    let calls = plugin.stats().calls;
    // net_dial, then at least one net_send and one net_recv on the handle it returned: each is a
    // gated call counted as allowed.
    assert!(calls.allowed(Capability::NetDial) >= 3, "{calls}");
    assert_eq!(calls.total_denied(), 0, "{calls}");
    assert_eq!(network.dials.load(Ordering::SeqCst), 1);
}

#[test]
fn ca_plugin_reaches_only_the_granted_endpoint() {
    let ca = LoopbackCa::start(0);
    let (host, network, mut plugin) = ca_plugin(ca.addr.port());
    let (_key, csr_pem) = key_and_csr(&["www.example.com"]);
    // The real address and port of the CA, and another name: neither is granted.
    for (ca_host, ca_port) in [
        ("127.0.0.1", ca.addr.port()),
        ("ca.local", ca.addr.port()),
        ("evil.example", 8443),
    ] {
        let request = issue_request(csr_pem.clone(), "www.example.com", ca_host, ca_port);
        let response: Response<IssueResponse> =
            host.invoke_typed(&mut plugin, "run", &request).unwrap();
        let failure = response.unwrap_err();
        assert_eq!(failure.code, FailureCode::Denied, "{ca_host}: {failure}");
    }
    assert_eq!(plugin.stats().calls.denied(Capability::NetDial), 3);
    assert_eq!(plugin.stats().calls.allowed(Capability::NetDial), 0);
    assert_eq!(
        network.dials.load(Ordering::SeqCst),
        0,
        "nothing reached the network"
    );
    assert!(ca.requests().is_empty());
}

#[test]
fn ca_refusal_is_an_upstream_failure() {
    let ca = LoopbackCa::start(1);
    let (host, _network, mut plugin) = ca_plugin(ca.addr.port());
    let (_key, csr_pem) = key_and_csr(&["www.not-ours.test"]);
    let request = issue_request(csr_pem, "www.not-ours.test", "ca.local", 8443);
    let response: Response<IssueResponse> =
        host.invoke_typed(&mut plugin, "run", &request).unwrap();
    ca.server.join().unwrap();
    let failure = response.unwrap_err();
    assert_eq!(failure.code, FailureCode::Upstream);
    assert!(
        failure.message.contains("403") && failure.message.contains("identifier not allowed"),
        "{failure}"
    );
}

// ---------------------------------------------------------------------------------------------
// connector-file-deploy
// ---------------------------------------------------------------------------------------------

/// A host whose filesystem is a [`DirFilesystem`] on `root`.
fn dir_host(root: &Path) -> Host {
    host_with_fs(
        HostConfig::default(),
        Arc::new(DirFilesystem::open(root).unwrap()),
    )
}

#[test]
fn file_deploy_replaces_the_chain_atomically() {
    use std::os::unix::fs::MetadataExt;

    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("certs")).unwrap();
    std::fs::write(root.path().join("certs/site.pem"), "old chain\n").unwrap();
    let old_inode = std::fs::metadata(root.path().join("certs/site.pem"))
        .unwrap()
        .ino();
    let host = dir_host(root.path());
    let mut plugin = host
        .load(bundled::CONNECTOR_FILE_DEPLOY, grant(&["fs.write=/certs"]))
        .unwrap();
    let request = DeployRequest {
        chain_pem: CHAIN_PEM.into(),
        key_ref: Some("device-key-1".into()),
        target_dir: "/certs".into(),
        file_name: "site.pem".into(),
    };
    let response: Response<DeployResponse> =
        host.invoke_typed(&mut plugin, "run", &request).unwrap();
    let deployed = response.unwrap();
    assert_eq!(deployed.path, "/certs/site.pem");
    assert_eq!(deployed.bytes_written, CHAIN_PEM.len() as u64);

    let target = root.path().join("certs/site.pem");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), CHAIN_PEM);
    // Replaced by a rename (a new file), not rewritten in place; no temporary file is left.
    assert_ne!(std::fs::metadata(&target).unwrap().ino(), old_inode);
    let names: Vec<_> = std::fs::read_dir(root.path().join("certs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["site.pem"]);
    let calls = plugin.stats().calls;
    assert_eq!(
        calls.allowed(Capability::FsWrite),
        2,
        "write + rename: {calls}"
    );
    assert_eq!(calls.total_denied(), 0);
}

/// The SDK's allocator takes its heap first from what the initial memory holds beyond the stack
/// and static data, then grows memory: a small deploy runs in the plugin's one initial page, and
/// a chain of several pages grows memory and is written whole.
#[test]
fn sdk_plugins_use_their_initial_memory_before_growing_it() {
    let fs = Arc::new(MemoryFilesystem::new());
    fs.create_dir("/certs");
    let host = host_with_fs(HostConfig::default(), fs.clone());
    let mut plugin = host
        .load(bundled::CONNECTOR_FILE_DEPLOY, grant(&["fs.write=/certs"]))
        .unwrap();
    assert_eq!(plugin.memory_size(), 65_536);
    // The plugin refuses chains over 64 KiB.
    let big_chain = CHAIN_PEM.repeat(60_000 / CHAIN_PEM.len());
    for chain in [CHAIN_PEM.to_string(), big_chain] {
        let request = DeployRequest {
            chain_pem: chain.clone(),
            key_ref: None,
            target_dir: "/certs".into(),
            file_name: "site.pem".into(),
        };
        let response: Response<DeployResponse> =
            host.invoke_typed(&mut plugin, "run", &request).unwrap();
        assert_eq!(response.unwrap().bytes_written, chain.len() as u64);
        assert_eq!(fs.get("/certs/site.pem").unwrap(), chain.as_bytes());
        if chain.len() < 1024 {
            assert_eq!(plugin.memory_size(), 65_536, "a small deploy grew memory");
        } else {
            // The request, its decoded copy and the written chain are all on the heap.
            assert!(
                plugin.memory_size() > 2 * chain.len(),
                "{}",
                plugin.memory_size()
            );
        }
    }
    assert_eq!(plugin.stats().traps, 0);
}

#[test]
fn file_deploy_cannot_leave_its_prefix() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("certs")).unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    let before = snapshot(root.path());
    let host = dir_host(root.path());
    let mut plugin = host
        .load(bundled::CONNECTOR_FILE_DEPLOY, grant(&["fs.write=/certs"]))
        .unwrap();
    for dir in ["/etc", "/certs2", "/"] {
        let request = DeployRequest {
            chain_pem: CHAIN_PEM.into(),
            key_ref: None,
            target_dir: dir.into(),
            file_name: "site.pem".into(),
        };
        let response: Response<DeployResponse> =
            host.invoke_typed(&mut plugin, "run", &request).unwrap();
        assert_eq!(response.unwrap_err().code, FailureCode::Denied, "{dir}");
    }
    // A private key is refused before any host call.
    let request = DeployRequest {
        chain_pem: format!(
            "{CHAIN_PEM}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        ),
        key_ref: None,
        target_dir: "/certs".into(),
        file_name: "site.pem".into(),
    };
    let response: Response<DeployResponse> =
        host.invoke_typed(&mut plugin, "run", &request).unwrap();
    assert_eq!(response.unwrap_err().code, FailureCode::BadRequest);
    assert_eq!(snapshot(root.path()), before, "nothing was written");
    assert_eq!(plugin.stats().calls.denied(Capability::FsWrite), 3);
    assert_eq!(plugin.stats().calls.allowed(Capability::FsWrite), 0);
}

// ---------------------------------------------------------------------------------------------
// connector-service-reload
// ---------------------------------------------------------------------------------------------

/// A tempdir holding `bin/reload-service` (outside any filesystem root a plugin gets).
fn reload_script() -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    let script = dir.path().join("bin/reload-service");
    std::fs::write(
        &script,
        "#!/bin/sh\n# Test double of a service reload program.\n\
         echo \"reloaded $*\"\n\
         if [ \"$1\" = --exit ]; then exit \"$2\"; fi\n\
         exit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, script)
}

#[test]
fn service_reload_runs_the_granted_program() {
    let (_bin, script) = reload_script();
    let fs_root = tempfile::tempdir().unwrap();
    let programs = Arc::new(MappedPrograms {
        map: vec![("/usr/sbin/reload-service".into(), script)],
        runner: CommandRunner::new()
            .deadline(Duration::from_secs(5))
            .refuse_under(fs_root.path()),
        runs: Mutex::new(Vec::new()),
    });
    let host = host_with_process(HostConfig::default(), programs.clone());
    let mut plugin = host
        .load(
            bundled::CONNECTOR_SERVICE_RELOAD,
            grant(&["process.exec=/usr/sbin/reload-service"]),
        )
        .unwrap();
    let request = ReloadRequest {
        program: "/usr/sbin/reload-service".into(),
        args: vec!["--unit".into(), "nginx".into()],
        max_stdout: 1024,
    };
    let response: Response<ReloadResponse> =
        host.invoke_typed(&mut plugin, "run", &request).unwrap();
    let done = response.unwrap();
    assert_eq!(done.status, 0);
    assert_eq!(done.stdout, "reloaded --unit nginx\n");

    // A non-zero exit status is reported, not turned into a failure.
    let request = ReloadRequest {
        program: "/usr/sbin/reload-service".into(),
        args: vec!["--exit".into(), "3".into()],
        max_stdout: 4,
    };
    let response: Response<ReloadResponse> =
        host.invoke_typed(&mut plugin, "run", &request).unwrap();
    let done = response.unwrap();
    assert_eq!((done.status, done.stdout.as_str()), (3, "relo"));

    // Another program is refused by the grant before the runner sees it.
    for program in ["/bin/sh", "/usr/sbin/reload-service-other", "/usr/sbin"] {
        let request = ReloadRequest {
            program: program.into(),
            args: vec!["-c".into(), "id".into()],
            max_stdout: 64,
        };
        let response: Response<ReloadResponse> =
            host.invoke_typed(&mut plugin, "run", &request).unwrap();
        assert_eq!(response.unwrap_err().code, FailureCode::Denied, "{program}");
    }
    let runs = programs.runs.lock().unwrap().clone();
    assert_eq!(
        runs,
        [
            vec!["/usr/sbin/reload-service", "--unit", "nginx"],
            vec!["/usr/sbin/reload-service", "--exit", "3"],
        ]
    );
    let calls = plugin.stats().calls;
    assert_eq!(calls.allowed(Capability::ProcessExec), 2, "{calls}");
    assert_eq!(calls.denied(Capability::ProcessExec), 3, "{calls}");
}

// ---------------------------------------------------------------------------------------------
// dns-zonefile
// ---------------------------------------------------------------------------------------------

#[test]
fn dns_zonefile_publishes_and_replaces_the_record() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("zones")).unwrap();
    let zone_path = root.path().join("zones/example.com.zone");
    let original = "$ORIGIN example.com.\n$TTL 3600\n\
                    @ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300\n\
                    @ IN NS ns1.example.com.\n\
                    www IN A 192.0.2.10\n";
    std::fs::write(&zone_path, original).unwrap();
    let host = dir_host(root.path());
    let mut plugin = host
        .load(
            bundled::DNS_ZONEFILE,
            grant(&["fs.read=/zones", "fs.write=/zones"]),
        )
        .unwrap();
    let publish = |plugin: &mut pluginhost::Plugin, value: &str| -> String {
        let request = PublishTxtRequest {
            zone: "example.com".into(),
            fqdn: "www.example.com".into(),
            value: value.into(),
            ttl: 60,
        };
        let response: Response<PublishTxtResponse> =
            host.invoke_typed(plugin, "run", &request).unwrap();
        response.unwrap().record_line
    };

    let line = publish(&mut plugin, "first-token");
    assert_eq!(
        line,
        "_acme-challenge.www.example.com. 60 IN TXT \"first-token\""
    );
    let zone = std::fs::read_to_string(&zone_path).unwrap();
    assert!(zone.starts_with(original), "{zone}");
    assert_eq!(zone.matches("_acme-challenge").count(), 1, "{zone}");
    assert!(zone.contains(&line));

    // Publishing again replaces the record rather than adding a second one.
    let line = publish(&mut plugin, "second-token");
    let zone = std::fs::read_to_string(&zone_path).unwrap();
    assert_eq!(zone.matches("_acme-challenge").count(), 1, "{zone}");
    assert!(
        zone.contains(&line) && !zone.contains("first-token"),
        "{zone}"
    );
    assert!(zone.contains("www IN A 192.0.2.10"));
    let names: Vec<_> = std::fs::read_dir(root.path().join("zones"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["example.com.zone"], "no temporary file left");
    assert_eq!(plugin.stats().calls.total_denied(), 0);

    // A zone file that does not exist yet is created.
    let request = PublishTxtRequest {
        zone: "example.net".into(),
        fqdn: "*.example.net".into(),
        value: "wild".into(),
        ttl: 120,
    };
    let response: Response<PublishTxtResponse> =
        host.invoke_typed(&mut plugin, "run", &request).unwrap();
    assert_eq!(
        response.unwrap().record_line,
        "_acme-challenge.example.net. 120 IN TXT \"wild\""
    );
    assert!(
        std::fs::read_to_string(root.path().join("zones/example.net.zone"))
            .unwrap()
            .contains("\"wild\"")
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile plugins
// ---------------------------------------------------------------------------------------------

#[test]
fn exfiltrate_fails_the_gate() {
    let host = Host::new(HostConfig::default());
    let report = host.conformance(bundled::HOSTILE_EXFILTRATE);
    assert!(!report.ok());
    assert!(
        report.privileged_operations() >= 10,
        "{:?}",
        report.attempted
    );
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect();
    assert_eq!(failed, ["manifest", "no_privileged_operations"]);
    let manifest_check = report.checks.iter().find(|c| c.name == "manifest").unwrap();
    for cap in ["fs.read", "net.dial", "process.exec"] {
        assert!(
            manifest_check.reason.contains(cap),
            "{}",
            manifest_check.reason
        );
    }
    let attempted: Vec<&str> = report.attempted.iter().map(|a| a.import).collect();
    for import in [
        "fs_size",
        "fs_write",
        "fs_rename",
        "net_dial",
        "process_exec",
        "net_send",
    ] {
        assert!(attempted.contains(&import), "{attempted:?}");
    }
}

#[test]
fn exfiltrate_does_not_load_under_its_manifest_grant() {
    let host = Host::new(HostConfig::default());
    let err = host
        .load(bundled::HOSTILE_EXFILTRATE, grant(&["fs.write=/scratch"]))
        .unwrap_err();
    assert!(
        matches!(err, LoadError::NotGranted { .. }),
        "imports beyond the grant must not link: {err}"
    );
}

/// Counts every request that reaches a back-end (none may, for a denied call).
#[derive(Default)]
struct Tripwire {
    dials: AtomicUsize,
    runs: AtomicUsize,
}

impl Network for Tripwire {
    fn dial(&self, _: &DialTarget, _: Duration) -> Result<Box<dyn Connection>, BackendError> {
        self.dials.fetch_add(1, Ordering::SeqCst);
        Err(BackendError::Denied)
    }
}

impl ProcessRunner for Tripwire {
    fn run(&self, _: &[&str], _: &mut [u8], _: Duration) -> Result<ProcessOutput, BackendError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        Err(BackendError::Denied)
    }
}

#[test]
fn exfiltrate_is_contained_by_a_narrow_grant() {
    let state = tempfile::tempdir().unwrap();
    let root = state.path().join("root");
    for dir in ["scratch", "keys", "certs", "zones"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    // A decoy inside the root: even a key file that is there is out of reach.
    std::fs::write(root.join("keys/device.key"), "DECOY KEY MATERIAL").unwrap();
    std::fs::write(root.join("certs/site.pem"), CHAIN_PEM).unwrap();
    let before = snapshot(state.path());

    let tripwire = Arc::new(Tripwire::default());
    let host = Host::with_backends(
        HostConfig::default(),
        Backends::unavailable()
            .with_filesystem(Arc::new(DirFilesystem::open(&root).unwrap()))
            .with_network(tripwire.clone())
            .with_process(tripwire.clone()),
    );
    // Its imports link (fs.read, net.dial, process.exec with no scope at all), and fs.write
    // reaches /scratch only.
    let narrow = Grant::new(&[
        Capability::FsRead,
        Capability::NetDial,
        Capability::ProcessExec,
    ])
    .with_path_prefix(Capability::FsWrite, "/scratch")
    .unwrap();
    let mut plugin = host.load(bundled::HOSTILE_EXFILTRATE, narrow).unwrap();
    let output = host.invoke(&mut plugin, "run", b"").unwrap();
    let report = String::from_utf8(output).unwrap();

    let through: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("LET THROUGH"))
        .collect();
    assert_eq!(
        through,
        ["LET THROUGH  fs.write /scratch/note.txt (inside its grant): written"],
        "{report}"
    );
    assert!(
        report.lines().filter(|l| l.starts_with("refused")).count() >= 20,
        "{report}"
    );

    let calls = plugin.stats().calls;
    assert_eq!(calls.allowed(Capability::FsRead), 0, "{calls}");
    assert_eq!(calls.allowed(Capability::NetDial), 0, "{calls}");
    assert_eq!(calls.allowed(Capability::ProcessExec), 0, "{calls}");
    assert_eq!(calls.allowed(Capability::FsWrite), 1, "{calls}");
    assert!(calls.denied(Capability::FsRead) >= 3, "{calls}");
    assert!(calls.denied(Capability::NetDial) >= 4, "{calls}");
    assert!(calls.denied(Capability::ProcessExec) >= 2, "{calls}");
    assert!(calls.denied(Capability::FsWrite) >= 3, "{calls}");
    assert_eq!(tripwire.dials.load(Ordering::SeqCst), 0);
    assert_eq!(tripwire.runs.load(Ordering::SeqCst), 0);

    // Exactly one file changed: the note inside /scratch.
    let mut after = snapshot(state.path());
    assert_eq!(
        after.remove(Path::new("root/scratch/note.txt")).as_deref(),
        Some(&b"hi"[..])
    );
    assert_eq!(after, before);
}

#[test]
fn spin_is_stopped_by_fuel() {
    let host = Host::new(HostConfig::default().with_fuel(2_000_000));
    let report = host.conformance(bundled::HOSTILE_SPIN);
    assert!(!report.ok());
    assert!(report.trapped);
    assert!(
        report.trap.as_deref().unwrap().contains("fuel"),
        "{:?}",
        report.trap
    );
    assert_eq!(report.privileged_operations(), 0);

    let mut plugin = host.load(bundled::HOSTILE_SPIN, Grant::none()).unwrap();
    let started = Instant::now();
    for _ in 0..2 {
        let err = host.invoke(&mut plugin, "run", b"").unwrap_err();
        assert!(matches!(err, InvokeError::FuelExhausted { .. }), "{err}");
    }
    assert!(started.elapsed() < Duration::from_secs(20));
    let stats = plugin.stats();
    assert_eq!(stats.fuel_exhausted, 2);
    assert_eq!(stats.invocations, 2);
}

/// `hostile-memhog`'s report: how many MiB it hoarded.
fn hoarded_mib(report: &str) -> usize {
    report
        .strip_prefix("hostile-memhog: hoarded ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected report: {report}"))
}

#[test]
fn memhog_is_contained_by_the_memory_limit() {
    // It does nothing privileged, so the gate admits it: the memory limit is what contains it.
    let report = Host::new(HostConfig::default()).conformance(bundled::HOSTILE_MEMHOG);
    assert!(report.ok(), "{:#?}", report.checks);

    for (limit_mib, most) in [(16, 15), (4, 3)] {
        let limits = Limits::DEFAULT.with_memory_bytes(limit_mib << 20);
        let host = Host::new(HostConfig::default().with_limits(limits));
        let mut plugin = host.load(bundled::HOSTILE_MEMHOG, Grant::none()).unwrap();
        let output = host.invoke(&mut plugin, "run", b"").unwrap();
        let text = String::from_utf8(output).unwrap();
        let hoarded = hoarded_mib(&text);
        assert!(hoarded > 0 && hoarded <= most, "{limit_mib} MiB: {text}");
        assert!(text.contains("memory.grow(65536 pages) -> -1"), "{text}");
        // The plugin is unharmed and runs again, from a fresh state, to the same end.
        let again = host.invoke(&mut plugin, "run", b"").unwrap();
        assert_eq!(String::from_utf8(again).unwrap(), text);
        assert_eq!(plugin.stats().traps, 0);
        assert_eq!(plugin.stats().calls.total_allowed(), 0);
    }
}

#[test]
fn growloop_is_stopped_by_fuel_and_the_gate_says_so() {
    let report = Host::new(HostConfig::default()).conformance(bundled::HOSTILE_GROWLOOP);
    assert!(!report.ok());
    assert!(report.fuel_exhausted, "{:#?}", report.checks);
    // Its grows of 65,536 pages are past what a 32-bit memory can ever hold: wasmi refuses them
    // before the host's memory limit is asked, so the limit hit is fuel only.
    assert_eq!(report.limits_hit(), [pluginhost::LimitHit::Fuel]);
    let usage = report.resources.unwrap().usage;
    assert_eq!(usage.memory_grows_refused, 0);
    assert!(usage.fuel_exhausted);
}

#[test]
fn every_bundled_module_is_tested_here() {
    let names: Vec<&str> = bundled::all().iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            // ca-acme needs a real ACME server: tests/acme.rs runs it against pebble.
            "ca_acme.wasm",
            "ca_acme_lite.wasm",
            "connector_file_deploy.wasm",
            "connector_service_reload.wasm",
            "dns_zonefile.wasm",
            // The gate above; its protocol against knotd in tests/dns_rfc2136.rs.
            "dns_rfc2136.wasm",
            "hostile_exfiltrate.wasm",
            "hostile_spin.wasm",
            "hostile_memhog.wasm",
            "hostile_growloop.wasm",
        ]
    );
    // HostName is part of the routing helper's contract: dial targets compare normalised.
    assert_eq!(
        DialTarget::parse("CA.Local:8443").unwrap().host,
        HostName::Dns("ca.local".into())
    );
}
