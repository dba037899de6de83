//! Small, strict helpers for reading C source text.

use std::path::Path;

use crate::{Error, Result};

/// Reads a file of the source tree as UTF-8.
pub(crate) fn read(root: &Path, rel: &str) -> Result<String> {
    let path = root.join(rel);
    std::fs::read_to_string(&path).map_err(|source| Error::Io { path, source })
}

/// Removes `/* */` and `//` comments, keeping string and character
/// literals intact and every line break (so line numbers stay right).
pub(crate) fn strip_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut start = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => {
                let quote = b[i];
                i += 1;
                while i < b.len() && b[i] != quote && b[i] != b'\n' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                out.push_str(&text[start..i]);
                let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                // Keep the line breaks of the comment; a comment is a space.
                out.push(' ');
                out.extend(text[i..end].chars().filter(|c| *c == '\n'));
                i = end;
                start = i;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                out.push_str(&text[start..i]);
                i = text[i..].find('\n').map_or(b.len(), |e| i + e);
                start = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[start.min(b.len())..]);
    out
}

/// The text between the brace that opens at `open` (which must be `{`)
/// and its matching `}`; returns (inner text, index after the `}`).
pub(crate) fn balanced<'a>(
    text: &'a str,
    open: usize,
    file: &str,
    what: &str,
) -> Result<(&'a str, usize)> {
    let b = text.as_bytes();
    let (o, c) = match b.get(open) {
        Some(b'{') => (b'{', b'}'),
        Some(b'(') => (b'(', b')'),
        _ => return Err(Error::shape(file, what, "expected an opening brace")),
    };
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => {
                let quote = b[i];
                i += 1;
                while i < b.len() && b[i] != quote {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            x if x == o => depth += 1,
            x if x == c => {
                depth -= 1;
                if depth == 0 {
                    return Ok((&text[open + 1..i], i + 1));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(Error::shape(file, what, "unbalanced braces"))
}

/// Splits at commas that are not inside parentheses, braces, brackets or
/// literals. Pieces are trimmed; a trailing empty piece is dropped.
pub(crate) fn split_top_level(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => {
                let quote = b[i];
                i += 1;
                while i < b.len() && b[i] != quote {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' => depth -= 1,
            b',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let last = text[start..].trim();
    if !last.is_empty() {
        parts.push(last);
    }
    parts
}

/// Decodes a sequence of adjacent C string literals (`"a" "b\0"`) into
/// its bytes as a string. Anything else than literals and whitespace is
/// refused.
pub(crate) fn c_strings(text: &str, file: &str, what: &str) -> Result<String> {
    let mut out = String::new();
    let mut chars = text.trim().chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c != '"' {
            return Err(Error::shape(
                file,
                what,
                format!("expected a string literal, found {:?}", text.trim()),
            ));
        }
        any = true;
        loop {
            match chars.next() {
                None => return Err(Error::shape(file, what, "unterminated string literal")),
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('0') => out.push('\0'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('\'') => out.push('\''),
                    other => {
                        return Err(Error::shape(
                            file,
                            what,
                            format!("unsupported escape \\{}", other.unwrap_or(' ')),
                        ));
                    }
                },
                Some(ch) => out.push(ch),
            }
        }
    }
    if !any {
        return Err(Error::shape(file, what, "expected a string literal"));
    }
    Ok(out)
}

/// Collapses runs of whitespace to one space.
pub(crate) fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Finds the body of the C function `name` defined in `text` (comments
/// already stripped): the text between its braces.
pub(crate) fn function_body<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(pos) = text[from..].find(name) {
        let at = from + pos;
        from = at + name.len();
        let before_ok = at == 0 || !is_ident(text.as_bytes()[at - 1]);
        let rest = &text[from..];
        let after = rest.trim_start();
        if !before_ok || !after.starts_with('(') {
            continue;
        }
        // A definition: the parameter list is followed by `{`, not `;`.
        let paren = text.len() - after.len();
        let Ok((_, end)) = balanced(text, paren, "", "") else {
            continue;
        };
        let tail = text[end..].trim_start();
        if tail.starts_with('{') {
            let open = text.len() - tail.len();
            if let Ok((body, _)) = balanced(text, open, "", "") {
                return Some(body);
            }
        }
    }
    None
}

/// Is `c` a byte of a C identifier?
pub(crate) fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The positions where `word` occurs as a whole identifier.
pub(crate) fn word_positions<'a>(text: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    let b = text.as_bytes();
    text.match_indices(word).map(|(i, _)| i).filter(move |&i| {
        (i == 0 || !is_ident(b[i - 1])) && b.get(i + word.len()).is_none_or(|c| !is_ident(*c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_go_literals_stay() {
        let s = strip_comments("a /* x\ny */ b // c\n\"/* not */\" 'x'");
        assert_eq!(s, "a  \n b \n\"/* not */\" 'x'");
    }

    #[test]
    fn splits_at_top_level_commas() {
        assert_eq!(
            split_top_level("A.B, f, 0, offsetof(S, c.d),"),
            vec!["A.B", "f", "0", "offsetof(S, c.d)"]
        );
    }

    #[test]
    fn decodes_nulstr() {
        assert_eq!(
            c_strings("\"a\\0\"\n \"b\\0\"", "f", "w").unwrap(),
            "a\0b\0"
        );
        assert!(c_strings("\"a\" X", "f", "w").is_err());
    }

    #[test]
    fn finds_function_bodies() {
        let src = "int f(void);\nint f(int a) { if (a) { return 1; } return 0; }";
        assert_eq!(
            function_body(src, "f").unwrap().trim(),
            "if (a) { return 1; } return 0;"
        );
    }
}
