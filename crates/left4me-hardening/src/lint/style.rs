//! The drop-in files themselves: the plan's drop-in convention.

use super::{Finding, Lint, LintId, Severity, Subject, TestRef};

/// An instance drop-in with the file name of a template drop-in replaces it
/// wholesale.
pub(super) struct InstanceReplacesTemplate;

/// The unit a drop-in's directory names (`x@1.service.d/a.conf` gives
/// `x@1.service`).
fn unit_dir(path: &str) -> Option<&str> {
    let (dir, _) = path.rsplit_once('/')?;
    dir.rsplit('/').next()?.strip_suffix(".d")
}

impl Lint for InstanceReplacesTemplate {
    fn id(&self) -> LintId {
        LintId::InstanceReplacesTemplate
    }
    fn severity(&self) -> Severity {
        Severity::Note
    }
    fn test(&self) -> TestRef {
        TestRef::DropInStyle
    }
    fn summary(&self) -> &'static str {
        "an instance drop-in with the file name of a template drop-in replaces it wholesale"
    }
    fn finding(&self) -> &'static str {
        "tests apply via left4me-server@1.service.d/test-NN-<name>.conf, leaving the \
         template unmodified; a file of the same name in both directories is read from the \
         instance directory only (measured on systemd 257)"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        for sh in s.shadowed {
            let (Some(w), Some(l)) = (unit_dir(&sh.winner), unit_dir(&sh.loser)) else {
                continue;
            };
            if dropin::load::template_of(w).as_deref() != Some(l) {
                continue;
            }
            out.push(Finding::new(
                self.id(),
                format!(
                    "{} has the file name of {} and replaces it wholesale: none of the template \
                     file's settings apply to {w}",
                    sh.winner, sh.loser
                ),
                "intended when the instance file carries the whole profile (as left4me-harden \
                 writes it); otherwise give it a name of its own, such as 20-local.conf"
                    .to_owned(),
            ));
        }
    }
}
