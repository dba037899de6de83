//! The real bundlewrap as a client of `write --format bundlewrap`.
//!
//! `scripts/bundlewrap` installs bundlewrap from PyPI into a cached virtual
//! environment. Each case copies the minimal repository in `repo/` (one
//! node; a `left4me` bundle whose metadata reactor runs this build's
//! `left4me-harden write --format bundlewrap` and merges the document; a
//! `systemd` bundle that renders `systemd/units` into files by the
//! deployment's contract) to a scratch directory, runs
//! `bw items NODE -w DIR`, and checks what bundlewrap wrote against what
//! `write --root` writes:
//!
//! - the same files, the sysctl file byte for byte;
//! - `systemd-analyze verify` of systemd 257 has nothing to say about them;
//! - `left4me-harden diff --root` reports the same settings (exit 0);
//! - systemd 257 loads the same settings from both (`systemd --test`).
//!
//! The negative controls break the renderer (or the document) the ways a
//! reactor could go wrong and show the checks fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use systemd_oracle::{Oracle, Tree, UnitDump};

const BIN: &str = env!("CARGO_BIN_EXE_left4me-harden");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/bundlewrap");
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bundlewrap/repo");
const UNITS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../left4me-hardening/tests/fixtures/units"
);
const NODE: &str = "left4me-host";
/// The base units the drop-ins are for, staged beside them for systemd.
const BASE_UNITS: [&str; 2] = ["left4me-server@.service", "left4me-web.service"];
/// Every case deploys these instances.
const INSTANCES: [&str; 2] = ["1", "2"];
/// What `verify` is asked about (the template through an instance of its
/// own) and what systemd's loaded settings are compared for.
const VERIFIED: [&str; 4] = [
    "left4me-server@.service",
    "left4me-server@1.service",
    "left4me-server@2.service",
    "left4me-web.service",
];
const LOADED: [&str; 3] = [
    "left4me-server@1.service",
    "left4me-server@2.service",
    "left4me-web.service",
];
/// Seconds one `bw` run may take before it is killed.
const BW_TIMEOUT: &str = "120";

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The cached bundlewrap's `bw` (installed on first use).
fn bw() -> &'static Path {
    static BW: OnceLock<PathBuf> = OnceLock::new();
    BW.get_or_init(|| {
        let out = Command::new(SCRIPT).arg("ensure").output().unwrap();
        assert!(
            out.status.success(),
            "scripts/bundlewrap ensure: {}",
            text(&out)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

fn oracle() -> &'static Oracle {
    let oracle = Oracle::get().unwrap_or_else(|e| panic!("oracle could not be built: {e}"));
    assert!(
        oracle.version().contains("systemd 257 "),
        "{}",
        oracle.version()
    );
    oracle
}

/// A scratch directory, removed however the case ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("left4me-bundlewrap-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A host configuration: none (the standard profiles) or a file.
#[derive(Clone, Copy)]
enum Config {
    Standard,
    File(&'static str),
}

impl Config {
    fn args(self) -> Vec<String> {
        match self {
            Config::Standard => Vec::new(),
            Config::File(path) => vec!["--config".to_owned(), path.to_owned()],
        }
    }
}

/// A host whose server binds all come from its configuration: a reset of
/// `BindReadOnlyPaths=`, then `BindPaths=` and `BindReadOnlyPaths=` lines. The reset empties the one bind list both
/// fill, so it must reach systemd before the lines of either key.
const BIND_RESET: Config = Config::File(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../left4me-hardening/tests/fixtures/host-configs/bind-reset.toml"
));

/// The example host configuration (layout, adds, a remove, a waiver).
const EXAMPLE: Config = Config::File(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/host-config.toml"
));

/// A change to one file of the copied repository: `from` (which must occur
/// exactly once) replaced by `to`.
struct Fault {
    file: &'static str,
    from: &'static str,
    to: &'static str,
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    let mut entries: Vec<_> = fs::read_dir(from).unwrap().map(Result::unwrap).collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// What bundlewrap and `write --root` produced for one host.
struct Deployed {
    scratch: Scratch,
    config: Config,
}

impl Deployed {
    /// The file previews `bw items -w` wrote.
    fn previews(&self) -> PathBuf {
        self.scratch.0.join("previews")
    }

    /// What `write --root` wrote.
    fn written(&self) -> PathBuf {
        self.scratch.0.join("written")
    }
}

/// Runs the reactor and the renderer through the real `bw` (with `faults`
/// applied to the repository) and `write --root` for the same host.
fn deploy(name: &str, config: Config, faults: &[Fault]) -> Deployed {
    let scratch = Scratch::new(name);
    let repo = scratch.0.join("repo");
    copy_dir(Path::new(REPO), &repo);
    for fault in faults {
        let path = repo.join(fault.file);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.matches(fault.from).count(),
            1,
            "{:?} in {}",
            fault.from,
            fault.file
        );
        fs::write(&path, text.replacen(fault.from, fault.to, 1)).unwrap();
    }
    let mut harden = serde_json::json!({ "binary": BIN, "instances": INSTANCES });
    if let Config::File(path) = config {
        harden["config"] = path.into();
    }
    let node = serde_json::json!({
        NODE: { "bundles": ["left4me", "systemd"], "metadata": { "left4me-harden": harden } }
    });
    fs::write(repo.join("node.json"), node.to_string()).unwrap();

    let deployed = Deployed { scratch, config };
    let out = Command::new("timeout")
        .args(["--kill-after=5", BW_TIMEOUT])
        .arg(bw())
        .arg("--repo-path")
        .arg(&repo)
        .args(["items", NODE, "--write-file-previews"])
        .arg(deployed.previews())
        .env("TERM", "dumb")
        .output()
        .unwrap();
    assert!(out.status.success(), "bw items: {}", text(&out));

    fs::create_dir_all(deployed.written()).unwrap();
    let mut write = Command::new(BIN);
    write.arg("write").arg("--root").arg(deployed.written());
    write.args(config.args());
    for i in INSTANCES {
        write.args(["--instance", i]);
    }
    let out = write.output().unwrap();
    assert!(out.status.success(), "write: {}", text(&out));
    deployed
}

/// The checks, each of which a broken renderer must be able to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Check {
    /// The same files as `write --root`; the sysctl file byte for byte.
    Files,
    /// `systemd-analyze verify` says nothing about a drop-in.
    Verify,
    /// `left4me-harden diff --root` exits 0 (same settings).
    Diff,
    /// `systemd --test` loads the same settings as from `write --root`.
    Loaded,
}

/// Every file below `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let tree = Tree::read_dir(dir).unwrap();
    tree.entries()
        .filter_map(|(path, node)| match node {
            systemd_oracle::Node::File { bytes, .. } => Some((path.to_owned(), bytes.clone())),
            _ => None,
        })
        .collect()
}

/// `dir` with the base units beside its drop-ins, as systemd sees a host.
fn host_tree(dir: &Path) -> Tree {
    let mut tree = Tree::read_dir(dir).unwrap();
    for unit in BASE_UNITS {
        tree.file(
            &format!("/etc/systemd/system/{unit}"),
            fs::read(Path::new(UNITS).join(unit)).unwrap(),
        );
    }
    tree
}

/// What systemd loaded for a unit, comparable: [`UnitDump::normalized`],
/// and the bind lines in order. `BindPaths=` and `BindReadOnlyPaths=` fill
/// one list, which the dump prints in the order of the lines read, and the
/// reactor sorts `BindPaths=` before `BindReadOnlyPaths=` where the
/// `.conf` rendering has them the other way round. That order is not
/// systemd's to keep: it sorts the namespace's mounts by destination
/// before mounting them (`mount_path_compare()` in `src/core/namespace.c`).
fn settings(unit: &UnitDump) -> Vec<(String, String)> {
    let bind = |(k, _): &(String, String)| k == "BindPaths" || k == "BindReadOnlyPaths";
    let mut lines = unit.normalized();
    let mut start = 0;
    while start < lines.len() {
        let end = start + lines[start..].iter().take_while(|l| bind(l)).count();
        lines[start..end].sort();
        start = end + 1;
    }
    lines
}

/// Runs every check on what was deployed: the failed checks, each with
/// what it found.
fn check(deployed: &Deployed) -> BTreeMap<Check, String> {
    let mut failed = BTreeMap::new();
    let previews = files(&deployed.previews());
    let written = files(&deployed.written());

    let names = |f: &BTreeMap<String, Vec<u8>>| f.keys().cloned().collect::<Vec<_>>();
    let sysctl = |f: &BTreeMap<String, Vec<u8>>| {
        f.iter()
            .filter(|(p, _)| p.starts_with("/etc/sysctl.d/"))
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect::<Vec<_>>()
    };
    if names(&previews) != names(&written) || sysctl(&previews) != sysctl(&written) {
        failed.insert(
            Check::Files,
            format!(
                "bw wrote {:?}, write {:?}",
                names(&previews),
                names(&written)
            ),
        );
    }

    let tree = host_tree(&deployed.previews());
    let verify = oracle().verify(&tree, &VERIFIED).unwrap();
    let complaints: Vec<&str> = verify
        .lines()
        .filter(|l| l.contains(".service.d/"))
        .collect();
    if !complaints.is_empty() {
        failed.insert(Check::Verify, complaints.join("\n"));
    }

    let host = deployed.scratch.0.join("host");
    tree.write_to(&host).unwrap();
    let mut diff = Command::new(BIN);
    diff.args(["diff", "--color", "never", "--root"]).arg(&host);
    diff.args(deployed.config.args());
    for i in INSTANCES {
        diff.args(["--instance", i]);
    }
    let out = diff.output().unwrap();
    if out.status.code() != Some(0) {
        // The per-unit summaries and setting lines, without the text diffs.
        let summary: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .take_while(|l| !l.starts_with("--- "))
            .map(str::to_owned)
            .collect();
        failed.insert(
            Check::Diff,
            format!(
                "exit {:?}\n{}{}",
                out.status.code(),
                summary.join("\n"),
                String::from_utf8_lossy(&out.stderr)
            ),
        );
    }

    let ours = oracle().dump(&tree, &LOADED).unwrap();
    let theirs = oracle()
        .dump(&host_tree(&deployed.written()), &LOADED)
        .unwrap();
    let mut loaded = Vec::new();
    for warning in ours.file_warnings() {
        loaded.push(format!("systemd logged: {warning:?}"));
    }
    for unit in LOADED {
        let (Some(a), Some(b)) = (ours.unit(unit), theirs.unit(unit)) else {
            loaded.push(format!("{unit}: not loaded"));
            continue;
        };
        let (a, b) = (settings(a), settings(b));
        if a != b {
            let only = |x: &[(String, String)], y: &[(String, String)]| {
                x.iter()
                    .filter(|l| !y.contains(l))
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
            };
            loaded.push(format!(
                "{unit}: from bw only {:?}; from write only {:?}",
                only(&a, &b),
                only(&b, &a)
            ));
        }
    }
    if !loaded.is_empty() {
        failed.insert(Check::Loaded, loaded.join("\n"));
    }
    failed
}

fn assert_passes(name: &str, config: Config) {
    let deployed = deploy(name, config, &[]);
    let failed = check(&deployed);
    assert!(failed.is_empty(), "{name}: {failed:#?}");
}

/// Asserts that exactly the `expected` checks fail.
fn assert_fails(name: &str, config: Config, faults: &[Fault], expected: &[Check]) {
    let deployed = deploy(name, config, faults);
    let failed = check(&deployed);
    println!("{name}: {failed:#?}");
    let got: Vec<Check> = failed.keys().copied().collect();
    assert_eq!(got, expected, "{name}: {failed:#?}");
}

#[test]
fn bundlewrap_deploys_the_standard_profiles() {
    assert_passes("standard", Config::Standard);
}

#[test]
fn bundlewrap_deploys_a_configured_host() {
    assert_passes("example", EXAMPLE);
}

#[test]
fn bundlewrap_deploys_a_reset_of_the_shared_bind_list() {
    // The document as produced before the fix put this reset on
    // BindReadOnlyPaths=, which sorts after BindPaths=: the sorted
    // renderer then cleared the BindPaths= line (see the last case).
    assert_passes("bind-reset", BIND_RESET);
}

/// The reactor's renderer with its key sort reversed.
const REVERSED_KEYS: Fault = Fault {
    file: "bundles/systemd/items.py",
    from: "for key in sorted(section):",
    to: "for key in sorted(section, reverse=True):",
};

#[test]
fn a_renderer_that_drops_empty_values_fails() {
    let faults = [
        Fault {
            file: "bundles/systemd/items.py",
            from: "    if value is None:\n",
            to: "    if value is None or value == \"\":\n",
        },
        Fault {
            file: "bundles/systemd/items.py",
            from: "[f\"{key}={item}\" for item in value]",
            to: "[f\"{key}={item}\" for item in value if item != \"\"]",
        },
    ];
    assert_fails(
        "drop-empty",
        Config::Standard,
        &faults,
        &[Check::Diff, Check::Loaded],
    );
}

#[test]
fn a_renderer_in_another_key_order_fails_on_a_shared_reset() {
    assert_fails(
        "reversed",
        BIND_RESET,
        &[REVERSED_KEYS],
        &[Check::Diff, Check::Loaded],
    );
}

#[test]
fn a_renderer_in_another_key_order_passes_without_one() {
    // No two keys of the standard profiles share a storage with a reset:
    // their key order does not matter, which is why the reset case above
    // is needed to catch a renderer that does not sort.
    assert_fails("reversed-standard", Config::Standard, &[REVERSED_KEYS], &[]);
}

#[test]
fn a_renderer_without_section_headers_fails() {
    let faults = [Fault {
        file: "bundles/systemd/items.py",
        from: "lines = [f\"[{name}]\"]",
        to: "lines = []",
    }];
    assert_fails(
        "no-sections",
        Config::Standard,
        &faults,
        &[Check::Verify, Check::Diff, Check::Loaded],
    );
}

#[test]
fn the_document_before_the_fix_fails() {
    // The reactor moves the bind reset back to BindReadOnlyPaths= as the
    // document had it: the sorted renderer then clears the BindPaths= line.
    let faults = [Fault {
        file: "bundles/left4me/metadata.py",
        from: "    doc = document(metadata.get(\"left4me-harden\"))\n",
        to: include_str!("old-document.py"),
    }];
    assert_fails(
        "old-document",
        BIND_RESET,
        &faults,
        &[Check::Diff, Check::Loaded],
    );
}

#[test]
fn the_files_check_fails_on_a_missing_file() {
    let faults = [Fault {
        file: "bundles/left4me/items.py",
        from: "for path, item in node.metadata.get(\"left4me/files\", {}).items()",
        to: "for path, item in {}.items()",
    }];
    assert_fails(
        "no-sysctl",
        Config::Standard,
        &faults,
        &[Check::Files, Check::Diff],
    );
}

#[test]
fn provenance_reaches_the_node_metadata() {
    let deployed = deploy("metadata", EXAMPLE, &[]);
    let out = Command::new("timeout")
        .args(["--kill-after=5", BW_TIMEOUT])
        .arg(bw())
        .arg("--repo-path")
        .arg(deployed.scratch.0.join("repo"))
        .args(["metadata", NODE, "-k", "left4me/provenance"])
        .env("TERM", "dumb")
        .output()
        .unwrap();
    assert!(out.status.success(), "bw metadata: {}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let server = &json["left4me"]["provenance"]["left4me-server@1.service.d/10-hardening.conf"];
    assert_eq!(server["instance"], "1");
    let binds = server["lines"]["Service"]["BindReadOnlyPaths"]
        .as_array()
        .unwrap();
    let last = binds.last().unwrap();
    assert_eq!(last["value"], "/var/cache/left4me");
    assert_eq!(last["origin"], "host config");
    assert_eq!(
        last["reason"],
        "overlay symlinks point into the workshop cache"
    );
    let note = &server["notes"][0];
    assert_eq!(note["directive"], "MemoryDenyWriteExecute");
    assert_eq!(note["origin"], "Test 6");
    let sysctl = &json["left4me"]["provenance"]["/etc/sysctl.d/99-left4me-ptrace.conf"];
    assert_eq!(sysctl["settings"][0]["origin"], "Test 9");
}
