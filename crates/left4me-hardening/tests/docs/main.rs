//! `docs/directives.md` is generated from the registries: the committed
//! file must be exactly what the code generates, and is snapshotted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
#[path = "../support/snapshots.rs"]
mod snapshots;

use left4me_hardening::docs::{REGENERATE, directives_markdown};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/directives.md");

#[test]
fn committed_directives_md_is_current() {
    let want = directives_markdown();
    if std::env::var_os("LEFT4ME_BLESS_DOCS").is_some() {
        std::fs::write(PATH, &want).unwrap();
    }
    let got = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        got == want,
        "docs/directives.md is not what the registries generate; regenerate it with `{REGENERATE}` and review the diff"
    );
}

#[test]
fn snapshot_docs_directives() {
    snapshot!("docs-directives", directives_markdown());
}

#[test]
fn every_directive_and_lint_is_documented() {
    let md = directives_markdown();
    for spec in dropin::REGISTRY {
        assert!(
            md.contains(&format!("| [`{}=`](", spec.name)),
            "{}",
            spec.name
        );
    }
    for lint in left4me_hardening::lint::LINTS {
        assert!(
            md.contains(&format!("| `{}` |", lint.id())),
            "{}",
            lint.id()
        );
    }
    assert!(md.contains("| [`PrivatePIDs=`](https://www.freedesktop.org/software/systemd/man/257/systemd.exec.html#PrivatePIDs=) | Namespaces | a boolean | single | 257 |"));
    assert!(md.contains("| `PrivateUsers=identity` | 257 |"));
}
