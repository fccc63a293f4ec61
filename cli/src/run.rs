//! `pluginhost run`: load a plugin under explicit grants and invoke its entry point once.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;
use pluginhost::{
    Backends, CallCounts, Capability, CommandRunner, DirFilesystem, Grant, GrantError, Host,
    HostConfig, HostName, InvokeError, LoadError, TcpNetwork,
};
use serde_json::json;

use crate::common::{self, CliError, CliResult};

const LONG_ABOUT: &str = "\
Load a plugin under explicit grants and invoke its entry point once.

Nothing is granted unless a --grant names it: an import whose capability is not granted makes \
loading fail (not_granted), and every granted call is checked against the grant's scopes \
(a refused call is counted as a denial and the plugin sees DENIED).

Back-ends:
  files     only with --root DIR, which becomes the guest's `/` (a granted prefix such as /data \
must exist as DIR/data); without --root, granted file calls fail with IO.
  network   real TCP. Loopback addresses (127.0.0.0/8, ::1) are refused unless a net.dial \
grant names a loopback IP literal or `localhost`, which allows loopback for every net.dial \
grant; private, link-local, multicast and reserved addresses are always refused.
  programs  run directly (no shell, empty environment, no stdin, 10 s deadline). \
process.exec scopes are host paths (not under --root), and programs under --root are refused, \
so a plugin never runs a file it could have written.

Without --json the plugin's output goes to stdout as raw bytes and a one-line summary of any \
error or denied call goes to stderr.

With --json stdout gets exactly one JSON object:
  ok          true if the plugin ran and returned 0
  result      the entry's i32 return value, or null
  error_kind  null, or not_granted, unknown_import, invalid_module, limit, fuel_exhausted, \
timeout, trap, busy, no_entry (a non-zero return is not an error: error_kind null, ok false; \
timeout: 30 s spent blocked in file, network or program calls)
  error       the error message, or null
  output_hex  the plugin's output as lowercase hex (\"\" if none)
  fuel_used   fuel used by the invocation (by the start function if it failed at load)
  allowed     granted calls per capability: {\"fs.read\": N, \"fs.write\": N, \"net.dial\": N, \
\"process.exec\": N}
  denials     refused calls per capability, same keys";

const EXIT_CODES: &str = "\
Exit status:
  0  the plugin ran and returned 0
  1  loading failed, it trapped, ran out of fuel, or returned non-zero
  2  usage or I/O error (nothing is printed on stdout)";

/// Arguments of `pluginhost run`.
#[derive(Debug, Parser)]
#[command(
    about = "Run a plugin's entry point under explicit grants",
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES
)]
pub struct Args {
    /// The plugin: binary WebAssembly, or WebAssembly text (converted when the file does not
    /// start with the wasm magic bytes)
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// The exported function to invoke; its signature must be () -> i32
    #[arg(long, value_name = "NAME", default_value = "run")]
    entry: String,

    /// Grant a capability within a scope (repeatable): fs.read=/PREFIX, fs.write=/PREFIX,
    /// net.dial=HOST:PORT (or *.DOMAIN:PORT), process.exec=/PROGRAM-OR-DIR
    #[arg(long = "grant", value_name = "CAP=SCOPE", value_parser = parse_grant_spec)]
    grants: Vec<String>,

    /// Host directory that the guest's `/` maps to (enables the file back-end)
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,

    /// Fuel budget of the invocation (and of a start function) [default: 10000000]
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,

    /// Most bytes of linear memory (initial size and growth) [default: 16777216]
    #[arg(long, value_name = "BYTES")]
    memory: Option<usize>,

    /// Give the plugin the contents of FILE (or of stdin for `-`) as input, at most
    /// 1048576 bytes
    #[arg(long, value_name = "FILE|-")]
    input: Option<PathBuf>,

    /// Print one JSON object on stdout instead of the raw output
    #[arg(long)]
    json: bool,
}

/// Checks one `--grant` spec on its own, so that clap reports a bad one as a usage error.
fn parse_grant_spec(spec: &str) -> Result<String, GrantError> {
    Grant::none().with_spec(spec).map(|_| spec.to_string())
}

/// Whether a `net.dial` entry names a loopback IP literal or `localhost`.
fn names_loopback(grant: &Grant) -> bool {
    grant.hosts().iter().any(|pattern| match pattern.host() {
        Some(HostName::Ipv4(ip)) => ip.is_loopback(),
        Some(HostName::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Some(HostName::Dns(name)) => name == "localhost",
        None => false,
    })
}

/// The back-ends for `grant`, with the filesystem at `root` if given.
fn backends(grant: &Grant, root: Option<&Path>) -> Result<Backends, CliError> {
    let network = TcpNetwork::new().allow_loopback(names_loopback(grant));
    let mut process = CommandRunner::new();
    let mut backends = Backends::unavailable().with_network(Arc::new(network));
    if let Some(root) = root {
        let filesystem = DirFilesystem::open(root)
            .map_err(|e| CliError::new(format!("cannot open --root {}: {e}", root.display())))?;
        backends = backends.with_filesystem(Arc::new(filesystem));
        // Refused by canonical path, whatever the working directory is when a program runs.
        let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        process = process.refuse_under(canonical);
    }
    Ok(backends.with_process(Arc::new(process)))
}

/// Reads `--input`, refusing more than `limit` bytes before reading them all.
fn read_input(path: &Path, limit: usize) -> Result<Vec<u8>, CliError> {
    let (shown, read) = if path.as_os_str() == "-" {
        (
            "stdin".to_string(),
            common::read_bounded(io::stdin().lock(), limit),
        )
    } else {
        let shown = path.display().to_string();
        let file = File::open(path)
            .map_err(|e| CliError::new(format!("cannot open --input {shown}: {e}")))?;
        (shown, common::read_bounded(file, limit))
    };
    read.map_err(|e| CliError::new(format!("cannot read --input {shown}: {e}")))?
        .ok_or_else(|| {
            CliError::new(format!(
                "--input {shown} is larger than {limit} bytes, the most one invocation accepts"
            ))
        })
}

/// The error kind reported for a failed invocation. Engine failures while running are
/// counted as traps by the host, and reported as `trap`.
fn invoke_kind(error: &InvokeError) -> &'static str {
    match error.kind() {
        kind @ ("not_granted" | "unknown_import" | "invalid_module" | "limit"
        | "fuel_exhausted" | "timeout" | "trap" | "busy" | "no_entry") => kind,
        _ => "trap",
    }
}

/// What one run came to.
struct Outcome {
    result: Option<i32>,
    error: Option<(&'static str, String)>,
    output: Vec<u8>,
    fuel_used: u64,
    calls: CallCounts,
}

impl Outcome {
    fn failed(kind: &'static str, message: String, fuel_used: u64) -> Outcome {
        Outcome {
            result: None,
            error: Some((kind, message)),
            output: Vec::new(),
            fuel_used,
            calls: CallCounts::default(),
        }
    }

    fn ok(&self) -> bool {
        self.error.is_none() && self.result == Some(0)
    }
}

/// Loads `module` and invokes `entry` once; every failure is an [`Outcome`].
fn execute(
    module: Result<Vec<u8>, LoadError>,
    host: &Host,
    grant: Grant,
    entry: &str,
    input: &[u8],
) -> Outcome {
    let loaded = module.and_then(|wasm| host.load(&wasm, grant));
    let mut plugin = match loaded {
        Ok(plugin) => plugin,
        Err(e) => {
            let fuel = match e {
                LoadError::StartFuelExhausted { fuel_used }
                | LoadError::StartTimedOut { fuel_used } => fuel_used,
                _ => 0,
            };
            return Outcome::failed(e.kind(), e.to_string(), fuel);
        }
    };
    let outcome = match host.call(&mut plugin, entry, input) {
        Ok(done) => Outcome {
            result: Some(done.status),
            error: None,
            output: done.output,
            fuel_used: done.fuel_used,
            calls: CallCounts::default(),
        },
        Err(e) => Outcome::failed(invoke_kind(&e), e.to_string(), e.fuel_used().unwrap_or(0)),
    };
    Outcome {
        calls: plugin.stats().calls,
        ..outcome
    }
}

/// One line for stderr, if anything went wrong or was denied.
fn summary(args: &Args, outcome: &Outcome) -> Option<String> {
    let denied = outcome.calls.total_denied();
    let denials = (denied > 0).then(|| {
        let list: Vec<String> = Capability::ALL
            .into_iter()
            .filter(|cap| outcome.calls.denied(*cap) > 0)
            .map(|cap| format!("{cap} {}", outcome.calls.denied(cap)))
            .collect();
        format!("denied calls: {}", list.join(", "))
    });
    let problem = match (&outcome.error, outcome.result) {
        (Some((kind, message)), _) => Some(format!("error: {message} [{kind}]")),
        (None, Some(status)) if status != 0 => {
            Some(format!("entry `{}` returned {status}", args.entry))
        }
        _ => None,
    };
    match (problem, denials) {
        (Some(p), Some(d)) => Some(format!("{p} ({d})")),
        (Some(line), None) | (None, Some(line)) => Some(line),
        (None, None) => None,
    }
}

/// Runs `pluginhost run`.
pub fn main(args: &Args) -> CliResult {
    let mut grant = Grant::none();
    for spec in &args.grants {
        grant = grant
            .with_spec(spec)
            .map_err(|e| CliError::new(format!("invalid --grant {spec}: {e}")))?;
    }
    let mut config = HostConfig::default();
    if let Some(fuel) = args.fuel {
        config = config.with_fuel(fuel);
    }
    if let Some(memory) = args.memory {
        config.limits.memory_bytes = memory;
    }
    // Every usage and I/O error comes before anything runs: the module file, the root, then
    // the input (which may be stdin).
    let module = common::load_module(&args.file, &config.limits)?;
    let host = Host::with_backends(config, backends(&grant, args.root.as_deref())?);
    let input = match &args.input {
        Some(path) => read_input(path, config.limits.input_bytes)?,
        None => Vec::new(),
    };
    let outcome = execute(module, &host, grant, &args.entry, &input);
    let ok = outcome.ok();
    if args.json {
        let (allowed, denials) = common::call_counts_json(&outcome.calls);
        let (error_kind, error) = match &outcome.error {
            Some((kind, message)) => (Some(*kind), Some(message.as_str())),
            None => (None, None),
        };
        common::write_json(&json!({
            "ok": ok,
            "result": outcome.result,
            "error_kind": error_kind,
            "error": error,
            "output_hex": common::hex(&outcome.output),
            "fuel_used": outcome.fuel_used,
            "allowed": allowed,
            "denials": denials,
        }))?;
    } else {
        common::write_stdout(&outcome.output)?;
        if let Some(line) = summary(args, &outcome) {
            common::error_line(&line);
        }
    }
    Ok(common::status(ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(specs: &[&str]) -> Grant {
        specs.iter().fold(Grant::none(), |g, s| {
            g.with_spec(s).unwrap_or_else(|e| panic!("{s}: {e}"))
        })
    }

    #[test]
    fn loopback_only_when_named() {
        assert!(!names_loopback(&grant(&[])));
        assert!(!names_loopback(&grant(&["net.dial=ca.example.com:443"])));
        assert!(!names_loopback(&grant(&["net.dial=*.example.com:443"])));
        assert!(!names_loopback(&grant(&["net.dial=10.0.0.1:80"])));
        assert!(names_loopback(&grant(&["net.dial=127.0.0.1:8080"])));
        assert!(names_loopback(&grant(&["net.dial=127.1.2.3:8080"])));
        assert!(names_loopback(&grant(&["net.dial=[::1]:8080"])));
        assert!(names_loopback(&grant(&[
            "net.dial=[::ffff:127.0.0.1]:8080"
        ])));
        assert!(names_loopback(&grant(&["net.dial=LOCALHOST:8080"])));
        assert!(names_loopback(&grant(&[
            "net.dial=ca.example.com:443",
            "net.dial=localhost:9000"
        ])));
    }

    #[test]
    fn kinds_stay_in_the_documented_set() {
        assert_eq!(invoke_kind(&InvokeError::Engine("x".into())), "trap");
        assert_eq!(invoke_kind(&InvokeError::Busy), "busy");
        assert_eq!(
            invoke_kind(&InvokeError::TimedOut { fuel_used: 1 }),
            "timeout"
        );
        assert_eq!(
            invoke_kind(&InvokeError::Rebuild(LoadError::InvalidModule("x".into()))),
            "invalid_module"
        );
    }
}
