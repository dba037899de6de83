//! Safety rails: the test plan's findings as lints.
//!
//! Each finding of the hardening test plan cost a broken server once; a
//! lint makes sure no profile, host configuration or hand-written drop-in
//! repeats it by accident, and says why in the plan's words. Lints read
//! [`Effective`] settings, so they work the same on a composed profile and
//! on drop-ins read back from disk (with the base unit's own `[Service]`
//! settings layered underneath, see [`files`]), and they check them
//! against the [`Trait`]s of the workload.
//!
//! ```
//! use dropin::{Effective, UnitFile, parse::service_assignments};
//! use left4me_hardening::{Trait, lint};
//!
//! let text = "[Service]\nSystemCallArchitectures=native\n";
//! let file = UnitFile::parse("test-04-syscall.conf", text)?;
//! let effective = Effective::from_reads(&service_assignments(&file)?);
//! let subject = lint::Subject { effective: &effective, traits: &[Trait::I386Binary], instance: None };
//! let findings = lint::check(&subject);
//! assert_eq!(findings[0].lint, "i386-native-only");
//! assert!(findings[0].to_string().starts_with("error[i386-native-only] (Test 3): "));
//! # Ok::<(), dropin::Error>(())
//! ```

pub mod files;

use std::collections::BTreeSet;
use std::fmt;

use dropin::names::CAPABILITIES;
use dropin::{
    Architecture, Directive, Effective, EffectiveValue, Instance, Key, PrivateUsers, ProtectHome,
    ProtectProc, ProtectSystem, SyscallFilter, UnitPath, Value,
};

use crate::traits::Trait;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The service breaks: `render` and `write` refuse unless waived.
    Error,
    /// Probably not what was meant; printed, not refused.
    Warning,
    /// Worth knowing; printed, not refused.
    Note,
}

impl Severity {
    /// The severity as findings spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the registry knows about one lint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LintInfo {
    /// The lint's id, as findings and waivers name it.
    pub id: &'static str,
    /// Its severity (a finding may be milder where noted).
    pub severity: Severity,
    /// The test of the plan that paid for it.
    pub test: &'static str,
    /// One line on what it checks.
    pub summary: &'static str,
    /// What the test plan found, in its words.
    pub finding: &'static str,
}

/// `MemoryDenyWriteExecute=` on a workload with text relocations.
pub const MDWX_TEXT_RELOCATIONS: &str = "mdwx-text-relocations";
/// `SystemCallArchitectures=` without `x86` for an i386 workload.
pub const I386_NATIVE_ONLY: &str = "i386-native-only";
/// Something that stops sudo on a workload that runs it.
pub const SUDO_BLOCKED: &str = "sudo-blocked";
/// `ProtectProc=` against a same-uid service without `PrivatePIDs=`.
pub const HIDEPID_SAME_UID: &str = "hidepid-same-uid";
/// A path the service needs that its file-system view hides.
pub const PATH_HIDDEN: &str = "path-hidden";
/// A bind that exposes a hidden tree elsewhere.
pub const BIND_SOURCE_HIDDEN: &str = "bind-source-hidden";
/// Two binds onto one target.
pub const BIND_TARGET_TWICE: &str = "bind-target-twice";
/// `ReadWritePaths=` that a `TemporaryFileSystem=` hides.
pub const RWPATH_HIDDEN: &str = "rwpath-hidden";
/// An instance drop-in that replaces a template drop-in.
pub const INSTANCE_REPLACES_TEMPLATE: &str = "instance-replaces-template";

/// Every lint, in the order findings are reported.
pub const LINTS: &[LintInfo] = &[
    LintInfo {
        id: MDWX_TEXT_RELOCATIONS,
        severity: Severity::Error,
        test: "Test 6",
        summary: "MemoryDenyWriteExecute= on a workload whose libraries have text relocations",
        finding: "FAIL: bin/libtier0_srv.so: cannot make segment writable for relocation: \
                  Permission denied; dlopen fails and srcds_run enters a 10-second respawn loop",
    },
    LintInfo {
        id: I386_NATIVE_ONLY,
        severity: Severity::Error,
        test: "Test 3",
        summary: "SystemCallArchitectures= without x86 for a workload that runs an i386 binary",
        finding: "srcds_linux is ELF 32-bit LSB executable, Intel i386; with native alone every \
                  i386 syscall is killed with SIGSYS (Bad system call, server restart in 10 seconds)",
    },
    LintInfo {
        id: SUDO_BLOCKED,
        severity: Severity::Error,
        test: "Test 10",
        summary: "NoNewPrivileges=, PrivateUsers=, a CapabilityBoundingSet= without CAP_SETUID/CAP_SETGID \
                  or a syscall filter denying setuid (~@privileged) on a workload that runs sudo",
        finding: "the web app sudoes to its helpers: no NoNewPrivileges, no PrivateUsers (would break \
                  sudo's setuid), no CapabilityBoundingSet= (sudo + PAM need caps), no ~@privileged",
    },
    LintInfo {
        id: HIDEPID_SAME_UID,
        severity: Severity::Warning,
        test: "Test 5",
        summary: "ProtectProc=invisible relied on against a service of the same uid, without PrivatePIDs=",
        finding: "PARTIAL: hidepid=invisible hides foreign-uid PIDs but doesn't help against same-uid; \
                  gunicorn's /proc/<pid>/environ stayed readable from srcds (both uid 980)",
    },
    LintInfo {
        id: PATH_HIDDEN,
        severity: Severity::Error,
        test: "Test 2",
        summary: "an ExecStart*= binary or the WorkingDirectory= of the base unit is hidden by \
                  TemporaryFileSystem= (or ProtectHome=) and not bound back; a warning where a - prefix \
                  makes it optional",
        finding: "if a bind path is missing on disk, the unit fails to start; only the listed paths \
                  are bound back into the empty tmpfs",
    },
    LintInfo {
        id: BIND_SOURCE_HIDDEN,
        severity: Severity::Warning,
        test: "Test 2",
        summary: "a bind whose source lies in a hidden tree and whose target is elsewhere exposes \
                  what the tree hides",
        finding: "left4me.db and web.env invisible (D1 closed): the tmpfs trees exist to hide them",
    },
    LintInfo {
        id: BIND_TARGET_TWICE,
        severity: Severity::Warning,
        test: "Test 2",
        summary: "two binds (BindPaths=, BindReadOnlyPaths=) onto the same target",
        finding: "the bind set is the whole story of what the service sees",
    },
    LintInfo {
        id: RWPATH_HIDDEN,
        severity: Severity::Warning,
        test: "Test 2",
        summary: "ReadWritePaths= under ProtectSystem=strict that a TemporaryFileSystem= hides",
        finding: "remove the legacy paths so they don't collide with the new bind setup \
                  (ReadOnlyPaths= and ReadWritePaths= reset)",
    },
    LintInfo {
        id: INSTANCE_REPLACES_TEMPLATE,
        severity: Severity::Note,
        test: "Drop-in style",
        summary: "an instance drop-in with the file name of a template drop-in replaces it wholesale",
        finding: "tests apply via left4me-server@1.service.d/test-NN-<name>.conf, leaving the \
                  template unmodified; a file of the same name in both directories is read from the \
                  instance directory only (measured on systemd 257)",
    },
];

/// Looks a lint up by id.
pub fn info(id: &str) -> Option<&'static LintInfo> {
    LINTS.iter().find(|l| l.id == id)
}

/// One thing a lint found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The lint's id.
    pub lint: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// The test of the plan that paid for it, such as `Test 6`.
    pub test: &'static str,
    /// What is wrong, naming the directive, value or path.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl Finding {
    /// A finding of lint `id` at the lint's own severity.
    fn new(id: &'static str, message: String, fix: String) -> Finding {
        let (severity, test) = info(id).map_or((Severity::Error, ""), |i| (i.severity, i.test));
        Finding {
            lint: id,
            severity,
            test,
            message,
            fix,
        }
    }

    fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    /// Whether `render` and `write` refuse the profile for it.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    /// `error[mdwx-text-relocations] (Test 6): … — fix: …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}] ({}): {} — fix: {}",
            self.severity, self.lint, self.test, self.message, self.fix
        )
    }
}

/// What the lints check: effective settings, the workload's traits and,
/// for an instance, the instance that `%i` in base-unit paths stands for.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// The effective settings (base unit and drop-ins, in order).
    pub effective: &'a Effective,
    /// What the workload is.
    pub traits: &'a [Trait],
    /// The instance, where `%i` is resolved; `None` compares `%i` as text.
    pub instance: Option<&'a Instance>,
}

impl Subject<'_> {
    fn has(&self, t: Trait) -> bool {
        self.traits.contains(&t)
    }

    fn single(&self, d: Directive) -> Option<&Value> {
        match self.effective.get(&Key::Known(d)) {
            Some(EffectiveValue::Single(Some(v))) => Some(v),
            _ => None,
        }
    }

    /// The items (or lines) of a list directive after the last reset, and
    /// whether a reset opened them.
    fn list(&self, d: Directive) -> Option<(bool, &[Value])> {
        match self.effective.get(&Key::Known(d)) {
            Some(EffectiveValue::List { reset, items }) => Some((*reset, items)),
            _ => None,
        }
    }

    fn items(&self, d: Directive) -> &[Value] {
        self.list(d).map_or(&[], |(_, items)| items)
    }

    /// The values of a key the model does not type (`ExecStart`), after
    /// the last reset.
    fn raw(&self, key: &str) -> &[String] {
        match self.effective.get(&Key::Other(key.to_owned())) {
            Some(EffectiveValue::Raw { values, .. }) => values,
            _ => &[],
        }
    }
}

/// Runs every lint on a subject; findings come in [`LINTS`] order.
pub fn check(subject: &Subject<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    mdwx_text_relocations(subject, &mut out);
    i386_native_only(subject, &mut out);
    sudo_blocked(subject, &mut out);
    hidepid_same_uid(subject, &mut out);
    let view = View::of(subject);
    path_hidden(subject, &view, &mut out);
    bind_source_hidden(&view, &mut out);
    bind_target_twice(&view, &mut out);
    rwpath_hidden(subject, &view, &mut out);
    out
}

/// Every directive (or directive=value) in `effective` that systemd
/// `target` does not know, as `Name= (systemd N)`.
pub fn too_new(effective: &Effective, target: u32) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in effective.iter() {
        let Key::Known(d) = key else { continue };
        let since = d.spec().since;
        if since > target {
            out.push(format!("{}= (systemd {since})", d.name()));
            continue;
        }
        let values: Vec<&Value> = match value {
            EffectiveValue::Single(v) => v.iter().collect(),
            EffectiveValue::List { items, .. } => items.iter().collect(),
            EffectiveValue::Raw { .. } => Vec::new(),
        };
        for v in values {
            if let Some(since) = v.since().filter(|&s| s > target) {
                out.push(format!("{}={v} (systemd {since})", d.name()));
            }
        }
    }
    out
}

fn mdwx_text_relocations(s: &Subject<'_>, out: &mut Vec<Finding>) {
    if s.has(Trait::TextRelocations)
        && matches!(
            s.single(Directive::MemoryDenyWriteExecute),
            Some(Value::Bool(true))
        )
    {
        out.push(Finding::new(
            MDWX_TEXT_RELOCATIONS,
            "MemoryDenyWriteExecute=true on a workload whose libraries have text relocations: \
             the dynamic linker cannot make a segment writable for relocation \
             (bin/libtier0_srv.so: Permission denied), dlopen fails and srcds_run respawns \
             every 10 seconds"
                .to_owned(),
            "remove MemoryDenyWriteExecute= (excluded for good: the Source engine's 32-bit .so \
             files cannot be rebuilt without text relocations)"
                .to_owned(),
        ));
    }
}

fn i386_native_only(s: &Subject<'_>, out: &mut Vec<Finding>) {
    if !s.has(Trait::I386Binary) {
        return;
    }
    let archs: Vec<&Architecture> = s
        .items(Directive::SystemCallArchitectures)
        .iter()
        .flat_map(|v| match v {
            Value::Architectures(a) => a.iter().collect(),
            _ => Vec::new(),
        })
        .collect();
    // No architecture listed (unset or reset): no architecture filter.
    if archs.is_empty()
        || archs
            .iter()
            .any(|a| matches!(a, Architecture::Named(n) if *n == "x86"))
    {
        return;
    }
    let current: Vec<String> = archs.iter().map(ToString::to_string).collect();
    let current = current.join(" ");
    out.push(Finding::new(
        I386_NATIVE_ONLY,
        format!(
            "SystemCallArchitectures={current} without x86 on a workload that runs an i386 \
             binary: every 32-bit system call is killed with SIGSYS (Bad system call), and \
             srcds_run restarts the server every 10 seconds"
        ),
        format!("SystemCallArchitectures={current} x86"),
    ));
}

/// The calls sudo makes to switch user (setuid(2) and friends).
const SUDO_CALLS: &[&str] = &["setuid", "setgid", "setresuid", "setresgid", "setgroups"];

/// The capabilities sudo needs from the bounding set to switch user.
const SUDO_CAPS: &[&str] = &["CAP_SETUID", "CAP_SETGID"];

fn sudo_blocked(s: &Subject<'_>, out: &mut Vec<Finding>) {
    if !s.has(Trait::RunsSudo) {
        return;
    }
    if matches!(
        s.single(Directive::NoNewPrivileges),
        Some(Value::Bool(true))
    ) {
        out.push(Finding::new(
            SUDO_BLOCKED,
            "NoNewPrivileges=true on a workload that runs sudo: the setuid bit of sudo is \
             ignored (sudo: effective uid is not 0), so the helpers never run"
                .to_owned(),
            "remove NoNewPrivileges= (Test 10 leaves it out: the web app sudoes to its helpers)"
                .to_owned(),
        ));
    }
    if let Some(Value::PrivateUsers(p)) = s.single(Directive::PrivateUsers)
        && *p != PrivateUsers::No
    {
        out.push(Finding::new(
            SUDO_BLOCKED,
            format!(
                "PrivateUsers={} on a workload that runs sudo: in a user namespace the setuid \
                 root bit of sudo grants no privilege on the host",
                Value::PrivateUsers(*p)
            ),
            "remove PrivateUsers= (Test 10 leaves it out: it would break sudo's setuid)".to_owned(),
        ));
    }
    if let Some(set) = bounding_set(s) {
        let missing: Vec<&str> = SUDO_CAPS
            .iter()
            .copied()
            .filter(|c| !set.contains(c))
            .collect();
        if !missing.is_empty() {
            let what = if set.is_empty() {
                "CapabilityBoundingSet= is empty".to_owned()
            } else {
                format!("CapabilityBoundingSet= leaves out {}", missing.join(" "))
            };
            out.push(Finding::new(
                SUDO_BLOCKED,
                format!(
                    "{what} on a workload that runs sudo: sudo and PAM need capabilities \
                     that a setuid binary only gets from the bounding set"
                ),
                "remove CapabilityBoundingSet= (Test 10 leaves it out: sudo + PAM need caps)"
                    .to_owned(),
            ));
        }
    }
    let filters: Vec<&SyscallFilter> = s
        .items(Directive::SystemCallFilter)
        .iter()
        .filter_map(|v| match v {
            Value::Syscalls(f) => Some(f),
            _ => None,
        })
        .collect();
    let mut denied = Vec::new();
    let mut by: Vec<&SyscallFilter> = Vec::new();
    for call in SUDO_CALLS {
        if let Some(line) = denied_by(&filters, call) {
            denied.push(*call);
            if let Some(line) = line
                && !by.contains(&line)
            {
                by.push(line);
            }
        }
    }
    if !denied.is_empty() {
        let lines: Vec<String> = by.iter().map(|f| format!("SystemCallFilter={f}")).collect();
        let through = if lines.is_empty() {
            "the allow list does not name them".to_owned()
        } else {
            lines.join(", ")
        };
        out.push(Finding::new(
            SUDO_BLOCKED,
            format!(
                "the system call filter denies {} on a workload that runs sudo ({through}): \
                 sudo cannot switch user",
                denied.join(" ")
            ),
            "keep @privileged out of the SystemCallFilter= deny list (Test 10: no ~@privileged, \
             sudo needs setuid/etc.)"
                .to_owned(),
        ));
    }
}

/// The effective capability bounding set, as systemd computes it from the
/// lines (`config_parse_capability_set`): a reset empties it; a line
/// replaces the set while it is still the full set or when it adds up to
/// nothing (`~` with every capability), and is added to it otherwise.
/// `None`: unrestricted.
fn bounding_set(s: &Subject<'_>) -> Option<BTreeSet<&'static str>> {
    let (reset, items) = s.list(Directive::CapabilityBoundingSet)?;
    let all: BTreeSet<&'static str> = CAPABILITIES.iter().copied().collect();
    let mut set = if reset { BTreeSet::new() } else { all.clone() };
    for v in items {
        let Value::Capabilities(line) = v else {
            continue;
        };
        let named: BTreeSet<&'static str> = line.caps.iter().map(|c| c.as_str()).collect();
        let sum: BTreeSet<&'static str> = if line.invert {
            all.difference(&named).copied().collect()
        } else {
            named
        };
        if sum.is_empty() || set == all {
            set = sum;
        } else {
            set.extend(sum);
        }
    }
    (set != all).then_some(set)
}

/// Whether the filter lines deny `call`: `None` if allowed, else the line
/// that decided (`Some(None)`: an allow list that never names it). The
/// first line sets the mode (allow or deny list); later lines of the same
/// mode add to the set, lines of the other mode take away from it.
fn denied_by<'a>(filters: &[&'a SyscallFilter], call: &str) -> Option<Option<&'a SyscallFilter>> {
    let first = filters.first()?;
    let mut in_set = false;
    let mut decided = None;
    for f in filters {
        if f.covers(call) {
            in_set = f.deny == first.deny;
            decided = Some(*f);
        }
    }
    let allowed = if first.deny { !in_set } else { in_set };
    if allowed { None } else { Some(decided) }
}

fn hidepid_same_uid(s: &Subject<'_>, out: &mut Vec<Finding>) {
    if !s.has(Trait::SharesUid) {
        return;
    }
    let Some(Value::ProtectProc(p)) = s.single(Directive::ProtectProc) else {
        return;
    };
    if !matches!(p, ProtectProc::Invisible | ProtectProc::Noaccess) {
        return;
    }
    if matches!(s.single(Directive::PrivatePids), Some(Value::Bool(true))) {
        return;
    }
    out.push(Finding::new(
        HIDEPID_SAME_UID,
        format!(
            "ProtectProc={p} without PrivatePIDs= on a workload that shares its uid with another \
             service: hidepid hides the processes of foreign uids only, so the other service's \
             processes stay visible and their /proc/<pid>/environ readable"
        ),
        "add PrivatePIDs=true (systemd 257), as the server profile does since Test 5, or waive \
         this lint with the reason the other service may stay visible"
            .to_owned(),
    ));
}

/// Something that hides a tree of the file system from the service.
#[derive(Clone, Debug)]
struct Hider {
    path: UnitPath,
    /// The assignment that hides it, such as `TemporaryFileSystem=/var/lib`.
    by: String,
}

/// A bind mount in the service's view.
#[derive(Clone, Debug)]
struct Bind {
    /// The line, such as `BindReadOnlyPaths=/etc/ssl`.
    line: String,
    source: UnitPath,
    target: UnitPath,
}

/// What the service sees of the file system: the hidden trees and the
/// binds that bring parts of them back.
#[derive(Clone, Debug)]
struct View {
    hiders: Vec<Hider>,
    binds: Vec<Bind>,
    instance: Option<Instance>,
}

/// Path depth in components (`/` is 0).
fn depth(p: &UnitPath) -> usize {
    p.as_str().split('/').filter(|c| !c.is_empty()).count()
}

/// The directories the system manager's specifiers stand for
/// (systemd.unit(5), "Specifiers"), so that `%S/left4me` and
/// `/var/lib/left4me` compare equal.
const DIRECTORY_SPECIFIERS: &[(&str, &str)] = &[
    ("%S", "/var/lib"),
    ("%C", "/var/cache"),
    ("%L", "/var/log"),
    ("%t", "/run"),
    ("%E", "/etc"),
    ("%T", "/tmp"),
    ("%V", "/var/tmp"),
];

/// An absolute path from the text of a base-unit setting, with a leading
/// directory specifier (`%S/left4me`) replaced; `None` for anything else
/// (a bare command name, `~`, a path with variables).
fn absolute(text: &str) -> Option<UnitPath> {
    if text.contains('$') {
        return None;
    }
    for (spec, dir) in DIRECTORY_SPECIFIERS {
        if let Some(rest) = text.strip_prefix(spec)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return UnitPath::new(&format!("{dir}{rest}")).ok();
        }
    }
    UnitPath::new(text).ok()
}

impl View {
    fn of(s: &Subject<'_>) -> View {
        let mut v = View {
            hiders: Vec::new(),
            binds: Vec::new(),
            instance: s.instance.cloned(),
        };
        for item in s.items(Directive::TemporaryFileSystem) {
            if let Value::Tmpfs(specs) = item {
                for t in specs {
                    v.hiders.push(Hider {
                        path: v.prep(&t.path),
                        by: format!("TemporaryFileSystem={}", t.path),
                    });
                }
            }
        }
        if let Some(Value::ProtectHome(h)) = s.single(Directive::ProtectHome)
            && matches!(h, ProtectHome::Yes | ProtectHome::Tmpfs)
        {
            let by = format!("ProtectHome={}", Value::ProtectHome(*h));
            for dir in ["/home", "/root", "/run/user"] {
                if let Ok(path) = UnitPath::new(dir) {
                    v.hiders.push(Hider {
                        path,
                        by: by.clone(),
                    });
                }
            }
        }
        for d in [Directive::BindReadOnlyPaths, Directive::BindPaths] {
            for item in s.items(d) {
                if let Value::Binds(specs) = item {
                    for b in specs {
                        let bind = Bind {
                            line: format!("{}={b}", d.name()),
                            source: v.prep(&b.source),
                            target: v.prep(b.target()),
                        };
                        v.binds.push(bind);
                    }
                }
            }
        }
        v
    }

    /// A path as the comparisons need it: `%i` resolved where the instance
    /// is known (elsewhere `%i` compares as text on both sides).
    fn prep(&self, p: &UnitPath) -> UnitPath {
        match &self.instance {
            Some(i) => p.resolve_instance(i).unwrap_or_else(|_| p.clone()),
            None => p.clone(),
        }
    }

    /// What hides `p` from the service, if anything: the deepest hidden
    /// tree it lies in, unless a bind at or below that tree brings it back.
    fn hidden_by(&self, p: &UnitPath) -> Option<&Hider> {
        let hider = self
            .hiders
            .iter()
            .filter(|h| p.starts_with(&h.path))
            .max_by_key(|h| depth(&h.path))?;
        let rebound = self
            .binds
            .iter()
            .any(|b| p.starts_with(&b.target) && b.target.starts_with(&hider.path));
        (!rebound).then_some(hider)
    }
}

/// The command keys whose executables run inside the sandbox (unless
/// prefixed with `+`), in the order systemd runs them.
const EXEC_KEYS: &[&str] = &[
    "ExecCondition",
    "ExecStartPre",
    "ExecStart",
    "ExecStartPost",
    "ExecReload",
    "ExecStop",
    "ExecStopPost",
];

/// A command line of an `Exec*=` setting, as far as the lint needs it.
struct Command {
    /// `+`: runs with full privileges, outside the file-system sandbox.
    outside: bool,
    /// `-`: a failure (including not finding the executable) is ignored.
    ignore_failure: bool,
    /// The executable, where it is an absolute path without variables.
    path: Option<UnitPath>,
}

impl Command {
    /// Reads the prefixes systemd.service(5) documents (`@`, `-`, `:`,
    /// `+`, `!`, `!!`, and `|` of later versions) and the executable.
    fn parse(text: &str) -> Command {
        let body = text.trim_start_matches(['@', '-', ':', '+', '!', '|']);
        let prefixes = &text[..text.len() - body.len()];
        let first = body.split_whitespace().next().unwrap_or_default();
        let path = absolute(first.trim_matches(['"', '\'']));
        Command {
            outside: prefixes.contains('+'),
            ignore_failure: prefixes.contains('-'),
            path,
        }
    }
}

/// The parent directory of a path, for a suggested bind.
fn parent(p: &UnitPath) -> String {
    match p.as_str().rsplit_once('/') {
        Some(("", _)) | None => "/".to_owned(),
        Some((dir, _)) => dir.to_owned(),
    }
}

fn path_hidden(s: &Subject<'_>, view: &View, out: &mut Vec<Finding>) {
    for key in EXEC_KEYS {
        for text in s.raw(key) {
            let cmd = Command::parse(text);
            if cmd.outside {
                continue;
            }
            let Some(path) = cmd.path.as_ref().map(|p| view.prep(p)) else {
                continue;
            };
            let Some(h) = view.hidden_by(&path) else {
                continue;
            };
            // The main command cannot be optional: without it the service
            // has nothing to run.
            let optional = cmd.ignore_failure && *key != "ExecStart";
            let outcome = if optional {
                "the command never runs, and its - prefix hides that failure"
            } else {
                "the command fails with status 203/EXEC"
            };
            let finding = Finding::new(
                PATH_HIDDEN,
                format!(
                    "{key}={text} runs {path}, which {} hides and no bind brings back: {outcome}",
                    h.by
                ),
                format!(
                    "bind its directory back (BindReadOnlyPaths={}), or prefix the command \
                     with + if it must run outside the sandbox",
                    parent(&path)
                ),
            );
            out.push(if optional {
                finding.with_severity(Severity::Warning)
            } else {
                finding
            });
        }
    }
    if let Some(text) = s.raw("WorkingDirectory").last() {
        let (optional, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        let Some(path) = absolute(rest).map(|p| view.prep(&p)) else {
            return;
        };
        let Some(h) = view.hidden_by(&path) else {
            return;
        };
        let outcome = if optional {
            "the - prefix lets the service start elsewhere, where it may not find its files"
        } else {
            "the service fails to start with status 200/CHDIR"
        };
        let finding = Finding::new(
            PATH_HIDDEN,
            format!(
                "WorkingDirectory={text} is {path}, which {} hides and no bind brings back: {outcome}",
                h.by
            ),
            format!("bind it back (BindPaths={path} or BindReadOnlyPaths={path})"),
        );
        out.push(if optional {
            finding.with_severity(Severity::Warning)
        } else {
            finding
        });
    }
}

fn bind_source_hidden(view: &View, out: &mut Vec<Finding>) {
    for b in &view.binds {
        let Some(h) = view.hidden_by(&b.source) else {
            continue;
        };
        // Rearranging inside the same hidden tree exposes nothing new.
        if b.target.starts_with(&h.path) {
            continue;
        }
        out.push(Finding::new(
            BIND_SOURCE_HIDDEN,
            format!(
                "{} exposes {}, which {} hides, at {}: what the hidden tree keeps out of view \
                 comes back through another path",
                b.line, b.source, h.by, b.target
            ),
            format!(
                "bind it at its own place ({}) if the service needs it, or drop the bind if it \
                 is meant to stay hidden",
                b.source
            ),
        ));
    }
}

fn bind_target_twice(view: &View, out: &mut Vec<Finding>) {
    for (i, b) in view.binds.iter().enumerate() {
        // Report each target once, at its first repetition.
        let Some(first) = view.binds[..i].iter().find(|e| e.target == b.target) else {
            continue;
        };
        if view.binds[..i]
            .iter()
            .filter(|e| e.target == b.target)
            .count()
            > 1
        {
            continue;
        }
        let message = if first.line == b.line {
            format!("{} is listed twice", b.line)
        } else {
            format!(
                "{} and {} both mount onto {}: only one of them takes effect",
                first.line, b.line, b.target
            )
        };
        out.push(Finding::new(
            BIND_TARGET_TWICE,
            message,
            format!("keep one bind for {}", b.target),
        ));
    }
}

fn rwpath_hidden(s: &Subject<'_>, view: &View, out: &mut Vec<Finding>) {
    if !matches!(
        s.single(Directive::ProtectSystem),
        Some(Value::ProtectSystem(ProtectSystem::Strict))
    ) {
        return;
    }
    for item in s.items(Directive::ReadWritePaths) {
        let Value::Paths(specs) = item else {
            continue;
        };
        for spec in specs {
            let path = view.prep(&spec.path);
            let Some(h) = view.hidden_by(&path) else {
                continue;
            };
            out.push(Finding::new(
                RWPATH_HIDDEN,
                format!(
                    "ReadWritePaths={spec} under ProtectSystem=strict, but {} hides {path}: it is \
                     not in the service's view, so it cannot be written there",
                    h.by
                ),
                format!(
                    "bind it back writable (BindPaths={path}), or reset ReadWritePaths= as Test 2 does"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropin::UnitFile;
    use dropin::parse::service_assignments;

    const SERVER: &[Trait] = &[Trait::I386Binary, Trait::TextRelocations, Trait::SharesUid];
    const WEB: &[Trait] = &[Trait::RunsSudo, Trait::SharesUid];

    fn effective(text: &str) -> Effective {
        let f = UnitFile::parse("t.conf", &format!("[Service]\n{text}")).unwrap();
        Effective::from_reads(&service_assignments(&f).unwrap())
    }

    fn lint_in(text: &str, traits: &[Trait], instance: Option<&str>) -> Vec<Finding> {
        let e = effective(text);
        let i = instance.map(|i| Instance::new(i).unwrap());
        check(&Subject {
            effective: &e,
            traits,
            instance: i.as_ref(),
        })
    }

    fn lint(text: &str, traits: &[Trait]) -> Vec<Finding> {
        lint_in(text, traits, None)
    }

    fn ids(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
        findings.iter().map(|f| (f.lint, f.severity)).collect()
    }

    #[test]
    fn registry_is_complete_and_ordered() {
        let ids: Vec<&str> = LINTS.iter().map(|l| l.id).collect();
        assert_eq!(
            ids,
            [
                MDWX_TEXT_RELOCATIONS,
                I386_NATIVE_ONLY,
                SUDO_BLOCKED,
                HIDEPID_SAME_UID,
                PATH_HIDDEN,
                BIND_SOURCE_HIDDEN,
                BIND_TARGET_TWICE,
                RWPATH_HIDDEN,
                INSTANCE_REPLACES_TEMPLATE
            ]
        );
        for l in LINTS {
            assert!(l.test.starts_with("Test ") || l.test == "Drop-in style");
            assert_eq!(info(l.id), Some(l));
        }
        assert_eq!(info("nope"), None);
    }

    #[test]
    fn mdwx_fires_on_text_relocations() {
        let f = lint("MemoryDenyWriteExecute=yes\n", SERVER);
        assert_eq!(ids(&f), [(MDWX_TEXT_RELOCATIONS, Severity::Error)]);
        let text = f[0].to_string();
        assert!(
            text.starts_with("error[mdwx-text-relocations] (Test 6): MemoryDenyWriteExecute=true"),
            "{text}"
        );
        assert!(text.contains("dlopen fails"), "{text}");
    }

    #[test]
    fn mdwx_silent_without_the_trait_or_when_false() {
        assert!(lint("MemoryDenyWriteExecute=true\n", WEB).is_empty());
        assert!(lint("MemoryDenyWriteExecute=false\n", SERVER).is_empty());
        assert!(
            lint(
                "MemoryDenyWriteExecute=true\nMemoryDenyWriteExecute=no\n",
                SERVER
            )
            .is_empty()
        );
    }

    #[test]
    fn i386_fires_on_native_alone() {
        for archs in ["native", "x86-64", "native x86-64"] {
            let f = lint(&format!("SystemCallArchitectures={archs}\n"), SERVER);
            assert_eq!(ids(&f), [(I386_NATIVE_ONLY, Severity::Error)], "{archs}");
            assert!(f[0].to_string().contains("(Test 3)"));
            assert!(f[0].fix.ends_with(" x86"), "{}", f[0].fix);
        }
    }

    #[test]
    fn i386_silent_with_x86_or_without_filter() {
        assert!(lint("SystemCallArchitectures=native x86\n", SERVER).is_empty());
        assert!(
            lint(
                "SystemCallArchitectures=native\nSystemCallArchitectures=x86\n",
                SERVER
            )
            .is_empty()
        );
        assert!(
            lint(
                "SystemCallArchitectures=native\nSystemCallArchitectures=\n",
                SERVER
            )
            .is_empty()
        );
        assert!(lint("SystemCallArchitectures=native\n", WEB).is_empty());
    }

    #[test]
    fn sudo_fires_on_each_blocker() {
        for (text, needle) in [
            ("NoNewPrivileges=true\n", "NoNewPrivileges=true"),
            ("PrivateUsers=yes\n", "PrivateUsers=true"),
            ("PrivateUsers=identity\n", "PrivateUsers=identity"),
            (
                "CapabilityBoundingSet=\n",
                "CapabilityBoundingSet= is empty",
            ),
            (
                "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n",
                "leaves out CAP_SETUID CAP_SETGID",
            ),
            (
                "CapabilityBoundingSet=~CAP_SETUID\n",
                "leaves out CAP_SETUID",
            ),
            (
                "SystemCallFilter=@system-service\nSystemCallFilter=~@debug @privileged\n",
                "SystemCallFilter=~@debug @privileged",
            ),
            ("SystemCallFilter=~@setuid\n", "setuid setgid setresuid"),
            (
                "SystemCallFilter=@basic-io\n",
                "the allow list does not name them",
            ),
        ] {
            let f = lint(text, WEB);
            assert_eq!(ids(&f), [(SUDO_BLOCKED, Severity::Error)], "{text}");
            let shown = f[0].to_string();
            assert!(shown.contains(needle), "{text}: {shown}");
            assert!(shown.contains("(Test 10)"), "{shown}");
        }
    }

    #[test]
    fn sudo_silent_on_test10_and_without_the_trait() {
        let test10 = include_str!("../tests/fixtures/test-plan/test-10-web.conf");
        let f = UnitFile::parse("test-10-web.conf", test10).unwrap();
        let e = Effective::from_reads(&service_assignments(&f).unwrap());
        let only_sudo = [Trait::RunsSudo];
        let findings = check(&Subject {
            effective: &e,
            traits: &only_sudo,
            instance: None,
        });
        assert!(findings.is_empty(), "{findings:#?}");
        for text in [
            "PrivateUsers=no\nNoNewPrivileges=false\n",
            "CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_AUDIT_WRITE\n",
            "CapabilityBoundingSet=~CAP_SYS_ADMIN\n",
            "CapabilityBoundingSet=\nCapabilityBoundingSet=CAP_SETUID\nCapabilityBoundingSet=CAP_SETGID\n",
            "SystemCallFilter=~@privileged\nSystemCallFilter=@setuid\n",
        ] {
            assert!(lint(text, WEB).is_empty(), "{text}");
        }
        assert!(lint("NoNewPrivileges=true\nCapabilityBoundingSet=\n", SERVER).is_empty());
    }

    #[test]
    fn hidepid_fires_without_private_pids() {
        let f = lint("ProtectProc=invisible\nProcSubset=pid\n", SERVER);
        assert_eq!(ids(&f), [(HIDEPID_SAME_UID, Severity::Warning)]);
        assert!(
            f[0].to_string()
                .starts_with("warning[hidepid-same-uid] (Test 5): ")
        );
        assert!(f[0].fix.contains("PrivatePIDs=true"));
    }

    #[test]
    fn hidepid_silent_with_private_pids_or_own_uid() {
        assert!(lint("ProtectProc=invisible\nPrivatePIDs=yes\n", SERVER).is_empty());
        assert!(lint("ProtectProc=invisible\n", &[Trait::I386Binary]).is_empty());
        assert!(lint("ProtectProc=default\n", SERVER).is_empty());
    }

    const VIEW: &str = "TemporaryFileSystem=/var/lib /etc\n\
                        BindPaths=/var/lib/left4me/runtime/%i\n\
                        BindReadOnlyPaths=/etc/left4me/host.env\n";

    #[test]
    fn path_hidden_fires_on_hidden_commands_and_directories() {
        let f = lint(
            &format!("{VIEW}ExecStart=/var/lib/left4me/bin/srcds_run -game left4dead2\n"),
            &[],
        );
        assert_eq!(ids(&f), [(PATH_HIDDEN, Severity::Error)]);
        let shown = f[0].to_string();
        assert!(
            shown.contains("TemporaryFileSystem=/var/lib hides"),
            "{shown}"
        );
        assert!(
            shown.contains("BindReadOnlyPaths=/var/lib/left4me/bin"),
            "{shown}"
        );
        // `-` does not make the main command optional; `@` and `:` are read.
        let f = lint(&format!("{VIEW}ExecStart=-@:/etc/x/run run\n"), &[]);
        assert_eq!(ids(&f), [(PATH_HIDDEN, Severity::Error)]);
        let f = lint(&format!("{VIEW}ExecStartPre=-/etc/x/pre\n"), &[]);
        assert_eq!(ids(&f), [(PATH_HIDDEN, Severity::Warning)]);
        // `!` changes credentials only: the sandbox still applies.
        let f = lint(&format!("{VIEW}ExecStopPost=!/etc/x/post\n"), &[]);
        assert_eq!(ids(&f), [(PATH_HIDDEN, Severity::Error)]);
        let f = lint(&format!("{VIEW}WorkingDirectory=/etc/x\n"), &[]);
        assert_eq!(ids(&f), [(PATH_HIDDEN, Severity::Error)]);
        let f = lint(&format!("{VIEW}WorkingDirectory=-/etc/x\n"), &[]);
        assert_eq!(ids(&f), [(PATH_HIDDEN, Severity::Warning)]);
        let f = lint(&format!("{VIEW}ExecStart=%S/left4me/run\n"), &[]);
        assert_eq!(ids(&f), [(PATH_HIDDEN, Severity::Error)]);
        let f = lint("ProtectHome=true\nExecStart=/home/steam/srcds_run\n", &[]);
        assert!(f[0].message.contains("ProtectHome=true hides"), "{f:#?}");
        // The instance's own runtime is bound, another instance's is not.
        let f = lint_in(
            &format!("{VIEW}ExecStart=/var/lib/left4me/runtime/2/merged/srcds_run\n"),
            &[],
            Some("1"),
        );
        assert_eq!(ids(&f), [(PATH_HIDDEN, Severity::Error)]);
    }

    #[test]
    fn path_hidden_silent_on_binds_plus_and_manager_files() {
        let base = "ExecStartPre=+/usr/bin/nsenter --mount=/proc/1/ns/mnt -- /var/lib/x mount %i\n\
                    ExecStart=/var/lib/left4me/runtime/%i/merged/srcds_run -game left4dead2\n\
                    ExecStopPost=+/var/lib/left4me/helper umount %i\n\
                    WorkingDirectory=-/var/lib/left4me/runtime/%i/merged/left4dead2\n\
                    EnvironmentFile=/var/lib/left4me/instances/%i/instance.env\n\
                    EnvironmentFile=/etc/left4me/web.env\n";
        assert!(lint(&format!("{VIEW}{base}"), &[]).is_empty());
        assert!(lint_in(&format!("{VIEW}{base}"), &[], Some("1")).is_empty());
        // Resolved on one side only still compares equal.
        let resolved = base.replace("%i", "1");
        assert!(lint_in(&format!("{VIEW}{resolved}"), &[], Some("1")).is_empty());
        assert!(lint("ExecStart=/var/lib/x/run\nExecStart=\n", &[]).is_empty());
        assert!(
            lint(
                &format!("{VIEW}ExecStart=srcds_run\nExecStart=/usr/bin/env\n"),
                &[]
            )
            .is_empty()
        );
        assert!(
            lint(
                &format!("{VIEW}ExecStart=/usr/bin/run\nWorkingDirectory=~\n"),
                &[]
            )
            .is_empty()
        );
    }

    #[test]
    fn bind_source_hidden_fires_when_a_hidden_tree_leaks_elsewhere() {
        let f = lint(
            &format!("{VIEW}BindReadOnlyPaths=/etc/left4me/web.env:/run/web.env\n"),
            &[],
        );
        assert_eq!(ids(&f), [(BIND_SOURCE_HIDDEN, Severity::Warning)]);
        assert!(
            f[0].message.contains("exposes /etc/left4me/web.env"),
            "{f:#?}"
        );
        let f = lint(&format!("{VIEW}BindPaths=/etc/left4me:/var/lib/x\n"), &[]);
        assert_eq!(ids(&f), [(BIND_SOURCE_HIDDEN, Severity::Warning)]);
    }

    #[test]
    fn bind_source_hidden_silent_on_binds_in_place() {
        assert!(lint(VIEW, &[]).is_empty());
        assert!(
            lint(
                &format!("{VIEW}BindReadOnlyPaths=/etc/left4me/host.env:/run/host.env\n"),
                &[]
            )
            .is_empty()
        );
        assert!(lint(&format!("{VIEW}BindReadOnlyPaths=/etc/a:/etc/b\n"), &[]).is_empty());
        assert!(lint("BindReadOnlyPaths=/etc/a:/run/a\n", &[]).is_empty());
    }

    #[test]
    fn bind_target_twice_fires_on_repeated_targets() {
        let f = lint("BindReadOnlyPaths=/etc/ssl\nBindPaths=/etc/ssl\n", &[]);
        assert_eq!(ids(&f), [(BIND_TARGET_TWICE, Severity::Warning)]);
        assert!(f[0].message.contains("both mount onto /etc/ssl"), "{f:#?}");
        let f = lint(
            "BindReadOnlyPaths=/etc/ssl /etc/ssl\nBindReadOnlyPaths=/srv/a:/etc/ssl\n",
            &[],
        );
        assert_eq!(ids(&f), [(BIND_TARGET_TWICE, Severity::Warning)]);
        assert!(f[0].message.contains("listed twice"), "{f:#?}");
    }

    #[test]
    fn bind_target_twice_silent_on_distinct_targets() {
        assert!(
            lint(
                "BindReadOnlyPaths=/etc/ssl /etc/ca-certificates\nBindPaths=/srv/a:/srv/b\n",
                &[]
            )
            .is_empty()
        );
        assert!(lint("BindPaths=/etc/ssl\nBindPaths=\nBindPaths=/etc/ssl\n", &[]).is_empty());
    }

    #[test]
    fn rwpath_hidden_fires_under_strict() {
        let f = lint(
            "ProtectSystem=strict\nReadWritePaths=/var/lib/left4me\nTemporaryFileSystem=/var/lib\n",
            &[],
        );
        assert_eq!(ids(&f), [(RWPATH_HIDDEN, Severity::Warning)]);
        assert!(
            f[0].message.contains("TemporaryFileSystem=/var/lib hides"),
            "{f:#?}"
        );
    }

    #[test]
    fn rwpath_hidden_silent_when_bound_reset_or_not_strict() {
        for text in [
            "ProtectSystem=strict\nReadWritePaths=/var/lib/left4me\nTemporaryFileSystem=/var/lib\nBindPaths=/var/lib/left4me\n",
            "ProtectSystem=strict\nReadWritePaths=/var/lib/left4me\nReadWritePaths=\nTemporaryFileSystem=/var/lib\n",
            "ProtectSystem=full\nReadWritePaths=/var/lib/left4me\nTemporaryFileSystem=/var/lib\n",
            "ProtectSystem=strict\nReadWritePaths=/var/lib/left4me\n",
        ] {
            assert!(lint(text, &[]).is_empty(), "{text}");
        }
    }

    #[test]
    fn too_new_names_directives_and_values() {
        let e = effective("PrivatePIDs=true\nPrivateUsers=identity\nProtectProc=invisible\n");
        assert_eq!(
            too_new(&e, 252),
            [
                "PrivateUsers=identity (systemd 257)",
                "PrivatePIDs= (systemd 257)"
            ]
        );
        assert!(too_new(&e, 257).is_empty());
    }
}
