//! `lint`: the library's lint report on drop-in files or installed units,
//! printed; and the warnings `render` and `write` print.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use dropin::RootFs;
use left4me_hardening::inspect;
use left4me_hardening::output::Generated;
use left4me_hardening::report::{LintTally, count};
use rootfs::{Budget, Root};

use crate::cli::{LintArgs, ReportFormat};
use crate::{commands, out};

/// Prints the warnings carried by generated files (findings that are not
/// errors and not waived), once each, as `left4me-harden: PROFILE: warning[…] …`
/// on standard error.
pub(crate) fn print_warnings(files: &[Generated]) -> Result<()> {
    let mut seen: Vec<String> = Vec::new();
    let mut err = out::stderr();
    for g in files.iter().filter(|_| !out::quiet()) {
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

/// Reads each file (`-`: standard input), within the budget.
fn read_all(paths: &[String], budget: &Budget) -> Result<Vec<(String, Vec<u8>)>> {
    Ok(paths
        .iter()
        .map(|p| rootfs::read_named(p, budget))
        .collect::<Result<_, _>>()?)
}

pub(crate) fn run(args: &LintArgs, budget: &Budget) -> Result<ExitCode> {
    let host = commands::host(&args.host, budget)?;
    let root = inspect::lint_root(args.root.as_deref(), &args.files, &args.unit)?;
    let reports = match &root {
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
    for r in reports.iter().filter(|r| r.no_traits && !out::quiet()) {
        writeln!(
            out::stderr(),
            "left4me-harden: note: {}: not a profile's unit, so no workload traits are \
             known and the trait lints are skipped (give them with --trait)",
            r.unit
        )?;
    }
    let tally = LintTally::of(&reports, host.systemd_version);
    let mut out = out::stdout();
    if args.format == ReportFormat::Json {
        let json = serde_json::json!({"units": reports, "errors": tally.errors,
            "warnings": tally.warnings, "notes": tally.notes});
        out.write_all(commands::pretty(&json)?.as_bytes())?;
    } else {
        // Lines quote host files: no control character reaches the terminal.
        for l in &tally.lines {
            writeln!(out, "{}", dropin::render::escape_controls(l))?;
        }
        let what = match &root {
            Some(_) => count(reports.len(), "unit"),
            None => count(args.files.len(), "file"),
        };
        writeln!(out, "{}", tally.summary(&what))?;
    }
    Ok(crate::diff_cmd::exit(
        tally.errors > 0 || (args.strict && tally.warnings > 0),
    ))
}
