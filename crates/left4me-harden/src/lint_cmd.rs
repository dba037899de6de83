//! `lint`: the test plan's findings checked on drop-in files, and the
//! warnings `render` and `write` print.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use dropin::{UnitFile, UnitName};
use left4me_hardening::Trait;
use left4me_hardening::lint::files::{self, Source, Target};
use left4me_hardening::lint::{self, Severity};
use left4me_hardening::output::Generated;

use crate::cli::LintArgs;
use crate::out;

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

/// A base unit given with `--unit`.
struct Base {
    path: String,
    name: Option<UnitName>,
    file: UnitFile,
    used: bool,
}

fn read(path: &Path, budget: &rootfs::Budget) -> Result<UnitFile> {
    // A regular file on a regular file system, within the run's budget.
    let bytes = rootfs::read_path(path, budget)?;
    // Bounded: empty, oversized or garbage files are refused.
    Ok(dropin::parse::installed(
        &path.display().to_string(),
        &bytes,
    )?)
}

/// `s` with an `s` when `n` is not one.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

pub(crate) fn run(args: &LintArgs, budget: &rootfs::Budget) -> Result<ExitCode> {
    let host = crate::commands::host(&args.host, budget)?;
    let sources = args
        .files
        .iter()
        .map(|p| {
            Ok(Source {
                path: p.display().to_string(),
                file: read(p, budget)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut bases = args
        .unit
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| UnitName::new(n).ok());
            Ok(Base {
                path: p.display().to_string(),
                name,
                file: read(p, budget)?,
                used: false,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let targets = files::targets(&sources)?;
    // Which base unit lies under which target.
    let mut plan: Vec<(&Target, Option<usize>)> = Vec::new();
    for t in &targets {
        let by_name = bases
            .iter()
            .position(|b| b.name.as_ref().is_some_and(|n| t.is_based_on(n)));
        let base = by_name.or_else(|| (t.unit.is_none() && bases.len() == 1).then_some(0));
        if let Some(b) = base.and_then(|i| bases.get_mut(i)) {
            b.used = true;
        }
        plan.push((t, base));
    }
    if let Some(b) = bases.iter().find(|b| !b.used) {
        bail!(
            "base unit {} applies to none of the drop-ins: its file name must be the unit of \
             their NAME.service.d directory (or its template)",
            b.path
        );
    }

    let mut out = out::stdout();
    let (mut errors, mut warnings, mut notes) = (0, 0, 0);
    for (target, base) in plan {
        let base = base.and_then(|i| bases.get(i));
        let label = target.label();
        // The unit the drop-ins are for: their directory's, or the base unit's.
        let unit = target
            .unit
            .as_ref()
            .or_else(|| base.and_then(|b| b.name.as_ref()));
        let profile = unit.and_then(|u| files::profile_of(&host, u));
        let traits: &[Trait] = if !args.traits.is_empty() {
            &args.traits
        } else if let Some((_, traits)) = profile {
            traits
        } else {
            let mut err = out::stderr();
            writeln!(
                err,
                "left4me-harden: note: {label}: not a profile's unit, so no workload traits are \
                 known and the trait lints are skipped (give them with --trait)"
            )?;
            &[]
        };
        let kind = profile.map(|(k, _)| k);
        let base_file = base.map(|b| &b.file);
        for f in target.check(base_file, traits)? {
            if let Some(w) = host.waiver(kind, f.lint) {
                writeln!(out, "{label}: {f} (waived by {}: {})", w.origin, w.reason)?;
                continue;
            }
            match f.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
                Severity::Note => notes += 1,
            }
            writeln!(out, "{label}: {f}")?;
        }
        let effective = target.effective(base_file)?;
        for too_new in lint::too_new(&effective, host.systemd_version) {
            errors += 1;
            writeln!(
                out,
                "{label}: error: systemd {} does not know {too_new}",
                host.systemd_version
            )?;
        }
    }
    writeln!(
        out,
        "{}: {}, {}, {}",
        count(args.files.len(), "file"),
        count(errors, "error"),
        count(warnings, "warning"),
        count(notes, "note")
    )?;
    Ok(if errors > 0 || (args.strict && warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
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
