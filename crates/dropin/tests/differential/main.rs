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
//! Bounded: `LEFT4ME_DIFF_CASES` (default 2,000) cases, seed
//! `LEFT4ME_DIFF_SEED`; `scripts/differential` runs longer corpora.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use dropin::load::{self, LoadOptions, LoadState, MemFs};
use dropin::{
    ArchList, BindList, CapabilityList, Directive, Effective, ErrnoAction, PathList,
    RestrictNamespaces, SocketBind, SyscallFilter, TmpfsList,
};
use systemd_oracle::{Oracle, Tree, UnitDump};

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

/// What the dump shows for `d`, from the model's settings; `None` for
/// directives the dump never shows.
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
fn reproducer(c: &Case, tree: &BTreeMap<String, Node>) -> String {
    let stem = c.unit.split(['@', '.']).next().unwrap_or(&c.unit);
    let prefix = format!("{}-", stem.split('-').next().unwrap_or(stem));
    let mut out = String::new();
    for (p, n) in tree {
        if !(p.contains(&prefix) || p.contains("/service.d/")) {
            continue;
        }
        match n {
            Node::File(b) => {
                writeln!(out, "--- {p}").unwrap();
                let text = String::from_utf8_lossy(b).escape_debug().to_string();
                if text.len() > 2000 {
                    writeln!(out, "{}… ({} bytes)", &text[..2000], b.len()).unwrap();
                } else {
                    writeln!(out, "{text}").unwrap();
                }
            }
            Node::Symlink(t) => writeln!(out, "--- {p} -> {t}").unwrap(),
        }
    }
    out
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
        let mut theirs_log: Vec<String> = theirs
            .log()
            .iter()
            .filter(|l| l.file.is_some())
            .map(|l| l.text.clone())
            .collect();
        theirs_log.sort();
        theirs_log.dedup();
        let mut ours_log: Vec<String> = ours
            .diagnostics
            .iter()
            .filter(|d| d.line > 0 && d.level != dropin::Level::Note)
            .map(ToString::to_string)
            .collect();
        ours_log.sort();
        ours_log.dedup();
        *logged += theirs_log.len();
        for l in theirs_log.iter().filter(|l| !ours_log.contains(l)) {
            diffs.push(format!("log: systemd only: {l}"));
        }
        for l in ours_log.iter().filter(|l| !theirs_log.contains(l)) {
            diffs.push(format!("log: ours only: {l}"));
        }
    }
    diffs
}

#[test]
fn the_model_reads_units_as_systemd_257_does() {
    let cases: usize = std::env::var("LEFT4ME_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let seed: u64 = std::env::var("LEFT4ME_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x1eff_4e4e);
    let oracle = Oracle::get().unwrap();
    let per_tree = 250;
    let mut compared = 0usize;
    let mut directives = 0usize;
    let mut logged = 0usize;
    let mut control = 0usize;
    let mut failures: Vec<String> = Vec::new();
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
                continue;
            };
            compared += 1;
            let diffs = disagreements(&ours, theirs, &mut directives, &mut logged);
            if first == 0 {
                // Negative control: a model that does not know
                // /run/systemd/system must disagree somewhere.
                let blind = LoadOptions {
                    search_path: LoadOptions::default()
                        .search_path
                        .into_iter()
                        .filter(|p| p != "/run/systemd/system")
                        .collect(),
                };
                let wrong = load::load(&fs, &c.unit, &blind);
                if !disagreements(&wrong, theirs, &mut 0, &mut 0).is_empty() {
                    control += 1;
                }
            }
            if !diffs.is_empty() {
                failures.push(format!(
                    "{} ({} files read by us: {:?})\n  {}\n{}",
                    c.unit,
                    ours.dropins.len(),
                    ours.dropins,
                    diffs.join("\n  "),
                    reproducer(c, &tree)
                ));
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
        let shown: Vec<&String> = failures.iter().take(5).collect();
        panic!(
            "{} of {compared} units disagree with systemd 257 (first {}):\n\n{}",
            failures.len(),
            shown.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n\n")
        );
    }
}

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
    cases.push(("generated files".to_owned(), standard()));
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
        // The big rows are cut to their first 16 KiB at a line end: the
        // same lines, fewer of them (systemd logs each of 100,000 unknown
        // keys and copies its path list on every ReadOnlyPaths= line, which
        // takes minutes for the whole rows; the reader refuses the 10 MiB
        // one anyway).
        let mut bytes = bytes;
        if bytes.len() > 16 * 1024 && name != "binary garbage" {
            let cut = bytes[..16 * 1024]
                .iter()
                .rposition(|b| *b == b'\n')
                .unwrap_or(0);
            bytes.truncate(cut + 1);
        }
        let mut files = standard();
        files.retain(|(p, _)| !p.starts_with("P-server@1") && !p.starts_with("P-server@2"));
        let at = "P-server@.service.d/10-hardening.conf".to_owned();
        files.retain(|(p, _)| *p != at);
        files.push((at, bytes));
        cases.push((format!("hostile installed file: {name}"), files));
    }

    let mut staged = Tree::new();
    let mut fs = MemFs::new();
    fs.special("/dev/null");
    let mut units: Vec<(String, String)> = Vec::new();
    for (i, (name, files)) in cases.iter().enumerate() {
        let prefix = format!("c{i}-");
        let base = "/etc/systemd/system";
        let mut put = |rel: &str, bytes: &[u8]| {
            let path = format!("{base}/{}", rel.replacen("P-", &prefix, 1));
            staged.file(&path, bytes);
            fs.file(&path, bytes.to_vec());
        };
        put("P-server@.service", &server_unit);
        put("P-web.service", &web_unit);
        for (rel, bytes) in files {
            put(rel, bytes);
        }
        for u in ["server@1.service", "server@2.service", "web.service"] {
            units.push((format!("{prefix}{u}"), name.clone()));
        }
    }
    let oracle = Oracle::get().unwrap();
    let names: Vec<&str> = units.iter().map(|(u, _)| u.as_str()).collect();
    let dump = oracle.dump(&staged, &names).unwrap();
    let (mut directives, mut logged) = (0, 0);
    let mut failures = Vec::new();
    // Negative control: a model that reads the drop-ins of the template
    // only (never the instance's own directory) must disagree.
    let mut control = 0;
    for (unit, case) in &units {
        let ours = load::load(&fs, unit, &LoadOptions::default());
        if let (Some(t), Some(theirs)) = (load::template_of(unit), dump.unit(unit)) {
            let wrong = load::load(&fs, &t.replace("@.", "@x."), &LoadOptions::default());
            if !disagreements(&wrong, theirs, &mut 0, &mut 0).is_empty() {
                control += 1;
            }
        }
        let Some(theirs) = dump.unit(unit) else {
            failures.push(format!("{unit} ({case}): systemd did not load it"));
            continue;
        };
        let diffs = disagreements(&ours, theirs, &mut directives, &mut logged);
        if !diffs.is_empty() {
            failures.push(format!("{unit} ({case}):\n  {}", diffs.join("\n  ")));
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
