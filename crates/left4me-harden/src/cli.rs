//! The command line, declared with clap; doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Generate, write, diff, explain and lint the systemd hardening drop-ins
/// of a left4me host (game servers, web app, sysctl), as proven by the
/// hardening test plan on Debian 13 with systemd 257.
#[derive(Debug, Parser)]
#[command(name = "left4me-harden", version, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print one generated file.
    Render(RenderArgs),
    /// Write every generated file under a root, atomically and idempotently.
    Write(WriteArgs),
    /// Explain a directive (its value in each profile, provenance, systemd version) or a profile (its composition trace).
    Explain(ExplainArgs),
    /// List the profiles and the files each writes.
    List(ListArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Options every profile-building command takes.
#[derive(Debug, Args)]
pub(crate) struct HostArgs {
    /// The systemd version of the target host; directives it does not know are refused.
    #[arg(long, value_name = "N", default_value_t = 257, value_parser = clap::value_parser!(u32).range(200..=999))]
    pub(crate) systemd_version: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// The file as systemd reads it.
    Conf,
    /// The reactor's `systemd/units` metadata, as JSON.
    Bundlewrap,
    /// A self-describing dump of the typed profile (directive, value, provenance).
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    /// The profile: server, web or sysctl.
    pub(crate) profile: String,
    /// Render the drop-in of one server instance (`%i` resolved) instead of the template.
    #[arg(long, value_name = "N")]
    pub(crate) instance: Option<String>,
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
    #[arg(long, value_name = "N")]
    pub(crate) instance: Vec<String>,
    /// Write nothing; exit 1 if anything would change, 0 if not.
    #[arg(long)]
    pub(crate) check: bool,
    /// conf writes the files; bundlewrap writes one JSON document of all of them.
    #[arg(long, value_enum, default_value_t = Format::Conf)]
    pub(crate) format: Format,
    /// Leave out provenance comments and notes.
    #[arg(long)]
    pub(crate) no_comments: bool,
    /// Where a destination is a symbolic link, replace the file it points to (atomically) instead of refusing.
    #[arg(long)]
    pub(crate) follow_symlinks: bool,
    #[command(flatten)]
    pub(crate) host: HostArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// A directive (`PrivatePIDs`, `PrivatePIDs=`) or a profile (server, web, sysctl).
    pub(crate) subject: String,
    #[command(flatten)]
    pub(crate) host: HostArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Also list the drop-in of this server instance (repeatable).
    #[arg(long, value_name = "N")]
    pub(crate) instance: Vec<String>,
    #[command(flatten)]
    pub(crate) host: HostArgs,
}
