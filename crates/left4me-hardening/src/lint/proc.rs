//! `/proc` visibility: Test 5.

use dropin::value::Boolean;
use dropin::{Directive, ProcSubset, ProtectProc};

use super::{Finding, Lint, LintId, Severity, Subject, TestRef};
use crate::traits::Trait;

/// `ProtectProc=` relied on against a service of the same uid, without
/// `PrivatePIDs=`.
pub(super) struct HidepidSameUid;

impl Lint for HidepidSameUid {
    fn id(&self) -> LintId {
        LintId::HidepidSameUid
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn test(&self) -> TestRef {
        TestRef::Test(5)
    }
    fn summary(&self) -> &'static str {
        "ProtectProc=invisible relied on against a service of the same uid, without PrivatePIDs="
    }
    fn finding(&self) -> &'static str {
        "PARTIAL: hidepid=invisible hides foreign-uid PIDs but doesn't help against same-uid; \
         gunicorn's /proc/<pid>/environ stayed readable from srcds (both uid 980)"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        if !s.has(Trait::SharesUid) {
            return;
        }
        let Some(Some(p)) = s.effective.get::<ProtectProc>(Directive::ProtectProc) else {
            return;
        };
        if !matches!(*p, "invisible" | "noaccess") {
            return;
        }
        if s.effective.get::<Boolean>(Directive::PrivatePids) == Some(&Some(true)) {
            return;
        }
        out.push(Finding::new(
            self.id(),
            format!(
                "ProtectProc={p} without PrivatePIDs= on a workload that shares its uid with \
                 another service: hidepid hides the processes of foreign uids only, so the other \
                 service's processes stay visible and their /proc/<pid>/environ readable"
            ),
            "add PrivatePIDs=true (systemd 257), as the server profile does since Test 5, or waive \
             this lint with the reason the other service may stay visible"
                .to_owned(),
        ));
    }
}

/// `ProcSubset=pid` on a workload that reads `/proc/cpuinfo`, `/proc/sys`
/// or the boot id.
pub(super) struct ProcSubsetHidesSystem;

impl Lint for ProcSubsetHidesSystem {
    fn id(&self) -> LintId {
        LintId::ProcSubsetHidesSystem
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn test(&self) -> TestRef {
        TestRef::Production
    }
    fn summary(&self) -> &'static str {
        "ProcSubset=pid on a workload that reads /proc/cpuinfo, /proc/sys or the boot id"
    }
    fn finding(&self) -> &'static str {
        "Tests 5 and 10 kept ProcSubset=pid; in production the server fell back to LAN-only \
         (the Source engine's CPU detection and the Steam API read /proc/cpuinfo and /proc/sys) \
         and the web app's sudo journalctl helper failed with \"Failed to get boot ID\""
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        if s.effective.get::<ProcSubset>(Directive::ProcSubset) != Some(&Some("pid")) {
            return;
        }
        let needs: Vec<&str> = [
            (
                Trait::ReadsCpuinfo,
                "/proc/cpuinfo and /proc/sys (CPU detection, the Steam API)",
            ),
            (
                Trait::ReadsBootId,
                "the boot id in /proc/sys/kernel/random (journalctl)",
            ),
        ]
        .into_iter()
        .filter(|(t, _)| s.has(*t))
        .map(|(_, what)| what)
        .collect();
        if needs.is_empty() {
            return;
        }
        out.push(Finding::new(
            self.id(),
            format!(
                "ProcSubset=pid hides everything in /proc but the process directories, and this \
                 workload reads {}",
                needs.join(" and ")
            ),
            "remove ProcSubset= (ProtectProc=invisible still hides other uids' processes), as \
             the profiles do since production"
                .to_owned(),
        ));
    }
}

/// `KillSignal=SIGINT` with `PrivatePIDs=`: the main process is PID 1 of
/// its PID namespace.
pub(super) struct Pid1SigintExit;

impl Lint for Pid1SigintExit {
    fn id(&self) -> LintId {
        LintId::Pid1SigintExit
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn test(&self) -> TestRef {
        TestRef::Test(5)
    }
    fn summary(&self) -> &'static str {
        "KillSignal=SIGINT with PrivatePIDs=: a shell main process exits 130 and every stop fails"
    }
    fn finding(&self) -> &'static str {
        "runtime (systemd 257, a srcds_run-shaped script): under PrivatePIDs= the main process is \
         PID 1 of its namespace, the kernel drops the kill -INT $$ its trap ends with, the shell \
         exits 130 and the stop ends Result=exit-code (the unit is failed) in 0.1 s; without \
         PrivatePIDs=, or with SuccessExitStatus=130, it ends Result=success"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        if s.effective.get::<Boolean>(Directive::PrivatePids) != Some(&Some(true)) {
            return;
        }
        let last = |key: &str| s.raw(key).last().map(|(_, v)| v.clone());
        let signal = last(dropin::directive::key::KILL_SIGNAL).unwrap_or_default();
        if !matches!(signal.as_str(), "SIGINT" | "INT" | "2") {
            return;
        }
        let clean = s
            .raw(dropin::directive::key::SUCCESS_EXIT_STATUS)
            .iter()
            .any(|(_, v)| {
                v.split_whitespace()
                    .any(|w| matches!(w, "130" | "SIGINT" | "INT"))
            });
        if clean {
            return;
        }
        out.push(Finding::new(
            self.id(),
            format!(
                "KillSignal={signal} with PrivatePIDs=yes: the main process is PID 1 of its PID \
                 namespace, so a shell script (srcds_run) that ends its SIGINT trap with \
                 kill -INT $$ exits 130 instead and every stop leaves the unit failed \
                 (Result=exit-code)"
            ),
            "add SuccessExitStatus=130 to the base unit (or a drop-in of its own), or let the script \
             exec its payload"
                .to_owned(),
        ));
    }
}
