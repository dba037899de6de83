//! `triage`: SECCOMP audit records to the unit directive that denied the
//! call, the file and line that made it so, and a checked fix; exit 0 no
//! denial, 1 a denial (or an unreadable record), 2 trouble.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use left4me_hardening::triage::{self, Options};
use rootfs::{Budget, Root};

/// The options of `triage`.
#[derive(Debug, Args)]
pub(crate) struct TriageArgs {
    /// The records; `-` or nothing reads standard input.
    #[arg(value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
    /// Judge each unit as systemd loads it under this root (`/` on the host itself); without it, with its generated profile alone.
    #[arg(long, value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
    /// The unit of records nothing else names (no systemd status=31/SYS line in the input, no instance in the executable's path).
    #[arg(long, value_name = "UNIT")]
    pub(crate) unit: Option<String>,
    /// A host configuration (TOML): the profiles come from it and fixes are checked against it (see docs/host-config.md).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TriageFormat::Text)]
    pub(crate) format: TriageFormat,
}

/// Output formats of `triage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TriageFormat {
    /// One block per group.
    Text,
    /// The report as JSON.
    Json,
}

/// Runs `triage`; the records are read under a budget of their own
/// (`triage::INPUT_MAX`), `budget` bounds the host configuration and root.
pub(crate) fn run(args: &TriageArgs, budget: &Budget) -> Result<ExitCode> {
    let max = left4me_hardening::triage::INPUT_MAX;
    let records = Budget::new(rootfs::Limits {
        file_bytes: max,
        total_bytes: max,
        ..rootfs::Limits::DEFAULT
    });
    let input = match &args.input {
        Some(p) if p.as_os_str() != "-" => rootfs::read_path(p, &records)
            .with_context(|| format!("cannot read {}", p.display()))?,
        _ => {
            rootfs::read_stdin("standard input", &records).context("cannot read standard input")?
        }
    };
    // Journals and logs may hold bytes that are not UTF-8 (an untrusted
    // comm is hex in a record, but other lines are anything).
    let input = String::from_utf8_lossy(&input);
    let config = match &args.config {
        Some(p) => {
            let bytes = rootfs::read_path(p, budget)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let text = String::from_utf8(bytes)
                .with_context(|| format!("{}: not valid UTF-8", p.display()))?;
            Some((p.display().to_string(), text))
        }
        None => None,
    };
    let root = match &args.root {
        Some(dir) => {
            Some(Root::open(dir).with_context(|| format!("cannot open {}", dir.display()))?)
        }
        None => None,
    };
    let fs = root.as_ref().map(|r| dropin::RootFs::new(r, budget));
    let options = Options {
        config: config.as_ref().map(|(f, t)| (f.as_str(), t.as_str())),
        installed: fs.as_ref().map(|f| f as &dyn dropin::Fs),
        unit: args.unit.as_deref(),
    };
    let report = triage::triage(&input, &options)?;
    let text = match args.format {
        TriageFormat::Text => triage::text(&report),
        TriageFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    crate::out::stdout().write_all(text.as_bytes())?;
    let denied = report
        .groups
        .iter()
        .any(|g| g.action.kills() || g.action.name() == "errno");
    Ok(if denied || !report.errors.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
