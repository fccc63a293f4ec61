//! `edge_agent`: a certificate-lifecycle appliance agent built on `pluginhost`.
//!
//! ```sh
//! cargo run --release --example edge_agent                 # with pebble, knotd, nginx if installed
//! cargo run --release --example edge_agent -- --in-process # without them: the in-process CA
//! cargo run --release --example edge_agent -- --keep-state # keep the state directory
//! cargo run --release --example edge_agent -- --policy my-policy.toml
//! ```
//!
//! What it does, as an appliance would:
//!
//! 1. **Admission.** Reads the operator's policy (`policy.toml` beside this file): which bundled
//!    plugin plays which role, with which grants and fuel. Each candidate goes through the
//!    conformance gate (empty grant; it must run cleanly and attempt nothing privileged); its
//!    manifest must ask for at least what the policy grants, and a protocol it declares must be
//!    the one its role is sent; then it is loaded under exactly the policy's grant. Refused
//!    plugins never run.
//! 2. **Renewal.** The agent's key store makes a CSR for the device identity. With the real
//!    servers installed (Debian `pebble`, `knot`, `knot-dnsutils`, `nginx-light`), the agent
//!    starts them on loopback (`pluginhost-testbed`: free ports, temporary directories, each
//!    stopped by its pid at the end and on every error path) and renews against them:
//!    `ca-acme` places an ACME order with pebble over host-verified TLS (`acme.example:14000`
//!    pinned to pebble's port); `dns-rfc2136` adds the `dns-01` TXT record to knotd by a
//!    TSIG-signed dynamic update (`dns-primary.local:53` pinned to knotd's port); pebble
//!    validates it by asking knotd; the record is removed; the agent checks the chain up to
//!    pebble's root and writes the device key for nginx itself; `connector-file-deploy` writes
//!    the chain where nginx reads it; `connector-service-reload` runs `nginx -s reload`; a
//!    verifying TLS client checks nginx serves the new certificate. Without the servers (or with
//!    `--in-process`) it renews on the in-process CA instead, and says why: `dns-zonefile`
//!    publishes the challenge in a zone file, `ca-acme-lite` posts the CSR to a CA on
//!    127.0.0.1, the chain is deployed and a reload script runs. Under `CI=true` a missing
//!    server is an error.
//! 3. **Containment drill.** Hostile plugins loaded on purpose, under narrow grants: every
//!    attempt outside the grant is denied and nothing outside it changes.
//!
//! Every step prints the plugin, its grant and the calls it made (allowed, denied); the table at
//! the end has them per plugin. It exits non-zero if anything is not as expected, so CI runs it.
//! Everything it writes is inside one temporary state directory (the servers' own files are in
//! theirs):
//!
//! ```text
//! <state>/keystore/device.key   the device key (agent only; not under the plugins' root)
//! <state>/root/                 the plugins' `/`: certs/, scratch/, secrets/tsig/ or zones/
//! <state>/service/              nginx's key file (written by the agent), or the reload log
//! <state>/bin/reload-service    the in-process reload program (outside the root)
//! ```

mod backends;
mod ca;
mod drill;
mod keystore;
mod policy;
mod renewal;
mod servers;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pluginhost::proto::Response;
use pluginhost::{
    Backends, CallCounts, Capability, CommandRunner, ConformanceReport, DialTarget, DirFilesystem,
    Host, HostConfig, Pin, Plugin,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use backends::{MappedPrograms, RoutedNetwork};
use ca::DemoCa;
use keystore::KeyStore;
use policy::{PluginPolicy, Policy, Renewal, Role};
use renewal::{Outcome, Paths, Team};
use servers::Servers;

/// The policy file shipped with the example.
const DEFAULT_POLICY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/edge_agent/policy.toml"
);
/// The label plugins see instead of the device key.
const KEY_REF: &str = "device-key-1";
/// The file the chain is deployed as (inside `deploy_dir`).
const CHAIN_FILE: &str = "edge-01.example.com.pem";
const USAGE: &str = "usage: edge_agent [--policy FILE] [--keep-state] [--in-process]";

fn main() -> ExitCode {
    let mut keep_state = false;
    let mut in_process = false;
    let mut policy_path = PathBuf::from(DEFAULT_POLICY);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keep-state" => keep_state = true,
            "--in-process" => in_process = true,
            "--policy" => match args.next() {
                Some(path) => policy_path = PathBuf::from(path),
                None => return usage("--policy needs a file"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                println!(
                    "  --in-process  renew on the in-process CA even when pebble, knotd and nginx are installed"
                );
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other}")),
        }
    }
    let started = Instant::now();
    let renewal = match choose_renewal(in_process) {
        Ok(renewal) => renewal,
        Err(e) => {
            eprintln!("edge_agent: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&policy_path, keep_state, &renewal) {
        Ok(checks) if checks.failed.is_empty() => {
            println!(
                "\nall {} checks passed in {:.1} s (renewal {})",
                checks.passed,
                started.elapsed().as_secs_f64(),
                renewal.described()
            );
            ExitCode::SUCCESS
        }
        Ok(checks) => {
            println!(
                "\n{} of {} checks FAILED (renewal {}):",
                checks.failed.len(),
                checks.total(),
                renewal.described()
            );
            for failure in &checks.failed {
                println!("  - {failure}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("edge_agent: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("edge_agent: {problem}\n{USAGE}");
    ExitCode::from(2)
}

/// Which renewal runs, and why.
struct Choice {
    renewal: Renewal,
    /// Why the in-process CA (empty for the servers).
    why: String,
}

impl Choice {
    fn described(&self) -> String {
        match self.renewal {
            Renewal::Servers => "against pebble, knotd and nginx".into(),
            Renewal::InProcess => format!("on the in-process CA: {}", self.why),
        }
    }
}

/// The servers when they are all installed or `--in-process` was not given; otherwise the
/// in-process CA, except under CI, where a missing server is an error.
fn choose_renewal(in_process: bool) -> Result<Choice, String> {
    if in_process {
        return Ok(Choice {
            renewal: Renewal::InProcess,
            why: "--in-process was given".into(),
        });
    }
    let missing = servers::missing();
    if missing.is_empty() {
        return Ok(Choice {
            renewal: Renewal::Servers,
            why: String::new(),
        });
    }
    let names: Vec<String> = missing
        .iter()
        .map(|(name, package, what)| format!("{name} ({what}, Debian {package})"))
        .collect();
    let names = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    };
    let verb = if missing.len() == 1 { "is" } else { "are" };
    if pluginhost_testbed::in_ci() {
        return Err(format!(
            "CI=true, but {names} {verb} not installed: .ci/run installs them \
             (--in-process renews without them)"
        ));
    }
    Ok(Choice {
        renewal: Renewal::InProcess,
        why: format!("{names} {verb} not installed"),
    })
}

/// Every expectation the demo checks; any failure makes the exit status non-zero.
#[derive(Default)]
struct Checks {
    passed: usize,
    failed: Vec<String>,
}

impl Checks {
    fn check(&mut self, ok: bool, what: impl Into<String>) -> bool {
        if ok {
            self.passed += 1;
        } else {
            self.failed.push(what.into());
        }
        ok
    }

    fn total(&self) -> usize {
        self.passed + self.failed.len()
    }
}

/// One plugin of the final table.
struct Row {
    file: String,
    role: &'static str,
    admission: &'static str,
    /// The grant it ran under, as the operator wrote it.
    grant: String,
    fuel: u64,
    /// Allowed and denied calls per capability, in `Capability::ALL` order.
    calls: [(u64, u64); 4],
    outcome: String,
}

impl Row {
    fn from_counts(counts: &CallCounts) -> [(u64, u64); 4] {
        Capability::ALL.map(|c| (counts.allowed(c), counts.denied(c)))
    }

    fn from_report(report: &ConformanceReport) -> [(u64, u64); 4] {
        Capability::ALL.map(|c| {
            let denied = report
                .attempted
                .iter()
                .filter(|a| a.capability == c)
                .map(|a| a.count)
                .sum();
            (0, denied)
        })
    }
}

/// A plugin that passed admission, with its own host (its fuel budget) and its grant.
struct Admitted {
    file: String,
    role: Role,
    host: Host,
    plugin: Plugin,
    /// The grant as the operator wrote it.
    grant: String,
    /// The same with where each pinned name and mapped program really goes.
    grant_routes: String,
    /// What admission said about it, in full.
    outcome: String,
    /// What it did, in a few words, for the table.
    summary: String,
    /// Whether a renewal step has named the plugin and its grant yet.
    introduced: bool,
    /// The calls of the last invocation: allowed and denied per capability.
    last_calls: [(u64, u64); 4],
}

impl Admitted {
    /// Sends one request and returns the plugin's response, or why there is none.
    ///
    /// A failure of any kind (a failure response, a non-zero status, a trap, fuel) is an error
    /// and is what the plugin's row then says: a plugin that failed is never shown as fine.
    fn call<Req: Serialize, Resp: DeserializeOwned>(
        &mut self,
        request: &Req,
    ) -> Result<Resp, String> {
        let before = Row::from_counts(&self.plugin.stats().calls);
        let result =
            match self
                .host
                .invoke_typed::<Req, Response<Resp>>(&mut self.plugin, "run", request)
            {
                Ok(Ok(response)) => Ok(response),
                Ok(Err(failure)) => Err(format!(
                    "{} failed: {}: {}",
                    self.file,
                    failure.code,
                    printable(&failure.message)
                )),
                Err(e) => Err(format!("{} failed: {e} [{}]", self.file, e.kind())),
            };
        let after = Row::from_counts(&self.plugin.stats().calls);
        for (i, last) in self.last_calls.iter_mut().enumerate() {
            *last = (
                after[i].0.saturating_sub(before[i].0),
                after[i].1.saturating_sub(before[i].1),
            );
        }
        let denied: Vec<String> = self
            .plugin
            .denials()
            .targets()
            .map(|d| printable(&d.to_string()))
            .collect();
        if let Err(e) = &result {
            self.step(e);
            self.summary = if denied.is_empty() {
                "FAILED".to_string()
            } else {
                format!("FAILED: denied {}", denied.join(", "))
            };
            for line in self.plugin.logs().iter() {
                println!(
                    "            [{}] {}: {}",
                    self.plugin.name(),
                    line.level,
                    printable(line.message)
                );
            }
        }
        result
    }

    /// Prints what the last invocation did and the calls it made; the first time, after a line
    /// naming the plugin and its grant.
    fn step(&mut self, what: &str) {
        let role = self.role.as_str();
        if self.introduced {
            println!("  {role:<7} {what} ({})", self.last_calls_text());
        } else {
            println!("  {role:<7} {} under {}", self.file, self.grant_routes);
            println!("          {what} ({})", self.last_calls_text());
            self.introduced = true;
        }
    }

    /// `calls allowed: net.dial 4, fs.read 1; denied: 0`.
    fn last_calls_text(&self) -> String {
        let list = |pick: fn(&(u64, u64)) -> u64| {
            let parts: Vec<String> = Capability::ALL
                .iter()
                .zip(&self.last_calls)
                .filter(|(_, n)| pick(n) > 0)
                .map(|(c, n)| format!("{c} {}", pick(n)))
                .collect();
            if parts.is_empty() {
                "0".to_string()
            } else {
                parts.join(", ")
            }
        };
        format!(
            "calls allowed: {}; denied: {}",
            list(|n| n.0),
            list(|n| n.1)
        )
    }
}

/// Text written by a plugin, made safe for a terminal.
fn printable(text: &str) -> String {
    text.chars()
        .take(300)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Whether this demo expects the bundled module to pass admission.
fn expected_admission(file: &str) -> bool {
    !file.starts_with("hostile_")
}

/// What the renewal runs against.
enum Setup {
    Servers(Box<Servers>),
    InProcess(DemoCa),
}

fn run(policy_path: &Path, keep_state: bool, choice: &Choice) -> Result<Checks, String> {
    let mut checks = Checks::default();
    let mut rows: Vec<Row> = Vec::new();

    // ----- Setup: state directory, policy, key store, servers or CA, back-ends ----------------
    let state_dir = tempfile::Builder::new()
        .prefix("edge-agent.")
        .tempdir()
        .map_err(|e| format!("creating the state directory: {e}"))?;
    let state = state_dir.path().to_path_buf();
    let policy = Policy::load(policy_path)?;
    let agent = &policy.agent;
    let root = state.join("root");
    for dir in ["certs", "scratch"] {
        mkdir(&root.join(dir))?;
    }
    mkdir(&state.join("service"))?;
    let keystore = KeyStore::create(&state.join("keystore"), KEY_REF)?;
    let service_key = state
        .join("service")
        .join(format!("{}.key", agent.identity));
    let chain_path = root
        .join(agent.deploy_dir.trim_start_matches('/'))
        .join(CHAIN_FILE);

    // The operator's pins, then those of the servers (or CA) started here: each name and
    // granted port goes to the loopback port its server got.
    let mut pins = agent.pins()?;
    let mut tls_roots = match &agent.tls_roots {
        Some(path) => std::fs::read(path).map_err(|e| format!("tls_roots {path}: {e}"))?,
        None => Vec::new(),
    };
    let mut programs_map: Vec<(String, PathBuf)> = Vec::new();
    let setup = match choice.renewal {
        Renewal::Servers => {
            let tsig_key = root.join(policy.servers.tsig_key_file.trim_start_matches('/'));
            if let Some(dir) = tsig_key.parent() {
                mkdir(dir)?;
            }
            let servers = Servers::start(
                &agent.zone,
                &agent.identity,
                &tsig_key,
                &chain_path,
                &service_key,
            )?;
            let acme = acme_target(&policy.servers.acme_directory)?;
            pins.push(pin(&acme, servers.pebble.port)?);
            let dns = DialTarget::parse(&policy.servers.dns_server)
                .map_err(|e| format!("dns_server {}: {e}", policy.servers.dns_server))?;
            pins.push(pin(&dns, servers.knot.port())?);
            tls_roots.extend_from_slice(servers.pebble.tls_ca_pem().as_bytes());
            programs_map.push((
                policy.servers.reload_program.clone(),
                servers.nginx.program().to_path_buf(),
            ));
            Setup::Servers(Box::new(servers))
        }
        Renewal::InProcess => {
            mkdir(&root.join("zones"))?;
            let zone_file = root.join("zones").join(format!("{}.zone", agent.zone));
            write(
                &zone_file,
                &format!(
                    "$ORIGIN {zone}.\n$TTL 3600\n\
                     @        IN SOA ns1.{zone}. hostmaster.{zone}. 2026010101 7200 900 1209600 300\n\
                     @        IN NS  ns1.{zone}.\n\
                     ns1      IN A   192.0.2.53\n\
                     edge-01  IN A   192.0.2.10\n",
                    zone = agent.zone
                ),
            )?;
            let identities = vec![agent.identity.clone()];
            let ca = DemoCa::start("Edge Demo CA", &agent.zone, zone_file, &identities)?;
            let target = DialTarget::parse(&policy.in_process.ca_endpoint)
                .map_err(|e| format!("ca_endpoint {}: {e}", policy.in_process.ca_endpoint))?;
            pins.push(pin(&target, ca.addr().port())?);
            programs_map.push((
                policy.in_process.reload_program.clone(),
                install_reload_program(&state)?,
            ));
            Setup::InProcess(ca)
        }
    };

    // The back-ends every plugin's grant is checked against before a request reaches them.
    let filesystem = Arc::new(
        DirFilesystem::open(&root).map_err(|e| format!("opening {}: {e}", root.display()))?,
    );
    let network = Arc::new(RoutedNetwork::with_pins(
        &pins,
        (!tls_roots.is_empty()).then_some(tls_roots.as_slice()),
    )?);
    let programs = Arc::new(MappedPrograms::new(
        programs_map.clone(),
        CommandRunner::new()
            .deadline(Duration::from_secs(5))
            .refuse_under(&root),
    ));
    let backends = Backends::unavailable()
        .with_filesystem(filesystem)
        .with_network(network.clone())
        .with_process(programs.clone());
    let routes = Routes {
        pins: &pins,
        programs: &programs_map,
    };

    println!("pluginhost edge agent");
    println!(
        "  state directory  {} ({})",
        state.display(),
        if keep_state {
            "kept"
        } else {
            "removed on exit; --keep-state keeps it"
        }
    );
    println!(
        "  policy           {} ({} plugins)",
        shown(policy_path),
        policy.plugins.len()
    );
    println!(
        "  device key       {} ({}, key_ref \"{}\"): outside the plugins' root {}",
        rel(&state, keystore.path()),
        keystore.algorithm(),
        keystore.key_ref(),
        rel(&state, &root)
    );
    match &setup {
        Setup::Servers(servers) => {
            println!("  renewal          against real servers on loopback, started here (--in-process: without them)");
            println!(
                "  pebble           pid {}, ACME CA: {} pinned to 127.0.0.1:{}; validates dns-01 by asking knotd",
                servers.pebble.pid(),
                policy.servers.acme_directory,
                servers.pebble.port
            );
            println!(
                "  knotd            pid {}, primary for {} on 127.0.0.1:{}, reached by plugins as {}; TSIG key file {}",
                servers.knot.pid(),
                servers.knot.zone(),
                servers.knot.port(),
                policy.servers.dns_server,
                policy.servers.tsig_key_file
            );
            let factory = pluginhost_testbed::sha256_fingerprint(&servers.factory_leaf);
            println!(
                "  nginx            pid {}, TLS on 127.0.0.1:{}: chain {}, key {}",
                servers.nginx.pid(),
                servers.nginx.port(),
                rel(&state, &chain_path),
                rel(&state, &service_key)
            );
            let served = servers.served(&agent.identity, &servers.factory_ca.cert_der());
            let ok = checks.check(
                served
                    .as_deref()
                    .is_ok_and(|der| der == servers.factory_leaf),
                format!("nginx serves the factory certificate at start: {served:?}"),
            );
            println!(
                "                   serves {} factory certificate (SHA-256 {})",
                if ok { "the" } else { "NOT the" },
                renewal::short(&factory)
            );
        }
        Setup::InProcess(ca) => {
            println!("  renewal          on the in-process CA: {}", choice.why);
            if choice.why.contains("not installed") {
                println!(
                    "                   (`apt-get install {}` for the renewal against pebble, knotd and nginx)",
                    servers::PROGRAMS
                        .iter()
                        .map(|(_, package, _)| *package)
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
            println!(
                "  demo CA          {} \"Edge Demo CA\", reached by plugins as {}",
                ca.addr(),
                policy.in_process.ca_endpoint
            );
        }
    }

    // ----- 1. Admission ------------------------------------------------------------------------
    println!(
        "\n1. Admission: conformance gate (empty grant, {} fuel), manifest vs policy, load",
        group(agent.gate_fuel)
    );
    let gate = Host::new(HostConfig::default().with_fuel(agent.gate_fuel));
    let mut admitted: Vec<Admitted> = Vec::new();
    let mut elsewhere: Vec<&str> = Vec::new();
    for entry in &policy.plugins {
        if !entry.serves(choice.renewal) {
            elsewhere.push(&entry.file);
            continue;
        }
        let (decision, row) = admit(&gate, entry, choice.renewal, agent.fuel, &backends, &routes);
        let expected = expected_admission(&entry.file);
        let (verdict, reason) = match &decision {
            Ok(a) => ("admitted", a.outcome.clone()),
            Err(reason) => ("refused", reason.clone()),
        };
        println!("  {:<30} {:<8} {reason}", entry.file, verdict);
        checks.check(
            decision.is_ok() == expected,
            format!(
                "{} was {verdict}, expected {}",
                entry.file,
                if expected { "admitted" } else { "refused" }
            ),
        );
        match decision {
            Ok(a) => admitted.push(a),
            Err(_) => rows.push(row),
        }
    }
    if !elsewhere.is_empty() {
        let other = match choice.renewal {
            Renewal::Servers => Renewal::InProcess,
            Renewal::InProcess => Renewal::Servers,
        };
        println!(
            "  (not run: {}, for the {} renewal)",
            elsewhere.join(", "),
            other.as_str()
        );
    }

    // ----- 2. Renewal --------------------------------------------------------------------------
    let paths = Paths {
        state: &state,
        root: &root,
        key: &service_key,
    };
    let renewal = match &setup {
        Setup::Servers(servers) => {
            println!(
                "\n2. Renewal of {}: ACME order from pebble, dns-01 in knotd, deployed to nginx",
                agent.identity
            );
            Team::pick(&mut admitted).and_then(|team| {
                renewal::with_servers(&policy, &keystore, servers, team, &paths, &mut checks)
            })
        }
        Setup::InProcess(ca) => {
            println!(
                "\n2. Renewal of {}: in-process CA, zone file, reload script",
                agent.identity
            );
            Team::pick(&mut admitted).and_then(|team| {
                renewal::in_process(&policy, &keystore, ca, team, &paths, &mut checks)
            })
        }
    };
    if let Err(e) = &renewal {
        checks.check(false, format!("renewal: {e}"));
        println!("  renewal stopped: {e}");
    }
    let dialled = network.dialled();
    let expected_targets: Vec<String> = match &setup {
        Setup::Servers(_) => vec![
            format!("{} (TLS)", acme_target(&policy.servers.acme_directory)?),
            policy.servers.dns_server.clone(),
        ],
        Setup::InProcess(ca) => {
            let (issued, refused) = ca.counts();
            checks.check(
                issued == 1 && refused == 0,
                format!("the CA issued {issued} and refused {refused} requests, expected 1 and 0"),
            );
            checks.check(
                network.dials() == 1,
                format!("{} dials reached the network, expected 1", network.dials()),
            );
            vec![policy.in_process.ca_endpoint.clone()]
        }
    };
    checks.check(
        expected_targets
            .iter()
            .all(|t| dialled.iter().any(|(d, _)| d == t))
            && dialled.iter().all(|(d, _)| expected_targets.contains(d)),
        format!("the network was dialled at {dialled:?}, expected exactly {expected_targets:?}"),
    );
    checks.check(
        programs.runs() == 1,
        format!("{} programs ran, expected 1", programs.runs()),
    );
    let refused_rows = std::mem::take(&mut rows);
    for a in &admitted {
        let stats = a.plugin.stats();
        checks.check(
            stats.calls.total_denied() == 0,
            format!("{} had {} calls denied", a.file, stats.calls.total_denied()),
        );
        rows.push(Row {
            file: a.file.clone(),
            role: a.role.as_str(),
            admission: "admitted",
            grant: a.grant.clone(),
            fuel: stats.fuel_used,
            calls: Row::from_counts(&stats.calls),
            outcome: a.summary.clone(),
        });
    }
    rows.extend(refused_rows);

    // ----- 3. Containment drill ----------------------------------------------------------------
    println!("\n3. Containment drill: hostile plugins loaded on purpose under narrow grants");
    drill::drill(
        &state,
        &keystore,
        &backends,
        &network,
        &programs,
        &mut rows,
        &mut checks,
    )?;

    // ----- Summary -----------------------------------------------------------------------------
    println!(
        "\nPlugins: calls per capability, allowed/denied (net.dial: dials, sends and receives); \
         each plugin's grant beneath it"
    );
    print_table(&rows);

    if let Ok(outcome) = &renewal {
        print_outcome(outcome, &dialled);
    }

    // Nothing was written outside the state directory (and the servers' own temporary
    // directories): everything above used paths under it.
    if keep_state {
        let kept = state_dir.keep();
        println!("\nstate kept in {}", kept.display());
    }
    Ok(checks)
}

fn print_outcome(outcome: &Outcome, dialled: &[(String, u64)]) {
    println!("\nRenewal result");
    for (label, value) in outcome {
        println!("  {label:<10} {value}");
    }
    let dials: Vec<String> = dialled
        .iter()
        .map(|(target, n)| format!("{target} x{n}"))
        .collect();
    println!("  {:<10} {}", "dials", dials.join(", "));
}

/// The `host:port` of an `https://` URL (port 443 when it names none).
fn acme_target(url: &str) -> Result<DialTarget, String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("acme_directory {url}: not an https:// URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let with_port = if authority.rsplit_once(':').is_some() {
        authority.to_string()
    } else {
        format!("{authority}:443")
    };
    DialTarget::parse(&with_port).map_err(|e| format!("acme_directory {url}: {e}"))
}

/// A pin of `target` to `127.0.0.1:port`.
fn pin(target: &DialTarget, port: u16) -> Result<Pin, String> {
    Pin::new(
        target.clone(),
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
    )
    .map_err(|e| format!("pinning {target}: {e}"))
}

/// Where pinned names and mapped programs really go, for printing grants.
struct Routes<'a> {
    pins: &'a [Pin],
    programs: &'a [(String, PathBuf)],
}

impl Routes<'_> {
    /// `specs` joined, each pinned name with its address and each mapped program with the real
    /// one where it differs.
    fn show(&self, specs: &[String]) -> String {
        if specs.is_empty() {
            return "no grant".into();
        }
        let shown: Vec<String> = specs
            .iter()
            .map(|spec| {
                if let Some(target) = spec.strip_prefix("net.dial=") {
                    let pinned = DialTarget::parse(target).ok().and_then(|t| {
                        self.pins
                            .iter()
                            .rev()
                            .find(|p| *p.target() == t)
                            .map(|p| p.address())
                    });
                    if let Some(address) = pinned {
                        return format!("{spec} (pinned to {address})");
                    }
                } else if let Some(program) = spec.strip_prefix("process.exec=") {
                    let real = self.programs.iter().find(|(guest, _)| guest == program);
                    if let Some((_, real)) = real {
                        if real != Path::new(program) {
                            return format!("{spec} (runs {})", real.display());
                        }
                    }
                }
                spec.clone()
            })
            .collect();
        shown.join(", ")
    }
}

/// Runs one candidate through admission.
fn admit(
    gate: &Host,
    entry: &PluginPolicy,
    renewal: Renewal,
    default_fuel: u64,
    backends: &Backends,
    routes: &Routes<'_>,
) -> (Result<Admitted, String>, Row) {
    let mut row = Row {
        file: entry.file.clone(),
        role: entry.role.as_str(),
        admission: "refused",
        grant: "none, refused (its calls are the gate's, under an empty grant)".into(),
        fuel: 0,
        calls: [(0, 0); 4],
        outcome: String::new(),
    };
    let Some(wasm) = pluginhost_bundled::get(&entry.file) else {
        row.outcome = "not a bundled plugin".into();
        return (Err(row.outcome.clone()), row);
    };
    let report = gate.conformance(wasm);
    row.fuel = report.fuel_used;
    row.calls = Row::from_report(&report);
    let note = entry
        .note
        .as_deref()
        .map(|n| format!("{n}: "))
        .unwrap_or_default();
    if !report.ok() {
        let reasons: Vec<String> = report
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.name, c.reason))
            .collect();
        let mut why = Vec::new();
        if report.privileged_operations() > 0 {
            why.push(format!(
                "attempted {} privileged operations",
                report.privileged_operations()
            ));
        }
        if report
            .checks
            .iter()
            .any(|c| c.name == "manifest" && !c.passed)
        {
            why.push("imports exceed its manifest".to_string());
        }
        match &report.trap {
            Some(_) if report.fuel_exhausted => why.push("never finished (out of fuel)".into()),
            Some(_) => why.push("trapped".into()),
            None => {}
        }
        row.outcome = format!("{note}gate: {}", why.join(", "));
        return (Err(reasons.join("; ")), row);
    }
    let Some(manifest) = report.manifest.as_ref() else {
        row.outcome = "refused: no manifest".into();
        return (
            Err("no manifest: the agent admits only plugins that declare one".into()),
            row,
        );
    };
    let hit = report.limits_hit();
    if !hit.is_empty() {
        // The gate admits a plugin that merely reached a limit; this agent does not.
        let names: Vec<&str> = hit.iter().map(|h| h.name()).collect();
        row.outcome = format!("{note}gate: hit the {} limit", names.join(", "));
        let findings: Vec<&String> = report
            .findings
            .iter()
            .filter(|f| f.starts_with("hit the"))
            .collect();
        return (
            Err(format!(
                "hit a limit under the gate: {}",
                findings
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            row,
        );
    }
    // A plugin that declares another message pair than the one its role is sent would only
    // answer with a decoding failure (or worse, misread a request of the same shape).
    if let (Some(declared), Some(sent)) = (manifest.protocol, entry.role.protocol(renewal)) {
        if declared != sent {
            row.outcome = format!("refused: speaks {declared}, role needs {sent}");
            return (
                Err(format!(
                    "its manifest declares protocol {declared}; the {} role is sent {sent} \
                     ({})",
                    entry.role.as_str(),
                    sent.request_type()
                )),
                row,
            );
        }
    }
    let grant = match entry.grant() {
        Ok(grant) => grant,
        Err(e) => {
            row.outcome = "refused: bad grant".into();
            return (Err(e), row);
        }
    };
    let beyond: Vec<String> = grant
        .excess(manifest)
        .iter()
        .map(ToString::to_string)
        .collect();
    if !beyond.is_empty() {
        row.outcome = "refused: policy grants more than the manifest asks".into();
        return (
            Err(format!("the policy's grant {}", beyond.join("; "))),
            row,
        );
    }
    let fuel = entry.fuel.unwrap_or(default_fuel);
    let host = Host::with_backends(HostConfig::default().with_fuel(fuel), backends.clone());
    match host.load(wasm, grant) {
        Ok(plugin) => {
            let outcome = format!(
                "{} {} ({}, {}), gate {} fuel; granted {}",
                manifest.name,
                manifest.version,
                manifest.kind,
                manifest
                    .protocol
                    .map_or_else(|| "no protocol".to_string(), |p| p.to_string()),
                group(report.fuel_used),
                if entry.grants.is_empty() {
                    "nothing".to_string()
                } else {
                    entry.grants.join(", ")
                }
            );
            (
                Ok(Admitted {
                    file: entry.file.clone(),
                    role: entry.role,
                    host,
                    plugin,
                    grant: if entry.grants.is_empty() {
                        "none".into()
                    } else {
                        entry.grants.join(", ")
                    },
                    grant_routes: routes.show(&entry.grants),
                    outcome,
                    summary: "admitted; not used".into(),
                    introduced: false,
                    last_calls: [(0, 0); 4],
                }),
                row,
            )
        }
        Err(e) => {
            row.outcome = "refused: does not load under its grant".into();
            (
                Err(format!("does not load under the policy's grant: {e}")),
                row,
            )
        }
    }
}

/// Writes the reload program: a shell script outside the plugins' root that records each
/// reload in `<state>/service/reloads.log` (a stand-in for `systemctl reload` and the like).
fn install_reload_program(state: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    mkdir(&state.join("bin"))?;
    mkdir(&state.join("service"))?;
    let log = state.join("service/reloads.log");
    let log = log.to_str().ok_or("the state directory is not UTF-8")?;
    if log.contains('\'') {
        return Err("the state directory's path contains a quote".into());
    }
    let program = state.join("bin/reload-service");
    write(
        &program,
        &format!(
            "#!/bin/sh\n\
             # The appliance's reload program (demo): records the reload and reports it.\n\
             echo \"reload $*\" >> '{log}'\n\
             echo \"edge-proxy reloaded ($*)\"\n"
        ),
    )?;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", program.display()))?;
    Ok(program)
}

fn print_table(rows: &[Row]) {
    let headers = [
        "plugin",
        "role",
        "admission",
        "fuel used",
        "fs.read",
        "fs.write",
        "net.dial",
        "process.exec",
        "outcome",
    ];
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            let cap = |i: usize| {
                let (a, d) = r.calls[i];
                if a == 0 && d == 0 {
                    "-".to_string()
                } else {
                    format!("{a}/{d}")
                }
            };
            [
                r.file.clone(),
                r.role.to_string(),
                r.admission.to_string(),
                group(r.fuel),
                cap(0),
                cap(1),
                cap(2),
                cap(3),
                r.outcome.clone(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::from(" ");
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let right = (3..8).contains(&i);
            if i == 8 {
                let _ = write!(out, " {cell}");
            } else if right {
                let _ = write!(out, " {cell:>w$}");
            } else {
                let _ = write!(out, " {cell:<w$}");
            }
        }
        println!("{}", out.trim_end());
    };
    line(&headers.map(String::from));
    for (row, cells) in rows.iter().zip(&cells) {
        line(cells);
        println!("      grant: {}", row.grant);
    }
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `path` relative to `base` when it lies under it, for shorter lines.
fn rel(base: &Path, path: &Path) -> String {
    path.strip_prefix(base)
        .map(|p| format!("<state>/{}", p.display()))
        .unwrap_or_else(|_| path.display().to_string())
}

/// The policy path as given, relative to the repository when inside it.
fn shown(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

fn mkdir(path: &Path) -> Result<(), String> {
    std::fs::create_dir_all(path).map_err(|e| format!("creating {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}
