//! `/proc` visibility: Test 5.

use dropin::value::Boolean;
use dropin::{Directive, ProtectProc};

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
