//! All reading that is not a unit file: `systemctl show` output and
//! sysctl.d files. Unit files and drop-ins are read by [`crate::lexer`]
//! (systemd's lexer) and [`crate::load()`] (systemd's unit loading).

use crate::error::{Error, Result};

/// One `Key=Value` line as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry {
    /// The section it is in.
    pub section: String,
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// The file it came from.
    pub file: String,
    /// The line it starts on (1-based).
    pub line: usize,
}

fn parse_error(file: &str, line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        file: file.to_owned(),
        line,
        message: message.into(),
    }
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
}
