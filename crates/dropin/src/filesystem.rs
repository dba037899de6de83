//! Filesystem view: protected system trees, tmpfs overlays and bind mounts.

use std::fmt;

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::keyword::keywords;
use crate::path::UnitPath;

keywords! {
    /// `ProtectSystem=`.
    ProtectSystem("ProtectSystem") {
        /// No protection.
        No = "no",
        /// `/usr` and the boot loader directories read-only.
        Yes = "yes",
        /// Also `/etc` read-only.
        Full = "full",
        /// The whole file system read-only except the API file systems.
        Strict = "strict" since 232,
    }
    bool { yes: Yes, no: No }
}

/// Splits a leading `-` ("ignore if missing") off a list item.
fn split_dash(text: &str) -> (bool, &str) {
    match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    }
}

/// One item of `ReadOnlyPaths=`/`ReadWritePaths=`: a path, optionally
/// prefixed with `-` so that a missing path is ignored.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathSpec {
    /// `-`: ignore the path if it does not exist.
    pub ignore_missing: bool,
    /// The path.
    pub path: UnitPath,
}

impl PathSpec {
    /// A path that must exist.
    pub fn new(path: UnitPath) -> Self {
        PathSpec {
            ignore_missing: false,
            path,
        }
    }

    pub(crate) fn parse(directive: &str, text: &str) -> Result<Self> {
        let (ignore_missing, rest) = split_dash(text);
        if rest.starts_with('+') {
            return Err(Error::value(
                directive,
                text,
                "'+' (relative to RootDirectory=) is not supported",
            ));
        }
        Ok(PathSpec {
            ignore_missing,
            path: UnitPath::new(rest)?,
        })
    }

    pub(crate) fn resolve_instance(&self, instance: &Instance) -> Result<Self> {
        Ok(PathSpec {
            ignore_missing: self.ignore_missing,
            path: self.path.resolve_instance(instance)?,
        })
    }
}

impl fmt::Display for PathSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ignore_missing {
            f.write_str("-")?;
        }
        write!(f, "{}", self.path)
    }
}

keywords! {
    /// The options field of a bind spec.
    BindOption("BindPaths") {
        /// Recursive bind mount (the default).
        Rbind = "rbind",
        /// Non-recursive bind mount.
        Norbind = "norbind",
    }
}

/// One item of `BindPaths=`/`BindReadOnlyPaths=`: `[-]SOURCE[:DEST[:OPTIONS]]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BindSpec {
    /// `-`: ignore the bind if the source does not exist.
    pub ignore_missing: bool,
    /// What is mounted.
    pub source: UnitPath,
    /// Where it is mounted, if not at the same path.
    pub destination: Option<UnitPath>,
    /// `rbind` or `norbind`; needs a destination.
    pub option: Option<BindOption>,
}

impl BindSpec {
    /// Binds `path` onto itself.
    pub fn same(path: UnitPath) -> Self {
        BindSpec {
            ignore_missing: false,
            source: path,
            destination: None,
            option: None,
        }
    }

    /// Where the bind appears in the service's view.
    pub fn target(&self) -> &UnitPath {
        self.destination.as_ref().unwrap_or(&self.source)
    }

    pub(crate) fn parse(directive: &str, text: &str) -> Result<Self> {
        let (ignore_missing, rest) = split_dash(text);
        let mut parts = rest.split(':');
        let source = UnitPath::new(parts.next().unwrap_or_default())?;
        let destination = parts.next().map(UnitPath::new).transpose()?;
        let option = parts
            .next()
            .map(|o| {
                o.parse::<BindOption>()
                    .map_err(|_| Error::value(directive, text, "options must be rbind or norbind"))
            })
            .transpose()?;
        if parts.next().is_some() {
            return Err(Error::value(directive, text, "too many ':' fields"));
        }
        Ok(BindSpec {
            ignore_missing,
            source,
            destination,
            option,
        })
    }

    pub(crate) fn resolve_instance(&self, instance: &Instance) -> Result<Self> {
        Ok(BindSpec {
            ignore_missing: self.ignore_missing,
            source: self.source.resolve_instance(instance)?,
            destination: self
                .destination
                .as_ref()
                .map(|d| d.resolve_instance(instance))
                .transpose()?,
            option: self.option,
        })
    }
}

impl fmt::Display for BindSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ignore_missing {
            f.write_str("-")?;
        }
        write!(f, "{}", self.source)?;
        match (&self.destination, self.option) {
            (Some(d), Some(o)) => write!(f, ":{d}:{o}"),
            (Some(d), None) => write!(f, ":{d}"),
            (None, Some(o)) => write!(f, ":{}:{o}", self.source),
            (None, None) => Ok(()),
        }
    }
}

/// Mount options of a `TemporaryFileSystem=` item, such as `ro,mode=0755`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MountOptions(String);

impl MountOptions {
    /// Validates a comma-separated list of mount options.
    pub fn new(text: &str) -> Result<Self> {
        let ok_char =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '=' | '.' | '+' | '-');
        if text
            .split(',')
            .any(|o| o.is_empty() || !o.chars().all(ok_char))
        {
            return Err(Error::value(
                "TemporaryFileSystem",
                text,
                "mount options are comma-separated words like ro or mode=0755",
            ));
        }
        Ok(MountOptions(text.to_owned()))
    }

    /// The options as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One item of `TemporaryFileSystem=`: `PATH[:OPTIONS]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TmpfsSpec {
    /// Where the empty tmpfs is mounted.
    pub path: UnitPath,
    /// Mount options, if any.
    pub options: Option<MountOptions>,
}

impl TmpfsSpec {
    /// An empty tmpfs at `path` with default options.
    pub fn new(path: UnitPath) -> Self {
        TmpfsSpec {
            path,
            options: None,
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self> {
        let (path, options) = match text.split_once(':') {
            Some((p, o)) => (p, Some(MountOptions::new(o)?)),
            None => (text, None),
        };
        Ok(TmpfsSpec {
            path: UnitPath::new(path)?,
            options,
        })
    }

    pub(crate) fn resolve_instance(&self, instance: &Instance) -> Result<Self> {
        Ok(TmpfsSpec {
            path: self.path.resolve_instance(instance)?,
            options: self.options.clone(),
        })
    }
}

impl fmt::Display for TmpfsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(o) = &self.options {
            write!(f, ":{}", o.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_specs_round_trip() {
        for text in [
            "/a",
            "-/a",
            "/a:/b",
            "-/a:/b:norbind",
            "/var/lib/left4me/runtime/%i",
        ] {
            let b = BindSpec::parse("BindPaths", text).unwrap();
            assert_eq!(b.to_string(), text);
        }
        for bad in ["a", "/a:b", "/a:/b:ro", "/a:/b:rbind:x", "/a:", "--/a"] {
            assert!(BindSpec::parse("BindPaths", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tmpfs_specs() {
        assert_eq!(
            TmpfsSpec::parse("/etc:ro,mode=0755").unwrap().to_string(),
            "/etc:ro,mode=0755"
        );
        assert!(TmpfsSpec::parse("/etc:").is_err());
        assert!(TmpfsSpec::parse("/etc:ro,,x").is_err());
        assert!(TmpfsSpec::parse("/etc:a b").is_err());
    }
}
