//! `left4me-harden`: the command line of the left4me hardening generator.

mod check_cmd;
mod cli;
mod commands;
mod diff_cmd;
mod lint_cmd;
mod out;
mod score_cmd;
mod triage_cmd;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;

/// Runs the command; `Ok` carries its exit code (0 same or done, 1 differs).
fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    let code = commands::run(cli)?;
    out::stdout().flush()?;
    Ok(code)
}

/// Exit 2 with the error on standard error, or, if the error is a closed
/// output pipe, quietly with the status SIGPIPE would give.
fn fail(err: &anyhow::Error) -> ExitCode {
    if out::is_closed_pipe(err) {
        return ExitCode::from(out::CLOSED_PIPE);
    }
    let _ = writeln!(std::io::stderr(), "left4me-harden: error: {err:#}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        // A value our parsers refused (a bad instance or profile name):
        // one error line naming it, as for every other bad input.
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ValueValidation | ErrorKind::InvalidUtf8
            ) =>
        {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            let message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
            return fail(&anyhow::anyhow!(message));
        }
        // Help, version or a usage error: clap's text, its exit code (0
        // for help, 2 for usage), and a failed write handled as any other.
        Err(e) => {
            let printed = e
                .print()
                .and_then(|()| out::stdout().flush())
                .map_err(anyhow::Error::from);
            return match printed {
                Ok(()) => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)),
                Err(err) => {
                    let stream = if e.use_stderr() {
                        "standard error"
                    } else {
                        "standard output"
                    };
                    fail(&err.context(format!("cannot write to {stream}")))
                }
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => fail(&err),
    }
}
