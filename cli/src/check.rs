//! `pluginhost check`: the conformance gate a plugin must pass before it is trusted with any
//! grant.

use std::fmt::Write as _;

use clap::Parser;
use pluginhost::{CapabilitySet, ConformanceReport, Host, Resources};
use serde_json::{json, Value};

use crate::common::{self, CliResult};
use crate::exit::{self, Exit};
use crate::options::{GrantArgs, InputArgs, LimitArgs, ModuleArgs, OutputArgs, Prepared};
use crate::protocol;

const LONG_ABOUT: &str = "\
Run the conformance gate on a plugin: it runs `run` once (with empty input, or --input / \
--request) under an empty grant, with every host function linked so that each privileged call \
is denied and recorded.

A plugin is admitted when it validates, instantiates, exports `memory` and run: () -> i32, runs \
to completion within the fuel budget without trapping, performs no privileged operation, and \
its manifest (if any) parses and asks for every capability its imports need. With --strict it \
must also stay within every limit (memory, table, output, log) and any --grant/--grants must be \
covered by its manifest; without --strict those are findings only. Grants are never given to the candidate: the gate runs under an empty grant, and --grant/--grants are only checked against its manifest.

The report gives the module's SHA-256, each check, what it consumed against the limits (peak \
linear memory, refused grows, fuel, output and log bytes), every privileged operation it \
attempted with its target, and findings. Its log lines go to stderr (--log-level).

With --json stdout gets one object:
  ok                     true if admitted
  sha256                 the module's SHA-256, or null
  instantiated           whether the module instantiated
  entry_exported         whether it exports run: () -> i32 and memory
  trapped                whether it trapped or ran out of fuel
  trap                   the trap or fuel exhaustion, or null
  status                 what run returned, or null
  declared               the capabilities its imports need, e.g. [\"fs.write\"]
  protocol               the message pair its manifest declares (e.g. \"reload\"), or null
  privileged_operations  how many privileged calls it attempted
  attempted              [{capability, import, count}]
  denied                 [{capability, import, target, truncated, count}]
  fuel_used              fuel used by instantiation and run
  resources              null, or {memory_bytes, memory_limit, memory_grows_refused, \
table_grows_refused, fuel_used, fuel_budget, output_bytes, output_limit, log_bytes, log_limit, \
limits_hit}
  logs                   [{level, message}]
  findings               notes for the plugin's author
  warnings               grants wider than the manifest asks
  checks                 [{name, passed, reason}]";

/// Arguments of `pluginhost check`.
#[derive(Debug, Parser)]
#[command(
    about = "Run the conformance gate: may this plugin be admitted?",
    long_about = LONG_ABOUT,
    after_help = exit::TABLE
)]
pub struct Args {
    #[command(flatten)]
    module: ModuleArgs,

    #[command(flatten)]
    grants: GrantArgs,

    #[command(flatten)]
    limits: LimitArgs,

    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    output: OutputArgs,
}

fn declared_names(set: CapabilitySet) -> Vec<&'static str> {
    set.iter().map(|c| c.name()).collect()
}

fn resources_json(resources: Option<&Resources>) -> Value {
    let Some(r) = resources else {
        return Value::Null;
    };
    let u = &r.usage;
    let hit: Vec<&str> = r.hit().iter().map(|h| h.name()).collect();
    json!({
        "memory_bytes": u.memory_bytes,
        "memory_limit": r.limits.memory_bytes,
        "memory_grows_refused": u.memory_grows_refused,
        "table_grows_refused": u.table_grows_refused,
        "fuel_used": u.fuel_used,
        "fuel_budget": u.fuel_budget,
        "output_bytes": u.output_bytes,
        "output_limit": r.limits.output_bytes,
        "log_bytes": u.log_bytes,
        "log_limit": r.limits.log_bytes,
        "limits_hit": hit,
    })
}

/// The verdict: the gate's, and with `--strict` no limit hit and no grant excess.
struct Verdict<'a> {
    report: &'a ConformanceReport,
    prepared: &'a Prepared,
    strict: bool,
}

impl Verdict<'_> {
    /// Why the candidate is refused beyond the gate's own checks.
    fn extra_refusals(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((_, message)) = &self.prepared.refused {
            out.push(message.clone());
        }
        if self.strict {
            for hit in self.report.limits_hit() {
                out.push(format!("--strict: hit the {hit} limit"));
            }
        }
        out
    }

    fn admitted(&self) -> bool {
        self.report.ok() && self.extra_refusals().is_empty()
    }
}

fn to_json(verdict: &Verdict<'_>) -> Value {
    let report = verdict.report;
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
    let denied = common::denied_targets_json(report.denied.iter());
    let checks: Vec<Value> = report
        .checks
        .iter()
        .map(|c| json!({ "name": c.name, "passed": c.passed, "reason": c.reason }))
        .collect();
    let mut findings = report.findings.clone();
    findings.extend(verdict.extra_refusals());
    json!({
        "ok": verdict.admitted(),
        "sha256": verdict.prepared.sha256,
        "instantiated": report.instantiated,
        "entry_exported": report.entry_exported,
        "trapped": report.trapped,
        "trap": report.trap,
        "fuel_exhausted": report.fuel_exhausted,
        "status": report.status,
        "declared": declared_names(report.declared),
        "protocol": verdict
            .prepared
            .manifest()
            .and_then(|m| m.protocol)
            .map(|p| p.as_str()),
        "privileged_operations": report.privileged_operations(),
        "attempted": attempted,
        "denied": denied,
        "fuel_used": report.fuel_used,
        "resources": resources_json(report.resources.as_ref()),
        "logs": common::logs_json(&report.logs),
        "findings": findings,
        "warnings": verdict.prepared.excess,
        "checks": checks,
    })
}

fn resources_text(out: &mut String, r: &Resources) {
    let u = &r.usage;
    out.push_str("resources:\n");
    let mut rows = vec![
        vec![
            "memory".to_string(),
            format!("{} of {} bytes", u.memory_bytes, r.limits.memory_bytes),
            if u.memory_grows_refused > 0 {
                format!("{} grows refused: LIMIT HIT", u.memory_grows_refused)
            } else {
                "no grow refused".to_string()
            },
        ],
        vec![
            "fuel".to_string(),
            format!("{} of {}", u.fuel_used, u.fuel_budget),
            if u.fuel_exhausted {
                "exhausted: LIMIT HIT".to_string()
            } else {
                String::new()
            },
        ],
        vec![
            "output".to_string(),
            format!("{} of {} bytes", u.output_bytes, r.limits.output_bytes),
            if u.output_refused > 0 {
                format!("{} writes refused: LIMIT HIT", u.output_refused)
            } else {
                String::new()
            },
        ],
        vec![
            "log".to_string(),
            format!("{} of {} bytes", u.log_bytes, r.limits.log_bytes),
            if u.log_refused > 0 {
                format!("{} lines refused: LIMIT HIT", u.log_refused)
            } else {
                String::new()
            },
        ],
    ];
    if u.table_grows_refused > 0 {
        rows.push(vec![
            "table".to_string(),
            format!("limit {} elements", r.limits.table_elements),
            format!("{} grows refused: LIMIT HIT", u.table_grows_refused),
        ]);
    }
    for line in common::table(&["", "", ""], &rows).lines().skip(1) {
        out.push_str(line);
        out.push('\n');
    }
}

fn to_text(file: &str, verdict: &Verdict<'_>) -> String {
    let report = verdict.report;
    let mut out = String::new();
    let _ = writeln!(out, "{}:", common::printable(file));
    if let Some(sha256) = &verdict.prepared.sha256 {
        let _ = writeln!(out, "sha256: {sha256}");
    }
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
    if let Some(manifest) = verdict.prepared.manifest() {
        let _ = writeln!(out, "protocol: {}", protocol::declared_text(manifest));
    }

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
    if let Some(resources) = &report.resources {
        resources_text(&mut out, resources);
    }

    let mut findings = report.findings.clone();
    findings.extend(verdict.prepared.excess.iter().map(|e| format!("grant {e}")));
    findings.extend(verdict.extra_refusals());
    if findings.is_empty() {
        out.push_str("findings: none\n");
    } else {
        out.push_str("findings:\n");
        for finding in &findings {
            let _ = writeln!(out, "  - {}", common::printable(finding));
        }
    }
    out.push_str(if verdict.admitted() {
        "\nADMITTED\n"
    } else {
        "\nNOT ADMITTED\n"
    });
    out
}

/// Runs `pluginhost check`.
pub fn main(args: &Args) -> CliResult {
    let prepared = Prepared::new(&args.module, &args.limits, &args.input, &args.grants)?;
    let host = Host::new(prepared.config);
    let report = match &prepared.wasm {
        Ok(wasm) => host.conformance_with_input(wasm, &prepared.input),
        Err(e) => ConformanceReport::not_a_module(e.to_string()),
    };
    let verdict = Verdict {
        report: &report,
        prepared: &prepared,
        strict: args.grants.strict,
    };
    common::show_logs(&prepared.name(), &report.logs, args.output.log_level);
    if args.output.json {
        common::write_json(&to_json(&verdict))?;
    } else {
        let text = to_text(&args.module.file.display().to_string(), &verdict);
        common::write_stdout(text.as_bytes())?;
    }
    Ok(if verdict.admitted() {
        Exit::Success
    } else {
        Exit::Refused
    })
}
