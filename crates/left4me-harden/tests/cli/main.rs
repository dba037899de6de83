//! The command line as a black box: `write` (idempotent, atomic, `--check`),
//! `diff` (against installed files and `systemctl show` output), the host
//! configuration, bundlewrap output, errors, and `--help` snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

const BIN: &str = env!("CARGO_BIN_EXE_left4me-harden");
const SERVER_DIR: &str = "etc/systemd/system/left4me-server@.service.d";
const SERVER_1_DIR: &str = "etc/systemd/system/left4me-server@1.service.d";
const WEB_DIR: &str = "etc/systemd/system/left4me-web.service.d";
const SYSCTL: &str = "etc/sysctl.d/99-left4me-ptrace.conf";

/// Every snapshot lives in the top-level `snapshots/`, named, without the
/// module prefix.
fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../../snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// A directory of its own under the system's temp directory, removed when
/// dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "left4me-harden-cli-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().expect("exited"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("COLUMNS", "100")
        .env_remove("NO_COLOR")
        .env_remove("LEFT4ME_HARDEN_CONFIG")
        .stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Run {
    finish(cmd(args).output().unwrap())
}

fn run_stdin(args: &[&str], input: &str) -> Run {
    use std::io::Write as _;
    let mut child = cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    finish(child.wait_with_output().unwrap())
}

/// An error: exit 2, nothing on standard output, and one error line (the
/// last on standard error, after any lint warnings) naming `value`.
fn assert_error(r: &Run, value: &str) {
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "");
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("left4me-harden: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert_eq!(r.stderr.lines().last(), Some(errors[0]), "{}", r.stderr);
    assert!(errors[0].contains(value), "{:?} not in {}", value, r.stderr);
}

fn mtimes(root: &Path) -> Vec<(PathBuf, SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            }
            out.push((e.path(), m.modified().unwrap()));
        }
    }
    out.sort();
    out
}

fn write(root: &TempDir, extra: &[&str]) -> Run {
    let mut args = vec!["write", "--root", root.arg()];
    args.extend_from_slice(extra);
    run(&args)
}

// ---------------------------------------------------------------- write

#[test]
fn write_twice_changes_nothing_and_check_sees_a_hand_edit() {
    let root = TempDir::new("write");
    let first = write(&root, &["--instance", "1"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let files = [
        format!("{SERVER_DIR}/10-hardening.conf"),
        format!("{WEB_DIR}/10-hardening.conf"),
        SYSCTL.to_owned(),
        format!("{SERVER_1_DIR}/10-hardening.conf"),
    ];
    let lines: Vec<&str> = first.stdout.lines().take(files.len()).collect();
    // The files, a summary, what to run after the change, the scores.
    let after: Vec<&str> = first
        .stdout
        .lines()
        .skip(files.len())
        .filter(|l| !l.starts_with("score: "))
        .collect();
    assert_eq!(
        after,
        [
            "4 files: 4 created",
            "a drop-in changed: run `systemctl daemon-reload`, then restart the units it hardens",
            "the sysctl file changed: run `sysctl --system`",
        ],
        "{}",
        first.stdout
    );
    // Each drop-in's unit is scored; no base unit is installed here.
    assert!(
        first.stdout.contains(
            "score: left4me-web.service not scored: Unit left4me-web.service not found.\n"
        ),
        "{}",
        first.stdout
    );
    for (line, file) in lines.iter().zip(&files) {
        assert_eq!(
            *line,
            format!("created   {}", root.path().join(file).display())
        );
    }
    let before = mtimes(root.path());
    // Coarse file-system timestamps must not hide a rewrite.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = write(&root, &["--instance", "1"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    for (line, file) in second.stdout.lines().zip(&files) {
        assert_eq!(
            line,
            format!("unchanged {}", root.path().join(file).display())
        );
    }
    assert_eq!(
        second.stdout.lines().nth(files.len()),
        Some("4 files: 4 unchanged"),
        "no reload reminder when nothing changed: {}",
        second.stdout
    );
    assert_eq!(
        second.stdout.lines().count(),
        files.len() + 4,
        "the files, the summary, then three units' scores"
    );
    // -q: nothing on either stream, the same exit.
    let quiet = write(&root, &["--instance", "1", "-q"]);
    assert_eq!(
        (quiet.code, quiet.stdout.as_str(), quiet.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(
        mtimes(root.path()),
        before,
        "a file or directory was touched"
    );

    let check = write(&root, &["--instance", "1", "--check"]);
    assert_eq!(
        (check.code, check.stdout.as_str()),
        (0, ""),
        "{}",
        check.stderr
    );

    let edited = root.path().join(&files[3]);
    let text = fs::read_to_string(&edited).unwrap();
    fs::write(&edited, text.replace("UMask=0027", "UMask=0022")).unwrap();
    let check = write(&root, &["--instance", "1", "--check"]);
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert_eq!(
        check.stdout,
        format!("would be updated: {}\n", edited.display())
    );
    assert!(
        fs::read_to_string(&edited).unwrap().contains("UMask=0022"),
        "--check wrote"
    );
    // A missing instance file is a change too.
    let check = write(&root, &["--instance", "1", "--instance", "2", "--check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stdout.contains("would be created: "),
        "{}",
        check.stdout
    );

    let third = write(&root, &["--instance", "1"]);
    assert_eq!(third.code, 0);
    assert!(
        third
            .stdout
            .contains(&format!("updated   {}", edited.display())),
        "{}",
        third.stdout
    );
    assert_eq!(third.stdout.matches("unchanged ").count(), 3);
}

#[test]
fn write_creates_directories_0755_and_files_0644_whatever_the_umask() {
    let root = TempDir::new("modes");
    let out = finish(
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask 077; exec \"{BIN}\" write --root \"$1\" --instance 1"
            ))
            .arg("sh")
            .arg(root.arg())
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    for (path, _) in mtimes(root.path()) {
        let m = fs::metadata(&path).unwrap();
        let mode = m.permissions().mode() & 0o7777;
        let want = if m.is_dir() { 0o755 } else { 0o644 };
        assert_eq!(mode, want, "{}: {mode:o}", path.display());
    }
    // No temp file is left behind.
    assert!(
        mtimes(root.path()).iter().all(|(p, _)| !p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .contains("-tmp.")),
    );
}

#[test]
fn write_refuses_bad_input_and_writes_nothing() {
    let root = TempDir::new("bad");
    for (args, value) in [
        (vec!["--instance", "a/b"], "\"a/b\""),
        (vec!["--instance", ".."], "\"..\""),
        (vec!["--systemd-version", "246"], "PrivatePIDs="),
    ] {
        let r = write(&root, &args);
        assert_error(&r, value);
        assert!(mtimes(root.path()).is_empty(), "{args:?} wrote something");
    }
    let r = run(&["write", "--root", "/nonexistent/left4me-root"]);
    assert_error(&r, "/nonexistent/left4me-root");
}

#[test]
fn write_bundlewrap_prints_the_document_and_writes_nothing() {
    let root = TempDir::new("bw");
    let r = write(&root, &["--format", "bundlewrap", "--instance", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(mtimes(root.path()).is_empty());
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let units: Vec<&String> = doc["systemd"]["units"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        units,
        [
            "left4me-server@.service.d/10-hardening.conf",
            "left4me-server@1.service.d/10-hardening.conf",
            "left4me-web.service.d/10-hardening.conf"
        ]
    );
    assert_eq!(
        doc["systemd"]["units"]["left4me-server@1.service.d/10-hardening.conf"]["Service"]["BindPaths"],
        "/var/lib/left4me/runtime/1"
    );
    assert_eq!(
        doc["files"]["/etc/sysctl.d/99-left4me-ptrace.conf"]["mode"],
        "0644"
    );
    // Provenance travels beside them, by the same names.
    let provenance = doc["left4me-harden"]["provenance"].as_object().unwrap();
    assert_eq!(provenance.len(), 4);
    assert_eq!(
        provenance["left4me-server@1.service.d/10-hardening.conf"]["lines"]["Service"]["BindPaths"]
            [0]["origin"],
        "Test 2"
    );
    assert_eq!(
        provenance["/etc/sysctl.d/99-left4me-ptrace.conf"]["settings"][0]["origin"],
        "Test 9"
    );
    // And render prints one file's fragment.
    let r = run(&[
        "render",
        "server",
        "--format",
        "bundlewrap",
        "--instance",
        "2",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(doc["left4me-server@2.service.d/10-hardening.conf"]["Service"].is_object());
}

// ----------------------------------------------------------------- diff

#[test]
fn diff_is_0_on_a_fresh_write_and_1_naming_an_edited_directive() {
    let root = TempDir::new("diff");
    assert_eq!(write(&root, &["--instance", "1"]).code, 0);
    let r = run(&["diff", "--root", root.arg(), "--instance", "1"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout,
        "# left4me-server@.service: same settings\n\
         # left4me-web.service: same settings\n\
         # /etc/sysctl.d/99-left4me-ptrace.conf: same settings\n\
         # left4me-server@1.service: same settings\n"
    );

    let file = root.path().join(SERVER_1_DIR).join("10-hardening.conf");
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, text.replace("PrivatePIDs=true", "PrivatePIDs=false")).unwrap();
    let r = run(&["diff", "--root", root.arg(), "--instance", "1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            &format!("# left4me-server@1.service: 1 setting differs\n~ PrivatePIDs no -> yes  \
                (installed: {}/etc/systemd/system/left4me-server@1.service.d/10-hardening.conf:23)\n", root.arg())
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.replace(root.arg(), "R").contains(
            "--- R/etc/systemd/system/left4me-server@1.service.d/10-hardening.conf (installed)\n\
             +++ R/etc/systemd/system/left4me-server@1.service.d/10-hardening.conf (generated)\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("\n-PrivatePIDs=false\n+PrivatePIDs=true\n")
    );
    // Piped: no colour, unless asked for.
    assert!(!r.stdout.contains('\x1b'));
    let r = run(&[
        "diff",
        "--root",
        root.arg(),
        "--instance",
        "1",
        "--color",
        "always",
    ]);
    assert!(
        r.stdout
            .contains("\x1b[33m~ PrivatePIDs no -> yes  (installed: "),
        "{}",
        r.stdout
    );
    // One profile only.
    let r = run(&["diff", "--root", root.arg(), "web"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "# left4me-web.service: same settings\n")
    );
}

#[test]
fn diff_json_is_the_same_report_and_names_instances_not_asked_for() {
    let root = TempDir::new("diff-json");
    assert_eq!(
        write(&root, &["--instance", "1", "--instance", "2"]).code,
        0
    );
    let file = root
        .path()
        .join("etc/systemd/system/left4me-server@2.service.d/10-hardening.conf");
    let text = fs::read_to_string(&file).unwrap();
    let at = text
        .lines()
        .position(|l| l == "NoNewPrivileges=true")
        .unwrap()
        + 1;
    fs::write(
        &file,
        text.replace("NoNewPrivileges=true", "NoNewPrivileges=false"),
    )
    .unwrap();
    let json = |extra: &[&str]| -> (Run, serde_json::Value) {
        let mut args = vec!["diff", "--root", root.arg(), "--format", "json"];
        args.extend_from_slice(extra);
        let r = run(&args);
        let doc = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", r.stdout, r.stderr));
        (r, doc)
    };
    // Only instance 1 asked for: instance 2 is compared too, named in a
    // note and in the report, and its hand edit makes the run differ.
    let (r, doc) = json(&["--instance", "1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "left4me-harden: note: left4me-server@2.service is installed but not given with \
         --instance; compared too\n"
    );
    assert_eq!(doc["differs"], true);
    assert_eq!(
        doc["unrequested_instances"],
        serde_json::json!(["left4me-server@2.service"])
    );
    let units: Vec<&str> = doc["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["unit"].as_str().unwrap())
        .collect();
    assert_eq!(
        units,
        [
            "left4me-server@.service",
            "left4me-web.service",
            "/etc/sysctl.d/99-left4me-ptrace.conf",
            "left4me-server@1.service",
            "left4me-server@2.service"
        ]
    );
    for u in doc["units"].as_array().unwrap() {
        let keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "changes",
                "files",
                "generated_diagnostics",
                "installed_diagnostics",
                "not_read",
                "overridden",
                "profile",
                "read",
                "score",
                "state",
                "unit"
            ],
            "{u}"
        );
        // Paths as they are under --root.
        let installed = format!(
            "{}/etc/systemd/system/left4me-server@2.service.d/10-hardening.conf",
            root.arg()
        );
        let want: &[serde_json::Value] = if u["unit"] == "left4me-server@2.service" {
            &[serde_json::json!({
                "key": "NoNewPrivileges",
                "change": "changed",
                "value": ["no", "yes"],
                "old_origins": [{ "file": installed, "line": at }],
                "new_origins": [{ "file": installed, "line": at }]
            })]
        } else {
            &[]
        };
        assert_eq!(u["changes"].as_array().unwrap(), want, "{u}");
        assert_eq!(u["generated_diagnostics"], serde_json::json!([]), "{u}");
    }
    // Both asked for: no note, nothing unrequested; the same differences.
    let (r, doc) = json(&["--instance", "1", "--instance", "2"]);
    assert_eq!((r.code, r.stderr.as_str()), (1, ""));
    assert_eq!(doc["unrequested_instances"], serde_json::json!([]));
    assert_eq!(doc["differs"], true);
    // Negative: written again, the same report says nothing differs.
    assert_eq!(
        write(&root, &["--instance", "1", "--instance", "2"]).code,
        0
    );
    let (r, doc) = json(&[]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{}", r.stdout);
    assert_eq!(doc["differs"], false);
    assert_eq!(doc["units"].as_array().unwrap().len(), 5);
    for u in doc["units"].as_array().unwrap() {
        assert_eq!(u["changes"], serde_json::json!([]), "{u}");
        assert_eq!(u["not_read"], serde_json::Value::Null, "{u}");
    }
    // A format that does not exist is refused, nothing printed.
    let r = run(&["diff", "--root", root.arg(), "--format", "yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("'yaml'"), "{}", r.stderr);
}

#[test]
fn diff_reads_every_conf_of_the_directory_in_order() {
    let root = TempDir::new("order");
    assert_eq!(write(&root, &["--instance", "1"]).code, 0);
    fs::write(
        root.path().join(SERVER_DIR).join("20-override.conf"),
        "[Service]\nUMask=0022\n",
    )
    .unwrap();
    fs::write(
        root.path().join(SERVER_DIR).join("00-early.conf"),
        "[Service]\nUMask=0077\n",
    )
    .unwrap();
    let mut r = run(&["diff", "--root", root.arg(), "server", "--instance", "1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Paths are shown as they are under the root.
    r.stdout = r.stdout.replace(root.arg(), "R");
    // Writing changes nothing, but the override read after the generated
    // file defeats its UMask=, and it applies to the instance too: systemd
    // reads both directories, the instance's 10-hardening.conf replacing
    // the template's (00-early.conf's UMask= is overridden in turn).
    assert!(
        r.stdout.contains(
            "# left4me-server@.service: same settings, 1 overridden by a later drop-in — read \
             R/etc/systemd/system/left4me-server@.service.d/00-early.conf, \
             R/etc/systemd/system/left4me-server@.service.d/10-hardening.conf, \
             R/etc/systemd/system/left4me-server@.service.d/20-override.conf\n\
             ! overridden by R/etc/systemd/system/left4me-server@.service.d/20-override.conf:2: \
             ~ UMask 0027 -> 0022\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "# left4me-server@1.service: same settings, 1 overridden by a later drop-in — read \
             R/etc/systemd/system/left4me-server@.service.d/00-early.conf, \
             R/etc/systemd/system/left4me-server@1.service.d/10-hardening.conf, \
             R/etc/systemd/system/left4me-server@.service.d/20-override.conf\n\
             ! overridden by R/etc/systemd/system/left4me-server@.service.d/20-override.conf:2: \
             ~ UMask 0027 -> 0022\n"
        ),
        "{}",
        r.stdout
    );
    // The generated files themselves are as written: no unified diff.
    assert!(!r.stdout.contains("\n--- "), "{}", r.stdout);
}

#[test]
fn diff_of_what_is_not_installed_adds_everything() {
    let root = TempDir::new("empty");
    let r = run(&["diff", "--root", root.arg(), "sysctl"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout.lines().take(2).collect::<Vec<_>>(),
        [
            "# /etc/sysctl.d/99-left4me-ptrace.conf: 1 setting differs — nothing installed"
                .to_owned(),
            format!(
                "+ kernel.yama.ptrace_scope=2  (generated: {}/etc/sysctl.d/99-left4me-ptrace.conf:5)",
                root.arg()
            )
        ]
    );
    let generated = run(&["render", "sysctl"]);
    assert_eq!(
        generated.stdout.lines().nth(4),
        Some("kernel.yama.ptrace_scope=2")
    );
    assert!(r.stdout.contains("@@ -0,0 +1,5 @@\n"), "{}", r.stdout);
    // A sysctl value set elsewhere later wins, as in systemd-sysctl.
    assert_eq!(write(&root, &[]).code, 0);
    fs::write(
        root.path().join("etc/sysctl.d/99-zz-local.conf"),
        "kernel/yama/ptrace_scope = 1\nnet.ipv4.ip_forward = 1\n",
    )
    .unwrap();
    let mut r = run(&["diff", "--root", root.arg(), "sysctl"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    r.stdout = r.stdout.replace(root.arg(), "R");
    // Writing changes nothing, yet the generated value is not the one
    // systemd-sysctl applies.
    assert!(
        r.stdout.contains(
            "same settings, 1 overridden by a later drop-in — read \
             R/etc/sysctl.d/99-left4me-ptrace.conf, R/etc/sysctl.d/99-zz-local.conf\n\
             ! overridden by R/etc/sysctl.d/99-zz-local.conf:1: ~ kernel.yama.ptrace_scope 2 -> 1\n"
        ),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("ip_forward"), "{}", r.stdout);
}

#[test]
fn diff_refuses_unreadable_input_with_exit_2() {
    let root = TempDir::new("diffbad");
    assert_error(&run(&["diff", "--root", root.arg(), "db"]), "\"db\"");
    assert_error(
        &run(&["diff", "--root", root.arg(), "web", "--instance", "1"]),
        "web",
    );
    assert_error(
        &run(&["diff", "--root", "/nonexistent/left4me-root"]),
        "/nonexistent/left4me-root",
    );
    let r = run(&["diff", "--root", root.arg(), "--color", "sometimes"]);
    assert_eq!(r.code, 2);
}

/// Each fixture under `fixtures/installed` (see its README) put in place
/// next to freshly written files, then `diff`; output and exit code
/// snapshotted.
#[test]
fn installed_fixtures() {
    snapshot_settings().bind(|| {
        insta::glob!("../fixtures/installed", "*.{conf,d}", |path| {
            let name = path.file_name().unwrap().to_str().unwrap();
            let (target, _) = name.split_once('-').unwrap();
            let (profile, instance) = match target.split_once('@') {
                Some((p, i)) => (p, Some(i)),
                None => (target, None),
            };
            let root = TempDir::new("fixture");
            let mut args = vec!["--root", root.arg()];
            if let Some(i) = instance {
                args.extend(["--instance", i]);
            }
            let mut write_args = vec!["write"];
            write_args.extend(&args);
            assert_eq!(run(&write_args).code, 0);
            let unit = match (profile, instance) {
                ("server", None) => "left4me-server@.service".to_owned(),
                ("server", Some(i)) => format!("left4me-server@{i}.service"),
                ("web", None) => "left4me-web.service".to_owned(),
                other => panic!("fixture for {other:?}"),
            };
            let dir = root
                .path()
                .join("etc/systemd/system")
                .join(format!("{unit}.d"));
            if path.is_dir() {
                for e in fs::read_dir(path).unwrap() {
                    let e = e.unwrap();
                    fs::copy(e.path(), dir.join(e.file_name())).unwrap();
                }
            } else {
                fs::copy(path, dir.join("10-hardening.conf")).unwrap();
            }
            let mut diff_args = vec!["diff", profile, "--color", "never"];
            diff_args.extend(&args);
            let mut r = run(&diff_args);
            // Paths as they are under the root, the root named R.
            r.stdout = r.stdout.replace(root.arg(), "R");
            // Only the instance asked about, not the template as well.
            let stdout = if instance.is_some() {
                let keep = format!("# {unit}:");
                let start = r.stdout.find(&keep).unwrap_or(0);
                r.stdout[start..].to_owned()
            } else {
                r.stdout.clone()
            };
            insta::assert_snapshot!(
                "diff-installed",
                format!("exit: {}\n{}{}", r.code, stdout, r.stderr)
            );
        });
    });
}

// ----------------------------------------------------------- diff --show

/// What `systemctl show left4me-web.service` prints for the generated
/// drop-in on systemd 257 (the hardening properties, in systemctl's own
/// spellings), with the unit's other properties around them.
const WEB_SHOW: &str =
    include_str!("../../../left4me-hardening/src/check/fixtures/show-web-hardened.txt");
const SERVER_1_SHOW: &str =
    include_str!("../../../left4me-hardening/src/check/fixtures/show-server@1-hardened.txt");

#[test]
fn diff_show_compares_with_systemctl_show_output() {
    let dir = TempDir::new("show");
    let file = dir.path().join("show.txt");
    // Real `systemctl show` output of the hardened web unit (systemd 257,
    // the runtime container): every setting as generated.
    fs::write(&file, WEB_SHOW).unwrap();
    let r = run(&["diff", "--show", file.to_str().unwrap(), "web"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .starts_with("# left4me-web.service against systemctl show (")
            && r.stdout.contains(": 18 same, 0 differ, 0 not comparable\n"),
        "{}",
        r.stdout
    );
    // The filter missing from the output: a difference.
    let no_filter: String = WEB_SHOW
        .lines()
        .filter(|l| !l.starts_with("SystemCallFilter="))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&file, &no_filter).unwrap();
    let r = run(&["diff", "--show", file.to_str().unwrap(), "web"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("+ SystemCallFilter=an allow list of "),
        "{}",
        r.stdout
    );
    // Read from standard input, with one setting loosened.
    let loosened = WEB_SHOW.replace("\nUMask=0027\n", "\nUMask=0022\n");
    assert_ne!(loosened, WEB_SHOW);
    let r = run_stdin(&["diff", "--show", "-", "web"], &loosened);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("\n~ UMask 0022 -> 0027\n"),
        "{}",
        r.stdout
    );
    // The show output of another unit is refused.
    let r = run_stdin(
        &["diff", "--show", "-", "server", "--instance", "1"],
        &loosened,
    );
    assert_error(&r, "left4me-web.service, not of left4me-server@1.service");
    // The server needs its instance.
    assert_error(
        &run_stdin(&["diff", "--show", "-", "server"], ""),
        "--instance",
    );
    assert_error(&run_stdin(&["diff", "--show", "-"], ""), "profile");
    // The server instance's real output: every setting as generated, %i
    // resolved.
    fs::write(&file, SERVER_1_SHOW).unwrap();
    let r = run(&[
        "diff",
        "--show",
        file.to_str().unwrap(),
        "server",
        "--instance",
        "1",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(": 32 same, 0 differ, 0 not comparable\n"),
        "{}",
        r.stdout
    );
}

// --------------------------------------------------------- host config

#[test]
fn a_config_changes_exactly_its_lines_and_a_bad_one_exits_2() {
    let dir = TempDir::new("config");
    let config = dir.path().join("harden.toml");
    fs::write(
        &config,
        "[[server.add]]\ndirective = \"BindReadOnlyPaths\"\nvalue = \"/var/cache/left4me\"\n\
         reason = \"overlay symlinks point into the cache\"\n\n[[server.remove]]\n\
         directive = \"ProtectClock\"\nreason = \"the host's chrony runs in this unit\"\n",
    )
    .unwrap();
    let standard = run(&["render", "server", "--instance", "1"]);
    let configured = run(&[
        "render",
        "server",
        "--instance",
        "1",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(configured.code, 0, "{}", configured.stderr);
    let old: Vec<&str> = standard.stdout.lines().collect();
    let new: Vec<&str> = configured.stdout.lines().collect();
    let removed: Vec<&&str> = old.iter().filter(|l| !new.contains(l)).collect();
    let added: Vec<&&str> = new.iter().filter(|l| !old.contains(l)).collect();
    assert_eq!(
        removed,
        [
            &"# Host config: none (the standard profiles).",
            &"# Test 7: no clock changes",
            &"ProtectClock=true"
        ]
    );
    let header = format!("# Host config: {} (sha256 ", config.display());
    assert!(added[0].starts_with(&header), "{added:?}");
    assert_eq!(
        added[1..],
        [
            &"# host config: overlay symlinks point into the cache",
            &"BindReadOnlyPaths=/var/cache/left4me",
            &"# ProtectClock= removed by host config: the host's chrony runs in this unit",
        ]
    );
    // The installed standard files then differ in exactly those settings.
    let root = TempDir::new("config-root");
    assert_eq!(write(&root, &[]).code, 0);
    let r = run(&[
        "diff",
        "server",
        "--root",
        root.arg(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    let stdout = r.stdout.replace(root.arg(), "R");
    let semantic: Vec<&str> = stdout.lines().take_while(|l| !l.is_empty()).collect();
    // The installed file names no config (the standard profiles): diff
    // says it was generated from another one.
    assert_eq!(
        semantic,
        [
            "# left4me-server@.service: 2 settings differ",
            "! R/etc/systemd/system/left4me-server@.service.d/10-hardening.conf: generated from \
             another config (Host config: none (the standard profiles).)",
            "+ BindReadOnlyPaths=/var/cache/left4me  (generated: \
             R/etc/systemd/system/left4me-server@.service.d/10-hardening.conf:49)",
            "- ProtectClock=yes  (installed: \
             R/etc/systemd/system/left4me-server@.service.d/10-hardening.conf:64)",
        ]
    );
    // An added setting names the generated line it comes from (only that
    // one, not every BindReadOnlyPaths= line), a removed one the installed
    // line.
    let template = run(&["render", "server", "--config", config.to_str().unwrap()]);
    assert_eq!(
        template.stdout.lines().nth(48),
        Some("BindReadOnlyPaths=/var/cache/left4me")
    );
    let installed = fs::read_to_string(
        root.path()
            .join("etc/systemd/system/left4me-server@.service.d/10-hardening.conf"),
    )
    .unwrap();
    assert_eq!(installed.lines().nth(63), Some("ProtectClock=true"));
    // Written with this config, the same config's diff says nothing of it;
    // the standard profiles' diff does, naming the config's hash.
    assert_eq!(
        write(&root, &["--config", config.to_str().unwrap()]).code,
        0
    );
    let same = run(&[
        "diff",
        "server",
        "--root",
        root.arg(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(same.code, 0, "{}", same.stdout);
    assert!(!same.stdout.contains("another config"), "{}", same.stdout);
    let standard = run(&["diff", "server", "--root", root.arg(), "--no-config"]);
    assert!(
        standard.stdout.contains(&format!(
            "generated from another config (Host config: {} (sha256 ",
            config.display()
        )),
        "{}",
        standard.stdout
    );
    // explain shows the removal and the added line with their reasons.
    let r = run(&[
        "explain",
        "ProtectClock",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(
        r.stdout
            .contains("removed by host config: the host's chrony runs in this unit"),
        "{}",
        r.stdout
    );

    fs::write(
        &config,
        "[layout]\nstate_dir = \"/srv/left4me\"\n\n[server]\nbind = \"/x\"\n",
    )
    .unwrap();
    let r = run(&["render", "server", "--config", config.to_str().unwrap()]);
    assert_error(&r, "harden.toml: line 5, column 1: unknown field `bind`");
    let r = run(&[
        "write",
        "--root",
        root.arg(),
        "--config",
        "/nonexistent/harden.toml",
    ]);
    assert_error(&r, "/nonexistent/harden.toml: cannot read it");
}

#[test]
fn the_example_config_works_end_to_end() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/host-config.toml"
    );
    let root = TempDir::new("example");
    let w = write(&root, &["--instance", "1", "--config", example]);
    assert_eq!(w.code, 0, "{}", w.stderr);
    let r = run(&[
        "diff",
        "--root",
        root.arg(),
        "--instance",
        "1",
        "--config",
        example,
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = run(&["list", "--config", example, "--instance", "1"]);
    assert!(
        r.stdout
            .contains("/etc/systemd/system/left4me-server@1.service.d/10-hardening.conf")
    );
    let text =
        fs::read_to_string(root.path().join(SERVER_1_DIR).join("10-hardening.conf")).unwrap();
    assert!(
        text.contains("BindPaths=/srv/left4me/runtime/1\n"),
        "{text}"
    );
    assert!(text.contains("SocketBindDeny=any\n"), "{text}");
}

// ------------------------------------------------------ explain and list

#[test]
fn explain_a_directive_names_value_provenance_version_and_test() {
    let r = run(&["explain", "PrivatePIDs"]);
    assert_eq!(r.code, 0);
    for want in [
        "PrivatePIDs= — ",
        "since:   systemd 257",
        "profile server:\n  PrivatePIDs=true\n      Test 5: ",
        "profile web:\n  not set",
        "hardening test plan:\n  Test 5 — ProcSubset=pid + ProtectProc=invisible",
    ] {
        assert!(r.stdout.contains(want), "{want:?} not in\n{}", r.stdout);
    }
    let r = run(&["explain", "MemoryDenyWriteExecute="]);
    assert!(r.stdout.contains("excluded by Test 6: "), "{}", r.stdout);
    assert!(
        r.stdout.contains("Test 6 — MemoryDenyWriteExecute=true"),
        "{}",
        r.stdout
    );
    let r = run(&["explain", "server"]);
    assert!(
        r.stdout
            .contains("layers, in order: Test 1: PrivateUsers → "),
        "{}",
        r.stdout
    );
    assert_error(&run(&["explain", "Bogus"]), "\"Bogus\"");
}

#[test]
fn list_names_every_file() {
    let r = run(&["list", "--instance", "7"]);
    assert_eq!(r.code, 0);
    for f in [
        "/etc/systemd/system/left4me-server@.service.d/10-hardening.conf",
        "/etc/systemd/system/left4me-server@7.service.d/10-hardening.conf",
        "/etc/systemd/system/left4me-web.service.d/10-hardening.conf",
        "/etc/sysctl.d/99-left4me-ptrace.conf",
    ] {
        assert!(r.stdout.contains(f), "{f} not in\n{}", r.stdout);
    }
}

// ----------------------------------------------------------------- help

#[test]
fn help_snapshots() {
    let settings = snapshot_settings();
    let top = run(&["--help"]);
    assert_eq!(top.code, 0);
    settings.bind(|| insta::assert_snapshot!("help", top.stdout));
    for sub in [
        "render",
        "write",
        "diff",
        "explain",
        "lint",
        "list",
        "check",
        "triage",
        "score",
        "completions",
        "man",
    ] {
        let r = run(&[sub, "--help"]);
        assert_eq!(r.code, 0, "{sub}: {}", r.stderr);
        settings.bind(|| insta::assert_snapshot!(format!("help-{sub}"), r.stdout));
    }
}

#[test]
fn completions_and_man_page() {
    let r = run(&["completions", "bash"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("left4me-harden") && r.stdout.contains("diff"));
    let r = run(&["man"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.starts_with(".ie"),
        "{}",
        &r.stdout[..40.min(r.stdout.len())]
    );
}
