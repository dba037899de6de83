//! The system manager's unit search path: which directories are read, in
//! which precedence, for fragments and for `.d/` drop-ins.

use systemd_oracle::{DumpOptions, LoadState, Oracle, Tree};

use crate::{SERVICE, facts, unit};

/// systemd 257's system unit search path, highest precedence first
/// (`lookup_paths_init`, src/libsystemd/sd-path/path-lookup.c).
pub(crate) const SEARCH_PATH: [&str; 12] = [
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/run/systemd/generator.early",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
    "/run/systemd/generator",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
];

/// The transient directory's index: emptied before loading.
const TRANSIENT: usize = 2;

fn fragment(tag: &str) -> String {
    format!("[Unit]\nDescription=from {tag}\n{SERVICE}")
}

pub(crate) fn stage(t: &mut Tree) -> Vec<String> {
    let mut units = Vec::new();
    for (i, dir) in SEARCH_PATH.iter().enumerate() {
        // A unit found only in this directory.
        t.file(&format!("{dir}/sp-only-{i}.service"), fragment(dir));
        units.push(format!("sp-only-{i}.service"));
        // A unit in this directory and every one after it.
        for later in &SEARCH_PATH[i..] {
            t.file(&format!("{later}/sp-rank-{i}.service"), fragment(later));
        }
        units.push(format!("sp-rank-{i}.service"));
        // Drop-ins: file names sort in the reverse of the directories'
        // precedence, and one name is in every directory.
        t.file(
            &format!("{dir}/sp-dropins.service.d/{:02}-d{i}.conf", 11 - i),
            format!("[Unit]\nDocumentation=man:d{i}\n"),
        );
        t.file(
            &format!("{dir}/sp-dropins.service.d/same.conf"),
            format!("[Unit]\nDescription=same.conf from {dir}\n"),
        );
    }
    t.file(
        "/usr/lib/systemd/system/sp-dropins.service",
        fragment("usr"),
    );
    units.push("sp-dropins.service".into());
    // Negative control: not on the system search path.
    t.file("/etc/systemd/user/sp-user.service", fragment("user"));
    t.file("/lib/systemd/system/sp-lib.service", fragment("lib"));
    units.push("sp-user.service".into());
    units.push("sp-lib.service".into());
    units
}

#[test]
fn a_fragment_is_found_in_every_search_directory_but_transient() {
    for (i, dir) in SEARCH_PATH.iter().enumerate() {
        let u = unit(&format!("sp-only-{i}.service"));
        if i == TRANSIENT {
            assert_eq!(u.load_state(), LoadState::NotFound, "{dir}");
            assert_eq!(u.fragment_path(), None);
        } else {
            assert_eq!(u.load_state(), LoadState::Loaded, "{dir}");
            assert_eq!(
                u.fragment_path(),
                Some(format!("{dir}/sp-only-{i}.service").as_str())
            );
        }
    }
}

#[test]
fn the_first_directory_in_search_order_holds_the_fragment() {
    for (i, dir) in SEARCH_PATH.iter().enumerate() {
        // Transient is emptied, so its rank falls to the next directory.
        let winner = if i == TRANSIENT {
            SEARCH_PATH[i + 1]
        } else {
            dir
        };
        let u = unit(&format!("sp-rank-{i}.service"));
        assert_eq!(
            u.fragment_path(),
            Some(format!("{winner}/sp-rank-{i}.service").as_str()),
            "rank {i}"
        );
        assert_eq!(
            u.get("Description"),
            Some(format!("from {winner}").as_str())
        );
    }
}

#[test]
fn dropins_come_from_every_directory_sorted_by_file_name_alone() {
    let u = unit("sp-dropins.service");
    let mut expected: Vec<String> = SEARCH_PATH
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != TRANSIENT)
        .map(|(i, dir)| format!("{dir}/sp-dropins.service.d/{:02}-d{i}.conf", 11 - i))
        .collect();
    // The global order is by file name: the reverse of precedence here.
    expected.reverse();
    expected.push(format!("{}/sp-dropins.service.d/same.conf", SEARCH_PATH[0]));
    assert_eq!(u.dropin_paths(), expected);
    // Applied in that order: Documentation= accumulates in file-name order.
    let docs: Vec<String> = (0..12)
        .rev()
        .filter(|i| *i != TRANSIENT)
        .map(|i| format!("man:d{i}"))
        .collect();
    assert_eq!(u.all("Documentation"), docs);
}

#[test]
fn a_dropin_name_in_several_directories_is_read_from_the_first() {
    let u = unit("sp-dropins.service");
    assert_eq!(
        u.get("Description"),
        Some("same.conf from /etc/systemd/system.control")
    );
    let same: Vec<&str> = u
        .dropin_paths()
        .into_iter()
        .filter(|p| p.ends_with("/same.conf"))
        .collect();
    assert_eq!(
        same,
        ["/etc/systemd/system.control/sp-dropins.service.d/same.conf"]
    );
}

#[test]
fn negative_control_directories_off_the_search_path_are_not_read() {
    assert_eq!(unit("sp-user.service").load_state(), LoadState::NotFound);
    // /lib is a symlink to usr/lib in the Debian 13 root: the unit is
    // found, under the path systemd searched.
    assert_eq!(
        unit("sp-lib.service").fragment_path(),
        Some("/usr/lib/systemd/system/sp-lib.service")
    );
}

/// The search path systemd logs at debug level is the default one
/// (no `SYSTEMD_UNIT_PATH`), the test mode's temporary directory shown as
/// `/run/systemd/` as on a booted system.
#[test]
fn the_default_search_path_is_in_effect() {
    let mut tree = Tree::new();
    tree.file("/etc/systemd/system/sp-debug.service", fragment("etc"));
    let options = DumpOptions {
        log_level: "debug".to_owned(),
        ..DumpOptions::default()
    };
    let dump = Oracle::get()
        .unwrap()
        .dump_with(&tree, &["sp-debug.service"], &options)
        .unwrap();
    let texts: Vec<&str> = dump.log().iter().map(|l| l.text.as_str()).collect();
    let at = texts
        .iter()
        .position(|l| *l == "Looking for unit files in (higher priority first):")
        .expect("the search path is logged at debug level");
    let listed: Vec<&str> = texts[at + 1..at + 13]
        .iter()
        .map(|l| l.trim_start_matches('\t'))
        .collect();
    assert_eq!(listed, SEARCH_PATH);
    assert!(!texts[at + 13].starts_with('\t'), "{}", texts[at + 13]);
    // The main tree's dump saw the same: one call per 250 units.
    assert!(facts().calls() >= 1);
}
