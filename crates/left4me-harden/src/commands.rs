//! The subcommands.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::CommandFactory as _;
use dropin::{Directive, Instance, RenderOptions};
use left4me_hardening::output;
use left4me_hardening::{Host, ProfileKind};
use rootfs::{Budget, Limits, Outcome, Root, WriteOptions};

use crate::cli::{Cli, Command, ExplainArgs, Format, HostArgs, ListArgs, RenderArgs, WriteArgs};
use crate::out;

pub(crate) fn run(cli: Cli) -> Result<ExitCode> {
    // Everything one run reads (host config, installed files, show
    // output) shares one budget.
    let budget = Budget::new(Limits {
        file_bytes: u64::try_from(dropin::load::FILE_MAX).unwrap_or(u64::MAX),
        ..Limits::DEFAULT
    });
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
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "left4me-harden", &mut text);
            out::stdout().write_all(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut text = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut text)?;
            out::stdout().write_all(&text)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Builds the host from the command line's host options.
pub(crate) fn host(args: &HostArgs, budget: &Budget) -> Result<Host> {
    let mut host = match &args.config {
        Some(path) => left4me_hardening::config::load_within(path, budget)?,
        None => Host::standard()?,
    };
    host.systemd_version = args.systemd_version;
    Ok(host)
}

/// The instances named, each once: a repeat is left out with a note.
pub(crate) fn instances(all: &[Instance]) -> Result<Vec<Instance>> {
    let (once, repeated) = left4me_hardening::host::fold_instances(all);
    let mut err = out::stderr();
    for i in repeated {
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
    for line in left4me_hardening::score::lines(&host, std::slice::from_ref(&generated), None) {
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
        Format::Conf => files
            .iter()
            .map(|f| (f.path.as_str(), f.text.as_bytes()))
            .collect(),
        Format::Bundlewrap => {
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
        Format::Json => {
            bail!("write takes --format conf or bundlewrap; use render --format json for the dump")
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
    let done = rootfs::write_all(&root, &outputs, &write_options(args)).map_err(hint)?;
    for (path, outcome) in done {
        writeln!(
            stdout,
            "{:<9} {}",
            outcome.as_str(),
            root.shown(&path).display()
        )?;
    }
    let fs = dropin::RootFs::new(&root, budget);
    for line in left4me_hardening::score::lines(&host, &files, Some(&fs)) {
        writeln!(stdout, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list(args: &ListArgs, budget: &Budget) -> Result<ExitCode> {
    let instances = instances(&args.instance)?;
    let host = host(&args.host, budget)?;
    let mut out = out::stdout();
    for profile in host.profiles() {
        writeln!(out, "{:<7} {}", profile.kind, profile.description)?;
        let mut files = vec![host.generate(profile.kind, None, RenderOptions::default())?];
        if profile.kind == ProfileKind::Server {
            for i in &instances {
                files.push(host.generate(profile.kind, Some(i), RenderOptions::default())?);
            }
        }
        for f in files {
            writeln!(out, "        /{}", f.path)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn explain(args: &ExplainArgs, budget: &Budget) -> Result<ExitCode> {
    let host = host(&args.host, budget)?;
    let text = if let Ok(kind) = args.subject.parse::<ProfileKind>() {
        left4me_hardening::explain::profile(&host, kind)
    } else if let Ok(lint) = args.subject.parse::<left4me_hardening::lint::LintId>() {
        left4me_hardening::explain::lint(&host, lint)
    } else {
        let directive: Directive = args.subject.parse().with_context(|| {
            format!(
                "{:?} is neither a profile (server, web, sysctl), a lint id nor a known directive",
                args.subject
            )
        })?;
        left4me_hardening::explain::directive(&host, directive)
    };
    out::stdout().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
