//! The renewal: with the real servers (an ACME order from pebble, its `dns-01` challenge
//! published in knotd, the chain deployed to nginx and nginx reloaded) or on the in-process CA
//! (its challenge in a zone file, a reload script). Each step is one plugin invocation, printed
//! with the plugin, its grant and the calls it made; everything else is the agent's own work.

use std::path::Path;
use std::time::Duration;

use pluginhost::proto::acme::{AcmeRequest, AcmeResponse, ChallengeKind, ChallengeTask};
use pluginhost::proto::ca::{IssueRequest, IssueResponse};
use pluginhost::proto::deploy::{DeployRequest, DeployResponse};
use pluginhost::proto::dns::{
    PublishTxtRequest, PublishTxtResponse, TxtChange, UpdateTxtRequest, UpdateTxtResponse,
};
use pluginhost::proto::reload::{ReloadRequest, ReloadResponse};
use pluginhost::{DialTarget, HostName};
use pluginhost_testbed::{drive_order, sha256_fingerprint};

use crate::ca::DemoCa;
use crate::keystore::KeyStore;
use crate::policy::{Policy, Role};
use crate::servers::Servers;
use crate::{group, printable, rel, Admitted, Checks, CHAIN_FILE};

/// The summary's lines: label, value.
pub type Outcome = Vec<(&'static str, String)>;

/// The plugins of a renewal, one per role.
pub struct Team<'a> {
    ca: &'a mut Admitted,
    dns: &'a mut Admitted,
    deploy: &'a mut Admitted,
    reload: &'a mut Admitted,
}

impl<'a> Team<'a> {
    /// The first admitted plugin of each role.
    pub fn pick(admitted: &'a mut [Admitted]) -> Result<Team<'a>, String> {
        let (mut ca, mut dns, mut deploy, mut reload) = (None, None, None, None);
        for a in admitted.iter_mut() {
            let slot = match a.role {
                Role::Ca => &mut ca,
                Role::Dns => &mut dns,
                Role::Deploy => &mut deploy,
                Role::Reload => &mut reload,
                Role::Extra => continue,
            };
            if slot.is_none() {
                *slot = Some(a);
            }
        }
        let missing = |role: Role| format!("no admitted plugin has the role {}", role.as_str());
        Ok(Team {
            ca: ca.ok_or_else(|| missing(Role::Ca))?,
            dns: dns.ok_or_else(|| missing(Role::Dns))?,
            deploy: deploy.ok_or_else(|| missing(Role::Deploy))?,
            reload: reload.ok_or_else(|| missing(Role::Reload))?,
        })
    }
}

/// The renewal against pebble, knotd and nginx.
pub fn with_servers(
    policy: &Policy,
    keystore: &KeyStore,
    servers: &Servers,
    team: Team<'_>,
    paths: &Paths<'_>,
    checks: &mut Checks,
) -> Result<Outcome, String> {
    let agent = &policy.agent;
    let settings = &policy.servers;
    let mut outcome = Outcome::new();
    let csr_pem = csr(keystore, &agent.identity)?;

    // The ACME order, driven by the agent: the CA plugin asks for the dns-01 challenge, the DNS
    // plugin publishes it in knotd, pebble validates it by asking knotd, the CA plugin finishes.
    let dns_server = DialTarget::parse(&settings.dns_server)
        .map_err(|e| format!("dns_server {}: {e}", settings.dns_server))?;
    let update = |change: TxtChange, task: &ChallengeTask| UpdateTxtRequest {
        change,
        zone: agent.zone.clone(),
        fqdn: task.identifier.clone(),
        value: task.value.clone(),
        ttl: 60,
        server_host: dns_server.host.to_string(),
        server_port: dns_server.port,
        tsig_key_file: settings.tsig_key_file.clone(),
    };
    let request = AcmeRequest {
        directory_url: settings.acme_directory.clone(),
        csr_pem,
        identifiers: vec![agent.identity.clone()],
        challenge: ChallengeKind::Dns01,
        contact: settings.contact.clone(),
        terms_of_service_agreed: true,
        order_url: None,
    };
    let Team {
        ca,
        dns,
        deploy,
        reload,
    } = team;
    let mut step = 0;
    let mut published: Vec<ChallengeTask> = Vec::new();
    let order = drive_order::<String>(
        request,
        |request| {
            step += 1;
            let response: AcmeResponse = ca.call(request)?;
            let what = match &response {
                AcmeResponse::Challenges {
                    order_url,
                    challenges,
                } => format!(
                    "order {order_url}: {} dns-01 challenge(s) to publish",
                    challenges.len()
                ),
                AcmeResponse::Pending {
                    retry_after_seconds,
                    ..
                } => format!("pebble is still validating: again in {retry_after_seconds} s"),
                AcmeResponse::Issued { chain_pem, .. } => format!(
                    "pebble validated the record in knotd and issued a chain of {} certificates",
                    chain_pem.matches("-----BEGIN CERTIFICATE-----").count()
                ),
            };
            ca.step(&format!("step {step}: {what}"));
            ca.summary = format!("order in progress ({step} steps)");
            Ok(response)
        },
        |task| {
            let added: UpdateTxtResponse = dns.call(&update(TxtChange::Add, task))?;
            published.push(task.clone());
            let served = servers
                .knot
                .query_txt(&task.name)
                .map_err(|e| format!("asking knotd: {e}"))?
                .unwrap_or_default();
            let ok = checks.check(
                served.contains(&task.value),
                format!("knotd serves {} after the update: {served:?}", task.name),
            );
            dns.step(&format!(
                "added {}; knotd {}",
                added.record_line,
                if ok { "serves it" } else { "does NOT serve it" }
            ));
            outcome.push((
                "dns-01",
                format!(
                    "{} (added to knotd, removed after the order)",
                    added.record_line
                ),
            ));
            dns.summary = "added the dns-01 record in knotd".into();
            Ok(())
        },
    );
    // The challenge records go, whether the order worked or not.
    let mut all_removed = !published.is_empty();
    for task in &published {
        let removed: Result<UpdateTxtResponse, String> = dns.call(&update(TxtChange::Remove, task));
        let served = servers
            .knot
            .query_txt(&task.name)
            .map_err(|e| format!("asking knotd: {e}"))?
            .unwrap_or_default();
        checks.check(
            removed.is_ok() && served.is_empty(),
            format!("knotd serves nothing at {} after the removal", task.name),
        );
        all_removed &= removed.is_ok();
        if let Ok(removed) = removed {
            dns.step(&format!(
                "removed {}; knotd serves {}",
                removed.record_line,
                if served.is_empty() {
                    "no TXT there now".to_string()
                } else {
                    format!("{served:?}")
                }
            ));
        }
    }
    if all_removed {
        dns.summary = "added and removed the dns-01 record in knotd".into();
    }
    let order = order.map_err(|e| e.to_string())?;
    // pebble (PEBBLE_VA_ALWAYS_VALID off) validated the challenge with knotd as its resolver.
    let log = servers.pebble.log();
    let resolver = format!(
        "Using custom DNS resolver for ACME challenges: 127.0.0.1:{}",
        servers.knot.port()
    );
    checks.check(
        log.contains(&resolver) && log.contains("set VALID by completed challenge"),
        "pebble's log shows the challenge validated with knotd as its resolver",
    );
    checks.check(
        order.published.len() == 1,
        format!(
            "one dns-01 challenge was published, not {}",
            order.published.len()
        ),
    );
    ca.summary = format!("obtained the certificate from pebble ({} steps)", step);
    outcome.push(("order", order.order_url.clone()));

    // The agent checks the chain: for its key and name, up to pebble's root.
    let root_pem = servers
        .pebble
        .issuer_roots_pem()
        .map_err(|e| format!("pebble's root: {e}"))?;
    let root = first_der(&root_pem).ok_or("pebble's root is not PEM")?;
    let leaf = check_chain(
        &order.chain_pem,
        keystore,
        &agent.identity,
        Some(&root),
        checks,
    )?;
    agent_line(&format!(
        "chain checked: leaf for {} with the device key, issued by {}, up to pebble's root",
        agent.identity, leaf.issuer
    ));
    leaf.push_to(&mut outcome);

    // The key nginx presents is written by the agent; the chain goes through the deploy plugin.
    paths.install_key(keystore)?;
    let deployed = deploy_chain(deploy, agent, keystore, &order.chain_pem, paths, checks)?;
    outcome.push(("deployed", deployed));
    outcome.push((
        "key",
        format!("{} (by the agent)", rel(paths.state, paths.key)),
    ));

    // nginx reloads itself through the reload plugin: argv only, exactly the nginx program.
    let args = servers.nginx.reload_args();
    let status = reload_service(reload, &settings.reload_program, args, checks)?;
    outcome.push(("reload", status));
    servers
        .nginx
        .wait_for_reload(1, Duration::from_secs(10))
        .map_err(|e| format!("nginx: {e}"))?;
    checks.check(
        servers.nginx.reloads_received() == 1,
        format!(
            "nginx took {} reload signals, expected 1",
            servers.nginx.reloads_received()
        ),
    );

    // A verifying TLS client: nginx now presents the new leaf, valid for the name under
    // pebble's root.
    let served = servers.served(&agent.identity, &root)?;
    let fingerprint = sha256_fingerprint(&served);
    let new = checks.check(
        fingerprint == sha256_fingerprint(&leaf.der),
        "nginx serves the new certificate",
    );
    checks.check(
        fingerprint != sha256_fingerprint(&servers.factory_leaf),
        "nginx no longer serves the factory certificate",
    );
    agent_line(&format!(
        "TLS to nginx on 127.0.0.1:{} (verified for {} against pebble's root): {} certificate, SHA-256 {}",
        servers.nginx.port(),
        agent.identity,
        if new { "the new" } else { "NOT the new" },
        short(&fingerprint)
    ));
    outcome.push((
        "served",
        format!(
            "nginx 127.0.0.1:{}: SHA-256 {fingerprint}",
            servers.nginx.port()
        ),
    ));
    Ok(outcome)
}

/// The renewal on the in-process CA: the challenge in a zone file, the chain under `/certs`, a
/// reload script.
pub fn in_process(
    policy: &Policy,
    keystore: &KeyStore,
    ca_server: &DemoCa,
    team: Team<'_>,
    paths: &Paths<'_>,
    checks: &mut Checks,
) -> Result<Outcome, String> {
    let agent = &policy.agent;
    let settings = &policy.in_process;
    let mut outcome = Outcome::new();
    let Team {
        ca,
        dns,
        deploy,
        reload,
    } = team;
    let csr_pem = csr(keystore, &agent.identity)?;

    // dns-01: publish the CA's challenge token.
    let token = ca_server
        .challenge(&agent.identity)
        .ok_or("the CA has no challenge for the identity")?;
    let published: PublishTxtResponse = dns.call(&PublishTxtRequest {
        zone: agent.zone.clone(),
        fqdn: agent.identity.clone(),
        value: token.to_string(),
        ttl: 60,
    })?;
    let zone_path = paths
        .root
        .join("zones")
        .join(format!("{}.zone", agent.zone));
    let zone_text = std::fs::read_to_string(&zone_path).unwrap_or_default();
    checks.check(
        zone_text.matches(&published.record_line).count() == 1,
        "the challenge record is in the zone file once",
    );
    dns.step(&format!("published {}", published.record_line));
    dns.summary = format!("published the dns-01 TXT record in {}", agent.zone);
    outcome.push((
        "zone",
        format!(
            "{}  ({})",
            published.record_line,
            rel(paths.state, &zone_path)
        ),
    ));

    // The CA plugin dials the CA and brings back the chain.
    let ca_target = DialTarget::parse(&settings.ca_endpoint)
        .map_err(|e| format!("ca_endpoint {}: {e}", settings.ca_endpoint))?;
    let HostName::Dns(ca_host) = &ca_target.host else {
        return Err("ca_endpoint must be a DNS name in this demo".into());
    };
    let issued: IssueResponse = ca.call(&IssueRequest {
        csr_pem,
        identifiers: vec![agent.identity.clone()],
        ca_host: ca_host.clone(),
        ca_port: ca_target.port,
    })?;
    let leaf = check_chain(&issued.chain_pem, keystore, &agent.identity, None, checks)?;
    ca.step(&format!(
        "issued a chain of {} certificates via {}; leaf key = device key",
        leaf.chain_len, settings.ca_endpoint
    ));
    ca.summary = format!("obtained the certificate ({} in chain)", leaf.chain_len);
    leaf.push_to(&mut outcome);

    let deployed = deploy_chain(deploy, agent, keystore, &issued.chain_pem, paths, checks)?;
    outcome.push(("deployed", deployed));

    let mut args = settings.reload_args.clone();
    args.extend([
        "--cert".to_string(),
        format!("{}/{CHAIN_FILE}", agent.deploy_dir),
    ]);
    let status = reload_service(reload, &settings.reload_program, args, checks)?;
    let log = std::fs::read_to_string(paths.state.join("service/reloads.log")).unwrap_or_default();
    checks.check(
        log.lines().count() == 1 && log.contains(CHAIN_FILE),
        "the reload program recorded one reload of the deployed chain",
    );
    outcome.push(("reload", status));
    Ok(outcome)
}

/// Where the renewal's files are on the host.
pub struct Paths<'a> {
    /// The state directory.
    pub state: &'a Path,
    /// The plugins' filesystem root.
    pub root: &'a Path,
    /// The key file the service reads (servers only).
    pub key: &'a Path,
}

impl Paths<'_> {
    fn install_key(&self, keystore: &KeyStore) -> Result<(), String> {
        keystore.install_for_service(self.key)?;
        agent_line(&format!(
            "wrote the device key for nginx to {} (mode 0600, outside the plugins' root)",
            rel(self.state, self.key)
        ));
        Ok(())
    }
}

fn agent_line(text: &str) {
    println!("  agent   {text}");
}

/// The key store's CSR: no plugin ever sees more than this PEM and `key_ref`.
fn csr(keystore: &KeyStore, identity: &str) -> Result<String, String> {
    let csr_pem = keystore.csr(&[identity.to_string()])?;
    agent_line(&format!(
        "CSR for {identity} signed with the device key ({} bytes of PEM)",
        csr_pem.len()
    ));
    Ok(csr_pem)
}

/// Deploys the chain (never the key: the connector gets `key_ref`) and checks the file.
fn deploy_chain(
    deployer: &mut Admitted,
    agent: &crate::policy::AgentSettings,
    keystore: &KeyStore,
    chain_pem: &str,
    paths: &Paths<'_>,
    checks: &mut Checks,
) -> Result<String, String> {
    let deployed: DeployResponse = deployer.call(&DeployRequest {
        chain_pem: chain_pem.to_string(),
        key_ref: Some(keystore.key_ref().to_string()),
        target_dir: agent.deploy_dir.clone(),
        file_name: CHAIN_FILE.into(),
    })?;
    let host_path = paths.root.join(deployed.path.trim_start_matches('/'));
    let on_disk = std::fs::read_to_string(&host_path).unwrap_or_default();
    checks.check(
        on_disk == chain_pem,
        format!("{} holds the issued chain", host_path.display()),
    );
    let leftovers: Vec<String> = std::fs::read_dir(host_path.parent().unwrap_or(paths.root))
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
    deployer.step(&format!(
        "deployed {} ({} bytes)",
        deployed.path,
        group(deployed.bytes_written)
    ));
    deployer.summary = format!("deployed {}", deployed.path);
    Ok(format!(
        "{}  ({})",
        deployed.path,
        rel(paths.state, &host_path)
    ))
}

/// Runs the reload program through the reload plugin; a non-zero status is a failed check.
fn reload_service(
    reloader: &mut Admitted,
    program: &str,
    args: Vec<String>,
    checks: &mut Checks,
) -> Result<String, String> {
    let argv = format!("{program} {}", args.join(" "));
    let reloaded: ReloadResponse = reloader.call(&ReloadRequest {
        program: program.to_string(),
        args,
        max_stdout: 4096,
    })?;
    checks.check(
        reloaded.status == 0,
        format!(
            "{program} exited {}: {}",
            reloaded.status,
            printable(reloaded.stdout.trim_end())
        ),
    );
    let stdout = printable(reloaded.stdout.trim_end());
    let said = if stdout.is_empty() {
        String::new()
    } else {
        format!(", \"{stdout}\"")
    };
    reloader.step(&format!("ran {argv}: exit {}{said}", reloaded.status));
    reloader.summary = format!(
        "{} exited {}",
        program.rsplit('/').next().unwrap_or(program),
        reloaded.status
    );
    Ok(format!("{argv}: exit {}{said}", reloaded.status))
}

/// What the agent checked in the issued leaf.
struct Leaf {
    der: Vec<u8>,
    chain_len: usize,
    subject: String,
    names: Vec<String>,
    serial: String,
    not_after: String,
    issuer: String,
}

impl Leaf {
    fn push_to(&self, outcome: &mut Outcome) {
        outcome.push(("subject", self.subject.clone()));
        outcome.push(("names", self.names.join(", ")));
        outcome.push(("serial", self.serial.clone()));
        outcome.push(("not after", self.not_after.clone()));
        outcome.push(("issuer", self.issuer.clone()));
    }
}

/// The DER of the first PEM block of `pem`.
fn first_der(pem: &str) -> Option<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .next()?
        .ok()
        .map(|p| p.contents)
}

/// Parses the chain and checks the leaf: our key, our name, a CA's signature, valid now; with
/// `root` (DER), also that the chain's last certificate is signed by it.
fn check_chain(
    chain_pem: &str,
    keystore: &KeyStore,
    identity: &str,
    root: Option<&[u8]>,
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
    if let Some(root) = root {
        let last = blocks.last().ok_or("the chain is empty")?;
        let by_root = match (last.parse_x509(), x509_parser::parse_x509_certificate(root)) {
            (Ok(last), Ok((_, root))) => last.verify_signature(Some(root.public_key())).is_ok(),
            _ => false,
        };
        checks.check(
            blocks.len() >= 2 && by_root,
            "the chain's last certificate is signed by the CA's root",
        );
    }
    Ok(Leaf {
        der: leaf_pem.contents.clone(),
        chain_len: blocks.len(),
        subject: leaf.subject().to_string(),
        names,
        serial: leaf.raw_serial_as_string(),
        not_after: leaf.validity().not_after.to_string(),
        issuer: leaf.issuer().to_string(),
    })
}

/// The first 8 bytes of a fingerprint, for a line of text.
pub fn short(fingerprint: &str) -> String {
    let head: Vec<&str> = fingerprint.split(':').take(8).collect();
    format!("{}:...", head.join(":"))
}
