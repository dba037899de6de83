//! The host configuration: one TOML file in which an operator adapts the
//! proven profiles to a host — its layout, extra binds or socket rules,
//! directives dropped with a recorded reason, workload traits and lint
//! waivers — without editing code.
//!
//! ```
//! use left4me_hardening::{ProfileKind, config};
//!
//! let toml = r#"
//! [layout]
//! state_dir = "/srv/left4me"
//!
//! [[server.add]]
//! directive = "BindReadOnlyPaths"
//! value = "/var/cache/left4me"
//! reason = "overlay symlinks point into the cache"
//!
//! [[server.remove]]
//! directive = "ProtectClock"
//! reason = "the host's chrony runs in this unit"
//! "#;
//! let host = config::parse("host.toml", toml)?.apply()?;
//! let file = host.generate(ProfileKind::Server, None, Default::default())?;
//! assert!(file.text.contains("BindReadOnlyPaths=/srv/left4me/installation\n"));
//! assert!(file.text.contains("# host config: overlay symlinks point into the cache\n"));
//! assert!(file.text.contains("# ProtectClock= removed by host config: the host's chrony runs in this unit\n"));
//! assert!(!file.text.contains("ProtectClock=true"));
//!
//! let err = config::parse("host.toml", "[server]\nbogus = 1\n").unwrap_err();
//! assert!(err.to_string().starts_with("host.toml: line 2, column 1: unknown field `bogus`"));
//! # Ok::<(), left4me_hardening::Error>(())
//! ```
//!
//! The schema is documented in `docs/host-config.md`.

use std::fmt::Display;
use std::ops::Range;
use std::path::Path;

use dropin::{Assignment, Composed, Directive, Layer, Provenance, UnitName, UnitPath};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::host::{Host, Waiver};
use crate::layout::Layout;
use crate::profiles::{Content, Profile, ProfileKind};
use crate::traits::Trait;

/// The origin every change made by a host configuration is recorded with;
/// the entry's `reason` is the provenance's reason.
pub const ORIGIN: &str = "host config";

/// The name of the layer a host configuration appends to a profile.
pub const LAYER: &str = "host config";

/// A host configuration file, as read. Every table refuses keys it does
/// not know; [`HostConfig::apply`] validates the values.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Where things live on the host.
    #[serde(default)]
    pub layout: LayoutConfig,
    /// Changes to the game server profile.
    #[serde(default)]
    pub server: ProfileConfig,
    /// Changes to the web profile.
    #[serde(default)]
    pub web: ProfileConfig,
    /// Lints waived, each with a reason.
    #[serde(default)]
    pub waivers: Vec<WaiverConfig>,
    /// The file name and text, for line and column in errors.
    #[serde(skip)]
    source: Source,
}

#[derive(Clone, Debug, Default)]
struct Source {
    file: String,
    text: String,
}

/// `[layout]`: every key optional; what is left out keeps the layout of
/// the host the test plan ran on.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutConfig {
    /// The state directory (`/var/lib/left4me`).
    pub state_dir: Option<Spanned<String>>,
    /// The configuration directory (`/etc/left4me`).
    pub config_dir: Option<Spanned<String>>,
    /// The game server template unit (`left4me-server@.service`).
    pub server_unit: Option<Spanned<String>>,
    /// The web unit (`left4me-web.service`).
    pub web_unit: Option<Spanned<String>>,
    /// The drop-in file name in each `.d` directory (`10-hardening.conf`).
    pub dropin_name: Option<Spanned<String>>,
    /// The sysctl.d file (`/etc/sysctl.d/99-left4me-ptrace.conf`).
    pub sysctl_file: Option<Spanned<String>>,
}

/// `[server]` or `[web]`: traits appended, directives added and removed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Workload traits appended to the profile's own.
    #[serde(default)]
    pub traits: Vec<Spanned<Trait>>,
    /// Assignments added after the proven layers.
    #[serde(default)]
    pub add: Vec<AddEntry>,
    /// Directives removed from the composition.
    #[serde(default)]
    pub remove: Vec<RemoveEntry>,
}

/// `[[server.add]]`: one assignment, as it would stand in a drop-in.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddEntry {
    /// A directive of the registry (`BindReadOnlyPaths`).
    pub directive: Spanned<String>,
    /// Its value; `""` is systemd's reset.
    pub value: Spanned<String>,
    /// Why; rendered as the line's provenance comment.
    pub reason: Spanned<String>,
}

/// `[[server.remove]]`: a directive the profile sets, dropped.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveEntry {
    /// A directive the profile sets.
    pub directive: Spanned<String>,
    /// Why; rendered where the directive would have been.
    pub reason: Spanned<String>,
}

/// `[[waivers]]`: an error-level lint let through, with a reason.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverConfig {
    /// The lint id.
    pub lint: Spanned<String>,
    /// The profile it applies to; every profile when left out.
    pub profile: Option<Spanned<String>>,
    /// Why.
    pub reason: Spanned<String>,
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, last)| last)
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Reads a host configuration; `file_name` names it in errors. Syntax
/// errors, unknown keys and values of the wrong type are errors naming
/// line and column.
pub fn parse(file_name: &str, text: &str) -> Result<HostConfig> {
    if text.len() > MAX_BYTES {
        return Err(too_big(file_name));
    }
    let source = Source {
        file: file_name.to_owned(),
        text: text.to_owned(),
    };
    match toml::from_str::<HostConfig>(text) {
        Ok(mut config) => {
            config.source = source;
            Ok(config)
        }
        Err(e) => {
            // One line: the message without toml's source excerpt.
            let message = e.message().trim().replace('\n', " ");
            Err(match e.span() {
                Some(span) => source.at(span, message),
                None => Error::Config {
                    file: source.file,
                    message,
                },
            })
        }
    }
}

/// Reads and applies the host configuration at `path`, with a budget of
/// its own (see [`load_within`]).
pub fn load(path: &Path) -> Result<Host> {
    load_within(path, &rootfs::Budget::default())
}

/// Reads and applies the host configuration at `path`, within a run's
/// read budget: a regular file on a regular file system (never a FIFO, a
/// device or a file under `/proc`), at most [`MAX_BYTES`], valid UTF-8.
pub fn load_within(path: &Path, budget: &rootfs::Budget) -> Result<Host> {
    from_read(&path.display().to_string(), rootfs::read_path(path, budget))
}

/// Applies the host configuration `file` whose read gave `read`: at most
/// [`MAX_BYTES`], valid UTF-8.
fn from_read(file: &str, read: rootfs::Result<Vec<u8>>) -> Result<Host> {
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(rootfs::Error::TooLarge { .. }) => return Err(too_big(file)),
        Err(e) => {
            return Err(Error::Config {
                file: file.to_owned(),
                message: format!("cannot read it: {e}"),
            });
        }
    };
    if bytes.len() > MAX_BYTES {
        return Err(too_big(file));
    }
    let text = String::from_utf8(bytes).map_err(|e| Error::Config {
        file: file.to_owned(),
        message: format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
    })?;
    parse(file, &text)?.apply()
}

/// Which host configuration a file was generated from: its path as
/// given and the SHA-256 of its content (hex, the first 16 digits), as the
/// generated file's header says it.
///
/// ```
/// use left4me_hardening::config::ConfigId;
///
/// let id = ConfigId::of("/etc/left4me-harden/host.toml", "");
/// assert_eq!(id.sha256, "e3b0c44298fc1c14");
/// assert_eq!(id.header(), "Host config: /etc/left4me-harden/host.toml (sha256 e3b0c44298fc1c14).");
/// assert_eq!(ConfigId::header_of(None), "Host config: none (the standard profiles).");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigId {
    /// The file as named (`standard input` for `-`).
    pub path: String,
    /// The content's SHA-256, hex, first 16 digits.
    pub sha256: String,
}

impl ConfigId {
    /// The identity of the configuration `text` read from `path`.
    pub fn of(path: &str, text: &str) -> ConfigId {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(text.as_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        ConfigId {
            path: dropin::render::escape_controls(path),
            sha256: hex,
        }
    }

    /// The header line naming it.
    pub fn header(&self) -> String {
        format!("Host config: {} (sha256 {}).", self.path, self.sha256)
    }

    /// The header line for a host built from `config`, or from none.
    pub fn header_of(config: Option<&ConfigId>) -> String {
        config.map_or_else(
            || "Host config: none (the standard profiles).".to_owned(),
            ConfigId::header,
        )
    }

    /// The header line a generated file's `text` names its configuration
    /// in ([`ConfigId::header_of`], after `# `), if any.
    pub fn named_in(text: &str) -> Option<&str> {
        text.lines()
            .take_while(|l| l.starts_with('#'))
            .filter_map(|l| l.strip_prefix("# "))
            .find(|l| l.starts_with("Host config: "))
    }

    /// Whether two header lines name the same configuration: the same
    /// content hash (or both none), whatever path it was read from.
    ///
    /// ```
    /// use left4me_hardening::config::ConfigId;
    ///
    /// let a = ConfigId::of("/etc/left4me-harden/host.toml", "x").header();
    /// let b = ConfigId::of("./host.toml", "x").header();
    /// let c = ConfigId::of("/etc/left4me-harden/host.toml", "y").header();
    /// let none = ConfigId::header_of(None);
    /// assert!(ConfigId::same_config(&a, &b));
    /// assert!(!ConfigId::same_config(&a, &c));
    /// assert!(!ConfigId::same_config(&a, &none));
    /// assert!(ConfigId::same_config(&none, &none));
    /// ```
    pub fn same_config(a: &str, b: &str) -> bool {
        // The path may hold " (": the hash is the last parenthesis.
        a.rsplit_once(" (").map(|(_, h)| h) == b.rsplit_once(" (").map(|(_, h)| h)
    }
}

/// Where a run's host configuration comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chosen {
    /// None: the standard profiles.
    Standard,
    /// A file.
    File(std::path::PathBuf),
    /// Standard input (`--config -`).
    Stdin,
}

/// Chooses the host configuration: `--no-config` gives the standard
/// profiles; else `--config` (`-`: standard input); else the file the
/// environment variable [`crate::shell::CONFIG_ENV`] names (`env`, when
/// not empty); else [`crate::shell::DEFAULT_CONFIG`] if `default_exists`;
/// else the standard profiles.
///
/// ```
/// use std::path::{Path, PathBuf};
/// use left4me_hardening::config::{Chosen, choose};
///
/// let flag = Some(Path::new("my.toml"));
/// assert_eq!(choose(flag, false, Some("env.toml".into()), true), Chosen::File("my.toml".into()));
/// assert_eq!(choose(Some(Path::new("-")), false, None, true), Chosen::Stdin);
/// assert_eq!(choose(None, true, Some("env.toml".into()), true), Chosen::Standard);
/// assert_eq!(choose(None, false, Some("env.toml".into()), true), Chosen::File("env.toml".into()));
/// assert_eq!(choose(None, false, Some("".into()), true), Chosen::File("/etc/left4me-harden/host.toml".into()));
/// assert_eq!(choose(None, false, None, false), Chosen::Standard);
/// ```
pub fn choose(
    flag: Option<&Path>,
    no_config: bool,
    env: Option<std::ffi::OsString>,
    default_exists: bool,
) -> Chosen {
    if no_config {
        return Chosen::Standard;
    }
    if let Some(path) = flag {
        return if path == Path::new("-") {
            Chosen::Stdin
        } else {
            Chosen::File(path.to_owned())
        };
    }
    match env.filter(|v| !v.is_empty()) {
        Some(path) if path == "-" => Chosen::Stdin,
        Some(path) => Chosen::File(path.into()),
        None if default_exists => Chosen::File(crate::shell::DEFAULT_CONFIG.into()),
        None => Chosen::Standard,
    }
}

/// The host of a run: the configuration [`choose`] picks, read within the
/// run's budget (standard input bounded by it too), or the standard
/// profiles. The default file counts as present when anything is at its
/// path, so an unreadable one is an error, never silently skipped.
pub fn discover(flag: Option<&Path>, no_config: bool, budget: &rootfs::Budget) -> Result<Host> {
    let default_exists = std::fs::symlink_metadata(crate::shell::DEFAULT_CONFIG).is_ok();
    let env = std::env::var_os(crate::shell::CONFIG_ENV);
    match choose(flag, no_config, env, default_exists) {
        Chosen::Standard => Host::standard(),
        Chosen::File(path) => load_within(&path, budget),
        Chosen::Stdin => {
            let file = "standard input";
            from_read(file, rootfs::read_stdin(file, budget))
        }
    }
}

/// The largest host configuration read: a hand-written file is a few KiB.
pub const MAX_BYTES: usize = 1024 * 1024;

fn too_big(file: &str) -> Error {
    Error::Config {
        file: file.to_owned(),
        message: format!("larger than the {MAX_BYTES} bytes a host configuration may have"),
    }
}

impl Source {
    /// An error at `span`, with line and column.
    fn at(&self, span: Range<usize>, message: impl Display) -> Error {
        let (line, column) = line_column(&self.text, span.start);
        Error::Config {
            file: self.file.clone(),
            message: format!("line {line}, column {column}: {message}"),
        }
    }
}

impl HostConfig {
    /// An error at the value `s`.
    fn at<T>(&self, s: &Spanned<T>, message: impl Display) -> Error {
        self.source.at(s.span(), message)
    }

    /// A reason: non-empty, one line.
    fn reason(&self, reason: &Spanned<String>) -> Result<String> {
        let text = reason.get_ref().trim();
        if text.is_empty() {
            return Err(self.at(reason, "the reason must not be empty"));
        }
        if let Some(c) = text.chars().find(|c| c.is_control()) {
            return Err(self.at(
                reason,
                format!("the reason must be one line of text (it contains {c:?})"),
            ));
        }
        Ok(text.to_owned())
    }

    fn directive(&self, name: &Spanned<String>) -> Result<Directive> {
        name.get_ref().parse::<Directive>().map_err(|e| {
            self.at(
                name,
                format!(
                    "{e}{}; `left4me-harden explain` names the known ones",
                    crate::suggest::hint(name.get_ref(), dropin::REGISTRY.iter().map(|s| s.name))
                ),
            )
        })
    }

    fn path(&self, key: &str, value: &Spanned<String>) -> Result<UnitPath> {
        let path = UnitPath::literal(value.get_ref()).map_err(|e| self.at(value, e))?;
        if path.as_str() == "/" {
            return Err(self.at(value, format!("{key} must not be the root directory")));
        }
        Ok(path)
    }

    fn unit(&self, value: &Spanned<String>, template: bool) -> Result<UnitName> {
        let unit = UnitName::new(value.get_ref()).map_err(|e| self.at(value, e))?;
        // Its drop-ins live in NAME.d, itself a file name.
        if value.get_ref().len() + ".d".len() > crate::output::NAME_MAX {
            return Err(self.at(
                value,
                format!(
                    "{:?} is too long: its drop-in directory name would be longer than {} bytes",
                    value.get_ref(),
                    crate::output::NAME_MAX
                ),
            ));
        }
        if !value.get_ref().ends_with(".service") {
            return Err(self.at(
                value,
                format!("{:?} is not a service unit", value.get_ref()),
            ));
        }
        match (template, unit.is_template()) {
            (true, false) => Err(self.at(
                value,
                format!(
                    "{:?} is not a template unit (name@.service): the game server runs one instance per server",
                    value.get_ref()
                ),
            )),
            (false, true) => Err(self.at(
                value,
                format!("{:?} is a template unit; the web unit is not", value.get_ref()),
            )),
            _ => Ok(unit),
        }
    }

    fn dropin_name(&self, value: &Spanned<String>) -> Result<String> {
        let name = value.get_ref();
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@');
        if !name.ends_with(".conf")
            || name.len() <= ".conf".len()
            || name.starts_with('.')
            || name.len() > 255
            || !name.chars().all(ok_char)
        {
            return Err(self.at(
                value,
                format!(
                    "invalid drop-in name {name:?}: expected a file name like 10-hardening.conf \
                     (letters, digits, \"-_.@\", ending in .conf)"
                ),
            ));
        }
        Ok(name.clone())
    }

    fn sysctl_file(&self, value: &Spanned<String>) -> Result<UnitPath> {
        let text = value.get_ref();
        let dirs = [
            "/etc/sysctl.d/",
            "/run/sysctl.d/",
            "/usr/local/lib/sysctl.d/",
            "/usr/lib/sysctl.d/",
        ];
        let in_dir = dirs.iter().find_map(|d| text.strip_prefix(d));
        let valid = in_dir.is_some_and(|name| {
            name.len() > ".conf".len() && name.ends_with(".conf") && !name.contains(['/', '%'])
        });
        // systemd-sysctl, like every conf-files reader of systemd, skips
        // hidden files (`hidden_or_backup_file()`); a name ending in
        // `.conf` cannot be one of its backup names.
        if in_dir.is_some_and(|name| name.starts_with('.')) {
            return Err(self.at(
                value,
                format!(
                    "invalid sysctl file {text:?}: systemd-sysctl skips hidden files (names starting with a dot)"
                ),
            ));
        }
        if !valid {
            return Err(self.at(
                value,
                format!(
                    "invalid sysctl file {text:?}: systemd-sysctl reads NAME.conf in {}",
                    dirs.join(", ")
                ),
            ));
        }
        UnitPath::new(text).map_err(|e| self.at(value, e))
    }

    /// The layout, with the configured values validated.
    pub fn layout(&self) -> Result<Layout> {
        let mut layout = Layout::standard()?;
        let l = &self.layout;
        if let Some(v) = &l.state_dir {
            layout.state_dir = self.path("state_dir", v)?;
        }
        if let Some(v) = &l.config_dir {
            layout.config_dir = self.path("config_dir", v)?;
        }
        if let Some(v) = &l.server_unit {
            layout.server_unit = self.unit(v, true)?;
        }
        if let Some(v) = &l.web_unit {
            layout.web_unit = self.unit(v, false)?;
        }
        // The web unit as an instance of the server template would share
        // that instance's drop-in directory.
        if layout.web_unit.template().as_ref() == Some(&layout.server_unit) {
            let span = l.web_unit.as_ref().or(l.server_unit.as_ref());
            let message = format!(
                "web unit {} is an instance of the server template {}: its drop-in would collide with that server instance's",
                layout.web_unit, layout.server_unit
            );
            return Err(match span {
                Some(v) => self.at(v, message),
                None => Error::Config {
                    file: self.source.file.clone(),
                    message,
                },
            });
        }
        if let Some(v) = &l.dropin_name {
            layout.dropin_name = self.dropin_name(v)?;
        }
        if let Some(v) = &l.sysctl_file {
            layout.sysctl_file = self.sysctl_file(v)?;
        }
        Ok(layout)
    }

    /// The host: the standard profiles built for the configured layout,
    /// each adjusted by its `add` and `remove` entries (a layer named
    /// [`LAYER`] appended and the composition recomposed), with the traits
    /// and waivers.
    pub fn apply(&self) -> Result<Host> {
        let layout = self.layout()?;
        let mut host = Host::with_layout(layout).map_err(|e| Error::Config {
            file: self.source.file.clone(),
            message: format!("[layout]: {e}"),
        })?;
        self.adjust(&mut host.server, &self.server)?;
        self.adjust(&mut host.web, &self.web)?;
        // The host's own waivers come first, so they win over a profile's
        // standard waiver for the same lint.
        let mut waivers = self
            .waivers
            .iter()
            .map(|w| self.waiver(w))
            .collect::<Result<Vec<_>>>()?;
        waivers.append(&mut host.waivers);
        host.waivers = waivers;
        host.config = Some(ConfigId::of(&self.source.file, &self.source.text));
        Ok(host)
    }

    fn waiver(&self, w: &WaiverConfig) -> Result<Waiver> {
        let lint = w.lint.get_ref();
        let lint: crate::lint::LintId = lint.parse().map_err(|_| {
            let known: Vec<&str> = crate::lint::LintId::ALL
                .iter()
                .map(|l| l.as_str())
                .collect();
            self.at(
                &w.lint,
                format!(
                    "unknown lint id {lint:?}: expected one of {}{}",
                    known.join(", "),
                    crate::suggest::hint(lint, known.iter().copied())
                ),
            )
        })?;
        let profile = w
            .profile
            .as_ref()
            .map(|p| {
                p.get_ref()
                    .parse::<ProfileKind>()
                    .map_err(|e| self.at(p, e))
            })
            .transpose()?;
        Ok(Waiver {
            lint,
            profile,
            reason: self.reason(&w.reason)?,
            origin: "host config".to_owned(),
        })
    }

    fn adjust(&self, profile: &mut Profile, config: &ProfileConfig) -> Result<()> {
        for t in &config.traits {
            if !profile.traits.contains(t.get_ref()) {
                profile.traits.push(*t.get_ref());
            }
        }
        if config.add.is_empty() && config.remove.is_empty() {
            return Ok(());
        }
        let Content::DropIn {
            unit,
            layers,
            composed,
        } = &mut profile.content
        else {
            return Ok(());
        };
        let mut layer = Layer::new(LAYER);
        let mut removed = Vec::new();
        for r in &config.remove {
            let d = self.directive(&r.directive)?;
            if composed.get(d).is_none() {
                return Err(self.at(
                    &r.directive,
                    format!(
                        "profile {} does not set {}=, so there is nothing to remove",
                        profile.kind,
                        d.name()
                    ),
                ));
            }
            if removed.contains(&d) {
                return Err(self.at(&r.directive, format!("{}= is removed twice", d.name())));
            }
            removed.push(d);
            layer.remove(d, Provenance::new(ORIGIN, self.reason(&r.reason)?));
        }
        for a in &config.add {
            let d = self.directive(&a.directive)?;
            let assignment =
                Assignment::parse(d, a.value.get_ref()).map_err(|e| self.at(&a.value, e))?;
            if !unit.is_template()
                && assignment
                    .value
                    .as_ref()
                    .is_some_and(dropin::Value::uses_instance)
            {
                return Err(self.at(
                    &a.value,
                    format!(
                        "{unit} is not a template, so %i in {:?} would expand to nothing",
                        a.value.get_ref()
                    ),
                ));
            }
            layer.push(assignment, Provenance::new(ORIGIN, self.reason(&a.reason)?));
        }
        layers.push(layer);
        *composed = Composed::compose(layers);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_column("abc", 0), (1, 1));
        assert_eq!(line_column("a\nbc", 3), (2, 2));
        assert_eq!(line_column("é\nxé=", 6), (2, 3));
        assert_eq!(line_column("ab", 99), (1, 3));
    }

    fn err(text: &str) -> String {
        match parse("h.toml", text).and_then(|c| c.apply()) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        for (text, want) in [
            (
                "bogus = 1\n",
                "h.toml: line 1, column 1: unknown field `bogus`",
            ),
            (
                "[layout]\nstate_dir = 5\n",
                "h.toml: line 2, column 13: invalid type: integer `5`, expected a string",
            ),
            (
                "[[server.add]]\ndirective = \"Bogus\"\nvalue = \"x\"\nreason = \"r\"\n",
                "h.toml: line 2, column 13: unknown directive \"Bogus\"",
            ),
            (
                "[[server.add]]\ndirective = \"BindPaths\"\nvalue = \"relative\"\nreason = \"r\"\n",
                "h.toml: line 3, column 9: invalid path \"relative\"",
            ),
            (
                "[[server.remove]]\ndirective = \"ProtectClock\"\nreason = \"  \"\n",
                "h.toml: line 3, column 10: the reason must not be empty",
            ),
            (
                "[[server.remove]]\ndirective = \"ProtectClock\"\nreason = \"a\\nb\"\n",
                "h.toml: line 3, column 10: the reason must be one line",
            ),
            (
                "[[server.remove]]\ndirective = \"ProtectClock\"\n",
                "h.toml: line 1, column 1: missing field `reason`",
            ),
            (
                "[[web.remove]]\ndirective = \"PrivateUsers\"\nreason = \"r\"\n",
                "profile web does not set PrivateUsers=",
            ),
            (
                "[layout]\nserver_unit = \"left4me-server.service\"\n",
                "line 2, column 15: \"left4me-server.service\" is not a template unit",
            ),
            (
                "[layout]\nweb_unit = \"web@.service\"\n",
                "is a template unit",
            ),
            (
                "[layout]\nstate_dir = \"/\"\n",
                "must not be the root directory",
            ),
            (
                "[layout]\nsysctl_file = \"/etc/99-x.conf\"\n",
                "invalid sysctl file",
            ),
            (
                "[layout]\ndropin_name = \"x.txt\"\n",
                "invalid drop-in name",
            ),
            (
                "[layout]\nsysctl_file = \"/etc/sysctl.d/.99-x.conf\"\n",
                "line 2, column 15: invalid sysctl file \"/etc/sysctl.d/.99-x.conf\": systemd-sysctl skips hidden files",
            ),
            (
                "[layout]\nweb_unit = \"left4me-server@1.service\"\n",
                "line 2, column 12: web unit left4me-server@1.service is an instance of the server template",
            ),
            (
                "[layout]\nserver_unit = \"s@.service\"\nweb_unit = \"s@web.service\"\n",
                "line 3, column 12: web unit s@web.service is an instance of the server template s@.service",
            ),
            (
                "[[waivers]]\nlint = \"path-hidden\"\nprofile = \"db\"\nreason = \"r\"\n",
                "line 3, column 11: unknown profile \"db\"",
            ),
            (
                "[[waivers]]\nlint = \"no-such-lint\"\nreason = \"r\"\n",
                "line 2, column 8: unknown lint id \"no-such-lint\": expected one of mdwx-text-relocations",
            ),
            (
                "[server]\ntraits = [\"flying\"]\n",
                "line 2, column 11: unknown variant `flying`",
            ),
            (
                "[[web.add]]\ndirective = \"BindPaths\"\nvalue = \"/srv/%i\"\nreason = \"r\"\n",
                "is not a template, so %i",
            ),
        ] {
            let got = err(text);
            assert!(got.contains(want), "{text:?}:\n got {got}\nwant {want}");
            assert!(!got.contains('\n'), "{got}");
        }
    }

    #[test]
    fn unit_names_leave_room_for_the_d_directory() {
        // 253 bytes: NAME.d is 255, the most a file name may have.
        let fits = format!("{}@.service", "a".repeat(244));
        let text = format!("[layout]\nserver_unit = \"{fits}\"\n");
        assert!(parse("h.toml", &text).unwrap().layout().is_ok());
        let long = format!("{}@.service", "a".repeat(245));
        let text = format!("[layout]\nserver_unit = \"{long}\"\n");
        let e = err(&text);
        assert!(
            e.contains("line 2, column 15: ") && e.contains("longer than 255 bytes"),
            "{e}"
        );
    }

    #[test]
    fn adds_and_removes_make_a_layer() {
        let text = "[server]\ntraits = [\"runs-sudo\"]\n[[server.add]]\ndirective = \"SocketBindAllow=\"\nvalue = \"udp:27000-27100\"\nreason = \"game ports\"\n[[server.remove]]\ndirective = \"ProtectClock\"\nreason = \"chrony\"\n[[waivers]]\nlint = \"mdwx-text-relocations\"\nprofile = \"server\"\nreason = \"known\"\n";
        let host = parse("h.toml", text).unwrap().apply().unwrap();
        let Content::DropIn {
            layers, composed, ..
        } = &host.server.content
        else {
            panic!()
        };
        assert_eq!(layers.last().unwrap().name(), LAYER);
        assert!(composed.get(Directive::ProtectClock).is_none());
        assert!(composed.get(Directive::SocketBindAllow).is_some());
        assert!(host.server.traits.contains(&Trait::RunsSudo));
        assert_eq!(
            host.waivers.len(),
            1 + Host::standard().unwrap().waivers.len()
        );
        assert_eq!(host.waivers[0].profile, Some(ProfileKind::Server));
        assert_eq!(host.waivers[0].origin, "host config");
        // The web profile is untouched.
        assert_eq!(host.web, Host::standard().unwrap().web);
    }
}
