//! From a decoded record and the unit's settings to the cause (directive,
//! lines) and the fix (checked against the model).

use dropin::audit::{self, SeccompAction};
use dropin::syscall::groups_of;
use dropin::{ArchList, Directive, Effective, FilterStep, SyscallFilter};
use toml::Spanned;

use super::read::{Action, Record};
use super::{Check, Cited, Cx, Finding, Fix, Group, Known, Settings, SettingsSource};
use crate::profiles::ProfileKind;
use crate::traits::Trait;

const TEST3: Known = Known {
    test: "Test 3",
    text: "srcds_linux is an i386 binary: with SystemCallArchitectures=native alone every \
           32-bit system call is killed with SIGSYS (the first is brk, 45) and srcds_run \
           restarts the server every 10 seconds; the proven profile has native x86",
};

const BREAKPAD: Known = Known {
    test: "Test 7",
    text: "one kill of i386 ptrace (26) from srcds_linux at startup: Breakpad's crash reporter \
           attaching to its own process for a minidump; correctly blocked, srcds carries on",
};

const EXECUTOR_CAPSET: Known = Known {
    test: "Test 3",
    text: "the only log record of the discovery run: systemd-executor sets the unit's \
           capabilities (capset) after installing the SystemCallLog= filter and before it \
           executes the unit's program; not the workload",
};

/// The architectures a unit's `SystemCallArchitectures=` lets through:
/// `None` when it sets none (no architecture filter).
fn archs(e: &Effective) -> Option<Vec<String>> {
    e.get::<ArchList>(Directive::SystemCallArchitectures)
        .filter(|s| !s.is_empty())
        .map(|s| s.iter().cloned().collect())
}

/// Whether the unit lets `architecture` through (`native` is the record's
/// machine's own).
fn arch_allowed(e: &Effective, architecture: &str, native: &str) -> bool {
    archs(e).is_none_or(|set| {
        set.iter()
            .any(|a| a == architecture || (a == "native" && architecture == native))
    })
}

/// Whether the unit's `SystemCallFilter=` lets `call` through.
fn filter_allows(e: &Effective, call: &str) -> bool {
    match e.get::<SyscallFilter>(Directive::SystemCallFilter) {
        Some(Some(f)) => f.allows(call),
        _ => true,
    }
}

fn assignment(directive: Directive, value: &str) -> String {
    format!("{}={value}", directive.name())
}

/// The `SystemCallArchitectures=` lines that count, each cited.
fn arch_lines(e: &Effective) -> Vec<Cited> {
    let d = Directive::SystemCallArchitectures;
    let origins = e.origins(d);
    let values = e.origin_values(d);
    let mut out = Vec::new();
    let mut origins = origins.iter();
    if e.was_reset(d)
        && let Some(o) = origins.next()
    {
        out.push(Cited {
            at: o.clone(),
            assignment: assignment(d, ""),
            role: "empties the list: lines before it do not count".to_owned(),
        });
    }
    for (v, o) in values.iter().zip(origins) {
        out.push(Cited {
            at: o.clone(),
            assignment: assignment(d, v),
            role: "lists the architectures allowed".to_owned(),
        });
    }
    out
}

/// The filter lines that decide whether `call` passes, with what each
/// does; the step whose line a fix would have to come after.
fn filter_lines(trace: &[FilterStep], call: &str, log: bool) -> (Vec<Cited>, Option<usize>) {
    let (lines, decider) = filter_lines_at(trace, call, log);
    (lines.into_iter().map(|(_, c)| c).collect(), decider)
}

/// [`filter_lines`] with the index of each cited step.
fn filter_lines_at(
    trace: &[FilterStep],
    call: &str,
    log: bool,
) -> (Vec<(usize, Cited)>, Option<usize>) {
    let d = if log {
        Directive::SystemCallLog
    } else {
        Directive::SystemCallFilter
    };
    let (yes, no) = if log {
        ("logs", "does not log")
    } else {
        ("allows", "denies")
    };
    let mut out = Vec::new();
    let mut decider = None;
    let mut before: Option<bool> = None;
    for (i, s) in trace.iter().enumerate() {
        let named = if s.named_by.is_empty() {
            String::new()
        } else {
            format!(" ({})", s.named_by.join(" "))
        };
        let role = if s.value.is_empty() {
            Some("empties the filter: lines before it do not count".to_owned())
        } else if let Some(allow) = s.opens {
            let list = if allow {
                if log {
                    "opens a list of calls to log"
                } else {
                    "opens an allow list (starting from @default)"
                }
            } else if log {
                "opens a list of calls not to log"
            } else {
                "opens a deny list"
            };
            let verdict = if s.passes == Some(true) { yes } else { no };
            let how = match (s.named_by.is_empty(), allow) {
                (true, true) => format!("; {call} is not in it, so it {verdict} {call}"),
                (true, false) => format!("; {call} is not in it, so it {verdict} {call}"),
                (false, _) => format!(" that names {call}{named}, so it {verdict} it"),
            };
            Some(format!("{list}{how}"))
        } else if s.passes != before {
            Some(format!(
                "{} {call}{named}",
                if s.passes == Some(true) { yes } else { no }
            ))
        } else if !s.named_by.is_empty() {
            Some(format!("names {call}{named} (no change: already so)"))
        } else {
            None
        };
        if s.passes != before || s.opens.is_some() {
            decider = Some(i);
        }
        before = s.passes;
        if let Some(role) = role {
            out.push((
                i,
                Cited {
                    at: s.origin.clone(),
                    assignment: assignment(d, &s.value),
                    role,
                },
            ));
        }
    }
    // A later line naming the call without changing it decides too: a fix
    // has to come after it.
    if let Some(last) = trace.iter().rposition(|s| !s.named_by.is_empty())
        && decider.is_some_and(|d| last > d)
    {
        decider = Some(last);
    }
    (out, decider)
}

/// The TOML entry.
fn snippet(profile: ProfileKind, directive: Directive, value: &str, reason: &str) -> String {
    let q = |s: &str| toml_string(s);
    format!(
        "[[{}.add]]\ndirective = {}\nvalue = {}\nreason = {}\n",
        profile.name(),
        q(directive.name()),
        q(value),
        q(reason)
    )
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A host configuration entry for the unit's profile, checked: the profile
/// generated with it appended to the host configuration, the unit loaded
/// again (over the installed tree, or alone), and `passes` asked. When the
/// profile as it stands already passes, the installed files are stale;
/// when the entry does not help, a later line of another file decides.
/// A fix to suggest: the host configuration entry, and the edit for when
/// another file decides.
struct Want<'a> {
    directive: Directive,
    value: &'a str,
    reason: &'a str,
    edit: &'a str,
}

fn host_config_fix(
    cx: &Cx<'_>,
    settings: &Settings,
    want: &Want<'_>,
    passes: &dyn Fn(&Effective) -> bool,
    decider: Option<&Cited>,
) -> Fix {
    let Want {
        directive,
        value,
        reason,
        edit,
    } = *want;
    let Some(kind) = settings.profile else {
        return match decider {
            Some(c) => Fix::Edit {
                at: c.at.clone(),
                assignment: c.assignment.clone(),
                suggestion: edit.to_owned(),
            },
            None => Fix::Unknown {
                why: format!("{} is not a unit of the left4me profiles", settings.unit),
            },
        };
    };
    if settings.source == SettingsSource::Installed
        && cx
            .load_with(&cx.host, kind, &settings.unit)
            .is_ok_and(|e| passes(&e))
    {
        return Fix::Write {
            why: format!(
                "the {kind} profile as configured already lets it through: the installed files \
                 are not what it generates; run left4me-harden write (with the instances you run)"
            ),
        };
    }
    if let Some(fix) = remove_addition(cx, settings, kind, directive, passes) {
        return fix;
    }
    let entry = snippet(kind, directive, value, reason);
    let (file, text) = &cx.config;
    let combined = if text.is_empty() {
        entry.clone()
    } else {
        format!("{}\n\n{entry}", text.trim_end())
    };
    let check = match crate::config::parse(file, &combined).and_then(|c| c.apply()) {
        Err(e) => Check::NotVerified(format!("the host configuration with it is refused: {e}")),
        Ok(host) => match cx.load_with(&host, kind, &settings.unit) {
            Err(e) => Check::NotVerified(format!("the profile with it cannot be generated: {e}")),
            Ok(e) if passes(&e) => Check::Verified(format!(
                "the {kind} profile generated with it, loaded as systemd loads {}{}, lets it through",
                settings.unit,
                if cx.installed.is_some() {
                    " over the installed files"
                } else {
                    ""
                }
            )),
            Ok(e) => {
                // Another file's line decides: point at it.
                let after = decider_after(&e, directive);
                return match after.or_else(|| decider.cloned()) {
                    Some(c) => Fix::Edit {
                        at: c.at,
                        assignment: c.assignment,
                        suggestion: format!(
                            "{edit} (a host configuration entry is written to the generated drop-in, \
                             which systemd reads before this file)"
                        ),
                    },
                    None => Fix::Unknown {
                        why: "the profile generated with the entry still denies it".to_owned(),
                    },
                };
            }
        },
    };
    Fix::HostConfig {
        profile: kind,
        directive: directive.name().to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
        snippet: entry,
        check,
    }
}

/// When an entry the host configuration adds for `directive` is what
/// denies the call, the fix is to take it out, not to add another: each
/// such entry of the profile's table is tried on its own (with the
/// `remove` of the same directive, which an add completes into a
/// replacement of the proven line), the profile generated without it,
/// the unit loaded again and `passes` asked. The first that lets the call
/// through is the fix.
fn remove_addition(
    cx: &Cx<'_>,
    settings: &Settings,
    kind: ProfileKind,
    directive: Directive,
    passes: &dyn Fn(&Effective) -> bool,
) -> Option<Fix> {
    let (file, text) = &cx.config;
    if text.is_empty() {
        return None;
    }
    let config = crate::config::parse(file, text).ok()?;
    let names = |d: &Spanned<String>| d.get_ref().parse::<Directive>().ok() == Some(directive);
    let line = |d: &Spanned<String>| {
        format!(
            "{file}:{}",
            crate::config::line_column(text, d.span().start).0
        )
    };
    let profile = match kind {
        ProfileKind::Server => &config.server,
        ProfileKind::Web => &config.web,
        ProfileKind::Sysctl => return None,
    };
    let removes: Vec<usize> = (0..profile.remove.len())
        .filter(|&i| names(&profile.remove[i].directive))
        .collect();
    for (i, add) in profile.add.iter().enumerate() {
        if !names(&add.directive) {
            continue;
        }
        let mut without = config.clone();
        let t = match kind {
            ProfileKind::Server => &mut without.server,
            ProfileKind::Web => &mut without.web,
            ProfileKind::Sysctl => return None,
        };
        t.add.remove(i);
        // The remove that this add completes into a replacement goes too,
        // unless another add of the directive stays to replace it.
        let replaced = !t.add.iter().any(|a| names(&a.directive));
        if replaced {
            t.remove.retain(|r| !names(&r.directive));
        }
        let Ok(host) = without.apply() else { continue };
        if !cx
            .load_with(&host, kind, &settings.unit)
            .is_ok_and(|e| passes(&e))
        {
            continue;
        }
        let mut entries = Vec::new();
        let mut toml = String::new();
        if replaced {
            for &r in &removes {
                let r = &profile.remove[r];
                entries.push(line(&r.directive));
                toml.push_str(&format!(
                    "[[{}.remove]]\ndirective = {}\nreason = {}\n",
                    kind.name(),
                    toml_string(r.directive.get_ref()),
                    toml_string(r.reason.get_ref())
                ));
            }
        }
        entries.push(line(&add.directive));
        if !toml.is_empty() {
            toml.push('\n');
        }
        toml.push_str(&snippet(
            kind,
            directive,
            add.value.get_ref(),
            add.reason.get_ref(),
        ));
        return Some(Fix::Remove {
            profile: kind,
            directive: directive.name().to_owned(),
            value: add.value.get_ref().clone(),
            entries,
            snippet: toml,
            check: Check::Verified(format!(
                "the {kind} profile generated without {}, loaded as systemd loads {}{}, lets it \
                 through",
                if replaced && !removes.is_empty() {
                    "them (the proven line comes back)"
                } else {
                    "it"
                },
                settings.unit,
                if cx.installed.is_some() {
                    " over the installed files"
                } else {
                    ""
                }
            )),
        });
    }
    None
}

/// The deciding line of `directive` in settings loaded with a fix: the
/// reset (for the architecture list) or the last line of the storage.
fn decider_after(e: &Effective, directive: Directive) -> Option<Cited> {
    let origins = e.origins(directive);
    let values = e.origin_values(directive);
    if directive == Directive::SystemCallArchitectures && e.was_reset(directive) {
        return origins.first().map(|o| Cited {
            at: o.clone(),
            assignment: assignment(directive, ""),
            role: String::new(),
        });
    }
    Some(Cited {
        at: origins.last()?.clone(),
        assignment: assignment(directive, values.last()?),
        role: String::new(),
    })
}

fn is_srcds(group: &Group) -> bool {
    group.comms.iter().any(|c| c == "srcds_linux")
        || group.exes.iter().any(|e| e.ends_with("/srcds_linux"))
}

fn socketcall_note(call: &str, architecture: &str) -> Option<String> {
    match (architecture, call) {
        ("x86", "socketcall") => Some(
            "i386 socketcall (102) multiplexes every socket operation (socket, connect, \
             sendto, …); the operation is its first argument, which a SECCOMP record does not \
             carry. glibc of older or bundled i386 runtimes calls it instead of the direct \
             calls 359-373. systemd counts socketcall in @network-io (and so in \
             @system-service). RestrictAddressFamilies= is not enforced for i386 processes at \
             all (systemd cannot filter socketcall's arguments; measured: an i386 AF_INET \
             socket under RestrictAddressFamilies=AF_UNIX succeeds)."
                .to_owned(),
        ),
        ("x86", "ipc") => Some(
            "i386 ipc (117) multiplexes every System V IPC operation (semop, shmctl, msgsnd, \
             …); the operation is its first argument, which a SECCOMP record does not carry. \
             systemd counts ipc in @ipc."
                .to_owned(),
        ),
        _ => None,
    }
}

/// The cause and the fix of one group.
pub(super) fn attribute(
    rec: &Record,
    group: &Group,
    settings: Option<&Settings>,
    cx: &Cx<'_>,
) -> Finding {
    let call = group.call.clone();
    let named = rec.call.is_some();
    let mut notes = Vec::new();
    if let Some(n) = socketcall_note(&call, rec.architecture) {
        notes.push(n);
    }
    if group.unit.is_none() {
        notes.push(
            "no unit for these records: give one (--unit), or include systemd's \
             \"Main process exited, code=killed, status=31/SYS\" line in the input"
                .to_owned(),
        );
    }
    let groups: Vec<String> = if named {
        groups_of(&call)
            .into_iter()
            .filter(|g| *g != "@known")
            .take(4)
            .map(str::to_owned)
            .collect()
    } else {
        Vec::new()
    };
    let effective = settings.and_then(|s| s.effective.as_ref());
    if let Some(s) = settings
        && let Some(why) = &s.missing
    {
        notes.push(format!("settings not judged: {why}"));
    }
    let mut finding = Finding {
        directive: None,
        cause: String::new(),
        lines: Vec::new(),
        groups,
        known: None,
        notes,
        fix: Fix::Unknown {
            why: "no settings to judge against".to_owned(),
        },
    };

    let native = rec.native_architecture();
    let arch_kill = match rec.action {
        Action::Exact(SeccompAction::KillThread) => rec.non_native(),
        // ausearch -i cannot tell: a non-native call is the architecture
        // filter's unless the unit lets the ABI through and its
        // SystemCallFilter= denies the call.
        Action::Kill => {
            rec.non_native()
                && effective.is_none_or(|e| {
                    !arch_allowed(e, rec.architecture, native) || filter_allows(e, &call)
                })
        }
        _ => false,
    };
    if arch_kill {
        architectures(&mut finding, rec, group, settings, effective, cx);
        return finding;
    }
    match rec.action {
        Action::Exact(SeccompAction::KillProcess) | Action::Kill => {
            filter(&mut finding, rec, group, settings, effective, cx);
        }
        Action::Exact(SeccompAction::KillThread) => {
            finding.cause = format!(
                "{call} on the machine's own ABI killed the thread (code 0x0): not systemd's \
                 SystemCallFilter=, which kills the whole process (code 0x80000000) on kernels \
                 since 4.14; a filter the program or its launcher installed itself"
            );
            if let Some(e) = effective
                && !filter_allows(e, &call)
            {
                finding.notes.push(format!(
                    "the unit's SystemCallFilter= denies {call} too; on a kernel before 4.14 \
                     systemd's filter kills the thread"
                ));
            }
            finding.fix = Fix::Unknown {
                why: "not one of the unit's directives".to_owned(),
            };
        }
        Action::Exact(SeccompAction::Log) => log(&mut finding, rec, group, effective),
        Action::Exact(SeccompAction::Errno) => {
            finding.cause = format!(
                "{call} failed with an error number: only logged when the manager runs with \
                 SYSTEMD_LOG_SECCOMP=1"
            );
            match effective {
                Some(e) if !filter_allows(e, &call) => {
                    finding.directive = Some(Directive::SystemCallFilter.name().to_owned());
                    finding.cause.push_str(&format!(
                        "; the unit's SystemCallFilter= denies {call} with an error number \
                         (SystemCallErrorNumber= or {call}:ERRNO)"
                    ));
                    let trace = e.syscall_trace(Directive::SystemCallFilter, &call);
                    finding.lines = filter_lines(&trace, &call, false).0;
                }
                _ => finding.cause.push_str(
                    "; one of systemd's protections that return an error instead of killing \
                     (RestrictNamespaces=, RestrictAddressFamilies=, MemoryDenyWriteExecute=, \
                     RestrictSUIDSGID=, LockPersonality=, RestrictRealtime=, ProtectClock=, …) \
                     refused it",
                ),
            }
            finding.fix = Fix::Unknown {
                why: "an error return: the program decides what happens".to_owned(),
            };
        }
        Action::Exact(a) => {
            finding.cause = format!(
                "action {a}: systemd's directives install only kill, error and log actions; \
                 this filter is someone else's (the program's own, or a tracer or supervisor)"
            );
            finding.fix = Fix::Unknown {
                why: "not one of the unit's directives".to_owned(),
            };
        }
    }
    finding
}

/// A non-native ABI killed on its first call: `SystemCallArchitectures=`.
fn architectures(
    finding: &mut Finding,
    rec: &Record,
    group: &Group,
    settings: Option<&Settings>,
    effective: Option<&Effective>,
    cx: &Cx<'_>,
) {
    let arch = rec.architecture;
    let native = rec.native_architecture();
    finding.directive = Some(Directive::SystemCallArchitectures.name().to_owned());
    let i386_workload = settings
        .and_then(|s| s.profile)
        .is_some_and(|k| cx.host.profile(k).traits.contains(&Trait::I386Binary))
        || is_srcds(group);
    if arch == "x86" && i386_workload {
        finding.known = Some(TEST3);
    }
    let head = format!(
        "{} {arch} call killed with its thread (the architecture filter's action): systemd \
         kills the first system call of an ABI SystemCallArchitectures= does not list, so such \
         a program dies before it runs",
        article(arch)
    );
    let Some(e) = effective else {
        finding.cause = head;
        return;
    };
    let Some(set) = archs(e) else {
        finding.cause = format!(
            "{head}; but the unit sets no SystemCallArchitectures=: the manager's own \
             SystemCallArchitectures= (system.conf) may"
        );
        if let Some(fs) = cx.installed {
            finding.notes.extend(global_archs(fs));
        }
        finding.fix = Fix::Unknown {
            why: "not the unit's setting".to_owned(),
        };
        return;
    };
    finding.lines = arch_lines(e);
    if arch_allowed(e, arch, native) {
        finding.cause = format!(
            "{head}; but these settings allow {arch} (SystemCallArchitectures={}): the record \
             came from other settings (the unit as it ran then, or another filter)",
            set.join(" ")
        );
        finding.fix = Fix::Unknown {
            why: format!("the settings judged already allow {arch}"),
        };
        return;
    }
    finding.cause = format!(
        "{head}. The unit allows {} only (\"native\" is {native}), not {arch}",
        set.join(" ")
    );
    let Some(s) = settings else { return };
    let reason = if finding.known.is_some() {
        "Test 3: srcds_linux is i386; native alone kills every 32-bit syscall with SIGSYS"
            .to_owned()
    } else {
        format!("FILL IN: why this host runs {arch} programs in {}", s.unit)
    };
    let decider = finding.lines.first().cloned();
    let mut wanted = set.clone();
    wanted.push(arch.to_owned());
    let edit = format!(
        "make it SystemCallArchitectures={} (or add a later SystemCallArchitectures={arch})",
        wanted.join(" ")
    );
    let passes = |e: &Effective| arch_allowed(e, arch, native);
    let want = Want {
        directive: Directive::SystemCallArchitectures,
        value: arch,
        reason: &reason,
        edit: &edit,
    };
    finding.fix = host_config_fix(cx, s, &want, &passes, decider.as_ref());
}

/// "a" or "an" before an architecture name as it is read aloud.
fn article(arch: &str) -> &'static str {
    if arch.starts_with(['x', 'a', 'i']) {
        "an"
    } else {
        "a"
    }
}

/// Uncommented `SystemCallArchitectures=` lines of the manager's
/// configuration, as notes.
fn global_archs(fs: &dyn dropin::Fs) -> Vec<String> {
    let mut files = vec!["/etc/systemd/system.conf".to_owned()];
    let dirs: Vec<String> = ["/etc", "/run", "/usr/local/lib", "/usr/lib"]
        .iter()
        .map(|d| format!("{d}/systemd/system.conf.d"))
        .collect();
    files.extend(dropin::load::conf_files(fs, &dirs, ".conf").files);
    let mut out = Vec::new();
    for f in files {
        let Ok(bytes) = fs.read(&f) else { continue };
        for (i, l) in String::from_utf8_lossy(&bytes).lines().enumerate() {
            if l.trim_start()
                .strip_prefix(Directive::SystemCallArchitectures.name())
                .is_some_and(|rest| rest.starts_with('='))
            {
                out.push(format!(
                    "the manager's configuration sets it: {}:{}: {}",
                    fs.display(&f),
                    i + 1,
                    l.trim()
                ));
            }
        }
    }
    out
}

/// A call killed with its process: `SystemCallFilter=`.
fn filter(
    finding: &mut Finding,
    rec: &Record,
    group: &Group,
    settings: Option<&Settings>,
    effective: Option<&Effective>,
    cx: &Cx<'_>,
) {
    let call = &group.call;
    finding.directive = Some(Directive::SystemCallFilter.name().to_owned());
    let how = if rec.action == Action::Kill {
        "a kill (ausearch -i does not tell a process kill from a thread kill)"
    } else {
        "killed with its process (code 0x80000000)"
    };
    let head = format!("{call} was {how}: SystemCallFilter= denies it");
    // Under the server profile ptrace is denied on purpose; from srcds at
    // startup it is Breakpad (Test 7).
    let server = settings.and_then(|s| s.profile) == Some(ProfileKind::Server);
    let expected = |finding: &mut Finding| {
        if call == "ptrace" && server {
            if is_srcds(group) {
                finding.known = Some(BREAKPAD);
            } else {
                finding.notes.push(
                    "the server profile denies ptrace on purpose (~@debug; Test 8, D2.a: srcds \
                     must not attach to gunicorn or another instance)"
                        .to_owned(),
                );
            }
        }
    };
    let Some(e) = effective else {
        expected(finding);
        finding.cause = head;
        return;
    };
    if rec.call.is_none() {
        finding.cause = format!(
            "{head}; systemd 257's table has no name for number {} on {}, and systemd's filters \
             only kill calls of their @known list: this is not systemd's filter",
            rec.number.map_or_else(|| "?".to_owned(), |n| n.to_string()),
            rec.architecture
        );
        return;
    }
    if matches!(
        e.get::<SyscallFilter>(Directive::SystemCallFilter),
        None | Some(None)
    ) {
        finding.cause = format!(
            "{call} was {how}, but the unit sets no SystemCallFilter=: another filter (the \
             program's own, or its container's) denied it"
        );
        finding.fix = Fix::Unknown {
            why: "not the unit's setting".to_owned(),
        };
        return;
    }
    if let Some(ops) = audit::multiplexed(rec.architecture, call) {
        expected(finding);
        multiplexer(finding, ops, call, how, settings, e, cx);
        return;
    }
    let trace = e.syscall_trace(Directive::SystemCallFilter, call);
    let (lines, decider) = filter_lines(&trace, call, false);
    finding.lines = lines;
    if filter_allows(e, call) {
        finding.cause = format!(
            "{call} was {how}; but these settings allow it: the record came from other \
             settings (the unit as it ran then, or another filter)"
        );
        finding.fix = Fix::Unknown {
            why: format!("the settings judged already allow {call}"),
        };
        return;
    }
    expected(finding);
    let allow_list = trace.iter().rev().find_map(|s| s.opens) == Some(true);
    finding.cause = if allow_list {
        let removed = trace.iter().any(|s| s.passes == Some(true));
        if removed {
            format!("{head}: the allow list had it and a later line took it out")
        } else {
            format!(
                "{head}: the allow list does not include it{}",
                if finding.groups.is_empty() {
                    String::new()
                } else {
                    format!(" (it is in {})", finding.groups.join(", "))
                }
            )
        }
    } else {
        format!("{head}: a deny list names it")
    };
    if finding.known.is_some() {
        finding.fix = Fix::None {
            why: "expected: the denial is the point (Test 8, D2.a); srcds carries on".to_owned(),
        };
        return;
    }
    let Some(s) = settings else { return };
    let decider = decider.and_then(|i| trace.get(i)).map(|st| Cited {
        at: st.origin.clone(),
        assignment: assignment(Directive::SystemCallFilter, &st.value),
        role: String::new(),
    });
    let edit = format!("add SystemCallFilter={call} after it (or take {call} out of it)");
    let reason = format!("FILL IN: why {} needs {call}", s.unit);
    let call_owned = call.clone();
    let passes = move |e: &Effective| filter_allows(e, &call_owned);
    let want = Want {
        directive: Directive::SystemCallFilter,
        value: call,
        reason: &reason,
        edit: &edit,
    };
    finding.fix = host_config_fix(cx, s, &want, &passes, decider.as_ref());
}

/// An i386 `socketcall` or `ipc` killed: the filter denies at least one
/// operation through it — the multiplexer itself or an operation's own call
/// ([`dropin::Seccomp::allows_operation`]); the record cannot say which.
fn multiplexer(
    finding: &mut Finding,
    ops: &[(&str, u32)],
    call: &str,
    how: &str,
    settings: Option<&Settings>,
    e: &Effective,
    cx: &Cx<'_>,
) {
    let Some(Some(f)) = e.get::<SyscallFilter>(Directive::SystemCallFilter) else {
        return;
    };
    let denied: Vec<&str> = ops
        .iter()
        .map(|(op, _)| *op)
        .filter(|op| !f.allows_operation(call, op))
        .collect();
    let d = Directive::SystemCallFilter;
    // The lines: those that decide the multiplexer, and those that name a
    // denied operation, in file order.
    let trace = e.syscall_trace(d, call);
    let (lines, mut decider) = filter_lines_at(&trace, call, false);
    let mut cited: std::collections::BTreeMap<usize, Cited> = lines.into_iter().collect();
    // Per line, the denied operations it names, by the words that name them.
    let mut named: std::collections::BTreeMap<
        usize,
        std::collections::BTreeMap<String, Vec<&str>>,
    > = Default::default();
    for op in &denied {
        for (i, step) in e.syscall_trace(d, op).iter().enumerate() {
            if !step.named_by.is_empty() {
                decider = decider.max(Some(i));
                named
                    .entry(i)
                    .or_default()
                    .entry(step.named_by.join(" "))
                    .or_default()
                    .push(op);
            }
        }
    }
    let all_ops = ops.len();
    for (i, by_word) in named {
        let Some(step) = trace.get(i) else { continue };
        let notes: Vec<String> = by_word
            .into_iter()
            .map(|(word, list)| {
                let what = if list.len() == all_ops {
                    "every operation's own call".to_owned()
                } else {
                    list.join(" ")
                };
                format!("names {what} ({word})")
            })
            .collect();
        let note = notes.join("; ");
        cited
            .entry(i)
            .and_modify(|c| {
                c.role.push_str("; ");
                c.role.push_str(&note);
            })
            .or_insert_with(|| Cited {
                at: step.origin.clone(),
                assignment: assignment(d, &step.value),
                role: note,
            });
    }
    finding.lines = cited.into_values().collect();
    if denied.is_empty() {
        finding.cause = format!(
            "{call} was {how}; but these settings let every operation through it: the record \
             came from other settings (the unit as it ran then, or another filter)"
        );
        finding.fix = Fix::Unknown {
            why: format!("the settings judged already allow every operation of {call}"),
        };
        return;
    }
    let which = match denied.len() {
        n if n == ops.len() => "every operation".to_owned(),
        1 => format!("the operation {}", denied.join(" ")),
        _ => format!("the operations {}", denied.join(" ")),
    };
    finding.cause = format!(
        "{call} was {how}: SystemCallFilter= denies {which} through it, and the record cannot \
         say which one was made. libseccomp applies a rule for an operation's own call (connect, \
         shmctl, …) to {call} with that operation as its first argument: an allow list lets an \
         operation through when it allows {call} or the operation's call, a deny list when it \
         denies neither"
    );
    if finding.known.is_some() {
        return;
    }
    let Some(s) = settings else { return };
    // An allow list: the multiplexer lets every operation through. A deny
    // list: every denied name has to come out of it.
    let value = if f.allow_list {
        call.to_owned()
    } else {
        let mut names: Vec<&str> = Vec::new();
        if !f.allows(call) {
            names.push(call);
        }
        names.extend(denied.iter().filter(|op| !f.allows(op)));
        names.join(" ")
    };
    let decider = decider.and_then(|i| trace.get(i)).map(|st| Cited {
        at: st.origin.clone(),
        assignment: assignment(d, &st.value),
        role: String::new(),
    });
    let edit = format!("add SystemCallFilter={value} after it");
    let reason = format!("FILL IN: why {} needs {call} ({which})", s.unit);
    let (mux, all): (String, Vec<String>) = (
        call.to_owned(),
        ops.iter().map(|(op, _)| (*op).to_owned()).collect(),
    );
    let passes = move |e: &Effective| match e.get::<SyscallFilter>(Directive::SystemCallFilter) {
        Some(Some(f)) => all.iter().all(|op| f.allows_operation(&mux, op)),
        _ => true,
    };
    let want = Want {
        directive: d,
        value: &value,
        reason: &reason,
        edit: &edit,
    };
    finding.fix = host_config_fix(cx, s, &want, &passes, decider.as_ref());
}

/// A logged call: `SystemCallLog=`.
fn log(finding: &mut Finding, rec: &Record, group: &Group, effective: Option<&Effective>) {
    let call = rec.call_label();
    // comm is at most 15 bytes: "systemd-executo".
    let executor = group.comms.iter().any(|c| c.starts_with("systemd-execut"))
        || group.exes.iter().any(|e| e.ends_with("/systemd-executor"));
    if executor && call == "capset" {
        finding.known = Some(EXECUTOR_CAPSET);
    }
    finding.directive = Some(Directive::SystemCallLog.name().to_owned());
    finding.cause =
        format!("{call} was allowed and logged (code 0x7ffc0000): SystemCallLog= lists it");
    if let Some(e) = effective {
        let trace = e.syscall_trace(Directive::SystemCallLog, &call);
        finding.lines = filter_lines(&trace, &call, true).0;
        if trace.last().and_then(|s| s.passes) != Some(true) {
            finding.cause.push_str(
                "; but these settings do not log it: the record came from other settings",
            );
        }
    }
    finding.fix = Fix::None {
        why: "nothing was denied; take the call out of SystemCallLog= to stop the records"
            .to_owned(),
    };
}
