//! Explanations for operators and reviewers: a directive across the
//! profiles, or a profile's composition trace.

use std::fmt::Write as _;

use dropin::{Directive, Setting};

use crate::host::Host;
use crate::lint::LintId;
use crate::profiles::{Content, ProfileKind};

/// The tests of the hardening test plan, as provenances name them, with
/// their titles.
pub const TESTS: &[(&str, &str)] = &[
    ("Test 1", "PrivateUsers=true compatibility"),
    ("Test 2", "TemporaryFileSystem + minimal bind set"),
    ("Test 3", "SystemCallFilter (logging mode)"),
    ("Test 4", "SystemCallFilter (enforcement mode)"),
    ("Test 5", "ProcSubset=pid + ProtectProc=invisible"),
    ("Test 6", "MemoryDenyWriteExecute=true"),
    (
        "Test 7",
        "full proposed composition (everything that passed)",
    ),
    ("Test 8", "attack verification (the audit gaps)"),
    ("Test 9", "system-wide sysctl kernel.yama.ptrace_scope=2"),
    ("Test 10", "web unit hardening"),
    ("Test 11", "soak test"),
];

/// The test-plan tests named by `origins`, in test order, with titles.
fn findings<'a>(origins: impl IntoIterator<Item = &'a str>) -> Vec<(&'static str, &'static str)> {
    let origins: Vec<&str> = origins.into_iter().collect();
    TESTS
        .iter()
        .filter(|(t, _)| origins.contains(t))
        .copied()
        .collect()
}

/// A directive: what it does, since when, its value and provenance in each
/// profile, the notes where a profile left it out, and the test-plan
/// tests behind it.
pub fn directive(host: &Host, directive: Directive) -> String {
    let spec = directive.spec();
    let mut out = String::new();
    let _ = writeln!(out, "{}= — {}", spec.name, spec.summary);
    let _ = writeln!(out, "  group:   {}", spec.group.heading());
    let _ = writeln!(out, "  takes:   {}", spec.kind.describe());
    let _ = writeln!(out, "  since:   systemd {}", spec.since);
    let _ = writeln!(out, "  docs:    {} {}", spec.page.name(), spec.doc_url());
    let effects = crate::score::directive_effect(host, directive);
    for profile in host.profiles() {
        let Content::DropIn { composed, .. } = &profile.content else {
            continue;
        };
        let _ = writeln!(out, "\nprofile {}:", profile.kind);
        let notes: Vec<_> = composed
            .notes()
            .iter()
            .filter(|n| n.directive == directive)
            .collect();
        match composed.get(directive) {
            Some(setting) => {
                for (a, p) in setting.assignments() {
                    let _ = writeln!(out, "  {}", dropin::render::assignment_line(&a));
                    let _ = writeln!(out, "      {}: {}", p.origin, p.reason);
                }
                if let Setting::List { reset: Some(_), .. } = setting {
                    let _ = writeln!(
                        out,
                        "  (the empty assignment discards what the base unit set)"
                    );
                }
            }
            None if notes.is_empty() => {
                let _ = writeln!(out, "  not set");
            }
            None => {}
        }
        for n in notes {
            let _ = writeln!(
                out,
                "  {} by {}: {}",
                n.action, n.provenance.origin, n.provenance.reason
            );
        }
        for t in composed
            .trace()
            .iter()
            .filter(|t| t.directive == directive && t.action == dropin::compose::Action::Amend)
        {
            let _ = writeln!(out, "  amended in {}: {}", t.layer, t.detail);
        }
        if let Some((_, Some((with, without)))) = effects.iter().find(|(k, _)| *k == profile.kind) {
            let tenths = |x: u64| format!("{}.{}", x / 10, x % 10);
            let _ = writeln!(
                out,
                "  exposure (systemd-analyze security, over the test plan's base unit): {} with it, \
                 {} without: it removes {}",
                tenths(*with),
                tenths(*without),
                tenths(without.saturating_sub(*with))
            );
        }
    }
    let origins: Vec<&str> = host
        .profiles()
        .into_iter()
        .filter_map(|p| p.composed())
        .flat_map(|c| c.trace())
        .filter(|t| t.directive == directive)
        // The test that proved the line, and the test whose layer holds it.
        .flat_map(|t| {
            [
                &*t.provenance.origin,
                t.layer.split(':').next().unwrap_or(""),
            ]
        })
        .collect();
    let tests = findings(origins);
    if !tests.is_empty() {
        let _ = writeln!(out, "\nhardening test plan:");
        for (test, title) in tests {
            let _ = writeln!(out, "  {test} — {title}");
        }
    }
    out
}

/// A lint: its severity, the test that paid for it and what it found, and
/// the waivers of the host configuration that cover it.
pub fn lint(host: &Host, id: LintId) -> String {
    let lint = id.lint();
    let mut out = String::new();
    let _ = writeln!(out, "{id} — {}", lint.summary());
    let _ = writeln!(out, "  severity: {}", lint.severity());
    let _ = writeln!(out, "  test:     {}", lint.test());
    let _ = writeln!(out, "  finding:  {}", lint.finding());
    for w in host.waivers.iter().filter(|w| w.lint == id) {
        let scope = w.profile.map_or("every profile", ProfileKind::name);
        let _ = writeln!(out, "  waived for {scope} by {}: {}", w.origin, w.reason);
    }
    out
}

/// A profile: its description, traits and composition trace, layer by layer.
pub fn profile(host: &Host, kind: ProfileKind) -> String {
    let profile = host.profile(kind);
    let mut out = String::new();
    let _ = writeln!(out, "profile {}: {}", profile.kind, profile.description);
    for t in &profile.traits {
        let _ = writeln!(out, "  trait {}: {}", t.name(), t.describe());
    }
    match &profile.content {
        Content::DropIn {
            unit,
            layers,
            composed,
        } => {
            let _ = writeln!(out, "  unit: {unit}");
            let names: Vec<&str> = layers.iter().map(|l| l.name()).collect();
            let _ = writeln!(out, "  layers, in order: {}", names.join(" → "));
            out.push('\n');
            out.push_str(&dropin::render::trace(composed));
        }
        Content::Sysctl(file) => {
            let _ = writeln!(out, "  file: {}", host.layout.sysctl_file);
            for s in &file.settings {
                let _ = writeln!(
                    out,
                    "\n{}={}\n    {}: {}",
                    s.key, s.value, s.provenance.origin, s.provenance.reason
                );
            }
        }
    }
    out
}

/// A sysctl key a profile sets: its value, provenance and test, or `None`
/// when no profile sets `key` (`/` accepted for `.`, as `sysctl` does).
pub fn sysctl(host: &Host, key: &str) -> Option<String> {
    let key = key.replace('/', ".");
    let mut out = String::new();
    for profile in host.profiles() {
        let Content::Sysctl(file) = &profile.content else {
            continue;
        };
        for s in file.settings.iter().filter(|s| s.key.as_str() == key) {
            let _ = writeln!(out, "{} — a kernel parameter (sysctl)", s.key);
            let _ = writeln!(out, "  file:    {}", host.layout.sysctl_file);
            let _ = writeln!(out, "\nprofile {}:", profile.kind);
            let _ = writeln!(out, "  {}={}", s.key, s.value);
            let _ = writeln!(
                out,
                "      {}: {}",
                s.provenance.origin, s.provenance.reason
            );
            let _ = writeln!(out, "  applied by: sysctl --system (or at boot)");
            let tests = findings([&*s.provenance.origin]);
            if !tests.is_empty() {
                let _ = writeln!(out, "\nhardening test plan:");
                for (test, title) in tests {
                    let _ = writeln!(out, "  {test} — {title}");
                }
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Every subject `explain` knows, for completion: the profiles, the lint
/// ids, the sysctl keys the standard profiles set and the directives.
pub fn subjects() -> Vec<String> {
    let mut out: Vec<String> = ProfileKind::ALL
        .iter()
        .map(|k| k.name().to_owned())
        .collect();
    out.extend(LintId::ALL.iter().map(|l| l.as_str().to_owned()));
    if let Ok(host) = Host::standard() {
        for p in host.profiles() {
            if let Content::Sysctl(file) = &p.content {
                out.extend(file.settings.iter().map(|s| s.key.to_string()));
            }
        }
    }
    out.extend(dropin::REGISTRY.iter().map(|s| s.name.to_owned()));
    out
}

/// Explains `subject`: a profile, a lint id, a sysctl key a profile sets
/// or a directive; anything else is an error naming it and, when one is
/// close, the subject meant.
pub fn subject(host: &Host, subject: &str) -> crate::Result<String> {
    if let Ok(kind) = subject.parse::<ProfileKind>() {
        return Ok(profile(host, kind));
    }
    if let Ok(id) = subject.parse::<LintId>() {
        return Ok(lint(host, id));
    }
    if let Some(text) = sysctl(host, subject) {
        return Ok(text);
    }
    match subject.parse::<Directive>() {
        Ok(d) => Ok(directive(host, d)),
        Err(_) => {
            let known = subjects();
            Err(crate::Error::UnknownSubject {
                subject: subject.to_owned(),
                hint: crate::suggest::hint(
                    subject.strip_suffix('=').unwrap_or(subject),
                    known.iter().map(String::as_str),
                ),
            })
        }
    }
}
