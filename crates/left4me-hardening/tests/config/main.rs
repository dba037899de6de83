//! The host configuration: the documented example loads, and a config
//! changes exactly the lines it names.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
#[path = "../support/snapshots.rs"]
mod snapshots;

use std::path::Path;

use dropin::diff::{Delta, LineTag, UnifiedDiff};
use dropin::{Directive, Effective, Instance, RenderOptions};
use left4me_hardening::{Host, ProfileKind, config};

/// The example, relative to the package (the directory tests run in), so
/// that the header naming it is the same on every machine.
const EXAMPLE: &str = "../../examples/host-config.toml";

fn text(host: &Host, kind: ProfileKind, instance: Option<&str>) -> String {
    let i = instance.map(|i| Instance::new(i).unwrap());
    host.generate(kind, i.as_ref(), RenderOptions::default())
        .unwrap()
        .text
}

/// `text` without its header line naming the host configuration.
fn without_config_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("# Host config: "))
        .collect();
    lines.join("\n") + "\n"
}

fn effective(text: &str) -> Effective {
    let mut e = Effective::new("left4me-server@1.service");
    e.read("t", text.as_bytes());
    e.finish();
    e
}

/// The lines removed and added from `old` to `new`.
fn changed_lines(old: &str, new: &str) -> (Vec<String>, Vec<String>) {
    let d = UnifiedDiff::new("old", old, "new", new);
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for h in &d.hunks {
        for (tag, line) in &h.lines {
            match tag {
                LineTag::Delete => removed.push(line.clone()),
                LineTag::Insert => added.push(line.clone()),
                LineTag::Context => {}
            }
        }
    }
    (removed, added)
}

#[test]
fn the_example_loads_and_is_snapshotted() {
    let host = config::load(Path::new(EXAMPLE)).unwrap();
    assert_eq!(host.layout.state_dir.as_str(), "/srv/left4me");
    let config_waivers: Vec<_> = host
        .waivers
        .iter()
        .filter(|w| w.origin == "host config")
        .collect();
    assert_eq!(config_waivers.len(), 1);
    snapshot!("server-host-config", text(&host, ProfileKind::Server, None));
    snapshot!("web-host-config", text(&host, ProfileKind::Web, None));
    // The trace names the layer.
    let trace = left4me_hardening::explain::profile(&host, ProfileKind::Server);
    assert!(
        trace.contains("host config\n  remove   ProtectClock=true\n"),
        "{trace}"
    );
}

#[test]
fn a_bind_and_a_removal_change_exactly_those_lines() {
    let config = r#"
[[server.add]]
directive = "BindReadOnlyPaths"
value = "/var/cache/left4me"
reason = "overlay symlinks point into the cache"

[[server.remove]]
directive = "ProtectClock"
reason = "the host's chrony runs in this unit"
"#;
    let host = config::parse("h.toml", config).unwrap().apply().unwrap();
    let standard = Host::standard().unwrap();
    let standard_line = format!("# {}", config::ConfigId::header_of(None));
    let config_line = format!("# {}", config::ConfigId::of("h.toml", config).header());
    for instance in [None, Some("1")] {
        let old = text(&standard, ProfileKind::Server, instance);
        let new = text(&host, ProfileKind::Server, instance);
        let (removed, added) = changed_lines(&old, &new);
        assert_eq!(
            removed,
            [
                &standard_line,
                "# Test 7: no clock changes",
                "ProtectClock=true"
            ]
        );
        assert_eq!(
            added,
            [
                &config_line,
                "# host config: overlay symlinks point into the cache",
                "BindReadOnlyPaths=/var/cache/left4me",
                "# ProtectClock= removed by host config: the host's chrony runs in this unit",
            ]
        );
        let changes = effective(&old).changes(&effective(&new));
        let keys: Vec<Option<Directive>> = changes.iter().map(|c| c.directive).collect();
        assert_eq!(
            keys,
            [
                Some(Directive::BindReadOnlyPaths),
                Some(Directive::ProtectClock)
            ]
        );
        assert_eq!(
            changes[1].delta,
            Delta::Removed("yes".to_owned()),
            "{changes:?}"
        );
    }
    // The other profiles are untouched but for the header naming the config.
    for kind in [ProfileKind::Web, ProfileKind::Sysctl] {
        let (old, new) = (text(&standard, kind, None), text(&host, kind, None));
        assert_eq!(
            changed_lines(&old, &new),
            (vec![standard_line.clone()], vec![config_line.clone()])
        );
    }
}

#[test]
fn an_empty_config_is_the_standard_host() {
    let host = config::parse("empty.toml", "").unwrap().apply().unwrap();
    let standard = Host::standard().unwrap();
    for kind in ProfileKind::ALL {
        let (new, old) = (text(&host, *kind, None), text(&standard, *kind, None));
        assert_eq!(without_config_line(&new), without_config_line(&old));
        // The header names the file and the hash of its (empty) content.
        assert!(
            new.contains("\n# Host config: empty.toml (sha256 e3b0c44298fc1c14).\n"),
            "{new}"
        );
        assert!(
            old.contains("\n# Host config: none (the standard profiles).\n"),
            "{old}"
        );
    }
}

#[test]
fn errors_name_the_file_line_and_column() {
    let err = config::parse(
        "h.toml",
        "[layout]\nstate_dir = \"/srv\"\n\n[web]\nbogus = true\n",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "h.toml: line 5, column 1: unknown field `bogus`, expected one of `traits`, `add`, `remove`"
    );
    let err = config::load(Path::new("/nonexistent/harden.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("/nonexistent/harden.toml: cannot read it"),
        "{err}"
    );
}
