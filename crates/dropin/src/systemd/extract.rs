//! `extract_first_word()` of `src/basic/extract-word.c`.

/// A list value's leading `~` (the list inverts: a deny list instead of
/// an allow list, or the complement of a set), as every `~`-list parser of
/// systemd reads it (`if (rvalue[0] == '~') { invert = true; rvalue++; }`
/// in `config_parse_capability_set()`, `_syscall_filter()`,
/// `_address_families()`, `_restrict_namespaces()`, …): whether it was
/// there, and the rest.
pub fn split_inverted(value: &str) -> (bool, &str) {
    match value.strip_prefix('~') {
        Some(rest) => (true, rest),
        None => (false, value),
    }
}

/// The flags of `extract_first_word()` that unit-file parsers use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// `EXTRACT_RELAX`: allow unbalanced quotes and eat a trailing backslash.
    pub relax: bool,
    /// `EXTRACT_UNESCAPE_RELAX`: keep unknown escapes and a trailing
    /// backslash verbatim.
    pub unescape_relax: bool,
    /// `EXTRACT_UNESCAPE_SEPARATORS`: `\` before a separator or `\` is
    /// dropped.
    pub unescape_separators: bool,
    /// `EXTRACT_KEEP_QUOTE`: quotes group words and stay.
    pub keep_quote: bool,
    /// `EXTRACT_UNQUOTE`: quotes group words and go.
    pub unquote: bool,
    /// `EXTRACT_DONT_COALESCE_SEPARATORS`: each separator ends a word, so
    /// two in a row give an empty word.
    pub dont_coalesce: bool,
    /// `EXTRACT_RETAIN_ESCAPE`: a backslash is an ordinary character.
    pub retain_escape: bool,
}

impl Flags {
    /// No flags.
    pub const NONE: Flags = Flags {
        relax: false,
        unescape_relax: false,
        unescape_separators: false,
        keep_quote: false,
        unquote: false,
        dont_coalesce: false,
        retain_escape: false,
    };
    /// `EXTRACT_UNQUOTE`.
    pub const UNQUOTE: Flags = Flags {
        unquote: true,
        ..Flags::NONE
    };
    /// `EXTRACT_UNQUOTE | EXTRACT_DONT_COALESCE_SEPARATORS`.
    pub const UNQUOTE_DONT_COALESCE: Flags = Flags {
        unquote: true,
        dont_coalesce: true,
        ..Flags::NONE
    };
    /// `EXTRACT_DONT_COALESCE_SEPARATORS`.
    pub const DONT_COALESCE: Flags = Flags {
        dont_coalesce: true,
        ..Flags::NONE
    };
}

/// Why a word could not be extracted (systemd returns `-EINVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invalid;

/// A cursor over a value, like the `const char **p` systemd passes around:
/// `None` once the input is used up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor<'a> {
    rest: Option<&'a [u8]>,
    /// The separator that ended the last word, if one did (`p[-1]`).
    last_separator: Option<u8>,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `text`.
    pub fn new(text: &'a str) -> Cursor<'a> {
        Cursor {
            rest: Some(text.as_bytes()),
            last_separator: None,
        }
    }

    /// Whether the cursor is used up (`*p == NULL`).
    pub fn is_done(&self) -> bool {
        self.rest.is_none()
    }

    /// The byte just before the cursor was the separator `c` (systemd's
    /// `p && p[-1] == c`).
    pub fn after_separator(&self, c: u8) -> bool {
        self.rest.is_some() && self.last_separator == Some(c)
    }

    /// What is left, as text.
    pub fn rest(&self) -> &'a str {
        // The cursor only ever stops at an ASCII byte or the end, so the
        // rest of a `str` is a `str`.
        self.rest
            .and_then(|r| std::str::from_utf8(r).ok())
            .unwrap_or("")
    }

    /// `extract_first_word(&p, &word, separators, flags)`: `Ok(None)` when
    /// there is no word left (systemd's 0), `Err` for unbalanced quotes or
    /// a bad escape (`-EINVAL`). `separators` defaults to whitespace.
    pub fn next_word(
        &mut self,
        separators: Option<&[u8]>,
        flags: Flags,
    ) -> Result<Option<String>, Invalid> {
        let seps = separators.unwrap_or(super::super::lexer::WHITESPACE);
        let Some(input) = self.rest else {
            return Ok(None);
        };
        let mut i = 0usize;
        let mut out: Option<Vec<u8>> = if flags.dont_coalesce {
            Some(Vec::new())
        } else {
            None
        };
        let byte = |i: usize| input.get(i).copied().unwrap_or(0);
        // Skip leading separators.
        loop {
            let c = byte(i);
            if c == 0 {
                return Ok(self.finish_terminate(out));
            }
            if seps.contains(&c) {
                if flags.dont_coalesce {
                    i += 1;
                    return Ok(self.finish_next(input, i, Some(c), out));
                }
                i += 1;
                continue;
            }
            out.get_or_insert_with(Vec::new);
            break;
        }
        let s = out.get_or_insert_with(Vec::new);
        let mut quote: u8 = 0;
        let mut backslash = false;
        loop {
            let c = byte(i);
            if backslash {
                if c == 0 {
                    if flags.unescape_relax && (quote == 0 || flags.relax) {
                        s.push(b'\\');
                        let word = std::mem::take(s);
                        return Ok(self.finish_terminate(Some(word)));
                    }
                    if flags.relax {
                        let word = std::mem::take(s);
                        return Ok(self.finish_terminate(Some(word)));
                    }
                    return Err(Invalid);
                }
                if flags.unescape_separators {
                    if seps.contains(&c) || c == b'\\' {
                        s.push(c);
                    } else if flags.unescape_relax {
                        s.push(b'\\');
                        s.push(c);
                    } else {
                        return Err(Invalid);
                    }
                } else {
                    s.push(c);
                }
                backslash = false;
                i += 1;
                continue;
            }
            if quote != 0 {
                loop {
                    let c = byte(i);
                    if c == 0 {
                        if flags.relax {
                            let word = std::mem::take(s);
                            return Ok(self.finish_terminate(Some(word)));
                        }
                        return Err(Invalid);
                    } else if c == quote {
                        quote = 0;
                        if flags.unquote {
                            break;
                        }
                    } else if c == b'\\' && !flags.retain_escape {
                        backslash = true;
                        break;
                    }
                    s.push(c);
                    if quote == 0 {
                        break;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            loop {
                let c = byte(i);
                if c == 0 {
                    let word = std::mem::take(s);
                    return Ok(self.finish_terminate(Some(word)));
                } else if (c == b'\'' || c == b'"') && (flags.keep_quote || flags.unquote) {
                    quote = c;
                    if flags.unquote {
                        break;
                    }
                } else if c == b'\\' && !flags.retain_escape {
                    backslash = true;
                    break;
                } else if seps.contains(&c) {
                    if flags.dont_coalesce {
                        let word = std::mem::take(s);
                        return Ok(self.finish_next(input, i + 1, Some(c), Some(word)));
                    }
                    let sep = c;
                    let mut j = i;
                    loop {
                        let c = byte(j);
                        if c == 0 {
                            let word = std::mem::take(s);
                            return Ok(self.finish_terminate(Some(word)));
                        }
                        if !seps.contains(&c) {
                            break;
                        }
                        j += 1;
                    }
                    let word = std::mem::take(s);
                    // `finish`: the cursor rests on the next word; p[-1] is
                    // the last separator skipped.
                    let last = if j > 0 { byte(j - 1) } else { sep };
                    return Ok(self.finish_next(input, j, Some(last), Some(word)));
                }
                s.push(c);
                if quote != 0 {
                    break;
                }
                i += 1;
            }
            i += 1;
        }
    }

    fn finish_terminate(&mut self, word: Option<Vec<u8>>) -> Option<String> {
        self.rest = None;
        self.last_separator = None;
        word.map(into_string)
    }

    fn finish_next(
        &mut self,
        input: &'a [u8],
        at: usize,
        sep: Option<u8>,
        word: Option<Vec<u8>>,
    ) -> Option<String> {
        self.rest = Some(input.get(at..).unwrap_or(&[]));
        self.last_separator = sep;
        word.map(into_string)
    }
}

pub(crate) fn into_string(bytes: Vec<u8>) -> String {
    // Words are cut at ASCII bytes of valid UTF-8 input, and escapes only
    // drop ASCII backslashes, so they stay UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Every word of `text` with the given separators and flags, as systemd's
/// loops over `extract_first_word()` see them, stopping at the first
/// invalid one (returned as `Err` after the words before it).
pub fn words(
    text: &str,
    separators: Option<&[u8]>,
    flags: Flags,
) -> (Vec<String>, Option<Invalid>) {
    let mut c = Cursor::new(text);
    let mut out = Vec::new();
    loop {
        match c.next_word(separators, flags) {
            Ok(Some(w)) => out.push(w),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str, flags: Flags) -> (Vec<String>, bool) {
        let (words, err) = words(text, None, flags);
        (words, err.is_some())
    }

    #[test]
    fn whitespace_and_quotes() {
        assert_eq!(
            w("  a  b ", Flags::NONE),
            (vec!["a".into(), "b".into()], false)
        );
        assert_eq!(
            w("'a b' \"c\"d", Flags::UNQUOTE),
            (vec!["a b".into(), "cd".into()], false)
        );
        assert_eq!(
            w("'a b' c", Flags::NONE),
            (vec!["'a".into(), "b'".into(), "c".into()], false)
        );
        assert_eq!(w("'a b", Flags::UNQUOTE), (vec![], true));
        assert_eq!(w("a\\ b", Flags::NONE), (vec!["a b".into()], false));
        assert_eq!(w("a\\", Flags::NONE), (vec![], true));
        assert_eq!(
            w(
                "a\\ b",
                Flags {
                    retain_escape: true,
                    ..Flags::NONE
                }
            ),
            (vec!["a\\".into(), "b".into()], false)
        );
    }

    #[test]
    fn dont_coalesce_gives_empty_words() {
        let (words, err) = words("a  b", None, Flags::DONT_COALESCE);
        assert_eq!(words, ["a", "", "b"]);
        assert!(err.is_none());
    }

    #[test]
    fn separator_tracking() {
        let mut c = Cursor::new("/a:/b:ro /c");
        let seps: &[u8] = b": \t\n\r";
        assert_eq!(
            c.next_word(Some(seps), Flags::UNQUOTE_DONT_COALESCE),
            Ok(Some("/a".into()))
        );
        assert!(c.after_separator(b':'));
        assert_eq!(
            c.next_word(Some(seps), Flags::UNQUOTE_DONT_COALESCE),
            Ok(Some("/b".into()))
        );
        assert!(c.after_separator(b':'));
        assert_eq!(c.next_word(None, Flags::UNQUOTE), Ok(Some("ro".into())));
        assert_eq!(
            c.next_word(Some(seps), Flags::UNQUOTE_DONT_COALESCE),
            Ok(Some("/c".into()))
        );
        assert!(!c.after_separator(b':'));
        assert!(c.is_done());
    }
}
