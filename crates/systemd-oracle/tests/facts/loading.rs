//! Which drop-ins apply to a unit and which one wins: name prefixes,
//! templates and instances, type-wide directories, masking, symlinks and
//! file names.

use std::sync::OnceLock;

use systemd_oracle::{Dump, DumpOptions, LoadState, Oracle, Tree};

use crate::{SERVICE, unit};

const ETC: &str = "/etc/systemd/system";
const RUN: &str = "/run/systemd/system";
const USR: &str = "/usr/lib/systemd/system";

fn fragment(tag: &str) -> String {
    format!("[Unit]\nDescription=fragment {tag}\n{SERVICE}")
}

/// A `Documentation=` line (one word: the value is a list).
fn doc(tag: &str) -> String {
    format!("[Unit]\nDocumentation=man:{}\n", tag.replace(' ', "-"))
}

fn describe(tag: &str) -> String {
    format!("[Unit]\nDescription={tag}\n")
}

pub(crate) fn stage(t: &mut Tree) -> Vec<String> {
    // Same file name, two directories.
    t.file(&format!("{USR}/dp-same.service"), fragment("usr"))
        .file(&format!("{RUN}/dp-same.service.d/10.conf"), describe("run"))
        .file(&format!("{USR}/dp-same.service.d/10.conf"), describe("usr"));
    // A dash prefix in /etc against the unit's own name in /usr.
    t.file(&format!("{USR}/dp-p-q.service"), fragment("p-q"))
        .file(
            &format!("{ETC}/dp-p-.service.d/10.conf"),
            describe("dash prefix in etc"),
        )
        .file(
            &format!("{USR}/dp-p-q.service.d/10.conf"),
            describe("own name in usr"),
        );
    // Template in /etc against instance in /usr.
    t.file(&format!("{USR}/dp-tt@.service"), fragment("tt"))
        .file(
            &format!("{ETC}/dp-tt@.service.d/10.conf"),
            describe("template in etc"),
        )
        .file(
            &format!("{USR}/dp-tt@1.service.d/10.conf"),
            describe("instance in usr"),
        );
    // Template against instance, one directory.
    t.file(&format!("{ETC}/dp-uu@.service"), fragment("uu"))
        .file(
            &format!("{ETC}/dp-uu@.service.d/10.conf"),
            describe("template"),
        )
        .file(
            &format!("{ETC}/dp-uu@1.service.d/10.conf"),
            describe("instance"),
        );
    // Template against a dash prefix, one directory.
    t.file(&format!("{ETC}/dp-vv-w@.service"), fragment("vv-w"))
        .file(
            &format!("{ETC}/dp-vv-w@.service.d/10.conf"),
            describe("template"),
        )
        .file(
            &format!("{ETC}/dp-vv-.service.d/10.conf"),
            describe("dash prefix"),
        );
    // Dash prefixes of dq-a-b-c.service.
    t.file(&format!("{USR}/dq-a-b-c.service"), fragment("a-b-c"))
        .file(&format!("{ETC}/dq-.service.d/05.conf"), doc("dq-dash"))
        .file(&format!("{ETC}/dq-a-.service.d/10.conf"), doc("a-dash"))
        .file(&format!("{ETC}/dq-a-b-.service.d/20.conf"), doc("a-b-dash"))
        .file(
            &format!("{ETC}/dq-a-b-.service.d/30.conf"),
            doc("a-b-dash same name"),
        )
        .file(
            &format!("{ETC}/dq-a-b-c.service.d/30.conf"),
            doc("own same name"),
        )
        .file(
            &format!("{ETC}/dq-a-b-c-.service.d/40.conf"),
            doc("own name dash"),
        )
        .file(
            &format!("{ETC}/dq-a.service.d/41.conf"),
            doc("a without dash"),
        )
        .file(
            &format!("{ETC}/dq-a-b.service.d/42.conf"),
            doc("a-b without dash"),
        );
    // The left4me instances.
    t.file(
        &format!("{ETC}/left4me-server@.service"),
        fragment("template"),
    )
    .file(
        &format!("{ETC}/left4me-server@.service.d/10-t.conf"),
        doc("template"),
    )
    .file(
        &format!("{ETC}/left4me-server@1.service.d/20-i.conf"),
        doc("instance"),
    )
    .file(
        &format!("{ETC}/left4me-.service.d/05-dash.conf"),
        doc("left4me-"),
    )
    .file(
        &format!("{ETC}/left4me-@.service.d/06-dash-at.conf"),
        doc("left4me-@"),
    )
    .file(
        &format!("{ETC}/left4me-@1.service.d/09-dash-at-1.conf"),
        doc("left4me-@1"),
    )
    .file(
        &format!("{ETC}/left4me-server-.service.d/07.conf"),
        doc("left4me-server-"),
    )
    .file(
        &format!("{ETC}/left4me-server@1-.service.d/08.conf"),
        doc("left4me-server@1-"),
    )
    .file(
        &format!("{ETC}/left4me-server@2.service"),
        fragment("instance 2"),
    );
    // For one file name: which of an instance's five directories wins.
    let dirs = ["{p}-x@1", "{p}-x@", "{p}-", "{p}-@1", "{p}-@"];
    for (p, from) in [("pb", 0), ("pc", 1), ("pd", 2), ("pe", 3)] {
        t.file(&format!("{ETC}/{p}-x@.service"), fragment(p));
        for dir in &dirs[from..] {
            let dir = dir.replace("{p}", p);
            t.file(
                &format!("{ETC}/{dir}.service.d/50-same.conf"),
                describe(&dir),
            );
        }
    }
    // A dash in the instance is not a prefix.
    t.file(&format!("{ETC}/dp-foo@.service"), fragment("foo"))
        .file(&format!("{ETC}/dp-foo@x-y.service.d/10.conf"), doc("x-y"))
        .file(&format!("{ETC}/dp-foo@x-.service.d/10.conf"), doc("x-"));
    // Masking.
    t.file(&format!("{USR}/mk-dropin.service"), fragment("m1"))
        .symlink(&format!("{ETC}/mk-dropin.service.d/10.conf"), "/dev/null")
        .file(
            &format!("{USR}/mk-dropin.service.d/10.conf"),
            describe("masked"),
        )
        .file(&format!("{USR}/mk-dropin.service.d/20.conf"), doc("20"));
    t.file(&format!("{USR}/mk-empty.service"), fragment("m2"))
        .file(&format!("{ETC}/mk-empty.service.d/10.conf"), "")
        .file(
            &format!("{USR}/mk-empty.service.d/10.conf"),
            describe("hidden"),
        );
    t.symlink(&format!("{ETC}/mk-unit.service"), "/dev/null")
        .file(&format!("{USR}/mk-unit.service"), fragment("m3"));
    t.file(&format!("{USR}/mk-dirlink.service"), fragment("m4"))
        .file(
            "/srv/dropins/10-linked.conf",
            describe("through a directory symlink"),
        )
        .symlink(&format!("{ETC}/mk-dirlink.service.d"), "/srv/dropins");
    t.file(&format!("{USR}/mk-names.service"), fragment("m5"))
        .file("/srv/abs.conf", doc("absolute"))
        .file("/etc/systemd/rel.conf", doc("relative"))
        .symlink(
            &format!("{ETC}/mk-names.service.d/10-abs.conf"),
            "/srv/abs.conf",
        )
        .symlink(
            &format!("{ETC}/mk-names.service.d/20-rel.conf"),
            "../../rel.conf",
        )
        .symlink(
            &format!("{ETC}/mk-names.service.d/30-dangling.conf"),
            "/nonexistent.conf",
        )
        .file(
            &format!("{ETC}/mk-names.service.d/.40-hidden.conf"),
            doc("hidden"),
        )
        .file(&format!("{ETC}/mk-names.service.d/50.txt"), doc("txt"))
        .file(&format!("{ETC}/mk-names.service.d/60.conf~"), doc("tilde"))
        .file(&format!("{ETC}/mk-names.service.d/70.CONF"), doc("upper"))
        .dir(&format!("{ETC}/mk-names.service.d/80.conf"))
        .file(&format!("{ETC}/mk-names.service.d/.conf"), doc("dot"))
        .file(
            &format!("{ETC}/mk-names.service.d/90 space.conf"),
            doc("space"),
        );
    [
        "dp-same.service",
        "dp-p-q.service",
        "dp-tt@1.service",
        "dp-uu@1.service",
        "dp-vv-w@1.service",
        "dq-a-b-c.service",
        "left4me-server@1.service",
        "left4me-server@2.service",
        "left4me-server@3.service",
        "left4me-server@.service",
        "dp-foo@x-y.service",
        "pb-x@1.service",
        "pc-x@1.service",
        "pd-x@1.service",
        "pe-x@1.service",
        "mk-dropin.service",
        "mk-empty.service",
        "mk-unit.service",
        "mk-dirlink.service",
        "mk-names.service",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn same_dropin_name_run_beats_usr() {
    let u = unit("dp-same.service");
    assert_eq!(u.get("Description"), Some("run"));
    assert_eq!(
        u.dropin_paths(),
        [format!("{RUN}/dp-same.service.d/10.conf")]
    );
}

/// Directory precedence comes first: for one file name, the directory
/// earlier in the search path wins, whatever name its `.d` has.
#[test]
fn same_dropin_name_directory_precedence_beats_name_specificity() {
    let u = unit("dp-p-q.service");
    assert_eq!(u.get("Description"), Some("dash prefix in etc"));
    assert_eq!(u.dropin_paths(), [format!("{ETC}/dp-p-.service.d/10.conf")]);
    let u = unit("dp-tt@1.service");
    assert_eq!(u.get("Description"), Some("template in etc"));
    assert_eq!(
        u.dropin_paths(),
        [format!("{ETC}/dp-tt@.service.d/10.conf")]
    );
}

/// Within one directory: the unit's own name, then the template, then
/// the dash prefixes from the longest.
#[test]
fn same_dropin_name_in_one_directory_own_name_template_then_prefix() {
    let u = unit("dp-uu@1.service");
    assert_eq!(u.get("Description"), Some("instance"));
    assert_eq!(
        u.dropin_paths(),
        [format!("{ETC}/dp-uu@1.service.d/10.conf")]
    );
    let u = unit("dp-vv-w@1.service");
    assert_eq!(u.get("Description"), Some("template"));
    assert_eq!(
        u.dropin_paths(),
        [format!("{ETC}/dp-vv-w@.service.d/10.conf")]
    );
    let u = unit("dq-a-b-c.service");
    assert!(u.all("Documentation").contains(&"man:own-same-name"));
    assert!(!u.all("Documentation").contains(&"man:a-b-dash-same-name"));
}

#[test]
fn dash_prefix_directories_apply_from_each_dash() {
    let u = unit("dq-a-b-c.service");
    assert_eq!(
        u.dropin_paths(),
        [
            format!("{ETC}/dq-.service.d/05.conf"),
            format!("{ETC}/dq-a-.service.d/10.conf"),
            format!("{ETC}/dq-a-b-.service.d/20.conf"),
            format!("{ETC}/dq-a-b-c.service.d/30.conf"),
        ]
    );
    assert_eq!(
        u.all("Documentation"),
        [
            "man:dq-dash",
            "man:a-dash",
            "man:a-b-dash",
            "man:own-same-name"
        ]
    );
}

#[test]
fn instances_read_prefix_template_and_instance_dirs() {
    let u = unit("left4me-server@1.service");
    assert_eq!(
        u.fragment_path(),
        Some(format!("{ETC}/left4me-server@.service").as_str())
    );
    assert_eq!(u.get("Instance"), Some("1"));
    // The prefix is cut at dashes of the part before the "@", with and
    // without the instance; left4me-server-.service.d and
    // left4me-server@1-.service.d do not apply.
    assert_eq!(
        u.dropin_paths(),
        [
            format!("{ETC}/left4me-.service.d/05-dash.conf"),
            format!("{ETC}/left4me-@.service.d/06-dash-at.conf"),
            format!("{ETC}/left4me-@1.service.d/09-dash-at-1.conf"),
            format!("{ETC}/left4me-server@.service.d/10-t.conf"),
            format!("{ETC}/left4me-server@1.service.d/20-i.conf"),
        ]
    );
    // Another instance: the template's drop-ins only.
    let u = unit("left4me-server@3.service");
    assert_eq!(
        u.all("Documentation"),
        ["man:left4me-", "man:left4me-@", "man:template"]
    );
    // A dash inside the instance is no prefix either.
    let u = unit("dp-foo@x-y.service");
    assert_eq!(u.all("Documentation"), ["man:x-y"]);
}

/// For one file name, an instance's directories rank: its own, the
/// template's, the template's dash prefix, then the instance's dash
/// prefix with and without the instance.
#[test]
fn same_dropin_name_instance_template_prefix_then_instance_prefix() {
    for (p, winner) in [
        ("pb", "pb-x@1"),
        ("pc", "pc-x@"),
        ("pd", "pd-"),
        ("pe", "pe-@1"),
    ] {
        let u = unit(&format!("{p}-x@1.service"));
        assert_eq!(u.get("Description"), Some(winner), "{p}");
        assert_eq!(
            u.dropin_paths(),
            [format!("{ETC}/{winner}.service.d/50-same.conf")],
            "{p}"
        );
    }
}

#[test]
fn an_instance_with_its_own_fragment_keeps_the_template_dropins() {
    let u = unit("left4me-server@2.service");
    assert_eq!(
        u.fragment_path(),
        Some(format!("{ETC}/left4me-server@2.service").as_str())
    );
    assert_eq!(u.get("Description"), Some("fragment instance 2"));
    assert_eq!(
        u.all("Documentation"),
        ["man:left4me-", "man:left4me-@", "man:template"]
    );
}

#[test]
fn a_template_name_is_not_loaded() {
    // The batch target's After=left4me-server@.service is refused, so the
    // template itself never appears in the dump.
    assert!(crate::facts().unit("left4me-server@.service").is_none());
}

#[test]
fn a_dropin_symlinked_to_dev_null_masks_its_name_and_is_still_listed() {
    let u = unit("mk-dropin.service");
    assert_eq!(u.get("Description"), Some("fragment m1"));
    assert_eq!(u.all("Documentation"), ["man:20"]);
    assert_eq!(
        u.dropin_paths(),
        [
            format!("{ETC}/mk-dropin.service.d/10.conf"),
            format!("{USR}/mk-dropin.service.d/20.conf"),
        ]
    );
}

#[test]
fn an_empty_dropin_shadows_its_name_too() {
    let u = unit("mk-empty.service");
    assert_eq!(u.get("Description"), Some("fragment m2"));
    assert_eq!(
        u.dropin_paths(),
        [format!("{ETC}/mk-empty.service.d/10.conf")]
    );
    assert_eq!(u.load_state(), LoadState::Loaded);
}

#[test]
fn a_fragment_symlinked_to_dev_null_masks_the_unit() {
    let u = unit("mk-unit.service");
    assert_eq!(u.load_state(), LoadState::Masked);
    assert_eq!(u.get("Description"), Some("mk-unit.service"));
    assert_eq!(
        u.fragment_path(),
        Some(format!("{ETC}/mk-unit.service").as_str())
    );
    // A masked unit prints no settings.
    assert_eq!(u.get("ExecStart.Command Line"), None);
    assert_eq!(u.get("UMask"), None);
}

#[test]
fn a_dropin_directory_symlink_is_followed_and_shown_resolved() {
    let u = unit("mk-dirlink.service");
    assert_eq!(u.get("Description"), Some("through a directory symlink"));
    assert_eq!(u.dropin_paths(), ["/srv/dropins/10-linked.conf"]);
}

#[test]
fn dropin_file_names_symlinks_hidden_and_other_suffixes() {
    let u = unit("mk-names.service");
    // Symlinked drop-ins are listed under the link's path and read
    // through it (absolute and relative targets); a dangling one is
    // listed too and adds nothing, and so is a directory named *.conf.
    // Hidden files, other suffixes and upper-case .CONF are skipped; a
    // space in the name is fine.
    assert_eq!(
        u.dropin_paths(),
        [
            format!("{ETC}/mk-names.service.d/10-abs.conf"),
            format!("{ETC}/mk-names.service.d/20-rel.conf"),
            format!("{ETC}/mk-names.service.d/30-dangling.conf"),
            format!("{ETC}/mk-names.service.d/80.conf"),
            format!("{ETC}/mk-names.service.d/90 space.conf"),
        ]
    );
    assert_eq!(
        u.all("Documentation"),
        ["man:absolute", "man:relative", "man:space"]
    );
    // Silent at the default log level.
    for name in ["30-dangling.conf", "80.conf"] {
        let path = format!("{ETC}/mk-names.service.d/{name}");
        assert_eq!(crate::messages(&path), Vec::<String>::new(), "{name}");
    }
}

/// Type-wide `service.d/` applies to every service, so it gets a dump of
/// its own.
fn typewide() -> &'static Dump {
    static DUMP: OnceLock<Dump> = OnceLock::new();
    DUMP.get_or_init(|| {
        let mut t = Tree::new();
        t.file(&format!("{USR}/tw.service"), fragment("tw"))
            .file(
                &format!("{USR}/tw.socket"),
                "[Socket]\nListenStream=/run/tw\n",
            )
            .file(
                &format!("{ETC}/service.d/10.conf"),
                describe("type-wide in etc"),
            )
            .file(&format!("{ETC}/service.d/20.conf"), doc("type-wide 20"))
            .file(
                &format!("{USR}/tw.service.d/10.conf"),
                describe("own name in usr"),
            )
            .file(&format!("{USR}/tw2-x.service"), fragment("tw2"))
            .file(&format!("{USR}/tw2-.service.d/15.conf"), doc("dash 15"))
            .file(&format!("{USR}/tw3@.service"), fragment("tw3"))
            .symlink(&format!("{ETC}/tw4.service"), "/dev/null");
        let units = [
            "tw.service",
            "tw.socket",
            "tw2-x.service",
            "tw3@a.service",
            "tw4.service",
        ];
        Oracle::get()
            .unwrap()
            .dump_with(&t, &units, &DumpOptions::default())
            .unwrap()
    })
}

#[test]
fn typewide_dropins_apply_to_every_unit_of_the_type_and_lose_ties() {
    let d = typewide();
    let tw = d.unit("tw.service").unwrap();
    // Same name: the unit's own drop-in in /usr beats the type-wide one
    // in /etc (type-wide directories are searched after all others).
    assert_eq!(tw.get("Description"), Some("own name in usr"));
    assert_eq!(
        tw.dropin_paths(),
        [
            format!("{USR}/tw.service.d/10.conf"),
            format!("{ETC}/service.d/20.conf"),
        ]
    );
    let tw2 = d.unit("tw2-x.service").unwrap();
    assert_eq!(tw2.get("Description"), Some("type-wide in etc"));
    assert_eq!(
        tw2.all("Documentation"),
        ["man:dash-15", "man:type-wide-20"]
    );
    let tw3 = d.unit("tw3@a.service").unwrap();
    assert_eq!(tw3.dropin_paths().len(), 2);
    // Not to another type; not to a masked unit.
    assert!(d.unit("tw.socket").unwrap().dropin_paths().is_empty());
    let tw4 = d.unit("tw4.service").unwrap();
    assert_eq!(tw4.load_state(), LoadState::Masked);
    assert!(tw4.dropin_paths().is_empty());
}
