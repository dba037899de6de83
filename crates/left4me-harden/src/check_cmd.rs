//! `check`: the library's attack verification on this host, printed as a
//! table or JSON; exit 0 nothing reachable, 1 a vector reachable, 2 trouble.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use left4me_hardening::check::{self, Options, Status, SystemRunner};

use crate::cli::{CheckArgs, ReportFormat};
use crate::{commands, out};

/// The longest one probe command may run (a transient probe unit stops
/// itself after 30 s).
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn run(args: &CheckArgs, budget: &rootfs::Budget) -> Result<ExitCode> {
    let host = commands::host(&args.host, budget)?;
    let mut options = Options::standard()?;
    if !args.instance.is_empty() {
        options.instances = commands::instances(&args.instance)?;
    }
    let mut runner = SystemRunner {
        timeout: PROBE_TIMEOUT,
    };
    let report = check::run(&host, &options, &mut runner)?;
    let text = match args.format {
        ReportFormat::Human => report.table(),
        ReportFormat::Json => serde_json::to_string_pretty(&report.json())? + "\n",
    };
    out::stdout().write_all(text.as_bytes())?;
    // A reachable vector is the finding that matters most; trouble with a
    // probe comes second.
    Ok(if report.count(Status::Fail) > 0 {
        ExitCode::from(1)
    } else if report.count(Status::Error) > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
