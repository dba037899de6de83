//! Safety rails: the test plan's findings as lints.
//!
//! Each finding of the hardening test plan cost a broken server once; a
//! lint makes sure no profile, host configuration or hand-written drop-in
//! repeats it by accident, and says why in the plan's words. Lints read
//! a unit's [`Effective`] settings — as systemd 257 holds them after
//! loading the unit, its base file and every drop-in ([`dropin::load()`]) —
//! and check them against the [`Trait`]s of the workload.
//!
//! Every lint is a value implementing [`Lint`], registered in [`LINTS`];
//! its id is a [`LintId`], so a waiver naming an unknown lint is refused
//! when it is read.
//!
//! ```
//! use dropin::Effective;
//! use left4me_hardening::{Trait, lint};
//!
//! let mut effective = Effective::new("left4me-server@1.service");
//! effective.read("test-04-syscall.conf", b"[Service]\nSystemCallArchitectures=native\n");
//! let subject = lint::Subject::new(&effective, &[Trait::I386Binary]);
//! let findings = lint::check(&subject);
//! assert_eq!(findings[0].lint, lint::LintId::I386NativeOnly);
//! assert!(findings[0].to_string().starts_with("error[i386-native-only] (Test 3): "));
//! ```

mod layers;
mod memory;
mod proc;
mod style;
mod syscall;
mod view;

use std::fmt;

use dropin::Effective;

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

/// Which part of the test plan paid for a lint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TestRef {
    /// A numbered test of the plan.
    Test(u8),
    /// The plan's convention for drop-in files.
    DropInStyle,
    /// What production taught after the plan (the runtime issue's findings).
    Production,
}

impl fmt::Display for TestRef {
    /// `Test 6`, `Drop-in style`, `Production`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestRef::Test(n) => write!(f, "Test {n}"),
            TestRef::DropInStyle => f.write_str("Drop-in style"),
            TestRef::Production => f.write_str("Production"),
        }
    }
}

impl serde::Serialize for TestRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

macro_rules! lint_ids {
    ($( $(#[$m:meta])* $variant:ident = $id:literal, )+) => {
        /// A lint's id, as findings and waivers name it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum LintId {
            $( $(#[$m])* $variant, )+
        }

        impl LintId {
            /// Every lint id, in report order.
            pub const ALL: &'static [LintId] = &[$(LintId::$variant),+];

            /// The id as written.
            pub fn as_str(self) -> &'static str {
                match self { $( LintId::$variant => $id, )+ }
            }
        }
    };
}

lint_ids! {
    /// `MemoryDenyWriteExecute=` on a workload with text relocations.
    MdwxTextRelocations = "mdwx-text-relocations",
    /// `SystemCallArchitectures=` without `x86` for an i386 workload.
    I386NativeOnly = "i386-native-only",
    /// Something that stops sudo on a workload that runs it.
    SudoBlocked = "sudo-blocked",
    /// `ProtectProc=` against a same-uid service without `PrivatePIDs=`.
    HidepidSameUid = "hidepid-same-uid",
    /// A path the service needs that its file-system view hides.
    PathHidden = "path-hidden",
    /// A bind that exposes a hidden tree elsewhere.
    BindSourceHidden = "bind-source-hidden",
    /// Two binds onto one target.
    BindTargetTwice = "bind-target-twice",
    /// `ReadWritePaths=` that a `TemporaryFileSystem=` hides.
    RwpathHidden = "rwpath-hidden",
    /// An empty assignment that clears another directive's lines too.
    SharedStorageReset = "shared-storage-reset",
    /// An instance drop-in that replaces a template drop-in.
    InstanceReplacesTemplate = "instance-replaces-template",
    /// A host-config line that discards a proven line.
    ReplacesProven = "replaces-proven",
    /// `ProcSubset=pid` on a workload that reads `/proc/cpuinfo` or the boot id.
    ProcSubsetHidesSystem = "procsubset-hides-system",
    /// `SocketBindAllow=` without `SocketBindDeny=`.
    SocketBindAllowOnly = "socketbind-allow-only",
}

impl LintId {
    /// The registered lint of this id.
    pub fn lint(self) -> &'static dyn Lint {
        // Every id has exactly one lint (tested); the fallback is never
        // taken but keeps this total without a panic.
        LINTS
            .iter()
            .copied()
            .find(|l| l.id() == self)
            .unwrap_or(&memory::MdwxTextRelocations)
    }
}

impl fmt::Display for LintId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LintId {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<LintId> {
        LintId::ALL
            .iter()
            .copied()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| crate::Error::UnknownLint(s.to_owned()))
    }
}

impl serde::Serialize for LintId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A lint: what it is, and the check itself.
pub trait Lint: Sync {
    /// Its id.
    fn id(&self) -> LintId;
    /// Its severity (a finding may be milder where noted).
    fn severity(&self) -> Severity;
    /// The part of the test plan that paid for it.
    fn test(&self) -> TestRef;
    /// One line on what it checks.
    fn summary(&self) -> &'static str;
    /// What the test plan found, in its words.
    fn finding(&self) -> &'static str;
    /// Checks a subject, adding findings.
    fn check(&self, subject: &Subject<'_>, out: &mut Vec<Finding>);
}

/// Every lint, in the order findings are reported.
pub static LINTS: &[&dyn Lint] = &[
    &memory::MdwxTextRelocations,
    &syscall::I386NativeOnly,
    &syscall::SudoBlocked,
    &proc::HidepidSameUid,
    &view::PathHidden,
    &view::BindSourceHidden,
    &view::BindTargetTwice,
    &view::RwpathHidden,
    &view::SharedStorageReset,
    &style::InstanceReplacesTemplate,
    &layers::ReplacesProven,
    &proc::ProcSubsetHidesSystem,
    &syscall::SocketBindAllowOnly,
];

/// Looks a lint up by id.
pub fn info(id: &str) -> Option<&'static dyn Lint> {
    id.parse::<LintId>().ok().map(LintId::lint)
}

/// One thing a lint found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The lint.
    pub lint: LintId,
    /// How bad it is.
    pub severity: Severity,
    /// The part of the test plan that paid for it.
    pub test: TestRef,
    /// What is wrong, naming the directive, value or path.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl Finding {
    /// A finding of lint `id` at the lint's own severity.
    pub(crate) fn new(id: LintId, message: String, fix: String) -> Finding {
        let lint = id.lint();
        Finding {
            lint: id,
            severity: lint.severity(),
            test: lint.test(),
            message,
            fix,
        }
    }

    pub(crate) fn with_severity(mut self, severity: Severity) -> Finding {
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

/// A drop-in that another of the same name replaces (found by the loader).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shadowed {
    /// The file read.
    pub winner: String,
    /// The file of the same name not read.
    pub loser: String,
}

/// What the lints check: a unit's effective settings and the workload's
/// traits.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// The effective settings (base unit and drop-ins, as loaded).
    pub effective: &'a Effective,
    /// What the workload is.
    pub traits: &'a [Trait],
    /// Drop-ins replaced by one of the same name in another directory.
    pub shadowed: &'a [Shadowed],
    /// The composition the settings come from, when they are generated.
    pub composed: Option<&'a dropin::Composed>,
}

impl<'a> Subject<'a> {
    /// A subject without drop-in file information.
    pub fn new(effective: &'a Effective, traits: &'a [Trait]) -> Subject<'a> {
        Subject {
            effective,
            traits,
            shadowed: &[],
            composed: None,
        }
    }

    fn has(&self, t: Trait) -> bool {
        self.traits.contains(&t)
    }

    /// The values of an untyped `[Service]` key as written, each with its
    /// specifiers expanded for the unit as systemd expands them.
    fn raw(&self, key: &str) -> Vec<(String, String)> {
        self.effective
            .service_values(key)
            .iter()
            .map(|v| {
                (
                    v.clone(),
                    self.effective.expand(v).unwrap_or_else(|| v.clone()),
                )
            })
            .collect()
    }
}

/// Runs every lint on a subject; findings come in [`LINTS`] order.
pub fn check(subject: &Subject<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for lint in LINTS {
        lint.check(subject, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_has_exactly_one_lint_in_order() {
        let ids: Vec<LintId> = LINTS.iter().map(|l| l.id()).collect();
        assert_eq!(ids, LintId::ALL);
        for id in LintId::ALL {
            assert_eq!(id.lint().id(), *id);
            assert_eq!(id.as_str().parse::<LintId>().unwrap(), *id);
        }
        assert!("no-such-lint".parse::<LintId>().is_err());
    }
}
