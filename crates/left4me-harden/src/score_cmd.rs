//! `score`: the exposure score of `systemd-analyze security
//! --offline=true` (systemd 257), without systemd; exit 0, or 1 when a
//! unit cannot be scored or is above `--threshold` (as systemd-analyze),
//! 2 trouble.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use dropin::load::{Fs, Overlay};
use dropin::score::{Format, Glyphs};
use dropin::{Instance, RenderOptions, RootFs};
use left4me_hardening::score;
use rootfs::{Budget, Root};

use crate::cli::{HostArgs, INSTANCE};
use crate::out;

/// The options of `score`.
#[derive(Debug, Args)]
pub(crate) struct ScoreArgs {
    /// Units to score: names, found on systemd's unit search path (or `$SYSTEMD_UNIT_PATH`), or absolute paths of unit files under the root, whose directory is searched first; a template is scored as its instance `test_instance`. None: the left4me profiles as generated (the template, `--instance` and the web app).
    #[arg(value_name = "UNIT")]
    pub(crate) units: Vec<String>,
    /// The root the units are read under (default `/`). Without UNIT, the generated drop-ins are laid over the base units installed there; without `--root` either, over the test plan's reference base units.
    #[arg(long, value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
    /// Without UNIT: the server instance scored besides the template.
    #[arg(long, value_name = "N", value_parser = INSTANCE, default_value = "1")]
    pub(crate) instance: Instance,
    /// Print the per-check table as JSON, as `systemd-analyze security --json=` does (no overall line).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Json::Off)]
    pub(crate) json: Json,
    /// Exit 1 when a unit's overall exposure is above N, in tenths (0..=100; 100, the default, never fails).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=100))]
    pub(crate) threshold: u64,
    /// One line per unit instead of the table: `UNIT EXPOSURE LEVEL`.
    #[arg(long, conflicts_with = "json")]
    pub(crate) summary: bool,
    #[command(flatten)]
    pub(crate) host: HostArgs,
}

/// `--json`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Json {
    /// The table as text (the default).
    Off,
    /// One line of JSON per unit.
    Short,
    /// Indented JSON.
    Pretty,
}

/// Runs `score`.
pub(crate) fn run(args: &ScoreArgs, budget: &Budget) -> Result<ExitCode> {
    let root_dir = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let root =
        Root::open(&root_dir).with_context(|| format!("cannot open {}", root_dir.display()))?;
    let rootfs = RootFs::new(&root, budget);
    // The generated files outlive the view laid over the root, which reads
    // their texts where they are.
    let files;
    let (fs, names): (Box<dyn Fs + '_>, Vec<String>) = if args.units.is_empty() {
        let host = crate::commands::host(&args.host, budget)?;
        files = host
            .files(
                std::slice::from_ref(&args.instance),
                RenderOptions::default(),
            )
            .context("cannot generate the profiles")?;
        let base = args.root.as_ref().map(|_| &rootfs as &dyn Fs);
        let names = vec![
            host.layout.server_unit.to_string(),
            host.layout
                .server_unit
                .with_instance(&args.instance)?
                .to_string(),
            host.layout.web_unit.to_string(),
        ];
        (score::with_generated(&host, &files, base), names)
    } else {
        (
            Box::new(Overlay::new(
                &rootfs,
                std::iter::empty::<(String, Vec<u8>)>(),
            )),
            args.units.clone(),
        )
    };
    let unit_path = std::env::var("SYSTEMD_UNIT_PATH").ok();
    let results = score::units(fs.as_ref(), &names, unit_path.as_deref());
    let refused = fs.refused();
    if !refused.is_empty() {
        anyhow::bail!(
            "cannot read everything systemd would: {}",
            refused.join("; ")
        );
    }
    let format = match args.json {
        Json::Off => Format::Text(Glyphs::from_env(|k| std::env::var(k).ok())),
        Json::Short => Format::JsonShort,
        Json::Pretty => Format::JsonPretty,
    };
    let mut stdout = out::stdout();
    let mut stderr = out::stderr();
    for r in &results {
        match r {
            Ok(s) if args.summary => writeln!(stdout, "{}", s.summary())?,
            Ok(s) => stdout.write_all(s.render(format).as_bytes())?,
            Err(dropin::Error::Unscorable { reason, .. }) => writeln!(stderr, "{reason}")?,
            Err(e) => writeln!(stderr, "{e}")?,
        }
    }
    Ok(ExitCode::from(dropin::score::exit_status(
        &results,
        args.threshold,
    )))
}
