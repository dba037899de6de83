//! Reading SECCOMP records in the forms operators have them, line by line:
//! auditd's `audit.log` (and `ausearch` raw output, which prints the same
//! lines), `ausearch -i`, the kernel log (`dmesg`, `journalctl -k`) and
//! journald's audit transport (`audit[PID]: SECCOMP …`), plus systemd's
//! `status=31/SYS` journal lines that name a unit. Everything else is
//! ignored; a record that cannot be read is an [`InputError`] for its line.

use dropin::audit::{self, AuditArch, SeccompAction};
use serde::Serialize;

/// The form a record was read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// `type=SECCOMP msg=audit(…): …`: auditd's log, `ausearch` without `-i`.
    AuditLog,
    /// `type=SECCOMP msg=audit(MM/DD/YY hh:mm:ss.mmm:N) : …`: `ausearch -i`.
    Interpreted,
    /// `audit: type=1326 audit(…): …`: the kernel log (`dmesg`,
    /// `journalctl -k`), written when no auditd listens.
    Kernel,
    /// `audit[PID]: SECCOMP …`: journald's audit transport.
    Journal,
}

impl Form {
    /// A short name for output.
    pub fn name(self) -> &'static str {
        match self {
            Form::AuditLog => "audit log",
            Form::Interpreted => "ausearch -i",
            Form::Kernel => "kernel log",
            Form::Journal => "journal (audit)",
        }
    }
}

/// When a record was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stamp {
    /// As shown: UTC for records with an epoch time, else as printed.
    pub text: String,
    /// Milliseconds since the epoch, where the form carries an absolute
    /// time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch_ms: Option<u64>,
    /// The audit serial number (`audit(…:N)`), where the form has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<u64>,
}

/// What the filter did, as the record says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// The action, exactly (`code=` read as a number, or a name that is not
    /// ambiguous).
    Exact(SeccompAction),
    /// A kill that `ausearch -i` printed as `kill` or `kill-thread`:
    /// auparse masks `code=` with 0x7fff0000, so a kill of the whole
    /// process (0x80000000) prints as a thread kill too.
    Kill,
}

impl Action {
    /// The name used in output (`kill-process`, `kill-thread`, `kill`, …).
    pub fn name(self) -> &'static str {
        match self {
            Action::Exact(a) => match a {
                SeccompAction::KillProcess => "kill-process",
                SeccompAction::KillThread => "kill-thread",
                SeccompAction::Trap => "trap",
                SeccompAction::Errno => "errno",
                SeccompAction::UserNotif => "user-notif",
                SeccompAction::Trace => "trace",
                SeccompAction::Log => "log",
                SeccompAction::Allow => "allow",
            },
            Action::Kill => "kill",
        }
    }

    /// Whether the process (or thread) was killed.
    pub fn kills(self) -> bool {
        match self {
            Action::Exact(a) => a.kills(),
            Action::Kill => true,
        }
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One SECCOMP record, decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The input line (1-based).
    pub line: usize,
    /// The form it was in.
    pub form: Form,
    /// When.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Stamp>,
    /// The process (thread group) id, as the kernel's initial PID namespace
    /// sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// `comm=`: the executable's name (15 bytes at most).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    /// `exe=`: the executable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// `sig=`: the signal delivered (31, SIGSYS, for a kill; 0 otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sig: Option<u32>,
    /// `arch=`.
    pub arch: AuditArch,
    /// The architecture as `SystemCallArchitectures=` names it (`x86`,
    /// `x86-64`, `x32`).
    pub architecture: &'static str,
    /// The number (not in `ausearch -i` output, which prints a name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// The name in systemd 257's table for the architecture, if it names
    /// the number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// `compat=`: the call came through a compat ABI (i386 or x32 on
    /// x86-64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compat: Option<bool>,
    /// `ip=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// `code=`.
    pub action: Action,
}

impl Record {
    /// The call's name, or `#N` where the table does not name the number.
    pub fn call_label(&self) -> String {
        match (&self.call, self.number) {
            (Some(c), _) => c.clone(),
            (None, Some(n)) => format!("#{n}"),
            (None, None) => "?".to_owned(),
        }
    }

    /// Whether the call came through an ABI other than the machine's own
    /// (`compat=1`; without the field: a 32-bit architecture on a machine
    /// whose records are otherwise 64-bit is assumed).
    pub fn non_native(&self) -> bool {
        match self.compat {
            Some(c) => c,
            None => !self.arch.is_64bit() || self.architecture == "x32",
        }
    }

    /// The machine's own architecture, as `native` means it: the 64-bit
    /// sibling of a compat ABI.
    pub fn native_architecture(&self) -> &'static str {
        match self.architecture {
            "x86" | "x32" => "x86-64",
            "arm" => "arm64",
            other => other,
        }
    }
}

/// A line systemd logs when a unit's process dies of `SIGSYS`:
/// `UNIT: Main process exited, code=killed, status=31/SYS`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExitLine {
    /// The input line.
    pub line: usize,
    /// The unit.
    pub unit: String,
    /// When, from the journal's prefix, if it has an absolute time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Stamp>,
}

/// A line that looks like a SECCOMP record but cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputError {
    /// The input line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// The start of the line.
    pub excerpt: String,
}

/// What one line is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A SECCOMP record.
    Record(Record),
    /// systemd's `status=31/SYS` line.
    Exit(ExitLine),
    /// A SECCOMP record that cannot be read.
    Error(InputError),
    /// Anything else.
    Other,
}

fn excerpt(line: &str) -> String {
    const MAX: usize = 160;
    let text: String = line.chars().filter(|c| !c.is_control()).collect();
    if text.chars().count() <= MAX {
        return text;
    }
    let mut out: String = text.chars().take(MAX).collect();
    out.push('…');
    out
}

/// Reads one line (`n` is its 1-based number).
pub fn line(n: usize, text: &str) -> Line {
    // auditd's ENRICHED format appends interpreted fields after a 0x1d.
    let text = text.split('\u{1d}').next().unwrap_or(text);
    let text = text.trim_end_matches(['\r', '\n']);
    let err = |message: String| {
        Line::Error(InputError {
            line: n,
            message,
            excerpt: excerpt(text),
        })
    };
    let found = find_record(text);
    let Some((form, header_at)) = found else {
        if mentions_seccomp(text) {
            return err("a SECCOMP record without a readable header (audit(TIME:SERIAL):)".into());
        }
        return exit_line(n, text).map_or(Line::Other, Line::Exit);
    };
    match record(n, form, text, header_at) {
        Ok(r) => Line::Record(r),
        Err(message) => err(message),
    }
}

/// Whether a line is a SECCOMP record of some form, however mangled.
fn mentions_seccomp(text: &str) -> bool {
    text.contains("type=1326") || text.contains("type=SECCOMP") || text.contains("]: SECCOMP ")
}

/// The form of a record and where its `audit(` header (or, for the journal
/// form, its fields) start.
fn find_record(text: &str) -> Option<(Form, usize)> {
    for marker in ["type=SECCOMP msg=", "type=1326 msg="] {
        if let Some(at) = text.find(marker) {
            let header = at + marker.len();
            let form = match text[header..].strip_prefix("audit(") {
                Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) && is_epoch(rest) => {
                    Form::AuditLog
                }
                Some(_) => Form::Interpreted,
                None => return None,
            };
            return Some((form, header));
        }
    }
    if let Some(at) = text.find("type=1326 audit(") {
        return Some((Form::Kernel, at + "type=1326 ".len()));
    }
    // journald: SYSLOG_IDENTIFIER=audit, MESSAGE="SECCOMP <fields>".
    for marker in ["]: SECCOMP ", "audit: SECCOMP "] {
        if let Some(at) = text.find(marker) {
            let ident_ok = marker.starts_with("audit")
                || text[..at]
                    .rsplit(' ')
                    .next()
                    .is_some_and(|w| w.starts_with("audit["));
            if ident_ok {
                return Some((Form::Journal, at + marker.len()));
            }
        }
    }
    None
}

/// Whether `audit(` is followed by `SECONDS.MILLIS:SERIAL)`.
fn is_epoch(rest: &str) -> bool {
    rest.split_once(')').is_some_and(|(inside, _)| {
        inside
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b':')
    })
}

/// `audit(SECONDS.MILLIS:SERIAL)`: the stamp.
fn epoch_stamp(inside: &str) -> Option<Stamp> {
    let (time, serial) = inside.split_once(':')?;
    let (secs, millis) = time.split_once('.')?;
    let secs: u64 = secs.parse().ok()?;
    let millis: u64 = millis.parse().ok()?;
    if millis > 999 {
        return None;
    }
    let epoch_ms = secs.checked_mul(1000)?.checked_add(millis)?;
    Some(Stamp {
        text: utc(epoch_ms),
        epoch_ms: Some(epoch_ms),
        serial: serial.parse().ok(),
    })
}

/// `audit(MM/DD/YY hh:mm:ss.mmm:SERIAL)` as `ausearch -i` prints it (local
/// time): kept as printed.
fn interpreted_stamp(inside: &str) -> Option<Stamp> {
    let (time, serial) = inside.rsplit_once(':')?;
    Some(Stamp {
        text: time.to_owned(),
        epoch_ms: None,
        serial: serial.parse().ok(),
    })
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD hh:mm:ss.mmm UTC`.
pub fn utc(epoch_ms: u64) -> String {
    let secs = i64::try_from(epoch_ms / 1000).unwrap_or(i64::MAX);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        epoch_ms % 1000
    )
}

/// The time of a journal line's prefix: `short-unix` (`1795892537.524000`)
/// and `short-iso`/`short-iso-precise` (`2026-11-28T19:02:17+00:00`) carry
/// an absolute time; the default `short` (`Nov 28 19:02:17`) does not, and
/// is kept as text.
fn journal_time(text: &str) -> Option<Stamp> {
    let first = text.split_whitespace().next()?;
    if first.bytes().all(|b| b.is_ascii_digit() || b == b'.') && first.contains('.') {
        let (s, frac) = first.split_once('.')?;
        let secs: u64 = s.parse().ok()?;
        let millis: u64 = frac.get(..3).unwrap_or(frac).parse().ok()?;
        let ms = secs.checked_mul(1000)?.checked_add(millis)?;
        return Some(Stamp {
            text: utc(ms),
            epoch_ms: Some(ms),
            serial: None,
        });
    }
    if let Some(ms) = iso_ms(first) {
        return Some(Stamp {
            text: utc(ms),
            epoch_ms: Some(ms),
            serial: None,
        });
    }
    let words: Vec<&str> = text.split_whitespace().take(3).collect();
    (words.len() == 3 && words[2].matches(':').count() == 2).then(|| Stamp {
        text: words.join(" "),
        epoch_ms: None,
        serial: None,
    })
}

/// `YYYY-MM-DDThh:mm:ss[.ffffff](+hh:mm|+hhmm|Z)` in milliseconds since the
/// epoch.
fn iso_ms(word: &str) -> Option<u64> {
    let (date, rest) = word.split_once('T')?;
    let mut d = date.split('-');
    let (y, mo, da) = (d.next()?, d.next()?, d.next()?);
    if d.next().is_some() || y.len() != 4 {
        return None;
    }
    let (y, mo, da): (i64, u32, u32) = (y.parse().ok()?, mo.parse().ok()?, da.parse().ok()?);
    let split = rest.find(['+', '-', 'Z'])?;
    let (clock, zone) = rest.split_at(split);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut t = hms.split(':');
    let (h, mi, s): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    let millis: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    let offset = if zone == "Z" {
        0
    } else {
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let z = zone.get(1..)?.replace(':', "");
        let (zh, zm) = (
            z.get(..2)?.parse::<i64>().ok()?,
            z.get(2..)?.parse::<i64>().ok()?,
        );
        sign * (zh * 3600 + zm * 60)
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) {
        return None;
    }
    let secs = days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + s - offset;
    u64::try_from(secs * 1000 + millis).ok()
}

/// `key=value` fields; a value may be quoted; in `ausearch -i` output a
/// word without `=` continues the value before it (an interpreted value
/// with a space).
fn fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for word in text.split_whitespace() {
        match word.split_once('=') {
            Some((k, v))
                if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                out.push((k.to_owned(), v.to_owned()));
            }
            _ => {
                if let Some((_, v)) = out.last_mut() {
                    v.push(' ');
                    v.push_str(word);
                }
            }
        }
    }
    out
}

/// An untrusted string of the audit log: quoted as is, or (when it holds a
/// space, quote, control or non-ASCII byte) unquoted hexadecimal.
fn untrusted(value: &str, interpreted: bool) -> String {
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        return inner.to_owned();
    }
    if interpreted || value == "(null)" {
        return value.to_owned();
    }
    let hex = value.len().is_multiple_of(2)
        && !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex {
        return value.to_owned();
    }
    let bytes: Option<Vec<u8>> = (0..value.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(value.get(i..i + 2)?, 16).ok())
        .collect();
    bytes.map_or_else(
        || value.to_owned(),
        |b| String::from_utf8_lossy(&b).into_owned(),
    )
}

/// The machine names `ausearch -i` prints for `arch=` (libaudit's machine
/// table) that this reads.
fn interpreted_arch(name: &str) -> Option<AuditArch> {
    let architecture = match name {
        "x86_64" => "x86-64",
        "i386" | "i486" | "i586" | "i686" => "x86",
        "aarch64" => "arm64",
        "armeb" | "armv5tejl" | "armv7l" | "arm" => "arm",
        _ => return None,
    };
    audit::audit_arch_of(architecture)
}

fn hex_u32(text: &str) -> Option<u32> {
    let t = text.strip_prefix("0x").unwrap_or(text);
    u32::from_str_radix(t, 16).ok()
}

fn record(n: usize, form: Form, text: &str, at: usize) -> Result<Record, String> {
    let rest = &text[at..];
    let (time, body) = match form {
        Form::Journal => (journal_time(text), rest),
        _ => {
            let inner = rest
                .strip_prefix("audit(")
                .ok_or("no audit(TIME:SERIAL) header")?;
            let (inside, after) = inner
                .split_once(')')
                .ok_or("truncated record: the audit(TIME:SERIAL) header does not end")?;
            let after = after.trim_start();
            let after = after
                .strip_prefix(':')
                .ok_or("truncated record: no ':' after the audit(…) header")?;
            let stamp = match form {
                Form::Interpreted => interpreted_stamp(inside),
                _ => epoch_stamp(inside),
            }
            .ok_or_else(|| format!("unreadable time in audit({inside})"))?;
            (Some(stamp), after)
        }
    };
    let interpreted = form == Form::Interpreted;
    let f = fields(body);
    let get = |k: &str| f.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let required = |k: &str| {
        get(k).filter(|v| !v.is_empty()).ok_or_else(|| {
            format!(
                "truncated record: no {k}= field (a SECCOMP record has arch=, syscall= and code=)"
            )
        })
    };
    let arch_text = required("arch")?;
    let syscall_text = required("syscall")?;
    let code_text = required("code")?;

    let arch = if interpreted {
        interpreted_arch(arch_text)
            .ok_or_else(|| format!("unknown architecture arch={arch_text}"))?
    } else {
        let v = hex_u32(arch_text)
            .ok_or_else(|| format!("arch={arch_text} is not a hexadecimal AUDIT_ARCH value"))?;
        audit::audit_arch(v)
            .ok_or_else(|| format!("unknown audit architecture arch={arch_text} (0x{v:08x})"))?
    };
    let base = arch.architecture.ok_or_else(|| {
        format!(
            "arch={arch_text} is AUDIT_ARCH_{}, which systemd's SystemCallArchitectures= has no name for",
            arch.name
        )
    })?;
    if audit::highest_syscall(if base == "x32" { "x86-64" } else { base }).is_none() {
        return Err(format!(
            "no system call table for {base} (arch={arch_text}): systemd 257 ships tables for {}",
            audit::SYSCALL_TABLES.join(", ")
        ));
    }
    let (architecture, number, call) = if interpreted
        && !syscall_text.starts_with(|c: char| c.is_ascii_digit())
    {
        // ausearch -i prints the name from libaudit's table.
        let number = audit::syscall_number(base, syscall_text);
        if number.is_none() {
            return Err(format!(
                "syscall={syscall_text} is not a {base} system call in systemd 257's table"
            ));
        }
        (base, number, Some(syscall_text.to_owned()))
    } else {
        let raw: u64 = syscall_text
            .parse()
            .map_err(|_| format!("syscall={syscall_text} is not a number"))?;
        let raw = u32::try_from(raw)
            .map_err(|_| format!("syscall={syscall_text} is out of range (more than 32 bits)"))?;
        let (architecture, nr) = if base == "x86-64" && raw & audit::X32_SYSCALL_BIT != 0 {
            ("x32", raw & !audit::X32_SYSCALL_BIT)
        } else {
            (base, raw)
        };
        let highest = audit::highest_syscall(if architecture == "x32" {
            "x86-64"
        } else {
            architecture
        })
        .unwrap_or(0);
        if nr > highest {
            return Err(format!(
                "syscall={syscall_text} is out of range for {architecture} (systemd 257's table ends at {highest})"
            ));
        }
        (
            architecture,
            Some(nr),
            audit::syscall_name(architecture, nr).map(str::to_owned),
        )
    };
    let action = if interpreted && !code_text.starts_with("0x") {
        match code_text {
            "kill" | "kill-thread" | "kill_thread" => Action::Kill,
            "kill-process" | "kill_process" => Action::Exact(SeccompAction::KillProcess),
            "trap" => Action::Exact(SeccompAction::Trap),
            "errno" => Action::Exact(SeccompAction::Errno),
            "trace" => Action::Exact(SeccompAction::Trace),
            "log" => Action::Exact(SeccompAction::Log),
            "allow" => Action::Exact(SeccompAction::Allow),
            "user-notif" | "user_notif" => Action::Exact(SeccompAction::UserNotif),
            other => return Err(format!("code={other} is no seccomp action")),
        }
    } else {
        let v = hex_u32(code_text).ok_or_else(|| format!("code={code_text} is not hexadecimal"))?;
        Action::Exact(
            SeccompAction::from_code(v)
                .ok_or_else(|| format!("code={code_text} is no seccomp action"))?,
        )
    };
    let sig = get("sig").and_then(|s| match s {
        "SIGSYS" => Some(audit::SIGSYS),
        "SIG0" => Some(0),
        other => other.parse().ok(),
    });
    Ok(Record {
        line: n,
        form,
        time,
        pid: get("pid").and_then(|p| p.parse().ok()),
        comm: get("comm").map(|v| untrusted(v, interpreted)),
        exe: get("exe").map(|v| untrusted(v, interpreted)),
        sig,
        arch,
        architecture,
        number,
        call,
        compat: get("compat").and_then(|c| match c {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        }),
        ip: get("ip").map(str::to_owned),
        action,
    })
}

/// systemd's `UNIT: Main process exited, code=killed, status=31/SYS` (or
/// `Control process`).
fn exit_line(n: usize, text: &str) -> Option<ExitLine> {
    let at = [": Main process exited, ", ": Control process exited, "]
        .iter()
        .find_map(|m| text.find(m))?;
    let tail = &text[at..];
    if !tail.contains("code=killed, status=31/SYS") {
        return None;
    }
    let unit = text[..at].rsplit(' ').next()?;
    let plausible = unit.contains('.')
        && unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@:-_.\\".contains(&b));
    plausible.then(|| ExitLine {
        line: n,
        unit: unit.to_owned(),
        time: journal_time(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(utc(1_795_892_537_524), "2026-11-28 19:02:17.524 UTC");
        assert_eq!(iso_ms("2026-11-28T19:02:17+00:00"), Some(1_795_892_537_000));
        assert_eq!(
            iso_ms("2026-11-28T20:02:17.524000+0100"),
            Some(1_795_892_537_524)
        );
        assert_eq!(iso_ms("2026-13-28T20:02:17Z"), None);
        for d in [-1000, 0, 59, 60, 365, 11_016, 20_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn hex_encoded_comm() {
        assert_eq!(untrusted("\"srcds_linux\"", false), "srcds_linux");
        assert_eq!(untrusted("7372636473206C696E7578", false), "srcds linux");
        assert_eq!(untrusted("cafe", true), "cafe");
    }
}
