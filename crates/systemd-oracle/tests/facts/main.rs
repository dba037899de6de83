//! What systemd 257 does when it loads units, measured: each test stages
//! files at the paths systemd reads, asks `systemd --test` what it loaded
//! and asserts a concrete line of the dump or the log. The model of unit
//! loading in `crates/dropin` must match every one of them;
//! `docs/systemd-257-loading.md` tabulates them.
//!
//! The cases share a few systemd calls: every case of the main tree has
//! units of its own names, and all of them are dumped at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod dirs;
mod format;
mod harness;
mod lexer;
mod loading;
mod merge;

use std::sync::OnceLock;

use systemd_oracle::{Dump, LogLine, Oracle, Tree, UnitDump};

/// A `[Service]` section that makes a unit loadable.
const SERVICE: &str = "[Service]\nExecStart=/bin/true\n";

/// Every case's files, in one tree, and the units to ask about.
fn main_tree() -> (Tree, Vec<String>) {
    let mut tree = Tree::new();
    let mut units = Vec::new();
    for stage in [
        dirs::stage,
        loading::stage,
        lexer::stage,
        merge::stage,
        format::stage,
    ] {
        units.extend(stage(&mut tree));
    }
    (tree, units)
}

/// The dump of the main tree, taken once for all tests.
fn facts() -> &'static Dump {
    static DUMP: OnceLock<Dump> = OnceLock::new();
    DUMP.get_or_init(|| {
        let (tree, units) = main_tree();
        let names: Vec<&str> = units.iter().map(String::as_str).collect();
        Oracle::get().unwrap().dump(&tree, &names).unwrap()
    })
}

/// The unit `name` of the main dump.
fn unit(name: &str) -> &'static UnitDump {
    facts()
        .unit(name)
        .unwrap_or_else(|| panic!("{name} is not in the dump"))
}

/// The messages logged about the file `path`, as `LINE: message`.
fn messages(path: &str) -> Vec<String> {
    let mut out: Vec<String> = facts()
        .file_warnings()
        .into_iter()
        .filter(|l| l.file.as_deref() == Some(path))
        .map(|l: &LogLine| format!("{}: {}", l.line.unwrap_or(0), l.message))
        .collect();
    out.sort_by_key(|m| {
        m.split(':')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    out
}

/// `docs/systemd-257-loading.md` names every fact test here, and only
/// tests that exist.
#[test]
fn the_doc_names_every_fact_test() {
    const DOC: &str = include_str!("../../../../docs/systemd-257-loading.md");
    const SOURCES: &[(&str, &str)] = &[
        ("dirs", include_str!("dirs.rs")),
        ("loading", include_str!("loading.rs")),
        ("lexer", include_str!("lexer.rs")),
        ("merge", include_str!("merge.rs")),
        ("format", include_str!("format.rs")),
    ];
    let mut tests = Vec::new();
    for (module, source) in SOURCES {
        let mut after_attribute = false;
        for line in source.lines() {
            if line.trim() == "#[test]" {
                after_attribute = true;
            } else if after_attribute && let Some(rest) = line.strip_prefix("fn ") {
                let name = rest.split('(').next().unwrap_or_default();
                tests.push(format!("{module}::{name}"));
                after_attribute = false;
            }
        }
    }
    assert!(tests.len() > 40, "{tests:?}");
    for test in &tests {
        assert!(
            DOC.contains(&format!("`{test}`")),
            "the doc does not name {test}"
        );
    }
    // Every `module::name` the doc names is one of them.
    let named: Vec<&str> = DOC
        .split('`')
        .filter(|w| {
            SOURCES
                .iter()
                .any(|(m, _)| w.strip_prefix(m).is_some_and(|r| r.starts_with("::")))
        })
        .collect();
    assert!(!named.is_empty());
    for name in named {
        assert!(
            tests.iter().any(|t| t == name),
            "the doc names {name}, no such test"
        );
    }
}
