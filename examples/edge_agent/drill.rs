//! The containment drill: hostile plugins loaded on purpose under narrow grants. Every attempt
//! outside the grant is denied and counted, nothing outside it changes, and the resource limits
//! and fuel hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pluginhost::{Backends, Capability, Grant, Host, HostConfig, LimitHit, LoadError};

use crate::backends::{MappedPrograms, RoutedNetwork};
use crate::keystore::KeyStore;
use crate::{group, printable, rel, Checks, Row};

/// The containment drill: `hostile-exfiltrate`, `hostile-memhog` and `hostile-growloop`.
#[allow(clippy::too_many_arguments)]
pub fn drill(
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
        grant: "fs.write=/scratch; fs.read, net.dial, process.exec linked with no scope".into(),
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
        grant: "none".into(),
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
        grant: "none".into(),
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
