//! `pluginhost check`: the conformance gate a plugin must pass before it is trusted with any
//! grant.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Parser;
use pluginhost::{CapabilitySet, ConformanceReport, Host, HostConfig};
use serde_json::{json, Value};

use crate::common::{self, CliResult};

const LONG_ABOUT: &str = "\
Run the conformance gate on a plugin: it runs `run` once with empty input under an empty grant, \
with every host function linked so that each privileged call is denied and recorded.

A plugin is admitted when it validates, instantiates, exports `memory` and run: () -> i32, runs \
to completion within the fuel budget without trapping, performs no privileged operation, and \
its manifest (if any) parses and asks for every capability its imports need.

With --json stdout gets one object:
  ok                     true if admitted
  instantiated           whether the module instantiated
  entry_exported         whether it exports run: () -> i32 and memory
  trapped                whether it trapped or ran out of fuel
  trap                   the trap or fuel exhaustion, or null
  status                 what run returned, or null
  declared               the capabilities its imports need, e.g. [\"fs.write\"]
  privileged_operations  how many privileged calls it attempted
  attempted              [{capability, import, count}]
  fuel_used              fuel used by instantiation and run
  findings               notes for the plugin's author
  checks                 [{name, passed, reason}]";

const EXIT_CODES: &str = "\
Exit status:
  0  admitted
  1  not admitted (including a file that is not a module)
  2  usage or I/O error (nothing is printed on stdout)";

/// Arguments of `pluginhost check`.
#[derive(Debug, Parser)]
#[command(
    about = "Run the conformance gate: may this plugin be admitted?",
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES
)]
pub struct Args {
    /// The plugin: binary WebAssembly, or WebAssembly text
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Print one JSON object instead of the report
    #[arg(long)]
    json: bool,
}

fn declared_names(set: CapabilitySet) -> Vec<&'static str> {
    set.iter().map(|c| c.name()).collect()
}

fn to_json(report: &ConformanceReport) -> Value {
    let attempted: Vec<Value> = report
        .attempted
        .iter()
        .map(|a| {
            json!({
                "capability": a.capability.name(),
                "import": a.import,
                "count": a.count,
            })
        })
        .collect();
    let checks: Vec<Value> = report
        .checks
        .iter()
        .map(|c| json!({ "name": c.name, "passed": c.passed, "reason": c.reason }))
        .collect();
    json!({
        "ok": report.ok(),
        "instantiated": report.instantiated,
        "entry_exported": report.entry_exported,
        "trapped": report.trapped,
        "trap": report.trap,
        "fuel_exhausted": report.fuel_exhausted,
        "status": report.status,
        "declared": declared_names(report.declared),
        "privileged_operations": report.privileged_operations(),
        "attempted": attempted,
        "fuel_used": report.fuel_used,
        "findings": report.findings,
        "checks": checks,
    })
}

fn to_text(file: &str, report: &ConformanceReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}:", common::printable(file));
    let rows: Vec<Vec<String>> = report
        .checks
        .iter()
        .map(|c| {
            let verdict = if c.passed { "PASS" } else { "FAIL" };
            vec![verdict.to_string(), c.name.to_string(), c.reason.clone()]
        })
        .collect();
    out.push_str(&common::table(&["RESULT", "CHECK", "REASON"], &rows));

    let declared = declared_names(report.declared);
    let declared = if declared.is_empty() {
        "none".to_string()
    } else {
        declared.join(", ")
    };
    let _ = writeln!(out, "\ndeclared capabilities: {declared}");

    if report.attempted.is_empty() {
        out.push_str("attempted privileged operations: none\n");
    } else {
        let _ = writeln!(
            out,
            "attempted privileged operations: {}",
            report.privileged_operations()
        );
        let rows: Vec<Vec<String>> = report
            .attempted
            .iter()
            .map(|a| {
                vec![
                    a.capability.name().to_string(),
                    a.import.to_string(),
                    a.count.to_string(),
                ]
            })
            .collect();
        out.push_str(&common::table(&["CAPABILITY", "IMPORT", "COUNT"], &rows));
    }
    if let Some(trap) = &report.trap {
        let _ = writeln!(out, "trap: {}", common::printable(trap));
    }
    let _ = writeln!(out, "fuel used: {}", report.fuel_used);

    if report.findings.is_empty() {
        out.push_str("findings: none\n");
    } else {
        out.push_str("findings:\n");
        for finding in &report.findings {
            let _ = writeln!(out, "  - {}", common::printable(finding));
        }
    }
    out.push_str(if report.ok() {
        "\nADMITTED\n"
    } else {
        "\nNOT ADMITTED\n"
    });
    out
}

/// Runs `pluginhost check`.
pub fn main(args: &Args) -> CliResult {
    let host = Host::new(HostConfig::default());
    let report = match common::load_module(&args.file, &host.config().limits)? {
        Ok(wasm) => host.conformance(&wasm),
        Err(e) => ConformanceReport::not_a_module(e.to_string()),
    };
    if args.json {
        common::write_json(&to_json(&report))?;
    } else {
        let text = to_text(&args.file.display().to_string(), &report);
        common::write_stdout(text.as_bytes())?;
    }
    Ok(common::status(report.ok()))
}
