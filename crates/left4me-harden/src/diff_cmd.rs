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
use rootfs::{Budget, Root};

use crate::cli::{ColorWhen, DiffArgs, ReportFormat};
use crate::{commands, out};

/// ANSI colours, or none.
#[derive(Clone, Copy)]
pub(crate) struct Paint(bool);

impl Paint {
    pub(crate) fn new(when: ColorWhen) -> Paint {
        let term = std::env::var_os("TERM").is_none_or(|t| t != "dumb");
        Paint(match when {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                io::stdout().is_terminal()
                    && term
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        })
    }

    /// `text` with control characters escaped (what is printed comes from
    /// files on the host: an escape sequence in one must not reach the
    /// terminal), coloured.
    fn paint(self, code: &str, text: &str) -> String {
        let text = escape_controls(text);
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// A line coloured by its leading sign.
    pub(crate) fn line(self, text: &str) -> String {
        let code = match text.chars().next() {
            Some('+') => "32",
            Some('-') => "31",
            Some('~') => "33",
            Some('!') => "35",
            Some('#') => "1",
            _ => return escape_controls(text),
        };
        self.paint(code, text)
    }
}

pub(crate) fn run(args: &DiffArgs, budget: &Budget) -> Result<ExitCode> {
    let host = commands::host(&args.host, budget)?;
    let render = RenderOptions {
        comments: !args.no_comments,
    };
    let paint = Paint::new(args.color);
    if let Some(show) = &args.show {
        return against_show(args, &host, show, paint, budget);
    }
    let root = Root::open(&args.root)?;
    let fs = RootFs::new(&root, budget);
    let request = DiffRequest {
        profile: args.profile,
        instances: commands::instances(&args.instance)?,
        render,
    };
    let report = inspect::diff(&host, &fs, &request)?;
    let mut err = out::stderr();
    for unit in &report.unrequested_instances {
        writeln!(
            err,
            "left4me-harden: note: {unit} is installed but not given with --instance; compared too"
        )?;
    }
    let mut out = out::stdout();
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
    let (name, bytes) = if show == std::path::Path::new("-") {
        let name = "standard input".to_owned();
        let bytes = rootfs::read_stdin(&name, budget)?;
        (name, bytes)
    } else {
        (show.display().to_string(), rootfs::read_path(show, budget)?)
    };
    let text = String::from_utf8(bytes).with_context(|| format!("{name} is not UTF-8"))?;
    let report = inspect::show(host, kind, instance, &name, &text)?;
    let differ = report.differing();
    let mut out = out::stdout();
    if args.format == ReportFormat::Json {
        let checks: Vec<serde_json::Value> = report
            .checks
            .iter()
            .map(|c| serde_json::json!({"directive": c.directive.name(), "differs": c.differs(), "text": c.to_string()}))
            .collect();
        let json = serde_json::json!({"unit": report.unit, "show": name, "differ": differ,
            "not_comparable": report.not_comparable(), "checks": checks});
        out.write_all(commands::pretty(&json)?.as_bytes())?;
    } else {
        for line in report.lines(&name) {
            writeln!(out, "{}", paint.line(&line))?;
        }
    }
    Ok(exit(differ > 0))
}
