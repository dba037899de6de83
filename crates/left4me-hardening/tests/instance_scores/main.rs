//! Instances scored without loading each (`score::Instances`, the score
//! lines of `write` and `render`), or loaded but scored only where no
//! sibling's score holds (`score_loaded`, as `diff` scores), against systemd 257's own
//! `systemd-analyze security --offline=true`, one call per host.
//!
//! Each host is the reference base units plus the generated drop-ins of
//! many instances (odd but valid names among them), with something that
//! makes some instances or all of them score apart: a specifier the score
//! reads in a template drop-in (`User=%i`, so instance `root` runs as root), a
//! `DynamicUser=` whose user is named after the unit, a weakening drop-in
//! of one instance, a drop-in of another directory that shadows one
//! instance's generated file. Every instance's score must be systemd's,
//! and a sibling's score must be reused where it provably holds (and only
//! there: where the score read the unit's name, nothing is reused, even
//! where the name happens not to change the score, as with a dynamic user
//! named after the template). The negative control reuses the first
//! instance's score for every instance located alike, without asking what
//! the score read: it disagrees with systemd where the name decides.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use dropin::Instance;
use dropin::RenderOptions;
use dropin::load::{Fs, LoadOptions, Loader, MemFs, Overlay};
use left4me_hardening::output::Generated;
use left4me_hardening::{Host, ProfileKind, Threads, score};
use systemd_oracle::{Oracle, Tree};

const UNITS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/units");
const ETC: &str = "/etc/systemd/system";
const RUN: &str = "/run/systemd/system";
/// Searched before `ETC`: a drop-in here shadows one of the same name there.
const CONTROL: &str = "/run/systemd/system.control";

/// Instance names: plain numbers, then names systemd accepts that mean
/// something to the score or to a path.
fn instances() -> Vec<Instance> {
    let mut names: Vec<String> = (1..=24).map(|i| i.to_string()).collect();
    names.extend(
        ["root", "0", "nobody", "a-b", "x.y", "game_1", "65534", "A"]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    names.iter().map(|n| n.parse().unwrap()).collect()
}

/// One host: files besides the generated ones, and what is expected of
/// reuse.
struct Case {
    name: &'static str,
    files: Vec<(String, String)>,
    /// Whether any instance may take a sibling's score.
    reuse: bool,
}

fn cases() -> Vec<Case> {
    let f = |p: &str, t: &str| (p.to_owned(), t.to_owned());
    vec![
        Case {
            name: "standard",
            files: vec![],
            reuse: true,
        },
        Case {
            name: "user-from-instance",
            files: vec![f(
                &format!("{ETC}/left4me-server@.service.d/50-user.conf"),
                "[Service]\nUser=%i\n",
            )],
            reuse: false,
        },
        Case {
            name: "dynamic-user",
            files: vec![f(
                &format!("{ETC}/left4me-server@.service.d/50-dynamic.conf"),
                "[Service]\nDynamicUser=yes\nUser=\n",
            )],
            reuse: false,
        },
        Case {
            name: "one-weakened",
            files: vec![f(
                &format!("{RUN}/left4me-server@3.service.d/50-weak.conf"),
                "[Service]\nProtectSystem=no\nPrivateDevices=no\nSystemCallArchitectures=\n",
            )],
            reuse: true,
        },
        Case {
            name: "one-shadowed",
            files: vec![f(
                &format!("{CONTROL}/left4me-server@4.service.d/10-hardening.conf"),
                "[Service]\nNoNewPrivileges=no\n",
            )],
            reuse: true,
        },
        Case {
            name: "shared-extra",
            files: vec![f(
                &format!("{ETC}/left4me-server@.service.d/20-network.conf"),
                "[Service]\nPrivateNetwork=yes\nIPAddressDeny=any\n",
            )],
            reuse: true,
        },
    ]
}

/// The base of a case: the reference base units and the case's files.
fn base_of(case: &Case) -> MemFs {
    let mut fs = MemFs::new();
    for unit in ["left4me-server@.service", "left4me-web.service"] {
        let text = std::fs::read(format!("{UNITS}/{unit}")).unwrap();
        fs.file(&format!("{ETC}/{unit}"), text);
    }
    for (path, text) in &case.files {
        fs.file(path, text.as_bytes().to_vec());
    }
    fs
}

/// The overall exposure and level per unit, as systemd prints them.
fn systemd_scores(case: &Case, files: &[Generated], units: &[String]) -> BTreeMap<String, String> {
    let oracle = Oracle::get().expect("the systemd 257 oracle could not be built");
    let mut tree = Tree::new();
    for unit in ["left4me-server@.service", "left4me-web.service"] {
        tree.file(
            &format!("{ETC}/{unit}"),
            std::fs::read(format!("{UNITS}/{unit}")).unwrap(),
        );
    }
    for (path, text) in &case.files {
        tree.file(path, text);
    }
    for g in files.iter().filter(|g| g.unit().is_some()) {
        tree.file(&format!("/{}", g.path), &g.text);
    }
    let unit_path = format!("SYSTEMD_UNIT_PATH=@ROOT@{CONTROL}:@ROOT@{ETC}:@ROOT@{RUN}");
    let mut args: Vec<&str> = vec![
        "env",
        &unit_path,
        "systemd-analyze",
        "security",
        "--offline=true",
        "--no-pager",
    ];
    args.extend(units.iter().map(String::as_str));
    let out = oracle.run(&tree, &args).expect("systemd-analyze ran");
    let mut scores = BTreeMap::new();
    for line in out.stdout.lines() {
        if let Some(rest) = line.strip_prefix("\u{2192} Overall exposure level for ") {
            let (unit, score) = rest.split_once(": ").unwrap();
            // "1.3 OK 🙂" without the glyph, as `short` prints it.
            let mut words = score.split_whitespace();
            let short = format!("{} {}", words.next().unwrap(), words.next().unwrap());
            scores.insert(unit.to_owned(), short);
        }
    }
    scores
}

/// Our scores through `score::Instances`, and how many were reused:
/// each unit located and loaded by `Instances::score`, or (`loaded_first`)
/// loaded by the caller first and scored by `score_loaded`, as `diff`
/// does.
fn ours(
    host: &Host,
    files: &[Generated],
    base: &MemFs,
    loaded_first: bool,
) -> (BTreeMap<String, String>, usize) {
    let fs = overlay(files, base);
    let options = LoadOptions {
        search_path: score::search_path(&[], None),
    };
    let loader = Loader::new(&fs, &options);
    let scores = score::Instances::new(host, &loader);
    let mut out = BTreeMap::new();
    for g in files.iter().filter(|g| g.instance.is_some()) {
        let unit = g.unit().unwrap().to_string();
        let s = if loaded_first {
            let located = loader.locate(&unit);
            let loaded = loader.load_located(&unit, located.clone());
            scores.score_loaded(g, &unit, &located, &loaded)
        } else {
            scores.score(g, &unit)
        };
        let s = s.unwrap();
        out.insert(unit, format!("{} {}", s.exposure_text(), s.level().name));
    }
    (out, scores.reused())
}

fn overlay<'a>(files: &[Generated], base: &'a MemFs) -> Overlay<'a> {
    Overlay::new(
        base as &dyn Fs,
        files
            .iter()
            .filter(|g| g.unit().is_some())
            .map(|g| (format!("/{}", g.path), g.text.clone().into_bytes())),
    )
}

/// The negative control: the first score of each alike location reused
/// for every instance so located, whatever the score read.
fn naive(files: &[Generated], base: &MemFs) -> BTreeMap<String, String> {
    let fs = overlay(files, base);
    let options = LoadOptions {
        search_path: score::search_path(&[], None),
    };
    let loader = Loader::new(&fs, &options);
    let mut first: BTreeMap<String, String> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for g in files.iter().filter(|g| g.instance.is_some()) {
        let unit = g.unit().unwrap().to_string();
        let own = format!("/{}", g.path);
        let mut located = loader.locate(&unit);
        located.dirs.retain(|d| !own.starts_with(&format!("{d}/")));
        located.files.files.retain(|f| *f != own);
        let key = format!("{:?}", (&located.dirs, &located.files.files));
        let s = first
            .entry(key)
            .or_insert_with(|| {
                let s = dropin::score::score(&loader.load(&unit)).unwrap();
                format!("{} {}", s.exposure_text(), s.level().name)
            })
            .clone();
        out.insert(unit, s);
    }
    out
}

#[test]
fn instance_scores_are_systemds_and_reused_only_where_they_hold() {
    let host = Host::standard().unwrap();
    let instances = instances();
    let files = host.files(&instances, RenderOptions::default()).unwrap();
    let units: Vec<String> = files
        .iter()
        .filter(|g| g.instance.is_some())
        .map(|g| g.unit().unwrap().to_string())
        .collect();
    assert_eq!(units.len(), instances.len());
    let mut caught = Vec::new();
    for case in cases() {
        let base = base_of(&case);
        let theirs = systemd_scores(&case, &files, &units);
        assert_eq!(
            theirs.len(),
            units.len(),
            "{}: systemd scored {theirs:?}",
            case.name
        );
        let (mine, reused) = ours(&host, &files, &base, false);
        let (loaded, reused_loaded) = ours(&host, &files, &base, true);
        for u in &units {
            assert_eq!(mine.get(u), theirs.get(u), "{}: {u}", case.name);
            assert_eq!(
                loaded.get(u),
                theirs.get(u),
                "{}: {u} (loaded first)",
                case.name
            );
        }
        assert_eq!(reused_loaded, reused, "{}", case.name);
        // The score lines of `write`, the units shared out over threads
        // (each with its own loader and scores): systemd's scores too.
        for n in [1, 3] {
            let threads = Threads::Exactly(n.try_into().unwrap());
            let lines = score::lines_on(&host, &files, Some(&base), threads);
            let mut instance_lines = 0;
            for line in &lines {
                let rest = line.strip_prefix("score: ").unwrap();
                let (unit, score) = rest.split_once(' ').unwrap();
                if let Some(theirs) = theirs.get(unit) {
                    instance_lines += 1;
                    assert_eq!(
                        score,
                        format!("{theirs} (as installed)"),
                        "{}: {unit} on {n} threads",
                        case.name
                    );
                }
            }
            assert_eq!(instance_lines, units.len(), "{}: {lines:?}", case.name);
        }
        if case.reuse {
            assert!(
                reused > units.len() / 2,
                "{}: only {reused} reused",
                case.name
            );
        } else {
            assert_eq!(reused, 0, "{}: a score was reused", case.name);
        }
        let distinct: std::collections::BTreeSet<&String> = theirs.values().collect();
        eprintln!(
            "{}: {} instances, {reused} scores reused, systemd gave {} distinct scores",
            case.name,
            units.len(),
            distinct.len()
        );
        if naive(&files, &base) != theirs {
            caught.push(case.name);
        }
    }
    // The negative control: reuse without asking what the score read is
    // wrong exactly where reuse must not happen.
    assert_eq!(caught, ["user-from-instance"]);
}

/// A host that adds each instance's runtime bind a second time: a finding
/// that names each instance's own path.
fn host_with_a_repeated_bind() -> Host {
    let dir = std::env::temp_dir().join(format!("instance-lints-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("host.toml");
    std::fs::write(
        &path,
        "[[server.add]]\ndirective = \"BindPaths\"\nvalue = \"/var/lib/left4me/runtime/%i\"\nreason = \"the runtime bind again\"\n",
    )
    .unwrap();
    let host = left4me_hardening::config::load(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    host
}

#[test]
fn instance_lints_are_each_instances_own() {
    for host in [Host::standard().unwrap(), host_with_a_repeated_bind()] {
        let batch = host.batch(ProfileKind::Server).unwrap();
        for i in instances() {
            assert_eq!(
                batch.lint(Some(&i)).unwrap(),
                host.lint(ProfileKind::Server, Some(&i)).unwrap(),
                "instance {i}"
            );
        }
    }
    // The control: here the findings differ between instances, so a
    // batch that gave every instance the first one's would fail above.
    let host = host_with_a_repeated_bind();
    let one = host
        .lint(ProfileKind::Server, Some(&"1".parse().unwrap()))
        .unwrap();
    let two = host
        .lint(ProfileKind::Server, Some(&"2".parse().unwrap()))
        .unwrap();
    assert_ne!(one, two);
    assert!(
        format!("{one:?}").contains("/var/lib/left4me/runtime/1 "),
        "{one:?}"
    );
}
