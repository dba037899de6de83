//! Explanations for operators and reviewers: a directive across the
//! profiles, or a profile's composition trace.

use std::fmt::Write as _;

use dropin::{Directive, Setting};

use crate::host::Host;
use crate::profiles::{Content, ProfileKind};

/// A directive: what it does, since when, its value and provenance in each
/// profile, and the notes where a profile left it out.
pub fn directive(host: &Host, directive: Directive) -> String {
    let spec = directive.spec();
    let mut out = String::new();
    let _ = writeln!(out, "{}= — {}", spec.name, spec.summary);
    let _ = writeln!(out, "  group:   {}", spec.group.heading());
    let _ = writeln!(out, "  takes:   {}", spec.kind.describe());
    let _ = writeln!(out, "  since:   systemd {}", spec.since);
    let _ = writeln!(out, "  docs:    {} {}", spec.page.name(), spec.doc_url());
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
            .filter(|t| t.directive == directive && t.action == "amend")
        {
            let _ = writeln!(out, "  amended in {}: {}", t.layer, t.detail);
        }
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
