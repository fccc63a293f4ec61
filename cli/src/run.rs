//! `pluginhost run`: load a plugin under explicit grants and invoke its entry point once.

use std::path::PathBuf;

use clap::Parser;
use pluginhost::{CallCounts, DenialLog, GuestLogs, Host, LoadError, Plugin, Usage};
use serde_json::{json, Value};

use crate::common::{self, CliResult};
use crate::exit::{self, Exit};
use crate::options::{
    self, GrantArgs, InputArgs, LimitArgs, ModuleArgs, NetworkArgs, OutputArgs, Prepared,
};
use crate::protocol;

const LONG_ABOUT: &str = "\
Load a plugin under explicit grants and invoke its entry point once.

Nothing is granted unless a --grant (or the --grants file) names it: an import whose capability \
is not granted makes loading fail (not_granted), and every granted call is checked against the \
grant's scopes (a refused call is counted as a denial, shown as `denied CAP TARGET (grant: \
SCOPES)` on stderr, and the plugin sees DENIED). A grant wider than what the plugin's manifest \
asks for is warned about (refused with --strict).

Typed messages: --request FILE takes a JSON request of the plugin's protocol, encodes it as the \
postcard message, and decodes the response to JSON. The protocol is --protocol, else the one the \
manifest declares (`protocol=`: issue, acme, deploy, reload, publish-txt, update-txt), else a \
guess from its kind (ca issue, connector deploy, dns publish-txt). A request that does not fit \
is a usage error naming the field (exit 2); a failure response is a failed run (exit 1).

Back-ends:
  files     only with --root DIR, which becomes the guest's `/` (a granted prefix such as /data \
must exist as DIR/data; a prefix may name one file); an fs grant without --root is a usage error.
  network   real TCP. Loopback addresses (127.0.0.0/8, ::1) are refused unless a net.dial \
grant names a loopback IP literal or `localhost`, or a --resolve pins a name to a loopback \
address, which allows loopback for every net.dial grant; private, link-local, multicast and \
reserved addresses are always refused. --resolve NAME:PORT=ADDR[:PORT] sends dials of that \
granted name and port to ADDR (no DNS); the grant is checked against the name. TLS \
(net_dial_tls) verifies servers against the PEM certificates of --tls-roots FILE and the \
dialled name; without --tls-roots, TLS dials fail with IO.
  programs  run directly (no shell, empty environment, no stdin, 10 s deadline). \
process.exec scopes are host paths (not under --root), and programs under --root are refused, \
so a plugin never runs a file it could have written.

The plugin's log lines go to stderr as `[NAME] LEVEL: message` (--log-level, default info). \
Without --json stdout gets the decoded response as JSON (with --request or --protocol) or the \
plugin's raw output, and stderr a line for any error or denial.

With --json stdout gets exactly one JSON object:
  ok            true only if the plugin ran, returned 0 and (if typed) answered with no failure
  result        the entry's i32 return value, or null
  error_kind    null, or not_granted, unknown_import, invalid_module, limit, fuel_exhausted, \
trap, timeout, no_entry, sha256_mismatch, grant_excess, failure_response, decode, ...
  error         the error message, or null
  protocol      the protocol the request was encoded and the response decoded with, or null
  response      the decoded response: {\"ok\": {...}} or {\"failure\": {\"code\", \"message\"}}, \
or null
  output_hex    the plugin's output as lowercase hex (\"\" if none)
  sha256        the module's SHA-256, or null
  fuel_used     fuel used by the invocation (by the start function if it failed at load)
  allowed       granted calls per capability: {\"fs.read\": N, \"fs.write\": N, \"net.dial\": N, \
\"process.exec\": N}
  denials       refused calls per capability, same keys
  denied        [{capability, import, target, truncated, count}], the first 8 targets refused
  logs          [{level, message}]: the plugin's log lines (bounded by the log limit)
  logs_dropped  log lines not kept
  usage         {memory_bytes, memory_grows_refused, output_bytes, log_bytes, ...}
  warnings      grants wider than the manifest asks";

/// Arguments of `pluginhost run`.
#[derive(Debug, Parser)]
#[command(
    about = "Run a plugin's entry point under explicit grants",
    long_about = LONG_ABOUT,
    after_help = exit::TABLE
)]
pub struct Args {
    #[command(flatten)]
    module: ModuleArgs,

    /// The exported function to invoke; its signature must be () -> i32
    #[arg(long, value_name = "NAME", default_value = "run")]
    entry: String,

    #[command(flatten)]
    grants: GrantArgs,

    /// Host directory that the guest's `/` maps to (enables the file back-end)
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,

    #[command(flatten)]
    network: NetworkArgs,

    #[command(flatten)]
    limits: LimitArgs,

    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    output: OutputArgs,
}

/// What one run came to.
struct Outcome {
    result: Option<i32>,
    error: Option<(&'static str, String)>,
    output: Vec<u8>,
    response: Option<Value>,
    fuel_used: u64,
    calls: CallCounts,
    denials: DenialLog,
    logs: GuestLogs,
    usage: Option<Usage>,
}

impl Outcome {
    fn failed(kind: &'static str, message: String, fuel_used: u64) -> Outcome {
        Outcome {
            result: None,
            error: Some((kind, message)),
            output: Vec::new(),
            response: None,
            fuel_used,
            calls: CallCounts::default(),
            denials: DenialLog::default(),
            logs: GuestLogs::default(),
            usage: None,
        }
    }

    fn exit(&self) -> Exit {
        match (&self.error, self.result) {
            (Some((kind, _)), _) => Exit::for_kind(kind),
            (None, Some(0)) => Exit::Success,
            (None, _) => Exit::PluginFailed,
        }
    }

    /// Copies what the plugin did from `plugin`.
    fn observe(&mut self, plugin: &Plugin) {
        self.calls = plugin.stats().calls;
        self.denials = plugin.denials().clone();
        self.logs = plugin.logs().clone();
        self.usage = Some(plugin.usage());
    }
}

/// Loads the module and invokes `entry` once; every failure is an [`Outcome`].
fn execute(prepared: &Prepared, host: &Host, entry: &str) -> Outcome {
    if let Some((kind, message)) = &prepared.refused {
        return Outcome::failed(kind, message.clone(), 0);
    }
    if prepared
        .info
        .as_ref()
        .is_some_and(|info| !info.exports_memory())
    {
        // Every host call that takes a pointer would fail with INVALID: say why at once.
        return Outcome::failed(
            "invalid_module",
            "the module exports no linear memory named `memory`: every plugin must (guest ABI \
             v1)"
            .to_string(),
            0,
        );
    }
    let loaded = match &prepared.wasm {
        Ok(wasm) => host.load(wasm, prepared.grant.clone()),
        Err(e) => Err(e.clone()),
    };
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
    let mut outcome = match host.call(&mut plugin, entry, &prepared.input) {
        Ok(done) => Outcome {
            result: Some(done.status),
            error: None,
            output: done.output,
            response: None,
            fuel_used: done.fuel_used,
            calls: CallCounts::default(),
            denials: DenialLog::default(),
            logs: GuestLogs::default(),
            usage: None,
        },
        Err(e) => Outcome::failed(e.kind(), e.to_string(), e.fuel_used().unwrap_or(0)),
    };
    outcome.observe(&plugin);
    if let (Some(choice), None) = (prepared.protocol, &outcome.error) {
        match protocol::decode(choice.protocol, &outcome.output) {
            Ok((response, failed)) => {
                if failed && outcome.result == Some(0) {
                    let failure = &response["failure"];
                    outcome.error = Some((
                        "failure_response",
                        format!(
                            "the plugin answered with a failure: {}: {}",
                            failure["code"].as_str().unwrap_or("?"),
                            failure["message"].as_str().unwrap_or("")
                        ),
                    ));
                }
                outcome.response = Some(response);
            }
            Err(e) if outcome.result == Some(0) => {
                let hint = choice.hint().map_or_else(String::new, |h| format!("; {h}"));
                outcome.error = Some((
                    "decode",
                    format!(
                        "{} ({}): {e}{hint}",
                        choice.protocol.response_type(),
                        choice.origin()
                    ),
                ));
            }
            Err(_) => {}
        }
    }
    outcome
}

/// The line for stderr about what went wrong, if anything did.
fn problem(args: &Args, outcome: &Outcome) -> Option<String> {
    match (&outcome.error, outcome.result) {
        (Some((kind, message)), _) => Some(format!("error: {message} [{kind}]")),
        (None, Some(status)) if status != 0 => {
            Some(format!("entry `{}` returned {status}", args.entry))
        }
        _ => None,
    }
}

fn usage_json(usage: Option<Usage>) -> Value {
    match usage {
        None => Value::Null,
        Some(u) => json!({
            "fuel_budget": u.fuel_budget,
            "memory_bytes": u.memory_bytes,
            "memory_grows_refused": u.memory_grows_refused,
            "table_grows_refused": u.table_grows_refused,
            "output_bytes": u.output_bytes,
            "output_refused": u.output_refused,
            "log_bytes": u.log_bytes,
            "log_refused": u.log_refused,
        }),
    }
}

/// Runs `pluginhost run`.
pub fn main(args: &Args) -> CliResult {
    let prepared = Prepared::new(&args.module, &args.limits, &args.input, &args.grants)?;
    prepared.require_root(args.root.as_deref())?;
    let network = options::network(&prepared.grant, &args.network)?;
    let backends = options::backends(network, args.root.as_deref())?;
    let host = Host::with_backends(prepared.config, backends);
    for warning in &prepared.excess {
        if prepared.refused.is_none() {
            common::error_line(&format!("warning: grant {warning}"));
        }
    }
    let outcome = execute(&prepared, &host, &args.entry);
    let exit = outcome.exit();
    let name = prepared.name();
    common::show_logs(&name, &outcome.logs, args.output.log_level);
    for line in common::denial_lines(&outcome.denials, &prepared.grant) {
        common::error_line(&line);
    }
    if args.output.json {
        let (allowed, denied_counts) = common::call_counts_json(&outcome.calls);
        let (error_kind, error) = match &outcome.error {
            Some((kind, message)) => (Some(*kind), Some(message.as_str())),
            None => (None, None),
        };
        common::write_json(&json!({
            "ok": exit == Exit::Success,
            "result": outcome.result,
            "error_kind": error_kind,
            "error": error,
            "protocol": prepared.protocol.map(|c| c.protocol.as_str()),
            "response": outcome.response,
            "output_hex": common::hex(&outcome.output),
            "sha256": prepared.sha256,
            "fuel_used": outcome.fuel_used,
            "allowed": allowed,
            "denials": denied_counts,
            "denied": common::denied_json(&outcome.denials),
            "logs": common::logs_json(&outcome.logs),
            "logs_dropped": outcome.logs.dropped(),
            "usage": usage_json(outcome.usage),
            "warnings": prepared.excess,
        }))?;
    } else {
        match &outcome.response {
            Some(response) => {
                let mut text =
                    serde_json::to_string_pretty(response).unwrap_or_else(|_| response.to_string());
                text.push('\n');
                common::write_stdout(text.as_bytes())?;
            }
            None => common::write_stdout(&outcome.output)?,
        }
        if let Some(line) = problem(args, &outcome) {
            common::error_line(&line);
        }
    }
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::options::names_loopback;
    use pluginhost::Grant;

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
}
