//! System calls, privileges and sudo: Tests 3 and 10.

use dropin::value::Boolean;
use dropin::{ArchList, CapabilityList, Directive, PrivateUsers, SyscallFilter, Value};

use super::{Finding, Lint, LintId, Severity, Subject, TestRef};
use crate::traits::Trait;

/// `SystemCallArchitectures=` without `x86` for an i386 workload.
pub(super) struct I386NativeOnly;

impl Lint for I386NativeOnly {
    fn id(&self) -> LintId {
        LintId::I386NativeOnly
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn test(&self) -> TestRef {
        TestRef::Test(3)
    }
    fn summary(&self) -> &'static str {
        "SystemCallArchitectures= without x86 for a workload that runs an i386 binary"
    }
    fn finding(&self) -> &'static str {
        "srcds_linux is ELF 32-bit LSB executable, Intel i386; with native alone every \
         i386 syscall is killed with SIGSYS (Bad system call, server restart in 10 seconds)"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        if !s.has(Trait::I386Binary) {
            return;
        }
        let Some(archs) = s
            .effective
            .get::<ArchList>(Directive::SystemCallArchitectures)
        else {
            return;
        };
        // No architecture listed (unset or reset): no architecture filter.
        if archs.is_empty() || archs.contains("x86") {
            return;
        }
        let current: Vec<&str> = archs.iter().map(String::as_str).collect();
        let current = current.join(" ");
        out.push(Finding::new(
            self.id(),
            format!(
                "SystemCallArchitectures={current} without x86 on a workload that runs an i386 \
                 binary: every 32-bit system call is killed with SIGSYS (Bad system call), and \
                 srcds_run restarts the server every 10 seconds"
            ),
            format!("SystemCallArchitectures={current} x86"),
        ));
    }
}

/// The calls sudo makes to switch user (setuid(2) and friends).
const SUDO_CALLS: &[&str] = &["setuid", "setgid", "setresuid", "setresgid", "setgroups"];

/// The capabilities sudo needs from the bounding set to switch user, by
/// name and number.
const SUDO_CAPS: &[(&str, u32)] = &[("CAP_SETUID", 7), ("CAP_SETGID", 6)];

/// Something that stops sudo on a workload that runs it.
pub(super) struct SudoBlocked;

impl SudoBlocked {
    /// The value of `directive` as written last, in the model's spelling.
    fn written(s: &Subject<'_>, directive: Directive) -> String {
        s.effective
            .origin_values(directive)
            .last()
            .map(|v| Value::parse(directive, v).map_or_else(|_| v.clone(), |v| v.to_string()))
            .unwrap_or_default()
    }
}

impl Lint for SudoBlocked {
    fn id(&self) -> LintId {
        LintId::SudoBlocked
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn test(&self) -> TestRef {
        TestRef::Test(10)
    }
    fn summary(&self) -> &'static str {
        "NoNewPrivileges=, PrivateUsers=, a CapabilityBoundingSet= without CAP_SETUID/CAP_SETGID \
         or a syscall filter denying setuid (~@privileged) on a workload that runs sudo"
    }
    fn finding(&self) -> &'static str {
        "the web app sudoes to its helpers: no NoNewPrivileges, no PrivateUsers (would break \
         sudo's setuid), no CapabilityBoundingSet= (sudo + PAM need caps), no ~@privileged"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        if !s.has(Trait::RunsSudo) {
            return;
        }
        let e = s.effective;
        if e.get::<Boolean>(Directive::NoNewPrivileges) == Some(&Some(true)) {
            out.push(Finding::new(
                self.id(),
                "NoNewPrivileges=true on a workload that runs sudo: the setuid bit of sudo is \
                 ignored (sudo: effective uid is not 0), so the helpers never run"
                    .to_owned(),
                "remove NoNewPrivileges= (Test 10 leaves it out: the web app sudoes to its helpers)"
                    .to_owned(),
            ));
        }
        if let Some(Some(p)) = e.get::<PrivateUsers>(Directive::PrivateUsers)
            && *p != "no"
        {
            out.push(Finding::new(
                self.id(),
                format!(
                    "PrivateUsers={} on a workload that runs sudo: in a user namespace the setuid \
                     root bit of sudo grants no privilege on the host",
                    Self::written(s, Directive::PrivateUsers)
                ),
                "remove PrivateUsers= (Test 10 leaves it out: it would break sudo's setuid)"
                    .to_owned(),
            ));
        }
        if let Some(&mask) = e.get::<CapabilityList>(Directive::CapabilityBoundingSet) {
            let missing: Vec<&str> = SUDO_CAPS
                .iter()
                .filter(|(_, bit)| mask & (1 << bit) == 0)
                .map(|(n, _)| *n)
                .collect();
            if !missing.is_empty() {
                let known = (1u64 << dropin::names::CAPABILITIES.len()) - 1;
                let what = if mask & known == 0 {
                    "CapabilityBoundingSet= is empty".to_owned()
                } else {
                    format!("CapabilityBoundingSet= leaves out {}", missing.join(" "))
                };
                out.push(Finding::new(
                    self.id(),
                    format!(
                        "{what} on a workload that runs sudo: sudo and PAM need capabilities \
                         that a setuid binary only gets from the bounding set"
                    ),
                    "remove CapabilityBoundingSet= (Test 10 leaves it out: sudo + PAM need caps)"
                        .to_owned(),
                ));
            }
        }
        let Some(Some(filter)) = e.get::<SyscallFilter>(Directive::SystemCallFilter) else {
            return;
        };
        let denied: Vec<&str> = SUDO_CALLS
            .iter()
            .copied()
            .filter(|c| !filter.allows(c))
            .collect();
        if denied.is_empty() {
            return;
        }
        // The deny lines that name them, as written.
        let lines: Vec<String> = e
            .origin_values(Directive::SystemCallFilter)
            .iter()
            .filter(|v| {
                matches!(
                    Value::parse(Directive::SystemCallFilter, v),
                    Ok(Value::Syscalls(f)) if f.deny && denied.iter().any(|c| f.covers(c))
                )
            })
            .map(|v| format!("SystemCallFilter={v}"))
            .collect();
        let through = if lines.is_empty() {
            "the allow list does not name them".to_owned()
        } else {
            lines.join(", ")
        };
        out.push(Finding::new(
            self.id(),
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

/// `SocketBindAllow=` without `SocketBindDeny=`: a bind that matches no
/// rule is allowed, so the allow rules restrict nothing.
pub(super) struct SocketBindAllowOnly;

impl Lint for SocketBindAllowOnly {
    fn id(&self) -> LintId {
        LintId::SocketBindAllowOnly
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn test(&self) -> TestRef {
        TestRef::Production
    }
    fn summary(&self) -> &'static str {
        "SocketBindAllow= without SocketBindDeny=, which restricts nothing"
    }
    fn finding(&self) -> &'static str {
        "systemd.resource-control: a bind that matches no rule is allowed; the allow rules only \
         take precedence over deny rules, so without SocketBindDeny= every port stays bindable"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        let allow = s.effective.lines(Directive::SocketBindAllow);
        if allow.is_empty() || !s.effective.lines(Directive::SocketBindDeny).is_empty() {
            return;
        }
        out.push(Finding::new(
            self.id(),
            format!(
                "SocketBindAllow={} without SocketBindDeny=: a bind no rule matches is allowed, \
                 so every port stays bindable",
                allow.join(" ")
            ),
            "add SocketBindDeny=any after the allow rules (allow rules take precedence)".to_owned(),
        ));
    }
}
