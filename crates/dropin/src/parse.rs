//! All reading: unit files and drop-ins in systemd's syntax, and
//! `systemctl show` output.
//!
//! The reader follows systemd's `config_parse()`: leading and trailing
//! whitespace is stripped; empty lines and lines starting with `#` or `;`
//! are comments; a line ending in `\` continues on the next one, the
//! backslash replaced by a space, and comment lines inside a continuation
//! are skipped; `[Section]` opens a section; everything else is
//! `Key=Value`, split at the first `=`. Where systemd would warn and
//! ignore a line, this reader refuses it with the file and line, so that
//! nothing is silently lost.

use crate::compose::Assignment;
use crate::directive::Directive;
use crate::error::{Error, Result};
use crate::instance::Instance;

/// systemd's `LONG_LINE_MAX`: longer lines are refused.
pub const LONG_LINE_MAX: usize = 1024 * 1024;

/// One `Key=Value` line as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry {
    /// The section it is in.
    pub section: String,
    /// The key.
    pub key: String,
    /// The value, whitespace-stripped, continuations joined.
    pub value: String,
    /// The file it came from.
    pub file: String,
    /// The line it starts on (1-based).
    pub line: usize,
}

/// A unit file or drop-in, read.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UnitFile {
    /// Every assignment, in file order.
    pub entries: Vec<RawEntry>,
}

fn parse_error(file: &str, line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        file: file.to_owned(),
        line,
        message: message.into(),
    }
}

impl UnitFile {
    /// Reads a file's bytes; `file` names it in errors.
    pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<UnitFile> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            parse_error(file, line, "not valid UTF-8")
        })?;
        UnitFile::parse(file, text)
    }

    /// Reads a file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<UnitFile> {
        let mut entries = Vec::new();
        let mut section: Option<String> = None;
        let mut continued: Option<(usize, String)> = None;
        for (index, raw) in text.split('\n').enumerate() {
            let number = index + 1;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if raw.len() > LONG_LINE_MAX {
                return Err(parse_error(file, number, "line longer than 1 MiB"));
            }
            if let Some(c) = raw
                .chars()
                .find(|&c| c == '\0' || (c.is_control() && c != '\t'))
            {
                return Err(parse_error(
                    file,
                    number,
                    format!("control character {c:?}"),
                ));
            }
            let line = raw.trim();
            if let Some((start, mut acc)) = continued.take() {
                if line.starts_with(['#', ';']) {
                    continued = Some((start, acc));
                    continue;
                }
                acc.push(' ');
                match line.strip_suffix('\\') {
                    Some(more) => {
                        acc.push_str(more);
                        continued = Some((start, acc));
                    }
                    None => {
                        acc.push_str(line);
                        entry(file, start, &acc, section.as_deref(), &mut entries)?;
                    }
                }
                continue;
            }
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if let Some(more) = line.strip_suffix('\\') {
                continued = Some((number, more.to_owned()));
                continue;
            }
            if line.starts_with('[') {
                let name = line
                    .strip_prefix('[')
                    .and_then(|l| l.strip_suffix(']'))
                    .filter(|n| !n.is_empty() && !n.contains(['[', ']']))
                    .ok_or_else(|| {
                        parse_error(file, number, format!("bad section header {line:?}"))
                    })?;
                section = Some(name.to_owned());
                continue;
            }
            entry(file, number, line, section.as_deref(), &mut entries)?;
        }
        if let Some((start, acc)) = continued {
            entry(file, start, &acc, section.as_deref(), &mut entries)?;
        }
        Ok(UnitFile { entries })
    }

    /// The entries of one section.
    pub fn section<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a RawEntry> + 'a {
        self.entries.iter().filter(move |e| e.section == name)
    }
}

fn entry(
    file: &str,
    line: usize,
    text: &str,
    section: Option<&str>,
    out: &mut Vec<RawEntry>,
) -> Result<()> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(parse_error(file, line, format!("missing '=' in {text:?}")));
    };
    let Some(section) = section else {
        return Err(parse_error(file, line, "assignment outside of any section"));
    };
    let key = key.trim();
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(parse_error(file, line, format!("bad key {key:?}")));
    }
    out.push(RawEntry {
        section: section.to_owned(),
        key: key.to_owned(),
        value: value.trim().to_owned(),
        file: file.to_owned(),
        line,
    });
    Ok(())
}

/// A key: a directive the registry knows, or any other key kept as text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// A known directive.
    Known(Directive),
    /// Another key, such as `ExecStart` or a directive this model lacks.
    Other(String),
}

impl Key {
    /// The key's name.
    pub fn name(&self) -> &str {
        match self {
            Key::Known(d) => d.name(),
            Key::Other(s) => s,
        }
    }
}

/// One assignment read from a file: typed where the key is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read {
    /// A known directive, its value validated.
    Typed(Assignment),
    /// Any other key, with its text (empty: a reset).
    Other(String, String),
}

impl Read {
    /// The key.
    pub fn key(&self) -> Key {
        match self {
            Read::Typed(a) => Key::Known(a.directive),
            Read::Other(k, _) => Key::Other(k.clone()),
        }
    }

    /// The assignment with `%i`/`%I` resolved for `instance`, as systemd
    /// does in every file it reads for an instance; other keys are kept
    /// as text.
    pub fn resolve_instance(self, instance: &Instance) -> Result<Read> {
        Ok(match self {
            Read::Typed(a) => Read::Typed(a.resolve_instance(instance)?),
            other => other,
        })
    }
}

/// Types the `[Service]` entries of a file; a known directive with an
/// invalid value is an error naming file and line.
pub fn service_assignments(file: &UnitFile) -> Result<Vec<Read>> {
    file.section("Service")
        .map(|e| match Directive::from_name(&e.key) {
            Some(d) => Assignment::parse(d, &e.value)
                .map(Read::Typed)
                .map_err(|err| parse_error(&e.file, e.line, err.to_string())),
            None => Ok(Read::Other(e.key.clone(), e.value.clone())),
        })
        .collect()
}

/// The largest installed file [`installed`] reads. A drop-in is a few KiB;
/// anything near this size is not one, and reading it whole is a cost a
/// root-run tool should not pay for garbage.
pub const INSTALLED_MAX: usize = 1024 * 1024;

/// The most assignments of one key [`installed`] accepts in one file. A
/// written drop-in repeats a key a few dozen times at most; thousands of
/// repetitions are garbage or an attack on whatever reads the file.
pub const REPEATS_MAX: usize = 1024;

/// Reads an installed unit file or drop-in as `diff` and `lint` do, from
/// its bytes, with the limits a tool reading files off a host needs: an
/// empty file (nothing but whitespace), a file larger than
/// [`INSTALLED_MAX`], one that is not UTF-8, has a control character or a
/// line systemd would not read, or assigns one key more than
/// [`REPEATS_MAX`] times is refused, naming `file` and the line.
pub fn installed(file: &str, bytes: &[u8]) -> Result<UnitFile> {
    if bytes.len() > INSTALLED_MAX {
        return Err(parse_error(
            file,
            1,
            format!("larger than the {INSTALLED_MAX} bytes an installed file may have"),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(parse_error(
            file,
            1,
            "empty file: an installed drop-in that sets nothing hardens nothing",
        ));
    }
    let unit = UnitFile::parse_bytes(file, bytes)?;
    let mut counts: std::collections::BTreeMap<(&str, &str), usize> =
        std::collections::BTreeMap::new();
    for e in &unit.entries {
        let n = counts.entry((&e.section, &e.key)).or_insert(0);
        *n += 1;
        if *n > REPEATS_MAX {
            return Err(parse_error(
                file,
                e.line,
                format!(
                    "{:?} assigned more than {REPEATS_MAX} times in [{}]",
                    e.key, e.section
                ),
            ));
        }
    }
    Ok(unit)
}

/// Reads `systemctl show` output (`Key=value` lines, no sections).
pub fn show_output(file: &str, text: &str) -> Result<Vec<RawEntry>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if line.contains('\0') {
            return Err(parse_error(file, i + 1, "NUL byte"));
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(parse_error(file, i + 1, format!("missing '=' in {line:?}")));
        };
        out.push(RawEntry {
            section: "Service".to_owned(),
            key: k.to_owned(),
            value: v.to_owned(),
            file: file.to_owned(),
            line: i + 1,
        });
    }
    Ok(out)
}

/// Reads a sysctl.d(5) file as `systemd-sysctl` does: empty lines and
/// lines starting with `#` or `;` are comments; every other line is
/// `KEY = VALUE`, whitespace around both stripped. A leading `-` on the key
/// (ignore failures to set it) is dropped, and a key whose first separator
/// is `/` is normalised to dots (`kernel/yama/ptrace_scope` is
/// `kernel.yama.ptrace_scope`). Entries come back in file order (the last
/// one of a key wins); `section` is `sysctl`.
pub fn sysctl_entries(file: &str, text: &str) -> Result<Vec<RawEntry>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(c) = line.chars().find(|&c| c.is_control() && c != '\t') {
            return Err(parse_error(file, i + 1, format!("control character {c:?}")));
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(parse_error(file, i + 1, format!("missing '=' in {line:?}")));
        };
        let key = key.trim();
        let key = key.strip_prefix('-').unwrap_or(key);
        if key.is_empty() {
            return Err(parse_error(file, i + 1, "empty key"));
        }
        let key = if key
            .find(['.', '/'])
            .is_some_and(|at| key[at..].starts_with('/'))
        {
            key.chars()
                .map(|c| match c {
                    '/' => '.',
                    '.' => '/',
                    c => c,
                })
                .collect()
        } else {
            key.to_owned()
        };
        out.push(RawEntry {
            section: "sysctl".to_owned(),
            key,
            value: value.trim().to_owned(),
            file: file.to_owned(),
            line: i + 1,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_systemd_reads() {
        let text = "# c\n; c\n[Service]\nA=1\n  B = two words  \nC=x \\\n# skipped\n  y\\\nz\nA=\n";
        let f = UnitFile::parse("f", text).unwrap();
        let got: Vec<(&str, &str, usize)> = f
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(
            got,
            [
                ("A", "1", 4),
                ("B", "two words", 5),
                ("C", "x  y z", 6),
                ("A", "", 10)
            ]
        );
    }

    #[test]
    fn refuses_with_file_and_line() {
        for (text, line) in [
            ("[Service]\nnope\n", 2),
            ("A=1\n", 1),
            ("[Service]\n[bad\n", 2),
            ("[Service]\nA=\u{7}\n", 2),
            ("[Service]\n=x\n", 2),
        ] {
            match UnitFile::parse("f.conf", text) {
                Err(Error::Parse { line: l, file, .. }) => {
                    assert_eq!((l, file.as_str()), (line, "f.conf"), "{text:?}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        assert!(UnitFile::parse_bytes("f", b"[Service]\nA=\xff\n").is_err());
    }

    #[test]
    fn sysctl_files() {
        let text = "# c\n; c\n\n kernel/yama/ptrace_scope = 1 \n-net.ipv4.ip_forward=0\nkernel.yama.ptrace_scope=2\n";
        let got: Vec<(String, String, usize)> = sysctl_entries("s.conf", text)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value, e.line))
            .collect();
        assert_eq!(
            got,
            [
                ("kernel.yama.ptrace_scope".into(), "1".into(), 4),
                ("net.ipv4.ip_forward".into(), "0".into(), 5),
                ("kernel.yama.ptrace_scope".into(), "2".into(), 6),
            ]
        );
        let err = sysctl_entries("s.conf", "a.b=1\nnope\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.conf:2:"), "{err}");
    }

    #[test]
    fn instances_resolve_in_typed_reads_only() {
        let f = UnitFile::parse(
            "x.conf",
            "[Service]\nBindPaths=/run/%i\nExecStart=/bin/%i\n",
        )
        .unwrap();
        let one = Instance::new("1").unwrap();
        let reads: Vec<Read> = service_assignments(&f)
            .unwrap()
            .into_iter()
            .map(|r| r.resolve_instance(&one).unwrap())
            .collect();
        assert_eq!(
            reads[0],
            Read::Typed(Assignment::parse(Directive::BindPaths, "/run/1").unwrap())
        );
        assert_eq!(reads[1], Read::Other("ExecStart".into(), "/bin/%i".into()));
    }

    #[test]
    fn typed_values_are_checked_with_location() {
        let f = UnitFile::parse("x.conf", "[Service]\nBindPaths=relative\n").unwrap();
        let err = service_assignments(&f).unwrap_err().to_string();
        assert!(err.starts_with("x.conf:2:"), "{err}");
        assert!(err.contains("relative"), "{err}");
    }
}
