//! Shell integration as an operator meets it: the completion scripts
//! loaded by real bash, zsh and fish and asked for candidates, the man
//! pages of every subcommand, colour under a terminal, `NO_COLOR` and
//! `TERM=dumb`, and the everyday messages (did-you-mean, explain).
//!
//! zsh and fish are installed by `scripts/shells ensure` (which
//! `scripts/test` runs); a missing shell fails the test, it is never
//! skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_left4me-harden");

/// A directory of its own, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("left4me-harden-shell-{tag}-{}", std::process::id()));
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

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("NO_COLOR")
        .env_remove("LEFT4ME_HARDEN_CONFIG")
        .stdin(Stdio::null());
    c
}

fn stdout(args: &[&str]) -> String {
    let out = cmd(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The path of a shell, or a failure saying how to install it.
fn shell(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is not installed: run scripts/shells ensure (scripts/test does)");
}

fn output(c: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.stdin(Stdio::null()).output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

// ------------------------------------------------------------------ bash

/// The candidates bash's completion function offers for `words`, the last
/// of which is being completed, as bash calls it on TAB.
fn bash_candidates(script: &Path, words: &[&str]) -> Vec<String> {
    let cword = words.len() - 1;
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let program = format!(
        "source '{}' || exit 3\n\
         COMP_WORDS=({})\n\
         COMP_CWORD={cword}\n\
         COMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         _left4me__harden left4me-harden '{}' '{prev}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words[cword],
    );
    let (code, out, err) = output(Command::new(shell("bash")).args(["--norc", "-c", &program]));
    assert_eq!((code, err.as_str()), (0, ""), "{words:?}");
    out.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn has(candidates: &[String], want: &[&str]) -> bool {
    want.iter().all(|w| candidates.iter().any(|c| c == w))
}

/// A root as `write --no-config --instance 1` leaves it.
fn written_root(tag: &str) -> TempDir {
    let root = TempDir::new(tag);
    let args = [
        "write",
        "-q",
        "--no-config",
        "--root",
        root.arg(),
        "--instance",
        "1",
    ];
    assert_eq!(cmd(&args).status().unwrap().code(), Some(0));
    root
}

#[test]
fn bash_completes_subcommands_profiles_flag_values_and_explain_subjects() {
    let dir = TempDir::new("bash");
    let script = dir.path().join("left4me-harden.bash");
    fs::write(&script, stdout(&["completions", "bash"])).unwrap();
    let at = |words: &[&str]| bash_candidates(&script, words);

    let top = at(&["left4me-harden", ""]);
    assert!(
        has(&top, &["render", "write", "diff", "explain", "lint", "man"]),
        "{top:?}"
    );
    let render = at(&["left4me-harden", "render", ""]);
    assert!(has(&render, &["server", "web", "sysctl"]), "{render:?}");
    // Below the top level, not the top level's words again.
    assert!(
        !render.iter().any(|c| c == "write" || c == "diff"),
        "{render:?}"
    );
    let formats = at(&["left4me-harden", "render", "--format", ""]);
    assert_eq!(formats, ["conf", "bundlewrap", "json"]);
    let write_formats = at(&["left4me-harden", "write", "--format", ""]);
    assert_eq!(write_formats, ["conf", "bundlewrap"], "write refuses json");
    let colors = at(&["left4me-harden", "diff", "--color", ""]);
    assert_eq!(colors, ["auto", "always", "never"]);
    let traits = at(&["left4me-harden", "lint", "--trait", "s"]);
    assert_eq!(traits, ["shares-uid"]);
    let explain = at(&["left4me-harden", "explain", ""]);
    assert!(
        has(
            &explain,
            &[
                "server",
                "hidepid-same-uid",
                "kernel.yama.ptrace_scope",
                "PrivatePIDs",
                "ProtectProc"
            ]
        ),
        "{explain:?}"
    );
    let private = at(&["left4me-harden", "explain", "PrivateP"]);
    assert_eq!(private, ["PrivatePIDs"]);
    let profile = at(&["left4me-harden", "diff", "w"]);
    assert!(has(&profile, &["web"]), "{profile:?}");

    // Negative control: the script as clap_complete spells its case arms
    // (the bug this repairs) completes nothing below the top level, so the
    // checks above can fail.
    let text = fs::read_to_string(&script).unwrap();
    let broken: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("left4me__harden__subcmd__") && l.ends_with(')') {
                l.replacen(
                    "left4me__harden__subcmd__",
                    "left4me__subcmd__harden__subcmd__",
                    1,
                )
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let broken_script = dir.path().join("broken.bash");
    fs::write(&broken_script, broken).unwrap();
    let none = bash_candidates(&broken_script, &["left4me-harden", "render", ""]);
    assert!(!has(&none, &["server"]), "{none:?}");
    let top = bash_candidates(&broken_script, &["left4me-harden", ""]);
    assert!(has(&top, &["render"]), "the top level still works: {top:?}");
}

// ------------------------------------------------------------ zsh, fish

#[test]
fn zsh_loads_the_completion_script() {
    let dir = TempDir::new("zsh");
    let script = dir.path().join("_left4me-harden");
    fs::write(&script, stdout(&["completions", "zsh"])).unwrap();
    let load = |file: &Path| {
        let program = format!(
            "autoload -U compinit && compinit -u -d '{}/zcompdump' && source '{}' && \
             (( $+functions[_left4me-harden] )) && print loaded",
            dir.arg(),
            file.display()
        );
        output(
            Command::new(shell("zsh"))
                .args(["-f", "-c", &program])
                .env("HOME", dir.path()),
        )
    };
    let (code, out, err) = load(&script);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "loaded\n", ""));
    // Negative control: a script with a syntax error does not load.
    let bad = dir.path().join("_bad");
    fs::write(&bad, fs::read_to_string(&script).unwrap() + "\n_x() {\n").unwrap();
    let (code, out, _) = load(&bad);
    assert!(code != 0 && out.is_empty(), "{code} {out}");
}

#[test]
fn fish_loads_the_completion_script_and_completes_profiles() {
    let dir = TempDir::new("fish");
    let script = dir.path().join("left4me-harden.fish");
    fs::write(&script, stdout(&["completions", "fish"])).unwrap();
    let fish = shell("fish");
    let (code, _, err) = output(Command::new(&fish).arg("-n").arg(&script));
    assert_eq!((code, err.as_str()), (0, ""), "fish -n");
    let complete = |line: &str| {
        let program = format!("source '{}'; complete -C '{line}'", script.display());
        let (code, out, err) = output(
            Command::new(&fish)
                .args(["--no-config", "-c", &program])
                .env("HOME", dir.path())
                .env("XDG_CONFIG_HOME", dir.path())
                .env("XDG_DATA_HOME", dir.path()),
        );
        assert_eq!((code, err.as_str()), (0, ""), "{line}");
        // `complete -C` prints CANDIDATE<TAB>DESCRIPTION.
        out.lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    let profiles = complete("left4me-harden render ");
    assert!(has(&profiles, &["server", "web", "sysctl"]), "{profiles:?}");
    let colors = complete("left4me-harden diff --color ");
    assert!(has(&colors, &["auto", "always", "never"]), "{colors:?}");
    // Negative control: without the script, no profile is offered.
    let program = "complete -C 'left4me-harden render '";
    let (_, out, _) = output(
        Command::new(&fish)
            .args(["--no-config", "-c", program])
            .env("HOME", dir.path()),
    );
    assert!(!out.lines().any(|l| l.starts_with("server")), "{out}");
}

// ------------------------------------------------------------- man pages

#[test]
fn every_subcommand_has_a_man_page_with_the_operator_sections() {
    let dir = TempDir::new("man");
    stdout(&["man", "--out-dir", dir.arg()]);
    let mut pages: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    assert!(pages.len() > 10, "{pages:?}");
    let main = fs::read_to_string(dir.path().join("left4me-harden.1")).unwrap();
    // Every page the main page points to exists, and every page exists
    // that a subcommand needs.
    let mut referenced = Vec::new();
    for word in main.split(|c: char| c.is_whitespace()) {
        let word = word
            .trim_end_matches(',')
            .replace("\\fB", "")
            .replace("\\fR", "");
        if let Some(name) = word
            .strip_suffix("(1)")
            .filter(|n| n.starts_with("left4me"))
        {
            referenced.push(format!("{}.1", name.replace("\\-", "-")));
        }
    }
    assert!(
        referenced.iter().any(|r| r == "left4me-harden-diff.1"),
        "{referenced:?}"
    );
    for r in &referenced {
        assert!(
            pages.contains(r),
            "{r} is referenced but not produced ({pages:?})"
        );
    }
    for sub in [
        "render", "write", "diff", "explain", "lint", "list", "check", "triage", "score",
    ] {
        assert!(
            pages.contains(&format!("left4me-harden-{sub}.1")),
            "{sub}: {pages:?}"
        );
    }
    for page in &pages {
        let text = fs::read_to_string(dir.path().join(page)).unwrap();
        for section in [
            "\"SEE ALSO\"",
            "NAME",
            "SYNOPSIS",
            "\"EXIT STATUS\"",
            "\"ENVIRONMENT\"",
            "\"FILES\"",
            "\"EXAMPLES\"",
        ] {
            assert!(
                text.contains(&format!("\n.SH {section}\n")),
                "{page}: no {section}"
            );
        }
    }
    // One page on standard output is the same page.
    assert_eq!(
        stdout(&["man", "diff"]),
        fs::read_to_string(dir.path().join("left4me-harden-diff.1")).unwrap()
    );
    let diff = stdout(&["man", "diff"]);
    assert!(
        diff.contains("left4me\\-harden\\-diff"),
        "named as its page"
    );
    assert!(diff.contains("LEFT4ME_HARDEN_CONFIG"));
    assert!(diff.contains("/etc/left4me\\-harden/host.toml"));
    // A mistyped page is refused, with the one meant.
    let out = cmd(&["man", "dif"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no subcommand \"dif\" (did you mean \"diff\"?)"),
        "{err}"
    );
}

// ---------------------------------------------------------------- colour

/// `diff` of an edited root run on a terminal (`script` gives it a pty),
/// with `env` set; the bytes it printed.
fn diff_on_a_terminal(root: &TempDir, env: &[(&str, &str)]) -> String {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("script (util-linux) is installed");
    let line = format!("{BIN} diff --no-config --root {} server", root.arg());
    let mut c = Command::new(script);
    c.args(["-q", "-e", "-c", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("LEFT4ME_HARDEN_CONFIG");
    for (k, v) in env {
        c.env(k, v);
    }
    let (code, out, err) = output(&mut c);
    assert_eq!(code, 1, "{out}{err}");
    out
}

#[test]
fn colour_on_a_terminal_but_not_with_no_color_or_a_dumb_terminal() {
    let root = TempDir::new("colour");
    assert_eq!(
        cmd(&["write", "-q", "--no-config", "--root", root.arg()])
            .status()
            .unwrap()
            .code(),
        Some(0)
    );
    let file = root
        .path()
        .join("etc/systemd/system/left4me-server@.service.d/10-hardening.conf");
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, text.replace("UMask=0027", "UMask=0022")).unwrap();

    // The control: a terminal that can colour gets colour.
    let colour = diff_on_a_terminal(&root, &[("TERM", "xterm")]);
    assert!(
        colour.contains("\x1b[33m~ UMask 0022 -> 0027"),
        "{colour:?}"
    );
    for env in [
        [("TERM", "xterm"), ("NO_COLOR", "1")],
        [("TERM", "dumb"), ("NO_COLOR", "")],
    ] {
        let plain = diff_on_a_terminal(&root, &env);
        assert!(plain.contains("~ UMask 0022 -> 0027"), "{env:?}: {plain:?}");
        assert!(!plain.contains('\x1b'), "{env:?}: {plain:?}");
    }
    // --color always wins over both.
    let out = cmd(&[
        "diff",
        "--no-config",
        "--root",
        root.arg(),
        "server",
        "--color",
        "always",
    ])
    .env("NO_COLOR", "1")
    .env("TERM", "dumb")
    .output()
    .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b[33m"));
}

// ------------------------------------------------------ everyday messages

fn error_of(args: &[&str]) -> String {
    let out = cmd(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty());
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn a_mistyped_name_gets_the_one_meant() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["explain", "PrivatPIDs"],
            "(did you mean \"PrivatePIDs\"?)",
        ),
        (
            &["explain", "hidepid-same-ui"],
            "(did you mean \"hidepid-same-uid\"?)",
        ),
        (
            &["render", "sever"],
            "unknown profile \"sever\" (expected server, web or sysctl) (did you mean \"server\"?)",
        ),
        (
            &["lint", "--trait", "i386-binar", "x.conf"],
            "unknown trait \"i386-binar\"",
        ),
        (
            &["lint", "--trait", "i386-binar", "x.conf"],
            "(did you mean \"i386-binary\"?)",
        ),
    ];
    for (args, want) in cases {
        let err = error_of(args);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let dir = TempDir::new("typo");
    let config = dir.path().join("host.toml");
    for (profile, text, want) in [
        (
            "server",
            "[[server.add]]\ndirective = \"BindReadOnlyPath\"\nvalue = \"/x\"\nreason = \"r\"\n",
            "(did you mean \"BindReadOnlyPaths\"?)",
        ),
        (
            "web",
            "[[waivers]]\nlint = \"hidepid-same-ui\"\nreason = \"r\"\n",
            "(did you mean \"hidepid-same-uid\"?)",
        ),
    ] {
        fs::write(&config, text).unwrap();
        let err = error_of(&["render", profile, "--config", config.to_str().unwrap()]);
        assert!(err.contains(want), "{profile}: {err}");
    }
    // Negative control: nothing close, no suggestion.
    let err = error_of(&["explain", "zzzzzz"]);
    assert!(!err.contains("did you mean"), "{err}");
}

#[test]
fn explain_knows_the_sysctl_key_and_whose_waiver_it_is() {
    let sysctl = stdout(&["explain", "kernel.yama.ptrace_scope", "--no-config"]);
    assert!(
        sysctl.starts_with("kernel.yama.ptrace_scope — a kernel parameter (sysctl)\n"),
        "{sysctl}"
    );
    assert!(
        sysctl.contains("  kernel.yama.ptrace_scope=2\n      Test 9: "),
        "{sysctl}"
    );
    assert!(sysctl.contains("sysctl --system"), "{sysctl}");
    // The profile's own waiver is the profile's, not the host config's.
    let lint = stdout(&["explain", "hidepid-same-uid", "--no-config"]);
    assert!(lint.contains("waived for web by profile web: "), "{lint}");
    assert!(!lint.contains("by host config"), "{lint}");
    // Control: a host config's waiver says so.
    let dir = TempDir::new("waiver");
    let config = dir.path().join("host.toml");
    fs::write(
        &config,
        "[[waivers]]\nlint = \"hidepid-same-uid\"\nprofile = \"server\"\nreason = \"ours\"\n",
    )
    .unwrap();
    let lint = stdout(&[
        "explain",
        "hidepid-same-uid",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(
        lint.contains("waived for server by host config: ours"),
        "{lint}"
    );
}

// ----------------------------------------------------- config, stdin, lint

#[test]
fn the_config_comes_from_the_flag_the_environment_or_standard_input() {
    let dir = TempDir::new("config");
    let config = dir.path().join("host.toml");
    let text = "[[server.remove]]\ndirective = \"ProtectClock\"\nreason = \"chrony\"\n";
    fs::write(&config, text).unwrap();
    let path = config.to_str().unwrap();
    let header = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("# Host config: "))
            .unwrap_or_default()
            .to_owned()
    };

    let by_flag = stdout(&["render", "server", "--config", path]);
    assert!(
        header(&by_flag).starts_with(&format!("# Host config: {path} (sha256 ")),
        "{by_flag}"
    );
    let out = cmd(&["render", "server"])
        .env("LEFT4ME_HARDEN_CONFIG", path)
        .output()
        .unwrap();
    let by_env = String::from_utf8(out.stdout).unwrap();
    assert_eq!(by_env, by_flag, "the environment names the same config");
    // --no-config wins over the environment.
    let out = cmd(&["render", "server", "--no-config"])
        .env("LEFT4ME_HARDEN_CONFIG", path)
        .output()
        .unwrap();
    let standard = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        header(&standard),
        "# Host config: none (the standard profiles)."
    );
    assert!(standard.contains("ProtectClock=true"));
    // `-`: standard input; the same content, the same hash.
    let mut child = cmd(&["render", "server", "--config", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let piped = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let hash = |h: String| h.rsplit_once(" (").map(|(_, x)| x.to_owned());
    assert_eq!(
        header(&piped),
        format!(
            "# Host config: standard input ({}",
            hash(header(&by_flag)).unwrap()
        )
    );
    assert!(!piped.contains("ProtectClock=true"));
    // A named config that is missing is an error, never the standard profiles.
    let missing = dir.path().join("missing.toml");
    let out = cmd(&["render", "server"])
        .env("LEFT4ME_HARDEN_CONFIG", &missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn lint_reads_standard_input_and_refuses_a_unit_name_for_unit() {
    use std::io::Write as _;
    let mut child = cmd(&["lint", "-", "--no-config", "--trait", "text-relocations"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let text = "[Service]\nPrivatePIDs=maybe\nMemoryDenyWriteExecute=yes\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("error[mdwx-text-relocations]"), "{text}");
    assert!(
        text.contains(": warning: standard input:2: Failed to parse PrivatePIDs=maybe"),
        "{text}"
    );
    assert!(
        text.ends_with("1 file: 1 error, 1 warning, 0 notes\n"),
        "{text}"
    );
    // Standard input is read once: named twice, it is an error, not an
    // empty second file.
    for args in [
        &["lint", "-", "--config", "-"][..],
        &["lint", "-", "-", "--no-config"][..],
    ] {
        let out = cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = out.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("\"standard input\" is read once per run"),
            "{args:?}: {err}"
        );
    }
    let err = error_of(&["lint", "x.conf", "--unit", "left4me-server@.service"]);
    assert!(err.contains("--unit takes a base unit file"), "{err}");
    assert!(err.contains("lint [--root DIR] UNIT"), "{err}");
}

#[test]
fn lint_of_unit_names_under_a_root() {
    let root = written_root("lint-root");
    let all = stdout(&["lint", "--no-config", "--root", root.arg()]);
    assert!(
        all.starts_with("left4me-web.service: warning[hidepid-same-uid]"),
        "{all}"
    );
    assert!(
        all.ends_with("\n2 units: 0 errors, 0 warnings, 1 note\n"),
        "{all}"
    );
    let one = stdout(&[
        "lint",
        "--no-config",
        "--root",
        root.arg(),
        "left4me-server@1.service",
    ]);
    assert!(
        one.starts_with("left4me-server@1.service: note[instance-replaces-template]"),
        "{one}"
    );
    // Paths as they are under the root.
    assert!(
        one.contains(&format!(
            " {}/etc/systemd/system/left4me-server@1.service.d/",
            root.arg()
        )),
        "{one}"
    );
    assert!(
        one.ends_with("\n1 unit: 0 errors, 0 warnings, 1 note\n"),
        "{one}"
    );
}

// ---------------------------------------------------------------- README

#[test]
fn the_readme_opens_for_newcomers_then_operators_and_its_lint_example_runs() {
    let readme =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let first: Vec<&str> = readme.lines().skip(2).take(4).collect();
    assert_eq!(
        first,
        [
            "```sh",
            "cargo run --release --bin left4me-harden -- render server",
            "scripts/test",
            "```"
        ]
    );
    let operators = readme
        .find("## For operators (Debian 13)")
        .expect("an operator section");
    let section = &readme[operators
        ..readme[operators..]
            .find("\n## What it is")
            .map_or(readme.len(), |e| operators + e)];
    for want in [
        "cargo install --locked --path crates/left4me-harden",
        "scripts/deb build",
        "/etc/left4me-harden/host.toml",
        "left4me-harden write --check",
        "left4me-harden diff",
        "left4me-harden check",
        "systemctl daemon-reload",
        "sysctl --system",
    ] {
        assert!(
            section.contains(want),
            "the operator section lacks {want:?}"
        );
    }
    // Every `lint` example of the README runs (against a written root).
    let root = written_root("readme");
    let lints: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("left4me-harden lint --root / "))
        .collect();
    assert!(!lints.is_empty());
    for line in lints {
        let command = line.split(" #").next().unwrap().trim();
        let mut args: Vec<&str> = command.split_whitespace().skip(1).collect();
        for a in &mut args {
            if *a == "/" {
                *a = root.arg();
            }
        }
        args.push("--no-config");
        let out = cmd(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn quiet_leaves_out_notes_warnings_and_scores() {
    let dir = TempDir::new("quiet-config");
    let config = dir.path().join("host.toml");
    let text = "[[server.remove]]\ndirective = \"ProtectClock\"\nreason = \"chrony\"\n";
    fs::write(&config, text).unwrap();
    let args = ["render", "server", "--config", config.to_str().unwrap()];
    let loud = cmd(&args).output().unwrap();
    let quiet = cmd(&[&args[..], &["-q"]].concat()).output().unwrap();
    // The control: without -q, the config's warning and the score.
    let err = String::from_utf8_lossy(&loud.stderr);
    assert!(
        err.contains("warning[replaces-proven]") && err.contains("score: "),
        "{err}"
    );
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    assert_eq!(quiet.stdout, loud.stdout, "what was asked for is printed");
    // diff's note on an installed instance not asked for.
    let root = TempDir::new("quiet");
    let write = [
        "write",
        "-q",
        "--no-config",
        "--root",
        root.arg(),
        "--instance",
        "1",
        "--instance",
        "3",
    ];
    assert_eq!(cmd(&write).status().unwrap().code(), Some(0));
    let diff = [
        "diff",
        "--no-config",
        "--root",
        root.arg(),
        "--instance",
        "1",
    ];
    let note = cmd(&diff).output().unwrap();
    let err = String::from_utf8_lossy(&note.stderr);
    assert!(
        err.contains("note: left4me-server@3.service is installed"),
        "{err}"
    );
    let quiet = cmd(&[&diff[..], &["-q"]].concat()).output().unwrap();
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    assert_eq!(quiet.stdout, note.stdout);
}
