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

/// `score ...` parsed with only `score`'s own arguments declared (and the
/// global `--quiet`): declaring every subcommand is a good part of a
/// one-unit `score` run. `None` whenever that parse fails for any reason
/// (help, a usage error, another subcommand): the full command line then
/// parses it, so every message is the full parser's. A test checks that
/// what it accepts parses to what the full parser gives.
fn parse_score_alone<I, T>(args: I) -> Option<cli::Cli>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{Args as _, FromArgMatches as _};
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    if args.get(1).is_none_or(|a| a != "score") {
        return None;
    }
    let command = clap::Command::new("left4me-harden")
        .arg(
            clap::Arg::new("quiet")
                .short('q')
                .long("quiet")
                .action(clap::ArgAction::SetTrue)
                .global(true),
        )
        .subcommand(score_cmd::ScoreArgs::augment_args(clap::Command::new(
            "score",
        )))
        .subcommand_required(true);
    let matches = command.try_get_matches_from(args).ok()?;
    cli::Cli::from_arg_matches(&matches).ok()
}

fn main() -> ExitCode {
    let parsed = match parse_score_alone(std::env::args_os()) {
        Some(cli) => Ok(cli),
        None => cli::Cli::try_parse(),
    };
    let cli = match parsed {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_alone_parses_as_the_full_command_line_does() {
        let argv = |line: &str| -> Vec<String> {
            std::iter::once("left4me-harden")
                .chain(line.split_whitespace())
                .map(String::from)
                .collect()
        };
        let full = |argv: &[String]| format!("{:?}", cli::Cli::try_parse_from(argv).ok());
        for line in [
            "score",
            "score /u/a.service b.service",
            "score -q --root /r --json=short",
            "score --summary --threshold 17 x.service",
            "score --instance 7 --json pretty",
            "score --quiet -- --odd.service",
        ] {
            let argv = argv(line);
            let fast = parse_score_alone(&argv);
            assert!(fast.is_some(), "{line}");
            assert_eq!(format!("{fast:?}"), full(&argv), "{line}");
        }
        // What it does not take, the full parser answers (help, errors,
        // other commands, a global option before the command).
        for line in [
            "score --help",
            "score --threshold 101",
            "score --summary --json=short",
            "score --instance a/b",
            "score --no-such-option",
            "render server",
            "-q score",
            "",
        ] {
            assert!(parse_score_alone(argv(line)).is_none(), "{line}");
        }
    }
}
