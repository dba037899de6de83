//! The differential oracle: the model's reading of unit files against
//! real systemd 257's, on a seeded corpus of generated drop-in sets.
//!
//! Each case is a unit (a plain service or an instance of a template) with
//! a fragment somewhere on the search path and drop-ins scattered over the
//! directories that apply to it (its own, its template's, dash-prefix
//! ones, type-wide `service.d/`, in `/etc`, `/run`, `/usr/local/lib`,
//! `/usr/lib`), some masked, some hidden or misnamed, written with random
//! directives, values (valid, odd and invalid), resets, comments,
//! continuations, stray whitespace, CRs and junk lines. The whole corpus
//! is staged in the oracle root and dumped by `systemd --test`; every unit
//! is loaded by [`dropin::load`] from the same tree, and every directive
//! the dump shows is compared. Any disagreement fails the test, printing
//! the unit, the directive and the files that unit reads.
//!
//! The five directives the dump has no line for (`NoNewPrivileges=`,
//! `PrivateIPC=`, `SystemCallLog=`, `RestrictAddressFamilies=`,
//! `RemoveIPC=`) are asked of a booted systemd 257 manager instead
//! (`booted`), for the first `LEFT4ME_DIFF_BOOTED` (default 500) cases.
//! A disagreement prints a reproducer minimised by delta debugging on
//! files and lines against systemd itself (`minimise`). The registry's
//! merge rules and shared storage, and the compositions built with them,
//! are checked against the dump too (`merge`).
//!
//! Bounded: `LEFT4ME_DIFF_CASES` (default 2,000) cases, seed
//! `LEFT4ME_DIFF_SEED` (decimal or `0x` hex; a bad value fails the run;
//! every run prints its seed); `scripts/differential` runs longer
//! corpora.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use dropin::load::{self, LoadOptions, LoadState, MemFs};
use dropin::{
    ArchList, BindList, CapabilityList, Directive, Effective, ErrnoAction, PathList,
    RestrictNamespaces, SocketBind, SyscallFilter, TmpfsList,
};
use systemd_oracle::{Oracle, Tree, UnitDump};

mod booted;
mod merge;
mod minimise;

/// The negative control's model: systemd's search path without
/// `/run/systemd/system`, so it misses every unit and drop-in there.
fn blind_to_run() -> LoadOptions {
    LoadOptions {
        search_path: LoadOptions::default()
            .search_path
            .into_iter()
            .filter(|p| p != "/run/systemd/system")
            .collect(),
    }
}

/// SplitMix64: a small seeded generator, so a case can be reproduced from
/// its seed alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const ROOTS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// Values that exercise each kind beyond the model's own samples: other
/// spellings, bases, specifiers, junk.
fn odd_values(d: Directive) -> Vec<String> {
    let kind = d.spec().kind;
    let mut v: Vec<String> = kind.samples().iter().map(|s| (*s).to_owned()).collect();
    let extra: &[&str] = match kind {
        dropin::Kind::Bool => &["yes", "NO", "On", "0", "maybe", "true false"],
        dropin::Kind::UMask => &["27", "0o27", "1777", "8", "-22", "077"],
        dropin::Kind::Capabilities => &[
            "~",
            "CAP_BOGUS",
            "cap_chown CAP_KILL",
            "~CAP_KILL",
            "12 cap_net_raw",
            "'CAP_CHOWN CAP_KILL'",
            "~cap_sys_admin 63",
        ],
        dropin::Kind::Paths => &[
            "/a//b/ -/c/./d",
            "relative /ok",
            "+/root/x",
            "/srv/%i/%I",
            "/srv/%n %p",
            "/srv/%Q /srv/b",
            "\"/with space\" /x",
            "/a/../b",
            "/100%%",
        ],
        dropin::Kind::Tmpfs => &["/a:ro /b", "/srv/%i:mode=0700", "relative", "/x: /y", "/%Q"],
        dropin::Kind::Binds => &[
            "/a:/b:norbind -/c",
            "/a:/b:bogus /d",
            "/a:",
            "/a  /b",
            "/srv/%i:/run/%I",
            "-/x:/y:rbind /z:relative",
            "/%Q:/b /c",
            "/a::/b",
        ],
        dropin::Kind::Architectures => &["native", "x86 x86-64", "i386 native", "arm64 bogus"],
        dropin::Kind::Syscalls => &[
            "~@debug",
            "@system-service",
            "@nope read",
            "ptrace:EPERM",
            "~ptrace:EPERM mount:kill",
            "~@mount @privileged",
            "bogus_call write",
            "~socketcall",
            "read\\",
        ],
        dropin::Kind::SyscallLog => &["@privileged", "~@debug ptrace"],
        dropin::Kind::Errno => &[
            "EPERM",
            "eperm",
            "1",
            "EWOULDBLOCK",
            "0",
            "4096",
            "kill",
            "EBOGUS",
        ],
        dropin::Kind::AddressFamilies => &["AF_INET", "~AF_PACKET", "none", "AF_LOCAL"],
        dropin::Kind::Namespaces => &[
            "yes",
            "no",
            "net",
            "~net uts",
            "time",
            "~time",
            "bogus",
            "net bogus",
            "user ipc",
        ],
        dropin::Kind::SocketBind => &[
            "udp:027015",
            "tcp:0x10",
            "0o17",
            "ipv4",
            "tcp",
            "ipv6:udp:1-100",
            "100-1",
            "ipv4::80",
            "80-",
            "UDP:53",
            "65536",
        ],
        _ => &["bogus", "Yes", "no"],
    };
    v.extend(extra.iter().map(|s| (*s).to_owned()));
    v
}

/// One assignment line (without its end), sometimes odd.
fn assignment(rng: &mut Rng) -> String {
    match rng.below(40) {
        0 => return "Bogus=1".to_owned(),
        1 => return "X-Mine=whatever".to_owned(),
        2 => return "no equals sign".to_owned(),
        3 => return "=value".to_owned(),
        4 => return "Description=a \\\\".to_owned(),
        5 => return "ReadWriteDirectories=/srv/alias".to_owned(),
        _ => {}
    }
    let d = *rng.pick(Directive::ALL);
    let value = if rng.chance(12) {
        String::new()
    } else {
        rng.pick(&odd_values(d)).clone()
    };
    let value = match rng.below(12) {
        0 => format!("  {value}  "),
        1 => format!("{value}\u{a0}"),
        2 => value.replace(' ', "   "),
        _ => value,
    };
    let eq = if rng.chance(10) { " = " } else { "=" };
    format!("{}{eq}{value}", d.name())
}

/// A unit file or drop-in: sections, assignments, comments, continuations.
fn file_text(rng: &mut Rng, lines: usize, fragment: bool) -> Vec<u8> {
    let mut out = String::new();
    let mut raw_junk: Option<Vec<u8>> = None;
    let eol = if rng.chance(5) { "\r\n" } else { "\n" };
    if fragment {
        write!(
            out,
            "[Unit]{eol}Description=case{eol}[Service]{eol}ExecStart=/bin/true{eol}"
        )
        .unwrap();
    } else if rng.chance(95) {
        write!(out, "[Service]{eol}").unwrap();
    }
    for _ in 0..lines {
        match rng.below(30) {
            0 => write!(out, "# a comment{eol}").unwrap(),
            1 => write!(out, "; another{eol}").unwrap(),
            2 => write!(out, "{eol}").unwrap(),
            3 => write!(out, "[Unit]{eol}Description=x{eol}[Service]{eol}").unwrap(),
            4 => write!(out, "[X-Mine]{eol}Foo=bar{eol}[Service]{eol}").unwrap(),
            5 => write!(out, "[Bogus]{eol}UMask=0000{eol}[Service]{eol}").unwrap(),
            6 => {
                // A continuation, with a comment inside.
                let a = assignment(rng);
                let (k, v) = a.split_once('=').unwrap_or((&a, ""));
                write!(out, "{k}={v} \\{eol}# inside{eol}  {v}{eol}").unwrap();
            }
            7 => {
                // An even number of trailing backslashes: no continuation.
                write!(out, "Description=C:\\\\{eol}UMask=0077{eol}").unwrap();
            }
            8 => write!(out, "  {}{eol}", assignment(rng)).unwrap(),
            9 if rng.chance(30) => {
                // Bytes the lexer must treat as systemd does: a lone CR, a
                // NUL, invalid UTF-8, a non-character, a BOM, a bad header.
                let junk: &[&[u8]] = &[
                    b"UMask=0007\rProcSubset=pid",
                    b"UMask=0007\0ProcSubset=pid",
                    b"Description=\xff\xfe",
                    "Description=\u{fdd0}".as_bytes(),
                    b"\xef\xbb\xbfUMask=0070",
                    b"# \xff comment",
                    b"[Service] trailing",
                    b"[Ser\"vice]",
                    b"[Service",
                ];
                let pick = rng.below(junk.len());
                raw_junk = Some(junk[pick].to_vec());
            }
            _ => write!(out, "{}{eol}", assignment(rng)).unwrap(),
        }
    }
    if rng.chance(5) {
        // No line end at the end of the file.
        out.push_str(&assignment(rng));
    }
    let mut bytes = out.into_bytes();
    if let Some(junk) = raw_junk {
        // The junk as raw bytes (the text above carries a lossy copy).
        bytes.extend_from_slice(&junk);
        bytes.extend_from_slice(b"\nUMask=0777\n");
    }
    if rng.chance(1) {
        // A line of 1 MiB: systemd stops reading the file there.
        bytes.extend(std::iter::repeat_n(b'x', 1024 * 1024));
        bytes.extend_from_slice(b"\nUMask=0700\n");
    }
    bytes
}

/// One generated case: a unit and the files around it.
struct Case {
    unit: String,
    files: Vec<(String, Node)>,
}

#[derive(Clone)]
enum Node {
    File(Vec<u8>),
    Symlink(String),
}

fn case(rng: &mut Rng, i: usize) -> Case {
    let template = rng.chance(50);
    let base = format!("c{i}-srv");
    let (unit, fragment_name) = if template {
        let inst = *rng.pick(&["1", "2", "a-b", "x\\x2dy"]);
        (format!("{base}@{inst}.service"), format!("{base}@.service"))
    } else {
        (format!("{base}.service"), format!("{base}.service"))
    };
    let mut files = Vec::new();
    let root = *rng.pick(ROOTS);
    let lines = rng.below(6);
    files.push((
        format!("{root}/{fragment_name}"),
        Node::File(file_text(rng, lines, true)),
    ));
    // Directories that apply to the unit.
    let mut dir_names = vec![format!("{unit}.d"), format!("c{i}-.service.d")];
    if template {
        dir_names.push(format!("{fragment_name}.d"));
        let inst = unit.split_once('@').map(|(_, r)| r).unwrap_or("");
        dir_names.push(format!("c{i}-@{inst}.d"));
        dir_names.push(format!("c{i}-@.service.d"));
    }
    let names = [
        "10-a.conf",
        "20-b.conf",
        "10-a.conf",
        "05-c.conf",
        ".hidden.conf",
        "x.conf~",
        "note.txt",
    ];
    for _ in 0..rng.below(5) {
        let dir = format!("{}/{}", rng.pick(ROOTS), rng.pick(&dir_names));
        let name = *rng.pick(&names);
        let path = format!("{dir}/{name}");
        let node = match rng.below(20) {
            0 => Node::Symlink("/dev/null".to_owned()),
            1 => Node::File(Vec::new()),
            _ => {
                let lines = rng.below(8);
                Node::File(file_text(rng, lines, false))
            }
        };
        files.push((path, node));
    }
    if rng.chance(3) {
        files.push((
            format!("{}/{fragment_name}", ROOTS[0]),
            Node::Symlink("/dev/null".to_owned()),
        ));
    }
    if rng.chance(8) {
        // An alias whose drop-ins apply to the unit too.
        let alias = if template {
            format!("c{i}-alias@.service")
        } else {
            format!("c{i}-alias.service")
        };
        files.push((
            format!("{}/{alias}", ROOTS[0]),
            Node::Symlink(format!("{root}/{fragment_name}")),
        ));
        let unit_alias = if template {
            unit.replacen("-srv@", "-alias@", 1)
        } else {
            alias.clone()
        };
        let lines = rng.below(4) + 1;
        files.push((
            format!("{}/{unit_alias}.d/30-alias.conf", rng.pick(ROOTS)),
            Node::File(file_text(rng, lines, false)),
        ));
    }
    if rng.chance(6) {
        // A drop-in directory that is a link to another directory.
        let target = format!("/srv/c{i}-dir");
        let lines = rng.below(4) + 1;
        files.push((
            format!("{target}/40-linked.conf"),
            Node::File(file_text(rng, lines, false)),
        ));
        let link = if rng.chance(50) {
            target.clone()
        } else {
            format!("../../../srv/c{i}-dir")
        };
        files.push((format!("{}/{unit}.d", ROOTS[0]), Node::Symlink(link)));
    }
    if rng.chance(6) {
        // A drop-in that is a link, absolute or relative, or dangling.
        let target = format!("/srv/c{i}-file.conf");
        let lines = rng.below(4) + 1;
        files.push((target.clone(), Node::File(file_text(rng, lines, false))));
        let link = match rng.below(3) {
            0 => target,
            1 => format!("../../../../srv/c{i}-file.conf"),
            _ => "/nowhere.conf".to_owned(),
        };
        files.push((
            format!("{}/{unit}.d/60-link.conf", rng.pick(ROOTS)),
            Node::Symlink(link),
        ));
    }
    if rng.chance(4) {
        // A directory with a drop-in's name.
        files.push((
            format!("{}/{unit}.d/70.conf/x", rng.pick(ROOTS)),
            Node::File(b"x".to_vec()),
        ));
    }
    if template && rng.chance(8) {
        // The instance's own fragment beside the template's.
        let lines = rng.below(4);
        files.push((
            format!("{}/{unit}", rng.pick(ROOTS)),
            Node::File(file_text(rng, lines, true)),
        ));
    }
    Case { unit, files }
}

/// The corpus of one systemd call: cases, plus a type-wide drop-in that
/// applies to all of them.
fn corpus(seed: u64, first: usize, count: usize) -> (Vec<Case>, BTreeMap<String, Node>) {
    let mut rng = Rng(seed ^ (first as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let cases: Vec<Case> = (first..first + count).map(|i| case(&mut rng, i)).collect();
    let mut tree: BTreeMap<String, Node> = BTreeMap::new();
    for c in &cases {
        for (p, n) in &c.files {
            tree.insert(p.clone(), n.clone());
        }
    }
    let lines = rng.below(4);
    tree.insert(
        format!("{}/service.d/50-all.conf", rng.pick(ROOTS)),
        Node::File(file_text(&mut rng, lines, false)),
    );
    // Nothing can be staged below a link.
    let links: Vec<String> = tree
        .iter()
        .filter(|(_, n)| matches!(n, Node::Symlink(_)))
        .map(|(p, _)| format!("{p}/"))
        .collect();
    tree.retain(|p, _| !links.iter().any(|l| p.starts_with(l.as_str())));
    (cases, tree)
}

/// The seed a run's corpus comes from when `LEFT4ME_DIFF_SEED` is unset.
const DEFAULT_SEED: u64 = 0x1eff_4e4e;

/// A number as `LEFT4ME_DIFF_*` variables take it: decimal, or hex after
/// `0x`; `_` may group digits.
fn parse_number(text: &str) -> Result<u64, String> {
    let t = text.trim().replace('_', "");
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map_err(|e| format!("{text:?} is not a decimal or 0x-hex number: {e}"))
}

/// The number in environment variable `name`, `default` if it is unset;
/// a value that is not a number fails the run, naming it (a silent
/// default would run another corpus than the one asked for).
fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Err(std::env::VarError::NotPresent) => default,
        Err(e) => panic!("{name}: {e}"),
        Ok(v) => parse_number(&v).unwrap_or_else(|e| panic!("{name}: {e}")),
    }
}

/// This run's seed, printed so that a failure can be replayed.
fn run_seed() -> u64 {
    let seed = env_number("LEFT4ME_DIFF_SEED", DEFAULT_SEED);
    eprintln!("differential seed {seed:#x} (replay with LEFT4ME_DIFF_SEED={seed:#x})");
    seed
}

#[test]
fn the_corpus_numbers_parse_as_decimal_or_hex_and_nothing_else() {
    assert_eq!(parse_number("0x1eff4e4e"), Ok(0x1eff_4e4e));
    assert_eq!(parse_number("0X1EFF_4E4E"), Ok(0x1eff_4e4e));
    assert_eq!(parse_number("2000"), Ok(2000));
    assert_eq!(parse_number(" 1765000000 "), Ok(1_765_000_000));
    assert_eq!(parse_number("18446744073709551615"), Ok(u64::MAX));
    for bad in [
        "",
        "0x",
        "0xzz",
        "12ab",
        "-1",
        "1e3",
        "0o17",
        "18446744073709551616",
    ] {
        let e = parse_number(bad).unwrap_err();
        assert!(e.contains(&format!("{bad:?}")), "{e}");
    }
}

/// What the dump shows for `d`, from the model's settings; `None` for
/// directives the dump never shows (those are asked of the booted manager:
/// [`booted::SHOWN`]).
fn expected(d: Directive, e: &Effective) -> Option<Vec<String>> {
    let caps = |mask: u64| -> String {
        // systemd prints the capabilities up to the running kernel's last
        // (this kernel's is the last systemd 257 names).
        let names: Vec<String> = (0..=dropin::identity::last_named_capability())
            .filter(|b| mask & (1 << b) != 0)
            .map(|b| dropin::identity::capability_name(b).to_ascii_lowercase())
            .collect();
        names.join(" ")
    };
    Some(match d {
        Directive::NoNewPrivileges
        | Directive::PrivateIpc
        | Directive::SystemCallLog
        | Directive::RestrictAddressFamilies
        | Directive::RemoveIpc => return None,
        Directive::CapabilityBoundingSet => {
            let mask = *e.get::<CapabilityList>(d).unwrap();
            if mask == u64::MAX {
                vec![]
            } else {
                vec![caps(mask)]
            }
        }
        Directive::AmbientCapabilities => {
            let mask = *e.get::<CapabilityList>(d).unwrap();
            if mask == 0 { vec![] } else { vec![caps(mask)] }
        }
        Directive::ReadOnlyPaths | Directive::ReadWritePaths => {
            let items = e.get::<PathList>(d).unwrap();
            if items.is_empty() {
                vec![]
            } else {
                vec![items.join(" ")]
            }
        }
        Directive::TemporaryFileSystem => e
            .get::<TmpfsList>(d)
            .unwrap()
            .iter()
            .map(|t| {
                if t.options.is_empty() {
                    t.path.clone()
                } else {
                    format!("{}:{}", t.path, t.options)
                }
            })
            .collect(),
        Directive::BindPaths | Directive::BindReadOnlyPaths => {
            let ro = d == Directive::BindReadOnlyPaths;
            e.get::<BindList>(d)
                .unwrap()
                .iter()
                .filter(|b| b.read_only == ro)
                .map(|b| {
                    format!(
                        "{}{}:{}:{}",
                        if b.ignore_missing { "-" } else { "" },
                        b.source,
                        b.destination,
                        if b.recursive { "rbind" } else { "norbind" }
                    )
                })
                .collect()
        }
        Directive::SystemCallArchitectures => {
            let a = e.get::<ArchList>(d).unwrap();
            if a.is_empty() {
                vec![]
            } else {
                vec![a.iter().cloned().collect::<Vec<_>>().join(" ")]
            }
        }
        Directive::SystemCallFilter => match e.get::<SyscallFilter>(d).unwrap() {
            None => vec![],
            Some(f) => {
                let mut words: Vec<String> = f
                    .calls
                    .iter()
                    .map(|(c, errno)| match errno {
                        Some(e) => format!("{c}:{e}"),
                        None => c.to_string(),
                    })
                    .collect();
                words.sort();
                let mut line = if f.allow_list {
                    String::new()
                } else {
                    "~".to_owned()
                };
                line.push_str(&words.join(" "));
                vec![line]
            }
        },
        Directive::SystemCallErrorNumber => {
            vec![
                e.get::<ErrnoAction>(d)
                    .unwrap()
                    .clone()
                    .unwrap_or_else(|| "kill".to_owned()),
            ]
        }
        Directive::SocketBindAllow | Directive::SocketBindDeny => {
            let rules: Vec<String> = e
                .get::<SocketBind>(d)
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect();
            if rules.is_empty() {
                vec![]
            } else {
                vec![rules.join(" ")]
            }
        }
        Directive::RestrictNamespaces => match e.get::<RestrictNamespaces>(d).unwrap() {
            None => vec![],
            Some(0) => vec!["n/a".to_owned()],
            Some(_) => {
                let l = e.lines(d);
                if l == ["no"] { vec![] } else { l }
            }
        },
        _ => e.lines(d),
    })
}

/// The dump's lines for `d`, normalised as the oracle crate does.
fn shown(d: Directive, dump: &UnitDump) -> Vec<String> {
    dump.normalized()
        .into_iter()
        .filter(|(k, _)| k == d.name())
        .map(|(_, v)| v)
        .collect()
}

fn state_name(s: LoadState) -> &'static str {
    match s {
        LoadState::Loaded => "loaded",
        LoadState::NotFound => "not-found",
        LoadState::Masked => "masked",
        LoadState::Error => "error",
    }
}

/// Every file of the tree the unit's name or prefix appears in: what a
/// reader needs to reproduce a case.
fn case_files(c: &Case, tree: &BTreeMap<String, Node>) -> Vec<minimise::File> {
    let stem = c.unit.split(['@', '.']).next().unwrap_or(&c.unit);
    let prefix = format!("{}-", stem.split('-').next().unwrap_or(stem));
    tree.iter()
        .filter(|(p, _)| p.contains(&prefix) || p.contains("/service.d/"))
        .map(|(p, n)| (p.clone(), n.clone()))
        .collect()
}

/// `files` staged for the oracle and for the model.
fn stage(files: &[minimise::File]) -> (Tree, MemFs) {
    let mut staged = Tree::new();
    let mut fs = MemFs::new();
    fs.special("/dev/null");
    for (p, n) in files {
        match n {
            Node::File(b) => {
                staged.file(p, b);
                fs.file(p, b.clone());
            }
            Node::Symlink(t) => {
                staged.symlink(p, t);
                fs.symlink(p, t);
            }
        }
    }
    (staged, fs)
}

/// What a disagreement is about: the directive, `load state`, `log:
/// systemd only`, `log: ours only`, or `missing` (systemd did not load
/// the unit).
fn class(diff: &str) -> String {
    match diff.strip_prefix("log: ") {
        Some(rest) => format!("log: {}", rest.split(':').next().unwrap_or("")),
        None => diff.split(':').next().unwrap_or("").to_owned(),
    }
}

/// The classes of the disagreements of `unit` read from `files` alone.
fn classes_of(oracle: &Oracle, unit: &str, files: &[minimise::File]) -> Vec<String> {
    let (staged, fs) = stage(files);
    let Ok(dump) = oracle.dump(&staged, &[unit]) else {
        return vec!["oracle failed".to_owned()];
    };
    let ours = load::load(&fs, unit, &LoadOptions::default());
    match dump.unit(unit) {
        None => vec!["missing".to_owned()],
        Some(theirs) => disagreements(&ours, theirs, &mut 0, &mut 0)
            .iter()
            .map(|d| class(d))
            .collect(),
    }
}

/// How many disagreements a failing run prints (each minimised).
const SHOWN_FAILURES: usize = 5;

/// How many questions to systemd one minimisation may ask.
const MINIMISE_BUDGET: usize = 150;

/// The files of a disagreement of `unit` about `class`, minimised by
/// delta debugging on files and lines against systemd 257 itself, as a
/// reproducer to print.
fn minimal_reproducer(unit: &str, files: &[minimise::File], class: &str) -> String {
    let oracle = Oracle::get().unwrap();
    let mut fails = |f: &[minimise::File]| classes_of(oracle, unit, f).iter().any(|c| c == class);
    if !fails(files) {
        return format!(
            "reproducer (the disagreement needs more than these files; not minimised):\n{}",
            minimise::show(files)
        );
    }
    let (min, asked) = minimise::minimise(files, &mut fails, MINIMISE_BUDGET);
    format!(
        "minimised reproducer of the {class} disagreement ({} of {} files, {asked} systemd runs):\n{}",
        min.len(),
        files.len(),
        minimise::show(&min)
    )
}

/// Where the model's load of a unit and systemd's dump of it disagree:
/// load state, every directive the dump shows, and what systemd logged
/// about the unit's files.
fn disagreements(
    ours: &load::Loaded,
    theirs: &UnitDump,
    directives: &mut usize,
    logged: &mut usize,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let their_state = format!("{:?}", theirs.load_state())
        .to_lowercase()
        .replace('_', "-");
    let our_state = state_name(ours.state).replace('-', "");
    if their_state.replace('-', "") != our_state {
        diffs.push(format!(
            "load state: ours {}, systemd's {their_state}",
            state_name(ours.state)
        ));
    } else if ours.state == LoadState::Loaded {
        for d in Directive::ALL {
            let Some(want) = expected(*d, &ours.effective) else {
                continue;
            };
            *directives += 1;
            let got = shown(*d, theirs);
            if got != want {
                diffs.push(format!("{d}: ours {want:?}, systemd's {got:?}"));
            }
        }
    }
    if ours.state == LoadState::Loaded {
        // What systemd logged about this unit's files, against what
        // the model says systemd would log.
        // Sets: a file may make systemd log 100,000 lines.
        let theirs_log: std::collections::BTreeSet<String> = theirs
            .log()
            .iter()
            .filter(|l| l.file.is_some())
            .map(|l| l.text.clone())
            .collect();
        let ours_log: std::collections::BTreeSet<String> = ours
            .diagnostics
            .iter()
            .filter(|d| d.line > 0 && d.level != dropin::Level::Note)
            .map(ToString::to_string)
            .collect();
        *logged += theirs_log.len();
        for l in theirs_log.iter().filter(|l| !ours_log.contains(*l)) {
            diffs.push(format!("log: systemd only: {l}"));
        }
        for l in ours_log.iter().filter(|l| !theirs_log.contains(*l)) {
            diffs.push(format!("log: ours only: {l}"));
        }
    }
    diffs
}

#[test]
fn the_model_reads_units_as_systemd_257_does() {
    let cases = usize::try_from(env_number("LEFT4ME_DIFF_CASES", 2000)).unwrap();
    let seed = run_seed();
    let oracle = Oracle::get().unwrap();
    let per_tree = PER_TREE;
    let mut compared = 0usize;
    let mut directives = 0usize;
    let mut logged = 0usize;
    let mut control = 0usize;
    let mut failures: Vec<String> = Vec::new();
    // The first failures' unit, files and class, minimised at the end.
    let mut to_minimise: Vec<(String, Vec<minimise::File>, String)> = Vec::new();
    let start = std::time::Instant::now();
    for first in (0..cases).step_by(per_tree) {
        let count = per_tree.min(cases - first);
        let (batch, tree) = corpus(seed, first, count);
        let mut staged = Tree::new();
        let mut fs = MemFs::new();
        fs.special("/dev/null");
        for (p, n) in &tree {
            match n {
                Node::File(b) => {
                    staged.file(p, b);
                    fs.file(p, b.clone());
                }
                Node::Symlink(t) => {
                    staged.symlink(p, t);
                    fs.symlink(p, t);
                }
            }
        }
        let units: Vec<&str> = batch.iter().map(|c| c.unit.as_str()).collect();
        let dump = oracle.dump(&staged, &units).unwrap();
        for c in &batch {
            let ours = load::load(&fs, &c.unit, &LoadOptions::default());
            let Some(theirs) = dump.unit(&c.unit) else {
                failures.push(format!("{}: systemd did not load it at all", c.unit));
                if to_minimise.len() < SHOWN_FAILURES {
                    to_minimise.push((c.unit.clone(), case_files(c, &tree), "missing".to_owned()));
                }
                continue;
            };
            compared += 1;
            let diffs = disagreements(&ours, theirs, &mut directives, &mut logged);
            if first == 0 {
                // Negative control: a model that does not know
                // /run/systemd/system must disagree somewhere.
                let wrong = load::load(&fs, &c.unit, &blind_to_run());
                if !disagreements(&wrong, theirs, &mut 0, &mut 0).is_empty() {
                    control += 1;
                }
            }
            if !diffs.is_empty() {
                let files = case_files(c, &tree);
                failures.push(format!(
                    "{} ({} files read by us: {:?})\n  {}\n{}",
                    c.unit,
                    ours.dropins.len(),
                    ours.dropins,
                    diffs.join("\n  "),
                    minimise::show(&files)
                ));
                if to_minimise.len() < SHOWN_FAILURES {
                    to_minimise.push((c.unit.clone(), files, class(&diffs[0])));
                }
            }
        }
    }
    eprintln!(
        "differential: {compared} units, {directives} directive comparisons, {logged} logged \
         lines compared, {} disagreements, seed {seed:#x}, {:.1} s",
        failures.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        control > 0,
        "negative control: a model blind to /run/systemd/system agreed with systemd on every unit"
    );
    eprintln!("negative control: the blind model disagrees on {control} units");
    assert!(
        compared >= cases,
        "only {compared} of {cases} units were compared"
    );
    if let Ok(path) = std::env::var("LEFT4ME_DIFF_REPORT") {
        std::fs::write(path, failures.join("\n\n")).unwrap();
    }
    if !failures.is_empty() {
        let mut classes: BTreeMap<String, usize> = BTreeMap::new();
        for f in &failures {
            for l in f.lines().filter(|l| l.starts_with("  ")) {
                let t = l.trim();
                let class = if t.starts_with("log:") {
                    // The message without file, line and values.
                    let msg = t.splitn(3, ": ").nth(2).unwrap_or("");
                    let msg = msg.split_once(": ").map_or(msg, |(_, m)| m);
                    format!(
                        "{} {}",
                        &t[..t.find(" only").unwrap_or(0) + 5],
                        msg.split(['\'', ',']).next().unwrap_or("")
                    )
                } else {
                    t.split(':').next().unwrap_or("").to_owned()
                };
                *classes.entry(class).or_default() += 1;
            }
        }
        eprintln!("disagreements by directive: {classes:?}");
        let shown: Vec<String> = failures
            .iter()
            .zip(&to_minimise)
            .map(|(f, (unit, files, class))| {
                let head = f.split("\n--- ").next().unwrap_or(f);
                format!("{head}\n{}", minimal_reproducer(unit, files, class))
            })
            .collect();
        panic!(
            "{} of {compared} units disagree with systemd 257 (seed {seed:#x}; first {}):\n\n{}",
            failures.len(),
            shown.len(),
            shown.join("\n\n")
        );
    }
}

/// Where the 10 MiB hostile row is cut (see its case).
const BIG_ROW_CUT: usize = 2 * 1024 * 1024;

/// Every file the project generates for its units, as the library
/// renders them: the standard host and the example host configuration,
/// each with and without comments (`--no-comments`), the template, web
/// and instances 1 and 2 (the sysctl file is not a unit file), by path
/// relative to `/etc/systemd/system` with `P-` for the unit family.
fn generated_variants() -> Vec<(String, Files)> {
    use dropin::Instance;
    use left4me_hardening::Host;
    let example = format!(
        "{}/../../examples/host-config.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let hosts = [
        ("standard host", Host::standard().unwrap()),
        (
            "examples/host-config.toml",
            left4me_hardening::config::load(std::path::Path::new(&example)).unwrap(),
        ),
    ];
    let instances = [Instance::new("1").unwrap(), Instance::new("2").unwrap()];
    let mut out = Vec::new();
    for (host_name, host) in &hosts {
        for comments in [true, false] {
            let files = host
                .files(&instances, dropin::RenderOptions { comments })
                .unwrap();
            let mut mine: Files = Vec::new();
            for g in files {
                let Some(rel) = g.path.strip_prefix("etc/systemd/system/") else {
                    // The sysctl.d file.
                    assert!(g.path.starts_with("etc/sysctl.d/"), "{}", g.path);
                    continue;
                };
                let rel = rel
                    .strip_prefix("left4me-")
                    .unwrap_or_else(|| panic!("{}: not a left4me unit's file", g.path));
                mine.push((format!("P-{rel}"), g.text.into_bytes()));
            }
            assert_eq!(mine.len(), 4, "{host_name}: template, web, two instances");
            let variant = if comments {
                "with comments"
            } else {
                "--no-comments"
            };
            out.push((format!("generated files: {host_name}, {variant}"), mine));
        }
    }
    out
}

/// Installed files with lines at systemd's `LONG_LINE_MAX`, each with a
/// setting after the long line (`ProtectSystem=full`) that is read only
/// if the file is read past it: a line one byte short of the limit, a
/// line at it, a last line at it without a line end, and continued lines
/// whose joined length is at the limit and one byte over it. The second
/// value says whether the setting after the long line is read.
fn long_line_rows() -> Vec<(String, Vec<u8>, bool)> {
    const MAX: usize = dropin::lexer::LONG_LINE_MAX;
    // `ptrace ` words, padded with spaces to `len` bytes (system calls go
    // to a set: cheap for systemd to read however many there are).
    let words = |len: usize| -> Vec<u8> {
        let mut w = b"ptrace ".repeat(len / 7);
        w.resize(len, b' ');
        w
    };
    let filter = |len: usize| -> Vec<u8> {
        let mut line = b"SystemCallFilter=~".to_vec();
        let n = len - line.len();
        line.extend(words(n));
        line
    };
    let file = |body: Vec<u8>, end: bool| -> Vec<u8> {
        let mut f = b"[Service]\nProtectHome=yes\nProtectSystem=full\n".to_vec();
        f.extend(body);
        if end {
            f.extend_from_slice(b"\nProtectSystem=yes\nUMask=0077\n");
        }
        f
    };
    // A line ending in a backslash (systemd joins it with a space in its
    // place), then one of `rest` bytes: `MAX / 2 + 1 + rest` joined.
    let continued = |rest: usize| -> Vec<u8> {
        let mut l = filter(MAX / 2);
        l.extend_from_slice(b"\\\n");
        l.extend(words(rest));
        l
    };
    vec![
        (
            "a line of LONG_LINE_MAX - 1 bytes".to_owned(),
            file(filter(MAX - 1), true),
            true,
        ),
        (
            "a line of LONG_LINE_MAX bytes".to_owned(),
            file(filter(MAX), true),
            false,
        ),
        (
            "a last line of LONG_LINE_MAX bytes without a line end".to_owned(),
            file(filter(MAX), false),
            false,
        ),
        (
            "continued lines of LONG_LINE_MAX bytes joined".to_owned(),
            file(continued(MAX - MAX / 2 - 1), true),
            true,
        ),
        (
            "continued lines of LONG_LINE_MAX + 1 bytes joined".to_owned(),
            file(continued(MAX - MAX / 2), true),
            false,
        ),
    ]
}

/// The cases of one oracle call (and of one reload of the booted
/// manager): a batch shares a type-wide drop-in.
const PER_TREE: usize = 250;

/// The five directives the test mode dump never prints, asked of a booted
/// systemd 257 manager (see [`booted`]) for the first cases of the same
/// seeded corpus, batch by batch as the test mode run stages them (one
/// boot for the run): no disagreement, each directive seen set otherwise
/// than by default, and a model with one deliberately wrong value per
/// directive caught.
#[test]
fn the_booted_manager_shows_what_the_model_reads() {
    let seed = run_seed();
    // A reload of 250 cases takes the manager about 6 s: the first 500
    // cases of the corpus by default, `LEFT4ME_DIFF_BOOTED` for more.
    let cases = usize::try_from(env_number("LEFT4ME_DIFF_BOOTED", 500)).unwrap();
    let manager = booted::Booted::boot(&format!("l4m-diff-{}", std::process::id()));
    let mut compared = 0usize;
    let mut set = BTreeMap::<&str, usize>::new();
    let mut caught = BTreeMap::<&str, usize>::new();
    let mut failures = Vec::new();
    for first in (0..cases).step_by(PER_TREE) {
        let (batch, tree) = corpus(seed, first, PER_TREE.min(cases - first));
        let files: Vec<minimise::File> = tree.iter().map(|(p, n)| (p.clone(), n.clone())).collect();
        let (_, fs) = stage(&files);
        let units: Vec<&str> = batch.iter().map(|c| c.unit.as_str()).collect();
        let shown = manager.show(&files, &units, ROOTS);
        for (c, props) in batch.iter().zip(&shown) {
            assert_eq!(props.get("Id").map(String::as_str), Some(c.unit.as_str()));
            let ours = load::load(&fs, &c.unit, &LoadOptions::default());
            let diffs = booted::disagreements(&ours, props, &mut compared, &mut set, &mut caught);
            if !diffs.is_empty() {
                let files = case_files(c, &tree);
                failures.push((c.unit.clone(), files, diffs));
            }
        }
    }
    // The five's merge rules as the manager applies them: seeded
    // sequences of their values and resets, written one line each, and
    // composed by the library (one layer per step) and by deliberately
    // wrong rules.
    // "booted", so that the sequences draw apart from the corpus.
    let mut rng = Rng(seed ^ 0x626f_6f74_6564);
    let mut seq = merge::Batch::default();
    let mut sequences = Vec::new();
    for d in booted::SHOWN {
        let choices = merge::choices(&[*d]);
        for _ in 0..BOOTED_SEQUENCES {
            let len = 1 + rng.below(6);
            let steps: Vec<merge::Step> = (0..len).map(|_| rng.pick(&choices).clone()).collect();
            let k = sequences.len();
            let raw = seq.unit(format!("b{k}-raw.service"), &merge::raw(&steps));
            let text = merge::composed(&steps);
            let composed = seq.unit(format!("b{k}-composed.service"), &text);
            let wrong: Vec<(merge::Wrong, String)> = merge::Wrong::ALL
                .iter()
                .filter(|w| w.compose(&steps) != text)
                .map(|w| {
                    let u = format!("b{k}-w{}.service", *w as u8);
                    (*w, seq.unit(u, &w.compose(&steps)))
                })
                .collect();
            sequences.push((*d, steps, raw, composed, wrong));
        }
    }
    let names: Vec<&str> = seq.units.iter().map(String::as_str).collect();
    let props: BTreeMap<&str, booted::Props> = names
        .iter()
        .copied()
        .zip(manager.show(&seq.files, &names, ROOTS))
        .collect();
    let (_, seq_fs) = stage(&seq.files);
    let mut seq_failures = Vec::new();
    let mut wrong_caught = BTreeMap::<merge::Wrong, usize>::new();
    for (d, steps, raw, composed, wrong) in &sequences {
        let theirs = props[raw.as_str()]
            .get(d.name())
            .cloned()
            .unwrap_or_default();
        let ours = booted::expected(
            *d,
            &load::load(&seq_fs, raw, &LoadOptions::default()).effective,
        );
        let from_composed = props[composed.as_str()]
            .get(d.name())
            .cloned()
            .unwrap_or_default();
        if ours != theirs || from_composed != theirs {
            seq_failures.push(format!(
                "{steps:?}: the manager reads {theirs:?}, the model {ours:?}, the composition \
                 {from_composed:?}"
            ));
        }
        for (w, u) in wrong {
            if props[u.as_str()].get(d.name()) != Some(&theirs) {
                *wrong_caught.entry(*w).or_default() += 1;
            }
        }
    }
    eprintln!(
        "booted manager, merge rules: {} sequences, {} disagreements; wrong rules caught: \
         {wrong_caught:?}",
        sequences.len(),
        seq_failures.len()
    );
    assert!(seq_failures.is_empty(), "{}", seq_failures.join("\n"));
    // Lists of the five (SystemCallLog=, RestrictAddressFamilies=) as
    // last-wins, their resets ignored, booleans as first-wins: caught.
    for w in [
        merge::Wrong::ListLastWins,
        merge::Wrong::NoReset,
        merge::Wrong::SingleFirstWins,
    ] {
        assert!(
            wrong_caught.get(&w).copied().unwrap_or(0) > 0,
            "negative control: the wrong rule {w:?} was never caught by the manager"
        );
    }

    let mut report = Vec::new();
    for (unit, files, diffs) in failures.iter().take(SHOWN_FAILURES) {
        let first = class(&diffs[0]);
        let mut fails = |f: &[minimise::File]| {
            let props = manager.show(f, &[unit.as_str()], ROOTS);
            let (_, fs) = stage(f);
            let ours = load::load(&fs, unit, &LoadOptions::default());
            booted::disagreements(
                &ours,
                &props[0],
                &mut 0,
                &mut BTreeMap::new(),
                &mut BTreeMap::new(),
            )
            .iter()
            .any(|d| class(d) == first)
        };
        let (min, asked) = minimise::minimise(files, &mut fails, BOOTED_MINIMISE_BUDGET);
        report.push(format!(
            "{unit}:\n  {}\nminimised reproducer of the {first} disagreement ({} of {} files, \
             {asked} reloads):\n{}",
            diffs.join("\n  "),
            min.len(),
            files.len(),
            minimise::show(&min)
        ));
    }
    manager.poweroff();
    eprintln!(
        "booted manager: {cases} units, {compared} comparisons of {}, {} disagreements, seed \
         {seed:#x}; set otherwise than by default: {set:?}; a wrong model value caught on: \
         {caught:?}",
        booted::SHOWN.len(),
        failures.len()
    );
    assert!(
        report.is_empty(),
        "{} of {cases} units disagree with the booted systemd 257 manager (seed {seed:#x}; first \
         {}):\n\n{}",
        failures.len(),
        report.len(),
        report.join("\n\n")
    );
    for d in booted::SHOWN {
        assert!(
            set.get(d.name()).copied().unwrap_or(0) > 0,
            "no unit of the corpus sets {d} otherwise than by default: {set:?}"
        );
        assert!(
            caught.get(d.name()).copied().unwrap_or(0) > 0,
            "negative control: a wrong model value for {d} was never caught"
        );
    }
}

/// Sequences per directive of the five in the booted merge test.
const BOOTED_SEQUENCES: usize = 16;

/// How many reloads of the booted manager one minimisation may ask for.
const BOOTED_MINIMISE_BUDGET: usize = 60;

#[path = "../../../left4me-harden/tests/robustness/installed_rows.rs"]
#[allow(dead_code)]
mod installed_rows;

/// Files by path relative to `/etc/systemd/system`, `P-` standing for a
/// case's unit-family prefix.
type Files = Vec<(String, Vec<u8>)>;

/// A file of the repository, by its path from the workspace root.
fn repo_file(rel: &str) -> Vec<u8> {
    let path = format!("{}/../../{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The file a named snapshot locks (its text after insta's header).
fn snapshot_text(name: &str) -> Vec<u8> {
    let text = String::from_utf8(repo_file(&format!("snapshots/{name}.snap"))).unwrap();
    let body = text.splitn(3, "---\n").nth(2).unwrap();
    body.as_bytes().to_vec()
}

/// Every generated file, every installed-file fixture of the CLI tests and
/// every installed row of the hostile table, each on the test plan's base
/// units in a unit family of its own (`cN-server@.service`,
/// `cN-web.service`), read by the model and by systemd 257: no
/// disagreement.
#[test]
fn the_project_files_read_as_systemd_257_reads_them() {
    let server_unit =
        repo_file("crates/left4me-hardening/tests/fixtures/units/left4me-server@.service");
    let web_unit = repo_file("crates/left4me-hardening/tests/fixtures/units/left4me-web.service");
    let template = snapshot_text("server-template");
    let web = snapshot_text("web");
    let instance = |n: &str| snapshot_text(&format!("server@{n}"));
    // (name, files relative to /etc/systemd/system with `P-` for the
    // unit family's prefix)
    let mut cases: Vec<(String, Files)> = Vec::new();
    let standard = || {
        vec![
            (
                "P-server@.service.d/10-hardening.conf".to_owned(),
                template.clone(),
            ),
            (
                "P-server@1.service.d/10-hardening.conf".to_owned(),
                instance("1"),
            ),
            (
                "P-server@2.service.d/10-hardening.conf".to_owned(),
                instance("2"),
            ),
            ("P-web.service.d/10-hardening.conf".to_owned(), web.clone()),
        ]
    };
    // Only the template's drop-in replaced by `bytes`.
    let template_only = |bytes: Vec<u8>| -> Files {
        let mut files = standard();
        files.retain(|(p, _)| !p.starts_with("P-server@1") && !p.starts_with("P-server@2"));
        let at = "P-server@.service.d/10-hardening.conf".to_owned();
        files.retain(|(p, _)| *p != at);
        files.push((at, bytes));
        files
    };
    cases.push(("snapshotted generated files".to_owned(), standard()));
    cases.extend(generated_variants());
    let fixtures = format!(
        "{}/../left4me-harden/tests/fixtures/installed",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut names: Vec<String> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "README.md")
        .collect();
    names.sort();
    for name in names {
        let (target, _) = name.split_once('-').unwrap();
        let dir = match target {
            "server" => "P-server@.service.d".to_owned(),
            "web" => "P-web.service.d".to_owned(),
            t => format!("P-{t}.service.d"),
        };
        let mut files = standard();
        // A file for the template is what instances read only without
        // instance files of the same name.
        if target == "server" {
            files.retain(|(p, _)| !p.starts_with("P-server@1") && !p.starts_with("P-server@2"));
        }
        let path = format!("{fixtures}/{name}");
        if name.ends_with(".d") {
            for e in std::fs::read_dir(&path).unwrap() {
                let e = e.unwrap();
                let file = e.file_name().into_string().unwrap();
                files.push((format!("{dir}/{file}"), std::fs::read(e.path()).unwrap()));
            }
        } else {
            let at = format!("{dir}/10-hardening.conf");
            files.retain(|(p, _)| *p != at);
            files.push((at, std::fs::read(&path).unwrap()));
        }
        cases.push((format!("installed fixture {name}"), files));
    }
    for (name, bytes, _) in installed_rows::installed_rows() {
        // Every row is read whole but one: systemd 257 copies the path
        // list on every ReadOnlyPaths= line, so the 10 MiB row of 616,000
        // of them takes systemd alone 49 s (measured; 100,000 unknown keys
        // take it 0.4 s). That row is cut at a line end past 2 MiB: the same
        // lines, fewer of them, still over the tool's own 1 MiB read cap
        // and over LONG_LINE_MAX. Lines at LONG_LINE_MAX have rows of
        // their own below.
        let mut bytes = bytes;
        if bytes.len() > BIG_ROW_CUT {
            let cut = bytes[..BIG_ROW_CUT]
                .iter()
                .rposition(|b| *b == b'\n')
                .unwrap_or(0);
            bytes.truncate(cut + 1);
        }
        cases.push((
            format!("hostile installed file: {name}"),
            template_only(bytes),
        ));
    }
    // (case index, whether the line after the long line is read)
    let mut long_lines: Vec<(usize, bool)> = Vec::new();
    for (name, bytes, read_on) in long_line_rows() {
        long_lines.push((cases.len(), read_on));
        cases.push((
            format!("hostile installed file: {name}"),
            template_only(bytes),
        ));
    }

    let mut staged = Tree::new();
    let mut fs = MemFs::new();
    fs.special("/dev/null");
    // (unit, case name, index of its case)
    let mut units: Vec<(String, String, usize)> = Vec::new();
    let mut files_of: Vec<Vec<minimise::File>> = Vec::new();
    for (i, (name, files)) in cases.iter().enumerate() {
        let prefix = format!("c{i}-");
        let base = "/etc/systemd/system";
        let mut mine: Vec<minimise::File> = Vec::new();
        let mut put = |rel: &str, bytes: &[u8]| {
            let path = format!("{base}/{}", rel.replacen("P-", &prefix, 1));
            staged.file(&path, bytes);
            fs.file(&path, bytes.to_vec());
            mine.push((path, Node::File(bytes.to_vec())));
        };
        put("P-server@.service", &server_unit);
        put("P-web.service", &web_unit);
        for (rel, bytes) in files {
            put(rel, bytes);
        }
        for u in ["server@1.service", "server@2.service", "web.service"] {
            units.push((format!("{prefix}{u}"), name.clone(), i));
        }
        files_of.push(mine);
    }
    let oracle = Oracle::get().unwrap();
    let names: Vec<&str> = units.iter().map(|(u, _, _)| u.as_str()).collect();
    let dump = oracle.dump(&staged, &names).unwrap();
    let (mut directives, mut logged) = (0, 0);
    let mut failures = Vec::new();
    // Negative control: a model that reads the drop-ins of the template
    // only (never the instance's own directory) must disagree.
    let mut control = 0;
    for (unit, case, i) in &units {
        let ours = load::load(&fs, unit, &LoadOptions::default());
        if let Some((_, read_on)) = long_lines.iter().find(|(at, _)| at == i)
            && unit.contains("server@")
        {
            // The rows do reach the limit: the setting after the long
            // line counts exactly when the file is read past it (and
            // systemd agrees, below).
            let want = if *read_on { "yes" } else { "full" };
            assert_eq!(
                ours.effective.lines(Directive::ProtectSystem),
                [want],
                "{unit} ({case})"
            );
        }
        if let (Some(t), Some(theirs)) = (load::template_of(unit), dump.unit(unit)) {
            let wrong = load::load(&fs, &t.replace("@.", "@x."), &LoadOptions::default());
            if !disagreements(&wrong, theirs, &mut 0, &mut 0).is_empty() {
                control += 1;
            }
        }
        let (diffs, first) = match dump.unit(unit) {
            None => (
                vec!["systemd did not load it".to_owned()],
                "missing".to_owned(),
            ),
            Some(theirs) => {
                let d = disagreements(&ours, theirs, &mut directives, &mut logged);
                let first = d.first().map(|d| class(d)).unwrap_or_default();
                (d, first)
            }
        };
        if !diffs.is_empty() {
            let shown = if failures.len() < SHOWN_FAILURES {
                minimal_reproducer(unit, &files_of[*i], &first)
            } else {
                String::new()
            };
            failures.push(format!(
                "{unit} ({case}):\n  {}\n{shown}",
                diffs.join("\n  ")
            ));
        }
    }
    eprintln!(
        "project files: {} cases, {} units, {directives} directive comparisons, {logged} logged \
         lines compared, {} disagreements",
        cases.len(),
        units.len(),
        failures.len()
    );
    assert!(
        logged > 0,
        "no case made systemd log anything: the hostile rows are not read"
    );
    eprintln!(
        "negative control: a model blind to instance directories disagrees on {control} units"
    );
    assert!(
        control > 0,
        "negative control: a model blind to instance directories agreed everywhere"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
