//! Replays inputs through the fuzz targets on a stable toolchain (no libFuzzer, no sanitizer).
//!
//! ```text
//! replay TARGET FILE_OR_DIR...   run every file through TARGET
//! replay all DIR...              run DIR/<target>/* through each target
//! ```
//!
//! Exits with status 1 if any input panics, naming it.

use std::panic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pluginhost_fuzz::{inputs, target, TARGETS};

fn replay(name: &str, run: fn(&[u8]), files: &[PathBuf]) -> (usize, Vec<PathBuf>) {
    let mut failed = Vec::new();
    for file in files {
        let Ok(data) = std::fs::read(file) else {
            eprintln!("cannot read {}", file.display());
            failed.push(file.clone());
            continue;
        };
        if panic::catch_unwind(|| run(&data)).is_err() {
            eprintln!("FAILED {name}: {}", file.display());
            failed.push(file.clone());
        }
    }
    (files.len(), failed)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((which, paths)) = args.split_first() else {
        eprintln!("usage: replay TARGET|all PATH...");
        return ExitCode::from(2);
    };
    let mut total = 0;
    let mut failed = Vec::new();
    if which == "all" {
        for (name, run) in TARGETS {
            let files: Vec<PathBuf> = paths
                .iter()
                .flat_map(|p| inputs(&Path::new(p).join(name)))
                .collect();
            let (n, f) = replay(name, *run, &files);
            println!("{name}: {n} inputs, {} failed", f.len());
            total += n;
            failed.extend(f);
        }
    } else {
        let Some(run) = target(which) else {
            eprintln!("unknown target {which}");
            return ExitCode::from(2);
        };
        let files: Vec<PathBuf> = paths.iter().flat_map(|p| inputs(Path::new(p))).collect();
        let (n, f) = replay(which, run, &files);
        println!("{which}: {n} inputs, {} failed", f.len());
        total += n;
        failed.extend(f);
    }
    if failed.is_empty() {
        println!("replayed {total} inputs: all passed");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
