//! The checked-in `crates/dropin/src/generated/` must be exactly what the
//! generator makes from systemd's source (fetched by
//! `scripts/systemd-source ensure` if missing).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

fn generated() -> BTreeMap<String, String> {
    let root = systemd_tables::workspace_root();
    let (source, headers) =
        systemd_tables::ensure_source(&root).expect("scripts/systemd-source ensure");
    systemd_tables::generate(&source, &headers).expect("generate")
}

#[test]
fn checked_in_tables_are_current() {
    let files = generated();
    let dir = systemd_tables::workspace_root().join(systemd_tables::OUTPUT_DIR);
    let stale = systemd_tables::compare(&files, &dir).expect("read the generated directory");
    let diffs: String = stale.iter().map(|s| s.diff.as_str()).collect();
    assert!(
        stale.is_empty(),
        "{} generated file(s) are stale; run `{}`:\n{diffs}",
        stale.len(),
        systemd_tables::REGENERATE
    );
}

/// Negative control: a checked-in copy with one table entry changed (or a
/// file missing, or an extra file) is reported, with a diff naming it.
#[test]
fn a_modified_table_is_detected() {
    let files = generated();
    let dir = std::env::temp_dir().join(format!("systemd-tables-currency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, text) in &files {
        std::fs::write(dir.join(name), text).expect("write copy");
    }
    assert!(
        systemd_tables::compare(&files, &dir)
            .expect("compare")
            .is_empty()
    );

    let syscalls = files["syscalls.rs"].replacen("\"@aio\"", "\"@aoi\"", 1);
    assert_ne!(syscalls, files["syscalls.rs"]);
    std::fs::write(dir.join("syscalls.rs"), syscalls).expect("tamper");
    std::fs::remove_file(dir.join("exposure.rs")).expect("remove");
    std::fs::write(dir.join("extra.rs"), "// stray\n").expect("extra");
    let stale = systemd_tables::compare(&files, &dir).expect("compare");
    std::fs::remove_dir_all(&dir).expect("clean up");

    let names: Vec<&str> = stale.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["exposure.rs", "extra.rs", "syscalls.rs"]);
    let diff = &stale[2].diff;
    // The group names are kept in the module's string of texts.
    assert!(
        diff.lines()
            .any(|l| l.starts_with('-') && l.contains("\"@aoi\",")),
        "{diff}"
    );
    assert!(
        diff.lines()
            .any(|l| l.starts_with('+') && l.contains("\"@aio\",")),
        "{diff}"
    );
}
