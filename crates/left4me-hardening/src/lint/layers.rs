//! The composition itself: what a host configuration does to the proven
//! layers.

use super::{Finding, Lint, LintId, Severity, Subject, TestRef};

/// A host-config line that discards a line the test plan proved.
pub(super) struct ReplacesProven;

/// `Test 2` → 2.
fn test_number(origin: &str) -> Option<u8> {
    origin
        .strip_prefix("Test ")?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

impl Lint for ReplacesProven {
    fn id(&self) -> LintId {
        LintId::ReplacesProven
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn test(&self) -> TestRef {
        TestRef::Production
    }
    fn summary(&self) -> &'static str {
        "a host-config line that replaces, resets, clears or removes a line the test plan proved"
    }
    fn finding(&self) -> &'static str {
        "every proven line was paid for by a test; one the host config discards is no longer \
         proven, and an empty assignment of a shared list (BindPaths=) discards more than it says"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        let Some(composed) = s.composed else { return };
        for e in composed.trace() {
            if &*e.layer != crate::config::LAYER {
                continue;
            }
            // One finding per test whose lines this step discards.
            let mut by_test: Vec<(u8, Vec<&str>)> = Vec::new();
            for (line, was) in &e.replaced {
                let Some(n) = test_number(&was.origin) else {
                    continue;
                };
                match by_test.iter_mut().find(|(t, _)| *t == n) {
                    Some((_, lines)) => lines.push(line),
                    None => by_test.push((n, vec![line])),
                }
            }
            for (n, lines) in by_test {
                let (what, them) = match lines.len() {
                    1 => ("line", "it"),
                    _ => ("lines", "them"),
                };
                let mut f = Finding::new(
                    self.id(),
                    format!(
                        "the host config's {} of {}= ({}) discards the proven {what} {} of Test {n}",
                        e.action.as_str(),
                        e.directive.name(),
                        e.provenance.reason,
                        lines.join(", ")
                    ),
                    format!(
                        "keep {them} (add lines after {them} instead of resetting), or waive \
                         replaces-proven with the reason Test {n} does not hold on this host"
                    ),
                );
                f.test = TestRef::Test(n);
                out.push(f);
            }
        }
    }
}
