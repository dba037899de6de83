//! The subcommands.

use std::io::{self, Write as _};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::CommandFactory as _;
use dropin::{Directive, Instance, RenderOptions};
use left4me_hardening::output::{self, Generated};
use left4me_hardening::{Host, ProfileKind};

use crate::cli::{Cli, Command, ExplainArgs, Format, HostArgs, ListArgs, RenderArgs, WriteArgs};
use crate::fsutil::{self, Outcome, Symlinks};

pub(crate) fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Render(args) => render(&args),
        Command::Write(args) => write(&args),
        Command::Diff(args) => crate::diff_cmd::run(&args),
        Command::List(args) => list(&args),
        Command::Explain(args) => explain(&args),
        Command::Lint(args) => crate::lint_cmd::run(&args),
        Command::Check(args) => crate::check_cmd::run(&args),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "left4me-harden", &mut io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            io::stdout().write_all(&out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Builds the host from the command line's host options.
pub(crate) fn host(args: &HostArgs) -> Result<Host> {
    let mut host = match &args.config {
        Some(path) => left4me_hardening::config::load(path)?,
        None => Host::standard()?,
    };
    host.systemd_version = args.systemd_version;
    Ok(host)
}

pub(crate) fn instances(names: &[String]) -> Result<Vec<Instance>> {
    names.iter().map(|n| Ok(Instance::new(n)?)).collect()
}

fn options(no_comments: bool) -> RenderOptions {
    RenderOptions {
        comments: !no_comments,
    }
}

fn pretty(json: &serde_json::Value) -> Result<String> {
    Ok(serde_json::to_string_pretty(json)? + "\n")
}

fn render(args: &RenderArgs) -> Result<ExitCode> {
    let kind: ProfileKind = args.profile.parse()?;
    let instance = args.instance.as_deref().map(Instance::new).transpose()?;
    let host = host(&args.host)?;
    let generated = host.generate(kind, instance.as_ref(), options(args.no_comments))?;
    crate::lint_cmd::print_warnings(std::slice::from_ref(&generated))?;
    let text = match args.format {
        Format::Conf => generated.text.clone(),
        Format::Bundlewrap => pretty(&output::bundlewrap(&generated))?,
        Format::Json => pretty(&output::describe(host.profile(kind), &generated))?,
    };
    io::stdout().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The merged bundlewrap document of several files, split by where the
/// reactor puts them: the drop-ins under `systemd` → `units` (the
/// `systemd/units` metadata), the sysctl file under `files` (bundlewrap
/// file items), so that no consumer mistakes one for the other.
pub(crate) fn bundlewrap_document(files: &[Generated]) -> serde_json::Value {
    let mut units = serde_json::Map::new();
    let mut items = serde_json::Map::new();
    for f in files {
        if let serde_json::Value::Object(m) = output::bundlewrap(f) {
            if f.composed.is_some() {
                units.extend(m);
            } else {
                items.extend(m);
            }
        }
    }
    serde_json::json!({ "systemd": { "units": units }, "files": items })
}

fn write(args: &WriteArgs) -> Result<ExitCode> {
    let instances = instances(&args.instance)?;
    let host = host(&args.host)?;
    let files = host.files(&instances, options(args.no_comments))?;
    crate::lint_cmd::print_warnings(&files)?;
    let outputs: Vec<(String, Vec<u8>)> = match args.format {
        Format::Conf => files
            .iter()
            .map(|f| (f.path.clone(), f.text.clone().into_bytes()))
            .collect(),
        Format::Bundlewrap => {
            // The reactor consumes the document: it is printed, not
            // written under the root.
            if args.check {
                bail!(
                    "--check compares files under the root; write --format bundlewrap only prints"
                );
            }
            io::stdout().write_all(pretty(&bundlewrap_document(&files))?.as_bytes())?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Json => {
            bail!("write takes --format conf or bundlewrap; use render --format json for the dump")
        }
    };
    let root = &args.root;
    if !root.is_dir() {
        bail!("root {} is not a directory", fsutil::quoted(root));
    }
    let symlinks = if args.follow_symlinks {
        Symlinks::UpdateTarget
    } else {
        Symlinks::Refuse
    };
    // Everything is rendered and every destination checked before the
    // first byte is written.
    let mut planned = Vec::new();
    for (relative, bytes) in &outputs {
        let path = root.join(relative);
        let dest = fsutil::destination(&path, symlinks)?;
        let outcome = fsutil::plan(&dest, bytes)?;
        planned.push((path, dest, bytes, outcome));
    }
    let mut stdout = io::stdout().lock();
    if args.check {
        let mut changed = false;
        for (path, _, _, outcome) in &planned {
            if *outcome != Outcome::Unchanged {
                changed = true;
                writeln!(stdout, "would be {}: {}", outcome.as_str(), path.display())?;
            }
        }
        return Ok(if changed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    let _lock = fsutil::DirLock::acquire(root)?;
    // Two phases: every new content is written and synced to a temp file
    // first, and only then does each replace its destination, so a failure
    // while writing (a full disk) leaves every destination as it was.
    let mut staging = fsutil::Staging::default();
    let mut done = Vec::new();
    for (path, _, bytes, _) in &planned {
        // Re-check under the lock: another run may have written meanwhile.
        let dest = fsutil::destination(path, symlinks)?;
        fsutil::remove_stale_temps(&dest)?;
        let outcome = fsutil::plan(&dest, bytes)?;
        if outcome != Outcome::Unchanged {
            staging
                .stage(&dest, bytes)
                .with_context(|| format!("writing {}", fsutil::quoted(path)))?;
        }
        done.push((outcome, path));
    }
    staging.commit()?;
    for (outcome, path) in done {
        writeln!(stdout, "{:<9} {}", outcome.as_str(), path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list(args: &ListArgs) -> Result<ExitCode> {
    let instances = instances(&args.instance)?;
    let host = host(&args.host)?;
    let mut out = io::stdout().lock();
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

fn explain(args: &ExplainArgs) -> Result<ExitCode> {
    let host = host(&args.host)?;
    let text = if let Ok(kind) = args.subject.parse::<ProfileKind>() {
        left4me_hardening::explain::profile(&host, kind)
    } else if let Some(lint) = left4me_hardening::lint::info(&args.subject) {
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
    io::stdout().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
