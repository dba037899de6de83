//! Conformance: every generated file, layered on the reference base units,
//! checked by real systemd 257 (Debian 13) through the `systemd-oracle`
//! crate.
//!
//! Nothing here is skipped: if the oracle cannot be built the tests fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
#[path = "../support/snapshots.rs"]
mod snapshots;

use std::cell::RefCell;
use std::path::Path;

use dropin::{Composed, Directive, Instance, Layer, Provenance, RenderOptions};
use left4me_hardening::output::Generated;
use left4me_hardening::{Content, Host, ProfileKind};
use systemd_oracle::{Oracle, Tree};

const UNITS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/units");

/// Builds the oracle once (or finds it cached) and returns it.
fn oracle() -> &'static Oracle {
    Oracle::get().expect("the systemd 257 oracle could not be built")
}

/// A fake root: the reference base units plus what a test puts there,
/// staged for systemd-analyze's --root.
struct FakeRoot(RefCell<Tree>);

impl FakeRoot {
    fn new(_tag: &str) -> FakeRoot {
        let mut tree = Tree::new();
        for unit in ["left4me-server@.service", "left4me-web.service"] {
            let text = std::fs::read(Path::new(UNITS).join(unit)).unwrap();
            tree.file(&format!("/etc/systemd/system/{unit}"), text);
        }
        FakeRoot(RefCell::new(tree))
    }

    fn put(&self, relative: &str, text: &str) {
        self.0.borrow_mut().file(&format!("/{relative}"), text);
    }

    fn put_all(&self, files: &[Generated]) {
        for f in files {
            self.put(&f.path, &f.text);
        }
    }

    /// `systemd-analyze verify` output (stdout and stderr), one line each.
    fn verify(&self, units: &[&str]) -> Vec<String> {
        let out = oracle().verify(&self.0.borrow(), units).unwrap();
        let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    }

    /// Lines of `verify` that name a drop-in (anything under a `.d/`).
    fn dropin_complaints(&self, units: &[&str]) -> Vec<String> {
        self.verify(units)
            .into_iter()
            .filter(|l| l.contains(".service.d/"))
            .collect()
    }

    fn security(&self, unit: &str, args: &[&str]) -> systemd_oracle::Analysis {
        let out = oracle().security(&self.0.borrow(), unit, args).unwrap();
        assert_eq!(out.status, Some(0), "security {unit}: {}", out.stderr);
        out
    }

    /// The overall exposure systemd gives `unit`.
    fn exposure(&self, unit: &str) -> f64 {
        let out = self.security(unit, &[]);
        out.overall_exposure()
            .unwrap_or_else(|| panic!("no overall exposure in:\n{}", out.stdout))
    }

    /// The per-check result of `security --json=short`, one line per check,
    /// sorted, for a snapshot a reviewer can read.
    fn checks(&self, unit: &str) -> String {
        let checks = self
            .security(unit, &["--json=short"])
            .security_checks()
            .unwrap();
        let mut lines: Vec<String> = checks
            .iter()
            .map(|c| {
                let exposure = c.exposure.as_deref().unwrap_or("-");
                let mark = if c.set == Some(true) { "✓" } else { "✗" };
                format!("{mark} {:<45} {exposure}", c.name)
            })
            .collect();
        lines.sort();
        lines.join("\n") + "\n"
    }
}

fn instances(names: &[&str]) -> Vec<Instance> {
    names.iter().map(|n| Instance::new(n).unwrap()).collect()
}

fn standard_files() -> Vec<Generated> {
    Host::standard()
        .unwrap()
        .files(&instances(&["1", "2"]), RenderOptions::default())
        .unwrap()
}

const ALL_UNITS: &[&str] = &[
    "left4me-server@.service",
    "left4me-server@1.service",
    "left4me-server@2.service",
    "left4me-server@3.service",
    "left4me-web.service",
];

#[test]
fn the_oracle_is_systemd_257() {
    let version = oracle().version();
    println!("oracle: {version}");
    assert!(version.starts_with("systemd 257 "), "{version}");
}

#[test]
fn generated_files_add_no_verify_line() {
    let base = FakeRoot::new("base");
    let baseline = base.verify(ALL_UNITS);
    let root = FakeRoot::new("standard");
    root.put_all(&standard_files());
    let lines = root.verify(ALL_UNITS);
    // Only the base units' own noise (no sysinit.target, executables
    // missing in a bare root) remains, exactly as without drop-ins.
    assert_eq!(lines, baseline);
    assert!(root.dropin_complaints(ALL_UNITS).is_empty());
}

#[test]
fn comments_off_files_add_no_verify_line_either() {
    let root = FakeRoot::new("nocomments");
    let files = Host::standard()
        .unwrap()
        .files(&instances(&["1"]), RenderOptions { comments: false })
        .unwrap();
    root.put_all(&files);
    assert_eq!(root.dropin_complaints(ALL_UNITS), Vec::<String>::new());
}

#[test]
fn server_scores_at_most_1_3_and_web_at_most_4_3() {
    let root = FakeRoot::new("scores");
    root.put_all(&standard_files());
    let server1 = root.exposure("left4me-server@1.service");
    let server2 = root.exposure("left4me-server@2.service");
    let web = root.exposure("left4me-web.service");
    println!("exposure: server@1 {server1}, server@2 {server2}, web {web}");
    assert!(server1 <= 1.3, "server@1 scored {server1}");
    assert!(server2 <= 1.3, "server@2 scored {server2}");
    assert!(web <= 4.3, "web scored {web}");
    snapshot!(
        "security-server@1",
        format!(
            "overall exposure: {server1}\n{}",
            root.checks("left4me-server@1.service")
        )
    );
    snapshot!(
        "security-web",
        format!(
            "overall exposure: {web}\n{}",
            root.checks("left4me-web.service")
        )
    );
}

#[test]
fn the_template_alone_scores_the_same_for_any_instance() {
    let root = FakeRoot::new("template");
    let host = Host::standard().unwrap();
    root.put_all(&host.files(&[], RenderOptions::default()).unwrap());
    assert!(root.exposure("left4me-server@7.service") <= 1.3);
}

#[test]
fn negative_control_bad_dropin_is_caught() {
    let root = FakeRoot::new("bad");
    root.put_all(&standard_files());
    // Forced by hand, past the model that would refuse it.
    root.put(
        "etc/systemd/system/left4me-server@.service.d/20-bad.conf",
        "[Service]\nBogus=1\nBindPaths=relative/path\n",
    );
    let complaints = root.dropin_complaints(&["left4me-server@1.service"]);
    assert_eq!(complaints.len(), 2, "{complaints:#?}");
    assert!(
        complaints.iter().any(|l| l.contains("Unknown key 'Bogus'")),
        "{complaints:#?}"
    );
    assert!(
        complaints.iter().any(|l| l.contains("relative/path")),
        "{complaints:#?}"
    );
}

#[test]
fn negative_control_broken_rendered_value_is_caught() {
    let root = FakeRoot::new("broken");
    let mut files = standard_files();
    let server1 = files
        .iter_mut()
        .find(|f| f.path.contains("left4me-server@1.service.d"))
        .unwrap();
    server1.text = server1.text.replace(
        "BindPaths=/var/lib/left4me/runtime/1",
        "BindPaths=var/lib/left4me/runtime/1",
    );
    root.put_all(&files);
    let complaints = root.dropin_complaints(&["left4me-server@1.service"]);
    assert!(
        complaints
            .iter()
            .any(|l| l.contains("10-hardening.conf") && l.contains("not absolute")),
        "{complaints:#?}"
    );
}

/// The server profile with some of the test plan's defences taken out.
fn weakened_server(host: &mut Host) {
    let Content::DropIn {
        layers, composed, ..
    } = &mut host.server.content
    else {
        panic!("server is a drop-in profile");
    };
    let mut weaken = Layer::new("weakened");
    for d in [
        Directive::PrivateUsers,
        Directive::PrivatePids,
        Directive::SystemCallFilter,
        Directive::ProtectSystem,
    ] {
        weaken.remove(d, Provenance::new("conformance test", "negative control"));
    }
    layers.push(weaken);
    *composed = Composed::compose(layers);
}

#[test]
fn negative_control_weakened_profile_scores_worse() {
    let mut host = Host::standard().unwrap();
    weakened_server(&mut host);
    let root = FakeRoot::new("weak");
    root.put_all(
        &host
            .files(&instances(&["1"]), RenderOptions::default())
            .unwrap(),
    );
    let weak = root.exposure("left4me-server@1.service");
    assert!(weak > 1.3, "a weakened profile scored {weak}");
    assert!(
        root.dropin_complaints(&["left4me-server@1.service"])
            .is_empty()
    );
}

#[test]
fn host_config_with_extra_bind_and_removed_directive() {
    let mut host = Host::standard().unwrap();
    let Content::DropIn {
        layers, composed, ..
    } = &mut host.server.content
    else {
        panic!("server is a drop-in profile");
    };
    let why = Provenance::new("host config", "overlay symlinks point into the cache");
    let mut layer = Layer::new("host config")
        .set(Directive::BindReadOnlyPaths, "/var/cache/left4me", &why)
        .unwrap()
        .set(Directive::SocketBindAllow, "udp:27000-27999", &why)
        .unwrap()
        .set(Directive::SocketBindDeny, "any", &why)
        .unwrap();
    layer.remove(
        Directive::ProtectClock,
        Provenance::new("host config", "chrony runs in this unit"),
    );
    layers.push(layer);
    *composed = Composed::compose(layers);
    let root = FakeRoot::new("hostcfg");
    let files = host
        .files(&instances(&["1", "2"]), RenderOptions::default())
        .unwrap();
    assert!(
        files[0]
            .text
            .contains("# ProtectClock= removed by host config: chrony runs in this unit\n")
    );
    root.put_all(&files);
    assert_eq!(root.dropin_complaints(ALL_UNITS), Vec::<String>::new());
}

/// Every value the model can produce, per the registry: each directive
/// with each sample of its kind, in a drop-in of its own probe unit, all
/// checked in one `verify` run. A directive added to the registry is
/// covered automatically.
#[test]
fn every_directive_value_is_accepted_silently() {
    let root = FakeRoot::new("registry");
    let mut units = Vec::new();
    let why = Provenance::new("conformance", "registry coverage");
    for (n, spec) in dropin::REGISTRY.iter().enumerate() {
        let samples = spec.kind.samples();
        assert!(!samples.is_empty(), "{} has no samples", spec.name);
        // The reset too, wherever the model lets one be built.
        let reset: &[&str] = if spec.kind.accepts_empty() {
            &[""]
        } else {
            &[]
        };
        for (m, sample) in samples.iter().chain(reset).enumerate() {
            let unit = format!("probe-{n}-{m}@.service");
            root.put(
                &format!("etc/systemd/system/{unit}"),
                "[Unit]\nDescription=probe\n\n[Service]\nExecStart=/bin/true\n",
            );
            let layer = Layer::new("probe")
                .set(spec.directive, sample, &why)
                .unwrap();
            let text =
                dropin::render::dropin(&[], &Composed::compose(&[layer]), RenderOptions::default());
            root.put(
                &format!("etc/systemd/system/probe-{n}-{m}@.service.d/10-probe.conf"),
                &text,
            );
            units.push(format!("probe-{n}-{m}@x.service"));
        }
    }
    let names: Vec<&str> = units.iter().map(String::as_str).collect();
    let complaints = root.dropin_complaints(&names);
    assert_eq!(complaints, Vec::<String>::new());
    assert!(units.len() > 2 * dropin::REGISTRY.len());
}

/// The model refuses the empty assignment exactly where systemd does.
#[test]
fn resets_are_refused_exactly_where_systemd_refuses_them() {
    let root = FakeRoot::new("resets");
    let mut units = Vec::new();
    for (n, spec) in dropin::REGISTRY.iter().enumerate() {
        let unit = format!("reset-{n}.service");
        root.put(
            &format!("etc/systemd/system/{unit}"),
            "[Unit]\nDescription=probe\n\n[Service]\nExecStart=/bin/true\n",
        );
        // Written by hand: the model would refuse half of these.
        root.put(
            &format!("etc/systemd/system/{unit}.d/10-reset.conf"),
            &format!("[Service]\n{}=\n", spec.name),
        );
        units.push(unit);
    }
    let names: Vec<&str> = units.iter().map(String::as_str).collect();
    let complaints = root.dropin_complaints(&names);
    for (n, spec) in dropin::REGISTRY.iter().enumerate() {
        let refused = complaints
            .iter()
            .any(|l| l.contains(&format!("/reset-{n}.service.d/")));
        assert_eq!(
            refused,
            !spec.kind.accepts_empty(),
            "{}= : systemd {} the empty assignment",
            spec.name,
            if refused { "refuses" } else { "accepts" }
        );
        assert_eq!(
            dropin::Assignment::parse(spec.directive, "").is_ok(),
            !refused,
            "{}",
            spec.name
        );
    }
}

#[test]
fn every_profile_value_is_in_the_sample_set_or_profiles() {
    // The profiles' own values are verified above by rendering them; this
    // checks the registry samples really exercise every keyword.
    for d in Directive::ALL {
        let kind = d.spec().kind;
        let samples = kind.samples();
        let rendered: Vec<String> = samples
            .iter()
            .map(|s| dropin::Value::parse(*d, s).unwrap().to_string())
            .collect();
        assert_eq!(&rendered, samples, "{d}: samples must render as written");
    }
    let _ = ProfileKind::ALL;
}
