//! `diff`: the library's report of what is installed against what would be
//! generated (or against `systemctl show` output), printed; exit 0 same,
//! 1 different, 2 trouble.

use std::io::{self, IsTerminal as _, Write as _};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use dropin::diff::LineTag;
use dropin::render::escape_controls;
use dropin::{RenderOptions, RootFs, UnifiedDiff};
use left4me_hardening::ProfileKind;
use left4me_hardening::inspect::{self, DiffRequest, UnitReport};
use left4me_hardening::report::Paint;
use rootfs::{Budget, Root};

use crate::cli::{ColorWhen, DiffArgs, ReportFormat};
use crate::{commands, out};

/// The colours `--color` and the environment ask for.
pub(crate) fn paint(when: ColorWhen) -> Paint {
    let forced = match when {
        ColorWhen::Always => Some(true),
        ColorWhen::Never => Some(false),
        ColorWhen::Auto => None,
    };
    let env = |k| std::env::var_os(k);
    Paint::detect(
        forced,
        io::stdout().is_terminal(),
        env("NO_COLOR").as_deref(),
        env("TERM").as_deref(),
    )
}

pub(crate) fn run(args: &DiffArgs, budget: &Budget) -> Result<ExitCode> {
    let host = commands::host(&args.host, budget)?;
    let render = RenderOptions {
        comments: !args.no_comments,
    };
    let paint = paint(args.color);
    if let Some(show) = &args.show {
        return against_show(args, &host, show, paint, budget);
    }
    let root = Root::open(&args.root)?;
    let fs = RootFs::new(&root, budget);
    let request = DiffRequest {
        profile: args.profile,
        instances: commands::instances(&args.instance)?,
        render,
        threads: left4me_hardening::Threads::Machine,
    };
    let report = inspect::diff(&host, &fs, &request)?;
    let mut err = out::stderr();
    for unit in report
        .unrequested_instances
        .iter()
        .filter(|_| !out::quiet())
    {
        writeln!(
            err,
            "left4me-harden: note: {unit} is installed but not given with --instance; compared too"
        )?;
    }
    let mut out = io::BufWriter::new(out::stdout());
    if args.format == ReportFormat::Json {
        let mut json = serde_json::to_value(&report)?;
        json["differs"] = report.differs().into();
        out.write_all(commands::pretty(&json)?.as_bytes())?;
    } else {
        for line in report.units.iter().flat_map(UnitReport::lines) {
            writeln!(out, "{}", paint.line(&line))?;
        }
        for file in report.units.iter().flat_map(|u| &u.files) {
            if !file.diff.is_empty() {
                writeln!(out)?;
                write_unified(&mut out, &file.diff, paint)?;
            }
        }
    }
    out.flush()?;
    Ok(exit(report.differs()))
}

pub(crate) fn exit(differs: bool) -> ExitCode {
    if differs {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn write_unified(out: &mut impl io::Write, d: &UnifiedDiff, paint: Paint) -> Result<()> {
    writeln!(out, "{}", paint.paint("1", &format!("--- {}", d.old_name)))?;
    writeln!(out, "{}", paint.paint("1", &format!("+++ {}", d.new_name)))?;
    if let Some(note) = &d.too_large {
        writeln!(out, "({})", escape_controls(note))?;
    }
    for h in &d.hunks {
        writeln!(out, "{}", paint.paint("36", &h.header))?;
        for (tag, line) in &h.lines {
            let text = match tag {
                LineTag::Context => format!(" {}", escape_controls(line)),
                LineTag::Delete => paint.paint("31", &format!("-{line}")),
                LineTag::Insert => paint.paint("32", &format!("+{line}")),
            };
            writeln!(out, "{text}")?;
        }
    }
    Ok(())
}

/// `diff --show FILE`: the generated settings of one unit against
/// `systemctl show UNIT` output.
fn against_show(
    args: &DiffArgs,
    host: &left4me_hardening::Host,
    show: &std::path::Path,
    paint: Paint,
    budget: &Budget,
) -> Result<ExitCode> {
    let Some(kind) = args.profile else {
        bail!("--show compares one unit: name the profile (web, or server with one --instance N)");
    };
    let instance = match args.instance.as_slice() {
        [] => None,
        [one] => Some(one),
        _ => bail!("--show compares one unit: give at most one --instance"),
    };
    if instance.is_some() && kind != ProfileKind::Server {
        bail!("--instance applies to the server profile only");
    }
    // Bounded like every read: `yes | diff --show -` cannot exhaust
    // memory, a pipe that never ends cannot hang the run.
    let (name, bytes) = rootfs::read_named(show, budget)?;
    let text = String::from_utf8(bytes).with_context(|| format!("{name} is not UTF-8"))?;
    let report = inspect::show(host, kind, instance, &name, &text)?;
    let differ = report.differing();
    let mut out = out::stdout();
    if args.format == ReportFormat::Json {
        let json = report.to_json(&name);
        out.write_all(commands::pretty(&json)?.as_bytes())?;
    } else {
        for line in report.lines(&name) {
            writeln!(out, "{}", paint.line(&line))?;
        }
    }
    Ok(exit(differ > 0))
}
