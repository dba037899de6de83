//! Memory protection: Test 6.

use dropin::Directive;
use dropin::value::Boolean;

use super::{Finding, Lint, LintId, Severity, Subject, TestRef};
use crate::traits::Trait;

/// `MemoryDenyWriteExecute=` on a workload whose libraries have text
/// relocations.
pub(super) struct MdwxTextRelocations;

impl Lint for MdwxTextRelocations {
    fn id(&self) -> LintId {
        LintId::MdwxTextRelocations
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn test(&self) -> TestRef {
        TestRef::Test(6)
    }
    fn summary(&self) -> &'static str {
        "MemoryDenyWriteExecute= on a workload whose libraries have text relocations"
    }
    fn finding(&self) -> &'static str {
        "FAIL: bin/libtier0_srv.so: cannot make segment writable for relocation: \
         Permission denied; dlopen fails and srcds_run enters a 10-second respawn loop"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        let on = s
            .effective
            .get::<Boolean>(Directive::MemoryDenyWriteExecute)
            .copied()
            .flatten()
            .unwrap_or(false);
        if s.has(Trait::TextRelocations) && on {
            out.push(Finding::new(
                self.id(),
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
}
