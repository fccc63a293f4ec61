//! Fuzz targets of `pluginhost`, as plain functions so that both the libFuzzer entry points
//! (`fuzz_targets/*.rs`, nightly + cargo-fuzz) and the stable replay harness
//! (`src/bin/replay.rs`, `tests/regressions.rs`) run exactly the same checks.
//!
//! Every target's `run(data)` returns normally for any input and panics when a property fails.

pub mod common;
pub mod execute;
pub mod host_abi;
pub mod host_grant;
pub mod load;
pub mod models;
pub mod path_grant;

/// The targets, by name.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("load", load::run),
    ("execute", execute::run),
    ("host_abi", host_abi::run),
    ("path_grant", path_grant::run),
    ("host_grant", host_grant::run),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// The files of `dir` (not recursive), sorted; a file is itself.
pub fn inputs(path: &std::path::Path) -> Vec<std::path::PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out: Vec<_> = std::fs::read_dir(path)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
