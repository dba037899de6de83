//! The safety rails from the command line: `lint` on the test plan's
//! drop-ins and on our own, the lint gate and waivers of `render` through
//! a host configuration, the warnings `render` prints, and the systemd
//! version gate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use left4me_hardening::{Host, ProfileKind};

const BIN: &str = env!("CARGO_BIN_EXE_left4me-harden");
const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../left4me-hardening/tests/fixtures"
);

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("left4me-lint-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes `text` to `relative`, creating directories.
    fn file(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fixture(relative: &str) -> String {
    Path::new(FIXTURES).join(relative).display().to_string()
}

fn test7() -> String {
    std::fs::read_to_string(fixture("test-plan/test-07-full.conf")).unwrap()
}

#[test]
fn lint_reports_i386_on_the_plans_original_test7() {
    let dir = Scratch::new("test7");
    let file = dir.file("left4me-server@1.service.d/test-07-full.conf", &test7());
    let out = run(&[
        "lint",
        file.to_str().unwrap(),
        "--unit",
        &fixture("units/left4me-server@.service"),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.contains(
            "left4me-server@1.service: error[i386-native-only] (Test 3): SystemCallArchitectures=native without x86"
        ),
        "{text}"
    );
    assert!(
        text.contains("— fix: SystemCallArchitectures=native x86\n"),
        "{text}"
    );
    assert!(
        text.contains("warning[hidepid-same-uid] (Test 5)"),
        "{text}"
    );
    assert!(
        text.contains("error[procsubset-hides-system] (Production)")
            && text.ends_with("1 file: 2 errors, 1 warning, 0 notes\n"),
        "{text}"
    );

    // Outside a unit directory the traits are given by hand.
    let loose = dir.file("test-07-full.conf", &test7());
    let out = run(&["lint", loose.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stderr(&out).contains("--trait"), "{}", stderr(&out));
    let out = run(&["lint", loose.to_str().unwrap(), "--trait", "i386-binary"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("error[i386-native-only] (Test 3)"));
}

#[test]
fn lint_finds_no_error_in_our_rendered_server_dropin() {
    let dir = Scratch::new("ours");
    let render = run(&["render", "server", "--instance", "1"]);
    assert!(render.status.success(), "{}", stderr(&render));
    let file = dir.file(
        "left4me-server@1.service.d/10-hardening.conf",
        &stdout(&render),
    );
    let out = run(&[
        "lint",
        file.to_str().unwrap(),
        "--unit",
        &fixture("units/left4me-server@.service"),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("error["), "{text}");
    // One warning on this base unit: stops under PrivatePIDs= end failed.
    assert!(
        text.starts_with("left4me-server@1.service: warning[pid1-sigint-exit] (Test 5): ")
            && text.ends_with("1 file: 0 errors, 1 warning, 0 notes\n"),
        "{text}"
    );
    assert_eq!(stderr(&out), "");
    // --strict makes it count.
    let out = run(&[
        "lint",
        "--strict",
        file.to_str().unwrap(),
        "--unit",
        &fixture("units/left4me-server@.service"),
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn lint_on_what_write_installs_notes_the_replaced_template_file() {
    let dir = Scratch::new("written");
    let root = dir.0.display().to_string();
    let write = run(&["write", "--root", &root, "--instance", "1"]);
    assert!(write.status.success(), "{}", stderr(&write));
    let units = dir.0.join("etc/systemd/system");
    let template = units.join("left4me-server@.service.d/10-hardening.conf");
    let one = units.join("left4me-server@1.service.d/10-hardening.conf");
    let web = units.join("left4me-web.service.d/10-hardening.conf");
    let out = run(&[
        "lint",
        template.to_str().unwrap(),
        one.to_str().unwrap(),
        web.to_str().unwrap(),
        "--unit",
        &fixture("units/left4me-server@.service"),
        "--unit",
        &fixture("units/left4me-web.service"),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "left4me-server@1.service: note[instance-replaces-template] (Drop-in style): "
        ),
        "{text}"
    );
    assert!(
        text.contains("left4me-web.service: warning[hidepid-same-uid] (Test 5): ")
            && text.contains("(waived by profile web: "),
        "{text}"
    );
    assert!(
        text.contains("left4me-server@1.service: warning[pid1-sigint-exit] (Test 5): ")
            && text.ends_with("3 files: 0 errors, 1 warning, 1 note\n"),
        "{text}"
    );
    let strict = run(&["lint", web.to_str().unwrap(), "--strict"]);
    assert_eq!(strict.status.code(), Some(0), "{}", stdout(&strict));
}

#[test]
fn lint_trouble_exits_2() {
    let dir = Scratch::new("trouble");
    let missing = dir.0.join("missing.conf");
    let out = run(&["lint", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.conf"), "{}", stderr(&out));

    let bad = dir.file(
        "left4me-server@1.service.d/bad.conf",
        "[Service]\nBindPaths=relative\n",
    );
    // A line systemd ignores is not trouble: it is reported as systemd
    // logs it, a warning, and the rest is linted.
    let out = run(&["lint", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("bad.conf:2: BindPaths= path is not absolute, ignoring: relative\n"),
        "{}",
        stdout(&out)
    );
    let out = run(&["lint", "--strict", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));

    let ok = dir.file("left4me-server@1.service.d/ok.conf", "[Service]\n");
    let out = run(&[
        "lint",
        ok.to_str().unwrap(),
        "--unit",
        &fixture("units/left4me-web.service"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("applies to none"), "{}", stderr(&out));

    let out = run(&["lint", ok.to_str().unwrap(), "--trait", "x86"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn lint_applies_the_systemd_version() {
    let dir = Scratch::new("version");
    let file = dir.file(
        "left4me-server@1.service.d/10-pids.conf",
        "[Service]\nPrivatePIDs=true\nPrivateUsers=identity\n",
    );
    let out = run(&["lint", file.to_str().unwrap(), "--systemd-version", "252"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error: systemd 252 does not know PrivatePIDs= (systemd 257)"),
        "{text}"
    );
    assert!(
        text.contains("error: systemd 252 does not know PrivateUsers=identity (systemd 257)"),
        "{text}"
    );
}

#[test]
fn render_on_systemd_252_names_every_newer_directive() {
    let host = Host::standard().unwrap();
    let composed = host.profile(ProfileKind::Server).composed().unwrap();
    let newer: Vec<String> = dropin::REGISTRY
        .iter()
        .filter(|s| s.since > 252 && composed.get(s.directive).is_some())
        .map(|s| format!("{}= (systemd {})", s.name, s.since))
        .collect();
    assert!(newer.contains(&"PrivatePIDs= (systemd 257)".to_owned()));
    let out = run(&["render", "server", "--systemd-version", "252"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        stderr(&out),
        format!(
            "left4me-harden: error: systemd 252 does not know: {}\n",
            newer.join(", ")
        )
    );
    let out = run(&["render", "server", "--systemd-version", "257"]);
    assert!(out.status.success());
}

const MDWX: &str = "[[server.add]]\n\
                    directive = \"MemoryDenyWriteExecute\"\n\
                    value = \"true\"\n\
                    reason = \"try W^X on the game servers\"\n";

#[test]
fn mdwx_through_the_host_config_is_refused_then_waived() {
    let dir = Scratch::new("mdwx");
    let config = dir.file("host.toml", MDWX);
    let out = run(&["render", "server", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"");
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "left4me-harden: error: refusing to emit profile server: error[mdwx-text-relocations] (Test 6): "
        ),
        "{err}"
    );

    let waived = dir.file(
        "waived.toml",
        &format!(
            "{MDWX}\n[[waivers]]\nlint = \"mdwx-text-relocations\"\nprofile = \"server\"\nreason = \"srcds rebuilt without text relocations\"\n"
        ),
    );
    let out = run(&["render", "server", "--config", waived.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "# Lint mdwx-text-relocations (Test 6) waived by host config: srcds rebuilt without text relocations\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nMemoryDenyWriteExecute=true\n"), "{text}");
}

#[test]
fn render_prints_warnings_but_emits() {
    // Dropping PrivatePIDs= from the server brings back the Test 5 gap.
    let dir = Scratch::new("warn");
    let config = dir.file(
        "host.toml",
        "[[server.remove]]\ndirective = \"PrivatePIDs\"\nreason = \"kernel too old here\"\n",
    );
    let out = run(&["render", "server", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("# Generated by left4me-harden"));
    assert_eq!(
        stderr(&out)
            .lines()
            .filter(
                |l| l.starts_with("left4me-harden: server: warning[hidepid-same-uid] (Test 5): ")
            )
            .count(),
        1,
        "{}",
        stderr(&out)
    );
    // The standard profiles print no warning, only their unit's score:
    // the web profile's Test 5 gap is waived, with its reason, as data.
    for (profile, score) in [
        (
            "server",
            "left4me-harden: score: left4me-server@.service 1.3 OK (over the test plan's base unit)\n",
        ),
        (
            "web",
            "left4me-harden: score: left4me-web.service 4.3 OK (over the test plan's base unit)\n",
        ),
        ("sysctl", ""),
    ] {
        let out = run(&["render", profile]);
        assert_eq!(stderr(&out), score, "{profile}");
    }
    let web = stdout(&run(&["render", "web"]));
    assert!(
        web.contains("# Lint hidepid-same-uid (Test 5) waived by profile web: "),
        "{web}"
    );
}

#[test]
fn explain_takes_a_lint_id() {
    let out = run(&["explain", "i386-native-only"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.starts_with("i386-native-only — "), "{text}");
    assert!(text.contains("  test:     Test 3\n"), "{text}");
}
