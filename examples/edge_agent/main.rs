//! `edge_agent`: a certificate-lifecycle appliance agent built on `pluginhost`.
//!
//! ```sh
//! cargo run --release --example edge_agent                 # state in a temporary directory
//! cargo run --release --example edge_agent -- --keep-state # ...kept for a look afterwards
//! cargo run --release --example edge_agent -- --policy my-policy.toml
//! ```
//!
//! What it does, as an appliance would:
//!
//! 1. **Admission.** Reads the operator's policy (`policy.toml` beside this file): which bundled
//!    plugin plays which role, with which grants and fuel. Each candidate goes through the
//!    conformance gate (empty grant; it must run cleanly and attempt nothing privileged); its
//!    manifest must ask for at least what the policy grants; then it is loaded under exactly the
//!    policy's grant. Refused plugins never run.
//! 2. **Renewal.** The agent's key store makes a CSR for the device identity. The DNS plugin
//!    publishes the CA's `dns-01` challenge in the zone file; the CA plugin sends the CSR to a
//!    local CA (started here on 127.0.0.1) and brings back the chain, which the agent checks
//!    against its own key; the file-deploy connector puts the chain under `/certs`; the
//!    service-reload connector runs the reload program.
//! 3. **Containment drill.** Hostile plugins loaded on purpose, under narrow grants: every
//!    attempt outside the grant is denied and nothing outside it changes.
//!
//! It prints a table per plugin and the renewal's result, and exits non-zero if anything is not
//! as expected, so CI runs it. Everything it writes is inside one temporary state directory:
//!
//! ```text
//! <state>/keystore/device.key   the device key (agent only; not under the plugins' root)
//! <state>/root/                 the plugins' `/`: certs/, zones/, scratch/
//! <state>/bin/reload-service    the reload program (outside the root: plugins cannot write it)
//! <state>/service/reloads.log   what the reload program did
//! ```

mod backends;
mod ca;
mod keystore;
mod policy;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pluginhost::proto::ca::{IssueRequest, IssueResponse};
use pluginhost::proto::deploy::{DeployRequest, DeployResponse};
use pluginhost::proto::dns::{PublishTxtRequest, PublishTxtResponse};
use pluginhost::proto::reload::{ReloadRequest, ReloadResponse};
use pluginhost::proto::Response;
use pluginhost::{
    Backends, CallCounts, Capability, CommandRunner, ConformanceReport, DialTarget, DirFilesystem,
    Grant, Host, HostConfig, HostName, LimitHit, LoadError, Plugin,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use backends::{MappedPrograms, RoutedNetwork};
use ca::DemoCa;
use keystore::KeyStore;
use policy::{PluginPolicy, Policy, Role};

/// The policy file shipped with the example.
const DEFAULT_POLICY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/edge_agent/policy.toml"
);
/// The label plugins see instead of the device key.
const KEY_REF: &str = "device-key-1";
/// The file the chain is deployed as (inside `deploy_dir`).
const CHAIN_FILE: &str = "edge-01.example.com.pem";

fn main() -> ExitCode {
    let mut keep_state = false;
    let mut policy_path = PathBuf::from(DEFAULT_POLICY);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keep-state" => keep_state = true,
            "--policy" => match args.next() {
                Some(path) => policy_path = PathBuf::from(path),
                None => return usage("--policy needs a file"),
            },
            "-h" | "--help" => {
                println!("usage: edge_agent [--policy FILE] [--keep-state]");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other}")),
        }
    }
    let started = Instant::now();
    match run(&policy_path, keep_state) {
        Ok(checks) if checks.failed.is_empty() => {
            println!(
                "\nall {} checks passed in {:.1} s",
                checks.passed,
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Ok(checks) => {
            println!(
                "\n{} of {} checks FAILED:",
                checks.failed.len(),
                checks.total()
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
    eprintln!("edge_agent: {problem}\nusage: edge_agent [--policy FILE] [--keep-state]");
    ExitCode::from(2)
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

/// One line of the final table.
struct Row {
    file: String,
    role: &'static str,
    admission: &'static str,
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
    /// What admission or the renewal said about it, in full.
    outcome: String,
    /// The same in a few words, for the table.
    summary: String,
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
        let denied: Vec<String> = self
            .plugin
            .denials()
            .targets()
            .map(|d| printable(&d.to_string()))
            .collect();
        if let Err(e) = &result {
            self.outcome = e.clone();
            self.summary = if denied.is_empty() {
                "FAILED".to_string()
            } else {
                format!("FAILED: denied {}", denied.join(", "))
            };
            for line in self.plugin.logs().iter() {
                println!(
                    "           [{}] {}: {}",
                    self.plugin.name(),
                    line.level,
                    printable(line.message)
                );
            }
        }
        result
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

fn run(policy_path: &Path, keep_state: bool) -> Result<Checks, String> {
    let mut checks = Checks::default();
    let mut rows: Vec<Row> = Vec::new();

    // ----- Setup: state directory, policy, key store, CA, back-ends ---------------------------
    let state_dir = tempfile::Builder::new()
        .prefix("edge-agent.")
        .tempdir()
        .map_err(|e| format!("creating the state directory: {e}"))?;
    let state = state_dir.path().to_path_buf();
    let policy = Policy::load(policy_path)?;
    let agent = &policy.agent;

    let root = state.join("root");
    for dir in ["certs", "zones", "scratch"] {
        mkdir(&root.join(dir))?;
    }
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
    let reload_program = install_reload_program(&state)?;
    let keystore = KeyStore::create(&state.join("keystore"), KEY_REF)?;
    let identities = vec![agent.identity.clone()];
    let ca = DemoCa::start("Edge Demo CA", &agent.zone, zone_file.clone(), &identities)?;
    let ca_target = DialTarget::parse(&agent.ca_endpoint)
        .map_err(|e| format!("ca_endpoint {}: {e}", agent.ca_endpoint))?;
    let HostName::Dns(ca_name) = &ca_target.host else {
        return Err("ca_endpoint must be a DNS name in this demo".into());
    };

    // The back-ends every plugin's grant is checked against before a request reaches them.
    let filesystem = Arc::new(
        DirFilesystem::open(&root).map_err(|e| format!("opening {}: {e}", root.display()))?,
    );
    let network = Arc::new(RoutedNetwork::loopback_ca(
        ca_name,
        ca_target.port,
        ca.addr().port(),
    )?);
    let programs = Arc::new(MappedPrograms::new(
        vec![(agent.reload_program.clone(), reload_program.clone())],
        CommandRunner::new()
            .deadline(Duration::from_secs(5))
            .refuse_under(&root),
    ));
    let backends = Backends::unavailable()
        .with_filesystem(filesystem)
        .with_network(network.clone())
        .with_process(programs.clone());

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
    println!(
        "  demo CA          {} \"Edge Demo CA\", reached by plugins as {}",
        ca.addr(),
        agent.ca_endpoint
    );

    // ----- 1. Admission ------------------------------------------------------------------------
    println!(
        "\n1. Admission: conformance gate (empty grant, {} fuel), manifest vs policy, load",
        group(agent.gate_fuel)
    );
    let gate = Host::new(HostConfig::default().with_fuel(agent.gate_fuel));
    let mut admitted: Vec<Admitted> = Vec::new();
    for entry in &policy.plugins {
        let (decision, row) = admit(&gate, entry, agent.fuel, &backends);
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

    // ----- 2. Renewal --------------------------------------------------------------------------
    println!("\n2. Renewal of {}", agent.identity);
    let renewal = renew(
        &policy,
        &keystore,
        &ca,
        &ca_target,
        &mut admitted,
        &root,
        &state,
        &mut checks,
    );
    match &renewal {
        Ok(_) => {}
        Err(e) => {
            checks.check(false, format!("renewal: {e}"));
            println!("  renewal stopped: {e}");
        }
    }
    let (issued, refused) = ca.counts();
    checks.check(
        issued == 1 && refused == 0,
        format!("the CA issued {issued} and refused {refused} requests, expected 1 and 0"),
    );
    checks.check(
        network.dials() == 1,
        format!("{} dials reached the network, expected 1", network.dials()),
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
            fuel: stats.fuel_used,
            calls: Row::from_counts(&stats.calls),
            outcome: a.summary.clone(),
        });
    }
    rows.extend(refused_rows);

    // ----- 3. Containment drill ----------------------------------------------------------------
    println!("\n3. Containment drill: hostile plugins loaded on purpose under narrow grants");
    drill(
        &state,
        &keystore,
        &backends,
        &network,
        &programs,
        &mut rows,
        &mut checks,
    )?;

    // ----- Summary -----------------------------------------------------------------------------
    println!("\nPlugins (calls per capability: allowed/denied)");
    print_table(&rows);

    if let Ok(result) = &renewal {
        println!("\nRenewal result");
        for (label, value) in result {
            println!("  {label:<10} {value}");
        }
    }

    // Nothing was written outside the state directory: everything above used paths under it.
    if keep_state {
        let kept = state_dir.keep();
        println!("\nstate kept in {}", kept.display());
    }
    Ok(checks)
}

/// Runs one candidate through admission.
fn admit(
    gate: &Host,
    entry: &PluginPolicy,
    default_fuel: u64,
    backends: &Backends,
) -> (Result<Admitted, String>, Row) {
    let mut row = Row {
        file: entry.file.clone(),
        role: entry.role.as_str(),
        admission: "refused",
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
                "{} {} ({}), gate {} fuel; granted {}",
                manifest.name,
                manifest.version,
                manifest.kind,
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
                    outcome,
                    summary: "admitted; not used".into(),
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

/// The renewal; returns the result's lines for the summary.
#[allow(clippy::too_many_arguments)]
fn renew(
    policy: &Policy,
    keystore: &KeyStore,
    ca: &DemoCa,
    ca_target: &DialTarget,
    admitted: &mut [Admitted],
    root: &Path,
    state: &Path,
    checks: &mut Checks,
) -> Result<Vec<(&'static str, String)>, String> {
    let agent = &policy.agent;
    let index = |role: Role| {
        admitted
            .iter()
            .position(|a| a.role == role)
            .ok_or_else(|| format!("no admitted plugin has the role {}", role.as_str()))
    };
    let (dns, issuer, deployer, reloader) = (
        index(Role::Dns)?,
        index(Role::Ca)?,
        index(Role::Deploy)?,
        index(Role::Reload)?,
    );
    let mut result = Vec::new();

    // The key store makes the CSR; no plugin ever sees more than this PEM and `key_ref`.
    let csr_pem = keystore.csr(std::slice::from_ref(&agent.identity))?;
    println!(
        "  agent    CSR for {} signed with the device key ({} bytes of PEM)",
        agent.identity,
        csr_pem.len()
    );

    // dns-01: publish the CA's challenge token.
    let token = ca
        .challenge(&agent.identity)
        .ok_or("the CA has no challenge for the identity")?;
    let published: PublishTxtResponse = admitted[dns].call(&PublishTxtRequest {
        zone: agent.zone.clone(),
        fqdn: agent.identity.clone(),
        value: token.to_string(),
        ttl: 60,
    })?;
    let zone_path = root.join("zones").join(format!("{}.zone", agent.zone));
    let zone_text = std::fs::read_to_string(&zone_path).unwrap_or_default();
    checks.check(
        zone_text.matches(&published.record_line).count() == 1,
        "the challenge record is in the zone file once",
    );
    admitted[dns].outcome = format!("published {}", published.record_line);
    admitted[dns].summary = format!("published the dns-01 TXT record in {}", agent.zone);
    println!("  dns      {}", admitted[dns].outcome);
    result.push((
        "zone",
        format!("{}  ({})", published.record_line, rel(state, &zone_path)),
    ));

    // The CA plugin dials the CA and brings back the chain.
    let HostName::Dns(ca_host) = &ca_target.host else {
        return Err("ca_endpoint must be a DNS name".into());
    };
    let issued: IssueResponse = admitted[issuer].call(&IssueRequest {
        csr_pem,
        identifiers: vec![agent.identity.clone()],
        ca_host: ca_host.clone(),
        ca_port: ca_target.port,
    })?;
    let leaf = check_chain(&issued.chain_pem, keystore, &agent.identity, checks)?;
    admitted[issuer].outcome = format!(
        "issued a chain of {} certificates via {}",
        leaf.chain_len, agent.ca_endpoint
    );
    admitted[issuer].summary = format!("obtained the certificate ({} in chain)", leaf.chain_len);
    println!(
        "  ca       {}; leaf key = device key",
        admitted[issuer].outcome
    );
    result.push(("subject", leaf.subject.clone()));
    result.push(("names", leaf.names.join(", ")));
    result.push(("serial", leaf.serial.clone()));
    result.push(("not after", leaf.not_after.clone()));
    result.push(("issuer", leaf.issuer.clone()));

    // Deploy the chain (never the key: the connector gets `key_ref`).
    let deployed: DeployResponse = admitted[deployer].call(&DeployRequest {
        chain_pem: issued.chain_pem.clone(),
        key_ref: Some(keystore.key_ref().to_string()),
        target_dir: agent.deploy_dir.clone(),
        file_name: CHAIN_FILE.into(),
    })?;
    let host_path = root.join(deployed.path.trim_start_matches('/'));
    let on_disk = std::fs::read_to_string(&host_path).unwrap_or_default();
    checks.check(
        on_disk == issued.chain_pem,
        format!("{} holds the issued chain", host_path.display()),
    );
    let leftovers: Vec<String> = std::fs::read_dir(host_path.parent().unwrap_or(root))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default();
    checks.check(
        leftovers.is_empty(),
        format!("no temporary file is left: {leftovers:?}"),
    );
    admitted[deployer].outcome = format!(
        "deployed {} ({} bytes)",
        deployed.path, deployed.bytes_written
    );
    admitted[deployer].summary = format!("deployed {}", deployed.path);
    println!("  deploy   {}", admitted[deployer].outcome);
    result.push((
        "deployed",
        format!("{}  ({})", deployed.path, rel(state, &host_path)),
    ));

    // Reload the service.
    let mut args = agent.reload_args.clone();
    args.extend(["--cert".to_string(), deployed.path.clone()]);
    let reloaded: ReloadResponse = admitted[reloader].call(&ReloadRequest {
        program: agent.reload_program.clone(),
        args,
        max_stdout: 1024,
    })?;
    checks.check(
        reloaded.status == 0,
        format!("the reload program exited {}", reloaded.status),
    );
    let stdout = printable(reloaded.stdout.trim_end());
    admitted[reloader].outcome = format!(
        "ran {}: exit {}, \"{stdout}\"",
        agent.reload_program, reloaded.status
    );
    admitted[reloader].summary = format!("reload program exited {}", reloaded.status);
    println!("  reload   {}", admitted[reloader].outcome);
    let log = std::fs::read_to_string(state.join("service/reloads.log")).unwrap_or_default();
    checks.check(
        log.lines().count() == 1 && log.contains(&deployed.path),
        "the reload program recorded one reload of the deployed chain",
    );
    result.push(("reload", format!("exit {}, \"{stdout}\"", reloaded.status)));
    Ok(result)
}

/// What the agent checked in the issued leaf.
struct Leaf {
    chain_len: usize,
    subject: String,
    names: Vec<String>,
    serial: String,
    not_after: String,
    issuer: String,
}

/// Parses the chain and checks the leaf: our key, our name, a CA's signature, valid now.
fn check_chain(
    chain_pem: &str,
    keystore: &KeyStore,
    identity: &str,
    checks: &mut Checks,
) -> Result<Leaf, String> {
    use x509_parser::extensions::GeneralName;
    use x509_parser::pem::Pem;

    let blocks: Vec<Pem> = Pem::iter_from_buffer(chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the chain is not PEM: {e}"))?;
    let leaf_pem = blocks.first().ok_or("the chain is empty")?;
    let leaf = leaf_pem
        .parse_x509()
        .map_err(|e| format!("the leaf does not parse: {e}"))?;
    let issuer_cert = match blocks.get(1) {
        Some(pem) => Some(
            pem.parse_x509()
                .map_err(|e| format!("the issuer does not parse: {e}"))?,
        ),
        None => None,
    };
    checks.check(
        leaf.public_key().raw == keystore.public_key_der().as_slice(),
        "the certificate is for the device key",
    );
    let names: Vec<String> = leaf
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    checks.check(
        names.iter().any(|n| n == identity),
        format!("the certificate names {identity}"),
    );
    checks.check(leaf.validity().is_valid(), "the certificate is valid now");
    let signed = issuer_cert
        .as_ref()
        .is_some_and(|ca| leaf.verify_signature(Some(ca.public_key())).is_ok());
    checks.check(signed, "the leaf is signed by the chain's CA");
    Ok(Leaf {
        chain_len: blocks.len(),
        subject: leaf.subject().to_string(),
        names,
        serial: leaf.raw_serial_as_string(),
        not_after: leaf.validity().not_after.to_string(),
        issuer: leaf.issuer().to_string(),
    })
}

/// The containment drill: `hostile-exfiltrate`, `hostile-memhog` and `hostile-growloop`.
#[allow(clippy::too_many_arguments)]
fn drill(
    state: &Path,
    keystore: &KeyStore,
    backends: &Backends,
    network: &RoutedNetwork,
    programs: &MappedPrograms,
    rows: &mut Vec<Row>,
    checks: &mut Checks,
) -> Result<(), String> {
    let host = Host::with_backends(HostConfig::default(), backends.clone());
    let wasm = pluginhost_bundled::HOSTILE_EXFILTRATE;

    // Under exactly its manifest's grant it does not even load: its imports need more.
    let manifest_grant = Grant::none()
        .with_spec("fs.write=/scratch")
        .map_err(|e| e.to_string())?;
    match host.load(wasm, manifest_grant) {
        Err(e @ LoadError::NotGranted { .. }) => {
            println!("  hostile_exfiltrate.wasm under its manifest's grant fs.write=/scratch: not loaded: {e}");
            checks.check(true, "");
        }
        Err(e) => {
            checks.check(
                false,
                format!("exfiltrate failed to load for another reason: {e}"),
            );
        }
        Ok(_) => {
            checks.check(false, "exfiltrate loaded under fs.write=/scratch alone");
        }
    }

    // Link its imports but give them no scope at all; fs.write reaches /scratch only.
    let narrow = Grant::new(&[
        Capability::FsRead,
        Capability::NetDial,
        Capability::ProcessExec,
    ])
    .with_path_prefix(Capability::FsWrite, "/scratch")
    .map_err(|e| e.to_string())?;
    let key_before = std::fs::read(keystore.path()).map_err(|e| e.to_string())?;
    let before = snapshot(state)?;
    let (dials, runs) = (network.dials(), programs.runs());
    let mut plugin = host.load(wasm, narrow).map_err(|e| e.to_string())?;
    let output = host
        .invoke(&mut plugin, "run", b"")
        .map_err(|e| format!("exfiltrate: {e}"))?;
    let report = String::from_utf8_lossy(&output);
    let attempts = report
        .lines()
        .filter(|l| l.starts_with("refused") || l.starts_with("LET THROUGH"))
        .count();
    let through: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("LET THROUGH"))
        .collect();
    let stats = plugin.stats();
    println!(
        "  hostile_exfiltrate.wasm under fs.write=/scratch (fs.read, net.dial, process.exec linked, no scope):"
    );
    println!(
        "    {attempts} attempts, {} refused, {} allowed: the one inside its grant (/scratch/note.txt)",
        attempts - through.len(),
        through.len()
    );
    checks.check(
        through.len() == 1 && through[0].contains("/scratch/note.txt"),
        format!("only /scratch/note.txt got through: {through:?}"),
    );
    let mut after = snapshot(state)?;
    let note = after.remove(Path::new("root/scratch/note.txt"));
    let unchanged = after == before;
    let key_after = std::fs::read(keystore.path()).map_err(|e| e.to_string())?;
    println!(
        "    device key: not under the plugins' root; {} unchanged",
        rel(state, keystore.path())
    );
    println!(
        "    files outside /scratch: {} compared, {}",
        before.len(),
        if unchanged { "none changed" } else { "CHANGED" }
    );
    let named: Vec<String> = plugin
        .denials()
        .targets()
        .take(4)
        .map(|d| printable(&d.to_string()))
        .collect();
    println!(
        "    first denials: {}{}",
        named.join(", "),
        if plugin.denials().targets().count() > named.len() {
            ", ..."
        } else {
            ""
        }
    );
    checks.check(
        plugin
            .denials()
            .targets()
            .any(|d| d.capability == Capability::FsRead && d.target() == "/keys/device.key"),
        "the denial of /keys/device.key is named",
    );
    println!(
        "    requests that reached a back-end: {} dials, {} program runs; denied per capability: {}",
        network.dials() - dials,
        programs.runs() - runs,
        Capability::ALL
            .iter()
            .map(|&c| format!("{c} {}", stats.calls.denied(c)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    checks.check(key_after == key_before, "the device key is unchanged");
    checks.check(unchanged, "nothing outside /scratch changed");
    checks.check(
        note.as_deref() == Some(b"hi".as_slice()),
        "the plugin wrote /scratch/note.txt",
    );
    checks.check(
        network.dials() == dials && programs.runs() == runs,
        "no denied request reached a back-end",
    );
    checks.check(
        stats.calls.allowed(Capability::FsRead) == 0
            && stats.calls.allowed(Capability::NetDial) == 0
            && stats.calls.allowed(Capability::ProcessExec) == 0
            && stats.calls.allowed(Capability::FsWrite) == 1,
        format!(
            "exfiltrate's only allowed call is its /scratch write: {}",
            stats.calls
        ),
    );
    rows.push(Row {
        file: "hostile_exfiltrate.wasm".into(),
        role: "drill",
        admission: "drill",
        fuel: stats.fuel_used,
        calls: Row::from_counts(&stats.calls),
        outcome: format!(
            "contained: {} of {attempts} attempts denied, nothing outside /scratch written",
            attempts - through.len()
        ),
    });

    // hostile-memhog: does nothing privileged, so the gate's checks all pass; its resource
    // findings say it hit the memory limit (and the admission above refuses that).
    let gate = Host::new(HostConfig::default());
    let report = gate.conformance(pluginhost_bundled::HOSTILE_MEMHOG);
    let memory_finding = report
        .findings
        .iter()
        .find(|f| f.starts_with("hit the memory limit"))
        .cloned();
    println!(
        "  hostile_memhog.wasm through the gate: checks {}; {}",
        if report.ok() { "all pass" } else { "FAIL" },
        memory_finding
            .as_deref()
            .unwrap_or("NO memory-limit finding")
    );
    checks.check(
        report.limits_hit().contains(&LimitHit::Memory) && memory_finding.is_some(),
        "the gate reports that memhog hit the memory limit",
    );
    let config = HostConfig::default();
    let limit_mib = config.limits.memory_bytes >> 20;
    let host = Host::new(config);
    let mut plugin = host
        .load(pluginhost_bundled::HOSTILE_MEMHOG, Grant::none())
        .map_err(|e| format!("memhog: {e}"))?;
    let output = host
        .invoke(&mut plugin, "run", b"")
        .map_err(|e| format!("memhog: {e}"))?;
    let text = String::from_utf8_lossy(&output).trim_end().to_string();
    let hoarded: Option<u64> = text
        .strip_prefix("hostile-memhog: hoarded ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok());
    let refused = text.ends_with("-> -1");
    println!(
        "  hostile_memhog.wasm (no grant, {limit_mib} MiB memory limit): allocated {} MiB before the limit refused more; memory.grow(4 GiB) {}",
        hoarded.map_or_else(|| "?".to_string(), |n| n.to_string()),
        if refused { "refused" } else { "NOT refused" }
    );
    checks.check(
        hoarded.is_some_and(|n| n < limit_mib as u64) && refused,
        format!("memhog stayed under the memory limit: {text}"),
    );
    let stats = plugin.stats();
    rows.push(Row {
        file: "hostile_memhog.wasm".into(),
        role: "drill",
        admission: "drill",
        fuel: stats.fuel_used,
        calls: Row::from_counts(&stats.calls),
        outcome: format!("contained: memory limit {limit_mib} MiB held, grow to 4 GiB refused"),
    });

    // hostile-growloop: a million memory.grow calls, the loop that overflowed the native stack of
    // release builds (and so killed the agent) before wasmi's grow handlers were patched. The gate
    // judges it without dying; with fuel to spare it runs to its end on a flat native stack.
    let wasm = pluginhost_bundled::HOSTILE_GROWLOOP;
    let report = Host::new(HostConfig::default()).conformance(wasm);
    let stopped_by_fuel = !report.ok() && report.fuel_exhausted;
    println!(
        "  hostile_growloop.wasm (no grant): the gate ran it to the end of its fuel ({}): {}",
        group(report.fuel_used),
        if stopped_by_fuel {
            "not admitted, agent alive"
        } else {
            "NOT stopped by fuel"
        }
    );
    checks.check(
        stopped_by_fuel,
        "growloop was stopped by the gate's fuel budget",
    );
    let host = Host::new(HostConfig::default().with_fuel(200_000_000));
    let mut plugin = host
        .load(wasm, Grant::none())
        .map_err(|e| format!("growloop: {e}"))?;
    let finished = host.invoke(&mut plugin, "run", b"");
    let text = finished
        .as_ref()
        .map(|out| String::from_utf8_lossy(out).trim_end().to_string())
        .unwrap_or_else(|e| e.to_string());
    println!("  hostile_growloop.wasm with 200,000,000 fuel: {text}");
    checks.check(
        finished.is_ok(),
        format!("growloop ran to its end on a flat native stack: {text}"),
    );
    let stats = plugin.stats();
    rows.push(Row {
        file: "hostile_growloop.wasm".into(),
        role: "drill",
        admission: "drill",
        fuel: stats.fuel_used,
        calls: Row::from_counts(&stats.calls),
        outcome: "contained: 1,000,000 grows, native stack flat, fuel-bounded".into(),
    });
    Ok(())
}

/// Every file and directory under `dir` with its contents, by path relative to `dir`.
fn snapshot(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let rel = path.strip_prefix(base).unwrap_or(&path).to_path_buf();
            if path.is_dir() {
                out.insert(rel.join(""), Vec::new());
                walk(base, &path, out)?;
            } else {
                out.insert(rel, std::fs::read(&path)?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out).map_err(|e| format!("listing {}: {e}", dir.display()))?;
    Ok(out)
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
    for row in &cells {
        line(row);
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
