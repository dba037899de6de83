//! What an operator's `diff` and `lint` say about a hand-changed host,
//! each case asked of real systemd 257 too: the tool must report a
//! difference exactly where systemd reads something other than the
//! generated settings, and name where it comes from.
//!
//! Each case is one way the tool once gave a false "same settings" (the
//! tool is `LEFT4ME_HARDEN_BIN` when set, to run the cases against another
//! build).

use std::path::{Path, PathBuf};
use std::process::Command;

use systemd_oracle::{Oracle, Tree, UnitDump};

use crate::{BIN, UNITS, text};

/// A host root: the base units and every generated file for instances 1
/// and 2, as `write` puts them.
struct Host {
    root: PathBuf,
}

impl Host {
    fn new(name: &str) -> Host {
        let root = std::env::temp_dir().join(format!("left4me-view-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let units = root.join("etc/systemd/system");
        std::fs::create_dir_all(&units).unwrap();
        for unit in ["left4me-server@.service", "left4me-web.service"] {
            std::fs::copy(Path::new(UNITS).join(unit), units.join(unit)).unwrap();
        }
        let host = Host { root };
        let out = host.run(&["write", "--instance", "1", "--instance", "2"]);
        assert_eq!(out.0, 0, "{}", out.1);
        host
    }

    fn bin() -> String {
        std::env::var("LEFT4ME_HARDEN_BIN").unwrap_or_else(|_| BIN.to_owned())
    }

    /// Runs the tool with `--root` this host: (exit code, stdout + stderr),
    /// the root (paths are shown as they are under it) written `R`.
    fn run(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(Self::bin())
            .args(args)
            .arg("--root")
            .arg(&self.root)
            .env_remove("LEFT4ME_HARDEN_CONFIG")
            .output()
            .unwrap();
        let root = self.root.to_str().unwrap();
        (
            out.status.code().unwrap_or(-1),
            text(&out).replace(root, "R"),
        )
    }

    fn write(&self, rel: &str, text: &[u8]) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn edit(&self, rel: &str, from: &str, to: &str) {
        let path = self.root.join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from:?} not in {rel}");
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    /// What systemd 257 loaded for `unit` on this host.
    fn systemd(&self, unit: &str) -> UnitDump {
        let oracle = Oracle::get().unwrap_or_else(|e| panic!("oracle: {e}"));
        let tree = Tree::read_dir(&self.root).unwrap();
        let dump = oracle.dump(&tree, &[unit]).unwrap();
        dump.unit(unit)
            .unwrap_or_else(|| panic!("systemd printed no {unit}"))
            .clone()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

const SERVER_2: &str = "etc/systemd/system/left4me-server@2.service.d/10-hardening.conf";
const WEB: &str = "etc/systemd/system/left4me-web.service.d/10-hardening.conf";

/// `diff --root R` (no `--instance`) compares every installed instance: a
/// hand-edited instance 2 is reported by name, each setting with its file
/// and line, and exits 1.
#[test]
fn a_hand_edited_installed_instance_is_reported() {
    let host = Host::new("instance");
    host.edit(SERVER_2, "NoNewPrivileges=true", "NoNewPrivileges=no");
    host.edit(
        SERVER_2,
        "KeyringMode=private",
        "KeyringMode=private\nMemoryDenyWriteExecute=yes",
    );
    let (code, out) = host.run(&["diff"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("# left4me-server@2.service: 2 settings differ"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "~ NoNewPrivileges no -> yes  (installed: R/{SERVER_2}:"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "- MemoryDenyWriteExecute=yes  (installed: R/{SERVER_2}:"
        )),
        "{out}"
    );
    assert!(
        out.contains("# left4me-server@1.service: same settings"),
        "{out}"
    );
    // systemd reads the edit.
    let loaded = host.systemd("left4me-server@2.service");
    assert_eq!(loaded.get("MemoryDenyWriteExecute"), Some("yes"));
    // The exposure score moves from what systemd-analyze says of the
    // installed unit to what it says of the generated one.
    let oracle = Oracle::get().unwrap();
    let tree = Tree::read_dir(&host.root).unwrap();
    let installed = oracle
        .security(&tree, "left4me-server@2.service", &[])
        .unwrap()
        .overall_exposure()
        .unwrap();
    let generated = oracle
        .security(&tree, "left4me-server@1.service", &[])
        .unwrap()
        .overall_exposure()
        .unwrap();
    assert_ne!(format!("{installed:.1}"), format!("{generated:.1}"));
    assert!(
        out.contains(&format!(
            "# left4me-server@2.service: 2 settings differ — read R/etc/systemd/system/left4me-server@.service, R/{SERVER_2}\n\
             = exposure {installed:.1} -> {generated:.1} OK\n"
        )),
        "{out}"
    );
    assert!(out.contains("=   NoNewPrivileges= "), "{out}");
}

/// A drop-in in any directory of the search path, or a type-wide one,
/// read after the generated file, overrides it: reported with its file
/// and line; one read before it does not, and nothing is reported.
#[test]
fn drop_ins_in_every_directory_are_read() {
    for dir in [
        "run/systemd/system/left4me-web.service.d",
        "usr/lib/systemd/system/left4me-web.service.d",
        "etc/systemd/system/service.d",
        "usr/local/lib/systemd/system/left4me-.service.d",
    ] {
        let host = Host::new("dirs");
        host.write(
            &format!("{dir}/50-local.conf"),
            b"[Service]\nProtectSystem=no\n",
        );
        let (code, out) = host.run(&["diff", "web"]);
        assert_eq!(code, 1, "{dir}: {out}");
        assert!(
            out.contains(&format!(
                "! overridden by R/{dir}/50-local.conf:2: ~ ProtectSystem strict -> no"
            )),
            "{dir}: {out}"
        );
        assert_eq!(
            host.systemd("left4me-web.service").get("ProtectSystem"),
            Some("no"),
            "{dir}"
        );
        // Read first, the generated file has the last word.
        std::fs::rename(
            host.root.join(format!("{dir}/50-local.conf")),
            host.root.join(format!("{dir}/05-local.conf")),
        )
        .unwrap();
        let (code, out) = host.run(&["diff", "web"]);
        assert_eq!(code, 0, "{dir}: {out}");
        assert!(
            out.starts_with("# left4me-web.service: same settings — read ")
                && out.contains(&format!("R/{dir}/05-local.conf, R/{WEB}\n")),
            "{dir}: {out}"
        );
        assert_eq!(
            host.systemd("left4me-web.service").get("ProtectSystem"),
            Some("strict"),
            "{dir}"
        );
    }
}

/// A line ending in an even number of backslashes does not continue: the
/// next line is an assignment of its own, which systemd applies.
#[test]
fn an_even_number_of_backslashes_ends_the_line() {
    let host = Host::new("backslash");
    host.write(
        "etc/systemd/system/left4me-web.service.d/50-note.conf",
        b"[Unit]\nDescription=C:\\\\\n[Service]\nProtectSystem=no\n",
    );
    let (code, out) = host.run(&["diff", "web"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("50-note.conf:4: ~ ProtectSystem strict -> no"),
        "{out}"
    );
    let loaded = host.systemd("left4me-web.service");
    assert_eq!(loaded.get("ProtectSystem"), Some("no"));
    assert_eq!(loaded.get("Description"), Some("C:\\\\"));
}

/// A no-break space is not whitespace to systemd: the value
/// `invisible\u{a0}` is invalid, the line is ignored with a warning, and
/// the setting is missing.
#[test]
fn a_no_break_space_invalidates_the_line() {
    let host = Host::new("nbsp");
    host.edit(WEB, "ProtectProc=invisible", "ProtectProc=invisible\u{a0}");
    let (code, out) = host.run(&["diff", "web"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("~ ProtectProc default -> invisible"), "{out}");
    assert!(
        out.contains(&format!(
            "R/{WEB}:24: Failed to parse ProtectProc=invisible\u{a0}, ignoring: Invalid argument"
        )),
        "{out}"
    );
    let loaded = host.systemd("left4me-web.service");
    assert_eq!(loaded.get("ProtectProc"), Some("default"));
}

/// `BindPaths=` (empty) clears the read-only binds too: a host config
/// that adds it gives a drop-in without them, which `write` warns about
/// (naming the proven lines) and `diff` shows against the standard files,
/// as systemd loads it.
#[test]
fn an_empty_bind_paths_clears_the_read_only_binds() {
    let host = Host::new("binds");
    let config = host.root.with_extension("host.toml");
    std::fs::write(
        &config,
        "[[server.add]]\ndirective = \"BindPaths\"\nvalue = \"\"\nreason = \"start over\"\n\
         [[server.add]]\ndirective = \"BindPaths\"\nvalue = \"/var/lib/left4me/runtime/%i\"\nreason = \"the runtime\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    // The standard files, diffed against what this config generates.
    let (code, out) = host.run(&["diff", "server", "--config", &config]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("- BindReadOnlyPaths=/var/lib/left4me/installation"),
        "{out}"
    );
    // Writing it says what the reset discards, naming the proven lines.
    let (code, written) = host.run(&["write", "--instance", "1", "--config", &config]);
    assert_eq!(code, 0, "{written}");
    assert!(
        written.contains(
            "warning[replaces-proven] (Test 2): the host config's clear of BindReadOnlyPaths= \
             (start over) discards the proven lines BindReadOnlyPaths=/var/lib/left4me/installation"
        ),
        "{written}"
    );
    // Installed, the standard profile's diff names the missing binds.
    let (code, out) = host.run(&["diff", "server", "--instance", "1"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("+ BindReadOnlyPaths=/var/lib/left4me/installation"),
        "{out}"
    );
    let loaded = host.systemd("left4me-server@1.service");
    assert!(
        loaded.all("BindReadOnlyPaths").is_empty(),
        "{:?}",
        loaded.all("BindReadOnlyPaths")
    );
    let _ = std::fs::remove_file(config);
}

/// One line systemd ignores (an empty `ProtectProc=`, a line without `=`)
/// is reported as systemd logs it and the rest is read: the run goes on.
#[test]
fn an_invalid_line_is_skipped_not_fatal() {
    let host = Host::new("invalid");
    host.edit(
        WEB,
        "ProtectProc=invisible",
        "ProtectProc=invisible\nProtectProc=\nProtectSystem strict",
    );
    let (code, out) = host.run(&["diff", "web"]);
    // Nothing systemd holds changed: the earlier value stays.
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "R/{WEB}:25: Failed to parse ProtectProc=, ignoring: Invalid argument"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("R/{WEB}:26: Missing '=', ignoring line.")),
        "{out}"
    );
    let (code, out) = host.run(&["lint"]);
    assert!(code == 0 || code == 1, "{out}");
    assert!(out.contains("Missing '=', ignoring line."), "{out}");
    let loaded = host.systemd("left4me-web.service");
    assert_eq!(loaded.get("ProtectProc"), Some("invisible"));
    let logged: Vec<String> = loaded.log().iter().map(|l| l.text.clone()).collect();
    assert!(
        logged
            .iter()
            .any(|m| m.ends_with(":26: Missing '=', ignoring line.")),
        "{logged:?}"
    );
    assert!(
        logged
            .iter()
            .any(|m| m.ends_with(":25: Failed to parse ProtectProc=, ignoring: Invalid argument")),
        "{logged:?}"
    );
}
