//! Unit and instance names, validated by systemd's unit-name rules.

use std::fmt;

use crate::error::{Error, Result};

/// systemd's `UNIT_NAME_MAX` is 256 bytes including the NUL.
pub const UNIT_NAME_MAX: usize = 255;

/// The characters systemd allows in a unit name prefix or instance
/// (`VALID_CHARS` in systemd's `unit-name.c`); instances also allow `@`.
fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.' | '\\')
}

/// An instance name, the `N` of `left4me-server@N.service`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instance(String);

impl Instance {
    /// Validates an instance name by systemd's rules: not empty, only
    /// `[A-Za-z0-9:_.\-\\@]`, short enough to fit a unit name.
    pub fn new(name: &str) -> Result<Self> {
        let fail = |reason: String| {
            Err(Error::InvalidInstance {
                value: name.to_owned(),
                reason,
            })
        };
        if name.is_empty() {
            return fail("empty".to_owned());
        }
        if let Some(c) = name.chars().find(|&c| !(valid_char(c) || c == '@')) {
            return fail(format!(
                "{c:?} is not allowed (systemd allows letters, digits and \":-_.\\@\")"
            ));
        }
        // The shortest unit it can be part of is "a@NAME.service".
        if name.len() + "a@.service".len() > UNIT_NAME_MAX {
            return fail(format!(
                "longer than a unit name allows ({UNIT_NAME_MAX} bytes)"
            ));
        }
        Ok(Instance(name.to_owned()))
    }

    /// The instance as written in the unit name (what `%i` expands to).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The unescaped instance (what `%I` expands to): `-` becomes `/` and
    /// `\xNN` the byte NN. Escapes that do not decode to UTF-8 are kept.
    pub fn unescaped(&self) -> String {
        let bytes = self.0.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'-' => out.push(b'/'),
                b'\\' if bytes.get(i + 1) == Some(&b'x') => {
                    let hex = bytes
                        .get(i + 2..i + 4)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 4;
                            continue;
                        }
                        None => out.push(b'\\'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap_or_else(|_| self.0.clone())
    }
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Instance {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Instance::new(s)
    }
}

/// A unit name such as `left4me-web.service` or `left4me-server@.service`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitName {
    prefix: String,
    template: bool,
    instance: Option<Instance>,
    suffix: String,
}

/// Unit type suffixes systemd knows.
const UNIT_SUFFIXES: &[&str] = &[
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
];

impl UnitName {
    /// Parses `prefix.suffix`, `prefix@.suffix` or `prefix@instance.suffix`.
    pub fn new(name: &str) -> Result<Self> {
        let fail = |reason: &str| {
            Err(Error::InvalidUnitName {
                value: name.to_owned(),
                reason: reason.to_owned(),
            })
        };
        if name.len() > UNIT_NAME_MAX {
            return fail("longer than 255 bytes");
        }
        let Some((stem, suffix)) = name.rsplit_once('.') else {
            return fail("no unit type suffix");
        };
        if !UNIT_SUFFIXES.contains(&suffix) {
            return fail("unknown unit type suffix");
        }
        let (prefix, template, instance) = match stem.split_once('@') {
            None => (stem, false, None),
            Some((p, "")) => (p, true, None),
            Some((p, i)) => (p, false, Some(Instance::new(i)?)),
        };
        if prefix.is_empty() {
            return fail("empty prefix");
        }
        if !prefix.chars().all(valid_char) {
            return fail("prefix has a character systemd does not allow");
        }
        Ok(UnitName {
            prefix: prefix.to_owned(),
            template,
            instance,
            suffix: suffix.to_owned(),
        })
    }

    /// Whether this is a template (`name@.service`).
    pub fn is_template(&self) -> bool {
        self.template
    }

    /// The instance, for an instantiated unit.
    pub fn instance(&self) -> Option<&Instance> {
        self.instance.as_ref()
    }

    /// The template of an instantiated unit: `left4me-server@1.service`
    /// gives `left4me-server@.service`; other units have none.
    pub fn template(&self) -> Option<UnitName> {
        self.instance.as_ref().map(|_| UnitName {
            prefix: self.prefix.clone(),
            template: true,
            instance: None,
            suffix: self.suffix.clone(),
        })
    }

    /// The instance of this template: `left4me-server@.service` with `1`
    /// gives `left4me-server@1.service`.
    pub fn with_instance(&self, instance: &Instance) -> Result<Self> {
        if !self.template {
            return Err(Error::InvalidUnitName {
                value: self.to_string(),
                reason: "not a template, so it has no instances".to_owned(),
            });
        }
        UnitName::new(&format!(
            "{}@{}.{}",
            self.prefix,
            instance.as_str(),
            self.suffix
        ))
        .map_err(|e| Error::InvalidInstance {
            value: instance.as_str().to_owned(),
            reason: e.to_string(),
        })
    }
}

impl fmt::Display for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prefix)?;
        if self.template {
            f.write_str("@")?;
        }
        if let Some(i) = &self.instance {
            write!(f, "@{i}")?;
        }
        write!(f, ".{}", self.suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_rules() {
        for ok in ["1", "eu-west.2", "a:b", "x\\x2d", "a@b"] {
            assert!(Instance::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "a b", "é", "a\n", &"9".repeat(250)] {
            assert!(Instance::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unescape_follows_systemd() {
        assert_eq!(Instance::new("a-b\\x2dc").unwrap().unescaped(), "a/b-c");
    }

    #[test]
    fn unit_names() {
        let t = UnitName::new("left4me-server@.service").unwrap();
        assert!(t.is_template());
        let one = t.with_instance(&Instance::new("1").unwrap()).unwrap();
        assert_eq!(one.to_string(), "left4me-server@1.service");
        assert_eq!(one.template(), Some(t.clone()));
        assert_eq!(t.template(), None);
        assert!(UnitName::new("web").is_err());
        assert!(UnitName::new("we b.service").is_err());
        assert!(UnitName::new("web.servic").is_err());
        let long = format!("s@{}.service", "1".repeat(240));
        assert!(
            t.with_instance(&Instance::new(&"1".repeat(240)).unwrap())
                .is_err(),
            "{long}"
        );
    }
}
