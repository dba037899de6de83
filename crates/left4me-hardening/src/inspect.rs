//! What is installed on a host, read as systemd 257 reads it, against what
//! the profiles generate: the reports behind `diff`, `diff --show` and
//! `lint`.
//!
//! Every unit is loaded with [`dropin::load()`] — the whole search path, the
//! template's and the instance's drop-in directories, dash-prefix and
//! type-wide directories, aliases, masks — once as installed and once with
//! the generated files laid over the installed tree (what systemd would read
//! after `write`). Two units have the same settings when their effective
//! settings are equal.

use std::collections::BTreeSet;

use dropin::load::{self, LoadOptions, LoadState, Overlay, installed_instances};
use dropin::parse::{RawEntry, show_output, sysctl_entries};
use dropin::{Change, Diagnostic, Fs, Instance, Level, RenderOptions, UnifiedDiff};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::host::Host;
use crate::lint::{self, Finding, Shadowed, Subject};
use crate::output::Generated;
use crate::profiles::ProfileKind;
use crate::traits::Trait;

/// One generated file against the file installed at its path.
#[derive(Clone, Debug, Serialize)]
pub struct FileDiff {
    /// The file, as an absolute path on the host.
    pub path: String,
    /// Whether a file is installed there.
    pub installed: bool,
    /// The line diff (empty when the texts are equal), as unified diff text.
    #[serde(rename = "unified", serialize_with = "as_text")]
    pub diff: UnifiedDiff,
    /// Whether the texts differ.
    pub text_differs: bool,
    /// When the installed file was generated from another host
    /// configuration than this run's (another content hash, or none): its header line naming that one
    /// (`Host config: PATH (sha256 HEX).`), or `Host config: not named.`
    /// for a generated file that names none.
    pub other_config: Option<String>,
}

/// One unit: its settings as installed against its settings once the
/// generated files are written.
#[derive(Clone, Debug, Serialize)]
pub struct UnitReport {
    /// The unit (`left4me-server@2.service`), or the sysctl file.
    pub unit: String,
    /// The profile it belongs to.
    pub profile: ProfileKind,
    /// How the installed unit loads.
    pub state: LoadState,
    /// The files systemd reads for it as installed, in order.
    pub read: Vec<String>,
    /// The setting changes from installed to generated, each naming the
    /// file and line it came from.
    pub changes: Vec<Change>,
    /// What drop-ins read after the generated file change of its settings
    /// once it is written: the generated value (old side) against what
    /// systemd ends up with (new side, naming the overriding file and line).
    pub overridden: Vec<Change>,
    /// The generated file would not be read at all: shadowed by a file of
    /// the same name in a directory systemd searches first, or the unit is
    /// masked.
    pub not_read: Option<String>,
    /// The exposure score as installed and once written, and the checks
    /// that move with the settings behind them (none when neither side
    /// can be scored, such as without a unit file).
    pub score: Option<ScoreChange>,
    /// The generated files for this unit against what is installed.
    pub files: Vec<FileDiff>,
    /// What systemd would log reading the installed files (lines it
    /// ignores, files it cannot read).
    pub installed_diagnostics: Vec<Diagnostic>,
    /// What systemd would log reading the generated files: a line it would
    /// ignore that the generated file relies on.
    pub generated_diagnostics: Vec<Diagnostic>,
}

impl UnitReport {
    /// Whether the settings differ (comments and spelling do not count).
    pub fn differs(&self) -> bool {
        !self.changes.is_empty()
            || !self.overridden.is_empty()
            || self.not_read.is_some()
            || !self.generated_diagnostics.is_empty()
    }
}

/// How a unit's exposure score moves when the generated files are
/// written.
#[derive(Clone, Debug, Serialize)]
pub struct ScoreChange {
    /// The installed unit's overall exposure (`1.7`), if it can be scored.
    pub before: Option<String>,
    /// The exposure once written.
    pub after: Option<String>,
    /// Its level once written (`OK`).
    pub level: Option<&'static str>,
    /// The checks whose result moves, each with the differing settings
    /// it reads.
    pub moves: Vec<dropin::score::CheckMove>,
}

/// Scores `unit` (a template as its `test_instance`) as installed and as
/// it will be once the generated files are written; `loaded` is the unit
/// itself, loaded both ways from where `located` says, when it is the one
/// scored. `siblings` scores instances installed as generated (`own`).
fn score_change(
    (loaders, siblings): (&Loaders<'_>, Option<&crate::score::Instances<'_>>),
    unit: &str,
    own: &Generated,
    (located, loaded): (&load::Located, (&load::Loaded, &load::Loaded)),
) -> Option<ScoreChange> {
    let name = crate::score::unit_to_load(unit);
    let other;
    let (old, new) = if name == unit {
        loaded
    } else {
        other = loaders.both(&name);
        (&other.1, other.2.as_ref().unwrap_or(&other.1))
    };
    // With nothing to write, the unit as it will be is a copy of the unit
    // as installed: the same load scores the same.
    let before = match siblings {
        Some(s) if name == unit => s.score_loaded(own, &name, located, old).ok(),
        _ => dropin::score::score(old).ok(),
    };
    let after = if loaders.wanted.is_none() {
        before.clone()
    } else {
        dropin::score::score(new).ok()
    };
    let moves = match (&before, &after) {
        // The same unit both ways: no check moves.
        (Some(_), Some(_)) if loaders.wanted.is_none() => Vec::new(),
        (Some(b), Some(a)) => dropin::score::compare(b, &old.effective, a, &new.effective)
            .changed()
            .cloned()
            .collect(),
        (None, None) => return None,
        _ => Vec::new(),
    };
    Some(ScoreChange {
        before: before.as_ref().map(dropin::score::Score::exposure_text),
        level: after.as_ref().map(|a| a.level().name),
        after: after.as_ref().map(dropin::score::Score::exposure_text),
        moves,
    })
}

/// The units of one `diff`, loaded as installed and as they will be once
/// the generated files are written: each search path read once per run,
/// as one manager does, not once per unit.
struct Loaders<'a> {
    installed: load::Loader<'a>,
    /// `None` when every generated file is installed as it is generated:
    /// the tree once written reads as the tree installed.
    wanted: Option<load::Loader<'a>>,
}

impl Loaders<'_> {
    /// Where `unit` is installed, the unit as installed and as it will be
    /// (`None`: as installed).
    fn both(&self, unit: &str) -> (load::Located, load::Loaded, Option<load::Loaded>) {
        let located = self.installed.locate(unit);
        let installed = self.installed.load_located(unit, located.clone());
        let wanted = self.wanted.as_ref().map(|l| l.load(unit));
        (located, installed, wanted)
    }
}

/// Whether every generated file is installed as it is generated: a
/// regular file, not a link, with the same bytes. An overlay of those
/// files then answers every question as the tree itself does.
///
/// Asked in the order the file diff asks (what the path leads to, then
/// its bytes), the link question only of a path that leads to a file of
/// the generated size: a path the reader refuses is not asked more than
/// the report asks it.
fn installed_as_generated(fs: &dyn Fs, generated: &[Generated]) -> bool {
    generated.iter().all(|g| {
        let path = absolute(&g.path);
        matches!(fs.target(&path), Ok(load::Target::File(n)) if n == g.text.len() as u64)
            && matches!(fs.read_link(&path), Ok(None))
            && fs.read(&path).is_ok_and(|b| b == g.text.as_bytes())
    })
}

/// The report of `diff`.
#[derive(Clone, Debug, Serialize)]
pub struct DiffReport {
    /// Every unit compared, in order: web, the server template, each
    /// server instance, then the sysctl file.
    pub units: Vec<UnitReport>,
    /// Installed server instances that were not asked for (compared
    /// anyway, as `write` would write them).
    pub unrequested_instances: Vec<String>,
}

impl DiffReport {
    /// Whether any unit's settings differ.
    pub fn differs(&self) -> bool {
        self.units.iter().any(UnitReport::differs)
    }
}

/// What `diff` compares.
#[derive(Clone, Debug, Default)]
pub struct DiffRequest {
    /// One profile only.
    pub profile: Option<ProfileKind>,
    /// Server instances asked for; installed ones are compared as well.
    pub instances: Vec<Instance>,
    /// How the generated files are rendered.
    pub render: RenderOptions,
    /// How many threads compare the units.
    pub threads: crate::Threads,
}

fn as_text<S: serde::Serializer>(d: &UnifiedDiff, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

/// Fails with what `fs` refused to read, if anything (in path order:
/// the threads that read meet them in no one order).
fn refused(fs: &dyn Fs) -> Result<()> {
    let mut refused = fs.refused();
    refused.sort();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(Error::Refused(refused))
    }
}

/// `/path` for a path relative to the root.
fn absolute(relative: &str) -> String {
    format!("/{}", relative.trim_start_matches('/'))
}

fn file_diff(fs: &dyn Fs, g: &Generated) -> FileDiff {
    let path = absolute(&g.path);
    let (installed, old) = match fs.target(&path) {
        Ok(load::Target::File(_)) => (
            true,
            fs.read(&path)
                .map(|b| {
                    String::from_utf8(b)
                        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
                })
                .unwrap_or_default(),
        ),
        _ => (false, String::new()),
    };
    let shown = fs.display(&path);
    let diff = UnifiedDiff::new(
        &format!("{shown} (installed)"),
        &old,
        &format!("{shown} (generated)"),
        &g.text,
    );
    use crate::config::ConfigId;
    let generated_here = old.starts_with("# Generated by left4me-harden");
    let other_config = match (ConfigId::named_in(&old), ConfigId::named_in(&g.text)) {
        // The hash decides, not the path the config was read from.
        (Some(old), Some(new)) if !ConfigId::same_config(old, new) => Some(old.to_owned()),
        (None, Some(_)) if generated_here => Some("Host config: not named.".to_owned()),
        _ => None,
    };
    FileDiff {
        path: shown,
        installed,
        text_differs: !diff.is_empty(),
        diff,
        other_config,
    }
}

/// Compares one unit as installed with the unit once `overlay` is written.
/// What the drop-ins read after `own` (the unit's generated file) do to
/// its settings, and why `own` would not be read at all, if it would not.
fn overrides(
    overlay: &dyn Fs,
    unit: &str,
    wanted: &load::Loaded,
    own: &str,
) -> (Vec<Change>, Option<String>) {
    if wanted.state == LoadState::Masked {
        return (Vec::new(), Some(format!("{unit} is masked")));
    }
    let Some(at) = wanted.dropins.iter().position(|d| d == own) else {
        let shown = overlay.display(own);
        let why = wanted
            .shadowed
            .iter()
            .find(|(_, loser)| loser == own)
            .map(|(winner, _)| {
                format!(
                    "{shown} is not read: {} of the same name is read instead",
                    overlay.display(winner)
                )
            })
            .or_else(|| {
                wanted
                    .masked_dropins
                    .iter()
                    .find(|m| m.rsplit('/').next() == own.rsplit('/').next())
                    .map(|m| format!("{shown} is not read: {} masks it", overlay.display(m)))
            })
            .unwrap_or_else(|| format!("{shown} is not read"));
        return (Vec::new(), Some(why));
    };
    let later: Vec<(String, Vec<u8>)> = wanted.dropins[at + 1..]
        .iter()
        .map(|p| (p.clone(), Vec::new()))
        .collect();
    if later.is_empty() {
        return (Vec::new(), None);
    }
    // The unit with every later drop-in masked (an empty file is a mask):
    // the generated file's settings as the last word.
    let later_files: BTreeSet<String> = later.iter().map(|(p, _)| overlay.display(p)).collect();
    let without = Overlay::new(overlay, later);
    let intended = load::load(&without, unit, &LoadOptions::default());
    let mut changes = intended.effective.changes(&wanted.effective);
    // Name only the later files that did it.
    for c in &mut changes {
        c.new_origins.retain(|o| later_files.contains(&*o.file));
    }
    (changes, None)
}

fn unit_report(
    (fs, overlay): (&dyn Fs, &dyn Fs),
    scorers: (&Loaders<'_>, Option<&crate::score::Instances<'_>>),
    unit: &str,
    profile: ProfileKind,
    files: &[&Generated],
    own: &Generated,
) -> UnitReport {
    let (located, installed, will_be) = scorers.0.both(unit);
    let wanted = will_be.as_ref().unwrap_or(&installed);
    let (overridden, not_read) = overrides(overlay, unit, wanted, &absolute(&own.path));
    let generated: BTreeSet<String> = files
        .iter()
        .map(|g| overlay.display(&absolute(&g.path)))
        .collect();
    let generated_diagnostics = wanted
        .diagnostics
        .iter()
        .filter(|d| generated.contains(&d.file))
        .cloned()
        .collect();
    UnitReport {
        unit: unit.to_owned(),
        profile,
        state: installed.state,
        read: installed
            .fragment
            .iter()
            .chain(&installed.dropins)
            .map(|p| fs.display(p))
            .collect(),
        // Nothing to write: the unit as it will be is the unit as installed.
        changes: match &will_be {
            Some(w) => installed.effective.changes(&w.effective),
            None => Vec::new(),
        },
        overridden,
        not_read,
        score: score_change(scorers, unit, own, (&located, (&installed, wanted))),
        // An instance's report shows its own file only (the template's
        // file is reported with the template).
        files: files
            .iter()
            .filter(|g| own.instance.is_none() || std::ptr::eq(**g, own))
            .map(|g| file_diff(fs, g))
            .collect(),
        installed_diagnostics: installed.diagnostics,
        generated_diagnostics,
    }
}

/// The effective sysctl settings of the keys the generated file sets, as
/// `systemd-sysctl` reads every `*.conf` of its directories (last
/// assignment wins), with where each came from.
fn sysctl_settings(
    fs: &dyn Fs,
    keys: &BTreeSet<String>,
    read: &mut Vec<String>,
) -> Vec<(String, String, String)> {
    let dirs: Vec<String> = ["/etc", "/run", "/usr/local/lib", "/usr/lib"]
        .iter()
        .map(|d| format!("{d}/sysctl.d"))
        .collect();
    let mut last: std::collections::BTreeMap<String, (String, String)> = Default::default();
    for path in load::conf_files(fs, &dirs, ".conf").files {
        let Ok(bytes) = fs.read(&path) else { continue };
        let shown = fs.display(&path);
        read.push(shown.clone());
        let text = String::from_utf8_lossy(&bytes);
        for e in sysctl_entries(&shown, &text).unwrap_or_default() {
            if keys.contains(&e.key) {
                last.insert(e.key, (e.value, format!("{}:{}", e.file, e.line)));
            }
        }
    }
    last.into_iter().map(|(k, (v, o))| (k, v, o)).collect()
}

/// One sysctl key's value and where it was set (`FILE:LINE`).
type SysctlValue = Option<(String, String, String)>;

/// How `key` changes from `old` to `new`, if it does.
fn sysctl_change(key: &str, old: &SysctlValue, new: &SysctlValue) -> Option<Change> {
    let origin = |x: &SysctlValue| {
        x.iter()
            .filter_map(|(_, _, o)| o.rsplit_once(':'))
            .map(|(f, l)| dropin::Origin {
                file: f.into(),
                line: l.parse().unwrap_or(0),
            })
            .collect::<Vec<_>>()
    };
    let delta = match (old, new) {
        (Some(a), Some(b)) if a.1 == b.1 => return None,
        (None, None) => return None,
        (Some(a), Some(b)) => dropin::Delta::Changed(a.1.clone(), b.1.clone()),
        (None, Some(b)) => dropin::Delta::Added(b.1.clone()),
        (Some(a), None) => dropin::Delta::Removed(a.1.clone()),
    };
    Some(Change {
        key: key.to_owned(),
        directive: None,
        delta,
        old_origins: origin(old),
        new_origins: origin(new),
    })
}

fn sysctl_report(fs: &dyn Fs, overlay: &dyn Fs, g: &Generated) -> UnitReport {
    let entries = sysctl_entries("generated", &g.text).unwrap_or_default();
    let keys: BTreeSet<String> = entries.iter().map(|e| e.key.clone()).collect();
    let mut read = Vec::new();
    let before = sysctl_settings(fs, &keys, &mut read);
    let after = sysctl_settings(overlay, &keys, &mut Vec::new());
    let find =
        |s: &[(String, String, String)], key: &str| s.iter().find(|(k, _, _)| k == key).cloned();
    let mut changes = Vec::new();
    let mut overridden = Vec::new();
    for key in &keys {
        let (old, new) = (find(&before, key), find(&after, key));
        changes.extend(sysctl_change(key, &old, &new));
        // What the generated file says, against what systemd-sysctl ends
        // up with once it is written: a later file wins.
        let own = entries.iter().rev().find(|e| &e.key == key).map(|e| {
            (
                e.key.clone(),
                e.value.clone(),
                format!("{}:{}", absolute(&g.path), e.line),
            )
        });
        overridden.extend(sysctl_change(key, &own, &new));
    }
    UnitReport {
        unit: absolute(&g.path),
        profile: ProfileKind::Sysctl,
        state: LoadState::Loaded,
        read,
        changes,
        overridden,
        not_read: None,
        score: None,
        files: vec![file_diff(fs, g)],
        installed_diagnostics: Vec::new(),
        generated_diagnostics: Vec::new(),
    }
}

/// Compares what is installed in `fs` with what `host` generates.
pub fn diff(host: &Host, fs: &dyn Fs, request: &DiffRequest) -> Result<DiffReport> {
    if let (Some(kind), Some(i)) = (request.profile, request.instances.first())
        && kind != ProfileKind::Server
    {
        return Err(Error::NotATemplate {
            profile: kind.name().to_owned(),
            instance: i.as_str().to_owned(),
        });
    }
    // Each file is read once for the report, the view and both loads.
    let cached = load::Cached::new(fs);
    let fs: &dyn Fs = &cached;
    let template = host.layout.server_unit.to_string();
    let installed: Vec<Instance> = installed_instances(fs, &template, &LoadOptions::default())
        .iter()
        .filter_map(|u| load::instance_name(u))
        .filter_map(|i| Instance::new(i).ok())
        .collect();
    let mut instances = request.instances.clone();
    let mut unrequested = Vec::new();
    for i in &installed {
        if !instances.contains(i) {
            if !request.instances.is_empty() {
                unrequested.push(host.layout.server_unit.with_instance(i)?.to_string());
            }
            instances.push(i.clone());
        }
    }
    let mut generated = host.files_on(&instances, request.render, request.threads)?;
    if let Some(kind) = request.profile {
        generated.retain(|g| g.profile == kind);
    }
    let overlay = Overlay::new(
        fs,
        generated
            .iter()
            .map(|g| (absolute(&g.path), g.text.as_bytes())),
    );
    let options = LoadOptions::default();
    // Known when the first unit is compared: the sysctl file alone reads
    // no unit directory.
    let as_generated = std::sync::OnceLock::new();
    let template_files: Vec<&Generated> = generated
        .iter()
        .filter(|o| o.profile == ProfileKind::Server && o.instance.is_none())
        .collect();
    let reports = crate::par::runs(&generated, request.threads, |part| {
        // Each thread's own loaders, made when its first unit is compared.
        let loaders = std::cell::OnceCell::new();
        let siblings = std::cell::OnceCell::new();
        let mut units = Vec::with_capacity(part.len());
        for g in part {
            if g.profile == ProfileKind::Sysctl {
                units.push(Ok(sysctl_report(fs, &overlay, g)));
                continue;
            }
            let unit = match host.profile(g.profile).unit_for(g.instance.as_ref()) {
                Ok(unit) => unit,
                Err(e) => {
                    units.push(Err(e));
                    break;
                }
            };
            // An instance reads the template's file too (in the order generated).
            let files: Vec<&Generated> = if g.instance.is_some() && g.profile == ProfileKind::Server
            {
                let mut files = template_files.clone();
                files.push(g);
                files
            } else {
                vec![g]
            };
            let loaders = loaders.get_or_init(|| Loaders {
                installed: load::Loader::new(fs, &options),
                wanted: (!*as_generated.get_or_init(|| installed_as_generated(fs, &generated)))
                    .then(|| load::Loader::new(&overlay, &options)),
            });
            // Installed as generated: an instance scores as a sibling did
            // where that provably holds (see `crate::score::Instances`).
            let siblings = siblings.get_or_init(|| {
                loaders
                    .wanted
                    .is_none()
                    .then(|| crate::score::Instances::new(host, &loaders.installed))
            });
            let scorers = (loaders, siblings.as_ref());
            units.push(Ok(unit_report(
                (fs, &overlay),
                scorers,
                &unit,
                g.profile,
                &files,
                g,
            )));
        }
        units
    });
    // The first error in the order of the units, as one thread meets it.
    let units = reports.into_iter().collect::<Result<Vec<UnitReport>>>()?;
    refused(fs)?;
    Ok(DiffReport {
        units,
        unrequested_instances: unrequested,
    })
}

/// The report of `diff --show`.
#[derive(Clone, Debug)]
pub struct ShowReport {
    /// The unit.
    pub unit: String,
    /// One check per directive the generated file sets.
    pub checks: Vec<dropin::show::Check>,
}

impl ShowReport {
    /// How many checks differ.
    pub fn differing(&self) -> usize {
        self.checks.iter().filter(|c| c.differs()).count()
    }

    /// How many checks could not be compared.
    pub fn not_comparable(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| matches!(c.verdict, dropin::show::Verdict::NotComparable { .. }))
            .count()
    }
}

/// Compares the generated settings of one unit (`web`, or `server` with
/// an instance) with `systemctl show` output `text` (named `name`).
pub fn show(
    host: &Host,
    kind: ProfileKind,
    instance: Option<&Instance>,
    name: &str,
    text: &str,
) -> Result<ShowReport> {
    let profile = host.profile(kind);
    let Some(composed) = profile.composed() else {
        return Err(Error::Show(
            "the sysctl profile is not a unit; --show compares a service's settings".to_owned(),
        ));
    };
    if instance.is_none() && profile.is_template() {
        return Err(Error::Show(
            "--show compares one running unit: give the server's instance (--instance N), \
             whose systemctl show output FILE is"
                .to_owned(),
        ));
    }
    let unit = profile.unit_for(instance)?;
    let entries: Vec<RawEntry> = show_output(name, text)?;
    if entries.is_empty() {
        return Err(Error::Show(format!(
            "{name} is empty: save the output of `systemctl show {unit}` to it"
        )));
    }
    if let Some(id) = entries.iter().find(|e| e.key == "Id")
        && id.value != unit
    {
        return Err(Error::Show(format!(
            "{name} is the show output of {}, not of {unit}",
            id.value
        )));
    }
    let composed = match instance {
        Some(i) => composed.for_instance(i)?,
        None => composed.clone(),
    };
    let effective = dropin::Effective::of(&composed, &unit);
    Ok(ShowReport {
        checks: dropin::show::compare(&effective, &entries),
        unit,
    })
}

/// A finding and the waiver that covers it, if one does.
#[derive(Clone, Debug, Serialize)]
pub struct LintFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// Who waived it and why.
    pub waived_by: Option<Waived>,
}

/// A waiver as a report names it.
#[derive(Clone, Debug, Serialize)]
pub struct Waived {
    /// Where the waiver is written (the profile, the host config).
    pub origin: String,
    /// Its reason.
    pub reason: String,
}

/// One unit's lint findings.
#[derive(Clone, Debug, Serialize)]
pub struct UnitLint {
    /// The unit.
    pub unit: String,
    /// Its profile, if it is one of the host's.
    pub profile: Option<ProfileKind>,
    /// The files systemd reads for it, in order.
    pub read: Vec<String>,
    /// The findings, each with the waiver that covers it.
    pub findings: Vec<LintFinding>,
    /// Directives and values the host's systemd does not know.
    pub too_new: Vec<String>,
    /// What systemd would log loading it.
    pub diagnostics: Vec<Diagnostic>,
    /// Traits were not known (not a profile's unit, none given).
    pub no_traits: bool,
}

/// Whether `text` names a unit rather than a file: no `/`, a valid unit
/// name (`left4me-server@1.service`).
///
/// ```
/// use left4me_hardening::inspect::is_unit_name;
/// assert!(is_unit_name("left4me-server@1.service"));
/// assert!(!is_unit_name("./left4me-server@1.service"));
/// assert!(!is_unit_name("10-hardening.conf"));
/// ```
pub fn is_unit_name(text: &str) -> bool {
    !text.contains('/') && dropin::UnitName::new(text).is_ok()
}

/// The root whose installed units `lint` reads: `root` when given, `/`
/// when every name given is a unit name (and no file of that name is
/// here), else none (the names are files). A `--unit` that is a unit name
/// rather than a file is refused: it takes a base unit file.
pub fn lint_root(
    root: Option<&std::path::Path>,
    names: &[String],
    units: &[std::path::PathBuf],
) -> Result<Option<std::path::PathBuf>> {
    let absent = |p: &std::path::Path| std::fs::symlink_metadata(p).is_err();
    if let Some(u) = units
        .iter()
        .find(|u| absent(u) && is_unit_name(&u.to_string_lossy()))
    {
        return Err(crate::Error::Input(format!(
            "--unit takes a base unit file; {:?} is not a file here (to lint the installed \
             unit, name it without --unit: lint [--root DIR] UNIT)",
            u.display().to_string()
        )));
    }
    let all_units = !names.is_empty()
        && units.is_empty()
        && names.iter().all(|n| is_unit_name(n) && absent(n.as_ref()));
    Ok(root
        .map(std::path::Path::to_path_buf)
        .or_else(|| all_units.then(|| "/".into())))
}

/// The profile whose unit `unit` is (or instantiates).
pub fn profile_of(host: &Host, unit: &str) -> Option<ProfileKind> {
    let template = load::template_of(unit);
    [ProfileKind::Server, ProfileKind::Web]
        .into_iter()
        .find(|k| {
            host.profile(*k)
                .unit_for(None)
                .is_ok_and(|u| u == unit || template.as_deref() == Some(u.as_str()))
        })
}

/// Lints unit `unit` as loaded from `fs`, with `traits` (or its profile's).
pub fn lint(host: &Host, fs: &dyn Fs, unit: &str, traits: &[Trait]) -> UnitLint {
    let loaded = load::load(fs, unit, &LoadOptions::default());
    let profile = profile_of(host, unit);
    let traits: &[Trait] = if traits.is_empty() {
        profile.map_or(&[], |k| host.profile(k).traits.as_slice())
    } else {
        traits
    };
    let shadowed: Vec<Shadowed> = loaded
        .shadowed
        .iter()
        .map(|(w, l)| Shadowed {
            winner: fs.display(w),
            loser: fs.display(l),
        })
        .collect();
    let findings = lint::check(&Subject {
        effective: &loaded.effective,
        traits,
        shadowed: &shadowed,
        composed: None,
    })
    .into_iter()
    .map(|finding| LintFinding {
        waived_by: host.waiver(profile, finding.lint).map(|w| Waived {
            origin: w.origin.clone(),
            reason: w.reason.clone(),
        }),
        finding,
    })
    .collect();
    UnitLint {
        unit: unit.to_owned(),
        profile,
        read: loaded
            .fragment
            .iter()
            .chain(&loaded.dropins)
            .map(|p| fs.display(p))
            .collect(),
        findings,
        too_new: loaded
            .effective
            .too_new(host.systemd_version)
            .iter()
            .map(ToString::to_string)
            .collect(),
        diagnostics: loaded
            .diagnostics
            .into_iter()
            .filter(|d| d.level == Level::Error || d.level == Level::Warning)
            .collect(),
        no_traits: traits.is_empty(),
    }
}

/// Lints the host's units as installed in `fs`: the web unit, then every
/// installed instance of the server template (the template itself when
/// none is installed).
pub fn lint_installed(host: &Host, fs: &dyn Fs, traits: &[Trait]) -> Result<Vec<UnitLint>> {
    let template = host.layout.server_unit.to_string();
    let mut units = vec![host.layout.web_unit.to_string()];
    let instances = installed_instances(fs, &template, &LoadOptions::default());
    if instances.is_empty() {
        units.push(template);
    } else {
        units.extend(instances);
    }
    let linted = units.iter().map(|u| lint(host, fs, u, traits)).collect();
    refused(fs)?;
    Ok(linted)
}

/// Lints the named units as installed in `fs`.
pub fn lint_units(
    host: &Host,
    fs: &dyn Fs,
    units: &[String],
    traits: &[Trait],
) -> Result<Vec<UnitLint>> {
    for u in units {
        if load::unit_name_kind(u).is_none() {
            return Err(Error::Show(format!("{u:?} is not a unit name")));
        }
    }
    let linted = units.iter().map(|u| lint(host, fs, u, traits)).collect();
    refused(fs)?;
    Ok(linted)
}

/// The directory units and drop-ins given as files are laid out in.
const FILES_DIR: &str = "/etc/systemd/system";

/// Lints drop-in files given by path (as installed or hand-written): each
/// file's `NAME.service.d/` directory says which unit it is for; `bases`
/// (base unit files, by file name) lie underneath. The files are laid out
/// as a unit directory and each unit loaded as systemd would: an instance
/// reads its template's files too (a file of the same name in the instance
/// directory replacing the template's), and a template without one of its
/// instances among the files is linted on its own (`%i` kept). Files
/// outside a `.d` directory count for the one base unit given, or
/// otherwise for a unit of their own.
pub fn lint_files(
    host: &Host,
    files: &[(String, Vec<u8>)],
    bases: &[(String, Vec<u8>)],
    traits: &[Trait],
) -> Result<Vec<UnitLint>> {
    let mut fs = load::MemFs::new();
    let mut units: BTreeSet<String> = BTreeSet::new();
    let mut base_names = Vec::new();
    for (path, bytes) in bases {
        let name = path.rsplit('/').next().unwrap_or(path);
        if load::unit_name_kind(name).is_none() {
            return Err(Error::Show(format!(
                "base unit {path}: {name:?} is not a unit file name"
            )));
        }
        let at = format!("{FILES_DIR}/{name}");
        fs.file(&at, bytes.clone()).show_as(&at, path);
        base_names.push(name.to_owned());
    }
    let loose_unit = match base_names.as_slice() {
        [one] => one.clone(),
        _ => "unnamed.service".to_owned(),
    };
    for (path, bytes) in files {
        let name = path.rsplit('/').next().unwrap_or(path);
        let dir_unit = path
            .rsplit('/')
            .nth(1)
            .and_then(|d| d.strip_suffix(".d"))
            .filter(|u| load::unit_name_kind(u).is_some());
        let unit = dir_unit.map_or_else(|| loose_unit.clone(), str::to_owned);
        // A file named to lint is read as a drop-in whatever its name
        // (`standard input` too): systemd reads `.conf` files only.
        let conf = if name.ends_with(".conf") {
            String::new()
        } else {
            ".conf".to_owned()
        };
        let at = format!("{FILES_DIR}/{unit}.d/{name}{conf}");
        fs.file(&at, bytes.clone()).show_as(&at, path);
        units.insert(unit);
    }
    for b in &base_names {
        if !units
            .iter()
            .any(|u| u == b || load::template_of(u).as_deref() == Some(b.as_str()))
        {
            return Err(Error::Show(format!(
                "base unit {b} applies to none of the drop-ins: its file name must be the unit of \
                 their NAME.service.d directory (or its template)"
            )));
        }
    }
    // A template is linted with each of its instances instead.
    let linted: Vec<&String> = units
        .iter()
        .filter(|u| {
            !units.iter().any(|i| {
                load::unit_name_kind(i) == Some(load::NameKind::Instance)
                    && load::template_of(i).as_deref() == Some(u.as_str())
            })
        })
        .collect();
    Ok(linted
        .into_iter()
        .map(|u| lint(host, &fs, u, traits))
        .collect())
}
