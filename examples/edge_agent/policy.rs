//! The operator's policy file (`policy.toml`): which plugins run, in which role, with which
//! grants and fuel.

use std::path::Path;

use pluginhost::Grant;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Settings of the renewal itself.
    pub agent: AgentSettings,
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
    /// `host:port` the CA plugin is told to dial.
    pub ca_endpoint: String,
    /// Guest directory the chain is deployed to.
    pub deploy_dir: String,
    /// Guest path of the reload program.
    pub reload_program: String,
    /// Its arguments.
    #[serde(default)]
    pub reload_args: Vec<String>,
    /// Fuel for each conformance run.
    pub gate_fuel: u64,
    /// Default fuel per invocation.
    pub fuel: u64,
}

/// What a plugin does in the renewal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Obtains the certificate (`ca::IssueRequest`).
    Ca,
    /// Publishes the challenge record (`dns::PublishTxtRequest`).
    Dns,
    /// Deploys the chain (`deploy::DeployRequest`).
    Deploy,
    /// Reloads the service (`reload::ReloadRequest`).
    Reload,
    /// Installed, but not part of the renewal.
    Extra,
}

impl Role {
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

/// `[[plugin]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginPolicy {
    /// The module's file name among the bundled plugins, e.g. `dns_zonefile.wasm`.
    pub file: String,
    /// Its role.
    pub role: Role,
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
}
