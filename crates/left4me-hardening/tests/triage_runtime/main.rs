//! Triage at runtime: real systemd 257 as PID 1 of a container
//! (`scripts/systemd-runtime`), provisioned as a left4me host with the
//! i386 stand-in for srcds_linux (the CLI's runtime `provision.sh`), one
//! server instance installed with a host configuration that sets
//! `SystemCallArchitectures=native` alone (Test 3's mistake). The instance
//! starts, srcds_run starts srcds_linux, the kernel kills its first i386
//! call and writes a SECCOMP record; triage reads the record from the
//! kernel log and the unit from the container's tree, and must name Test
//! 3's finding: `SystemCallArchitectures=`, the drop-in and line, and the
//! host configuration entry that adds x86. Then the entry is applied as
//! suggested and the same instance must run (the negative control: the
//! same workload with x86 allowed is not killed, and no new record comes).
//!
//! Where the record is (measured, and printed by the test): the container
//! has its own network namespace and no `/dev/kmsg`, so its journald sees
//! neither the audit multicast (the kernel sends it to listeners of the
//! initial network namespace only) nor the kernel log; with no auditd on
//! the machine, the kernel prints the record to its log, which `dmesg`
//! (syslog(2)) reads inside the container as outside. With an auditd on
//! the machine, the record is in its log instead, and the test reads that.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use dropin::{Instance, RenderOptions};
use left4me_hardening::config;
use left4me_hardening::triage::{self, Action, Check, Fix, Options, UnitSource};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const BUSYBOX: &str = "/usr/local/lib/left4me-runtime/busybox-i386";

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

fn script() -> PathBuf {
    Path::new(MANIFEST).join("../../scripts/systemd-runtime")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A booted container, powered off when dropped (a failing test included).
struct Container {
    name: String,
    pid: u32,
    off: bool,
}

impl Container {
    fn boot(name: &str) -> Container {
        let out = Command::new("timeout")
            .arg("120")
            .arg(script())
            .args(["boot", name])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let mut c = Container {
            name: name.to_owned(),
            pid: 0,
            off: false,
        };
        assert!(out.status.success(), "boot failed: {}", text(&out));
        c.pid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        c
    }

    fn exec(&self, args: &[&str]) -> Output {
        Command::new(script())
            .arg("exec")
            .arg(&self.name)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs a shell script inside; it must succeed.
    fn sh(&self, script: &str) -> String {
        let out = self.exec(&["/bin/sh", "-ec", script]);
        assert!(
            out.status.success(),
            "inside: {script}\nfailed: {}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn copy(&self, src: &Path, dest: &str) {
        let out = Command::new(script())
            .args(["copy", &self.name])
            .arg(src)
            .arg(dest)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "copy {}: {}",
            src.display(),
            text(&out)
        );
    }

    /// Writes `text` to `dest` inside, through a temporary host file.
    fn put(&self, dest: &str, text: &str) {
        let tmp = std::env::temp_dir().join(format!(
            "left4me-triage-{}-{}",
            std::process::id(),
            dest.replace('/', "_")
        ));
        std::fs::write(&tmp, text).unwrap();
        self.sh(&format!("mkdir -p \"$(dirname '{dest}')\""));
        self.copy(&tmp, dest);
        std::fs::remove_file(&tmp).unwrap();
    }

    fn poweroff(&mut self) -> Output {
        self.off = true;
        Command::new(script())
            .args(["poweroff", &self.name])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if !self.off {
            let out = self.poweroff();
            eprintln!("powered off {} after a failure: {}", self.name, text(&out));
        }
    }
}

/// Installs what `write --instance NAME` writes for `config`.
fn install(c: &Container, config_text: &str, instance: &Instance) {
    let host = config::parse("harden.toml", config_text)
        .unwrap()
        .apply()
        .unwrap();
    for g in host
        .files(std::slice::from_ref(instance), RenderOptions::default())
        .unwrap()
    {
        c.put(&format!("/{}", g.path), &g.text);
    }
    c.sh("systemctl daemon-reload");
}

/// The kernel's records of this run: the container's `dmesg` (and the
/// host's auditd log, if an auditd takes them).
fn records(c: &Container, exe: &str) -> (String, usize) {
    let mut log = c.sh("dmesg");
    if let Ok(audit) = std::fs::read_to_string("/var/log/audit/audit.log") {
        log.push_str(&audit);
    }
    let ours = log
        .lines()
        .filter(|l| (l.contains("type=1326") || l.contains("type=SECCOMP")) && l.contains(exe))
        .count();
    (log, ours)
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

#[test]
fn runtime_test3_record_triages_to_its_finding_and_the_fix_runs() {
    let mut report = String::new();
    let started = Instant::now();
    let ensure = Command::new(script()).arg("ensure").output().unwrap();
    assert!(ensure.status.success(), "runtime root: {}", text(&ensure));

    let id = std::process::id();
    // Numeric: the overlay helper takes instance numbers only.
    let instance = Instance::new(&format!("{}", 1000 + id)).unwrap();
    let unit = format!("left4me-server@{}.service", instance.as_str());
    let exe = format!(
        "/var/lib/left4me/runtime/{}/merged/srcds_linux",
        instance.as_str()
    );
    let mut c = Container::boot(&format!("triage{id}"));

    // A left4me host with the i386 stand-in, and one instance of our own
    // (its runtime path makes its records ours among everyone's).
    c.sh("mkdir -p /root/provision");
    let units = Path::new(MANIFEST).join("tests/fixtures/units");
    for u in ["left4me-server@.service", "left4me-web.service"] {
        c.copy(&units.join(u), &format!("/root/provision/{u}"));
    }
    c.copy(
        &Path::new(MANIFEST).join("../left4me-harden/tests/runtime/provision.sh"),
        "/root/provision/provision.sh",
    );
    c.sh(&format!(
        "sh /root/provision/provision.sh /root/provision {BUSYBOX}"
    ));
    let i = instance.as_str();
    c.sh(&format!(
        "install -d -o left4me -g left4me /var/lib/left4me/instances/{i} /var/lib/left4me/runtime/{i}; \
         cp /var/lib/left4me/instances/1/instance.env /var/lib/left4me/instances/{i}/"
    ));
    install(&c, NATIVE_ONLY, &instance);
    let provisioned = started.elapsed();

    // Where records can be read in the container (measured).
    let kmsg = c.sh("test -e /dev/kmsg && echo present || echo absent");
    let (_, before) = records(&c, &exe);
    c.sh(&format!("systemctl start {unit}"));
    // srcds_run starts srcds_linux at once; it dies on its first call.
    let killed = wait(15, || records(&c, &exe).1 > before);
    let (log, after) = records(&c, &exe);
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

    // Triage: the kernel log as read inside the container, the unit as
    // systemd loads it from the container's tree.
    let root = rootfs::Root::open(format!("/proc/{}/root", c.pid)).unwrap();
    let budget = rootfs::Budget::default();
    let fs = dropin::RootFs::new(&root, &budget);
    let options = Options {
        config: Some(("harden.toml", NATIVE_ONLY)),
        installed: Some(&fs),
        unit: None,
    };
    let triaged = triage::triage(&log, &options).unwrap();
    let ours = triaged
        .groups
        .iter()
        .find(|g| g.exes.iter().any(|e| e == &exe))
        .unwrap_or_else(|| panic!("no group for {exe}:\n{}", triage::text(&triaged)));
    let mut shown = triage::text(&triage::Report {
        groups: vec![ours.clone()],
        errors: Vec::new(),
        records: ours.count,
        duplicates: 0,
        ignored: 0,
    });
    shown = shown.replace(&format!("/proc/{}/root", c.pid), "");

    // The fix, applied as suggested: the same instance must run.
    let Fix::HostConfig { snippet, .. } = &ours.finding.fix else {
        panic!("not a host-config fix: {shown}");
    };
    let fixed = format!("{NATIVE_ONLY}\n{snippet}");
    install(&c, &fixed, &instance);
    let (_, before_fix) = records(&c, &exe);
    c.sh(&format!("systemctl restart {unit}"));
    let runs = wait(10, || {
        let pid = c.sh(&format!("systemctl show -p MainPID --value {unit}"));
        let pid = pid.trim();
        pid != "0"
            && c.sh(&format!("ps -o comm= --ppid {pid} || true"))
                .contains("srcds_linux")
    });
    // Give a kill time to show (it comes on the first call).
    std::thread::sleep(Duration::from_millis(500));
    let (_, after_fix) = records(&c, &exe);
    let state = c.sh(&format!("systemctl is-active {unit} || true"));

    // i386 socket operations through socketcall (the libseccomp behaviour
    // triage relies on), with a copy of the busybox of our own: a deny of
    // connect kills socketcall; an allow list without socketcall does not.
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
    let (_, nc_before) = records(&c, &nc);
    let deny_connect = transient(
        &format!("triage-connect-{id}"),
        &["SystemCallFilter=~connect"],
    );
    let allow_without = transient(
        &format!("triage-allow-{id}"),
        &[
            "SystemCallFilter=@system-service",
            "SystemCallFilter=~socketcall",
        ],
    );
    wait(5, || records(&c, &nc).1 > nc_before);
    let (nc_log, nc_after) = records(&c, &nc);
    let nc_input: String = nc_log
        .lines()
        .filter(|l| l.contains(&nc))
        .map(|l| format!("{l}\n"))
        .collect();
    let connect_unit = format!("triage-connect-{id}.service");
    let connect_triage = triage::triage(
        &nc_input,
        &Options {
            config: None,
            installed: Some(&fs),
            unit: Some(&connect_unit),
        },
    )
    .unwrap();
    let allow_unit = format!("triage-allow-{id}.service");
    let allow_triage = triage::triage(
        &nc_input,
        &Options {
            config: None,
            installed: Some(&fs),
            unit: Some(&allow_unit),
        },
    )
    .unwrap();
    c.sh(&format!(
        "systemctl reset-failed {connect_unit} {allow_unit} 2>/dev/null || true"
    ));

    let off = c.poweroff();
    let total = started.elapsed();

    let _ = writeln!(
        report,
        "== triage at runtime: {unit}, SystemCallArchitectures=native (host configuration)\n\
         where the record is: /dev/kmsg in the container {}; type=1326 lines in the container's \
         journalctl -k: {}; SECCOMP entries of _TRANSPORT=audit: {}; records of {exe} in dmesg: \
         {before} before the start, {after} after\n\
         srcds_run: {}\n\n{shown}\
         == the fix applied: records of {exe} before the restart {before_fix}, after {after_fix}; \
         srcds_linux runs: {runs}; unit {}\n\
         == i386 nc through socketcall: SystemCallFilter=~connect: {}; @system-service ~socketcall: {}; \
         records {nc_before} before, {nc_after} after\n{}\
         == timings: provision {:.1} s, whole run {:.1} s; power-off: {}",
        kmsg.trim(),
        journal_kernel.trim(),
        journal_audit.trim(),
        unit_journal.trim(),
        state.trim(),
        deny_connect.trim().replace('\n', " / "),
        allow_without.trim().replace('\n', " / "),
        triage::text(&connect_triage).replace(&format!("/proc/{}/root", c.pid), ""),
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

    // The record, decoded.
    assert_eq!(ours.unit.as_deref(), Some(unit.as_str()));
    assert_eq!(ours.unit_source, UnitSource::Executable);
    assert_eq!(ours.architecture, "x86");
    assert_eq!((ours.call.as_str(), ours.number), ("brk", Some(45)));
    assert_eq!(
        ours.action,
        Action::Exact(dropin::audit::SeccompAction::KillThread)
    );
    // Test 3's finding: the directive, the drop-in and line, the fix.
    let f = &ours.finding;
    assert_eq!(f.directive.as_deref(), Some("SystemCallArchitectures"));
    assert_eq!(f.known.as_ref().map(|k| k.test), Some("Test 3"));
    let dropin_path = format!(
        "/etc/systemd/system/left4me-server@{}.service.d/10-hardening.conf",
        instance.as_str()
    );
    assert_eq!(f.lines.len(), 1, "{shown}");
    assert!(
        f.lines[0].at.file.ends_with(&dropin_path)
            && f.lines[0].assignment == "SystemCallArchitectures=native",
        "{shown}"
    );
    let Fix::HostConfig { value, check, .. } = &f.fix else {
        unreachable!()
    };
    assert_eq!(value, "x86");
    assert!(matches!(check, Check::Verified(_)), "{check:?}");
    // The negative control: with the fix the same workload runs and the
    // kernel writes no new record for it.
    assert!(runs, "srcds_linux does not run with the fix: {state}");
    assert_eq!(after_fix, before_fix, "a record after the fix");
    assert_eq!(state.trim(), "active");
    // Operations through socketcall: the deny of connect killed it (SIGSYS,
    // one record), the allow list without socketcall did not (nc ran
    // and was refused); triage blames the first unit's ~connect line and
    // finds nothing in the second's settings that denies it.
    assert!(deny_connect.contains("status=31/SYS"), "{deny_connect}");
    assert!(
        allow_without.contains("Connection refused") && !allow_without.contains("status=31/SYS"),
        "{allow_without}"
    );
    assert_eq!(nc_after, nc_before + 1, "{nc_input}");
    let g = &connect_triage.groups[0];
    assert_eq!((g.architecture, g.call.as_str()), ("x86", "socketcall"));
    assert!(
        g.finding.cause.contains("the operation connect"),
        "{}",
        g.finding.cause
    );
    assert!(
        g.finding.lines.iter().any(|l| l
            .at
            .file
            .ends_with(&format!("/run/systemd/transient/{connect_unit}"))
            && l.assignment == "SystemCallFilter=~connect"),
        "{}",
        triage::text(&connect_triage)
    );
    assert!(
        allow_triage.groups[0]
            .finding
            .cause
            .contains("let every operation through it"),
        "{}",
        triage::text(&allow_triage)
    );
    // The measured reason the container's journal has no record.
    assert_eq!(kmsg.trim(), "absent");
    assert_eq!(journal_kernel.trim(), "0");
    assert_eq!(journal_audit.trim(), "0");
}
