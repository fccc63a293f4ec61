//! `pluginhost selftest`: does this build keep the native stack flat under every operation class?

use clap::Parser;
use pluginhost::probe_native_stack;
use serde_json::json;

use crate::common::{self, CliError, CliResult};
use crate::exit::Exit;

const LONG_ABOUT: &str = "\
Check this very build of the host: for each class of guest operation (arithmetic, branches, \
br_table, memory access, memory.grow, bulk memory, tables, table.grow, globals, calls, \
call_indirect, tail calls, host calls), run N operations between two host calls that record the native \
stack depth, under the engine configuration every plugin gets, and report how far the native \
stack moved. In a sound build every class is flat.

wasmi's tail-call dispatch (optimised builds) relies on LLVM turning each instruction handler's \
last call into a sibling call; a compiler, wasmi version or build profile that breaks this for \
one handler lets a guest loop of that instruction overflow the host's native stack. Run this \
after changing any of them.

With --json stdout gets one object: {flat, operations, classes: [{class, growth_bytes, \
bytes_per_operation}]}.";

const EXIT_CODES: &str = "\
Exit status:
  0  every operation class left the native stack flat
  1  some class grew the native stack (named in the output): do not ship this build
  2  usage error, or the probe could not run";

/// Arguments of `pluginhost selftest`.
#[derive(Debug, Parser)]
#[command(
    about = "Check that no guest operation grows this build's native stack",
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES
)]
pub struct Args {
    /// Operations of each class between the two records.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    operations: u32,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// Runs `pluginhost selftest`.
pub fn main(args: &Args) -> CliResult {
    // The probe needs native stack only when a class grows it: give it room to report the class
    // by name instead of overflowing (10,000 operations nesting ~200 bytes each need 2 MB).
    let operations = args.operations;
    let report = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || probe_native_stack(operations))
        .map_err(|e| CliError::usage(format!("cannot start the probe thread: {e}")))?
        .join()
        .map_err(|_| CliError::usage("the probe thread panicked"))?
        .map_err(|e| CliError::usage(format!("the probe could not run: {e}")))?;
    if args.json {
        let classes: Vec<_> = report
            .classes()
            .iter()
            .map(|c| {
                json!({
                    "class": c.class.entry(),
                    "growth_bytes": c.growth_bytes,
                    "bytes_per_operation": c.bytes_per_operation(),
                })
            })
            .collect();
        common::write_json(&json!({
            "flat": report.is_flat(),
            "operations": operations,
            "classes": classes,
        }))?;
    } else {
        print!("{report}");
        if report.is_flat() {
            println!("\nnative stack flat for every operation class");
        } else {
            for c in report.growing() {
                println!(
                    "\nFAIL: {} grows the native stack by about {} bytes per operation: a guest \
                     loop of it overflows the host's stack",
                    c.class,
                    c.bytes_per_operation()
                );
            }
        }
    }
    // Its own table (see EXIT_CODES): 1 is a build that must not ship.
    Ok(if report.is_flat() {
        Exit::Success
    } else {
        Exit::PluginFailed
    })
}
