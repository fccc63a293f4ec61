//! The options `run` and `check` share, and everything derived from them before a plugin runs:
//! the module and its digest, limits, the grant (flags and `--grants` file) and its lint
//! against the manifest, the input or typed request, and the back-ends. New options go here.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use pluginhost::proto::Manifest;
use pluginhost::{
    inspect, Backends, Capability, CommandRunner, DirFilesystem, Grant, GrantError, HostConfig,
    HostName, LoadError, LogLevel, ModuleInfo, Pin, TcpNetwork,
};
use serde::Deserialize;

use crate::common::{self, CliError};
use crate::protocol::{self, Choice, Protocol};

/// The module and what it must be.
#[derive(Debug, Args)]
pub struct ModuleArgs {
    /// The plugin: binary WebAssembly, or WebAssembly text (converted when the file does not
    /// start with the wasm magic bytes)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Refuse the module (exit 3) unless its SHA-256 is HEX (64 hex digits, as `sha256sum`
    /// prints it)
    #[arg(long, value_name = "HEX", value_parser = parse_sha256)]
    pub sha256: Option<String>,
}

/// Fuel and memory.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Fuel budget of the invocation (and of a start function) [default: 10000000, or `fuel`
    /// of the --grants file]
    #[arg(long, value_name = "N")]
    pub fuel: Option<u64>,

    /// Most bytes of linear memory (initial size and growth) [default: 16777216]
    #[arg(long, value_name = "BYTES")]
    pub memory: Option<usize>,
}

/// What the plugin is given.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Give the plugin the contents of FILE (or of stdin for `-`) as raw input, at most
    /// 1048576 bytes
    #[arg(long, value_name = "FILE|-", conflicts_with = "request")]
    pub input: Option<PathBuf>,

    /// A typed request as JSON (FILE, or `-` for stdin), encoded as the postcard message of the
    /// plugin's protocol (the one its manifest declares); the response is decoded and printed as
    /// JSON. A request that does not fit the message type is a usage error naming the field
    #[arg(long, value_name = "FILE|-")]
    pub request: Option<PathBuf>,

    /// The message pair, overriding the manifest's `protocol`: issue or acme (ca), deploy or
    /// reload (connector), publish-txt or update-txt (dns) [default: the manifest's `protocol`;
    /// without one, guessed from its kind: ca issue, connector deploy, dns publish-txt]
    #[arg(long, value_name = "NAME", value_parser = protocol::parse)]
    pub protocol: Option<Protocol>,
}

/// What the plugin is granted.
#[derive(Debug, Args)]
pub struct GrantArgs {
    /// Grant a capability within a scope (repeatable): fs.read=/PREFIX, fs.write=/PREFIX (a
    /// prefix may name one file), net.dial=HOST:PORT (or *.DOMAIN:PORT),
    /// process.exec=/PROGRAM-OR-DIR
    #[arg(long = "grant", value_name = "CAP=SCOPE", value_parser = parse_grant_spec)]
    pub grants: Vec<String>,

    /// Grants from a TOML file: `grants = ["fs.write=/certs"]` (and optional `fuel`), as one
    /// `[[plugin]]` of the edge agent's policy; a whole policy file picks the first `[[plugin]]`
    /// whose `file` is FILE's name. Added to any --grant
    #[arg(long = "grants", value_name = "FILE")]
    pub grants_file: Option<PathBuf>,

    /// Refuse (exit 3) a grant wider than the plugin's manifest asks for (instead of a
    /// warning); with `check`, also a plugin that hit a limit
    #[arg(long)]
    pub strict: bool,
}

/// How the network back-end reaches names and verifies TLS servers.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Send dials of NAME:PORT to ADDR (and PORT2) without resolving NAME (repeatable), e.g.
    /// acme.example:443=127.0.0.1:14000; the grant is still checked against NAME:PORT
    #[arg(long = "resolve", value_name = "NAME:PORT=ADDR[:PORT2]")]
    pub resolve: Vec<Pin>,

    /// Trust anchors (PEM certificates) for TLS dials (net_dial_tls), e.g.
    /// /etc/ssl/certs/ca-certificates.crt; without it TLS dials fail with IO
    #[arg(long, value_name = "FILE")]
    pub tls_roots: Option<PathBuf>,
}

/// How results are shown.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print one JSON object on stdout
    #[arg(long)]
    pub json: bool,

    /// Plugin log lines shown on stderr: off, error, warn, info, debug or trace
    #[arg(long, value_name = "LEVEL", default_value = "info", value_parser = parse_log_filter)]
    pub log_level: LogFilter,
}

/// The least severe guest log level shown, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogFilter(pub Option<LogLevel>);

impl LogFilter {
    /// Whether a line at `level` is shown.
    pub fn shows(self, level: LogLevel) -> bool {
        self.0.is_some_and(|max| level <= max)
    }
}

fn parse_log_filter(text: &str) -> Result<LogFilter, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(LogFilter(None));
    }
    text.parse::<LogLevel>()
        .map(|level| LogFilter(Some(level)))
        .map_err(|_| "expected off, error, warn, info, debug or trace".to_string())
}

fn parse_sha256(text: &str) -> Result<String, String> {
    let text = text.trim().to_ascii_lowercase();
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text)
    } else {
        Err("expected 64 hexadecimal digits".to_string())
    }
}

/// Checks one `--grant` spec on its own, so that clap reports a bad one as a usage error.
fn parse_grant_spec(spec: &str) -> Result<String, GrantError> {
    Grant::none().with_spec(spec).map(|_| spec.to_string())
}

/// One plugin's entry in a grants file: the keys of a `[[plugin]]` of the edge agent's policy.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginGrants {
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    role: Option<String>,
    #[serde(default)]
    grants: Vec<String>,
    #[serde(default)]
    fuel: Option<u64>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    /// The edge agent's renewal the entry is for (`servers`, `in-process`); not read here.
    #[serde(default)]
    #[allow(dead_code)]
    only: Option<String>,
}

/// A whole policy: `[agent]` (not read here) and `[[plugin]]`.
#[derive(Debug, Deserialize)]
struct PolicyFile {
    #[serde(rename = "plugin")]
    plugins: Vec<PluginGrants>,
}

/// The largest grants file read.
const GRANTS_FILE_BYTES: usize = 1 << 20;

/// Reads `--grants FILE` for the module at `module`.
fn read_grants_file(path: &Path, module: &Path) -> Result<PluginGrants, CliError> {
    let shown = path.display();
    let file = File::open(path)
        .map_err(|e| CliError::usage(format!("cannot open --grants {shown}: {e}")))?;
    let bytes = common::read_bounded(file, GRANTS_FILE_BYTES)
        .map_err(|e| CliError::usage(format!("cannot read --grants {shown}: {e}")))?
        .ok_or_else(|| {
            CliError::usage(format!(
                "--grants {shown} is larger than {GRANTS_FILE_BYTES} bytes"
            ))
        })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::usage(format!("--grants {shown} is not UTF-8")))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        CliError::usage(format!("--grants {shown}: {}", one_line(&e.to_string())))
    })?;
    if table.contains_key("plugin") {
        let policy: PolicyFile =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    CliError::usage(format!("--grants {shown}: {}", one_line(&e.to_string())))
                })?;
        let name = module.file_name().map(|n| n.to_string_lossy().into_owned());
        return policy
            .plugins
            .into_iter()
            .find(|p| p.file.is_some() && p.file == name)
            .ok_or_else(|| {
                CliError::usage(format!(
                    "--grants {shown} has no [[plugin]] with file = \"{}\"",
                    name.unwrap_or_default()
                ))
            });
    }
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| {
            CliError::usage(format!("--grants {shown}: {}", one_line(&e.to_string())))
        })
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether a `net.dial` entry names a loopback IP literal or `localhost`.
pub fn names_loopback(grant: &Grant) -> bool {
    grant.hosts().iter().any(|pattern| match pattern.host() {
        Some(HostName::Ipv4(ip)) => ip.is_loopback(),
        Some(HostName::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Some(HostName::Dns(name)) => name == "localhost",
        None => false,
    })
}

/// The network for `grant` and `net`: loopback allowed when a grant or a pin names it, the
/// pins, the trust anchors.
pub fn network(grant: &Grant, net: &NetworkArgs) -> Result<TcpNetwork, CliError> {
    let mut seen = Vec::new();
    for pin in &net.resolve {
        if seen.contains(&pin.target()) {
            return Err(CliError::usage(format!(
                "--resolve {pin} pins {} a second time",
                pin.target()
            )));
        }
        seen.push(pin.target());
    }
    let pins_loopback = net.resolve.iter().any(|p| match p.address().ip() {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    });
    let mut network = TcpNetwork::new().allow_loopback(names_loopback(grant) || pins_loopback);
    for pin in &net.resolve {
        network = network.pin(pin.clone());
    }
    if let Some(path) = &net.tls_roots {
        network = network
            .tls_roots_file(path)
            .map_err(|e| CliError::usage(format!("--tls-roots {}: {e}", path.display())))?;
    }
    Ok(network)
}

/// The back-ends: `network`, and the filesystem at `root` if given.
pub fn backends(network: TcpNetwork, root: Option<&Path>) -> Result<Backends, CliError> {
    let mut process = CommandRunner::new();
    let mut backends = Backends::unavailable().with_network(Arc::new(network));
    if let Some(root) = root {
        let filesystem = DirFilesystem::open(root)
            .map_err(|e| CliError::usage(format!("cannot open --root {}: {e}", root.display())))?;
        backends = backends.with_filesystem(Arc::new(filesystem));
        // Refused by canonical path, whatever the working directory is when a program runs.
        let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        process = process.refuse_under(canonical);
    }
    Ok(backends.with_process(Arc::new(process)))
}

/// Reads `FILE` or stdin (`-`) for `flag`, refusing more than `limit` bytes before reading them
/// all.
fn read_input(flag: &str, path: &Path, limit: usize) -> Result<Vec<u8>, CliError> {
    let (shown, read) = if path.as_os_str() == "-" {
        (
            "stdin".to_string(),
            common::read_bounded(io::stdin().lock(), limit),
        )
    } else {
        let shown = path.display().to_string();
        let file = File::open(path)
            .map_err(|e| CliError::usage(format!("cannot open {flag} {shown}: {e}")))?;
        (shown, common::read_bounded(file, limit))
    };
    read.map_err(|e| CliError::usage(format!("cannot read {flag} {shown}: {e}")))?
        .ok_or_else(|| {
            CliError::usage(format!(
                "{flag} {shown} is larger than {limit} bytes, the most one invocation accepts"
            ))
        })
}

/// Everything a run or a check needs, read and checked before anything runs.
pub struct Prepared {
    /// The host configuration (fuel and memory applied).
    pub config: HostConfig,
    /// The module's bytes, or why they are not a module.
    pub wasm: Result<Vec<u8>, LoadError>,
    /// The module's SHA-256 (of the binary; of the converted binary for text).
    pub sha256: Option<String>,
    /// Why the module was refused before loading (`--sha256` mismatch, `--strict` lint):
    /// `(kind, message)`.
    pub refused: Option<(&'static str, String)>,
    /// What the module declares, if it is valid.
    pub info: Option<ModuleInfo>,
    /// The grant.
    pub grant: Grant,
    /// The grant's parts beyond what the manifest asks, as messages.
    pub excess: Vec<String>,
    /// The typed protocol and where it came from, when a request was given or `--protocol`
    /// named one.
    pub protocol: Option<Choice>,
    /// The input.
    pub input: Vec<u8>,
}

impl Prepared {
    /// Reads the module, the grants and the input; every usage or I/O error comes first.
    pub fn new(
        module: &ModuleArgs,
        limits: &LimitArgs,
        input: &InputArgs,
        grants: &GrantArgs,
    ) -> Result<Prepared, CliError> {
        let mut grant = Grant::none();
        let mut fuel = limits.fuel;
        if let Some(path) = &grants.grants_file {
            let file = read_grants_file(path, &module.file)?;
            for spec in &file.grants {
                grant = grant.with_spec(spec).map_err(|e| {
                    CliError::usage(format!("--grants {}: grant `{spec}`: {e}", path.display()))
                })?;
            }
            fuel = fuel.or(file.fuel);
        }
        for spec in &grants.grants {
            grant = grant
                .with_spec(spec)
                .map_err(|e| CliError::usage(format!("invalid --grant {spec}: {e}")))?;
        }
        let mut config = HostConfig::default();
        if let Some(fuel) = fuel {
            config = config.with_fuel(fuel);
        }
        if let Some(memory) = limits.memory {
            config.limits.memory_bytes = memory;
        }

        let wasm = common::load_module(&module.file, &config.limits)?;
        let sha256 = wasm.as_ref().ok().map(|bytes| common::sha256_hex(bytes));
        let mut refused = None;
        if let (Some(expected), Some(actual)) = (&module.sha256, &sha256) {
            if expected != actual {
                refused = Some((
                    "sha256_mismatch",
                    format!("the module's SHA-256 is {actual}, not {expected} (--sha256)"),
                ));
            }
        }
        let info = wasm
            .as_ref()
            .ok()
            .and_then(|bytes| inspect(&config, bytes).ok());

        let manifest = info
            .as_ref()
            .and_then(|i| i.manifest.as_ref()?.as_ref().ok());
        let excess: Vec<String> = match manifest {
            Some(manifest) => grant
                .excess(manifest)
                .iter()
                .map(ToString::to_string)
                .collect(),
            None if info.is_some() && !grant.capabilities().is_empty() => vec![format!(
                "{grant}: the module has no manifest, so it asks for nothing"
            )],
            None => Vec::new(),
        };
        if grants.strict && !excess.is_empty() && refused.is_none() {
            refused = Some((
                "grant_excess",
                format!(
                    "--strict: the grant reaches beyond the manifest: {}",
                    excess.join("; ")
                ),
            ));
        }

        let protocol = match input.protocol {
            Some(_) => Choice::new(input.protocol, manifest),
            None if input.request.is_some() => Choice::new(None, manifest),
            None => None,
        };
        let input = match (&input.input, &input.request) {
            (Some(path), _) => read_input("--input", path, config.limits.input_bytes)?,
            (None, Some(path)) => {
                let json = read_input("--request", path, config.limits.input_bytes)?;
                let json = String::from_utf8(json)
                    .map_err(|_| CliError::usage("--request is not UTF-8 JSON"))?;
                match protocol {
                    Some(choice) => protocol::encode(choice.protocol, &json).map_err(|e| {
                        let hint = choice.hint().map_or_else(String::new, |h| format!("; {h}"));
                        CliError::usage(format!(
                            "--request does not fit {} (protocol {}, {}): {e}{hint}",
                            choice.protocol.request_type(),
                            choice.protocol,
                            choice.origin()
                        ))
                    })?,
                    // Not a module: the load reports why (not a usage error).
                    None if info.is_none() => Vec::new(),
                    None => {
                        let declared = manifest.map_or_else(
                            || "it has no manifest".to_string(),
                            |m| format!("its manifest declares kind {} and no protocol", m.kind),
                        );
                        return Err(CliError::usage(format!(
                            "--request needs a protocol and {declared}: name one with \
                             --protocol {}",
                            protocol::names("|")
                        )));
                    }
                }
            }
            (None, None) => Vec::new(),
        };
        Ok(Prepared {
            config,
            wasm,
            sha256,
            refused,
            info,
            grant,
            excess,
            protocol,
            input,
        })
    }

    /// The module's manifest, if it has a valid one.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.info
            .as_ref()
            .and_then(|i| i.manifest.as_ref()?.as_ref().ok())
    }

    /// The plugin's name from its manifest, or `plugin`.
    pub fn name(&self) -> String {
        self.manifest()
            .map_or_else(|| "plugin".to_string(), |m| m.name.clone())
    }

    /// A usage error if an `fs.*` grant has no file back-end to reach.
    pub fn require_root(&self, root: Option<&Path>) -> Result<(), CliError> {
        if root.is_some() {
            return Ok(());
        }
        let fs_specs: Vec<String> = [Capability::FsRead, Capability::FsWrite]
            .into_iter()
            .flat_map(|cap| {
                self.grant
                    .path_prefixes(cap)
                    .iter()
                    .map(move |p| format!("{cap}={p}"))
            })
            .collect();
        match fs_specs.first() {
            None => Ok(()),
            Some(spec) => Err(CliError::usage(format!(
                "--grant {spec} needs --root DIR, the host directory the plugin's `/` maps to \
                 (e.g. --root ./sandbox with ./sandbox{} in it)",
                spec.split_once('=').map_or("", |(_, scope)| scope)
            ))),
        }
    }
}
