//! `diff`: the library's report of what is installed against what would be
//! generated (or against `systemctl show` output), printed; exit 0 same,
//! 1 different, 2 trouble.

use std::io::{self, IsTerminal as _, Write as _};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use dropin::diff::LineTag;
use dropin::render::escape_controls;
use dropin::{Change, LoadState, Origin, RenderOptions, RootFs, UnifiedDiff};
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
        for unit in &report.units {
            print_unit(&mut out, unit, paint)?;
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

/// `FILE:LINE` of each origin, at most three.
fn origins(list: &[Origin]) -> String {
    let mut shown: Vec<String> = list.iter().take(3).map(ToString::to_string).collect();
    if list.len() > 3 {
        shown.push(format!("{} more", list.len() - 3));
    }
    shown.join(", ")
}

fn change_line(c: &Change) -> String {
    // An added value came from nowhere installed.
    if c.old_origins.is_empty() || matches!(c.delta, dropin::Delta::Added(_)) {
        c.to_string()
    } else {
        format!("{c}  (installed: {})", origins(&c.old_origins))
    }
}

fn print_unit(out: &mut impl io::Write, r: &UnitReport, paint: Paint) -> Result<()> {
    let mut status = match (r.changes.len(), r.files.iter().any(|f| f.text_differs)) {
        (0, false) => "same settings".to_owned(),
        (0, true) => "same settings, the text differs".to_owned(),
        (1, _) => "1 setting differs".to_owned(),
        (n, _) => format!("{n} settings differ"),
    };
    match r.overridden.len() {
        0 => {}
        1 => status.push_str(", 1 overridden by a later drop-in"),
        n => status.push_str(&format!(", {n} overridden by later drop-ins")),
    }
    let own: Vec<&str> = r.files.iter().map(|f| f.path.as_str()).collect();
    let read = match r.read.as_slice() {
        [] => " — nothing installed".to_owned(),
        [only] if own.contains(&only.as_str()) => String::new(),
        files => format!(" — read {}", files.join(", ")),
    };
    let state = match r.state {
        LoadState::Masked => " — the unit is masked: systemd starts nothing",
        LoadState::Error => " — the unit fails to load",
        _ => "",
    };
    writeln!(
        out,
        "{}",
        paint.line(&format!("# {}: {status}{read}{state}", r.unit))
    )?;
    for c in &r.changes {
        writeln!(out, "{}", paint.line(&change_line(c)))?;
    }
    if let Some(why) = &r.not_read {
        writeln!(out, "{}", paint.line(&format!("! {why}")))?;
    }
    for c in &r.overridden {
        let by = match c.new_origins.as_slice() {
            [] => "by a later drop-in that resets it".to_owned(),
            list => format!("by {}", origins(list)),
        };
        writeln!(out, "{}", paint.line(&format!("! overridden {by}: {c}")))?;
    }
    for line in diagnostic_lines(&r.installed_diagnostics, "! ") {
        writeln!(out, "{}", paint.line(&line))?;
    }
    for d in &r.generated_diagnostics {
        writeln!(
            out,
            "{}",
            paint.line(&format!(
                "! generated {}: {d} — systemd would ignore a line the generated file relies on",
                d.level
            ))
        )?;
    }
    Ok(())
}

/// The most diagnostics printed for one unit; the rest are counted.
const MAX_DIAGNOSTICS: usize = 20;

/// Diagnostics as lines, `prefix` first: a message systemd logs once per
/// item (repeated on one line) is counted, and after [`MAX_DIAGNOSTICS`]
/// the rest are summed up with the files they are in.
pub(crate) fn diagnostic_lines(list: &[dropin::Diagnostic], prefix: &str) -> Vec<String> {
    let mut grouped: Vec<(String, &dropin::Diagnostic, usize)> = Vec::new();
    for d in list {
        let text = format!("{prefix}{}: {d}", d.level);
        match grouped.last_mut() {
            Some((last, _, n)) if *last == text => *n += 1,
            _ => grouped.push((text, d, 1)),
        }
    }
    let mut lines: Vec<String> = grouped
        .iter()
        .take(MAX_DIAGNOSTICS)
        .map(|(text, _, n)| match n {
            1 => text.clone(),
            n => format!("{text} ({n} times)"),
        })
        .collect();
    let rest = &grouped[grouped.len().min(MAX_DIAGNOSTICS)..];
    if !rest.is_empty() {
        let mut files: Vec<&str> = rest.iter().map(|(_, d, _)| d.file.as_str()).collect();
        files.dedup();
        let n: usize = rest.iter().map(|(_, _, n)| n).sum();
        lines.push(format!("{prefix}… and {n} more in {}", files.join(", ")));
    }
    lines
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
    let (differ, not_comparable) = (report.differing(), report.not_comparable());
    let same = report.checks.len() - differ - not_comparable;
    let mut out = out::stdout();
    if args.format == ReportFormat::Json {
        let checks: Vec<serde_json::Value> = report
            .checks
            .iter()
            .map(|c| {
                serde_json::json!({
                    "directive": c.directive.name(),
                    "differs": c.differs(),
                    "text": c.to_string(),
                })
            })
            .collect();
        let json = serde_json::json!({
            "unit": report.unit, "show": name, "same": same, "differ": differ,
            "not_comparable": not_comparable, "checks": checks,
        });
        out.write_all(commands::pretty(&json)?.as_bytes())?;
        return Ok(exit(differ > 0));
    }
    writeln!(
        out,
        "{}",
        paint.line(&format!(
            "# {} against systemctl show ({name}): {same} same, {differ} differ, {not_comparable} not comparable",
            report.unit
        ))
    )?;
    for c in &report.checks {
        let text = c.to_string();
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        if !matches!(c.verdict, dropin::show::Verdict::Same) {
            writeln!(out, "{}", paint.line(first))?;
        }
        for note in lines {
            writeln!(out, "{}", escape_controls(note))?;
        }
    }
    Ok(exit(differ > 0))
}
