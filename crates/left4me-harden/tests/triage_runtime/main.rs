//! `left4me-harden triage` at runtime: real systemd 257 as PID 1 of a
//! container (`scripts/systemd-runtime`), provisioned as a left4me host
//! with the i386 stand-in for srcds_linux (`../runtime/provision.sh`), one
//! server instance written by `left4me-harden write` with a host
//! configuration that sets `SystemCallArchitectures=native` alone (Test
//! 3's mistake). The instance starts, srcds_run starts srcds_linux, the
//! kernel kills its first i386 call and writes a SECCOMP record; inside the
//! container, `dmesg | left4me-harden triage --root / --config … -` must
//! name Test 3's finding: `SystemCallArchitectures=`, the drop-in and line,
//! and the fix: take out the host configuration's replacement of the
//! proven line. The entries are taken out as printed, `write` run again, and
//! the same instance must run (the negative control: the same workload
//! with x86 allowed is not killed, and no new record comes). Then i386
//! socket operations through `socketcall`, as libseccomp filters them: a
//! deny of `connect` kills it, an allow list without `socketcall` does not.
//!
//! Where the record is (measured, and printed by the test): the container
//! has its own network namespace and no `/dev/kmsg`, so its journald sees
//! neither the audit multicast (the kernel sends it to listeners of the
//! initial network namespace only) nor the kernel log; with no auditd on
//! the machine, the kernel prints the record to its log, which `dmesg`
//! (syslog(2)) reads inside the container as outside.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "../support/container.rs"]
mod container;
use container::{Container, script, text};

const BIN: &str = env!("CARGO_BIN_EXE_left4me-harden");
const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const IN_BIN: &str = "/usr/local/bin/left4me-harden";
const BUSYBOX: &str = "/usr/local/lib/left4me-runtime/busybox-i386";
const CONFIG: &str = "/etc/left4me/harden.toml";

/// The host configuration of the run: native alone, the lint that
/// refuses it waived (an operator overriding the proven profile).
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

/// The number of SECCOMP records of `exe` in the kernel's log as the
/// container reads it (and in the host's auditd log, if an auditd takes
/// them).
fn records(c: &Container, exe: &str) -> usize {
    let mut log = c.sh("dmesg");
    if let Ok(audit) = std::fs::read_to_string("/var/log/audit/audit.log") {
        log.push_str(&audit);
    }
    log.lines()
        .filter(|l| (l.contains("type=1326") || l.contains("type=SECCOMP")) && l.contains(exe))
        .count()
}

/// Waits until `done` holds, polling every 100 ms for at most `secs`.
fn wait(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// `triage --format json` inside on the kernel log's lines of `exe`:
/// (exit status, report).
fn triage(c: &Container, exe: &str, args: &str) -> (i32, serde_json::Value) {
    let (code, out) = c.sh_status(&format!(
        "dmesg | grep -F '{exe}' | {IN_BIN} triage --root / --format json {args} -"
    ));
    let json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("triage JSON ({e}): {out}"));
    (code, json)
}

#[test]
fn runtime_test3_record_triages_to_its_finding_and_the_fix_runs() {
    let mut report = String::new();
    let started = Instant::now();
    let ensure = Command::new(script()).arg("ensure").output().unwrap();
    assert!(ensure.status.success(), "runtime root: {}", text(&ensure));

    let id = std::process::id();
    // Numeric: the overlay helper takes instance numbers only. Its runtime
    // path makes its records ours among everyone's on this machine.
    let i = format!("{}", 1000 + id);
    let unit = format!("left4me-server@{i}.service");
    let exe = format!("/var/lib/left4me/runtime/{i}/merged/srcds_linux");
    let mut c = Container::boot(&format!("triage{id}"));

    c.sh("mkdir -p /root/provision");
    let units = Path::new(MANIFEST).join("../left4me-hardening/tests/fixtures/units");
    for u in ["left4me-server@.service", "left4me-web.service"] {
        c.copy(&units.join(u), &format!("/root/provision/{u}"));
    }
    c.copy(
        &Path::new(MANIFEST).join("tests/runtime/provision.sh"),
        "/root/provision/provision.sh",
    );
    c.copy(Path::new(BIN), IN_BIN);
    c.sh(&format!(
        "sh /root/provision/provision.sh /root/provision {BUSYBOX}"
    ));
    c.sh(&format!(
        "install -d -o left4me -g left4me /var/lib/left4me/instances/{i} /var/lib/left4me/runtime/{i}; \
         cp /var/lib/left4me/instances/1/instance.env /var/lib/left4me/instances/{i}/"
    ));
    c.put(CONFIG, NATIVE_ONLY);
    c.sh(&format!(
        "{IN_BIN} write --root / --config {CONFIG} --instance {i} >/dev/null; systemctl daemon-reload"
    ));
    let provisioned = started.elapsed();

    // Where records can be read in the container (measured).
    let kmsg = c.sh("test -e /dev/kmsg && echo present || echo absent");
    let before = records(&c, &exe);
    c.sh(&format!("systemctl start {unit}"));
    // srcds_run starts srcds_linux at once; it dies on its first call.
    let killed = wait(15, || records(&c, &exe) > before);
    let after = records(&c, &exe);
    let journal_kernel = c.sh("journalctl --no-pager -k -o cat | grep -c 'type=1326' || true");
    let journal_audit =
        c.sh("journalctl --no-pager _TRANSPORT=audit -o cat | grep -c SECCOMP || true");
    let unit_journal = c.sh(&format!(
        "journalctl --no-pager -o cat -u {unit} | grep -m1 'exited with' || true"
    ));
    assert!(
        killed,
        "no SECCOMP record for {exe} within 15 s (kernel command line: {}; auditd log: {}); \
         journal of the unit: {unit_journal}",
        std::fs::read_to_string("/proc/cmdline")
            .unwrap_or_default()
            .trim(),
        Path::new("/var/log/audit/audit.log").exists()
    );

    // Triage inside, as an operator runs it on the host.
    let (triage_code, triaged) = triage(&c, &exe, &format!("--config {CONFIG}"));
    let (_, shown) = c.sh_status(&format!(
        "dmesg | grep -F '{exe}' | {IN_BIN} triage --root / --config {CONFIG} -"
    ));

    // The fix, applied as printed (the entries taken out of the host
    // configuration): the same instance must run.
    let snippet = triaged["groups"][0]["finding"]["fix"]["snippet"]
        .as_str()
        .unwrap_or_else(|| panic!("no host configuration fix: {shown}"))
        .to_owned();
    let fixed = NATIVE_ONLY.replace(&snippet, "");
    assert_ne!(
        fixed, NATIVE_ONLY,
        "the entries printed are not in the configuration"
    );
    c.put(CONFIG, &fixed);
    c.sh(&format!(
        "{IN_BIN} write --root / --config {CONFIG} --instance {i} >/dev/null; systemctl daemon-reload"
    ));
    let before_fix = records(&c, &exe);
    c.sh(&format!("systemctl restart {unit}"));
    let runs = wait(10, || {
        let pid = c.sh(&format!("systemctl show -p MainPID --value {unit}"));
        let pid = pid.trim();
        pid != "0"
            && c.sh(&format!("ps -o comm= --ppid {pid} || true"))
                .contains("srcds_linux")
    });
    // A kill comes on the first call: give it time to show.
    std::thread::sleep(Duration::from_millis(500));
    let after_fix = records(&c, &exe);
    let state = c.sh(&format!("systemctl is-active {unit} || true"));

    // i386 socket operations through socketcall, with a busybox copy of our
    // own: a deny of connect kills socketcall; an allow list without
    // socketcall does not.
    let nc = format!("/usr/local/lib/left4me-runtime/busybox-triage{id}");
    c.sh(&format!("cp {BUSYBOX} {nc}"));
    let transient = |name: &str, props: &[&str]| -> String {
        let mut cmd = format!(
            "systemd-run --unit={name} --wait --pipe --uid=left4me \
             -p 'SystemCallArchitectures=native x86'"
        );
        for p in props {
            let _ = write!(cmd, " -p '{p}'");
        }
        let _ = write!(cmd, " {nc} nc -w 1 127.0.0.1 9 2>&1 || true");
        c.sh(&cmd)
    };
    let nc_before = records(&c, &nc);
    let connect_unit = format!("triage-connect-{id}.service");
    let allow_unit = format!("triage-allow-{id}.service");
    let deny_connect = transient(&connect_unit, &["SystemCallFilter=~connect"]);
    let allow_without = transient(
        &allow_unit,
        &[
            "SystemCallFilter=@system-service",
            "SystemCallFilter=~socketcall",
        ],
    );
    wait(5, || records(&c, &nc) > nc_before);
    let nc_after = records(&c, &nc);
    let (connect_code, connect) = triage(&c, &nc, &format!("--unit {connect_unit}"));
    let (_, connect_shown) = c.sh_status(&format!(
        "dmesg | grep -F '{nc}' | {IN_BIN} triage --root / --unit {connect_unit} -"
    ));
    let (_, allow) = triage(&c, &nc, &format!("--unit {allow_unit}"));
    c.sh(&format!(
        "systemctl reset-failed {connect_unit} {allow_unit} 2>/dev/null || true"
    ));

    let off = c.poweroff();
    let total = started.elapsed();

    let _ = writeln!(
        report,
        "== left4me-harden triage at runtime: {unit}, SystemCallArchitectures=native (host configuration)\n\
         where the record is: /dev/kmsg in the container {}; type=1326 lines in the container's \
         journalctl -k: {}; SECCOMP entries of _TRANSPORT=audit: {}; records of {exe} in dmesg: \
         {before} before the start, {after} after\n\
         srcds_run: {}\n\n\
         $ dmesg | grep -F {exe} | left4me-harden triage --root / --config {CONFIG} -   (exit {triage_code})\n{shown}\
         == the fix appended to {CONFIG} and written: records of {exe} before the restart {before_fix}, \
         after {after_fix}; srcds_linux runs: {runs}; unit {}\n\
         == i386 nc through socketcall: SystemCallFilter=~connect: {}; @system-service ~socketcall: {}; \
         records {nc_before} before, {nc_after} after\n\
         $ dmesg | grep -F {nc} | left4me-harden triage --root / --unit {connect_unit} -   (exit {connect_code})\n{connect_shown}\
         == timings: provision {:.1} s, whole run {:.1} s; power-off: {}",
        kmsg.trim(),
        journal_kernel.trim(),
        journal_audit.trim(),
        unit_journal.trim(),
        state.trim(),
        deny_connect.trim().replace('\n', " / "),
        allow_without.trim().replace('\n', " / "),
        provisioned.as_secs_f64(),
        total.as_secs_f64(),
        text(&off).trim()
    );
    std::io::stdout().write_all(report.as_bytes()).unwrap();

    assert!(
        off.status.success(),
        "something was left behind: {}",
        text(&off)
    );

    // The record, decoded: exit 1 (a denial), one group, ours.
    assert_eq!(triage_code, 1, "{shown}");
    let groups = triaged["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{shown}");
    let g = &groups[0];
    assert_eq!(g["unit"], unit.as_str());
    assert_eq!(g["unit_source"]["from"], "executable");
    assert_eq!(g["architecture"], "x86");
    assert_eq!((&g["call"], &g["number"]), (&"brk".into(), &45.into()));
    assert_eq!(g["action"], "kill-thread");
    assert_eq!(g["settings"], "installed");
    // Test 3's finding: the directive, the drop-in and line, the fix.
    let f = &g["finding"];
    assert_eq!(f["directive"], "SystemCallArchitectures");
    assert_eq!(f["known"]["test"], "Test 3");
    let lines = f["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{shown}");
    assert_eq!(
        lines[0]["at"]["file"],
        format!("/etc/systemd/system/left4me-server@{i}.service.d/10-hardening.conf").as_str()
    );
    assert_eq!(lines[0]["assignment"], "SystemCallArchitectures=native");
    assert_eq!(f["fix"]["kind"], "remove");
    assert_eq!(f["fix"]["value"], "native");
    assert_eq!(
        f["fix"]["entries"],
        serde_json::json!([format!("{CONFIG}:2"), format!("{CONFIG}:6")])
    );
    assert_eq!(f["fix"]["check"]["status"], "verified");
    // The negative control: with the fix the same workload runs and the
    // kernel writes no new record for it.
    assert!(runs, "srcds_linux does not run with the fix: {state}");
    assert_eq!(after_fix, before_fix, "a record after the fix");
    assert_eq!(state.trim(), "active");

    // Operations through socketcall: the deny of connect killed it (SIGSYS,
    // one record), the allow list without socketcall did not (nc ran and
    // was refused); triage blames the first unit's ~connect line and finds
    // nothing in the second's settings that denies it.
    assert!(deny_connect.contains("status=31/SYS"), "{deny_connect}");
    assert!(
        allow_without.contains("Connection refused") && !allow_without.contains("status=31/SYS"),
        "{allow_without}"
    );
    assert_eq!(nc_after, nc_before + 1);
    assert_eq!(connect_code, 1, "{connect_shown}");
    let g = &connect["groups"][0];
    assert_eq!(
        (&g["architecture"], &g["call"]),
        (&"x86".into(), &"socketcall".into())
    );
    let cause = g["finding"]["cause"].as_str().unwrap();
    assert!(cause.contains("the operation connect"), "{cause}");
    assert!(
        g["finding"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(
                |l| l["at"]["file"] == format!("/run/systemd/transient/{connect_unit}").as_str()
                    && l["assignment"] == "SystemCallFilter=~connect"
            ),
        "{connect_shown}"
    );
    let cause = allow["groups"][0]["finding"]["cause"].as_str().unwrap();
    assert!(cause.contains("let every operation through it"), "{cause}");

    // The measured reason the container's journal has no record.
    assert_eq!(kmsg.trim(), "absent");
    assert_eq!(journal_kernel.trim(), "0");
    assert_eq!(journal_audit.trim(), "0");
}
