//! `lint`: the library's lint report on drop-in files or installed units,
//! printed; and the warnings `render` and `write` print.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use dropin::RootFs;
use left4me_hardening::Trait;
use left4me_hardening::inspect::{self, UnitLint};
use left4me_hardening::lint::Severity;
use left4me_hardening::output::Generated;
use rootfs::{Budget, Root};

use crate::cli::{LintArgs, ReportFormat};
use crate::{commands, out};

/// Prints the warnings carried by generated files (findings that are not
/// errors and not waived), once each, as `left4me-harden: PROFILE: warning[…] …`
/// on standard error.
pub(crate) fn print_warnings(files: &[Generated]) -> Result<()> {
    let mut seen: Vec<String> = Vec::new();
    let mut err = out::stderr();
    for g in files {
        for f in &g.warnings {
            let line = format!("left4me-harden: {}: {f}", g.profile);
            if !seen.contains(&line) {
                writeln!(err, "{line}")?;
                seen.push(line);
            }
        }
    }
    Ok(())
}

/// `n what` with an `s` when `n` is not one.
pub(crate) fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn read_all(paths: &[String], budget: &Budget) -> Result<Vec<(String, Vec<u8>)>> {
    paths
        .iter()
        .map(|p| Ok((p.clone(), rootfs::read_path(p, budget)?)))
        .collect()
}

pub(crate) fn run(args: &LintArgs, budget: &Budget) -> Result<ExitCode> {
    let host = commands::host(&args.host, budget)?;
    let reports = match &args.root {
        Some(root) => {
            let root = Root::open(root)?;
            let fs = RootFs::new(&root, budget);
            if args.files.is_empty() {
                inspect::lint_installed(&host, &fs, &args.traits)?
            } else {
                inspect::lint_units(&host, &fs, &args.files, &args.traits)?
            }
        }
        None => {
            let bases: Vec<String> = args.unit.iter().map(|p| p.display().to_string()).collect();
            let files = read_all(&args.files, budget)?;
            inspect::lint_files(&host, &files, &read_all(&bases, budget)?, &args.traits)?
        }
    };
    let (mut errors, mut warnings, mut notes) = (0, 0, 0);
    let mut lines = Vec::new();
    for r in &reports {
        if r.no_traits {
            writeln!(
                out::stderr(),
                "left4me-harden: note: {}: not a profile's unit, so no workload traits are \
                 known and the trait lints are skipped (give them with --trait)",
                r.unit
            )?;
        }
        for (f, waiver) in &r.findings {
            if let Some((origin, reason)) = waiver {
                lines.push(format!("{}: {f} (waived by {origin}: {reason})", r.unit));
                continue;
            }
            match f.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
                Severity::Note => notes += 1,
            }
            lines.push(format!("{}: {f}", r.unit));
        }
        for t in &r.too_new {
            errors += 1;
            lines.push(format!(
                "{}: error: systemd {} does not know {t}",
                r.unit, host.systemd_version
            ));
        }
        // What systemd logs loading the unit: a line it ignores, a file
        // it stops reading.
        for d in &r.diagnostics {
            match d.level {
                dropin::Level::Error => errors += 1,
                _ => warnings += 1,
            }
        }
        let prefix = format!("{}: ", r.unit);
        lines.extend(crate::diff_cmd::diagnostic_lines(&r.diagnostics, &prefix));
    }
    let what = if args.root.is_some() {
        count(reports.len(), "unit")
    } else {
        count(args.files.len(), "file")
    };
    let summary = format!(
        "{what}: {}, {}, {}",
        count(errors, "error"),
        count(warnings, "warning"),
        count(notes, "note")
    );
    let mut out = out::stdout();
    if args.format == ReportFormat::Json {
        let json = serde_json::json!({
            "units": reports.iter().map(json).collect::<Vec<_>>(),
            "errors": errors, "warnings": warnings, "notes": notes,
        });
        out.write_all(commands::pretty(&json)?.as_bytes())?;
    } else {
        // Lines quote host files: no control character reaches the terminal.
        for l in &lines {
            writeln!(out, "{}", dropin::render::escape_controls(l))?;
        }
        writeln!(out, "{summary}")?;
    }
    Ok(crate::diff_cmd::exit(
        errors > 0 || (args.strict && warnings > 0),
    ))
}

fn json(r: &UnitLint) -> serde_json::Value {
    let findings: Vec<serde_json::Value> = r
        .findings
        .iter()
        .map(|(f, w)| {
            serde_json::json!({
                "lint": f.lint.to_string(), "severity": f.severity.as_str(),
                "test": f.test.to_string(), "text": f.to_string(),
                "waived_by": w.as_ref().map(|(o, r)| serde_json::json!({"origin": o, "reason": r})),
            })
        })
        .collect();
    serde_json::json!({
        "unit": r.unit, "profile": r.profile, "read": r.read, "findings": findings,
        "too_new": r.too_new, "diagnostics": r.diagnostics,
    })
}

/// Parses `--trait`.
pub(crate) fn parse_trait(text: &str) -> Result<Trait, String> {
    Trait::ALL
        .iter()
        .copied()
        .find(|t| t.name() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = Trait::ALL.iter().map(|t| t.name()).collect();
            format!("expected one of {}", names.join(", "))
        })
}
