//! `score`: the exposure score of `systemd-analyze security
//! --offline=true` (systemd 257), without systemd; exit 0, or 1 when a
//! unit cannot be scored or is above `--threshold` (as systemd-analyze),
//! 2 trouble.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use dropin::load::{self, Fs, LoadOptions, Loader, MemFs, NameKind, Overlay};
use dropin::score::{self, Format, Glyphs, Score};
use dropin::{Instance, RenderOptions, RootFs};
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

/// The test plan's base units (no hardening in their bodies), for scoring
/// the generated drop-ins on a machine without left4me.
const SERVER_UNIT: &str =
    include_str!("../../left4me-hardening/tests/fixtures/units/left4me-server@.service");
const WEB_UNIT: &str =
    include_str!("../../left4me-hardening/tests/fixtures/units/left4me-web.service");

/// The instance `systemd-analyze` gives a template (`--instance=`'s
/// default).
const TEST_INSTANCE: &str = "test_instance";

/// The unit systemd loads for an argument: a template becomes its
/// `test_instance`.
fn unit_to_load(name: &str) -> String {
    match (load::unit_name_kind(name), name.split_once("@.")) {
        (Some(NameKind::Template), Some((prefix, ty))) => format!("{prefix}@{TEST_INSTANCE}.{ty}"),
        _ => name.to_owned(),
    }
}

/// The search path: the directories of the unit files given, then
/// `$SYSTEMD_UNIT_PATH` (where a trailing `:` appends the defaults), or
/// the defaults (`verify_set_unit_path()` and `lookup_paths_init()`).
fn search_path(file_dirs: &[String]) -> Vec<String> {
    let mut path: Vec<String> = Vec::new();
    for d in file_dirs {
        if !path.contains(d) {
            path.push(d.clone());
        }
    }
    let defaults = || load::SEARCH_PATH.iter().map(|s| (*s).to_owned());
    match std::env::var("SYSTEMD_UNIT_PATH") {
        Ok(v) if !v.is_empty() => {
            let parts: Vec<&str> = v.split(':').collect();
            for p in parts.iter().filter(|p| !p.is_empty()) {
                path.push((*p).to_owned());
            }
            if v.ends_with(':') {
                path.extend(defaults());
            }
        }
        Ok(_) => {}
        Err(_) => path.extend(defaults()),
    }
    let mut seen = std::collections::BTreeSet::new();
    path.retain(|p| seen.insert(p.clone()));
    path
}

/// Runs `score`.
pub(crate) fn run(args: &ScoreArgs, budget: &Budget) -> Result<ExitCode> {
    let root_dir = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let root =
        Root::open(&root_dir).with_context(|| format!("cannot open {}", root_dir.display()))?;
    let rootfs = RootFs::new(&root, budget);
    let (fs, names): (Box<dyn Fs + '_>, Vec<String>) = if args.units.is_empty() {
        profiles(args, budget, &rootfs)?
    } else {
        (
            Box::new(Overlay::new(&rootfs, std::iter::empty())),
            args.units.clone(),
        )
    };
    let mut dirs = Vec::new();
    let mut wanted = Vec::new();
    for n in &names {
        match n.rsplit_once('/') {
            Some((dir, file)) if n.starts_with('/') => {
                dirs.push(if dir.is_empty() {
                    "/".to_owned()
                } else {
                    dir.to_owned()
                });
                wanted.push(unit_to_load(file));
            }
            _ => wanted.push(unit_to_load(n)),
        }
    }
    let options = LoadOptions {
        search_path: search_path(&dirs),
    };
    let loader = Loader::new(fs.as_ref(), &options);
    let results: Vec<dropin::Result<Score>> = wanted
        .iter()
        .map(|u| score::score(&loader.load(u)))
        .collect();
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
    Ok(ExitCode::from(score::exit_status(&results, args.threshold)))
}

/// The generated drop-ins (template, `--instance`, web) laid over the base
/// units under `--root`, or over the reference base units in memory; and
/// the units to score.
fn profiles<'a>(
    args: &ScoreArgs,
    budget: &Budget,
    rootfs: &'a RootFs<'a>,
) -> Result<(Box<dyn Fs + 'a>, Vec<String>)> {
    let host = crate::commands::host(&args.host, budget)?;
    let files = host
        .files(
            std::slice::from_ref(&args.instance),
            RenderOptions::default(),
        )
        .context("cannot generate the profiles")?;
    let server = host.layout.server_unit.clone();
    let web = host.layout.web_unit.clone();
    let names = vec![
        server.to_string(),
        server.with_instance(&args.instance)?.to_string(),
        web.to_string(),
    ];
    let dropins = files
        .iter()
        .filter(|f| f.unit().is_some())
        .map(|f| (format!("/{}", f.path), f.text.clone().into_bytes()));
    if args.root.is_some() {
        return Ok((Box::new(Overlay::new(rootfs, dropins)), names));
    }
    let mut fs = MemFs::new();
    fs.file(&format!("/etc/systemd/system/{server}"), SERVER_UNIT)
        .file(&format!("/etc/systemd/system/{web}"), WEB_UNIT);
    for (path, text) in dropins {
        fs.file(&path, text);
    }
    Ok((Box::new(fs), names))
}
