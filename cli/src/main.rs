//! `pluginhost`: run, inspect and conformance-check WebAssembly plugins from the command line,
//! and start new ones.

mod check;
mod common;
mod exit;
mod inspect;
mod new;
mod options;
mod protocol;
mod run;
mod selftest;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Run untrusted WebAssembly plugins under deny-by-default capability grants.
#[derive(Debug, Parser)]
#[command(name = "pluginhost", version, after_help = exit::TABLE)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Run(run::Args),
    Inspect(inspect::Args),
    Check(check::Args),
    New(new::Args),
    Selftest(selftest::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run(args) => run::main(args),
        Command::Inspect(args) => inspect::main(args),
        Command::Check(args) => check::main(args),
        Command::New(args) => new::main(args),
        Command::Selftest(args) => selftest::main(args),
    };
    match result {
        Ok(exit) => exit.code(),
        Err(e) => {
            common::error_line(&format!("error: {e}"));
            e.exit().code()
        }
    }
}
