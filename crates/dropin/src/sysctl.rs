//! sysctl.d(5) files: typed keys and values, rendered deterministically.

use std::fmt;

use crate::compose::Provenance;
use crate::error::{Error, Result};
use crate::path::forbidden_char;

/// A kernel parameter name such as `kernel.yama.ptrace_scope`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SysctlKey(String);

impl SysctlKey {
    /// Validates dot-separated components of `[a-z0-9_-]`.
    pub fn new(key: &str) -> Result<Self> {
        let ok = !key.is_empty()
            && key.split('.').all(|c| {
                !c.is_empty()
                    && c.chars().all(|ch| {
                        ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-'
                    })
            });
        if !ok {
            return Err(Error::InvalidSysctl {
                what: "key",
                value: key.to_owned(),
                reason: "expected dot-separated lowercase components".to_owned(),
            });
        }
        Ok(SysctlKey(key.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A value: one line of printable text without leading or trailing space.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SysctlValue(String);

impl SysctlValue {
    /// Validates a value.
    pub fn new(value: &str) -> Result<Self> {
        let bad = |reason: &str| {
            Err(Error::InvalidSysctl {
                what: "value",
                value: value.to_owned(),
                reason: reason.to_owned(),
            })
        };
        if value.is_empty() || value.trim() != value {
            return bad("empty, or leading or trailing whitespace");
        }
        if let Some((_, why)) = forbidden_char(value).filter(|(c, _)| c.is_control()) {
            return bad(why);
        }
        Ok(SysctlValue(value.to_owned()))
    }
}

/// One setting with its provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysctlSetting {
    /// The parameter.
    pub key: SysctlKey,
    /// Its value.
    pub value: SysctlValue,
    /// Why it is set.
    pub provenance: Provenance,
}

/// A sysctl.d file: settings in the order given.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SysctlFile {
    /// The settings.
    pub settings: Vec<SysctlSetting>,
}

impl SysctlFile {
    /// Adds a setting; a key may appear once.
    pub fn set(mut self, key: &str, value: &str, provenance: Provenance) -> Result<Self> {
        let key = SysctlKey::new(key)?;
        if self.settings.iter().any(|s| s.key == key) {
            return Err(Error::InvalidSysctl {
                what: "key",
                value: key.0,
                reason: "set twice".to_owned(),
            });
        }
        self.settings.push(SysctlSetting {
            key,
            value: SysctlValue::new(value)?,
            provenance,
        });
        Ok(self)
    }

    /// Renders the file: header comment, then each setting with its
    /// provenance comment when `comments` is set.
    pub fn render(&self, header: &[String], comments: bool) -> String {
        let mut out = String::new();
        // Comments go through the drop-in renderer's, which keeps a line
        // break or control character in a reason from starting a setting.
        for h in header {
            crate::render::comment(&mut out, h);
        }
        for s in &self.settings {
            if comments {
                crate::render::comment(
                    &mut out,
                    &format!("{}: {}", s.provenance.origin, s.provenance.reason),
                );
            }
            out.push_str(&format!("{}={}\n", s.key.0, s.value.0));
        }
        out
    }
}

impl fmt::Display for SysctlKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for SysctlValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values() {
        let p = Provenance::new("t", "r");
        let f = SysctlFile::default()
            .set("kernel.yama.ptrace_scope", "2", p.clone())
            .unwrap();
        assert_eq!(f.render(&[], false), "kernel.yama.ptrace_scope=2\n");
        assert!(
            f.clone()
                .set("kernel.yama.ptrace_scope", "1", p.clone())
                .is_err()
        );
        for k in ["", "Kernel.x", "a..b", "a b", "a=b", "a\nb"] {
            assert!(SysctlKey::new(k).is_err(), "{k:?}");
        }
        for v in ["", " 2", "2\n", "a\0"] {
            assert!(SysctlValue::new(v).is_err(), "{v:?}");
        }
    }
}
