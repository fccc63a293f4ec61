//! The operator's policy file (`policy.toml`): which plugins run, in which role, with which
//! grants and fuel, and where the renewal's CA, DNS server and service are.

use std::path::Path;

use pluginhost::proto::Protocol;
use pluginhost::{Grant, Pin};
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Settings of every renewal.
    pub agent: AgentSettings,
    /// The renewal against real servers (pebble, knotd, nginx).
    pub servers: ServersSettings,
    /// The renewal without them (the in-process CA).
    #[serde(rename = "in-process")]
    pub in_process: InProcessSettings,
    /// The plugins, in the order they are admitted.
    #[serde(rename = "plugin")]
    pub plugins: Vec<PluginPolicy>,
}

/// `[agent]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// The DNS name the certificate is for.
    pub identity: String,
    /// The zone that holds it.
    pub zone: String,
    /// Guest directory the chain is deployed to.
    pub deploy_dir: String,
    /// Fuel for each conformance run.
    pub gate_fuel: u64,
    /// Default fuel per invocation.
    pub fuel: u64,
    /// Names pinned to addresses, as `pluginhost run --resolve`: `NAME:PORT=ADDR[:PORT]`. A
    /// plugin's grant still names `NAME:PORT`; the dial goes to the address, unresolved.
    #[serde(default)]
    pub resolve: Vec<String>,
    /// PEM trust anchors for the plugins' TLS dials (`net_dial_tls`), besides those of the
    /// servers the demo starts; none: only those.
    #[serde(default)]
    pub tls_roots: Option<String>,
}

/// `[servers]`: the renewal against an ACME CA, an RFC 2136 DNS server and nginx.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServersSettings {
    /// The ACME CA's directory URL (its `host:port` is what the CA plugin is granted).
    pub acme_directory: String,
    /// Contact URLs for the ACME account.
    #[serde(default)]
    pub contact: Vec<String>,
    /// The zone's primary DNS server, `host:port`, that takes the dynamic updates.
    pub dns_server: String,
    /// Guest path of the TSIG key file the DNS plugin reads.
    pub tsig_key_file: String,
    /// Guest path of the program that reloads the service (nginx).
    pub reload_program: String,
}

/// `[in-process]`: the renewal on the demo's own CA.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InProcessSettings {
    /// `host:port` the CA plugin is told to dial.
    pub ca_endpoint: String,
    /// Guest path of the reload program.
    pub reload_program: String,
    /// Its arguments.
    #[serde(default)]
    pub reload_args: Vec<String>,
}

impl AgentSettings {
    /// The `resolve` entries as pins.
    pub fn pins(&self) -> Result<Vec<Pin>, String> {
        self.resolve
            .iter()
            .map(|spec| {
                spec.parse::<Pin>()
                    .map_err(|e| format!("resolve `{spec}`: {e}"))
            })
            .collect()
    }
}

/// What a plugin does in the renewal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Obtains the certificate (`acme::AcmeRequest` steps, or `ca::IssueRequest`).
    Ca,
    /// Publishes the challenge record (`dns::UpdateTxtRequest`, or `dns::PublishTxtRequest`).
    Dns,
    /// Deploys the chain (`deploy::DeployRequest`).
    Deploy,
    /// Reloads the service (`reload::ReloadRequest`).
    Reload,
    /// Installed, but not part of the renewal.
    Extra,
}

impl Role {
    /// The message pair the agent sends a plugin of this role in `renewal`; none for `extra`.
    pub fn protocol(self, renewal: Renewal) -> Option<Protocol> {
        match (self, renewal) {
            (Role::Ca, Renewal::Servers) => Some(Protocol::Acme),
            (Role::Ca, Renewal::InProcess) => Some(Protocol::Issue),
            (Role::Dns, Renewal::Servers) => Some(Protocol::UpdateTxt),
            (Role::Dns, Renewal::InProcess) => Some(Protocol::PublishTxt),
            (Role::Deploy, _) => Some(Protocol::Deploy),
            (Role::Reload, _) => Some(Protocol::Reload),
            (Role::Extra, _) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ca => "ca",
            Role::Dns => "dns",
            Role::Deploy => "deploy",
            Role::Reload => "reload",
            Role::Extra => "extra",
        }
    }
}

/// Which renewal a plugin takes part in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Renewal {
    /// Against pebble, knotd and nginx.
    #[serde(rename = "servers")]
    Servers,
    /// On the in-process CA.
    #[serde(rename = "in-process")]
    InProcess,
}

impl Renewal {
    pub fn as_str(self) -> &'static str {
        match self {
            Renewal::Servers => "servers",
            Renewal::InProcess => "in-process",
        }
    }
}

/// `[[plugin]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginPolicy {
    /// The module's file name among the bundled plugins, e.g. `dns_zonefile.wasm`.
    pub file: String,
    /// Its role.
    pub role: Role,
    /// The one renewal it is for (default: both).
    pub only: Option<Renewal>,
    /// Grant specs, e.g. `fs.write=/certs`.
    pub grants: Vec<String>,
    /// Fuel per invocation (default: `[agent] fuel`).
    pub fuel: Option<u64>,
    /// A remark for people.
    pub note: Option<String>,
}

impl Policy {
    /// Reads and checks the file.
    pub fn load(path: &Path) -> Result<Policy, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let policy: Policy =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        policy
            .agent
            .pins()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        for plugin in &policy.plugins {
            plugin
                .grant()
                .map_err(|e| format!("{}: {e}", plugin.file))?;
        }
        Ok(policy)
    }
}

impl PluginPolicy {
    /// The grant these specs describe.
    pub fn grant(&self) -> Result<Grant, String> {
        self.grants.iter().try_fold(Grant::none(), |grant, spec| {
            grant
                .with_spec(spec)
                .map_err(|e| format!("grant `{spec}`: {e}"))
        })
    }

    /// Whether it takes part in `renewal`.
    pub fn serves(&self, renewal: Renewal) -> bool {
        self.only.is_none_or(|only| only == renewal)
    }
}
