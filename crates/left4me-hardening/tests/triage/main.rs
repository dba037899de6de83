//! SECCOMP triage on real record shapes (`tests/fixtures/triage/`): each
//! record decoded, attributed to the directive and the file and line of
//! the unit that denied it (the unit loaded as systemd loads it from an
//! installed tree), and the fix, checked. Each check has its negative
//! control: the same record against settings that allow the call, a fix
//! that cannot work, bad lines among good ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
#[path = "../support/snapshots.rs"]
mod snapshots;

use dropin::{Instance, MemFs, RenderOptions};
use left4me_hardening::triage::{self, Action, Check, Fix, Group, Options, Report, UnitSource};
use left4me_hardening::{ProfileKind, config};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const S1: &str = "left4me-server@1.service";
const WEB: &str = "left4me-web.service";
const GENERATED: &str = "/etc/systemd/system/left4me-server@.service.d/10-hardening.conf";
const GENERATED_1: &str = "/etc/systemd/system/left4me-server@1.service.d/10-hardening.conf";
const GENERATED_WEB: &str = "/etc/systemd/system/left4me-web.service.d/10-hardening.conf";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{MANIFEST}/tests/fixtures/triage/{name}")).unwrap()
}

/// The test plan's drop-ins, verbatim.
const TEST3_DROPIN: &str = "[Service]\nSystemCallArchitectures=native\n# Log every syscall in @privileged + @debug + @mount + @raw-io\nSystemCallLog=@privileged @debug @mount @raw-io\nSystemCallFilter=\n";

/// A host with the base units installed and, with `config`, what `write
/// --instance 1` writes for it; `extra` files on top.
fn host_tree(config: Option<&str>, extra: &[(&str, &str)]) -> MemFs {
    let mut fs = MemFs::new();
    for unit in ["left4me-server@.service", "left4me-web.service"] {
        let text =
            std::fs::read_to_string(format!("{MANIFEST}/tests/fixtures/units/{unit}")).unwrap();
        fs.file(&format!("/usr/local/lib/systemd/system/{unit}"), text);
    }
    if let Some(text) = config {
        let host = config::parse("harden.toml", text).unwrap().apply().unwrap();
        let one = Instance::new("1").unwrap();
        for g in host.files(&[one], RenderOptions::default()).unwrap() {
            fs.file(&format!("/{}", g.path), g.text);
        }
    }
    for (path, text) in extra {
        fs.file(path, *text);
    }
    fs
}

fn run(input: &str, fs: Option<&MemFs>, config: Option<&str>, unit: Option<&str>) -> Report {
    let options = Options {
        config: config.map(|c| ("harden.toml", c)),
        installed: fs.map(|f| f as &dyn dropin::Fs),
        unit,
    };
    triage::triage(input, &options).unwrap()
}

fn group<'a>(r: &'a Report, call: &str) -> &'a Group {
    r.groups
        .iter()
        .find(|g| g.call == call)
        .unwrap_or_else(|| panic!("no group for {call}: {}", triage::text(r)))
}

fn cited(g: &Group) -> Vec<String> {
    g.finding
        .lines
        .iter()
        .map(|c| format!("{} {}", c.at, c.assignment))
        .collect()
}

fn snippet(g: &Group) -> (&str, &str, &Check) {
    match &g.finding.fix {
        Fix::HostConfig {
            snippet,
            value,
            check,
            ..
        } => (snippet, value, check),
        other => panic!("not a host-config fix: {other:?}\n{:#?}", g.finding),
    }
}

/// A host configuration that overrides the proven architectures with
/// native alone (and waives the lint that refuses it): Test 3's mistake,
/// made in the generated drop-in.
const NATIVE_ONLY: &str = r#"
[[server.remove]]
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
fn test3_i386_brk_under_native_is_system_call_architectures() {
    let fs = host_tree(Some(NATIVE_ONLY), &[]);
    let input = fixture("dmesg-test3.log");
    let r = run(&input, Some(&fs), Some(NATIVE_ONLY), Some(S1));
    assert_eq!(r.groups.len(), 1, "{}", triage::text(&r));
    let g = &r.groups[0];
    // The call, decoded from the i386 table.
    assert_eq!(
        (g.architecture, g.call.as_str(), g.number),
        ("x86", "brk", Some(45))
    );
    assert_eq!(
        g.action,
        Action::Exact(dropin::audit::SeccompAction::KillThread)
    );
    assert_eq!((g.count, g.unit.as_deref()), (3, Some(S1)));
    assert_eq!(g.unit_source, UnitSource::Given);
    // The directive and the line: the instance drop-in `write --instance 1`
    // wrote, which carries the host configuration's native.
    let f = &g.finding;
    assert_eq!(f.directive.as_deref(), Some("SystemCallArchitectures"));
    assert_eq!(f.known.as_ref().map(|k| k.test), Some("Test 3"));
    let lines = cited(g);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("{GENERATED_1}:"))
            && lines[0].ends_with(" SystemCallArchitectures=native"),
        "{lines:?}"
    );
    // The fix: the host configuration's own replacement denies it, so the
    // fix takes it out (the add and the remove it completes), not another
    // add; checked against the profile generated without them.
    let (entries, text, value, check) = removal(g);
    assert_eq!(value, "native");
    assert_eq!(entries, ["harden.toml:3", "harden.toml:7"]);
    assert_eq!(
        text,
        "[[server.remove]]\ndirective = \"SystemCallArchitectures\"\nreason = \"trying native \
         alone\"\n\n[[server.add]]\ndirective = \"SystemCallArchitectures\"\nvalue = \"native\"\n\
         reason = \"trying native alone\"\n"
    );
    assert!(matches!(check, Check::Verified(_)), "{check:?}");
    // Applied as printed: the proven native x86 comes back.
    let fixed = NATIVE_ONLY.replace(&text[..text.find("\n\n").unwrap() + 1], "");
    let fixed = fixed.replace(&text[text.find("\n\n").unwrap() + 2..], "");
    assert_ne!(fixed, NATIVE_ONLY);
    let fs = host_tree(Some(&fixed), &[]);
    let again = run(&input, Some(&fs), Some(&fixed), Some(S1));
    assert_eq!(
        again.groups[0].finding.fix,
        Fix::Unknown {
            why: "the settings judged already allow x86".to_owned()
        },
        "{}",
        triage::text(&again)
    );
    snapshot!("triage-test3-native-only", triage::text(&r));
}

fn removal(g: &Group) -> (&[String], &str, &str, &Check) {
    match &g.finding.fix {
        Fix::Remove {
            entries,
            snippet,
            value,
            check,
            ..
        } => (entries, snippet, value, check),
        other => panic!("not a removal: {other:?}\n{:#?}", g.finding),
    }
}

/// The web profile with a deny list the host configuration adds.
const WEB_NO_RESOURCES: &str = r#"[[web.add]]
directive = "SystemCallFilter"
value = "~@resources"
reason = "no scheduling changes"
"#;

#[test]
fn a_denial_by_a_host_configuration_addition_is_fixed_by_taking_it_out() {
    let fs = host_tree(Some(WEB_NO_RESOURCES), &[]);
    let input = fixture("dmesg-setrlimit-web.log");
    let r = run(&input, Some(&fs), Some(WEB_NO_RESOURCES), Some(WEB));
    let g = group(&r, "setrlimit");
    assert_eq!((g.architecture, g.number), ("x86-64", Some(160)));
    assert_eq!(
        g.finding.directive.as_deref(),
        Some("SystemCallFilter"),
        "{}",
        triage::text(&r)
    );
    assert!(
        g.finding.groups.iter().any(|x| x == "@resources"),
        "{:?}",
        g.finding.groups
    );
    let lines = cited(g);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(GENERATED_WEB) && l.ends_with("SystemCallFilter=~@resources")),
        "{lines:?}"
    );
    let (entries, text, value, check) = removal(g);
    assert_eq!(value, "~@resources");
    assert_eq!(entries, ["harden.toml:2"]);
    assert_eq!(text, WEB_NO_RESOURCES);
    assert!(matches!(check, Check::Verified(_)), "{check:?}");
    let shown = triage::text(&r);
    assert!(
        shown.contains("fix: take out of the host configuration (harden.toml:2)"),
        "{shown}"
    );
    // The negative control: the same record without the addition is let
    // through by the proven profile, so nothing is blamed on it.
    let proven = host_tree(Some(""), &[]);
    let r = run(&input, Some(&proven), None, Some(WEB));
    assert!(
        matches!(group(&r, "setrlimit").finding.fix, Fix::Unknown { .. }),
        "{}",
        triage::text(&r)
    );
}

#[test]
fn an_addition_that_is_not_the_cause_is_not_taken_out() {
    // The host configuration adds a deny of ptrace the proven profile has
    // already (~@debug): taking the addition out would not let perl's
    // ptrace through, so the fix stays an add, checked.
    let config =
        "[[web.add]]\ndirective = \"SystemCallFilter\"\nvalue = \"~ptrace\"\nreason = \"twice\"\n";
    let fs = host_tree(Some(config), &[]);
    let r = run(
        &fixture("dmesg-ptrace64.log"),
        Some(&fs),
        Some(config),
        Some(WEB),
    );
    let g = group(&r, "ptrace");
    let (text, value, check) = snippet(g);
    assert_eq!(value, "ptrace");
    assert!(text.starts_with("[[web.add]]\n"), "{text}");
    assert!(matches!(check, Check::Verified(_)), "{check:?}");
}

#[test]
fn test3_as_the_plan_wrote_it_needs_only_write() {
    // The plan's Test 3 drop-in on a host without the generated files: the
    // proven profile has native x86, so writing it is the fix.
    let fs = host_tree(
        None,
        &[(
            "/etc/systemd/system/left4me-server@1.service.d/test-03-syslog.conf",
            TEST3_DROPIN,
        )],
    );
    let input = fixture("dmesg-test3.log") + &fixture("dmesg-probes.log");
    let r = run(&input, Some(&fs), None, Some(S1));
    let g = group(&r, "brk");
    assert_eq!(
        cited(g),
        [
            "/etc/systemd/system/left4me-server@1.service.d/test-03-syslog.conf:2 SystemCallArchitectures=native"
        ]
    );
    assert!(
        matches!(g.finding.fix, Fix::Write { .. }),
        "{:?}",
        g.finding.fix
    );
    // Its SystemCallLog= line: setuid was logged, not denied.
    let log = group(&r, "setuid");
    assert_eq!(log.finding.directive.as_deref(), Some("SystemCallLog"));
    assert_eq!(
        cited(log),
        [
            "/etc/systemd/system/left4me-server@1.service.d/test-03-syslog.conf:4 SystemCallLog=@privileged @debug @mount @raw-io"
        ]
    );
    assert!(matches!(log.finding.fix, Fix::None { .. }));
    snapshot!("triage-test3-plan-dropin", triage::text(&r));
    // The stand-in's own logged call (i386 setuid32), its unit named by
    // the executable's path.
    let r = run(&fixture("dmesg-log-i386.log"), Some(&fs), None, None);
    let g = group(&r, "setuid32");
    assert_eq!((g.architecture, g.number), ("x86", Some(213)));
    assert_eq!(
        (g.unit.as_deref(), &g.unit_source),
        (Some(S1), &UnitSource::Executable)
    );
    assert_eq!(g.finding.directive.as_deref(), Some("SystemCallLog"));
    assert_eq!(
        cited(g),
        [
            "/etc/systemd/system/left4me-server@1.service.d/test-03-syslog.conf:4 SystemCallLog=@privileged @debug @mount @raw-io"
        ]
    );
    snapshot!("triage-log-i386", triage::text(&r));
}

#[test]
fn breakpad_ptrace_from_srcds_is_expected() {
    let fs = host_tree(Some(""), &[]);
    let r = run(&fixture("audit.log"), Some(&fs), None, None);
    // The srcds_linux record names its instance by its path.
    let g = r
        .groups
        .iter()
        .find(|g| g.call == "ptrace" && g.comms == ["srcds_linux"])
        .unwrap();
    assert_eq!(g.unit.as_deref(), Some(S1));
    assert_eq!(g.unit_source, UnitSource::Executable);
    assert_eq!((g.architecture, g.number), ("x86", Some(26)));
    let f = &g.finding;
    assert_eq!(f.directive.as_deref(), Some("SystemCallFilter"));
    assert_eq!(f.known.as_ref().map(|k| k.test), Some("Test 7"));
    assert_eq!(f.groups.first().map(String::as_str), Some("@debug"));
    // The allow list opened by @system-service leaves it out; the deny
    // line names it through @debug.
    let lines = cited(g);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with(GENERATED_1) && lines[0].ends_with("SystemCallFilter=@system-service")
    );
    assert!(lines[1].starts_with(GENERATED_1) && lines[1].contains("SystemCallFilter=~@debug"));
    assert!(f.lines[1].role.contains("(@debug)"), "{:?}", f.lines[1]);
    assert!(matches!(f.fix, Fix::None { .. }), "{:?}", f.fix);
    // Records nothing names have no unit and no settings.
    let lost = r.groups.iter().find(|g| g.comms == ["ptrace32"]).unwrap();
    assert_eq!(lost.unit, None);
    assert!(lost.finding.notes.iter().any(|n| n.contains("--unit")));
    snapshot!("triage-audit-log", triage::text(&r));
}

#[test]
fn ptrace_of_another_process_gets_a_checked_fix() {
    // x86-64 ptrace (101) from perl under the web profile.
    let fs = host_tree(Some(""), &[]);
    let r = run(&fixture("dmesg-ptrace64.log"), Some(&fs), None, Some(WEB));
    let g = group(&r, "ptrace");
    assert_eq!(
        (g.architecture, g.number, g.count),
        ("x86-64", Some(101), 2)
    );
    assert_eq!(
        g.action,
        Action::Exact(dropin::audit::SeccompAction::KillProcess)
    );
    let lines = cited(g);
    assert!(
        lines.iter().all(|l| l.starts_with(GENERATED_WEB)),
        "{lines:?}"
    );
    let (text, value, check) = snippet(g);
    assert_eq!(value, "ptrace");
    assert!(text.starts_with("[[web.add]]\n"));
    assert!(matches!(check, Check::Verified(_)), "{check:?}");
    // First and last by the records' own times.
    assert_eq!(
        (
            g.first.as_ref().unwrap().text.as_str(),
            g.last.as_ref().unwrap().text.as_str()
        ),
        ("2026-11-28 18:21:55.364 UTC", "2026-11-28 18:30:19.344 UTC")
    );
    snapshot!("triage-ptrace64-web", triage::text(&r));
}

#[test]
fn socketcall_denied_by_another_file_is_an_edit_there() {
    let fs = host_tree(
        Some(""),
        &[(
            "/etc/systemd/system/left4me-server@.service.d/50-no-network.conf",
            "[Service]\nSystemCallFilter=~@network-io\n",
        )],
    );
    let r = run(&fixture("dmesg-probes.log"), Some(&fs), None, Some(S1));
    let g = group(&r, "socketcall");
    assert_eq!((g.number, g.count), (Some(102), 2));
    assert_eq!(g.comms, ["socketcall32", "busybox-i386"]);
    assert!(
        g.finding
            .notes
            .iter()
            .any(|n| n.contains("multiplexes every socket operation"))
    );
    assert_eq!(
        g.finding.groups.first().map(String::as_str),
        Some("@network-io")
    );
    // The host configuration's line would be read before 50-no-network.conf:
    // the check refuses it, and the line to edit is named.
    match &g.finding.fix {
        Fix::Edit { at, assignment, .. } => {
            assert_eq!(
                at.to_string(),
                "/etc/systemd/system/left4me-server@.service.d/50-no-network.conf:2"
            );
            assert_eq!(assignment, "SystemCallFilter=~@network-io");
        }
        other => panic!("{other:?}"),
    }
    snapshot!("triage-socketcall-edit", triage::text(&r));
}

/// i386 operations through socketcall and ipc, as measured: a deny of
/// `connect` kills socketcall, a deny of `shmctl` kills ipc, and an allow
/// list without socketcall still lets socket operations through.
#[test]
fn operations_through_socketcall_and_ipc() {
    let input = fixture("dmesg-multiplexed.log");
    let fs = host_tree(
        None,
        &[
            (
                "/etc/systemd/system/game.service",
                "[Service]\nExecStart=/usr/bin/game\nSystemCallFilter=~connect\n",
            ),
            (
                "/etc/systemd/system/shm.service",
                "[Service]\nExecStart=/usr/bin/shm\nSystemCallFilter=~shmctl\n",
            ),
        ],
    );
    let r = run(&input, Some(&fs), None, Some("game.service"));
    let g = group(&r, "socketcall");
    assert!(
        g.finding
            .cause
            .contains("denies the operation connect through it"),
        "{}",
        g.finding.cause
    );
    assert_eq!(
        cited(g),
        ["/etc/systemd/system/game.service:3 SystemCallFilter=~connect"]
    );
    assert!(g.finding.lines[0].role.contains("names connect (connect)"));
    // Not a profile's unit: the line to edit.
    match &g.finding.fix {
        Fix::Edit { at, suggestion, .. } => {
            assert_eq!(at.to_string(), "/etc/systemd/system/game.service:3");
            assert!(
                suggestion.starts_with("add SystemCallFilter=connect after it"),
                "{suggestion}"
            );
        }
        other => panic!("{other:?}"),
    }
    let r = run(&input, Some(&fs), None, Some("shm.service"));
    let g = group(&r, "ipc");
    assert_eq!(g.number, Some(117));
    assert!(
        g.finding
            .cause
            .contains("denies the operation shmctl through it"),
        "{}",
        g.finding.cause
    );
    // The negative control: an allow list without socketcall lets every
    // socket operation through (its own calls are allowed), so these
    // settings did not kill it; nor do they kill ipc.
    let fs = host_tree(
        None,
        &[(
            "/etc/systemd/system/game.service",
            "[Service]\nExecStart=/usr/bin/game\nSystemCallFilter=@system-service\nSystemCallFilter=~socketcall\n",
        )],
    );
    let r = run(&input, Some(&fs), None, Some("game.service"));
    assert!(
        group(&r, "socketcall")
            .finding
            .cause
            .contains("let every operation through it")
    );
    assert!(
        group(&r, "ipc")
            .finding
            .cause
            .contains("let every operation through it")
    );
    snapshot!(
        "triage-multiplexed",
        triage::text(&run(
            &input,
            Some(&host_tree(
                None,
                &[(
                    "/etc/systemd/system/game.service",
                    "[Service]\nExecStart=/usr/bin/game\nSystemCallFilter=~connect\n",
                )]
            )),
            None,
            Some("game.service")
        ))
    );
}

/// The negative controls of attribution: the same records against
/// settings that let the calls through are not blamed on them.
#[test]
fn records_the_settings_allow_are_not_blamed_on_them() {
    // The standard profile has native x86: brk 45 of an i386 program passes.
    let fs = host_tree(Some(""), &[]);
    let r = run(&fixture("dmesg-test3.log"), Some(&fs), None, Some(S1));
    let g = &r.groups[0];
    assert!(
        g.finding.cause.contains("these settings allow x86"),
        "{}",
        g.finding.cause
    );
    assert!(matches!(g.finding.fix, Fix::Unknown { .. }));
    // A unit without ~@debug lets ptrace through.
    let fs = host_tree(
        None,
        &[(
            "/etc/systemd/system/left4me-server@1.service.d/50-filter.conf",
            "[Service]\nSystemCallFilter=@system-service @debug\n",
        )],
    );
    let r = run(&fixture("dmesg-ptrace64.log"), Some(&fs), None, Some(S1));
    let g = group(&r, "ptrace");
    assert!(
        g.finding.cause.contains("these settings allow it"),
        "{}",
        g.finding.cause
    );
    // No filter at all: not the unit's doing.
    let fs = host_tree(None, &[]);
    let r = run(&fixture("dmesg-ptrace64.log"), Some(&fs), None, Some(S1));
    assert!(
        group(&r, "ptrace")
            .finding
            .cause
            .contains("sets no SystemCallFilter=")
    );
    let r = run(&fixture("dmesg-test3.log"), Some(&fs), None, Some(S1));
    assert!(
        r.groups[0]
            .finding
            .cause
            .contains("sets no SystemCallArchitectures=")
    );
}

#[test]
fn every_form_reads_to_the_same_records() {
    let fs = host_tree(Some(""), &[]);
    let summary = |input: &str| -> Vec<(String, &'static str, String, usize)> {
        let r = run(input, Some(&fs), None, Some(S1));
        r.groups
            .iter()
            .map(|g| (g.call.clone(), g.architecture, g.comms.join(","), g.count))
            .collect()
    };
    // The kernel's lines and auditd's log of the same five events.
    let kernel = summary(&fixture("dmesg-probes.log"));
    assert_eq!(kernel.len(), 4);
    let log = fixture("audit.log");
    let five: String = log.lines().take(5).map(|l| format!("{l}\n")).collect();
    assert_eq!(summary(&five), kernel);
    // ausearch over the five and two more brk kills, raw and interpreted.
    let raw = summary(&fixture("ausearch-raw-4.0.2.txt"));
    assert_eq!(raw.len(), 4);
    assert_eq!(
        raw[2],
        ("brk".to_owned(), "x86", "busybox-i386".to_owned(), 3)
    );
    assert_eq!(summary(&fixture("ausearch-i-4.0.2.txt")), raw);
    // Debian 12's ausearch, the first four records.
    assert_eq!(summary(&fixture("ausearch-i-3.0.9.txt")), kernel[..3]);
    // ausearch -i cannot tell a process kill from a thread kill: the unit
    // decides. Under native alone, the i386 kills are the architecture
    // filter's; with x86 allowed, the filter's where it denies the call.
    let input = fixture("ausearch-i-4.0.2.txt");
    let native = host_tree(Some(NATIVE_ONLY), &[]);
    let r = run(&input, Some(&native), Some(NATIVE_ONLY), Some(S1));
    assert!(
        r.groups
            .iter()
            .filter(|g| g.action.kills())
            .all(|g| g.action == Action::Kill)
    );
    for call in ["brk", "socketcall", "ptrace"] {
        let g = group(&r, call);
        assert_eq!(
            g.finding.directive.as_deref(),
            Some("SystemCallArchitectures"),
            "{call}"
        );
    }
    let no_network = host_tree(
        Some(""),
        &[(
            "/etc/systemd/system/left4me-server@.service.d/50-no-network.conf",
            "[Service]\nSystemCallFilter=~@network-io\n",
        )],
    );
    let r = run(&input, Some(&no_network), None, Some(S1));
    let socket = group(&r, "socketcall");
    assert_eq!(
        socket.finding.directive.as_deref(),
        Some("SystemCallFilter")
    );
    assert_eq!(socket.first.as_ref().unwrap().text, "11/28/26 19:02:17.580");
    assert_eq!(
        group(&r, "ptrace").finding.directive.as_deref(),
        Some("SystemCallFilter")
    );
    assert_eq!(
        group(&r, "brk").finding.directive.as_deref(),
        Some("SystemCallArchitectures"),
        "{}",
        triage::text(&r)
    );
    snapshot!("triage-ausearch-i", triage::text(&r));
}

#[test]
fn journal_lines_name_the_unit_and_duplicates_count_once() {
    let fs = host_tree(Some(""), &[]);
    let r = run(&fixture("journal-short-iso.txt"), Some(&fs), None, Some(S1));
    let units: Vec<(&str, Option<&str>, &UnitSource)> = r
        .groups
        .iter()
        .map(|g| (g.call.as_str(), g.unit.as_deref(), &g.unit_source))
        .collect();
    assert_eq!(
        units,
        [
            (
                "ptrace",
                Some("run-p116-i307317.service"),
                &UnitSource::Journal { line: 2 }
            ),
            (
                "socketcall",
                Some("run-p121-i307323.service"),
                &UnitSource::Journal { line: 4 }
            ),
            (
                "socketcall",
                Some("run-p126-i307329.service"),
                &UnitSource::Journal { line: 6 }
            ),
            (
                "brk",
                Some("run-p131-i307334.service"),
                &UnitSource::Journal { line: 8 }
            ),
        ]
    );
    // Transient units are not installed: decoded, not judged.
    assert!(
        r.groups[0]
            .finding
            .notes
            .iter()
            .any(|n| n.contains("not installed"))
    );

    let r = run(&fixture("journal-audit.txt"), Some(&fs), None, Some(S1));
    assert_eq!((r.records, r.duplicates, r.groups.len()), (3, 1, 2));
    assert_eq!(
        group(&r, "setuid").first.as_ref().unwrap().epoch_ms,
        Some(1_795_892_537_000)
    );
}

#[test]
fn journal_lines_without_absolute_times_pair_by_order() {
    // journalctl's default format has no year and no zone: the record just
    // before the exit line is the one.
    let kernel: Vec<String> = fixture("dmesg-probes.log")
        .lines()
        .take(2)
        .map(|l| {
            let (_, rest) = l.split_once("] ").unwrap();
            format!("Nov 28 19:02:17 vm kernel: {rest}")
        })
        .collect();
    let input = format!(
        "{}\nNov 28 19:02:17 vm systemd[1]: game.service: Main process exited, code=killed, status=31/SYS\n{}\n",
        kernel[0], kernel[1]
    );
    let r = run(&input, None, None, None);
    assert_eq!(r.groups[0].unit.as_deref(), Some("game.service"));
    assert_eq!(
        r.groups[1].unit, None,
        "the record after the line is not its"
    );
    // An exit line an hour away from the record pairs with nothing.
    let far = fixture("journal-short-iso.txt").replace(
        "2026-11-28T19:02:17+00:00 vm systemd[1]: run-p116",
        "2026-11-28T20:02:17+00:00 vm systemd[1]: run-p116",
    );
    let r = run(&far, None, None, None);
    assert_eq!(r.groups[0].unit, None, "{}", triage::text(&r));
    assert_eq!(
        r.groups[1].unit.as_deref(),
        Some("run-p121-i307323.service")
    );
}

#[test]
fn x32_and_arm64_numbers() {
    let body = "auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1 comm=\"x\" exe=\"/x\" sig=31";
    let input = format!(
        "type=SECCOMP msg=audit(1795892537.524:1): {body} arch=c000003e syscall=1073741825 compat=1 ip=0x1 code=0x80000000\n\
         type=SECCOMP msg=audit(1795892537.524:2): {body} arch=c00000b7 syscall=79 compat=0 ip=0x1 code=0x80000000\n\
         type=SECCOMP msg=audit(1795892537.524:3): {body} arch=c00000b7 syscall=403 compat=0 ip=0x1 code=0x80000000\n"
    );
    let r = run(&input, None, None, None);
    let got: Vec<(&str, &str, Option<u32>)> = r
        .groups
        .iter()
        .map(|g| (g.architecture, g.call.as_str(), g.number))
        .collect();
    // x32 write is x86-64's 1 with the x32 bit; arm64 79 is newfstatat and
    // 403 (a 32-bit time64 call elsewhere) has no name there.
    assert_eq!(
        got,
        [
            ("x32", "write", Some(1)),
            ("arm64", "newfstatat", Some(79)),
            ("arm64", "#403", Some(403)),
        ]
    );
}

#[test]
fn bad_lines_are_reported_and_the_rest_is_read() {
    let r = run(&fixture("bad.log"), None, None, Some(S1));
    let errors: Vec<(usize, &str)> = r
        .errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    let want = [
        (3, "truncated record: no syscall= field"),
        (
            4,
            "truncated record: the audit(TIME:SERIAL) header does not end",
        ),
        (5, "unknown audit architecture arch=deadbeef"),
        (6, "syscall=99999 is out of range for x86"),
        (7, "syscall=-1 is not a number"),
        (8, "no system call table for ppc64-le (arch=c0000015)"),
        (
            9,
            "arch=400000f3 is AUDIT_ARCH_RISCV32, which systemd's SystemCallArchitectures= has no name for",
        ),
        (10, "code=0x12345678 is no seccomp action"),
    ];
    assert_eq!(errors.len(), want.len(), "{errors:#?}");
    for ((line, message), (wl, wm)) in errors.iter().zip(want) {
        assert_eq!(*line, wl);
        assert!(message.starts_with(wm), "line {line}: {message}");
    }
    // The readable records around them: lines 2 and 11, one group.
    assert_eq!(r.records, 2);
    assert_eq!(r.groups.len(), 1);
    assert_eq!(r.groups[0].lines, [2, 11]);
    assert_eq!(r.ignored, 2);
    snapshot!("triage-bad-input", triage::text(&r));
}

#[test]
fn json_report() {
    let fs = host_tree(Some(NATIVE_ONLY), &[]);
    let r = run(
        &fixture("dmesg-test3.log"),
        Some(&fs),
        Some(NATIVE_ONLY),
        Some(S1),
    );
    let json = serde_json::to_string_pretty(&r).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let g = &v["groups"][0];
    assert_eq!(g["call"], "brk");
    assert_eq!(g["action"], "kill-thread");
    assert_eq!(g["finding"]["fix"]["kind"], "remove");
    assert_eq!(
        g["finding"]["fix"]["entries"],
        serde_json::json!(["harden.toml:3", "harden.toml:7"])
    );
    assert_eq!(g["finding"]["fix"]["check"]["status"], "verified");
    snapshot!("triage-json", json);
}

/// Without a root, each unit is judged with its generated profile alone.
#[test]
fn the_profile_alone_when_nothing_is_installed() {
    let r = run(&fixture("dmesg-ptrace64.log"), None, None, Some(S1));
    let g = group(&r, "ptrace");
    assert_eq!(g.settings, triage::SettingsSource::Profile);
    assert!(
        cited(g).iter().all(|l| l.starts_with(GENERATED)),
        "{:?}",
        cited(g)
    );
    assert!(matches!(snippet(g).2, Check::Verified(_)));
    // A unit no profile has: nothing to judge against.
    let r = run(
        &fixture("dmesg-ptrace64.log"),
        None,
        None,
        Some("other.service"),
    );
    assert!(
        r.groups[0]
            .finding
            .notes
            .iter()
            .any(|n| n.contains("not a unit of the left4me profiles"))
    );
    let _ = ProfileKind::Server;
}
