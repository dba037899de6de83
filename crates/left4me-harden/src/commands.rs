//! The subcommands.

use std::io::{self, Write as _};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::CommandFactory as _;
use dropin::{Instance, RenderOptions};
use left4me_hardening::Host;
use left4me_hardening::{output, shell};
use rootfs::{Budget, Limits, Outcome, Root, WriteOptions};

use crate::cli::{
    Cli, Command, ExplainArgs, Format, HostArgs, ListArgs, RenderArgs, WriteArgs, WriteFormat,
};
use crate::out;

pub(crate) fn run(cli: Cli) -> Result<ExitCode> {
    // Everything one run reads (host config, installed files, show
    // output) shares one budget.
    let budget = Budget::new(Limits {
        file_bytes: u64::try_from(dropin::load::FILE_MAX).unwrap_or(u64::MAX),
        ..Limits::DEFAULT
    });
    out::set_quiet(cli.quiet);
    match cli.command {
        Command::Render(args) => render(&args, &budget),
        Command::Write(args) => write(&args, &budget),
        Command::Diff(args) => crate::diff_cmd::run(&args, &budget),
        Command::List(args) => list(&args, &budget),
        Command::Explain(args) => explain(&args, &budget),
        Command::Lint(args) => crate::lint_cmd::run(&args, &budget),
        Command::Check(args) => crate::check_cmd::run(&args, &budget),
        Command::Triage(args) => crate::triage_cmd::run(&args, &budget),
        Command::Score(args) => crate::score_cmd::run(&args, &budget),
        Command::Completions { shell } => print(shell::completion(shell, &mut Cli::command())),
        Command::Man {
            subcommand,
            out_dir,
        } => man(subcommand.as_deref(), out_dir.as_deref()),
    }
}

/// Builds the host from the command line's host options.
pub(crate) fn host(args: &HostArgs, budget: &Budget) -> Result<Host> {
    let mut host =
        left4me_hardening::config::discover(args.config.as_deref(), args.no_config, budget)?;
    host.systemd_version = args.systemd_version;
    Ok(host)
}

/// The instances named, each once: a repeat is left out with a note.
pub(crate) fn instances(all: &[Instance]) -> Result<Vec<Instance>> {
    let (once, repeated) = left4me_hardening::host::fold_instances(all);
    let mut err = out::stderr();
    for i in repeated.iter().filter(|_| !out::quiet()) {
        writeln!(
            err,
            "left4me-harden: note: instance {:?} is given more than once; it counts once",
            i.as_str()
        )?;
    }
    Ok(once)
}

fn options(no_comments: bool) -> RenderOptions {
    RenderOptions {
        comments: !no_comments,
    }
}

pub(crate) fn pretty(json: &serde_json::Value) -> Result<String> {
    Ok(serde_json::to_string_pretty(json)? + "\n")
}

fn render(args: &RenderArgs, budget: &Budget) -> Result<ExitCode> {
    let kind = args.profile;
    let host = host(&args.host, budget)?;
    let generated = host.generate(kind, args.instance.as_ref(), options(args.no_comments))?;
    crate::lint_cmd::print_warnings(std::slice::from_ref(&generated))?;
    let score = left4me_hardening::score::lines(&host, std::slice::from_ref(&generated), None);
    for line in score.iter().filter(|_| !out::quiet()) {
        writeln!(out::stderr(), "left4me-harden: {line}")?;
    }
    let text = match args.format {
        Format::Conf => generated.text.clone(),
        Format::Bundlewrap => pretty(&output::bundlewrap(&generated))?,
        Format::Json => pretty(&host.describe(&generated))?,
    };
    out::stdout().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The options `write` writes with: temp files named after the tool.
fn write_options(args: &WriteArgs) -> WriteOptions {
    WriteOptions {
        follow_symlinks: args.follow_symlinks,
        temp_tag: "left4me-harden-tmp".to_owned(),
    }
}

/// A write error, with the flag that lets a symbolic link through.
fn hint(err: rootfs::Error) -> anyhow::Error {
    match err {
        rootfs::Error::Symlink { .. } => {
            anyhow::anyhow!("{err} — pass --follow-symlinks to update the file it points to")
        }
        err => err.into(),
    }
}

fn write(args: &WriteArgs, budget: &Budget) -> Result<ExitCode> {
    let instances = instances(&args.instance)?;
    let host = host(&args.host, budget)?;
    let files = host.files(&instances, options(args.no_comments))?;
    crate::lint_cmd::print_warnings(&files)?;
    let outputs: Vec<(&str, &[u8])> = match args.format {
        WriteFormat::Conf => files
            .iter()
            .map(|f| (f.path.as_str(), f.text.as_bytes()))
            .collect(),
        WriteFormat::Bundlewrap => {
            // The reactor consumes the document: it is printed, not
            // written under the root.
            if args.check {
                bail!(
                    "--check compares files under the root; write --format bundlewrap only prints"
                );
            }
            out::stdout().write_all(pretty(&output::bundlewrap_document(&files))?.as_bytes())?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let root = Root::open(&args.root)?;
    let mut stdout = out::stdout();
    if args.check {
        let mut changed = false;
        for (path, outcome) in rootfs::plan(&root, &outputs, &write_options(args)).map_err(hint)? {
            if outcome != Outcome::Unchanged {
                changed = true;
                writeln!(
                    stdout,
                    "would be {}: {}",
                    outcome.as_str(),
                    root.shown(&path).display()
                )?;
            }
        }
        return Ok(if changed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    // Every destination is checked before anything is written, every new
    // content is written and synced before any destination is replaced.
    let rootfs::Written {
        outcomes: done,
        listed,
    } = rootfs::write_all_listed(&root, &outputs, &write_options(args)).map_err(hint)?;
    if out::quiet() {
        return Ok(ExitCode::SUCCESS);
    }
    let mut stdout = io::BufWriter::new(stdout);
    for (path, outcome) in &done {
        writeln!(
            stdout,
            "{:<9} {}",
            outcome.as_str(),
            root.shown(path).display()
        )?;
    }
    for line in left4me_hardening::report::after_write(&files, &done) {
        writeln!(stdout, "{line}")?;
    }
    // The directories the write listed and left as they were are not
    // listed again for the scores.
    let fs = dropin::RootFs::new(&root, budget).with_listed(listed);
    for line in left4me_hardening::score::lines(&host, &files, Some(&fs)) {
        writeln!(stdout, "{line}")?;
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn list(args: &ListArgs, budget: &Budget) -> Result<ExitCode> {
    let instances = instances(&args.instance)?;
    let lines = left4me_hardening::report::list(&host(&args.host, budget)?, &instances)?;
    let mut out = out::stdout();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn explain(args: &ExplainArgs, budget: &Budget) -> Result<ExitCode> {
    let host = host(&args.host, budget)?;
    print(left4me_hardening::explain::subject(&host, &args.subject)?)
}

/// Prints `text` on standard output; exit 0.
fn print(text: impl AsRef<[u8]>) -> Result<ExitCode> {
    out::stdout().write_all(text.as_ref())?;
    Ok(ExitCode::SUCCESS)
}

/// `man`: one page, or every page into a directory.
fn man(sub: Option<&str>, dir: Option<&std::path::Path>) -> Result<ExitCode> {
    let cmd = Cli::command();
    let Some(dir) = dir else {
        return print(shell::man_page(&cmd, sub)?);
    };
    let pages = shell::man_pages(&cmd)?;
    let files: Vec<(&str, &[u8])> = pages
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_slice()))
        .collect();
    let options = WriteOptions {
        follow_symlinks: false,
        temp_tag: "left4me-harden-tmp".to_owned(),
    };
    rootfs::write_all(&Root::open(dir)?, &files, &options)?;
    Ok(ExitCode::SUCCESS)
}
