//! The files `write` puts on a host, checked by real systemd 257 (Debian
//! 13) through the `systemd-oracle` crate, as an operator would deploy them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use systemd_oracle::{Oracle, Tree};

mod view;

const BIN: &str = env!("CARGO_BIN_EXE_left4me-harden");
const UNITS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../left4me-hardening/tests/fixtures/units"
);

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn written_files_pass_systemd_257() {
    let oracle = Oracle::get().unwrap_or_else(|e| panic!("oracle could not be built: {e}"));
    assert!(
        oracle.version().contains("systemd 257 "),
        "{}",
        oracle.version()
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
    // Exactly what `write` put on disk, staged for systemd.
    let tree = Tree::read_dir(&root).unwrap();

    let verify = oracle
        .verify(
            &tree,
            &[
                "left4me-server@.service",
                "left4me-server@1.service",
                "left4me-server@2.service",
                "left4me-web.service",
            ],
        )
        .unwrap();
    let complaints: Vec<&str> = verify
        .lines()
        .filter(|l| l.contains(".service.d/"))
        .collect();
    assert!(complaints.is_empty(), "{complaints:#?}");

    for (unit, limit) in [
        ("left4me-server@1.service", 1.3),
        ("left4me-web.service", 4.3),
    ] {
        let security = oracle.security(&tree, unit, &[]).unwrap();
        let overall = security
            .overall_exposure()
            .unwrap_or_else(|| panic!("no overall exposure:\n{}", security.stdout));
        println!("{unit}: {overall}");
        assert!(
            overall <= limit,
            "{unit} scored {overall}, more than {limit}"
        );
    }
    std::fs::remove_dir_all(&root).unwrap();
}
