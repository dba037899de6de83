//! The safety rails on whole profiles and files: the lint gate of
//! `Host::generate` with and without waivers, the systemd version gate,
//! and the test plan's own drop-ins against the real base units.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dropin::{Composed, Directive, Instance, Layer, Provenance, RenderOptions};
use left4me_hardening::inspect;
use left4me_hardening::lint::{self, LintId, Severity};
use left4me_hardening::{Content, Error, Host, ProfileKind, Waiver};

const SERVER_UNIT: &str = include_str!("../fixtures/units/left4me-server@.service");
const WEB_UNIT: &str = include_str!("../fixtures/units/left4me-web.service");
const TEST7: &str = include_str!("../fixtures/test-plan/test-07-full.conf");
const TEST10: &str = include_str!("../fixtures/test-plan/test-10-web.conf");

/// Appends a layer to a profile, as a host configuration does, and
/// recomposes it.
fn add_layer(host: &mut Host, kind: ProfileKind, layer: Layer) {
    let profile = match kind {
        ProfileKind::Server => &mut host.server,
        ProfileKind::Web => &mut host.web,
        ProfileKind::Sysctl => panic!("no drop-in"),
    };
    let Content::DropIn {
        layers, composed, ..
    } = &mut profile.content
    else {
        panic!("no drop-in");
    };
    layers.push(layer);
    *composed = Composed::compose(layers);
}

fn with_mdwx() -> Host {
    let mut host = Host::standard().unwrap();
    let why = Provenance::new("host config", "try W^X on the game servers");
    let layer = Layer::new("host config")
        .set(Directive::MemoryDenyWriteExecute, "true", &why)
        .unwrap();
    add_layer(&mut host, ProfileKind::Server, layer);
    host
}

#[test]
fn mdwx_on_the_server_is_refused_naming_the_lint_and_test6() {
    let host = with_mdwx();
    let one = Instance::new("1").unwrap();
    for instance in [None, Some(&one)] {
        let err = host
            .generate(ProfileKind::Server, instance, RenderOptions::default())
            .unwrap_err();
        assert!(matches!(err, Error::Lints { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("refusing to emit profile server: error[mdwx-text-relocations] (Test 6): MemoryDenyWriteExecute=true"),
            "{text}"
        );
        assert!(text.contains("[[waivers]]"), "{text}");
    }
    // `write` refuses before producing any file.
    assert!(host.files(&[one], RenderOptions::default()).is_err());
}

#[test]
fn a_written_waiver_lets_it_through_as_a_comment() {
    let mut host = with_mdwx();
    host.waivers.push(Waiver {
        lint: LintId::MdwxTextRelocations,
        profile: Some(ProfileKind::Web),
        reason: "wrong profile".to_owned(),
        origin: "host config".to_owned(),
    });
    assert!(
        host.generate(ProfileKind::Server, None, RenderOptions::default())
            .is_err()
    );
    host.waivers.push(Waiver {
        lint: LintId::MdwxTextRelocations,
        profile: Some(ProfileKind::Server),
        reason: "srcds rebuilt without text relocations\nBogus=1".to_owned(),
        origin: "host config".to_owned(),
    });
    for options in [RenderOptions::default(), RenderOptions { comments: false }] {
        let file = host.generate(ProfileKind::Server, None, options).unwrap();
        assert!(
            file.text.contains(
                "\n# Lint mdwx-text-relocations (Test 6) waived by host config: srcds rebuilt without text relocations\\nBogus=1\n"
            ),
            "{}",
            file.text
        );
        assert!(file.text.contains("\nMemoryDenyWriteExecute=true\n"));
        assert!(!file.text.contains("\nBogus=1"));
    }
    // A waiver for every profile works too.
    let mut host = with_mdwx();
    host.waivers.push(Waiver {
        lint: LintId::MdwxTextRelocations,
        profile: None,
        reason: "everywhere".to_owned(),
        origin: "host config".to_owned(),
    });
    assert!(
        host.generate(ProfileKind::Server, None, RenderOptions::default())
            .is_ok()
    );
}

#[test]
fn the_standard_profiles_pass_their_own_lints() {
    let host = Host::standard().unwrap();
    let one = Instance::new("1").unwrap();
    assert_eq!(host.lint(ProfileKind::Server, None).unwrap(), []);
    assert_eq!(host.lint(ProfileKind::Server, Some(&one)).unwrap(), []);
    assert_eq!(host.lint(ProfileKind::Sysctl, None).unwrap(), []);
    // The web app shares uid 980 with srcds and has no private PID
    // namespace: its ProtectProc= does not hide srcds (Test 5's finding).
    // The web profile waives it, with the reason, as data.
    let web = host.lint(ProfileKind::Web, None).unwrap();
    let ids: Vec<(LintId, Severity)> = web.iter().map(|f| (f.lint, f.severity)).collect();
    assert_eq!(ids, [(LintId::HidepidSameUid, Severity::Warning)]);
    assert_eq!(host.warnings(ProfileKind::Web, None).unwrap(), []);
    let waiver = host
        .waiver(Some(ProfileKind::Web), LintId::HidepidSameUid)
        .unwrap();
    assert_eq!(waiver.origin, "profile web");
}

#[test]
fn a_waived_warning_is_no_longer_printed_but_rendered() {
    let mut host = Host::standard().unwrap();
    host.waivers.clear();
    assert_eq!(host.warnings(ProfileKind::Web, None).unwrap().len(), 1);
    host.waivers.push(Waiver {
        lint: LintId::HidepidSameUid,
        profile: Some(ProfileKind::Web),
        reason: "gunicorn is the trusted side".to_owned(),
        origin: "host config".to_owned(),
    });
    assert_eq!(host.warnings(ProfileKind::Web, None).unwrap(), []);
    let file = host
        .generate(ProfileKind::Web, None, RenderOptions::default())
        .unwrap();
    assert!(file.text.contains(
        "# Lint hidepid-same-uid (Test 5) waived by host config: gunicorn is the trusted side\n"
    ));
}

/// `Name= (systemd N)` for every directive and value of a composition
/// newer than `target`, from the registry.
fn expected_too_new(composed: &Composed, target: u32) -> Vec<String> {
    let mut out = Vec::new();
    for (d, setting) in composed.settings() {
        let since = d.spec().since;
        if since > target {
            out.push(format!("{}= (systemd {since})", d.name()));
            continue;
        }
        for (a, _) in setting.assignments() {
            if let Some(v) = a.value
                && let Some(s) = v.since().filter(|&s| s > target)
            {
                out.push(format!("{}={v} (systemd {s})", d.name()));
            }
        }
    }
    out
}

#[test]
fn older_systemd_is_refused_naming_every_newer_directive() {
    for target in [200, 231, 246, 248, 252, 256] {
        let mut host = Host::standard().unwrap();
        host.systemd_version = target;
        for kind in [ProfileKind::Server, ProfileKind::Web] {
            let want = expected_too_new(host.profile(kind).composed().unwrap(), target);
            match host.generate(kind, None, RenderOptions::default()) {
                Err(Error::TooNew {
                    target: t,
                    directives,
                }) => {
                    assert_eq!(t, target);
                    assert_eq!(directives, want, "{kind} on {target}");
                }
                Ok(_) => assert!(want.is_empty(), "{kind} on {target}: {want:?}"),
                Err(other) => panic!("{other}"),
            }
        }
    }
    let mut host = Host::standard().unwrap();
    host.systemd_version = 252;
    let err = host
        .generate(ProfileKind::Server, None, RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "systemd 252 does not know: PrivatePIDs= (systemd 257)");
    host.systemd_version = 257;
    assert!(
        host.generate(ProfileKind::Server, None, RenderOptions::default())
            .is_ok()
    );
}

#[test]
fn a_newer_value_is_named_with_its_value() {
    let mut host = Host::standard().unwrap();
    let why = Provenance::new("host config", "identity map");
    let layer = Layer::new("host config")
        .set(Directive::PrivateUsers, "identity", &why)
        .unwrap();
    add_layer(&mut host, ProfileKind::Server, layer);
    host.systemd_version = 256;
    let err = host
        .generate(ProfileKind::Server, None, RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "systemd 256 does not know: PrivateUsers=identity (systemd 257), PrivatePIDs= (systemd 257)"
    );
    let too_new: Vec<String> = host
        .profile(ProfileKind::Server)
        .composed()
        .unwrap()
        .too_new(256)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        too_new,
        [
            "PrivateUsers=identity (systemd 257)",
            "PrivatePIDs= (systemd 257)"
        ]
    );
}

fn source(path: &str, text: &str) -> (String, Vec<u8>) {
    (path.to_owned(), text.as_bytes().to_vec())
}

fn lint_files(sources: &[(String, Vec<u8>)], base: Option<(&str, &str)>) -> Vec<lint::Finding> {
    let host = Host::standard().unwrap();
    let bases: Vec<(String, Vec<u8>)> = base.iter().map(|(n, t)| source(n, t)).collect();
    inspect::lint_files(&host, sources, &bases, &[])
        .unwrap()
        .into_iter()
        .flat_map(|u| u.findings.into_iter().map(|f| f.finding))
        .collect()
}

#[test]
fn the_plans_original_test7_trips_the_i386_lint() {
    let f = lint_files(
        &[source(
            "left4me-server@1.service.d/test-07-full.conf",
            TEST7,
        )],
        Some(("left4me-server@.service", SERVER_UNIT)),
    );
    let ids: Vec<LintId> = f.iter().map(|f| f.lint).collect();
    // Before the Results' amendments: native alone, no PrivatePIDs=; and
    // Test 5's ProcSubset=pid, which production removed.
    assert_eq!(
        ids,
        [
            LintId::I386NativeOnly,
            LintId::HidepidSameUid,
            LintId::ProcSubsetHidesSystem
        ]
    );
}

#[test]
fn the_plans_test10_passes_the_web_lints_but_the_hidepid_warning() {
    let f = lint_files(
        &[source("left4me-web.service.d/test-10-web.conf", TEST10)],
        Some(("left4me-web.service", WEB_UNIT)),
    );
    let ids: Vec<LintId> = f.iter().map(|f| f.lint).collect();
    assert_eq!(ids, [LintId::HidepidSameUid, LintId::ProcSubsetHidesSystem]);
}

#[test]
fn our_rendered_files_on_the_real_base_units_are_clean() {
    let host = Host::standard().unwrap();
    let one = Instance::new("1").unwrap();
    let template = host
        .generate(ProfileKind::Server, None, RenderOptions::default())
        .unwrap();
    let instance = host
        .generate(ProfileKind::Server, Some(&one), RenderOptions::default())
        .unwrap();
    // On the real base unit (KillSignal=SIGINT) one warning remains, the
    // runtime finding about stopping under PrivatePIDs=; the fix it names,
    // in the operator's own drop-in, silences it.
    let fix = source(
        "left4me-server@.service.d/20-stop.conf",
        "[Service]\nSuccessExitStatus=130\n",
    );
    for sources in [
        vec![source(&template.path, &template.text)],
        vec![source(&instance.path, &instance.text)],
    ] {
        let f = lint_files(&sources, Some(("left4me-server@.service", SERVER_UNIT)));
        let ids: Vec<LintId> = f.iter().map(|f| f.lint).collect();
        assert_eq!(ids, [LintId::Pid1SigintExit], "{}", sources[0].0);
        let mut fixed = sources.clone();
        fixed.push(fix.clone());
        let f = lint_files(&fixed, Some(("left4me-server@.service", SERVER_UNIT)));
        assert_eq!(f, [], "{}", sources[0].0);
    }
    // Both as written: the instance file replaces the template's, by design.
    let f = lint_files(
        &[
            source(&template.path, &template.text),
            source(&instance.path, &instance.text),
        ],
        Some(("left4me-server@.service", SERVER_UNIT)),
    );
    let ids: Vec<(LintId, Severity)> = f.iter().map(|f| (f.lint, f.severity)).collect();
    assert_eq!(
        ids,
        [
            (LintId::InstanceReplacesTemplate, Severity::Note),
            (LintId::Pid1SigintExit, Severity::Warning)
        ]
    );
    let web = host
        .generate(ProfileKind::Web, None, RenderOptions::default())
        .unwrap();
    let f = lint_files(
        &[source(&web.path, &web.text)],
        Some(("left4me-web.service", WEB_UNIT)),
    );
    let ids: Vec<LintId> = f.iter().map(|f| f.lint).collect();
    assert_eq!(ids, [LintId::HidepidSameUid]);
}

#[test]
fn hiding_the_game_from_the_base_unit_is_an_error() {
    // Without the runtime bind, ExecStart= and WorkingDirectory= of the
    // real base unit vanish under TemporaryFileSystem=/var/lib.
    let host = Host::standard().unwrap();
    let text = host
        .generate(
            ProfileKind::Server,
            Some(&Instance::new("1").unwrap()),
            RenderOptions::default(),
        )
        .unwrap()
        .text
        .replace("BindPaths=/var/lib/left4me/runtime/1\n", "");
    let f = lint_files(
        &[source(
            "left4me-server@1.service.d/10-hardening.conf",
            &text,
        )],
        Some(("left4me-server@.service", SERVER_UNIT)),
    );
    let shown: Vec<String> = f.iter().map(ToString::to_string).collect();
    // Besides the stop finding every server instance has on this base unit.
    assert_eq!(f.len(), 3, "{shown:#?}");
    assert_eq!(f[2].lint, LintId::Pid1SigintExit);
    assert_eq!(
        (f[0].lint, f[0].severity),
        (LintId::PathHidden, Severity::Error)
    );
    assert!(
        shown[0].contains("ExecStart=/var/lib/left4me/runtime/%i/merged/srcds_run"),
        "{}",
        shown[0]
    );
    assert!(
        shown[0].contains("runs /var/lib/left4me/runtime/1/merged/srcds_run"),
        "{}",
        shown[0]
    );
    // WorkingDirectory=- is optional: a warning.
    assert_eq!(
        (f[1].lint, f[1].severity),
        (LintId::PathHidden, Severity::Warning)
    );
}

/// The ids `lint_files` finds for the web app with `dropin` laid over
/// its real base unit.
fn web_lints(dropin: &str) -> Vec<LintId> {
    lint_files(
        &[source("left4me-web.service.d/30-bind.conf", dropin)],
        Some(("left4me-web.service", WEB_UNIT)),
    )
    .iter()
    .map(|f| f.lint)
    .collect()
}

#[test]
fn socket_bind_allow_without_deny_is_named_and_with_deny_any_is_not() {
    // Allow rules alone: a bind no rule matches is allowed, nothing is
    // restricted.
    let alone = lint_files(
        &[source(
            "left4me-web.service.d/30-bind.conf",
            "[Service]\nSocketBindAllow=tcp:8080\n",
        )],
        Some(("left4me-web.service", WEB_UNIT)),
    );
    let hit: Vec<&lint::Finding> = alone
        .iter()
        .filter(|f| f.lint == LintId::SocketBindAllowOnly)
        .collect();
    assert_eq!(hit.len(), 1, "{alone:#?}");
    assert!(
        hit[0]
            .message
            .contains("SocketBindAllow=tcp:8080 without SocketBindDeny="),
        "{}",
        hit[0].message
    );
    // A deny rule after the allow rules: the allow list means something.
    let denied = web_lints("[Service]\nSocketBindAllow=tcp:8080\nSocketBindDeny=any\n");
    assert!(!denied.contains(&LintId::SocketBindAllowOnly), "{denied:?}");
    // Neither: nothing to say about binds.
    let none = web_lints("[Service]\nNoNewPrivileges=yes\n");
    assert!(!none.contains(&LintId::SocketBindAllowOnly), "{none:?}");
    // A deny rule that a later empty assignment resets: allow-only again.
    let reset =
        web_lints("[Service]\nSocketBindDeny=any\nSocketBindAllow=tcp:8080\nSocketBindDeny=\n");
    assert!(reset.contains(&LintId::SocketBindAllowOnly), "{reset:?}");
}
