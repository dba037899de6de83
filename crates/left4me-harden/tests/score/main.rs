//! `left4me-harden score` against systemd 257's `systemd-analyze security
//! --offline=true` (Debian 13, the oracle root): the output byte for byte
//! (text, `--json=short`, `--json=pretty`) and the exit status, on our
//! three profiles as `write` installs them and on shipped units of
//! different levels (and a masked one).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use systemd_oracle::{Analysis, Oracle, Tree};

const BIN: &str = env!("CARGO_BIN_EXE_left4me-harden");
const UNITS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../left4me-hardening/tests/fixtures/units"
);

/// `left4me-harden score ARGS` in the environment systemd runs in in the
/// oracle: a UTF-8 locale, no terminal, nothing else.
fn ours(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("score")
        .args(args)
        .env_clear()
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap()
}

fn same(what: &str, ours: &Output, systemd: &Analysis) {
    let mine = String::from_utf8_lossy(&ours.stdout);
    if mine != systemd.stdout {
        let line = mine
            .lines()
            .zip(systemd.stdout.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("ours:    {a:?}\nsystemd: {b:?}"))
            .unwrap_or_else(|| {
                format!(
                    "ours {} bytes, systemd {}",
                    mine.len(),
                    systemd.stdout.len()
                )
            });
        panic!(
            "{what}: output differs\n{line}\nstderr: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
    }
    assert_eq!(
        ours.status.code(),
        systemd.status,
        "{what}: exit status; stderr ours {:?}, systemd {:?}",
        String::from_utf8_lossy(&ours.stderr),
        systemd.stderr
    );
}

const PROFILE_UNITS: [&str; 3] = [
    "left4me-server@.service",
    "left4me-server@1.service",
    "left4me-web.service",
];

/// A root with the reference base units and what `write --instance 1`
/// puts there.
fn installed(tag: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("left4me-score-cli-{tag}-{}", std::process::id()));
    let units = root.join("etc/systemd/system");
    std::fs::create_dir_all(&units).unwrap();
    for unit in ["left4me-server@.service", "left4me-web.service"] {
        std::fs::copy(Path::new(UNITS).join(unit), units.join(unit)).unwrap();
    }
    let write = Command::new(BIN)
        .args(["write", "--instance", "1", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(write.status.success(), "{write:?}");
    root
}

#[test]
fn profiles_score_as_systemd_scores_them() {
    let oracle = Oracle::get().expect("the systemd 257 oracle (scripts/systemd-oracle)");
    let root = installed("profiles");
    let tree = Tree::read_dir(&root).unwrap();
    let root_arg = root.to_str().unwrap();
    for (format, flag) in [
        ("text", None),
        ("short", Some("--json=short")),
        ("pretty", Some("--json=pretty")),
    ] {
        let mut args = vec![
            "systemd-analyze",
            "security",
            "--offline=true",
            "--root=@ROOT@",
        ];
        args.extend(flag);
        args.extend(PROFILE_UNITS);
        let systemd = oracle.run(&tree, &args).unwrap();
        let flags: Vec<&str> = flag.into_iter().collect();
        // Generated and laid over the reference base units in memory…
        same(&format!("score {format}"), &ours(&flags), &systemd);
        // …and over the base units installed under a root.
        let mut with_root = vec!["--root", root_arg];
        with_root.extend(&flags);
        same(
            &format!("score --root {format}"),
            &ours(&with_root),
            &systemd,
        );
        // Naming the units under that root gives the same.
        let mut named = with_root.clone();
        named.extend(PROFILE_UNITS);
        same(
            &format!("score --root UNITS {format}"),
            &ours(&named),
            &systemd,
        );
    }
    // --threshold: systemd fails exactly when a unit is above it (web, the
    // worst, is 4.3 here).
    let summary = ours(&["--summary"]);
    let text = String::from_utf8_lossy(&summary.stdout).into_owned();
    assert_eq!(
        text,
        "left4me-server@test_instance.service 1.3 OK\nleft4me-server@1.service 1.3 OK\nleft4me-web.service 4.3 OK\n"
    );
    for t in ["43", "42"] {
        let mut args = vec![
            "systemd-analyze",
            "security",
            "--offline=true",
            "--root=@ROOT@",
        ];
        let threshold = format!("--threshold={t}");
        args.push(&threshold);
        args.extend(PROFILE_UNITS);
        let systemd = oracle.run(&tree, &args).unwrap();
        same(
            &format!("--threshold {t}"),
            &ours(&["--threshold", t]),
            &systemd,
        );
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn shipped_units_score_as_systemd_scores_them() {
    let oracle = Oracle::get().expect("the systemd 257 oracle (scripts/systemd-oracle)");
    let root = oracle.root_dir().unwrap();
    // OK, MEDIUM, EXPOSED and UNSAFE, an alias of a template, and a mask.
    let units = [
        "systemd-journald.service",
        "fstrim.service",
        "capsule@.service",
        "getty@.service",
        "autovt@.service",
        "cryptdisks.service",
    ];
    let summary = ours(
        &[
            &["--root", root.to_str().unwrap(), "--summary"][..],
            &units[..],
        ]
        .concat(),
    );
    let levels: Vec<String> = String::from_utf8_lossy(&summary.stdout)
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(levels, ["OK", "MEDIUM", "EXPOSED", "UNSAFE", "UNSAFE"]);
    for flag in [None, Some("--json=short"), Some("--json=pretty")] {
        let mut args = vec!["systemd-analyze", "security", "--offline=true"];
        args.extend(flag);
        args.extend(units);
        let systemd = oracle.run(&Tree::new(), &args).unwrap();
        let mut mine = vec!["--root", root.to_str().unwrap()];
        mine.extend(flag);
        mine.extend(units);
        same(&format!("shipped {flag:?}"), &ours(&mine), &systemd);
    }
}

/// Negative control: the comparison sees a difference of one glyph (emoji
/// on, as with a terminal's TERM), so it is not comparing nothing.
#[test]
fn a_different_rendering_is_caught() {
    let oracle = Oracle::get().expect("the systemd 257 oracle (scripts/systemd-oracle)");
    let root = installed("control");
    let tree = Tree::read_dir(&root).unwrap();
    let mut args = vec![
        "systemd-analyze",
        "security",
        "--offline=true",
        "--root=@ROOT@",
    ];
    args.extend(PROFILE_UNITS);
    let systemd = oracle.run(&tree, &args).unwrap();
    let emoji = Command::new(BIN)
        .arg("score")
        .env_clear()
        .env("LC_ALL", "C.UTF-8")
        .env("TERM", "xterm")
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&emoji.stdout), systemd.stdout);
    std::fs::remove_dir_all(&root).unwrap();
}
