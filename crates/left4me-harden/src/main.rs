//! `left4me-harden`: the command line of the left4me hardening generator.

mod check_cmd;
mod cli;
mod commands;
mod diff_cmd;
mod fsutil;
mod lint_cmd;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

/// Runs the command; `Ok` carries its exit code (0 same or done, 1 differs).
fn run() -> anyhow::Result<ExitCode> {
    let cli = cli::Cli::parse();
    commands::run(cli)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "left4me-harden: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
