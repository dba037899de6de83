//! Specifier expansion of unit files: `unit_full_printf_full()` of
//! `src/core/unit-printf.c` over `specifier_printf()` of
//! `src/shared/specifier.c`, for the system manager.
//!
//! Specifiers that depend only on the unit and the system manager
//! (`%i %I %j %J %n %N %p %P %f %y %Y %C %d %D %E %L %S %t %T %V %h %s
//! %u %U %g %G %%`) are expanded as systemd 257 does. Those that depend on
//! the host the unit runs on (`%a %A %b %B %H %l %q %m %M %o %v %w %W`)
//! and the deprecated cgroup ones (`%c %r %R`) cannot be known here:
//! expansion reports them as [`Expansion::HostDependent`].

/// What the specifiers of one unit expand to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// The unit's id, such as `left4me-server@1.service`.
    pub id: String,
    /// Its instance, for an instance of a template.
    pub instance: Option<String>,
    /// The unit's fragment path, for `%y` and `%Y`.
    pub fragment: Option<String>,
}

/// Why expansion failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecifierError {
    /// An unknown specifier letter (`EBADSLT`).
    Unknown,
    /// The result is longer than allowed (`ENAMETOOLONG`).
    TooLong,
    /// A specifier whose value is invalid for this unit (`EINVAL`), such
    /// as `%I` of an instance that does not unescape.
    Invalid,
    /// There is no value (`ENOENT`/`ENXIO`), such as `%y` of a unit with
    /// no fragment.
    NoValue,
}

impl SpecifierError {
    /// `strerror()` of the error.
    pub fn strerror(self) -> &'static str {
        match self {
            SpecifierError::Unknown => "Invalid slot",
            SpecifierError::TooLong => "File name too long",
            SpecifierError::Invalid => "Invalid argument",
            SpecifierError::NoValue => "No such file or directory",
        }
    }
}

/// The result of expanding a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expansion {
    /// Fully expanded.
    Done(String),
    /// Uses specifiers whose value depends on the host; the text is kept.
    HostDependent(String),
}

/// `POSSIBLE_SPECIFIERS`: an unknown specifier among these is an error;
/// any other character after `%` is kept as it is.
fn possible(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'%'
}

/// `unit_name_unescape()`: `-` becomes `/`, `\xNN` the byte NN.
pub fn unescape(f: &str) -> Result<String, SpecifierError> {
    let b = f.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'-' => out.push(b'/'),
            b'\\' => {
                if b.get(i + 1) != Some(&b'x') {
                    return Err(SpecifierError::Invalid);
                }
                let hex = |j: usize| {
                    b.get(j)
                        .and_then(|&c| char::from(c).to_digit(16))
                        .ok_or(SpecifierError::Invalid)
                };
                let v = hex(i + 2)? << 4 | hex(i + 3)?;
                out.push(u8::try_from(v).map_err(|_| SpecifierError::Invalid)?);
                i += 4;
                continue;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| SpecifierError::Invalid)
}

/// `unit_name_path_unescape()`.
fn path_unescape(f: &str) -> Result<String, SpecifierError> {
    if f.is_empty() {
        return Err(SpecifierError::Invalid);
    }
    if f == "-" {
        return Ok("/".to_owned());
    }
    let w = unescape(f)?;
    if w.starts_with('/') || w.ends_with('/') {
        return Err(SpecifierError::Invalid);
    }
    let s = format!("/{w}");
    if !super::path::is_normalized(&s) {
        return Err(SpecifierError::Invalid);
    }
    Ok(s)
}

impl Context {
    /// A context for unit `id` (its instance is derived from the name).
    pub fn new(id: &str, fragment: Option<&str>) -> Context {
        let instance = id
            .split_once('@')
            .and_then(|(_, rest)| rest.rsplit_once('.'))
            .map(|(i, _)| i.to_owned())
            .filter(|i| !i.is_empty());
        Context {
            id: id.to_owned(),
            instance,
            fragment: fragment.map(str::to_owned),
        }
    }

    /// Whether the unit is a template (`foo@.service`): its `%i` and `%I`
    /// stand for any instance and are kept as written (systemd itself
    /// never loads a template on its own).
    pub fn is_template(&self) -> bool {
        self.instance.is_none() && self.id.contains("@.")
    }

    /// `unit_name_to_prefix()`: the part before `@` or the type suffix.
    fn prefix(&self) -> &str {
        let stem = self
            .id
            .rsplit_once('.')
            .map_or(self.id.as_str(), |(s, _)| s);
        stem.split_once('@').map_or(stem, |(p, _)| p)
    }

    fn lookup(&self, c: u8) -> Result<Option<String>, SpecifierError> {
        let s = |v: &str| Ok(Some(v.to_owned()));
        match c {
            b'i' | b'I' if self.is_template() => Ok(Some(format!("%{}", char::from(c)))),
            b'i' => Ok(self.instance.clone()),
            b'I' => unescape(self.instance.as_deref().unwrap_or("")).map(Some),
            b'j' | b'J' => {
                let p = self.prefix();
                let last = p.rsplit_once('-').map_or(p, |(_, l)| l);
                if c == b'J' {
                    unescape(last).map(Some)
                } else {
                    s(last)
                }
            }
            b'n' => s(&self.id),
            b'N' => {
                let stem = self
                    .id
                    .rsplit_once('.')
                    .map_or(self.id.as_str(), |(s, _)| s);
                s(stem)
            }
            b'p' => s(self.prefix()),
            b'P' => unescape(self.prefix()).map(Some),
            b'f' => match &self.instance {
                Some(i) => path_unescape(i).map(Some),
                None => {
                    let stem = self
                        .id
                        .rsplit_once('.')
                        .map_or(self.id.as_str(), |(s, _)| s);
                    path_unescape(stem).map(Some)
                }
            },
            b'y' => self
                .fragment
                .clone()
                .map(Some)
                .ok_or(SpecifierError::NoValue),
            b'Y' => self
                .fragment
                .as_deref()
                .and_then(|f| f.rsplit_once('/'))
                .map(|(d, _)| {
                    Some(if d.is_empty() {
                        "/".to_owned()
                    } else {
                        d.to_owned()
                    })
                })
                .ok_or(SpecifierError::NoValue),
            b'C' => s("/var/cache"),
            b'd' => s(&format!("/run/credentials/{}", self.id)),
            b'D' => s("/usr/share"),
            b'E' => s("/etc"),
            b'L' => s("/var/log"),
            b'S' => s("/var/lib"),
            b't' => s("/run"),
            b'T' => s("/tmp"),
            b'V' => s("/var/tmp"),
            b'h' => s("/root"),
            b's' => s("/bin/sh"),
            b'u' | b'g' => s("root"),
            b'U' | b'G' => s("0"),
            _ => Err(SpecifierError::Unknown),
        }
    }

    /// Whether `c` is a specifier whose value depends on the host.
    fn host_dependent(c: u8) -> bool {
        b"aAbBHlqmMovwWcrR".contains(&c)
    }

    /// `specifier_printf(text, max_length, …)` with the table of
    /// `unit_full_printf_full()`.
    pub fn expand(&self, text: &str, max_length: usize) -> Result<Expansion, SpecifierError> {
        let b = text.as_bytes();
        let mut out: Vec<u8> = Vec::with_capacity(b.len());
        let mut percent = false;
        let mut host = false;
        for &c in b {
            if percent {
                percent = false;
                if c == b'%' {
                    out.push(b'%');
                } else if Context::host_dependent(c) {
                    host = true;
                    out.push(b'%');
                    out.push(c);
                } else {
                    match self.lookup(c) {
                        Ok(Some(v)) => out.extend_from_slice(v.as_bytes()),
                        Ok(None) => {}
                        Err(SpecifierError::Unknown) if !possible(c) => {
                            out.push(b'%');
                            out.push(c);
                        }
                        Err(e) => return Err(e),
                    }
                }
            } else if c == b'%' {
                percent = true;
            } else {
                out.push(c);
            }
            if out.len() > max_length {
                return Err(SpecifierError::TooLong);
            }
        }
        if percent {
            out.push(b'%');
            if out.len() > max_length {
                return Err(SpecifierError::TooLong);
            }
        }
        let text = String::from_utf8(out).map_err(|_| SpecifierError::Invalid)?;
        Ok(if host {
            Expansion::HostDependent(text)
        } else {
            Expansion::Done(text)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(id: &str, text: &str) -> Result<Expansion, SpecifierError> {
        Context::new(id, Some("/etc/systemd/system/a-b@.service")).expand(text, 4095)
    }

    #[test]
    fn expands_unit_specifiers() {
        let done = |s: &str| Ok(Expansion::Done(s.to_owned()));
        assert_eq!(
            x("a-b@x-y.service", "/run/%i:%I:%p:%P:%j:%n:%N"),
            done("/run/x-y:x/y:a-b:a/b:b:a-b@x-y.service:a-b@x-y")
        );
        assert_eq!(x("a-b@x-y.service", "%f"), done("/x/y"));
        assert_eq!(x("a.service", "%i|%%|%!|50%"), done("|%|%!|50%"));
        assert_eq!(x("a.service", "%Q"), Err(SpecifierError::Unknown));
        assert_eq!(
            x("a.service", "%H"),
            Ok(Expansion::HostDependent("%H".into()))
        );
        assert_eq!(
            x("a.service", "%S/%t/%y/%Y"),
            done("/var/lib//run//etc/systemd/system/a-b@.service//etc/systemd/system")
        );
        assert_eq!(
            Context::new("a.service", None).expand(&"x".repeat(10), 9),
            Err(SpecifierError::TooLong)
        );
    }
}
