//! Hostile input, one table: every way input enters (library constructors,
//! directive values, instance names, installed files, host configuration,
//! command-line arguments), each row refused with an error naming the
//! value; on the command line with exit 2 and nothing written.

use std::ffi::OsString;
use std::fmt::Debug;
use std::os::unix::ffi::OsStringExt as _;
use std::path::Path;

use dropin::{Assignment, Directive, Instance, Ports, UMask, UnitName, UnitPath};

use crate::installed_rows::{garbage, installed_rows};
use crate::support::{Scratch, listing, run, stderr};

/// How a row's input enters.
enum Entry {
    /// A library call; its error message must contain `expect`.
    Lib(Box<dyn Fn() -> Result<String, String>>),
    /// Command-line arguments; `{root}` is replaced by a scratch root that
    /// already holds files, which must be left exactly as they were.
    Cli(Vec<OsString>),
    /// An installed file's bytes, placed where `diff` reads the server
    /// template drop-in, read through the library reader, `diff` and
    /// `lint`.
    Installed(Vec<u8>),
    /// A host configuration's text, through `config::parse` + apply and
    /// through `write --config`.
    Config(Vec<u8>),
}

struct Row {
    name: &'static str,
    entry: Entry,
    /// What the message must contain: the offending value, debug-escaped.
    expect: String,
}

fn q(value: impl Debug) -> String {
    format!("{value:?}")
}

fn lib<T: Debug, E: ToString>(f: impl Fn() -> Result<T, E> + 'static) -> Entry {
    Entry::Lib(Box::new(move || {
        f().map(|v| format!("{v:?}")).map_err(|e| e.to_string())
    }))
}

fn path_row(name: &'static str, value: &'static str) -> Row {
    Row {
        name,
        entry: lib(move || UnitPath::new(value)),
        expect: q(value),
    }
}

fn instance_row(name: &'static str, value: String) -> Row {
    let v = value.clone();
    Row {
        name,
        entry: lib(move || Instance::new(&v)),
        expect: q(&value),
    }
}

fn value_row(name: &'static str, d: Directive, value: &'static str, expect: &str) -> Row {
    Row {
        name,
        entry: lib(move || Assignment::parse(d, value)),
        expect: expect.to_owned(),
    }
}

fn cli(name: &'static str, args: &[&[u8]], expect: &str) -> Row {
    Row {
        name,
        entry: Entry::Cli(
            args.iter()
                .map(|a| OsString::from_vec(a.to_vec()))
                .collect(),
        ),
        expect: expect.to_owned(),
    }
}

/// The installed file the `Installed` rows replace.
const SERVER_DROPIN: &str = "etc/systemd/system/left4me-server@.service.d/10-hardening.conf";

fn rows() -> Vec<Row> {
    let long_instance = "1".repeat(300);
    let long_path: &'static str = Box::leak(format!("/{}", "a".repeat(5000)).into_boxed_str());
    let mut rows = vec![
        // Paths in unit-file syntax.
        path_row("path with newline", "/a\nb"),
        path_row("path with CR", "/a\rb"),
        path_row("path with NUL", "/a\0b"),
        path_row("path with ESC", "/a\x1b[31mb"),
        path_row("path with DEL", "/a\x7fb"),
        path_row("relative path", "relative/path"),
        path_row("path with ..", "/var/lib/../etc"),
        path_row("path starting //", "//etc"),
        path_row("path with //", "/var//lib"),
        path_row("path with trailing /", "/var/lib/"),
        path_row("path with space", "/var/my lib"),
        path_row("path with tab", "/var/my\tlib"),
        path_row("path with double quote", "/var/\"lib\""),
        path_row("path with single quote", "/var/'lib'"),
        path_row("path with backslash", "/var/lib\\x20"),
        path_row("path with unknown specifier", "/var/lib/%z"),
        path_row("path with trailing %", "/srv/100%"),
        path_row("empty path", ""),
        Row {
            name: "over-long path",
            entry: lib(move || UnitPath::new(long_path)),
            expect: "longer than".to_owned(),
        },
        // Instance names.
        instance_row("instance with /", "a/b".into()),
        instance_row("instance with space", "a b".into()),
        instance_row("empty instance", String::new()),
        instance_row("over-long instance", long_instance.clone()),
        instance_row("instance with newline", "1\nExecStart=/bin/sh".into()),
        instance_row("instance with NUL", "1\0".into()),
        instance_row("instance with non-ASCII", "\u{e9}t\u{e9}".into()),
        instance_row("instance with %", "%i".into()),
        Row {
            name: "instance .. substituted into a path",
            entry: lib(|| {
                let i = Instance::new("..").map_err(|e| e.to_string())?;
                UnitPath::new("/var/lib/left4me/runtime/%i")
                    .and_then(|p| p.resolve_instance(&i))
                    .map_err(|e| e.to_string())
            }),
            expect: q(".."),
        },
        // Directive values.
        value_row(
            "newline injection in a boolean",
            Directive::NoNewPrivileges,
            "true\nExecStartPre=/bin/sh",
            &q("true\nExecStartPre=/bin/sh"),
        ),
        value_row(
            "CR in a keyword",
            Directive::ProtectSystem,
            "strict\r",
            &q("strict\r"),
        ),
        value_row(
            "NUL in a keyword",
            Directive::ProtectHome,
            "yes\0",
            &q("yes\0"),
        ),
        value_row(
            "vertical tab in a filter",
            Directive::SystemCallFilter,
            "@system-service\x0bptrace",
            &q("@system-service\x0bptrace"),
        ),
        value_row(
            "unknown syscall group",
            Directive::SystemCallFilter,
            "@bogus-group",
            &q("@bogus-group"),
        ),
        value_row(
            "unknown syscall",
            Directive::SystemCallFilter,
            "~not_a_syscall",
            "not_a_syscall",
        ),
        value_row(
            "unknown syscall log group",
            Directive::SystemCallLog,
            "@nope",
            "@nope",
        ),
        value_row(
            "unknown address family",
            Directive::RestrictAddressFamilies,
            "AF_INET AF_BOGUS",
            "AF_BOGUS",
        ),
        value_row(
            "unknown capability",
            Directive::CapabilityBoundingSet,
            "CAP_BOGUS",
            "CAP_BOGUS",
        ),
        value_row(
            "unknown ambient capability",
            Directive::AmbientCapabilities,
            "~CAP_NET_RAW CAP_WHATEVER",
            "CAP_WHATEVER",
        ),
        value_row(
            "unknown architecture",
            Directive::SystemCallArchitectures,
            "native sparc99",
            &q("sparc99"),
        ),
        value_row(
            "unknown errno",
            Directive::SystemCallErrorNumber,
            "EBOGUS",
            &q("EBOGUS"),
        ),
        value_row(
            "port out of range",
            Directive::SocketBindAllow,
            "udp:70000",
            &q("70000"),
        ),
        value_row(
            "reversed port range",
            Directive::SocketBindAllow,
            "ipv4:udp:27999-27000",
            &q("27999-27000"),
        ),
        value_row(
            "port zero",
            Directive::SocketBindDeny,
            "tcp:0",
            &q("0"),
        ),
        value_row(
            "unknown bind family",
            Directive::SocketBindAllow,
            "ipv5:udp:1",
            &q("ipv5:udp:1"),
        ),
        value_row(
            "non-octal UMask",
            Directive::UMask,
            "0999",
            &q("0999"),
        ),
        value_row(
            "UMask beyond permission bits",
            Directive::UMask,
            "07777",
            &q("07777"),
        ),
        value_row("negative UMask", Directive::UMask, "-022", &q("-022")),
        value_row(
            "relative bind source",
            Directive::BindPaths,
            "relative",
            &q("relative"),
        ),
        value_row(
            "unknown bind option",
            Directive::BindReadOnlyPaths,
            "/a:/b:bogus",
            &q("/a:/b:bogus"),
        ),
        value_row(
            "relative optional path",
            Directive::ReadOnlyPaths,
            "/ok -relative",
            "relative",
        ),
        value_row(
            "unknown specifier in a list",
            Directive::ReadWritePaths,
            "/a/%x",
            &q("/a/%x"),
        ),
        value_row(
            "BEL in tmpfs options",
            Directive::TemporaryFileSystem,
            "/x:mode=0755\x07",
            &q("/x:mode=0755\x07"),
        ),
        value_row(
            "unknown namespace",
            Directive::RestrictNamespaces,
            "net bogus",
            "bogus",
        ),
        value_row(
            "unknown keyring mode",
            Directive::KeyringMode,
            "public",
            &q("public"),
        ),
        value_row(
            "unknown ProtectProc",
            Directive::ProtectProc,
            "visible",
            &q("visible"),
        ),
        value_row(
            "empty assignment where systemd refuses it",
            Directive::NoNewPrivileges,
            "",
            "NoNewPrivileges",
        ),
        Row {
            name: "UMask from a number beyond 0777",
            entry: lib(|| UMask::new(0o1000)),
            expect: q("1000"),
        },
        Row {
            name: "reversed port range from numbers",
            entry: lib(|| Ports::range(30000, 20000)),
            expect: q("30000-20000"),
        },
        Row {
            name: "unit name with a space",
            entry: lib(|| UnitName::new("left4me web.service")),
            expect: q("left4me web.service"),
        },
        Row {
            name: "unknown directive",
            entry: lib(|| "MemoryDenyWriteExecute\n".parse::<Directive>()),
            expect: q("MemoryDenyWriteExecute\n"),
        },
        // Host configuration.
        Row {
            name: "config: reason with a line break",
            entry: Entry::Config(
                b"[[server.remove]]\ndirective = \"ProtectClock\"\nreason = \"a\\nb\"\n".to_vec(),
            ),
            expect: q('\n'),
        },
        Row {
            name: "config: relative path in an added bind",
            entry: Entry::Config(
                b"[[server.add]]\ndirective = \"BindReadOnlyPaths\"\nvalue = \"var/cache\"\nreason = \"x\"\n"
                    .to_vec(),
            ),
            expect: q("var/cache"),
        },
        Row {
            name: "config: newline injection in an added value",
            entry: Entry::Config(
                b"[[server.add]]\ndirective = \"NoNewPrivileges\"\nvalue = \"true\\nExecStart=/bin/sh\"\nreason = \"x\"\n"
                    .to_vec(),
            ),
            expect: q("true\nExecStart=/bin/sh"),
        },
        Row {
            name: "config: unknown directive",
            entry: Entry::Config(
                b"[[server.add]]\ndirective = \"Bogus\"\nvalue = \"1\"\nreason = \"x\"\n".to_vec(),
            ),
            expect: "Bogus".to_owned(),
        },
        Row {
            name: "config: state dir with ..",
            entry: Entry::Config(b"[layout]\nstate_dir = \"/srv/../etc\"\n".to_vec()),
            expect: q("/srv/../etc"),
        },
        Row {
            name: "config: drop-in name escaping its directory",
            entry: Entry::Config(b"[layout]\ndropin_name = \"../../../x.conf\"\n".to_vec()),
            expect: q("../../../x.conf"),
        },
        Row {
            name: "config: binary garbage",
            entry: Entry::Config(garbage(4096, 42)),
            expect: "UTF-8".to_owned(),
        },
        Row {
            name: "config: repeated key",
            entry: Entry::Config(
                b"[layout]\nstate_dir = \"/srv/a\"\nstate_dir = \"/srv/b\"\n".to_vec(),
            ),
            expect: "line 3".to_owned(),
        },
        Row {
            name: "config: 10 MiB of repeated tables",
            entry: Entry::Config(
                b"[[server.remove]]\ndirective = \"ProtectClock\"\nreason = \"x\"\n"
                    .iter()
                    .copied()
                    .cycle()
                    .take(10 * 1024 * 1024)
                    .collect(),
            ),
            expect: "larger than the 1048576 bytes".to_owned(),
        },
        // The command line.
        cli(
            "cli: instance with /",
            &[b"write", b"--root", b"{root}", b"--instance", b"a/b"],
            &q("a/b"),
        ),
        cli(
            "cli: instance with space",
            &[b"write", b"--root", b"{root}", b"--instance", b"a b"],
            &q("a b"),
        ),
        cli(
            "cli: empty instance",
            &[b"write", b"--root", b"{root}", b"--instance", b""],
            "invalid instance name \"\"",
        ),
        cli(
            "cli: over-long instance",
            &[
                b"write",
                b"--root",
                b"{root}",
                b"--instance",
                long_instance.as_bytes(),
            ],
            &q(&long_instance),
        ),
        cli(
            "cli: instance with newline",
            &[b"write", b"--root", b"{root}", b"--instance", b"1\nBogus=1"],
            &q("1\nBogus=1"),
        ),
        cli(
            "cli: non-UTF-8 instance",
            &[b"write", b"--root", b"{root}", b"--instance", b"a\xffb"],
            "\"a\\xFFb\"",
        ),
        cli(
            "cli: instance .. (path traversal once substituted)",
            &[b"write", b"--root", b"{root}", b"--instance", b".."],
            &q(".."),
        ),
        cli(
            "cli: a good and a bad instance write nothing",
            &[
                b"write",
                b"--root",
                b"{root}",
                b"--instance",
                b"7",
                b"--instance",
                b"x y",
            ],
            &q("x y"),
        ),
        cli(
            "cli: render an instance with /",
            &[b"render", b"server", b"--instance", b"../../etc"],
            &q("../../etc"),
        ),
        cli(
            "cli: unknown profile",
            &[b"render", b"bogus"],
            &q("bogus"),
        ),
        cli(
            "cli: profile with newline",
            &[b"render", b"server\n"],
            &q("server\n"),
        ),
        cli(
            "cli: non-UTF-8 profile",
            &[b"render", b"\xfe\xff"],
            "\"\\xFE\\xFF\"",
        ),
        cli(
            "cli: systemd version not a number",
            &[b"write", b"--root", b"{root}", b"--systemd-version", b"abc"],
            &q("abc"),
        ),
        cli(
            "cli: systemd version out of range",
            &[b"write", b"--root", b"{root}", b"--systemd-version", b"99999"],
            &q("99999"),
        ),
        cli(
            "cli: systemd version with newline",
            &[
                b"write",
                b"--root",
                b"{root}",
                b"--systemd-version",
                b"257\n",
            ],
            &q("257\n"),
        ),
        cli(
            "cli: systemd version too old for the profile",
            &[b"write", b"--root", b"{root}", b"--systemd-version", b"246"],
            "systemd 246 does not know",
        ),
        cli(
            "cli: unknown directive to explain",
            &[b"explain", b"Bogus=\x1b[2J"],
            &q("Bogus=\x1b[2J"),
        ),
        cli(
            "cli: root that does not exist",
            &[b"write", b"--root", b"{root}/missing\ndir"],
            "missing\\ndir\"",
        ),
        cli(
            "cli: write as json",
            &[b"write", b"--root", b"{root}", b"--format", b"json"],
            "invalid value 'json' for '--format <FORMAT>'",
        ),
        cli(
            "cli: unknown format",
            &[b"write", b"--root", b"{root}", b"--format", b"xml"],
            "'xml'",
        ),
    ];
    rows.extend(
        installed_rows()
            .into_iter()
            .map(|(name, bytes, expect)| Row {
                name,
                entry: Entry::Installed(bytes),
                expect,
            }),
    );
    rows
}

/// A root holding what `write` writes, as the command-line rows' target.
fn prepared_root(tag: &str) -> Scratch {
    let root = Scratch::new(tag);
    let out = run([
        OsString::from("write"),
        OsString::from("--root"),
        root.path.clone().into_os_string(),
        OsString::from("--instance"),
        OsString::from("1"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    root
}

fn substitute(args: &[OsString], root: &Path) -> Vec<OsString> {
    args.iter()
        .map(|a| {
            let bytes = a.clone().into_vec();
            let marker = b"{root}";
            match bytes.windows(marker.len()).position(|w| w == marker) {
                Some(at) => {
                    let mut out = bytes[..at].to_vec();
                    out.extend(root.as_os_str().as_encoded_bytes());
                    out.extend(&bytes[at + marker.len()..]);
                    OsString::from_vec(out)
                }
                None => a.clone(),
            }
        })
        .collect()
}

/// Runs the command line and checks: exit 2, one message naming the
/// value, the root unchanged. Returns what went wrong, if anything.
fn check_cli(args: &[OsString], expect: &str, root: &Path) -> Option<String> {
    let before = listing(root);
    let out = run(substitute(args, root));
    let err = stderr(&out);
    let after = listing(root);
    if out.status.code() != Some(2) {
        return Some(format!("exit {:?}, stderr {err:?}", out.status.code()));
    }
    if !err.contains(expect) {
        return Some(format!("stderr does not contain {expect}: {err:?}"));
    }
    if before != after {
        return Some("the root changed".to_owned());
    }
    None
}

/// A host configuration row: the library must refuse it (parse or apply),
/// and so must `write --config`.
fn check_config(text: &[u8], expect: &str, root: &Path) -> Option<String> {
    let lib = match std::str::from_utf8(text) {
        Ok(t) => match left4me_hardening::config::parse("host.toml", t).and_then(|c| c.apply()) {
            Ok(_) => Some("config::parse + apply accepted it".to_owned()),
            Err(e) if !e.to_string().contains(expect) => {
                Some(format!("config error does not contain {expect}: {e}"))
            }
            Err(_) => None,
        },
        // Not text: only the file loader sees it.
        Err(_) => None,
    };
    if lib.is_some() {
        return lib;
    }
    let config = root.with_extension("host.toml");
    std::fs::write(&config, text).expect("config file");
    let args = [
        OsString::from("write"),
        OsString::from("--root"),
        root.as_os_str().to_owned(),
        OsString::from("--config"),
        config.as_os_str().to_owned(),
    ];
    let problem = check_cli(&args, expect, root);
    let _ = std::fs::remove_file(&config);
    problem.map(|p| format!("write --config: {p}"))
}

/// An installed-file row: `diff` reads it as systemd 257 does (a line
/// systemd ignores is reported as it logs it, `FILE:LINE: message`; a file
/// the reader refuses fails the run), so it exits 1 or 2, never 0, names
/// what it found, prints no control character and writes nothing; `lint`
/// of the file exits 0, 1 or 2 (2 where `diff` did) with the same care.
fn check_installed(bytes: &[u8], expect: &str, root: &Path) -> Option<String> {
    let file = root.join(SERVER_DROPIN);
    let saved = std::fs::read(&file).expect("installed file");
    std::fs::write(&file, bytes).expect("hostile installed file");
    let before = listing(root);
    let check = |args: Vec<OsString>, codes: &[i32], expect: Option<&str>| -> Result<i32, String> {
        let out = run(args);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        // Paths are shown as they are under the root; the rows name them
        // as the host would.
        let text = text.replace(&root.display().to_string(), "");
        let code = out.status.code().unwrap_or(-1);
        let head = || text.chars().take(300).collect::<String>();
        if !codes.contains(&code) {
            return Err(format!("exit {code}: {}", head()));
        }
        if let Some(e) = expect
            && !text.contains(e)
        {
            return Err(format!("does not say {e:?}: {}", head()));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err("prints a control character".to_owned());
        }
        Ok(code)
    };
    let mut problem = match check(
        vec![
            OsString::from("diff"),
            OsString::from("--root"),
            root.as_os_str().to_owned(),
            OsString::from("server"),
        ],
        &[1, 2],
        Some(expect),
    ) {
        Err(p) => Some(format!("diff: {p}")),
        Ok(code) => {
            let codes: &[i32] = if code == 2 { &[2] } else { &[0, 1] };
            check(
                vec![OsString::from("lint"), file.as_os_str().to_owned()],
                codes,
                None,
            )
            .err()
            .map(|p| format!("lint: {p}"))
        }
    };
    if problem.is_none() && listing(root) != before {
        problem = Some("the root changed".to_owned());
    }
    std::fs::write(&file, saved).expect("restore");
    problem
}

#[test]
fn every_hostile_input_is_refused_naming_the_value() {
    let rows = rows();
    assert!(rows.len() >= 40, "only {} rows", rows.len());
    let root = prepared_root("hostile");
    let mut failures = Vec::new();
    for row in &rows {
        let problem = match &row.entry {
            Entry::Lib(f) => match f() {
                Ok(v) => Some(format!("accepted: {v}")),
                Err(e) if !e.contains(&row.expect) => {
                    Some(format!("message does not contain {}: {e}", row.expect))
                }
                Err(e) if e.contains('\n') => Some(format!("message is not one line: {e:?}")),
                Err(_) => None,
            },
            Entry::Cli(args) => check_cli(args, &row.expect, &root.path),
            Entry::Installed(bytes) => check_installed(bytes, &row.expect, &root.path),
            Entry::Config(text) => check_config(text, &row.expect, &root.path),
        };
        if let Some(p) = problem {
            failures.push(format!("{}: {p}", row.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// Comment text (provenance, host-config reasons) with control characters
/// cannot leave the comment: it is escaped, and the file reads back.
#[test]
fn control_characters_in_comments_stay_comments() {
    use dropin::{Composed, Layer, Provenance, RenderOptions};
    let why = Provenance::new("Test\r9", "reason\nBindPaths=/\0\x1b[2J");
    let layer = Layer::new("l")
        .set(Directive::NoNewPrivileges, "true", &why)
        .expect("layer");
    let composed = Composed::compose(&[layer]);
    let text = dropin::render::dropin(
        &["head\rer".to_owned()],
        &composed,
        RenderOptions { comments: true },
    );
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
    let file = dropin::lexer::lex("x.conf", text.as_bytes(), &["Service"]);
    assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
    let keys: Vec<&str> = file.assignments.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["NoNewPrivileges"], "{text}");

    // Found by the render property: a reason ending in whitespace (or a
    // bare line break) gave a comment line ending in a space.
    let why = Provenance::new("", "\n");
    let mut layer = Layer::new("l");
    layer.push(
        Assignment::parse(Directive::NoNewPrivileges, "true").expect("a"),
        why,
    );
    let text = dropin::render::dropin(&[], &Composed::compose(&[layer]), RenderOptions::default());
    assert!(!text.lines().any(|l| l.ends_with(' ')), "{text:?}");

    // sysctl.d files: a line break in a reason must not start a setting.
    let sysctl = dropin::SysctlFile::default()
        .set(
            "kernel.yama.ptrace_scope",
            "1",
            Provenance::new("Test 9", "why\nkernel.core_pattern=|/bin/sh\r"),
        )
        .expect("sysctl");
    let text = sysctl.render(&["head\nvm.x=1".to_owned()], true);
    let settings: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(settings, ["kernel.yama.ptrace_scope=1"], "{text}");
}
