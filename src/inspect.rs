//! Static inspection of a module: imports with the capability each needs, exports, custom
//! sections and the plugin's manifest. Nothing runs.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use pluginhost_proto::manifest::{Manifest, ManifestError};
use wasmi::ExternType;

use crate::abi;
use crate::capability::{Capability, CapabilitySet};
use crate::runtime::{compile, HostConfig, LoadError, Wasm};

/// One import of a module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportInfo {
    /// The import's module name.
    pub module: String,
    /// The import's field name.
    pub name: String,
    /// `func`, `memory`, `table` or `global`, with a function's signature.
    pub ty: String,
    /// Whether the capability table lists it (with this signature).
    pub listed: bool,
    /// The capability it needs, if the table lists it and it is gated.
    pub capability: Option<Capability>,
}

/// One export of a module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportInfo {
    /// The export's name.
    pub name: String,
    /// `func`, `memory`, `table` or `global`, with a function's signature.
    pub ty: String,
}

/// One custom section of a module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomSectionInfo {
    /// The section's name.
    pub name: String,
    /// Its size in bytes.
    pub size: usize,
}

/// What a module declares, read without running it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleInfo {
    /// The module's size in bytes.
    pub size: usize,
    /// Its imports, in order.
    pub imports: Vec<ImportInfo>,
    /// Its exports, in order.
    pub exports: Vec<ExportInfo>,
    /// Its custom sections, in order.
    pub custom_sections: Vec<CustomSectionInfo>,
    /// Its manifest: absent, or parsed, or refused.
    pub manifest: Option<Result<Manifest, ManifestError>>,
}

impl ModuleInfo {
    /// The capabilities its imports need.
    pub fn declared_capabilities(&self) -> CapabilitySet {
        self.imports.iter().filter_map(|i| i.capability).collect()
    }

    /// The oldest guest ABI version that offers every listed import (1 for none), and the first
    /// import that needs it.
    pub fn abi_needed(&self) -> (u32, Option<&str>) {
        self.imports
            .iter()
            .filter(|i| i.listed)
            .filter_map(|i| abi::find(&i.module, &i.name).map(|(_, f)| (f.since, f.name)))
            .fold((1, None), |(v, n), (since, name)| {
                if since > v {
                    (since, Some(name))
                } else {
                    (v, n)
                }
            })
    }

    /// Whether it exports a function `name` with the entry signature `() -> i32`.
    pub fn exports_entry(&self, name: &str) -> bool {
        self.exports
            .iter()
            .any(|e| e.name == name && e.ty == "func () -> i32")
    }

    /// Whether it exports a linear memory named `memory`.
    pub fn exports_memory(&self) -> bool {
        self.exports
            .iter()
            .any(|e| e.name == "memory" && e.ty.starts_with("memory"))
    }
}

/// Validates `wasm` under `config` and lists what it declares.
///
/// # Errors
/// [`LoadError::ModuleTooLarge`], [`LoadError::InvalidModule`], [`LoadError::ModuleLimit`].
pub fn inspect(config: &HostConfig, wasm: &[u8]) -> Result<ModuleInfo, LoadError> {
    let module = compile(config, Wasm::Lent(wasm))?;
    let imports = module
        .imports()
        .map(|import| {
            let entry = abi::find(import.module(), import.name()).map(|(_, entry)| entry);
            let listed = match (entry, import.ty()) {
                (Some(entry), ExternType::Func(f)) => entry.matches(f),
                _ => false,
            };
            ImportInfo {
                module: import.module().to_string(),
                name: import.name().to_string(),
                ty: abi::describe(import.ty()),
                listed,
                capability: entry.filter(|_| listed).and_then(|e| e.capability),
            }
        })
        .collect();
    let exports = module
        .exports()
        .map(|export| ExportInfo {
            name: export.name().to_string(),
            ty: abi::describe(export.ty()),
        })
        .collect();
    let custom_sections = module
        .custom_sections()
        .map(|s| CustomSectionInfo {
            name: s.name().to_string(),
            size: s.data().len(),
        })
        .collect();
    Ok(ModuleInfo {
        size: wasm.len(),
        imports,
        exports,
        custom_sections,
        manifest: crate::manifest::manifest_of(&module),
    })
}
