//! `pluginhost inspect`: what a module declares, read without running it.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Parser;
use pluginhost::proto::manifest::{Manifest, ManifestError};
use pluginhost::{inspect, HostConfig, ImportInfo, ModuleInfo};
use serde_json::{json, Value};

use crate::common::{self, CliResult};
use crate::exit::{self, Exit};
use crate::protocol;

const LONG_ABOUT: &str = "\
List what a module declares, without running it: its size, imports (with the capability each \
needs), exports, custom sections and the manifest in the `pluginhost.manifest` section.

With --json stdout gets one object:
  size             the module's size in bytes
  sha256           the module's SHA-256 (of the binary; for text, of the converted binary)
  imports          [{module, name, type, listed, capability}]: listed is whether the host's \
capability table has the import with this signature; capability is the capability it needs, or \
null
  exports          [{name, type}]
  custom_sections  [{name, size}]
  manifest         null, {abi, name, version, kind, protocol, grants: [\"CAP=SCOPE\", ...]} or \
{error}; protocol is the message pair the manifest declares (issue, acme, deploy, reload, \
publish-txt, update-txt), or null
For a module the host refuses, the object is {error, error_kind} instead (exit 3).";

/// Arguments of `pluginhost inspect`.
#[derive(Debug, Parser)]
#[command(
    about = "List a module's imports, exports, custom sections and manifest",
    long_about = LONG_ABOUT,
    after_help = exit::TABLE
)]
pub struct Args {
    /// The module: binary WebAssembly, or WebAssembly text
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Print one JSON object instead of tables
    #[arg(long)]
    json: bool,
}

/// The human description of the capability an import needs.
fn capability_cell(import: &ImportInfo) -> String {
    match (import.listed, import.capability) {
        (true, Some(cap)) => cap.name().to_string(),
        (true, None) => "-".to_string(),
        (false, _) => "not in the capability table".to_string(),
    }
}

fn manifest_grants(manifest: &Manifest) -> Vec<String> {
    manifest
        .requests
        .iter()
        .map(|g| format!("{}={}", g.capability, g.scope))
        .collect()
}

fn manifest_json(manifest: Option<&Result<Manifest, ManifestError>>) -> Value {
    match manifest {
        None => Value::Null,
        Some(Ok(m)) => json!({
            "abi": m.abi,
            "name": m.name,
            "version": m.version,
            "kind": m.kind.as_str(),
            "protocol": m.protocol.map(|p| p.as_str()),
            "grants": manifest_grants(m),
        }),
        Some(Err(e)) => json!({ "error": e.to_string() }),
    }
}

fn to_json(info: &ModuleInfo, sha256: &str) -> Value {
    let imports: Vec<Value> = info
        .imports
        .iter()
        .map(|i| {
            json!({
                "module": i.module,
                "name": i.name,
                "type": i.ty,
                "listed": i.listed,
                "capability": i.capability.map(|c| c.name()),
            })
        })
        .collect();
    let exports: Vec<Value> = info
        .exports
        .iter()
        .map(|e| json!({ "name": e.name, "type": e.ty }))
        .collect();
    let sections: Vec<Value> = info
        .custom_sections
        .iter()
        .map(|s| json!({ "name": s.name, "size": s.size }))
        .collect();
    json!({
        "size": info.size,
        "sha256": sha256,
        "imports": imports,
        "exports": exports,
        "custom_sections": sections,
        "manifest": manifest_json(info.manifest.as_ref()),
    })
}

fn to_text(file: &str, info: &ModuleInfo, sha256: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {} bytes", common::printable(file), info.size);
    let _ = writeln!(out, "sha256: {sha256}");

    let _ = writeln!(out, "\nimports ({}):", info.imports.len());
    if !info.imports.is_empty() {
        let rows: Vec<Vec<String>> = info
            .imports
            .iter()
            .map(|i| {
                vec![
                    i.module.clone(),
                    i.name.clone(),
                    i.ty.clone(),
                    capability_cell(i),
                ]
            })
            .collect();
        out.push_str(&common::table(
            &["MODULE", "NAME", "TYPE", "CAPABILITY"],
            &rows,
        ));
    }

    let _ = writeln!(out, "\nexports ({}):", info.exports.len());
    if !info.exports.is_empty() {
        let rows: Vec<Vec<String>> = info
            .exports
            .iter()
            .map(|e| vec![e.name.clone(), e.ty.clone()])
            .collect();
        out.push_str(&common::table(&["NAME", "TYPE"], &rows));
    }

    let _ = writeln!(out, "\ncustom sections ({}):", info.custom_sections.len());
    if !info.custom_sections.is_empty() {
        let rows: Vec<Vec<String>> = info
            .custom_sections
            .iter()
            .map(|s| vec![s.name.clone(), s.size.to_string()])
            .collect();
        out.push_str(&common::table(&["NAME", "SIZE"], &rows));
    }

    match &info.manifest {
        None => out.push_str("\nmanifest: none\n"),
        Some(Err(e)) => {
            let _ = writeln!(out, "\nmanifest: invalid: {e}");
        }
        Some(Ok(m)) => {
            out.push_str("\nmanifest:\n");
            let grants = manifest_grants(m);
            let grants = if grants.is_empty() {
                "none".to_string()
            } else {
                grants.join(", ")
            };
            let rows = vec![
                vec!["abi".to_string(), m.abi.to_string()],
                vec!["name".to_string(), m.name.clone()],
                vec!["version".to_string(), m.version.clone()],
                vec!["kind".to_string(), m.kind.as_str().to_string()],
                vec!["protocol".to_string(), protocol::declared_text(m)],
                vec!["grants".to_string(), grants],
            ];
            for line in common::table(&["", ""], &rows).lines().skip(1) {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Runs `pluginhost inspect`.
pub fn main(args: &Args) -> CliResult {
    let config = HostConfig::default();
    let result = common::load_module(&args.file, &config.limits)?.and_then(|wasm| {
        let sha256 = common::sha256_hex(&wasm);
        inspect(&config, &wasm).map(|info| (info, sha256))
    });
    match result {
        Ok((info, sha256)) => {
            if args.json {
                common::write_json(&to_json(&info, &sha256))?;
            } else {
                let text = to_text(&args.file.display().to_string(), &info, &sha256);
                common::write_stdout(text.as_bytes())?;
            }
            Ok(Exit::Success)
        }
        Err(e) => {
            if args.json {
                common::write_json(&json!({
                    "error": e.to_string(),
                    "error_kind": e.kind(),
                }))?;
            } else {
                common::error_line(&e.to_string());
            }
            Ok(Exit::Refused)
        }
    }
}
