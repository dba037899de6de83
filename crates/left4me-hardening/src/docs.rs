//! Generated documentation: `docs/directives.md`, from the directive
//! registry, the values' versions, the workload traits and the lint
//! registry, so that it cannot go stale (a test compares the committed
//! file with [`directives_markdown`]).

use std::fmt::Write as _;

use dropin::{Directive, Merge, REGISTRY, Value};

use crate::lint::LINTS;
use crate::traits::Trait;

/// How to regenerate the file, as the file and the stale-file test say it.
pub const REGENERATE: &str = "LEFT4ME_BLESS_DOCS=1 cargo test -p left4me-hardening --test docs";

/// Escapes text for a Markdown table cell: a `|` would end the cell, a
/// `*` start emphasis, a `<…>` read as an HTML tag.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('*', "\\*")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn merge(m: Merge) -> &'static str {
    match m {
        Merge::Single => "single",
        Merge::List => "list",
        Merge::Set => "set",
        Merge::Lines => "lines",
    }
}

/// Every value newer than its directive, as `(directive, value, since)`,
/// in registry order. The values are the samples each kind documents for
/// the conformance tests, which name every keyword.
pub fn newer_values() -> Vec<(Directive, String, u32)> {
    let mut out: Vec<(Directive, String, u32)> = Vec::new();
    for spec in REGISTRY {
        for sample in spec.kind.samples() {
            for text in std::iter::once(*sample).chain(sample.split_whitespace()) {
                let Ok(value) = Value::parse(spec.directive, text) else {
                    continue;
                };
                let Some(since) = value.since().filter(|&s| s > spec.since) else {
                    continue;
                };
                let text = value.to_string();
                if !out
                    .iter()
                    .any(|(d, t, _)| *d == spec.directive && *t == text)
                {
                    out.push((spec.directive, text, since));
                }
            }
        }
    }
    out
}

/// The text of `docs/directives.md`.
pub fn directives_markdown() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Directives, values, traits and lints");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Generated from the directive registry (`crates/dropin/src/directive.rs`), the value \
         types and the lint registry (`crates/left4me-hardening/src/lint/mod.rs`); do not edit. \
         Regenerate with `{REGENERATE}`."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "## Directives");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "The versions are those systemd's own documentation gives for each directive (checked \
         against the systemd 257 manual). `render` and `write` with `--systemd-version N` \
         (default 257) refuse a profile that uses any directive or value newer than N, naming \
         each. Merge rules: *single* — the last assignment wins; *list* — assignments \
         accumulate in order; *set* — they accumulate, order and repetition do not matter; \
         *lines* — they accumulate line by line, each keeping its own `~`. For list, set and \
         lines an empty assignment discards everything before it."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| directive | group | takes | merge | since |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for spec in REGISTRY {
        let _ = writeln!(
            out,
            "| [`{}=`]({}) | {} | {} | {} | {} |",
            spec.name,
            spec.doc_url(),
            cell(spec.group.heading()),
            cell(spec.kind.describe()),
            merge(spec.merge()),
            spec.since
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "## Values newer than their directive");
    let _ = writeln!(out);
    let _ = writeln!(out, "| value | since |");
    let _ = writeln!(out, "|---|---|");
    for (d, value, since) in newer_values() {
        let _ = writeln!(out, "| `{}={}` | {since} |", d.name(), cell(&value));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "## Workload traits");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "What a profile's service is, as data; the lints check compositions against them. A \
         host configuration can add traits to a profile."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| trait | meaning |");
    let _ = writeln!(out, "|---|---|");
    for t in Trait::ALL {
        let _ = writeln!(out, "| `{}` | {} |", t.name(), cell(t.describe()));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "## Lints");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Each finding of the hardening test plan, checked on every composed profile (`render`, \
         `write`) and on drop-in files (`left4me-harden lint FILE... [--unit BASE]`). `render` \
         and `write` refuse a profile with an error-level finding unless a `[[waivers]]` entry \
         of the host configuration names the lint id with a written reason; the waiver is then \
         rendered as a comment in the file. Warnings and notes are printed. \
         `left4me-harden explain ID` shows one lint."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| id | severity | test | checks | the plan found |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for l in LINTS {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            l.id(),
            l.severity(),
            l.test(),
            cell(l.summary()),
            cell(l.finding())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropin::{
        KeyringMode, PrivateUsers, ProcSubset, ProtectControlGroups, ProtectHome, ProtectProc,
        ProtectSystem,
    };

    #[test]
    fn every_newer_keyword_is_listed() {
        let listed = newer_values();
        let has = |d: Directive, v: &str, since: u32| {
            listed
                .iter()
                .any(|(ld, lv, ls)| *ld == d && lv == v && *ls == since)
        };
        let mut expected: Vec<(Directive, &str, Option<u32>)> = Vec::new();
        expected.extend(
            ProtectSystem::ALL
                .iter()
                .map(|k| (Directive::ProtectSystem, k.as_str(), k.since())),
        );
        expected.extend(
            ProtectHome::ALL
                .iter()
                .map(|k| (Directive::ProtectHome, k.as_str(), k.since())),
        );
        expected.extend(
            PrivateUsers::ALL
                .iter()
                .map(|k| (Directive::PrivateUsers, k.as_str(), k.since())),
        );
        expected.extend(
            ProtectControlGroups::ALL
                .iter()
                .map(|k| (Directive::ProtectControlGroups, k.as_str(), k.since())),
        );
        expected.extend(
            ProtectProc::ALL
                .iter()
                .map(|k| (Directive::ProtectProc, k.as_str(), k.since())),
        );
        expected.extend(
            ProcSubset::ALL
                .iter()
                .map(|k| (Directive::ProcSubset, k.as_str(), k.since())),
        );
        expected.extend(
            KeyringMode::ALL
                .iter()
                .map(|k| (Directive::KeyringMode, k.as_str(), k.since())),
        );
        for (d, v, since) in expected {
            if let Some(since) = since {
                assert!(
                    has(d, v, since),
                    "{d}={v} ({since}) missing from {listed:?}"
                );
            }
        }
        assert!(has(Directive::SystemCallErrorNumber, "kill", 247));
        assert!(has(Directive::RestrictAddressFamilies, "none", 249));
        assert!(has(Directive::PrivateUsers, "identity", 257));
    }

    #[test]
    fn pipes_are_escaped_in_cells() {
        let md = directives_markdown();
        assert!(md.contains("[ipv4\\|ipv6:]"), "{md}");
        assert!(md.contains("ExecStart\\*="), "{md}");
        assert!(md.contains("/proc/&lt;pid&gt;/environ"), "{md}");
        for line in md.lines().filter(|l| l.starts_with("| [`")) {
            assert_eq!(line.matches(" | ").count(), 4, "{line}");
        }
    }
}
