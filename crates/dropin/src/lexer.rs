//! systemd 257's unit-file lexer, byte for byte: `config_parse()` and
//! `parse_line()` of `src/shared/conf-parser.c`, over `read_line()` of
//! `src/basic/fileio.c`.
//!
//! What it reproduces, because each point changes what systemd reads:
//!
//! - **Line ends** are `\n`, `\r` and NUL, and any run of them in which no
//!   kind repeats (`\r\n`, `\n\r`, `\r\n\0`; `\n\n` is two line ends); a
//!   NUL ends the run. So a lone CR splits a line and a NUL cuts one.
//! - **Comments** are lines whose first non-whitespace byte is `#` or `;`,
//!   checked on the raw line; they are skipped even inside a
//!   continuation, which they do not end.
//! - **Continuation**: a line continues when it ends in an *odd* number of
//!   backslashes (counted over the whole logical line so far, pairs being
//!   escapes); the last backslash becomes a space and the next physical
//!   line is appended as it is, leading whitespace included. `C:\\` does
//!   not continue.
//! - **Whitespace** is only space, tab, CR and LF (systemd's
//!   `WHITESPACE`): a no-break space is part of the value.
//! - **UTF-8**: a line that is not valid UTF-8 *in systemd's sense*
//!   (which also refuses the non-characters U+FDD0..U+FDEF and
//!   U+xFFFE/U+xFFFF) stops the whole file, as does a bad section header
//!   or a line of 1 MiB or more: what came before stays, the rest is lost.
//! - **Lines systemd warns about and ignores** (an unknown section and the
//!   lines in it, an assignment outside any section, a line without `=`,
//!   an empty key) are reported as [`Diagnostic`]s and skipped; the rest
//!   of the file is read.
//! - The **line number** of a continued line is the number of its last
//!   physical line, and one past the end for a continuation that runs to
//!   the end of the file, as systemd reports it.
//! - A UTF-8 byte order mark is dropped once, from the first line that
//!   starts with one (the comment check runs before that).

use std::fmt;

/// systemd's `LONG_LINE_MAX`: a physical or logical line this long stops
/// the file.
pub const LONG_LINE_MAX: usize = 1024 * 1024;

/// systemd's `WHITESPACE`.
pub(crate) const WHITESPACE: &[u8] = b" \t\n\r";

/// Whether `b` is one of [`WHITESPACE`].
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// How serious a diagnostic is, as systemd logs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// systemd does something silently (it logs nothing at its default
    /// level); the model says what, because it matters to the reader.
    Note,
    /// systemd logs a warning and ignores the line (or the item).
    Warning,
    /// systemd logs an error; for a lexer error the rest of the file is
    /// not read.
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        })
    }
}

/// Something systemd would log about a file: `FILE:LINE: message`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Diagnostic {
    /// The file, as the reader named it.
    pub file: String,
    /// The line, numbered as systemd numbers it (see the module docs).
    pub line: usize,
    /// How serious.
    pub level: Level,
    /// What systemd says, in its words where it has them.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic.
    pub fn new(file: &str, line: usize, level: Level, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_owned(),
            line,
            level,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    /// `FILE:LINE: message`, systemd's form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// One `Key=Value` line in a section systemd reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The section (one of those the lexer was given).
    pub section: &'static str,
    /// The key, whitespace-stripped (not checked against any table).
    pub key: String,
    /// The value, whitespace-stripped, continuations joined.
    pub value: String,
    /// The line, numbered as systemd numbers it.
    pub line: usize,
}

/// A file, lexed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lexed {
    /// The assignments in sections systemd reads, in order.
    pub assignments: Vec<Assignment>,
    /// What systemd would log, in order.
    pub diagnostics: Vec<Diagnostic>,
    /// Whether reading stopped early (an error diagnostic says why).
    pub stopped: bool,
}

/// Splits `bytes` into lines the way systemd's `read_line()` does,
/// returning each line without its end, or `Err(n)` once a line reaches
/// [`LONG_LINE_MAX`] (`n`: lines returned before it).
fn lines(bytes: &[u8]) -> impl Iterator<Item = Result<&[u8], ()>> + '_ {
    const NL: u8 = 1;
    const CR: u8 = 2;
    const NUL: u8 = 4;
    let kind = |b: u8| match b {
        b'\n' => NL,
        b'\r' => CR,
        0 => NUL,
        _ => 0,
    };
    let mut at = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done || at >= bytes.len() {
            return None;
        }
        let start = at;
        // The content: up to the first end-of-line byte.
        let end = bytes[start..]
            .iter()
            .position(|&b| b <= b'\r' && kind(b) != 0)
            .map_or(bytes.len(), |p| start + p);
        // read_line() refuses before storing character LONG_LINE_MAX + 1,
        // and also when it has stored LONG_LINE_MAX and more input
        // (even the line end) follows.
        if end - start >= LONG_LINE_MAX {
            done = true;
            return Some(Err(()));
        }
        at = end;
        let mut seen = 0u8;
        while at < bytes.len() {
            let k = kind(bytes[at]);
            if k == 0 || seen & NUL != 0 || seen & k != 0 {
                break;
            }
            seen |= k;
            at += 1;
        }
        Some(Ok(&bytes[start..end]))
    })
}

fn strip(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s
        && is_space(*first)
    {
        s = rest;
    }
    while let [rest @ .., last] = s
        && is_space(*last)
    {
        s = rest;
    }
    s
}

/// Whether `bytes` is UTF-8 as systemd's `utf8_is_valid()` sees it: valid
/// UTF-8 without the Unicode non-characters.
pub fn systemd_utf8(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    // ASCII holds no non-character: most lines end here.
    if text.is_ascii() {
        return Some(text);
    }
    let bad = |c: char| {
        let c = u32::from(c);
        (0xFDD0..=0xFDEF).contains(&c) || c & 0xFFFE == 0xFFFE
    };
    (!text.chars().any(bad)).then_some(text)
}

/// The length of the valid character at the start of `b` in systemd's
/// sense (`utf8_encoded_valid_unichar()`): 1 to 4, or `None`.
fn valid_char_len(b: &[u8]) -> Option<usize> {
    let first = *b.first()?;
    let len = match first {
        0x00..=0x7f => return Some(1),
        _ if first & 0xe0 == 0xc0 => 2,
        _ if first & 0xf0 == 0xe0 => 3,
        _ if first & 0xf8 == 0xf0 => 4,
        _ if first & 0xfc == 0xf8 => 5,
        _ if first & 0xfe == 0xfc => 6,
        _ => return None,
    };
    let bytes = b.get(..len)?;
    let text = std::str::from_utf8(bytes).ok()?;
    systemd_utf8(text.as_bytes()).map(|_| len)
}

/// systemd's `utf8_escape_invalid()`, as used in its messages: each byte
/// that does not start a valid character becomes U+FFFD.
fn escape_invalid(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        match valid_char_len(&bytes[i..]) {
            Some(n) => {
                out.push_str(&String::from_utf8_lossy(&bytes[i..i + n]));
                i += n;
            }
            None => {
                out.push('\u{FFFD}');
                i += 1;
            }
        }
    }
    out
}

/// systemd's `string_is_safe()`: no control characters, quotes,
/// backslashes or DEL.
fn string_is_safe(s: &[u8]) -> bool {
    !s.iter()
        .any(|&b| (1..b' ').contains(&b) || matches!(b, b'"' | b'\'' | b'\\' | 0x7f))
}

struct State<'a> {
    file: &'a str,
    /// The file's bytes, and the file as text where it is all ASCII (no
    /// line of it then needs checking on its own).
    bytes: &'a [u8],
    ascii: Option<&'a str>,
    sections: &'static [&'static str],
    section: Option<&'static str>,
    section_ignored: bool,
    out: Lexed,
}

impl<'a> State<'a> {
    /// `l` as text, as [`systemd_utf8`] gives it: taken from the file's
    /// text where the file is ASCII and `l` lies in it.
    fn text<'l>(&self, l: &'l [u8]) -> Option<&'l str>
    where
        'a: 'l,
    {
        if let Some(text) = self.ascii {
            let start = (l.as_ptr() as usize).wrapping_sub(self.bytes.as_ptr() as usize);
            if let Some(t) = start
                .checked_add(l.len())
                .and_then(|end| text.get(start..end))
                && std::ptr::eq(t.as_bytes(), l)
            {
                return Some(t);
            }
        }
        systemd_utf8(l)
    }

    fn warn(&mut self, line: usize, message: String) {
        self.out
            .diagnostics
            .push(Diagnostic::new(self.file, line, Level::Warning, message));
    }

    fn stop(&mut self, line: usize, message: String) {
        self.stop_as(line, Level::Error, message);
    }

    fn stop_as(&mut self, line: usize, level: Level, message: String) {
        self.out
            .diagnostics
            .push(Diagnostic::new(self.file, line, level, message));
        self.out.stopped = true;
    }

    /// `parse_line()`; `false` stops the file.
    fn line(&mut self, line: usize, raw: &[u8]) -> bool {
        let l = strip(raw);
        if l.is_empty() {
            return true;
        }
        let Some(l) = self.text(l) else {
            self.stop(
                line,
                format!(
                    "String is not UTF-8 clean, ignoring assignment: {}",
                    escape_invalid(l)
                ),
            );
            return false;
        };
        if let Some(inner) = l.strip_prefix('[') {
            let Some(name) = inner.strip_suffix(']') else {
                self.stop(line, format!("Invalid section header '{l}'"));
                return false;
            };
            if !string_is_safe(name.as_bytes()) {
                self.stop(line, format!("Bad characters in section header '{l}'"));
                return false;
            }
            if let Some(known) = self.sections.iter().find(|s| **s == name) {
                self.section = Some(known);
                self.section_ignored = false;
            } else {
                if !name.starts_with("X-") {
                    self.warn(line, format!("Unknown section '{name}'. Ignoring."));
                }
                self.section = None;
                self.section_ignored = true;
            }
            return true;
        }
        let Some(section) = self.section else {
            if !self.section_ignored {
                self.warn(line, "Assignment outside of section. Ignoring.".to_owned());
            }
            return true;
        };
        let Some((key, value)) = l.split_once('=') else {
            self.warn(line, "Missing '=', ignoring line.".to_owned());
            return true;
        };
        if key.is_empty() {
            self.warn(
                line,
                "Missing key name before '=', ignoring line.".to_owned(),
            );
            return true;
        }
        let text = |s: &str| {
            s.trim_matches(|c: char| c.is_ascii() && is_space(c as u8))
                .to_owned()
        };
        self.out.assignments.push(Assignment {
            section,
            key: text(key),
            value: text(value),
            line,
        });
        true
    }
}

/// Lexes a unit file or drop-in named `file` (for diagnostics) as systemd
/// 257 does for a unit whose type reads `sections` (for a service:
/// `Unit`, `Service`, `Install`).
pub fn lex(file: &str, bytes: &[u8], sections: &'static [&'static str]) -> Lexed {
    let mut st = State {
        file,
        bytes,
        ascii: bytes
            .is_ascii()
            .then(|| std::str::from_utf8(bytes).ok())
            .flatten(),
        sections,
        section: None,
        section_ignored: false,
        out: Lexed::default(),
    };
    let mut number = 0usize;
    let mut bom_seen = false;
    let mut continuation: Option<Vec<u8>> = None;
    for line in lines(bytes) {
        let Ok(buf) = line else {
            // systemd logs this only when asked to (CONFIG_PARSE_WARN,
            // which unit loading does not set).
            st.stop_as(
                number,
                Level::Note,
                "Line too long: the rest of the file is not read".to_owned(),
            );
            return st.out;
        };
        number += 1;
        let lead = buf
            .iter()
            .position(|b| !is_space(*b))
            .map_or(&[][..], |p| &buf[p..]);
        if matches!(lead.first(), Some(b'#' | b';')) {
            continue;
        }
        let mut l = buf;
        if !bom_seen && let Some(rest) = buf.strip_prefix(BOM) {
            l = rest;
            bom_seen = true;
        }
        // A line joined to a continuation is copied; any other is lexed
        // where it lies.
        let joined;
        let p: &[u8] = match continuation.take() {
            Some(mut c) => {
                if c.len() + l.len() > LONG_LINE_MAX {
                    st.stop_as(
                        number,
                        Level::Note,
                        "Continuation line too long: the rest of the file is not read".to_owned(),
                    );
                    return st.out;
                }
                c.extend_from_slice(l);
                joined = c;
                &joined
            }
            None => l,
        };
        // Continued where an odd number of backslashes ends the line (each
        // pair is one escaped backslash).
        let trailing = p.iter().rev().take_while(|b| **b == b'\\').count();
        if trailing % 2 == 1 {
            let mut c = p.to_vec();
            if let Some(last) = c.last_mut() {
                *last = b' ';
            }
            continuation = Some(c);
            continue;
        }
        if !st.line(number, p) {
            return st.out;
        }
    }
    if let Some(c) = continuation {
        st.line(number + 1, &c);
    }
    st.out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &[&str] = &["Unit", "Service", "Install"];

    fn kv(text: &[u8]) -> Vec<(String, String, usize)> {
        lex("f", text, SERVICE)
            .assignments
            .into_iter()
            .map(|a| (a.key, a.value, a.line))
            .collect()
    }

    fn diags(text: &[u8]) -> Vec<String> {
        lex("f", text, SERVICE)
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// A file all ASCII (each line taken from the file's text) lexes as
    /// the same file does with one non-ASCII comment at its end (each line
    /// checked on its own): continuations, comments, bad lines, sections.
    #[test]
    fn an_ascii_file_lexes_as_its_lines_checked_one_by_one() {
        let files = [
            "[Unit]\nDescription=a\n[Service]\nExecStart=/bin/true \\\n  -x\nUser = app \n",
            "[Service]\n\t A = b \r\nNo equals\n=x\n[Bogus]\nK=v\n[Service]\nL=\\\\\n",
            "K=outside\n[Serv\n[Service]\nM=1\n",
            "[Service]\nA=x \\\n# c\n; d\n  y\\\nz\nB=2",
        ];
        for text in files {
            let ascii = lex("f", text.as_bytes(), SERVICE);
            let checked = lex("f", format!("{text}\n# \u{e9}\n").as_bytes(), SERVICE);
            assert_eq!(ascii, checked, "{text:?}");
            assert!(!ascii.assignments.is_empty() || ascii.stopped, "{text:?}");
        }
    }

    #[test]
    fn continuation_needs_an_odd_number_of_backslashes() {
        // An even number: the line is complete, the next is its own.
        let got = kv(b"[Unit]\nDescription=C:\\\\\nAfter=x\n");
        assert_eq!(got[0], ("Description".into(), "C:\\\\".into(), 2));
        assert_eq!(got[1], ("After".into(), "x".into(), 3));
        // Odd: joined, the backslash a space, the next line as it is.
        let got = kv(b"[Unit]\nDescription=a\\\\\\\n  b\n");
        assert_eq!(got, [("Description".into(), "a\\\\   b".into(), 3)]);
    }

    #[test]
    fn comments_inside_a_continuation_are_skipped() {
        let got = kv(b"[Service]\nA=x \\\n# c\n; d\n  y\\\nz\n");
        assert_eq!(got, [("A".into(), "x    y z".into(), 6)]);
    }

    #[test]
    fn continuation_at_end_of_file_is_numbered_one_past() {
        let got = kv(b"[Service]\nA=x\\");
        assert_eq!(got, [("A".into(), "x".into(), 3)]);
    }

    #[test]
    fn only_systemd_whitespace_is_stripped() {
        let got = kv("[Service]\nProtectProc=invisible\u{a0}\n".as_bytes());
        assert_eq!(got[0].1, "invisible\u{a0}");
        let got = kv(b"[Service]\n \t A = b \r\n");
        assert_eq!(got, [("A".into(), "b".into(), 2)]);
    }

    #[test]
    fn cr_and_nul_end_lines() {
        assert_eq!(
            kv(b"[Service]\rA=1\rB=2\0C=3\r\n\r\nD=4"),
            [
                ("A".into(), "1".into(), 2),
                ("B".into(), "2".into(), 3),
                ("C".into(), "3".into(), 4),
                ("D".into(), "4".into(), 6),
            ]
        );
        // \n\0 is one line end; \0\n is two (nothing follows a NUL).
        assert_eq!(kv(b"[Service]\nA=1\n\0B=2")[1].2, 3);
        assert_eq!(kv(b"[Service]\nA=1\0\nB=2")[1].2, 4);
    }

    #[test]
    fn invalid_lines_are_skipped_with_a_warning() {
        let text = b"A=0\n[Service]\nnope\n=x\n[Bogus]\nB=1\n[X-Mine]\nC=1\n[Service]\nD=1\n";
        assert_eq!(kv(text), [("D".into(), "1".into(), 10)]);
        assert_eq!(
            diags(text),
            [
                "f:1: Assignment outside of section. Ignoring.",
                "f:3: Missing '=', ignoring line.",
                "f:4: Missing key name before '=', ignoring line.",
                "f:5: Unknown section 'Bogus'. Ignoring.",
            ]
        );
    }

    #[test]
    fn bad_utf8_and_bad_headers_stop_the_file() {
        for (text, message) in [
            (
                &b"[Service]\nA=1\nB=\xff\nC=1\n"[..],
                "f:3: String is not UTF-8 clean",
            ),
            (
                "[Service]\nA=1\nB=\u{fdd0}\nC=1\n".as_bytes(),
                "f:3: String is not UTF-8 clean",
            ),
            (
                b"[Service]\nA=1\n[Serv\nC=1\n",
                "f:3: Invalid section header '[Serv'",
            ),
            (
                b"[Service]\nA=1\n[Ser\"vice]\nC=1\n",
                "f:3: Bad characters in section header",
            ),
        ] {
            let l = lex("f", text, SERVICE);
            assert!(l.stopped);
            assert_eq!(l.assignments.len(), 1, "{text:?}");
            assert!(l.diagnostics[0].to_string().starts_with(message), "{l:?}");
        }
        // In a comment, invalid UTF-8 is nobody's business.
        assert_eq!(kv(b"[Service]\n# \xff\nA=1\n").len(), 1);
    }

    #[test]
    fn the_bom_is_dropped_once() {
        let got = kv(b"\xef\xbb\xbf[Service]\nA=1\n");
        assert_eq!(got.len(), 1);
        // Only the first BOM goes: "\u{feff}B" is a key, which no table has.
        let l = lex(
            "f",
            b"[Service]\n\xef\xbb\xbfA=1\n\xef\xbb\xbfB=1\n",
            SERVICE,
        );
        let keys: Vec<&str> = l.assignments.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["A", "\u{feff}B"]);
        // The comment check looks at the line before the BOM is dropped.
        let l = lex("f", b"\xef\xbb\xbf#[Service]\n", SERVICE);
        assert_eq!(
            l.diagnostics[0].message,
            "Assignment outside of section. Ignoring."
        );
    }

    #[test]
    fn long_lines_stop_the_file() {
        let mut text = b"[Service]\nA=1\nB=".to_vec();
        text.extend(std::iter::repeat_n(b'x', LONG_LINE_MAX));
        text.extend(b"\nC=1\n");
        let l = lex("f", &text, SERVICE);
        assert!(l.stopped);
        assert_eq!(l.assignments.len(), 1);
        assert_eq!(
            l.diagnostics[0].to_string(),
            "f:2: Line too long: the rest of the file is not read"
        );
        assert_eq!(l.diagnostics[0].level, Level::Note);
        // One byte shorter is fine.
        let mut text = b"[Service]\nB=".to_vec();
        text.extend(std::iter::repeat_n(b'x', LONG_LINE_MAX - 3));
        assert_eq!(lex("f", &text, SERVICE).assignments.len(), 1);
    }
}
