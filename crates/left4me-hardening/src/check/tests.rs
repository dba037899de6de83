//! `check` against a fake host: a world that is hardened (the generated
//! drop-ins installed) or bare (none), answering each command the way
//! systemd 257 and the kernel did in the runtime container (the `show`
//! fixtures are real `systemctl show` output from it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::host::Host;

const SHOW_SERVER_HARDENED: &str = include_str!("fixtures/show-server@1-hardened.txt");
const SHOW_SERVER_BARE: &str = include_str!("fixtures/show-server@1-bare.txt");
const SHOW_WEB_HARDENED: &str = include_str!("fixtures/show-web-hardened.txt");
const SHOW_WEB_BARE: &str = include_str!("fixtures/show-web-bare.txt");
const SERVER_UNIT: &str = include_str!("../../tests/fixtures/units/left4me-server@.service");
const WEB_UNIT: &str = include_str!("../../tests/fixtures/units/left4me-web.service");

const GUNICORN: u32 = 189;
/// (instance, MainPID of srcds_run, srcds_linux, its PID in its own namespace).
const SERVERS: [(&str, u32, u32, u32); 2] = [("1", 203, 210, 4), ("2", 204, 213, 4)];

struct World {
    host: Host,
    hardened: bool,
    web_running: bool,
    server_running: [bool; 2],
    yama: Option<u32>,
    /// What `systemd-detect-virt --container` names (None: not a container).
    container: Option<&'static str>,
    root: bool,
    /// nsenter fails before the probe starts.
    nsenter_broken: bool,
    /// The hardened srcds's PID namespace has a process numbered like gunicorn.
    pid_collision: bool,
    calls: Vec<Vec<String>>,
}

fn world(hardened: bool) -> World {
    World {
        host: Host::standard().unwrap(),
        hardened,
        web_running: true,
        server_running: [true, true],
        yama: None,
        container: None,
        root: true,
        nsenter_broken: false,
        pid_collision: false,
        calls: Vec::new(),
    }
}

fn ran(code: i32, stdout: &str, stderr: &str) -> Ran {
    Ran {
        exit: Exit::Code(code),
        stdout: stdout.to_owned(),
        stderr: stderr.to_owned(),
    }
}

/// A probe's output as its shell frames it: the marker, the command's
/// output, the status line.
fn probe_out(code: i32, stdout: &str, stderr: &str) -> Ran {
    ran(
        code,
        &format!("{}\n{stdout}\n{}{code}\n", probe::MARKER, probe::STATUS),
        stderr,
    )
}

impl World {
    fn show(&self, unit: &str) -> String {
        let (text, running, pid) = if unit == "left4me-web.service" {
            let text = if self.hardened {
                SHOW_WEB_HARDENED
            } else {
                SHOW_WEB_BARE
            };
            (text.to_owned(), self.web_running, GUNICORN)
        } else {
            let n = SERVERS
                .iter()
                .position(|s| unit.contains(&format!("@{}.", s.0)));
            let n = n.unwrap();
            let text = if self.hardened {
                SHOW_SERVER_HARDENED
            } else {
                SHOW_SERVER_BARE
            };
            let text = text
                .replace(
                    "left4me-server@1",
                    &format!("left4me-server@{}", SERVERS[n].0),
                )
                .replace("runtime/1", &format!("runtime/{}", SERVERS[n].0));
            (text, self.server_running[n], SERVERS[n].1)
        };
        // The last assignment of a key wins, as the reader takes it.
        if running {
            format!("{text}ActiveState=active\nMainPID={pid}\n")
        } else {
            format!("{text}ActiveState=inactive\nMainPID=0\n")
        }
    }

    fn ps(&self) -> String {
        let mut out = format!("    1     0 systemd\n  {GUNICORN}     1 sleep\n");
        for (_, main, srcds, _) in SERVERS {
            out.push_str(&format!(
                "  {main}     1 srcds_run\n  {srcds}  {main} srcds_linux\n"
            ));
        }
        out
    }

    fn status(&self, pid: u32) -> Option<String> {
        let ns = if pid == GUNICORN {
            format!("{pid}")
        } else {
            let (_, _, _, inner) = SERVERS.iter().find(|s| s.1 == pid || s.2 == pid)?;
            if self.hardened {
                format!("{pid}\t{inner}")
            } else {
                format!("{pid}")
            }
        };
        let (nnp, seccomp) = if self.hardened && pid != GUNICORN {
            (1, 2)
        } else {
            (0, 0)
        };
        Some(format!(
            "Name:\tsomething\nUid:\t980\t980\t980\t980\nGid:\t980\t980\t980\t980\nNSpid:\t{ns}\nNoNewPrivs:\t{nnp}\nSeccomp:\t{seccomp}\n"
        ))
    }

    fn pid_ns(&self, pid: u32) -> String {
        match SERVERS.iter().position(|s| s.1 == pid || s.2 == pid) {
            Some(n) if self.hardened => format!("pid:[40265326{n}0]"),
            _ => "pid:[4026531836]".to_owned(),
        }
    }

    fn file(&self, path: &str) -> Option<String> {
        let generated = |kind, instance: Option<&str>| {
            let i = instance.map(|i| Instance::new(i).unwrap());
            self.host
                .generate(kind, i.as_ref(), Default::default())
                .unwrap()
                .text
        };
        Some(match path {
            "/etc/systemd/system/left4me-server@.service" => SERVER_UNIT.to_owned(),
            "/etc/systemd/system/left4me-web.service" => WEB_UNIT.to_owned(),
            "/etc/systemd/system/left4me-web.service.d/10-hardening.conf" => {
                generated(ProfileKind::Web, None)
            }
            p if p.starts_with("/etc/systemd/system/left4me-server@") => {
                let i = p
                    .strip_prefix("/etc/systemd/system/left4me-server@")?
                    .split('.')
                    .next()?;
                generated(ProfileKind::Server, Some(i))
            }
            _ => return None,
        })
    }

    fn nsenter(&self, cmd: &[String]) -> Ran {
        if self.nsenter_broken {
            return ran(
                1,
                "",
                "nsenter: reassociate to namespace 'ns/user' failed: Operation not permitted\n",
            );
        }
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let enoent = |p: &str| probe_out(1, "", &format!("cat: {p}: No such file or directory\n"));
        match cmd[..] {
            ["cat", "--", path] if self.pid_collision && path.ends_with("/environ") => {
                probe_out(0, "OTHER=1\0", "")
            }
            ["cat", "--", path] if self.hardened => enoent(path),
            ["cat", "--", path] if path.ends_with("environ") => {
                probe_out(0, "SECRET_KEY=web-env-secret\0", "")
            }
            ["cat", "--", _] => probe_out(0, "secret\n", ""),
            ["ls", "-A", "/opt"] if self.hardened => probe_out(0, "", ""),
            ["ls", "-A", "/opt"] => probe_out(0, "left4me\n", ""),
            ["ls", "/proc"] => probe_out(0, "1\n4\n12\nself\nthread-self\n", ""),
            ["perl", "-e", _, pid] if self.hardened => probe_out(
                1,
                &format!("/proc/{pid}/maps: No such file or directory\n"),
                "",
            ),
            ["perl", "-e", _, pid] => probe_out(
                0,
                &format!("read 16 bytes of /proc/{pid}/mem at 0x5555\n"),
                "",
            ),
            _ => panic!("unexpected probe {cmd:?}"),
        }
    }

    fn systemd_run(&self, argv: &[String]) -> Ran {
        let props: Vec<&str> = argv
            .iter()
            .filter_map(|a| a.strip_prefix("--property="))
            .collect();
        let at = argv.iter().position(|a| a == "--").unwrap();
        let cmd: Vec<&str> = argv[at + 5..].iter().map(String::as_str).collect();
        // The transient unit's settings, read as systemd reads them.
        let mut settings = Effective::new("run-p1.service");
        settings.read(
            "transient",
            format!("[Service]\n{}\n", props.join("\n")).as_bytes(),
        );
        settings.finish();
        let filtered = settings
            .get::<dropin::SyscallFilter>(Directive::SystemCallFilter)
            .and_then(Option::as_ref)
            .is_some_and(|f| !f.allows("ptrace"));
        let nnp = settings.get::<dropin::Boolean>(Directive::NoNewPrivileges) == Some(&Some(true));
        let report = |code: &str| {
            format!("Running as unit: run-p1.service\nMain processes terminated with: {code}\n")
        };
        match cmd[..] {
            ["perl", "-e", script, ..] if filtered && script.contains("0x4206") => Ran {
                exit: Exit::Code(255),
                stdout: format!("{}\n\n{}159\n", probe::MARKER, probe::STATUS),
                stderr: report("code=exited, status=159/n/a"),
            },
            // process_vm_readv is in @ipc: the filter lets it through and
            // the private PID namespace has no such process.
            ["perl", "-e", script, _, pid, _] if script.contains("process_vm_readv") => {
                if self.hardened {
                    probe_out(
                        1,
                        &format!("process_vm_readv({pid}): No such process\n"),
                        &report("code=exited, status=1/FAILURE"),
                    )
                } else {
                    probe_out(
                        0,
                        &format!(
                            "read 16 bytes of the memory of {pid} at 0x5555 with process_vm_readv\n"
                        ),
                        &report("code=exited, status=0/SUCCESS"),
                    )
                }
            }
            ["perl", "-e", _, _, pid] if self.yama.is_some_and(|y| y >= 2) => probe_out(
                1,
                &format!("ptrace({pid}): Operation not permitted\n"),
                &report("code=exited, status=1/FAILURE"),
            ),
            ["perl", "-e", _, _, pid] => probe_out(
                0,
                &format!("attached to {pid}\n"),
                &report("code=exited, status=0/SUCCESS"),
            ),
            ["sudo", "-n", "-l"] if nnp => probe_out(
                1,
                "",
                &format!(
                    "sudo: The \"no new privileges\" flag is set, which prevents sudo from running as root.\n{}",
                    report("code=exited, status=1/FAILURE")
                ),
            ),
            ["sudo", "-n", "-l"] => probe_out(
                0,
                "User left4me may run the following commands on vm:\n    (root) NOPASSWD: /usr/local/libexec/left4me/left4me-systemctl *\n",
                &report("code=exited, status=0/SUCCESS"),
            ),
            _ => panic!("unexpected transient probe {cmd:?}"),
        }
    }

    fn answer(&self, argv: &[String]) -> Ran {
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        match words[..] {
            ["id", "-u"] => ran(0, if self.root { "0\n" } else { "1000\n" }, ""),
            ["systemctl", "show", "--no-pager", unit] => ran(0, &self.show(unit), ""),
            ["ps", "-e", "-o", "pid=,ppid=,comm="] => ran(0, &self.ps(), ""),
            ["systemd-detect-virt", "--container"] => match self.container {
                Some(name) => ran(0, &format!("{name}\n"), ""),
                None => ran(1, "none\n", ""),
            },
            ["cat", "/proc/sys/kernel/yama/ptrace_scope"] => match self.yama {
                Some(v) => ran(0, &format!("{v}\n"), ""),
                None => ran(
                    1,
                    "",
                    "cat: /proc/sys/kernel/yama/ptrace_scope: No such file or directory\n",
                ),
            },
            ["cat", path] if path.ends_with("/environ") => {
                ran(0, "SECRET_KEY=web-env-secret\0", "")
            }
            ["cat", path] if path.ends_with("/maps") => {
                ran(0, "5555-6666 r--p 00000000 08:01 1 /usr/bin/sleep\n", "")
            }
            ["cat", path] => {
                let pid: u32 = path
                    .strip_prefix("/proc/")
                    .and_then(|p| p.strip_suffix("/status"))
                    .unwrap()
                    .parse()
                    .unwrap();
                match self.status(pid) {
                    Some(s) => ran(0, &s, ""),
                    None => ran(1, "", "no such process\n"),
                }
            }
            ["cat", "--", path] => match self.file(path) {
                Some(text) => ran(0, &text, ""),
                None => ran(1, "", &format!("cat: {path}: No such file or directory\n")),
            },
            ["readlink", path] => {
                let pid: u32 = path
                    .strip_prefix("/proc/")
                    .and_then(|p| p.strip_suffix("/ns/pid"))
                    .unwrap()
                    .parse()
                    .unwrap();
                ran(0, &format!("{}\n", self.pid_ns(pid)), "")
            }
            ["readlink", _, "/proc/1/ns/user"] if self.hardened => {
                ran(0, "user:[4026532514]\nuser:[4026531837]\n", "")
            }
            ["readlink", _, "/proc/1/ns/user"] => {
                ran(0, "user:[4026531837]\nuser:[4026531837]\n", "")
            }
            ["nsenter", ..] => self.nsenter(&argv[13..]),
            ["systemd-run", ..] => self.systemd_run(argv),
            _ => panic!("unexpected command {argv:?}"),
        }
    }
}

impl Runner for World {
    fn run(&mut self, argv: &[String]) -> Result<Ran> {
        self.calls.push(argv.to_vec());
        Ok(self.answer(argv))
    }
}

fn check(w: &mut World) -> Report {
    let host = w.host.clone();
    run(&host, &Options::standard().unwrap(), w).unwrap()
}

fn statuses(r: &Report) -> Vec<(String, &'static str, Status)> {
    r.outcomes
        .iter()
        .map(|o| (o.unit.clone(), o.vector.id, o.status))
        .collect()
}

fn status(r: &Report, unit: &str, id: &str) -> Status {
    r.get(unit, id)
        .unwrap_or_else(|| panic!("no {id} on {unit}"))
        .status
}

fn evidence<'r>(r: &'r Report, unit: &str, id: &str) -> &'r str {
    &r.get(unit, id).unwrap().evidence
}

const S1: &str = "left4me-server@1.service";
const S2: &str = "left4me-server@2.service";
const WEB: &str = "left4me-web.service";

#[test]
fn hardened_host_blocks_every_vector() {
    let mut w = world(true);
    let r = check(&mut w);
    for (unit, id, s) in statuses(&r) {
        let want = if id == "T9" {
            Status::Skip
        } else {
            Status::Pass
        };
        assert_eq!(s, want, "{unit} {id}: {}", evidence(&r, &unit, id));
    }
    assert_eq!(r.outcomes.len(), 2 * 11 + 2 + 1);
    assert_eq!(
        evidence(&r, S1, "D1.a"),
        "cat: /var/lib/left4me/left4me.db: No such file or directory"
    );
    assert_eq!(evidence(&r, S1, "D1.c"), "/opt is empty");
    assert!(
        evidence(&r, S1, "D2.a").starts_with("killed by SIGSYS")
            && evidence(&r, S1, "D2.a").contains("srcds_linux 210"),
        "{}",
        evidence(&r, S1, "D2.a")
    );
    assert_eq!(
        evidence(&r, S1, "D2.b"),
        "cat: /proc/189/environ: No such file or directory \
         (gunicorn sleep 189 is in pid:[4026531836], srcds_linux 210 in pid:[4026532600])"
    );
    assert!(evidence(&r, S1, "D3").contains("no new privileges"));
    assert!(evidence(&r, S1, "D2.d").starts_with("process_vm_readv(189): No such process"));
    assert!(evidence(&r, S2, "D5").contains("the other srcds srcds_linux 210 is in"));
    assert!(evidence(&r, S1, "userns").contains("user:[4026532514]"));
    assert!(evidence(&r, S1, "profile").contains("settings as generated"));
    assert!(evidence(&r, WEB, "T10").contains("NOPASSWD"));
    assert_eq!(
        evidence(&r, "host", "T9"),
        "this kernel has no Yama LSM (no /proc/sys/kernel/yama/ptrace_scope); not testable here"
    );
}

#[test]
fn bare_host_reaches_every_vector() {
    let mut w = world(false);
    let r = check(&mut w);
    for (unit, id, s) in statuses(&r) {
        let want = match id {
            "T9" => Status::Skip,
            "T10" => Status::Pass,
            _ => Status::Fail,
        };
        assert_eq!(s, want, "{unit} {id}: {}", evidence(&r, &unit, id));
    }
    assert_eq!(
        evidence(&r, S1, "D1.b"),
        "/etc/left4me/web.env is readable (7 bytes)"
    );
    assert_eq!(
        evidence(&r, S1, "D2.a"),
        "attached to 189 (running srcds_linux 210: NoNewPrivs 0, Seccomp 0)"
    );
    assert_eq!(
        evidence(&r, S1, "D2.c"),
        "read 16 bytes of /proc/189/mem at 0x5555"
    );
    assert!(evidence(&r, S1, "profile").contains("NoNewPrivileges"));
    assert!(evidence(&r, S1, "D2.d").starts_with("read 16 bytes of the memory of 189 at 0x5555"));
    // A secret's content never reaches the report.
    assert!(!r.table().contains("SECRET"));
    assert!(!r.json().to_string().contains("SECRET"));
}

#[test]
fn transient_probes_get_the_loaded_units_settings_with_the_instance_resolved() {
    let mut w = world(true);
    check(&mut w);
    let run_for = |w: &World, what: &str, uid_props: &str| -> Vec<String> {
        w.calls
            .iter()
            .find(|c| {
                c[0] == "systemd-run"
                    && c.iter().any(|a| a.contains(what))
                    && c.iter().any(|a| a == uid_props)
            })
            .cloned()
            .unwrap_or_else(|| panic!("no systemd-run {what} with {uid_props}"))
    };
    let ptrace = run_for(
        &w,
        "ptrace probe",
        "--property=BindPaths=/var/lib/left4me/runtime/2",
    );
    assert!(ptrace.contains(&"--uid=left4me".to_owned()));
    assert!(ptrace.contains(&"--property=SystemCallArchitectures=native".to_owned()));
    assert!(ptrace.contains(&"--property=SystemCallArchitectures=x86".to_owned()));
    assert!(ptrace.contains(&"--property=CapabilityBoundingSet=".to_owned()));
    // The web unit's own ReadWritePaths= comes from its unit file.
    let sudo = run_for(
        &w,
        "sudo probe",
        "--property=ReadWritePaths=/var/lib/left4me",
    );
    assert!(sudo.contains(&"--property=ProtectProc=invisible".to_owned()));
    // Production removed ProcSubset=pid: the probe gets systemd's default.
    assert!(!sudo.iter().any(|a| a.contains("ProcSubset")), "{sudo:?}");
    assert!(!sudo.iter().any(|a| a.contains("NoNewPrivileges")));

    let mut bare = world(false);
    check(&mut bare);
    let ptrace = bare
        .calls
        .iter()
        .find(|c| c[0] == "systemd-run" && c.iter().any(|a| a.contains("ptrace probe")))
        .unwrap();
    let props: Vec<&String> = ptrace
        .iter()
        .filter(|a| a.starts_with("--property=") && !a.contains("RuntimeMaxSec"))
        .collect();
    assert!(props.is_empty(), "{props:?}");
}

#[test]
fn a_process_by_the_same_number_in_another_namespace_is_not_the_target() {
    let mut w = world(true);
    w.pid_collision = true;
    let r = check(&mut w);
    assert_eq!(status(&r, S1, "D2.b"), Status::Pass);
    assert!(
        evidence(&r, S1, "D2.b")
            .starts_with("/proc/189 in srcds_linux 210's PID namespace is another process"),
        "{}",
        evidence(&r, S1, "D2.b")
    );
    // Had it read the target's own environment, it would have reached it.
    let mut w = world(false);
    let r = check(&mut w);
    assert_eq!(status(&r, S1, "D2.b"), Status::Fail);
    assert_eq!(
        evidence(&r, S1, "D2.b"),
        "/proc/189/environ of gunicorn sleep 189 is readable (26 bytes)"
    );
}

#[test]
fn stopped_units_and_a_single_instance_are_skipped_with_the_reason() {
    let mut w = world(true);
    w.web_running = false;
    w.server_running = [true, false];
    let r = check(&mut w);
    for id in ["D2.a", "D2.b", "D2.c", "D2.d"] {
        assert_eq!(status(&r, S1, id), Status::Skip);
        assert!(evidence(&r, S1, id).contains("left4me-web.service is not running"));
    }
    assert_eq!(status(&r, S1, "D5"), Status::Skip);
    assert_eq!(
        evidence(&r, S1, "D5"),
        "left4me-server@2.service is not running"
    );
    assert_eq!(status(&r, S1, "D1.a"), Status::Pass);
    for (unit, _, s) in statuses(&r) {
        if unit == S2 || unit == WEB {
            assert_eq!(s, Status::Skip);
        }
    }

    let mut w = world(true);
    let host = w.host.clone();
    let options = Options {
        instances: vec![Instance::new("1").unwrap()],
        ..Options::standard().unwrap()
    };
    let r = run(&host, &options, &mut w).unwrap();
    assert_eq!(status(&r, S1, "D5"), Status::Skip);
    assert!(evidence(&r, S1, "D5").contains("give --instance twice"));
    assert!(r.get(S2, "D1.a").is_none());
}

#[test]
fn yama_is_read_then_probed() {
    let mut w = world(true);
    w.yama = Some(2);
    let r = check(&mut w);
    assert_eq!(status(&r, "host", "T9"), Status::Pass);
    assert_eq!(
        evidence(&r, "host", "T9"),
        "kernel.yama.ptrace_scope = 2; uid 980: ptrace(189): Operation not permitted"
    );
    let mut w = world(true);
    w.yama = Some(1);
    let r = check(&mut w);
    assert_eq!(status(&r, "host", "T9"), Status::Fail);
    assert!(evidence(&r, "host", "T9").contains("= 1, the sysctl profile wants 2"));
}

#[test]
fn yama_in_a_container_is_not_testable_whatever_the_host_has() {
    // The host kernel's scope, good or bad, hardened or not: the same skip
    // with the reason, and the value is not even read.
    for (hardened, yama) in [
        (true, Some(2)),
        (true, Some(1)),
        (false, Some(0)),
        (false, None),
    ] {
        let mut w = world(hardened);
        w.yama = yama;
        w.container = Some("container-other");
        let r = check(&mut w);
        assert_eq!(
            status(&r, "host", "T9"),
            Status::Skip,
            "{hardened} {yama:?}"
        );
        assert_eq!(
            evidence(&r, "host", "T9"),
            "kernel.yama.ptrace_scope is not namespaced: in this container (container-other) it \
             is the host kernel's value, which the sysctl profile here cannot set; not testable \
             here"
        );
        assert!(
            !w.calls
                .iter()
                .any(|c| c.iter().any(|a| a.contains("ptrace_scope"))),
            "{:?}",
            w.calls
        );
    }
    // The control: outside a container the value decides.
    let mut w = world(true);
    w.yama = Some(1);
    let r = check(&mut w);
    assert_eq!(status(&r, "host", "T9"), Status::Fail);
}

#[test]
fn a_probe_that_never_started_is_an_error_not_a_pass() {
    let mut w = world(true);
    w.nsenter_broken = true;
    let r = check(&mut w);
    for id in ["D1.a", "D1.b", "D1.c", "D2.b", "D2.c", "D5"] {
        assert_eq!(status(&r, S1, id), Status::Error, "{id}");
        assert!(evidence(&r, S1, id).contains("the probe did not start"));
    }
    // Six probes per instance go through nsenter.
    assert_eq!(r.count(Status::Error), 12);
}

#[test]
fn refuses_to_run_without_root() {
    let mut w = world(true);
    w.root = false;
    let host = w.host.clone();
    let err = run(&host, &Options::standard().unwrap(), &mut w).unwrap_err();
    assert!(err.to_string().contains("must run as root"), "{err}");
}

#[test]
fn table_and_json() {
    let mut w = world(true);
    let r = check(&mut w);
    let table = r.table();
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap(),
        "UNIT                      VECTOR   RESULT  EVIDENCE"
    );
    assert!(
        table.contains(
            "left4me-server@1.service  D1.a     PASS    cat: /var/lib/left4me/left4me.db: No such file or directory\n"
        ),
        "{table}"
    );
    assert!(
        table.ends_with("\n24 passed, 0 failed, 1 skipped, 0 errors\n"),
        "{table}"
    );
    assert!(table.lines().all(|l| l == l.trim_end()));
    let json = r.json();
    assert_eq!(json["version"], 1);
    assert_eq!(json["summary"]["pass"], 24);
    assert_eq!(json["summary"]["skip"], 1);
    let first = &json["results"][0];
    assert_eq!(first["unit"], S1);
    assert_eq!(first["vector"], "profile");
    assert_eq!(first["status"], "pass");
    assert_eq!(first["expectation"], "works");
    assert_eq!(json["results"][1]["expectation"], "blocked");
    assert_eq!(json["results"].as_array().unwrap().len(), 25);
}

#[test]
fn vectors_are_unique_per_subject() {
    let mut seen = std::collections::BTreeSet::new();
    for v in VECTORS {
        assert!(seen.insert((format!("{:?}", v.subject), v.id)), "{}", v.id);
    }
    // The plan's vectors, all there.
    for id in [
        "D1.a", "D1.b", "D1.c", "D2.a", "D2.b", "D2.c", "D3", "D5", "userns", "T9", "T10",
    ] {
        assert!(VECTORS.iter().any(|v| v.id == id), "{id}");
    }
}

#[test]
fn properties_are_what_systemd_would_hold_after_the_drop_in() {
    let host = Host::standard().unwrap();
    let seven = Instance::new("7").unwrap();
    let text = host
        .generate(
            ProfileKind::Server,
            Some(&seven),
            dropin::RenderOptions { comments: false },
        )
        .unwrap()
        .text;
    // A base unit that sets a read-only path the drop-in clears: the
    // transient service must not get it back.
    let mut e = Effective::new("left4me-server@7.service");
    e.read(
        "/usr/lib/systemd/system/left4me-server@.service",
        b"[Service]\nReadOnlyPaths=/srv\nProtectHome=no\n",
    );
    e.read(
        "/etc/systemd/system/left4me-server@7.service.d/hardening.conf",
        text.as_bytes(),
    );
    e.finish();
    let p = properties(&e);
    assert!(
        p.contains(&"BindPaths=/var/lib/left4me/runtime/7".to_owned()),
        "{p:?}"
    );
    assert!(p.contains(&"ProtectHome=yes".to_owned()), "{p:?}");
    // systemd-run parses PrivateUsers= as a boolean: `self` goes as the
    // string property.
    assert!(p.contains(&"PrivateUsersEx=self".to_owned()), "{p:?}");
    assert!(!p.iter().any(|l| l.starts_with("PrivateUsers=")), "{p:?}");
    assert!(!p.iter().any(|l| l.starts_with("ReadOnlyPaths=")), "{p:?}");
    // An empty set is a value, not a reset.
    assert!(p.contains(&"CapabilityBoundingSet=".to_owned()), "{p:?}");
    // Negative control: without the drop-in the base's path is there.
    let mut base = Effective::new("left4me-server@7.service");
    base.read("/base", b"[Service]\nReadOnlyPaths=/srv\n");
    base.finish();
    assert_eq!(properties(&base), ["ReadOnlyPaths=/srv"]);
}
