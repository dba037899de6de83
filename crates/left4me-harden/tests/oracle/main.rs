//! The files `write` puts on a host, checked by real systemd 257 (Debian
//! 13) through `scripts/systemd-oracle`, as an operator would deploy them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_left4me-harden");
const UNITS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../left4me-hardening/tests/fixtures/units"
);

fn oracle(args: &[&str]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/systemd-oracle");
    let out = Command::new(script).args(args).output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(2),
        "oracle usage: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn written_files_pass_systemd_257() {
    let version = oracle(&["ensure"]);
    assert!(
        version.status.success(),
        "oracle could not be built: {}",
        text(&version)
    );
    assert!(
        text(&version).contains("systemd 257 "),
        "{}",
        text(&version)
    );

    let root: PathBuf =
        std::env::temp_dir().join(format!("left4me-oracle-cli-{}", std::process::id()));
    let units = root.join("etc/systemd/system");
    std::fs::create_dir_all(&units).unwrap();
    for unit in ["left4me-server@.service", "left4me-web.service"] {
        std::fs::copy(Path::new(UNITS).join(unit), units.join(unit)).unwrap();
    }
    let write = Command::new(BIN)
        .args(["write", "--instance", "1", "--instance", "2", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(write.status.success(), "{}", text(&write));
    let root_arg = root.to_str().unwrap();

    let verify = oracle(&[
        "verify",
        root_arg,
        "left4me-server@.service",
        "left4me-server@1.service",
        "left4me-server@2.service",
        "left4me-web.service",
    ]);
    let verify = text(&verify);
    let complaints: Vec<&str> = verify
        .lines()
        .filter(|l| l.contains(".service.d/"))
        .collect();
    assert!(complaints.is_empty(), "{complaints:#?}");

    for (unit, limit) in [
        ("left4me-server@1.service", 1.3),
        ("left4me-web.service", 4.3),
    ] {
        let security = oracle(&["security", root_arg, unit]);
        let out = text(&security);
        let overall = out
            .lines()
            .find_map(|l| l.split_once(&format!("Overall exposure level for {unit}: ")))
            .map(|(_, rest)| {
                rest.split_whitespace()
                    .next()
                    .unwrap()
                    .parse::<f64>()
                    .unwrap()
            })
            .unwrap_or_else(|| panic!("no overall exposure:\n{out}"));
        println!("{unit}: {overall}");
        assert!(
            overall <= limit,
            "{unit} scored {overall}, more than {limit}"
        );
    }
    std::fs::remove_dir_all(&root).unwrap();
}
