//! SECCOMP triage: from an audit record to the unit directive that denied
//! the call, the file and line that made it so, and the smallest fix.
//!
//! [`triage`] reads records in every form operators have them (auditd's
//! `audit.log`, `ausearch` raw and `-i`, the kernel log of `dmesg` and
//! `journalctl -k`, journald's audit transport), decodes each (architecture,
//! system call by systemd 257's table for that architecture, action), finds
//! the unit (systemd's `status=31/SYS` line for it in the same input, the
//! instance in the executable's path, or the unit given), and judges each
//! group of repeats against the unit's settings as systemd loads them:
//! either the installed unit under a root ([`dropin::load()`]: fragment and
//! every drop-in, with file and line), or the unit with only the generated
//! profile. The cause names `SystemCallArchitectures=` (a call of a
//! non-native ABI is killed, thread-wise, on its first call) or
//! `SystemCallFilter=` (the call killed with its process) with the lines
//! that decide, replayed through the model of systemd's parser
//! ([`dropin::Effective::syscall_trace`]). The fix is a host configuration
//! snippet, checked by generating the profile with it and loading the unit
//! again; where the deciding line is in another file, the line to edit.
//!
//! ```
//! use left4me_hardening::triage::{self, Options};
//!
//! // Test 3: the i386 srcds_linux under SystemCallArchitectures=native.
//! let log = "[ 3257.216254] audit: type=1326 audit(1795892103.984:198): auid=4294967295 \
//!     uid=980 gid=980 ses=4294967295 pid=17599 comm=\"srcds_linux\" \
//!     exe=\"/var/lib/left4me/runtime/1/merged/srcds_linux\" sig=31 arch=40000003 \
//!     syscall=45 compat=1 ip=0x81160ab code=0x0\n";
//! let report = triage::triage(log, &Options::default())?;
//! let g = &report.groups[0];
//! assert_eq!(g.unit.as_deref(), Some("left4me-server@1.service"));
//! assert_eq!((g.architecture, g.call.as_str()), ("x86", "brk"));
//! assert_eq!(g.finding.directive.as_deref(), Some("SystemCallArchitectures"));
//! // The standard profile has `native x86`: this record came from other settings.
//! assert!(g.finding.cause.contains("allow x86"));
//! # Ok::<(), left4me_hardening::Error>(())
//! ```
//!
//! # Limitations
//!
//! - An i386 `socketcall` (or `ipc`) record cannot say which socket (or
//!   System V IPC) operation it was: the sub-call is an argument, which a
//!   SECCOMP record does not carry.
//! - The unit is found from systemd's journal line only when the main
//!   process died of the call (a child such as srcds_linux under srcds_run
//!   gives no such line): pass the unit, or let the executable's path name
//!   the instance.
//! - Calls systemd's filters return an error for (`…:ERRNO`,
//!   `SystemCallErrorNumber=`, `RestrictNamespaces=` and the like) leave a
//!   record only when the manager runs with `SYSTEMD_LOG_SECCOMP=1`; such
//!   records are attributed to the filter where it denies the call, and
//!   otherwise only named.

mod attribute;
pub mod read;
mod render;

use std::collections::BTreeMap;

use dropin::load::{self, LoadOptions, LoadState};
use dropin::{Effective, Fs, Origin, RenderOptions, UnitName};
use serde::Serialize;

use crate::error::Result;
use crate::host::Host;
use crate::profiles::ProfileKind;

pub use read::{Action, ExitLine, Form, InputError, Record, Stamp};
pub use render::text;

/// The most bytes of records one run reads (a file or standard input):
/// 16 MiB, two whole `audit.log` files at auditd's default
/// `max_log_file = 8` (MiB), so a rotated log is read whole, while a run
/// stays within a few tens of MiB of memory. Feed larger logs through
/// `ausearch -m SECCOMP` or `grep type=1326` first.
pub const INPUT_MAX: u64 = 16 * 1024 * 1024;

/// What [`triage`] judges records against.
#[derive(Clone, Copy, Default)]
pub struct Options<'a> {
    /// The host configuration the profiles come from, as `(file name,
    /// text)`; `None`: the standard profiles. Fixes are checked by
    /// appending them to this text.
    pub config: Option<(&'a str, &'a str)>,
    /// The installed tree units are loaded from, as systemd loads them
    /// under `--root`; `None`: each unit with only its generated profile.
    pub installed: Option<&'a dyn Fs>,
    /// The unit of records that nothing else attributes.
    pub unit: Option<&'a str>,
}

/// How a group's unit was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum UnitSource {
    /// systemd's `status=31/SYS` line for the unit, at this input line.
    Journal {
        /// The input line.
        line: usize,
    },
    /// The executable is in an instance's runtime tree
    /// (`STATE/runtime/N/`).
    Executable,
    /// Given by the caller.
    Given,
    /// Not found.
    Unknown,
}

/// The settings a group was judged against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SettingsSource {
    /// The unit as installed (fragment and drop-ins under the root).
    Installed,
    /// The unit with only its generated profile.
    Profile,
    /// None: no unit, the unit is not installed, or no profile has it.
    None,
}

/// One line of the unit that bears on the call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cited {
    /// Where.
    pub at: Origin,
    /// The assignment (`SystemCallFilter=~@debug …`; a reset is `Key=`).
    pub assignment: String,
    /// What it does to the call.
    pub role: String,
}

/// A finding of the hardening test plan the group matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Known {
    /// The test (`Test 3`, `Test 7`).
    pub test: &'static str,
    /// What the plan found.
    pub text: &'static str,
}

/// Whether a suggested fix was checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "kebab-case")]
pub enum Check {
    /// The profile generated with the fix, loaded as systemd loads the unit,
    /// lets the call through.
    Verified(String),
    /// Not checked, or the check failed: why.
    NotVerified(String),
}

/// The smallest change that lets the call through, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fix {
    /// No fix: the denial is expected or harmless.
    None {
        /// Why.
        why: String,
    },
    /// An entry for the host configuration (`[[server.add]]`), then
    /// `left4me-harden write`.
    HostConfig {
        /// The profile's table.
        profile: ProfileKind,
        /// The directive.
        directive: String,
        /// The value.
        value: String,
        /// The reason written in (to be filled in).
        reason: String,
        /// The TOML snippet.
        snippet: String,
        /// Whether it was checked.
        check: Check,
    },
    /// An entry the host configuration adds denies the call: take it out
    /// (with the `remove` of the same directive it replaces, so the proven
    /// line comes back), then `left4me-harden write`.
    Remove {
        /// The profile's table.
        profile: ProfileKind,
        /// The directive.
        directive: String,
        /// The value the host configuration adds.
        value: String,
        /// Where the entries to take out are: `FILE:LINE` of each one's
        /// `directive` key.
        entries: Vec<String>,
        /// The entries, as TOML.
        snippet: String,
        /// Whether it was checked.
        check: Check,
    },
    /// The profile already lets the call through: the installed files are
    /// not what it generates.
    Write {
        /// What the profile does.
        why: String,
    },
    /// A line of another file decides; a host configuration entry (in the
    /// generated drop-in) cannot change it.
    Edit {
        /// The line.
        at: Origin,
        /// It now.
        assignment: String,
        /// What to do.
        suggestion: String,
    },
    /// Nothing to suggest.
    Unknown {
        /// Why.
        why: String,
    },
}

/// What caused a group of records, and the fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The directive that denied the call, if one is known.
    pub directive: Option<String>,
    /// The cause, in one or two sentences.
    pub cause: String,
    /// The lines that decide.
    pub lines: Vec<Cited>,
    /// The groups that hold the call in systemd 257, smallest first.
    pub groups: Vec<String>,
    /// A finding of the test plan this is.
    pub known: Option<Known>,
    /// Further facts (socketcall, global settings, …).
    pub notes: Vec<String>,
    /// The fix.
    pub fix: Fix,
}

/// Records of one unit, architecture, call and action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The unit, if found.
    pub unit: Option<String>,
    /// How it was found (of the first record).
    pub unit_source: UnitSource,
    /// The architecture, by its `SystemCallArchitectures=` name.
    pub architecture: &'static str,
    /// `AUDIT_ARCH_*` without the prefix.
    pub audit_arch: &'static str,
    /// The call (or `#N` where systemd's table does not name the number).
    pub call: String,
    /// Its number on the architecture, where known.
    pub number: Option<u32>,
    /// The action.
    pub action: Action,
    /// How many records.
    pub count: usize,
    /// The first record's time.
    pub first: Option<Stamp>,
    /// The last record's time.
    pub last: Option<Stamp>,
    /// The input lines of the records.
    pub lines: Vec<usize>,
    /// The processes (`comm`, distinct, in order).
    pub comms: Vec<String>,
    /// The executables (distinct, in order).
    pub exes: Vec<String>,
    /// The process ids (distinct, in order).
    pub pids: Vec<u32>,
    /// What the settings were.
    pub settings: SettingsSource,
    /// The cause and the fix.
    pub finding: Finding,
}

/// What [`triage`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The groups, in the order of their first record.
    pub groups: Vec<Group>,
    /// Lines that look like SECCOMP records but cannot be read.
    pub errors: Vec<InputError>,
    /// Records read.
    pub records: usize,
    /// Records counted once already: the same event in another form
    /// (journald keeps both the kernel log line and the audit record).
    pub duplicates: usize,
    /// Lines that are neither records nor systemd's exit lines.
    pub ignored: usize,
}

impl Report {
    /// Whether any record was read or any line was bad.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.errors.is_empty()
    }
}

/// Everything attribution needs besides the records.
pub(crate) struct Cx<'a> {
    pub(crate) host: Host,
    pub(crate) config: (String, String),
    pub(crate) installed: Option<&'a dyn Fs>,
}

/// The profile a unit belongs to.
fn profile_of(host: &Host, unit: &str) -> Option<ProfileKind> {
    let name = UnitName::new(unit).ok()?;
    let template = name.template().unwrap_or_else(|| name.clone());
    if template == host.layout.server_unit {
        Some(ProfileKind::Server)
    } else if name == host.layout.web_unit {
        Some(ProfileKind::Web)
    } else {
        None
    }
}

/// The unit's settings, and where they came from.
pub(crate) struct Settings {
    pub(crate) unit: String,
    pub(crate) profile: Option<ProfileKind>,
    pub(crate) source: SettingsSource,
    pub(crate) effective: Option<Effective>,
    /// Why there are none.
    pub(crate) missing: Option<String>,
}

impl Cx<'_> {
    /// The generated drop-ins `write` writes for a unit of `kind` (the
    /// template's and, for an instance, the instance's), at their absolute
    /// paths.
    pub(crate) fn generated(
        host: &Host,
        kind: ProfileKind,
        unit: &str,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        let mut files = vec![host.generate(kind, None, RenderOptions::default())?];
        if let Some(i) = UnitName::new(unit)?.instance()
            && host.profile(kind).is_template()
        {
            files.push(host.generate(kind, Some(i), RenderOptions::default())?);
        }
        Ok(files
            .into_iter()
            .map(|g| (format!("/{}", g.path), g.text.into_bytes()))
            .collect())
    }

    /// The unit's settings as systemd would load them with `host`'s
    /// generated files: over the installed tree (laid over it), or alone.
    pub(crate) fn load_with(
        &self,
        host: &Host,
        kind: ProfileKind,
        unit: &str,
    ) -> Result<Effective> {
        let files = Cx::generated(host, kind, unit)?;
        match self.installed {
            Some(fs) => {
                let overlay = load::Overlay::new(fs, files);
                Ok(load::load(&overlay, unit, &LoadOptions::default()).effective)
            }
            None => {
                let mut e = Effective::new(unit);
                if let Some((path, bytes)) = files.first() {
                    e.read(path, bytes);
                }
                e.finish();
                Ok(e)
            }
        }
    }

    fn settings(&self, unit: &str) -> Settings {
        let profile = profile_of(&self.host, unit);
        let none = |why: String| Settings {
            unit: unit.to_owned(),
            profile,
            source: SettingsSource::None,
            effective: None,
            missing: Some(why),
        };
        match self.installed {
            Some(fs) => {
                let loaded = load::load(fs, unit, &LoadOptions::default());
                match loaded.state {
                    LoadState::NotFound => none(format!("{unit} is not installed under the root")),
                    LoadState::Masked => none(format!("{unit} is masked")),
                    LoadState::Loaded | LoadState::Error => Settings {
                        unit: unit.to_owned(),
                        profile,
                        source: SettingsSource::Installed,
                        effective: Some(loaded.effective),
                        missing: None,
                    },
                }
            }
            None => match profile {
                Some(kind) => match self.load_with(&self.host, kind, unit) {
                    Ok(e) => Settings {
                        unit: unit.to_owned(),
                        profile,
                        source: SettingsSource::Profile,
                        effective: Some(e),
                        missing: None,
                    },
                    Err(e) => none(format!("the {kind} profile cannot be generated: {e}")),
                },
                None => none(format!(
                    "{unit} is not a unit of the left4me profiles; read the installed unit (a root) to judge it"
                )),
            },
        }
    }
}

/// The server instance whose runtime tree (`STATE/runtime/N/…`) holds
/// `exe`.
fn unit_of_exe(host: &Host, exe: &str) -> Option<String> {
    let runtime = format!(
        "{}/runtime/",
        host.layout.state_dir.as_str().trim_end_matches('/')
    );
    let rest = exe.strip_prefix(&runtime)?;
    let (instance, _) = rest.split_once('/')?;
    let instance = dropin::Instance::new(instance).ok()?;
    host.layout
        .server_unit
        .with_instance(&instance)
        .ok()
        .map(|u| u.to_string())
}

/// Pairs systemd's exit lines with the records of the processes that died:
/// the record just before the line (no other exit line between), when the
/// times agree (within 2 s) or cannot be compared; otherwise, where both
/// carry an absolute time, the closest record within 2 s.
fn pair_exits(records: &[Record], exits: &[ExitLine]) -> BTreeMap<usize, (String, usize)> {
    const WINDOW_MS: u64 = 2000;
    let mut out: BTreeMap<usize, (String, usize)> = BTreeMap::new();
    let killed = |r: &Record| r.action.kills();
    let ms = |r: &Record| r.time.as_ref().and_then(|t| t.epoch_ms);
    for e in exits {
        let at = e.time.as_ref().and_then(|t| t.epoch_ms);
        let close = |r: &Record| match (at, ms(r)) {
            (Some(a), Some(b)) => Some(a.abs_diff(b)),
            _ => None,
        };
        let preceding = records.iter().rposition(|r| r.line < e.line).filter(|&i| {
            let r = &records[i];
            let between = exits.iter().any(|x| x.line > r.line && x.line < e.line);
            killed(r)
                && !between
                && !out.contains_key(&i)
                && close(r).is_none_or(|d| d <= WINDOW_MS)
        });
        let nearest = || {
            records
                .iter()
                .enumerate()
                .filter(|(i, r)| killed(r) && !out.contains_key(i))
                .filter_map(|(i, r)| close(r).filter(|d| *d <= WINDOW_MS).map(|d| (d, i)))
                .min()
                .map(|(_, i)| i)
        };
        if let Some(i) = preceding.or_else(nearest) {
            out.insert(i, (e.unit.clone(), e.line));
        }
    }
    out
}

/// Reads `input` and judges every group of records. Fails only when the
/// host configuration cannot be read, or the installed tree was read in
/// part (a file refused: not regular, too large, out of budget).
pub fn triage(input: &str, options: &Options<'_>) -> Result<Report> {
    let (file, text) = options.config.unwrap_or(("(standard profiles)", ""));
    let host = crate::config::parse(file, text)?.apply()?;
    let cx = Cx {
        host,
        config: (file.to_owned(), text.to_owned()),
        installed: options.installed,
    };

    let mut records = Vec::new();
    let mut exits = Vec::new();
    let mut errors = Vec::new();
    let mut ignored = 0;
    for (i, l) in input.lines().enumerate() {
        match read::line(i + 1, l) {
            read::Line::Record(r) => records.push(r),
            read::Line::Exit(e) => exits.push(e),
            read::Line::Error(e) => errors.push(e),
            read::Line::Other => ignored += 1,
        }
    }
    let total = records.len();

    // The same event in two forms (journald stores the kernel's log line
    // and the audit record): one record of the journal form per event.
    let key = |r: &Record| (r.pid, r.arch.value, r.number, r.ip.clone(), r.action, r.sig);
    let mut duplicates = 0;
    let other_forms: std::collections::BTreeSet<_> = records
        .iter()
        .filter(|r| r.form != Form::Journal)
        .map(key)
        .collect();
    records.retain(|r| {
        let dup = r.form == Form::Journal && r.pid.is_some() && other_forms.contains(&key(r));
        if dup {
            duplicates += 1;
        }
        !dup
    });

    let paired = pair_exits(&records, &exits);
    let mut groups: Vec<(Group, Record)> = Vec::new();
    let mut settings: BTreeMap<String, Settings> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        let (unit, source) = if let Some((u, line)) = paired.get(&i) {
            (Some(u.clone()), UnitSource::Journal { line: *line })
        } else if let Some(u) = r.exe.as_deref().and_then(|e| unit_of_exe(&cx.host, e)) {
            (Some(u), UnitSource::Executable)
        } else if let Some(u) = options.unit {
            (Some(u.to_owned()), UnitSource::Given)
        } else {
            (None, UnitSource::Unknown)
        };
        let call = r.call_label();
        let found = groups.iter_mut().find(|(g, _)| {
            g.unit == unit
                && g.architecture == r.architecture
                && g.call == call
                && g.action == r.action
        });
        match found {
            Some((g, _)) => {
                g.count += 1;
                g.lines.push(r.line);
                g.last = r.time.clone();
                push_distinct(&mut g.comms, r.comm.clone());
                push_distinct(&mut g.exes, r.exe.clone());
                push_distinct(&mut g.pids, r.pid);
            }
            None => {
                let mut g = Group {
                    unit: unit.clone(),
                    unit_source: source,
                    architecture: r.architecture,
                    audit_arch: r.arch.name,
                    call,
                    number: r.number,
                    action: r.action,
                    count: 1,
                    first: r.time.clone(),
                    last: r.time.clone(),
                    lines: vec![r.line],
                    comms: Vec::new(),
                    exes: Vec::new(),
                    pids: Vec::new(),
                    settings: SettingsSource::None,
                    finding: Finding {
                        directive: None,
                        cause: String::new(),
                        lines: Vec::new(),
                        groups: Vec::new(),
                        known: None,
                        notes: Vec::new(),
                        fix: Fix::Unknown { why: String::new() },
                    },
                };
                push_distinct(&mut g.comms, r.comm.clone());
                push_distinct(&mut g.exes, r.exe.clone());
                push_distinct(&mut g.pids, r.pid);
                if let Some(u) = &unit
                    && !settings.contains_key(u)
                {
                    settings.insert(u.clone(), cx.settings(u));
                }
                groups.push((g, r.clone()));
            }
        }
    }
    // Records with absolute times: first and last by time, not input order.
    let by_line: BTreeMap<usize, &Record> = records.iter().map(|r| (r.line, r)).collect();
    for (g, _) in &mut groups {
        let times: Vec<&Stamp> = g
            .lines
            .iter()
            .filter_map(|l| by_line.get(l)?.time.as_ref())
            .collect();
        if times.len() == g.count && times.iter().all(|t| t.epoch_ms.is_some()) {
            g.first = times
                .iter()
                .min_by_key(|t| t.epoch_ms)
                .map(|t| (*t).clone());
            g.last = times
                .iter()
                .max_by_key(|t| t.epoch_ms)
                .map(|t| (*t).clone());
        }
    }
    let groups = groups
        .into_iter()
        .map(|(mut g, first)| {
            let s = g.unit.as_ref().and_then(|u| settings.get(u));
            g.settings = s.map_or(SettingsSource::None, |s| s.source.clone());
            g.finding = attribute::attribute(&first, &g, s, &cx);
            g
        })
        .collect();
    // A tree read in part cannot say what systemd would read there.
    if let Some(fs) = options.installed {
        let refused = fs.refused();
        if !refused.is_empty() {
            return Err(crate::Error::Refused(refused));
        }
    }
    Ok(Report {
        groups,
        errors,
        records: total,
        duplicates,
        ignored,
    })
}

fn push_distinct<T: PartialEq>(list: &mut Vec<T>, item: Option<T>) {
    if let Some(item) = item
        && !list.contains(&item)
    {
        list.push(item);
    }
}
