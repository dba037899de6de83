//! Filesystem view: protected system trees, tmpfs overlays and bind mounts.

use std::fmt;

use crate::directive::{Directive, Merge};
use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::keyword::keywords;
use crate::kind::{Apply, Shown, ValueKind, Verdict};
use crate::path::UnitPath;
use crate::systemd::extract::{Cursor, Flags};
use crate::systemd::path::simplify_absolute;

keywords! {
    /// `ProtectSystem=`.
    ProtectSystem(Directive::ProtectSystem) {
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
    kind {
        table: ["no", "yes", "full", "strict"],
        yes: "yes",
        describe: "yes, full, strict or no",
        samples: ["true", "full", "strict", "false"],
    }
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
    BindOption(Directive::BindPaths) {
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
                Directive::TemporaryFileSystem.name(),
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

/// Writes words separated by single spaces, without collecting them.
pub(crate) fn words<'a>(
    f: &mut fmt::Formatter<'_>,
    items: impl IntoIterator<Item = &'a str>,
) -> fmt::Result {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        f.write_str(item)?;
    }
    Ok(())
}

/// Writes list items separated by single spaces.
pub(crate) fn join<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// Declares a list value: a newtype over `Vec<ITEM>` that renders its
/// items space-separated and splits into one value per item.
macro_rules! item_list {
    ($(#[$m:meta])* $name:ident($item:ty)) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub Vec<$item>);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                $crate::filesystem::join(f, &self.0)
            }
        }
    };
}

pub(crate) use item_list;

item_list!(
    /// `ReadOnlyPaths=`, `ReadWritePaths=` and friends: a list of paths.
    PathList(PathSpec)
);
item_list!(
    /// `TemporaryFileSystem=`: a list of tmpfs mounts.
    TmpfsList(TmpfsSpec)
);
item_list!(
    /// `BindPaths=`, `BindReadOnlyPaths=`: a list of bind mounts.
    BindList(BindSpec)
);

/// Warns as systemd does when a line's words cannot be split.
fn extract_failed(cx: &mut Apply<'_>, what: &str) {
    cx.warn(format!("Failed to extract first word, ignoring: {what}"));
}

impl ValueKind for PathList {
    type Value = PathList;
    /// The items as systemd holds them: `-` and `+` prefixes kept,
    /// specifiers expanded, paths simplified.
    type State = Vec<String>;
    const DESCRIBE: &'static str = "absolute paths, optionally -prefixed";
    const SAMPLES: &'static [&'static str] = &["/var/lib/left4me", "-/srv/missing /opt/%i"];
    const ACCEPTS_EMPTY: bool = true;
    const MERGE: Merge = Merge::List;

    fn parse(directive: Directive, text: &str) -> Result<PathList> {
        text.split_whitespace()
            .map(|p| PathSpec::parse(directive.name(), p))
            .collect::<Result<_>>()
            .map(PathList)
    }

    fn items(value: &PathList) -> Vec<PathList> {
        value.0.iter().map(|p| PathList(vec![p.clone()])).collect()
    }

    fn uses_instance(value: &PathList) -> bool {
        value.0.iter().any(|p| p.path.uses_instance())
    }

    fn resolve_instance(value: &PathList, instance: &Instance) -> Result<PathList> {
        value
            .0
            .iter()
            .map(|p| p.resolve_instance(instance))
            .collect::<Result<_>>()
            .map(PathList)
    }

    /// `config_parse_namespace_path_strv()`.
    fn apply(state: &mut Vec<String>, cx: &mut Apply<'_>, rvalue: &str) {
        if rvalue.is_empty() {
            state.clear();
            return;
        }
        let mut words = Cursor::new(rvalue);
        loop {
            let word = match words.next_word(None, Flags::UNQUOTE) {
                Ok(Some(w)) => w,
                Ok(None) => return,
                Err(_) => return extract_failed(cx, rvalue),
            };
            let (ignore, w) = match word.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, word.as_str()),
            };
            let (plus, w) = match w.strip_prefix('+') {
                Some(r) => (true, r),
                None => (false, w),
            };
            let resolved = match cx.path_printf(w) {
                Ok(r) => r,
                Err(e) => {
                    cx.warn(format!(
                        "Failed to resolve unit specifiers in {w}: {}",
                        e.strerror()
                    ));
                    continue;
                }
            };
            match simplify_absolute(&resolved, cx.lvalue) {
                Ok(p) => state.push(format!(
                    "{}{}{p}",
                    if ignore { "-" } else { "" },
                    if plus { "+" } else { "" }
                )),
                Err(m) => cx.warn(m),
            }
        }
    }

    fn show(
        _directive: Directive,
        state: &Vec<String>,
        reset: bool,
        shown: Shown<'_>,
    ) -> (Verdict, Option<String>) {
        crate::show::list(state, reset, shown.last())
    }

    fn lines(state: &Vec<String>, _directive: Directive) -> Vec<String> {
        state.clone()
    }
}

/// One tmpfs as systemd holds it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TmpfsMount {
    /// Where.
    pub path: String,
    /// Mount options (empty: none).
    pub options: String,
}

impl ValueKind for TmpfsList {
    type Value = TmpfsList;
    type State = Vec<TmpfsMount>;
    const DESCRIBE: &'static str = "PATH[:OPTIONS] items";
    const SAMPLES: &'static [&'static str] = &["/var/lib /etc", "/srv:ro,mode=0755"];
    const ACCEPTS_EMPTY: bool = true;
    const MERGE: Merge = Merge::List;

    fn parse(_directive: Directive, text: &str) -> Result<TmpfsList> {
        text.split_whitespace()
            .map(TmpfsSpec::parse)
            .collect::<Result<_>>()
            .map(TmpfsList)
    }

    fn items(value: &TmpfsList) -> Vec<TmpfsList> {
        value.0.iter().map(|t| TmpfsList(vec![t.clone()])).collect()
    }

    fn uses_instance(value: &TmpfsList) -> bool {
        value.0.iter().any(|t| t.path.uses_instance())
    }

    fn resolve_instance(value: &TmpfsList, instance: &Instance) -> Result<TmpfsList> {
        value
            .0
            .iter()
            .map(|t| t.resolve_instance(instance))
            .collect::<Result<_>>()
            .map(TmpfsList)
    }

    /// `config_parse_temporary_filesystems()`.
    fn apply(state: &mut Vec<TmpfsMount>, cx: &mut Apply<'_>, rvalue: &str) {
        if rvalue.is_empty() {
            state.clear();
            return;
        }
        let mut words = Cursor::new(rvalue);
        loop {
            let word = match words.next_word(None, Flags::UNQUOTE) {
                Ok(Some(w)) => w,
                Ok(None) => return,
                Err(_) => return extract_failed(cx, rvalue),
            };
            let mut rest = Cursor::new(&word);
            let path = match rest.next_word(Some(b":"), Flags::DONT_COALESCE) {
                Ok(Some(p)) => p,
                Ok(None) => {
                    cx.warn(format!("Invalid syntax, ignoring: {word}"));
                    continue;
                }
                Err(_) => {
                    extract_failed(cx, &word);
                    continue;
                }
            };
            let resolved = match cx.path_printf(&path) {
                Ok(r) => r,
                Err(e) => {
                    cx.warn(format!(
                        "Failed to resolve unit specifiers in {path}, ignoring: {}",
                        e.strerror()
                    ));
                    continue;
                }
            };
            match simplify_absolute(&resolved, cx.lvalue) {
                Ok(p) => state.push(TmpfsMount {
                    path: p,
                    options: if rest.is_done() {
                        String::new()
                    } else {
                        rest.rest().to_owned()
                    },
                }),
                Err(m) => cx.warn(m),
            }
        }
    }

    fn show(
        directive: Directive,
        state: &Vec<TmpfsMount>,
        reset: bool,
        shown: Shown<'_>,
    ) -> (Verdict, Option<String>) {
        crate::show::list(&Self::lines(state, directive), reset, shown.last())
    }

    fn lines(state: &Vec<TmpfsMount>, _directive: Directive) -> Vec<String> {
        state
            .iter()
            .map(|t| {
                if t.options.is_empty() {
                    t.path.clone()
                } else {
                    format!("{}:{}", t.path, t.options)
                }
            })
            .collect()
    }
}

/// One bind mount as systemd holds it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BindMount {
    /// What is mounted.
    pub source: String,
    /// Where.
    pub destination: String,
    /// Read-only (from `BindReadOnlyPaths=`).
    pub read_only: bool,
    /// `rbind` (the default) rather than `norbind`.
    pub recursive: bool,
    /// `-`: ignored if the source is missing.
    pub ignore_missing: bool,
}

impl fmt::Display for BindMount {
    /// `[-]SOURCE[:DEST[:norbind]]`, the shortest spelling.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ignore_missing {
            f.write_str("-")?;
        }
        f.write_str(&self.source)?;
        if self.destination != self.source || !self.recursive {
            write!(f, ":{}", self.destination)?;
        }
        if !self.recursive {
            f.write_str(":norbind")?;
        }
        Ok(())
    }
}

impl ValueKind for BindList {
    type Value = BindList;
    /// The bind list both directives share.
    type State = Vec<BindMount>;
    const DESCRIBE: &'static str = "[-]SOURCE[:DEST[:OPTIONS]] items";
    const SAMPLES: &'static [&'static str] = &[
        "/var/lib/left4me/runtime/%i",
        "-/srv/a:/srv/b /srv/c:/srv/d:norbind /srv/e:/srv/f:rbind",
    ];
    const ACCEPTS_EMPTY: bool = true;
    const MERGE: Merge = Merge::List;

    fn parse(directive: Directive, text: &str) -> Result<BindList> {
        text.split_whitespace()
            .map(|b| BindSpec::parse(directive.name(), b))
            .collect::<Result<_>>()
            .map(BindList)
    }

    fn items(value: &BindList) -> Vec<BindList> {
        value.0.iter().map(|b| BindList(vec![b.clone()])).collect()
    }

    fn uses_instance(value: &BindList) -> bool {
        value.0.iter().any(|b| {
            b.source.uses_instance() || b.destination.as_ref().is_some_and(UnitPath::uses_instance)
        })
    }

    fn resolve_instance(value: &BindList, instance: &Instance) -> Result<BindList> {
        value
            .0
            .iter()
            .map(|b| b.resolve_instance(instance))
            .collect::<Result<_>>()
            .map(BindList)
    }

    /// `config_parse_bind_paths()`: both directives append to one list, so
    /// an empty assignment of either clears the binds of both.
    fn apply(state: &mut Vec<BindMount>, cx: &mut Apply<'_>, rvalue: &str) {
        if rvalue.is_empty() {
            state.clear();
            return;
        }
        let seps: &[u8] = b": \t\n\r";
        let read_only = cx.lvalue.contains("ReadOnly");
        let mut p = Cursor::new(rvalue);
        let parse_failed = |cx: &mut Apply<'_>| {
            let lvalue = cx.lvalue;
            cx.warn(format!("Failed to parse {lvalue}, ignoring: {rvalue}"));
        };
        loop {
            let source = match p.next_word(Some(seps), Flags::UNQUOTE_DONT_COALESCE) {
                Ok(Some(s)) => s,
                Ok(None) => return,
                Err(_) => return parse_failed(cx),
            };
            let resolved = match cx.path_printf(&source) {
                Ok(r) => r,
                Err(e) => {
                    cx.warn(format!(
                        "Failed to resolve unit specifiers in \"{source}\", ignoring: {}",
                        e.strerror()
                    ));
                    continue;
                }
            };
            let (ignore_missing, s) = match resolved.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, resolved.as_str()),
            };
            let s = match simplify_absolute(s, cx.lvalue) {
                Ok(s) => s,
                Err(m) => {
                    cx.warn(m);
                    continue;
                }
            };
            let mut destination = s.clone();
            let mut recursive = true;
            if p.after_separator(b':') {
                let d = match p.next_word(Some(seps), Flags::UNQUOTE_DONT_COALESCE) {
                    Ok(Some(d)) => d,
                    Ok(None) => {
                        cx.warn(format!("Missing argument after ':', ignoring: {s}"));
                        continue;
                    }
                    Err(_) => return parse_failed(cx),
                };
                let d = match cx.path_printf(&d) {
                    Ok(r) => r,
                    Err(e) => {
                        cx.warn(format!(
                            "Failed to resolve specifiers in \"{d}\", ignoring: {}",
                            e.strerror()
                        ));
                        continue;
                    }
                };
                destination = match simplify_absolute(&d, cx.lvalue) {
                    Ok(d) => d,
                    Err(m) => {
                        cx.warn(m);
                        continue;
                    }
                };
                if p.after_separator(b':') {
                    let options = match p.next_word(None, Flags::UNQUOTE) {
                        Ok(o) => o.unwrap_or_default(),
                        Err(_) => {
                            let lvalue = cx.lvalue;
                            cx.warn(format!("Failed to parse {lvalue}=, ignoring: {rvalue}"));
                            return;
                        }
                    };
                    match options.as_str() {
                        "" | "rbind" => recursive = true,
                        "norbind" => recursive = false,
                        _ => {
                            cx.warn(format!(
                                "Invalid option string, ignoring setting: {options}"
                            ));
                            continue;
                        }
                    }
                }
            }
            state.push(BindMount {
                source: s,
                destination,
                read_only,
                recursive,
                ignore_missing,
            });
        }
    }

    /// `systemctl show` prints `[-]SOURCE:DEST` and `:rbind` when recursive.
    fn show(
        directive: Directive,
        state: &Vec<BindMount>,
        reset: bool,
        shown: Shown<'_>,
    ) -> (Verdict, Option<String>) {
        let read_only = directive.name().contains("ReadOnly");
        let want: Vec<String> = state
            .iter()
            .filter(|b| b.read_only == read_only)
            .map(|b| {
                format!(
                    "{}{}:{}{}",
                    if b.ignore_missing { "-" } else { "" },
                    b.source,
                    b.destination,
                    if b.recursive { ":rbind" } else { "" }
                )
            })
            .collect();
        crate::show::list(&want, reset, shown.last())
    }

    /// The binds of `directive` (read-only or not), in order.
    fn lines(state: &Vec<BindMount>, directive: Directive) -> Vec<String> {
        let read_only = directive.name().contains("ReadOnly");
        state
            .iter()
            .filter(|b| b.read_only == read_only)
            .map(ToString::to_string)
            .collect()
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
