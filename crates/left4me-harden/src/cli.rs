//! The command line, declared with clap; doc comments are the help text.

use std::ffi::OsStr;
use std::path::PathBuf;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use dropin::Instance;
use left4me_hardening::{ProfileKind, shell};

/// Generate, write, diff, explain and lint the systemd hardening drop-ins
/// of a left4me host (game servers, web app, sysctl), as proven by the
/// hardening test plan on Debian 13 with systemd 257.
#[derive(Debug, Parser)]
#[command(name = "left4me-harden", version, max_term_width = 100)]
pub(crate) struct Cli {
    /// Print only errors and what was asked for: no notes, warnings or summaries (write prints nothing).
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print one generated file.
    Render(RenderArgs),
    /// Write every generated file under a root, atomically and idempotently.
    Write(WriteArgs),
    /// Compare what is installed with what would be generated: the settings systemd reads, then the files' text (exit 0 same, 1 different, 2 trouble).
    Diff(DiffArgs),
    /// Explain a directive (its value in each profile, provenance, systemd version), a profile (its composition trace) or a lint.
    Explain(ExplainArgs),
    /// Check drop-in files (installed or hand-written) against the test plan's findings (exit 0 no errors, 1 errors, 2 trouble).
    Lint(LintArgs),
    /// List the profiles and the files each writes.
    List(ListArgs),
    /// Probe the test plan's attack vectors on this host's running units, as root (exit 0 nothing reachable, 1 a vector reachable, 2 trouble).
    ///
    /// Test 8's vectors (D1.a-c, D2.a-c, D3, D5, the PrivateUsers bonus) on each server instance, whether each unit runs the generated profile, Test 10's sudo on the web app and Test 9's ptrace scope on the host: PASS (blocked; for Test 10, sudo works), FAIL (reachable), SKIP with the reason, ERROR (the probe did not run). What srcds sees is probed in every namespace of its process (found below the unit's MainPID) as its uid; ptrace and sudo in a transient service with the unit's user and hardening as systemd loaded them. It only reads and probes: the transient units end within 30 s and are collected.
    Check(CheckArgs),
    /// Read SECCOMP audit records (audit.log, ausearch raw or -i, dmesg or journalctl lines) and name, for each group of repeats, the unit directive that denied the call, the file and line that made it so, and the smallest fix as a host configuration entry, checked (exit 0 nothing denied, 1 a denial or an unreadable record, 2 trouble).
    ///
    /// The unit comes from systemd's "status=31/SYS" line in the input, the instance in the executable's path, or --unit. With --root each unit is loaded as systemd loads it under that root; without, it is judged with its generated profile alone. A fix is checked by generating the profile with it and loading the unit again. See docs/triage.md.
    Triage(crate::triage_cmd::TriageArgs),
    /// Score units as `systemd-analyze security --offline=true` (systemd 257) does, byte for byte as it prints to a pipe, without systemd; by default the left4me profiles as generated (exit 0, 1 a unit not scored or above --threshold, 2 trouble).
    Score(crate::score_cmd::ScoreArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) of the command or of one subcommand, or write every page.
    Man {
        /// The subcommand whose page to print (left4me-harden-SUBCOMMAND(1)).
        subcommand: Option<String>,
        /// Write every page (left4me-harden.1, left4me-harden-SUBCOMMAND.1) into this directory instead.
        #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
        out_dir: Option<PathBuf>,
    },
}

/// Options every profile-building command takes.
#[derive(Debug, Args)]
pub(crate) struct HostArgs {
    /// The systemd version of the target host; directives it does not know are refused.
    #[arg(long, value_name = "N", default_value_t = 257, value_parser = SYSTEMD_VERSION)]
    pub(crate) systemd_version: u32,
    /// A host configuration (TOML) adapting the profiles to this host: layout, added and removed directives, traits, lint waivers (see docs/host-config.md); `-`: standard input. Default: $LEFT4ME_HARDEN_CONFIG, else /etc/left4me-harden/host.toml if present (on the running system, also with --root).
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub(crate) config: Option<PathBuf>,
    /// Use the standard profiles: read no host configuration.
    #[arg(long, conflicts_with = "config")]
    pub(crate) no_config: bool,
}

/// Takes a text argument as UTF-8, refusing other bytes with a message
/// that names the argument (debug-escaped, so `\xFF` shows) rather than
/// clap's generic "invalid UTF-8 was detected".
#[derive(Clone, Copy, Debug)]
pub(crate) struct Utf8(pub(crate) &'static str);

impl TypedValueParser for Utf8 {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        value.to_str().map(str::to_owned).ok_or_else(|| {
            clap::Error::raw(
                ErrorKind::InvalidUtf8,
                format!("invalid {} {value:?}: not valid UTF-8\n", self.0),
            )
            .with_cmd(cmd)
        })
    }
}

/// Parses a typed argument, naming the value (debug-escaped) when it is not
/// UTF-8 or not valid: `what` names the argument, `parse` is the library's
/// own parser, whose error names the value and the reason.
/// `2`, when given, lists the values for help and shell completion.
#[derive(Clone, Copy)]
pub(crate) struct Typed<T>(
    pub(crate) &'static str,
    pub(crate) fn(&str) -> Result<T, String>,
    pub(crate) Option<fn() -> Vec<String>>,
);

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Typed<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let text = Utf8(self.0).parse_ref(cmd, arg, value)?;
        (self.1)(&text).map_err(|e| {
            clap::Error::raw(ErrorKind::ValueValidation, format!("{e}\n")).with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue>>> {
        let values = (self.2?)()
            .into_iter()
            .map(clap::builder::PossibleValue::new);
        Some(Box::new(values))
    }
}

/// A systemd version, 200 to 999.
pub(crate) const SYSTEMD_VERSION: Typed<u32> = Typed(
    "systemd version",
    |t| {
        (t.parse().ok().filter(|v| (200..=999).contains(v))).ok_or_else(|| {
            format!("invalid systemd version {t:?}: expected a number from 200 to 999")
        })
    },
    None,
);

/// Parses with the library's `FromStr`, whose error names the value.
fn parsed<T: std::str::FromStr<Err = left4me_hardening::Error>>(t: &str) -> Result<T, String> {
    t.parse()
        .map_err(|e: left4me_hardening::Error| e.to_string())
}

/// A profile name.
pub(crate) const PROFILE: Typed<ProfileKind> = Typed("profile", parsed, Some(shell::profiles));

/// A workload trait.
pub(crate) const TRAIT: Typed<left4me_hardening::Trait> =
    Typed("trait", parsed, Some(shell::traits));

/// A server instance name.
pub(crate) const INSTANCE: Typed<Instance> = Typed(
    "instance name",
    |t| Instance::new(t).map_err(|e| e.to_string()),
    None,
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// The file as systemd reads it.
    Conf,
    /// The reactor's `systemd/units` metadata, as JSON.
    Bundlewrap,
    /// A self-describing dump of the typed profile (directive, value, provenance).
    Json,
}

/// What `write` produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum WriteFormat {
    /// The files, written under the root.
    Conf,
    /// One JSON document of every file, printed.
    Bundlewrap,
}

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    /// The profile: server, web or sysctl.
    #[arg(value_parser = PROFILE)]
    pub(crate) profile: ProfileKind,
    /// Render the drop-in of one server instance (`%i` resolved) instead of the template.
    #[arg(long, value_name = "N", value_parser = INSTANCE)]
    pub(crate) instance: Option<Instance>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Conf)]
    pub(crate) format: Format,
    /// Leave out provenance comments and notes (the header line stays).
    #[arg(long)]
    pub(crate) no_comments: bool,
    #[command(flatten)]
    pub(crate) host: HostArgs,
}

#[derive(Debug, Args)]
pub(crate) struct WriteArgs {
    /// The root directory files are written under.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub(crate) root: PathBuf,
    /// Also write the drop-in of this server instance (repeatable).
    #[arg(long, value_name = "N", value_parser = INSTANCE)]
    pub(crate) instance: Vec<Instance>,
    /// Write nothing; exit 1 if anything would change, 0 if not.
    #[arg(long)]
    pub(crate) check: bool,
    /// conf writes the files; bundlewrap prints one JSON document of all of them (drop-ins under systemd.units, the sysctl file under files) and writes nothing.
    #[arg(long, value_enum, default_value_t = WriteFormat::Conf)]
    pub(crate) format: WriteFormat,
    /// Leave out provenance comments and notes.
    #[arg(long)]
    pub(crate) no_comments: bool,
    /// Where a destination file is a symbolic link, replace the file it leads to (atomically; the link stays) instead of refusing. Only the file itself may be a link, never a directory on the way. The link is read inside the root as systemd reads it (an absolute target starts at --root, `..` stops there), through up to 40 links; it must lead to a regular file or to nothing (then created) in an existing directory.
    #[arg(long)]
    pub(crate) follow_symlinks: bool,
    #[command(flatten)]
    pub(crate) host: HostArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// A directive (`PrivatePIDs`, `PrivatePIDs=`), a profile (server, web, sysctl), a lint id (`mdwx-text-relocations`) or a sysctl key a profile sets (`kernel.yama.ptrace_scope`).
    #[arg(value_parser = Typed("directive, profile or lint", |t| Ok(t.to_owned()), Some(shell::subjects)), hide_possible_values = true)]
    pub(crate) subject: String,
    #[command(flatten)]
    pub(crate) host: HostArgs,
}

/// `lint`: findings go to standard output, one per line, as
/// `UNIT: error[ID] (Test N): … — fix: …`, then a count.
#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    /// Drop-in files (`-`: standard input); with --root, unit names instead (unit names alone, without --root: the units installed at /). A file in a `NAME.service.d/` directory belongs to that unit; an instance's files are read together with its template's as systemd reads them (a file of the same name in the instance's directory replaces the template's, `%i` resolved). Other files belong to the one --unit given.
    #[arg(value_name = "FILE|UNIT", required_unless_present = "root", value_parser = Utf8("file or unit"))]
    pub(crate) files: Vec<String>,
    /// Lint the units installed under this root as systemd 257 loads them (every directory of its search path); without unit names, the web unit and every installed server instance.
    #[arg(long, value_name = "DIR", conflicts_with = "unit")]
    pub(crate) root: Option<PathBuf>,
    /// The base unit the drop-ins apply to, layered underneath (repeatable; each applies to the drop-ins of the unit it is named after, or of its instances; a single one also to files outside a `.d` directory).
    #[arg(long, value_name = "FILE")]
    pub(crate) unit: Vec<PathBuf>,
    /// A workload trait: i386-binary, text-relocations, shares-uid, runs-sudo (repeatable). Without it, the traits are those of the profile whose unit the files are for (the server's for `left4me-server@*.service.d/`, the web's for `left4me-web.service.d/`).
    #[arg(long = "trait", value_name = "TRAIT", value_parser = TRAIT)]
    pub(crate) traits: Vec<left4me_hardening::Trait>,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub(crate) format: ReportFormat,
    #[command(flatten)]
    pub(crate) host: HostArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Also list the drop-in of this server instance (repeatable).
    #[arg(long, value_name = "N", value_parser = INSTANCE)]
    pub(crate) instance: Vec<Instance>,
    #[command(flatten)]
    pub(crate) host: HostArgs,
}

/// The output of a report: `check`, `diff`, `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// For people: one line per finding, a summary.
    Human,
    /// One JSON document.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// A server instance to probe (repeatable; default 1 and 2). Each instance's D5 target is the next one given.
    #[arg(long, value_name = "N", value_parser = INSTANCE)]
    pub(crate) instance: Vec<Instance>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub(crate) format: ReportFormat,
    #[command(flatten)]
    pub(crate) host: HostArgs,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorWhen {
    /// When standard output is a terminal (and NO_COLOR is not set).
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// Compare only this profile (server, web or sysctl); every profile when left out.
    #[arg(value_parser = PROFILE)]
    pub(crate) profile: Option<ProfileKind>,
    /// The root directory the installed files are read under.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub(crate) root: PathBuf,
    /// Also compare the drop-in of this server instance (repeatable); every installed instance is compared anyway.
    #[arg(long, value_name = "N", value_parser = INSTANCE)]
    pub(crate) instance: Vec<Instance>,
    /// Compare one unit's generated settings with `systemctl show UNIT` output saved to FILE (`-`: standard input) instead of the installed files; needs the profile (and, for the server, one --instance).
    #[arg(long, value_name = "FILE", conflicts_with = "root")]
    pub(crate) show: Option<PathBuf>,
    /// Colour the output: auto (on a terminal), always or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub(crate) color: ColorWhen,
    /// Output format: human (a summary per unit, then unified diffs) or json (the same report for CI and deploy tools).
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub(crate) format: ReportFormat,
    /// Compare with files rendered without provenance comments (as `write --no-comments` writes them).
    #[arg(long)]
    pub(crate) no_comments: bool,
    #[command(flatten)]
    pub(crate) host: HostArgs,
}
