//! `check`: the test plan's attack verification, run against the live
//! host: Test 8's vectors (D1.a–c, D2.a–c, D3, D5, the `PrivateUsers=`
//! bonus), Test 9's Yama ptrace scope and Test 10's sudo, plus whether each
//! running unit carries the generated profile.
//!
//! Each vector is data ([`VECTORS`]); each is probed at runtime through a
//! [`Runner`] and reported [`Status::Pass`] (blocked — for Test 10: sudo
//! works), [`Status::Fail`] (reachable), [`Status::Skip`] with the reason
//! (the unit is not running, there is no second instance) or
//! [`Status::Error`] (the probe itself did not run as planned).
//!
//! The corrections recorded with the tested plan are built in: a unit's
//! process is its `MainPID` from `systemctl show`, and srcds is found as a
//! descendant of it (never by `pgrep`, which picks the wrong instance);
//! what srcds sees is probed in *every* namespace of that process as its
//! uid (never `nsenter` into the mount namespace alone as root); what needs
//! the unit's system call filter and no-new-privileges flag (`ptrace`,
//! `sudo`) is probed in a transient service that gets the unit's user,
//! group and hardening directives as systemd loaded them — the base unit
//! and every drop-in in `DropInPaths`, read and composed with the
//! library's merge rules, `%i` resolved, each composed assignment line
//! becoming one `--property=`. So a probe shows what the *running* unit
//! gets: with the generated drop-in installed, the generated profile;
//! with it removed, the bare unit. The `profile` row says which it is.
//!
//! It only reads and probes: the transient units end by themselves (30 s
//! at most) and are collected.

mod probe;
mod runner;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use dropin::parse::RawEntry;
use dropin::systemd::specifier;
use dropin::{Directive, Effective, Instance, UnitName};
use serde_json::{Value as Json, json};

pub use runner::{Exit, Ran, Runner, SystemRunner};

use crate::error::{Error, Result};
use crate::host::Host;
use crate::profiles::{Content, ProfileKind};
use probe::{End, Probe};

/// Which unit a vector is probed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Each checked game server instance (the attacker in Test 8).
    Server,
    /// The web application.
    Web,
    /// The host (a kernel setting).
    Host,
}

/// What a vector's PASS means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// The attack is refused.
    Blocked,
    /// The function works (Test 10: sudo for the web app).
    Works,
}

impl Expectation {
    /// `blocked` or `works`.
    pub fn name(self) -> &'static str {
        match self {
            Expectation::Blocked => "blocked",
            Expectation::Works => "works",
        }
    }
}

/// One vector of the test plan, as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vector {
    /// The plan's id (`D1.a`), or `profile`, `userns`, `T9`, `T10`.
    pub id: &'static str,
    /// Where the test plan has it.
    pub reference: &'static str,
    /// Which unit it is probed on.
    pub subject: Subject,
    /// What the attack (or the function) is.
    pub description: &'static str,
    /// What PASS means.
    pub expectation: Expectation,
    /// How it is probed.
    pub probe: &'static str,
}

/// Every vector, in report order: the server's (for each instance), the
/// web app's, the host's.
pub const VECTORS: &[Vector] = &[
    Vector {
        id: "profile",
        reference: "Test 7",
        subject: Subject::Server,
        description: "the running unit carries the generated server profile",
        expectation: Expectation::Works,
        probe: "systemctl show compared with the generated settings (as diff --show)",
    },
    Vector {
        id: "D1.a",
        reference: "Test 8",
        subject: Subject::Server,
        description: "srcds reads the web app's database (left4me.db)",
        expectation: Expectation::Blocked,
        probe: "cat in every namespace of srcds, as its uid",
    },
    Vector {
        id: "D1.b",
        reference: "Test 8",
        subject: Subject::Server,
        description: "srcds reads the web app's secrets (web.env)",
        expectation: Expectation::Blocked,
        probe: "cat in every namespace of srcds, as its uid",
    },
    Vector {
        id: "D1.c",
        reference: "Test 8",
        subject: Subject::Server,
        description: "srcds lists /opt (the web app's source)",
        expectation: Expectation::Blocked,
        probe: "ls -A in every namespace of srcds, as its uid",
    },
    Vector {
        id: "D2.a",
        reference: "Test 8 (Test 4)",
        subject: Subject::Server,
        description: "srcds attaches to gunicorn with ptrace",
        expectation: Expectation::Blocked,
        probe: "ptrace(PTRACE_SEIZE) in a transient service with the unit's user and hardening",
    },
    Vector {
        id: "D2.b",
        reference: "Test 8",
        subject: Subject::Server,
        description: "srcds reads gunicorn's environment (/proc/PID/environ)",
        expectation: Expectation::Blocked,
        probe: "cat in every namespace of srcds, as its uid",
    },
    Vector {
        id: "D2.c",
        reference: "Test 8",
        subject: Subject::Server,
        description: "srcds reads gunicorn's memory (/proc/PID/mem)",
        expectation: Expectation::Blocked,
        probe: "a read at gunicorn's first mapping in every namespace of srcds, as its uid",
    },
    Vector {
        id: "D2.d",
        reference: "Test 8 (D2; beyond the plan)",
        subject: Subject::Server,
        description: "srcds reads gunicorn's memory with process_vm_readv, which the system call filter allows",
        expectation: Expectation::Blocked,
        probe: "process_vm_readv in a transient service with the unit's user and hardening",
    },
    Vector {
        id: "D3",
        reference: "Test 8",
        subject: Subject::Server,
        description: "srcds becomes root through the web app's sudo rules",
        expectation: Expectation::Blocked,
        probe: "sudo -n -l in a transient service with the unit's user and hardening",
    },
    Vector {
        id: "D5",
        reference: "Test 8",
        subject: Subject::Server,
        description: "srcds reads another instance's srcds environment",
        expectation: Expectation::Blocked,
        probe: "cat in every namespace of srcds, as its uid",
    },
    Vector {
        id: "userns",
        reference: "Test 8 (bonus)",
        subject: Subject::Server,
        description: "srcds runs in the host's user namespace",
        expectation: Expectation::Blocked,
        probe: "/proc/PID/ns/user of srcds against PID 1's",
    },
    Vector {
        id: "profile",
        reference: "Test 10",
        subject: Subject::Web,
        description: "the running unit carries the generated web profile",
        expectation: Expectation::Works,
        probe: "systemctl show compared with the generated settings (as diff --show)",
    },
    Vector {
        id: "T10",
        reference: "Test 10",
        subject: Subject::Web,
        description: "the web app's sudo still becomes root",
        expectation: Expectation::Works,
        probe: "sudo -n -l in a transient service with the unit's user and hardening",
    },
    Vector {
        id: "T9",
        reference: "Test 9",
        subject: Subject::Host,
        description: "an unprivileged process attaches to another of its uid with ptrace",
        expectation: Expectation::Blocked,
        probe: "kernel.yama.ptrace_scope, then ptrace(PTRACE_SEIZE) on gunicorn as its uid, unsandboxed",
    },
];

/// A vector's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Blocked (for a function: it works).
    Pass,
    /// Reachable (for a function: it is broken).
    Fail,
    /// Not probed; the evidence says why.
    Skip,
    /// The probe did not run as planned; the evidence says what happened.
    Error,
}

impl Status {
    /// `PASS`, `FAIL`, `SKIP` or `ERROR`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
            Status::Error => "ERROR",
        }
    }
}

/// One vector probed on one unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The vector.
    pub vector: &'static Vector,
    /// The unit probed (`host` for the host's vectors).
    pub unit: String,
    /// The result.
    pub status: Status,
    /// What the probe saw (never a secret's content: reads report sizes).
    pub evidence: String,
}

/// Every outcome, in [`VECTORS`] order (server vectors per instance).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The outcomes.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// How many outcomes have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.outcomes.iter().filter(|o| o.status == status).count()
    }

    /// The outcome of vector `id` on `unit`.
    pub fn get(&self, unit: &str, id: &str) -> Option<&Outcome> {
        self.outcomes
            .iter()
            .find(|o| o.unit == unit && o.vector.id == id)
    }

    /// A table (unit, vector, result, evidence) and a summary line.
    pub fn table(&self) -> String {
        let rows: Vec<[String; 4]> = self
            .outcomes
            .iter()
            .map(|o| {
                [
                    o.unit.clone(),
                    o.vector.id.to_owned(),
                    o.status.name().to_owned(),
                    one_line(&o.evidence),
                ]
            })
            .collect();
        let header = ["UNIT", "VECTOR", "RESULT", "EVIDENCE"].map(str::to_owned);
        let mut widths = [0; 3];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            let line = format!(
                "{:<a$}  {:<b$}  {:<c$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                a = widths[0],
                b = widths[1],
                c = widths[2]
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let _ = writeln!(out, "\n{}", self.summary());
        out
    }

    /// `N passed, N failed, N skipped, N errors`.
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped, {} errors",
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Skip),
            self.count(Status::Error)
        )
    }

    /// The report as a stable JSON document: `version`, `summary` (counts)
    /// and `results` (unit, vector, reference, description, expectation,
    /// status in lower case, evidence), in report order.
    pub fn json(&self) -> Json {
        let results: Vec<Json> = self
            .outcomes
            .iter()
            .map(|o| {
                json!({
                    "unit": o.unit,
                    "vector": o.vector.id,
                    "reference": o.vector.reference,
                    "description": o.vector.description,
                    "expectation": o.vector.expectation.name(),
                    "probe": o.vector.probe,
                    "status": o.status.name().to_ascii_lowercase(),
                    "evidence": o.evidence,
                })
            })
            .collect();
        json!({
            "version": 1,
            "summary": {
                "pass": self.count(Status::Pass),
                "fail": self.count(Status::Fail),
                "skip": self.count(Status::Skip),
                "error": self.count(Status::Error),
            },
            "results": results,
        })
    }
}

/// Evidence on one line: control characters escaped, lines joined.
fn one_line(text: &str) -> String {
    let joined: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    dropin::render::escape_controls(&joined.join(" / "))
}

/// What to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The server instances to probe; each one's D5 target is the next
    /// in this list (the last one's, the first).
    pub instances: Vec<Instance>,
    /// The name (`comm`) of the game server process below `MainPID`.
    pub srcds_process: String,
}

impl Options {
    /// Instances 1 and 2 (the test plan's canary and its peer), srcds
    /// found as `srcds_linux`.
    pub fn standard() -> Result<Options> {
        Ok(Options {
            instances: vec![Instance::new("1")?, Instance::new("2")?],
            srcds_process: "srcds_linux".to_owned(),
        })
    }
}

/// A unit as `systemctl show` reports it.
#[derive(Clone, Debug)]
struct Live {
    unit: UnitName,
    show: Vec<RawEntry>,
    main_pid: Option<u32>,
    user: Option<String>,
    group: Option<String>,
    /// The unit file and every drop-in systemd loaded, in its order.
    files: Vec<String>,
}

impl Live {
    fn value(&self, key: &str) -> Option<&str> {
        self.show
            .iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    fn name(&self) -> String {
        self.unit.to_string()
    }

    fn not_running(&self) -> String {
        format!("{} is not running", self.unit)
    }
}

/// A process as `/proc/PID/status` shows it.
#[derive(Clone, Debug, Default)]
struct Proc {
    pid: u32,
    comm: String,
    uid: u32,
    gid: u32,
    /// Its PID in each nested PID namespace, outermost first.
    ns_pids: Vec<u32>,
    /// `pid:[…]`.
    pid_ns: String,
    no_new_privs: String,
    seccomp: String,
}

impl Proc {
    fn label(&self) -> String {
        format!("{} {}", self.comm, self.pid)
    }

    /// Its security state, as evidence.
    fn state(&self) -> String {
        format!(
            "running {}: NoNewPrivs {}, Seccomp {}",
            self.label(),
            self.no_new_privs,
            self.seccomp
        )
    }
}

/// Probes the vectors of [`VECTORS`] on the host's units: each of
/// `options.instances` for the server vectors, the web unit, the host.
/// Fails (rather than reporting) only when the host cannot be asked at
/// all: not root, no `systemctl` or `ps`.
pub fn run(host: &Host, options: &Options, runner: &mut dyn Runner) -> Result<Report> {
    let mut c = Checker {
        host,
        options,
        runner,
        processes: BTreeMap::new(),
        properties: BTreeMap::new(),
    };
    let id = c.must(&["id", "-u"])?;
    if id.stdout.trim() != "0" {
        return Err(Error::Check(
            "must run as root: it enters the services' namespaces and starts transient units"
                .to_owned(),
        ));
    }
    let web = c.live(&host.layout.web_unit)?;
    let mut servers = Vec::new();
    for i in &options.instances {
        servers.push(c.live(&host.layout.server_unit.with_instance(i)?)?);
    }
    c.read_processes()?;
    let gunicorn = match web.main_pid {
        Some(pid) => c.process(pid),
        None => None,
    };
    let srcds: Vec<Option<Proc>> = servers.iter().map(|s| c.srcds(s)).collect();
    let mut report = Report::default();
    for (n, server) in servers.iter().enumerate() {
        let peer = (servers.len() > 1).then(|| (n + 1) % servers.len());
        for v in VECTORS.iter().filter(|v| v.subject == Subject::Server) {
            let target = Target {
                unit: server,
                srcds: srcds[n].as_ref(),
                web: &web,
                gunicorn: gunicorn.as_ref(),
                peer: peer.map(|p| (&servers[p], srcds[p].as_ref())),
            };
            let (status, evidence) = c.server_vector(v, &target, &options.instances[n]);
            report.outcomes.push(Outcome {
                vector: v,
                unit: server.name(),
                status,
                evidence,
            });
        }
    }
    for v in VECTORS.iter().filter(|v| v.subject == Subject::Web) {
        let (status, evidence) = c.web_vector(v, &web);
        report.outcomes.push(Outcome {
            vector: v,
            unit: web.name(),
            status,
            evidence,
        });
    }
    for v in VECTORS.iter().filter(|v| v.subject == Subject::Host) {
        let (status, evidence) = c.host_vector(v, &web, gunicorn.as_ref());
        report.outcomes.push(Outcome {
            vector: v,
            unit: "host".to_owned(),
            status,
            evidence,
        });
    }
    Ok(report)
}

/// What a server vector is probed against.
struct Target<'a> {
    unit: &'a Live,
    srcds: Option<&'a Proc>,
    web: &'a Live,
    gunicorn: Option<&'a Proc>,
    peer: Option<(&'a Live, Option<&'a Proc>)>,
}

type Verdict = (Status, String);

fn pass(e: impl Into<String>) -> Verdict {
    (Status::Pass, e.into())
}
fn fail(e: impl Into<String>) -> Verdict {
    (Status::Fail, e.into())
}
fn skip(e: impl Into<String>) -> Verdict {
    (Status::Skip, e.into())
}
fn error(e: impl Into<String>) -> Verdict {
    (Status::Error, e.into())
}

struct Checker<'a> {
    host: &'a Host,
    options: &'a Options,
    runner: &'a mut dyn Runner,
    /// PID → (parent, comm), from `ps`.
    processes: BTreeMap<u32, (u32, String)>,
    /// Unit → its probe properties (or why they could not be read).
    properties: BTreeMap<String, std::result::Result<Vec<String>, String>>,
}

impl Checker<'_> {
    fn run(&mut self, argv: &[String]) -> Result<Ran> {
        self.runner.run(argv)
    }

    /// Runs a command that must succeed for the check to go on.
    fn must(&mut self, argv: &[&str]) -> Result<Ran> {
        let argv: Vec<String> = argv.iter().map(|a| (*a).to_owned()).collect();
        let ran = self.run(&argv)?;
        if !ran.success() {
            return Err(Error::Check(format!(
                "{} failed: {}",
                argv.join(" "),
                one_line(&ran.stderr)
            )));
        }
        Ok(ran)
    }

    fn live(&mut self, unit: &UnitName) -> Result<Live> {
        let name = unit.to_string();
        let ran = self.must(&["systemctl", "show", "--no-pager", &name])?;
        let show = dropin::parse::show_output(&format!("systemctl show {name}"), &ran.stdout)?;
        let mut live = Live {
            unit: unit.clone(),
            show,
            main_pid: None,
            user: None,
            group: None,
            files: Vec::new(),
        };
        let running = live.value("ActiveState") == Some("active");
        live.main_pid = live
            .value("MainPID")
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|&p| p > 0 && running);
        let nonempty = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_owned);
        live.user = nonempty(live.value(dropin::directive::key::USER));
        live.group = nonempty(live.value(dropin::directive::key::GROUP));
        live.files = nonempty(live.value("FragmentPath")).into_iter().collect();
        if let Some(dropins) = live.value("DropInPaths") {
            let more: Vec<String> = dropins.split_whitespace().map(str::to_owned).collect();
            live.files.extend(more);
        }
        Ok(live)
    }

    fn read_processes(&mut self) -> Result<()> {
        let ran = self.must(&["ps", "-e", "-o", "pid=,ppid=,comm="])?;
        for line in ran.stdout.lines() {
            let mut words = line.split_whitespace();
            let (Some(pid), Some(ppid)) = (words.next(), words.next()) else {
                continue;
            };
            let (Ok(pid), Ok(ppid)) = (pid.parse::<u32>(), ppid.parse::<u32>()) else {
                continue;
            };
            let comm: Vec<&str> = words.collect();
            self.processes.insert(pid, (ppid, comm.join(" ")));
        }
        Ok(())
    }

    /// The first process named `srcds_process` below the unit's main
    /// process (breadth first, lowest PID first).
    fn srcds(&mut self, unit: &Live) -> Option<Proc> {
        let main = unit.main_pid?;
        let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (pid, (ppid, _)) in &self.processes {
            children.entry(*ppid).or_default().push(*pid);
        }
        let mut level = vec![main];
        let mut seen = 0;
        while !level.is_empty() && seen < self.processes.len() {
            seen += level.len();
            if let Some(pid) = level.iter().copied().find(|p| {
                self.processes
                    .get(p)
                    .is_some_and(|(_, comm)| *comm == self.options.srcds_process)
            }) {
                return self.process(pid);
            }
            level = level
                .iter()
                .flat_map(|p| children.get(p).cloned().unwrap_or_default())
                .collect();
        }
        None
    }

    /// A process's status and PID namespace; `None` if it is gone.
    fn process(&mut self, pid: u32) -> Option<Proc> {
        let status = self
            .run(&["cat".to_owned(), format!("/proc/{pid}/status")])
            .ok()
            .filter(Ran::success)?;
        let ns = self
            .run(&["readlink".to_owned(), format!("/proc/{pid}/ns/pid")])
            .ok()
            .filter(Ran::success)?;
        let mut p = Proc {
            pid,
            comm: self
                .processes
                .get(&pid)
                .map(|(_, comm)| comm.clone())
                .unwrap_or_default(),
            pid_ns: ns.stdout.trim().to_owned(),
            ..Proc::default()
        };
        for line in status.stdout.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let first = || value.split_whitespace().next().and_then(|v| v.parse().ok());
            match key {
                "Name" if p.comm.is_empty() => p.comm = value.trim().to_owned(),
                "Uid" => p.uid = first()?,
                "Gid" => p.gid = first()?,
                "NSpid" => {
                    p.ns_pids = value
                        .split_whitespace()
                        .filter_map(|v| v.parse().ok())
                        .collect();
                }
                "NoNewPrivs" => p.no_new_privs = value.trim().to_owned(),
                "Seccomp" => p.seccomp = value.trim().to_owned(),
                _ => {}
            }
        }
        Some(p)
    }

    /// The unit's user, group and hardening directives as systemd loaded
    /// them, as `Key=value` lines for `systemd-run --property=`.
    fn properties(&mut self, unit: &Live) -> std::result::Result<Vec<String>, String> {
        let name = unit.name();
        if let Some(cached) = self.properties.get(&name) {
            return cached.clone();
        }
        let result = self.load_properties(unit);
        self.properties.insert(name, result.clone());
        result
    }

    fn load_properties(&mut self, unit: &Live) -> std::result::Result<Vec<String>, String> {
        if unit.files.is_empty() {
            return Err(format!("systemd shows no unit file for {}", unit.unit));
        }
        let name = unit.name();
        let mut effective = Effective::with_specifiers(specifier::Context::new(
            &name,
            unit.files.first().map(String::as_str),
        ));
        for file in &unit.files {
            let ran = self
                .run(&["cat".to_owned(), "--".to_owned(), file.clone()])
                .map_err(|e| e.to_string())?;
            if !ran.success() {
                return Err(format!("cannot read {file}: {}", one_line(&ran.stderr)));
            }
            effective.read(file, ran.stdout.as_bytes());
        }
        effective.finish();
        Ok(properties(&effective))
    }

    fn server_vector(&mut self, v: &Vector, t: &Target<'_>, instance: &Instance) -> Verdict {
        if t.unit.main_pid.is_none() {
            return skip(t.unit.not_running());
        }
        if v.id == "profile" {
            return self.profile(ProfileKind::Server, Some(instance), t.unit);
        }
        let needs_srcds = !matches!(v.id, "D2.a" | "D2.d" | "D3");
        let srcds = match t.srcds {
            Some(s) => s,
            None if needs_srcds => {
                return skip(format!(
                    "no {} process below MainPID {} (is srcds_run restarting it?)",
                    self.options.srcds_process,
                    t.unit.main_pid.unwrap_or_default()
                ));
            }
            None => &Proc::default(),
        };
        let gunicorn = || match t.gunicorn {
            Some(g) => Ok(g),
            None => Err(skip(format!(
                "{}: no gunicorn to reach",
                t.web.not_running()
            ))),
        };
        let state = || {
            t.srcds
                .map(|s| format!(" ({})", s.state()))
                .unwrap_or_default()
        };
        let state_dir = self.host.layout.state_dir.as_str().to_owned();
        let config_dir = self.host.layout.config_dir.as_str().to_owned();
        match v.id {
            "D1.a" => self.read_inside(srcds, &format!("{state_dir}/left4me.db")),
            "D1.b" => self.read_inside(srcds, &format!("{config_dir}/web.env")),
            "D1.c" => match self.inside(srcds, &["ls", "-A", "/opt"]) {
                Err(verdict) => verdict,
                Ok(p) => match p.end {
                    End::Code(0) if p.stdout.trim().is_empty() => pass("/opt is empty"),
                    End::Code(0) => fail(format!("/opt lists: {}", one_line(&p.stdout))),
                    End::Code(_) => pass(p.first_line()),
                    _ => error(p.describe()),
                },
            },
            "D2.a" => match gunicorn() {
                Ok(g) => {
                    let (status, evidence) = self.ptrace(t.unit, g, true);
                    (status, evidence + &state())
                }
                Err(verdict) => verdict,
            },
            "D2.b" => match gunicorn() {
                Ok(g) => self.read_proc_inside(srcds, g, "environ", "gunicorn"),
                Err(verdict) => verdict,
            },
            "D2.c" => match gunicorn() {
                Ok(g) => self.read_proc_inside(srcds, g, "mem", "gunicorn"),
                Err(verdict) => verdict,
            },
            "D2.d" => match gunicorn() {
                Ok(g) => {
                    let (status, evidence) = self.vm_read(t.unit, g);
                    (status, evidence + &state())
                }
                Err(verdict) => verdict,
            },
            "D3" => {
                let (status, evidence) = self.sudo(t.unit, Expectation::Blocked);
                (status, evidence + &state())
            }
            "D5" => match t.peer {
                None => skip("no other instance to reach (give --instance twice)"),
                Some((peer, _)) if peer.main_pid.is_none() => skip(peer.not_running()),
                Some((peer, None)) => skip(format!(
                    "no {} process below {}'s MainPID",
                    self.options.srcds_process, peer.unit
                )),
                Some((_, Some(other))) => {
                    self.read_proc_inside(srcds, other, "environ", "the other srcds")
                }
            },
            "userns" => {
                let ran = self.run(&[
                    "readlink".to_owned(),
                    format!("/proc/{}/ns/user", srcds.pid),
                    "/proc/1/ns/user".to_owned(),
                ]);
                match ran {
                    Ok(r) if r.success() => match r.stdout.lines().collect::<Vec<_>>()[..] {
                        [own, host] if own != host => {
                            pass(format!("{} in {own}, PID 1 in {host}", srcds.label()))
                        }
                        [own, _] => fail(format!(
                            "{} shares PID 1's user namespace {own}",
                            srcds.label()
                        )),
                        _ => error(format!("readlink printed {:?}", r.stdout)),
                    },
                    Ok(r) => error(one_line(&r.stderr)),
                    Err(e) => error(e.to_string()),
                }
            }
            other => error(format!("no probe for vector {other}")),
        }
    }

    fn web_vector(&mut self, v: &Vector, web: &Live) -> Verdict {
        if web.main_pid.is_none() {
            return skip(web.not_running());
        }
        match v.id {
            "profile" => self.profile(ProfileKind::Web, None, web),
            "T10" => self.sudo(web, Expectation::Works),
            other => error(format!("no probe for vector {other}")),
        }
    }

    fn host_vector(&mut self, v: &Vector, web: &Live, gunicorn: Option<&Proc>) -> Verdict {
        if v.id != "T9" {
            return error(format!("no probe for vector {}", v.id));
        }
        const SCOPE: &str = "/proc/sys/kernel/yama/ptrace_scope";
        let wanted = match &self.host.sysctl.content {
            Content::Sysctl(file) => file
                .settings
                .iter()
                .rev()
                .find(|s| s.key.to_string() == "kernel.yama.ptrace_scope")
                .and_then(|s| s.value.to_string().parse::<u32>().ok()),
            Content::DropIn { .. } => None,
        };
        let Some(wanted) = wanted else {
            return skip("the sysctl profile sets no kernel.yama.ptrace_scope");
        };
        // Yama's sysctl is one value for the whole kernel, not one per
        // namespace: in a container it reads the host's, which the
        // container's sysctl profile cannot set (its /proc/sys is read-only
        // or not its own). Neither a pass nor a fail would be this system's.
        let virt = match self.run(&["systemd-detect-virt".to_owned(), "--container".to_owned()]) {
            Ok(r) => r,
            Err(e) => return error(e.to_string()),
        };
        if virt.success() {
            return skip(format!(
                "kernel.yama.ptrace_scope is not namespaced: in this container ({}) it is the \
                 host kernel's value, which the sysctl profile here cannot set; not testable here",
                virt.stdout.trim()
            ));
        }
        let ran = match self.run(&["cat".to_owned(), SCOPE.to_owned()]) {
            Ok(r) => r,
            Err(e) => return error(e.to_string()),
        };
        if !ran.success() {
            return skip(format!(
                "this kernel has no Yama LSM (no {SCOPE}); not testable here"
            ));
        }
        let Ok(scope) = ran.stdout.trim().parse::<u32>() else {
            return error(format!("{SCOPE} reads {:?}", ran.stdout.trim()));
        };
        if scope < wanted {
            return fail(format!(
                "kernel.yama.ptrace_scope = {scope}, the sysctl profile wants {wanted}"
            ));
        }
        match gunicorn {
            Some(g) => {
                let (status, evidence) = self.ptrace(web, g, false);
                (
                    status,
                    format!(
                        "kernel.yama.ptrace_scope = {scope}; uid {}: {evidence}",
                        g.uid
                    ),
                )
            }
            None => pass(format!(
                "kernel.yama.ptrace_scope = {scope} (no ptrace probe: {})",
                web.not_running()
            )),
        }
    }

    /// The running unit's settings against the generated profile's.
    fn profile(&mut self, kind: ProfileKind, instance: Option<&Instance>, unit: &Live) -> Verdict {
        let Some(composed) = self.host.profile(kind).composed() else {
            return error(format!("profile {kind} is not a drop-in"));
        };
        let composed = match instance {
            Some(i) if composed.uses_instance() => match composed.for_instance(i) {
                Ok(c) => c,
                Err(e) => return error(e.to_string()),
            },
            _ => composed.clone(),
        };
        let checks = dropin::show::compare(&Effective::of(&composed, &unit.name()), &unit.show);
        let differ: Vec<String> = checks
            .iter()
            .filter(|c| c.differs())
            .map(|c| c.directive.name().to_owned())
            .collect();
        let uncertain = checks
            .iter()
            .filter(|c| matches!(c.verdict, dropin::show::Verdict::NotComparable { .. }))
            .count();
        let same = checks.len() - differ.len() - uncertain;
        if differ.is_empty() {
            pass(format!(
                "{same} settings as generated, {uncertain} not comparable"
            ))
        } else {
            fail(format!(
                "{} of {} generated settings differ: {}",
                differ.len(),
                checks.len(),
                differ.join(", ")
            ))
        }
    }

    /// Runs `argv` in every namespace of `who`, as its uid; a probe that
    /// did not start is an error verdict.
    fn inside(&mut self, who: &Proc, argv: &[&str]) -> std::result::Result<Probe, Verdict> {
        let argv = probe::inside(who.pid, who.uid, who.gid, argv);
        let ran = self.run(&argv).map_err(|e| error(e.to_string()))?;
        started(probe::read_inside(&ran))
    }

    /// Runs `argv` in a transient service with the unit's user and, when
    /// `sandboxed`, its hardening as loaded; a probe that did not start is
    /// an error verdict.
    fn transient(
        &mut self,
        unit: &Live,
        sandboxed: bool,
        what: &str,
        argv: &[&str],
    ) -> std::result::Result<Probe, Verdict> {
        let properties = if sandboxed {
            self.properties(unit).map_err(error)?
        } else {
            Vec::new()
        };
        let argv = probe::transient(
            &format!("left4me-harden check: {what} probe"),
            &properties,
            unit.user.as_deref(),
            unit.group.as_deref(),
            argv,
        );
        let ran = self.run(&argv).map_err(|e| error(e.to_string()))?;
        started(probe::read_transient(&ran))
    }

    /// Reads a file in every namespace of `who`; reports its size, never
    /// its content.
    fn read_inside(&mut self, who: &Proc, path: &str) -> Verdict {
        let p = match self.inside(who, &["cat", "--", path]) {
            Ok(p) => p,
            Err(verdict) => return verdict,
        };
        match p.end {
            End::Code(0) => fail(format!("{path} is readable ({} bytes)", p.stdout.len())),
            End::Code(_) => pass(p.first_line()),
            _ => error(p.describe()),
        }
    }

    /// Reads `/proc/PID/<what>` of `target` in every namespace of `who`,
    /// as the test plan does (`environ`: the file; `mem`: 16 bytes at its
    /// first mapping). PID is the target's number in `who`'s PID namespace
    /// when it lives there (or, deeper, possibly below it); otherwise the
    /// number we see, which `who`'s `/proc` should not show. If it shows a
    /// process by that number anyway, what the probe read is compared with
    /// the target's own (read here, as root) before it counts as reaching
    /// the target: the number may be another process's.
    fn read_proc_inside(&mut self, who: &Proc, target: &Proc, what: &str, name: &str) -> Verdict {
        let shared = who.pid_ns == target.pid_ns;
        let depth = who.ns_pids.len().saturating_sub(1);
        let pid = if shared {
            target.ns_pids.last()
        } else if target.ns_pids.len() > who.ns_pids.len() {
            // Deeper than `who`: possibly in a namespace below its own.
            target.ns_pids.get(depth)
        } else {
            // Beside or above: not in `who`'s namespace; probe the number
            // we see, as the test plan does.
            target.ns_pids.first()
        }
        .copied()
        .unwrap_or(target.pid)
        .to_string();
        let outside = || {
            format!(
                "{name} {} is in {}, {} in {}",
                target.label(),
                target.pid_ns,
                who.label(),
                who.pid_ns
            )
        };
        let p = if what == "mem" {
            self.inside(who, &["perl", "-e", probe::PERL_MEM, &pid])
        } else {
            self.inside(who, &["cat", "--", &format!("/proc/{pid}/{what}")])
        };
        let p = match p {
            Ok(p) => p,
            Err(verdict) => return verdict,
        };
        match p.end {
            End::Code(0) if !shared && !self.is_target(target, what, &p) => pass(format!(
                "/proc/{pid} in {}'s PID namespace is another process ({})",
                who.label(),
                outside()
            )),
            End::Code(0) if what == "mem" => fail(p.first_line()),
            End::Code(0) => fail(format!(
                "/proc/{pid}/{what} of {name} {} is readable ({} bytes)",
                target.label(),
                p.stdout.len()
            )),
            End::Code(_) if shared => pass(p.first_line()),
            End::Code(_) => pass(format!("{} ({})", p.first_line(), outside())),
            _ => error(p.describe()),
        }
    }

    /// Whether a probe that read `/proc/N/<what>` read `target`'s.
    fn is_target(&mut self, target: &Proc, what: &str, p: &Probe) -> bool {
        let file = if what == "mem" { "maps" } else { what };
        let Ok(ran) = self.run(&["cat".to_owned(), format!("/proc/{}/{file}", target.pid)]) else {
            return true;
        };
        if !ran.success() {
            // Cannot tell: count it as reached.
            return true;
        }
        if what == "mem" {
            let start = ran.stdout.split('-').next().unwrap_or_default();
            p.stdout.contains(&format!(" at 0x{start}"))
        } else {
            ran.stdout == p.stdout
        }
    }

    /// `PTRACE_SEIZE` on `target` from a transient service: with the
    /// unit's hardening (`sandboxed`) or with its user only.
    fn ptrace(&mut self, unit: &Live, target: &Proc, sandboxed: bool) -> Verdict {
        let Some(nr) = probe::ptrace_number() else {
            return error(format!(
                "no ptrace system call number known for {}",
                std::env::consts::ARCH
            ));
        };
        let argv = [
            "perl",
            "-e",
            probe::PERL_PTRACE,
            &nr.to_string(),
            &target.pid.to_string(),
        ];
        match self.transient(unit, sandboxed, "ptrace", &argv) {
            Ok(p) => syscall_verdict(&p, "ptrace"),
            Err(verdict) => verdict,
        }
    }

    /// `process_vm_readv` of `target`'s first mapping from a transient
    /// service with the unit's user and hardening.
    fn vm_read(&mut self, unit: &Live, target: &Proc) -> Verdict {
        let Some(nr) = probe::process_vm_readv_number() else {
            return error(format!(
                "no process_vm_readv probe for {}",
                std::env::consts::ARCH
            ));
        };
        let maps = match self.run(&["cat".to_owned(), format!("/proc/{}/maps", target.pid)]) {
            Ok(r) if r.success() => r.stdout,
            Ok(r) => {
                return error(format!(
                    "cannot read the target's maps: {}",
                    one_line(&r.stderr)
                ));
            }
            Err(e) => return error(e.to_string()),
        };
        let Some(addr) = maps.split('-').next().filter(|a| !a.is_empty()) else {
            return error(format!("the target {} has no mapping", target.label()));
        };
        let argv = [
            "perl",
            "-e",
            probe::PERL_VM_READV,
            &nr.to_string(),
            &target.pid.to_string(),
            addr,
        ];
        match self.transient(unit, true, "process_vm_readv", &argv) {
            Ok(p) => syscall_verdict(&p, "process_vm_readv"),
            Err(verdict) => verdict,
        }
    }

    /// `sudo -n -l` from a transient service with the unit's user and
    /// hardening: PASS when that matches `expect`.
    fn sudo(&mut self, unit: &Live, expect: Expectation) -> Verdict {
        let p = match self.transient(unit, true, "sudo", &["sudo", "-n", "-l"]) {
            Ok(p) => p,
            Err(verdict) => return verdict,
        };
        let root = || {
            let rule = p
                .stdout
                .lines()
                .map(str::trim)
                .find(|l| l.contains("NOPASSWD") || l.starts_with('('))
                .unwrap_or("");
            format!("sudo ran as root and listed: {rule}")
        };
        match (&p.end, expect) {
            (End::Code(0), Expectation::Blocked) => fail(root()),
            (End::Code(0), Expectation::Works) => pass(root()),
            (End::Code(127), _) => error(format!("no sudo: {}", p.describe())),
            (End::Code(_), Expectation::Blocked) => pass(p.first_line()),
            (End::Code(_), Expectation::Works) => fail(p.first_line()),
            _ => error(p.describe()),
        }
    }
}

/// The probe, if it started inside; else an error verdict saying what
/// happened instead.
fn started(p: Probe) -> std::result::Result<Probe, Verdict> {
    if p.started {
        Ok(p)
    } else {
        Err(error(format!("the probe did not start: {}", p.describe())))
    }
}

/// A perl system call probe's verdict: killed by the filter or refused
/// (`NAME(PID): error`) is blocked, success is reached.
fn syscall_verdict(p: &Probe, name: &str) -> Verdict {
    match p.end {
        End::Signal(probe::SIGSYS) => pass(format!(
            "killed by SIGSYS: the system call filter denies {name}"
        )),
        End::Code(1) if p.stdout.starts_with(&format!("{name}(")) => pass(p.first_line()),
        End::Code(0) => fail(p.first_line()),
        _ => error(p.describe()),
    }
}

/// The effective value of every registry directive `effective` sets, as
/// `Key=value` lines in registry order, spelled as `systemd-run
/// --property=` takes them: what gives a transient service the same
/// settings. Resets are already applied, so no `Key=` reset is needed.
pub fn properties(effective: &Effective) -> Vec<String> {
    Directive::ALL
        .iter()
        .filter(|d| effective.is_set(**d))
        .flat_map(|d| effective.properties(*d))
        .collect()
}

#[cfg(test)]
mod tests;
