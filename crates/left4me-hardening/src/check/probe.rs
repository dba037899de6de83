//! The probes' command lines and how their results are read.
//!
//! Two ways into a service, after the test plan's corrections:
//!
//! - [`inside`]: the running process's namespaces, all of them (mount,
//!   PID, user, IPC, UTS, network, cgroup), as its own uid and gid — what
//!   it sees of files and of `/proc`. It does not carry the process's
//!   system call filter, no-new-privileges flag or capability bounding
//!   set, so it is used only for what the file system view decides.
//! - [`transient`]: a transient service (`systemd-run`) with the unit's
//!   user, group and hardening directives, as systemd loaded them — what
//!   a process started the way the unit starts gets, including its
//!   system call filter and no-new-privileges flag. Used for `ptrace`
//!   and `sudo`.
//!
//! Every probe runs under a shell that first prints [`MARKER`], so a probe
//! that never started (nsenter failed, the transient unit failed to set
//! up its namespace) is told apart from a command that ran and was
//! refused, and last prints how the command ended ([`STATUS`]), so the
//! result does not depend on `systemd-run` passing an exit status on.

/// The first line every probe prints once it runs inside.
pub(crate) const MARKER: &str = "left4me-harden check: probe started";

/// The last line every probe prints: this, then the shell's `$?` for the
/// command (128 + N when signal N killed it).
pub(crate) const STATUS: &str = "left4me-harden check: exit ";

/// How a probe ended, after `systemd-run`'s report is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// Exited with this status.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
    /// Did not end in time.
    TimedOut,
}

/// A probe's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Probe {
    /// Whether the probed command started inside (the marker was printed).
    pub(crate) started: bool,
    /// How the probed command ended.
    pub(crate) end: End,
    /// Its standard output, without the marker.
    pub(crate) stdout: String,
    /// Its standard error, without `systemd-run`'s own lines.
    pub(crate) stderr: String,
}

impl Probe {
    /// The first non-empty line of standard output (where the perl probes
    /// report), else of standard error.
    pub(crate) fn first_line(&self) -> String {
        self.stdout
            .lines()
            .chain(self.stderr.lines())
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_owned()
    }

    /// What happened, for evidence when the probe did not run as planned.
    pub(crate) fn describe(&self) -> String {
        let end = match &self.end {
            End::Code(c) => format!("exit status {c}"),
            End::Signal(s) => format!("killed by signal {s}"),
            End::TimedOut => "timed out".to_owned(),
        };
        let line = self.first_line();
        if line.is_empty() {
            end
        } else {
            format!("{end}: {line}")
        }
    }
}

/// `sh -c` that prints the marker, runs `argv` and prints how it ended
/// on a line of its own.
fn wrapped(argv: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = vec![
        "/bin/sh".into(),
        "-c".into(),
        format!("echo '{MARKER}'; \"$@\"; s=$?; printf '\\n{STATUS}%s\\n' \"$s\""),
        "sh".into(),
    ];
    out.extend(argv.iter().map(|a| (*a).to_owned()));
    out
}

/// `argv` run in every namespace of process `pid`, as `uid`:`gid`.
pub(crate) fn inside(pid: u32, uid: u32, gid: u32, argv: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = [
        "nsenter",
        "--target",
        &pid.to_string(),
        "--all",
        "--setuid",
        &uid.to_string(),
        "--setgid",
        &gid.to_string(),
        "--",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    out.extend(wrapped(argv));
    out
}

/// The longest a transient probe may run before systemd stops it.
const PROBE_RUNTIME_MAX: &str = "30s";

/// `argv` run as a transient service with `properties` (`Key=value`
/// assignment lines) as `user`:`group`, waited for and collected.
pub(crate) fn transient(
    description: &str,
    properties: &[String],
    user: Option<&str>,
    group: Option<&str>,
    argv: &[&str],
) -> Vec<String> {
    let mut out: Vec<String> = vec![
        "systemd-run".into(),
        "--wait".into(),
        "--pipe".into(),
        "--collect".into(),
        "--service-type=exec".into(),
        // The probe is a command line, not ExecStart= syntax: `$` stays.
        "--expand-environment=no".into(),
        format!("--description={description}"),
        format!(
            "--property={}={PROBE_RUNTIME_MAX}",
            dropin::directive::key::RUNTIME_MAX_SEC
        ),
    ];
    if let Some(u) = user {
        out.push(format!("--uid={u}"));
    }
    if let Some(g) = group {
        out.push(format!("--gid={g}"));
    }
    out.extend(properties.iter().map(|p| format!("--property={p}")));
    out.push("--".into());
    out.extend(wrapped(argv));
    out
}

/// Reads an [`inside`] probe's result.
pub(crate) fn read_inside(ran: &super::Ran) -> Probe {
    let (started, stdout, end) = strip_frame(&ran.stdout);
    Probe {
        started,
        end: end.unwrap_or_else(|| end_of(ran.exit)),
        stdout,
        stderr: ran.stderr.clone(),
    }
}

fn end_of(exit: super::Exit) -> End {
    match exit {
        super::Exit::Code(c) => End::Code(c),
        super::Exit::Signal(s) => End::Signal(s),
        super::Exit::TimedOut => End::TimedOut,
    }
}

/// The command's own output between the marker and the status line, and
/// the end the status line reports.
fn strip_frame(stdout: &str) -> (bool, String, Option<End>) {
    let (started, rest) = match stdout.split_once('\n') {
        Some((first, rest)) if first == MARKER => (true, rest),
        _ if stdout.trim_end() == MARKER => (true, ""),
        _ => (false, stdout),
    };
    let framed = rest
        .strip_suffix('\n')
        .and_then(|r| r.rsplit_once(&format!("\n{STATUS}")))
        .and_then(|(output, status)| Some((output, status.parse::<i32>().ok()?)));
    match framed {
        Some((output, status)) => {
            let end = if status > 128 {
                End::Signal(status - 128)
            } else {
                End::Code(status)
            };
            (started, output.to_owned(), Some(end))
        }
        None => (started, rest.to_owned(), None),
    }
}

/// `systemd-run`'s own lines on standard error (without `--quiet`).
const SYSTEMD_RUN_LINES: &[&str] = &[
    "Running as unit:",
    "Finished with result:",
    "Main processes terminated with:",
    "Service runtime:",
    "CPU time consumed:",
    "Memory peak:",
    "IP traffic",
    "IO bytes",
];

/// Reads a [`transient`] probe's result: how the command ended comes from
/// the probe's status line, else from `systemd-run --wait`'s report
/// ("Main processes terminated with: code=killed, status=31/SYS"); its
/// output is the rest.
pub(crate) fn read_transient(ran: &super::Ran) -> Probe {
    let (started, stdout, framed) = strip_frame(&ran.stdout);
    let mut reported = None;
    let mut stderr = String::new();
    for line in ran.stderr.lines() {
        if let Some(rest) = line.strip_prefix("Main processes terminated with: ") {
            reported = parse_termination(rest);
        }
        if SYSTEMD_RUN_LINES.iter().any(|p| line.starts_with(p)) {
            continue;
        }
        stderr.push_str(line);
        stderr.push('\n');
    }
    Probe {
        started,
        end: match (framed, reported, ran.exit) {
            (Some(e), _, _) => e,
            (None, _, super::Exit::TimedOut) => End::TimedOut,
            (None, Some(e), _) => e,
            (None, None, exit) => end_of(exit),
        },
        stdout,
        stderr,
    }
}

/// `code=exited, status=1/FAILURE` or `code=killed, status=31/SYS`.
fn parse_termination(text: &str) -> Option<End> {
    let (code, status) = text.split_once(", status=")?;
    let number: i32 = status.split('/').next()?.trim().parse().ok()?;
    match code.trim().strip_prefix("code=")? {
        "exited" => Some(End::Code(number)),
        "killed" | "dumped" => Some(End::Signal(number)),
        _ => None,
    }
}

/// SIGSYS, what a system call filter's kill action delivers.
pub(crate) const SIGSYS: i32 = 31;

/// The `ptrace` system call number on this build's architecture, for the
/// perl probes (`syscall()` takes a number).
pub(crate) fn ptrace_number() -> Option<u32> {
    match std::env::consts::ARCH {
        "x86_64" => Some(101),
        "x86" | "arm" => Some(26),
        "aarch64" | "riscv64" | "loongarch64" => Some(117),
        _ => None,
    }
}

/// The `process_vm_readv` system call number on this build's (64-bit)
/// architecture.
pub(crate) fn process_vm_readv_number() -> Option<u32> {
    match std::env::consts::ARCH {
        "x86_64" => Some(310),
        "aarch64" | "riscv64" | "loongarch64" => Some(270),
        _ => None,
    }
}

/// Reads 16 bytes of another process's memory with `process_vm_readv`
/// (the access check is ptrace's, but it is a system call of `@ipc`, not
/// `@debug`). Arguments: the system call number, the PID, the address
/// (hex). Prints what it read (never the bytes) and exits 0, or the error
/// and 1. 64-bit only (iovecs packed as two 64-bit words).
pub(crate) const PERL_VM_READV: &str = r#"my ($nr, $pid, $addr) = @ARGV;
my $buf = "\0" x 16;
my $local = pack("QQ", unpack("Q", pack("p", $buf)), 16);
my $remote = pack("QQ", hex($addr), 16);
my $r = syscall(int($nr), int($pid), $local, 1, $remote, 1, 0);
if ($r == -1) { print "process_vm_readv($pid): $!\n"; exit 1 }
print "read $r bytes of the memory of $pid at 0x$addr with process_vm_readv\n";"#;

/// Attaches to a process with `PTRACE_SEIZE` (which does not stop it; the
/// tracee is released when perl exits). Arguments: the system call
/// number, the PID. Prints "attached" and exits 0, or the error and 1.
pub(crate) const PERL_PTRACE: &str = r#"my ($nr, $pid) = map { int } @ARGV;
my $r = syscall($nr, 0x4206, $pid, 0, 0);
if ($r == -1) { print "ptrace($pid): $!\n"; exit 1 }
print "attached to $pid\n";"#;

/// Reads 16 bytes of another process's memory at the start of its first
/// mapping through `/proc/PID/mem`. Argument: the PID. Prints what it read
/// (never the bytes) and exits 0, or the error and 1.
pub(crate) const PERL_MEM: &str = r#"my $pid = int($ARGV[0]);
open(my $maps, '<', "/proc/$pid/maps") or do { print "/proc/$pid/maps: $!\n"; exit 1 };
my $first = <$maps>;
my ($start) = ($first // '') =~ /^([0-9a-f]+)-/ or do { print "/proc/$pid/maps: no mapping\n"; exit 1 };
open(my $mem, '<', "/proc/$pid/mem") or do { print "/proc/$pid/mem: $!\n"; exit 1 };
sysseek($mem, hex($start), 0) or do { print "/proc/$pid/mem: seek: $!\n"; exit 1 };
my $n = sysread($mem, my $buf, 16);
defined $n or do { print "/proc/$pid/mem: $!\n"; exit 1 };
print "read $n bytes of /proc/$pid/mem at 0x$start\n";"#;

#[cfg(test)]
mod tests {
    use super::super::{Exit, Ran};
    use super::*;

    #[test]
    fn the_shell_reports_how_the_command_ended() {
        let ran = Ran {
            exit: Exit::Code(0),
            stdout: format!("{MARKER}\nSECRET=1\0\n{STATUS}0\n"),
            stderr: String::new(),
        };
        let p = read_inside(&ran);
        assert_eq!(
            (p.started, &p.end, p.stdout.as_str()),
            (true, &End::Code(0), "SECRET=1\0")
        );
        // systemd-run said success, the shell saw perl killed by SIGSYS.
        let ran = Ran {
            exit: Exit::Code(0),
            stdout: format!("{MARKER}\n\n{STATUS}159\n"),
            stderr: "Main processes terminated with: code=exited, status=0/SUCCESS\n".to_owned(),
        };
        assert_eq!(read_transient(&ran).end, End::Signal(SIGSYS));
    }

    #[test]
    fn systemd_run_reports_are_read() {
        let ran = Ran {
            exit: Exit::Code(255),
            stdout: format!("{MARKER}\n"),
            stderr: "Running as unit: run-p1.service\nFinished with result: signal\n\
                     Main processes terminated with: code=killed, status=31/SYS\n\
                     Service runtime: 58ms\n"
                .to_owned(),
        };
        let p = read_transient(&ran);
        assert!(p.started);
        assert_eq!(p.end, End::Signal(SIGSYS));
        assert_eq!(p.stderr, "");
        let ran = Ran {
            exit: Exit::Code(1),
            stdout: String::new(),
            stderr: "Running as unit: run-p2.service\nleft4me-server@1.service: Failed to set up mount namespacing\n\
                     Main processes terminated with: code=exited, status=226/NAMESPACE\n"
                .to_owned(),
        };
        let p = read_transient(&ran);
        assert!(!p.started);
        assert_eq!(p.end, End::Code(226));
        assert_eq!(
            p.describe(),
            "exit status 226: left4me-server@1.service: Failed to set up mount namespacing"
        );
    }

    #[test]
    fn the_marker_tells_a_started_probe() {
        let ran = Ran {
            exit: Exit::Code(1),
            stdout: String::new(),
            stderr: "nsenter: cannot open /proc/9/ns/user: No such file or directory\n".to_owned(),
        };
        assert!(!read_inside(&ran).started);
        let ran = Ran {
            exit: Exit::Code(0),
            stdout: format!("{MARKER}\nleft4me\n"),
            stderr: String::new(),
        };
        let p = read_inside(&ran);
        assert!(p.started);
        assert_eq!(p.stdout, "left4me\n");
    }

    #[test]
    fn command_lines() {
        let argv = inside(42, 980, 981, &["cat", "/x"]);
        assert_eq!(
            argv[..9],
            [
                "nsenter", "--target", "42", "--all", "--setuid", "980", "--setgid", "981", "--"
            ]
        );
        assert_eq!(argv[argv.len() - 2..], ["cat", "/x"]);
        let argv = transient(
            "probe",
            &["NoNewPrivileges=true".to_owned()],
            Some("left4me"),
            None,
            &["true"],
        );
        assert!(argv.contains(&"--uid=left4me".to_owned()));
        assert!(!argv.iter().any(|a| a.starts_with("--gid")));
        assert!(argv.contains(&"--property=NoNewPrivileges=true".to_owned()));
    }
}
