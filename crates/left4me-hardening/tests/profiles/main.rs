//! The proven profiles: exact effective settings against the test plan,
//! determinism, and named snapshots of everything a host or the reactor
//! receives.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dropin::parse::service_assignments;
use dropin::{Effective, Instance, RenderOptions, UnitFile};
use left4me_hardening::output::{self, Generated};
use left4me_hardening::{Host, ProfileKind};

/// Every snapshot lives in the top-level `snapshots/`, named, without the
/// module prefix.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../../snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!($name, $value));
    }};
}

fn host() -> Host {
    Host::standard().unwrap()
}

fn generate(kind: ProfileKind, instance: Option<&str>) -> Generated {
    let i = instance.map(|i| Instance::new(i).unwrap());
    host()
        .generate(kind, i.as_ref(), RenderOptions::default())
        .unwrap()
}

fn effective(name: &str, text: &str) -> Effective {
    let file = UnitFile::parse(name, text).unwrap();
    Effective::from_reads(&service_assignments(&file).unwrap())
}

/// Test 7's drop-in as the plan wrote it, with the two amendments of its
/// Results section applied, for one instance.
fn test7_amended(instance: &str) -> String {
    let plan = include_str!("../fixtures/test-plan/test-07-full.conf");
    assert!(plan.contains("\nSystemCallArchitectures=native\n"));
    plan.replace(
        "\nSystemCallArchitectures=native\n",
        "\nSystemCallArchitectures=native x86\n",
    )
    .replace("%i", instance)
        + "PrivatePIDs=true\n"
}

#[test]
fn server_instance_has_exactly_test7_with_amendments() {
    let ours = generate(ProfileKind::Server, Some("1"));
    let want = effective("test-07-full.conf", &test7_amended("1"));
    let got = effective("ours", &ours.text);
    assert_eq!(got.to_string(), want.to_string());
    assert_eq!(got, want);
    assert!(!ours.text.contains("MemoryDenyWriteExecute=true"));
    assert!(
        ours.text
            .contains("MemoryDenyWriteExecute= excluded by Test 6")
    );
}

#[test]
fn server_template_keeps_the_specifier() {
    let ours = generate(ProfileKind::Server, None);
    let plan = include_str!("../fixtures/test-plan/test-07-full.conf");
    let want = plan.replace(
        "\nSystemCallArchitectures=native\n",
        "\nSystemCallArchitectures=native x86\n",
    ) + "PrivatePIDs=true\n";
    assert_eq!(effective("ours", &ours.text), effective("plan", &want));
    assert!(
        ours.text
            .contains("BindPaths=/var/lib/left4me/runtime/%i\n")
    );
}

#[test]
fn web_is_exactly_test10() {
    let ours = generate(ProfileKind::Web, None);
    let plan = include_str!("../fixtures/test-plan/test-10-web.conf");
    assert_eq!(
        effective("ours", &ours.text),
        effective("test-10-web.conf", plan)
    );
}

#[test]
fn the_sysctl_file_is_test9() {
    let ours = generate(ProfileKind::Sysctl, None);
    assert_eq!(ours.path, "etc/sysctl.d/99-left4me-ptrace.conf");
    let settings: Vec<&str> = ours.text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(settings, ["kernel.yama.ptrace_scope=2"]);
}

#[test]
fn comments_can_be_left_out_without_changing_settings() {
    for kind in [ProfileKind::Server, ProfileKind::Web] {
        let with = generate(kind, Some("1").filter(|_| kind == ProfileKind::Server));
        let i = Instance::new("1").unwrap();
        let without = host()
            .generate(
                kind,
                Some(&i).filter(|_| kind == ProfileKind::Server),
                RenderOptions { comments: false },
            )
            .unwrap();
        assert!(
            without.text.lines().filter(|l| l.starts_with('#')).count() == 2,
            "{}",
            without.text
        );
        assert_eq!(effective("a", &with.text), effective("b", &without.text));
    }
}

#[test]
fn rendering_is_deterministic_and_clean() {
    for kind in ProfileKind::ALL {
        let a = generate(*kind, None);
        let b = generate(*kind, None);
        assert_eq!(a.text, b.text);
        assert!(a.text.ends_with('\n') && !a.text.ends_with("\n\n"));
        for line in a.text.lines() {
            assert_eq!(line, line.trim_end(), "trailing space in {line:?}");
        }
    }
}

#[test]
fn instance_files_share_the_template_file_name() {
    let t = generate(ProfileKind::Server, None);
    let one = generate(ProfileKind::Server, Some("1"));
    assert_eq!(
        t.path,
        "etc/systemd/system/left4me-server@.service.d/10-hardening.conf"
    );
    assert_eq!(
        one.path,
        "etc/systemd/system/left4me-server@1.service.d/10-hardening.conf"
    );
    assert_eq!(t.path.rsplit('/').next(), one.path.rsplit('/').next());
}

#[test]
fn bad_instances_are_refused_by_name() {
    let h = host();
    for bad in ["..", "a:b"] {
        let i = Instance::new(bad).unwrap();
        let err = h
            .generate(ProfileKind::Server, Some(&i), RenderOptions::default())
            .unwrap_err();
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
    }
    let i = Instance::new("1").unwrap();
    assert!(
        h.generate(ProfileKind::Web, Some(&i), RenderOptions::default())
            .is_err()
    );
}

#[test]
fn snapshot_server_template() {
    snapshot!("server-template", generate(ProfileKind::Server, None).text);
}

#[test]
fn snapshot_server_instances() {
    snapshot!("server@1", generate(ProfileKind::Server, Some("1")).text);
    snapshot!("server@2", generate(ProfileKind::Server, Some("2")).text);
}

#[test]
fn snapshot_web() {
    snapshot!("web", generate(ProfileKind::Web, None).text);
}

#[test]
fn snapshot_sysctl() {
    snapshot!("sysctl", generate(ProfileKind::Sysctl, None).text);
}

#[test]
fn snapshot_server_trace() {
    snapshot!(
        "server-trace",
        left4me_hardening::explain::profile(&host(), ProfileKind::Server)
    );
}

#[test]
fn snapshot_bundlewrap() {
    for (name, kind, instance) in [
        ("bundlewrap-server-template", ProfileKind::Server, None),
        ("bundlewrap-server@1", ProfileKind::Server, Some("1")),
        ("bundlewrap-server@2", ProfileKind::Server, Some("2")),
        ("bundlewrap-web", ProfileKind::Web, None),
        ("bundlewrap-sysctl", ProfileKind::Sysctl, None),
    ] {
        let g = generate(kind, instance);
        let json = serde_json::to_string_pretty(&output::bundlewrap(&g)).unwrap();
        snapshot!(name, json);
    }
}
