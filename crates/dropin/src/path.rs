//! Absolute, normalised paths in unit-file syntax, with systemd specifiers.

use std::fmt;

use crate::error::{Error, Result};
use crate::instance::Instance;

/// The specifiers systemd.unit(5) documents for systemd 257; `%` followed
/// by anything else is refused, and a literal `%` is written `%%`.
pub const SPECIFIERS: &[char] = &[
    'a', 'A', 'b', 'B', 'C', 'd', 'D', 'E', 'f', 'g', 'G', 'h', 'H', 'i', 'I', 'j', 'J', 'l', 'L',
    'm', 'M', 'n', 'N', 'o', 'p', 'P', 'q', 's', 'S', 't', 'T', 'u', 'U', 'v', 'V', 'w', 'W', 'y',
    'Y', '%',
];

/// Linux `PATH_MAX`, counting the terminating NUL.
const PATH_MAX: usize = 4096;

/// An absolute path as it stands in a unit file.
///
/// Construction guarantees what systemd needs to read the path exactly as
/// meant inside a space-separated list such as `BindReadOnlyPaths=`:
/// it starts with `/`; has no empty, `.` or `..` component and no trailing
/// `/`; has no control character, whitespace, quote, backslash or `:`
/// (the bind-spec separator) — such paths are refused rather than escaped;
/// and every `%` starts a known specifier (`%i`, `%n`, …) or is `%%`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitPath(String);

impl UnitPath {
    /// Reads a path in unit-file syntax, where `%i` is a specifier and `%%`
    /// a literal percent sign.
    pub fn new(text: &str) -> Result<Self> {
        validate(text)?;
        Ok(UnitPath(text.to_owned()))
    }

    /// Takes a literal file-system path, escaping `%` as `%%`.
    pub fn literal(path: &str) -> Result<Self> {
        UnitPath::new(&path.replace('%', "%%"))
    }

    /// The path in unit-file syntax.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the path mentions `%i` or `%I`.
    pub fn uses_instance(&self) -> bool {
        // Most paths have no specifier at all: one byte search says so.
        self.0.as_bytes().contains(&b'%') && specifiers(&self.0).any(|c| c == 'i' || c == 'I')
    }

    /// Appends relative components (`a/b`), validating the result.
    pub fn join(&self, relative: &str) -> Result<Self> {
        if relative.starts_with('/') {
            return Err(Error::path(relative, "cannot join an absolute path"));
        }
        if self.0 == "/" {
            UnitPath::new(&format!("/{relative}"))
        } else {
            UnitPath::new(&format!("{}/{relative}", self.0))
        }
    }

    /// Whether `self` is `other` or lies below it, comparing whole
    /// components (`/var/lib2` is not below `/var/lib`).
    pub fn starts_with(&self, other: &UnitPath) -> bool {
        other.0 == "/"
            || self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// Whether the path uses the given specifier (`'i'` for `%i`).
    pub fn uses_specifier(&self, specifier: char) -> bool {
        specifiers(&self.0).any(|c| c == specifier)
    }

    /// Substitutes `%i` (the escaped instance name) and `%I` (the unescaped
    /// one), as systemd would for `unit@instance.service`, and validates the
    /// result: an instance that would turn the path into something else
    /// (`..`, a `:`) is refused, naming the instance.
    pub fn resolve_instance(&self, instance: &Instance) -> Result<Self> {
        let mut out = String::with_capacity(self.0.len());
        let mut chars = self.0.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('i') => out.push_str(&instance.as_str().replace('%', "%%")),
                Some('I') => out.push_str(&instance.unescaped().replace('%', "%%")),
                Some(other) => {
                    out.push('%');
                    out.push(other);
                }
                None => out.push('%'),
            }
        }
        validate(&out).map_err(|e| Error::InvalidInstance {
            value: instance.as_str().to_owned(),
            reason: format!("substituted into {:?} it gives an unsafe path: {e}", self.0),
        })?;
        Ok(UnitPath(out))
    }
}

impl fmt::Display for UnitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for UnitPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        UnitPath::new(s)
    }
}

/// The specifier letters used in `text` (assumed valid).
fn specifiers(text: &str) -> impl Iterator<Item = char> + '_ {
    let mut chars = text.chars();
    std::iter::from_fn(move || {
        while let Some(c) = chars.next() {
            if c == '%' {
                return chars.next();
            }
        }
        None
    })
}

/// Checks that `%` only starts a known specifier or `%%`.
pub(crate) fn check_specifiers(text: &str) -> std::result::Result<(), String> {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some(s) if SPECIFIERS.contains(&s) => {}
                Some(s) => {
                    return Err(format!(
                        "%{s} is not a systemd specifier (write %% for a literal %)"
                    ));
                }
                None => return Err("a trailing % is not a specifier (write %%)".to_owned()),
            }
        }
    }
    Ok(())
}

/// The first character systemd would not read back as written.
pub(crate) fn forbidden_char(text: &str) -> Option<(char, &'static str)> {
    text.chars().find_map(|c| {
        let why = match c {
            '\0' => "a NUL byte",
            '\n' | '\r' => "a line break",
            c if c.is_control() => "a control character",
            c if c.is_whitespace() => "whitespace (list items are separated by spaces)",
            '"' | '\'' => "a quote",
            '\\' => "a backslash (escapes are refused, not interpreted)",
            _ => return None,
        };
        Some((c, why))
    })
}

fn validate(text: &str) -> Result<()> {
    let fail = |reason: String| Err(Error::path(text, reason));
    if text.is_empty() {
        return fail("empty".to_owned());
    }
    if let Some((c, why)) = forbidden_char(text) {
        return fail(format!("contains {why} ({c:?})"));
    }
    if text.contains(':') {
        return fail("contains ':', which separates source and destination in bind specs".into());
    }
    if !text.starts_with('/') {
        return fail("not absolute".to_owned());
    }
    if text.len() >= PATH_MAX {
        return fail(format!("longer than {} bytes", PATH_MAX - 1));
    }
    if text != "/" {
        if text.ends_with('/') {
            return fail("trailing '/'".to_owned());
        }
        for component in text[1..].split('/') {
            match component {
                "" => return fail("empty component ('//')".to_owned()),
                "." | ".." => return fail(format!("'{component}' component")),
                _ => {}
            }
        }
    }
    check_specifiers(text).or_else(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_normal_paths_and_specifiers() {
        for p in [
            "/",
            "/etc/ssl",
            "/var/lib/left4me/runtime/%i",
            "/a/%%literal",
            "/a-b_c.d/e",
        ] {
            assert!(UnitPath::new(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn refuses_what_systemd_would_misread() {
        for p in [
            "", "relative", "/a/../b", "/a/./b", "//a", "/a//b", "/a/", "/a b", "/a\nb", "/a\rb",
            "/a\0b", "/a\tb", "/a\"b", "/a'b", "/a\\x20b", "/a:b", "/a/%z", "/a/%",
        ] {
            assert!(UnitPath::new(p).is_err(), "{p:?} was accepted");
        }
    }

    #[test]
    fn literal_escapes_percent() {
        let p = UnitPath::literal("/srv/100%").unwrap();
        assert_eq!(p.as_str(), "/srv/100%%");
    }

    #[test]
    fn starts_with_compares_components() {
        let lib = UnitPath::new("/var/lib").unwrap();
        assert!(UnitPath::new("/var/lib/x").unwrap().starts_with(&lib));
        assert!(UnitPath::new("/var/lib").unwrap().starts_with(&lib));
        assert!(!UnitPath::new("/var/lib2").unwrap().starts_with(&lib));
        assert!(lib.starts_with(&UnitPath::new("/").unwrap()));
    }

    #[test]
    fn resolves_instances_and_refuses_traversal() {
        let p = UnitPath::new("/run/%i/x").unwrap();
        let one = Instance::new("1").unwrap();
        assert_eq!(p.resolve_instance(&one).unwrap().as_str(), "/run/1/x");
        let dots = Instance::new("..").unwrap();
        let err = p.resolve_instance(&dots).unwrap_err().to_string();
        assert!(err.contains("\"..\""), "{err}");
    }
}
