//! `left4me-harden triage` as a black box: input from a file or standard
//! input, `--root` (a tree `write` wrote), `--config`, `--format json`, and
//! the exit codes (0 nothing denied, 1 a denial or an unreadable record, 2
//! trouble).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_left4me-harden");
const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn fixture(name: &str) -> PathBuf {
    Path::new(MANIFEST).join(format!("../left4me-hardening/tests/fixtures/triage/{name}"))
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

fn run(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(BIN)
        .arg("triage")
        .args(args)
        .env("COLUMNS", "100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    finish(child.wait_with_output().unwrap())
}

/// A directory of its own, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "left4me-harden-triage-{tag}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
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

const NATIVE_ONLY: &str = r#"[[server.remove]]
directive = "SystemCallArchitectures"
reason = "trying native alone"

[[server.add]]
directive = "SystemCallArchitectures"
value = "native"
reason = "trying native alone"

[[waivers]]
lint = "i386-native-only"
profile = "server"
reason = "trying native alone"
"#;

#[test]
fn installed_tree_config_and_json() {
    // A host as `write --config … --instance 1` leaves it.
    let root = TempDir::new("root");
    let units = root.0.join("usr/local/lib/systemd/system");
    fs::create_dir_all(&units).unwrap();
    for u in ["left4me-server@.service", "left4me-web.service"] {
        fs::copy(
            Path::new(MANIFEST).join(format!("../left4me-hardening/tests/fixtures/units/{u}")),
            units.join(u),
        )
        .unwrap();
    }
    let config = root.0.join("harden.toml");
    fs::write(&config, NATIVE_ONLY).unwrap();
    let config = config.to_str().unwrap();
    let w = finish(
        Command::new(BIN)
            .args([
                "write",
                "--root",
                root.arg(),
                "--config",
                config,
                "--instance",
                "1",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(w.code, 0, "{}", w.stderr);

    let log = fixture("dmesg-test3.log");
    let args = [
        "--root",
        root.arg(),
        "--config",
        config,
        "--unit",
        "left4me-server@1.service",
        "--format",
        "json",
        log.to_str().unwrap(),
    ];
    let r = run(&args, None);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let f = &json["groups"][0]["finding"];
    assert_eq!(f["directive"], "SystemCallArchitectures");
    // Paths are printed as they are under --root.
    assert_eq!(
        f["lines"][0]["at"]["file"],
        format!(
            "{}/etc/systemd/system/left4me-server@1.service.d/10-hardening.conf",
            root.arg()
        )
    );
    // The host configuration's own replacement of the proven line denies
    // it: the fix takes it out.
    assert_eq!(f["fix"]["kind"], "remove");
    assert_eq!(f["fix"]["value"], "native");
    assert_eq!(
        f["fix"]["entries"],
        serde_json::json!([format!("{config}:2"), format!("{config}:6")])
    );
    assert_eq!(f["fix"]["check"]["status"], "verified");

    // The same from standard input, as text.
    let text = fs::read_to_string(&log).unwrap();
    let r = run(
        &[
            "--root",
            root.arg(),
            "--config",
            config,
            "--unit",
            "left4me-server@1.service",
            "-",
        ],
        Some(&text),
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("fix: take out of the host configuration"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("value = \"native\""));
}

#[test]
fn exit_codes() {
    // Nothing denied: only a logged call, or nothing at all.
    let log_only = fixture("dmesg-log-i386.log");
    assert_eq!(run(&[log_only.to_str().unwrap()], None).code, 0);
    let empty = run(&[], Some("Nov 28 19:02:16 vm kernel: nothing here\n"));
    assert_eq!(empty.code, 0);
    assert!(
        empty.stdout.contains("0 records in 0 groups"),
        "{}",
        empty.stdout
    );
    // A kill, or a record that cannot be read.
    assert_eq!(run(&[fixture("audit.log").to_str().unwrap()], None).code, 1);
    let bad = run(
        &[],
        Some("[ 1.0] audit: type=1326 audit(1795892103.984:199): arch=40000003 sysc\n"),
    );
    assert_eq!(bad.code, 1);
    assert!(
        bad.stdout.contains("input line 1: truncated record"),
        "{}",
        bad.stdout
    );
    // Trouble: no such file, a bad host configuration, a root that is not one.
    let missing = run(&["/nonexistent/audit.log"], None);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("cannot read /nonexistent/audit.log"),
        "{}",
        missing.stderr
    );
    let dir = TempDir::new("config");
    let bad_config = dir.0.join("harden.toml");
    fs::write(&bad_config, "[server]\nbogus = 1\n").unwrap();
    let r = run(&["--config", bad_config.to_str().unwrap()], Some(""));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown field `bogus`"), "{}", r.stderr);
    let r = run(&["--root", "/nonexistent-root"], Some(""));
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// A whole rotated audit log (auditd's default `max_log_file` is 8 MiB)
/// is read, past the 1 MiB a unit file may have: the records have their
/// own cap, `triage::INPUT_MAX`, which the robustness rows show refused.
#[test]
fn a_whole_audit_log_is_read() {
    let records = fs::read_to_string(fixture("audit.log")).unwrap();
    let filler = "type=SYSCALL msg=audit(1795892537.000:1): arch=c000003e syscall=0 success=yes\n";
    let mut log = filler.repeat(8 * 1024 * 1024 / filler.len());
    log.push_str(&records);
    assert!(log.len() > 8 * 1024 * 1024);
    let small = run(&["--format", "json", "-"], Some(&records));
    let big = run(&["--format", "json", "-"], Some(&log));
    assert_eq!(big.code, small.code, "{}", big.stderr);
    // The same groups and findings; only the input line numbers differ.
    let groups = |r: &Run| -> Vec<serde_json::Value> {
        let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        doc["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| serde_json::json!([g["call"], g["count"], g["finding"]]))
            .collect()
    };
    assert!(!groups(&small).is_empty());
    assert_eq!(groups(&big), groups(&small));
}
