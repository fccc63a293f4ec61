//! The conformance gate: the admission check a plugin must pass before it is trusted with any
//! grant.
//!
//! The candidate runs under an **empty grant** with every host function linked: gated imports
//! deny and record each attempt, so the plugin can be observed. It must validate and
//! instantiate, export `memory` and `run: () -> i32`, run `run` to completion within the fuel
//! budget without trapping, and perform zero privileged operations. Its manifest, if present,
//! must parse and must ask for every capability its imports need.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use pluginhost_proto::manifest::{Manifest, ManifestError};
use wasmi::ExternType;

use crate::abi;
use crate::capability::{Capability, CapabilitySet};
use crate::runtime::{
    compile, text, DeniedTarget, GuestLogs, Host, InvokeError, Limits, LoadError, Usage, Wasm,
};

/// The entry point conformance runs.
pub const ENTRY: &str = "run";

/// Attempts of one privileged import during the conformance run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The capability the import needs.
    pub capability: Capability,
    /// The import's name.
    pub import: &'static str,
    /// How many calls were made (all denied).
    pub count: u64,
}

/// One check of the gate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// `validates`, `instantiates`, `exports`, `runs`, `no_privileged_operations` or `manifest`.
    pub name: &'static str,
    /// Whether it passed.
    pub passed: bool,
    /// Why, in words a plugin author understands.
    pub reason: String,
}

/// A limit a candidate reached during the conformance run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LimitHit {
    /// The fuel budget ran out.
    Fuel,
    /// `memory.grow` was refused by [`Limits::memory_bytes`].
    Memory,
    /// `table.grow` was refused by [`Limits::table_elements`].
    Table,
    /// `output_write` was refused by [`Limits::output_bytes`].
    Output,
    /// `log` was refused by [`Limits::log_bytes`] or [`Limits::log_message_bytes`].
    Log,
}

impl LimitHit {
    /// `fuel`, `memory`, `table`, `output` or `log`.
    pub const fn name(self) -> &'static str {
        match self {
            LimitHit::Fuel => "fuel",
            LimitHit::Memory => "memory",
            LimitHit::Table => "table",
            LimitHit::Output => "output",
            LimitHit::Log => "log",
        }
    }
}

impl core::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the conformance run consumed, against the host's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Resources {
    /// What `run` consumed.
    pub usage: Usage,
    /// The limits it ran under.
    pub limits: Limits,
}

impl Resources {
    /// Every limit the run reached, in a fixed order.
    pub fn hit(&self) -> Vec<LimitHit> {
        let u = &self.usage;
        [
            (u.fuel_exhausted, LimitHit::Fuel),
            (u.memory_grows_refused > 0, LimitHit::Memory),
            (u.table_grows_refused > 0, LimitHit::Table),
            (u.output_refused > 0, LimitHit::Output),
            (u.log_refused > 0, LimitHit::Log),
        ]
        .into_iter()
        .filter_map(|(hit, which)| hit.then_some(which))
        .collect()
    }
}

/// The outcome of [`Host::conformance`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConformanceReport {
    /// Every check, in order; a check that could not run because an earlier one failed is
    /// reported as failed with the reason.
    pub checks: Vec<Check>,
    /// Whether the module instantiated.
    pub instantiated: bool,
    /// Whether it exports `run: () -> i32` and `memory`.
    pub entry_exported: bool,
    /// Whether `run` (or the start function) trapped or ran out of fuel.
    pub trapped: bool,
    /// The trap or fuel exhaustion, if any.
    pub trap: Option<String>,
    /// Whether what stopped it was the fuel budget (rather than a trap).
    pub fuel_exhausted: bool,
    /// The status `run` returned, if it returned.
    pub status: Option<i32>,
    /// The capabilities its imports need.
    pub declared: CapabilitySet,
    /// Every privileged operation it attempted.
    pub attempted: Vec<Attempt>,
    /// Fuel used by instantiation and `run`.
    pub fuel_used: u64,
    /// Notes for the author, e.g. `imports fs_write: needs fs.write` (feature `report`).
    #[cfg(feature = "report")]
    pub findings: Vec<String>,
    /// The manifest, if it has a valid one.
    pub manifest: Option<Manifest>,
    /// What `run` consumed against the limits, if it ran.
    pub resources: Option<Resources>,
    /// The targets of the privileged operations it attempted (bounded: see
    /// [`DenialLog`](crate::DenialLog)).
    pub denied: Vec<DeniedTarget>,
    /// What `run` logged.
    pub logs: GuestLogs,
}

impl ConformanceReport {
    /// Whether every check passed: the plugin may be admitted.
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// The limits the run reached (none when it did not run).
    pub fn limits_hit(&self) -> Vec<LimitHit> {
        self.resources.map(|r| r.hit()).unwrap_or_default()
    }

    /// How many privileged operations it attempted.
    pub fn privileged_operations(&self) -> u64 {
        self.attempted.iter().map(|a| a.count).sum()
    }

    /// The report for input that is not a module at all (e.g. text that does not parse): the
    /// `validates` check failed with `reason`.
    pub fn not_a_module(reason: impl Into<String>) -> ConformanceReport {
        let mut report = ConformanceReport::empty();
        report.check("validates", false, reason);
        report
    }

    /// Adds a finding (feature `report`). Without the feature the text is never made, so
    /// neither it nor the formatting it needs is in the image.
    fn note(&mut self, finding: impl FnOnce() -> String) {
        #[cfg(feature = "report")]
        self.findings.push(finding());
        #[cfg(not(feature = "report"))]
        let _ = finding;
    }

    fn check(&mut self, name: &'static str, passed: bool, reason: impl Into<String>) {
        self.checks.push(Check {
            name,
            passed,
            reason: reason.into(),
        });
    }

    fn empty() -> ConformanceReport {
        ConformanceReport {
            checks: Vec::new(),
            instantiated: false,
            entry_exported: false,
            trapped: false,
            trap: None,
            fuel_exhausted: false,
            status: None,
            declared: CapabilitySet::empty(),
            attempted: Vec::new(),
            fuel_used: 0,
            #[cfg(feature = "report")]
            findings: Vec::new(),
            manifest: None,
            resources: None,
            denied: Vec::new(),
            logs: GuestLogs::default(),
        }
    }

    /// Records what the run consumed and a finding for each limit it reached.
    fn resource_findings(&mut self, usage: Usage, limits: Limits) {
        let resources = Resources { usage, limits };
        for hit in resources.hit() {
            self.note(|| {
                let detail = match hit {
                    LimitHit::Fuel => format!(
                        "stopped after {} of its {} fuel",
                        usage.fuel_used, usage.fuel_budget
                    ),
                    LimitHit::Memory => format!(
                        "{} memory.grow request(s) refused at {} of {} bytes",
                        usage.memory_grows_refused, usage.memory_bytes, limits.memory_bytes
                    ),
                    LimitHit::Table => format!(
                        "{} table.grow request(s) refused (limit {} elements)",
                        usage.table_grows_refused, limits.table_elements
                    ),
                    LimitHit::Output => format!(
                        "{} output_write call(s) refused after {} of {} bytes",
                        usage.output_refused, usage.output_bytes, limits.output_bytes
                    ),
                    LimitHit::Log => format!(
                        "{} log call(s) refused after {} of {} bytes",
                        usage.log_refused, usage.log_bytes, limits.log_bytes
                    ),
                };
                format!("hit the {hit} limit: {detail}")
            });
        }
        self.resources = Some(resources);
    }
}

/// What the gate reads from a compiled candidate before running it.
struct Scan {
    /// Its manifest: absent, or parsed, or refused.
    manifest: Option<Result<Manifest, ManifestError>>,
    /// The oldest ABI version that offers every listed import, and the first import needing it.
    abi_needed: (u32, Option<&'static str>),
    /// Whether it exports the entry with the entry signature.
    entry: bool,
    /// Whether it exports a linear memory named `memory`.
    memory: bool,
}

/// Validates `wasm` under the host's configuration and reads its imports (into the report's
/// declared capabilities and findings), exports and manifest.
fn scan(
    report: &mut ConformanceReport,
    config: &crate::HostConfig,
    wasm: &[u8],
) -> Result<Scan, LoadError> {
    let module = compile(config, Wasm::Lent(wasm))?;
    let mut abi_needed = (1, None);
    for import in module.imports() {
        let entry = abi::find(import.module(), import.name()).map(|(_, entry)| entry);
        let listed = match (entry, import.ty()) {
            (Some(entry), ExternType::Func(f)) => entry.matches(f).then_some(entry),
            _ => None,
        };
        match listed {
            Some(entry) => {
                if let Some(cap) = entry.capability {
                    report.declared = report.declared.with(cap);
                    report.note(|| format!("imports {}: needs {cap}", import.name()));
                }
                if entry.since > abi_needed.0 {
                    abi_needed = (entry.since, Some(entry.name));
                }
            }
            None => report.note(|| {
                format!(
                    "imports {}.{} ({}): not a host function of ABI v{}",
                    import.module(),
                    import.name(),
                    abi::describe(import.ty()),
                    crate::ABI_VERSION
                )
            }),
        }
    }
    let (mut entry, mut memory) = (false, false);
    for export in module.exports() {
        match export.ty() {
            ExternType::Func(f) if export.name() == ENTRY => {
                entry = f.params().is_empty() && f.results() == [wasmi::ValType::I32];
            }
            ExternType::Memory(_) if export.name() == "memory" => memory = true,
            _ => {}
        }
    }
    Ok(Scan {
        manifest: crate::manifest::manifest_of(&module),
        abi_needed,
        entry,
        memory,
    })
}

fn manifest_findings(
    report: &mut ConformanceReport,
    manifest: Option<Result<Manifest, ManifestError>>,
    (needed, import): (u32, Option<&'static str>),
) {
    match manifest {
        None => {
            report.note(|| {
                format!(
                    "no manifest: declare one in the `{}` custom section",
                    crate::MANIFEST_SECTION
                )
            });
            report.check("manifest", true, "no manifest (optional)");
        }
        Some(Err(e)) => report.check("manifest", false, format!("manifest is invalid: {e}")),
        Some(Ok(manifest)) => {
            let asked: CapabilitySet = manifest
                .requests
                .iter()
                .filter_map(|g| g.capability.parse::<Capability>().ok())
                .collect();
            // The capabilities its imports need that the manifest does not ask for, listed.
            let mut missing = String::new();
            for capability in report.declared.iter().filter(|c| !asked.contains(*c)) {
                if !missing.is_empty() {
                    missing.push_str(", ");
                }
                missing.push_str(capability.name());
            }
            if manifest.abi < needed {
                let import = import.unwrap_or("an import");
                report.note(|| {
                    format!(
                        "imports {import} (ABI {needed}), but the manifest declares abi={}",
                        manifest.abi
                    )
                });
                report.check(
                    "manifest",
                    false,
                    format!(
                        "manifest declares abi={}, its imports need ABI {needed}",
                        manifest.abi
                    ),
                );
            } else if missing.is_empty() {
                report.check(
                    "manifest",
                    true,
                    "manifest asks for every capability its imports need",
                );
            } else {
                report.note(|| {
                    format!("imports need {missing}, which the manifest does not ask for")
                });
                report.check(
                    "manifest",
                    false,
                    format!("imports need more than the manifest asks for: {missing}"),
                );
            }
            report.manifest = Some(manifest);
        }
    }
}

impl Host {
    /// Runs the conformance gate on `wasm` with an empty input. Never panics and never hangs:
    /// every stage is bounded by this host's limits and fuel budget. Uses its own invocation
    /// slot, outside this host's pool.
    pub fn conformance(&self, wasm: &[u8]) -> ConformanceReport {
        self.conformance_with_input(wasm, &[])
    }

    /// As [`Host::conformance`], with `input` given to `run`.
    pub fn conformance_with_input(&self, wasm: &[u8], input: &[u8]) -> ConformanceReport {
        let mut report = ConformanceReport::empty();
        let info = match scan(&mut report, self.config(), wasm) {
            Ok(info) => info,
            Err(e) => {
                report.check("validates", false, text(&e));
                return report;
            }
        };
        report.check(
            "validates",
            true,
            "valid WebAssembly within the module limits",
        );
        manifest_findings(&mut report, info.manifest, info.abi_needed);

        let (entry, memory) = (info.entry, info.memory);
        report.entry_exported = entry && memory;
        let exports_reason = match (entry, memory) {
            (true, true) => "exports run: () -> i32 and memory",
            (false, true) => "does not export run: () -> i32",
            (true, false) => "does not export a memory named `memory`",
            (false, false) => "exports neither run: () -> i32 nor memory",
        };
        report.check("exports", report.entry_exported, exports_reason);

        // A private host: the gate never competes with (or is refused by) the embedder's pool.
        let gate = Host::new(self.config().with_max_concurrent(1));
        let mut plugin = match gate.load_probe(wasm) {
            Ok(plugin) => plugin,
            Err(e) => {
                if let LoadError::StartTrap(_) | LoadError::StartFuelExhausted { .. } = e {
                    report.trapped = true;
                    report.fuel_exhausted = matches!(e, LoadError::StartFuelExhausted { .. });
                    report.trap = Some(text(&e));
                }
                report.check("instantiates", false, text(&e));
                report.check("runs", false, "not run: the module did not instantiate");
                report.check(
                    "no_privileged_operations",
                    false,
                    "not observed: the module did not instantiate",
                );
                return report;
            }
        };
        report.instantiated = true;
        report.check(
            "instantiates",
            true,
            "instantiated with every gated import denied",
        );

        if report.entry_exported {
            match gate.call(&mut plugin, ENTRY, input) {
                Ok(done) => {
                    report.status = Some(done.status);
                    report.fuel_used = plugin.stats().fuel_used;
                    report.check(
                        "runs",
                        true,
                        format!("run returned {} using {} fuel", done.status, done.fuel_used),
                    );
                    if done.status != 0 {
                        report.note(|| {
                            format!(
                                "run returned {} on {} bytes of input (not a failure of the gate)",
                                done.status,
                                input.len()
                            )
                        });
                    }
                }
                Err(e) => {
                    report.trapped = matches!(
                        e,
                        InvokeError::Trap { .. } | InvokeError::FuelExhausted { .. }
                    );
                    report.fuel_exhausted = matches!(e, InvokeError::FuelExhausted { .. });
                    let reason = text(&e);
                    report.trap = Some(reason.clone());
                    report.fuel_used = plugin.stats().fuel_used;
                    report.check("runs", false, reason);
                }
            }
        } else {
            report.fuel_used = plugin.stats().fuel_used;
            report.check("runs", false, "not run: no entry point");
        }

        report.resource_findings(plugin.usage(), self.config().limits);
        // The gate's private plugin is dropped below: its logs move into the report.
        report.logs = core::mem::take(&mut plugin.store.data_mut().invocation.logs);
        let denied: Vec<DeniedTarget> = plugin.denials().targets().cloned().collect();
        let attempted: Vec<Attempt> = plugin
            .denials()
            .iter()
            .map(|d| Attempt {
                capability: d.capability,
                import: d.import,
                count: d.count,
            })
            .collect();
        for a in &attempted {
            report.note(|| {
                format!(
                    "attempted {} {} time(s): needs {}",
                    a.import, a.count, a.capability
                )
            });
        }
        for target in &denied {
            report.note(|| format!("denied {target} ({})", target.import));
        }
        report.denied = denied;
        report.attempted = attempted;
        let attempts = report.privileged_operations();
        report.check(
            "no_privileged_operations",
            attempts == 0,
            if attempts == 0 {
                "performed no privileged operation".to_string()
            } else {
                format!("attempted {attempts} privileged operation(s) under an empty grant")
            },
        );
        report
    }
}
